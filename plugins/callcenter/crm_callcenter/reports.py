"""Reports per period and queue: calls (offered, answered, abandoned, service
level, average wait, average handle time), agent occupancy, tickets (volumes,
SLA compliance, escalations) and satisfaction (CSAT per agent, team,
category). Aggregates run in SQL; nothing loads every call into memory."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, case, func, select

from crmcore import ValidationError
from crmcore.tables import customers

from crm_callcenter.tables import agent_sessions, calls, escalations, queues, surveys, teams, tickets

if TYPE_CHECKING:
    from crmcore import UnitOfWork


def period(start: Any, end: Any, zone: str) -> tuple[datetime, datetime, date, date]:
    """Local dates ``start``..``end`` inclusive as UTC moments [since, until)."""
    from zoneinfo import ZoneInfo

    from crmcore.clock import parse_date

    first = parse_date(start, field="from")
    last = parse_date(end, field="to")
    if first is None or last is None:
        raise ValidationError.field("from" if first is None else "to", "required (e.g. 2026-11-01)")
    if last < first:
        raise ValidationError.field("to", "before --from")
    tz = ZoneInfo(zone)
    since = datetime.combine(first, time(0), tz)
    until = datetime.combine(last + timedelta(days=1), time(0), tz)
    return since, until, first, last


class ReportsMixin:
    uow: "UnitOfWork"

    def report(self, since: datetime, until: datetime, *, queue: str | None = None, service_level: int | None = None) -> dict[str, Any]:
        self.uow.require("callcenter.view")
        queue_id = self.queue(queue)["id"] if queue else None
        return {
            "from": since.astimezone(self.calendar.zone).date(),
            "to": (until - timedelta(seconds=1)).astimezone(self.calendar.zone).date(),
            "queue": queue,
            "calls": self._call_totals(since, until, queue_id, service_level),
            "queues": self._per_queue(since, until, queue_id, service_level),
            "agents": self._per_agent(since, until, queue_id),
            "tickets": self._ticket_stats(since, until),
            "csat": self._csat(since, until),
        }

    # -- calls -------------------------------------------------------------------------

    def _call_rows(self, since: datetime, until: datetime, queue_id: int | None, group: Any | None, service_level: int | None) -> list[Any]:
        threshold = service_level if service_level is not None else queues.c.service_level_seconds
        answered = calls.c.outcome == "answered"
        columns = [
            func.count().label("offered"),
            func.sum(case((answered, 1), else_=0)).label("answered"),
            func.sum(case((calls.c.outcome.in_(("abandoned", "unanswered")), 1), else_=0)).label("abandoned"),
            func.sum(case((calls.c.outcome == "self_service", 1), else_=0)).label("self_service"),
            func.sum(case((and_(answered, calls.c.wait_seconds <= threshold), 1), else_=0)).label("within"),
            func.sum(case((calls.c.queue_id.isnot(None), 1), else_=0)).label("queued"),
            func.avg(case((answered, calls.c.wait_seconds), else_=None)).label("avg_wait"),
            func.max(case((answered, calls.c.wait_seconds), else_=None)).label("max_wait"),
            func.avg(case((answered, calls.c.talk_seconds + func.coalesce(calls.c.acw_seconds, 0)), else_=None)).label("aht"),
            func.avg(case((answered, calls.c.talk_seconds), else_=None)).label("avg_talk"),
        ]
        query = select(*([group] if group is not None else []), *columns).select_from(
            calls.outerjoin(queues, queues.c.id == calls.c.queue_id)).where(calls.c.offered_at >= since, calls.c.offered_at < until)
        if queue_id is not None:
            query = query.where(calls.c.queue_id == queue_id)
        if group is not None:
            query = query.group_by(group).order_by(group)
        return list(self.uow.execute(query).mappings())

    @staticmethod
    def _call_figures(row: Any) -> dict[str, Any]:
        queued = row["queued"] or 0
        return {
            "offered": row["offered"] or 0, "answered": row["answered"] or 0, "abandoned": row["abandoned"] or 0,
            "self_service": row["self_service"] or 0,
            "service_level_pct": round(100.0 * (row["within"] or 0) / queued, 1) if queued else None,
            "abandon_rate_pct": round(100.0 * (row["abandoned"] or 0) / queued, 1) if queued else None,
            "avg_wait_seconds": _round(row["avg_wait"]), "max_wait_seconds": row["max_wait"],
            "avg_talk_seconds": _round(row["avg_talk"]), "avg_handle_seconds": _round(row["aht"]),
        }

    def _call_totals(self, since: datetime, until: datetime, queue_id: int | None, service_level: int | None) -> dict[str, Any]:
        rows = self._call_rows(since, until, queue_id, None, service_level)
        return self._call_figures(rows[0])

    def _per_queue(self, since: datetime, until: datetime, queue_id: int | None, service_level: int | None) -> list[dict[str, Any]]:
        out = []
        for row in self._call_rows(since, until, queue_id, calls.c.queue_id, service_level):
            name = self._queue_name(row["queue_id"]) if row["queue_id"] else "(IVR self-service / no route)"
            threshold = service_level if service_level is not None else (
                self.queue(row["queue_id"])["service_level_seconds"] if row["queue_id"] else None)
            out.append({"queue": name, "service_level_seconds": threshold, **self._call_figures(row)})
        return out

    def _per_agent(self, since: datetime, until: datetime, queue_id: int | None) -> list[dict[str, Any]]:
        query = select(
            calls.c.agent_id, func.count().label("calls"), func.sum(calls.c.talk_seconds).label("talk"),
            func.sum(func.coalesce(calls.c.acw_seconds, 0)).label("acw"), func.avg(calls.c.wait_seconds).label("avg_wait"),
        ).where(calls.c.offered_at >= since, calls.c.offered_at < until, calls.c.outcome == "answered", calls.c.agent_id.isnot(None))
        if queue_id is not None:
            query = query.where(calls.c.queue_id == queue_id)
        rows = self.uow.execute(query.group_by(calls.c.agent_id)).mappings().all()
        staffed = self._staffed_seconds(since, until)
        out = []
        for row in rows:
            talk, acw = int(row["talk"] or 0), int(row["acw"] or 0)
            logged = staffed.get(row["agent_id"], 0)
            out.append({"agent": self._username(row["agent_id"]), "calls": row["calls"], "talk_seconds": talk, "acw_seconds": acw,
                        "avg_handle_seconds": round((talk + acw) / row["calls"], 1) if row["calls"] else None,
                        "staffed_seconds": logged, "occupancy_pct": round(min(100.0, 100.0 * (talk + acw) / logged), 1) if logged else None})
        out.sort(key=lambda r: (-r["calls"], r["agent"] or ""))
        return out

    def _staffed_seconds(self, since: datetime, until: datetime) -> dict[int, int]:
        """Logged-in time per agent (sessions clipped to the period)."""
        rows = self.uow.execute(select(agent_sessions).where(
            agent_sessions.c.started_at < until, (agent_sessions.c.ended_at.is_(None)) | (agent_sessions.c.ended_at > since))).mappings()
        now = self.uow.now
        total: dict[int, int] = {}
        for row in rows:
            start = max(row["started_at"], since)
            end = min(row["ended_at"] or now, until)
            if end > start:
                total[row["user_id"]] = total.get(row["user_id"], 0) + int((end - start).total_seconds())
        return total

    # -- tickets -----------------------------------------------------------------------------

    def _ticket_stats(self, since: datetime, until: datetime) -> dict[str, Any]:
        visible = tickets.c.customer_id.in_(self.uow.customers.scope(select(customers.c.id)))
        opened = self.uow.execute(select(tickets.c.type, func.count()).where(
            visible, tickets.c.created_at >= since, tickets.c.created_at < until).group_by(tickets.c.type).order_by(tickets.c.type)).all()
        resolved = self.uow.execute(select(func.count()).where(
            visible, tickets.c.resolved_at >= since, tickets.c.resolved_at < until)).scalar() or 0
        first = self.uow.execute(select(
            func.count(), func.sum(case((tickets.c.first_response_breached.is_(False), 1), else_=0))).where(
            visible, tickets.c.first_response_at >= since, tickets.c.first_response_at < until,
            tickets.c.first_response_due.isnot(None))).one()
        done = self.uow.execute(select(
            func.count(), func.sum(case((tickets.c.resolve_breached.is_(False), 1), else_=0))).where(
            visible, tickets.c.resolved_at >= since, tickets.c.resolved_at < until, tickets.c.resolve_due.isnot(None))).one()
        levels = self.uow.execute(select(escalations.c.level, func.count()).where(
            escalations.c.at >= since, escalations.c.at < until).group_by(escalations.c.level)).all()
        still_open = self.uow.execute(select(func.count()).where(visible, tickets.c.is_open.is_(True))).scalar() or 0
        names = {0: "agent_warnings", 1: "to_team_lead", 2: "to_manager"}
        return {
            "opened": sum(n for _, n in opened), "opened_by_type": {self.type_label(t): n for t, n in opened},
            "resolved": resolved, "open_now": still_open,
            "first_response_sla_pct": round(100.0 * (first[1] or 0) / first[0], 1) if first[0] else None,
            "first_response_measured": first[0],
            "resolution_sla_pct": round(100.0 * (done[1] or 0) / done[0], 1) if done[0] else None,
            "resolution_measured": done[0],
            "escalations": {names[level]: n for level, n in sorted(levels)},
        }

    # -- satisfaction ---------------------------------------------------------------------------

    def _csat(self, since: datetime, until: datetime) -> dict[str, Any]:
        answered = and_(surveys.c.answered_at >= since, surveys.c.answered_at < until, surveys.c.score.isnot(None))
        sent = self.uow.execute(select(func.count()).where(surveys.c.sent_at >= since, surveys.c.sent_at < until)).scalar() or 0
        overall = self.uow.execute(select(func.count(), func.avg(surveys.c.score),
                                          func.sum(case((surveys.c.score >= 4, 1), else_=0))).where(answered)).one()

        def grouped(column: Any, label: Any) -> list[dict[str, Any]]:
            rows = self.uow.execute(select(column, func.count(), func.avg(surveys.c.score)).where(answered)
                                    .group_by(column).order_by(column)).all()
            return [{"name": label(key), "answers": n, "csat": _round(avg, 2)} for key, n, avg in rows]

        team_names = dict(self.uow.execute(select(teams.c.id, teams.c.name)).all())
        return {
            "surveys_sent": sent, "answers": overall[0], "average": _round(overall[1], 2),
            "satisfied_pct": round(100.0 * (overall[2] or 0) / overall[0], 1) if overall[0] else None,
            "by_agent": grouped(surveys.c.agent_id, lambda k: self._username(k) or "(unassigned)"),
            "by_team": grouped(surveys.c.team_id, lambda k: team_names.get(k, "(no team)")),
            "by_category": grouped(surveys.c.category, lambda k: k or "(none)"),
        }

    # -- charts -------------------------------------------------------------------------------

    def report_charts(self, report: dict[str, Any], directory: str | Path) -> list[str]:
        from crmcore import bar_chart, funnel_chart, save_chart

        folder = Path(directory)
        written = []
        title_period = f"{report['from']} – {report['to']}"
        totals = report["calls"]
        written.append(save_chart(funnel_chart(f"来电 {title_period}", ["呼入", "接听", f"服务水平内"],
                                               [totals["offered"], totals["answered"],
                                                round((totals["service_level_pct"] or 0) * (totals["offered"] - totals["self_service"]) / 100)]),
                                  folder / "calls.svg"))
        if report["queues"]:
            written.append(save_chart(bar_chart(f"各队列服务水平 % {title_period}", [q["queue"] for q in report["queues"]],
                                                [q["service_level_pct"] or 0 for q in report["queues"]], unit="%"), folder / "service_level.svg"))
        if report["agents"]:
            written.append(save_chart(bar_chart(f"坐席占用率 % {title_period}", [a["agent"] for a in report["agents"]],
                                                [a["occupancy_pct"] or 0 for a in report["agents"]], unit="%"), folder / "occupancy.svg"))
        by_type = report["tickets"]["opened_by_type"]
        if by_type:
            written.append(save_chart(bar_chart(f"工单量 {title_period}", list(by_type), list(by_type.values())), folder / "tickets.svg"))
        if report["csat"]["by_agent"]:
            written.append(save_chart(bar_chart(f"满意度 (CSAT) {title_period}", [a["name"] for a in report["csat"]["by_agent"]],
                                                [a["csat"] or 0 for a in report["csat"]["by_agent"]]), folder / "csat.svg"))
        return [str(p) for p in written]


def _round(value: Any, digits: int = 1) -> float | None:
    return None if value is None else round(float(value), digits)

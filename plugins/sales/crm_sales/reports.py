"""Pipeline, forecast, win rate and cycle time, and the stale-opportunity rule.

Sums are taken in Python with ``Decimal`` over the matching rows (not with
SQL ``SUM``), so weighted amounts are exact on SQLite as on PostgreSQL:
weighted amount = amount × probability / 100, rounded to the cent per
opportunity.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, insert, select

from crmcore import ValidationError
from crmcore.tables import activities, customers, users

from crm_sales.opportunities import OpportunityService
from crm_sales.tables import opportunities, stale_notices
from crm_sales.values import Period, local_date, month_of, parse_period, quarter_of

if TYPE_CHECKING:
    from crmcore import UnitOfWork

ZERO = Decimal("0.00")
CENT = Decimal("0.01")


def weighted(amount: Decimal, probability: int) -> Decimal:
    return (amount * probability / 100).quantize(CENT, rounding=ROUND_HALF_UP)


class ReportService:
    def __init__(self, uow: "UnitOfWork", opportunities_service: OpportunityService):
        self.uow = uow
        self.opps = opportunities_service
        self.zone = uow.crm.config.timezone

    @property
    def today(self) -> date:
        return local_date(self.uow.now, self.zone)

    def _usernames(self) -> dict[int, str]:
        return dict(self.uow.execute(select(users.c.id, users.c.username)).all())

    def _rows(self, *conditions: Any) -> list[Any]:
        query = self.opps.visible(select(
            opportunities.c.id, opportunities.c.name, opportunities.c.customer_id, opportunities.c.stage,
            opportunities.c.amount, opportunities.c.probability, opportunities.c.owner_id, opportunities.c.expected_close,
            opportunities.c.created_at, opportunities.c.closed_at, opportunities.c.stage_changed_at,
        ))
        for condition in conditions:
            query = query.where(condition)
        return self.uow.execute(query.order_by(opportunities.c.id)).all()

    # -- pipeline ----------------------------------------------------------------

    def pipeline(self, *, owner_id: int | None = None) -> dict[str, Any]:
        """Count, amount and weighted amount per stage (in pipeline order) and
        per owner and stage; totals over the open stages."""
        stages = self.opps.stages.all(include_inactive=True)
        names = self._usernames()
        rows = self._rows(*([opportunities.c.owner_id == owner_id] if owner_id is not None else []))
        per_stage: dict[str, list[Any]] = {s.code: [0, ZERO, ZERO] for s in stages}
        per_owner: dict[tuple[str | None, str], list[Any]] = defaultdict(lambda: [0, ZERO, ZERO])
        overdue = 0
        for row in rows:
            w = weighted(row.amount, row.probability)
            for bucket in (per_stage.setdefault(row.stage, [0, ZERO, ZERO]), per_owner[(names.get(row.owner_id), row.stage)]):
                bucket[0] += 1
                bucket[1] += row.amount
                bucket[2] += w
        by_code = {s.code: s for s in stages}
        open_codes = {s.code for s in stages if s.is_open}
        overdue = sum(1 for r in rows if r.stage in open_codes and r.expected_close and r.expected_close < self.today)
        stage_rows = [
            {"stage": code, "label": by_code[code].label, "outcome": by_code[code].outcome,
             "default_probability": by_code[code].probability, "count": n, "amount": amount, "weighted_amount": w}
            for code, (n, amount, w) in per_stage.items() if by_code[code].active or n
        ]
        order = {s.code: i for i, s in enumerate(stages)}
        owner_rows = [
            {"owner": owner, "stage": code, "label": by_code[code].label, "count": n, "amount": amount, "weighted_amount": w}
            for (owner, code), (n, amount, w) in sorted(per_owner.items(), key=lambda kv: (kv[0][0] or "", order[kv[0][1]]))
        ]
        open_rows = [r for r in stage_rows if r["outcome"] == "open"]
        total = {
            "open_count": sum(r["count"] for r in open_rows),
            "open_amount": sum((r["amount"] for r in open_rows), ZERO),
            "weighted_amount": sum((r["weighted_amount"] for r in open_rows), ZERO),
            "won_amount": sum((r["amount"] for r in stage_rows if r["outcome"] == "won"), ZERO),
            "overdue_count": overdue,
        }
        return {"stages": stage_rows, "owners": owner_rows, "total": total}

    def funnel(self, pipeline: dict[str, Any], measure: str = "amount") -> tuple[list[str], list[float]]:
        """Open stages then won, for the funnel chart."""
        shown = [r for r in pipeline["stages"] if r["outcome"] in ("open", "won")]
        return [r["label"] for r in shown], [float(r[measure]) for r in shown]

    # -- forecast ----------------------------------------------------------------

    def forecast(self, period: str | Period | None = None, *, owner_id: int | None = None) -> dict[str, Any]:
        """Per month of the period: open opportunities expected to close then
        (count, amount, weighted amount) plus what was won then (by the day
        it was won); forecast = weighted + won. Lost ones count nowhere."""
        span = period if isinstance(period, Period) else parse_period(period) if period else quarter_of(self.today)
        stages = self.opps.stages.by_code()
        names = self._usernames()
        conditions = [opportunities.c.owner_id == owner_id] if owner_id is not None else []
        months = {m: {"month": m, "open_count": 0, "amount": ZERO, "weighted_amount": ZERO, "won_count": 0, "won_amount": ZERO}
                  for m in span.months}
        owners: dict[str | None, dict[str, Any]] = {}
        undated = 0
        for row in self._rows(*conditions):
            outcome = stages[row.stage].outcome
            if outcome == "open":
                if row.expected_close is None:
                    undated += 1
                    continue
                if not span.contains(row.expected_close):
                    continue
                bucket, day = months[month_of(row.expected_close)], row.expected_close
                bucket["open_count"] += 1
                bucket["amount"] += row.amount
                bucket["weighted_amount"] += weighted(row.amount, row.probability)
                key = ("open_count", "amount", "weighted_amount")
                values = (1, row.amount, weighted(row.amount, row.probability))
            elif outcome == "won":
                day = local_date(row.closed_at, self.zone)
                if not span.contains(day):
                    continue
                bucket = months[month_of(day)]
                bucket["won_count"] += 1
                bucket["won_amount"] += row.amount
                key, values = ("won_count", "won_amount"), (1, row.amount)
            else:
                continue
            owner = names.get(row.owner_id)
            entry = owners.setdefault(owner, {"owner": owner, "open_count": 0, "amount": ZERO, "weighted_amount": ZERO,
                                              "won_count": 0, "won_amount": ZERO})
            for k, v in zip(key, values):
                entry[k] += v
        for entry in [*months.values(), *owners.values()]:
            entry["forecast"] = entry["weighted_amount"] + entry["won_amount"]
        rows = list(months.values())
        total = {k: sum((r[k] for r in rows), ZERO if "amount" in k or k == "forecast" else 0)
                 for k in ("open_count", "amount", "weighted_amount", "won_count", "won_amount", "forecast")}
        return {
            "period": span.label, "from": span.start, "to": span.end - timedelta(days=1),
            "months": rows, "total": total,
            "owners": sorted(owners.values(), key=lambda e: e["owner"] or ""),
            "open_without_close_date": undated,
        }

    # -- win rate and cycle time -------------------------------------------------

    def performance(self, period: str | Period | None = None, *, owner_id: int | None = None) -> list[dict[str, Any]]:
        """Per owner: opportunities won and lost (closed in the period, or
        ever), win rate = won / (won + lost), won amount, average cycle time
        in days from opening to winning, and what is still open."""
        span = period if isinstance(period, Period) else parse_period(period) if period else None
        stages = self.opps.stages.by_code()
        names = self._usernames()
        stats: dict[str | None, dict[str, Any]] = {}
        cycles: dict[str | None, list[float]] = defaultdict(list)
        conditions = [opportunities.c.owner_id == owner_id] if owner_id is not None else []
        for row in self._rows(*conditions):
            owner = names.get(row.owner_id)
            entry = stats.setdefault(owner, {"owner": owner, "open": 0, "open_amount": ZERO, "won": 0, "lost": 0,
                                             "won_amount": ZERO})
            outcome = stages[row.stage].outcome
            if outcome == "open":
                entry["open"] += 1
                entry["open_amount"] += row.amount
                continue
            if span is not None and not span.contains(local_date(row.closed_at, self.zone)):
                continue
            entry[outcome] += 1
            if outcome == "won":
                entry["won_amount"] += row.amount
                cycles[owner].append((row.closed_at - row.created_at) / timedelta(days=1))
        result = []
        for owner, entry in sorted(stats.items(), key=lambda kv: kv[0] or ""):
            closed = entry["won"] + entry["lost"]
            entry["win_rate"] = round(100 * entry["won"] / closed, 1) if closed else None
            entry["avg_cycle_days"] = round(sum(cycles[owner]) / len(cycles[owner]), 1) if cycles[owner] else None
            entry["avg_won_amount"] = (entry["won_amount"] / entry["won"]).quantize(CENT) if entry["won"] else None
            result.append(entry)
        return result

    # -- the stale rule ----------------------------------------------------------

    def stale(self, days: int = 30, *, notify: bool = True, per: str = "month", owner_id: int | None = None) -> dict[str, Any]:
        """Open opportunities of active customers with no activity on their
        customer (and no stage change, and not opened) for ``days`` days,
        per owner; each
        owner's managers get one message per run listing the ones not yet
        reported to them in this period (``per`` month or week)."""
        if days < 1:
            raise ValidationError.field("days", "must be at least 1")
        if per not in ("month", "week"):
            raise ValidationError.field("per", "must be month or week")
        now = self.uow.now
        threshold = now - timedelta(days=days)
        open_codes = [s.code for s in self.opps.stages.all(include_inactive=True) if s.is_open]
        conditions = [opportunities.c.stage.in_(open_codes),
                      opportunities.c.customer_id.in_(select(customers.c.id).where(customers.c.active.is_(True)))]
        if owner_id is not None:
            conditions.append(opportunities.c.owner_id == owner_id)
        rows = self._rows(*conditions)
        customer_ids = sorted({r.customer_id for r in rows})
        last_activity: dict[int, datetime] = {}
        for chunk in range(0, len(customer_ids), 500):
            ids = customer_ids[chunk:chunk + 500]
            last_activity.update(self.uow.execute(
                select(activities.c.customer_id, func.max(activities.c.occurred_at))
                .where(activities.c.customer_id.in_(ids), activities.c.cancelled.is_(False), activities.c.occurred_at <= now)
                .group_by(activities.c.customer_id)
            ).all())
        names = self._usernames()
        customer_names = dict(self.uow.execute(select(customers.c.id, customers.c.name).where(customers.c.id.in_(customer_ids))).all()) if customer_ids else {}
        labels = {s.code: s.label for s in self.opps.stages.all(include_inactive=True)}
        found = []
        for row in rows:
            activity = last_activity.get(row.customer_id)
            activity = _aware(activity)
            touched = max(t for t in (activity, _aware(row.stage_changed_at), _aware(row.created_at)) if t is not None)
            if touched >= threshold:
                continue
            found.append({
                "id": row.id, "name": row.name, "customer_id": row.customer_id, "customer": customer_names.get(row.customer_id),
                "owner_id": row.owner_id, "owner": names.get(row.owner_id), "stage": row.stage, "stage_label": labels.get(row.stage),
                "amount": row.amount, "expected_close": row.expected_close,
                "last_activity": local_date(activity, self.zone) if activity else None,
                "last_touched": local_date(touched, self.zone), "days_idle": int((now - touched) / timedelta(days=1)),
            })
        found.sort(key=lambda r: (r["owner"] or "", -r["days_idle"], r["id"]))
        by_owner: dict[str | None, dict[str, Any]] = {}
        for item in found:
            entry = by_owner.setdefault(item["owner"], {"owner": item["owner"], "count": 0, "amount": ZERO, "managers": []})
            entry["count"] += 1
            entry["amount"] += item["amount"]
        period = self._period_key(per)
        managers = ManagerFinder(self.uow)
        for item in found:
            item["managers"] = [m.username for m in managers.for_owner(item["owner_id"])]
            by_owner[item["owner"]]["managers"] = item["managers"]
        notified = self._notify(found, managers, period, days) if notify and found else []
        return {"days": days, "as_of": self.today, "period": period, "stale": found,
                "owners": list(by_owner.values()), "notified": notified}

    def _period_key(self, per: str) -> str:
        today = self.today
        if per == "week":
            year, week, _ = today.isocalendar()
            return f"{year}-W{week:02d}"
        return month_of(today)

    def _notify(self, found: list[dict[str, Any]], managers: "ManagerFinder", period: str, days: int) -> list[dict[str, Any]]:
        """One message per manager listing stale opportunities not reported to
        that manager in this period; recorded so a rerun sends nothing new."""
        per_manager: dict[int, list[dict[str, Any]]] = defaultdict(list)
        who: dict[int, Any] = {}
        for item in found:
            for manager in managers.for_owner(item["owner_id"]):
                per_manager[manager.id].append(item)
                who[manager.id] = manager
        if not per_manager:
            return []
        already = set(self.uow.execute(
            select(stale_notices.c.opportunity_id, stale_notices.c.manager_id)
            .where(stale_notices.c.period == period, stale_notices.c.manager_id.in_(list(per_manager)))
        ).all())
        sent = []
        for manager_id, items in sorted(per_manager.items()):
            fresh = [i for i in items if (i["id"], manager_id) not in already]
            if not fresh:
                continue
            manager = who[manager_id]
            ids = sorted(i["id"] for i in fresh)
            digest = hashlib.sha1(",".join(map(str, ids)).encode()).hexdigest()[:16]
            lines = [f"以下商机已超过 {days} 天没有跟进 (stale opportunities, no activity for {days}+ days):", ""]
            for item in fresh:
                lines.append(f"#{item['id']} {item['name']} — {item['customer']} — {item['stage_label']} — "
                             f"¥{item['amount']:,} — 负责人 {item['owner']} — 闲置 {item['days_idle']} 天"
                             f" (last activity {item['last_activity'] or 'none'})")
            lines += ["", "crm sales stale --days " + str(days)]
            message = self.uow.outbox.put(
                "email", self._address(manager), f"[CRM] {len(fresh)} 个商机超过 {days} 天未跟进 ({period})", "\n".join(lines),
                payload={"kind": "sales.stale", "period": period, "manager": manager.username, "opportunity_ids": ids},
                dedupe_key=f"sales.stale:{period}:{manager_id}:{digest}",
            )
            self.uow.execute(insert(stale_notices), [
                {"period": period, "opportunity_id": i, "manager_id": manager_id,
                 "outbox_id": message.id if message else None, "created_at": self.uow.now} for i in ids
            ])
            sent.append({"manager": manager.username, "recipient": self._address(manager), "opportunity_ids": ids,
                         "outbox_id": message.id if message else None})
        return sent

    def _address(self, user: Any) -> str:
        """Where a manager's notice goes: the user's e-mail, else the username
        when it is an e-mail address, else username@``[sales] email_domain``
        from crm.toml, else the username (development outbox files)."""
        if getattr(user, "email", None):
            return user.email
        if "@" in user.username:
            return user.username
        domain = (self.uow.crm.config.extra.get("sales") or {}).get("email_domain")
        return f"{user.username}@{domain}" if domain else user.username


class ManagerFinder:
    """Managers of a salesperson: active users holding ``sales.manage`` in the
    owner's department, else in the nearest parent department that has one,
    else users without a department holding it (company-wide managers). The
    owner is never their own manager; ``*`` (the administrator) does not
    count, the permission must be granted explicitly."""

    def __init__(self, uow: "UnitOfWork"):
        self.uow = uow
        self._by_department: dict[int | None, list[Any]] | None = None
        self._cache: dict[int | None, list[Any]] = {}

    def _managers(self) -> dict[int | None, list[Any]]:
        if self._by_department is None:
            self._by_department = defaultdict(list)
            for user in self.uow.users.list():
                if "sales.manage" in user.permissions:
                    self._by_department[user.department_id].append(user)
        return self._by_department

    def for_owner(self, owner_id: int | None) -> list[Any]:
        if owner_id in self._cache:
            return self._cache[owner_id]
        managers = self._managers()
        owner = self.uow.users.find(owner_id) if owner_id is not None else None
        chain = self.uow.departments.ancestry(owner.department_id) if owner and owner.department_id else []
        found: list[Any] = []
        for department_id in [*chain, None]:
            found = [m for m in managers.get(department_id, []) if m.id != owner_id]
            if found:
                break
        self._cache[owner_id] = found
        return found


def _aware(moment: datetime | None) -> datetime | None:
    from datetime import timezone

    if moment is None:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)

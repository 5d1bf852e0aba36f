"""Tickets (工单): status flow, comments, SLA clocks on working time,
escalation along agent → team lead → manager, and satisfaction surveys."""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, func, insert, or_, select, update

from crmcore import Conflict, NotFound, ValidationError
from crmcore.tables import contacts, customers

from crm_callcenter.calendar import format_duration
from crm_callcenter.setup import resolve_channel, resolve_priority
from crm_callcenter.tables import (
    agents,
    articles,
    calls,
    escalations,
    surveys,
    ticket_events,
    ticket_solutions,
    tickets,
)

if TYPE_CHECKING:
    from crmcore import UnitOfWork

STATUSES = ("new", "assigned", "in_progress", "waiting_on_customer", "resolved", "closed")
OPEN_STATUSES = ("new", "assigned", "in_progress", "waiting_on_customer")
STATUS_LABELS = {"new": "新建", "assigned": "已分派", "in_progress": "处理中", "waiting_on_customer": "等待客户",
                 "resolved": "已解决", "closed": "已关闭"}
STATUS_ALIASES = {"open": "in_progress", "start": "in_progress", "progress": "in_progress", "waiting": "waiting_on_customer",
                  "wait": "waiting_on_customer", **{label: code for code, label in STATUS_LABELS.items()}}
TRANSITIONS = {
    "new": {"assigned", "in_progress", "waiting_on_customer", "resolved", "closed"},
    "assigned": {"in_progress", "waiting_on_customer", "resolved", "closed"},
    "in_progress": {"waiting_on_customer", "resolved", "closed"},
    "waiting_on_customer": {"in_progress", "resolved", "closed"},
    "resolved": {"closed"},
    "closed": set(),
}
#: Moving into these counts as the first response to the customer.
RESPONDING = {"in_progress", "waiting_on_customer", "resolved"}
EVENT_LABELS = {"created": "新建", "assigned": "分派", "status": "状态", "comment": "回复", "note": "内部备注",
                "reopened": "重新打开", "escalated": "升级", "sla_warning": "SLA预警", "call_linked": "关联来电",
                "solution": "引用知识库", "updated": "修改", "survey_answered": "满意度评价"}
LEVEL_NAMES = {0: "agent", 1: "team_lead", 2: "manager"}
LEVEL_LABELS = {0: "坐席", 1: "组长", 2: "经理"}


def resolve_status(value: str) -> str:
    text = (value or "").strip().lower().replace("-", "_").replace(" ", "_")
    text = STATUS_ALIASES.get(text, text)
    if text not in STATUSES:
        raise ValidationError.field("status", f"{value!r} is not a status ({', '.join(STATUSES)})")
    return text


class TicketsMixin:
    uow: "UnitOfWork"

    # -- creating and reading --------------------------------------------------------

    def open_ticket(self, customer_id: int, *, type: str, subject: str, priority: str = "normal", description: str | None = None,
                    channel: str | None = "phone", category: str | None = None, contact_id: int | None = None,
                    assignee: str | None = None, team: str | None = None, call_id: int | None = None, at: Any = None) -> dict[str, Any]:
        """Open a ticket for a customer; SLA due times follow the policy for
        its type and priority."""
        self.uow.require("callcenter.handle")
        customer = self.uow.customers.get(customer_id)
        if not customer.active:
            raise Conflict(f"customer {customer_id} is cancelled")
        subject = (subject or "").strip()
        if not subject:
            raise ValidationError.field("subject", "must not be empty")
        if len(subject) > 300:
            raise ValidationError.field("subject", "longer than 300 characters")
        code, level, via = self.resolve_type(type), resolve_priority(priority), resolve_channel(channel)
        if contact_id is not None:
            owner = self.uow.execute(select(contacts.c.customer_id).where(contacts.c.id == contact_id)).scalar()
            if owner != customer_id:
                raise ValidationError.field("contact", f"contact {contact_id} is not a contact of customer {customer_id}")
        moment = self._moment(at)
        assignee_id = self._user_id(assignee, "assignee")
        team_id = self.team(team)["id"] if team else self._team_of(assignee_id)
        policy = self.policy_for(code, level)
        values = {
            "customer_id": customer_id, "contact_id": contact_id, "type": code, "channel": via, "priority": level,
            "category": (category or "").strip() or None, "subject": subject, "description": (description or "").strip() or None,
            "status": "assigned" if assignee_id else "new", "is_open": True, "assignee_id": assignee_id, "team_id": team_id,
            "created_by": self.uow.actor.id, "created_at": moment, "updated_at": moment, "reopen_count": 0,
            "sla_policy_id": policy["id"] if policy else None, "paused_seconds": 0,
            "first_response_escalation": -1, "resolve_escalation": -1,
            **self._sla_times(moment, policy, 0),
        }
        ticket_id = self.uow.execute(insert(tickets).values(values)).inserted_primary_key[0]
        ticket = {"id": ticket_id, **values}
        self.uow.audit.record("callcenter_ticket", ticket_id, "create", {"customer_id": customer_id, **{
            k: (None, values[k]) for k in ("type", "priority", "channel", "subject", "assignee_id", "team_id")}})
        extra = {"assignee": assignee} if assignee_id else {}
        self._event(ticket, "created", moment, to_status=values["status"], body=values["description"],
                    data={"type": code, "priority": level, "channel": via, **extra})
        if call_id is not None:
            self.link_call(ticket_id, call_id, at=moment)
        self.uow.publish("callcenter.ticket.created", {"customer_id": customer_id, "ticket_id": ticket_id, "type": code,
                                                       "priority": level, "channel": via})
        return self.ticket_view(ticket_id)

    def ticket(self, ticket_id: int) -> dict[str, Any]:
        row = self.uow.execute(select(tickets).where(tickets.c.id == ticket_id)).mappings().first()
        if row is None or self.uow.customers.find(row["customer_id"]) is None:
            raise NotFound(f"ticket {ticket_id} not found")
        return dict(row)

    def ticket_view(self, ticket_id: int | dict[str, Any], *, events: bool = False, now: datetime | None = None) -> dict[str, Any]:
        row = ticket_id if isinstance(ticket_id, dict) else self.ticket(ticket_id)
        zone = self.calendar.zone
        now = now or self.uow.now

        def local(moment: datetime | None) -> datetime | None:
            return None if moment is None else moment.astimezone(zone)

        customer_name = self.uow.execute(select(customers.c.name).where(customers.c.id == row["customer_id"])).scalar()
        view = {
            "id": row["id"], "customer_id": row["customer_id"], "customer": customer_name, "contact_id": row["contact_id"],
            "type": row["type"], "type_label": self.type_label(row["type"]), "channel": row["channel"], "priority": row["priority"],
            "category": row["category"], "subject": row["subject"], "description": row["description"], "status": row["status"],
            "status_label": STATUS_LABELS[row["status"]], "assignee": self._username(row["assignee_id"]),
            "team": self.team(row["team_id"])["name"] if row["team_id"] else None,
            "created_at": local(row["created_at"]), "first_response_at": local(row["first_response_at"]),
            "resolved_at": local(row["resolved_at"]), "closed_at": local(row["closed_at"]), "reopen_count": row["reopen_count"],
            "sla": self._sla_state(row, now),
        }
        if events:
            rows = self.uow.execute(select(ticket_events).where(ticket_events.c.ticket_id == row["id"])
                                    .order_by(ticket_events.c.at, ticket_events.c.id)).mappings()
            view["events"] = [{"at": local(e["at"]), "event": e["event"], "by": self._username(e["actor_id"]),
                               "from": e["from_status"], "to": e["to_status"], "body": e["body"], "internal": e["internal"],
                               **({"data": e["data"]} if e["data"] else {})} for e in rows]
            view["solutions"] = [dict(r) for r in self.uow.execute(
                select(articles.c.id, articles.c.title).select_from(ticket_solutions.join(articles))
                .where(ticket_solutions.c.ticket_id == row["id"]).order_by(articles.c.id)).mappings()]
            view["calls"] = list(self.uow.execute(select(calls.c.id).where(calls.c.ticket_id == row["id"]).order_by(calls.c.id)).scalars())
            survey = self.uow.execute(select(surveys).where(surveys.c.ticket_id == row["id"])).mappings().first()
            view["survey"] = None if survey is None else {"sent_at": local(survey["sent_at"]), "score": survey["score"],
                                                          "comment": survey["comment"], "answered_at": local(survey["answered_at"])}
        return view

    def _sla_state(self, row: dict[str, Any], now: datetime) -> dict[str, Any]:
        zone = self.calendar.zone
        state: dict[str, Any] = {"policy_id": row["sla_policy_id"], "paused": row["paused_at"] is not None,
                                 "escalation_level": max(row["first_response_escalation"], row["resolve_escalation"])}
        for kind, done_column in (("first_response", "first_response_at"), ("resolve", "resolved_at")):
            due = row[f"{kind}_due"]
            state[f"{kind}_due"] = None if due is None else due.astimezone(zone)
            done = row[done_column]
            if due is None:
                state[f"{kind}_status"] = None
            elif done is not None:
                state[f"{kind}_status"] = "breached" if done > due else "met"
            elif row["paused_at"] is not None:
                state[f"{kind}_status"] = "paused"
            elif not row["is_open"]:
                state[f"{kind}_status"] = None
            elif now > due:
                state[f"{kind}_status"] = "overdue"
                state[f"{kind}_overdue"] = format_duration(self.calendar.working_seconds(due, now))
            else:
                state[f"{kind}_status"] = "running"
                state[f"{kind}_remaining"] = format_duration(self.calendar.working_seconds(now, due))
        return state

    def list_tickets(self, *, status: str | None = None, open_only: bool = False, assignee: str | None = None,
                     customer_id: int | None = None, type: str | None = None, overdue: bool = False, limit: int = 50) -> list[dict[str, Any]]:
        query = select(tickets).where(tickets.c.customer_id.in_(self.uow.customers.scope(select(customers.c.id))))
        if status:
            query = query.where(tickets.c.status == resolve_status(status))
        if open_only:
            query = query.where(tickets.c.is_open.is_(True))
        if assignee:
            query = query.where(tickets.c.assignee_id == self._user_id(assignee, "assignee"))
        if customer_id is not None:
            query = query.where(tickets.c.customer_id == customer_id)
        if type:
            query = query.where(tickets.c.type == self.resolve_type(type))
        if overdue:
            now = self.uow.now
            query = query.where(tickets.c.is_open.is_(True), tickets.c.paused_at.is_(None), or_(
                and_(tickets.c.first_response_at.is_(None), tickets.c.first_response_due < now), tickets.c.resolve_due < now))
        rows = self.uow.execute(query.order_by(tickets.c.id.desc()).limit(limit)).mappings().all()
        return [self.ticket_view(dict(r)) for r in rows]

    # -- changing -------------------------------------------------------------------------

    def assign(self, ticket_id: int, assignee: str, *, team: str | None = None, at: Any = None) -> dict[str, Any]:
        self.uow.require("callcenter.handle")
        ticket = self.ticket(ticket_id)
        if not ticket["is_open"]:
            raise Conflict(f"ticket {ticket_id} is {ticket['status']}; reopen it first")
        moment = self._moment(at)
        assignee_id = self._user_id(assignee, "assignee")
        values: dict[str, Any] = {"assignee_id": assignee_id, "updated_at": moment,
                                  "team_id": self.team(team)["id"] if team else (self._team_of(assignee_id) or ticket["team_id"])}
        if ticket["status"] == "new":
            values["status"] = "assigned"
            self._publish_status(ticket, "new", "assigned")
        self.uow.execute(update(tickets).where(tickets.c.id == ticket_id).values(values))
        self.uow.audit.record("callcenter_ticket", ticket_id, "assign", {
            "customer_id": ticket["customer_id"], "assignee_id": (ticket["assignee_id"], assignee_id), "team_id": (ticket["team_id"], values["team_id"])})
        self._event({**ticket, **values}, "assigned", moment, from_status=ticket["status"], to_status=values.get("status", ticket["status"]),
                    data={"assignee": self._username(assignee_id)})
        return self.ticket_view(ticket_id)

    def set_status(self, ticket_id: int, status: str, *, note: str | None = None, at: Any = None) -> dict[str, Any]:
        """Move a ticket along new → assigned → in progress → waiting on
        customer → resolved → closed. Waiting on the customer pauses the SLA
        clocks; resolving queues a satisfaction survey."""
        self.uow.require("callcenter.handle")
        ticket = self.ticket(ticket_id)
        new = resolve_status(status)
        old = ticket["status"]
        if new == old:
            raise Conflict(f"ticket {ticket_id} is {old} already")
        if new not in TRANSITIONS[old]:
            hint = "; reopen it with `crm service ticket reopen`" if old in ("resolved", "closed") else ""
            raise Conflict(f"ticket {ticket_id} cannot go from {old} to {new}{hint}")
        if new == "assigned" and ticket["assignee_id"] is None:
            raise ValidationError.field("status", "assign the ticket to someone (`crm service ticket assign`)")
        moment = self._moment(at)
        if moment < ticket["created_at"]:
            raise ValidationError.field("at", "before the ticket was opened")
        values: dict[str, Any] = {"status": new, "updated_at": moment, "is_open": new in OPEN_STATUSES}
        values.update(self._pause_changes(ticket, old, new, moment))
        if new in RESPONDING and ticket["first_response_at"] is None:
            values.update(self._first_response(ticket, moment))
        due = values.get("resolve_due", ticket["resolve_due"])
        if new == "resolved":
            values["resolved_at"] = moment
            values["resolve_breached"] = None if due is None else moment > due
        if new == "closed":
            values["closed_at"] = moment
            if ticket["resolved_at"] is None and due is not None:
                values["resolve_breached"] = moment > due
        self.uow.execute(update(tickets).where(tickets.c.id == ticket_id).values(values))
        self.uow.audit.record("callcenter_ticket", ticket_id, "status", {"customer_id": ticket["customer_id"], "status": (old, new)})
        updated = {**ticket, **values}
        self._event(updated, "status", moment, from_status=old, to_status=new, body=note)
        if new == "resolved":
            self._queue_survey(updated)
        self._publish_status(ticket, old, new)
        return self.ticket_view(ticket_id)

    def reopen(self, ticket_id: int, *, reason: str | None = None, at: Any = None) -> dict[str, Any]:
        self.uow.require("callcenter.handle")
        ticket = self.ticket(ticket_id)
        if ticket["is_open"]:
            raise Conflict(f"ticket {ticket_id} is open ({ticket['status']})")
        moment = self._moment(at)
        new = "in_progress" if ticket["assignee_id"] else "new"
        values = {"status": new, "is_open": True, "resolved_at": None, "closed_at": None, "resolve_breached": None,
                  "reopen_count": ticket["reopen_count"] + 1, "updated_at": moment}
        self.uow.execute(update(tickets).where(tickets.c.id == ticket_id).values(values))
        self.uow.audit.record("callcenter_ticket", ticket_id, "reopen", {"customer_id": ticket["customer_id"], "status": (ticket["status"], new),
                                                                   "reason": reason})
        self._event({**ticket, **values}, "reopened", moment, from_status=ticket["status"], to_status=new, body=reason)
        self._publish_status(ticket, ticket["status"], new)
        return self.ticket_view(ticket_id)

    def comment(self, ticket_id: int, body: str, *, internal: bool = False, at: Any = None) -> dict[str, Any]:
        """A reply to the customer (counts as the first response) or an
        internal note (staff only)."""
        self.uow.require("callcenter.handle")
        ticket = self.ticket(ticket_id)
        body = (body or "").strip()
        if not body:
            raise ValidationError.field("text", "must not be empty")
        moment = self._moment(at)
        values: dict[str, Any] = {"updated_at": moment}
        if not internal and ticket["first_response_at"] is None:
            values.update(self._first_response(ticket, moment))
        self.uow.execute(update(tickets).where(tickets.c.id == ticket_id).values(values))
        self._event({**ticket, **values}, "note" if internal else "comment", moment, body=body, internal=internal)
        return self.ticket_view(ticket_id, events=True)

    def update_ticket(self, ticket_id: int, *, priority: str | None = None, type: str | None = None,
                      category: str | None = None, subject: str | None = None, at: Any = None) -> dict[str, Any]:
        """Change priority, type, category or subject; a new type or priority
        re-applies the SLA policy from the ticket's opening."""
        self.uow.require("callcenter.handle")
        ticket = self.ticket(ticket_id)
        values: dict[str, Any] = {}
        if priority is not None:
            values["priority"] = resolve_priority(priority)
        if type is not None:
            values["type"] = self.resolve_type(type)
        if category is not None:
            values["category"] = category.strip() or None
        if subject is not None:
            if not subject.strip():
                raise ValidationError.field("subject", "must not be empty")
            values["subject"] = subject.strip()
        changes = {k: (ticket[k], v) for k, v in values.items() if ticket[k] != v}
        if not changes:
            return self.ticket_view(ticket_id)
        if "priority" in changes or "type" in changes:
            policy = self.policy_for(values.get("type", ticket["type"]), values.get("priority", ticket["priority"]))
            values["sla_policy_id"] = policy["id"] if policy else None
            values.update(self._sla_times(ticket["created_at"], policy, ticket["paused_seconds"]))
        moment = self._moment(at)
        values["updated_at"] = moment
        self.uow.execute(update(tickets).where(tickets.c.id == ticket_id).values(values))
        self.uow.audit.record("callcenter_ticket", ticket_id, "update", {"customer_id": ticket["customer_id"], **changes})
        self._event({**ticket, **values}, "updated", moment, data={k: list(v) for k, v in changes.items()})
        return self.ticket_view(ticket_id)

    def link_call(self, ticket_id: int, call_id: int, *, at: Any = None) -> dict[str, Any]:
        self.uow.require("callcenter.handle")
        ticket = self.ticket(ticket_id)
        call = self.uow.execute(select(calls).where(calls.c.id == call_id)).mappings().first()
        if call is None:
            raise NotFound(f"call {call_id} not found")
        if call["customer_id"] not in (None, ticket["customer_id"]):
            raise ValidationError.field("call", f"call {call_id} is from customer {call['customer_id']}, not {ticket['customer_id']}")
        self.uow.execute(update(calls).where(calls.c.id == call_id).values(ticket_id=ticket_id, customer_id=ticket["customer_id"]))
        self._event(ticket, "call_linked", self._moment(at), data={"call_id": call_id})
        return self.ticket_view(ticket_id)

    def use_solution(self, ticket_id: int, article_id: int, *, at: Any = None) -> dict[str, Any]:
        """Record that a knowledge-base solution was used on a ticket (counts
        once per ticket in the article's usage)."""
        self.uow.require("callcenter.handle")
        ticket = self.ticket(ticket_id)
        article = self.article(article_id)
        exists = self.uow.execute(select(ticket_solutions.c.ticket_id).where(
            ticket_solutions.c.ticket_id == ticket_id, ticket_solutions.c.article_id == article_id)).first()
        if not exists:
            moment = self._moment(at)
            self.uow.execute(insert(ticket_solutions).values(ticket_id=ticket_id, article_id=article_id, at=moment, actor_id=self.uow.actor.id))
            self.uow.execute(update(articles).where(articles.c.id == article_id).values(usage_count=articles.c.usage_count + 1))
            self._event(ticket, "solution", moment, body=article["title"], data={"article_id": article_id})
        return self.ticket_view(ticket_id, events=True)

    # -- SLA ----------------------------------------------------------------------------------

    def _sla_times(self, opened: datetime, policy: dict[str, Any] | None, paused: int) -> dict[str, Any]:
        times: dict[str, Any] = {"first_response_warn_at": None, "first_response_due": None, "resolve_warn_at": None, "resolve_due": None}
        if policy is None:
            return times
        calendar = self.calendar
        for kind, minutes in (("first_response", policy["first_response_minutes"]), ("resolve", policy["resolve_minutes"])):
            if minutes:
                target = minutes * 60
                times[f"{kind}_due"] = calendar.add(opened, target + paused)
                times[f"{kind}_warn_at"] = calendar.add(opened, target * policy["warn_percent"] / 100 + paused)
        return times

    def _pause_changes(self, ticket: dict[str, Any], old: str, new: str, moment: datetime) -> dict[str, Any]:
        if new == "waiting_on_customer":
            return {"paused_at": moment}
        if old == "waiting_on_customer" and ticket["paused_at"] is not None:
            paused = ticket["paused_seconds"] + self.calendar.working_seconds(ticket["paused_at"], moment)
            policy = self._policy(ticket["sla_policy_id"])
            times = self._sla_times(ticket["created_at"], policy, paused)
            if ticket["first_response_at"] is not None:  # a met or missed response target stays as it was
                times = {k: v for k, v in times.items() if not k.startswith("first_response")}
            return {"paused_at": None, "paused_seconds": paused, **times}
        return {}

    def _first_response(self, ticket: dict[str, Any], moment: datetime) -> dict[str, Any]:
        due = ticket["first_response_due"]
        return {"first_response_at": moment, "first_response_breached": None if due is None else moment > due}

    def _policy(self, policy_id: int | None) -> dict[str, Any] | None:
        from crm_callcenter.tables import sla_policies

        if policy_id is None:
            return None
        row = self.uow.execute(select(sla_policies).where(sla_policies.c.id == policy_id)).mappings().first()
        return None if row is None else dict(row)

    def escalate(self, *, at: Any = None) -> list[dict[str, Any]]:
        """Escalate open tickets whose SLA clock ran out, along the chain:
        the assigned agent is warned at the policy's warning point, the team
        lead is told at the due time, the manager when the ticket is still
        overdue after the policy's escalation step. Each step happens once
        (a unique row per ticket, target and level; outbox dedupe keys), so
        running it again, or from two schedulers, does nothing more."""
        self.uow.require("callcenter.escalate")
        now = self._moment(at)
        candidates = self.uow.execute(select(tickets).where(
            tickets.c.is_open.is_(True), tickets.c.paused_at.is_(None), tickets.c.sla_policy_id.isnot(None),
            or_(and_(tickets.c.first_response_at.is_(None), tickets.c.first_response_escalation < 2, tickets.c.first_response_warn_at <= now),
                and_(tickets.c.resolve_escalation < 2, tickets.c.resolve_warn_at <= now)),
        ).order_by(tickets.c.id)).mappings().all()
        done: list[dict[str, Any]] = []
        policies: dict[int, dict[str, Any] | None] = {}
        for row in candidates:
            ticket = dict(row)
            policy = policies.setdefault(ticket["sla_policy_id"], self._policy(ticket["sla_policy_id"]))
            if policy is None:
                continue
            for kind in ("first_response", "resolve"):
                if kind == "first_response" and ticket["first_response_at"] is not None:
                    continue
                due, warn = ticket[f"{kind}_due"], ticket[f"{kind}_warn_at"]
                if due is None or warn is None or warn > now:
                    continue
                level = 0
                if now >= due:
                    level = 1
                    if now >= self.calendar.add(due, policy["escalate_after_minutes"] * 60):
                        level = 2
                current = ticket[f"{kind}_escalation"]
                if level <= current:
                    continue
                step = self._escalate_one(ticket, kind, level, due, now)
                if step is not None:
                    done.append(step)
                ticket[f"{kind}_escalation"] = level
        return done

    def _escalate_one(self, ticket: dict[str, Any], kind: str, level: int, due: datetime, now: datetime) -> dict[str, Any] | None:
        claimed = self.uow.execute(update(tickets).where(
            tickets.c.id == ticket["id"], tickets.c[f"{kind}_escalation"] < level,
        ).values({f"{kind}_escalation": level, **({f"{kind}_breached": True} if level >= 1 else {})}))
        if claimed.rowcount == 0:  # another run got there first
            return None
        user_id = self._escalation_target(ticket, level)
        recipient, channel = self._staff_address(user_id)
        self.uow.execute(insert(escalations).values(ticket_id=ticket["id"], kind=kind, level=level, at=now, due=due,
                                                    to_user_id=user_id, recipient=recipient))
        target = "首次响应" if kind == "first_response" else "解决"
        overdue = self.calendar.working_seconds(due, now)
        zone = self.calendar.zone
        if level == 0:
            subject = f"[SLA预警] 工单#{ticket['id']} {target}将于 {due.astimezone(zone):%m-%d %H:%M} 到期"
        else:
            subject = f"[SLA升级→{LEVEL_LABELS[level]}] 工单#{ticket['id']} {target}已超时 {format_duration(overdue)}"
        body = (f"{subject}\n主题: {ticket['subject']}\n类型: {self.type_label(ticket['type'])}  优先级: {ticket['priority']}\n"
                f"处理人: {self._username(ticket['assignee_id']) or '未分派'}\n到期: {due.astimezone(zone):%Y-%m-%d %H:%M}")
        self.uow.outbox.put(channel, recipient, subject, body, customer_id=None,
                            payload={"ticket_id": ticket["id"], "kind": kind, "level": level},
                            dedupe_key=f"callcenter:escalation:{ticket['id']}:{kind}:{level}")
        self.uow.audit.record("callcenter_ticket", ticket["id"], "escalate", {"customer_id": ticket["customer_id"], "kind": kind,
                                                                           "level": (level - 1, level), "to": recipient})
        self._event(ticket, "sla_warning" if level == 0 else "escalated", now, internal=True, body=subject,
                    data={"kind": kind, "level": level, "to": self._username(user_id)})
        self.uow.publish("callcenter.ticket.escalated", {"customer_id": ticket["customer_id"], "ticket_id": ticket["id"], "kind": kind,
                                                         "level": LEVEL_NAMES[level], "to": self._username(user_id)})
        return {"ticket": ticket["id"], "subject": ticket["subject"], "kind": kind, "level": level,
                "escalated_to": LEVEL_NAMES[level], "user": self._username(user_id), "recipient": recipient,
                "due": due.astimezone(zone), "overdue": format_duration(overdue) if now > due else None}

    def _escalation_target(self, ticket: dict[str, Any], level: int) -> int | None:
        """Level 0 the assignee, 1 the team lead, 2 the manager; a missing
        link passes to the next one up (or down, for a missing manager)."""
        team = self.team(ticket["team_id"]) if ticket["team_id"] else None
        chain = [ticket["assignee_id"], team["lead_id"] if team else None, team["manager_id"] if team else None]
        for candidate in chain[level:] + chain[:level][::-1]:
            if candidate is not None:
                return candidate
        return None

    def _staff_address(self, user_id: int | None) -> tuple[str, str]:
        """An agent's e-mail when known, else the development file channel."""
        if user_id is None:
            return "service-desk", "file"
        email = self.uow.execute(select(agents.c.email).where(agents.c.user_id == user_id)).scalar()
        return (email, "email") if email else (f"user:{self._username(user_id)}", "file")

    def breaches(self, *, since: datetime, until: datetime) -> list[dict[str, Any]]:
        """Tickets opened in the period that missed a target, or are overdue now."""
        now = self.uow.now
        rows = self.uow.execute(select(tickets).where(
            tickets.c.created_at >= since, tickets.c.created_at < until,
            tickets.c.customer_id.in_(self.uow.customers.scope(select(customers.c.id))),
            or_(tickets.c.first_response_breached.is_(True), tickets.c.resolve_breached.is_(True),
                and_(tickets.c.is_open.is_(True), tickets.c.paused_at.is_(None),
                     or_(and_(tickets.c.first_response_at.is_(None), tickets.c.first_response_due < now), tickets.c.resolve_due < now))),
        ).order_by(tickets.c.id)).mappings().all()
        out = []
        for row in rows:
            view = self.ticket_view(dict(row))
            sla = view["sla"]
            out.append({"ticket": view["id"], "customer": view["customer"], "type": view["type"], "priority": view["priority"],
                        "assignee": view["assignee"], "team": view["team"], "status": view["status"],
                        "first_response": sla["first_response_status"], "resolve": sla["resolve_status"],
                        "escalation_level": sla["escalation_level"]})
        return out

    # -- surveys ----------------------------------------------------------------------------

    def _queue_survey(self, ticket: dict[str, Any]) -> None:
        """One survey per ticket, by e-mail else SMS, as a service message
        (purpose ``service``): a channel the customer's consent does not
        allow is skipped; with none left the survey is not sent, and the
        audit trail says why (``survey_suppressed``)."""
        if self.uow.execute(select(surveys.c.id).where(surveys.c.ticket_id == ticket["id"])).first():
            return  # one survey per ticket, even when it is resolved again
        customer = self.uow.customers.get(ticket["customer_id"])
        if customer.do_not_contact:
            return
        options = [("email", e) for e in customer.emails[:1]] + [("sms", p) for p in customer.phones[:1]]
        if not options:
            return
        allowed = [(c, r) for c, r in options if self.uow.consents.allows(customer.id, "service", c)]
        token = secrets.token_hex(6)
        subject = f"服务满意度调查：工单#{ticket['id']}"
        message = None
        if allowed:
            channel, recipient = allowed[0]
            body = (f"{customer.name}您好，您的工单#{ticket['id']}「{ticket['subject']}」已处理完毕。"
                    f"请回复 1-5 分评价本次服务（5=非常满意，1=非常不满意），可附上意见。评价码 {token}")
            message = self.uow.outbox.put(channel, recipient, subject, body, customer_id=customer.id, purpose="service",
                                          payload={"ticket_id": ticket["id"], "survey_token": token},
                                          dedupe_key=f"callcenter:survey:{ticket['id']}")
        if message is None:  # no consent on any channel (or the outbox refused it): nothing sent, nothing counted
            self.uow.audit.record("callcenter_ticket", ticket["id"], "survey_suppressed", {
                "customer_id": customer.id, "reason": "no consent", "purpose": "service", "channels": [c for c, _ in options]})
            return
        self.uow.execute(insert(surveys).values(
            ticket_id=ticket["id"], customer_id=customer.id, agent_id=ticket["assignee_id"], team_id=ticket["team_id"],
            category=ticket["category"] or self.type_label(ticket["type"]), token=token, channel=message.channel,
            sent_at=ticket["resolved_at"]))

    def answer_survey(self, key: str | int, score: int, comment: str | None = None, *, at: Any = None) -> dict[str, Any]:
        """Record a customer's answer: ``key`` is the survey code or the ticket id."""
        self.uow.require("callcenter.handle")
        text = str(key).strip()
        condition = surveys.c.ticket_id == int(text) if text.isdigit() else surveys.c.token == text
        survey = self.uow.execute(select(surveys).where(condition)).mappings().first()
        if survey is None:
            raise NotFound(f"survey {key!r} not found (the code from the message, or the ticket id)")
        self.ticket(survey["ticket_id"])
        try:
            score = int(score)
        except (TypeError, ValueError):
            raise ValidationError.field("score", "a whole number from 1 to 5") from None
        if not 1 <= score <= 5:
            raise ValidationError.field("score", "a whole number from 1 to 5")
        if survey["answered_at"] is not None:
            raise Conflict(f"the survey of ticket {survey['ticket_id']} was answered already ({survey['score']}/5)")
        moment = self._moment(at)
        comment = (comment or "").strip() or None
        self.uow.execute(update(surveys).where(surveys.c.id == survey["id"]).values(score=score, comment=comment, answered_at=moment))
        self.uow.activities.log(survey["customer_id"], type="csat", subject=f"满意度 {score}/5：工单#{survey['ticket_id']}",
                                body=comment, occurred_at=moment, source_plugin="callcenter",
                                payload={"ticket_id": survey["ticket_id"], "score": score})
        self.uow.audit.record("callcenter_survey", survey["id"], "answer", {"customer_id": survey["customer_id"], "score": (None, score)})
        self.uow.publish("callcenter.survey.answered", {"customer_id": survey["customer_id"], "ticket_id": survey["ticket_id"], "score": score})
        return {"ticket": survey["ticket_id"], "score": score, "comment": comment, "agent": self._username(survey["agent_id"])}

    def surveys(self, *, answered: bool | None = None, limit: int = 50) -> list[dict[str, Any]]:
        query = select(surveys).order_by(surveys.c.id.desc()).limit(limit)
        if answered is not None:
            query = query.where(surveys.c.answered_at.isnot(None) if answered else surveys.c.answered_at.is_(None))
        zone = self.calendar.zone
        return [{"ticket": r["ticket_id"], "customer_id": r["customer_id"], "agent": self._username(r["agent_id"]),
                 "category": r["category"], "channel": r["channel"], "code": r["token"], "sent_at": r["sent_at"].astimezone(zone),
                 "score": r["score"], "comment": r["comment"]} for r in self.uow.execute(query).mappings()]

    def _publish_status(self, ticket: dict[str, Any], old: str, new: str) -> None:
        self.uow.publish("callcenter.ticket.status_changed", {"customer_id": ticket["customer_id"], "ticket_id": ticket["id"],
                                                              "from": old, "to": new})

    # -- timeline -------------------------------------------------------------------------

    def _event(self, ticket: dict[str, Any], event: str, at: datetime, *, from_status: str | None = None, to_status: str | None = None,
               body: str | None = None, internal: bool = False, data: dict[str, Any] | None = None) -> None:
        """Record a ticket event and put it on the customer's timeline."""
        if event == "status":
            summary = f"{STATUS_LABELS.get(from_status or '', from_status)} → {STATUS_LABELS[to_status or 'new']}"
        elif event == "assigned":
            summary = f"分派给 {(data or {}).get('assignee')}"
        else:
            summary = EVENT_LABELS.get(event, event)
        subject = f"工单#{ticket['id']} {summary}：{ticket['subject']}"[:300]
        activity = self.uow.activities.log(
            ticket["customer_id"], type="ticket", subject=subject, body=body, occurred_at=at, contact_id=ticket.get("contact_id"),
            source_plugin="callcenter",
            payload={"ticket_id": ticket["id"], "event": event, "status": to_status or ticket["status"], "internal": internal},
        )
        self.uow.execute(insert(ticket_events).values(
            ticket_id=ticket["id"], at=at, actor_id=self.uow.actor.id, event=event, from_status=from_status, to_status=to_status,
            body=body, internal=internal, data=data or {}, activity_id=activity.id))

    def _team_of(self, user_id: int | None) -> int | None:
        if user_id is None:
            return None
        return self.uow.execute(select(agents.c.team_id).where(agents.c.user_id == user_id)).scalar()

    # -- integration ---------------------------------------------------------------------------

    def move_customer(self, kept_id: int, merged_id: int) -> None:
        for table in (tickets, calls, surveys):
            self.uow.execute(update(table).where(table.c.customer_id == merged_id).values(customer_id=kept_id))

    def hand_over(self, user_id: int, successor_id: int | None) -> int:
        """A leaving user's open tickets go to the successor (or back to new),
        and they stop being an agent, team lead or manager."""
        from crm_callcenter.tables import teams

        open_ids = list(self.uow.execute(select(tickets.c.id).where(tickets.c.assignee_id == user_id, tickets.c.is_open.is_(True))).scalars())
        if open_ids:
            if successor_id is None:
                self.uow.execute(update(tickets).where(tickets.c.id.in_(open_ids), tickets.c.status == "assigned").values(status="new"))
            self.uow.execute(update(tickets).where(tickets.c.id.in_(open_ids)).values(assignee_id=successor_id, updated_at=self.uow.now))
            self.uow.audit.record("callcenter_assignee", user_id, "hand_over",
                                  {"assignee_id": (user_id, successor_id), "tickets": open_ids})
        self.uow.execute(update(agents).where(agents.c.user_id == user_id).values(active=False, state="offline", state_since=self.uow.now))
        for column in ("lead_id", "manager_id"):
            self.uow.execute(update(teams).where(teams.c[column] == user_id).values({column: successor_id}))
        self._teams = {}
        return len(open_ids)

    def open_ticket_counts(self, customer_id: int) -> dict[str, int]:
        rows = self.uow.execute(select(tickets.c.type, func.count()).where(
            tickets.c.customer_id == customer_id, tickets.c.is_open.is_(True)).group_by(tickets.c.type)).all()
        return {t: n for t, n in rows}


"""Screen pop (CTI): everything an agent needs when a number rings.

This is the hot path (a lookup per ringing call), so its statements are
built once with bound parameters: statement construction costs more than the
indexed lookups themselves (see performance.md).
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING, Any

from sqlalchemy import bindparam, select

if TYPE_CHECKING:
    from crmcore import UnitOfWork


@lru_cache(maxsize=1)
def _statements() -> dict[str, Any]:
    from crmcore.tables import activities, contacts

    from crm_callcenter.tables import calls, tickets

    customer = bindparam("customer_id")
    return {
        "contacts": select(contacts).where(contacts.c.customer_id == customer, contacts.c.active.is_(True)).order_by(contacts.c.id),
        "activities": select(activities).where(activities.c.customer_id == customer, activities.c.cancelled.is_(False))
        .order_by(activities.c.occurred_at.desc(), activities.c.id.desc()).limit(bindparam("limit")),
        "tickets": select(tickets).where(tickets.c.customer_id == customer, tickets.c.is_open.is_(True))
        .order_by(tickets.c.id.desc()).limit(10),
        "calls": select(calls).where(calls.c.customer_id == customer).order_by(calls.c.offered_at.desc()).limit(3),
    }


class ScreenPopMixin:
    uow: "UnitOfWork"

    def screen_pop(self, number: str, *, activities: int = 5, panels: bool = True) -> dict[str, Any]:
        """Look a caller up by number in any spelling (``+86 138-0013-8000``,
        ``138 0013 8000``, ``0086 13800138000``, full-width digits …) through
        the core's phone index (``uow.customers.find_by_phone``, which keeps
        the actor's scope): the customers (and the contact whose number it
        is), their open tickets, last activities, recent calls and every
        enabled plugin's panel. An unknown number comes back with
        ``found: false`` and the command that creates the customer."""
        from crmcore import Activity, Contact, ValidationError, activity_view, contact_view, customer_panels, customer_view, from_row
        from crmcore import normalise_phone

        self.uow.require("callcenter.view")
        raw = (number or "").strip()
        if not raw:
            raise ValidationError.field("number", "must not be empty")
        canonical = normalise_phone(raw, field="number")
        found = sorted(self.uow.customers.find_by_phone(canonical), key=lambda c: (not c.active, c.id))
        statements = _statements()
        matches = []
        for customer in found:
            ids = {"customer_id": customer.id}
            contact_rows = [from_row(Contact, r) for r in self.uow.execute(statements["contacts"], ids).mappings()]
            timeline = [from_row(Activity, r) for r in self.uow.execute(statements["activities"], {**ids, "limit": activities}).mappings()]
            open_rows = self.uow.execute(statements["tickets"], ids).mappings().all()
            recent_calls = self.uow.execute(statements["calls"], ids).mappings().all()
            entry = {
                "customer": customer_view(self.uow, customer),
                "vip": customer.level == "vip",
                "matched_contact_ids": [c.id for c in contact_rows if canonical in c.phones],
                "contacts": [contact_view(self.uow, c) for c in contact_rows],
                "open_tickets": [self._ticket_brief(dict(t)) for t in open_rows],
                "last_activities": [activity_view(self.uow, a) for a in timeline],
                "recent_calls": [self.call_view(dict(c)) for c in recent_calls],
            }
            if panels:
                shown = customer_panels(self.uow, customer)
                entry["panels"] = {p.name: {"title": p.title, **p.data} for p in shown}
                entry["panel_text"] = {p.name: {"title": p.title, "lines": p.text_lines()} for p in shown}
            matches.append(entry)
        result: dict[str, Any] = {"number": canonical, "input": raw, "found": bool(matches), "matches": matches}
        if not matches:
            result["suggestion"] = f'crm customer add --name NAME --phone "{canonical}"'
        return result

    def _ticket_brief(self, row: dict[str, Any]) -> dict[str, Any]:
        now = self.uow.now
        status = None
        if row["paused_at"] is not None:
            status = "paused"
        else:
            for kind, done in (("first_response", "first_response_at"), ("resolve", "resolved_at")):
                due = row[f"{kind}_due"]
                if due is not None and row[done] is None:
                    status = "overdue" if now > due else "running"
                    if status == "overdue":
                        break
        return {"id": row["id"], "type": row["type"], "priority": row["priority"], "status": row["status"], "subject": row["subject"],
                "assignee": self._username(row["assignee_id"]), "created_at": row["created_at"].astimezone(self.calendar.zone),
                "sla": status, "resolve_due": None if row["resolve_due"] is None else row["resolve_due"].astimezone(self.calendar.zone)}

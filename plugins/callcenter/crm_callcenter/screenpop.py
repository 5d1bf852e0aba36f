"""Screen pop (CTI): everything an agent needs when a number rings."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from crmcore.tables import customer_phones

from crm_callcenter.tables import calls, tickets

if TYPE_CHECKING:
    from crmcore import UnitOfWork


class ScreenPopMixin:
    uow: "UnitOfWork"

    def screen_pop(self, number: str, *, activities: int = 5, panels: bool = True) -> dict[str, Any]:
        """Look a caller up by number in any spelling (``+86 138-0013-8000``,
        ``138 0013 8000``, ``0086 13800138000``, full-width digits …) through
        the core's phone index: the customers (and the contact whose number
        it is), their open tickets, last activities, recent calls and every
        plugin's panel. An unknown number comes back with ``found: false``
        and the command to create the customer."""
        from crmcore import ValidationError, activity_view, contact_view, customer_panels, customer_view, normalise_phone

        self.uow.require("callcenter.view")
        raw = (number or "").strip()
        if not raw:
            raise ValidationError.field("number", "must not be empty")
        canonical = normalise_phone(raw, field="number")
        found = [c for c in self.uow.customers.find_by_phone(canonical)]
        found.sort(key=lambda c: (not c.active, c.id))
        matches = []
        for customer in found:
            contact_ids = list(self.uow.execute(select(customer_phones.c.contact_id).where(
                customer_phones.c.number == canonical, customer_phones.c.customer_id == customer.id,
                customer_phones.c.contact_id.isnot(None))).scalars())
            contact_rows = self.uow.contacts.list(customer.id)
            open_rows = self.uow.execute(select(tickets).where(tickets.c.customer_id == customer.id, tickets.c.is_open.is_(True))
                                         .order_by(tickets.c.id.desc()).limit(10)).mappings().all()
            recent_calls = self.uow.execute(select(calls).where(calls.c.customer_id == customer.id)
                                            .order_by(calls.c.offered_at.desc()).limit(3)).mappings().all()
            entry = {
                "customer": customer_view(self.uow, customer),
                "vip": customer.level == "vip",
                "matched_contact_ids": contact_ids,
                "contacts": [contact_view(self.uow, c) for c in contact_rows],
                "open_tickets": [self._ticket_brief(dict(t)) for t in open_rows],
                "last_activities": [activity_view(self.uow, a) for a in self.uow.activities.list(customer.id, limit=activities)],
                "recent_calls": [self.call_view(dict(c)) for c in recent_calls],
            }
            if panels:
                entry["panels"] = {p.name: {"title": p.title, **p.data} for p in customer_panels(self.uow, customer)}
            matches.append(entry)
        result: dict[str, Any] = {"number": canonical, "input": raw, "found": bool(matches), "matches": matches}
        if not matches:
            result["suggestion"] = f'crm customer add --name NAME --phone "{canonical}"'
        return result

    def _ticket_brief(self, row: dict[str, Any]) -> dict[str, Any]:
        sla = self._sla_state(row, self.uow.now)
        return {"id": row["id"], "type": row["type"], "priority": row["priority"], "status": row["status"], "subject": row["subject"],
                "assignee": self._username(row["assignee_id"]), "created_at": row["created_at"].astimezone(self.calendar.zone),
                "sla": sla.get("resolve_status") or sla.get("first_response_status")}


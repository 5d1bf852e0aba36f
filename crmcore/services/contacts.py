"""Contacts of a customer (联系人) and key persons (关键人物)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, insert, select, update

from crmcore.domain.customers import Contact
from crmcore.errors import Conflict, NotFound, ValidationError
from crmcore.storage.rows import diff, from_row, to_row
from crmcore.storage.tables import contacts, customer_emails, customer_phones

if TYPE_CHECKING:
    from crmcore.storage.unit_of_work import UnitOfWork

EDITABLE = ("name", "title", "phones", "emails", "birthday", "decision_role", "relationship", "staff_id", "notes")


class ContactService:
    def __init__(self, uow: "UnitOfWork"):
        self.uow = uow

    def add(self, customer_id: int, **fields: Any) -> Contact:
        self.uow.require("customers.edit")
        _refuse_unknown(fields)
        customer = self.uow.customers.get(customer_id)
        if not customer.active:
            raise Conflict(f"customer {customer_id} is cancelled")
        contact = Contact(customer_id=customer_id, **fields)
        self._check_staff(contact)
        contact.created_at = self.uow.now
        row = to_row(contact, contacts.c)
        del row["id"]
        contact.id = self.uow.execute(insert(contacts).values(row)).inserted_primary_key[0]
        self._write_lookups(contact)
        self.uow.audit.record("contact", contact.id, "create", {"customer_id": customer_id, "name": contact.name})
        self.uow.fire("crm_contact_added", ("contact", contact.id), customer=customer, contact=contact)
        return contact

    def update(self, contact_id: int, **changes: Any) -> Contact:
        self.uow.require("customers.edit")
        _refuse_unknown(changes)
        current = self.get(contact_id)
        changed = current.evolve(**changes)
        self._check_staff(changed)
        delta = diff(current, changed, EDITABLE)
        if not delta:
            return current
        self.uow.execute(update(contacts).where(contacts.c.id == contact_id).values({k: getattr(changed, k) for k in delta}))
        if delta.keys() & {"phones", "emails"}:
            self._write_lookups(changed)
        self.uow.audit.record("contact", contact_id, "update", delta)
        customer = self.uow.customers.get(changed.customer_id)
        self.uow.fire("crm_contact_updated", ("contact", contact_id), customer=customer, contact=changed, changes=delta)
        return changed

    def get(self, contact_id: int) -> Contact:
        row = self.uow.execute(select(contacts).where(contacts.c.id == contact_id)).mappings().first()
        if row is None or self.uow.customers.find(row["customer_id"]) is None:
            raise NotFound(f"contact {contact_id} not found")
        return from_row(Contact, row)

    def list(self, customer_id: int) -> list[Contact]:
        self.uow.customers.get(customer_id)  # scope check
        rows = self.uow.execute(
            select(contacts).where(contacts.c.customer_id == customer_id, contacts.c.active.is_(True)).order_by(contacts.c.id)
        ).mappings()
        return [from_row(Contact, row) for row in rows]

    def _check_staff(self, contact: Contact) -> None:
        if contact.staff_id is not None and self.uow.users.find(contact.staff_id) is None:
            raise ValidationError.field("staff", f"no user {contact.staff_id!r}")

    def _write_lookups(self, contact: Contact) -> None:
        for table in (customer_phones, customer_emails):
            self.uow.execute(delete(table).where(table.c.contact_id == contact.id))
        if contact.phones:
            self.uow.execute(insert(customer_phones), [
                {"number": n, "customer_id": contact.customer_id, "contact_id": contact.id} for n in contact.phones])
        if contact.emails:
            self.uow.execute(insert(customer_emails), [
                {"email": e, "customer_id": contact.customer_id, "contact_id": contact.id} for e in contact.emails])


def _refuse_unknown(fields: dict[str, Any]) -> None:
    unknown = sorted(set(fields) - set(EDITABLE))
    if unknown:
        raise ValidationError([f"{name}: not a contact field" for name in unknown])

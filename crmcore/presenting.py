"""What readers see of customers, contacts and activities: plain dicts for
the CLI, the API and exports, masked by the reader's permissions."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import attrs

from crmcore.clock import local
from crmcore.phones import mask_phone

if TYPE_CHECKING:
    from crmcore.domain.activities import Activity
    from crmcore.domain.customers import Contact, Customer
    from crmcore.storage.unit_of_work import UnitOfWork

HIDDEN = "****"


def can_see_contact_details(uow: "UnitOfWork") -> bool:
    return uow.actor.can("customers.view_contact_details")


def mask_email(email: str) -> str:
    name, _, domain = email.partition("@")
    return f"{name[:1]}***@{domain}"


def masked_details(uow: "UnitOfWork", record: dict[str, Any]) -> dict[str, Any]:
    """Phones, e-mails and birthday hidden unless the actor may see them."""
    if can_see_contact_details(uow):
        return record
    record = dict(record)
    record["phones"] = [mask_phone(p) for p in record.get("phones") or []]
    record["emails"] = [mask_email(e) for e in record.get("emails") or []]
    if record.get("birthday"):
        record["birthday"] = HIDDEN
    return record


def customer_view(uow: "UnitOfWork", customer: "Customer") -> dict[str, Any]:
    record = attrs.asdict(customer, recurse=False)
    owner = uow.users.find(customer.owner_id) if customer.owner_id else None
    record["owner"] = owner.username if owner else None
    department = uow.departments.find(customer.department_id) if customer.department_id else None
    record["department"] = department.name if department else None
    zone = uow.crm.config.timezone
    for moment in ("created_at", "updated_at", "cancelled_at"):
        record[moment] = local(record[moment], zone)
    return masked_details(uow, record)


def contact_view(uow: "UnitOfWork", contact: "Contact") -> dict[str, Any]:
    record = attrs.asdict(contact, recurse=False)
    staff = uow.users.find(contact.staff_id) if contact.staff_id else None
    record["staff"] = staff.username if staff else None
    record["created_at"] = local(record["created_at"], uow.crm.config.timezone)
    return masked_details(uow, record)


def activity_view(uow: "UnitOfWork", activity: "Activity") -> dict[str, Any]:
    record = attrs.asdict(activity, recurse=False)
    zone = uow.crm.config.timezone
    for moment in ("occurred_at", "due_at", "created_at"):
        record[moment] = local(record[moment], zone)
    kind = uow.crm.activity_types.get(activity.type)
    record["type_label"] = kind.label if kind else activity.type
    return record


def customer_panels(uow: "UnitOfWork", customer: "Customer") -> list[Any]:
    """Each enabled plugin's panel for this customer; the customer's phones
    and e-mails are masked in them unless the actor may see them, whatever
    the plugin put there."""
    panels = [panel for panel in uow.hook.crm_customer_panel(uow=uow, customer=customer) if panel is not None]
    if can_see_contact_details(uow):
        return panels
    secrets = {p: mask_phone(p) for p in customer.phones}
    secrets.update({e: mask_email(e) for e in customer.emails})
    for panel in panels:
        panel.data = _masked(panel.data, secrets)
        if panel.lines is not None:
            panel.lines = _masked(panel.lines, secrets)
    return panels


def _masked(value: Any, secrets: dict[str, str]) -> Any:
    if isinstance(value, str):
        for secret, masked in secrets.items():
            value = value.replace(secret, masked)
        return value
    if isinstance(value, dict):
        return {k: _masked(v, secrets) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_masked(v, secrets) for v in value]
    return value

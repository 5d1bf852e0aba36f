"""``crm init``: the schema, the administrator role and user."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from crmcore.access import ADMIN_ROLE

if TYPE_CHECKING:
    from crmcore.app import CRM


def initialise(crm: "CRM", admin_name: str = "admin") -> dict[str, Any]:
    """Upgrade the schema and make sure the administrator exists; running it
    again changes nothing."""
    crm.upgrade()
    with crm.unit_of_work() as uow:
        if uow.roles.find(ADMIN_ROLE) is None:
            uow.roles.add(ADMIN_ROLE, ["*"])
        created = uow.users.find(admin_name) is None
        if created:
            uow.users.add(admin_name, display_name="Administrator", roles_=[ADMIN_ROLE])
    return {"admin": admin_name, "admin_created": created,
            "branches": {s.branch: s.current for s in crm.migration_status()}}

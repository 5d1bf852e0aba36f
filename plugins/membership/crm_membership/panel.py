"""What `crm customer show` prints about a customer's membership."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select


def panel_data(uow: Any, customer_id: int) -> dict[str, Any] | None:
    from crm_membership.tables import members

    service = uow.service("membership")
    member = service.members.active_of_customer(customer_id)
    if member is None:
        row = uow.execute(select(members.c.id).where(members.c.customer_id == customer_id).order_by(members.c.id.desc()).limit(1)).first()
        if row is None:
            return None
        member = service.members.get(row[0])
    view = service.members.view(member["id"], entries=5)
    return {key: view[key] for key in ("card_number", "card_status", "tier", "status", "reward_points", "upgrade_points", "pending_points",
                                       "joined_on", "entries")}

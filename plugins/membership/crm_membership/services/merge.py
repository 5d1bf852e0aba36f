"""Merging two customers (客户资料的归并) moves membership to the kept one.

If both are members, the kept customer's card stays; the other membership's
points move over lot by lot (a ``merge_out`` debit on the old card, a
``merge_in`` credit with the same plan, earning and expiry dates on the kept
card, so FIFO and expiry carry on unchanged), its pending purchase points and
event participation follow, the better tier is kept, and the other card is
cancelled — all in the ledger and the audit trail.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, select, update

from crm_membership.common import KINDS
from crm_membership.tables import applications, event_members, members, pending

if TYPE_CHECKING:
    from crm_membership.services import MembershipService


def merge_customers(service: "MembershipService", kept_id: int, merged_id: int) -> dict[str, Any]:
    uow = service.uow
    result: dict[str, Any] = {"moved_members": 0, "combined": None}
    uow.execute(update(applications).where(applications.c.customer_id == merged_id).values(customer_id=kept_id))
    other = service.members.active_of_customer(merged_id)
    kept = service.members.active_of_customer(kept_id)
    if other is not None and kept is not None:
        result["combined"] = _combine(service, kept, other)
    # every membership of the merged customer now belongs to the kept one
    result["moved_members"] = uow.execute(update(members).where(members.c.customer_id == merged_id).values(customer_id=kept_id)).rowcount
    uow.audit.record("membership_customer", kept_id, "merge", {"customer_id": kept_id, "merged_customer": merged_id, **result})
    return result


def _combine(service: "MembershipService", kept: dict[str, Any], other: dict[str, Any]) -> dict[str, Any]:
    uow = service.uow
    rows = []
    moved = {}
    for kind in KINDS:
        moved[kind] = 0
        for lot in service.ledger.replay(other["id"], kind).remaining():
            base = f"merge:{other['id']}:{lot.id}"
            rows.append({"member_id": other["id"], "kind": kind, "points": -lot.remaining, "source": "merge_out", "plan_id": lot.plan_id,
                         "reference": f"member:{kept['id']}", "idempotency_key": base, "effective_on": lot.effective_on, "lot_id": lot.id,
                         "reason": f"merged into card {kept['card_number']}"})
            rows.append({"member_id": kept["id"], "kind": kind, "points": lot.remaining, "source": "merge_in", "plan_id": lot.plan_id,
                         "reference": f"member:{other['id']}", "idempotency_key": f"{base}:in", "effective_on": lot.effective_on,
                         "expires_on": lot.expires_on, "reason": f"from card {other['card_number']} (customer merge)"})
            moved[kind] += lot.remaining
    service.ledger.post_many(rows)
    uow.execute(update(pending).where(pending.c.member_id == other["id"], pending.c.status == "pending").values(member_id=kept["id"]))
    taken = select(event_members.c.event_id).where(event_members.c.member_id == kept["id"])
    uow.execute(update(event_members).where(and_(event_members.c.member_id == other["id"], event_members.c.event_id.notin_(taken)))
                .values(member_id=kept["id"]))
    kept_tier, other_tier = service.tiers.get(kept["tier_id"]), service.tiers.get(other["tier_id"])
    if other_tier["level"] > kept_tier["level"]:
        service.members.change_tier(kept, other_tier, "merge", f"customer merge: card {other['card_number']} was {other_tier['name']}")
    service.members._cancel(other, f"customer merged: combined into card {kept['card_number']}")
    uow.execute(update(members).where(members.c.id == other["id"]).values(merged_into_id=kept["id"]))
    return {"kept_card": kept["card_number"], "cancelled_card": other["card_number"], "reward_points": moved["reward"],
            "upgrade_points": moved["upgrade"]}

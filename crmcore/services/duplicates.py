"""Duplicate candidates (客户资料的归并): customers sharing a normalised phone
or e-mail, organisations with the same name once legal suffixes are dropped,
persons with the same name in the same city or with the same birthday."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import aliased

from crmcore.storage.tables import customer_emails, customer_phones, customers

if TYPE_CHECKING:
    from crmcore.storage.unit_of_work import UnitOfWork


def find_duplicates(uow: "UnitOfWork", *, limit: int = 200) -> list[dict[str, Any]]:
    """Candidate pairs ``{"keep", "other", "reasons"}`` among active
    customers the actor can see; ``keep`` is the older record."""
    visible = uow.customers.scope(select(customers.c.id).where(customers.c.active.is_(True)))
    pairs: dict[tuple[int, int], list[str]] = {}

    for table, column, label in ((customer_phones, "number", "phone"), (customer_emails, "email", "email")):
        a, b = aliased(table), aliased(table)
        query = (
            select(a.c.customer_id, b.c.customer_id, a.c[column])
            .join(b, and_(a.c[column] == b.c[column], a.c.customer_id < b.c.customer_id))
            .where(a.c.contact_id.is_(None), b.c.contact_id.is_(None), a.c.customer_id.in_(visible), b.c.customer_id.in_(visible))
        )
        for first, second, value in uow.execute(query):
            pairs.setdefault((first, second), []).append(f"same {label} {value}")

    a, b = aliased(customers), aliased(customers)
    same_person = and_(a.c.kind == "person", or_(a.c.city == b.c.city, a.c.birthday == b.c.birthday))
    query = (
        select(a.c.id, b.c.id, a.c.name_key, a.c.kind)
        .join(b, and_(a.c.name_key == b.c.name_key, a.c.id < b.c.id, a.c.kind == b.c.kind))
        .where(a.c.id.in_(visible), b.c.id.in_(visible), a.c.name_key != "", or_(a.c.kind == "organization", same_person))
    )
    for first, second, key, kind in uow.execute(query):
        detail = "same name" + (" ignoring legal suffixes" if kind == "organization" else " and city or birthday")
        pairs.setdefault((first, second), []).append(f"{detail} ({key})")

    ordered = sorted(pairs.items(), key=lambda item: (-len(item[1]), item[0]))[:limit]
    names = {c.id: c.name for c in uow.customers.get_many({i for pair, _ in ordered for i in pair})}
    return [
        {"keep": first, "keep_name": names.get(first), "other": second, "other_name": names.get(second), "reasons": reasons}
        for (first, second), reasons in ordered
    ]

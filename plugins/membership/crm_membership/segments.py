"""Segment criteria for the campaigns plugin (its hook
``crm_campaigns_segment_criteria``): membership.tier, membership.points,
membership.upgrade_points and membership.status, each a SQL condition on
``crmcore.tables.customers``."""

from __future__ import annotations

from typing import Any, Callable

from crmcore import ValidationError

TEXT_OPS = ("eq", "ne", "in", "not_in", "contains", "exists")
NUMBER_OPS = ("eq", "ne", "gt", "gte", "lt", "lte", "between", "in", "not_in", "exists")
STATUSES = ("active", "lost", "cancelled")


def _members_where(condition: Any) -> Any:
    from sqlalchemy import select

    from crmcore.tables import customers
    from crm_membership.tables import members

    return customers.c.id.in_(select(members.c.customer_id).where(condition))


def _values(value: Any, op: str) -> list[Any]:
    if isinstance(value, (list, tuple, set)):
        items = list(value)
    else:
        items = [part.strip() for part in str(value).split(",") if part.strip()]
    if not items:
        raise ValidationError(f"criteria: {op} needs at least one value")
    return items


def _number(value: Any) -> int:
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        raise ValidationError(f"criteria: {value!r} is not a whole number of points") from None


def _compare(column: Any, op: str, value: Any, convert: Callable[[Any], Any]) -> Any:
    if op == "eq":
        return column == convert(value)
    if op == "ne":
        return column != convert(value)
    if op == "gt":
        return column > convert(value)
    if op == "gte":
        return column >= convert(value)
    if op == "lt":
        return column < convert(value)
    if op == "lte":
        return column <= convert(value)
    if op == "between":
        low, high = (_values(value, op) + [None, None])[:2]
        if high is None:
            raise ValidationError("criteria: between needs two values, e.g. [100, 500]")
        return column.between(convert(low), convert(high))
    if op == "in":
        return column.in_([convert(v) for v in _values(value, op)])
    if op == "not_in":
        return column.notin_([convert(v) for v in _values(value, op)])
    if op == "contains":
        return column.contains(str(value))
    raise ValidationError(f"criteria: unsupported operator {op!r}")


def tier(op: str, value: Any) -> Any:
    """Members whose tier (by name) matches; ``exists`` means any member."""
    from sqlalchemy import select

    from crm_membership.tables import members, tiers

    if op not in TEXT_OPS:
        raise ValidationError(f"criteria: membership.tier does not support {op!r} ({', '.join(TEXT_OPS)})")
    active = members.c.status == "active"
    if op == "exists":
        return _members_where(active)
    tier_ids = select(tiers.c.id).where(_compare(tiers.c.name, op, value, lambda v: str(v).strip()))
    return _members_where(active & members.c.tier_id.in_(tier_ids))


def points(op: str, value: Any, *, kind: str = "reward") -> Any:
    """Members whose reward (or upgrade) balance compares to ``value``."""
    from crm_membership.tables import balances, members

    if op not in NUMBER_OPS:
        raise ValidationError(f"criteria: membership points do not support {op!r} ({', '.join(NUMBER_OPS)})")
    active = members.c.status == "active"
    if op == "exists":
        return _members_where(active)
    column = balances.c.reward if kind == "reward" else balances.c.upgrade
    from sqlalchemy import select

    ids = select(balances.c.member_id).where(_compare(column, op, value, _number))
    return _members_where(active & members.c.id.in_(ids))


def status(op: str, value: Any) -> Any:
    """Membership status: active, lost (card reported lost) or cancelled."""
    from sqlalchemy import and_, select

    from crm_membership.tables import cards, members

    if op not in ("eq", "ne", "in", "not_in", "exists"):
        raise ValidationError(f"criteria: membership.status does not support {op!r} (eq, ne, in, not_in, exists)")
    if op == "exists":
        return _members_where(members.c.id.isnot(None))
    lost = select(cards.c.member_id).where(cards.c.status == "lost", cards.c.number == members.c.card_number)
    conditions = {
        "active": and_(members.c.status == "active", ~lost.exists()),
        "lost": and_(members.c.status == "active", lost.exists()),
        "cancelled": members.c.status == "cancelled",
    }
    wanted = _values(value, op) if op in ("in", "not_in") else [str(value).strip()]
    for item in wanted:
        if item not in conditions:
            raise ValidationError(f"criteria: membership.status is one of {', '.join(STATUSES)}, not {item!r}")
    from sqlalchemy import or_

    matched = _members_where(or_(*(conditions[item] for item in wanted)))
    return ~matched if op in ("ne", "not_in") else matched


def register_all(register: Callable[..., Any]) -> None:
    register("membership.tier", "会员级别 (membership tier)", tier, value_type="text")
    register("membership.points", "可用奖励积分 (reward points)", points, value_type="number")
    register("membership.upgrade_points", "升级积分 (upgrade points)", lambda op, value: points(op, value, kind="upgrade"), value_type="number")
    register("membership.status", "会员状态 (active / lost / cancelled)", status, value_type="text")

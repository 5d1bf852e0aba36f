"""Segment criteria for the campaigns plugin's audience builder:
``callcenter.open_complaints`` and ``callcenter.open_tickets`` (numbers)."""

from __future__ import annotations

from typing import Any, Callable

from sqlalchemy import func, select

from crmcore import ValidationError

NUMBER_OPS = ("eq", "ne", "gt", "gte", "lt", "lte", "between", "in", "not_in", "exists")


def _count(only_type: str | None) -> Any:
    from crmcore.tables import customers

    from crm_callcenter.tables import tickets

    query = select(func.count()).select_from(tickets).where(tickets.c.customer_id == customers.c.id, tickets.c.is_open.is_(True))
    if only_type:
        query = query.where(tickets.c.type == only_type)
    return query.scalar_subquery()


def _number(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ValidationError.field("criteria", f"{value!r} is not a whole number") from None


def builder(only_type: str | None) -> Callable[[str, Any], Any]:
    def build(op: str, value: Any) -> Any:
        count = _count(only_type)
        if op == "exists":
            return count > 0 if value in (None, True, "true", "1", 1) else count == 0
        if op in ("eq", "ne", "gt", "gte", "lt", "lte"):
            n = _number(value)
            return {"eq": count == n, "ne": count != n, "gt": count > n, "gte": count >= n, "lt": count < n, "lte": count <= n}[op]
        if op == "between":
            if not isinstance(value, (list, tuple)) or len(value) != 2:
                raise ValidationError.field("criteria", "between takes two numbers")
            low, high = (_number(v) for v in value)
            return count.between(low, high)
        if op in ("in", "not_in"):
            numbers = [_number(v) for v in (value if isinstance(value, (list, tuple)) else [value])]
            return count.in_(numbers) if op == "in" else count.notin_(numbers)
        raise ValidationError.field("criteria", f"{op!r} is not supported for ticket counts ({', '.join(NUMBER_OPS)})")

    return build


def register_criteria(register: Callable[..., Any]) -> None:
    register("callcenter.open_complaints", "未结投诉工单数", builder("complaint"), value_type="number")
    register("callcenter.open_tickets", "未结工单数", builder(None), value_type="number")

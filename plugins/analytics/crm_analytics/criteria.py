"""Segment criteria for the campaigns plugin (its hook
``crm_campaigns_segment_criteria``): campaigns can target customers by their
stored scores, e.g. ``analytics.churn_risk gt 0.7`` and
``analytics.clv_percentile gte 80`` (the top 20% by CLV).

Each ``build(op, value)`` returns a boolean expression over
``crmcore.tables.customers``: ``customers.c.id IN (SELECT customer_id FROM
analytics_… WHERE …)``. A customer without a score matches no comparison
(``ne``/``not_in`` included); ``exists`` (value true or false) asks whether
the customer has the score at all.
"""

from __future__ import annotations

from typing import Any, Callable

from sqlalchemy import not_, select

from crmcore import ValidationError
from crmcore.tables import customers

from crm_analytics.tables import clv, lifecycle, rfm, values

NUMBER_OPS = ("eq", "ne", "in", "not_in", "gt", "gte", "lt", "lte", "between", "exists")
TEXT_OPS = ("eq", "ne", "in", "not_in", "contains", "exists")

# name, label, table, column, value type
CRITERIA = [
    ("analytics.churn_risk", "流失风险 (1 − P(alive))", clv, "churn_risk", "number"),
    ("analytics.p_alive", "仍活跃概率 P(alive)", clv, "p_alive", "number"),
    ("analytics.clv", "客户终身价值 CLV", clv, "clv", "number"),
    ("analytics.clv_percentile", "CLV 百分位 (0–100, 100 最高)", clv, "clv_percentile", "number"),
    ("analytics.expected_purchases", "预计购买次数", clv, "expected_purchases", "number"),
    ("analytics.rfm_segment", "RFM 分群", rfm, "segment", "text"),
    ("analytics.rfm_cell", "RFM 代码 (如 555)", rfm, "cell", "text"),
    ("analytics.recency_days", "距上次购买天数", rfm, "recency_days", "number"),
    ("analytics.abc_class", "ABC 分类", values, "abc_class", "text"),
    ("analytics.value_grade", "价值等级", values, "grade", "text"),
    ("analytics.lifecycle_stage", "生命周期阶段", lifecycle, "stage", "text"),
]


def _number(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        raise ValidationError(f"criteria: {value!r} is not a number") from None


def _many(value: Any) -> list[Any]:
    if isinstance(value, str):
        return [v.strip() for v in value.split(",") if v.strip()]
    if isinstance(value, (list, tuple, set)):
        return list(value)
    return [value]


def _truthy(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() not in ("false", "no", "0", "")
    return value is None or bool(value)


def builder(name: str, table, column_name: str, value_type: str) -> Callable[[str, Any], Any]:
    column = table.c[column_name]
    ops = NUMBER_OPS if value_type == "number" else TEXT_OPS

    def build(op: str, value: Any = None):
        if op not in ops:
            raise ValidationError(f"criteria: {name} does not support {op!r} (use {', '.join(ops)})")
        ids = select(table.c.customer_id)
        if op == "exists":
            having = customers.c.id.in_(ids)
            return having if _truthy(value) else not_(having)
        convert = _number if value_type == "number" else str
        if op in ("in", "not_in"):
            items = [convert(v) for v in _many(value)]
            if not items:
                raise ValidationError(f"criteria: {name} {op} needs at least one value")
            condition = column.in_(items) if op == "in" else column.not_in(items)
        elif op == "between":
            bounds = _many(value)
            if len(bounds) != 2:
                raise ValidationError(f"criteria: {name} between needs two values, low and high")
            low, high = sorted(convert(v) for v in bounds)
            condition = column.between(low, high)
        elif op == "contains":
            condition = column.contains(str(value), autoescape=True)
        else:
            operand = convert(value)
            condition = {"eq": column == operand, "ne": column != operand, "gt": column > operand,
                         "gte": column >= operand, "lt": column < operand, "lte": column <= operand}[op]
        return customers.c.id.in_(ids.where(condition))

    return build


def register_criteria(register: Callable[..., Any]) -> None:
    for name, label, table, column, value_type in CRITERIA:
        register(name, label, builder(name, table, column, value_type), value_type=value_type)

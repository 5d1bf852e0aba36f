"""Charts from the stored scores, drawn with ``crmcore.charts``."""

from __future__ import annotations

import math
from bisect import bisect_left
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from crmcore import NotFound, bar_chart, grid_chart, save_chart
from crmcore.tables import customers

from crm_analytics.tables import clv as clv_table, rfm as rfm_table


def _scoped(uow: Any, table, query):
    scope = uow.customers.scope(select(customers.c.id))
    return query.where(table.c.customer_id.in_(scope))


def rfm_grid(uow: Any) -> list[list[int]]:
    """Customers per (R, F) cell: rows R = 5..1, columns F = 1..5."""
    query = _scoped(uow, rfm_table, select(rfm_table.c.r_score, rfm_table.c.f_score, func.count())
                    .group_by(rfm_table.c.r_score, rfm_table.c.f_score))
    grid = [[0] * 5 for _ in range(5)]
    found = False
    for r, f, n in uow.execute(query):
        grid[5 - r][f - 1] = n
        found = True
    if not found:
        raise NotFound("no RFM scores yet: run `crm analytics rfm` first")
    return grid


def write_rfm_chart(uow: Any, path: str | Path) -> Path:
    grid = rfm_grid(uow)
    svg = grid_chart("RFM 客户分布 (R × F)", [f"R{r}" for r in range(5, 0, -1)], [f"F{f}" for f in range(1, 6)], grid)
    return save_chart(svg, path)


def _nice(value: float) -> float:
    """Round up to two significant digits from 1, 1.5, 2, 2.5, 3, 4, 5, 6, 8 × a power of ten."""
    if value <= 0:
        return 0.0
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10):
        if value <= step * power * (1 + 1e-12):
            return step * power
    return 10 * power


def _label(value: float) -> str:
    return f"{value:,.0f}" if value >= 10 else f"{value:g}"


def clv_distribution(uow: Any, bins: int = 10) -> tuple[list[str], list[int]]:
    """Customers per CLV band, bands cut at round numbers near the deciles."""
    values = sorted(v for (v,) in uow.execute(_scoped(uow, clv_table, select(clv_table.c.clv))))
    if not values:
        raise NotFound("no CLV scores yet: run `crm analytics clv` first")
    n = len(values)
    edges = sorted({_nice(values[min(n - 1, int(n * k / bins))]) for k in range(1, bins)} - {0.0})
    edges = [0.0, *edges]
    labels, counts = [], []
    for low, high in zip(edges, [*edges[1:], None]):
        count = (bisect_left(values, high) if high is not None else n) - bisect_left(values, low)
        labels.append(f"{_label(low)}–{_label(high)}" if high is not None else f"≥ {_label(low)}")
        counts.append(count)
    return labels, counts


def write_clv_chart(uow: Any, path: str | Path) -> Path:
    labels, counts = clv_distribution(uow)
    return save_chart(bar_chart("客户终身价值分布 (CLV)", labels, counts, unit=" 人"), path)

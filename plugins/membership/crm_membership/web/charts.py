"""Points over time: a line chart of a member's balances month by month."""

from __future__ import annotations

from collections import defaultdict
from typing import Any, Iterable, Mapping

from markupsafe import Markup

from crmcore import web
from crmcore.charts import line_chart

def months_between(first: str, last: str) -> list[str]:
    """``YYYY-MM`` labels from ``first`` to ``last``, none skipped."""
    year, month = int(first[:4]), int(first[5:7])
    found = []
    while f"{year:04d}-{month:02d}" <= last:
        found.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return found


def points_over_time(entries: Iterable[dict[str, Any]], title: str, names: Mapping[str, str]) -> Markup | None:
    """Each balance at the end of every month, from the member's ledger
    entries (``names``: kind → label); None without entries."""
    change: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for entry in entries:
        change[entry["kind"]][entry["effective_on"].strftime("%Y-%m")] += entry["points"]
    touched = sorted({month for months in change.values() for month in months})
    if not touched:
        return None
    labels = months_between(touched[0], touched[-1])
    series = {}
    for kind, name in names.items():
        running, line = 0, []
        for month in labels:
            running += change[kind].get(month, 0)
            line.append(running)
        series[name] = line
    return web.chart(line_chart(title, labels, series), title)


def monthly_chart(rows: Iterable[dict[str, Any]], title: str, names: Mapping[str, str]) -> Markup | None:
    """Report rows per plan and month summed per month (``names``: column →
    label): points earned, redeemed, expired… as lines."""
    totals: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for row in rows:
        for column in names:
            totals[row["month"]][column] += int(row[column])
    if not totals:
        return None
    labels = months_between(min(totals), max(totals))
    series = {name: [totals[month][column] if month in totals else 0 for month in labels] for column, name in names.items()}
    return web.chart(line_chart(title, labels, series), title)

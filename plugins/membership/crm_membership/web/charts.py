"""Points over time: a line chart of a member's balances month by month.
The core's charts (crmcore.charts) draw bars, funnels and grids; a balance
over time reads better as a line, drawn here in the same style."""

from __future__ import annotations

from collections import defaultdict
from html import escape
from typing import Any, Iterable, Mapping, Sequence

from markupsafe import Markup

from crmcore import web
from crmcore.charts import PALETTE, _document, _number

WIDTH, HEIGHT, LEFT, RIGHT, TOP, BOTTOM = 720, 300, 70, 20, 70, 40


def line_chart(title: str, labels: Sequence[str], series: Mapping[str, Sequence[float]]) -> str:
    """One line per series over ``labels`` (months), with a legend."""
    values = [float(v) for line in series.values() for v in line]
    low, high = min([0.0, *values]), max([0.0, *values]) or 1.0
    span_x, span_y = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x(index: int) -> float:
        return LEFT + (span_x * index / (len(labels) - 1) if len(labels) > 1 else span_x / 2)

    def y(value: float) -> float:
        return TOP + span_y * (high - value) / ((high - low) or 1)

    body = [f"<line x1='{LEFT}' y1='{y(0):.1f}' x2='{WIDTH - RIGHT}' y2='{y(0):.1f}' stroke='#999'/>"]
    for tick in (low, (low + high) / 2, high):
        body.append(f"<text x='{LEFT - 6}' y='{y(tick) + 4:.1f}' text-anchor='end' font-size='11'>{_number(tick)}</text>")
    step = max(1, len(labels) // 8)
    for index, label in enumerate(labels):
        if index % step == 0 or index == len(labels) - 1:
            body.append(f"<text x='{x(index):.1f}' y='{HEIGHT - 14}' text-anchor='middle' font-size='11'>{escape(label)}</text>")
    for number, (name, line) in enumerate(series.items()):
        colour = PALETTE[number % len(PALETTE)]
        points = " ".join(f"{x(i):.1f},{y(float(v)):.1f}" for i, v in enumerate(line))
        body.append(f"<polyline points='{points}' fill='none' stroke='{colour}' stroke-width='2.5'/>")
        body += [f"<circle cx='{x(i):.1f}' cy='{y(float(v)):.1f}' r='3' fill='{colour}'/>" for i, v in enumerate(line)]
        body.append(f"<rect x='{LEFT + number * 160}' y='40' width='12' height='12' fill='{colour}'/>"
                    f"<text x='{LEFT + number * 160 + 18}' y='50' font-size='12'>{escape(name)}</text>")
    return _document(WIDTH, HEIGHT, title, body)


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

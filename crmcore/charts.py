"""Small SVG charts for reports (funnels, bars, grids), with no plotting
library: plugins write them to files for ``--chart FILE`` options."""

from __future__ import annotations

from html import escape
from pathlib import Path
from typing import Mapping, Sequence

PALETTE = ("#2f6fdf", "#3fa66a", "#e8a33d", "#d9534f", "#8e6bd8", "#2bb3c0", "#7f8c8d", "#c0607a")
FONT = "font-family='PingFang SC, Microsoft YaHei, Noto Sans CJK SC, sans-serif'"


def _document(width: int, height: int, title: str, body: list[str]) -> str:
    return "\n".join([
        f"<svg xmlns='http://www.w3.org/2000/svg' width='{width}' height='{height}' viewBox='0 0 {width} {height}' {FONT}>",
        f"<rect width='{width}' height='{height}' fill='white'/>",
        f"<text x='{width / 2}' y='28' text-anchor='middle' font-size='18' font-weight='bold'>{escape(title)}</text>",
        *body,
        "</svg>",
    ])


def _number(value: float) -> str:
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:,.2f}".rstrip("0").rstrip(".")


def bar_chart(title: str, labels: Sequence[str], values: Sequence[float], *, unit: str = "", width: int = 720) -> str:
    """Horizontal bars, one per label."""
    if len(labels) != len(values):
        raise ValueError("labels and values differ in length")
    row, top, label_width = 32, 50, 180
    height = top + row * max(len(labels), 1) + 20
    largest = max((float(v) for v in values), default=0) or 1
    span = width - label_width - 120
    body = []
    for index, (label, value) in enumerate(zip(labels, values)):
        y = top + index * row
        length = max(span * float(value) / largest, 1)
        body.append(f"<text x='{label_width - 8}' y='{y + 20}' text-anchor='end' font-size='13'>{escape(str(label))}</text>")
        body.append(f"<rect x='{label_width}' y='{y + 6}' width='{length:.1f}' height='{row - 10}' fill='{PALETTE[index % len(PALETTE)]}'/>")
        body.append(f"<text x='{label_width + length + 6:.1f}' y='{y + 20}' font-size='12'>{_number(float(value))}{escape(unit)}</text>")
    return _document(width, height, title, body)


def funnel_chart(title: str, stages: Sequence[str], values: Sequence[float], *, width: int = 720) -> str:
    """A funnel: centred bars narrowing stage by stage, with the share of the first."""
    if len(stages) != len(values):
        raise ValueError("stages and values differ in length")
    row, top = 44, 50
    height = top + row * max(len(stages), 1) + 20
    first = float(values[0]) if values and float(values[0]) else 1.0
    largest = max((float(v) for v in values), default=0) or 1
    span = width - 260
    body = []
    for index, (stage, value) in enumerate(zip(stages, values)):
        y = top + index * row
        length = max(span * float(value) / largest, 2)
        x = (width - length) / 2
        share = 100 * float(value) / first
        body.append(f"<rect x='{x:.1f}' y='{y}' width='{length:.1f}' height='{row - 8}' rx='4' fill='{PALETTE[index % len(PALETTE)]}'/>")
        body.append(f"<text x='{width / 2}' y='{y + row / 2}' text-anchor='middle' font-size='13' fill='black'>"
                    f"{escape(str(stage))}: {_number(float(value))} ({share:.0f}%)</text>")
    return _document(width, height, title, body)


def grid_chart(title: str, rows: Sequence[str], columns: Sequence[str], values: Sequence[Sequence[float]], *, width: int = 720) -> str:
    """A heat grid (an RFM grid, say): darker cells hold more."""
    cell_w = (width - 140) / max(len(columns), 1)
    cell_h, top = 36, 70
    height = int(top + cell_h * len(rows) + 20)
    largest = max((float(v) for line in values for v in line), default=0) or 1
    body = [f"<text x='{140 + i * cell_w + cell_w / 2:.1f}' y='{top - 8}' text-anchor='middle' font-size='12'>{escape(str(c))}</text>"
            for i, c in enumerate(columns)]
    for r, label in enumerate(rows):
        y = top + r * cell_h
        body.append(f"<text x='132' y='{y + cell_h / 2 + 4}' text-anchor='end' font-size='12'>{escape(str(label))}</text>")
        for c, value in enumerate(values[r]):
            opacity = 0.08 + 0.92 * float(value) / largest
            x = 140 + c * cell_w
            body.append(f"<rect x='{x:.1f}' y='{y}' width='{cell_w - 2:.1f}' height='{cell_h - 2}' fill='#2f6fdf' fill-opacity='{opacity:.2f}'/>")
            body.append(f"<text x='{x + cell_w / 2:.1f}' y='{y + cell_h / 2 + 4}' text-anchor='middle' font-size='11'>{_number(float(value))}</text>")
    return _document(width, height, title, body)


def line_chart(title: str, labels: Sequence[str], series: Mapping[str, Sequence[float]], *, width: int = 720) -> str:
    """One line per series over ``labels`` (months, days), with a legend:
    points over time, call volumes."""
    WIDTH, HEIGHT, LEFT, RIGHT, TOP, BOTTOM = width, 300, 70, 20, 70, 40
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


def save_chart(svg: str, path: str | Path) -> Path:
    """Write an SVG file; a ``.png`` path is converted when cairosvg is installed."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.suffix.lower() == ".png":
        try:
            import cairosvg
        except ImportError:
            from crmcore.errors import ValidationError

            raise ValidationError.field("chart", "PNG output needs the cairosvg package; write a .svg file instead") from None
        cairosvg.svg2png(bytestring=svg.encode("utf-8"), write_to=str(target))
    else:
        target.write_text(svg, encoding="utf-8")
    return target

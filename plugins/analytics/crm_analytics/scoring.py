"""The scoring rules, vectorised over customers: RFM quintiles and named
cells, ABC and value grades from rules held as data, lifecycle stages.
numpy is imported here: import this module inside functions."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np


def rankdata(values: np.ndarray, method: str = "average") -> np.ndarray:
    """1-based ranks, ties sharing their average rank (as scipy.stats.rankdata,
    without importing scipy.stats, which costs a second)."""
    n = values.shape[0]
    order = np.argsort(values, kind="mergesort")
    ordered = values[order]
    starts = np.concatenate(([0], np.flatnonzero(ordered[1:] != ordered[:-1]) + 1))
    ends = np.append(starts[1:], n)
    ranks = np.empty(n)
    ranks[order] = np.repeat((starts + ends + 1) / 2.0, ends - starts)
    return ranks

# ---------------------------------------------------------------------------
# RFM
# ---------------------------------------------------------------------------

#: Named cells of the R × FM grid, FM = round((F + M) / 2). Rows: R score 5..1,
#: columns: FM score 1..5.
SEGMENT_GRID = [
    # FM:  1                 2                      3                      4           5
    ["new", "potential_loyalist", "potential_loyalist", "champions", "champions"],  # R = 5
    ["promising", "potential_loyalist", "potential_loyalist", "loyal", "loyal"],  # R = 4
    ["about_to_sleep", "about_to_sleep", "need_attention", "loyal", "loyal"],  # R = 3
    ["hibernating", "hibernating", "at_risk", "at_risk", "cant_lose"],  # R = 2
    ["lost", "hibernating", "at_risk", "at_risk", "cant_lose"],  # R = 1
]

SEGMENT_LABELS = {
    "champions": "冠军客户", "loyal": "忠诚客户", "potential_loyalist": "潜力客户", "new": "新客户",
    "promising": "有望客户", "need_attention": "需要关注", "about_to_sleep": "即将休眠", "at_risk": "有流失风险",
    "cant_lose": "不能失去", "hibernating": "休眠客户", "lost": "已流失",
}

SEGMENTS = list(SEGMENT_LABELS)


def quintile_scores(values: np.ndarray) -> np.ndarray:
    """1..5, 5 for the largest fifth; ties share a score (average rank)."""
    n = values.shape[0]
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    ranks = rankdata(values, method="average")
    return np.clip(np.ceil(5 * ranks / n), 1, 5).astype(np.int64)


def rfm_scores(recency_days: np.ndarray, frequency: np.ndarray, monetary: np.ndarray) -> dict[str, np.ndarray]:
    r = quintile_scores(-recency_days.astype(float))  # more recent = higher
    f = quintile_scores(frequency.astype(float))
    m = quintile_scores(monetary.astype(float))
    fm = np.floor((f + m) / 2 + 0.5).astype(np.int64)
    grid = np.array(SEGMENT_GRID, dtype=object)
    segment = grid[5 - r, fm - 1] if r.shape[0] else np.zeros(0, dtype=object)
    cell = np.char.add(np.char.add(r.astype(str), f.astype(str)), m.astype(str)) if r.shape[0] else np.zeros(0, dtype=str)
    return {"r": r, "f": f, "m": m, "segment": segment, "cell": cell}


# ---------------------------------------------------------------------------
# ABC and value grades
# ---------------------------------------------------------------------------


@dataclass
class Rule:
    kind: str
    code: str
    label: str
    position: int
    max_cumulative_share: float | None = None
    abc: str | None = None
    top_share: float | None = None
    min_revenue: float | None = None
    min_purchases: int | None = None

    @classmethod
    def of(cls, row: Any) -> "Rule":
        values = dict(row)
        values.pop("id", None)
        if values.get("min_revenue") is not None:
            values["min_revenue"] = float(values["min_revenue"])
        return cls(**values)

    def describe(self) -> str:
        if self.kind == "abc":
            return f"cumulative revenue share before the customer < {self.max_cumulative_share:g}"
        parts = []
        if self.abc:
            parts.append(f"ABC class in {self.abc}")
        if self.top_share is not None:
            parts.append(f"in the top {self.top_share:.0%} of customers by revenue")
        if self.min_revenue is not None:
            parts.append(f"revenue >= {self.min_revenue:g}")
        if self.min_purchases is not None:
            parts.append(f"purchases >= {self.min_purchases}")
        return " and ".join(parts) or "every other customer"


def grade(revenue: np.ndarray, purchases: np.ndarray, customer: np.ndarray, rules: Sequence[Rule]) -> dict[str, np.ndarray]:
    """Rank customers by revenue (largest first, ties by id), then ABC class
    and grade by the rules (first match by position; the last rule of a kind
    takes whoever matched none)."""
    n = revenue.shape[0]
    order = np.lexsort((customer, -revenue))
    rank = np.empty(n, dtype=np.int64)
    rank[order] = np.arange(1, n + 1)
    total = float(revenue.sum())
    cumulative = np.cumsum(revenue[order])
    share = np.empty(n)
    before = np.empty(n)
    if total > 0:
        share[order] = cumulative / total
        before[order] = (cumulative - revenue[order]) / total
    else:
        share[:] = 1.0
        before[:] = 1.0
    abc_rules = sorted((r for r in rules if r.kind == "abc"), key=lambda r: r.position)
    grade_rules = sorted((r for r in rules if r.kind == "grade"), key=lambda r: r.position)
    abc = _first_match(n, [(r.code, (before < r.max_cumulative_share) & (revenue > 0) if r.max_cumulative_share is not None
                                else np.ones(n, bool)) for r in abc_rules])
    conditions = []
    for rule in grade_rules:
        ok = np.ones(n, dtype=bool)
        if rule.abc:
            ok &= np.isin(abc, [c.strip() for c in rule.abc.split(",") if c.strip()])
        if rule.top_share is not None:
            ok &= rank <= np.ceil(rule.top_share * n)
            ok &= revenue > 0
        if rule.min_revenue is not None:
            ok &= revenue >= rule.min_revenue
        if rule.min_purchases is not None:
            ok &= purchases >= rule.min_purchases
        conditions.append((rule.code, ok))
    grades = _first_match(n, conditions)
    return {"rank": rank, "cumulative_share": share, "abc": abc, "grade": grades}


def _first_match(n: int, conditions: list[tuple[str, np.ndarray]]) -> np.ndarray:
    result = np.full(n, "", dtype=object)
    open_ = np.ones(n, dtype=bool)
    for code, ok in conditions:
        hit = open_ & ok
        result[hit] = code
        open_ &= ~hit
    if conditions:
        result[open_] = conditions[-1][0]
    return result


# ---------------------------------------------------------------------------
# Lifecycle stage
# ---------------------------------------------------------------------------

STAGES = ("exploration", "formation", "stability", "decline")
#: A customer is overdue when the days since their last purchase exceed this
#: many times their usual gap between purchases.
OVERDUE_FACTOR = 2.0
#: Slowing down: recent gaps this many times longer than earlier gaps.
SLOWING_FACTOR = 1.5
#: Speeding up: recent gaps shorter than this share of earlier gaps.
ACCELERATING_FACTOR = 0.67
#: Fewer transactions than this (and not declining) is still formation.
STABLE_AFTER = 4
#: The usual gap when nobody in the data has bought twice.
DEFAULT_GAP_DAYS = 90.0


def lifecycle_stages(group_start: np.ndarray, day: np.ndarray, as_of_day: int) -> dict[str, np.ndarray]:
    """Stages from each customer's transaction days (sorted by customer then
    day, ``group_start`` marking each customer's first row).

    The rules, first match wins (see the README):

    1. **decline / overdue** — days since the last purchase > 2 × the usual
       gap (the customer's mean gap; for one-time buyers the median of all
       customers' mean gaps);
    2. **decline / slowing** — at least 4 transactions and the mean of the
       later half of the gaps > 1.5 × the mean of the earlier half;
    3. **exploration / first_purchase** — one transaction so far;
    4. **formation / early_repeat** — fewer than 4 transactions;
       **formation / accelerating** — the later gaps < 0.67 × the earlier gaps;
    5. **stability / steady** — everything else: repeat buying at a steady,
       up-to-date cadence.
    """
    n_rows = day.shape[0]
    group = np.cumsum(group_start) - 1
    n = int(group_start.sum())
    count = np.bincount(group, minlength=n)
    first_index = np.flatnonzero(group_start)
    last_index = np.append(first_index[1:] - 1, n_rows - 1).astype(np.int64) if n else first_index
    last_day = day[last_index]
    since = as_of_day - last_day
    # gaps: between consecutive rows of one customer
    gap = np.diff(day).astype(float)
    gap_group = group[1:]
    same = ~group_start[1:]
    gap, gap_group = gap[same], gap_group[same]
    gaps_n = count - 1
    # position of each gap within its customer (0-based)
    gap_pos = np.arange(gap.shape[0]) - np.repeat(np.concatenate(([0], np.cumsum(gaps_n)[:-1])), gaps_n) if gap.shape[0] else gap
    later = gap_pos >= (gaps_n[gap_group] // 2) if gap.shape[0] else np.zeros(0, bool)
    with np.errstate(divide="ignore", invalid="ignore"):
        mean_gap = np.bincount(gap_group, weights=gap, minlength=n) / gaps_n
        later_n = np.bincount(gap_group, weights=later.astype(float), minlength=n)
        recent = np.bincount(gap_group, weights=gap * later, minlength=n) / later_n
        earlier = np.bincount(gap_group, weights=gap * ~later, minlength=n) / (gaps_n - later_n)
        trend = np.where(gaps_n >= 2, recent / earlier, np.nan)
    repeaters = mean_gap[gaps_n >= 1]
    population_gap = float(np.median(repeaters)) if repeaters.shape[0] else DEFAULT_GAP_DAYS
    usual = np.where(gaps_n >= 1, np.maximum(np.nan_to_num(mean_gap), 1.0), max(population_gap, 1.0))
    with np.errstate(invalid="ignore"):
        slowing = (count >= STABLE_AFTER) & np.nan_to_num(trend > SLOWING_FACTOR)
        accelerating = (gaps_n >= 2) & np.nan_to_num(trend < ACCELERATING_FACTOR)
    conditions = [
        (("decline", "overdue"), since > OVERDUE_FACTOR * usual),
        (("decline", "slowing"), slowing),
        (("exploration", "first_purchase"), count == 1),
        (("formation", "early_repeat"), count < STABLE_AFTER),
        (("formation", "accelerating"), accelerating),
        (("stability", "steady"), np.ones(n, bool)),
    ]
    stage = np.full(n, "", dtype=object)
    rule = np.full(n, "", dtype=object)
    open_ = np.ones(n, dtype=bool)
    for (name, why), ok in conditions:
        hit = open_ & ok
        stage[hit] = name
        rule[hit] = why
        open_ &= ~hit
    return {
        "stage": stage, "rule": rule, "transactions": count, "days_since_last": since,
        "mean_gap_days": np.where(gaps_n >= 1, mean_gap, np.nan),
        "recent_gap_days": np.where(gaps_n >= 1, recent, np.nan), "trend": trend,
        "population_gap_days": population_gap,
    }


def percentile_ranks(values: np.ndarray) -> np.ndarray:
    """0..100, 100 for the largest value; ties share the average rank."""
    n = values.shape[0]
    if n == 0:
        return np.zeros(0)
    return 100.0 * rankdata(values, method="average") / n

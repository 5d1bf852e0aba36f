"""The customer panel shown by ``crm customer show`` and, through its
template, on the web customer page."""

from __future__ import annotations

from typing import Any

from crmcore import Panel

TITLE = "客户价值分析"  # translated on the web by the plugin's en catalogue
TEMPLATE = "analytics/web/panel.html"


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def panel_data(scores: dict[str, Any]) -> dict[str, Any]:
    data: dict[str, Any] = {}
    if "rfm" in scores:
        r = scores["rfm"]
        data.update(rfm_segment=r["segment"], rfm_cell=r["cell"], recency_days=r["recency_days"],
                    frequency=r["frequency"], monetary=r["monetary"])
    if "value" in scores:
        v = scores["value"]
        data.update(abc_class=v["abc_class"], value_grade=v["grade"])
    if "clv" in scores:
        c = scores["clv"]
        data.update(p_alive=round(c["p_alive"], 4), churn_risk=round(c["churn_risk"], 4),
                    expected_purchases=round(c["expected_purchases"], 4), expected_spend=round(c["expected_spend"], 2),
                    clv=round(c["clv"], 2), clv_percentile=round(c["clv_percentile"], 1), horizon_weeks=c["horizon_weeks"])
    if "lifecycle" in scores:
        data["lifecycle_stage"] = scores["lifecycle"]["stage"]
    dates = [s["as_of"] for s in scores.values()]
    data["as_of"] = max(dates)
    data["stale"] = any(s["stale"] for s in scores.values())
    return data


def panel_lines(scores: dict[str, Any]) -> list[str]:
    from crm_analytics.scoring import SEGMENT_LABELS

    lines = []
    if "rfm" in scores:
        r = scores["rfm"]
        lines.append(f"RFM {r['cell']} {SEGMENT_LABELS.get(r['segment'], r['segment'])} ({r['segment']}): "
                     f"last purchase {_plural(r['recency_days'], 'day')} ago, {_plural(r['frequency'], 'purchase')}, "
                     f"{r['monetary']} in the window")
    if "value" in scores:
        v = scores["value"]
        lines.append(f"value: ABC {v['abc_class']}, grade {v['grade']} (rank {v['rank']}, revenue {v['revenue']})")
    if "clv" in scores:
        c = scores["clv"]
        lines.append(f"P(alive) {c['p_alive']:.2f}, churn risk {c['churn_risk']:.2f}; next {c['horizon_weeks']:g} weeks: "
                     f"{c['expected_purchases']:.2f} purchases × {c['expected_spend']:.2f}; "
                     f"CLV {c['clv']:,.2f} (top {100 - c['clv_percentile']:.0f}%)")
    if "lifecycle" in scores:
        l = scores["lifecycle"]
        lines.append(f"lifecycle: {l['stage']} ({l['rule']}, {_plural(l['transactions'], 'purchase day')}, "
                     f"{_plural(l['days_since_last'], 'day')} since the last)")
    as_of = max(s["as_of"] for s in scores.values())
    stale = any(s["stale"] for s in scores.values())
    lines.append(f"as of {as_of}" + (" — stale: purchases changed since; run `crm analytics score`" if stale else ""))
    return lines


def customer_panel(uow: Any, customer: Any) -> Panel | None:
    if not uow.has_service("analytics"):
        return None
    scores = uow.service("analytics").customer_scores(customer.id)
    if not scores:
        return None
    return Panel("analytics", TITLE, panel_data(scores), lines=panel_lines(scores), template=TEMPLATE)

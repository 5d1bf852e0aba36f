"""``crm analytics ...``: customer value analysis. numpy/scipy load only
when a command runs."""

from __future__ import annotations

import sys
from contextlib import contextmanager
from typing import Any, Iterator

import click

from crmcore import CLIState, pass_state

DATE = "YYYY-MM-DD"


def _day(value: str | None, field: str):
    from crm_analytics.data import parse_day

    return parse_day(value, field)


def _round(rows: list[dict[str, Any]], digits: int = 4) -> list[dict[str, Any]]:
    return [{k: round(v, digits) if isinstance(v, float) else v for k, v in row.items()} for row in rows]


@contextmanager
def _progress(state: CLIState, uow: Any, label: str, tables: int) -> Iterator[Any]:
    """A progress bar on stderr over purchases read plus score rows written
    (so ``--json`` output stays clean)."""
    from sqlalchemy import func, select

    from crmcore.tables import activities, customers

    purchases = uow.execute(select(func.count()).select_from(activities).where(activities.c.type == "purchase")).scalar() or 0
    people = uow.execute(select(func.count()).select_from(customers).where(customers.c.active.is_(True))).scalar() or 0
    with click.progressbar(length=max(purchases + tables * people, 1), label=label, file=sys.stderr,
                           show_eta=True, show_percent=True) as bar:
        def advance(what: str, n: int) -> None:
            if n:
                bar.update(n)

        yield advance
        bar.update(bar.length - bar.pos)


@click.group()
def analytics() -> None:
    """Customer value analysis: RFM, ABC/value grades, lifetime value (BG/NBD +
    Gamma-Gamma), churn risk and lifecycle stage."""


# ---------------------------------------------------------------------------
# RFM and grades
# ---------------------------------------------------------------------------


@analytics.command("rfm")
@click.option("--as-of", "as_of", metavar=DATE, help="Day to compute for (default today).")
@click.option("--window", default="365d", show_default=True, help="Frequency/monetary window: 90d, 12m, 1y or all.")
@click.option("--chart", "chart", type=click.Path(dir_okay=False), help="Also write the RFM grid chart (.svg or .png).")
@pass_state
def rfm_command(state: CLIState, as_of: str | None, window: str, chart: str | None) -> None:
    """Compute and store RFM scores (quintiles, named cells); print a summary."""
    from crm_analytics.data import parse_window

    window_days = parse_window(window)
    with state.uow() as uow:
        with _progress(state, uow, "RFM", 1) as progress:
            summary = uow.service("analytics").rfm(as_of=_day(as_of, "as-of"), window_days=window_days, progress=progress)
        if chart:
            from crm_analytics.charts import write_rfm_chart

            summary["chart"] = str(write_rfm_chart(uow, chart))

    def text() -> str:
        from crm_analytics.textual import render_table

        head = (f"RFM as of {summary['as_of']} ({'all history' if window_days is None else f'{window_days}-day window'}): "
                f"{summary['customers']} customers")
        lines = [head, render_table(summary["segments"], ["segment", "label", "customers", "share", "revenue"])]
        if chart:
            lines.append(f"chart: {summary['chart']}")
        return "\n".join(lines)

    state.emit(summary, text=text)


@analytics.command("grade")
@click.option("--as-of", "as_of", metavar=DATE, help="Day to compute for (default today).")
@click.option("--window", default="365d", show_default=True, help="Revenue window: 90d, 12m, 1y or all.")
@click.option("--write-back", is_flag=True, help="Set each graded customer's core level to its grade (audited).")
@pass_state
def grade_command(state: CLIState, as_of: str | None, window: str, write_back: bool) -> None:
    """ABC classes (Pareto by revenue) and value grades by the stored rules."""
    from crm_analytics.data import parse_window

    window_days = parse_window(window)
    with state.uow() as uow:
        with _progress(state, uow, "grades", 1) as progress:
            summary = uow.service("analytics").grade(as_of=_day(as_of, "as-of"), window_days=window_days,
                                                     write_back=write_back, progress=progress)

    def text() -> str:
        from crm_analytics.textual import render_table

        lines = [f"value grades as of {summary['as_of']}: {summary['customers']} customers",
                 render_table(summary["abc"]), "", render_table(summary["grades"])]
        if write_back:
            lines.append(f"core level changed for {summary['levels_changed']} customers")
        return "\n".join(lines)

    state.emit(summary, text=text)


@analytics.group("rules")
def rules_group() -> None:
    """Grading rules, stored as data: ABC shares and value grades."""


def _rule_row(rule: Any) -> dict[str, Any]:
    return {"kind": rule.kind, "code": rule.code, "label": rule.label, "position": rule.position,
            "max_cumulative_share": rule.max_cumulative_share, "abc": rule.abc, "top_share": rule.top_share,
            "min_revenue": rule.min_revenue, "min_purchases": rule.min_purchases, "condition": rule.describe()}


@rules_group.command("list")
@click.option("--kind", type=click.Choice(["abc", "grade"]), help="Only rules of this kind.")
@pass_state
def rules_list(state: CLIState, kind: str | None) -> None:
    """List the grading rules in the order they are applied."""
    with state.uow() as uow:
        rows = [_rule_row(rule) for rule in uow.service("analytics").rules(kind)]
    state.emit(rows, columns=["kind", "position", "code", "label", "condition"])


@rules_group.command("set")
@click.argument("kind", type=click.Choice(["abc", "grade"]))
@click.argument("code")
@click.option("--label", help="Display label, e.g. 贵宾.")
@click.option("--position", type=int, help="Order of application (first match wins).")
@click.option("--max-cumulative-share", type=float, help="ABC: class holds customers before this cumulative revenue share.")
@click.option("--abc", help="Grade: the customer's ABC class is one of these (comma-separated).")
@click.option("--top-share", type=float, help="Grade: the customer ranks in this top share of customers by revenue.")
@click.option("--min-revenue", type=float, help="Grade: revenue in the window at least this.")
@click.option("--min-purchases", type=int, help="Grade: purchases in the window at least this.")
@click.option("--clear", "clear", multiple=True, type=click.Choice(["abc", "top_share", "min_revenue", "min_purchases"]),
              help="Remove a condition from the rule (repeatable).")
@pass_state
def rules_set(state: CLIState, kind: str, code: str, clear: tuple[str, ...], **fields: Any) -> None:
    """Add or change a rule; grade codes must be customer levels."""
    with state.uow() as uow:
        service = uow.service("analytics")
        service.set_rule(kind, code, **fields)
        service.clear_rule_condition(kind, code, clear)
        rule = next(r for r in service.rules(kind) if r.code == code)
    state.emit(_rule_row(rule))


@rules_group.command("delete")
@click.argument("kind", type=click.Choice(["abc", "grade"]))
@click.argument("code")
@pass_state
def rules_delete(state: CLIState, kind: str, code: str) -> None:
    """Delete a rule."""
    with state.uow() as uow:
        uow.service("analytics").delete_rule(kind, code)
    state.emit({"deleted": f"{kind}:{code}"}, text=f"deleted {kind} rule {code}")


# ---------------------------------------------------------------------------
# Models, CLV, churn
# ---------------------------------------------------------------------------


def _model_text(model: dict[str, Any]) -> str:
    bg, gg = model["bgnbd"], model["gamma_gamma"]
    lines = [f"model {model['model_id']}: {model['customers']} customers ({model['repeat_customers']} repeat), "
             f"{model['period']['from'] or 'start'} .. {model['period']['to']}",
             f"BG/NBD       r={bg['r']:.4f}  alpha={bg['alpha']:.4f}  a={bg['a']:.4f}  b={bg['b']:.4f}  "
             f"LL={model['log_likelihood']['bgnbd']:.2f}"]
    if gg:
        lines.append(f"Gamma-Gamma  p={gg['p']:.4f}  q={gg['q']:.4f}  gamma={gg['gamma']:.4f}  "
                     f"LL={model['log_likelihood']['gamma_gamma']:.2f}")
    else:
        lines.append("Gamma-Gamma  not fitted (too few repeat customers)")
    lines += [f"warning: {w}" for w in model.get("warnings", [])]
    return "\n".join(lines)


@analytics.command("fit")
@click.option("--from", "period_from", metavar=DATE, help="First day of the calibration period (default: all history).")
@click.option("--to", "period_to", metavar=DATE, help="Last day of the calibration period (default today).")
@pass_state
def fit_command(state: CLIState, period_from: str | None, period_to: str | None) -> None:
    """Fit BG/NBD and Gamma-Gamma by maximum likelihood; store and print them."""
    with state.uow() as uow:
        with _progress(state, uow, "fit", 0) as progress:
            model = uow.service("analytics").fit(period_from=_day(period_from, "from"), period_to=_day(period_to, "to"),
                                                 progress=progress)
    state.emit(model, text=lambda: _model_text(model))


@analytics.command("models")
@click.option("--limit", type=int, default=20, show_default=True)
@pass_state
def models_command(state: CLIState, limit: int) -> None:
    """List fitted models, newest first."""
    with state.uow() as uow:
        rows = uow.service("analytics").models(limit)
    state.emit(rows, text=lambda: "\n\n".join(_model_text(m) for m in rows) or "(none)")


@analytics.command("clv")
@click.option("--as-of", "as_of", metavar=DATE, help="Day to predict from (default today).")
@click.option("--horizon", default="52w", show_default=True, help="How far ahead: 39w, 12m, 1y, 90d (a bare number is weeks).")
@click.option("--margin", type=float, default=1.0, show_default=True, help="Profit margin on spend (0..1).")
@click.option("--discount", type=float, default=0.0, show_default=True, help="Discount rate per --discount-per, e.g. 0.1.")
@click.option("--discount-per", type=click.Choice(["year", "month", "week"]), default="year", show_default=True,
              help="The period the discount rate is for.")
@click.option("--step", type=click.Choice(["week", "month"]), default="week", show_default=True,
              help="Discount expected purchases week by week or month by month (month + --discount-per month is lifetimes' convention).")
@click.option("--from", "period_from", metavar=DATE, help="Fit on purchases from this day (default: all history).")
@click.option("--model", "model_id", type=int, help="Use this stored model instead of fitting one.")
@click.option("--limit", type=int, help="Show only the best N customers.")
@click.option("--chart", type=click.Path(dir_okay=False), help="Also write the CLV distribution chart (.svg or .png).")
@pass_state
def clv_command(state: CLIState, as_of: str | None, horizon: str, margin: float, discount: float, discount_per: str, step: str,
                period_from: str | None, model_id: int | None, limit: int | None, chart: str | None) -> None:
    """Lifetime value per customer: P(alive), expected purchases and spend, CLV."""
    from crm_analytics.data import parse_span_days

    weeks = parse_span_days(horizon, "horizon", default_unit="w") / 7.0
    with state.uow() as uow:
        service = uow.service("analytics")
        with _progress(state, uow, "CLV", 1) as progress:
            summary = service.clv(as_of=_day(as_of, "as-of"), horizon_weeks=weeks, margin=margin, discount=discount,
                                  discount_per=discount_per, step=step, period_from=_day(period_from, "from"),
                                  model_id=model_id, progress=progress)
        rows = _round(service.clv_list(limit=limit))
        if chart:
            from crm_analytics.charts import write_clv_chart

            write_clv_chart(uow, chart)
    columns = ["customer_id", "code", "p_alive", "expected_purchases", "expected_spend", "clv", "churn_risk", "clv_percentile"]

    def text() -> str:
        from crm_analytics.textual import render_table

        head = (f"CLV as of {summary['as_of']}, horizon {weeks:g} weeks, margin {margin:g}, discount {discount:g}/{discount_per}: "
                f"{summary['customers']} customers, total {summary['total_clv']:,.2f} (model {summary['model']['model_id']})")
        return "\n".join([head, render_table(rows, columns)] + ([f"chart: {chart}"] if chart else []))

    state.emit([{k: row[k] for k in columns} for row in rows], text=text)


@analytics.command("churn")
@click.option("--above", type=float, default=0.7, show_default=True, help="Churn risk (1 − P(alive)) threshold.")
@click.option("--limit", type=int, help="At most this many customers.")
@click.option("--order", type=click.Choice(["value", "risk"]), default="value", show_default=True,
              help="Most valuable first (repeat purchases × expected spend) or riskiest first.")
@pass_state
def churn_command(state: CLIState, above: float, limit: int | None, order: str) -> None:
    """Customers at risk of churning, for retention work (from the last CLV run)."""
    with state.uow() as uow:
        rows = _round(uow.service("analytics").churn_list(above=above, limit=limit, order=order))
    state.emit(rows, columns=["customer_id", "code", "name", "churn_risk", "p_alive", "repeat_purchases", "value_at_risk",
                              "clv", "as_of"])


# ---------------------------------------------------------------------------
# Lifecycle, validation, everything
# ---------------------------------------------------------------------------


@analytics.command("lifecycle")
@click.option("--as-of", "as_of", metavar=DATE, help="Day to compute for (default today).")
@click.option("--write-back", is_flag=True, help="Set each customer's core stage to the computed one (audited).")
@pass_state
def lifecycle_command(state: CLIState, as_of: str | None, write_back: bool) -> None:
    """Lifecycle stage (exploration, formation, stability, decline) from purchase cadence."""
    with state.uow() as uow:
        with _progress(state, uow, "lifecycle", 1) as progress:
            summary = uow.service("analytics").lifecycle(as_of=_day(as_of, "as-of"), write_back=write_back, progress=progress)

    def text() -> str:
        from crm_analytics.textual import render_table

        lines = [f"lifecycle as of {summary['as_of']}: {summary['customers']} customers "
                 f"(usual gap between purchases {summary['usual_gap_days']} days)", render_table(summary["stages"])]
        if write_back:
            lines.append(f"core stage changed for {summary['stages_changed']} customers")
        return "\n".join(lines)

    state.emit(summary, text=text)


@analytics.command("validate")
@click.option("--calibration-end", required=True, metavar=DATE, help="Last day of the calibration period.")
@click.option("--holdout-end", metavar=DATE, help="Last day of the hold-out period (default: the last purchase).")
@click.option("--from", "period_from", metavar=DATE, help="First day of the calibration period (default: all history).")
@pass_state
def validate_command(state: CLIState, calibration_end: str, holdout_end: str | None, period_from: str | None) -> None:
    """Fit on a calibration period, predict the hold-out period, compare with what happened."""
    with state.uow() as uow:
        with _progress(state, uow, "validate", 0) as progress:
            report = uow.service("analytics").validate(
                calibration_end=_day(calibration_end, "calibration-end"), holdout_end=_day(holdout_end, "holdout-end"),
                period_from=_day(period_from, "from"), progress=progress)

    def text() -> str:
        from crm_analytics.textual import render_table

        bg = report["bgnbd"]
        total = report["total"]
        return "\n".join([
            f"calibration {report['calibration']['from']} .. {report['calibration']['to']}, hold-out "
            f"{report['holdout']['from']} .. {report['holdout']['to']} ({report['holdout']['weeks']} weeks), "
            f"{report['customers']} customers",
            f"BG/NBD r={bg['r']:.4f} alpha={bg['alpha']:.4f} a={bg['a']:.4f} b={bg['b']:.4f}",
            "transactions per customer in the hold-out, by repeat purchases in calibration:",
            render_table(report["groups"]),
            f"total predicted {total['predicted']:.1f}, actual {total['actual']}"
            + (f" ({total['error']:+.1%})" if total["error"] is not None else "")
            + f"; mean absolute error per customer {report['mean_absolute_error']}, correlation {report['correlation']}",
            "cumulative repeat transactions of the calibration cohort (actual vs model):",
            render_table([row for row in report["tracking"] if row["week"] % 13 == 0 or row is report["tracking"][-1]],
                         ["week", "through", "period", "actual", "predicted"]),
        ])

    state.emit(report, text=text)


@analytics.command("score")
@click.option("--as-of", "as_of", metavar=DATE, help="Day to compute for (default today).")
@click.option("--window", default="365d", show_default=True, help="RFM and grading window: 90d, 12m, 1y or all.")
@click.option("--horizon", default="52w", show_default=True, help="CLV horizon: 39w, 12m, 1y, 90d.")
@click.option("--margin", type=float, default=1.0, show_default=True, help="Profit margin on spend (0..1).")
@click.option("--discount", type=float, default=0.0, show_default=True, help="Annual discount rate, e.g. 0.1.")
@click.option("--write-back", is_flag=True, help="Also set core level (from the grade) and stage (from the lifecycle).")
@pass_state
def score_command(state: CLIState, as_of: str | None, window: str, horizon: str, margin: float, discount: float,
                  write_back: bool) -> None:
    """Every score in one run: RFM, grades, model fit, CLV and churn, lifecycle."""
    from crm_analytics.data import parse_span_days, parse_window

    window_days = parse_window(window)
    weeks = parse_span_days(horizon, "horizon", default_unit="w") / 7.0
    with state.uow() as uow:
        with _progress(state, uow, "scoring", 4) as progress:
            result = uow.service("analytics").score(as_of=_day(as_of, "as-of"), window_days=window_days, horizon_weeks=weeks,
                                                    margin=margin, discount=discount, write_back=write_back, progress=progress)

    def text() -> str:
        clv = result["clv"]
        stages = ", ".join(f"{s['stage']} {s['customers']}" for s in result["lifecycle"]["stages"])
        segments = ", ".join(f"{s['segment']} {s['customers']}" for s in result["rfm"]["segments"])
        return "\n".join([
            f"scored {clv['customers']} customers from {result['purchases']} purchases as of {result['as_of']}",
            _model_text(clv["model"]),
            f"CLV total {clv['total_clv']:,.2f} over {weeks:g} weeks; mean P(alive) {clv['mean_p_alive'] or 0:.3f}",
            f"RFM: {segments}",
            f"lifecycle: {stages}",
        ])

    state.emit(result, text=text)


@analytics.command("show")
@click.argument("customer_id", type=int)
@pass_state
def show_command(state: CLIState, customer_id: int) -> None:
    """Every stored score of one customer."""
    from crmcore import NotFound

    with state.uow() as uow:
        uow.require("analytics.view")
        uow.customers.get(customer_id)
        scores = uow.service("analytics").customer_scores(customer_id)
    if scores is None:
        raise NotFound(f"customer {customer_id} has no scores yet: run `crm analytics score`")
    state.emit({"customer_id": customer_id, **scores}, text=lambda: _scores_text(customer_id, scores))


def _scores_text(customer_id: int, scores: dict[str, Any]) -> str:
    from crm_analytics.panel import panel_lines

    return "\n".join([f"customer {customer_id}", *panel_lines(scores)])


@analytics.command("chart")
@click.argument("kind", type=click.Choice(["rfm", "clv"]))
@click.argument("output", type=click.Path(dir_okay=False))
@pass_state
def chart_command(state: CLIState, kind: str, output: str) -> None:
    """Write the RFM grid or the CLV distribution as an SVG (or PNG) chart."""
    from crm_analytics.charts import write_clv_chart, write_rfm_chart

    with state.uow() as uow:
        uow.require("analytics.view")
        path = (write_rfm_chart if kind == "rfm" else write_clv_chart)(uow, output)
    state.emit({"chart": str(path)}, text=f"wrote {path}")

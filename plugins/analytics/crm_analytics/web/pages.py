"""The analytics pages, served under ``/analytics``: the RFM grid with its
named segments (and who is in each), the CLV distribution with the most
valuable customers, the churn-risk list for retention work, and a form to
recompute every score. Reads need ``analytics.view`` and show only the
customers the user may see, as the API and the CLI do; recomputing needs
``analytics.compute``.

Imported only when ``crm serve`` builds the application.
"""

from __future__ import annotations

from typing import Annotated, Any, Callable

from litestar import Request, Response
from litestar.params import FromQuery, QueryParameter

from crmcore import NotFound, ValidationError, web
from crmcore.charts import bar_chart, grid_chart

from crm_analytics.charts import clv_distribution, rfm_grid

PAGE_SIZE = 50
PageNumber = Annotated[int, QueryParameter(name="page", ge=1)]
#: The recompute form's fields and their defaults (the CLI's and the API's).
SCORE_DEFAULTS = {"as_of": "", "window": "365d", "horizon": "52w", "margin": "1", "discount": "0"}
CHURN_ORDERS = ("value", "risk")


def _service(uow: Any) -> Any:
    uow.require("analytics.view")
    return uow.service("analytics")


def _staff(uow: Any) -> dict[int, str]:
    return {u.id: u.display_name or u.username for u in uow.users.list(include_inactive=True)}


def _paged(fetch: Callable[..., list[dict[str, Any]]], page_number: int, **kwargs: Any) -> tuple[list[dict[str, Any]], bool]:
    """One page of a service listing, and whether there is a next one."""
    rows = fetch(limit=PAGE_SIZE + 1, offset=(page_number - 1) * PAGE_SIZE, **kwargs)
    return rows[:PAGE_SIZE], len(rows) > PAGE_SIZE


# -- RFM --------------------------------------------------------------------------------------------


def _rfm_page(request: Request, uow: Any, *, segment: str = "", page_number: int = 1, form: dict[str, str] | None = None,
              errors: dict[str, str] | None = None, status: int = 200) -> Response[str]:
    _ = web.translator(request)
    service = _service(uow)
    segments = service.segments()
    chart = None
    if segments:
        svg = grid_chart(_("Customers by recency (R) and frequency (F)"), [f"R{r}" for r in range(5, 0, -1)],
                         [f"F{f}" for f in range(1, 6)], rfm_grid(uow))
        chart = web.chart(svg, _("RFM grid: rows are recency scores 5 (most recent) to 1, columns frequency scores 1 to 5, "
                                 "each cell the number of customers"))
    members, has_next = ([], False)
    if segment:
        members, has_next = _paged(service.segment_customers, page_number, segment=segment)
    return web.page(request, uow, "analytics/web/rfm.html", status=status, segments=segments, chart=chart,
                    total=sum(s["customers"] for s in segments), stale=sum(s["stale"] for s in segments),
                    as_of=max((s["as_of"] for s in segments), default=None), segment=segment, members=members,
                    page_number=page_number, has_next=has_next, staff=_staff(uow) if members else {},
                    form=form or dict(SCORE_DEFAULTS), errors=errors or {})


@web.get("/", name="analytics_rfm")
def rfm_page(request: Request, segment: FromQuery[str] = "", page_number: FromQuery[PageNumber] = 1) -> Response[str]:
    with web.web_uow(request) as uow:
        return _rfm_page(request, uow, segment=segment, page_number=page_number)


def _score_arguments(request: Request, form: dict[str, str]) -> tuple[dict[str, Any], dict[str, str]]:
    """The service's arguments from the recompute form, with the problems
    found in reading them (bounds as on the API)."""
    from crm_analytics.data import parse_day, parse_span_days, parse_window

    _ = web.translator(request)
    arguments: dict[str, Any] = {}
    errors: dict[str, str] = {}
    readers: dict[str, Callable[[], Any]] = {
        "as_of": lambda: parse_day(form["as_of"] or None, "as_of"),
        "window_days": lambda: parse_window(form["window"]),
        "horizon_weeks": lambda: parse_span_days(form["horizon"], "horizon", default_unit="w") / 7.0,
    }
    for name, read in readers.items():
        try:
            arguments[name] = read()
        except ValidationError as error:
            errors.update(web.field_errors(error))
    for name, low, high in (("margin", 0.0, 1.0), ("discount", 0.0, 10.0)):
        try:
            arguments[name] = float(form[name])
        except ValueError:
            errors[name] = _("Enter a number.")
            continue
        if not (low < arguments[name] <= high if name == "margin" else low <= arguments[name] < high):
            errors[name] = _("Must be between %(low)s and %(high)s.", low=f"{low:g}", high=f"{high:g}")
    return arguments, errors


@web.post("/score")
def score(request: Request, data: web.Form) -> Response[str]:
    _ = web.translator(request)
    with web.web_uow(request, data) as uow:
        uow.require("analytics.compute")
        form = {name: web.form_value(data, name, default) for name, default in SCORE_DEFAULTS.items()}
        arguments, errors = _score_arguments(request, form)
        result = None
        if not errors:
            result, errors = web.attempt(uow, uow.service("analytics").score, **arguments)
        if errors:
            return _rfm_page(request, uow, form=form, errors=errors, status=422)
    return web.redirect(request, "/analytics", _("Scores computed for %(n)s customers.", n=result["rfm"]["customers"]))


# -- CLV ----------------------------------------------------------------------------------------------


@web.get("/clv", name="analytics_clv")
def clv_page(request: Request, page_number: FromQuery[PageNumber] = 1) -> Response[str]:
    _ = web.translator(request)
    with web.web_uow(request) as uow:
        service = _service(uow)
        rows, has_next = _paged(service.clv_list, page_number)
        chart, model = None, None
        try:
            labels, counts = clv_distribution(uow)
        except NotFound:  # no CLV scores among the customers the user may see
            labels, counts = [], []
        if counts:
            chart = web.chart(bar_chart(_("Customers per lifetime value band (CNY)"), labels, counts),
                              _("CLV distribution: the number of customers in each band of predicted lifetime value"))
            try:
                model = service.model(None)
            except NotFound:  # scores of a model since deleted: the list still stands
                model = None
        return web.page(request, uow, "analytics/web/clv.html", rows=rows, chart=chart, model=model,
                        page_number=page_number, has_next=has_next)


# -- churn ----------------------------------------------------------------------------------------------


@web.get("/churn", name="analytics_churn")
def churn_page(request: Request, above: FromQuery[str] = "70", order: FromQuery[str] = "value", page_number: FromQuery[PageNumber] = 1) -> Response[str]:
    _ = web.translator(request)
    order = order if order in CHURN_ORDERS else "value"
    with web.web_uow(request) as uow:
        service = _service(uow)
        result, errors, scored = None, {}, True
        try:
            threshold = float(above) / 100
        except ValueError:
            threshold = -1.0
        if not 0 <= threshold <= 1:
            errors = {"above": _("Enter a percentage from 0 to 100.")}
        else:
            try:
                result, errors = web.attempt(uow, _paged, service.churn_list, page_number, above=threshold, order=order)
            except NotFound:  # no CLV run yet
                scored = False
        rows, has_next = result or ([], False)
        return web.page(request, uow, "analytics/web/churn.html", status=422 if errors else 200, rows=rows,
                        has_next=has_next, page_number=page_number, above=above, order=order, errors=errors,
                        scored=scored, staff=_staff(uow) if rows else {})


HANDLERS: list[Any] = [rfm_page, score, clv_page, churn_page]

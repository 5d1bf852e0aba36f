"""Satisfaction (CSAT) answers and surveys still waiting, and the
call-center report for a period with its charts: SLA compliance, call
volumes, tickets by type, satisfaction per agent."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any, Callable

from litestar import Request, Response
from litestar.params import FromPath, FromQuery

from crmcore import web
from crmcore.charts import bar_chart, funnel_chart

from crm_callcenter.reports import period
from crm_callcenter.web.common import context, service

SURVEY_VIEWS = ("pending", "answered", "all")
REPORT_DAYS = 30


def _last_days(uow: Any, days: int = REPORT_DAYS) -> tuple[date, date]:
    today = uow.now.astimezone(service(uow).calendar.zone).date()
    return today - timedelta(days=days - 1), today


def _csat_summary(uow: Any) -> dict[str, Any]:
    first, last = _last_days(uow)
    since, until, _, _ = period(first, last, uow.crm.config.timezone)
    return service(uow).report(since, until)["csat"]


def _survey_rows(uow: Any, show: str) -> list[dict[str, Any]]:
    """Surveys of customers the user may see, with the customer's name."""
    answered = {"pending": False, "answered": True}.get(show)
    rows = []
    for row in service(uow).surveys(answered=answered, limit=100):
        customer = uow.customers.find(row["customer_id"])
        if customer is not None:  # another department's customer: not listed
            rows.append({**row, "customer": customer.name})
    return rows


def _surveys_page(request: Request, uow: Any, show: str, *, errors: dict[str, str] | None = None,
                  form: dict[str, Any] | None = None, status: int = 200) -> Response[str]:
    return web.page(request, uow, "callcenter/web/surveys.html", status=status, show=show, views=SURVEY_VIEWS,
                    rows=_survey_rows(uow, show), csat=_csat_summary(uow), days=REPORT_DAYS, errors=errors or {},
                    form=form or {}, **context(request, uow))


@web.get("/surveys", name="callcenter_surveys")
def surveys(request: Request, show: FromQuery[str] = "pending") -> Response[str]:
    with web.web_uow(request) as uow:
        uow.require("callcenter.view")
        return _surveys_page(request, uow, show if show in SURVEY_VIEWS else "pending")


@web.post("/surveys/{ticket_id:int}/answer")
def survey_answer(request: Request, ticket_id: FromPath[int], data: web.Form) -> Response[str]:
    """The customer's answer, taken down by an agent (by phone, say)."""
    back = f"/callcenter/tickets/{ticket_id}" if web.form_value(data, "next") == "ticket" else "/callcenter/surveys"
    with web.web_uow(request, data) as uow:
        _ = web.translator(request)
        uow.require("callcenter.view")
        score = web.form_value(data, "score")
        _answer, errors = web.attempt(uow, service(uow).answer_survey, ticket_id, score or 0, web.form_value(data, "comment") or None,
                                      not_found="form")
        if errors:
            if back != "/callcenter/surveys":
                return web.redirect(request, back, "; ".join(errors.values()))
            return _surveys_page(request, uow, "pending", errors={str(ticket_id): "; ".join(errors.values())}, form=dict(data),
                                 status=422)
    return web.redirect(request, back, _("Answer recorded: %(score)s/5.", score=score))


# -- the report --------------------------------------------------------------------------------


def _charts(report: dict[str, Any], _: Callable[..., str]) -> list[Any]:
    """Charts where staff would rather look than read; each labelled for
    screen readers. ``from`` is read from the query string: it is a Python keyword."""
    charts = []
    tickets = report["tickets"]
    title = _("SLA compliance (%)")
    charts.append(web.chart(bar_chart(title, [_("First response"), _("Resolution")],
                                      [tickets["first_response_sla_pct"] or 0, tickets["resolution_sla_pct"] or 0], unit="%"), title))
    calls = report["calls"]
    title = _("Call volumes")
    within = round((calls["service_level_pct"] or 0) * (calls["offered"] - calls["self_service"]) / 100)
    charts.append(web.chart(funnel_chart(title, [_("Offered"), _("Answered"), _("Within service level")],
                                         [calls["offered"], calls["answered"], within]), title))
    queues = [q for q in report["queues"] if q["offered"]]
    if queues:
        title = _("Calls per queue")
        charts.append(web.chart(bar_chart(title, [q["queue"] if q["service_level_seconds"] is not None else _("IVR / no queue")
                                                  for q in queues], [q["offered"] for q in queues]), title))
        title = _("Service level per queue (%)")
        charts.append(web.chart(bar_chart(title, [q["queue"] for q in queues if q["service_level_pct"] is not None],
                                          [q["service_level_pct"] for q in queues if q["service_level_pct"] is not None],
                                          unit="%"), title))
    if tickets["opened_by_type"]:
        title = _("Tickets opened by type")
        charts.append(web.chart(bar_chart(title, list(tickets["opened_by_type"]), list(tickets["opened_by_type"].values())), title))
    if report["csat"]["by_agent"]:
        title = _("Satisfaction per agent (1–5)")
        charts.append(web.chart(bar_chart(title, [a["name"] for a in report["csat"]["by_agent"]],
                                          [a["csat"] or 0 for a in report["csat"]["by_agent"]]), title))
    return charts


@web.get("/reports", name="callcenter_reports")
def reports(request: Request, to: FromQuery[str] = "", queue: FromQuery[str] = "") -> Response[str]:
    with web.web_uow(request) as uow:
        _ = web.translator(request)
        uow.require("callcenter.view")
        svc = service(uow)
        first, last = _last_days(uow)
        form = {"from": request.query_params.get("from", "") or first.isoformat(), "to": to or last.isoformat(), "queue": queue}
        report, errors = None, {}
        window, errors = web.attempt(uow, period, form["from"], form["to"], uow.crm.config.timezone, not_found="form")
        if not errors:
            report, errors = web.attempt(uow, svc.report, window[0], window[1], queue=queue or None, not_found="form")
        return web.page(request, uow, "callcenter/web/reports.html", status=422 if errors else 200, form=form, errors=errors,
                        report=report, charts=_charts(report, _) if report else [], queues=[q["name"] for q in svc.queues()],
                        **context(request, uow))


HANDLERS: list[Any] = [surveys, survey_answer, reports]

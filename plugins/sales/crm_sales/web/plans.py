"""Visit plans (拜访计划): a month's planned visits with the visit that
fulfilled each, plan versus actual per person, planning and removing a
visit. Salespeople see and plan their own; ``sales.manage`` plans for
others (the service's rule)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from litestar import Request, Response
from litestar.params import FromPath, FromQuery

from crmcore import web
from crmcore.web.i18n import lazy

from crm_sales.values import local_date, month_of, parse_month
from crm_sales.web.common import active_users, customer_id, user_id

STATUS_LABELS = {"done": lazy("Visited"), "missed": lazy("Missed"), "planned": lazy("Planned")}


def _plans_page(request: Request, uow: Any, month: str, user: str, *, form: dict[str, Any] | None = None,
                errors: dict[str, str] | None = None, status: int = 200) -> Response[str]:
    _ = web.translator(request)
    plans = uow.service("sales").plans
    problems: dict[str, str] = {}
    if month:
        _month, problems = web.attempt(uow, parse_month, month)
        month = _month or month
    else:
        month = month_of(local_date(uow.now, uow.crm.config.timezone))
    person = user_id(uow, user, "user", problems, _("No user %(key)s.", key=user)) if user != "*" else None
    rows: list[dict[str, Any]] = []
    unplanned: list[dict[str, Any]] = []
    summary: list[dict[str, Any]] = []
    if not problems:
        rows, unplanned = plans.matched(user_id=person, month=month)
        summary = plans.report(user_id=person, month=month)
    form = form or {"user": uow.actor.username, "planned_date": "", "customer": "", "purpose": ""}
    return web.page(request, uow, "sales/web/plans.html", status=status, rows=rows, unplanned=unplanned,
                    summary=summary, month=month, person=user, users=active_users(uow), statuses=STATUS_LABELS,
                    filter_errors=problems, form=form, errors=errors or {})


def _plans_url(month: str, user: str) -> str:
    return "/sales/plans?" + urlencode({"month": month, "user": user})


@web.get("/plans")
def plan_list(request: Request, month: FromQuery[str] = "", user: FromQuery[str] = "") -> Response[str]:
    with web.web_uow(request) as uow:
        # one's own plans by default; "*" (everyone visible) is a choice
        return _plans_page(request, uow, month, user or uow.actor.username)


@web.post("/plans")
def plan_add(request: Request, data: web.Form) -> Response[str]:
    _ = web.translator(request)
    with web.web_uow(request, data) as uow:
        errors: dict[str, str] = {}
        found = customer_id(uow, web.form_value(data, "customer"), errors, _)
        day = web.form_value(data, "planned_date")
        opportunity = web.form_value(data, "opportunity")
        if not day:
            errors["planned_date"] = _("Choose the day of the visit.")
        if opportunity and not opportunity.isdigit():
            errors["opportunity"] = _("Enter the opportunity's number.")
        made = None
        if not errors:
            made, errors = web.attempt(uow, uow.service("sales").plans.add, user=web.form_value(data, "user") or uow.actor.username,
                                   month=day[:7], customer_id=found, purpose=web.form_value(data, "purpose"),
                                   planned_date=day, opportunity_id=int(opportunity) if opportunity else None)
            # the service names the day "date"; the form's field is planned_date
            if "date" in errors:
                errors["planned_date"] = errors.pop("date")
        if errors:
            return _plans_page(request, uow, day[:7] if len(day) >= 7 else "", web.form_value(data, "user"),
                               form=dict(data), errors=errors, status=422)
    return web.redirect(request, _plans_url(made.month, web.form_value(data, "user")),
                        _("Visit planned."))


@web.post("/plans/{plan_id:int}/remove")
def plan_remove(request: Request, plan_id: FromPath[int], data: web.Form) -> Response[str]:
    _ = web.translator(request)
    with web.web_uow(request, data) as uow:
        removed = uow.service("sales").plans.remove(plan_id)
    return web.redirect(request, _plans_url(removed.month, web.form_value(data, "user")),
                        _("Planned visit removed."))


HANDLERS: list[Any] = [plan_list, plan_add, plan_remove]

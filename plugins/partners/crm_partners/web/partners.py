"""Partner pages: the list (with adding a partner), a partner's page
(lifecycle, terms, agreements, deals, leads), agreements coming to an end
with renewal, and performance with scorecards."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request, Response
from litestar.params import FromPath, FromQuery, QueryParameter

from crmcore import web
from crmcore.charts import bar_chart

from crm_partners.domain import STATUSES, TRANSITIONS
from crm_partners.web.common import find_customer, labels, parse_date, render, service

PARTNER_FIELDS = ("customer", "type", "grade", "territories", "industries", "manager", "status", "max_leads", "notes")
EXPIRING_DEFAULT = 60


def _choices(request: Request, uow: Any) -> dict[str, Any]:
    partners = service(uow)
    type_label = labels(uow, web.request_locale(request))["type_label"]
    types, grades = partners.types(), partners.grades()
    return {"types": types, "grades": grades, "statuses": STATUSES, "managers": uow.users.list(),
            "type_options": [(t["code"], type_label(t["code"])) for t in types],
            "grade_options": [(g["name"], g["name"]) for g in grades]}


def _list_page(request: Request, uow: Any, *, filters: dict[str, str], form: dict[str, Any], errors: dict[str, str],
               status: int = 200) -> Response[str]:
    partners = service(uow)
    rows, filter_errors = web.attempt(uow, partners.list, **filters)
    if filter_errors:  # an unknown grade or manager typed into the URL: show every partner, say why
        rows, filters, errors = partners.list(), {}, {**filter_errors, **errors}
    return render(request, uow, "list.html", status=status, rows=rows, loads=partners.loads(), filters=filters, form=form,
                  errors=errors, **_choices(request, uow))


@web.get("/", name="partners")
def partner_list(request: Request, status: FromQuery[str] = "", type: FromQuery[str] = "", grade: FromQuery[str] = "", manager: FromQuery[str] = "") -> Response[str]:
    with web.web_uow(request) as uow:
        filters = {k: v for k, v in (("status", status), ("type", type), ("grade", grade), ("manager", manager)) if v}
        return _list_page(request, uow, filters=filters, form={"status": "active", "type": "reseller"}, errors={})


@web.post("/")
def partner_add(request: Request, data: web.Form) -> Response[str]:
    _ = web.translator(request)
    with web.web_uow(request, data) as uow:
        form = {name: web.form_value(data, name) for name in PARTNER_FIELDS}
        customer_id, errors = find_customer(uow, form["customer"], "customer", _)
        added = None
        if not errors:
            added, errors = web.attempt(uow, uow.service("partners").add, customer_id, type=form["type"],
                                    grade=form["grade"] or None, territories=[form["territories"]],
                                    industries=[form["industries"]], manager=form["manager"] or None,
                                    status=form["status"] or "active", max_open_leads=form["max_leads"] or None,
                                    notes=form["notes"] or None)
        if errors:
            return _list_page(request, uow, filters={}, form=form, errors=errors, status=422)
    return web.redirect(request, f"/partners/{added['id']}", _("%(name)s is now a partner.", name=added["name"]))


def _partner_page(request: Request, uow: Any, partner_id: int, *, status: int = 200, **extra: Any) -> Response[str]:
    partners = service(uow)
    partner = partners.get(partner_id)
    context = {"agreement_form": {}, "agreement_errors": {}, "status_form": {}, "status_errors": {}, "edit_form": None,
               "edit_errors": {}, "renew_errors": {}, **extra}
    if context["edit_form"] is None:
        context["edit_form"] = {"type": partner["type"], "grade": partner["grade"] or "",
                                "territories": "、".join(partner["territories"]), "industries": "、".join(partner["industries"]),
                                "manager": partner["manager"] or "", "max_leads": partner["max_open_leads"] or "",
                                "notes": partner["notes"] or ""}
    return render(request, uow, "partner.html", status=status, partner=partner, customer=uow.customers.get(partner_id),
                  agreements=partners.agreements(partner_id), history=list(reversed(partners.history(partner_id))),
                  registrations=partners.registrations(partner_id=partner_id, limit=20),
                  assignments=partners.assignments(partner_id=partner_id, limit=20), load=partners.loads().get(partner_id, 0),
                  moves=sorted(TRANSITIONS[partner["status"]]), **_choices(request, uow), **context)


@web.get("/{partner_id:int}", name="partner")
def partner_detail(request: Request, partner_id: FromPath[int]) -> Response[str]:
    with web.web_uow(request) as uow:
        return _partner_page(request, uow, partner_id)


@web.post("/{partner_id:int}/edit")
def partner_update(request: Request, partner_id: FromPath[int], data: web.Form) -> Response[str]:
    _ = web.translator(request)
    with web.web_uow(request, data) as uow:
        form = {name: web.form_value(data, name) for name in PARTNER_FIELDS}
        _done, errors = web.attempt(uow, uow.service("partners").update, partner_id, reason=web.form_value(data, "change_reason") or None,
                                type=form["type"], grade=form["grade"], territories=[form["territories"]],
                                industries=[form["industries"]], manager=form["manager"] or None,
                                max_open_leads=form["max_leads"] or None, notes=form["notes"])
        if errors:
            return _partner_page(request, uow, partner_id, status=422, edit_form=form, edit_errors=errors)
    return web.redirect(request, f"/partners/{partner_id}", _("Changes saved."))


@web.post("/{partner_id:int}/status")
def partner_status(request: Request, partner_id: FromPath[int], data: web.Form) -> Response[str]:
    _ = web.translator(request)
    with web.web_uow(request, data) as uow:
        form = {"status": web.form_value(data, "status"), "reason": web.form_value(data, "reason")}
        moved, errors = web.attempt(uow, uow.service("partners").set_status, partner_id, form["status"], form["reason"] or None)
        if errors:
            return _partner_page(request, uow, partner_id, status=422, status_form=form, status_errors=errors)
    note = _("Status changed.")
    if moved["reassigned"]:
        note += " " + _("%(count)s open lead offers were passed on.", count=len(moved["reassigned"]))
    return web.redirect(request, f"/partners/{partner_id}", note)


AGREEMENT_FIELDS = ("from", "to", "commission", "tiers_apply", "discount", "a_territories", "product_lines", "remind_days")


@web.post("/{partner_id:int}/agreements")
def agreement_add(request: Request, partner_id: FromPath[int], data: web.Form) -> Response[str]:
    _ = web.translator(request)
    with web.web_uow(request, data) as uow:
        form = {name: web.form_value(data, name) for name in AGREEMENT_FIELDS}
        errors: dict[str, str] = {}
        starts, ends = parse_date(form["from"], "from", errors, _), parse_date(form["to"], "to", errors, _)
        for name in ("from", "to", "commission"):
            if not form[name]:
                errors.setdefault(name, _("Required."))
        if not errors:
            _added, errors = web.attempt(uow, uow.service("partners").add_agreement, partner_id, starts_on=starts, ends_on=ends,
                                     commission=form["commission"], tiers_apply=form["tiers_apply"] or "marginal",
                                     discount=form["discount"] or None, territories=[form["a_territories"]],
                                     product_lines=[form["product_lines"]], remind_days=form["remind_days"] or None)
        if errors:
            return _partner_page(request, uow, partner_id, status=422, agreement_form=form, agreement_errors=errors)
    return web.redirect(request, f"/partners/{partner_id}#agreements", _("Agreement added."))


def _back(data: Any, default: str) -> str:
    """Where a form sent from several pages returns to (local paths only)."""
    target = web.form_value(data, "next")
    return target if target.startswith("/partners") and not target.startswith("//") else default


@web.post("/agreements/{agreement_id:int}/renew")
def agreement_renew(request: Request, agreement_id: FromPath[int], data: web.Form) -> Response[str]:
    _ = web.translator(request)
    with web.web_uow(request, data) as uow:
        errors: dict[str, str] = {}
        ends = parse_date(web.form_value(data, "to"), "to", errors, _)
        if ends is None:
            errors.setdefault("to", _("Required."))
        renewed = None
        if not errors:
            renewed, errors = web.attempt(uow, uow.service("partners").renew_agreement, agreement_id, ends,
                                      web.form_value(data, "commission") or None)
        if errors:
            partner_id = service(uow).agreement(agreement_id)["partner_id"]
            return _partner_page(request, uow, partner_id, status=422, renew_errors={agreement_id: errors})
    return web.redirect(request, _back(data, f"/partners/{renewed['partner_id']}#agreements"),
                        _("Agreement renewed until %(date)s.", date=renewed["ends_on"]))


@web.post("/agreements/{agreement_id:int}/terminate")
def agreement_terminate(request: Request, agreement_id: FromPath[int], data: web.Form) -> Response[str]:
    _ = web.translator(request)
    with web.web_uow(request, data) as uow:
        done, errors = web.attempt(uow, uow.service("partners").terminate_agreement, agreement_id, web.form_value(data, "reason"))
        if errors:
            partner_id = service(uow).agreement(agreement_id)["partner_id"]
            return _partner_page(request, uow, partner_id, status=422, renew_errors={agreement_id: errors})
    return web.redirect(request, f"/partners/{done['partner_id']}#agreements", _("Agreement terminated."))


@web.get("/agreements", name="partner_agreements")
def agreement_list(request: Request, expiring: Annotated[str, QueryParameter(name="expiring")] = str(EXPIRING_DEFAULT),
                   show: FromQuery[str] = "expiring") -> Response[str]:
    with web.web_uow(request) as uow:
        partners = service(uow)
        days = int(expiring) if expiring.isdigit() and int(expiring) <= 3650 else EXPIRING_DEFAULT
        if show == "current":
            rows = partners.agreements(include_ended=False)
        elif show == "all":
            rows = partners.agreements()
        else:
            show, rows = "expiring", sorted(partners.agreements(expiring_within=days), key=lambda a: a["days_left"])
        return render(request, uow, "agreements.html", rows=rows, days=days, show=show)


@web.get("/performance", name="partner_performance")
def performance(request: Request, period: FromQuery[str] = "") -> Response[str]:
    _ = web.translator(request)
    with web.web_uow(request) as uow:
        partners = service(uow)
        rows, errors = web.attempt(uow, partners.performance, period or None)
        if errors:
            rows = partners.performance(None)
        rows = rows or []
        chart = None
        earning = [r for r in rows if r["revenue"] or r["pipeline"]]
        if earning:
            top = sorted(earning, key=lambda r: -r["revenue"])[:12]
            chart = web.chart(bar_chart(_("Won revenue by partner"), [r["partner"] or "" for r in top],
                                        [float(r["revenue"]) for r in top], unit="¥"), _("Won revenue by partner"))
        return render(request, uow, "performance.html", rows=rows, period=period or (rows[0]["period"] if rows else ""),
                      chart=chart, errors=errors)


@web.get("/{partner_id:int}/scorecard", name="partner_scorecard")
def scorecard(request: Request, partner_id: FromPath[int], period: FromQuery[str] = "") -> Response[str]:
    with web.web_uow(request) as uow:
        partners = service(uow)
        card, errors = web.attempt(uow, partners.scorecard, partner_id, period or None)
        if errors:
            card = partners.scorecard(partner_id, None)
        return render(request, uow, "scorecard.html", card=card, period=period, errors=errors)


HANDLERS: list[Any] = [partner_list, partner_add, partner_detail, partner_update, partner_status, agreement_add,
                       agreement_renew, agreement_terminate, agreement_list, performance, scorecard]

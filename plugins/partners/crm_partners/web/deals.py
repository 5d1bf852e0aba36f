"""Deal registration (register, the conflicts found, approve with or
without override, reject, progress, won, lost, reverse), the lead
assignment inbox (offers waiting for partners, accept, decline, assign a
lead) and commissions per period."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response
from litestar.params import FromPath, FromQuery

from crmcore import web

from crm_partners.domain import ASSIGNMENT_STATUSES, REGISTRATION_STATUSES
from crm_partners.web.common import current_period, customer_label, find_customer, parse_date, render, service

REGISTRATION_FIELDS = ("partner", "customer", "amount", "close", "product", "notes")
#: The forms of a registration's page, each with its own values and errors.
ACTIONS = ("approve", "reject", "progress", "won", "lost", "reverse")


def _int(text: str) -> int | None:
    return int(text) if text.isdigit() and len(text) < 10 else None


@web.get("/registrations", name="partner_registrations")
def registration_list(request: Request, status: FromQuery[str] = "", partner: FromQuery[str] = "", customer: FromQuery[str] = "") -> Response[str]:
    with web.web_uow(request) as uow:
        partners = service(uow)
        status = status if status in REGISTRATION_STATUSES else ""
        rows = partners.registrations(status=status or None, partner_id=_int(partner), customer_id=_int(customer))
        return render(request, uow, "registrations.html", rows=rows, filter_status=status, partner=partner,
                      statuses=REGISTRATION_STATUSES, partners=partners.list())


def _registration_form(request: Request, uow: Any, form: dict[str, Any], errors: dict[str, str],
                       status: int = 200) -> Response[str]:
    uow.require("partners.register")
    registering = [p for p in service(uow).list() if p["status"] in ("active", "under_review")]
    options = [(str(p["id"]), p["name"] + (f" · {p['grade']}" if p["grade"] else "")) for p in registering]
    return render(request, uow, "register.html", status=status, form=form, errors=errors, partner_options=options)


@web.get("/registrations/new", name="partner_register")
def registration_new(request: Request, customer: FromQuery[str] = "", partner: FromQuery[str] = "") -> Response[str]:
    with web.web_uow(request) as uow:
        form = {"customer": customer_label(uow, _int(customer)), "partner": partner}
        return _registration_form(request, uow, form, {})


@web.post("/registrations/new")
def registration_create(request: Request, data: web.Form) -> Response[str]:
    _ = web.translator(request)
    with web.web_uow(request, data) as uow:
        form = {name: web.form_value(data, name) for name in REGISTRATION_FIELDS}
        errors: dict[str, str] = {}
        customer_id, errors = find_customer(uow, form["customer"], "customer", _)
        close = parse_date(form["close"], "close", errors, _)
        for name in ("partner", "amount", "close"):
            if not form[name]:
                errors.setdefault(name, _("Required."))
        created = None
        if not errors:
            created, errors = web.attempt(uow, uow.service("partners").register, _int(form["partner"]) or 0, customer_id,
                                      amount=form["amount"], close=close, product=form["product"] or None,
                                      notes=form["notes"] or None)
        if errors:
            return _registration_form(request, uow, form, errors, status=422)
    if created["status"] == "approved":
        note = _("Deal registered and approved: no conflict found.")
    else:
        note = _("Deal registered. %(count)s conflicts found: it waits for approval.", count=len(created["conflicts"]))
    return web.redirect(request, f"/partners/registrations/{created['id']}", note)


def _registration_page(request: Request, uow: Any, registration_id: int, *, status: int = 200,
                       action: str = "", form: dict[str, Any] | None = None, errors: dict[str, str] | None = None) -> Response[str]:
    partners = service(uow)
    registration = partners.registration_view(registration_id)
    staff = {u.id: u.display_name or u.username for u in uow.users.list(include_inactive=True)}
    return render(request, uow, "registration.html", status=status, r=registration, staff=staff,
                  action=action, form=form or {}, errors=errors or {})


@web.get("/registrations/{registration_id:int}", name="partner_registration")
def registration_detail(request: Request, registration_id: FromPath[int]) -> Response[str]:
    with web.web_uow(request) as uow:
        return _registration_page(request, uow, registration_id)


def _act(uow: Any, action: str, registration_id: int, data: dict[str, Any], _: Any) -> tuple[Any, dict[str, str]]:
    """Run one of the registration's actions with the form's values."""
    partners = uow.service("partners")
    reason = web.form_value(data, "reason")
    if action == "approve":
        return web.attempt(uow, partners.approve, registration_id, reason or None, override=web.form_value(data, "override") == "1")
    if action == "reject":
        return web.attempt(uow, partners.reject, registration_id, reason)
    if action == "progress":
        return web.attempt(uow, partners.progress, registration_id, web.form_value(data, "note"))
    if action == "reverse":
        return web.attempt(uow, partners.reverse, registration_id, reason)
    errors: dict[str, str] = {}
    on = parse_date(web.form_value(data, "date"), "date", errors, _)
    if errors:
        return None, errors
    if action == "won":
        return web.attempt(uow, partners.won, registration_id, web.form_value(data, "amount"), on)
    return web.attempt(uow, partners.lost, registration_id, reason or None, on)


@web.post("/registrations/{registration_id:int}/{action:str}")
def registration_action(request: Request, registration_id: FromPath[int], action: FromPath[str], data: web.Form) -> Response[str]:
    _ = web.translator(request)
    if action not in ACTIONS:
        from crmcore import NotFound

        raise NotFound(f"no action {action!r}")
    with web.web_uow(request, data) as uow:
        done, errors = _act(uow, action, registration_id, data, _)
        if errors:
            return _registration_page(request, uow, registration_id, status=422, action=action, form=dict(data), errors=errors)
    messages = {"approve": _("Registration approved: the deal is protected until %(date)s.", date=done["protected_until"]),
                "reject": _("Registration rejected."), "progress": _("Progress recorded."), "won": _("Deal marked won."),
                "lost": _("Deal marked lost."), "reverse": _("Deal reversed.")}
    return web.redirect(request, f"/partners/registrations/{registration_id}", messages[action])


# -- lead assignment ------------------------------------------------------------------------------


def _inbox(request: Request, uow: Any, *, status: str, partner: str, form: dict[str, Any], errors: dict[str, str],
           code: int = 200) -> Response[str]:
    partners = service(uow)
    rows = partners.assignments(status=status or None, partner_id=_int(partner))
    return render(request, uow, "assignments.html", status=code, rows=rows, filter_status=status, partner=partner,
                  statuses=ASSIGNMENT_STATUSES, partners=partners.list(),
                  active_options=[(str(p["id"]), p["name"]) for p in partners.list(status="active")],
                  now=uow.now, form=form, errors=errors)


@web.get("/assignments", name="partner_assignments")
def assignment_inbox(request: Request, status: FromQuery[str] = "offered", partner: FromQuery[str] = "") -> Response[str]:
    with web.web_uow(request) as uow:
        status = status if status in ASSIGNMENT_STATUSES else ""
        return _inbox(request, uow, status=status, partner=partner, form={"how": "auto"}, errors={})


@web.post("/assignments/assign")
def assignment_assign(request: Request, data: web.Form) -> Response[str]:
    _ = web.translator(request)
    with web.web_uow(request, data) as uow:
        form = {name: web.form_value(data, name) for name in ("lead", "how", "partner", "hours", "replace")}
        lead_id, errors = find_customer(uow, form["lead"], "lead", _)
        auto = form["how"] != "partner"
        if not auto and not form["partner"]:
            errors["partner"] = _("Choose the partner.")
        offer = None
        if not errors:
            offer, errors = web.attempt(uow, uow.service("partners").assign, lead_id, auto=auto,
                                    partner_id=None if auto else _int(form["partner"]), hours=_int(form["hours"]),
                                    replace=form["replace"] == "1")
        if errors:
            return _inbox(request, uow, status="offered", partner="", form=form, errors=errors, code=422)
    return web.redirect(request, "/partners/assignments",
                        _("Lead %(lead)s offered to %(partner)s.", lead=offer["lead"], partner=offer["partner"]))


@web.post("/assignments/{assignment_id:int}/{action:str}")
def assignment_answer(request: Request, assignment_id: FromPath[int], action: FromPath[str], data: web.Form) -> Response[str]:
    _ = web.translator(request)
    if action not in ("accept", "decline"):
        from crmcore import NotFound

        raise NotFound(f"no action {action!r}")
    with web.web_uow(request, data) as uow:
        partners = uow.service("partners")
        if action == "accept":
            done, errors = web.attempt(uow, partners.accept, assignment_id)
        else:
            done, errors = web.attempt(uow, partners.decline, assignment_id, web.form_value(data, "reason") or None)
        if errors:
            return _inbox(request, uow, status="offered", partner="", form={"how": "auto"},
                          errors={"": errors.get("", "; ".join(errors.values()))}, code=422)
    if action == "accept":
        return web.redirect(request, "/partners/assignments", _("%(partner)s accepted lead %(lead)s.",
                                                                partner=done["partner"], lead=done["lead"]))
    passed = (done.get("next") or {}).get("partner")
    note = _("Declined: offered to %(partner)s next.", partner=passed) if passed else _("Declined: no other partner covers this lead.")
    return web.redirect(request, "/partners/assignments", note)


@web.post("/assignments/reassign")
def assignment_reassign(request: Request, data: web.Form) -> Response[str]:
    _ = web.translator(request)
    with web.web_uow(request, data) as uow:
        moved = uow.service("partners").reassign_overdue()
    return web.redirect(request, "/partners/assignments", _("%(count)s late offers passed on.", count=len(moved)))


# -- commissions ----------------------------------------------------------------------------------


def _commissions_page(request: Request, uow: Any, period: str, *, run: dict[str, Any] | None = None,
                      errors: dict[str, str] | None = None, status: int = 200) -> Response[str]:
    partners = service(uow, "partners.commissions")
    summary, period_errors = web.attempt(uow, partners.commission_summary, period)
    if period_errors:
        period = current_period(uow)
        summary = partners.commission_summary(period)
    lines = partners.commission_lines(period)
    names = {row["partner_id"]: row["partner"] for row in summary}
    total = sum((row["net"] for row in summary), 0)
    return render(request, uow, "commissions.html", status=status, period=period, summary=summary, lines=lines, names=names,
                  total=total, run=run, errors={**period_errors, **(errors or {})})


@web.get("/commissions", name="partner_commissions")
def commissions(request: Request, period: FromQuery[str] = "") -> Response[str]:
    with web.web_uow(request) as uow:
        return _commissions_page(request, uow, period or current_period(uow))


@web.post("/commissions")
def commissions_compute(request: Request, data: web.Form) -> Response[str]:
    _ = web.translator(request)
    period = web.form_value(data, "period")
    with web.web_uow(request, data) as uow:
        run, errors = web.attempt(uow, uow.service("partners").compute_commissions, period,
                              _int(web.form_value(data, "partner")))
        if errors or run["skipped"]:
            return _commissions_page(request, uow, period, run=run, errors=errors, status=422 if errors else 200)
    return web.redirect(request, f"/partners/commissions?period={run['period']}",
                        _("%(count)s commission lines computed for %(period)s.", count=run["computed"], period=run["period"]))


HANDLERS: list[Any] = [registration_list, registration_new, registration_create, registration_detail, registration_action,
                       assignment_inbox, assignment_assign, assignment_reassign, assignment_answer, commissions,
                       commissions_compute]

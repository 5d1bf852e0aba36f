"""Applications to review (入会审核), the member list, the member card page
with its counter actions (redeem, adjust points, tier, lost card, cancel)
and the ledger with filters and the points-over-time chart."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from litestar import Request, Response
from litestar.params import FromPath, FromQuery, Parameter, QueryParameter

from crmcore import web

from crm_membership.common import masked_application, parse_day
from crm_membership.services.members import CHANNELS
from crm_membership.web.charts import points_over_time
from crm_membership.web.common import card_url, checked, first, optional_int, svc

PAGE_SIZE = 50
APPLICATION_STATUSES = ("pending", "approved", "rejected", "all")
LEDGER_LIMITS = (50, 200, 1000)


@web.get("/")
def home(request: Request) -> Response[str]:
    with web.web_uow(request) as uow:
        uow.require("membership.view")
    return web.redirect(request, "/membership/members")


# -- applications -------------------------------------------------------------------------------


def _applications_page(request: Request, uow: Any, status: str, *, errors: dict[int, dict[str, str]] | None = None,
                       apply_form: dict[str, Any] | None = None, apply_errors: dict[str, str] | None = None,
                       code: int = 200) -> Response[str]:
    uow.require("membership.view")
    status = status if status in APPLICATION_STATUSES else "pending"
    rows = [masked_application(uow, row) for row in svc(uow).members.applications(None if status == "all" else status, limit=200)]
    return web.page(request, uow, "membership/web/applications.html", status=code, rows=rows, state=status,
                    states=APPLICATION_STATUSES, tiers=svc(uow).tiers.list(), channels=CHANNELS, row_errors=errors or {},
                    form=apply_form or {}, errors=apply_errors or {})


@web.get("/applications")
def applications(request: Request, status: FromQuery[str] = "pending") -> Response[str]:
    return first(request, _applications_page, status)


@web.post("/applications")
def apply(request: Request, data: web.Form) -> Response[str]:
    """A clerk files an application: for a customer by id, or a new one."""
    _ = web.translator(request)
    with web.web_uow(request, data) as uow:
        errors: dict[str, str] = {}
        customer_id = optional_int(data, "customer_id", errors, minimum=1)
        fields = {name: web.form_value(data, name) or None for name in ("name", "phone", "email", "id_number", "birthday", "referrer")}
        channel = web.form_value(data, "channel") or "counter"
        app = None
        if not errors:
            app, errors = web.attempt(uow, svc(uow).members.apply, customer_id, channel=channel, not_found="field", **fields)
        if errors:
            return _applications_page(request, uow, "pending", apply_form=dict(data), apply_errors=errors, code=422)
    return web.redirect(request, f"/membership/applications#app-{app['id']}", _("Application %(id)s filed.", id=app["id"]))


@web.post("/applications/{app_id:int}/approve")
def approve(request: Request, app_id: FromPath[int], data: web.Form) -> Response[str]:
    _ = web.translator(request)
    with web.web_uow(request, data) as uow:
        svc(uow).members.application(app_id)  # 404 outside the user's scope
        member, errors = web.attempt(uow, svc(uow).members.approve, app_id, tier=web.form_value(data, "tier") or None,
                                     card=web.form_value(data, "card") or None, force=checked(data, "force"), not_found="field")
        if errors:
            return _applications_page(request, uow, "pending", errors={app_id: errors}, code=422)
    return web.redirect(request, card_url(member["card_number"]),
                        _("Approved: %(name)s is member %(card)s (%(tier)s).", name=member["name"], card=member["card_number"],
                          tier=member["tier"]))


@web.post("/applications/{app_id:int}/reject")
def reject(request: Request, app_id: FromPath[int], data: web.Form) -> Response[str]:
    _ = web.translator(request)
    with web.web_uow(request, data) as uow:
        svc(uow).members.application(app_id)
        _rejected, errors = web.attempt(uow, svc(uow).members.reject, app_id, web.form_value(data, "reason"), not_found="field")
        if errors:
            return _applications_page(request, uow, "pending", errors={app_id: errors}, code=422)
    return web.redirect(request, "/membership/applications", _("Application %(id)s rejected.", id=app_id))


# -- members ------------------------------------------------------------------------------------


@web.get("/members")
def member_list(request: Request, card: FromQuery[str] = "", tier: FromQuery[str] = "", status: FromQuery[str] = "active", lost: FromQuery[bool] = False,
                min_points: Annotated[int | None, Parameter(ge=0)] = None,
                page_number: Annotated[int, QueryParameter(name="page", ge=1)] = 1) -> Response[str]:
    _ = web.translator(request)
    with web.web_uow(request) as uow:
        uow.require("membership.view")
        service = svc(uow)
        not_found = ""
        if card.strip():
            found, errors = web.attempt(uow, service.members.by_card, card, not_found="field")
            if found:
                return web.redirect(request, card_url(found["card_number"]))
            not_found = errors.get("card") or errors.get("", "")
        status = status if status in ("active", "cancelled", "all") else "active"
        tier_list = service.tiers.list()
        tier = tier if tier in {t["name"] for t in tier_list} else ""
        rows = service.members.list(tier=tier or None, status=None if status == "all" else status, card_status="lost" if lost else None,
                                    min_points=min_points, limit=PAGE_SIZE + 1, offset=(page_number - 1) * PAGE_SIZE)
        params = f"tier={tier}&status={status}" + ("&lost=true" if lost else "") + (f"&min_points={min_points}" if min_points is not None else "")
        return web.page(request, uow, "membership/web/members.html", rows=rows[:PAGE_SIZE], has_next=len(rows) > PAGE_SIZE,
                        page_number=page_number, params=params, tiers=tier_list, chosen={"tier": tier, "status": status, "lost": lost,
                        "min_points": "" if min_points is None else min_points, "card": card}, not_found=not_found)


def _card_page(request: Request, uow: Any, number: str, *, failed: str = "", errors: dict[str, str] | None = None,
               form: dict[str, Any] | None = None, code: int = 200) -> Response[str]:
    uow.require("membership.view")
    service = svc(uow)
    member = service.members.by_card(number)
    view = service.members.view(member["id"], entries=10)
    tier = service.tiers.get(member["tier_id"])
    return web.page(request, uow, "membership/web/card.html", status=code, member=view, tier=tier, tiers=service.tiers.list(),
                    tier_history=list(reversed(service.members.tier_history(member["id"]))),
                    card_history=service.cards.history(member["id"]), redemptions=service.redemption.list(view["card_number"], limit=20),
                    rewards=service.redemption.catalogue(), offers=service.merchants.offers_for(tier["level"]), failed=failed,
                    errors=errors or {}, form=form or {})


@web.get("/cards/{card:str}")
def card_page(request: Request, card: FromPath[str]) -> Response[str]:
    return first(request, _card_page, card)


def _card_action(request: Request, card: str, data: dict[str, Any], name: str, run: Any, done: str) -> Response[str]:
    """One of the card page's forms: run it, or show the page again with the
    form open and its errors. ``run(service, member, errors)`` returns the
    card number to go back to (a replaced card has a new one)."""
    with web.web_uow(request, data) as uow:
        uow.require("membership.view")
        member = svc(uow).members.by_card(card)  # 404 outside the user's scope
        number, errors = web.attempt(uow, run, svc(uow), member, {}, not_found="field")
        if errors:
            return _card_page(request, uow, card, failed=name, errors=errors, form=dict(data), code=422)
    return web.redirect(request, card_url(number), done)


def _field_problems(errors: dict[str, str]) -> None:
    """Problems found while reading the form, raised as the service would."""
    if errors:
        from crmcore import ValidationError

        raise ValidationError([f"{name}: {problem}" for name, problem in errors.items()])


@web.post("/cards/{card:str}/redeem")
def redeem(request: Request, card: FromPath[str], data: web.Form) -> Response[str]:
    _ = web.translator(request)

    def run(service: Any, member: dict[str, Any], errors: dict[str, str]) -> str:
        quantity = optional_int(data, "quantity", errors, minimum=1) or 1
        _field_problems(errors)
        done = service.redemption.redeem(member["card_number"], web.form_value(data, "reward"), quantity)
        return done["card_number"]

    return _card_action(request, card, data, "redeem", run, _("Redeemed. The points were deducted."))


@web.post("/cards/{card:str}/points")
def adjust_points(request: Request, card: FromPath[str], data: web.Form) -> Response[str]:
    _ = web.translator(request)

    def run(service: Any, member: dict[str, Any], errors: dict[str, str]) -> str:
        service.points.add(member["card_number"], web.form_value(data, "points"), kind=web.form_value(data, "kind") or "reward",
                           reason=web.form_value(data, "reason") or None, effective_on=web.form_value(data, "effective_on") or None)
        return member["card_number"]

    return _card_action(request, card, data, "points", run, _("Points adjusted."))


@web.post("/cards/{card:str}/tier")
def set_tier(request: Request, card: FromPath[str], data: web.Form) -> Response[str]:
    _ = web.translator(request)

    def run(service: Any, member: dict[str, Any], errors: dict[str, str]) -> str:
        service.members.set_tier(member["card_number"], web.form_value(data, "tier"), web.form_value(data, "reason"),
                                 lock_until=web.form_value(data, "until") or None)
        return member["card_number"]

    return _card_action(request, card, data, "tier", run, _("Tier changed."))


@web.post("/cards/{card:str}/card")
def card_status(request: Request, card: FromPath[str], data: web.Form) -> Response[str]:
    """Report lost (挂失), unblock (解挂), replace (补卡) or cancel (注销)."""
    _ = web.translator(request)
    action = web.form_value(data, "action")

    def run(service: Any, member: dict[str, Any], errors: dict[str, str]) -> str:
        number, reason = member["card_number"], web.form_value(data, "reason") or None
        if action == "lost":
            return service.cards.report_lost(number, reason)["card_number"]
        if action == "unblock":
            return service.cards.unblock(number)["card_number"]
        if action == "replace":
            return service.cards.replace(number, web.form_value(data, "new_number") or None, reason)["card_number"]
        if action == "cancel":
            return service.members.cancel(number, reason or "")["card_number"]
        errors["action"] = "choose what to do with the card"
        _field_problems(errors)
        return number

    messages = {"lost": _("Card reported lost: no earning or redemption until it is unblocked."), "unblock": _("Card unblocked."),
                "replace": _("A new card was issued; the old number is retired."), "cancel": _("Membership cancelled.")}
    return _card_action(request, card, data, "card", run, messages.get(action, ""))


@web.post("/redemptions/{redemption_id:int}/cancel")
def cancel_redemption(request: Request, redemption_id: FromPath[int], data: web.Form) -> Response[str]:
    _ = web.translator(request)
    with web.web_uow(request, data) as uow:
        uow.require("membership.view")
        service = svc(uow)
        found = service.redemption.get(redemption_id)  # 404 outside the user's scope
        done, errors = web.attempt(uow, service.redemption.cancel, redemption_id, web.form_value(data, "reason") or None,
                                   not_found="field")
        if errors:
            return _card_page(request, uow, found["card_number"], failed="redemptions", errors=errors, code=422)
    return web.redirect(request, card_url(done["card_number"]),
                        _("Redemption cancelled: %(points)s points refunded.", points=done["refunded"]))


# -- the ledger ---------------------------------------------------------------------------------


@web.get("/cards/{card:str}/ledger")
def ledger(request: Request, card: FromPath[str], kind: FromQuery[str] = "", source: FromQuery[str] = "", since: FromQuery[str] = "", until: FromQuery[str] = "",
           limit: FromQuery[int] = 200) -> Response[str]:
    _ = web.translator(request)
    with web.web_uow(request) as uow:
        uow.require("membership.view")
        service = svc(uow)
        member = service.members.view(service.members.by_card(card)["id"])
        kind = kind if kind in ("reward", "upgrade") else ""
        errors: dict[str, str] = {}
        days: dict[str, date | None] = {}
        for name, text in (("since", since), ("until", until)):
            days[name], problems = web.attempt(uow, parse_day, text, name, optional=True, not_found="field")
            errors.update(problems)
        every = service.ledger.entries(member["id"], limit=None)
        sources = sorted({entry["source"] for entry in every})
        limit = limit if limit in LEDGER_LIMITS else 200
        # the service reads a member's whole ledger in one query (a member's is short); filters beyond kind are the page's
        rows = [e for e in every if (not kind or e["kind"] == kind) and (not source or e["source"] == source)
                and (days["since"] is None or e["effective_on"] >= days["since"]) and (days["until"] is None or e["effective_on"] <= days["until"])]
        chart = points_over_time(every, _("Points over time"), {"reward": _("Reward points"), "upgrade": _("Upgrade points")})
        return web.page(request, uow, "membership/web/ledger.html", member=member, rows=rows[:limit], total=len(rows), sources=sources,
                        chosen={"kind": kind, "source": source, "since": since, "until": until, "limit": limit}, limits=LEDGER_LIMITS,
                        errors=errors, chart=chart)


HANDLERS: list[Any] = [home, applications, apply, approve, reject, member_list, card_page, redeem, adjust_points, set_tier,
                       card_status, cancel_redemption, ledger]

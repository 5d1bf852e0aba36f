"""Club life: member events (活动管理) with invitations, registration and
attendance; alliance merchants (联盟商家); member care (会员关怀); reports."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response
from litestar.params import FromPath, FromQuery

from crmcore import web
from crmcore.charts import bar_chart

from crm_membership.services.care import CHANNELS, LANGUAGES, TEMPLATES
from crm_membership.services.events import MERCHANT_STATUSES
from crm_membership.web.charts import monthly_chart
from crm_membership.web.common import Whole, cards_of, checked, first, optional_int, shown, submit, svc, viewed

# -- events -------------------------------------------------------------------------------------


def _events_page(request: Request, uow: Any, **again: Any) -> Response[str]:
    return shown(request, uow, "membership/web/events.html", events=viewed(uow).events.stats(), **again)


@web.get("/events")
def events(request: Request) -> Response[str]:
    return first(request, _events_page)


@web.post("/events")
def event_add(request: Request, data: web.Form) -> Response[str]:
    _ = web.translator(request)

    def run(uow: Any, numbers: dict[str, int | None]) -> Any:
        return svc(uow).events.add(web.form_value(data, "name"), held_on=web.form_value(data, "held_on"),
                                   location=web.form_value(data, "location") or None, reward_points=numbers["reward_points"],
                                   upgrade_points=numbers["upgrade_points"] or 0, capacity=numbers["capacity"])

    return submit(request, data, run, _events_page,
                  lambda added: web.redirect(request, f"/membership/events/{added['id']}", _("Event %(name)s added.", name=added["name"])),
                  numbers={name: Whole(minimum=0) for name in ("reward_points", "upgrade_points", "capacity")})


def _event_page(request: Request, uow: Any, event_id: int, *, failed: str = "", **again: Any) -> Response[str]:
    service = viewed(uow)
    return shown(request, uow, "membership/web/event.html", event=service.events.stats(event_id)[0],
                 people=service.events.participants(event_id), tiers=service.tiers.list(), merchants=service.merchants.list("active"),
                 failed=failed, **again)


@web.get("/events/{event_id:int}")
def event(request: Request, event_id: FromPath[int]) -> Response[str]:
    return first(request, _event_page, event_id)


@web.post("/events/{event_id:int}")
def event_action(request: Request, event_id: FromPath[int], data: web.Form) -> Response[str]:
    """Invite (by tier, points, join date or cards), register one card,
    record attendance (points once per member), or bring in a merchant."""
    _ = web.translator(request)
    action = web.form_value(data, "action")
    with web.web_uow(request, data) as uow:
        uow.require("membership.view")
        service = svc(uow)
        service.events.get(event_id)
        errors: dict[str, str] = {}
        done: Any = None
        if action == "invite":
            min_points = optional_int(data, "min_points", errors, minimum=0)
            if not errors:
                done, errors = web.attempt(uow, service.events.invite, event_id, tier=web.form_value(data, "tier") or None, min_points=min_points,
                                           cards=cards_of(data), joined_before=web.form_value(data, "joined_before") or None,
                                           not_found="field")
            message = _("%(n)s members invited.", n=(done or {}).get("invited", 0))
        elif action == "register":
            done, errors = web.attempt(uow, service.events.register, event_id, web.form_value(data, "card"), not_found="field")
            message = _("Registered.")
        elif action == "attend":
            numbers = cards_of(data)
            if not numbers:
                errors = {"cards": "type the attendees' card numbers"}
            else:
                done, errors = web.attempt(uow, service.events.attend, event_id, numbers, award=checked(data, "award"),
                                           not_found="field")
            message = _("Attendance recorded: %(n)s members, %(points)s points posted.", n=(done or {}).get("attended", 0),
                        points=(done or {}).get("points_posted", 0))
        elif action == "merchant":
            done, errors = web.attempt(uow, service.events.link_merchant, event_id, web.form_value(data, "merchant"),
                                       web.form_value(data, "role") or None, not_found="field")
            message = _("Merchant joined the event.")
        else:
            errors, message = {"": "unknown action"}, ""
        if errors:
            return _event_page(request, uow, event_id, failed=action, form=dict(data), errors=errors, code=422)
    return web.redirect(request, f"/membership/events/{event_id}", message)


# -- merchants ----------------------------------------------------------------------------------


def _merchants_page(request: Request, uow: Any, status: str = "", **again: Any) -> Response[str]:
    service = viewed(uow)
    status = status if status in MERCHANT_STATUSES else ""
    return shown(request, uow, "membership/web/merchants.html", merchants=service.merchants.list(status or None), state=status,
                 states=MERCHANT_STATUSES, **again)


@web.get("/merchants")
def merchants(request: Request, status: FromQuery[str] = "") -> Response[str]:
    return first(request, _merchants_page, status)


@web.post("/merchants")
def merchant_add(request: Request, data: web.Form) -> Response[str]:
    _ = web.translator(request)

    def run(uow: Any, _numbers: dict[str, int | None]) -> Any:
        return svc(uow).merchants.add(web.form_value(data, "name"), category=web.form_value(data, "category") or None,
                                      address=web.form_value(data, "address") or None)

    return submit(request, data, run, _merchants_page,
                  lambda added: web.redirect(request, f"/membership/merchants/{added['id']}", _("Merchant %(name)s added.", name=added["name"])))


def _merchant_page(request: Request, uow: Any, merchant_id: int, *, failed: str = "", **again: Any) -> Response[str]:
    service = viewed(uow)
    return shown(request, uow, "membership/web/merchant.html", merchant=service.merchants.show(merchant_id), states=MERCHANT_STATUSES,
                 tiers=service.tiers.list(), failed=failed, **again)


@web.get("/merchants/{merchant_id:int}")
def merchant(request: Request, merchant_id: FromPath[int]) -> Response[str]:
    return first(request, _merchant_page, merchant_id)


@web.post("/merchants/{merchant_id:int}")
def merchant_action(request: Request, merchant_id: FromPath[int], data: web.Form) -> Response[str]:
    """Change status (applying → active → terminated), add an offer, a
    contact or a reputation note."""
    _ = web.translator(request)
    action = web.form_value(data, "action")
    value = lambda name: web.form_value(data, name) or None  # noqa: E731 - the optional fields of every form below
    with web.web_uow(request, data) as uow:
        uow.require("membership.view")
        merchants_service = svc(uow).merchants
        merchants_service.get(merchant_id)
        errors: dict[str, str] = {}
        if action == "status":
            _done, errors = web.attempt(uow, merchants_service.set_status, merchant_id, web.form_value(data, "status"), value("reason"),
                                        not_found="field")
        elif action == "offer":
            _done, errors = web.attempt(uow, merchants_service.add_offer, merchant_id, web.form_value(data, "text"), min_tier=value("min_tier"),
                                        valid_to=value("valid_to"), not_found="field")
        elif action == "contact":
            _done, errors = web.attempt(uow, merchants_service.add_contact, merchant_id, web.form_value(data, "name"), title=value("title"),
                                        phone=value("phone"), email=value("email"), not_found="field")
        elif action == "note":
            rating = optional_int(data, "rating", errors)
            if not errors:
                _done, errors = web.attempt(uow, merchants_service.add_note, merchant_id, web.form_value(data, "text"), rating=rating,
                                            not_found="field")
        else:
            errors = {"": "unknown action"}
        if errors:
            return _merchant_page(request, uow, merchant_id, failed=action, form=dict(data), errors=errors, code=422)
    return web.redirect(request, f"/membership/merchants/{merchant_id}", _("Saved."))


# -- care ---------------------------------------------------------------------------------------


def _care_page(request: Request, uow: Any, *, preview: tuple[str, str] | None = None, **again: Any) -> Response[str]:
    service = viewed(uow)
    return shown(request, uow, "membership/web/care.html", templates=TEMPLATES, languages=LANGUAGES, channels=CHANNELS,
                 tiers=service.tiers.list(), events=service.events.list(), preview=preview, **again)


@web.get("/care")
def care(request: Request, template: FromQuery[str] = "", card: FromQuery[str] = "", lang: FromQuery[str] = "zh", occasion: FromQuery[str] = "") -> Response[str]:
    """The send form; with ``card`` and ``template``, a preview for that member."""
    with web.web_uow(request) as uow:
        preview, errors = None, {}
        if card and template:
            preview, errors = web.attempt(uow, svc(uow).care.preview, template, card, lang=lang, occasion=occasion or "节日",
                                          not_found="field")
        form = {"template": template, "card": card, "lang": lang, "occasion": occasion}
        return _care_page(request, uow, form=form, errors=errors, preview=preview, code=422 if errors else 200)


@web.post("/care")
def care_send(request: Request, data: web.Form) -> Response[str]:
    _ = web.translator(request)

    def run(uow: Any, numbers: dict[str, int | None]) -> Any:
        return svc(uow).care.send(web.form_value(data, "template"), lang=web.form_value(data, "lang") or "zh",
                                  channel=web.form_value(data, "channel") or "sms", occasion=web.form_value(data, "occasion") or None,
                                  cards=cards_of(data) or None, tier=web.form_value(data, "tier") or None,
                                  on=web.form_value(data, "on") or None, days=numbers["days"] or 30, event_id=numbers["event"])

    def done(counts: dict[str, int]) -> Response[str]:
        return web.redirect(request, "/membership/care", _(
            "%(queued)s of %(selected)s messages queued; already sent %(already)s, no address %(no_address)s, "
            "do not contact %(dnc)s, no consent %(no_consent)s.", queued=counts["queued"], selected=counts["selected"],
            already=counts["already_sent"], no_address=counts["no_address"], dnc=counts["do_not_contact"], no_consent=counts["no_consent"]))

    return submit(request, data, run, _care_page, done, numbers={"days": Whole(minimum=1), "event": Whole(minimum=1)})


# -- reports ------------------------------------------------------------------------------------


@web.get("/reports")
def reports(request: Request) -> Response[str]:
    _ = web.translator(request)
    with web.web_uow(request) as uow:
        uow.require("membership.view")
        report = svc(uow).reports
        by_tier = report.members_by_tier()
        active: dict[str, int] = {}
        for row in by_tier:
            if row["status"] == "active":
                active[row["tier"]] = active.get(row["tier"], 0) + row["members"]
        points = report.points()
        title = _("Active members by tier")
        charts = [web.chart(bar_chart(title, list(active), list(active.values())), title)] if active else []
        over_time = monthly_chart(points, _("Reward points per month"),
                                  {"earned": _("Earned"), "redeemed": _("Redeemed"), "expired": _("Expired")})
        if over_time is not None:
            charts.append(over_time)
        return web.page(request, uow, "membership/web/reports.html", charts=charts, by_tier=by_tier, points=points,
                        top=report.top(10), redemptions=report.redemptions(), events=svc(uow).events.stats())


HANDLERS: list[Any] = [events, event_add, event, event_action, merchants, merchant_add, merchant, merchant_action, care, care_send,
                       reports]

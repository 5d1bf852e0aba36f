"""Campaign pages: the list with revenue against cost, the wizard (basics →
message → review, approve and launch) with a message preview, the results
(funnel, revenue and cost per channel, A/B variants, lift, cost lines), and
the opt-outs of the customer page's panel. Every change goes through the
campaigns service, which checks the same permissions as the CLI and API."""

from __future__ import annotations

from contextlib import contextmanager
from typing import Any, Callable, Iterator

from litestar import Request, Response
from litestar.params import FromPath, FromQuery

from crmcore import NotFound, ValidationError, web
from crmcore.charts import bar_chart, funnel_chart
from crmcore.web.i18n import lazy

from crm_campaigns.domain import CHANNELS, STATUSES, Campaign
from crm_campaigns.web.common import service, whole
from crm_campaigns.web.labels import L

#: The form's fields and the ``CampaignsService.edit`` keyword each one changes.
SETTINGS = {"name": "rename", "goal": "goal", "segment": "segment", "budget": "budget", "control": "control",
            "start": "starts_on", "end": "ends_on", "throttle": "throttle", "attribution_days": "attribution_days"}
#: The service's field names in errors, as the form names them.
ERROR_FIELDS = {"starts_on": "start", "ends_on": "end", "channel": "channels", "rename": "name"}
PREVIEW_SAMPLE = 20


@contextmanager
def _campaign(request: Request, campaign_id: int, data: dict[str, Any]) -> Iterator[tuple[Any, Any, Campaign]]:
    """A form's unit of work (CSRF checked), the service and the campaign."""
    with web.web_uow(request, data) as uow:
        campaigns = service(uow)
        yield uow, campaigns, campaigns.get(campaign_id)


class _Discard(Exception):
    """Raised to roll back a savepoint on purpose: a message previewed
    before it is saved."""


def _fields_of(errors: dict[str, str]) -> dict[str, str]:
    return {ERROR_FIELDS.get(key, key): message for key, message in errors.items()}


def _form_of(uow: Any, campaign: Campaign) -> dict[str, Any]:
    segment = service(uow).find_segment(campaign.segment_id) if campaign.segment_id else None
    return {"name": campaign.name, "goal": campaign.goal or "", "segment": segment.name if segment else "",
            "budget": str(campaign.budget) if campaign.budget is not None else "", "control": str(campaign.control_pct),
            "start": campaign.starts_on.isoformat() if campaign.starts_on else "",
            "end": campaign.ends_on.isoformat() if campaign.ends_on else "",
            "throttle": str(campaign.throttle or ""), "attribution_days": str(campaign.attribution_days),
            "channels": list(campaign.channels)}


def _submitted(data: dict[str, Any]) -> dict[str, Any]:
    form: dict[str, Any] = {key: web.form_value(data, key) for key in SETTINGS}
    form["channels"] = web.form_list(data, "channels")
    return form


def _create(campaigns: Any, form: dict[str, Any]) -> Campaign:
    return campaigns.add(form["name"], segment=form["segment"] or None, channels=form["channels"],
                         budget=form["budget"] or None, control=form["control"] or 0, goal=form["goal"] or None,
                         starts_on=form["start"] or None, ends_on=form["end"] or None,
                         throttle=whole(form["throttle"], "throttle"),
                         attribution_days=whole(form["attribution_days"], "attribution_days") or 30)


def _update(campaigns: Any, campaign: Campaign, before: dict[str, Any], form: dict[str, Any]) -> Campaign:
    """Only what the user changed: an unchanged segment of a running
    campaign is not a change of its frozen audience."""
    changes = {SETTINGS[key]: form[key] for key in SETTINGS if form[key] != before[key]}
    for key in ("throttle", "attribution_days"):
        if key in changes:
            changes[key] = whole(changes[key], key)
    if form["channels"] != before["channels"]:
        changes["channels"] = form["channels"]
    return campaigns.edit(campaign.name, **changes)


def _form_page(request: Request, uow: Any, *, campaign: Campaign | None, form: dict[str, Any], errors: dict[str, str],
               status: int = 200) -> Response[str]:
    return web.page(request, uow, "campaigns/web/campaign_form.html", status=status, campaign=campaign, form=form,
                    errors=_fields_of(errors), segments=service(uow).segments(), channels=CHANNELS, L=L,
                    progress=_progress(uow, campaign, "basics") if campaign else _progress(uow, None, "basics"))


def _progress(uow: Any, campaign: Campaign | None, current: str) -> list[dict[str, Any]]:
    """The wizard's steps, which are done and where each is worked on."""
    if campaign is None:
        return [{"key": key, "label": label, "done": False, "url": None, "current": key == current}
                for key, label in WIZARD]
    done = {"basics": True, "audience": campaign.segment_id is not None, "message": bool(service(uow).templates(campaign.id)),
            "approval": campaign.status in ("approved", "running", "finished"),
            "launch": campaign.status in ("running", "finished"), "results": campaign.launched_at is not None}
    urls = {"basics": f"/campaigns/{campaign.id}/edit", "audience": f"/campaigns/{campaign.id}/edit",
            "message": f"/campaigns/{campaign.id}/message", "approval": f"/campaigns/{campaign.id}",
            "launch": f"/campaigns/{campaign.id}", "results": f"/campaigns/{campaign.id}/results"}
    return [{"key": key, "label": label, "done": done[key], "url": urls[key], "current": key == current}
            for key, label in WIZARD]


WIZARD = (("basics", lazy("Basics")), ("audience", lazy("Audience")), ("message", lazy("Message")),
          ("approval", lazy("Approval")), ("launch", lazy("Launch")), ("results", lazy("Results")))


# -- the list ---------------------------------------------------------------------------------


@web.get("/")
def campaign_list(request: Request, status: FromQuery[str] = "") -> Response[str]:
    _ = web.translator(request)
    with web.web_uow(request) as uow:
        campaigns = service(uow)
        shown = campaigns.list(status if status in STATUSES else None)
        segments = {s.id: s.name for s in campaigns.segments()}
        compared = campaigns.compare() if any(c.status in ("running", "finished") for c in shown) else []
        chart = None
        if compared:
            labels, values = [], []
            for row in compared:
                labels += [f"{row['campaign']} · {_('Revenue')}", f"{row['campaign']} · {_('Cost')}"]
                values += [float(row["revenue"]), float(row["cost"])]
            title = _("Revenue and cost per campaign (CNY)")
            chart = web.chart(bar_chart(title, labels, values), title)
        return web.page(request, uow, "campaigns/web/campaigns.html", campaigns=shown, segments=segments, shown_status=status,
                        compared=compared, chart=chart, statuses=STATUSES, L=L)


# -- the wizard: basics --------------------------------------------------------------------------


@web.get("/new")
def campaign_new(request: Request, segment: FromQuery[str] = "") -> Response[str]:
    with web.web_uow(request) as uow:
        uow.require("campaigns.manage")
        form = {key: "" for key in SETTINGS} | {"segment": segment, "control": "10", "attribution_days": "30",
                                                 "channels": ["email"]}
        return _form_page(request, uow, campaign=None, form=form, errors={})


@web.post("/new")
def campaign_create(request: Request, data: web.Form) -> Response[str]:
    _ = web.translator(request)
    with web.web_uow(request, data) as uow:
        form = _submitted(data)
        created, errors = web.attempt(uow, _create, service(uow), form, not_found="form")
        if errors:
            return _form_page(request, uow, campaign=None, form=form, errors=errors, status=422)
    return web.redirect(request, f"/campaigns/{created.id}/message",
                        _("Campaign %(name)s created. Now write its message.", name=created.name))


@web.get("/{campaign_id:int}/edit")
def campaign_edit(request: Request, campaign_id: FromPath[int]) -> Response[str]:
    with web.web_uow(request) as uow:
        uow.require("campaigns.manage")
        campaign = service(uow).get(campaign_id)
        return _form_page(request, uow, campaign=campaign, form=_form_of(uow, campaign), errors={})


@web.post("/{campaign_id:int}/edit")
def campaign_update(request: Request, campaign_id: FromPath[int], data: web.Form) -> Response[str]:
    _ = web.translator(request)
    with _campaign(request, campaign_id, data) as (uow, campaigns, campaign):
        form = _submitted(data)
        _saved, errors = web.attempt(uow, _update, campaigns, campaign, _form_of(uow, campaign), form, not_found="form")
        if errors:
            return _form_page(request, uow, campaign=campaign, form=form, errors=errors, status=422)
    return web.redirect(request, f"/campaigns/{campaign_id}", _("Changes saved."))


# -- the wizard: the message ----------------------------------------------------------------------


def _save_message(campaigns: Any, name: str, form: dict[str, str]) -> dict[str, Any]:
    """A step's template, making the step first when a new number is given
    (with its delay, audience and A/B share) or changing those settings."""
    number = whole(form["step"], "step")
    after, only, ab = whole(form["after"], "after"), form["only"] or None, form["ab"] or None
    if number is not None and number not in {s.number for s in campaigns.steps(name)}:
        campaigns.add_step(name, channel=form["channel"], after_days=after or 0, only=only or "all", ab=ab or 0,
                           number=number)
        after = only = ab = None
    saved = campaigns.add_template(name, channel=form["channel"], body=form["body"], subject=form["subject"] or None,
                                   language=form["language"] or "zh", variant=form["variant"] or "A", step=number)
    if after is not None or ab is not None or (only and only != "all"):
        campaigns.edit_step(name, saved["step"], after_days=after, only=only, ab=ab)
    return saved


def _try_message(uow: Any, campaigns: Any, name: str, form: dict[str, str], customer_id: int | None) -> dict[str, Any]:
    """The message as ``customer_id`` would get it, without saving it: saved
    in a savepoint, rendered, rolled back."""
    if customer_id is None:
        raise ValidationError.field("customer", "choose a customer to preview the message for")
    shown: dict[str, Any] = {}
    try:
        with uow.savepoint():
            saved = _save_message(campaigns, name, form)
            shown = campaigns.preview_message(name, customer_id, step=saved["step"], variant=saved["variant"],
                                              language=saved["language"])
            raise _Discard
    except _Discard:
        pass
    return shown


MESSAGE_FIELDS = ("channel", "step", "after", "only", "ab", "variant", "language", "subject", "body", "customer")


def _sample(uow: Any, campaign: Campaign) -> list[dict[str, Any]]:
    """Customers to preview messages for: the first of the segment."""
    if campaign.segment_id is None:
        return []
    return service(uow).preview(campaign.segment_id, limit=PREVIEW_SAMPLE)["sample"]


def _message_page(request: Request, uow: Any, campaign: Campaign, form: dict[str, str], *, errors: dict[str, str],
                  shown: dict[str, Any] | None = None, status: int = 200) -> Response[str]:
    campaigns = service(uow)
    return web.page(request, uow, "campaigns/web/message.html", status=status, campaign=campaign, form=form,
                    errors=errors, shown=shown, templates=campaigns.templates(campaign.id),
                    steps=campaigns.steps(campaign.id), sample=_sample(uow, campaign), channels=CHANNELS, L=L,
                    progress=_progress(uow, campaign, "message"))


@web.get("/{campaign_id:int}/message")
def message_form(request: Request, campaign_id: FromPath[int]) -> Response[str]:
    with web.web_uow(request) as uow:
        uow.require("campaigns.manage")
        campaign = service(uow).get(campaign_id)
        form = {key: "" for key in MESSAGE_FIELDS} | {"channel": (campaign.channels or ["email"])[0], "variant": "A",
                                                       "language": "zh", "only": "all"}
        return _message_page(request, uow, campaign, form, errors={})


@web.post("/{campaign_id:int}/message")
def message_save(request: Request, campaign_id: FromPath[int], data: web.Form) -> Response[str]:
    _ = web.translator(request)
    with _campaign(request, campaign_id, data) as (uow, campaigns, campaign):
        form = {key: web.form_value(data, key) for key in MESSAGE_FIELDS}
        if web.form_value(data, "intent") == "preview":
            customer = form["customer"] or str(next(iter(_sample(uow, campaign)), {}).get("id", ""))
            shown, errors = web.attempt(uow, lambda: _try_message(uow, campaigns, campaign.name, form,
                                                                  whole(customer, "customer")), not_found="form")
            return _message_page(request, uow, campaign, form, errors=errors, shown=shown,
                                 status=422 if errors else 200)
        saved, errors = web.attempt(uow, _save_message, campaigns, campaign.name, form, not_found="form")
        if errors:
            return _message_page(request, uow, campaign, form, errors=errors, status=422)
    return web.redirect(request, f"/campaigns/{campaign_id}#preview",
                        _("Message for step %(step)s saved.", step=saved["step"]))


# -- the overview: review, preview, approve, launch --------------------------------------------------


def _detail_page(request: Request, uow: Any, campaign: Campaign, *, action_errors: dict[str, str] | None = None,
                 status: int = 200) -> Response[str]:
    campaigns = service(uow)
    query = request.query_params
    sample = _sample(uow, campaign)
    templates = campaigns.templates(campaign.id)
    customer = web.form_value(query, "customer") or str(next(iter(sample), {}).get("id", ""))
    step = web.form_value(query, "step") or str(templates[0]["step"] if templates else 1)
    variant = web.form_value(query, "variant")
    shown, preview_errors = None, {}
    if templates and customer:
        shown, preview_errors = web.attempt(uow, lambda: campaigns.preview_message(
            campaign.name, whole(customer, "customer"), step=whole(step, "step") or 1, variant=variant or None),
            not_found="form")
    segment = campaigns.find_segment(campaign.segment_id) if campaign.segment_id else None
    owner = uow.users.find(campaign.owner_id) if campaign.owner_id else None
    return web.page(request, uow, "campaigns/web/campaign.html", status=status, campaign=campaign, segment=segment,
                    owner=owner, steps=campaigns.steps(campaign.id), templates=templates, sample=sample,
                    chosen={"customer": customer, "step": step, "variant": variant}, shown=shown,
                    preview_errors=preview_errors, action_errors=action_errors or {}, L=L,
                    progress=_progress(uow, campaign, "launch" if campaign.status == "approved" else "approval"))


@web.get("/{campaign_id:int}")
def campaign_detail(request: Request, campaign_id: FromPath[int]) -> Response[str]:
    with web.web_uow(request) as uow:
        return _detail_page(request, uow, service(uow).get(campaign_id))


def _actions(_: Callable[..., str]) -> dict[str, tuple[str, Callable[[dict[str, Any]], str]]]:
    """What each button of the overview calls, and its flash message."""
    return {
        "approve": ("approve", lambda done: _("Campaign approved; it can be launched.")),
        "launch": ("launch", lambda done: _("Campaign launched: %(audience)s customers, %(queued)s messages queued, "
                                            "%(suppressed)s suppressed.", **done)),
        "run": ("run", lambda done: _("Sent what was due: %(queued)s queued, %(listed)s listed, %(suppressed)s "
                                      "suppressed.", **done)),
        "finish": ("finish", lambda done: _("Campaign finished.")),
        "cancel": ("cancel", lambda done: _("Campaign cancelled; queued messages were withdrawn.")),
    }


@web.post("/{campaign_id:int}/status")
def campaign_action(request: Request, campaign_id: FromPath[int], data: web.Form) -> Response[str]:
    _ = web.translator(request)
    actions = _actions(_)
    with _campaign(request, campaign_id, data) as (uow, campaigns, campaign):
        chosen = actions.get(web.form_value(data, "action"))
        if chosen is None:
            return _detail_page(request, uow, campaign, action_errors={"": _("Unknown action.")}, status=422)
        method, flash = chosen
        done, errors = web.attempt(uow, getattr(campaigns, method), campaign.name, not_found="form")
        if errors:
            return _detail_page(request, uow, campaign, action_errors=errors, status=422)
    return web.redirect(request, f"/campaigns/{campaign_id}", flash(done if isinstance(done, dict) else {}))


# -- results ---------------------------------------------------------------------------------------------


def _results_page(request: Request, uow: Any, campaign: Campaign, *, cost_form: dict[str, str] | None = None,
                  cost_errors: dict[str, str] | None = None, winner_errors: dict[str, str] | None = None,
                  status: int = 200) -> Response[str]:
    _ = web.translator(request)
    campaigns = service(uow)
    stats = campaigns.stats(campaign.name)
    title = _("Campaign funnel")
    funnel = web.chart(funnel_chart(title, [_(label) for _key, label in L.funnel],
                                    [float(stats[key]) for key, _label in L.funnel]), title)
    money = None
    if stats["revenue"] or stats["actual_cost"]:
        labels, values = [], []
        for row in stats["channels"]:
            name = _(L.channel[row["channel"]])
            labels += [f"{name} · {_('Revenue')}", f"{name} · {_('Cost')}"]
            values += [float(row["revenue"]), float(row["cost"])]
        if stats["unallocated_cost"]:
            labels.append(_("Cost not tied to a channel"))
            values.append(float(stats["unallocated_cost"]))
        money_title = _("Revenue and cost per channel (CNY)")
        money = web.chart(bar_chart(money_title, labels, values), money_title)
    plan = campaigns.steps(campaign.id)
    tests = [{"step": step, "variants": campaigns.variant_rates(campaign, step)} for step in plan if step.ab_pct]
    return web.page(request, uow, "campaigns/web/results.html", status=status, campaign=campaign, stats=stats,
                    funnel=funnel, money=money, tests=tests, costs=campaigns.costs(campaign.name),
                    responses=campaigns.responses(campaign.name, limit=50), cost_form=cost_form or {},
                    cost_errors=cost_errors or {}, winner_errors=winner_errors or {}, channels=CHANNELS, L=L,
                    progress=_progress(uow, campaign, "results"))


@web.get("/{campaign_id:int}/results")
def campaign_results(request: Request, campaign_id: FromPath[int]) -> Response[str]:
    with web.web_uow(request) as uow:
        return _results_page(request, uow, service(uow).get(campaign_id))


@web.post("/{campaign_id:int}/costs")
def cost_add(request: Request, campaign_id: FromPath[int], data: web.Form) -> Response[str]:
    _ = web.translator(request)
    with _campaign(request, campaign_id, data) as (uow, campaigns, campaign):
        form = {key: web.form_value(data, key) for key in ("amount", "description", "channel", "date")}
        _added, errors = web.attempt(uow, campaigns.add_cost, campaign.name, form["amount"], form["description"],
                                     channel=form["channel"] or None, on=form["date"] or None, not_found="form")
        if errors:
            return _results_page(request, uow, campaign, cost_form=form, cost_errors=errors, status=422)
    return web.redirect(request, f"/campaigns/{campaign_id}/results#costs", _("Cost added."))


@web.post("/{campaign_id:int}/winner")
def winner_pick(request: Request, campaign_id: FromPath[int], data: web.Form) -> Response[str]:
    _ = web.translator(request)
    with _campaign(request, campaign_id, data) as (uow, campaigns, campaign):
        done, errors = web.attempt(uow, lambda: campaigns.pick_winner(campaign.name, whole(web.form_value(data, "step"), "step") or 1,
                                                                      web.form_value(data, "variant") or None),
                                   not_found="form")
        if errors:
            return _results_page(request, uow, campaign, winner_errors=errors, status=422)
    return web.redirect(request, f"/campaigns/{campaign_id}/results#ab",
                        _("Variant %(winner)s wins; %(queued)s more messages queued.", **done))


# -- the customer panel's opt-outs ----------------------------------------------------------------------------


@web.post("/optouts")
def optout(request: Request, data: web.Form) -> Response[str]:
    _ = web.translator(request)
    with web.web_uow(request, data) as uow:
        customer_id = whole(web.form_value(data, "customer_id"), "customer_id")
        if customer_id is None:
            raise NotFound("no customer given")
        channel = web.form_value(data, "channel")
        if web.form_value(data, "undo"):
            service(uow).opt_in(customer_id, channel)
            flash = _("Campaign messages on %(channel)s allowed again.", channel=_(L.channel.get(channel, channel)))
        else:
            service(uow).opt_out(customer_id, channel, reason=web.form_value(data, "reason") or None)
            flash = _("No more campaign messages on %(channel)s.", channel=_(L.channel.get(channel, channel)))
    return web.redirect(request, f"/customers/{customer_id}#panel-campaigns", flash)


HANDLERS = [campaign_list, campaign_new, campaign_create, campaign_edit, campaign_update, message_form, message_save,
            campaign_detail, campaign_action, campaign_results, cost_add, winner_pick, optout]

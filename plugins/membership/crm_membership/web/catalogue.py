"""Tiers (会员级别) and the redemption catalogue (积分兑换): rewards,
campaigns, the counter's redeem form and recent redemptions."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response
from litestar.params import FromPath

from crmcore import web

from crm_membership.services.redemption import REWARD_KINDS
from crm_membership.web.common import card_url, checked, optional_int, svc


def _tiers_page(request: Request, uow: Any, *, form: dict[str, Any] | None = None, errors: dict[str, str] | None = None,
                code: int = 200) -> Response[str]:
    uow.require("membership.view")
    service = svc(uow)
    return web.page(request, uow, "membership/web/tiers.html", status=code, tiers=service.tiers.list(), counts=service.tiers.counts(),
                    window=service.settings.get("tier_window_days"), form=form or {}, errors=errors or {})


@web.get("/tiers")
def tiers(request: Request) -> Response[str]:
    with web.web_uow(request) as uow:
        return _tiers_page(request, uow)


@web.post("/tiers")
def tier_add(request: Request, data: web.Form) -> Response[str]:
    _ = web.translator(request)
    with web.web_uow(request, data) as uow:
        errors: dict[str, str] = {}
        level = optional_int(data, "level", errors)
        upgrade_points = optional_int(data, "upgrade_points", errors, minimum=0) or 0
        if level is None and "level" not in errors:
            errors["level"] = "required"
        added = None
        if not errors:
            added, errors = web.attempt(uow, svc(uow).tiers.add, web.form_value(data, "name"), level=level,
                                        multiplier=web.form_value(data, "multiplier") or "1", upgrade_points=upgrade_points,
                                        manual_only=checked(data, "manual_only"), not_found="field")
        if errors:
            return _tiers_page(request, uow, form=dict(data), errors=errors, code=422)
    return web.redirect(request, "/membership/tiers", _("Tier %(name)s added.", name=added["name"]))


@web.post("/tiers/evaluate")
def tier_evaluate(request: Request, data: web.Form) -> Response[str]:
    """Automatic upgrade and downgrade from the rolling window's points."""
    _ = web.translator(request)
    with web.web_uow(request, data) as uow:
        changes = svc(uow).members.evaluate_tiers()
    return web.redirect(request, "/membership/tiers", _("Tiers evaluated: %(n)s members changed tier.", n=len(changes)))


def _rewards_page(request: Request, uow: Any, *, failed: str = "", form: dict[str, Any] | None = None,
                  errors: dict[str, str] | None = None, code: int = 200) -> Response[str]:
    uow.require("membership.view")
    service = svc(uow)
    levels = {t["level"]: t["name"] for t in service.tiers.list()}
    return web.page(request, uow, "membership/web/rewards.html", status=code, rewards=service.redemption.catalogue(),
                    campaigns=service.redemption.campaigns(), redemptions=service.redemption.list(limit=50), levels=levels,
                    kinds=REWARD_KINDS, report=service.reports.redemptions(), failed=failed, form=form or {}, errors=errors or {})


@web.get("/rewards")
def rewards(request: Request) -> Response[str]:
    with web.web_uow(request) as uow:
        return _rewards_page(request, uow)


@web.post("/rewards/redeem")
def redeem_at_counter(request: Request, data: web.Form) -> Response[str]:
    """The counter's form: a card number, a reward, how many."""
    _ = web.translator(request)
    with web.web_uow(request, data) as uow:
        errors: dict[str, str] = {}
        quantity = optional_int(data, "quantity", errors, minimum=1) or 1
        done = None
        if not errors:
            done, errors = web.attempt(uow, svc(uow).redemption.redeem, web.form_value(data, "card"), web.form_value(data, "reward"), quantity,
                                       not_found="field")
        if errors:
            return _rewards_page(request, uow, failed="redeem", form=dict(data), errors=errors, code=422)
    return web.redirect(request, card_url(done["card_number"]),
                        _("Redeemed %(reward)s × %(quantity)s for %(points)s points.", reward=done["reward"], quantity=done["quantity"],
                          points=done["points"]))


@web.post("/rewards")
def reward_add(request: Request, data: web.Form) -> Response[str]:
    _ = web.translator(request)
    with web.web_uow(request, data) as uow:
        errors: dict[str, str] = {}
        stock = optional_int(data, "stock", errors, minimum=0)
        added = None
        if not errors:
            fields = {name: web.form_value(data, name) or None for name in ("cash_value", "campaign", "valid_from", "valid_to", "min_tier")}
            added, errors = web.attempt(uow, svc(uow).redemption.add_reward, web.form_value(data, "name"), points=web.form_value(data, "points"),
                                        stock=stock, kind=web.form_value(data, "kind") or "physical", not_found="field", **fields)
        if errors:
            return _rewards_page(request, uow, failed="add", form=dict(data), errors=errors, code=422)
    return web.redirect(request, "/membership/rewards", _("Reward %(name)s added.", name=added["name"]))


@web.post("/rewards/{reward_id:int}/restock")
def restock(request: Request, reward_id: FromPath[int], data: web.Form) -> Response[str]:
    _ = web.translator(request)
    with web.web_uow(request, data) as uow:
        reward = svc(uow).redemption.reward(reward_id)
        errors: dict[str, str] = {}
        add = optional_int(data, "add", errors)
        if add is None and not errors:
            errors["add"] = "required"
        if not errors:
            _done, errors = web.attempt(uow, svc(uow).redemption.restock, str(reward["id"]), add, not_found="field")
        if errors:
            return _rewards_page(request, uow, failed=f"restock-{reward_id}", errors=errors, code=422)
    return web.redirect(request, "/membership/rewards", _("Stock of %(name)s changed.", name=reward["name"]))


HANDLERS: list[Any] = [tiers, tier_add, tier_evaluate, rewards, redeem_at_counter, reward_add, restock]

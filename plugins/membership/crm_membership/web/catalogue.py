"""Tiers (会员级别) and the redemption catalogue (积分兑换): rewards,
campaigns, the counter's redeem form and recent redemptions."""

from __future__ import annotations

from functools import partial
from typing import Any

from litestar import Request, Response
from litestar.params import FromPath

from crmcore import web

from crm_membership.services.redemption import REWARD_KINDS
from crm_membership.web.common import Whole, card_url, checked, first, optional_int, shown, submit, svc, viewed


def _tiers_page(request: Request, uow: Any, **again: Any) -> Response[str]:
    service = viewed(uow)
    return shown(request, uow, "membership/web/tiers.html", tiers=service.tiers.list(), counts=service.tiers.counts(),
                 window=service.settings.get("tier_window_days"), **again)


@web.get("/tiers")
def tiers(request: Request) -> Response[str]:
    return first(request, _tiers_page)


@web.post("/tiers")
def tier_add(request: Request, data: web.Form) -> Response[str]:
    _ = web.translator(request)

    def run(uow: Any, numbers: dict[str, int | None]) -> Any:
        return svc(uow).tiers.add(web.form_value(data, "name"), level=numbers["level"], multiplier=web.form_value(data, "multiplier") or "1",
                                  upgrade_points=numbers["upgrade_points"] or 0, manual_only=checked(data, "manual_only"))

    return submit(request, data, run, _tiers_page,
                  lambda added: web.redirect(request, "/membership/tiers", _("Tier %(name)s added.", name=added["name"])),
                  numbers={"level": Whole(required=True), "upgrade_points": Whole(minimum=0)})


@web.post("/tiers/evaluate")
def tier_evaluate(request: Request, data: web.Form) -> Response[str]:
    """Automatic upgrade and downgrade from the rolling window's points."""
    _ = web.translator(request)
    with web.web_uow(request, data) as uow:
        changes = svc(uow).members.evaluate_tiers()
    return web.redirect(request, "/membership/tiers", _("Tiers evaluated: %(n)s members changed tier.", n=len(changes)))


def _rewards_page(request: Request, uow: Any, *, failed: str = "", **again: Any) -> Response[str]:
    service = viewed(uow)
    levels = {t["level"]: t["name"] for t in service.tiers.list()}
    return shown(request, uow, "membership/web/rewards.html", rewards=service.redemption.catalogue(),
                 campaigns=service.redemption.campaigns(), redemptions=service.redemption.list(limit=50), levels=levels,
                 kinds=REWARD_KINDS, report=service.reports.redemptions(), failed=failed, **again)


@web.get("/rewards")
def rewards(request: Request) -> Response[str]:
    return first(request, _rewards_page)


@web.post("/rewards/redeem")
def redeem_at_counter(request: Request, data: web.Form) -> Response[str]:
    """The counter's form: a card number, a reward, how many."""
    _ = web.translator(request)

    def run(uow: Any, numbers: dict[str, int | None]) -> Any:
        return svc(uow).redemption.redeem(web.form_value(data, "card"), web.form_value(data, "reward"), numbers["quantity"] or 1)

    def done(redeemed: dict[str, Any]) -> Response[str]:
        return web.redirect(request, card_url(redeemed["card_number"]),
                            _("Redeemed %(reward)s × %(quantity)s for %(points)s points.", reward=redeemed["reward"],
                              quantity=redeemed["quantity"], points=redeemed["points"]))

    return submit(request, data, run, partial(_rewards_page, failed="redeem"), done, numbers={"quantity": Whole(minimum=1)})


@web.post("/rewards")
def reward_add(request: Request, data: web.Form) -> Response[str]:
    _ = web.translator(request)

    def run(uow: Any, numbers: dict[str, int | None]) -> Any:
        fields = {name: web.form_value(data, name) or None for name in ("cash_value", "campaign", "valid_from", "valid_to", "min_tier")}
        return svc(uow).redemption.add_reward(web.form_value(data, "name"), points=web.form_value(data, "points"), stock=numbers["stock"],
                                              kind=web.form_value(data, "kind") or "physical", **fields)

    return submit(request, data, run, partial(_rewards_page, failed="add"),
                  lambda added: web.redirect(request, "/membership/rewards", _("Reward %(name)s added.", name=added["name"])),
                  numbers={"stock": Whole(minimum=0)})


@web.post("/rewards/{reward_id:int}/restock")
def restock(request: Request, reward_id: FromPath[int], data: web.Form) -> Response[str]:
    _ = web.translator(request)
    with web.web_uow(request, data) as uow:
        reward = svc(uow).redemption.reward(reward_id)
        errors: dict[str, str] = {}
        add = optional_int(data, "add", errors, required=True)
        if not errors:
            _done, errors = web.attempt(uow, svc(uow).redemption.restock, str(reward["id"]), add, not_found="field")
        if errors:
            return _rewards_page(request, uow, failed=f"restock-{reward_id}", errors=errors, code=422)
    return web.redirect(request, "/membership/rewards", _("Stock of %(name)s changed.", name=reward["name"]))


HANDLERS: list[Any] = [tiers, tier_add, tier_evaluate, rewards, redeem_at_counter, reward_add, restock]

"""Redemption: stock and points in one transaction; cancellation refunds both."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from crmcore import Conflict

TODAY = datetime.now(ZoneInfo("Asia/Shanghai")).date()  # the CRM's zone


def funded(club, points=1000, tier=None):
    card = club.member(tier=tier)["card_number"]
    club.service(lambda s: s.points.add(card, points, reason="充值"))
    return card


def stock_of(club, name):
    return club.service(lambda s: s.redemption.reward(name))["stock"]


def test_redeeming_reserves_stock_and_debits_points(club):
    card = funded(club)
    club.service(lambda s: s.redemption.add_reward("电影票", points=300, stock=10))
    result = club.service(lambda s: s.redemption.redeem(card, "电影票", 2))
    assert (result["points"], result["reward_points"]) == (600, 400)
    assert stock_of(club, "电影票") == 8


def test_too_few_points_leave_the_stock_untouched(club):
    card = funded(club, 100)
    club.service(lambda s: s.redemption.add_reward("电影票", points=300, stock=10))
    with pytest.raises(Conflict, match="only 100 reward points"):
        club.service(lambda s: s.redemption.redeem(card, "电影票"))
    assert stock_of(club, "电影票") == 10
    assert club.view(card)["reward_points"] == 100


def test_no_stock_no_redemption(club):
    card = funded(club)
    club.service(lambda s: s.redemption.add_reward("限量杯", points=100, stock=1))
    club.service(lambda s: s.redemption.redeem(card, "限量杯"))
    with pytest.raises(Conflict, match="out of stock"):
        club.service(lambda s: s.redemption.redeem(card, "限量杯"))
    assert club.view(card)["reward_points"] == 900


def test_cancelling_a_redemption_refunds_points_and_stock(club, cli):
    card = funded(club)
    club.service(lambda s: s.redemption.add_reward("电影票", points=300, stock=10))
    redemption = club.service(lambda s: s.redemption.redeem(card, "电影票"))
    result = cli("membership", "redemption", "cancel", str(redemption["redemption"]), "--reason", "客户放弃", json=True)
    assert result.exit_code == 0 and result.json["reward_points"] == 1000
    assert stock_of(club, "电影票") == 10
    again = cli("membership", "redemption", "cancel", str(redemption["redemption"]))
    assert again.exit_code == 1 and "already cancelled" in again.stderr
    assert club.check() == []


def test_a_lost_card_cannot_redeem(club):
    card = funded(club)
    club.service(lambda s: s.redemption.add_reward("电影票", points=300))
    club.service(lambda s: s.cards.report_lost(card))
    with pytest.raises(Conflict, match="reported lost"):
        club.service(lambda s: s.redemption.redeem(card, "电影票"))


def test_a_tier_restricted_reward_needs_that_tier(club):
    silver, gold = funded(club), funded(club, tier="金卡")
    club.service(lambda s: s.redemption.add_reward("贵宾礼盒", points=100, min_tier="金卡"))
    with pytest.raises(Conflict, match="金卡"):
        club.service(lambda s: s.redemption.redeem(silver, "贵宾礼盒"))
    assert club.service(lambda s: s.redemption.redeem(gold, "贵宾礼盒"))["points"] == 100


def test_a_campaign_limits_dates_and_quantity_per_member(club):
    card = funded(club)
    club.service(lambda s: s.redemption.add_campaign("春节兑换", starts_on=TODAY - timedelta(days=1), ends_on=TODAY + timedelta(days=1),
                                                     max_per_member=1))
    club.service(lambda s: s.redemption.add_campaign("往年兑换", starts_on=TODAY - timedelta(days=40), ends_on=TODAY - timedelta(days=10)))
    club.service(lambda s: s.redemption.add_reward("福袋", points=100, campaign="春节兑换"))
    club.service(lambda s: s.redemption.add_reward("旧礼品", points=100, campaign="往年兑换"))
    club.service(lambda s: s.redemption.redeem(card, "福袋"))
    with pytest.raises(Conflict, match="allows 1 per member"):
        club.service(lambda s: s.redemption.redeem(card, "福袋"))
    with pytest.raises(Conflict, match="runs"):
        club.service(lambda s: s.redemption.redeem(card, "旧礼品"))


def test_a_reward_outside_its_validity_cannot_be_redeemed(club):
    card = funded(club)
    club.service(lambda s: s.redemption.add_reward("过期券", points=100, valid_to=TODAY - timedelta(days=1)))
    with pytest.raises(Conflict, match="can be redeemed"):
        club.service(lambda s: s.redemption.redeem(card, "过期券"))


def test_redemption_statistics_count_redeemed_and_cancelled(club, cli):
    card = funded(club)
    club.service(lambda s: s.redemption.add_reward("电影票", points=100, stock=5))
    first = club.service(lambda s: s.redemption.redeem(card, "电影票"))
    club.service(lambda s: s.redemption.redeem(card, "电影票"))
    club.service(lambda s: s.redemption.cancel(first["redemption"]))
    rows = cli("membership", "report", "redemptions", json=True).json
    assert rows == [{"reward": "电影票", "kind": "physical", "stock": 4, "redeemed": 1, "cancelled": 1, "points": 100, "members": 1}]

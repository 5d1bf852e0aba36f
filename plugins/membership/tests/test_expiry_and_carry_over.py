"""Expiry (FIFO by earning date) and carry-over at a plan's end."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo
from decimal import Decimal

import pytest

from crmcore import Conflict

TODAY = datetime.now(ZoneInfo("Asia/Shanghai")).date()  # the CRM's zone


@pytest.fixture
def expiring_club(make_club):
    return make_club(validity_months=12)


def earn(club, card, points, days_ago, key=None):
    return club.service(lambda s: s.points.add(card, points, reason="测试", effective_on=TODAY - timedelta(days=days_ago), key=key))


def test_expiry_takes_what_remains_of_the_oldest_lots_first(expiring_club):
    club = expiring_club
    card = club.member()["card_number"]
    earn(club, card, 100, 400)   # expired about a month ago
    earn(club, card, 100, 100)   # still valid
    club.service(lambda s: s.points.add(card, -60, reason="抵扣"))   # consumes the oldest lot first
    result = club.service(lambda s: s.points.expire())
    assert (result["points"], result["entries"]) == (40, 1)
    assert club.view(card)["reward_points"] == 100
    assert club.check() == []


def test_expiry_run_twice_posts_nothing_new(expiring_club):
    club = expiring_club
    card = club.member()["card_number"]
    earn(club, card, 100, 400)
    club.service(lambda s: s.points.expire())
    again = club.service(lambda s: s.points.expire())
    assert again["points"] == 0 and club.view(card)["reward_points"] == 0


def test_fully_spent_lots_do_not_expire(expiring_club):
    club = expiring_club
    card = club.member()["card_number"]
    earn(club, card, 100, 400)
    earn(club, card, 100, 100)
    club.service(lambda s: s.points.add(card, -150, reason="抵扣"))
    assert club.service(lambda s: s.points.expire())["points"] == 0
    assert club.view(card)["reward_points"] == 50


def test_expiry_as_of_a_later_date_reaches_later_lots(expiring_club):
    club = expiring_club
    card = club.member()["card_number"]
    earn(club, card, 100, 100)
    assert club.service(lambda s: s.points.expire())["points"] == 0
    later = club.service(lambda s: s.points.expire(as_of=TODAY + timedelta(days=300)))
    assert later["points"] == 100


def test_a_refund_keeps_the_earning_and_expiry_dates_of_the_points_spent(expiring_club):
    club = expiring_club
    member = club.member()
    earn(club, member["card_number"], 300, 400)
    club.service(lambda s: s.redemption.add_reward("雨伞", points=300))
    redemption = club.service(lambda s: s.redemption.redeem(member["card_number"], "雨伞"))
    club.service(lambda s: s.redemption.cancel(redemption["redemption"]))
    refund = club.service(lambda s: s.ledger.entries(member["id"]))[0]
    assert refund["source"] == "redemption_cancelled" and refund["effective_on"] == TODAY - timedelta(days=400)
    assert club.service(lambda s: s.points.expire())["points"] == 300


def test_points_expiring_soon_are_listed(expiring_club, cli):
    club = expiring_club
    card = club.member()["card_number"]
    earn(club, card, 70, 350)  # expires in about 15 days
    earn(club, card, 30, 10)
    rows = cli("membership", "points", "expiring", "--days", "30", json=True).json
    assert [(r["card_number"], r["points"]) for r in rows] == [(card, 70)]


@pytest.fixture
def ended_plan(club):
    club.service(lambda s: s.plans.add("旧", starts_on=TODAY - timedelta(days=800), ends_on=TODAY - timedelta(days=401),
                                      yuan_per_point="0.5", carry_min_points=100))
    return "旧"


def test_carry_over_converts_qualifying_points_into_awards(club, ended_plan):
    rich, poor = club.member()["card_number"], club.member()["card_number"]
    earn(club, rich, 300, 500)
    earn(club, poor, 50, 500)
    earn(club, rich, 20, 10)  # the current plan's points stay
    summary = club.service(lambda s: s.points.carry_over(ended_plan))
    assert (summary["members"], summary["points"], summary["value"]) == (1, 300, "150.00")
    assert club.view(rich)["reward_points"] == 20 and club.view(poor)["reward_points"] == 50
    awards = club.service(lambda s: s.points.awards(plan=ended_plan))
    assert [(a["card_number"], a["points"], a["value"], a["status"]) for a in awards] == [(rich, 300, Decimal("150.00"), "issued")]
    assert club.check() == []


def test_carry_over_is_reversible(club, ended_plan):
    card = club.member()["card_number"]
    earn(club, card, 300, 500)
    club.service(lambda s: s.points.carry_over(ended_plan))
    summary = club.service(lambda s: s.points.reverse_carry_over(ended_plan))
    assert summary == {"plan": ended_plan, "points": 300, "awards_voided": 1}
    assert club.view(card)["reward_points"] == 300
    again = club.service(lambda s: s.points.carry_over(ended_plan))  # and can run again
    assert again["points"] == 300 and club.view(card)["reward_points"] == 0
    assert club.check() == []


def test_a_paid_award_blocks_reversing_the_carry_over(club, ended_plan):
    card = club.member()["card_number"]
    earn(club, card, 300, 500)
    club.service(lambda s: s.points.carry_over(ended_plan))
    award = club.service(lambda s: s.points.awards())[0]
    club.service(lambda s: s.points.pay_awards([award["id"]]))
    with pytest.raises(Conflict, match="paid"):
        club.service(lambda s: s.points.reverse_carry_over(ended_plan))


def test_carry_over_into_the_next_plan_moves_the_points(club):
    club.service(lambda s: s.plans.add("前期", starts_on=TODAY - timedelta(days=800), ends_on=TODAY - timedelta(days=401),
                                      carry_to="当期"))
    card = club.member()["card_number"]
    earn(club, card, 120, 500)
    club.service(lambda s: s.points.carry_over("前期"))
    member_id = club.view(card)["id"]
    entries = club.service(lambda s: s.ledger.entries(member_id))
    moved = [e for e in entries if e["source"] == "carryover_in"]
    assert len(moved) == 1 and moved[0]["points"] == 120
    assert club.view(card)["reward_points"] == 120


def test_carry_over_waits_for_the_plan_to_end(club):
    with pytest.raises(Conflict, match="runs until"):
        club.service(lambda s: s.points.carry_over("当期"))


def test_carry_over_runs_once(club, ended_plan):
    club.service(lambda s: s.points.carry_over(ended_plan))
    with pytest.raises(Conflict, match="already"):
        club.service(lambda s: s.points.carry_over(ended_plan))

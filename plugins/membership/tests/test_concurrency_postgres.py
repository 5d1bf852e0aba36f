"""Races that only a real server shows: run on PostgreSQL
(CRM_TEST_DATABASE_URL), skipped on SQLite."""

from __future__ import annotations

import os
import threading

import pytest

from crmcore import Conflict

pytestmark = pytest.mark.skipif(not (os.environ.get("CRM_TEST_DATABASE_URL") or "").startswith("postgresql"),
                                reason="needs PostgreSQL (CRM_TEST_DATABASE_URL)")


def race(crm, n, work):
    """Run ``work(uow)`` in n threads, each its own unit of work, started together."""
    barrier = threading.Barrier(n)
    outcomes: list[str] = []
    lock = threading.Lock()

    def run():
        barrier.wait()
        try:
            with crm.unit_of_work() as uow:
                work(uow.service("membership"))
            outcome = "ok"
        except Conflict as error:
            outcome = f"conflict: {error}"
        with lock:
            outcomes.append(outcome)

    threads = [threading.Thread(target=run) for _ in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


def test_concurrent_redemptions_never_take_a_balance_below_zero(club, crm):
    card = club.member()["card_number"]
    club.service(lambda s: s.points.add(card, 1000, reason="充值"))
    club.service(lambda s: s.redemption.add_reward("电影票", points=300))
    outcomes = race(crm, 8, lambda s: s.redemption.redeem(card, "电影票"))
    assert outcomes.count("ok") == 3, outcomes
    assert club.view(card)["reward_points"] == 100
    assert club.check() == []


def test_concurrent_redemptions_never_oversell_stock(club, crm):
    cards = [club.member()["card_number"] for _ in range(6)]
    for card in cards:
        club.service(lambda s, card=card: s.points.add(card, 500, reason="充值"))
    club.service(lambda s: s.redemption.add_reward("限量杯", points=100, stock=2))
    pending = list(cards)
    lock = threading.Lock()

    def take(service):
        with lock:
            card = pending.pop()
        service.redemption.redeem(card, "限量杯")

    outcomes = race(crm, 6, take)
    assert outcomes.count("ok") == 2, outcomes
    assert club.service(lambda s: s.redemption.reward("限量杯"))["stock"] == 0
    assert sum(club.view(c)["reward_points"] for c in cards) == 6 * 500 - 200
    assert club.check() == []


def test_the_same_key_posted_concurrently_posts_once(club, crm):
    card = club.member()["card_number"]
    outcomes = race(crm, 6, lambda s: s.points.add(card, 50, reason="活动", key="evt-race"))
    assert outcomes.count("ok") == 6, outcomes
    assert club.view(card)["reward_points"] == 50
    assert club.check() == []


def test_concurrent_confirmations_of_one_purchase_post_once(club, crm, make):
    member = club.member()
    activity = make.activity(member["customer_id"], "purchase", amount="700")
    outcomes = race(crm, 5, lambda s: s.points.confirm([activity.id]))
    assert club.view(member["card_number"])["reward_points"] == 700, outcomes
    assert club.check() == []

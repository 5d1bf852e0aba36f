"""A year of a club in one run: every point stays accounted for."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from crmcore import Conflict

TODAY = datetime.now(ZoneInfo("Asia/Shanghai")).date()


def test_every_point_is_accounted_for_after_a_busy_year(make_club, crm, make):
    rng = random.Random(5)
    club = make_club(validity_months=6)
    club.service(lambda s: s.plans.add("上期", starts_on=TODAY - timedelta(days=800), ends_on=TODAY - timedelta(days=401),
                                      carry_min_points=200))
    members = [club.member(tier=rng.choice(["银卡", "金卡"])) for _ in range(40)]
    purchases = []
    for member in members:
        for _ in range(rng.randint(1, 4)):
            purchases.append(make.activity(member["customer_id"], "purchase", amount=str(rng.randint(50, 3000))))
    club.service(lambda s: s.points.confirm([a.id for a in purchases if rng.random() < 0.8]))
    for member in members:
        days_ago = rng.choice([500, 420, 300, 200, 30])
        club.service(lambda s, m=member, d=days_ago: s.points.add(m["card_number"], rng.randint(50, 400), reason="历史积分",
                                                                effective_on=TODAY - timedelta(days=d)))
    with crm.unit_of_work() as uow:
        for activity in rng.sample(purchases, 15):
            uow.activities.cancel(activity.id)
    club.service(lambda s: s.redemption.add_reward("礼品", points=150, stock=30))
    redemptions = []
    for member in rng.sample(members, 25):
        try:
            redemptions.append(club.service(lambda s, m=member: s.redemption.redeem(m["card_number"], "礼品")))
        except Conflict:
            pass
    for redemption in redemptions[:5]:
        club.service(lambda s, r=redemption: s.redemption.cancel(r["redemption"]))
    event = club.service(lambda s: s.events.add("年会", held_on=TODAY - timedelta(days=10), reward_points=120, upgrade_points=30))
    club.service(lambda s: s.events.attend(event["id"], [m["card_number"] for m in members[:20]]))
    club.service(lambda s: s.points.carry_over("上期"))
    club.service(lambda s: s.points.expire())
    club.service(lambda s: s.members.evaluate_tiers())
    for kept, other in zip(members[30:35], members[35:40]):
        with crm.unit_of_work() as uow:
            uow.customers.merge(kept["customer_id"], other["customer_id"])
    with crm.unit_of_work() as uow:
        for activity in purchases[-10:]:
            if not uow.activities.get(activity.id).cancelled:
                uow.activities.cancel(activity.id)
    club.service(lambda s: s.points.expire(as_of=TODAY + timedelta(days=90)))
    assert club.check() == []

    def replays(service):
        from crm_membership.tables import members as table
        from sqlalchemy import select

        ids = list(service.uow.execute(select(table.c.id)).scalars())
        return {kind: service.ledger.replay_many(ids, kind) for kind in ("reward", "upgrade")}, {
            m: service.ledger.balance(m) for m in ids}

    histories, balances = club.service(replays)
    for kind, by_member in histories.items():
        for member_id, history in by_member.items():
            assert history.uncovered == 0, (kind, member_id)
            assert history.balance == balances[member_id][kind], (kind, member_id)
    assert all(b["reward"] >= 0 and b["upgrade"] >= 0 for b in balances.values())

"""Demo data for `crm demo`: a club with tiers, two plans, members with
purchase points, events, rewards, merchants and a card pool."""

from __future__ import annotations

import random
from datetime import date
from typing import Any

from sqlalchemy import select

from crm_membership.common import local_today

TIERS = [("普卡", 10, "1.0", 0), ("银卡", 20, "1.2", 3000), ("金卡", 30, "1.5", 10000), ("钻石卡", 40, "2.0", 30000)]


def make_demo(uow: Any, customers: list[Any]) -> str:
    from crmcore.tables import activities

    service = uow.service("membership")
    rng = random.Random(11)
    today = local_today(uow)
    for name, level, multiplier, threshold in TIERS:
        service.tiers.add(name, level=level, multiplier=multiplier, upgrade_points=threshold,
                          benefits={"生日礼": "是"} if level >= 20 else {})
    service.tiers.add("员工卡", level=5, multiplier="1.0", manual_only=True, benefits={"员工价": "是"})
    year = today.year
    service.plans.add(str(year - 1), starts_on=date(year - 1, 1, 1), ends_on=date(year - 1, 12, 31), yuan_per_point="0.01",
                      validity_months=24, carry_min_points=1000)
    current = service.plans.add(str(year), starts_on=date(year, 1, 1), ends_on=date(year, 12, 31), yuan_per_point="0.01",
                                validity_months=24, carry_min_points=1000)
    for plan in (str(year - 1), str(year)):
        service.plans.set_rule(plan, "event", reward_points=100, upgrade_points=50)
        service.plans.set_rule(plan, "online_join", reward_points=200)
        service.plans.set_rule(plan, "referral", reward_points=300, upgrade_points=100)
    service.cards.pool_add("VIP", 6, 50)
    people = [c for c in customers if c.kind == "person"][:40]
    approved = []
    for index, customer in enumerate(people):
        app = service.members.apply(customer.id, channel=rng.choice(["counter", "counter", "web", "purchase"]))
        if index % 13 == 12:
            continue  # a few left pending for review
        tier = "钻石卡" if index == 0 else None
        approved.append(service.members.approve(app["id"], tier=tier, force=True))
    member_customers = {m["customer_id"] for m in approved}
    purchase_ids = list(uow.execute(select(activities.c.id).where(activities.c.type == "purchase",
                                                                  activities.c.customer_id.in_(member_customers))).scalars())
    service.points.purchases_imported(purchase_ids)
    service.points.confirm(all_pending=True)
    event = service.events.add("会员答谢会", held_on=today, location="上海展览中心")
    service.events.invite(event["id"], min_points=0)
    attendees = [m["card_number"] for m in approved[: len(approved) // 2]]
    service.events.attend(event["id"], attendees)
    service.redemption.add_reward("电影票", points=300, stock=100)
    service.redemption.add_reward("购物卡100元", points=10000, kind="cash", cash_value="100", stock=20)
    rich = [m for m in (service.members.view(m["id"]) for m in approved) if m["reward_points"] >= 300][:3]
    for member in rich:
        service.redemption.redeem(member["card_number"], "电影票")
    merchant = service.merchants.add("星光影城", category="娱乐", status="active")
    service.merchants.add_offer(merchant["id"], "会员观影8折")
    service.merchants.add_offer(merchant["id"], "金卡会员免费爆米花", min_tier="金卡")
    service.merchants.add_note(merchant["id"], "会员反馈服务好", rating=5)
    service.merchants.add("湖畔咖啡", category="餐饮")
    service.events.link_merchant(event["id"], "星光影城", role="赞助")
    _grant_demo_roles(uow)
    card = approved[0]["card_number"]
    return (f"membership: {len(approved)} members in {len(TIERS)} tiers, plan {current['name']}, {len(purchase_ids)} purchases "
            f"earning points, 1 event, 2 rewards, 2 merchants — try: crm membership show {card}")


DEMO_GRANTS = {
    "sales": ("membership.view", "membership.apply", "membership.redeem"),
    "service": ("membership.view", "membership.apply", "membership.cards", "membership.redeem", "membership.points"),
    "manager": ("membership.view", "membership.apply", "membership.approve", "membership.cards", "membership.tier",
                "membership.points", "membership.adjust", "membership.redeem"),
    "marketing": ("membership.view", "membership.care", "membership.manage"),
}


def _grant_demo_roles(uow: Any) -> None:
    """Give the core demo's roles the membership permissions their jobs need."""
    for role, permissions in DEMO_GRANTS.items():
        if uow.roles.find(role) is None:
            continue
        for permission in permissions:
            uow.roles.grant(role, permission)

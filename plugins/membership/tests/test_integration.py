"""Integration with the core: panel, merge, enablement, segments, demo, reports."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from crmcore import hookimpl


def test_customer_show_has_the_membership_panel(club, cli):
    member = club.member()
    club.service(lambda s: s.points.add(member["card_number"], 120, reason="开卡礼"))
    shown = cli("customer", "show", str(member["customer_id"]), json=True).json
    panel = shown["panels"]["membership"] if "panels" in shown else shown["membership"]
    assert panel["card_number"] == member["card_number"] and panel["reward_points"] == 120
    assert panel["entries"][0]["reason"] == "开卡礼"
    text = cli("customer", "show", str(member["customer_id"])).stdout
    assert "奖励积分 120" in text


def test_merging_two_members_combines_balances_keeps_one_card_and_cancels_the_other(club, crm, make):
    kept, other = club.member(), club.member(tier="金卡")
    club.service(lambda s: s.points.add(kept["card_number"], 100, reason="r"))
    club.service(lambda s: s.points.add(other["card_number"], 250, reason="r"))
    club.service(lambda s: s.points.add(other["card_number"], 40, kind="upgrade", reason="r"))
    pending_purchase = make.activity(other["customer_id"], "purchase", amount="60")
    with crm.unit_of_work() as uow:
        uow.customers.merge(kept["customer_id"], other["customer_id"])
    view = club.view(kept["card_number"])
    assert (view["reward_points"], view["upgrade_points"], view["pending_points"], view["tier"]) == (350, 40, 90, "金卡")
    with crm.unit_of_work() as uow:
        service = uow.service("membership")
        old = service.members.view(other["id"])
        sources = sorted(e["source"] for e in service.ledger.entries(other["id"]))
    assert (old["status"], old["card_status"], old["reward_points"], old["customer_id"]) == ("cancelled", "cancelled", 0, kept["customer_id"])
    assert sources.count("merge_out") == 2
    club.service(lambda s: s.points.confirm([pending_purchase.id]))
    assert club.view(kept["card_number"])["reward_points"] == 440
    assert club.check() == []


def test_merging_into_a_non_member_moves_the_membership(club, crm, make):
    plain = make.customer()
    member = club.member()
    with crm.unit_of_work() as uow:
        uow.customers.merge(plain.id, member["customer_id"])
    view = club.view(member["card_number"])
    assert view["customer_id"] == plain.id and view["status"] == "active"


def test_a_department_with_the_plugin_disabled_cannot_use_it(club, crm, cli, as_user):
    user = as_user("beijing", permissions=["customers.view", "membership.view"], department="北京分公司")
    with crm.unit_of_work() as uow:
        uow.plugin_settings.set("membership", False, department_id=uow.departments.find("北京分公司").id)
    result = cli("membership", "tier", "list", as_=user)
    assert result.exit_code == 1 and "disabled" in result.stderr


def test_segment_criteria_are_offered_to_campaigns(club, crm, register_plugin):
    import pluggy
    from sqlalchemy import select

    from crmcore.tables import customers

    spec = pluggy.HookspecMarker("crm")

    class CampaignsSpecs:
        @spec
        def crm_campaigns_segment_criteria(self, register):
            """Declared by campaigns."""

    if crm.plugins.pm.hook.crm_campaigns_segment_criteria.spec is None:
        crm.plugins.pm.add_hookspecs(CampaignsSpecs)
    found = {}
    crm.plugins.pm.hook.crm_campaigns_segment_criteria(register=lambda name, label, build, value_type="text": found.update({name: (build, value_type)}))
    assert {"membership.tier", "membership.points", "membership.status"} <= set(found)
    gold = club.member(tier="金卡")
    silver = club.member()
    club.service(lambda s: s.points.add(silver["card_number"], 500, reason="r"))
    club.service(lambda s: s.cards.report_lost(gold["card_number"]))

    def ids(name, op, value):
        with crm.unit_of_work() as uow:
            return sorted(uow.execute(select(customers.c.id).where(found[name][0](op, value))).scalars())

    assert ids("membership.tier", "eq", "金卡") == [gold["customer_id"]]
    assert ids("membership.points", "gte", 100) == [silver["customer_id"]]
    assert ids("membership.points", "between", [0, 10]) == [gold["customer_id"]]
    assert ids("membership.status", "eq", "lost") == [gold["customer_id"]]
    assert ids("membership.status", "eq", "active") == [silver["customer_id"]]
    from crmcore import ValidationError

    with pytest.raises(ValidationError, match="criteria:"):
        found["membership.tier"][0]("gt", "金卡")


def test_demo_data_makes_a_working_club(crm, cli):
    result = cli("demo")
    assert result.exit_code == 0, result
    assert "membership:" in result.stdout and "crm membership show" in result.stdout
    checked = cli("membership", "check", json=True)
    assert checked.exit_code == 0 and checked.json["members"] > 30
    tiers = cli("membership", "report", "tiers", json=True).json
    assert sum(row["members"] for row in tiers) == checked.json["members"]


def test_points_report_counts_earned_redeemed_and_expired_per_plan_and_month(club, cli):
    card = club.member()["card_number"]
    club.service(lambda s: s.points.add(card, 500, reason="r"))
    club.service(lambda s: s.redemption.add_reward("杯子", points=200))
    club.service(lambda s: s.redemption.redeem(card, "杯子"))
    rows = cli("membership", "report", "points", json=True).json
    month = datetime.now(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m")
    assert rows == [{"plan": "当期", "month": month, "earned": 500, "redeemed": 200, "expired": 0, "carried_over": 0, "reversed": 0,
                     "deducted": 0, "net": 300}]


def test_top_members_are_ordered_by_points(club, cli):
    cards = [club.member()["card_number"] for _ in range(3)]
    for card, points in zip(cards, (10, 30, 20)):
        club.service(lambda s, card=card, points=points: s.points.add(card, points, reason="r"))
    rows = cli("membership", "report", "top", "--limit", "2", json=True).json
    assert [r["card_number"] for r in rows] == [cards[1], cards[2]]


def test_chinese_text_round_trips_through_the_cli(club, cli):
    cli("membership", "reward", "add", "端午节粽子礼盒", "--points", "100")
    rows = cli("membership", "reward", "list", json=True).json
    assert rows[0]["name"] == "端午节粽子礼盒"
    assert "端午节粽子礼盒" in cli("membership", "reward", "list").stdout


def test_cancelling_a_purchase_after_a_merge_takes_the_points_back_from_the_kept_card(club, crm, make):
    kept, other = club.member(), club.member()
    activity = make.activity(other["customer_id"], "purchase", amount="300")
    club.service(lambda s: s.points.confirm([activity.id]))
    with crm.unit_of_work() as uow:
        uow.customers.merge(kept["customer_id"], other["customer_id"])
    assert club.view(kept["card_number"])["reward_points"] == 300
    with crm.unit_of_work() as uow:
        uow.activities.cancel(activity.id)
    view = club.view(kept["card_number"])
    assert (view["reward_points"], view["upgrade_points"]) == (0, 0)
    assert club.check() == []


def test_cancelling_a_redemption_after_a_merge_refunds_the_kept_card(club, crm):
    kept, other = club.member(), club.member()
    club.service(lambda s: s.points.add(other["card_number"], 500, reason="r"))
    club.service(lambda s: s.redemption.add_reward("杯子", points=200))
    redemption = club.service(lambda s: s.redemption.redeem(other["card_number"], "杯子"))
    with crm.unit_of_work() as uow:
        uow.customers.merge(kept["customer_id"], other["customer_id"])
    result = club.service(lambda s: s.redemption.cancel(redemption["redemption"]))
    assert (result["card_number"], result["reward_points"]) == (kept["card_number"], 500)
    assert club.view(other["card_number"])["reward_points"] == 0
    assert club.check() == []

"""Tiers: automatic upgrade and downgrade, manual changes with reasons."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from crmcore import Conflict


def test_upgrade_points_reaching_a_threshold_upgrade_at_once(club, make, crm):
    member = club.consent(club.member(phones=["13911112222"]), "sms")
    activity = make.activity(member["customer_id"], "purchase", amount="5000")
    club.service(lambda s: s.points.confirm([activity.id]))
    assert club.view(member["card_number"])["tier"] == "金卡"
    history = club.service(lambda s: s.members.tier_history(member["id"]))
    assert [(h["from"], h["to"], h["kind"]) for h in history][-1] == ("银卡", "金卡", "upgrade")
    with crm.unit_of_work() as uow:
        messages = uow.outbox.list()
    assert [(m.channel, m.recipient) for m in messages] == [("sms", "13911112222")] and "金卡" in messages[0].subject


def test_evaluation_downgrades_when_the_window_no_longer_holds_enough_points(club, cli):
    card = club.member()["card_number"]
    club.service(lambda s: s.points.add(card, 6000, kind="upgrade", reason="r"))
    assert club.view(card)["tier"] == "金卡"
    later = (date.today() + timedelta(days=400)).isoformat()
    result = cli("membership", "tier", "evaluate", "--as-of", later, json=True)
    assert [(c["card_number"], c["from"], c["to"], c["kind"]) for c in result.json] == [(card, "金卡", "银卡", "downgrade")]


def test_a_manual_tier_change_keeps_its_reason(club, cli):
    card = club.member()["card_number"]
    result = cli("membership", "tier", "set", card, "金卡", "--reason", "大客户特批", json=True)
    assert result.json["tier"] == "金卡"
    history = cli("membership", "tier", "history", card, json=True).json
    assert (history[-1]["kind"], history[-1]["reason"]) == ("manual", "大客户特批")


def test_a_locked_manual_tier_is_left_alone_by_the_evaluation(club):
    card = club.member()["card_number"]
    until = date.today() + timedelta(days=30)
    club.service(lambda s: s.members.set_tier(card, "金卡", "特批", lock_until=until))
    assert club.service(lambda s: s.members.evaluate_tiers()) == []
    later = club.service(lambda s: s.members.evaluate_tiers(until + timedelta(days=1)))
    assert [c["to"] for c in later] == ["银卡"]


def test_manual_only_tiers_are_never_changed_automatically(club):
    club.service(lambda s: s.tiers.add("员工卡", level=5, manual_only=True))
    card = club.member(tier="员工卡")["card_number"]
    club.service(lambda s: s.points.add(card, 9000, kind="upgrade", reason="r"))
    assert club.view(card)["tier"] == "员工卡"
    assert club.service(lambda s: s.members.evaluate_tiers()) == []


def test_setting_the_same_tier_again_is_refused(club):
    card = club.member()["card_number"]
    with pytest.raises(Conflict, match="already"):
        club.service(lambda s: s.members.set_tier(card, "银卡", "r"))


def test_tiers_and_plans_load_from_toml(crm, cli, tmp_path):
    path = tmp_path / "club.toml"
    path.write_text('''
[[tier]]
name = "普卡"
level = 10

[[tier]]
name = "钻石卡"
level = 40
multiplier = 2.0
upgrade_points = 30000
benefits = { "机场贵宾厅" = "是" }

[[plan]]
name = "2027"
from = 2027-01-01
to = 2027-12-31
yuan_per_point = 0.01
validity_months = 24
[plan.rules.purchase]
reward_rate = 2
upgrade_rate = 1
multiplier = true
[plan.rules.event]
reward_points = 100
''', encoding="utf-8")
    result = cli("membership", "plan", "load", str(path), json=True)
    assert result.exit_code == 0, result
    assert result.json == {"tiers": 2, "plans": 1, "rules": 2}
    tiers = cli("membership", "tier", "list", json=True).json
    assert [(t["name"], t["benefits"]) for t in tiers] == [("普卡", {}), ("钻石卡", {"机场贵宾厅": "是"})]
    plan = cli("membership", "plan", "show", "2027", json=True).json
    assert {r["source"]: (r["reward_rate"], r["reward_points"]) for r in plan["rules"]} == {"purchase": ("2.0000", 0), "event": ("0.0000", 100)}

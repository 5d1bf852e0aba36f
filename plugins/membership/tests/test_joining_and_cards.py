"""Joining (入会) and cards (会员卡号)."""

from __future__ import annotations

import pytest

from crmcore import Conflict


def apply_for(club, customer, **options):
    return club.service(lambda s: s.members.apply(customer.id, **options))


def test_an_application_missing_a_key_field_is_flagged(club, make):
    customer = make.customer(phones=[])
    app = club.service(lambda s: s.members.apply(customer.id))
    assert app["flags"] == ["missing: phone"]


def test_applications_with_the_same_phone_are_flagged_as_duplicates(club, make):
    first = apply_for(club, make.customer(phones=["13900001111"]))
    second = club.service(lambda s: s.members.apply(name="李娜", phone="139-0000-1111", channel="web"))
    assert second["flags"] == [f"duplicate: application {first['id']} (pending) has the same phone"]


def test_applications_with_the_same_id_number_are_flagged(club, make):
    apply_for(club, make.customer(), id_number="310101199001011234")
    second = apply_for(club, make.customer(), id_number="310101199001011234")
    assert any("same ID" in flag for flag in second["flags"])


def test_a_flagged_duplicate_is_approved_only_with_force(club, make):
    apply_for(club, make.customer(phones=["13900002222"]))
    second = apply_for(club, make.customer(phones=["13900002222"]))
    with pytest.raises(Conflict, match="--force"):
        club.service(lambda s: s.members.approve(second["id"]))
    assert club.service(lambda s: s.members.approve(second["id"], force=True))["status"] == "active"


def test_approval_assigns_a_card_and_the_initial_tier(club, make, crm):
    app = apply_for(club, make.customer())
    view = club.service(lambda s: s.members.approve(app["id"]))
    assert view["card_number"] == "M00000001" and view["tier"] == "银卡"
    history = club.service(lambda s: s.members.tier_history(view["id"]))
    assert [(h["from"], h["to"], h["kind"]) for h in history] == [(None, "银卡", "initial")]


def test_a_customer_cannot_be_a_member_twice(club, make):
    customer = make.customer()
    club.service(lambda s: s.members.join(customer.id))
    app = club.service(lambda s: s.members.apply(customer.id))
    with pytest.raises(Conflict, match="already a member"):
        club.service(lambda s: s.members.approve(app["id"], force=True))


def test_rejection_records_the_reason(club, make, cli):
    app = apply_for(club, make.customer())
    result = cli("membership", "reject", str(app["id"]), "--reason", "资料不实", json=True)
    assert result.json["status"] == "rejected" and result.json["reject_reason"] == "资料不实"


def test_bulk_approval_takes_clean_applications_and_skips_flagged_ones(club, make, cli):
    clean = [apply_for(club, make.customer()) for _ in range(3)]
    flagged = apply_for(club, make.customer(phones=[]))
    result = cli("membership", "approve", "--all", json=True)
    assert [v["customer_id"] for v in result.json["approved"]] == [a["customer_id"] for a in clean]
    assert result.json["skipped"] == [{"application": flagged["id"], "reason": "missing: phone"}]


def test_an_application_can_bring_a_new_customer(club, cli):
    result = cli("membership", "apply", "--name", "王芳", "--phone", "13700001234", "--channel", "web", json=True)
    assert result.exit_code == 0 and result.json["name"] == "王芳" and result.json["phone"] == "13700001234"


def test_joining_online_and_referring_earn_the_plans_points(club, make):
    club.service(lambda s: s.plans.set_rule("当期", "online_join", reward_points=200))
    club.service(lambda s: s.plans.set_rule("当期", "referral", reward_points=300, upgrade_points=100))
    referrer = club.member()
    app = apply_for(club, make.customer(), channel="web", referrer=referrer["card_number"])
    joined = club.service(lambda s: s.members.approve(app["id"]))
    assert joined["reward_points"] == 200
    view = club.view(referrer["card_number"])
    assert (view["reward_points"], view["upgrade_points"]) == (300, 100)


def test_pattern_numbers_are_unique_and_sequential(club, cli):
    cli("membership", "settings", "card_pattern", "HY{year}{seq:04d}")
    cards = [club.member()["card_number"] for _ in range(2)]
    from datetime import datetime
    from zoneinfo import ZoneInfo

    year = datetime.now(ZoneInfo("Asia/Shanghai")).year
    assert cards == [f"HY{year}0001", f"HY{year}0002"]


def test_pool_numbers_are_used_in_order_and_an_empty_pool_refuses(club, cli):
    assert cli("membership", "card", "pool", "add", "--prefix", "VIP", "--width", "4", "--count", "2").exit_code == 0
    cli("membership", "settings", "card_mode", "pool")
    assert [club.member()["card_number"] for _ in range(2)] == ["VIP0001", "VIP0002"]
    with pytest.raises(Conflict, match="pool is empty"):
        club.member()
    more = cli("membership", "card", "pool", "add", "--prefix", "VIP", "--width", "4", "--count", "1", json=True).json
    assert more["first"] == "VIP0003"


def test_a_special_number_can_be_given_on_approval(club, make, cli):
    cli("membership", "card", "pool", "special", "888888")
    app = apply_for(club, make.customer())
    assert cli("membership", "approve", str(app["id"]), "--card", "888888", json=True).json["card_number"] == "888888"


def test_a_replaced_number_is_never_given_again(club, make):
    member = club.member()
    old = member["card_number"]
    replaced = club.service(lambda s: s.cards.replace(old, reason="磨损"))
    assert replaced["card_number"] != old
    app = apply_for(club, make.customer())
    with pytest.raises(Conflict, match="never reused"):
        club.service(lambda s: s.members.approve(app["id"], card=old))


def test_replacing_a_card_keeps_the_member_and_balances(club, cli):
    card = club.member()["card_number"]
    club.service(lambda s: s.points.add(card, 250, reason="r"))
    result = cli("membership", "card", "replace", card, "--new", "NEW-001", json=True)
    assert result.json["card_number"] == "NEW-001" and result.json["reward_points"] == 250
    old = cli("membership", "show", card)
    assert old.exit_code == 1 and "replaced by NEW-001" in old.stderr


def test_a_lost_card_blocks_earning_until_unblocked(club, make, cli):
    member = club.member()
    card = member["card_number"]
    cli("membership", "card", "lost", card)
    make.activity(member["customer_id"], "purchase", amount="500")
    refused = cli("membership", "points", "add", card, "--points", "10", "--reason", "r")
    assert refused.exit_code == 1 and "reported lost" in refused.stderr
    assert club.view(card)["pending_points"] == 0
    cli("membership", "card", "unblock", card)
    make.activity(member["customer_id"], "purchase", amount="500")
    assert club.view(card)["pending_points"] == 500


def test_cancelling_a_membership_retires_the_card(club, cli):
    card = club.member()["card_number"]
    result = cli("membership", "cancel", card, "--reason", "客户要求", json=True)
    assert result.json["status"] == "cancelled" and result.json["card_status"] == "cancelled"
    refused = cli("membership", "redeem", card, "x")
    assert refused.exit_code == 1


def test_a_non_members_purchase_can_file_an_application(club, make, cli):
    cli("membership", "settings", "apply_on_purchase", "yes")
    customer = make.customer()
    make.activity(customer.id, "purchase", amount="100")
    make.activity(customer.id, "purchase", amount="200")
    apps = cli("membership", "applications", json=True).json
    assert [(a["customer_id"], a["channel"]) for a in apps] == [(customer.id, "purchase")]


def test_a_bad_setting_is_refused_with_its_name(club, cli):
    result = cli("membership", "settings", "card_mode", "random")
    assert result.exit_code == 1 and "card_mode:" in result.stderr
    result = cli("membership", "settings", "card_pattern", "M{number}")
    assert result.exit_code == 1 and "card_pattern:" in result.stderr


def test_members_are_seen_only_within_the_users_department(club, crm, cli, as_user):
    shanghai = as_user("sh", permissions=["customers.view", "customers.edit", "membership.view"], department="上海分公司")
    beijing = as_user("bj", permissions=["customers.view", "customers.edit", "membership.view"], department="北京分公司")
    mine = club.member(actor=shanghai)["card_number"]
    club.member(actor=beijing)
    assert [m["card_number"] for m in cli("membership", "list", as_=shanghai, json=True).json] == [mine]
    assert cli("membership", "show", mine, as_=beijing).exit_code == 1

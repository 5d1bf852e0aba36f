"""Member events, alliance merchants and member care messages."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from crmcore import Conflict, ValidationError

TODAY = datetime.now(ZoneInfo("Asia/Shanghai")).date()  # the CRM's zone


def test_invitations_come_from_a_member_query(club, cli):
    gold = club.member(tier="金卡")["card_number"]
    club.member()
    event = cli("membership", "event", "add", "答谢会", "--on", TODAY.isoformat(), "--points", "100", json=True).json
    result = cli("membership", "event", "invite", str(event["id"]), "--tier", "金卡", json=True).json
    assert (result["invited"], result["already"]) == (1, 0)
    again = cli("membership", "event", "invite", str(event["id"]), "--card", gold, json=True).json
    assert (again["invited"], again["already"]) == (0, 1)


def test_attendance_earns_the_event_points_once(club, cli):
    cards = [club.member()["card_number"] for _ in range(2)]
    event = club.service(lambda s: s.events.add("植树节", held_on=TODAY, reward_points=100, upgrade_points=20))
    cli("membership", "event", "attend", str(event["id"]), *cards)
    cli("membership", "event", "attend", str(event["id"]), cards[0])
    assert [club.view(c)["reward_points"] for c in cards] == [100, 100]
    assert club.view(cards[0])["upgrade_points"] == 20


def test_an_event_without_points_uses_the_plans_event_rule(club):
    club.service(lambda s: s.plans.set_rule("当期", "event", reward_points=80))
    event = club.service(lambda s: s.events.add("联欢会", held_on=TODAY))
    assert event["reward_points"] == 80


def test_a_full_event_refuses_registrations(club):
    cards = [club.member()["card_number"] for _ in range(2)]
    event = club.service(lambda s: s.events.add("小型沙龙", held_on=TODAY, reward_points=0, capacity=1))
    club.service(lambda s: s.events.register(event["id"], cards[0]))
    with pytest.raises(Conflict, match="full"):
        club.service(lambda s: s.events.register(event["id"], cards[1]))


def test_event_statistics_count_invited_registered_attended_and_points(club, cli):
    cards = [club.member()["card_number"] for _ in range(3)]
    event = club.service(lambda s: s.events.add("答谢会", held_on=TODAY, reward_points=50))
    club.service(lambda s: s.events.invite(event["id"], cards=cards))
    club.service(lambda s: s.events.register(event["id"], cards[0]))
    club.service(lambda s: s.events.attend(event["id"], cards[:2]))
    club.service(lambda s: s.merchants.add("星光影城", status="active"))
    club.service(lambda s: s.events.link_merchant(event["id"], "星光影城", "赞助"))
    stats = cli("membership", "event", "stats", str(event["id"]), json=True).json[0]
    assert {k: stats[k] for k in ("invited", "registered", "attended", "attendance_rate", "points", "merchants")} == {
        "invited": 3, "registered": 1, "attended": 2, "attendance_rate": "67%", "points": 100, "merchants": 1}


def test_a_merchant_moves_from_applying_to_active_to_terminated(club, cli):
    cli("membership", "merchant", "add", "湖畔咖啡", "--category", "餐饮")
    assert cli("membership", "merchant", "status", "湖畔咖啡", "active", json=True).json["status"] == "active"
    assert cli("membership", "merchant", "status", "湖畔咖啡", "terminated", json=True).json["status"] == "terminated"
    refused = cli("membership", "merchant", "status", "湖畔咖啡", "applying")
    assert refused.exit_code == 1 and "cannot become applying" in refused.stderr


def test_a_merchant_shows_offers_contacts_reputation_and_events(club, cli):
    cli("membership", "merchant", "add", "星光影城", "--status", "active")
    cli("membership", "merchant", "offer", "星光影城", "观影8折")
    cli("membership", "merchant", "offer", "星光影城", "免费爆米花", "--min-tier", "金卡")
    cli("membership", "merchant", "contact", "星光影城", "赵经理", "--phone", "021-55550000")
    cli("membership", "merchant", "note", "星光影城", "服务好", "--rating", "5")
    cli("membership", "merchant", "note", "星光影城", "排队久", "--rating", "3")
    event = club.service(lambda s: s.events.add("观影会", held_on=TODAY, reward_points=0))
    cli("membership", "event", "merchant", str(event["id"]), "星光影城")
    shown = cli("membership", "merchant", "show", "星光影城", json=True).json
    assert shown["rating"] == 4.0 and len(shown["offers"]) == 2 and shown["contacts"][0]["name"] == "赵经理"
    assert [e["name"] for e in shown["events"]] == ["观影会"]
    silver_offers = club.service(lambda s: s.merchants.offers_for(10))
    assert [o["description"] for o in silver_offers] == ["观影8折"]


def test_birthday_messages_go_into_the_outbox_once_per_year(club, crm, cli):
    club.consent(club.member(birthday=TODAY.replace(year=1990).isoformat(), phones=["13800001111"]))
    club.consent(club.member(birthday="1990-01-01" if TODAY.strftime("%m-%d") != "01-01" else "1990-02-02"))
    first = cli("membership", "care", "send", "birthday", json=True).json
    again = cli("membership", "care", "send", "birthday", json=True).json
    assert (first["selected"], first["queued"], again["queued"], again["already_sent"]) == (1, 1, 0, 1)
    with crm.unit_of_work() as uow:
        message = uow.outbox.list()[0]
    assert message.recipient == "13800001111" and "生日快乐" in message.subject
    assert message.dedupe_key.endswith(f":birthday:{TODAY.year}")


def test_holiday_messages_need_an_occasion_and_render_in_english(club, crm, cli):
    club.consent(club.member(emails=["li@example.com"]))
    missing = cli("membership", "care", "send", "holiday")
    assert missing.exit_code == 1 and "occasion:" in missing.stderr
    result = cli("membership", "care", "send", "holiday", "--occasion", "Spring Festival 2027", "--lang", "en", "--channel", "email", json=True)
    assert result.json["queued"] == 1
    with crm.unit_of_work() as uow:
        message = uow.outbox.list()[0]
    assert message.channel == "email" and message.subject == "Season's greetings: Spring Festival 2027"


def test_do_not_contact_members_and_missing_addresses_are_skipped(club, cli):
    club.member(do_not_contact=True)
    club.member(emails=[])
    result = cli("membership", "care", "send", "holiday", "--occasion", "中秋", "--channel", "email", json=True).json
    assert (result["queued"], result["do_not_contact"], result["no_address"]) == (0, 1, 1)


def test_event_invitations_go_to_the_invitees(club, cli, crm):
    cards = [club.consent(club.member())["card_number"] for _ in range(2)]
    event = club.service(lambda s: s.events.add("新春联欢", held_on=TODAY, location="会所", reward_points=50))
    club.service(lambda s: s.events.invite(event["id"], cards=cards[:1]))
    result = cli("membership", "care", "send", "event_invitation", "--event", str(event["id"]), json=True).json
    assert result["queued"] == 1
    with crm.unit_of_work() as uow:
        assert "新春联欢" in uow.outbox.list()[0].subject


def test_points_expiring_messages_name_the_points_and_date(make_club, crm, cli):
    from datetime import timedelta

    club = make_club(validity_months=12)
    card = club.member()["card_number"]
    club.service(lambda s: s.points.add(card, 90, reason="r", effective_on=TODAY - timedelta(days=350)))
    result = cli("membership", "care", "send", "points_expiring", "--days", "30", json=True).json
    assert result["queued"] == 1
    with crm.unit_of_work() as uow:
        assert "90" in uow.outbox.list()[0].subject


def test_an_unknown_template_is_a_usage_error(club, cli):
    assert cli("membership", "care", "send", "spam").exit_code == 2

"""A member's data: export, erasure that leaves no trace while every balance
and count stays, consent for care messages, and the retention rule."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import JSON, String, Text, func, inspect, select

from crmcore.privacy import ERASED, apply_retention, erase_person, export_person

from crm_membership.tables import applications, balances, event_members, ledger, members, merchant_contacts, redemptions

NAME, PHONE, EMAIL, ID_NUMBER = "欧阳清扬", "13912345678", "ouyang.qy@example.com", "310101198803051234"
OTHER_PHONE, OTHER_EMAIL = "13911112222", "old.ouyang@example.com"


def text_and_json_values(crm):
    """Every value of every text or JSON column of every table, as stored."""
    found = []
    with crm.engine.connect() as connection:
        for table_name in inspect(connection).get_table_names():
            columns = [c["name"] for c in inspect(connection).get_columns(table_name)
                       if isinstance(c["type"], (String, Text, JSON)) or any(t in str(c["type"]).upper() for t in ("JSON", "CHAR", "TEXT"))]
            for column in columns:
                for (value,) in connection.exec_driver_sql(f'SELECT CAST("{column}" AS TEXT) FROM "{table_name}"'):
                    if value is not None:
                        found.append((table_name, column, value))
    return found


def forms(value):
    return {value, json.dumps(value)[1:-1]}


def totals(crm):
    """What reports and `membership check` count: sums and counts."""
    with crm.engine.connect() as connection:
        return {
            "ledger": tuple(connection.execute(select(func.count(), func.sum(ledger.c.points))).one()),
            "balances": tuple(connection.execute(select(func.sum(balances.c.reward), func.sum(balances.c.upgrade))).one()),
            "redemptions": tuple(connection.execute(select(func.count(), func.sum(redemptions.c.points))).one()),
            "attended": connection.execute(select(func.count(event_members.c.attended_at))).scalar_one(),
            "applications": connection.execute(select(func.count()).select_from(applications)).scalar_one(),
        }


@pytest.fixture
def person(club, crm, make):
    """A member with everything the plugin can hold about a person."""
    customer = make.customer(name=NAME, phones=[PHONE], emails=[EMAIL], birthday="1988-03-05")
    with crm.unit_of_work() as uow:
        uow.consents.grant(customer.id, "marketing", "sms", method="form")
        service = uow.service("membership")
        app = service.members.apply(customer.id, channel="counter", id_number=ID_NUMBER)
        member = service.members.approve(app["id"], tier="银卡")
    card = member["card_number"]
    purchase = make.activity(customer.id, "purchase", amount="1200", subject="购房定金")
    club.service(lambda s: s.points.confirm([purchase.id]))
    club.service(lambda s: s.points.add(card, 300, reason=f"{NAME} 生日补发 ({PHONE})"))
    club.service(lambda s: s.members.set_tier(card, "金卡", f"{NAME} 大客户特批"))
    club.service(lambda s: s.cards.report_lost(card, note=f"{NAME} 本人来电 {PHONE} 挂失"))
    club.service(lambda s: s.cards.unblock(card))
    club.service(lambda s: s.redemption.add_reward("电影票", points=100, stock=5))
    redemption = club.service(lambda s: s.redemption.redeem(card, "电影票"))
    club.service(lambda s: s.redemption.redeem(card, "电影票"))
    club.service(lambda s: s.redemption.cancel(redemption["redemption"], reason=f"{NAME} 改期"))
    event = club.service(lambda s: s.events.add("新春联欢", held_on=datetime.now().date(), reward_points=50))
    club.service(lambda s: s.events.invite(event["id"], cards=[card]))
    club.service(lambda s: s.events.register(event["id"], card))
    club.service(lambda s: s.events.attend(event["id"], [card]))
    club.service(lambda s: s.merchants.add("清扬茶庄", address="上海市黄浦区"))
    club.service(lambda s: s.merchants.add_contact("清扬茶庄", NAME, title="店主", phone="139-1234-5678", email=EMAIL.upper()))
    club.service(lambda s: s.merchants.add_note("清扬茶庄", f"店主{NAME}（{PHONE}）很配合", rating=5))
    with crm.unit_of_work() as uow:  # the rendered birthday greeting, in the core's outbox
        counts = uow.service("membership").care.send("birthday", cards=[card], channel="sms")
    assert counts["queued"] == 1
    # someone else's application, filed with the person's phone and e-mail
    other = make.customer(name="王芳", phones=["13800138000"])
    club.service(lambda s: s.members.apply(other.id, channel="web", phone=PHONE, email=EMAIL))
    return {"customer": customer, "card": card, "member_id": member["id"], "other": other}


def test_the_export_holds_every_membership_row_of_the_person(crm, person, tmp_path, cli):
    assert cli("privacy", "export", person["customer"].id, tmp_path / "p.json").exit_code == 0
    data = json.loads((tmp_path / "p.json").read_text(encoding="utf-8"))
    mine = data["plugins"]["membership"]
    assert [m["card_number"] for m in mine["membership_members"]] == [person["card"]]
    assert {(a["name"], a["id_number"]) for a in mine["membership_applications"]} == {(NAME, ID_NUMBER), ("王芳", None)}
    assert mine["membership_balances"][0]["reward"] == person_balance(crm, person)
    assert {e["source"] for e in mine["membership_ledger"]} >= {"purchase", "manual", "redemption", "redemption_cancelled", "event"}
    assert [r["status"] for r in mine["membership_redemptions"]] == ["cancelled", "done"]
    assert mine["membership_event_members"][0]["attended_at"] is not None
    assert [c["phone"] for c in mine["membership_merchant_contacts"]] == ["139-1234-5678"]
    assert {t["kind"] for t in mine["membership_tier_changes"]} >= {"initial", "manual"}
    assert mine["membership_cards"][0]["number"] == person["card"]
    assert "13800138000" not in json.dumps(mine, ensure_ascii=False)  # nobody else's data
    # the plugin's audit entries about the member carry customer_id, so the core's section has them
    assert {e["action"] for e in data["core"]["audit"] if e["entity"] == "membership_member"} >= {"create", "points", "tier", "card_lost", "redeem"}


def person_balance(crm, person):
    with crm.engine.connect() as connection:
        return connection.execute(select(balances.c.reward).where(balances.c.member_id == person["member_id"])).scalar_one()


def test_erasure_leaves_no_trace_and_keeps_every_number(crm, person, club, cli):
    before = totals(crm)
    balance = person_balance(crm, person)
    found = {t for t, c, v in text_and_json_values(crm) for s in (NAME, PHONE, EMAIL) for f in forms(s) if f in v}
    assert {"membership_applications", "membership_merchant_contacts", "membership_merchant_notes", "membership_ledger",
            "membership_tier_changes", "membership_redemptions", "outbox", "audit_log"} <= found

    result = cli("privacy", "erase", person["customer"].id, "--reason", "来电要求删除", "--yes")
    assert result.exit_code == 0, result

    secrets = [NAME, PHONE, EMAIL, EMAIL.upper(), ID_NUMBER, "139-1234-5678", "1988-03-05"]
    leftovers = [(t, c, v[:80]) for t, c, v in text_and_json_values(crm) for s in secrets for f in forms(s) if f in v]
    assert leftovers == []
    if crm.engine.dialect.name == "sqlite":
        path = Path(crm.engine.url.database)
        raw = b"".join(p.read_bytes() for p in (path, Path(f"{path}-wal")) if p.exists())
        assert [s for s in secrets for f in forms(s) if f.encode("utf-8") in raw] == []
    assert totals(crm) == before and person_balance(crm, person) == balance
    assert club.check() == []
    with crm.engine.connect() as connection:
        member = connection.execute(select(members).where(members.c.id == person["member_id"])).mappings().one()
        contact = connection.execute(select(merchant_contacts)).mappings().one()
        other_app = connection.execute(select(applications).where(applications.c.customer_id == person["other"].id)).mappings().one()
    assert (member["status"], member["cancel_reason"], member["card_number"]) == ("cancelled", ERASED, person["card"])
    assert (contact["name"], contact["phone"], contact["email"]) == (ERASED, None, None)
    assert (other_app["name"], other_app["phone"], other_app["email"]) == ("王芳", None, None)
    # reasons keep what is not the person's
    with crm.engine.connect() as connection:
        reasons = set(connection.execute(select(ledger.c.reason).where(ledger.c.member_id == person["member_id"])).scalars())
    assert f"{ERASED} 生日补发 ({ERASED})" in reasons and "新春联欢" in reasons


def test_erasure_through_the_api_twice_for_merged_records(crm, person, club, make):
    duplicate = make.customer(name=NAME, phones=[OTHER_PHONE], emails=[OTHER_EMAIL])
    club.service(lambda s: s.members.apply(duplicate.id, channel="web", id_number="310101198803059999"))
    with crm.unit_of_work() as uow:
        uow.customers.merge(person["customer"].id, duplicate.id)
    with crm.unit_of_work() as uow:
        erase_person(uow, person["customer"].id, "request")
    stored = json.dumps(text_and_json_values(crm), ensure_ascii=False)
    for secret in (NAME, PHONE, OTHER_PHONE, OTHER_EMAIL, "310101198803059999"):
        assert secret not in stored


def test_privacy_check_does_not_name_the_plugin(crm, cli):
    result = cli("privacy", "check")
    assert result.exit_code == 0, result
    assert [line for line in result.output.splitlines() if "membership" in line] == ["membership: ok"]


def test_care_messages_need_marketing_consent_but_expiry_notices_do_not(make_club, crm, cli):
    club = make_club(validity_months=12)
    consenting = club.consent(club.member(phones=["13800001111"]), "sms")
    silent = club.member(phones=["13800002222"])
    withdrawn = club.consent(club.member(phones=["13800003333"]), "sms")
    with crm.unit_of_work() as uow:
        uow.consents.withdraw(withdrawn["customer_id"], "marketing", "sms")
    result = cli("membership", "care", "send", "holiday", "--occasion", "中秋", json=True).json
    assert (result["queued"], result["no_consent"]) == (1, 2)
    with crm.unit_of_work() as uow:
        messages = uow.outbox.list()
    assert [(m.recipient, m.purpose) for m in messages] == [("13800001111", "marketing")]

    for member in (consenting, silent):
        club.service(lambda s, m=member: s.points.add(m["card_number"], 90, reason="r", effective_on=datetime.now().date() - timedelta(days=350)))
    result = cli("membership", "care", "send", "points_expiring", "--days", "30", json=True).json
    assert (result["queued"], result["no_consent"]) == (2, 0)
    with crm.unit_of_work() as uow:
        purposes = {m.recipient: m.purpose for m in uow.outbox.list() if "积分" in (m.subject or "")}
    assert purposes == {"13800001111": "service", "13800002222": "service"}


def test_an_upgrade_without_consent_queues_no_congratulation(club, make, crm):
    member = club.member(phones=["13800004444"])
    activity = make.activity(member["customer_id"], "purchase", amount="5000")
    club.service(lambda s: s.points.confirm([activity.id]))
    assert club.view(member["card_number"])["tier"] == "金卡"
    with crm.unit_of_work() as uow:
        assert uow.outbox.list() == []


def test_retention_clears_old_rejected_applications_once(club, crm, make):
    customer = make.customer(name="李雷", phones=["13700001111"], emails=["li.lei@example.com"])
    app = club.service(lambda s: s.members.apply(customer.id, channel="web", id_number="110101199001011234"))
    club.service(lambda s: s.members.reject(app["id"], "资料不全，李雷未带证件"))
    pending_one = make.customer()
    kept = club.service(lambda s: s.members.apply(pending_one.id, channel="web"))
    later = datetime.now(timezone.utc) + timedelta(days=366)

    def run(dry_run, now=later):
        (result,) = [r for r in apply_retention(crm, dry_run=dry_run, now=now) if r["rule"] == "membership.rejected_applications"]
        assert result["error"] is None
        return result["count"]

    assert run(False, now=datetime.now(timezone.utc) + timedelta(days=300)) == 0
    assert run(True) == 1
    with crm.engine.connect() as connection:
        assert connection.execute(select(applications.c.name).where(applications.c.id == app["id"])).scalar_one() == "李雷"
    assert run(False) == 1
    assert run(False) == 0
    with crm.engine.connect() as connection:
        row = connection.execute(select(applications).where(applications.c.id == app["id"])).mappings().one()
        untouched = connection.execute(select(applications.c.name).where(applications.c.id == kept["id"])).scalar_one()
    assert (row["name"], row["phone"], row["id_number"], row["email"], row["reject_reason"], row["status"]) == (
        ERASED, None, None, None, ERASED, "rejected")
    assert untouched != ERASED


def test_retention_can_be_turned_off(club, crm, make, monkeypatch):
    applicant = make.customer()
    app = club.service(lambda s: s.members.apply(applicant.id, channel="web"))
    club.service(lambda s: s.members.reject(app["id"], "重复"))
    monkeypatch.setenv("CRM_RETAIN_MEMBERSHIP_REJECTED_APPLICATIONS_DAYS", "0")
    results = apply_retention(crm, dry_run=True, now=datetime.now(timezone.utc) + timedelta(days=4000))
    assert [r["count"] for r in results if r["rule"] == "membership.rejected_applications"] == [0]


def test_export_needs_no_membership(crm, make):
    customer = make.customer(name="路人甲")
    data = export_person(crm, customer.id)
    assert "membership" not in data["plugins"]

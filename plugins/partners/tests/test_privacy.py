"""A person's data in the partners plugin: export, erasure (as end customer
and as partner with contact persons), consent on messages, retention."""

import json
from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import JSON, String, Text, inspect, select, update

from crmcore.privacy import ERASED, apply_retention, export_person
from crmcore.tables import outbox

from crm_partners import tables as t

NAME, PHONE, EMAIL = "欧阳清扬", "13912345678", "ouyang.qy@example.com"
PARTNER, PARTNER_EMAIL = "上海明源地产有限公司", "channel@mingyuan.example"
CONTACT, CONTACT_PHONE, CONTACT_EMAIL = "司马慧文", "13787654321", "sima.hw@mingyuan.example"


def partner_values(crm):
    """Every value of every text or JSON column of the plugin's tables."""
    found = []
    with crm.engine.connect() as connection:
        for table in inspect(connection).get_table_names():
            if not table.startswith("partners_"):
                continue
            for column in inspect(connection).get_columns(table):
                kind = str(column["type"]).upper()
                if isinstance(column["type"], (String, Text, JSON)) or any(k in kind for k in ("JSON", "CHAR", "TEXT")):
                    for (value,) in connection.exec_driver_sql(f'SELECT CAST("{column["name"]}" AS TEXT) FROM "{table}"'):
                        if value is not None:
                            found.append((table, column["name"], value))
    return found


def leftovers(crm, *secrets):
    forms = {f for s in secrets for f in (s, json.dumps(s)[1:-1])}
    return [(table, column, value[:80]) for table, column, value in partner_values(crm) if any(f in value for f in forms)]


@pytest.fixture
def world(crm, make, partner, service, as_user, cli):
    """A partner with a contact person, an end customer worked by direct
    sales (so the registration's conflicts copy the person's name), a deal
    registered, approved with a reason, progressed, won, commissioned and
    stated; the end customer offered as a lead; notes quoting people."""
    as_user("alice")
    today = service(lambda s: s.today())
    pid = partner(PARTNER, emails=[PARTNER_EMAIL], city="上海",
                  agreement=(str(today - timedelta(days=100)), str(today + timedelta(days=20)), "10%"))
    make.contact(pid, name=CONTACT, phones=[CONTACT_PHONE], emails=[CONTACT_EMAIL], notes="渠道负责人")
    service(lambda s: s.update(pid, notes=f"对接人 {CONTACT}（{CONTACT_PHONE}），由 {NAME} 介绍"))
    end = make.customer(name=NAME, phones=[PHONE], emails=[EMAIL], city="上海", status="potential", actor="alice")
    make.activity(end.id, "visit", actor="alice")
    reg = service(lambda s: s.register(pid, end.id, amount="200000", close=today, product=f"{NAME} 别墅智能家居",
                                       notes=f"{NAME} 的采购经理 {PHONE}"))
    assert reg["status"] == "pending" and NAME in json.dumps(reg["conflicts"], ensure_ascii=False)
    service(lambda s: s.approve(reg["id"], f"{NAME} 点名要该伙伴", override=True))
    service(lambda s: s.progress(reg["id"], f"已拜访 {NAME}，电话 {PHONE}"))
    service(lambda s: s.won(reg["id"], "180000", on=today))
    period = f"{today.year}-{today.month:02d}"
    service(lambda s: s.compute_commissions(period))
    service(lambda s: s.statement(pid, period, send=True))
    offer = service(lambda s: s.assign(end.id, partner_id=pid, reason=f"{NAME} 指定"))
    service(lambda s: s.set_status(pid, "under_review", reason=f"{CONTACT} 离职"))
    assert cli("partners", "remind").exit_code == 0
    return {"partner": pid, "end": end, "registration": reg["id"], "assignment": offer["id"], "period": period}


# -- export ------------------------------------------------------------------------------------


def test_export_of_an_end_customer_holds_its_registrations_assignments_and_commissions(crm, world):
    data = export_person(crm, world["end"].id)
    mine = data["plugins"]["partners"]
    assert [r["id"] for r in mine["partners_registrations"]] == [world["registration"]]
    assert mine["partners_registrations"][0]["notes"].startswith(f"{NAME} 的采购经理")
    assert [a["id"] for a in mine["partners_assignments"]] == [world["assignment"]]
    assert [c["amount"] for c in mine["partners_commissions"]] == ["18000.00"]
    assert "partners_partners" not in mine
    # the plugin's audit entries about the end customer are in the core's part
    entities = {e["entity"] for e in data["core"]["audit"]}
    assert {"partners_registration", "partners_assignment"} <= entities


def test_export_of_a_partner_holds_its_partner_row_history_and_agreements(crm, world, tmp_path, cli):
    assert cli("privacy", "export", world["partner"], tmp_path / "p.json").exit_code == 0
    mine = json.loads((tmp_path / "p.json").read_text(encoding="utf-8"))["plugins"]["partners"]
    assert {"partners_partners", "partners_status_history", "partners_agreements", "partners_registrations",
            "partners_assignments", "partners_commissions"} <= set(mine)
    assert CONTACT in mine["partners_partners"][0]["notes"]


# -- erasure -----------------------------------------------------------------------------------


def test_erasing_an_end_customer_leaves_no_trace_in_the_plugins_tables_and_keeps_the_numbers(crm, world, cli, service):
    before = service(lambda s: s.performance(world["period"], [world["partner"]]))
    assert leftovers(crm, NAME, PHONE)  # the fixture did copy them
    result = cli("privacy", "erase", world["end"].id, "--reason", "本人来电要求删除", "--yes")
    assert result.exit_code == 0, result
    assert leftovers(crm, NAME, PHONE, EMAIL) == []
    with crm.unit_of_work() as uow:
        reg = uow.execute(select(t.registrations).where(t.registrations.c.id == world["registration"])).mappings().one()
        lines = uow.execute(select(t.commissions.c.amount)).scalars().all()
        assignment = uow.execute(select(t.assignments).where(t.assignments.c.id == world["assignment"])).mappings().one()
        messages = uow.execute(select(outbox.c.subject, outbox.c.body)).all()
    assert (reg["expected_amount"], reg["won_amount"], reg["status"]) == (Decimal("200000.00"), Decimal("180000.00"), "won")
    assert reg["notes"] is None and reg["decision_reason"] == ERASED and reg["product"] == f"{ERASED} 别墅智能家居"
    assert [c["kind"] for c in reg["conflicts"]] == ["direct_sales"]
    assert lines == [Decimal("18000.00")] and assignment["reason"] == ERASED and assignment["status"] == "offered"
    assert not any(NAME in (s or "") + (b or "") for s, b in messages)  # the statement named them: the core scrubbed it
    assert service(lambda s: s.performance(world["period"], [world["partner"]])) == before
    with crm.unit_of_work() as uow:  # the partner's own data is untouched but for the mention
        row = uow.execute(select(t.partners.c.notes)).scalar_one()
    assert row == f"对接人 {CONTACT}（{CONTACT_PHONE}），由 {ERASED} 介绍"


def test_erasing_a_partner_removes_its_contact_persons_from_the_plugins_tables(crm, world, cli, service):
    assert cli("partners", "settings", "reminder_cc", PARTNER_EMAIL).exit_code == 0
    result = cli("privacy", "erase", world["partner"], "--reason", "注销", "--yes")
    assert result.exit_code == 0, result
    assert leftovers(crm, PARTNER, PARTNER_EMAIL, CONTACT, CONTACT_PHONE, CONTACT_EMAIL) == []
    with crm.unit_of_work() as uow:
        partner_row = uow.execute(select(t.partners)).mappings().one()
        history = uow.execute(select(t.status_history.c.to_status, t.status_history.c.reason).order_by(t.status_history.c.id)).all()
    assert partner_row["notes"] is None and partner_row["status"] == "under_review"
    assert [tuple(h) for h in history] == [("active", ERASED), ("under_review", ERASED)]
    assert service(lambda s: s.setting("reminder_cc")) is None
    summary = service(lambda s: s.commission_summary(world["period"]))
    assert [(p["partner_id"], p["revenue"], p["net"]) for p in summary] == [(world["partner"], Decimal("180000.00"), Decimal("18000.00"))]


def test_privacy_check_accepts_the_plugin(cli):
    result = cli("privacy", "check")
    assert result.exit_code == 0 and "partners: ok" in result.stdout


# -- consent on messages -----------------------------------------------------------------------


def test_messages_to_a_partner_need_its_consent_when_service_needs_consent(crm, partner, service, cli, monkeypatch):
    monkeypatch.setenv("CRM_CONSENT_REQUIRED", "marketing,analytics,sharing,service")
    today = service(lambda s: s.today())
    pid = partner(emails=[PARTNER_EMAIL], agreement=(str(today - timedelta(days=300)), str(today + timedelta(days=5)), "8%"))
    [reminder] = cli("partners", "remind", json=True).json
    assert reminder["message_id"] is None and reminder["suppressed"] == "no consent"
    with crm.unit_of_work() as uow:
        assert uow.outbox.list() == []
        uow.consents.grant(pid, "service", "email")
    [reminder] = cli("partners", "remind", json=True).json
    assert reminder["message_id"] and reminder["suppressed"] is None
    with crm.unit_of_work() as uow:
        assert [(m.recipient, m.purpose) for m in uow.outbox.list()] == [(PARTNER_EMAIL, "service")]


def test_a_lead_offer_names_the_lead_only_with_its_sharing_consent(crm, partner, make, service):
    pid = partner(emails=[PARTNER_EMAIL])
    first = make.customer(name=NAME, city="上海", status="potential")
    second = make.customer(name="王芳", city="上海", status="potential")
    with crm.unit_of_work() as uow:
        uow.consents.grant(second.id, "sharing", "email")
    assert service(lambda s: s.assign(first.id, partner_id=pid))["notice"] == "queued"
    assert service(lambda s: s.assign(second.id, partner_id=pid))["notice"] == "queued"
    with crm.unit_of_work() as uow:
        messages = uow.execute(select(outbox.c.subject, outbox.c.body, outbox.c.purpose, outbox.c.customer_id).order_by(outbox.c.id)).all()
    assert all(m.purpose == "service" and m.customer_id == pid for m in messages)
    assert NAME not in messages[0].subject + messages[0].body and f"#{first.id}" in messages[0].subject
    assert "王芳" in messages[1].subject


# -- retention ---------------------------------------------------------------------------------


def test_retention_clears_notes_and_conflict_details_of_old_closed_registrations(crm, world, service, cli):
    later = service(lambda s: s.uow.now) + timedelta(days=365 * 3 + 200)
    counted = {r["rule"]: r["count"] for r in apply_retention(crm, dry_run=True, now=later)}
    assert counted["partners.closed_registration_notes"] == 1
    with crm.unit_of_work() as uow:
        assert uow.execute(select(t.registrations.c.notes)).scalar_one() is not None
    done = {r["rule"]: r for r in apply_retention(crm, now=later)}["partners.closed_registration_notes"]
    assert done["count"] == 1 and done["error"] is None
    with crm.unit_of_work() as uow:
        reg = uow.execute(select(t.registrations)).mappings().one()
    assert reg["notes"] is None and reg["won_amount"] == Decimal("180000.00")
    assert reg["conflicts"][0]["kind"] == "direct_sales" and "message" not in reg["conflicts"][0]
    assert {r["rule"]: r["count"] for r in apply_retention(crm, now=later)}["partners.closed_registration_notes"] == 0
    # not yet due, or turned off
    assert {r["rule"]: r["count"] for r in apply_retention(crm, dry_run=True)}["partners.closed_registration_notes"] == 0
    assert cli("partners", "settings", "notes_retention_years", "0").exit_code == 0

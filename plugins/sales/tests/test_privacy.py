"""A person's data in the sales tables: export, erasure leaving no trace,
consent on quote e-mails, retention rules, and `crm privacy check`."""

import json
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import JSON, String, Text, inspect, select, update

from crmcore.privacy import ERASED, apply_retention, erase_person, export_person
from crmcore.tables import audit_log, outbox

from crm_sales.tables import opportunities, quote_lines, quotes, stage_changes, visit_plans

NAME, PHONE, EMAIL = "欧阳清扬", "13912345678", "ouyang.qy@example.com"
ADDRESS = "上海市浦东新区世纪大道100号"
CONTACT_NAME, CONTACT_PHONE = "司马慧文", "13787654321"
SALES = ["customers.view", "customers.edit", "sales.edit"]
MANAGER = ["customers.view", "customers.view_all", "sales.edit", "sales.manage"]


@pytest.fixture
def person(crm, make, as_user, cli):
    """One person with everything sales holds: an open deal gone stale (key
    person, quote e-mailed then rejected, a manager's notice naming them), a
    lost deal, a visit plan."""
    as_user("carol", permissions=MANAGER, department="华东区")
    as_user("alice", permissions=SALES, department="上海分公司", parent="华东区")
    with crm.unit_of_work() as uow:
        alice = uow.users.find("alice")
    customer = make.customer(name=NAME, phones=[PHONE], emails=[EMAIL], address=ADDRESS, owner_id=alice.id)
    contact = make.contact(customer.id, name=CONTACT_NAME, phones=[CONTACT_PHONE])
    with crm.unit_of_work() as uow:
        sales = uow.service("sales")
        deal = sales.opportunities.add(customer.id, name=f"{NAME}别墅装修", amount="500000", notes=f"{NAME} 手机 {PHONE}",
                                       source=f"referral:{NAME}的同事介绍", opened_at=uow.now - timedelta(days=60),
                                       stage="proposal")
        sales.opportunities.link_contact(deal.id, contact.id)
        lost = sales.opportunities.add(customer.id, name="二期", amount="80000")
        sales.opportunities.move(lost.id, "lost", reason=f"{NAME}说预算不够")
        sales.opportunities.update(lost.id, notes=f"{CONTACT_NAME} 负责采购")
        quote = sales.quotes.add(deal.id, lines=[{"product": f"{NAME}定制橱柜", "quantity": "2", "unit_price": "48000",
                                                  "discount": "10"}], notes=f"送货到 {ADDRESS}")
        sales.plans.add(user="alice", month="2026-12", customer_id=customer.id, purpose=f"拜访{NAME}谈二期",
                        planned_date="2026-12-08", opportunity_id=deal.id)
    with crm.unit_of_work() as uow:  # backdate the deal so it is stale (the quote and key person moved nothing)
        uow.execute(update(opportunities).where(opportunities.c.id == deal.id).values(
            stage_changed_at=uow.now - timedelta(days=60)))
    assert cli("sales", "quote", "send", str(quote.id), "--email").exit_code == 0
    assert cli("sales", "quote", "reject", str(quote.id), "--reason", f"{NAME}要再比较").exit_code == 0
    notified = cli("sales", "stale", json=True).json["notified"]
    assert [n["manager"] for n in notified] == ["carol"]
    return {"customer": customer, "deal": deal, "lost": lost, "quote": quote, "contact": contact}


def text_and_json_values(crm):
    """Every value of every text or JSON column of every table, as stored."""
    found = []
    with crm.engine.connect() as connection:
        for table_name in inspect(connection).get_table_names():
            columns = [c["name"] for c in inspect(connection).get_columns(table_name)
                       if isinstance(c["type"], (String, Text, JSON)) or any(
                           word in str(c["type"]).upper() for word in ("JSON", "CHAR", "TEXT"))]
            for column in columns:
                for (value,) in connection.exec_driver_sql(f'SELECT CAST("{column}" AS TEXT) FROM "{table_name}"'):
                    if value is not None:
                        found.append((table_name, column, value))
    return found


def forms(value):
    return {value, json.dumps(value)[1:-1]}


SECRETS = [NAME, PHONE, EMAIL, "世纪大道", CONTACT_NAME, CONTACT_PHONE]


def traces(crm):
    return sorted({(t, c) for t, c, v in text_and_json_values(crm) for s in SECRETS for f in forms(s) if f in v})


def test_export_holds_every_sales_row_about_the_person(crm, person):
    data = export_person(crm, person["customer"].id)
    section = data["plugins"]["sales"]
    assert {r["id"] for r in section["sales_opportunities"]} == {person["deal"].id, person["lost"].id}
    assert {r["name"] for r in section["sales_opportunities"]} == {f"{NAME}别墅装修", "二期"}
    assert [r["product"] for r in section["sales_quote_lines"]] == [f"{NAME}定制橱柜"]
    assert [(r["status"], r["decision_note"]) for r in section["sales_quotes"]] == [("rejected", f"{NAME}要再比较")]
    assert [r["purpose"] for r in section["sales_visit_plans"]] == [f"拜访{NAME}谈二期"]
    assert section["sales_opportunity_contacts"] == [{"opportunity_id": person["deal"].id, "contact_id": person["contact"].id}]
    assert len(section["sales_stage_changes"]) == 3 and len(section["sales_stale_notices"]) == 1
    # the plugin's audit entries carry customer_id, so the export includes them
    entities = {e["entity"] for e in data["core"]["audit"]}
    assert {"sales_opportunity", "sales_quote", "sales_visit_plan"} <= entities
    json.dumps(data, ensure_ascii=False)  # JSON-able


def test_export_of_someone_without_sales_records_has_no_sales_section(crm, make):
    other = make.customer(name="张伟")
    assert "sales" not in export_person(crm, other.id)["plugins"]


def test_erasure_leaves_no_trace_and_keeps_amounts_stages_and_counts(crm, person, cli, make, opp):
    bystander = make.customer(name="张伟")
    kept = opp(bystander.id, name="张伟的项目", amount="1000", notes="张伟 很积极")
    pipeline = cli("sales", "pipeline", json=True).json
    assert {(t, c) for t, c in traces(crm)} >= {("sales_opportunities", "name"), ("sales_opportunities", "notes"),
                                                 ("sales_opportunities", "lost_reason"), ("sales_quote_lines", "product"),
                                                 ("sales_visit_plans", "purpose"), ("outbox", "payload"), ("outbox", "body")}
    result = cli("privacy", "erase", person["customer"].id, "--reason", f"{NAME} 要求删除", "--yes")
    assert result.exit_code == 0, result
    assert traces(crm) == []
    assert cli("sales", "pipeline", json=True).json == pipeline
    with crm.unit_of_work() as uow:
        rows = {r.id: r for r in uow.execute(select(opportunities))}
        quote = uow.execute(select(quotes)).one()
        line = uow.execute(select(quote_lines)).one()
        plan = uow.execute(select(visit_plans)).one()
        changes = uow.execute(select(stage_changes.c.to_stage).where(stage_changes.c.opportunity_id == person["lost"].id)
                              .order_by(stage_changes.c.id)).scalars().all()
    deal, lost = rows[person["deal"].id], rows[person["lost"].id]
    assert (deal.name, deal.notes, deal.amount, deal.stage, deal.source) == (ERASED, None, Decimal("500000.00"), "proposal", "referral")
    assert (lost.name, lost.lost_reason, lost.stage, lost.closed_at is not None) == (ERASED, ERASED, "lost", True)
    assert (quote.total, quote.status, quote.notes, quote.decision_note) == (Decimal("86400.00"), "rejected", None, ERASED)
    assert (line.product, line.quantity, line.amount) == (ERASED, Decimal("2.000"), Decimal("86400.00"))
    assert (plan.purpose, str(plan.planned_date), plan.month) == (ERASED, "2026-12-08", "2026-12")
    assert changes == ["qualification", "lost"]
    other = rows[kept.id]
    assert (other.name, other.notes) == ("张伟的项目", "张伟 很积极")


def test_the_managers_notice_and_the_quote_email_lose_the_person(crm, person):
    with crm.unit_of_work() as uow:
        erase_person(uow, person["customer"].id, "request")
    with crm.unit_of_work() as uow:
        messages = {m.payload["kind"]: m for m in uow.outbox.list()}
    notice, mail = messages["sales.stale"], messages["sales.quote"]
    assert notice.recipient == "carol" and f"{ERASED} — {ERASED}" in notice.body and "alice" in notice.body
    assert "html" not in mail.payload and mail.status == "cancelled" and mail.purpose == "service"


def test_the_plugins_audit_entries_lose_their_free_text(crm, person):
    with crm.unit_of_work() as uow:
        erase_person(uow, person["customer"].id, "request")
        entries = uow.execute(select(audit_log.c.entity, audit_log.c.changes).where(audit_log.c.entity.like("sales_%"))).all()
    text = json.dumps([list(e) for e in entries], ensure_ascii=False)
    for secret in [NAME, "别墅装修", "要再比较", "谈二期", "定制橱柜"]:
        assert secret not in text
    assert '"500000.00"' in text  # amounts stay


def test_privacy_check_accepts_the_plugin(cli):
    rows = {r["plugin"]: r for r in cli("privacy", "check", json=True).json}
    assert rows["sales"]["ok"] is True
    assert "sales" not in cli("privacy", "check").stdout.replace("sales: ok", "")


# -- consent on quote e-mails ----------------------------------------------------------------------


@pytest.fixture
def quote(make, opp, crm):
    customer = make.customer(name="钟海燕", emails=["zhong@example.com"])
    deal = opp(customer.id, name="总部大楼项目", amount="500000")
    with crm.unit_of_work() as uow:
        return uow.service("sales").quotes.add(deal.id, lines=[{"product": "服务器", "quantity": 1, "unit_price": 1000}])


def test_a_quote_email_is_a_service_message(crm, cli, quote):
    assert cli("sales", "quote", "send", str(quote.id), "--email").exit_code == 0
    with crm.unit_of_work() as uow:
        (message,) = uow.outbox.list()
        (entry,) = [e for e in uow.audit.for_entity("sales_quote", quote.id) if e.action == "emailed"]
    assert (message.purpose, message.customer_id) == ("service", quote.customer_id)
    assert entry.changes == {"customer_id": quote.customer_id, "outbox_id": message.id, "queued": True}


def test_without_consent_a_quote_is_not_emailed_nor_marked_sent(crm, cli, quote):
    crm.config.extra["privacy"] = {"consent_required": ["marketing", "service"]}
    refused = cli("sales", "quote", "send", str(quote.id), "--email")
    assert refused.exit_code == 1 and "no consent to service e-mail" in refused.stderr
    with crm.unit_of_work() as uow:
        assert uow.outbox.list() == [] and uow.service("sales").quotes.get(quote.id).status == "draft"
        uow.consents.grant(quote.customer_id, "service", "email", method="form")
    assert cli("sales", "quote", "send", str(quote.id), "--email").exit_code == 0
    with crm.unit_of_work() as uow:
        assert [m.purpose for m in uow.outbox.list()] == ["service"]


# -- retention -------------------------------------------------------------------------------------


def rule_counts(results):
    return {r["rule"]: r["count"] for r in results if r["rule"].startswith("sales.")}


def test_retention_removes_old_quote_html_and_expires_old_visit_purposes(crm, cli, quote):
    assert cli("sales", "quote", "send", str(quote.id), "--email").exit_code == 0
    with crm.unit_of_work() as uow:
        uow.service("sales").plans.add(user="admin", month="2026-12", customer_id=quote.customer_id, purpose="谈合同",
                                       planned_date="2026-12-08")
        uow.execute(update(outbox).values(status="sent", sent_at=uow.now))
        now = uow.now
    soon = apply_retention(crm, dry_run=True, now=now + timedelta(days=30))
    assert rule_counts(soon) == {"sales.quote_email_html": 0, "sales.visit_plan_purposes": 0}
    later = now + timedelta(days=365 * 4)
    assert rule_counts(apply_retention(crm, dry_run=True, now=later)) == {"sales.quote_email_html": 1, "sales.visit_plan_purposes": 1}
    with crm.unit_of_work() as uow:  # a dry run changes nothing
        assert "html" in uow.outbox.list()[0].payload
    assert rule_counts(apply_retention(crm, now=later)) == {"sales.quote_email_html": 1, "sales.visit_plan_purposes": 1}
    assert rule_counts(apply_retention(crm, now=later)) == {"sales.quote_email_html": 0, "sales.visit_plan_purposes": 0}
    with crm.unit_of_work() as uow:
        (message,) = uow.outbox.list()
        assert "html" not in message.payload and message.payload["quote_id"] == quote.id
        assert uow.execute(select(visit_plans.c.purpose)).scalar_one() == "(expired)"


def test_retention_rules_can_be_turned_off(crm, quote, monkeypatch):
    monkeypatch.setenv("CRM_SALES_RETAIN_QUOTE_HTML_DAYS", "0")
    crm.config.extra["sales"] = {"retention": {"visit_purposes_years": 0}}
    with crm.unit_of_work() as uow:
        now = uow.now
    assert rule_counts(apply_retention(crm, dry_run=True, now=now + timedelta(days=365 * 10))) == {
        "sales.quote_email_html": 0, "sales.visit_plan_purposes": 0}

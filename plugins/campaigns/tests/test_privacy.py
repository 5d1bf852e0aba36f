"""A person's data in campaigns: export, erasure leaving no trace while the
campaign's numbers stay, marketing consent on every message, the outbox as
the source of delivery states, and the retention of message copies."""

import json
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import JSON, String, Text, inspect, select

from crmcore import utcnow
from crmcore.privacy import apply_retention, erase_person

from crm_campaigns.tables import messages

NAME, PHONE, EMAIL, ADDRESS = "欧阳清扬", "13912345678", "ouyang.qy@example.com", "上海市浦东新区世纪大道100号"
SECRETS = (NAME, PHONE, EMAIL, "世纪大道")
SHANGHAI = {"criteria": [{"field": "city", "op": "eq", "value": "上海"}]}


def launch(service, name, channel, *, subject=None, body="{{ customer.name }}您好", segment="上海", criteria=SHANGHAI):
    def build(s):
        if s.find_segment(segment) is None:
            s.add_segment(segment, criteria)
        s.add(name, segment=segment, channels=[channel], budget="1000")
        s.add_template(name, channel=channel, subject=subject, body=body)
        s.approve(name)
        return s.launch(name)

    return service(build)


def statuses(crm, name):
    with crm.unit_of_work() as uow:
        return {m["customer_id"]: (m["status"], m["reason"]) for m in uow.service("campaigns").messages(name, limit=1000)}


def stats(crm, name):
    with crm.unit_of_work() as uow:
        found = uow.service("campaigns").stats(name)
    return {k: found[k] for k in ("audience", "target", "sent", "delivered", "pending", "suppressed", "messaged", "responded",
                                  "conversions", "purchases", "revenue", "responses")}


@pytest.fixture
def person(crm, make, service, cli):
    """Someone in everything campaigns keeps: the audience of an e-mail and
    a phone campaign, rendered messages, a response with a note quoting
    them, a purchase, a lead, an opt-out and a blacklist entry with reasons,
    and a segment written about them."""
    customer = make.customer(name=NAME, phones=[PHONE], emails=[EMAIL], address=ADDRESS, city="上海")
    other = make.customer(name="张伟", phones=["13800138000"], emails=["zhangwei@example.com"], city="上海")
    launch(service, "春季促销", "email", subject="{{ customer.name }}，春季特惠", body="亲爱的{{ customer.name }}")
    launch(service, "回访", "phone", segment=f"{NAME}专属", criteria={
        "description": f"只给 {NAME}（{PHONE}）", "criteria": [{"field": "name", "op": "eq", "value": NAME}]})
    cli("outbox", "deliver")

    def respond(s):
        s.record_response("春季促销", customer.id, "clicked", note=f"{NAME} 点了链接，邮箱 {EMAIL}")
        s.record_response("春季促销", customer.id, "bought", amount="288.50", note=f"{NAME} 在门店买了")
        s.record_response("回访", customer.id, "replied", note=f"致电 {PHONE}")
        s.make_leads("春季促销", customer_id=customer.id)
        s.opt_out(customer.id, "sms", reason=f"{NAME} 说不要短信")
        s.blacklist_add(customer.id, reason=f"{NAME} 投诉")

    service(respond)
    customer.other = other
    return customer


def test_the_export_holds_every_campaign_row_about_the_person(crm, person, cli, tmp_path):
    assert cli("privacy", "export", person.id, tmp_path / "p.json").exit_code == 0
    data = json.loads((tmp_path / "p.json").read_text(encoding="utf-8"))["plugins"]["campaigns"]
    assert {r["campaign"] for r in data["campaigns_audience"]} == {"春季促销", "回访"}
    assert sorted((m["campaign"], m["recipient"]) for m in data["campaigns_messages"]) == [("回访", PHONE), ("春季促销", EMAIL)]
    assert [m["subject"] for m in data["campaigns_messages"] if m["channel"] == "email"] == [f"{NAME}，春季特惠"]
    assert sorted(r["type"] for r in data["campaigns_responses"]) == ["bought", "clicked", "replied"]
    assert [r["amount"] for r in data["campaigns_responses"] if r["type"] == "bought"] == ["288.50"]
    assert [r["campaign"] for r in data["campaigns_leads"]] == ["春季促销"]
    assert [(r["channel"], r["reason"]) for r in data["campaigns_optouts"]] == [("sms", f"{NAME} 说不要短信")]
    assert [r["reason"] for r in data["campaigns_blacklist"]] == [f"{NAME} 投诉"]
    assert [s["name"] for s in data["campaigns_segments"]] == [f"{NAME}专属"]
    assert "张伟" not in json.dumps(data, ensure_ascii=False) and "zhangwei" not in json.dumps(data)


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


def test_erasure_leaves_no_trace_and_keeps_the_campaigns_numbers(crm, person, cli):
    before = {name: stats(crm, name) for name in ("春季促销", "回访")}
    assert before["春季促销"]["revenue"] == Decimal("288.50") and before["回访"]["responded"] == 1
    held = {t for t, _, v in text_and_json_values(crm) if t.startswith("campaigns_") and any(f in v for f in forms(NAME))}
    assert {"campaigns_messages", "campaigns_responses", "campaigns_optouts", "campaigns_blacklist", "campaigns_segments"} <= held

    result = cli("privacy", "erase", person.id, "--reason", f"{NAME} 来电要求删除", "--yes")
    assert result.exit_code == 0, result

    leftovers = [(t, c, v[:80]) for t, c, v in text_and_json_values(crm) for s in SECRETS for f in forms(s) if f in v]
    assert leftovers == []
    assert {name: stats(crm, name) for name in ("春季促销", "回访")} == before
    with crm.unit_of_work() as uow:
        kept = uow.execute(select(messages.c.customer_id, messages.c.status, messages.c.recipient)
                           .where(messages.c.customer_id == person.other.id)).all()
        assert [tuple(k) for k in kept] == [(person.other.id, "sent", "zhangwei@example.com")]
        history = uow.service("campaigns").history(person.id)
    assert [h["campaign"] for h in history["campaigns"]] == ["春季促销", "回访"]


def test_erasure_withdraws_the_persons_queued_messages(crm, make, service):
    customer = make.customer(name=NAME, phones=[PHONE], emails=[EMAIL], city="上海")
    launch(service, "春季促销", "email", subject="春季特惠")
    assert statuses(crm, "春季促销") == {customer.id: ("queued", None)}
    with crm.unit_of_work() as uow:
        erase_person(uow, customer.id, "request")
    assert statuses(crm, "春季促销") == {customer.id: ("cancelled", None)}
    with crm.unit_of_work() as uow:
        assert [(m.status, m.recipient) for m in uow.outbox.list()] == [("cancelled", "(erased)")]


def test_privacy_check_accepts_the_plugin(cli):
    result = cli("privacy", "check")
    assert result.exit_code == 0 and "campaigns: ok" in result.stdout


# -- consent -----------------------------------------------------------------------------------


def test_customers_without_marketing_consent_for_the_channel_are_suppressed_not_queued(crm, make, service, cli):
    agreed = make.customer(name="甲", city="上海", emails=["a@example.com"])
    sms_only = make.customer(name="乙", city="上海", emails=["b@example.com"], consent=["sms"])
    never = make.customer(name="丙", city="上海", emails=["c@example.com"], consent=False)
    withdrawn = make.customer(name="丁", city="上海", emails=["d@example.com"])
    assert cli("consent", "withdraw", str(withdrawn.id), "--purpose", "marketing", "--channel", "email").exit_code == 0
    result = launch(service, "春季促销", "email", subject="春季特惠")
    assert result["queued"] == 1 and result["suppressed"] == 3
    assert statuses(crm, "春季促销") == {agreed.id: ("queued", None), sms_only.id: ("suppressed", "no consent"),
                                       never.id: ("suppressed", "no consent"), withdrawn.id: ("suppressed", "no consent")}
    with crm.unit_of_work() as uow:
        assert [(m.customer_id, m.purpose) for m in uow.outbox.list()] == [(agreed.id, "marketing")]
    assert stats(crm, "春季促销")["suppressed"] == 3


def test_call_lists_and_invitations_respect_consent_too(crm, make, service):
    by_phone = make.customer(name="甲", city="上海", phones=["13900000001"], emails=["a@example.com"], consent=["phone"])
    by_email = make.customer(name="乙", city="上海", phones=["13900000002"], emails=["b@example.com"], consent=["email"])
    neither = make.customer(name="丙", city="上海", phones=["13900000003"], consent=["sms"])
    launch(service, "回访", "phone")
    assert statuses(crm, "回访") == {by_phone.id: ("listed", None), by_email.id: ("suppressed", "no consent"),
                                   neither.id: ("suppressed", "no consent")}
    launch(service, "沙龙", "event")
    with crm.unit_of_work() as uow:
        sent = {m["customer_id"]: (m["status"], m["recipient"]) for m in uow.service("campaigns").messages("沙龙")}
    assert sent == {by_phone.id: ("listed", "13900000001"), by_email.id: ("listed", "b@example.com"),
                    neither.id: ("suppressed", None)}


def test_withdrawing_consent_after_queuing_shows_as_cancelled_and_reaches_nobody(crm, make, service, cli):
    a = make.customer(name="甲", city="上海", emails=["a@example.com"])
    b = make.customer(name="乙", city="上海", emails=["b@example.com"])
    launch(service, "春季促销", "email", subject="春季特惠")
    assert cli("consent", "withdraw", str(b.id), "--purpose", "marketing", "--channel", "email").exit_code == 0
    with crm.unit_of_work() as uow:  # the core cancelled the outbox message; the panel reads the state from there
        assert uow.service("campaigns").history(b.id)["campaigns"][0]["messages"] == ["1:email:cancelled"]
    refused = cli("campaigns", "response", "春季促销", "--customer", str(b.id), "--type", "clicked")
    assert refused.exit_code == 1 and "got no message" in refused.stderr
    assert statuses(crm, "春季促销") == {a.id: ("queued", None), b.id: ("cancelled", None)}
    numbers = stats(crm, "春季促销")
    assert (numbers["pending"], numbers["messaged"]) == (1, 2)


def test_a_purchase_after_a_withdrawn_message_is_not_attributed(crm, make, service, cli):
    a = make.customer(name="甲", city="上海", emails=["a@example.com"])
    launch(service, "春季促销", "email", subject="春季特惠")
    assert cli("consent", "withdraw", str(a.id), "--purpose", "marketing", "--channel", "email").exit_code == 0
    make.activity(a.id, "purchase", amount="500")
    assert stats(crm, "春季促销")["conversions"] == 0


# -- retention ---------------------------------------------------------------------------------


def test_retention_clears_old_message_copies_once_and_keeps_the_numbers(crm, make, service, cli):
    a = make.customer(name="甲", city="上海", emails=["a@example.com"])
    make.customer(name="乙", city="上海", emails=["b@example.com"], consent=False)
    launch(service, "春季促销", "email", subject="{{ customer.name }}，春季特惠")
    before = stats(crm, "春季促销")
    later = utcnow() + timedelta(days=91)

    def rule(results):
        return next(r for r in results if r["rule"] == "campaigns.message_copies")

    assert rule(apply_retention(crm, dry_run=True, now=later))["count"] == 0  # still pending in the outbox
    cli("outbox", "deliver")
    assert rule(apply_retention(crm, dry_run=True, now=utcnow() + timedelta(days=89)))["count"] == 0
    assert rule(apply_retention(crm, dry_run=True, now=later))["count"] == 1
    with crm.unit_of_work() as uow:
        assert uow.execute(select(messages.c.subject).where(messages.c.customer_id == a.id)).scalar() == "甲，春季特惠"
    assert rule(apply_retention(crm, now=later))["count"] == 1
    with crm.unit_of_work() as uow:
        rows = uow.execute(select(messages.c.recipient, messages.c.subject, messages.c.error)).all()
    assert {tuple(r) for r in rows} == {(None, None, None)}
    assert rule(apply_retention(crm, now=later))["count"] == 0
    assert stats(crm, "春季促销") == {**before, "pending": 0, "delivered": 1}


def test_the_retention_period_is_configurable_and_zero_turns_it_off(crm, make, service, cli, monkeypatch):
    make.customer(name="乙", city="上海", emails=["b@example.com"])
    launch(service, "春季促销", "email", subject="春季特惠")
    cli("outbox", "deliver")
    results = apply_retention(crm, dry_run=True, now=utcnow() + timedelta(days=11))
    assert next(r for r in results if r["rule"] == "campaigns.message_copies")["count"] == 0
    monkeypatch.setenv("CRM_RETAIN_CAMPAIGNS_MESSAGES_DAYS", "10")
    results = apply_retention(crm, dry_run=True, now=utcnow() + timedelta(days=11))
    assert next(r for r in results if r["rule"] == "campaigns.message_copies")["count"] == 1
    monkeypatch.setenv("CRM_RETAIN_CAMPAIGNS_MESSAGES_DAYS", "0")
    results = apply_retention(crm, dry_run=True, now=utcnow() + timedelta(days=1000))
    assert next(r for r in results if r["rule"] == "campaigns.message_copies")["count"] == 0

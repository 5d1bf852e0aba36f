"""Privacy (issue 12): a person's tickets, calls and surveys in the export;
erasure leaves no trace of them while reports keep their figures; surveys
respect consent; old calls lose their caller numbers."""

import json
from datetime import timedelta

import pytest
from sqlalchemy import JSON, String, Text, inspect, select, update

from crmcore.privacy import ERASED
from crmcore.tables import audit_log, outbox

from crm_callcenter.tables import call_events, calls, surveys, tickets

NAME, PHONE, EMAIL = "欧阳清扬", "13912345678", "ouyang.qy@example.com"
CONTACT_NAME, CONTACT_PHONE = "司马慧文", "13787654321"
#: a number the person called from before it was on their record: the call has no customer_id
EARLIER_PHONE = "13655556666"
OTHER_NAME, OTHER_PHONE = "张伟", "13800138000"
SECRETS = [NAME, PHONE, EMAIL, CONTACT_NAME, CONTACT_PHONE, EARLIER_PHONE, "138-0013", "139-1234-5678"]


def call(cli, ref, caller, at, talk_end, queue="投诉"):
    assert cli("service", "call", "event", "offered", ref, "--caller", caller, "--queue", queue, "--at", at).exit_code == 0
    assert cli("service", "call", "event", "answered", ref, "--at", at[:-2] + "20").exit_code == 0
    assert cli("service", "call", "event", "ended", ref, "--at", talk_end).exit_code == 0


@pytest.fixture
def person(desk, make, crm):
    """A caller with everything the call center keeps: an unidentified call
    from a number they later gave, an identified call, a ticket with replies,
    notes, a new subject, a reopen reason, an escalation to staff, a survey
    answered with a comment; and another customer who must stay as is."""
    call(desk, "pbx-early", EARLIER_PHONE, "2026-09-28T10:00:00", "2026-09-28T10:03:00")
    customer = make.customer(name=NAME, phones=[PHONE, EARLIER_PHONE], emails=[EMAIL])
    make.contact(customer.id, name=CONTACT_NAME, phones=[CONTACT_PHONE])
    call(desk, "pbx-1", "+86 139-1234-5678", "2026-09-29T08:59:00", "2026-09-29T09:04:00")
    call(desk, "pbx-contact", CONTACT_PHONE, "2026-09-29T11:00:00", "2026-09-29T11:02:00", queue="咨询")
    with crm.unit_of_work() as uow:
        call_id = uow.execute(select(calls.c.id).where(calls.c.call_ref == "pbx-1")).scalar_one()
    ticket = desk("service", "ticket", "add", str(customer.id), "--type", "complaint", "--priority", "high",
                  "--subject", f"{NAME}投诉物业维修未处理", "--description", f"来电 {PHONE}，{NAME} 说漏水三天",
                  "--assignee", "alice", "--call", str(call_id), "--at", "2026-09-29T09:00", json=True)
    assert ticket.exit_code == 0, ticket
    tid = str(ticket.json["id"])
    assert desk("service", "escalate", "--at", "2026-09-29T09:30").exit_code == 0  # staff notices quoting the subject
    for args in (("comment", tid, f"{NAME}您好，师傅明天上门", "--at", "2026-09-29T09:40"),
                 ("comment", tid, f"客户 {NAME} 情绪激动，邮箱 {EMAIL}", "--internal", "--at", "2026-09-29T09:41"),
                 ("update", tid, "--subject", f"{NAME} 漏水报修"),
                 ("resolve", tid, "--at", "2026-09-29T10:00"),
                 ("reopen", tid, "--reason", f"{NAME}说还在漏", "--at", "2026-09-29T11:00"),
                 ("resolve", tid, "--at", "2026-09-29T12:00")):
        result = desk("service", "ticket", *args)
        assert result.exit_code == 0, (args, result)
    assert desk("service", "survey", "answer", tid, "--score", "2", "--comment", f"我是{NAME}，修得太慢").exit_code == 0
    other = make.customer(name=OTHER_NAME, phones=[OTHER_PHONE])
    call(desk, "pbx-other", "138 0013 8000", "2026-09-29T14:00:00", "2026-09-29T14:01:00")
    other_ticket = desk("service", "ticket", "add", str(other.id), "--type", "inquiry", "--subject", f"{OTHER_NAME}咨询账单",
                        "--at", "2026-09-29T14:00", json=True).json
    return {"customer": customer, "ticket": int(tid), "other": other, "other_ticket": other_ticket["id"]}


def text_and_json_values(crm, prefix=""):
    """Every value of every text or JSON column of every table (starting with ``prefix``), as stored."""
    found = []
    with crm.engine.connect() as connection:
        for table_name in inspect(connection).get_table_names():
            if not table_name.startswith(prefix):
                continue
            columns = [c["name"] for c in inspect(connection).get_columns(table_name)
                       if isinstance(c["type"], (String, Text, JSON)) or any(t in str(c["type"]).upper() for t in ("JSON", "CHAR", "TEXT"))]
            for column in columns:
                for (value,) in connection.exec_driver_sql(f'SELECT CAST("{column}" AS TEXT) FROM "{table_name}"'):
                    if value is not None:
                        found.append((table_name, column, value))
    return found


def forms(value):
    return {value, json.dumps(value)[1:-1]}


def leftovers(crm, secrets, prefix=""):
    return [(t, c, v[:80]) for t, c, v in text_and_json_values(crm, prefix) for s in secrets for f in forms(s) if f in v]


def figures(desk):
    """What the reports show for the period: must not change by erasure."""
    report = desk("service", "report", "--from", "2026-09-01", "--to", "2026-10-31", json=True)
    assert report.exit_code == 0, report
    return report.json


# -- export ------------------------------------------------------------------------------------


def test_export_holds_tickets_calls_by_number_and_surveys(desk, person, tmp_path):
    customer = person["customer"]
    assert desk("privacy", "export", str(customer.id), str(tmp_path / "p.json")).exit_code == 0
    mine = json.loads((tmp_path / "p.json").read_text(encoding="utf-8"))["plugins"]["callcenter"]
    assert [t["id"] for t in mine["callcenter_tickets"]] == [person["ticket"]]
    assert mine["callcenter_tickets"][0]["subject"] == f"{NAME} 漏水报修"
    assert {e["event"] for e in mine["callcenter_ticket_events"]} >= {"created", "comment", "note", "updated", "reopened", "escalated"}
    by_ref = {c["call_ref"]: c for c in mine["callcenter_calls"]}
    assert set(by_ref) == {"pbx-early", "pbx-1", "pbx-contact"}  # the unidentified early call, by its number
    assert by_ref["pbx-early"]["customer_id"] is None and by_ref["pbx-early"]["caller_number"] == EARLIER_PHONE
    assert by_ref["pbx-1"]["customer_id"] == customer.id and by_ref["pbx-1"]["talk_seconds"] == 280
    assert {e["call_id"] for e in mine["callcenter_call_events"]} == {c["id"] for c in by_ref.values()}
    assert [(s["score"], s["comment"]) for s in mine["callcenter_surveys"]] == [(2, f"我是{NAME}，修得太慢")]
    assert OTHER_NAME not in json.dumps(mine, ensure_ascii=False) and OTHER_PHONE not in json.dumps(mine)


# -- erasure -----------------------------------------------------------------------------------


def test_erasure_leaves_no_trace_and_keeps_the_figures(desk, person, crm):
    customer = person["customer"]
    assert leftovers(crm, [NAME, PHONE, EARLIER_PHONE], "callcenter_")  # the data was there
    before = figures(desk)
    with crm.unit_of_work() as uow:
        kept_before = uow.execute(select(calls.c.call_ref, calls.c.customer_id, calls.c.wait_seconds, calls.c.talk_seconds,
                                         calls.c.acw_seconds, calls.c.outcome).order_by(calls.c.id)).all()
        sla_before = uow.execute(select(tickets.c.first_response_due, tickets.c.resolve_due, tickets.c.first_response_breached,
                                        tickets.c.resolve_breached, tickets.c.reopen_count).order_by(tickets.c.id)).all()
    result = desk("privacy", "erase", str(customer.id), "--reason", f"{NAME} 来电要求删除", "--yes")
    assert result.exit_code == 0, result

    assert leftovers(crm, SECRETS) == []  # every table, the core's included
    assert figures(desk) == before
    with crm.unit_of_work() as uow:
        assert uow.execute(select(calls.c.call_ref, calls.c.customer_id, calls.c.wait_seconds, calls.c.talk_seconds,
                                  calls.c.acw_seconds, calls.c.outcome).order_by(calls.c.id)).all() == kept_before
        assert uow.execute(select(tickets.c.first_response_due, tickets.c.resolve_due, tickets.c.first_response_breached,
                                  tickets.c.resolve_breached, tickets.c.reopen_count).order_by(tickets.c.id)).all() == sla_before
        mine = uow.execute(select(tickets.c.subject, tickets.c.description).where(tickets.c.id == person["ticket"])).one()
        survey = uow.execute(select(surveys.c.score, surveys.c.comment)).one()
        numbers = dict(uow.execute(select(calls.c.call_ref, calls.c.caller_number)).all())
        offered = [e for e in uow.execute(select(call_events.c.data).where(call_events.c.event == "offered")).scalars()]
        own_audit = uow.execute(select(audit_log.c.changes).where(audit_log.c.entity == "callcenter_ticket",
                                                                  audit_log.c.entity_id == str(person["ticket"]))).scalars().all()
    assert tuple(mine) == (ERASED, None) and tuple(survey) == (2, ERASED)
    assert numbers == {"pbx-early": None, "pbx-1": None, "pbx-contact": None, "pbx-other": OTHER_PHONE}
    assert sum(1 for data in offered if "caller" in data) == 1  # the other customer's call only
    assert own_audit and all(entry["customer_id"] == customer.id for entry in own_audit)
    other = desk("service", "ticket", "show", str(person["other_ticket"]), json=True).json
    assert other["subject"] == f"{OTHER_NAME}咨询账单"


def test_old_audit_entries_without_customer_id_are_erased_too(desk, person, crm):
    """Entries written before the privacy hooks carried no customer_id."""
    with crm.unit_of_work() as uow:
        uow.audit.record("callcenter_ticket", person["ticket"], "update", {"subject": [f"{NAME}的旧主题", "新主题"], "note": f"致电 {PHONE}"})
    assert desk("privacy", "erase", str(person["customer"].id), "--reason", "request", "--yes").exit_code == 0
    assert leftovers(crm, [NAME, PHONE]) == []


def test_erasure_through_the_api_reaches_the_plugin_and_the_check_is_clean(crm, person, cli):
    from crmcore.privacy import erase_person

    with crm.unit_of_work() as uow:
        erase_person(uow, person["customer"].id, "request")
    assert leftovers(crm, SECRETS, "callcenter_") == []
    check = cli("privacy", "check")
    assert check.exit_code == 0, check
    assert "callcenter: ok" in check.stdout
    assert {r["plugin"]: r["ok"] for r in cli("privacy", "check", json=True).json} == {"callcenter": True}


# -- consent -----------------------------------------------------------------------------------


def test_surveys_are_service_messages_and_respect_consent(desk, make, crm, monkeypatch):
    monkeypatch.setenv("CRM_CONSENT_REQUIRED", "marketing,service")
    sms_only, nobody = make.customer(phones=["13911110001"], emails=["a@example.com"]), make.customer(emails=["b@example.com"])
    with crm.unit_of_work() as uow:
        uow.consents.grant(sms_only.id, "service", "sms")
    ids = []
    for customer in (sms_only, nobody):
        ticket = desk("service", "ticket", "add", str(customer.id), "--type", "inquiry", "--subject", "问题", json=True).json
        assert desk("service", "ticket", "resolve", str(ticket["id"])).exit_code == 0
        ids.append(ticket["id"])
    with crm.unit_of_work() as uow:
        sent = uow.execute(select(outbox.c.customer_id, outbox.c.channel, outbox.c.purpose)
                           .where(outbox.c.dedupe_key.like("callcenter:survey:%"))).all()
        surveyed = uow.execute(select(surveys.c.ticket_id, surveys.c.channel)).all()
        suppressed = uow.execute(select(audit_log.c.entity_id, audit_log.c.changes).where(audit_log.c.action == "survey_suppressed")).all()
    assert [tuple(r) for r in sent] == [(sms_only.id, "sms", "service")]
    assert [tuple(r) for r in surveyed] == [(ids[0], "sms")]  # an unsent survey is not counted as sent
    assert [(e, c["reason"], c["customer_id"]) for e, c in suppressed] == [(str(ids[1]), "no consent", nobody.id)]


def test_surveys_go_out_as_service_without_consent_by_default(desk, make, crm):
    customer = make.customer(emails=["c@example.com"])
    ticket = desk("service", "ticket", "add", str(customer.id), "--type", "inquiry", "--subject", "问题", json=True).json
    desk("service", "ticket", "resolve", str(ticket["id"]))
    with crm.unit_of_work() as uow:
        assert uow.execute(select(outbox.c.purpose, outbox.c.customer_id).where(outbox.c.channel == "email")).all() == [("service", customer.id)]


# -- retention ---------------------------------------------------------------------------------


def test_retention_clears_caller_numbers_of_old_calls_only(desk, crm, monkeypatch):
    call(desk, "old", "13900000001", "2026-09-28T10:00:00", "2026-09-28T10:03:00")
    call(desk, "new", "13900000002", "2026-09-29T10:00:00", "2026-09-29T10:03:00")
    with crm.unit_of_work() as uow:
        uow.execute(update(calls).where(calls.c.call_ref == "old").values(offered_at=uow.now - timedelta(days=800)))
        uow.execute(update(calls).where(calls.c.call_ref == "new").values(offered_at=uow.now - timedelta(days=300)))

    def counts(*args):
        result = desk("privacy", "retain", *args, json=True)
        assert result.exit_code == 0, result
        return {r["rule"]: r["count"] for r in result.json}["callcenter.call_metadata"]

    assert counts("--dry-run") == 1
    with crm.unit_of_work() as uow:
        assert uow.execute(select(calls.c.caller_number).where(calls.c.call_ref == "old")).scalar() == "13900000001"
    assert counts() == 1
    assert counts() == 0  # idempotent
    monkeypatch.setenv("CRM_RETAIN_CALLCENTER_CALL_METADATA_MONTHS", "6")
    assert counts() == 1
    monkeypatch.setenv("CRM_RETAIN_CALLCENTER_CALL_METADATA_MONTHS", "0")
    assert counts("--dry-run") == 0
    with crm.unit_of_work() as uow:
        rows = uow.execute(select(calls.c.caller, calls.c.caller_number, calls.c.talk_seconds, calls.c.outcome).order_by(calls.c.id)).all()
        offered = uow.execute(select(call_events.c.data).where(call_events.c.event == "offered")).scalars().all()
    assert [tuple(r) for r in rows] == [(None, None, 160, "answered"), (None, None, 160, "answered")]
    assert all("caller" not in data for data in offered)

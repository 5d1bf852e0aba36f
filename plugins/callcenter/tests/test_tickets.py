"""Tickets: status flow, SLA in working time, pauses, escalation, surveys, integration."""

from sqlalchemy import select

from crmcore.tables import activities, outbox

# Tue 2026-09-29 is a working day; Thu 2026-10-01 is the holiday set by the `desk` fixture.


def open_complaint(cli, customer_id, at="2026-09-30T17:00", assignee="alice", **extra):
    args = ["service", "ticket", "add", str(customer_id), "--type", "complaint", "--priority", "high",
            "--subject", "物业维修未处理", "--at", at, *(["--assignee", assignee] if assignee else [])]
    for key, value in extra.items():
        args += [f"--{key}", value]
    result = cli(*args, json=True)
    assert result.exit_code == 0, result
    return result.json


def test_commands_as_written_set_calendar_policy_and_open_a_ticket(cli, make):
    customer = make.customer(name="张伟")
    assert cli("service", "calendar", "set", "--hours", "09:00-18:00", "--weekdays", "1-5", "--holiday", "2026-10-01").exit_code == 0
    assert cli("service", "sla", "add", "--type", "complaint", "--priority", "high", "--first-response", "10m", "--resolve", "4h").exit_code == 0
    ticket = cli("--json", "service", "ticket", "add", str(customer.id), "--type", "complaint", "--priority", "high",
                 "--subject", "物业维修未处理").json
    assert (ticket["type"], ticket["priority"], ticket["status"], ticket["subject"]) == ("complaint", "high", "new", "物业维修未处理")
    assert ticket["sla"]["first_response_due"] is not None and ticket["sla"]["resolve_due"] is not None


def test_sla_due_times_run_on_working_time_across_the_holiday(desk, make):
    ticket = open_complaint(desk, make.customer().id, at="2026-09-30T17:00")
    # 10 working minutes from 17:00 Wed; 4 working hours: 1h Wed, Thu holiday, 3h Fri
    assert ticket["sla"]["first_response_due"] == "2026-09-30T17:10:00+08:00"
    assert ticket["sla"]["resolve_due"] == "2026-10-02T12:00:00+08:00"


def test_waiting_on_the_customer_pauses_the_clock(desk, make):
    ticket = open_complaint(desk, make.customer().id, at="2026-09-29T09:00")
    desk("service", "ticket", "start", str(ticket["id"]), "--at", "2026-09-29T09:05")
    desk("service", "ticket", "wait", str(ticket["id"]), "--at", "2026-09-29T10:00")
    resumed = desk("service", "ticket", "start", str(ticket["id"]), "--at", "2026-09-29T15:00", json=True).json
    # 5 working hours paused: resolution due 13:00 + 5h = 18:00
    assert resumed["sla"]["resolve_due"] == "2026-09-29T18:00:00+08:00"
    assert resumed["sla"]["first_response_status"] == "met"


def test_escalation_is_idempotent_and_follows_agent_lead_manager(desk, make, crm):
    ticket = open_complaint(desk, make.customer().id, at="2026-09-29T09:00")
    first = desk("service", "escalate", "--at", "2026-09-29T09:09", json=True).json
    assert [(e["kind"], e["escalated_to"], e["user"]) for e in first] == [("first_response", "agent", "alice")]
    assert desk("service", "escalate", "--at", "2026-09-29T09:09", json=True).json == []
    lead = desk("service", "escalate", "--at", "2026-09-29T09:30", json=True).json
    assert [(e["escalated_to"], e["user"], e["overdue"]) for e in lead] == [("team_lead", "carol", "20m")]
    manager = desk("service", "escalate", "--at", "2026-09-29T10:30", json=True).json
    assert [(e["escalated_to"], e["user"]) for e in manager] == [("manager", "mike")]
    assert desk("service", "escalate", "--at", "2026-09-29T10:30", json=True).json == []
    assert "nothing to escalate" in desk("service", "escalate", "--at", "2026-09-29T10:31").stdout
    with crm.unit_of_work() as uow:
        keys = sorted(uow.execute(select(outbox.c.dedupe_key).where(outbox.c.dedupe_key.like("callcenter:escalation:%"))).scalars())
    assert keys == [f"callcenter:escalation:{ticket['id']}:first_response:{n}" for n in (0, 1, 2)]


def test_a_paused_ticket_does_not_escalate(desk, make):
    ticket = open_complaint(desk, make.customer().id, at="2026-09-29T09:00")
    desk("service", "ticket", "wait", str(ticket["id"]), "--at", "2026-09-29T09:05")
    assert desk("service", "escalate", "--at", "2026-09-29T17:00", json=True).json == []


def test_escalation_without_an_assignee_goes_to_the_lead_then_manager(desk, make):
    open_complaint(desk, make.customer().id, at="2026-09-29T09:00", assignee=None, team="投诉组")
    rows = desk("service", "escalate", "--at", "2026-09-29T09:09", json=True).json
    assert rows[0]["user"] == "carol"


def test_status_flow_refuses_skipping_and_reopen_brings_it_back(desk, make):
    ticket = open_complaint(desk, make.customer().id)
    tid = str(ticket["id"])
    assert desk("service", "ticket", "close", tid).exit_code == 0
    refused = desk("service", "ticket", "start", tid)
    assert refused.exit_code == 1 and "cannot go from closed to in_progress" in refused.stderr
    reopened = desk("service", "ticket", "reopen", tid, "--reason", "客户再次来电", json=True).json
    assert (reopened["status"], reopened["reopen_count"]) == ("in_progress", 1)


def test_every_ticket_event_is_on_the_customers_timeline(desk, make, crm):
    customer = make.customer()
    ticket = open_complaint(desk, customer.id, at="2026-09-29T09:00")
    tid = str(ticket["id"])
    desk("service", "ticket", "comment", tid, "已联系工程部", "--at", "2026-09-29T09:03")
    desk("service", "ticket", "comment", tid, "内部：需要主管审批", "--internal", "--at", "2026-09-29T09:04")
    desk("service", "ticket", "resolve", tid, "--at", "2026-09-29T11:00")
    with crm.unit_of_work() as uow:
        rows = uow.execute(select(activities.c.type, activities.c.source_plugin, activities.c.payload)
                           .where(activities.c.customer_id == customer.id).order_by(activities.c.id)).all()
    assert [r.payload["event"] for r in rows] == ["created", "comment", "note", "status"]
    assert {r.type for r in rows} == {"ticket"} and {r.source_plugin for r in rows} == {"callcenter"}
    shown = desk("service", "ticket", "show", tid, json=True).json
    assert shown["sla"]["first_response_status"] == "met" and shown["sla"]["resolve_status"] == "met"
    assert shown["first_response_at"] == "2026-09-29T09:03:00+08:00"  # the internal note did not count


def test_resolving_after_the_due_time_records_a_breach(desk, make):
    ticket = open_complaint(desk, make.customer().id, at="2026-09-29T09:00")
    resolved = desk("service", "ticket", "resolve", str(ticket["id"]), "--at", "2026-09-29T15:00", json=True).json
    assert resolved["sla"]["resolve_status"] == "breached"
    breaches = desk("service", "breaches", "--from", "2026-09-01", "--to", "2026-09-30", json=True).json
    assert [(b["ticket"], b["resolve"]) for b in breaches] == [(ticket["id"], "breached")]


def test_resolution_queues_one_survey_and_answers_feed_csat(desk, make, crm):
    customer = make.customer(emails=["zw@example.com"])
    ticket = open_complaint(desk, customer.id, at="2026-09-29T09:00")
    tid = str(ticket["id"])
    desk("service", "ticket", "resolve", tid, "--at", "2026-09-29T10:00")
    desk("service", "ticket", "reopen", tid)
    desk("service", "ticket", "resolve", tid, "--at", "2026-09-29T12:00")
    with crm.unit_of_work() as uow:
        sent = uow.execute(select(outbox.c.channel, outbox.c.recipient, outbox.c.body).where(
            outbox.c.dedupe_key == f"callcenter:survey:{tid}")).all()
    assert len(sent) == 1 and sent[0].channel == "email" and sent[0].recipient == "zw@example.com"
    code = desk("service", "survey", "list", json=True).json[0]["code"]
    assert code in sent[0].body
    assert desk("service", "survey", "answer", code, "--score", "4", "--comment", "处理及时").exit_code == 0
    again = desk("service", "survey", "answer", tid, "--score", "5")
    assert again.exit_code == 1 and "answered already" in again.stderr
    bad = desk("service", "survey", "answer", tid, "--score", "9")
    assert bad.exit_code == 1
    csat = desk("service", "report", "--from", "2026-09-01", "--to", "2026-12-31", json=True).json["csat"]
    assert csat["by_agent"] == [{"name": "alice", "answers": 1, "csat": 4.0}]
    assert csat["by_team"] == [{"name": "投诉组", "answers": 1, "csat": 4.0}]


def test_bad_input_names_the_field_and_writes_nothing(desk, make):
    customer = make.customer()
    result = desk("service", "ticket", "add", str(customer.id), "--type", "praise", "--subject", "x")
    assert result.exit_code == 1 and "type: 'praise' is not a ticket type" in result.stderr
    result = desk("service", "ticket", "add", str(customer.id), "--type", "投诉", "--priority", "asap", "--subject", "x")
    assert result.exit_code == 1 and "priority:" in result.stderr
    assert desk("service", "ticket", "list", json=True).json == []
    assert desk("service", "ticket", "add", str(customer.id)).exit_code == 2


def test_the_ticket_panel_shows_in_customer_show(desk, make):
    customer = make.customer()
    open_complaint(desk, customer.id)
    panel = desk("customer", "show", str(customer.id), json=True).json["panels"]["callcenter"]
    assert panel["open_tickets"] == 1 and panel["open"][0]["subject"] == "物业维修未处理"


def test_merging_customers_moves_tickets(desk, make):
    kept, other = make.customer(), make.customer()
    ticket = open_complaint(desk, other.id)
    assert desk("customer", "merge", str(kept.id), str(other.id)).exit_code == 0
    assert desk("service", "ticket", "show", str(ticket["id"]), json=True).json["customer_id"] == kept.id


def test_a_leaving_agent_hands_open_tickets_to_the_successor(desk, make, crm):
    ticket = open_complaint(desk, make.customer().id)
    with crm.unit_of_work() as uow:
        alice, bob = uow.users.find("alice"), uow.users.find("bob")
        uow.hook.crm_user_deactivated(uow=uow, user=alice, successor=bob)
    assert desk("service", "ticket", "show", str(ticket["id"]), json=True).json["assignee"] == "bob"
    assert [a["user"] for a in desk("service", "agent", "list", json=True).json] == ["bob"]


def test_an_agent_without_the_permission_cannot_configure(desk, as_user):
    as_user("zoe", permissions=["customers.view", "callcenter.handle"])
    result = desk("service", "sla", "add", "--type", "inquiry", "--first-response", "10m", as_="zoe")
    assert result.exit_code == 1 and "requires callcenter.manage" in result.stderr


def test_the_service_department_can_have_it_while_others_do_not(desk, make, as_user):
    desk("department", "add", "客服中心")
    desk("department", "add", "市场部")
    desk("plugins", "disable", "callcenter", "--department", "市场部")
    as_user("erin", permissions=["customers.view", "customers.view_all", "callcenter.view"], department="市场部")
    as_user("dave", permissions=["customers.view", "customers.view_all", "callcenter.view"], department="客服中心")
    assert desk("service", "ticket", "list", as_="dave").exit_code == 0
    refused = desk("service", "ticket", "list", as_="erin")
    assert refused.exit_code == 1 and "disabled for the department of 'erin'" in refused.stderr


def test_overdue_list_shows_only_tickets_past_due(desk, make):
    late = open_complaint(desk, make.customer().id, at="2026-09-29T09:00")
    listed = desk("service", "ticket", "list", "--overdue", json=True).json
    assert [t["id"] for t in listed] == [late["id"]]
    desk("service", "ticket", "resolve", str(late["id"]))
    assert desk("service", "ticket", "list", "--overdue", json=True).json == []

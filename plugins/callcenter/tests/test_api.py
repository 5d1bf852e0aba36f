"""The REST endpoints under /api/v1/callcenter (issue 10), against a real
server as the core's API tests do: uvicorn on a free port, httpx."""

from __future__ import annotations


import pytest
from sqlalchemy import select

from crmcore.tables import outbox

httpx = pytest.importorskip("httpx")
pytest.importorskip("litestar")

API = "/api/v1/callcenter"


@pytest.fixture
def api(api_client):
    """``api(user, *scopes)`` → an httpx client with a Bearer token (the kit's ``api_client``)."""
    return lambda user="admin", *scopes: api_client(user, *scopes)


def webhook_events(crm):
    with crm.unit_of_work() as uow:
        return [s for s in uow.execute(select(outbox.c.subject).where(outbox.c.channel == "webhook").order_by(outbox.c.id)).scalars()]


def test_tickets_are_opened_worked_and_resolved_over_the_api_and_publish_events(crm, desk, api, make):
    assert desk("webhook", "add", "http://127.0.0.1:9/hook", "--event", "callcenter.ticket.created",
                "--event", "callcenter.ticket.status_changed", "--event", "callcenter.survey.answered").exit_code == 0
    customer = make.customer(name="王芳", emails=["wf@example.com"])
    client = api("admin", "callcenter:write")
    created = client.post(f"{API}/tickets", json={"customer_id": customer.id, "type": "complaint", "priority": "high",
                                                  "subject": "物业维修未处理", "assignee": "alice", "at": "2026-09-29T09:00"})
    assert created.status_code == 201, created.text
    ticket = created.json()
    assert (ticket["status"], ticket["assignee"], ticket["sla"]["first_response_due"]) == ("assigned", "alice", "2026-09-29T09:10:00+08:00")
    tid = ticket["id"]
    assert client.post(f"{API}/tickets/{tid}/comments", json={"text": "师傅明天上门", "at": "2026-09-29T09:05"}).json()["sla"]["first_response_status"] == "met"
    assert client.patch(f"{API}/tickets/{tid}", json={"category": "物业"}).json()["category"] == "物业"
    resolved = client.post(f"{API}/tickets/{tid}/status", json={"status": "resolved", "at": "2026-09-29T10:00"})
    assert resolved.status_code == 200 and resolved.json()["status"] == "resolved"
    answered = client.post(f"{API}/surveys/{tid}/answer", json={"score": 5, "comment": "满意"})
    assert answered.json() == {"ticket": tid, "score": 5, "comment": "满意", "agent": "alice"}
    shown = client.get(f"{API}/tickets/{tid}").json()
    assert sorted(e["event"] for e in shown["events"]) == ["comment", "created", "status", "updated"] and shown["survey"]["score"] == 5
    assert [t["id"] for t in client.get(f"{API}/tickets", params={"customer_id": customer.id}).json()] == [tid]
    assert client.post(f"{API}/tickets/{tid}/reopen", json={"reason": "又漏了"}).json()["reopen_count"] == 1
    assert webhook_events(crm) == ["callcenter.ticket.created", "callcenter.ticket.status_changed", "callcenter.survey.answered",
                                   "callcenter.ticket.status_changed"]


def test_call_events_route_and_the_call_log_masks_numbers_without_the_permission(crm, desk, api, make, as_user):
    desk("webhook", "add", "http://127.0.0.1:9/hook", "--event", "callcenter.call.ended")
    customer = make.customer(name="李雷", phones=["13800138000"])
    pbx = api("admin", "callcenter:write")
    offered = pbx.post(f"{API}/calls/events", json={"event": "offered", "call": "pbx-1", "caller": "+86 138-0013-8000",
                                                    "queue": "投诉", "at": "2026-11-03T09:00:00"})
    assert offered.status_code == 200, offered.text
    assert (offered.json()["action"], offered.json()["agent"], offered.json()["call"]["customer_id"]) == ("ring", "alice", customer.id)
    for event, at in (("answered", "2026-11-03T09:00:04"), ("ended", "2026-11-03T09:05:04")):
        assert pbx.post(f"{API}/calls/events", json={"event": event, "call": "pbx-1", "at": at}).status_code == 200
    (call,) = pbx.get(f"{API}/calls").json()
    assert (call["number"], call["wait_seconds"], call["talk_seconds"], call["outcome"]) == ("13800138000", 4, 300, "answered")
    as_user("viewer", permissions=["customers.view", "customers.view_all", "callcenter.view"])
    masked = api("viewer", "callcenter:read").get(f"{API}/calls/{call['id']}").json()
    assert masked["number"] == "138****8000" and "0013" not in masked["caller"]
    pop = pbx.get(f"{API}/lookup", params={"number": "138 0013 8000"}).json()
    assert pop["found"] is True and pop["matches"][0]["customer"]["id"] == customer.id
    assert webhook_events(crm) == ["callcenter.call.ended"]
    wrong = pbx.post(f"{API}/calls/events", json={"event": "ended", "call": "pbx-1"})
    assert wrong.status_code == 409 and wrong.headers["content-type"].startswith("application/problem+json")


def test_tokens_scopes_permissions_and_department_scope_are_enforced(crm, desk, api, make, as_user):
    with crm.unit_of_work() as uow:
        north = uow.departments.add("北京分公司").id
        uow.departments.add("上海分公司")
    theirs = make.customer(name="北京客户", department_id=north)
    ticket = desk("service", "ticket", "add", str(theirs.id), "--type", "inquiry", "--subject", "咨询", json=True).json
    assert api(None).get(f"{API}/tickets").status_code == 401
    read_only = api("admin", "callcenter:read").post(f"{API}/tickets", json={"customer_id": theirs.id, "type": "inquiry", "subject": "x"})
    assert read_only.status_code == 403 and read_only.json()["permission"] == "callcenter:write"
    as_user("viewer", permissions=["customers.view", "customers.view_all", "callcenter.view"])
    refused = api("viewer").post(f"{API}/tickets/{ticket['id']}/comments", json={"text": "hi"})
    assert refused.status_code == 403 and refused.json()["permission"] == "callcenter.handle"
    as_user("sh", permissions=["customers.view", "callcenter.view", "callcenter.handle"], department="上海分公司")
    assert api("sh").get(f"{API}/tickets/{ticket['id']}").status_code == 404  # another department's customer
    assert api("sh").get(f"{API}/tickets").json() == []
    desk("plugins", "disable", "callcenter", "--department", "上海分公司")
    disabled = api("sh").get(f"{API}/tickets")
    assert disabled.status_code == 404 and "not enabled" in disabled.json()["detail"]


def test_bad_input_is_a_problem_not_a_server_error_and_posts_are_idempotent(crm, desk, api, make):
    customer = make.customer()
    client = api()
    bad_type = client.post(f"{API}/tickets", json={"customer_id": customer.id, "type": "praise", "subject": "x"})
    assert bad_type.status_code == 422 and bad_type.json()["errors"][0]["field"] == "type"
    assert client.post(f"{API}/tickets", json={"customer_id": customer.id, "type": "inquiry", "subject": "x", "sneaky": 1}).status_code == 400
    assert client.post(f"{API}/surveys/999/answer", json={"score": 9}).status_code == 400
    assert client.get(f"{API}/tickets/999").status_code == 404
    body = {"customer_id": customer.id, "type": "inquiry", "subject": "账单问题"}
    first = client.post(f"{API}/tickets", json=body, headers={"Idempotency-Key": "t-1"})
    again = client.post(f"{API}/tickets", json=body, headers={"Idempotency-Key": "t-1"})
    assert again.json()["id"] == first.json()["id"] and again.headers.get("Idempotent-Replayed") == "true"
    assert len(client.get(f"{API}/tickets").json()) == 1
    paths = api(None).get("/api/schema").json()["paths"]
    assert {f"{API}/tickets", f"{API}/tickets/{{ticket_id}}", f"{API}/calls/events", f"{API}/lookup"} <= set(paths)
    report = client.get(f"{API}/report", params={"from": "2026-11-01", "to": "2026-11-30"})
    assert report.status_code == 200 and report.json()["calls"]["offered"] == 0

"""``/api/v1/campaigns/…`` against a real server (uvicorn on a free port,
httpx as the client), as the core's tests/api do."""

from __future__ import annotations

import json

import pytest

httpx = pytest.importorskip("httpx")
pytest.importorskip("litestar")

SHANGHAI = {"criteria": [{"field": "city", "op": "eq", "value": "上海"}]}


@pytest.fixture
def shop(crm, make, service):
    """Three Shanghai customers (one without consent) and an approved e-mail campaign."""
    made = [make.customer(name="王芳", city="上海", emails=["wang@example.com"], phones=["13900000001"]),
            make.customer(name="李雷", city="上海", emails=["li@example.com"], phones=["13900000002"]),
            make.customer(name="韩梅", city="上海", emails=["han@example.com"], consent=False)]

    def build(s):
        s.add_segment("上海", SHANGHAI)
        s.add("春季促销", segment="上海", channels=["email"], budget="1000")
        s.add_template("春季促销", channel="email", subject="{{ customer.name }}，春季特惠", body="您好")
        s.approve("春季促销")
        return s.get("春季促销").id

    return made, service(build)


@pytest.fixture
def api(api_client):
    """``api(user, *scopes)`` → an httpx client with a Bearer token (the kit's ``api_client``)."""
    return lambda user="admin", *scopes: api_client(user, *scopes, prefix='/api/v1/campaigns')


def test_launch_messages_responses_and_stats_over_the_api(crm, shop, api, cli, receiver_events):
    (wang, li, han), campaign_id = shop
    admin = api()
    assert [c["name"] for c in admin.get("/campaigns").json()] == ["春季促销"]
    shown = admin.get(f"/campaigns/{campaign_id}").json()
    assert shown["status"] == "approved" and shown["segment"] == "上海" and shown["steps"][0]["channel"] == "email"

    launched = admin.post(f"/campaigns/{campaign_id}/launch")
    assert launched.status_code == 200, launched.text
    assert launched.json() == {"queued": 2, "listed": 0, "suppressed": 1, "errors": 0, "campaign": "春季促销",
                               "audience": 3, "target": 3, "control": 0}
    sent = {m["customer_id"]: (m["status"], m["reason"]) for m in admin.get(f"/campaigns/{campaign_id}/messages").json()}
    assert sent == {wang.id: ("queued", None), li.id: ("queued", None), han.id: ("suppressed", "no consent")}
    assert admin.get(f"/campaigns/{campaign_id}/messages", params={"status": "suppressed"}).json()[0]["customer_id"] == han.id

    body = {"customer_id": wang.id, "type": "bought", "amount": "288.50", "note": "门店"}
    first = admin.post(f"/campaigns/{campaign_id}/responses", json=body, headers={"Idempotency-Key": "wang-bought-1"})
    assert first.status_code == 201, first.text
    again = admin.post(f"/campaigns/{campaign_id}/responses", json=body, headers={"Idempotency-Key": "wang-bought-1"})
    assert again.json() == first.json() and again.headers.get("Idempotent-Replayed") == "true"
    assert [(r["type"], r["amount"]) for r in admin.get(f"/campaigns/{campaign_id}/responses").json()] == [("bought", "288.50")]

    stats = admin.get(f"/campaigns/{campaign_id}/stats").json()
    assert (stats["sent"], stats["suppressed"], stats["conversions"], stats["revenue"]) == (2, 1, 1, "288.50")
    assert receiver_events() == [("campaigns.campaign.launched", None), ("campaigns.response.recorded", wang.id)]


def test_errors_are_problems_as_the_core_maps_them(crm, shop, api):
    (wang, li, han), campaign_id = shop
    admin = api()
    assert admin.get("/campaigns/999").status_code == 404
    not_running = admin.post(f"/campaigns/{campaign_id}/run")
    assert not_running.status_code == 409 and not_running.headers["content-type"].startswith("application/problem+json")
    assert admin.post(f"/campaigns/{campaign_id}/launch").status_code == 200
    refused = admin.post(f"/campaigns/{campaign_id}/responses", json={"customer_id": han.id, "type": "clicked"})
    assert refused.status_code == 422 and refused.json()["errors"][0]["field"] == "customer"
    no_amount = admin.post(f"/campaigns/{campaign_id}/responses", json={"customer_id": wang.id, "type": "bought"})
    assert no_amount.status_code == 422 and no_amount.json()["errors"][0]["field"] == "amount"
    unknown = admin.post(f"/campaigns/{campaign_id}/responses", json={"customer_id": wang.id, "type": "clicked", "x": 1})
    assert unknown.status_code == 400
    assert admin.get(f"/campaigns/{campaign_id}/messages", params={"status": "lost"}).status_code == 400
    assert admin.post(f"/campaigns/{campaign_id}/run", json={"step": 1}).json()["queued"] == 0


def test_scopes_permissions_and_masking(crm, shop, api, as_user):
    (wang, li, han), campaign_id = shop
    assert api("admin").post(f"/campaigns/{campaign_id}/launch").status_code == 200
    read_only = api("admin", "campaigns:read")
    assert read_only.get("/campaigns").status_code == 200
    denied = read_only.post("/optouts", json={"customer_id": wang.id, "channel": "sms"})
    assert denied.status_code == 403 and denied.json()["permission"] == "campaigns:write"
    as_user("viewer", permissions=["customers.view", "customers.view_all", "campaigns.view"])
    viewer = api("viewer")
    recipients = {m["customer_id"]: m["recipient"] for m in viewer.get(f"/campaigns/{campaign_id}/messages").json()}
    assert recipients[wang.id] == "w***@example.com"
    refused = viewer.post("/optouts", json={"customer_id": wang.id, "channel": "sms"})
    assert refused.status_code == 403 and refused.json()["permission"] == "campaigns.optout"


def test_opt_outs_and_segments(crm, shop, api):
    (wang, li, han), campaign_id = shop
    admin = api()
    assert admin.post(f"/campaigns/{campaign_id}/launch").status_code == 200
    done = admin.post("/optouts", json={"customer_id": wang.id, "channel": "email", "reason": "来电"})
    assert done.status_code == 201 and done.json() == {"customer_id": wang.id, "channel": "email", "opted_out": True, "withdrawn": 1}
    assert admin.delete(f"/optouts/{wang.id}/email").json()["opted_out"] is False
    assert admin.delete(f"/optouts/{wang.id}/email").status_code == 404
    (segment,) = admin.get("/segments").json()
    assert segment["name"] == "上海" and segment["criteria"]["criteria"][0]["value"] == "上海"
    preview = admin.get(f"/segments/{segment['id']}/preview", params={"limit": 2}).json()
    assert preview["count"] == 3 and [c["name"] for c in preview["sample"]] == ["王芳", "李雷"]


@pytest.fixture
def receiver_events(crm, cli):
    """Subscribe to every campaigns event; ``receiver_events()`` → the
    (event, customer_id) queued in the outbox so far."""
    from crm_campaigns.plugin import EVENTS

    args = ["webhook", "add", "http://127.0.0.1:9/hook"]
    for name in EVENTS:
        args += ["--event", name]
    assert cli(*args).exit_code == 0

    def queued():
        with crm.unit_of_work() as uow:
            bodies = [json.loads(m.body) for m in reversed(uow.outbox.list()) if m.channel == "webhook"]
        return [(b["event"], b["data"].get("customer_id")) for b in bodies]

    return queued

"""The REST endpoints under /api/v1/membership (issue 10), against a real
server as the core's API tests do: uvicorn on a free port, httpx."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from crmcore.tables import outbox

httpx = pytest.importorskip("httpx")
pytest.importorskip("litestar")

API = "/api/v1/membership"


@pytest.fixture
def api(api_client):
    """``api(user, *scopes)`` → an httpx client with a Bearer token (the kit's ``api_client``)."""
    return lambda user="admin", *scopes: api_client(user, *scopes)


def webhook_events(crm):
    """The webhook deliveries queued in the outbox: their JSON bodies."""
    with crm.unit_of_work() as uow:
        return [json.loads(body) for body in uow.execute(select(outbox.c.body).where(outbox.c.channel == "webhook").order_by(outbox.c.id)).scalars()]


def test_join_points_redeem_and_cancel_over_the_api_publish_events(crm, api, make, cli, club):
    assert cli("webhook", "add", "http://127.0.0.1:9/hook", "--event", "membership.member.joined", "--event", "membership.points.adjusted",
               "--event", "membership.reward.redeemed", "--event", "membership.redemption.cancelled").exit_code == 0
    customer = make.customer(name="王芳", phones=["13900000001"])
    club.service(lambda s: s.redemption.add_reward("电影票", points=300, stock=10))
    admin = api()

    joined = admin.post(f"{API}/members", json={"customer_id": customer.id, "tier": "银卡"})
    assert joined.status_code == 201, joined.text
    card = joined.json()["card_number"]
    assert (joined.json()["tier"], joined.json()["reward_points"]) == ("银卡", 0)
    assert admin.get(f"{API}/customers/{customer.id}").json()["card_number"] == card

    body = {"points": 500, "reason": "活动奖励"}
    first = admin.post(f"{API}/members/{card}/points", json=body, headers={"Idempotency-Key": "pts-1"})
    again = admin.post(f"{API}/members/{card}/points", json=body, headers={"Idempotency-Key": "pts-1"})
    assert first.status_code == 200, first.text
    assert again.headers.get("Idempotent-Replayed") == "true" and again.json() == first.json()
    assert first.json()["member"]["reward_points"] == 500

    redeemed = admin.post(f"{API}/members/{card}/redemptions", json={"reward": "电影票"}, headers={"Idempotency-Key": "r-1"})
    assert redeemed.status_code == 201 and redeemed.json()["reward_points"] == 200
    assert [r["reward"] for r in admin.get(f"{API}/redemptions", params={"card": card}).json()] == ["电影票"]
    cancelled = admin.post(f"{API}/redemptions/{redeemed.json()['redemption']}/cancel", json={"reason": "改期"})
    assert cancelled.status_code == 200 and cancelled.json()["reward_points"] == 500

    shown = admin.get(f"{API}/members/{card}", params={"entries": 5}).json()
    assert shown["reward_points"] == 500 and len(shown["entries"]) == 3
    assert [e["points"] for e in admin.get(f"{API}/members/{card}/ledger").json()] == [300, -300, 500]
    assert [m["card_number"] for m in admin.get(f"{API}/members").json()] == [card]
    assert club.check() == []

    events = [e["event"] for e in webhook_events(crm)]
    assert events == ["membership.member.joined", "membership.points.adjusted", "membership.reward.redeemed", "membership.redemption.cancelled"]
    assert all(e["data"]["customer_id"] == customer.id for e in webhook_events(crm))


def test_applications_are_reviewed_over_the_api_and_masked_without_contact_details(crm, api, make, as_user, club):
    as_user("clerk", permissions=["customers.view", "customers.view_all", "membership.view", "membership.apply"])
    customer = make.customer(name="李雷", phones=["13700001111"], emails=["li.lei@example.com"])
    filed = api("admin").post(f"{API}/applications", json={"customer_id": customer.id, "channel": "web", "id_number": "110101199001011234"})
    assert filed.status_code == 201, filed.text
    assert (filed.json()["phone"], filed.json()["id_number"]) == ("13700001111", "110101199001011234")
    masked = api("clerk", "membership:read").get(f"{API}/applications").json()
    assert [(a["name"], a["id_number"], a["email"]) for a in masked] == [("李雷", "****", "l***@example.com")]
    assert "****" in masked[0]["phone"]

    refused = api("clerk", "membership:write").post(f"{API}/applications/{filed.json()['id']}/approve")
    assert refused.status_code == 403 and refused.json()["permission"] == "membership.approve"
    approved = api("admin").post(f"{API}/applications/{filed.json()['id']}/approve", json={"tier": "金卡"})
    assert approved.status_code == 200 and approved.json()["tier"] == "金卡"
    twice = api("admin").post(f"{API}/applications/{filed.json()['id']}/approve")
    assert twice.status_code == 409


def test_scopes_errors_and_the_schema(crm, api, make, club):
    card = club.member()["card_number"]
    assert api(None).get(f"{API}/members").status_code == 401
    unscoped = api("admin", "customers:read").get(f"{API}/members")
    assert unscoped.status_code == 403 and unscoped.json()["permission"] == "membership:read"
    read_only = api("admin", "membership:read").post(f"{API}/members/{card}/points", json={"points": 1, "reason": "r"})
    assert read_only.status_code == 403 and read_only.json()["permission"] == "membership:write"
    admin = api()
    assert admin.get(f"{API}/members/NOPE").status_code == 404
    assert admin.post(f"{API}/members/{card}/points", json={"points": 1}).status_code == 400  # reason missing
    assert admin.post(f"{API}/members/{card}/points", json={"points": 1, "reason": "r", "extra": 1}).status_code == 400
    too_much = admin.post(f"{API}/members/{card}/points", json={"points": -100, "reason": "r"})
    assert too_much.status_code in (409, 422) and too_much.headers["content-type"].startswith("application/problem+json")
    unknown = admin.post(f"{API}/members/{card}/redemptions", json={"reward": "不存在"})
    assert unknown.status_code == 404

    document = api(None).get("/api/schema").json()
    assert {"/api/v1/membership/members", "/api/v1/membership/members/{card}/points",
            "/api/v1/membership/applications/{app_id}/approve"} <= set(document["paths"])


def test_members_outside_the_users_department_are_404(crm, api, make, as_user, club):
    as_user("bj", permissions=["customers.view", "membership.view"], department="北京分公司")
    as_user("sh", permissions=["customers.view"], department="上海分公司")
    with crm.unit_of_work() as uow:
        shanghai = uow.departments.get("上海分公司").id
    card = club.member(department_id=shanghai)["card_number"]
    outsider = api("bj", "membership:read")
    assert outsider.get(f"{API}/members/{card}").status_code == 404
    assert outsider.get(f"{API}/members").json() == []

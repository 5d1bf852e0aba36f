"""The partners endpoints under /api/v1/partners/, served by a real server
(uvicorn in a thread, httpx as the client), as the core's API tests do."""

import json
from datetime import timedelta

import pytest

httpx = pytest.importorskip("httpx")
pytest.importorskip("litestar")

from sqlalchemy import select  # noqa: E402

from crmcore.tables import outbox  # noqa: E402


@pytest.fixture
def api(api_client):
    """``api(user, *scopes)`` → an httpx client with a Bearer token (the kit's ``api_client``)."""
    return lambda user="admin", *scopes: api_client(user, *scopes, prefix='/api/v1/partners')


def test_the_partner_lifecycle_over_the_api_publishes_its_events(crm, api, org, make, service, cli):
    assert cli("webhook", "add", "http://127.0.0.1:9/hook", "--event", "partners.registration.won",
               "--event", "partners.commissions.computed").exit_code == 0
    events = {e["event"] for e in cli("webhook", "events", json=True).json}
    assert {"partners.registration.created", "partners.registration.approved", "partners.registration.won",
            "partners.lead.assigned", "partners.commissions.computed"} <= events
    admin = api("admin", "partners:write")
    company = org("上海明源地产有限公司", emails=["channel@mingyuan.example"], city="上海")
    added = admin.post("/", json={"customer_id": company.id, "type": "reseller", "grade": "金牌", "territories": ["上海"]})
    assert added.status_code == 201, added.text
    assert added.json()["id"] == company.id and added.json()["grade"] == "金牌"
    today = service(lambda s: s.today())
    agreement = admin.post(f"/{company.id}/agreements", json={"starts_on": str(today - timedelta(days=30)),
                                                              "ends_on": str(today + timedelta(days=300)), "commission": "10%"})
    assert agreement.status_code == 201 and agreement.json()["state"] == "active"
    end = make.customer(name="王芳", city="上海", status="potential")
    registered = admin.post("/registrations", json={"partner_id": company.id, "customer_id": end.id, "amount": "200000",
                                                    "close": str(today), "product": "CRM 专业版"})
    assert registered.status_code == 201, registered.text
    reg = registered.json()
    assert reg["status"] == "approved" and reg["expected_amount"] == "200000.00" and reg["customer"] == "王芳"
    won = admin.post(f"/registrations/{reg['id']}/won", json={"amount": "180000", "date": str(today)})
    assert won.status_code == 200 and won.json()["won_amount"] == "180000.00"

    period = f"{today.year}-{today.month:02d}"
    key = {"Idempotency-Key": f"commissions-{period}"}
    first = admin.post("/commissions", json={"period": period}, headers=key)
    assert first.status_code == 200, first.text
    assert first.json()["computed"] == 1 and first.json()["total"] == "18000.00" and first.json()["from"] == f"{period}-01"
    again = admin.post("/commissions", json={"period": period}, headers=key)
    assert again.headers.get("Idempotent-Replayed") == "true" and again.json() == first.json()
    assert admin.post("/commissions", json={"period": period}).json()["computed"] == 0  # never paid twice anyway
    [summary] = admin.get("/commissions", params={"period": period}).json()
    assert (summary["partner_id"], summary["net"]) == (company.id, "18000.00")

    offer = admin.post(f"/leads/{end.id}/assign", json={"auto": True})
    assert offer.status_code == 201, offer.text
    assert offer.json()["partner_id"] == company.id and offer.json()["notice"] == "queued"
    accepted = admin.post(f"/assignments/{offer.json()['id']}/accept")
    assert accepted.status_code == 200 and accepted.json()["status"] == "accepted"
    assert [a["status"] for a in admin.get("/assignments", params={"lead_id": end.id}).json()] == ["accepted"]

    assert [p["id"] for p in admin.get("/").json()] == [company.id]
    assert admin.get(f"/{company.id}").json()["name"] == "上海明源地产有限公司"
    assert [r["id"] for r in admin.get("/registrations", params={"partner_id": company.id}).json()] == [reg["id"]]
    assert admin.get("/performance", params={"period": period}).json()[0]["revenue"] == "180000.00"
    with crm.unit_of_work() as uow:
        hooks = uow.execute(select(outbox.c.subject, outbox.c.body).where(outbox.c.channel == "webhook")).all()
    assert [h.subject for h in hooks] == ["partners.registration.won", "partners.commissions.computed"]
    assert json.loads(hooks[0].body)["data"]["customer_id"] == end.id


def test_errors_are_mapped_as_the_core_maps_them(crm, api, partner, make, as_user, service):
    pid = partner()
    end = make.customer(name="李雷")
    admin = api("admin", "partners:write")
    assert admin.get("/999999").status_code == 404
    unknown = admin.post("/registrations", json={"partner_id": pid, "customer_id": end.id, "amount": "1", "close": "2026-09-30",
                                                 "colour": "red"})
    assert unknown.status_code == 400
    itself = admin.post("/registrations", json={"partner_id": pid, "customer_id": pid, "amount": "1", "close": "2026-09-30"})
    assert itself.status_code == 422 and itself.json()["errors"][0]["field"] == "customer"
    assert admin.post("/registrations", json={"partner_id": pid, "customer_id": end.id, "amount": "1", "close": "2026-09-30"}).status_code == 201
    twice = admin.post("/registrations", json={"partner_id": pid, "customer_id": end.id, "amount": "1", "close": "2026-09-30"})
    assert twice.status_code == 409
    read_only = api("admin", "partners:read").post("/commissions", json={"period": "2026-Q2"})
    assert read_only.status_code == 403 and read_only.json()["permission"] == "partners:write"
    as_user("viewer", permissions=["customers.view", "customers.view_all", "partners.view"])
    viewer = api("viewer", "*")
    assert viewer.get(f"/{pid}").status_code == 200
    refused = viewer.post("/registrations", json={"partner_id": pid, "customer_id": end.id, "amount": "1", "close": "2026-09-30"})
    assert refused.status_code == 403 and refused.json()["permission"] == "partners.register"
    assert api(None).get("/").status_code == 401
    as_user("bj", permissions=["customers.view", "customers.view_all", "partners.view"], department="北京分公司")
    with crm.unit_of_work() as uow:
        uow.plugin_settings.set("partners", False, uow.departments.get("北京分公司").id)
    assert api("bj", "*").get("/").status_code == 404


def test_conflict_details_are_masked_for_readers_who_may_not_see_contact_details(crm, api, partner, make, as_user, cli):
    first, second = partner("甲公司"), partner("乙公司")
    zhang = make.customer(name="张伟", phones=["13800138000"])
    duplicate = make.customer(name="张伟（重复）", phones=["+86 13800138000"])
    assert cli("partners", "register", str(first), "--customer", str(zhang.id), "--amount", "1", "--close", "2026-09-30").exit_code == 0
    reg = cli("partners", "register", str(second), "--customer", str(duplicate.id), "--amount", "1", "--close", "2026-09-30", json=True).json
    as_user("viewer", permissions=["customers.view", "customers.view_all", "partners.view"])
    seen = api("viewer", "partners:read").get(f"/registrations/{reg['id']}").json()
    assert seen["conflicts"][0]["match"].startswith("same phone 138") and "13800138000" not in json.dumps(seen)
    assert api("admin", "partners:read").get(f"/registrations/{reg['id']}").json()["conflicts"][0]["match"] == "same phone 13800138000"


def test_the_endpoints_are_in_the_openapi_document(api):
    client = api(None)  # the document lives outside the plugin's prefix
    document = httpx.get(str(client.base_url).replace("/api/v1/partners", "/api/schema"), timeout=30).json()
    paths = document["paths"]
    assert {"/api/v1/partners", "/api/v1/partners/registrations", "/api/v1/partners/commissions",
            "/api/v1/partners/leads/{lead_id}/assign"} <= set(paths)
    assert {"401", "403", "404", "422"} <= set(paths["/api/v1/partners/registrations"]["post"]["responses"])

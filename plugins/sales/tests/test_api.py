"""/api/v1/sales/… through a real server (uvicorn in a thread) and httpx, as
the core's API tests do; webhook events published by the services."""

from __future__ import annotations



import pytest

httpx = pytest.importorskip("httpx")
pytest.importorskip("uvicorn")
pytest.importorskip("litestar")

SALES = ["customers.view", "customers.view_all", "customers.edit", "sales.edit"]
PROBLEM = "application/problem+json"


@pytest.fixture
def api(api_client):
    """``api(user, *scopes)`` → an httpx client with a Bearer token (the kit's ``api_client``)."""
    return lambda user="admin", *scopes: api_client(user, *scopes, prefix="/api/v1/sales")


@pytest.fixture
def alice(as_user):
    return as_user("alice", permissions=SALES)


def webhook_events(crm):
    with crm.unit_of_work() as uow:
        return [m.subject for m in reversed(uow.outbox.list()) if m.channel == "webhook" and m.subject.startswith("sales.")]


def test_opportunity_quote_and_win_through_the_api_publish_events(crm, api, alice, make, cli):
    assert cli("webhook", "add", "http://127.0.0.1:9/hook", "--event", "*").exit_code == 0
    customer = make.customer(name="上海明源地产有限公司", kind="organization", emails=["buyer@mingyuan.example"])
    client = api("alice", "sales:write")
    body = {"customer_id": customer.id, "name": "总部大楼项目", "amount": "50万", "expected_close": "2026-12-31",
            "competitors": ["用友"]}
    first = client.post("/opportunities", json=body, headers={"Idempotency-Key": "opp-1"})
    again = client.post("/opportunities", json=body, headers={"Idempotency-Key": "opp-1"})
    assert first.status_code == again.status_code == 201, first.text
    assert again.json() == first.json() and again.headers["Idempotent-Replayed"] == "true"
    opp = first.json()
    assert (opp["amount"], opp["stage"], opp["probability"], opp["owner"], opp["expected_close"]) == (
        "500000.00", "qualification", 10, "alice", "2026-12-31")
    assert [o["id"] for o in client.get("/opportunities", params={"open": True}).json()] == [opp["id"]]

    patched = client.patch(f"/opportunities/{opp['id']}", json={"notes": "客户认可方案", "probability": 20}).json()
    assert (patched["notes"], patched["probability"]) == ("客户认可方案", 20)
    moved = client.post(f"/opportunities/{opp['id']}/stage", json={"to": "方案报价"})
    assert moved.status_code == 200 and moved.json()["stage"] == "proposal"
    history = client.get(f"/opportunities/{opp['id']}/history").json()
    assert [(h["from_stage"], h["to_stage"]) for h in history] == [(None, "qualification"), ("qualification", "proposal")]

    quote = client.post(f"/opportunities/{opp['id']}/quotes", json={"lines": [
        {"product": "服务器", "quantity": "2", "unit_price": "48000", "discount": "10%"},
        {"product": "实施服务(人天)", "quantity": "15", "unit_price": "2500", "discount": "9折"}]})
    assert quote.status_code == 201, quote.text
    quote = quote.json()
    assert (quote["status"], quote["total"], [l["amount"] for l in quote["lines"]]) == ("draft", "120150.00", ["86400.00", "33750.00"])
    sent = client.post(f"/quotes/{quote['id']}/send", json={"email": True})
    assert sent.status_code == 200 and sent.json()["status"] == "sent"
    accepted = client.post(f"/quotes/{quote['id']}/accept", json={})
    assert accepted.status_code == 200 and accepted.json()["status"] == "accepted"
    won = client.get(f"/opportunities/{opp['id']}").json()
    assert (won["stage"], won["amount"], won["outcome"]) == ("won", "120150.00", "won")
    assert [q["id"] for q in client.get("/quotes", params={"status": "accepted"}).json()] == [quote["id"]]

    pipeline = client.get("/pipeline").json()
    assert pipeline["total"]["won_amount"] == "120150.00"
    assert client.get("/forecast", params={"period": "2026"}).status_code == 200

    events = webhook_events(crm)
    assert events == ["sales.opportunity.created", "sales.opportunity.stage_changed", "sales.quote.sent",
                      "sales.opportunity.stage_changed", "sales.opportunity.won", "sales.quote.accepted"]
    with crm.unit_of_work() as uow:
        mail = [m for m in uow.outbox.list() if m.channel == "email"]
    assert [(m.purpose, m.customer_id) for m in mail] == [("service", customer.id)]


def test_errors_are_the_cores_problems(crm, api, alice, as_user, make):
    as_user("viewer", permissions=["customers.view", "customers.view_all"])
    as_user("bj", permissions=["customers.view", "sales.edit"], department="北京分公司")
    customer = make.customer(name="张伟", emails=["zw@example.com"])
    client = api("alice", "sales:write")
    opp = client.post("/opportunities", json={"customer_id": customer.id, "name": "项目", "amount": "1000"}).json()

    unscoped = api("alice", "customers:write").get("/opportunities")
    assert unscoped.status_code == 403 and unscoped.json()["permission"] == "sales:read"
    read_only = api("alice", "sales:read").post("/opportunities", json={"customer_id": customer.id, "name": "x"})
    assert read_only.status_code == 403 and read_only.json()["permission"] == "sales:write"
    no_permission = api("viewer", "*").post("/opportunities", json={"customer_id": customer.id, "name": "x"})
    assert no_permission.status_code == 403 and no_permission.json()["permission"] == "sales.edit"
    assert api("viewer", "*").get(f"/opportunities/{opp['id']}").status_code == 200
    out_of_scope = api("bj", "*").get(f"/opportunities/{opp['id']}")  # the customer is not in 北京分公司's subtree
    assert out_of_scope.status_code == 404 and out_of_scope.headers["content-type"].startswith(PROBLEM)

    lost = client.post(f"/opportunities/{opp['id']}/stage", json={"to": "lost"})
    assert lost.status_code == 422 and lost.json()["errors"][0]["field"] == "reason"
    bad_amount = client.post("/opportunities", json={"customer_id": customer.id, "name": "x", "amount": "很多"})
    assert bad_amount.status_code == 422 and bad_amount.json()["errors"][0]["field"] == "amount"
    unknown = client.post("/opportunities", json={"customer_id": customer.id, "name": "x", "colour": "red"})
    assert unknown.status_code == 400
    assert client.get("/opportunities/999999").status_code == 404

    crm.config.extra["privacy"] = {"consent_required": ["marketing", "service"]}
    quote = client.post(f"/opportunities/{opp['id']}/quotes", json={"lines": [{"product": "A", "quantity": "1", "unit_price": "10"}]}).json()
    refused = client.post(f"/quotes/{quote['id']}/send", json={"email": True})
    assert refused.status_code == 409 and "no consent" in refused.json()["detail"]
    assert client.get(f"/quotes/{quote['id']}").json()["status"] == "draft"


def test_visit_plans_follow_the_planning_rule(crm, api, alice, as_user, make):
    as_user("bob", permissions=SALES)
    customer = make.customer(name="钟海燕")
    client = api("alice", "sales:write")
    made = client.post("/plans", json={"user": "alice", "customer_id": customer.id, "purpose": "方案汇报", "planned_date": "2026-12-08"})
    assert made.status_code == 201, made.text
    assert (made.json()["month"], made.json()["status"]) == ("2026-12", "planned")
    for_bob = client.post("/plans", json={"user": "bob", "customer_id": customer.id, "purpose": "x", "planned_date": "2026-12-09"})
    assert for_bob.status_code == 403 and for_bob.json()["permission"] == "sales.manage"
    assert [p["purpose"] for p in client.get("/plans", params={"month": "2026-12"}).json()] == ["方案汇报"]
    assert client.delete(f"/plans/{made.json()['id']}").status_code == 204
    assert client.get("/plans").json() == []


def test_the_schema_documents_the_sales_routes(api_client):
    document = api_client(None).get("/api/schema").json()
    paths = {p for p in document["paths"] if p.startswith("/api/v1/sales/")}
    assert {"/api/v1/sales/opportunities", "/api/v1/sales/opportunities/{opportunity_id}/stage", "/api/v1/sales/quotes/{quote_id}/send",
            "/api/v1/sales/pipeline", "/api/v1/sales/plans"} <= paths
    assert {"401", "403", "404", "422"} <= set(document["paths"]["/api/v1/sales/opportunities"]["post"]["responses"])


def test_events_are_declared(cli):
    events = {e["event"] for e in cli("webhook", "events", json=True).json}
    assert {"sales.opportunity.created", "sales.opportunity.won", "sales.opportunity.lost", "sales.quote.accepted"} <= events


def test_schemathesis_finds_no_server_error_in_the_sales_routes(crm, api_client, make, opp):
    """The core's property-based run, over the sales operations only."""
    schemathesis = pytest.importorskip("schemathesis")
    from hypothesis import HealthCheck, Phase, given, settings
    from schemathesis import checks

    from crmcore.tokens import TokenService

    customer = make.customer(name="张伟", emails=["zw@example.com"])
    opp(customer.id, name="总部大楼项目")
    with crm.unit_of_work() as uow:
        token = TokenService(uow).create("admin", ("*",))[1]
    schema = schemathesis.openapi.from_url(f"{api_client.url}/api/schema")
    found = [checks.not_a_server_error, checks.status_code_conformance, checks.content_type_conformance,
             checks.response_headers_conformance, checks.response_schema_conformance]
    failures, operations = [], 0
    for result in schema.get_all_operations():
        operation = result.ok()
        if not operation.path.startswith("/api/v1/sales/"):
            continue
        operations += 1

        @settings(max_examples=4, deadline=None, derandomize=True, database=None, phases=[Phase.explicit, Phase.generate],
                  suppress_health_check=list(HealthCheck))
        @given(case=operation.as_strategy())
        def check(case) -> None:
            case.call_and_validate(base_url=api_client.url, headers={"Authorization": f"Bearer {token}"}, checks=found)

        try:
            check()
        except Exception as error:
            failures.append(f"{operation.method.upper()} {operation.path}: {error}")
    assert operations >= 18
    assert not failures, "\n\n".join(failures)

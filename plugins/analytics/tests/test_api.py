"""The analytics endpoints under /api/v1/analytics/, served by a real server
(uvicorn in a thread, httpx as the client), as the core's API tests do."""

from __future__ import annotations

import json

import pytest

httpx = pytest.importorskip("httpx")
pytest.importorskip("litestar")

from sqlalchemy import select  # noqa: E402

from crmcore.tables import outbox  # noqa: E402


@pytest.fixture
def api(api_client):
    """``api(user, *scopes)`` → an httpx client with a Bearer token (the kit's ``api_client``)."""
    return lambda user="admin", *scopes: api_client(user, *scopes, prefix='/api/v1/analytics')


@pytest.fixture
def bought(load_purchases):
    rows = []
    for k in range(1, 31):  # customer k: k % 6 + 1 purchases
        rows += [(k, f"2024-{1 + (i % 5):02d}-{1 + k % 27:02d}T10:00", 10 * k) for i in range(k % 6 + 1)]
    return load_purchases(rows)


def test_scoring_over_the_api_stores_scores_lists_them_and_publishes_events(crm, api, bought, cli):
    assert cli("webhook", "add", "http://127.0.0.1:9/hook", "--event", "analytics.scores.computed",
               "--event", "analytics.model.fitted").exit_code == 0
    admin = api("admin", "analytics:write")
    result = admin.post("/score", json={"as_of": "2024-06-30", "window": "all", "horizon": "26w", "margin": 0.3, "discount": 0.1},
                        headers={"Idempotency-Key": "score-2024-06-30"})
    assert result.status_code == 200, result.text
    assert result.json()["clv"]["customers"] == 30 and result.json()["as_of"] == "2024-06-30"
    replay = admin.post("/score", json={"as_of": "2024-06-30", "window": "all", "horizon": "26w", "margin": 0.3, "discount": 0.1},
                        headers={"Idempotency-Key": "score-2024-06-30"})
    assert replay.headers.get("Idempotent-Replayed") == "true"

    person = bought[12]
    scores = admin.get(f"/customers/{person}").json()
    assert scores["customer_id"] == person and set(scores) == {"customer_id", "rfm", "value", "clv", "lifecycle"}
    assert 0 <= scores["clv"]["p_alive"] <= 1 and scores["rfm"]["segment"] and scores["value"]["grade"]
    best = admin.get("/clv", params={"limit": 5}).json()
    assert len(best) == 5 and best[0]["clv"] >= best[-1]["clv"]
    risky = admin.get("/churn", params={"above": 0.0, "order": "risk"}).json()
    assert all(r["churn_risk"] > 0 for r in risky)
    latest = admin.get("/models/latest").json()
    assert admin.get(f"/models/{latest['model_id']}").json() == latest and latest["customers"] == 30
    assert [m["model_id"] for m in admin.get("/models").json()] == [latest["model_id"]]
    assert {r["code"] for r in admin.get("/rules", params={"kind": "grade"}).json()} >= {"vip", "normal"}
    fitted = admin.post("/fit", json={"period_to": "2024-06-30"})
    assert fitted.status_code == 201 and fitted.json()["model_id"] > latest["model_id"]

    with crm.unit_of_work() as uow:
        hooks = [json.loads(body) for body in uow.execute(select(outbox.c.body).where(outbox.c.channel == "webhook")).scalars()]
    kinds = [h["data"].get("kind") or h["event"] for h in hooks]
    assert kinds == ["rfm", "grades", "analytics.model.fitted", "clv", "lifecycle", "analytics.model.fitted"]


def test_errors_permissions_and_scope(crm, api, bought, as_user, make):
    admin = api("admin", "analytics:write")
    assert admin.get(f"/customers/{bought[1]}").status_code == 404  # no scores yet
    assert admin.get("/customers/999999").status_code == 404
    assert admin.post("/score", json={"margin": 2}).status_code == 400
    bad = admin.post("/score", json={"horizon": "soon"})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "horizon"
    assert admin.post("/score", json={"as_of": "2024-06-30", "window": "all", "horizon": "26w"}).status_code == 200
    read_only = api("admin", "analytics:read").post("/score", json={})
    assert read_only.status_code == 403 and read_only.json()["permission"] == "analytics:write"
    as_user("viewer", permissions=["customers.view", "analytics.view"], department="北京分公司")
    viewer = api("viewer", "*")
    assert viewer.get("/clv").json() == []  # none of the bought customers is in the viewer's department
    assert viewer.get(f"/customers/{bought[2]}").status_code == 404
    refused = viewer.post("/score", json={})
    assert refused.status_code == 403 and refused.json()["permission"] == "analytics.compute"
    assert api(None).get("/clv").status_code == 401

"""Webhooks (signed, through the outbox, scoped by department) and the
routes plugins add through crm_register_routes."""

from __future__ import annotations

import json
import types

import pytest

import crmcore
from crmcore.services.outbox import deliver_pending
from crmcore.webhooks import sign, verify


def test_signature_is_hmac_sha256_over_timestamp_and_raw_body():
    import hashlib
    import hmac

    header = sign("whsec_x", b'{"a":1}', timestamp=1700000000)
    expected = hmac.new(b"whsec_x", b'1700000000.{"a":1}', hashlib.sha256).hexdigest()
    assert header == f"t=1700000000,v1={expected}"
    assert verify("whsec_x", b'{"a":1}', header, now=1700000010)
    assert not verify("whsec_x", b'{"a":2}', header, now=1700000010)
    assert not verify("whsec_y", b'{"a":1}', header, now=1700000010)
    assert not verify("whsec_x", b'{"a":1}', header, now=1700000000 + 3600)  # replayed too late
    assert not verify("whsec_x", b'{"a":1}', "nonsense")


def test_customer_created_through_the_api_reaches_a_signed_webhook_after_commit(crm, serve, http, token, cli, receiver):
    added = cli("webhook", "add", receiver.url, "--event", "customer.created", json=True)
    assert added.exit_code == 0, added
    secret = added.json["secret"]
    server = serve()
    api = http(server, token())
    created = api.post("/api/v1/customers", json={"name": "王芳", "phones": ["13900000001"]}).json()
    refused = api.post("/api/v1/customers", json={"name": "坏", "phones": ["12"]})
    assert refused.status_code == 422  # rolled back: queues nothing
    assert receiver.requests == []  # nothing is sent inside the request
    assert deliver_pending(crm) == {"sent": 1, "retry": 0, "failed": 0}
    (request,) = receiver.requests
    assert verify(secret, request["body"], request["headers"]["CRM-Signature"])
    event = json.loads(request["body"])
    assert event["event"] == "customer.created" and event["data"]["customer"]["id"] == created["id"]
    assert event["data"]["customer"]["phones"] == ["13900000001"]  # the admin made it: sees details
    assert request["headers"]["CRM-Event"] == "customer.created" and "CRM-Signature" in request["raw_headers"]
    deliveries = cli("webhook", "deliveries", str(added.json["id"]), json=True).json
    assert [(d["status_code"], d["ok"]) for d in deliveries] == [(200, True)]


def test_failed_deliveries_are_retried_with_backoff_and_logged(crm, make, cli, receiver):
    hook = cli("webhook", "add", receiver.url, "--event", "activity.logged", json=True).json
    receiver.status = 500
    customer = make.customer(name="李雷")
    make.activity(customer.id, "purchase", amount="10.00")
    assert deliver_pending(crm) == {"sent": 0, "retry": 1, "failed": 0}
    (message,) = cli("outbox", "list", json=True).json
    assert message["status"] == "pending" and message["attempts"] == 1 and "HTTP 500" in message["error"]
    assert deliver_pending(crm) == {"sent": 0, "retry": 0, "failed": 0}  # not due yet: backoff
    log = cli("webhook", "deliveries", str(hook["id"]), json=True).json
    assert [(d["status_code"], d["ok"], d["outbox_id"]) for d in log] == [(500, False, message["id"])]


def test_department_subscriptions_only_get_events_about_customers_they_may_see(crm, make, cli, receiver, as_user):
    as_user("bj", department="北京分公司")
    as_user("sh", department="上海分公司")
    scoped = cli("webhook", "add", receiver.url, "--event", "customer.created", "--department", "北京分公司", json=True)
    assert scoped.exit_code == 0
    with crm.unit_of_work() as uow:
        beijing, shanghai = uow.departments.get("北京分公司").id, uow.departments.get("上海分公司").id
    make.customer(name="北京客户", department_id=beijing)
    make.customer(name="上海客户", department_id=shanghai)
    deliver_pending(crm)
    names = [json.loads(r["body"])["data"]["customer"]["name"] for r in receiver.requests]
    assert names == ["北京客户"]


def test_webhook_cli_validation_test_ping_and_remove(crm, cli, receiver):
    assert cli("webhook", "add", "ftp://x", "--event", "customer.created").exit_code == 1
    assert cli("webhook", "add", receiver.url, "--event", "customer.exploded").exit_code == 1
    hook = cli("webhook", "add", receiver.url, "--event", "*", json=True).json
    tested = cli("webhook", "test", str(hook["id"]), json=True)
    assert tested.exit_code == 0 and tested.json["ok"] is True and tested.json["status_code"] == 200
    assert json.loads(receiver.requests[-1]["body"])["event"] == "webhook.test"
    assert "secret" not in cli("webhook", "list", json=True).json[0]
    assert "customer.created" in {e["event"] for e in cli("webhook", "events", json=True).json}
    assert cli("webhook", "remove", str(hook["id"])).exit_code == 0
    assert cli("webhook", "list", json=True).json == []


def test_contact_details_are_masked_for_subscriptions_made_by_users_who_cannot_see_them(crm, make, cli, receiver, as_user):
    as_user("hooker", permissions=["webhooks.manage", "customers.view"])
    assert cli("webhook", "add", receiver.url, "--event", "customer.created", as_="hooker").exit_code == 0
    make.customer(name="韩梅梅", phones=["13811112222"], emails=["hmm@example.com"])
    deliver_pending(crm)
    customer = json.loads(receiver.requests[0]["body"])["data"]["customer"]
    assert customer["phones"] != ["13811112222"] and "****" in customer["phones"][0]
    assert customer["emails"] == ["h***@example.com"]


# -- a throwaway plugin with routes and an event ----------------------------------------------------


def _stamps_plugin():
    from litestar import Request, get, post
    from litestar.params import FromPath

    from crmcore.api import request_uow

    @get("/hello/{customer_id:int}", sync_to_thread=True)
    def hello(request: Request, customer_id: FromPath[int]) -> dict[str, object]:
        with request_uow(request) as uow:
            customer = uow.customers.get(customer_id)
            return {"hello": customer.name, "actor": uow.actor.username}

    @post("/stamps/{customer_id:int}", sync_to_thread=True)
    def stamp(request: Request, customer_id: FromPath[int]) -> dict[str, int]:
        with request_uow(request) as uow:
            uow.customers.get(customer_id)
            queued = uow.publish("stamps.stamp.given", {"customer_id": customer_id, "stamps": 1})
            return {"queued": queued}

    plugin = types.SimpleNamespace()

    @crmcore.hookimpl
    def crm_register_routes(register):
        register(hello)
        register(stamp)

    @crmcore.hookimpl
    def crm_register_events(register):
        register("stamps.stamp.given", "A stamp was given")

    plugin.crm_register_routes = crm_register_routes
    plugin.crm_register_events = crm_register_events
    return plugin


def test_plugin_routes_are_mounted_scoped_and_refused_where_the_plugin_is_disabled(
        crm, register_plugin, serve, http, token, make, as_user, cli, receiver):
    register_plugin(_stamps_plugin(), name="stamps")
    as_user("bj", department="北京分公司")
    with crm.unit_of_work() as uow:
        uow.plugin_settings.set("stamps", False, uow.departments.get("北京分公司").id)
    customer = make.customer(name="张伟")
    hook = cli("webhook", "add", receiver.url, "--event", "stamps.stamp.given", json=True).json
    server = serve()

    admin = http(server, token("admin", "stamps:write", "customers:read"))
    assert admin.get(f"/api/v1/stamps/hello/{customer.id}").json() == {"hello": "张伟", "actor": "admin"}
    assert admin.post(f"/api/v1/stamps/stamps/{customer.id}").json() == {"queued": 1}
    assert http(server).get(f"/api/v1/stamps/hello/{customer.id}").status_code == 401
    unscoped = http(server, token("admin", "customers:write")).get(f"/api/v1/stamps/hello/{customer.id}")
    assert unscoped.status_code == 403 and unscoped.json()["permission"] == "stamps:read"
    read_only = http(server, token("admin", "stamps:read")).post(f"/api/v1/stamps/stamps/{customer.id}")
    assert read_only.status_code == 403
    disabled = http(server, token("bj", "*")).get(f"/api/v1/stamps/hello/{customer.id}")
    assert disabled.status_code == 404 and "not enabled" in disabled.json()["detail"]

    document = http(server).get("/api/schema").json()
    operation = document["paths"]["/api/v1/stamps/hello/{customer_id}"]["get"]
    assert {"401", "403", "404", "422"} <= set(operation["responses"])
    listed = {p["name"]: p for p in http(server, token()).get("/api/v1/plugins").json()}
    assert listed["stamps"]["api_prefix"] == "/api/v1/stamps" and listed["stamps"]["enabled"] is True

    deliver_pending(crm)
    (request,) = receiver.requests
    assert json.loads(request["body"])["data"] == {"customer_id": customer.id, "stamps": 1}
    assert hook["id"]


def test_publishing_an_undeclared_event_is_an_error(crm, make):
    customer = make.customer()
    with pytest.raises(crmcore.CRMError, match="not declared"):
        with crm.unit_of_work() as uow:
            uow.publish("nobody.declared.this", {"customer_id": customer.id})

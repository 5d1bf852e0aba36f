"""The REST API through a real server and a real HTTP client."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta

import pytest

PROBLEM = "application/problem+json"


def test_the_issue_example_token_search_and_idempotent_create(crm, serve, http, cli, as_user):
    as_user("carol", permissions=["customers.view", "customers.edit", "customers.view_contact_details"])
    result = cli("token", "create", "--user", "carol", "--scopes", "customers:read,customers:write", json=True)
    assert result.exit_code == 0, result
    token = result.json["token"]
    server = serve()
    api = http(server, token)
    api.post("/api/v1/customers", json={"name": "张伟", "kind": "person", "phones": ["13800138000"]}).raise_for_status()

    assert [c["name"] for c in api.get("/api/v1/customers", params={"q": "张伟"}).json()["items"]] == ["张伟"]
    body = {"name": "王芳", "kind": "person", "phones": ["13900000001"]}
    first = api.post("/api/v1/customers", json=body, headers={"Idempotency-Key": "k1"})
    again = api.post("/api/v1/customers", json=body, headers={"Idempotency-Key": "k1"})
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json() and again.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    with crm.unit_of_work() as uow:
        assert [c.id for c in uow.customers.search("王芳")] == [first.json()["id"]]
    assert first.json()["phones"] == ["13900000001"] and first.json()["owner"] == "carol"
    # the same key with another body is refused, not silently replayed
    other = api.post("/api/v1/customers", json={**body, "name": "王芳芳"}, headers={"Idempotency-Key": "k1"})
    assert other.status_code == 422 and other.headers["content-type"].startswith(PROBLEM)
    assert other.json()["errors"][0]["field"] == "Idempotency-Key"
    # a failed request does not burn its key: the retry runs
    bad = api.post("/api/v1/customers", json={**body, "phones": ["12"]}, headers={"Idempotency-Key": "k2"})
    assert bad.status_code == 422
    good = api.post("/api/v1/customers", json={**body, "name": "李雷", "phones": ["13900000002"]}, headers={"Idempotency-Key": "k2"})
    assert good.status_code == 201 and good.json()["name"] == "李雷"


def test_authentication_failures_are_401_problems(crm, serve, http, token):
    server = serve()
    missing = http(server).get("/api/v1/customers")
    assert missing.status_code == 401 and missing.headers["content-type"].startswith(PROBLEM)
    assert missing.headers["www-authenticate"].startswith("Bearer")
    assert missing.json()["status"] == 401 and missing.json()["title"]
    assert http(server, "crm_not-a-real-token").get("/api/v1/customers").status_code == 401
    assert http(server, "garbage").get("/api/v1/customers").status_code == 401

    expired = token("admin", "*", expires_in=timedelta(seconds=-1))
    assert http(server, expired).get("/api/v1/customers").json()["detail"] == "token expired"

    live = token("admin", "*")
    api = http(server, live)
    assert api.get("/api/v1/customers").status_code == 200
    with crm.unit_of_work() as uow:
        from crmcore.tokens import TokenService

        token_id = TokenService(uow).list("admin")[-1].id
    from crmcore.testing import run_cli

    assert run_cli(crm, "token", "revoke", str(token_id)).exit_code == 0
    assert api.get("/api/v1/customers").json()["detail"] == "token revoked"


def test_scopes_limit_a_token_and_never_widen_the_user(crm, serve, http, token, as_user, make):
    as_user("reader", permissions=["customers.view"])
    server = serve()
    read_only = http(server, token("admin", "customers:read"))
    assert read_only.get("/api/v1/customers").status_code == 200
    refused = read_only.post("/api/v1/customers", json={"name": "甲"})
    assert refused.status_code == 403 and refused.json()["permission"] == "customers:write"
    assert read_only.get("/api/v1/users").status_code == 403  # organisation:read not granted

    # the token has every scope, the user not the permission: the service refuses
    user_limited = http(server, token("reader", "*"))
    denied = user_limited.post("/api/v1/customers", json={"name": "乙"})
    assert denied.status_code == 403 and denied.json()["permission"] == "customers.edit"


def test_department_scoping_and_masking_match_the_cli(crm, serve, http, token, as_user, make, cli):
    as_user("bj", permissions=["customers.view", "customers.edit"], department="北京分公司")
    as_user("sh", permissions=["customers.view"], department="上海分公司")
    with crm.unit_of_work() as uow:
        beijing = uow.departments.get("北京分公司").id
    mine = make.customer(name="赵敏", phones=["13812345678"], emails=["zhaomin@example.com"], birthday="1990-05-01",
                         department_id=beijing)
    server = serve()
    bj = http(server, token("bj", "customers:read"))
    shown = bj.get(f"/api/v1/customers/{mine.id}").json()
    cli_view = cli("customer", "search", "赵敏", as_="bj", json=True).json[0]
    for name in ("phones", "emails", "birthday", "owner", "department", "name", "code"):
        assert shown[name] == cli_view[name], name
    assert shown["phones"] != ["13812345678"] and "****" in shown["phones"][0]
    assert shown["birthday"] == "****"
    assert bj.get(f"/api/v1/customers/{mine.id}/contacts").status_code == 200

    other = http(server, token("sh", "customers:read"))
    hidden = other.get(f"/api/v1/customers/{mine.id}")
    assert hidden.status_code == 404 and hidden.headers["content-type"].startswith(PROBLEM)
    assert other.get("/api/v1/customers", params={"q": "赵敏"}).json()["items"] == []
    admin = http(server, token("admin", "*")).get(f"/api/v1/customers/{mine.id}").json()
    assert admin["phones"] == ["13812345678"] and admin["birthday"] == "1990-05-01"


def test_errors_name_the_field_and_use_the_right_status(crm, serve, http, token, make):
    server = serve()
    api = http(server, token())
    unprocessable = api.post("/api/v1/customers", json={"name": "坏号码", "phones": ["12"]})
    assert unprocessable.status_code == 422
    assert unprocessable.json()["errors"][0]["field"] == "phones"
    malformed = api.post("/api/v1/customers", content=b"{not json", headers={"Content-Type": "application/json"})
    assert malformed.status_code == 400 and malformed.headers["content-type"].startswith(PROBLEM)
    wrong_type = api.post("/api/v1/customers", json={"name": 5})
    assert wrong_type.status_code == 400 and wrong_type.json()["errors"]
    unknown_field = api.post("/api/v1/customers", json={"name": "甲", "shoe_size": 42})
    assert unknown_field.status_code == 400
    assert api.get("/api/v1/customers/999999").status_code == 404
    assert api.get("/api/v1/customers/99999999999999").status_code == 400  # out of range, not a 500
    assert api.get("/api/v1/customers", params={"sort": "shoe"}).status_code == 400
    assert api.get("/api/v1/customers", params={"cursor": "!!"}).status_code == 400
    customer = make.customer(name="取消我")
    assert api.post(f"/api/v1/customers/{customer.id}/cancel", json={"reason": "test"}).json()["active"] is False
    twice = api.post(f"/api/v1/customers/{customer.id}/cancel")
    assert twice.status_code == 409 and twice.headers["content-type"].startswith(PROBLEM)
    assert api.post(f"/api/v1/customers/{customer.id}/restore").json()["active"] is True
    assert api.get("/api/v1/nothing-here").status_code == 404


def test_customer_lifecycle_history_merge_contacts_activities(crm, serve, http, token, make):
    server = serve()
    api = http(server, token())
    a = api.post("/api/v1/customers", json={"name": "上海明源地产有限公司", "kind": "organization", "phones": ["021-55551234"]}).json()
    b = api.post("/api/v1/customers", json={"name": "明源地产", "kind": "organization", "emails": ["info@mingyuan.cn"]}).json()
    changed = api.patch(f"/api/v1/customers/{a['id']}", json={"city": "上海", "tags": ["vip"]}).json()
    assert changed["city"] == "上海" and changed["tags"] == ["vip"] and changed["name"] == a["name"]
    contact = api.post(f"/api/v1/customers/{b['id']}/contacts", json={"name": "李娜", "title": "采购经理", "phones": ["13900000000"]})
    assert contact.status_code == 201
    assert api.patch(f"/api/v1/contacts/{contact.json()['id']}", json={"relationship": "positive"}).json()["relationship"] == "positive"
    purchase = api.post(f"/api/v1/customers/{b['id']}/activities", json={"type": "purchase", "amount": "199.00", "subject": "网店订单"})
    assert purchase.status_code == 201 and purchase.json()["amount"] == "199.00"
    assert api.post(f"/api/v1/customers/{b['id']}/activities", json={"type": "purchase"}).json()["errors"][0]["field"] == "amount"
    merged = api.post(f"/api/v1/customers/{a['id']}/merge", json={"other_id": b["id"]})
    assert merged.status_code == 200 and merged.json()["kept"]["emails"] == ["info@mingyuan.cn"]
    assert [c["name"] for c in api.get(f"/api/v1/customers/{a['id']}/contacts").json()] == ["李娜"]
    assert [x["subject"] for x in api.get("/api/v1/activities", params={"customer_id": a["id"]}).json()] == ["网店订单"]
    actions = [entry["action"] for entry in api.get(f"/api/v1/customers/{a['id']}/history").json()]
    assert actions[:2] == ["create", "update"] and "merge" in actions
    assert api.get(f"/api/v1/customers/{b['id']}").json()["merged_into_id"] == a["id"]
    assert api.post(f"/api/v1/customers/{b['id']}/restore").status_code == 409


def test_cursor_pagination_walks_every_customer_once_in_order(crm, serve, http, token, make):
    names = ["丁", "甲", "乙", "丙", "戊"]
    for name in names:
        make.customer(name=name, tags=["page"])
    server = serve()
    api = http(server, token())
    seen, cursor = [], None
    while True:
        params = {"tag": "page", "sort": "-id", "limit": 2, **({"cursor": cursor} if cursor else {})}
        page = api.get("/api/v1/customers", params=params).json()
        seen += [c["name"] for c in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == list(reversed(names))
    first = api.get("/api/v1/customers", params={"tag": "page", "sort": "-id", "limit": 2}).json()
    other_query = api.get("/api/v1/customers", params={"tag": "page", "sort": "name", "cursor": first["next_cursor"]})
    assert other_query.status_code == 400


def test_password_login_lockout_is_audited(crm, serve, http, cli):
    assert cli("user", "password", "admin", "--password", "correct horse").exit_code == 0
    assert cli("user", "password", "admin", "--password", "short").exit_code == 1
    server = serve()
    anonymous = http(server)
    login = anonymous.post("/api/v1/auth/token", json={"username": "admin", "password": "correct horse", "scopes": ["customers:read"]})
    assert login.status_code == 201
    session = http(server, login.json()["token"])
    assert session.get("/api/v1/customers").status_code == 200
    assert session.post("/api/v1/customers", json={"name": "甲"}).status_code == 403  # only customers:read
    assert session.delete("/api/v1/auth/token").status_code == 204
    assert session.get("/api/v1/customers").status_code == 401

    for _ in range(5):
        wrong = anonymous.post("/api/v1/auth/token", json={"username": "admin", "password": "wrong"})
        assert wrong.status_code == 401
    locked = anonymous.post("/api/v1/auth/token", json={"username": "admin", "password": "correct horse"})
    assert locked.status_code == 401 and "locked" in locked.json()["detail"]
    assert anonymous.post("/api/v1/auth/token", json={"username": "nobody", "password": "x"}).status_code == 401
    with crm.unit_of_work() as uow:
        actions = [e.action for e in uow.audit.for_entity("user", "admin")]
    assert actions.count("login_failed") == 5 and "locked" in actions and "login_refused" in actions
    assert cli("user", "password", "admin", "--password", "correct horse").exit_code == 0  # clears the lockout
    assert anonymous.post("/api/v1/auth/token", json={"username": "admin", "password": "correct horse"}).status_code == 201


def test_token_cli_list_and_json(crm, cli, as_user):
    as_user("dave")
    created = cli("token", "create", "--user", "dave", "--scopes", "customers:read", "--expires", "12h", json=True)
    assert created.exit_code == 0 and created.json["token"].startswith("crm_")
    listed = cli("token", "list", "--user", "dave", json=True).json
    assert [t["id"] for t in listed] == [created.json["id"]] and "token" not in listed[0]
    assert cli("token", "create", "--user", "dave", "--scopes", "nonsense:read").exit_code == 1
    assert cli("token", "create", "--user", "dave", "--scopes", "customers:read", "--expires", "soon").exit_code == 1
    # another user may not make tokens for dave
    as_user("eve")
    refused = cli("token", "create", "--user", "dave", "--scopes", "customers:read", as_="eve")
    assert refused.exit_code == 1 and "users.manage" in refused.stderr
    with crm.unit_of_work() as uow:
        from sqlalchemy import select

        from crmcore.storage.api_tables import api_tokens

        stored = uow.execute(select(api_tokens.c.token_hash)).scalars().all()
    assert created.json["token"] not in stored  # only the hash is kept


def test_imports_upload_poll_and_reject_file(crm, serve, http, token):
    server = serve()
    api = http(server, token())
    content = "客户名称,手机,邮箱\n张三,13800000001,zs@example.com\n李四,12,ls@example.com\n".encode("utf-8")
    files = {"file": ("客户.csv", content, "text/csv")}
    uploaded = api.post("/api/v1/imports/customers", files=files, data={"on_duplicate": "skip"}, headers={"Idempotency-Key": "imp-1"})
    assert uploaded.status_code == 201, uploaded.text
    job = uploaded.json()
    assert job["status"] == "done" and job["summary"]["created"] == 1 and job["summary"]["rejected"] == 1
    again = api.post("/api/v1/imports/customers", files=files, data={"on_duplicate": "skip"}, headers={"Idempotency-Key": "imp-1"})
    assert again.json()["id"] == job["id"]
    with crm.unit_of_work() as uow:
        assert len(uow.customers.search("张三")) == 1  # imported once
    assert api.get(f"/api/v1/imports/{job['id']}").json()["summary"] == job["summary"]
    rejects = api.get(job["rejects_url"])
    assert rejects.status_code == 200 and rejects.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(rejects.content.decode("utf-8-sig"))))
    assert rows[0]["line"] == "3" and rows[0]["column"] and rows[0]["reason"]
    assert api.post("/api/v1/imports/customers", files={"file": ("x.exe", b"MZ", "application/octet-stream")}).status_code == 422
    dry = api.post("/api/v1/imports/customers", files={"file": ("c.csv", "客户名称\n王五\n".encode(), "text/csv")},
                   data={"dry_run": "true"}).json()
    assert dry["summary"]["dry_run"] is True and dry["summary"]["created"] == 1
    with crm.unit_of_work() as uow:
        assert uow.customers.search("王五") == []


def test_organisation_and_plugin_listing(crm, serve, http, token, as_user):
    as_user("frank", department="广州分公司")
    server = serve()
    api = http(server, token())
    assert "广州分公司" in [d["name"] for d in api.get("/api/v1/departments").json()]
    users = {u["username"]: u for u in api.get("/api/v1/users").json()}
    assert users["frank"]["department"] == "广州分公司"
    assert api.get("/api/v1/users/frank").json()["roles"] == ["role_frank"]
    assert api.get("/api/v1/users/me").json()["username"] == "admin"
    assert "admin" in [r["name"] for r in api.get("/api/v1/roles").json()]
    assert isinstance(api.get("/api/v1/plugins").json(), list)
    created = api.post("/api/v1/users", json={"username": "grace", "department_id": users["frank"]["department_id"]})
    assert created.status_code == 201 and created.json()["department"] == "广州分公司"


def test_openapi_document_is_complete_and_browsable(crm, serve, http):
    server = serve()
    anonymous = http(server)
    document = anonymous.get("/api/schema").json()
    assert document["openapi"].startswith("3.1")
    assert anonymous.get("/api/schema/openapi.json").json() == document
    assert anonymous.get("/api/schema/swagger").status_code == 200
    paths = document["paths"]
    for path in ("/api/v1/customers", "/api/v1/customers/{customer_id}", "/api/v1/customers/{customer_id}/merge",
                 "/api/v1/imports/{kind}", "/api/v1/imports/{import_id}/rejects", "/api/v1/webhooks", "/api/v1/auth/token"):
        assert path in paths, path
    for path, item in paths.items():
        for method, operation in item.items():
            if not path.startswith("/api/v1") or method not in ("get", "post", "patch", "delete"):
                continue
            for status in ("400", "401", "403", "404", "422"):
                assert operation["responses"][status]["content"]["application/problem+json"], (path, method, status)
            if method == "post":
                assert any(p["name"] == "Idempotency-Key" for p in operation["parameters"]), path
    assert document["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    listing = {p["name"] for p in paths["/api/v1/customers"]["get"]["parameters"]}
    assert {"q", "level", "status", "stage", "tag", "owner_id", "department_id", "field", "sort", "limit", "cursor"} <= listing

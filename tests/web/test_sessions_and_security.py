"""Logging in, sessions, CSRF, scoping and escaping on the web pages, over
plain HTTP against a real server."""

import re
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import update

from crmcore.storage.web_tables import web_sessions
from crmcore.testing import DEFAULT_TEST_PASSWORD


def form_token(html: str) -> str:
    return re.search(r'name="_csrf" value="([^"]+)"', html).group(1)


def browser(web, **headers) -> httpx.Client:
    return httpx.Client(base_url=web.url, follow_redirects=False, timeout=30, headers=headers)


def log_in(client: httpx.Client, username: str, password: str = DEFAULT_TEST_PASSWORD) -> httpx.Response:
    token = form_token(client.get("/login").text)
    return client.post("/login", data={"username": username, "password": password, "_csrf": token, "next": "/"})


def department_id(crm, name: str) -> int:
    with crm.unit_of_work() as uow:
        found = uow.departments.find(name)
        return found.id if found else uow.departments.add(name).id


@pytest.fixture
def alice(web):
    return web.user("alice", permissions=("customers.view", "customers.edit"), department="上海分公司")


def test_a_page_without_a_session_sends_the_browser_to_the_login_form(web):
    with browser(web) as client:
        response = client.get("/customers?q=张")
    assert response.status_code == 303
    location = httpx.URL(response.headers["location"])
    assert location.path == "/login" and location.params["next"] == "/customers?q=%E5%BC%A0"


def test_logging_in_sets_an_http_only_same_site_cookie_and_is_audited(web, alice, crm):
    with browser(web) as client:
        response = log_in(client, "alice")
    assert response.status_code == 303 and response.headers["location"] == "/"
    cookie = next(v for k, v in response.headers.multi_items() if k == "set-cookie" and v.startswith("crm_session="))
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Secure" not in cookie
    with crm.unit_of_work() as uow:
        assert [e.action for e in uow.audit.for_entity("user", "alice")][-1] == "login"


def test_behind_a_tls_proxy_the_session_cookie_is_secure(web, alice):
    with browser(web, **{"X-Forwarded-Proto": "https"}) as client:
        token = form_token(client.get("/login").text)
        client.cookies.set("crm_login_csrf", token)  # a Secure cookie: httpx holds it back over plain HTTP
        response = client.post("/login", data={"username": "alice", "password": DEFAULT_TEST_PASSWORD, "_csrf": token})
    cookie = next(v for k, v in response.headers.multi_items() if k == "set-cookie" and v.startswith("crm_session="))
    assert "Secure" in cookie


def test_a_wrong_password_is_refused_counted_and_audited(web, alice, crm):
    with browser(web) as client:
        response = log_in(client, "alice", "not-the-password")
    assert response.status_code == 401
    assert "crm_session=" not in response.headers.get("set-cookie", "")
    with crm.unit_of_work() as uow:
        assert [e.action for e in uow.audit.for_entity("user", "alice")][-1] == "login_failed"


def test_a_login_form_sent_without_its_token_is_refused(web, alice):
    with browser(web) as client:
        client.get("/login")
        response = client.post("/login", data={"username": "alice", "password": DEFAULT_TEST_PASSWORD})
    assert response.status_code == 403
    assert "crm_session=" not in response.headers.get("set-cookie", "")


def test_after_login_the_browser_goes_only_to_a_page_of_this_site(web, alice):
    with browser(web) as client:
        token = form_token(client.get("/login").text)
        response = client.post("/login", data={"username": "alice", "password": DEFAULT_TEST_PASSWORD, "_csrf": token,
                                               "next": "//evil.example/steal"})
    assert response.headers["location"] == "/"


def test_a_form_posted_without_the_session_token_changes_nothing(web, alice, make, crm):
    customer = make.customer(name="张伟", department_id=department_id(web.crm, "上海分公司"))
    with browser(web) as client:
        log_in(client, "alice")
        response = client.post(f"/customers/{customer.id}/edit", data={"name": "改掉", "kind": "person"})
    assert response.status_code == 403
    with crm.unit_of_work() as uow:
        assert uow.customers.get(customer.id).name == "张伟"


def test_logging_out_ends_the_session_for_good(web, alice):
    with browser(web) as client:
        log_in(client, "alice")
        stolen = client.cookies.get("crm_session")
        client.post("/logout", data={"_csrf": form_token(client.get("/").text)})
    with browser(web) as other:
        other.cookies.set("crm_session", stolen)
        assert other.get("/").status_code == 303


def test_an_idle_session_expires(web, alice, crm):
    with browser(web) as client:
        log_in(client, "alice")
        with crm.unit_of_work() as uow:
            uow.execute(update(web_sessions).values(expires_at=uow.now - timedelta(minutes=1)))
        assert client.get("/").status_code == 303


def test_a_deactivated_user_is_logged_out_at_once(web, alice, crm):
    with browser(web) as client:
        log_in(client, "alice")
        assert client.get("/").status_code == 200
        with crm.unit_of_work() as uow:
            uow.users.deactivate("alice")
        assert client.get("/").status_code == 303


def test_pages_forbid_framing_and_foreign_scripts(web, alice):
    with browser(web) as client:
        log_in(client, "alice")
        response = client.get("/customers")
    assert response.headers["x-frame-options"] == "DENY"
    assert "script-src 'self'" in response.headers["content-security-policy"]


def test_what_users_typed_is_shown_as_text_never_as_markup(web, alice, make):
    customer = make.customer(name="<script>alert(1)</script>", department_id=department_id(web.crm, "上海分公司"))
    with browser(web) as client:
        log_in(client, "alice")
        page = client.get(f"/customers/{customer.id}").text
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_another_departments_customer_is_neither_listed_nor_reachable(web, alice, make):
    make.customer(name="张伟", department_id=department_id(web.crm, "上海分公司"))
    other = make.customer(name="张伟北京", department_id=department_id(web.crm, "北京分公司"))
    with browser(web) as client:
        log_in(client, "alice")
        listing = client.get("/customers", params={"q": "张伟"}).text
        detail = client.get(f"/customers/{other.id}")
    assert "张伟北京" not in listing and ">张伟<" in listing
    assert detail.status_code == 404 and "张伟北京" not in detail.text


def test_phones_are_masked_in_the_list_without_the_permission(web, alice, make):
    make.customer(name="张伟", phones=["13800138000"], department_id=department_id(web.crm, "上海分公司"))
    with browser(web) as client:
        log_in(client, "alice")
        listing = client.get("/customers").text
    assert "138****8000" in listing and "13800138000" not in listing


def test_the_login_page_speaks_the_browsers_language(web):
    with browser(web, **{"Accept-Language": "en-US,en;q=0.9"}) as client:
        assert "Username" in client.get("/login").text
    with browser(web, **{"Accept-Language": "zh-CN,zh;q=0.9"}) as client:
        assert "用户名" in client.get("/login").text


def test_a_users_chosen_language_outlives_the_session(web, alice, crm):
    with browser(web, **{"Accept-Language": "zh-CN"}) as client:
        log_in(client, "alice")
        client.post("/language", data={"locale": "en", "_csrf": form_token(client.get("/").text), "next": "/"})
    with crm.unit_of_work() as uow:
        assert uow.users.locale("alice") == "en"
    with browser(web, **{"Accept-Language": "zh-CN"}) as client:
        log_in(client, "alice")
        assert "Dashboard" in client.get("/").text


def test_a_live_search_gets_only_the_results_block(web, alice, make):
    make.customer(name="张伟", department_id=department_id(web.crm, "上海分公司"))
    with browser(web) as client:
        log_in(client, "alice")
        response = client.get("/customers", params={"q": "zw"}, headers={"X-CRM-Fragment": "results"})
    assert response.status_code == 200
    assert "张伟" in response.text and "<html" not in response.text


def test_a_user_added_on_the_command_line_with_a_password_logs_in_to_the_web(web, cli):
    cli("department", "add", "上海分公司")
    cli("role", "add", "sales", "--grant", "customers.view", "--grant", "customers.edit")
    added = cli("user", "add", "alice", "--role", "sales", "--department", "上海分公司", "--password", "Sh@nghai-2026",
                "--locale", "en")
    assert added.exit_code == 0, added
    with browser(web) as client:
        assert log_in(client, "alice", "Sh@nghai-2026").status_code == 303
        assert "Dashboard" in client.get("/").text


def test_a_password_too_short_is_refused_when_adding_a_user(cli):
    result = cli("user", "add", "alice", "--password", "short")
    assert result.exit_code == 1 and "password" in result.stderr
    assert all(user["username"] != "alice" for user in cli("user", "list", json=True).json)


def test_the_history_names_actions_and_fields_in_the_readers_language(web, alice, make, crm):
    customer = make.customer(name="张伟", department_id=department_id(web.crm, "上海分公司"))
    with crm.unit_of_work() as uow:
        uow.customers.update(customer.id, city="上海")
    with web.client("alice") as client:
        history = client.get(f"/customers/{customer.id}").text.split('id="history"')[1]
    assert "创建档案" in history and "修改" in history and "城市: — → 上海" in history
    assert ">create<" not in history and "city" not in history

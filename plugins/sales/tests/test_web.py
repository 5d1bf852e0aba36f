"""The sales pages over plain HTTP against a real server: every page renders
in both languages, scoping and enablement as in the API, CSRF on the forms,
and the catalogue translates every message."""

from __future__ import annotations

import re
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import pytest

httpx = pytest.importorskip("httpx")
pytest.importorskip("litestar")

from crmcore.testing import DEFAULT_TEST_PASSWORD  # noqa: E402
from crmcore.web.i18n import untranslated  # noqa: E402

SALES = ("customers.view", "customers.edit", "sales.edit")
PACKAGE = Path(__file__).resolve().parent.parent / "crm_sales"


def form_token(html: str) -> str:
    return re.search(r'name="_csrf" value="([^"]+)"', html).group(1)


@contextmanager
def logged_in(web, username: str, locale: str = "zh-CN") -> Iterator[httpx.Client]:
    with httpx.Client(base_url=web.url, follow_redirects=False, timeout=30, headers={"Accept-Language": locale}) as client:
        token = form_token(client.get("/login").text)
        response = client.post("/login", data={"username": username, "password": DEFAULT_TEST_PASSWORD, "_csrf": token})
        assert response.status_code == 303, response.text
        yield client


@pytest.fixture
def deal(crm, web, org, opp):
    """alice of 上海分公司 with a customer holding an opportunity, a contact, a quote and a plan."""
    web.user("alice", permissions=SALES, department="上海分公司")
    with crm.unit_of_work() as uow:
        shanghai = uow.departments.find("上海分公司").id
    customer = org(department_id=shanghai)
    with crm.unit_of_work(actor="alice") as uow:
        uow.contacts.add(customer.id, name="王总", title="总经理", decision_role="decision_maker", relationship="positive")
    made = opp(customer.id, actor="alice", name="总部大楼项目", amount="500000", expected_close="2026-12-20")
    with crm.unit_of_work(actor="alice") as uow:
        quote = uow.service("sales").quotes.add(made.id, lines=[{"product": "服务器", "quantity": "2", "unit_price": "48000"}])
    return {"customer": customer, "opportunity": made, "quote": quote}


@pytest.mark.parametrize("locale", ["zh-CN", "en"])
def test_every_sales_page_renders(web, deal, locale):
    o, q, c = deal["opportunity"], deal["quote"], deal["customer"]
    with logged_in(web, "alice", locale) as client:
        for path in ("/sales/pipeline", "/sales/opportunities", "/sales/opportunities?show=all&closing=2026-Q4",
                     f"/sales/opportunities/{o.id}", "/sales/opportunities/new", "/sales/forecast?period=2026-Q4",
                     "/sales/plans", "/sales/plans?user=*", "/sales/quotes", f"/sales/quotes/{q.id}",
                     f"/sales/quotes/{q.id}/print", f"/sales/customers/{c.id}/map", f"/customers/{c.id}"):
            response = client.get(path)
            assert response.status_code == 200, (path, response.text[:2000])
        board = client.get("/sales/pipeline").text
        assert "总部大楼项目" in board and 'class="board"' in board and 'class="column"' in board
        assert ("Pipeline" if locale == "en" else "销售漏斗") in board
        assert "/sales/opportunities/" in client.get(f"/customers/{c.id}").text  # the customer page's sales panel


def test_the_board_button_moves_once_and_forms_need_their_token(web, deal, crm):
    o = deal["opportunity"]
    with logged_in(web, "alice") as client:
        assert client.post(f"/sales/opportunities/{o.id}/advance", data={"to": "needs_analysis"}).status_code == 403
        token = form_token(client.get("/sales/pipeline").text)
        moved = client.post(f"/sales/opportunities/{o.id}/advance", data={"to": "needs_analysis", "_csrf": token})
        assert moved.status_code == 303
        again = client.post(f"/sales/opportunities/{o.id}/advance", data={"to": "needs_analysis", "_csrf": token})
        assert again.status_code == 422  # a second click does not skip a stage
    with crm.unit_of_work() as uow:
        assert uow.service("sales").opportunities.get(o.id).stage == "needs_analysis"


def test_another_departments_deal_is_not_found_and_reading_is_not_changing(web, deal, crm):
    web.user("bob", permissions=SALES, department="北京分公司")
    web.user("viewer", permissions=("customers.view",), department="上海分公司")
    o, q = deal["opportunity"], deal["quote"]
    with logged_in(web, "bob") as client:
        for path in (f"/sales/opportunities/{o.id}", f"/sales/quotes/{q.id}", f"/sales/quotes/{q.id}/print",
                     f"/sales/customers/{o.customer_id}/map"):
            assert client.get(path).status_code == 404, path
        assert "总部大楼项目" not in client.get("/sales/pipeline").text
    with logged_in(web, "viewer") as client:
        page = client.get(f"/sales/opportunities/{o.id}").text
        assert "总部大楼项目" in page and f"/sales/opportunities/{o.id}/stage" not in page
        token = form_token(page)
        refused = client.post(f"/sales/opportunities/{o.id}/stage", data={"to": "proposal", "_csrf": token})
        assert refused.status_code == 403


def test_a_department_without_sales_gets_no_pages_and_no_navigation(web, crm, deal):
    with crm.unit_of_work() as uow:
        uow.plugin_settings.set("sales", False, uow.departments.add("广州分公司").id)
    web.user("carl", permissions=SALES, department="广州分公司")
    with logged_in(web, "carl") as client:
        assert "/sales/pipeline" not in client.get("/").text
        for path in ("/sales/pipeline", "/sales/forecast", "/sales/plans", "/sales/quotes"):
            assert client.get(path).status_code == 404, path
    with logged_in(web, "alice") as client:
        assert "/sales/pipeline" in client.get("/").text


def test_the_catalogue_translates_every_message():
    assert untranslated(PACKAGE, PACKAGE / "locale") == {}

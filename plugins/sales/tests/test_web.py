"""The sales pages over plain HTTP against a real server: every page renders
in both languages, scoping and enablement as in the API, CSRF on the forms,
and the catalogue translates every message."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

pytest.importorskip("httpx")
pytest.importorskip("litestar")

from crmcore.web.i18n import untranslated  # noqa: E402

SALES = ("customers.view", "customers.edit", "sales.edit")
PACKAGE = Path(__file__).resolve().parent.parent / "crm_sales"


def form_token(html: str) -> str:
    return re.search(r'name="_csrf" value="([^"]+)"', html).group(1)


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
    with web.client("alice", locale=locale) as client:
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
    with web.client("alice") as client:
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
    with web.client("bob") as client:
        for path in (f"/sales/opportunities/{o.id}", f"/sales/quotes/{q.id}", f"/sales/quotes/{q.id}/print",
                     f"/sales/customers/{o.customer_id}/map"):
            assert client.get(path).status_code == 404, path
        assert "总部大楼项目" not in client.get("/sales/pipeline").text
    with web.client("viewer") as client:
        page = client.get(f"/sales/opportunities/{o.id}").text
        assert "总部大楼项目" in page and f"/sales/opportunities/{o.id}/stage" not in page
        token = form_token(page)
        refused = client.post(f"/sales/opportunities/{o.id}/stage", data={"to": "proposal", "_csrf": token})
        assert refused.status_code == 403


def test_a_department_without_sales_gets_no_pages_and_no_navigation(web, crm, deal):
    with crm.unit_of_work() as uow:
        uow.plugin_settings.set("sales", False, uow.departments.add("广州分公司").id)
    web.user("carl", permissions=SALES, department="广州分公司")
    with web.client("carl") as client:
        assert "/sales/pipeline" not in client.get("/").text
        for path in ("/sales/pipeline", "/sales/forecast", "/sales/plans", "/sales/quotes"):
            assert client.get(path).status_code == 404, path
    with web.client("alice") as client:
        assert "/sales/pipeline" in client.get("/").text


def test_the_catalogue_translates_every_message():
    assert untranslated(PACKAGE, PACKAGE / "locale") == {}


def test_the_dashboard_shows_my_deals_and_todays_visits_to_salespeople_only(web, deal, crm, opp):
    from datetime import timedelta

    from crmcore.web.i18n import Formats
    from crm_sales.values import local_date

    web.user("bob", permissions=SALES, department="上海分公司")
    web.user("viewer", permissions=("customers.view",), department="上海分公司")
    customer = deal["customer"]
    with crm.unit_of_work() as uow:
        today = local_date(uow.now, crm.config.timezone)
    for days, name in ((-10, "逾期项目"), (-3, "稍逾期项目"), (2, "本周项目"), (40, "下季度项目"), (None, "无日期项目")):
        opp(customer.id, actor="alice", name=name, amount="80000",
            expected_close=(today + timedelta(days=days)).isoformat() if days is not None else None)
    for days in range(1, 7):  # more closing soon than the panel lists
        opp(customer.id, actor="alice", name=f"近期项目{days}", expected_close=(today + timedelta(days=days)).isoformat())
    bobs = opp(customer.id, actor="bob", name="鲍勃的项目", expected_close=today.isoformat())
    with crm.unit_of_work(actor="alice") as uow:
        sales = uow.service("sales")
        sales.plans.add(user="alice", month=today.strftime("%Y-%m"), customer_id=customer.id, purpose="今日拜访王总",
                        planned_date=today)
        sales.plans.add(user="alice", month=(today + timedelta(days=31)).strftime("%Y-%m"), customer_id=customer.id,
                        purpose="下月拜访", planned_date=today + timedelta(days=31))
        mine = sales.opportunities.list(owner_id=uow.actor.id, open_only=True)
    dated = sorted((o for o in mine if o.expected_close), key=lambda o: (o.expected_close, o.id))
    overdue = [o.id for o in dated if o.expected_close < today]
    soonest = [o.id for o in dated if o.expected_close >= today][:5]
    assert overdue and len(soonest) == 5

    with web.client("alice") as client:
        dashboard = client.get("/").text
    assert 'id="dash-sales-h"' in dashboard and "我的销售" in dashboard
    panel = dashboard.split('id="dash-sales-h"', 1)[1].split("</section>", 1)[0]
    head, rest = panel.split("已过预计成交日期", 1)
    late, rest = rest.split("即将成交", 1)
    soon, visits = rest.split("今日计划拜访", 1)
    fmt = Formats("zh_CN", crm.config.timezone)
    assert f"<strong>{len(mine)}</strong>" in head and fmt.money(sum(o.amount for o in mine)) in head
    assert "/sales/opportunities?owner=alice" in head
    linked = lambda html: [int(i) for i in re.findall(r'href="/sales/opportunities/(\d+)"', html)]  # noqa: E731
    assert linked(late) == overdue and f">{len(overdue)}</span>" in late
    assert linked(soon) == soonest and bobs.id not in linked(panel)
    assert '<a href="/sales/plans">今日计划拜访' in panel and "今日拜访王总" in visits and "下月拜访" not in panel

    with web.client("viewer") as client:
        assert 'id="dash-sales-h"' not in client.get("/").text

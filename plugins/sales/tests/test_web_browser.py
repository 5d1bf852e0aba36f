"""The sales pages in a real browser (headless Chromium): a salesperson's
morning — the board, moving a deal on, losing one, quoting and winning,
planning visits and reading the forecast — with screenshots."""

from __future__ import annotations

import re

import pytest

pytest.importorskip("playwright")

from crmcore.testing import screenshot  # noqa: E402

SALES = ("customers.view", "customers.edit", "sales.edit")


@pytest.fixture
def alice(web, crm):
    web.user("alice", permissions=SALES, department="上海分公司")
    with crm.unit_of_work() as uow:
        return uow.departments.find("上海分公司").id


@pytest.fixture
def account(org, alice, crm):
    """An organisation of alice's department with two key persons."""
    customer = org(department_id=alice)
    with crm.unit_of_work(actor="alice") as uow:
        uow.contacts.add(customer.id, name="王总", title="总经理", decision_role="decision_maker", relationship="positive")
        uow.contacts.add(customer.id, name="李工", title="IT工程师", decision_role="user", relationship="neutral")
    return customer


def stage_of(crm, opportunity_id: int) -> str:
    with crm.unit_of_work() as uow:
        return uow.service("sales").opportunities.get(opportunity_id).stage


def test_a_salesperson_moves_an_opportunity_to_the_next_stage_on_the_board_then_loses_another(
        web, browser_page, crm, account, opp):
    deal = opp(account.id, actor="alice", name="总部大楼项目", amount="500000", expected_close="2026-12-20")
    other = opp(account.id, actor="alice", name="分部网络改造", amount="80000", moves=[("proposal", 1)])
    page = browser_page
    web.login(page, "alice")
    page.get_by_role("link", name=re.compile("^(商机看板|Pipeline)$")).click()
    page.wait_for_url(re.compile("/sales/pipeline"))
    first = page.locator("#stage-qualification").locator("xpath=..")
    assert first.get_by_role("link", name="总部大楼项目").count() == 1
    screenshot(page, "sales-pipeline")

    button = page.get_by_role("button", name=re.compile("总部大楼项目"))
    button.focus()  # the board works from the keyboard
    page.keyboard.press("Enter")
    page.get_by_role("status").filter(has_text="总部大楼项目").wait_for()
    column = page.locator("#stage-needs_analysis").locator("xpath=..")
    column.get_by_role("link", name="总部大楼项目").wait_for()
    assert stage_of(crm, deal.id) == "needs_analysis"

    page.get_by_role("link", name="分部网络改造").click()
    page.get_by_label(re.compile("^(变更到阶段|Move to stage)")).select_option("lost")
    page.get_by_role("button", name=re.compile("^(变更阶段|Move)$")).click()
    page.locator(".field.invalid #f-reason").wait_for()  # lost needs a reason
    assert stage_of(crm, other.id) == "proposal"
    page.get_by_label(re.compile("^(原因|Reason)")).fill("价格高于竞品")
    page.get_by_role("button", name=re.compile("^(变更阶段|Move)$")).click()
    page.locator("h1 .badge.warn").filter(has_text=re.compile("输单|Lost")).wait_for()
    assert page.get_by_text("价格高于竞品").count() >= 1
    assert stage_of(crm, other.id) == "lost"
    assert page.locator("#keypersons svg[role=img]").count() == 1  # the key-person map
    screenshot(page, "sales-opportunity")


def test_a_quote_is_drafted_from_the_deal_accepted_and_wins_it(web, browser_page, crm, account, opp):
    deal = opp(account.id, actor="alice", name="总部大楼项目", amount="500000", moves=[("negotiation", 1)])
    page = browser_page
    web.login(page, "alice")
    page.goto(f"/sales/opportunities/{deal.id}")
    page.locator("#quotes details summary").click()
    page.get_by_label(re.compile("^(报价明细|Lines)")).fill("服务器,2,48000,10%\n实施服务(人天),15,2500,9折")
    page.get_by_role("button", name=re.compile("生成报价草稿|Draft quote")).click()
    page.wait_for_url(re.compile(r"/sales/quotes/\d+$"))
    page.get_by_label(re.compile("^(产品|Product)")).fill("培训")
    page.get_by_label(re.compile("^(数量|Quantity)")).fill("1")
    page.get_by_label(re.compile("^(单价|Unit price)")).fill("abc")
    page.get_by_role("button", name=re.compile("添加明细|Add line")).click()
    page.locator(".field.invalid #f-unit_price").wait_for()
    page.get_by_label(re.compile("^(单价|Unit price)")).fill("5000")
    page.get_by_role("button", name=re.compile("添加明细|Add line")).click()
    page.get_by_role("cell", name="培训").wait_for()
    screenshot(page, "sales-quote")
    page.get_by_role("button", name=re.compile("客户已接受|Customer accepted")).click()
    page.locator("h1 .badge.ok").wait_for()
    with crm.unit_of_work() as uow:
        won = uow.service("sales").opportunities.get(deal.id)
    assert (won.stage, str(won.amount)) == ("won", "125150.00")  # 86400 + 33750 + 5000


def test_visits_are_planned_and_the_forecast_is_read_in_english(web, browser_page, crm, account, opp):
    opp(account.id, actor="alice", name="总部大楼项目", amount="500000", expected_close="2026-12-20", moves=[("proposal", 1)])
    page = browser_page
    web.login(page, "alice")
    page.locator("#locale-switch").select_option("en")
    page.get_by_role("heading", name="Dashboard").wait_for()
    page.get_by_role("link", name="Visit plans").click()
    page.get_by_label("Customer").fill("明源")
    page.get_by_label("Date").fill("2026-12-08")
    page.get_by_label("Purpose").fill("方案演示")
    page.get_by_role("button", name="Plan visit").click()
    page.get_by_role("cell", name="方案演示").wait_for()
    assert page.get_by_text("Planned", exact=True).count() >= 1
    screenshot(page, "sales-plans")
    page.get_by_role("link", name="Forecast").click()
    page.get_by_label("Period").fill("2026-Q4")
    page.get_by_label("Period").press("Enter")
    page.wait_for_url(re.compile("period=2026-Q4"))
    page.get_by_role("heading", name="Forecast 2026-Q4").wait_for()
    assert page.locator("svg[role=img]").count() == 1
    assert "¥250,000.00" in page.content()  # 500000 at the proposal stage's 50%
    screenshot(page, "sales-forecast")


def test_the_board_fits_a_phone_screen(web, browser_page, account, opp):
    opp(account.id, actor="alice", name="总部大楼项目")
    page = browser_page
    page.set_viewport_size({"width": 390, "height": 844})
    web.login(page, "alice")
    page.goto("/sales/pipeline")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.get_by_role("button", name=re.compile("总部大楼项目")).wait_for()
    screenshot(page, "sales-pipeline-phone")

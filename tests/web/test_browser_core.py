"""The core's pages in a real browser (headless Chromium)."""

import re

from crmcore.testing import screenshot


def test_a_salesperson_logs_in_finds_a_customer_by_pinyin_and_edits_it_after_a_validation_error(web, browser_page, make):
    make.customer(name="张伟", phones=["13800138000"])
    make.customer(name="李娜")
    web.user("alice", permissions=("customers.view_all", "customers.edit"))
    page = browser_page
    web.login(page, "alice")
    screenshot(page, "dashboard-zh")
    page.get_by_role("link", name=re.compile("客户|Customers")).first.click()
    page.get_by_label(re.compile("搜索|Search")).fill("zw")
    page.get_by_label(re.compile("搜索|Search")).press("Enter")
    page.wait_for_url(re.compile(r"q=zw"))
    page.get_by_role("link", name="张伟").wait_for()
    assert page.get_by_role("link", name="李娜").count() == 0
    screenshot(page, "customers-zh")
    page.get_by_role("link", name="张伟").click()
    assert "138****8000" in page.content()
    page.get_by_role("link", name=re.compile("编辑|Edit")).click()
    page.get_by_label(re.compile("^(名称|Name)")).fill("")
    page.get_by_role("button", name=re.compile("保存|Save")).click()
    assert page.locator(".field.invalid #f-name").count() == 1
    page.get_by_label(re.compile("^(名称|Name)")).fill("张伟（上海）")
    page.get_by_role("button", name=re.compile("保存|Save")).click()
    page.get_by_role("heading", name="张伟（上海）").wait_for()


def test_a_salesperson_logs_a_visit_on_the_timeline(web, browser_page, make):
    customer = make.customer(name="王芳")
    web.user("alice", permissions=("customers.view_all", "customers.edit"))
    web.login(browser_page, "alice")
    page = browser_page
    page.goto(f"/customers/{customer.id}")
    page.locator("details.log-activity summary").click()
    page.locator("#f-type").select_option("visit")
    page.get_by_label(re.compile("^(主题|Subject)")).fill("上门拜访，演示新品")
    page.get_by_role("button", name=re.compile("记录活动|Log activity")).click()
    page.locator("#timeline").get_by_text("上门拜访，演示新品").wait_for()
    screenshot(page, "customer-detail-zh")


def test_switching_the_language_changes_every_label_and_is_remembered(web, browser_page):
    web.user("alice", permissions=("customers.view_all",))
    page = browser_page
    web.login(page, "alice")
    assert page.get_by_role("heading", name="工作台").count() == 1
    page.locator("#locale-switch").select_option("en")
    page.get_by_role("heading", name="Dashboard").wait_for()
    screenshot(page, "dashboard-en")
    page.get_by_role("button", name="Log out").click()
    web.login(page, "alice")
    page.get_by_role("heading", name="Dashboard").wait_for()


def test_a_customer_of_another_department_is_not_found(web, browser_page, make, crm):
    web.user("bob", permissions=("customers.view", "customers.edit"), department="北京分公司")
    with crm.unit_of_work() as uow:
        uow.departments.add("上海分公司")
        other = uow.customers.create(name="赵敏", department_id=uow.departments.get("上海分公司").id)
    page = browser_page
    web.login(page, "bob")
    response = page.goto(f"/customers/{other.id}")
    assert response.status == 404
    assert "赵敏" not in page.content()


def test_the_pages_fit_a_phone_screen(web, browser_page, make):
    make.customer(name="张伟")
    web.user("alice", permissions=("customers.view_all",))
    page = browser_page
    page.set_viewport_size({"width": 390, "height": 844})
    web.login(page, "alice")
    page.goto("/customers")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.get_by_role("button", name=re.compile("菜单|Menu")).click()
    page.get_by_role("link", name=re.compile("客户|Customers")).first.wait_for()
    screenshot(page, "customers-phone")

"""The service desk in a real browser (headless Chromium): an agent takes a
ticket from the queue and resolves it, answers a call with the screen pop,
searches the knowledge base, and a supervisor reads the reports."""

from __future__ import annotations

import re

from crmcore.testing import screenshot


def test_an_agent_takes_a_ticket_from_the_queue_and_resolves_it(web, browser_page, service_desk, make, open_ticket):
    customer = make.customer(name="王芳", phones=["13800138000"], emails=["wf@example.com"])
    late = open_ticket(customer.id, "物业维修未处理", hours_ago=30, priority="high")
    open_ticket(customer.id, "快递破损", hours_ago=0.5)
    page = browser_page
    web.login(page, "lily")
    page.get_by_role("link", name=re.compile("^(客服工单|Service tickets)$")).first.click()
    page.get_by_role("heading", name=re.compile("客服工单|Service tickets")).wait_for()
    late_row = page.get_by_role("row").filter(has_text="物业维修未处理")
    assert re.search("已超时|Overdue by", late_row.inner_text())
    assert re.search("剩余|left", page.get_by_role("row").filter(has_text="快递破损").inner_text())
    screenshot(page, "callcenter-queue")
    late_row.get_by_role("button", name=re.compile(f"领取工单 #{late}|Take ticket #{late}")).click()
    page.wait_for_url(re.compile(f"/callcenter/tickets/{late}$"))
    page.get_by_label(re.compile("^(内容|Message)")).fill("已安排维修师傅明天上午上门。")
    page.get_by_role("button", name=re.compile("^(提交|Send)$")).click()
    page.locator(".timeline").get_by_text("已安排维修师傅明天上午上门。").wait_for()
    page.get_by_label(re.compile("^(变更说明|Note with the change)")).fill("师傅已修好")
    page.get_by_role("button", name=re.compile("^(解决|Resolve)$")).click()
    page.get_by_role("heading", name=re.compile("已解决|Resolved")).wait_for()
    page.get_by_label(re.compile("评分|Score")).select_option("5")
    page.get_by_role("button", name=re.compile("记录评价|Record answer")).click()
    page.get_by_text("5/5").first.wait_for()
    screenshot(page, "callcenter-ticket")
    page.get_by_role("link", name=re.compile("^(客服工单|Service tickets)$")).first.click()
    assert page.get_by_role("row").filter(has_text="物业维修未处理").count() == 0


def test_an_incoming_call_pops_the_callers_card_and_a_ticket_is_opened_for_them(web, browser_page, service_desk, make, open_ticket):
    customer = make.customer(name="李雷", phones=["13912345678"], level="vip")
    make.activity(customer.id, "visit", subject="上门回访")
    open_ticket(customer.id, "宽带断线")
    page = browser_page
    web.login(page, "lily")
    page.goto("/callcenter/console")
    number = page.get_by_label(re.compile("来电号码|Incoming number"))
    number.fill("+86 139-1234-5678")
    number.press("Enter")
    page.wait_for_url(re.compile(r"number="))
    card = page.locator("article.caller")
    card.get_by_role("link", name="李雷").wait_for()
    assert "宽带断线" in card.inner_text() and "上门回访" in card.inner_text()
    screenshot(page, "callcenter-console")
    card.get_by_role("link", name=re.compile("为来电客户建工单|New ticket for this caller")).click()
    page.get_by_label(re.compile("工单类型|Ticket type")).select_option("complaint")
    page.get_by_label(re.compile("^(主题|Subject)")).fill("来电投诉网速慢")
    page.get_by_role("button", name=re.compile("创建工单|Open ticket")).click()
    page.get_by_role("heading", name=re.compile("来电投诉网速慢")).wait_for()
    assert "李雷" in page.content()
    # an unknown caller becomes a customer with the number that rang
    page.goto("/callcenter/console")
    page.get_by_label(re.compile("来电号码|Incoming number")).fill("13600001111")
    page.get_by_role("button", name=re.compile("弹屏查询|Look up caller")).click()
    page.get_by_text(re.compile("不是已知客户|Not a known customer")).wait_for()
    page.get_by_label(re.compile("新客户名称|New customer's name")).fill("韩梅梅")
    page.get_by_role("button", name=re.compile("用此号码新建客户|Create customer")).click()
    page.locator("article.caller").get_by_role("link", name="韩梅梅").wait_for()


def test_a_solution_is_found_in_the_knowledge_base_and_used_on_a_ticket(web, browser_page, service_desk, make, open_ticket, cli):
    assert cli("service", "kb", "add", "--title", "发票重开流程", "--body", "先作废原发票，再按新抬头重开。", "--tag", "发票").exit_code == 0
    assert cli("service", "kb", "add", "--title", "宽带报修", "--body", "重启光猫后仍不通则派单。").exit_code == 0
    ticket = open_ticket(make.customer(name="赵敏").id, "发票抬头写错了", assignee="lily")
    page = browser_page
    web.login(page, "lily")
    page.get_by_role("link", name=re.compile("^(知识库|Knowledge base)$")).click()
    search = page.get_by_label(re.compile("搜索解决方案|Search solutions"))
    search.fill("发票 抬头")
    search.press("Enter")
    page.wait_for_url(re.compile(r"q="))
    page.get_by_role("link", name="发票重开流程").wait_for()
    assert page.get_by_role("link", name="宽带报修").count() == 0
    screenshot(page, "callcenter-kb")
    page.goto(f"/callcenter/tickets/{ticket}")
    page.get_by_label(re.compile("搜索知识库|Search the knowledge base")).fill("发票")
    page.get_by_label(re.compile("搜索知识库|Search the knowledge base")).press("Enter")
    page.get_by_role("button", name=re.compile("用于此工单|Use on this ticket")).click()
    page.locator(".timeline").get_by_text("发票重开流程").wait_for()


def test_a_supervisor_reads_the_service_reports_in_english_and_on_a_phone(web, browser_page, service_desk, make, open_ticket, crm):
    customer = make.customer(name="王芳", emails=["wf@example.com"])
    done = open_ticket(customer.id, "物业维修未处理", hours_ago=2, assignee="lily")
    with crm.unit_of_work(actor="admin") as uow:
        svc = uow.service("callcenter")
        svc.set_status(done, "resolved")
        svc.answer_survey(done, 4, "还行")
        for ref, second in (("c1", 5), ("c2", 40)):
            svc.call_event("offered", ref, caller="13800138000", queue="投诉", at=uow.now.replace(microsecond=0))
    web.user("boss", permissions=("customers.view_all", "callcenter.view"), locale="en")
    page = browser_page
    web.login(page, "boss")
    page.get_by_role("link", name="Service reports").click()
    page.get_by_role("heading", name="Service reports").wait_for()
    charts = page.locator("figure svg[role=img]")
    assert charts.count() >= 4
    assert page.locator("svg[aria-label^='SLA compliance']").count() == 1 and page.locator("svg[aria-label='Call volumes']").count() == 1
    screenshot(page, "callcenter-reports-en")
    page.get_by_role("link", name="Satisfaction").click()
    page.get_by_role("link", name="Answered").click()
    page.get_by_role("cell", name="4/5").wait_for()
    screenshot(page, "callcenter-surveys-en")
    page.set_viewport_size({"width": 390, "height": 844})
    for path in ("/callcenter/reports", "/callcenter/tickets?view=closed", "/callcenter/console"):
        page.goto(path)
        assert page.evaluate("document.documentElement.scrollWidth") <= 390, path
    screenshot(page, "callcenter-console-phone")

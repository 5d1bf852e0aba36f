"""The campaigns pages in a real browser (headless Chromium): a marketer
builds a segment with its live count and previews a campaign message, a
campaign is approved, launched and evaluated (funnel, ROI, A/B winner),
and a customer opts out from the customer page."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from crmcore import utcnow
from crmcore.testing import screenshot

pytest.importorskip("playwright")

MARKETER = ("campaigns.view", "campaigns.manage", "campaigns.approve", "campaigns.send", "campaigns.respond",
            "campaigns.optout", "customers.view_all", "customers.edit")


def _shop(make):
    """上海: 王芳 and 李娜 bought 1,200 and 800 this year, 张伟 never; 北京: 赵敏."""
    now = utcnow()
    wang = make.customer(name="王芳", city="上海", gender="female", emails=["wang@example.com"])
    li = make.customer(name="李娜", city="上海", gender="female", emails=["li@example.com"])
    zhang = make.customer(name="张伟", city="上海", gender="male", emails=["zhang@example.com"])
    zhao = make.customer(name="赵敏", city="北京", emails=["zhao@example.com"])
    make.activity(wang.id, "purchase", amount="1200", occurred_at=now - timedelta(days=20))
    make.activity(li.id, "purchase", amount="800", occurred_at=now - timedelta(days=40))
    return wang, li, zhang, zhao


def test_a_marketer_builds_a_segment_with_a_live_count_and_previews_the_campaign_message(web, browser_page, make):
    _shop(make)
    web.user("erin", permissions=MARKETER)
    page = browser_page
    web.login(page, "erin")
    page.goto("/customers")
    page.get_by_role("link", name=re.compile("^(营销活动|Campaigns)$")).first.click()
    page.get_by_role("link", name=re.compile("^(客户细分|Segments)$")).first.click()
    page.get_by_role("link", name=re.compile("新建客户细分|New segment")).click()

    page.get_by_label(re.compile(r"^(字段|Field) 1$")).select_option("city")
    page.get_by_label(re.compile(r"^(值|Value) 1$")).fill("上海")
    page.locator("#count [data-count='3']").wait_for()
    page.get_by_text(re.compile("^(添加条件|Add criterion)$")).first.click()
    page.get_by_label(re.compile(r"^(字段|Field) 2$")).select_option("purchases.sum")
    page.get_by_label(re.compile(r"^(条件|Condition) 2$")).select_option("gte")
    page.get_by_label(re.compile(r"^(值|Value) 2$")).fill("很多")
    page.locator("#count .error").get_by_text(re.compile("expected a number")).wait_for()
    page.get_by_label(re.compile(r"^(值|Value) 2$")).fill("500")
    page.get_by_label(re.compile(r"^(时间范围|Within) 2$")).fill("365d")
    page.locator("#count [data-count='2']").wait_for()
    page.get_by_label(re.compile("^(细分名称|Segment name)")).fill("上海活跃客户")
    page.locator("#count").get_by_role("link", name="李娜").wait_for()
    screenshot(page, "campaigns-segment-builder")
    page.get_by_role("button", name=re.compile("保存细分|Save segment")).click()
    page.get_by_role("heading", name=re.compile("上海活跃客户")).wait_for()

    page.get_by_role("link", name=re.compile("用此细分新建营销活动|New campaign for this segment")).click()
    page.get_by_label(re.compile("^(活动名称|Campaign name)")).fill("春季促销")
    page.get_by_label(re.compile("^(预算|Budget)")).fill("abc")
    page.get_by_role("button", name=re.compile("保存并继续|Save and continue")).click()
    page.locator(".field.invalid #f-budget").wait_for()
    page.get_by_label(re.compile("^(预算|Budget)")).fill("5000")
    page.get_by_role("button", name=re.compile("保存并继续|Save and continue")).click()

    page.get_by_label(re.compile(r"^(主题（电子邮件）|Subject \(e-mail\))")).fill("{{ customer.name }}，春季特惠")
    page.get_by_label(re.compile("^(消息|Message)")).fill("{{ customer.name }}{{ customer.salutation }}，您好！春季特惠全场八折。")
    page.get_by_label(re.compile("预览对象|Preview for")).select_option(label="李娜")
    page.get_by_role("button", name=re.compile("^(预览|Preview)$")).click()
    page.locator(".message-preview").get_by_text("李娜女士，您好！春季特惠全场八折。").wait_for()
    page.get_by_role("button", name=re.compile("保存消息|Save message")).click()

    preview = page.locator("#preview")
    preview.locator(".message-subject").get_by_text("王芳，春季特惠").wait_for()
    page.locator("#p-customer").select_option(label="李娜")
    preview.locator(".message-subject").get_by_text("李娜，春季特惠").wait_for()
    assert "customer=" in page.url
    screenshot(page, "campaigns-campaign-preview")


def test_a_campaign_is_approved_launched_and_its_ab_test_and_roi_are_read_off_the_results(web, browser_page, make, service):
    wang, li, zhang, _zhao = _shop(make)

    def plan(s):
        s.add_segment("上海客户", {"criteria": [{"field": "city", "value": "上海"}]})
        s.add("春季促销", segment="上海客户", channels=["email"], budget="1000", goal="老客户复购")
        s.add_template("春季促销", channel="email", subject="春季特惠", body="{{ customer.name }}您好", variant="A")
        s.add_template("春季促销", channel="email", subject="限时八折", body="{{ customer.name }}，限时八折", variant="B")
        s.edit_step("春季促销", 1, ab=70)
        return s.get("春季促销").id

    campaign_id = service(plan)
    web.user("erin", permissions=MARKETER)
    page = browser_page
    web.login(page, "erin")
    page.goto(f"/campaigns/{campaign_id}")
    page.get_by_role("button", name=re.compile("^(批准|Approve)$")).click()
    page.locator(".flash").wait_for()
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name=re.compile("^(发布|Launch)$")).click()
    page.locator(".flash").get_by_text(re.compile("3")).wait_for()

    def respond(s):
        sent = {m["customer_id"] for m in s.messages("春季促销") if m["status"] == "queued"}
        buyer = sorted(sent)[0]
        s.record_response("春季促销", buyer, "bought", amount="2600")
        s.add_cost("春季促销", "400", "邮件平台费", channel="email")

    service(respond)
    page.get_by_role("link", name=re.compile("^(效果评估|Results)$")).first.click()
    page.locator("svg.chart").first.wait_for()
    assert page.locator("svg.chart").count() == 2
    assert "¥2,600.00" in page.content()
    screenshot(page, "campaigns-results")
    page.locator("#ab").get_by_role("button").first.click()
    page.locator("#ab .badge.ok").wait_for()

    page.goto("/campaigns")
    page.get_by_role("heading", name=re.compile("投资回报|Return on investment")).wait_for()
    screenshot(page, "campaigns-list")


def test_a_customer_opts_out_of_sms_from_the_customer_page(web, browser_page, make, service):
    wang, *_ = _shop(make)

    def launched(s):
        s.add_segment("王芳", {"criteria": [{"field": "name", "value": "王芳"}]})
        s.add("会员日", segment="王芳", channels=["email"])
        s.add_template("会员日", channel="email", subject="会员日", body="您好")
        s.approve("会员日")
        s.launch("会员日")

    service(launched)
    web.user("erin", permissions=MARKETER)
    page = browser_page
    web.login(page, "erin")
    page.goto(f"/customers/{wang.id}")
    panel = page.locator("#panel-campaigns")
    panel.get_by_text("会员日").wait_for()
    panel.get_by_label(re.compile("不再通过|No more campaign messages")).select_option("sms")
    panel.get_by_label(re.compile("原因|Reason")).fill("电话中要求")
    panel.get_by_role("button", name=re.compile("^(退订|Opt out)$")).click()
    page.locator(".flash").wait_for()
    page.locator("#panel-campaigns").get_by_role("button", name=re.compile("恢复接收|Allow")).wait_for()
    screenshot(page, "campaigns-customer-panel")


def test_the_segment_builder_fits_a_phone_screen(web, browser_page, make):
    _shop(make)
    web.user("erin", permissions=MARKETER)
    page = browser_page
    page.set_viewport_size({"width": 390, "height": 844})
    web.login(page, "erin")
    page.goto("/campaigns/segments/new?field-1=city&value-1=上海")
    page.locator("#count [data-count='3']").wait_for()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    screenshot(page, "campaigns-segment-builder-phone")

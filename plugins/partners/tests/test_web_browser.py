"""The partners pages in a real browser (headless Chromium): registering a
partner deal (a clean one, and one with a conflict that an approver
overrides), the lead inbox, agreements ending soon, commissions and
scorecards, at desktop and phone width."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest

from crmcore.testing import screenshot

CHANNEL_MANAGER = ("customers.view_all", "customers.edit", "partners.view", "partners.manage", "partners.register",
                   "partners.approve", "partners.assign", "partners.commissions")


@pytest.fixture
def channel(partner, make, service):
    """Two partners with agreements; 甲 has a protected registration of 李娜."""
    today = date.today()
    first = partner("甲渠道有限公司", agreement=(str(today - timedelta(days=300)), str(today + timedelta(days=20)), "8%"))
    second = partner("乙渠道有限公司", agreement=(str(today - timedelta(days=30)), str(today + timedelta(days=335)), "10%"))
    li = make.customer(name="李娜", phones=["13900139000"])
    wang = make.customer(name="王芳", phones=["13700137000"])
    lead = make.customer(name="潜在客户赵", status="potential", city="上海")
    service(lambda s: s.register(first, li.id, amount="50000", close=today + timedelta(days=30)))
    return {"first": first, "second": second, "li": li.id, "wang": wang.id, "lead": lead.id}


def test_a_channel_manager_registers_deals_and_overrides_a_conflict(web, browser_page, channel):
    web.user("carol", permissions=CHANNEL_MANAGER)
    page = browser_page
    web.login(page, "carol")
    page.get_by_role("link", name=re.compile("^(商机报备|Deal registrations)$")).click()
    page.get_by_role("link", name=re.compile("报备商机|Register a deal")).click()
    page.get_by_label(re.compile("^(合作伙伴|Partner)$")).select_option(label="乙渠道有限公司 · 金牌")
    page.get_by_label(re.compile("^(最终客户|End customer)")).fill("lina")
    page.get_by_label(re.compile("^(预计金额|Expected amount)")).fill("20万")
    page.get_by_label(re.compile("^(预计成交日期|Expected close date)")).fill((date.today() + timedelta(days=60)).isoformat())
    page.get_by_label(re.compile("^(产品|Product)$")).fill("智能门锁")
    screenshot(page, "partners-register")
    page.get_by_role("button", name=re.compile("提交报备|Register deal")).click()
    page.get_by_role("heading", name=re.compile("报备 #|Registration #")).wait_for()
    assert page.locator(".flash").get_by_text(re.compile("发现 1 项冲突|1 conflicts found")).count() == 1
    conflicts = page.locator("#conflicts")
    assert conflicts.get_by_text(re.compile("其他伙伴已报备|Registered by another partner")).count() == 1
    assert conflicts.get_by_role("link", name="甲渠道有限公司").count() == 1
    screenshot(page, "partners-registration-conflict")
    # approving without override is refused, with the reason on the page
    page.get_by_role("button", name=re.compile("^(批准|Approve)$")).click()
    page.locator(".errors").get_by_text(re.compile("conflicts")).wait_for()
    page.get_by_label(re.compile("忽略冲突强制批准|Override the conflicts")).check()
    page.get_by_label(re.compile("^(原因|Reason)")).fill("客户指定乙渠道实施")
    page.get_by_role("button", name=re.compile("^(批准|Approve)$")).click()
    page.locator(".flash").get_by_text(re.compile("报备已批准|Registration approved")).wait_for()
    assert page.locator("h1 .badge").inner_text() in ("已批准", "Approved")
    # a clean deal is approved at once
    page.goto("/partners/registrations/new")
    page.get_by_label(re.compile("^(合作伙伴|Partner)$")).select_option(label="甲渠道有限公司 · 金牌")
    page.get_by_label(re.compile("^(最终客户|End customer)")).fill("王芳")
    page.get_by_label(re.compile("^(预计金额|Expected amount)")).fill("80000")
    page.get_by_label(re.compile("^(预计成交日期|Expected close date)")).fill(date.today().isoformat())
    page.get_by_role("button", name=re.compile("提交报备|Register deal")).click()
    page.locator(".flash").get_by_text(re.compile("未发现冲突|no conflict found")).wait_for()
    page.get_by_label(re.compile("^(成交金额|Amount won)")).fill("78000")
    page.get_by_role("button", name=re.compile("标记赢单|Mark won")).click()
    page.locator("h1 .badge").get_by_text(re.compile("^(赢单|Won)$")).wait_for()


def test_the_lead_inbox_agreements_and_partner_pages(web, browser_page, channel, service):
    service(lambda s: s.assign(channel["lead"], partner_id=channel["second"]))
    web.user("carol", permissions=CHANNEL_MANAGER)
    page = browser_page
    web.login(page, "carol")
    page.get_by_role("link", name=re.compile("^(线索分配|Lead inbox)$")).click()
    row = page.get_by_role("row").filter(has_text="潜在客户赵")
    row.get_by_role("button", name=re.compile("^(接受|Accept)$")).click()
    page.locator(".flash").get_by_text(re.compile("已接受线索|accepted lead")).wait_for()
    page.get_by_label(re.compile("^(状态|Status)$")).select_option("accepted")
    page.get_by_role("button", name=re.compile("^(筛选|Filter)$")).click()
    page.wait_for_url(re.compile("status=accepted"))
    page.get_by_role("link", name="潜在客户赵").wait_for()
    screenshot(page, "partners-assignments")
    page.get_by_role("link", name=re.compile("^(即将到期协议|Agreements expiring)$")).click()
    row = page.get_by_role("row").filter(has_text="甲渠道有限公司")
    assert "乙渠道有限公司" not in page.locator("table").inner_text(), "only agreements ending within 60 days"
    screenshot(page, "partners-agreements")
    row.get_by_label(re.compile("续约至|until")).fill((date.today() + timedelta(days=385)).isoformat())
    row.get_by_role("button", name=re.compile("^(续约|Renew)$")).click()
    page.locator(".flash").get_by_text(re.compile("协议已续约|Agreement renewed")).wait_for()
    page.get_by_role("link", name=re.compile("^(合作伙伴|Partners)$")).click()
    screenshot(page, "partners-list")
    page.get_by_role("link", name="甲渠道有限公司").click()
    page.get_by_role("heading", name=re.compile("甲渠道有限公司")).wait_for()
    assert page.locator("#agreements tbody tr").count() == 2, "the renewal follows the old agreement"
    screenshot(page, "partners-partner")


def test_commissions_and_scorecards_also_on_a_phone(web, browser_page, channel, service):
    today = date.today()

    def won_deal(s):
        registration = s.register(channel["second"], channel["wang"], amount="300000", close=today)
        s.won(registration["id"], "300000", today)

    service(won_deal)
    web.user("carol", permissions=CHANNEL_MANAGER)
    page = browser_page
    web.login(page, "carol")
    page.get_by_role("link", name=re.compile("^(佣金结算|Commissions)$")).click()
    page.get_by_role("button", name=re.compile("计算 .* 佣金|Compute commissions")).click()
    page.locator(".flash").get_by_text(re.compile("1 条佣金明细|1 commission lines")).wait_for()
    assert page.locator("tfoot").get_by_text(re.compile("30,000")).count() == 1, "10% of ¥300,000"
    screenshot(page, "partners-commissions")
    page.get_by_role("link", name=re.compile("^(伙伴绩效|Partner scorecards)$")).click()
    page.locator("figure svg").wait_for()
    screenshot(page, "partners-performance")
    page.get_by_role("link", name="乙渠道有限公司").click()
    page.get_by_role("heading", name=re.compile("绩效卡|Scorecard")).wait_for()
    screenshot(page, "partners-scorecard")
    page.set_viewport_size({"width": 390, "height": 844})
    for path in ("/partners/registrations", "/partners/assignments", f"/partners/{channel['second']}"):
        page.goto(path)
        assert page.evaluate("document.documentElement.scrollWidth") <= 390, path
    screenshot(page, "partners-partner-phone")

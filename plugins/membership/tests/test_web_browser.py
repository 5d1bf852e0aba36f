"""The member club's pages in a real browser (headless Chromium): a clerk
approves an application and redeems points; a manager reads a member's
ledger and the reports in English; attendance is recorded on a phone."""

from __future__ import annotations

import re

from crmcore.testing import accessibility_problems, screenshot

CLERK = ("membership.view", "membership.apply", "membership.approve", "membership.redeem", "membership.adjust", "membership.cards",
         "membership.points", "membership.manage", "customers.view_all", "customers.edit")


def test_a_clerk_approves_an_application_and_redeems_points(web, browser_page, club, make):
    customer = make.customer(name="李娜", phones=["13900139000"])
    club.service(lambda s: s.members.apply(customer.id, channel="web"))
    club.service(lambda s: s.redemption.add_reward("电影票", points=300, stock=5))
    web.user("clerk", permissions=CLERK)
    page = browser_page
    web.login(page, "clerk")
    page.get_by_role("link", name=re.compile("^(会员申请|Member applications)$")).click()
    row = page.locator("tr", has_text="李娜")
    row.get_by_label(re.compile("^(会员级别|Tier)$")).select_option("金卡")
    assert accessibility_problems(page) == []
    screenshot(page, "membership-applications")
    row.get_by_role("button", name=re.compile("^(批准|Approve)$")).click()
    page.get_by_role("heading", level=1, name=re.compile("会员卡|Member card")).wait_for()
    assert "李娜" in page.locator(".flash").inner_text()
    card = club.service(lambda s: s.members.active_of_customer(customer.id))["card_number"]
    assert card in page.get_by_role("heading", level=1).inner_text()

    page.get_by_text(re.compile("手工调整积分|Adjust points by hand")).click()
    page.get_by_label(re.compile("积分（负数为扣减）|Points \\(negative")).fill("500")
    page.get_by_label(re.compile("^(原因|Reason)")).first.fill("开业活动赠送")
    page.get_by_role("button", name=re.compile("提交调整|Post adjustment")).click()
    page.locator(".flash").wait_for()
    assert page.locator("#reward-points").inner_text() == "500"

    page.get_by_label(re.compile("^(礼品|Reward)$")).select_option("电影票")
    page.get_by_label(re.compile("^(数量|Quantity)")).fill("2")
    page.get_by_role("button", name=re.compile("^(兑换|Redeem)$")).click()
    page.locator("#redeem .errors").wait_for()  # 2 × 300 is more than the 500 points: refused on the form
    assert page.locator("#reward-points").inner_text() == "500"
    page.get_by_label(re.compile("^(数量|Quantity)")).fill("1")
    page.get_by_role("button", name=re.compile("^(兑换|Redeem)$")).click()
    page.get_by_text(re.compile("兑换成功|Redeemed\\.")).wait_for()
    assert page.locator("#reward-points").inner_text() == "200"
    page.locator("#redemptions").get_by_text("电影票").wait_for()
    assert accessibility_problems(page) == []
    screenshot(page, "membership-card")
    assert club.view(card)["reward_points"] == 200 and club.check() == []


def test_a_manager_reads_a_members_ledger_and_the_reports_in_english(web, browser_page, club):
    member = club.member(name="王芳", phones=["13700137000"])
    card = member["card_number"]
    club.service(lambda s: s.points.add(card, 900, reason="Spring gala"))
    club.service(lambda s: s.points.add(card, 400, kind="upgrade", reason="Spring gala"))
    club.service(lambda s: s.points.add(card, -100, reason="Correction"))
    web.user("manager", permissions=("membership.view", "customers.view_all"), locale="en")
    page = browser_page
    web.login(page, "manager")
    page.goto(f"/customers/{member['customer_id']}")
    panel = page.locator("#panel-membership")
    assert panel.get_by_role("heading", name="Membership").count() == 1
    assert "900" not in panel.inner_text() and "800" in panel.inner_text()
    screenshot(page, "membership-customer-panel-en")
    panel.get_by_role("link", name="Points ledger").click()
    page.get_by_role("heading", level=1, name=re.compile("Points ledger")).wait_for()
    assert page.locator("svg.chart[aria-label='Points over time'] polyline").count() == 2  # reward and upgrade
    page.get_by_label("Balance").select_option("upgrade")
    page.get_by_role("button", name="Filter").click()
    page.wait_for_url(re.compile("kind=upgrade"))
    rows = page.locator("table.list tbody tr")
    assert rows.count() == 1 and "+400" in rows.first.inner_text()
    assert accessibility_problems(page) == []
    screenshot(page, "membership-ledger-en")
    page.get_by_role("link", name="Membership reports").click()
    page.locator("svg.chart[aria-label='Reward points per month']").wait_for()
    assert page.locator("svg.chart[aria-label='Active members by tier']").count() == 1
    assert accessibility_problems(page) == []
    screenshot(page, "membership-reports-en")


def test_attendance_is_recorded_on_a_phone_and_posts_the_points_once(web, browser_page, club):
    first, second = club.member(name="赵敏"), club.member(name="周杰")
    event = club.service(lambda s: s.events.add("会员答谢会", held_on="2026-03-01", reward_points=80))
    web.user("clerk", permissions=CLERK)
    page = browser_page
    page.set_viewport_size({"width": 390, "height": 844})
    web.login(page, "clerk")
    page.goto("/membership/events")
    page.get_by_role("link", name="会员答谢会").click()
    for _ in range(2):  # recording the same attendees again posts nothing new
        page.get_by_label(re.compile("到场会员卡号|Card numbers of attendees")).fill(f"{first['card_number']}\n{second['card_number']}")
        page.get_by_role("button", name=re.compile("^(登记到场|Record attendance)$")).click()
        page.locator(".flash").wait_for()
    assert page.locator("#people-h + .table-wrap .badge.ok").count() == 2
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    assert accessibility_problems(page) == []
    screenshot(page, "membership-event-phone")
    assert club.view(first["card_number"])["reward_points"] == 80 and club.view(second["card_number"])["reward_points"] == 80
    assert club.service(lambda s: s.events.stats(event["id"]))[0]["attended"] == 2

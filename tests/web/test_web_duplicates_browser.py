"""Reviewing duplicates and merging one customer into another, in a browser."""

import re

from crmcore.testing import screenshot


def test_a_data_steward_compares_two_duplicates_side_by_side_and_merges_them(web, browser_page, make, crm):
    older = make.customer(name="张伟", phones=["13800138000"], city="上海")
    newer = make.customer(name="张伟", phones=["13800138000"], emails=["zhangwei@example.com"], tags=["展会"])
    with crm.unit_of_work() as uow:
        uow.contacts.add(newer.id, name="张太太", phones=["13900139000"])
    web.user("steward", permissions=("customers.view_all", "customers.view_contact_details", "customers.edit",
                                     "customers.merge"))
    page = browser_page
    web.login(page, "steward")
    page.get_by_role("link", name=re.compile("^(重复客户|Duplicates)$")).click()
    page.wait_for_url(re.compile("/duplicates$"))
    assert page.get_by_text(re.compile("(手机号相同|Same phone) 13800138000")).count() == 1
    screenshot(page, "duplicates-zh")
    page.get_by_role("link", name=re.compile("比较|Compare")).first.click()
    page.wait_for_url(re.compile(rf"/duplicates/{older.id}/{newer.id}$"))
    assert page.locator("table.compare").get_by_text("zhangwei@example.com").count() == 1
    screenshot(page, "duplicates-compare-zh")
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name=re.compile("合并|Merge")).click()
    page.wait_for_url(re.compile(rf"/customers/{older.id}$"))
    page.get_by_role("status").filter(has_text=re.compile("合并到|merged into")).wait_for()
    assert page.locator("#contacts").get_by_text("张太太").count() == 1
    with crm.unit_of_work() as uow:
        merged = uow.customers.get(newer.id)
        kept = uow.customers.get(older.id)
    assert not merged.active and merged.merged_into_id == older.id
    assert "zhangwei@example.com" in kept.emails and "展会" in kept.tags
    page.goto("/duplicates")
    assert page.get_by_role("link", name=re.compile("比较|Compare")).count() == 0

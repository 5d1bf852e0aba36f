"""Adding a key person to a customer and changing them, in a browser."""

import re

from crmcore.testing import screenshot


def test_a_salesperson_adds_a_key_person_with_a_validation_error_then_edits_them(web, browser_page, make, crm):
    customer = make.customer(name="上海华联科技有限公司", kind="organization")
    web.user("alice", permissions=("customers.view_all", "customers.view_contact_details", "customers.edit"))
    page = browser_page
    web.login(page, "alice")
    page.goto(f"/customers/{customer.id}")
    page.get_by_role("link", name=re.compile("添加联系人|Add a contact")).click()
    page.get_by_label(re.compile("^(姓名|名称|Name)")).fill("刘总")
    page.get_by_label(re.compile("^(电话|Phones)")).fill("12345")
    page.get_by_label(re.compile("采购决策中的角色|Role in the buying decision")).select_option("decision_maker")
    page.get_by_label(re.compile("与我方的关系|Relationship with us")).select_option("positive")
    page.get_by_role("button", name=re.compile("保存|Save")).click()
    page.locator(".field.invalid #f-phones").wait_for()
    page.get_by_label(re.compile("^(电话|Phones)")).fill("13800138000")
    page.get_by_role("button", name=re.compile("保存|Save")).click()
    page.wait_for_url(re.compile(rf"/customers/{customer.id}"))
    page.locator("#contacts").get_by_text("刘总").first.wait_for()
    screenshot(page, "customer-contacts-zh")
    page.get_by_role("link", name=re.compile("(编辑联系人 刘总|Edit contact 刘总)")).click()
    page.get_by_label(re.compile("^(职务|Job title)")).fill("总经理")
    page.get_by_role("button", name=re.compile("保存|Save")).click()
    page.locator("#contacts").get_by_text("总经理").first.wait_for()
    with crm.unit_of_work() as uow:
        (contact,) = uow.contacts.list(customer.id)
    assert (contact.title, contact.phones, contact.decision_role, contact.relationship) == \
        ("总经理", ["13800138000"], "decision_maker", "positive")

"""Administration in a browser: the company tree, a role, a user with a
password who then logs in, and a plugin switched off for one department."""

import re

import pytest
from litestar import Request, Response

from crmcore import hookimpl
from crmcore.testing import screenshot


def test_an_administrator_sets_up_a_branch_a_role_and_a_user_who_then_logs_in(web, browser_page, crm):
    admin = web.admin()
    page = browser_page
    web.login(page, admin)
    page.get_by_role("link", name=re.compile("^(系统管理|Administration)$")).click()
    page.get_by_role("link", name=re.compile("^(部门|Departments)$")).first.click()
    page.get_by_label(re.compile("^(名称|Name)")).fill("华东区")
    page.get_by_role("button", name=re.compile("添加部门|Add department")).click()
    page.get_by_role("status").filter(has_text="华东区").wait_for()
    page.get_by_label(re.compile("^(名称|Name)")).fill("上海分公司")
    page.get_by_label(re.compile("^(上级部门|Part of)")).select_option(label="华东区")
    page.get_by_role("button", name=re.compile("添加部门|Add department")).click()
    page.get_by_role("status").filter(has_text="上海分公司").wait_for()
    screenshot(page, "admin-departments-zh")

    page.get_by_role("link", name=re.compile("^(角色|Roles)$")).click()
    page.get_by_label(re.compile("^(名称|Name)")).fill("销售代表")
    for permission in ("customers.view", "customers.edit"):
        page.get_by_label(permission, exact=True).check()
    page.get_by_role("button", name=re.compile("添加角色|Add role")).click()
    page.get_by_role("status").filter(has_text="销售代表").wait_for()
    page.get_by_label(re.compile("(授予销售代表的权限|Permission to grant to 销售代表)")).select_option("customers.import")
    page.get_by_role("button", name=re.compile("(授予销售代表|Grant to 销售代表)")).click()
    page.get_by_role("status").filter(has_text="customers.import").wait_for()
    screenshot(page, "admin-roles-zh")

    page.get_by_role("link", name=re.compile("^(用户|Users)$")).first.click()
    page.get_by_label(re.compile("^(用户名|Username)")).fill("alice")
    page.get_by_label(re.compile("^(显示名称|Display name)")).fill("王丽")
    page.get_by_label(re.compile("^(密码|Password)")).fill("Sh@nghai-2026")
    page.get_by_label(re.compile("^(部门|Department)")).select_option(label="华东区 / 上海分公司")
    page.get_by_label("销售代表", exact=True).check()
    page.get_by_role("button", name=re.compile("添加用户|Add user")).click()
    page.get_by_role("status").filter(has_text="alice").wait_for()
    assert page.get_by_role("cell", name="华东区 / 上海分公司").count() == 1
    screenshot(page, "admin-users-zh")
    with crm.unit_of_work() as uow:
        alice = uow.users.get("alice")
        assert alice.roles == ("销售代表",) and alice.can("customers.import")
        assert uow.departments.path(alice.department_id) == "华东区 / 上海分公司"

    page.get_by_role("button", name=re.compile("退出|Log out")).click()
    web.login(page, "alice", "Sh@nghai-2026")
    page.get_by_role("link", name=re.compile("^(导入|Import)$")).wait_for()
    assert page.get_by_role("link", name=re.compile("^(系统管理|Administration)$")).count() == 0


def test_a_leaving_user_is_deactivated_and_their_customers_handed_over(web, browser_page, crm, make):
    web.user("leaver", permissions=("customers.view",))
    web.user("successor", permissions=("customers.view",))
    with crm.unit_of_work() as uow:
        owned = uow.customers.create(name="张伟", owner_id=uow.users.get("leaver").id)
    page = browser_page
    web.login(page, web.admin())
    page.goto("/admin/users")
    page.on("dialog", lambda dialog: dialog.accept())  # "Deactivate leaver?"
    page.get_by_role("link", name=re.compile("(停用 leaver|Deactivate leaver)")).click()
    page.get_by_role("button", name=re.compile("^(停用|Deactivate)$")).click()  # nobody named: refused, they own a customer
    page.locator(".field.invalid #f-reassign").wait_for()
    page.get_by_label(re.compile("移交给|Hand over to")).select_option("successor")
    page.get_by_role("button", name=re.compile("^(停用|Deactivate)$")).click()
    page.wait_for_url(re.compile("/admin/users$"))
    page.get_by_role("status").filter(has_text="leaver").wait_for()
    with crm.unit_of_work() as uow:
        assert not uow.users.get("leaver").active
        assert uow.customers.get(owned.id).owner_id == uow.users.get("successor").id


class StampPages:
    """A throwaway plugin with one page and a sidebar entry."""

    @hookimpl
    def crm_register_pages(self, register):
        from crmcore import web

        @web.get("/cards")
        def cards(request: Request) -> Response:
            with web.web_uow(request):
                return Response("stamp cards", media_type="text/plain")

        register(cards)

    @hookimpl
    def crm_register_navigation(self, register):
        register("/stamps/cards", "Stamp cards", order=300)


@pytest.fixture
def stamps(register_plugin):
    return register_plugin(StampPages(), name="stamps")


def test_a_plugin_disabled_for_a_department_disappears_for_its_staff(stamps, web, browser_page, crm):
    # stamps first: its pages must be registered before the server starts
    web.user("bj", permissions=("customers.view",), department="北京分公司")
    web.user("sh", permissions=("customers.view",), department="上海分公司")
    page = browser_page
    web.login(page, web.admin())
    page.goto("/admin/plugins")
    page.get_by_role("button", name=re.compile("(为北京分公司停用 stamps|Disable stamps for 北京分公司)")).click()
    page.get_by_role("status").filter(has_text="stamps").wait_for()
    page.get_by_role("button", name=re.compile("(为北京分公司启用 stamps|Enable stamps for 北京分公司)")).wait_for()
    screenshot(page, "admin-plugins-zh")
    with crm.unit_of_work() as uow:
        assert "stamps" in uow.plugin_settings.disabled_for(uow.departments.get("北京分公司").id)

    page.get_by_role("button", name=re.compile("退出|Log out")).click()
    web.login(page, "bj")
    assert page.get_by_role("link", name="Stamp cards").count() == 0
    assert page.goto("/stamps/cards").status == 404
    page.goto("/")
    page.get_by_role("button", name=re.compile("退出|Log out")).click()
    web.login(page, "sh")
    page.get_by_role("link", name="Stamp cards").wait_for()
    assert page.goto("/stamps/cards").status == 200

"""Permissions and CSRF on the duplicates, import, contact and admin pages,
over plain HTTP against a real server."""

import re
import pytest



def form_token(html: str) -> str:
    return re.search(r'name="_csrf" value="([^"]+)"', html).group(1)


def logged_in(web, username: str):
    return web.client(username)


@pytest.mark.parametrize("path, permission", [
    ("/duplicates", "customers.merge"),
    ("/imports", "customers.import"),
    ("/admin/departments", "users.manage"),
    ("/admin/users", "users.manage"),
    ("/admin/roles", "roles.manage"),
    ("/admin/plugins", "plugins.manage"),
])
def test_a_page_needing_a_permission_the_user_lacks_is_refused_naming_it(web, path, permission):
    web.user("alice", permissions=("customers.view", "customers.edit"))
    with logged_in(web, "alice") as client:
        response = client.get(path)
    assert response.status_code == 403
    assert permission in response.text


def test_the_admin_index_names_the_permissions_it_needs_and_hides_from_the_sidebar(web):
    web.user("alice", permissions=("customers.view",))
    with logged_in(web, "alice") as client:
        assert 'href="/admin"' not in client.get("/").text
        response = client.get("/admin")
    assert response.status_code == 403
    assert "users.manage" in response.text and "plugins.manage" in response.text


def test_a_role_manager_sees_only_the_roles_page(web):
    web.user("hr", permissions=("roles.manage",))
    with logged_in(web, "hr") as client:
        index = client.get("/admin")
        assert index.status_code == 200
        assert 'href="/admin/roles"' in index.text and 'href="/admin/users"' not in index.text
        assert client.get("/admin/roles").status_code == 200
        assert client.get("/admin/users").status_code == 403


def test_a_posted_admin_form_without_its_token_is_refused_and_changes_nothing(web, crm):
    web.user("boss", permissions=("users.manage",))
    with logged_in(web, "boss") as client:
        form_token(client.get("/admin/departments").text)
        refused = client.post("/admin/departments", data={"name": "深圳分公司", "_csrf": "forged"})
        missing = client.post("/admin/departments", data={"name": "深圳分公司"})
    assert refused.status_code == 403 and missing.status_code == 403
    with crm.unit_of_work() as uow:
        assert uow.departments.find("深圳分公司") is None


def test_merging_needs_the_merge_permission_even_when_posted(web, make, crm):
    first, second = make.customer(name="张伟", phones=["13800138000"]), make.customer(name="张伟", phones=["13800138000"])
    web.user("alice", permissions=("customers.view_all", "customers.edit"))
    with logged_in(web, "alice") as client:
        token = form_token(client.get(f"/customers/{first.id}").text)
        response = client.post("/duplicates/merge", data={"keep": first.id, "other": second.id, "_csrf": token})
    assert response.status_code == 403 and "customers.merge" in response.text
    with crm.unit_of_work() as uow:
        assert uow.customers.get(second.id).active


def test_a_contact_of_another_departments_customer_is_not_found(web, crm):
    web.user("bob", permissions=("customers.view", "customers.edit"), department="北京分公司")
    with crm.unit_of_work() as uow:
        shanghai = uow.departments.add("上海分公司")
        other = uow.customers.create(name="赵敏", department_id=shanghai.id)
        contact = uow.contacts.add(other.id, name="周芷若")
    with logged_in(web, "bob") as client:
        assert client.get(f"/customers/{other.id}/contacts/new").status_code == 404
        response = client.get(f"/customers/{other.id}/contacts/{contact.id}/edit")
    assert response.status_code == 404
    assert "周芷若" not in response.text


def test_an_import_is_only_its_importers(web, crm):
    web.user("alice", permissions=("customers.view", "customers.edit", "customers.import"))
    web.user("carol", permissions=("customers.view", "customers.edit", "customers.import"))
    with logged_in(web, "alice") as client:
        token = form_token(client.get("/imports").text)
        started = client.post("/imports", data={"kind": "customers", "on_duplicate": "skip", "_csrf": token},
                              files={"file": ("客户.csv", "名称,手机\n张伟,13800138000\n,\n李娜,not-a-phone\n".encode("utf-8"))})
        assert started.status_code == 303
        run = started.headers["location"]
        page = client.get(run)
        for _ in range(100):
            if "data-done" in page.text:
                break
            page = client.get(run)
        import_id = re.search(r'/imports/(\d+)/rejects', page.text).group(1)
    with logged_in(web, "carol") as client:
        assert client.get(run).status_code == 404
        assert client.get(f"/imports/{import_id}").status_code == 404
        assert client.get(f"/imports/{import_id}/rejects").status_code == 404

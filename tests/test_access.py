"""Who sees and changes what: departments, roles, masking, hand-over."""

import pytest

from crmcore import NotFound, PermissionDenied

SALES = ["customers.view", "customers.edit"]
MANAGER = ["customers.view_all", "customers.view_contact_details", "customers.edit"]


@pytest.fixture
def company(crm, as_user):
    with crm.unit_of_work() as uow:
        uow.departments.add("华东区")
        uow.departments.add("上海分公司", parent="华东区")
        uow.departments.add("北京分公司")
    as_user("alice", permissions=SALES, department="上海分公司")
    as_user("bob", permissions=SALES, department="北京分公司")
    as_user("carol", permissions=MANAGER, department="华东区")
    as_user("dora", permissions=["customers.view"], department="华东区")
    return crm


def test_a_salesperson_does_not_find_another_departments_customers(company, cli, make):
    make.customer(name="张伟", phones=["13800138000"], actor="alice")
    assert cli("customer", "search", "张伟", as_="bob", json=True).json == []
    assert cli("customer", "search", "13800138000", as_="bob", json=True).json == []
    assert cli("customer", "list", as_="bob", json=True).json == []


def test_another_departments_customer_cannot_be_shown_or_changed(company, cli, make):
    customer = make.customer(actor="alice")
    assert cli("customer", "show", str(customer.id), as_="bob").exit_code == 1
    assert cli("customer", "edit", str(customer.id), "--city", "北京", as_="bob").exit_code == 1
    with company.unit_of_work(actor="bob") as uow, pytest.raises(NotFound):
        uow.activities.log(customer.id, type="note")


def test_a_parent_department_sees_its_subtree(company, cli, make):
    customer = make.customer(actor="alice")
    assert [c["id"] for c in cli("customer", "list", as_="dora", json=True).json] == [customer.id]


def test_contact_details_are_masked_without_the_permission(company, cli, make):
    customer = make.customer(name="张伟", phones=["13800138000"], emails=["zhangwei@example.com"], birthday="1985-06-18", actor="alice")
    shown = cli("customer", "show", str(customer.id), as_="alice", json=True).json
    assert (shown["phones"], shown["emails"], shown["birthday"]) == (["138****8000"], ["z***@example.com"], "****")
    assert cli("customer", "show", str(customer.id), as_="carol", json=True).json["phones"] == ["13800138000"]


def test_a_denied_operation_names_the_missing_permission_and_exits_1(company, cli, make):
    customer = make.customer(actor="alice")
    result = cli("customer", "edit", str(customer.id), "--city", "上海", as_="dora")
    assert result.exit_code == 1 and "requires customers.edit" in result.stderr
    with company.unit_of_work(actor="alice") as uow, pytest.raises(PermissionDenied, match="customers.merge"):
        uow.customers.merge(customer.id, customer.id)


def test_deactivating_a_user_hands_customers_and_open_tasks_to_the_successor(company, cli, make):
    customer = make.customer(actor="alice")
    task = make.activity(customer.id, "task", due_at="2026-12-01", actor="alice")
    result = cli("user", "deactivate", "alice", "--reassign-to", "carol", json=True)
    assert result.json == {"user": "alice", "reassigned_to": "carol", "customers": 1, "tasks": 1, "contacts": 0}
    with company.unit_of_work(actor="carol") as uow:
        assert uow.customers.get(customer.id).owner_id == uow.actor.id
        assert uow.activities.get(task.id).owner_id == uow.actor.id
        assert uow.audit.for_entity("customer", customer.id)[-1].action == "hand-over"
    assert cli("customer", "list", as_="alice").exit_code == 1  # a frozen account cannot act


def test_deactivating_an_owner_without_a_successor_is_refused(company, cli, make):
    make.customer(actor="alice")
    result = cli("user", "deactivate", "alice")
    assert result.exit_code == 1 and "reassign-to:" in result.stderr


def test_plugins_hand_over_through_the_deactivation_hook_in_the_same_transaction(company, register_plugin, make):
    from crmcore import hookimpl

    handed = []

    class Plugin:
        @hookimpl
        def crm_user_deactivated(self, user, successor):
            handed.append((user.username, successor.username))

    register_plugin(Plugin(), "owner_records")
    make.customer(actor="alice")
    with company.unit_of_work() as uow:
        uow.users.deactivate("alice", "carol")
    assert handed == [("alice", "carol")]


def test_permission_changes_are_audited(crm, cli):
    cli("role", "add", "sales", "--grant", "customers.view")
    cli("role", "grant", "sales", "customers.edit")
    cli("role", "revoke", "sales", "customers.view")
    actions = [(e["action"], e["changes"]) for e in cli("audit", "list", "--entity", "role", json=True).json][:3]
    assert actions == [("revoke", {"permission": "customers.view"}), ("grant", {"permission": "customers.edit"}),
                       ("create", {"permissions": ["customers.view"]})]


def test_audit_list_needs_audit_view(company, cli):
    result = cli("audit", "list", as_="alice")
    assert result.exit_code == 1 and "requires audit.view" in result.stderr


def test_plugin_panels_do_not_leak_masked_contact_details(company, cli, make, register_plugin):
    from crmcore import Panel, hookimpl

    class Leaky:
        @hookimpl
        def crm_customer_panel(self, customer):
            return Panel("leaky", "Leaky", {"call": f"call {customer.phones[0]}"}, lines=[f"mail {customer.emails[0]}"])

    register_plugin(Leaky(), "leaky")
    customer = make.customer(phones=["13800138000"], emails=["zhangwei@example.com"], actor="alice")
    assert cli("customer", "show", str(customer.id), as_="alice", json=True).json["panels"]["leaky"]["call"] == "call 138****8000"
    assert "z***@example.com" in cli("customer", "show", str(customer.id), as_="alice").stdout
    assert cli("customer", "show", str(customer.id), as_="carol", json=True).json["panels"]["leaky"]["call"] == "call 13800138000"

"""Proof that the seams hold: a third-party plugin (tests/example_plugin)
adds a table with a migration, an activity type, a CLI command, a customer
panel and a validation hook, without any change to the core."""

import pytest
from sqlalchemy import inspect

from crmcore import ValidationError
from crmcore.testing import PluginConformance


@pytest.fixture
def crm_plugins():
    return ["example"]


def test_its_migration_adds_its_table_on_its_own_branch(crm):
    assert "example_stamps" in inspect(crm.engine).get_table_names()
    status = {s.branch: (s.current, s.head) for s in crm.migration_status()}
    assert status["example"] == ("example_0001", "example_0001") and status["core"][0] == status["core"][1]


def test_its_activity_type_can_be_logged(crm, make):
    customer = make.customer()
    activity = make.activity(customer.id, "wechat", subject="发了优惠券")
    assert crm.activity_types["wechat"].label == "微信" and activity.type == "wechat"


def test_its_lifecycle_hook_writes_its_table_in_the_same_transaction(cli, make):
    customer = make.customer()
    make.activity(customer.id, "visit")
    make.activity(customer.id, "visit")
    assert cli("example", "stamps", str(customer.id), json=True).json == {"customer_id": customer.id, "stamps": 2}


def test_its_panel_shows_in_customer_show(cli, make):
    customer = make.customer(name="张伟")
    make.activity(customer.id, "visit")
    shown = cli("customer", "show", str(customer.id), json=True).json
    assert shown["panels"]["example"] == {"title": "Stamp card", "stamps": 1}
    assert "张伟 has 1 stamp" in cli("customer", "show", str(customer.id)).stdout


def test_its_validation_hook_vetoes_a_customer(crm):
    with crm.unit_of_work() as uow, pytest.raises(ValidationError, match="emails: addresses at example.invalid"):
        uow.customers.create(name="张伟", emails=["zw@example.invalid"])


def test_its_raising_hook_rolls_back_the_customer_it_was_called_for(cli):
    result = cli("customer", "add", "--name", "张伟", "--tag", "explode")
    assert result.exit_code == 1
    assert "plugin 'example' failed in crm_customer_created: RuntimeError" in result.stderr
    assert cli("customer", "list", json=True).json == []


def test_its_command_refuses_to_run_where_it_is_disabled(cli, as_user, make):
    cli("department", "add", "北京分公司")
    cli("plugins", "disable", "example", "--department", "北京分公司")
    as_user("bob", department="北京分公司")
    customer = make.customer(actor="bob")
    result = cli("example", "stamps", str(customer.id), as_="bob")
    assert result.exit_code == 1 and "disabled for the department of 'bob'" in result.stderr
    assert "example" not in cli("customer", "show", str(customer.id), as_="bob", json=True).json["panels"]


def test_plugins_list_shows_it_with_its_hooks(cli):
    cli("department", "add", "北京分公司")
    cli("plugins", "disable", "example", "--department", "北京分公司")
    (listed,) = cli("plugins", "list", json=True).json
    assert (listed["name"], listed["version"], listed["enabled"], listed["error"]) == ("example", "0.1.0", True, None)
    assert listed["departments"] == {"北京分公司": False}
    assert "crm_customer_panel" in listed["hooks"]


class TestExampleConformance(PluginConformance):
    plugin_name = "example"
    template_context = {"stamps": 3}

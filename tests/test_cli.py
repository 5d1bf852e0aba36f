"""The `crm` command as a new user meets it."""

import pytest


@pytest.fixture
def seeded(cli):
    cli("customer", "add", "--name", "张伟", "--kind", "person", "--phone", "１３８ ００１３ ８０００",
        "--email", "zhangwei@example.com", "--tag", "vip")
    cli("customer", "add", "--name", "上海明源地产有限公司", "--kind", "organization", "--phone", "021-55551234",
        "--industry", "房地产", "--city", "上海")
    return cli


def test_the_issue_walkthrough_works_as_written(seeded):
    cli = seeded
    assert cli("contact", "add", "2", "--name", "李娜", "--title", "采购经理", "--phone", "13900000000").exit_code == 0
    assert cli("activity", "log", "1", "--type", "visit", "--subject", "首次拜访").exit_code == 0
    found = cli("customer", "search", "13800138000", json=True).json
    assert [(c["id"], c["name"], c["phones"]) for c in found] == [(1, "张伟", ["13800138000"])]
    shown = cli("customer", "show", "1", json=True).json
    assert shown["name"] == "张伟" and shown["activities"][0]["subject"] == "首次拜访"
    assert shown["contacts"] == [] and shown["panels"] == {}
    assert cli("customer", "show", "2", json=True).json["contacts"][0]["name"] == "李娜"
    assert cli("customer", "cancel", "1").exit_code == 0
    assert cli("customer", "restore", "1").exit_code == 0


def test_bad_input_names_the_field_exits_1_and_writes_nothing(seeded):
    result = seeded("customer", "add", "--name", "")
    assert result.exit_code == 1
    assert "name: must not be empty" in result.stderr
    assert len(seeded("customer", "list", json=True).json) == 2


def test_a_bad_phone_is_reported_with_the_field(seeded):
    result = seeded("customer", "add", "--name", "王芳", "--phone", "12345")
    assert result.exit_code == 1 and "phones: '12345'" in result.stderr


def test_level_may_be_given_as_its_chinese_label(seeded):
    result = seeded("customer", "add", "--name", "王芳", "--level", "贵宾", json=True)
    assert result.json["level"] == "vip"


def test_a_missing_customer_exits_1_with_a_message(cli):
    result = cli("customer", "show", "42")
    assert result.exit_code == 1 and "customer 42 not found" in result.stderr


def test_usage_errors_exit_2(cli):
    assert cli("customer", "add").exit_code == 2


def test_plugins_list_as_json_gives_name_version_enabled_error(cli):
    assert cli("plugins", "list", json=True).json == []


def test_edit_changes_only_what_is_given_and_tags_can_be_added(seeded):
    seeded("customer", "edit", "1", "--city", "上海", "--add-tag", "老客户")
    customer = seeded("customer", "show", "1", json=True).json
    assert (customer["city"], customer["tags"], customer["phones"]) == ("上海", ["vip", "老客户"], ["13800138000"])


def test_customer_list_prints_a_readable_table_with_chinese(seeded):
    output = seeded("customer", "list").stdout
    assert "上海明源地产有限公司" in output and "02155551234" in output


def test_departments_and_users_are_added_and_listed(cli):
    cli("department", "add", "华东区")
    cli("department", "add", "上海分公司", "--parent", "华东区")
    cli("role", "add", "sales", "--grant", "customers.view", "--grant", "customers.edit")
    assert cli("user", "add", "alice", "--role", "sales", "--department", "上海分公司").exit_code == 0
    departments = cli("department", "list", json=True).json
    assert [d["path"] for d in departments] == ["华东区", "华东区 / 上海分公司"]
    users = {u["username"]: u for u in cli("user", "list", json=True).json}
    assert users["alice"]["roles"] == ["sales"] and users["alice"]["department"] == "华东区 / 上海分公司"


def test_an_unknown_permission_is_refused(cli):
    result = cli("role", "add", "sales", "--grant", "customers.fly")
    assert result.exit_code == 1 and "'customers.fly' is not a known permission" in result.stderr


def test_acting_as_an_unknown_user_fails(cli):
    result = cli("customer", "list", as_="nobody")
    assert result.exit_code == 1 and "no user 'nobody'" in result.stderr


def test_tasks_can_be_logged_and_marked_done(seeded):
    task = seeded("activity", "log", "1", "--type", "task", "--subject", "回访", "--due", "2026-12-01T10:00", json=True).json
    assert seeded("activity", "done", str(task["id"])).exit_code == 0
    assert seeded("activity", "list", "1", json=True).json[0]["done"] is True


def test_a_purchase_needs_an_amount(seeded):
    result = seeded("activity", "log", "1", "--type", "purchase")
    assert result.exit_code == 1 and "amount: required for purchase" in result.stderr


def test_db_status_reports_every_branch_up_to_date(cli):
    (core,) = cli("db", "status", json=True).json
    assert core["branch"] == "core" and core["up_to_date"] and core["current"] == core["head"]


def test_outbox_deliver_writes_file_channel_messages(crm, cli, tmp_path):
    crm.config.outbox_dir = str(tmp_path / "out")
    with crm.unit_of_work() as uow:
        uow.outbox.put("file", "zhang@example.com", "你好", "正文")
    assert cli("outbox", "deliver", json=True).json == {"sent": 1, "retry": 0, "failed": 0}
    assert "你好" in next((tmp_path / "out").iterdir()).read_text(encoding="utf-8")


def test_a_user_has_an_email_for_notices_and_a_bad_one_is_refused(cli):
    assert cli("user", "add", "alice", "--email", "alice@example.com", json=True).json["email"] == "alice@example.com"
    result = cli("user", "add", "bob", "--email", "bob-at-example")
    assert result.exit_code == 1 and "email: 'bob-at-example' is not an e-mail address" in result.stderr

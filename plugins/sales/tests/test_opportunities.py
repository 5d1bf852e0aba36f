"""Opportunities: opening, stages (codes and Chinese labels), history,
closing, validation, permissions and scope."""

from decimal import Decimal

import pytest

from crmcore import PermissionDenied, ValidationError


def test_opportunity_add_as_written_returns_id_stage_and_probability(cli, make):
    make.customer()
    customer = make.customer(name="钟海燕")
    result = cli("sales", "opportunity", "add", str(customer.id), "--name", "总部大楼项目", "--amount", "500000",
                 "--close", "2026-12-31", json=True)
    assert result.exit_code == 0, result
    data = result.json
    assert (data["id"], data["stage"], data["probability"]) == (1, "qualification", 10)
    assert (data["name"], data["amount"], data["expected_close"], data["customer_id"]) == ("总部大楼项目", "500000.00", "2026-12-31", 2)
    assert data["weighted_amount"] == "50000.00"


def test_stage_moves_by_code_and_by_chinese_label_with_default_probability(cli, make, opp):
    made = opp(make.customer().id)
    result = cli("sales", "opportunity", "stage", str(made.id), "--to", "proposal")
    assert result.exit_code == 0, result
    assert "qualification → proposal" in result.stdout
    moved = cli("sales", "opportunity", "stage", str(made.id), "--to", "商务谈判", json=True).json
    assert (moved["stage"], moved["probability"], moved["stage_label"]) == ("negotiation", 75, "商务谈判")
    assert cli("sales", "opportunity", "stage", str(made.id), "--to", "Needs analysis", json=True).json["probability"] == 30


def test_every_stage_change_is_kept_with_time_and_actor(cli, as_user, make, opp):
    as_user("alice", permissions=["customers.view", "customers.view_all", "sales.edit"])
    made = opp(make.customer().id)
    assert cli("sales", "opportunity", "stage", str(made.id), "--to", "proposal", "--note", "报价已发", as_="alice").exit_code == 0
    cli("sales", "opportunity", "stage", str(made.id), "--to", "won")
    history = cli("sales", "opportunity", "history", str(made.id), json=True).json
    assert [(h["from_stage"], h["to_stage"], h["probability"], h["actor"]) for h in history] == [
        (None, "qualification", 10, "system"), ("qualification", "proposal", 50, "alice"), ("proposal", "won", 100, "admin")]
    assert history[1]["note"] == "报价已发" and history[1]["at"]


def test_lost_needs_a_reason_and_keeps_it(cli, make, opp):
    made = opp(make.customer().id)
    refused = cli("sales", "opportunity", "stage", str(made.id), "--to", "输单")
    assert refused.exit_code == 1 and "reason: say why the opportunity was lost" in refused.stderr
    lost = cli("sales", "opportunity", "stage", str(made.id), "--to", "lost", "--reason", "价格高于竞品", json=True).json
    assert (lost["outcome"], lost["probability"], lost["lost_reason"]) == ("lost", 0, "价格高于竞品")
    assert lost["closed_at"]


def test_reopening_a_lost_opportunity_clears_close_and_reason(crm, make, opp):
    made = opp(make.customer().id, moves=[("lost", 1)])
    with crm.unit_of_work() as uow:
        reopened = uow.service("sales").opportunities.move(made.id, "negotiation")
    assert (reopened.stage, reopened.probability, reopened.closed_at, reopened.lost_reason) == ("negotiation", 75, None, None)


def test_moving_to_the_current_stage_is_refused(cli, make, opp):
    made = opp(make.customer().id)
    result = cli("sales", "opportunity", "stage", str(made.id), "--to", "初步接洽")
    assert result.exit_code == 1 and "already in stage qualification" in result.stderr


def test_unknown_stage_names_the_known_ones(cli, make, opp):
    made = opp(make.customer().id)
    result = cli("sales", "opportunity", "stage", str(made.id), "--to", "signed")
    assert result.exit_code == 1
    assert "to: no stage 'signed'" in result.stderr and "proposal/方案报价" in result.stderr


def test_a_probability_override_is_kept_but_won_is_always_100(crm, make, opp):
    made = opp(make.customer().id, probability="25%")
    assert made.probability == 25
    with crm.unit_of_work() as uow, pytest.raises(ValidationError, match="probability: a won opportunity has probability 100"):
        uow.service("sales").opportunities.move(made.id, "won", probability=80)


@pytest.mark.parametrize("amount, problem", [("-5", "must not be negative"), ("abc", "is not an amount")])
def test_bad_amounts_are_refused_and_nothing_is_written(cli, make, amount, problem):
    customer = make.customer()
    result = cli("sales", "opportunity", "add", str(customer.id), "--name", "X", "--amount", amount)
    assert result.exit_code == 1 and "amount: " in result.stderr and problem in result.stderr
    assert cli("sales", "opportunity", "list", json=True).json == []


def test_amounts_in_wan_are_understood(crm, make, opp):
    assert opp(make.customer().id, amount="50万").amount == Decimal("500000.00")


def test_opening_needs_the_sales_edit_permission(crm, cli, as_user, make):
    as_user("dave", permissions=["customers.view", "customers.edit"])
    customer = make.customer()
    result = cli("sales", "opportunity", "add", str(customer.id), "--name", "X", as_="dave")
    assert result.exit_code == 1 and "requires sales.edit" in result.stderr
    with crm.unit_of_work(actor="dave") as uow, pytest.raises(PermissionDenied):
        uow.service("sales").opportunities.add(customer.id, name="X")


def test_the_owner_defaults_to_the_customers_owner(crm, as_user, make, opp):
    as_user("alice", permissions=["customers.view", "customers.edit", "sales.edit"])
    with crm.unit_of_work() as uow:
        alice = uow.users.find("alice")
    customer = make.customer(owner_id=alice.id)
    assert opp(customer.id).owner_id == alice.id


def test_salespeople_see_only_opportunities_of_customers_in_their_scope(cli, as_user, make, opp):
    as_user("alice", permissions=["customers.view", "customers.edit", "sales.edit"], department="上海分公司")
    as_user("bob", permissions=["customers.view", "customers.edit", "sales.edit"], department="北京分公司")
    shanghai = make.customer(actor="alice")
    beijing = make.customer(actor="bob")
    opp(shanghai.id, name="上海项目")
    opp(beijing.id, name="北京项目")
    assert [o["name"] for o in cli("sales", "opportunity", "list", as_="alice", json=True).json] == ["上海项目"]
    hidden = cli("sales", "opportunity", "show", "2", as_="alice")
    assert hidden.exit_code == 1 and "opportunity 2 not found" in hidden.stderr


def test_edit_changes_fields_and_audits_them(crm, cli, make, opp):
    made = opp(make.customer().id)
    edited = cli("sales", "opportunity", "edit", str(made.id), "--amount", "120000", "--close", "2027-03-31",
                 "--competitor", "用友", "--add-competitor", "金蝶", json=True).json
    assert (edited["amount"], edited["expected_close"], edited["competitors"]) == ("120000.00", "2027-03-31", ["用友", "金蝶"])
    with crm.unit_of_work() as uow:
        entries = uow.audit.for_entity("sales_opportunity", made.id)
    assert entries[-1].action == "update" and entries[-1].changes["amount"] == ["100000.00", "120000.00"]


def test_list_filters_by_stage_and_closing_period(cli, make, opp):
    customer = make.customer()
    opp(customer.id, name="十二月", expected_close="2026-12-15", moves=[("proposal", 1)])
    opp(customer.id, name="明年", expected_close="2027-02-01")
    assert [o["name"] for o in cli("sales", "opportunity", "list", "--closing", "2026-Q4", json=True).json] == ["十二月"]
    assert [o["name"] for o in cli("sales", "opportunity", "list", "--stage", "方案报价", json=True).json] == ["十二月"]


def test_show_has_history_quotes_and_key_persons(cli, make, org, opp):
    customer = org()
    contact = make.contact(customer.id, name="王总", decision_role="decision_maker", relationship="positive")
    made = opp(customer.id, moves=[("proposal", 0)])
    cli("sales", "quote", "add", str(made.id), "--line", "服务器,1,1000")
    shown = cli("sales", "opportunity", "show", str(made.id), json=True).json
    assert [h["to_stage"] for h in shown["history"]] == ["qualification", "proposal"]
    assert [q["total"] for q in shown["quotes"]] == ["1000.00"]
    assert [p["contact_id"] for p in shown["key_persons"]] == [contact.id]
    assert "Stage history" in cli("sales", "opportunity", "show", str(made.id)).stdout


def test_stages_are_configurable_and_new_opportunities_take_the_new_default(cli, make):
    result = cli("sales", "stages", "set", "proposal", "--probability", "60")
    assert result.exit_code == 0, result
    added = cli("sales", "stages", "set", "contract", "--label", "合同审批", "--label-en", "Contract", "--probability", "90",
                "--position", "5")
    assert added.exit_code == 0, added
    codes = [s["code"] for s in cli("sales", "stages", "list", json=True).json]
    assert codes.index("negotiation") < codes.index("contract")
    customer = make.customer()
    made = cli("sales", "opportunity", "add", str(customer.id), "--name", "X", "--stage", "合同审批", json=True).json
    assert (made["stage"], made["probability"]) == ("contract", 90)


def test_changing_stages_needs_sales_manage(cli, as_user):
    as_user("alice", permissions=["customers.view", "sales.edit"])
    result = cli("sales", "stages", "set", "proposal", "--probability", "60", as_="alice")
    assert result.exit_code == 1 and "requires sales.manage" in result.stderr


def test_logging_an_activity_links_it_to_the_opportunity(crm, cli, make, opp):
    customer = make.customer()
    made = opp(customer.id)
    logged = cli("sales", "opportunity", "log", str(made.id), "--type", "visit", "--subject", "方案汇报", "--body", "客户认可",
                 json=True).json
    with crm.unit_of_work() as uow:
        activity = uow.activities.get(logged["activity_id"])
    assert (activity.customer_id, activity.type, activity.payload) == (customer.id, "visit", {"opportunity_id": made.id})


def test_chinese_names_round_trip(cli, make, opp):
    made = opp(make.customer().id, name="华东区数据中心（二期）项目", competitors=["浪潮", "华为"])
    shown = cli("sales", "opportunity", "show", str(made.id), json=True).json
    assert (shown["name"], shown["competitors"]) == ("华东区数据中心（二期）项目", ["浪潮", "华为"])

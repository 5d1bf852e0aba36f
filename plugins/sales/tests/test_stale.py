"""The stale-opportunity rule and the managers' notices."""

from datetime import timedelta

import pytest

SALES = ["customers.view", "customers.edit", "sales.edit"]
MANAGER = ["customers.view", "customers.view_all", "sales.edit", "sales.manage"]


@pytest.fixture
def org_chart(crm, as_user):
    """华东区 > 上海分公司: alice sells in 上海分公司, carol manages 华东区."""
    as_user("carol", permissions=MANAGER, department="华东区")
    as_user("alice", permissions=SALES, department="上海分公司", parent="华东区")
    with crm.unit_of_work() as uow:
        return {name: uow.users.find(name) for name in ("alice", "carol")}


def days_ago(crm, days):
    with crm.unit_of_work() as uow:
        return uow.now - timedelta(days=days)


def outbox(crm):
    with crm.unit_of_work() as uow:
        return list(reversed(uow.outbox.list()))


def test_an_open_opportunity_without_activity_for_30_days_is_stale(cli, crm, make, opp, org_chart):
    idle = make.customer(owner_id=org_chart["alice"].id)
    busy = make.customer(owner_id=org_chart["alice"].id)
    make.activity(idle.id, "call", occurred_at=days_ago(crm, 45))
    make.activity(busy.id, "visit", occurred_at=days_ago(crm, 5))
    stale = opp(idle.id, name="沉睡商机", opened_days_ago=60)
    opp(busy.id, name="活跃商机", opened_days_ago=60)
    result = cli("sales", "stale", "--days", "30", json=True)
    assert result.exit_code == 0, result
    (found,) = result.json["stale"]
    assert (found["id"], found["owner"], found["days_idle"], found["managers"]) == (stale.id, "alice", 45, ["carol"])
    assert result.json["owners"] == [{"owner": "alice", "count": 1, "amount": "100000.00", "managers": ["carol"]}]


def test_won_lost_and_recently_opened_or_moved_opportunities_are_not_stale(cli, crm, make, opp, org_chart):
    customer = make.customer(owner_id=org_chart["alice"].id)
    opp(customer.id, opened_days_ago=90, moves=[("won", 60)])
    opp(customer.id, opened_days_ago=90, moves=[("lost", 60)])
    opp(customer.id, opened_days_ago=5)
    opp(customer.id, opened_days_ago=90, moves=[("proposal", 3)])
    assert cli("sales", "stale", "--no-notify", json=True).json["stale"] == []


def test_cancelled_activities_do_not_keep_an_opportunity_fresh(cli, crm, make, opp, org_chart):
    customer = make.customer(owner_id=org_chart["alice"].id)
    visit = make.activity(customer.id, "visit", occurred_at=days_ago(crm, 2))
    opp(customer.id, opened_days_ago=60)
    assert cli("sales", "stale", "--no-notify", json=True).json["stale"] == []
    with crm.unit_of_work() as uow:
        uow.activities.cancel(visit.id, reason="没去成")
    assert len(cli("sales", "stale", "--no-notify", json=True).json["stale"]) == 1


def test_the_days_threshold_is_a_parameter(cli, crm, make, opp, org_chart):
    customer = make.customer(owner_id=org_chart["alice"].id)
    make.activity(customer.id, "call", occurred_at=days_ago(crm, 20))
    opp(customer.id, opened_days_ago=60)
    assert cli("sales", "stale", "--days", "30", "--no-notify", json=True).json["stale"] == []
    assert len(cli("sales", "stale", "--days", "14", "--no-notify", json=True).json["stale"]) == 1
    assert cli("sales", "stale", "--days", "0").exit_code == 2


def test_the_manager_is_notified_once_per_period(cli, crm, make, opp, org_chart):
    customer = make.customer(owner_id=org_chart["alice"].id, name="沉睡客户")
    opp(customer.id, name="沉睡商机", opened_days_ago=60)
    first = cli("sales", "stale", json=True).json
    assert [(n["manager"], len(n["opportunity_ids"])) for n in first["notified"]] == [("carol", 1)]
    (message,) = outbox(crm)
    assert (message.channel, message.recipient) == ("email", "carol")
    assert "沉睡商机" in message.body and "沉睡客户" in message.body and "alice" in message.body
    assert message.dedupe_key.startswith(f"sales.stale:{first['period']}:")
    again = cli("sales", "stale", json=True).json
    assert again["notified"] == [] and len(again["stale"]) == 1
    assert len(outbox(crm)) == 1


def test_a_newly_stale_opportunity_is_reported_in_the_same_period(cli, crm, make, opp, org_chart):
    customer = make.customer(owner_id=org_chart["alice"].id)
    opp(customer.id, name="第一个", opened_days_ago=60)
    cli("sales", "stale")
    opp(customer.id, name="第二个", opened_days_ago=40)
    second = cli("sales", "stale", json=True).json
    assert [len(n["opportunity_ids"]) for n in second["notified"]] == [1]
    messages = outbox(crm)
    assert len(messages) == 2 and "第二个" in messages[1].body and "第一个" not in messages[1].body


def test_weekly_periods_report_again_in_a_new_week_key(cli, crm, make, opp, org_chart):
    customer = make.customer(owner_id=org_chart["alice"].id)
    opp(customer.id, opened_days_ago=60)
    monthly = cli("sales", "stale", json=True).json
    weekly = cli("sales", "stale", "--per", "week", json=True).json
    assert "-W" in weekly["period"] and weekly["period"] != monthly["period"]
    assert len(weekly["notified"]) == 1 and len(outbox(crm)) == 2


def test_managers_are_found_in_the_owners_department_before_parents(cli, crm, as_user, make, opp, org_chart):
    as_user("mike", permissions=MANAGER, department="上海分公司")
    customer = make.customer(owner_id=org_chart["alice"].id)
    opp(customer.id, opened_days_ago=60)
    assert cli("sales", "stale", "--no-notify", json=True).json["stale"][0]["managers"] == ["mike"]


def test_the_administrator_is_not_a_manager_and_nobody_is_notified_without_one(cli, crm, as_user, make, opp):
    as_user("bob", permissions=SALES, department="北京分公司")
    with crm.unit_of_work() as uow:
        bob = uow.users.find("bob")
    customer = make.customer(owner_id=bob.id)
    opp(customer.id, opened_days_ago=60)
    data = cli("sales", "stale", json=True).json
    assert data["stale"][0]["managers"] == [] and data["notified"] == [] and outbox(crm) == []


def test_no_notify_lists_without_writing(cli, crm, make, opp, org_chart):
    customer = make.customer(owner_id=org_chart["alice"].id)
    opp(customer.id, opened_days_ago=60)
    text = cli("sales", "stale", "--no-notify").stdout
    assert "alice" in text and "carol" in text
    assert outbox(crm) == []


def test_stale_as_written_prints_per_owner(cli, crm, make, opp, org_chart):
    customer = make.customer(owner_id=org_chart["alice"].id)
    opp(customer.id, opened_days_ago=60)
    result = cli("sales", "stale", "--days", "30", json=True)
    assert result.exit_code == 0 and result.json["days"] == 30 and result.json["owners"][0]["owner"] == "alice"


def test_opportunities_of_cancelled_customers_are_not_reported(cli, crm, make, opp, org_chart):
    customer = make.customer(owner_id=org_chart["alice"].id)
    opp(customer.id, opened_days_ago=60)
    with crm.unit_of_work() as uow:
        uow.customers.cancel(customer.id, reason="倒闭")
    assert cli("sales", "stale", "--no-notify", json=True).json["stale"] == []

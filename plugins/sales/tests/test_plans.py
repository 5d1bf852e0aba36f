"""Monthly visit plans matched against the core's visit activities."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

SALES = ["customers.view", "customers.view_all", "customers.edit", "sales.edit"]


@pytest.fixture
def alice(crm, as_user):
    as_user("alice", permissions=SALES)
    with crm.unit_of_work() as uow:
        return uow.users.find("alice")


def local(*parts):
    return datetime(*parts, tzinfo=ZoneInfo("Asia/Shanghai"))


def test_plan_add_as_written(cli, make, alice):
    make.customer()
    customer = make.customer(name="钟海燕")
    result = cli("sales", "plan", "add", "--user", "alice", "--month", "2026-12", "--customer", str(customer.id),
                 "--purpose", "方案汇报", "--date", "2026-12-08")
    assert result.exit_code == 0, result
    assert "alice → customer 2 on 2026-12-08 (方案汇报)" in result.stdout
    (plan,) = cli("sales", "plan", "list", "--user", "alice", json=True).json["plans"]
    assert (plan["month"], plan["planned_date"], plan["customer"], plan["purpose"], plan["status"]) == (
        "2026-12", "2026-12-08", "钟海燕", "方案汇报", "planned")


def test_a_visit_by_the_same_person_on_the_customer_in_the_month_fulfils_the_plan(cli, make, alice):
    customer = make.customer()
    cli("sales", "plan", "add", "--user", "alice", "--month", "2025-12", "--customer", str(customer.id), "--purpose", "方案汇报",
        "--date", "2025-12-08")
    visit = make.activity(customer.id, "visit", actor="alice", subject="方案汇报", body="客户认可方案，下周报价",
                          occurred_at=local(2025, 12, 10, 15))
    (plan,) = cli("sales", "plan", "list", "--month", "2025-12", json=True).json["plans"]
    assert (plan["status"], plan["visit_id"], plan["visited_on"], plan["report"]) == ("done", visit.id, "2025-12-10", "客户认可方案，下周报价")


def test_visits_by_someone_else_or_in_another_month_or_of_another_type_do_not_count(cli, make, as_user, alice):
    as_user("bob", permissions=SALES)
    customer = make.customer()
    cli("sales", "plan", "add", "--user", "alice", "--month", "2025-12", "--customer", str(customer.id), "--purpose", "拜访",
        "--date", "2025-12-08")
    make.activity(customer.id, "visit", actor="bob", occurred_at=local(2025, 12, 8, 10))
    make.activity(customer.id, "visit", actor="alice", occurred_at=local(2026, 1, 1, 0, 30))  # January, local time
    make.activity(customer.id, "call", actor="alice", occurred_at=local(2025, 12, 8, 10))
    (plan,) = cli("sales", "plan", "list", "--month", "2025-12", json=True).json["plans"]
    assert plan["status"] == "missed" and plan["visit_id"] is None


def test_a_cancelled_visit_no_longer_fulfils_the_plan(cli, crm, make, alice):
    customer = make.customer()
    cli("sales", "plan", "add", "--user", "alice", "--month", "2025-12", "--customer", str(customer.id), "--purpose", "拜访",
        "--date", "2025-12-08")
    visit = make.activity(customer.id, "visit", actor="alice", occurred_at=local(2025, 12, 8, 10))
    with crm.unit_of_work() as uow:
        uow.activities.cancel(visit.id)
    assert cli("sales", "plan", "list", json=True).json["plans"][0]["status"] == "missed"


def test_two_plans_for_one_customer_take_the_nearest_visits(cli, make, alice):
    customer = make.customer()
    for day in ("2025-12-03", "2025-12-20"):
        cli("sales", "plan", "add", "--user", "alice", "--month", "2025-12", "--customer", str(customer.id), "--purpose", "拜访",
            "--date", day)
    late = make.activity(customer.id, "visit", actor="alice", occurred_at=local(2025, 12, 21, 10))
    early = make.activity(customer.id, "visit", actor="alice", occurred_at=local(2025, 12, 4, 10))
    plans = cli("sales", "plan", "list", json=True).json["plans"]
    assert [(p["planned_date"], p["visit_id"]) for p in plans] == [("2025-12-03", early.id), ("2025-12-20", late.id)]


def test_plan_versus_actual_per_person_and_month(cli, make, as_user, alice):
    as_user("bob", permissions=SALES)
    a, b, c = make.customer(), make.customer(), make.customer()
    for user, customer, day in (("alice", a, "2025-12-02"), ("alice", b, "2025-12-09"), ("alice", c, "2025-12-16"),
                                ("bob", a, "2025-12-05")):
        cli("sales", "plan", "add", "--user", user, "--month", "2025-12", "--customer", str(customer.id), "--purpose", "拜访",
            "--date", day)
    make.activity(a.id, "visit", actor="alice", body="谈了续约", occurred_at=local(2025, 12, 2, 10))
    make.activity(b.id, "visit", actor="alice", occurred_at=local(2025, 12, 10, 10))  # no report written
    make.activity(c.id, "visit", actor="bob", occurred_at=local(2025, 12, 11, 10))  # bob visited c without a plan
    rows = {r["user"]: r for r in cli("sales", "plan", "report", "--month", "2025-12", json=True).json}
    assert {k: rows["alice"][k] for k in ("planned", "done", "missed", "completion_rate", "unplanned_visits", "without_report")} == {
        "planned": 3, "done": 2, "missed": 1, "completion_rate": 66.7, "unplanned_visits": 0, "without_report": 1}
    assert (rows["bob"]["planned"], rows["bob"]["done"], rows["bob"]["unplanned_visits"]) == (1, 0, 1)


def test_the_planned_date_must_be_in_the_month(cli, make, alice):
    customer = make.customer()
    result = cli("sales", "plan", "add", "--user", "alice", "--month", "2026-12", "--customer", str(customer.id),
                 "--purpose", "拜访", "--date", "2027-01-02")
    assert result.exit_code == 1 and "date: 2027-01-02 is not in 2026-12" in result.stderr
    assert cli("sales", "plan", "list", json=True).json["plans"] == []


def test_salespeople_plan_for_themselves_and_managers_for_others(cli, make, as_user, alice):
    as_user("bob", permissions=SALES)
    as_user("carol", permissions=[*SALES, "sales.manage"])
    customer = make.customer()
    args = ["--month", "2026-12", "--customer", str(customer.id), "--purpose", "拜访", "--date", "2026-12-08"]
    assert cli("sales", "plan", "add", "--user", "alice", *args, as_="alice").exit_code == 0
    refused = cli("sales", "plan", "add", "--user", "alice", *args, as_="bob")
    assert refused.exit_code == 1 and "requires sales.manage" in refused.stderr
    assert cli("sales", "plan", "add", "--user", "alice", *args, as_="carol").exit_code == 0


def test_remove_a_plan(cli, make, alice):
    customer = make.customer()
    cli("sales", "plan", "add", "--user", "alice", "--month", "2026-12", "--customer", str(customer.id), "--purpose", "拜访",
        "--date", "2026-12-08")
    assert cli("sales", "plan", "remove", "1").exit_code == 0
    assert cli("sales", "plan", "list", json=True).json["plans"] == []
    assert cli("sales", "plan", "remove", "1").exit_code == 1


def test_imported_visits_are_matched_too(cli, crm, make, alice):
    """Matching reads the activities table, so bulk-imported visits count
    without any per-row hook."""
    from sqlalchemy import insert

    from crmcore.tables import activities

    customer = make.customer()
    cli("sales", "plan", "add", "--user", "alice", "--month", "2025-12", "--customer", str(customer.id), "--purpose", "拜访",
        "--date", "2025-12-08")
    with crm.unit_of_work() as uow:
        uow.execute(insert(activities), [{
            "customer_id": customer.id, "type": "visit", "subject": "导入的拜访", "occurred_at": local(2025, 12, 9, 9),
            "owner_id": alice.id, "source_plugin": "core", "payload": {}, "done": False, "cancelled": False, "created_at": uow.now}])
    assert cli("sales", "plan", "list", json=True).json["plans"][0]["status"] == "done"

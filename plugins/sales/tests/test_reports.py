"""Pipeline, forecast, win rate and cycle time: numbers checked by hand."""

from datetime import datetime, timezone

import pytest


@pytest.fixture
def team(crm, as_user):
    as_user("alice", permissions=["customers.view", "customers.edit", "sales.edit"])
    as_user("bob", permissions=["customers.view", "customers.edit", "sales.edit"])
    with crm.unit_of_work() as uow:
        return {name: uow.users.find(name).id for name in ("alice", "bob")}


def at(*parts):
    return datetime(*parts, tzinfo=timezone.utc)


def move(crm, opportunity_id, stage, when):
    with crm.unit_of_work() as uow:
        uow.service("sales").opportunities.move(opportunity_id, stage, reason="价格" if stage == "lost" else None, at=when)


def test_pipeline_as_written_counts_amounts_and_weighted_amounts_per_stage(cli, make, opp, team):
    customer = make.customer()
    opp(customer.id, amount="100000", owner_id=team["alice"])
    opp(customer.id, amount="200000", owner_id=team["alice"], moves=[("proposal", 0)])
    opp(customer.id, amount="333333.33", owner_id=team["bob"], moves=[("proposal", 0)])
    opp(customer.id, amount="50000", owner_id=team["bob"], moves=[("won", 0)])
    opp(customer.id, amount="80000", owner_id=team["bob"], moves=[("lost", 0)])
    result = cli("sales", "pipeline", json=True)
    assert result.exit_code == 0, result
    stages = {s["stage"]: (s["count"], s["amount"], s["weighted_amount"]) for s in result.json["stages"]}
    assert stages == {
        "qualification": (1, "100000.00", "10000.00"),
        "needs_analysis": (0, "0.00", "0.00"),
        "proposal": (2, "533333.33", "266666.67"),  # 100000 + 166666.665 rounded half up
        "negotiation": (0, "0.00", "0.00"),
        "won": (1, "50000.00", "50000.00"),
        "lost": (1, "80000.00", "0.00"),
    }
    assert [s["stage"] for s in result.json["stages"]] == ["qualification", "needs_analysis", "proposal", "negotiation", "won", "lost"]
    total = result.json["total"]
    assert (total["open_count"], total["open_amount"], total["weighted_amount"], total["won_amount"]) == (3, "633333.33", "276666.67", "50000.00")


def test_pipeline_by_owner_splits_stages_per_salesperson(cli, make, opp, team):
    customer = make.customer()
    opp(customer.id, amount="100000", owner_id=team["alice"])
    opp(customer.id, amount="200000", owner_id=team["bob"], moves=[("proposal", 0)])
    rows = cli("sales", "pipeline", json=True).json["owners"]
    assert [(r["owner"], r["stage"], r["count"], r["weighted_amount"]) for r in rows] == [
        ("alice", "qualification", 1, "10000.00"), ("bob", "proposal", 1, "100000.00")]
    only_bob = cli("sales", "pipeline", "--owner", "bob", json=True).json["total"]
    assert (only_bob["open_count"], only_bob["weighted_amount"]) == (1, "100000.00")
    assert "alice" in cli("sales", "pipeline", "--by-owner").stdout


def test_pipeline_writes_a_funnel_chart_of_open_stages_and_won(cli, make, opp, tmp_path):
    customer = make.customer()
    opp(customer.id, amount="100000")
    opp(customer.id, amount="40000", moves=[("won", 0)])
    target = tmp_path / "funnel.svg"
    result = cli("sales", "pipeline", "--chart", str(target))
    assert result.exit_code == 0, result
    svg = target.read_text(encoding="utf-8")
    assert svg.startswith("<svg") and "初步接洽: 100,000 (100%)" in svg and "赢单: 40,000 (40%)" in svg and "输单" not in svg


def test_forecast_sums_weighted_open_amounts_by_close_month_plus_won(cli, crm, make, opp, team):
    customer = make.customer()
    opp(customer.id, amount="100000", expected_close="2025-01-20", moves=[("negotiation", 0)])  # 75% → 75000 in Jan
    opp(customer.id, amount="200000", expected_close="2025-03-31")  # 10% → 20000 in Mar
    opp(customer.id, amount="999999", expected_close="2025-04-01")  # next quarter
    opp(customer.id, amount="5000")  # no close date: not counted, reported
    won = opp(customer.id, amount="60000", expected_close="2025-06-30", opened_at=at(2024, 12, 1))
    move(crm, won.id, "won", at(2025, 2, 10, 3))  # won in February, whatever it expected
    lost = opp(customer.id, amount="70000", expected_close="2025-02-01")
    move(crm, lost.id, "lost", at(2025, 2, 1))
    data = cli("sales", "forecast", "--period", "2025-Q1", json=True).json
    assert (data["period"], data["from"], data["to"]) == ("2025-Q1", "2025-01-01", "2025-03-31")
    months = {m["month"]: (m["open_count"], m["amount"], m["weighted_amount"], m["won_amount"], m["forecast"]) for m in data["months"]}
    assert months == {
        "2025-01": (1, "100000.00", "75000.00", "0.00", "75000.00"),
        "2025-02": (0, "0.00", "0.00", "60000.00", "60000.00"),
        "2025-03": (1, "200000.00", "20000.00", "0.00", "20000.00"),
    }
    assert data["total"]["forecast"] == "155000.00" and data["total"]["won_count"] == 1
    assert data["open_without_close_date"] == 1


def test_forecast_as_written_for_2026_q4(cli, make, opp):
    customer = make.customer()
    made = cli("sales", "opportunity", "add", str(customer.id), "--name", "总部大楼项目", "--amount", "500000", "--close", "2026-12-31",
               json=True).json
    cli("sales", "opportunity", "stage", str(made["id"]), "--to", "proposal")
    opp(customer.id, amount="300000", expected_close="2026-10-08")
    result = cli("sales", "forecast", "--period", "2026-Q4", json=True)
    assert result.exit_code == 0, result
    assert [(m["month"], m["weighted_amount"]) for m in result.json["months"]] == [
        ("2026-10", "30000.00"), ("2026-11", "0.00"), ("2026-12", "250000.00")]
    assert result.json["total"]["weighted_amount"] == "280000.00"


def test_forecast_per_month_and_chinese_quarter_spelling(cli, make, opp):
    customer = make.customer()
    opp(customer.id, amount="100000", expected_close="2026-12-31")
    assert cli("sales", "forecast", "--period", "2026-12", json=True).json["total"]["weighted_amount"] == "10000.00"
    assert cli("sales", "forecast", "--period", "2026年第四季度", json=True).json["period"] == "2026-Q4"
    bad = cli("sales", "forecast", "--period", "Q5")
    assert bad.exit_code == 1 and "period: 'Q5' is not a period" in bad.stderr


def test_forecast_per_owner(cli, make, opp, team):
    customer = make.customer()
    opp(customer.id, amount="100000", expected_close="2026-11-30", owner_id=team["alice"])
    opp(customer.id, amount="200000", expected_close="2026-12-30", owner_id=team["bob"])
    owners = {o["owner"]: o["forecast"] for o in cli("sales", "forecast", "--period", "2026-Q4", json=True).json["owners"]}
    assert owners == {"alice": "10000.00", "bob": "20000.00"}


def test_win_rate_and_average_cycle_time_per_owner(cli, crm, make, opp, team):
    customer = make.customer()
    for opened, closed, stage in (((2025, 1, 1), (2025, 1, 11), "won"), ((2025, 1, 1), (2025, 1, 21), "won"),
                                  ((2025, 1, 1), (2025, 2, 1), "lost")):
        made = opp(customer.id, owner_id=team["alice"], amount="10000", opened_at=at(*opened))
        move(crm, made.id, stage, at(*closed))
    opp(customer.id, owner_id=team["alice"], amount="5000")
    made = opp(customer.id, owner_id=team["bob"], amount="10000", opened_at=at(2025, 3, 1))
    move(crm, made.id, "lost", at(2025, 3, 5))
    rows = {r["owner"]: r for r in cli("sales", "performance", json=True).json}
    alice = rows["alice"]
    assert (alice["won"], alice["lost"], alice["win_rate"], alice["avg_cycle_days"], alice["won_amount"], alice["open"]) == (
        2, 1, 66.7, 15.0, "20000.00", 1)
    assert (rows["bob"]["win_rate"], rows["bob"]["avg_cycle_days"]) == (0.0, None)
    in_january = {r["owner"]: r for r in cli("sales", "performance", "--period", "2025-01", json=True).json}
    assert (in_january["alice"]["won"], in_january["alice"]["lost"], in_january["alice"]["win_rate"]) == (2, 0, 100.0)

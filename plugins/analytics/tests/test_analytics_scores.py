"""RFM, grades and rules, lifecycle stages, on small hand-made histories."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from crmcore.tables import audit_log, customers

from crm_analytics.tables import lifecycle, rfm, values


def history(n_customers: int) -> list[tuple[int, str, float]]:
    """Customer k buys k times, every 10 days, ending k days before 2024-06-30, spending 100·k each time."""
    rows = []
    for k in range(1, n_customers + 1):
        for i in range(k):
            rows.append((k, _day(180 - k - 10 * i), 100.0 * k))
    return rows


def _day(offset: int) -> str:
    from datetime import date, timedelta

    return (date(2024, 1, 1) + timedelta(days=offset)).isoformat() + "T10:00"


def test_rfm_scores_quintiles_and_names_cells(load_purchases, cli, crm):
    ids = load_purchases(history(10))
    result = cli("analytics", "rfm", "--as-of", "2024-06-30", "--window", "all", json=True)
    assert result.exit_code == 0, result
    with crm.unit_of_work() as uow:
        rows = {r.customer_id: r for r in uow.execute(select(rfm))}
    best, worst = rows[ids[10]], rows[ids[1]]
    assert (best.f_score, best.m_score) == (5, 5) and best.frequency == 10 and float(best.monetary) == 10000
    assert worst.r_score == 5 and worst.f_score == 1 and worst.segment == "new"
    assert rows[ids[10]].r_score == 1 and rows[ids[10]].segment == "cant_lose"
    assert best.cell == f"{best.r_score}{best.f_score}{best.m_score}"
    assert {r.as_of.isoformat() for r in rows.values()} == {"2024-06-30"}


def test_rfm_window_limits_frequency_and_monetary_but_not_recency(load_purchases, cli, crm):
    ids = load_purchases([(1, "2023-01-10T10:00", 500), (1, "2024-06-01T10:00", 50), (2, "2023-03-01T10:00", 80)])
    cli("analytics", "rfm", "--as-of", "2024-06-30", "--window", "90d")
    with crm.unit_of_work() as uow:
        rows = {r.customer_id: r for r in uow.execute(select(rfm))}
    assert rows[ids[1]].frequency == 1 and float(rows[ids[1]].monetary) == 50 and rows[ids[1]].recency_days == 29
    assert rows[ids[2]].frequency == 0 and rows[ids[2]].recency_days == 487


def test_rfm_rerun_replaces_previous_scores(load_purchases, cli, crm):
    load_purchases(history(5))
    cli("analytics", "rfm", "--as-of", "2024-06-30")
    cli("analytics", "rfm", "--as-of", "2024-07-31")
    with crm.unit_of_work() as uow:
        dates = {r.as_of.isoformat() for r in uow.execute(select(rfm))}
    assert dates == {"2024-07-31"}


def test_cancelled_purchases_do_not_count(load_purchases, cli, crm):
    ids = load_purchases([(1, "2024-06-01T10:00", 100), (1, "2024-06-02T10:00", 900)])
    with crm.unit_of_work() as uow:
        purchase = [a for a in uow.activities.list(ids[1], type="purchase") if a.amount == 900][0]
        uow.activities.cancel(purchase.id)
    cli("analytics", "rfm", "--as-of", "2024-06-30")
    with crm.unit_of_work() as uow:
        assert float(uow.execute(select(rfm.c.monetary)).scalar()) == 100


def test_abc_follows_revenue_contribution(load_purchases, cli, crm):
    # revenues 700, 200, 60, 40: A until 80% is reached (700 alone is 70%, so 200 joins A), B to 95%, C the rest
    ids = load_purchases([(1, "2024-06-01T10:00", 700), (2, "2024-06-01T10:00", 200), (3, "2024-06-01T10:00", 60),
                          (4, "2024-06-01T10:00", 40)])
    summary = cli("analytics", "grade", "--as-of", "2024-06-30", json=True).json
    with crm.unit_of_work() as uow:
        got = {r.customer_id: (r.abc_class, r.rank) for r in uow.execute(select(values))}
    assert got == {ids[1]: ("A", 1), ids[2]: ("A", 2), ids[3]: ("B", 3), ids[4]: ("C", 4)}
    assert {c["abc_class"]: c["customers"] for c in summary["abc"]} == {"A": 2, "B": 1, "C": 1}


def test_default_grades_follow_the_stored_rules(load_purchases, cli, crm):
    rows = [(k, "2024-06-01T10:00", 1000 - k) for k in range(1, 41)] + [(1, "2024-06-02T10:00", 5000)]
    ids = load_purchases(rows)
    cli("analytics", "grade", "--as-of", "2024-06-30")
    with crm.unit_of_work() as uow:
        grades = {r.customer_id: r.grade for r in uow.execute(select(values))}
    # vip: top 5% (2 of 40) with at least 2 purchases → only customer 1 (customer 2 bought once)
    assert grades[ids[1]] == "vip"
    assert grades[ids[2]] == "important"
    assert set(grades.values()) <= {"vip", "important", "normal", "small"}


def test_changed_rule_changes_grades_and_is_audited(load_purchases, cli, crm):
    ids = load_purchases([(1, "2024-06-01T10:00", 100), (2, "2024-06-01T10:00", 90)])
    result = cli("analytics", "rules", "set", "grade", "vip", "--min-revenue", "95", "--clear", "top_share",
                 "--clear", "min_purchases", json=True)
    assert result.exit_code == 0, result
    assert result.json["min_revenue"] == 95 and result.json["top_share"] is None
    cli("analytics", "grade", "--as-of", "2024-06-30")
    with crm.unit_of_work() as uow:
        grades = {r.customer_id: r.grade for r in uow.execute(select(values))}
        audited = uow.execute(select(audit_log.c.action).where(audit_log.c.entity == "analytics_rule")).scalars().all()
    assert grades[ids[1]] == "vip" and grades[ids[2]] != "vip"
    assert audited == ["update", "update"]


def test_rules_list_shows_the_defaults_in_order(crm, cli):
    rows = cli("analytics", "rules", "list", json=True).json
    assert [(r["kind"], r["code"]) for r in rows] == [
        ("abc", "A"), ("abc", "B"), ("abc", "C"), ("grade", "vip"), ("grade", "important"), ("grade", "normal"), ("grade", "small")]
    assert "every other customer" in cli("analytics", "rules", "list").stdout


def test_grade_rule_must_be_a_customer_level(crm, cli):
    result = cli("analytics", "rules", "set", "grade", "platinum", "--top-share", "0.01")
    assert result.exit_code == 1
    assert "code:" in result.stderr and "level" in result.stderr


def test_share_outside_zero_and_one_is_refused(crm, cli):
    result = cli("analytics", "rules", "set", "abc", "A", "--max-cumulative-share", "80")
    assert result.exit_code == 1 and "max-cumulative-share:" in result.stderr


def test_write_back_sets_core_level_through_the_customer_service(load_purchases, cli, crm):
    ids = load_purchases([(k, "2024-06-01T10:00", 100 * k) for k in range(1, 6)])
    summary = cli("analytics", "grade", "--as-of", "2024-06-30", "--write-back", json=True).json
    with crm.unit_of_work() as uow:
        levels = dict(uow.execute(select(customers.c.id, customers.c.level)).all())
        graded = dict(uow.execute(select(values.c.customer_id, values.c.grade)).all())
        audits = uow.execute(select(audit_log.c.entity_id, audit_log.c.changes).where(
            audit_log.c.entity == "customer", audit_log.c.action == "update")).all()
    assert all(levels[c] == g for c, g in graded.items())
    assert summary["levels_changed"] == sum(1 for g in graded.values() if g != "normal") == len(audits)
    assert all("level" in changes for _, changes in audits)
    assert ids


def test_write_back_needs_its_permission(load_purchases, cli, as_user):
    load_purchases([(1, "2024-06-01T10:00", 100)])
    user = as_user("ana", permissions=["customers.view", "customers.edit", "analytics.compute"])
    result = cli("analytics", "grade", "--write-back", as_=user)
    assert result.exit_code == 1 and "analytics.write_back" in result.stderr


def test_lifecycle_stages_follow_the_documented_rules(load_purchases, cli, crm):
    ids = load_purchases([
        (1, "2024-06-20T10:00", 10),  # one purchase, recent → exploration
        *[(2, _day(d), 10) for d in (140, 155, 170)],  # 3 purchases, on cadence → formation (early_repeat)
        *[(3, _day(d), 10) for d in (60, 90, 120, 150, 178)],  # steady 30-day cadence → stability
        *[(4, _day(d), 10) for d in (0, 10, 20, 30, 40)],  # 140 days silent after 10-day gaps → decline (overdue)
        *[(5, _day(d), 10) for d in (100, 105, 110, 140, 178)],  # gaps 5,5 then 30,38 → decline (slowing)
    ])
    summary = cli("analytics", "lifecycle", "--as-of", "2024-06-29", json=True).json
    with crm.unit_of_work() as uow:
        stages = {r.customer_id: (r.stage, r.rule) for r in uow.execute(select(lifecycle))}
    assert stages == {
        ids[1]: ("exploration", "first_purchase"), ids[2]: ("formation", "early_repeat"), ids[3]: ("stability", "steady"),
        ids[4]: ("decline", "overdue"), ids[5]: ("decline", "slowing"),
    }
    assert {s["stage"]: s["customers"] for s in summary["stages"]} == {"exploration": 1, "formation": 1, "stability": 1,
                                                                       "decline": 2}


def test_lifecycle_write_back_sets_core_stage(load_purchases, cli, crm):
    ids = load_purchases([(4, _day(d), 10) for d in (0, 10, 20, 30, 40)])
    cli("analytics", "lifecycle", "--as-of", "2024-06-29", "--write-back")
    with crm.unit_of_work() as uow:
        assert uow.customers.get(ids[4]).stage == "decline"


def test_purchase_days_are_local_days(load_purchases, cli, crm):
    # 23:30 and 00:30 local time on consecutive local days (the same UTC day): two transactions
    ids = load_purchases([(1, "2024-06-01T23:30", 10), (1, "2024-06-02T00:30", 10), (1, "2024-06-02T12:00", 10)])
    cli("analytics", "lifecycle", "--as-of", "2024-06-02")
    with crm.unit_of_work() as uow:
        row = uow.execute(select(lifecycle).where(lifecycle.c.customer_id == ids[1])).one()
    assert row.transactions == 2 and row.days_since_last == 0


@pytest.mark.parametrize("window", ["soon", "-3d", "0w"])
def test_bad_window_is_refused(crm, cli, window):
    result = cli("analytics", "rfm", "--window", window)
    assert result.exit_code == 1 and "window:" in result.stderr

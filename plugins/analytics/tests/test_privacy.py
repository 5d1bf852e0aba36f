"""Scores are profiling of a person: exported, erased, not kept forever,
and (when configured) computed only with the customer's analytics consent."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from crmcore.privacy import apply_retention, export_person
from crmcore.tables import customers

from crm_analytics.tables import SCORE_TABLES, clv, lifecycle, rfm, values

SCORES = {"analytics_rfm", "analytics_values", "analytics_clv", "analytics_lifecycle"}


@pytest.fixture
def scored(load_purchases, cli):
    rows = []
    for k in range(1, 31):  # customer k: k % 6 + 1 purchases
        rows += [(k, f"2024-{1 + (i % 5):02d}-{1 + k % 27:02d}T10:00", 10 * k) for i in range(k % 6 + 1)]
    ids = load_purchases(rows)
    result = cli("analytics", "score", "--as-of", "2024-06-30", "--window", "all", "--horizon", "26w", "--margin", "0.3",
                 "--discount", "0.1", json=True)
    assert result.exit_code == 0, result
    return ids


def score_rows(crm, customer_id=None):
    with crm.unit_of_work() as uow:
        return {table.name: uow.execute(select(func.count()).select_from(table).where(
            table.c.customer_id == customer_id if customer_id is not None else True)).scalar_one() for table in SCORE_TABLES}


def test_export_holds_every_score_of_the_customer(crm, scored, tmp_path, cli):
    person = scored[7]
    assert cli("privacy", "export", person, tmp_path / "p.json").exit_code == 0
    data = export_person(crm, person)
    mine = data["plugins"]["analytics"]
    assert set(mine) == SCORES and all(len(rows) == 1 and rows[0]["customer_id"] == person for rows in mine.values())
    assert {"p_alive", "churn_risk", "clv", "clv_percentile"} <= set(mine["analytics_clv"][0])
    assert mine["analytics_rfm"][0]["segment"] and mine["analytics_values"][0]["grade"]


def test_erasure_deletes_the_persons_scores_and_keeps_everyone_elses(crm, scored, cli):
    person = scored[7]
    before = score_rows(crm)
    result = cli("privacy", "erase", person, "--reason", "本人要求删除", "--yes")
    assert result.exit_code == 0, result
    assert set(score_rows(crm, person).values()) == {0}
    assert score_rows(crm) == {name: n - 1 for name, n in before.items()}
    assert export_person(crm, person)["plugins"].get("analytics") is None
    assert "客户价值分析" not in cli("customer", "show", person).stdout
    # the next run does not score the erased (cancelled) customer again
    assert cli("analytics", "rfm", "--as-of", "2024-06-30", "--window", "all").exit_code == 0
    assert score_rows(crm, person)["analytics_rfm"] == 0


def test_privacy_check_accepts_the_plugin(cli):
    result = cli("privacy", "check")
    assert result.exit_code == 0 and "analytics: ok" in result.stdout


def test_retention_deletes_old_scores_and_those_of_cancelled_customers(crm, scored):
    with crm.unit_of_work() as uow:
        uow.customers.cancel(scored[3])
    rule = "analytics.old_scores"
    assert {r["rule"]: r["count"] for r in apply_retention(crm, dry_run=True)}[rule] == 4
    assert score_rows(crm, scored[3])["analytics_rfm"] == 1
    done = {r["rule"]: r for r in apply_retention(crm)}[rule]
    assert done["count"] == 4 and done["error"] is None and set(score_rows(crm, scored[3]).values()) == {0}
    assert {r["rule"]: r["count"] for r in apply_retention(crm)}[rule] == 0
    with crm.unit_of_work() as uow:  # a year on, every score is out of date
        later = uow.now + timedelta(days=366)
    remaining = sum(score_rows(crm).values())
    assert {r["rule"]: r["count"] for r in apply_retention(crm, now=later)}[rule] == remaining
    assert sum(score_rows(crm).values()) == 0


def test_retention_can_be_turned_off(crm, scored, monkeypatch):
    monkeypatch.setenv("CRM_ANALYTICS_RETAIN_SCORES_DAYS", "0")
    with crm.unit_of_work() as uow:
        later = uow.now + timedelta(days=4000)
    assert {r["rule"]: r["count"] for r in apply_retention(crm, dry_run=True, now=later)}["analytics.old_scores"] == 0


def test_with_consent_required_only_consenting_customers_are_scored(crm, load_purchases, cli, monkeypatch):
    rows = []
    for k in range(1, 31):
        rows += [(k, f"2024-{1 + (i % 5):02d}-{1 + k % 27:02d}T10:00", 10 * k) for i in range(k % 6 + 1)]
    ids = load_purchases(rows)
    with crm.unit_of_work() as uow:
        uow.consents.grant(ids[1], "analytics", "email")
        uow.consents.grant(ids[2], "analytics", "sms")
        uow.consents.grant(ids[3], "analytics", "email")
        uow.consents.withdraw(ids[3], "analytics", "email")  # latest is a withdrawal
    monkeypatch.setenv("CRM_ANALYTICS_CONSENT_REQUIRED", "1")
    assert cli("analytics", "rfm", "--as-of", "2024-06-30", "--window", "all").exit_code == 0
    with crm.unit_of_work() as uow:
        assert set(uow.execute(select(rfm.c.customer_id)).scalars()) == {ids[1], ids[2]}
    monkeypatch.delenv("CRM_ANALYTICS_CONSENT_REQUIRED")
    assert cli("analytics", "rfm", "--as-of", "2024-06-30", "--window", "all").exit_code == 0
    assert score_rows(crm)["analytics_rfm"] == 30

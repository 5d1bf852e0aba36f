"""Performance per partner and period, and the scorecard's grade suggestion."""

from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import update

from crm_partners import tables as t


def _deal(make, service, partner_id, amount, closed, outcome):
    end = make.customer()
    reg = service(lambda s: s.register(partner_id, end.id, amount=amount, close=closed))
    if outcome == "won":
        service(lambda s: s.won(reg["id"], amount, on=closed))
    elif outcome == "lost":
        service(lambda s: s.lost(reg["id"], "lost", on=closed))
    return reg["id"]


def test_performance_counts_deals_leads_response_time_and_commissions(partner, make, service, cli, crm):
    pid = partner(agreement=("2026-01-01", "2026-12-31", "10%"))
    other = partner("乙公司", grade="铜牌")
    _deal(make, service, pid, "100000", date(2026, 4, 10), "won")
    _deal(make, service, pid, "50000", date(2026, 5, 10), "won")
    _deal(make, service, pid, "70000", date(2026, 5, 11), "lost")
    _deal(make, service, pid, "30000", date(2026, 3, 31), "won")  # Q1
    _deal(make, service, pid, "80000", date(2026, 9, 1), None)  # open pipeline
    service(lambda s: s.compute_commissions("2026-Q2"))
    leads = [make.customer(name=f"线索{i}", status="potential", city="上海") for i in range(2)]
    offers = [service(lambda s, lead=lead: s.assign(lead.id, partner_id=pid)) for lead in leads]
    with crm.unit_of_work() as uow:  # the partner answered after 2 and 4 hours
        for offer, hours in zip(offers, (2, 4)):
            uow.execute(update(t.assignments).where(t.assignments.c.id == offer["id"]).values(
                status="accepted", responded_at=offer["assigned_at"] + timedelta(hours=hours)))
    today = service(lambda s: s.today())
    year = str(today.year)
    rows = {r["partner_id"]: r for r in cli("partners", "performance", "--period", "2026-Q2", json=True).json}
    q2 = rows[pid]
    assert (q2["won"], q2["lost"], q2["win_rate"], q2["revenue"]) == (2, 1, "66.7", "150000.00")
    assert q2["pipeline"] == "80000.00" and q2["commissions"] == "15000.00"
    assert rows[other]["won"] == 0 and rows[other]["win_rate"] is None
    whole = {r["partner_id"]: r for r in cli("partners", "performance", "--period", year, json=True).json}[pid]
    assert whole["registered"] == 5 and whole["leads"] == 2 and whole["accepted"] == 2 and whole["avg_response_hours"] == 3.0
    text = cli("partners", "performance", "--period", "2026-Q2").stdout
    assert "win_rate" in text and "66.7" in text


def test_the_scorecard_suggests_an_upgrade_when_results_earn_a_better_grade(partner, make, service, cli):
    pid = partner(grade="铜牌")
    _deal(make, service, pid, "400000", date(2026, 4, 10), "won")
    card = cli("partners", "scorecard", str(pid), "--period", "2026", json=True).json
    assert card["suggestion"] == "upgrade" and card["suggested_grade"] == "银牌"
    assert [c["meets"] for c in card["grade_checks"]] == [False, True, True]


def test_the_scorecard_prorates_yearly_requirements_to_the_period(partner, make, service, cli):
    pid = partner(grade="银牌")
    _deal(make, service, pid, "80000", date(2026, 4, 10), "won")
    card = cli("partners", "scorecard", str(pid), "--period", "2026-Q2", json=True).json
    silver = next(c for c in card["grade_checks"] if c["grade"] == "银牌")
    assert Decimal(silver["revenue_needed"]) == (Decimal(300000) * 91 / 365).quantize(Decimal("0.01"))
    assert card["suggestion"] == "keep"


def test_the_gold_grade_needs_its_win_rate(partner, make, service, cli):
    pid = partner(grade="金牌")
    _deal(make, service, pid, "1200000", date(2026, 2, 1), "won")
    for day in range(1, 4):
        _deal(make, service, pid, "1000", date(2026, 3, day), "lost")
    card = cli("partners", "scorecard", str(pid), "--period", "2026", json=True).json
    assert card["win_rate"] == "25.0" and card["suggestion"] == "downgrade" and card["suggested_grade"] == "银牌"

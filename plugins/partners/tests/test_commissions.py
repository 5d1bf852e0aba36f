"""Outcomes and commissions: per period, per agreement terms, statements, reversals."""

from datetime import date
from decimal import Decimal

import pytest



@pytest.fixture
def won_deal(make, service):
    """Register, win and return a deal of ``amount`` closed on ``closed``."""

    def win(partner_id, amount, closed, product=None):
        end = make.customer()
        reg = service(lambda s: s.register(partner_id, end.id, amount=amount, close=closed, product=product))
        service(lambda s: s.won(reg["id"], amount, on=closed))
        return reg["id"]

    return win


def test_commissions_follow_tiers_across_deals_and_are_not_paid_twice(partner, won_deal, cli):
    pid = partner(agreement=("2026-01-01", "2026-12-31", "0:5%,500000:8%,1000000:10%"))
    won_deal(pid, "400000", date(2026, 4, 10))
    won_deal(pid, "300000", date(2026, 5, 20))
    won_deal(pid, "99999", date(2026, 7, 1))  # next quarter
    first = cli("partners", "commissions", "--period", "2026-Q2", json=True)
    assert first.exit_code == 0, first
    lines = first.json["lines"]
    # 400000 × 5% = 20000; then 100000 × 5% + 200000 × 8% = 21000
    assert [(l["base_amount"], l["amount"]) for l in lines] == [("400000.00", "20000.00"), ("300000.00", "21000.00")]
    assert first.json["total"] == "41000.00"
    won_deal(pid, "400000", date(2026, 6, 30))  # a late deal: 400000 × 10%? no: 300000 × 8% + 100000 × 10% = 34000
    second = cli("partners", "commissions", "--period", "2026-Q2", json=True).json
    assert [(l["base_amount"], l["amount"]) for l in second["lines"]] == [("400000.00", "34000.00")]
    assert second["total"] == "75000.00" and second["partners"][0]["deals"] == 3
    assert cli("partners", "commissions", "--period", "2026-Q2", json=True).json["computed"] == 0


def test_a_deal_without_an_agreement_in_force_is_skipped_with_the_reason(partner, won_deal, cli):
    pid = partner(agreement=("2026-06-01", "2026-12-31", "8%"))
    reg = won_deal(pid, "1000", date(2026, 5, 15))
    result = cli("partners", "commissions", "--period", "2026-05", json=True).json
    assert result["lines"] == [] and result["skipped"][0]["registration_id"] == reg
    assert "no agreement" in result["skipped"][0]["reason"]


def test_a_product_line_agreement_pays_its_own_rate(partner, won_deal, service):
    pid = partner(agreement=("2026-01-01", "2026-12-31", "5%"))
    service(lambda s: s.add_agreement(pid, starts_on=date(2026, 1, 1), ends_on=date(2026, 12, 31), commission="12%", product_lines=["硬件"]))
    won_deal(pid, "1000", date(2026, 3, 1), product="硬件")
    won_deal(pid, "1000", date(2026, 3, 2), product="软件")
    lines = service(lambda s: s.compute_commissions("2026-Q1"))["lines"]
    assert sorted(l["amount"] for l in lines) == [Decimal("50.00"), Decimal("120.00")]


def test_a_reversed_deal_takes_its_commission_back_in_the_statement(partner, won_deal, cli, service):
    pid = partner(agreement=("2026-01-01", "2026-12-31", "8%"), emails=["finance@partner.example"])
    keep = won_deal(pid, "100000", date(2026, 4, 1))
    cancel = won_deal(pid, "50000", date(2026, 4, 2))
    cli("partners", "commissions", "--period", "2026-Q2")
    reversed_ = cli("partners", "reverse", str(cancel), "--reason", "客户退货", json=True)
    assert reversed_.exit_code == 0, reversed_
    reversal = reversed_.json["reversal"]
    today = service(lambda s: s.today())
    period = f"{today.year}-Q{(today.month - 1) // 3 + 1}"
    assert reversal["amount"] == "-4000.00" and reversal["period"] == period
    statement = cli("partners", "statement", str(pid), "--period", period, json=True).json
    assert statement["reversals"] == "-4000.00" and statement["net"] == "-4000.00"
    q2 = cli("partners", "statement", str(pid), "--period", "2026-Q2", "--send", json=True)
    assert q2.exit_code == 0, q2
    assert q2.json["commission"] == "12000.00" and q2.json["deals"] == 2 and q2.json["sent_to"] == "finance@partner.example"
    again = cli("partners", "reverse", str(cancel), "--reason", "again")
    assert again.exit_code == 1 and "only won deals" in again.stderr
    assert service(lambda s: s.registration(keep)).status == "won"


def test_a_reversed_deal_not_yet_commissioned_is_never_paid(partner, won_deal, cli):
    pid = partner(agreement=("2026-01-01", "2026-12-31", "8%"))
    reg = won_deal(pid, "1000", date(2026, 4, 1))
    cli("partners", "reverse", str(reg), "--reason", "取消")
    assert cli("partners", "commissions", "--period", "2026-Q2", json=True).json["lines"] == []


def test_a_bad_period_is_a_usage_problem_with_the_field(cli):
    result = cli("partners", "commissions", "--period", "2026-Q7")
    assert result.exit_code == 1 and result.stderr.startswith("error: period:")


def test_statement_text_lists_lines_and_totals(partner, won_deal, cli):
    pid = partner(agreement=("2026-01-01", "2026-12-31", "8%"))
    won_deal(pid, "180000", date(2026, 6, 30))
    cli("partners", "commissions", "--period", "2026-Q2")
    text = cli("partners", "statement", str(pid), "--period", "2026-Q2").stdout
    assert "14,400.00" in text and "net 14,400.00" in text and "8%" in text

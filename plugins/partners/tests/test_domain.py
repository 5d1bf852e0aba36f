"""Commission terms and periods: the rules users check by hand."""

from datetime import date
from decimal import Decimal

import pytest

from crm_partners.domain import Period, Terms, money, percent
from crmcore import ValidationError


def test_percent_terms_pay_the_rate_on_revenue():
    assert Terms.parse("8%").total(Decimal("180000")) == Decimal("14400")


def test_marginal_tiers_pay_each_band_at_its_rate():
    terms = Terms.parse("0:5%,500000:8%,1000000:10%")
    # 500000 × 5% + 500000 × 8% + 200000 × 10%
    assert terms.total(Decimal("1200000")) == Decimal("25000") + Decimal("40000") + Decimal("20000")


def test_whole_tiers_pay_the_reached_rate_on_all_revenue():
    terms = Terms.parse("0:5%,500000:8%", apply="whole")
    assert terms.total(Decimal("400000")) == Decimal("20000")
    assert terms.total(Decimal("600000")) == Decimal("48000")


def test_increments_of_deals_add_up_to_the_period_total_in_any_order():
    terms = Terms.parse("0:5%,500000:8%,1000000:10%")
    deals = [Decimal("300000"), Decimal("450000.55"), Decimal("600000"), Decimal("99.99")]
    for order in (deals, list(reversed(deals))):
        before, paid = Decimal(0), Decimal(0)
        for amount in order:
            paid += terms.increment(before, amount)
            before += amount
        assert paid == terms.total(sum(deals)).quantize(Decimal("0.01"))


def test_tiers_must_start_at_zero():
    with pytest.raises(ValidationError, match="commission: tiers must start at 0"):
        Terms.parse("100000:5%,500000:8%")


@pytest.mark.parametrize("text", ["abc", "120%", "-1%"])
def test_a_bad_percentage_is_refused(text):
    with pytest.raises(ValidationError, match="commission:"):
        Terms.parse(text)


@pytest.mark.parametrize("text,start,end", [
    ("2026-Q2", date(2026, 4, 1), date(2026, 6, 30)),
    ("2026-q1", date(2026, 1, 1), date(2026, 3, 31)),
    ("2026-05", date(2026, 5, 1), date(2026, 5, 31)),
    ("2024-02", date(2024, 2, 1), date(2024, 2, 29)),
    ("2026-H2", date(2026, 7, 1), date(2026, 12, 31)),
    ("2026", date(2026, 1, 1), date(2026, 12, 31)),
    ("2026-01-15..2026-03-31", date(2026, 1, 15), date(2026, 3, 31)),
])
def test_periods_parse_to_their_days(text, start, end):
    period = Period.parse(text)
    assert (period.start, period.end) == (start, end)


@pytest.mark.parametrize("text", ["2026-Q5", "2026-13", "Q2", "2026-06-30..2026-01-01"])
def test_a_bad_period_is_refused(text):
    with pytest.raises(ValidationError, match="period:"):
        Period.parse(text)


def test_amounts_accept_wan_and_separators():
    assert money("20万") == Decimal("200000.00")
    assert money("1,200.505") == Decimal("1200.51")
    assert percent("8.5%") == Decimal("8.5")

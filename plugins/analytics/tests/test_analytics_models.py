"""The models' mathematics on plain arrays, against the published numbers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from scipy.optimize import check_grad

from crm_analytics import models as m
from crm_analytics.summary import Purchases, read_cdnow, summarise

CDNOW = Path(__file__).parent / "fixtures" / "CDNOW_sample.txt"

PAPER_BGNBD = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
PAPER_GAMMA_GAMMA = {"p": 6.25, "q": 3.74, "gamma": 15.44}
JAN_1, SEP_30 = 9862, 10134  # 1997-01-01 and 1997-09-30 as days since the epoch


@pytest.fixture(scope="module")
def calibration():
    return summarise(read_cdnow(CDNOW), SEP_30, JAN_1)


def within(actual: dict, expected: dict, tolerance: float = 0.01) -> dict:
    return {k: (actual[k], v) for k, v in expected.items() if abs(actual[k] - v) > tolerance * abs(v)}


def test_cdnow_calibration_summary_matches_the_paper(calibration):
    assert len(calibration) == 2357
    assert int((calibration.x > 0).sum()) == 946
    assert calibration.x.sum() == 2457
    assert calibration.T.max() == pytest.approx(38.857, abs=1e-3)


def test_bgnbd_fit_reproduces_the_published_parameters(calibration):
    params, loglik = m.fit_bgnbd(calibration.x, calibration.t_x, calibration.T)
    assert within(params.as_dict(), PAPER_BGNBD) == {}
    assert loglik == pytest.approx(-9582.4, abs=0.1)


def test_gamma_gamma_fit_reproduces_the_published_parameters(calibration):
    params, _ = m.fit_gamma_gamma(calibration.x, calibration.m)
    assert within(params.as_dict(), PAPER_GAMMA_GAMMA) == {}


def test_conditional_expectation_matches_the_papers_worked_example():
    params = m.BGNBDParams(**PAPER_BGNBD)
    assert m.expected_purchases(params, 39, 2, 30.43, 38.86) == pytest.approx(1.226, abs=0.001)


def test_p_alive_is_one_without_repeat_purchases_and_falls_with_silence():
    params = m.BGNBDParams(**PAPER_BGNBD)
    alive = m.p_alive(params, [0, 5, 5], [0, 30, 5], [30, 32, 32])
    assert alive[0] == 1.0
    assert alive[1] > 0.8 > 0.05 > alive[2]


def test_analytic_gradients_match_numerical_ones(calibration):
    (x, t_x, T), w, _ = m.compress(calibration.x, calibration.t_x, calibration.T)
    f = lambda v: m._bgnbd_objective(v, x, t_x, T, w, w.sum())[0]  # noqa: E731
    g = lambda v: m._bgnbd_objective(v, x, t_x, T, w, w.sum())[1]  # noqa: E731
    assert check_grad(f, g, np.log([0.3, 4.0, 0.7, 2.1])) < 1e-5
    keep = calibration.x > 0
    (x2, m2), w2, _ = m.compress(calibration.x[keep], calibration.m[keep])
    f = lambda v: m._gamma_gamma_objective(v, x2, m2, w2, w2.sum())[0]  # noqa: E731
    g = lambda v: m._gamma_gamma_objective(v, x2, m2, w2, w2.sum())[1]  # noqa: E731
    assert check_grad(f, g, np.log([3.0, 2.0, 5.0])) < 1e-5


def test_compressed_likelihood_equals_the_per_customer_sum(calibration):
    params = list(PAPER_BGNBD.values())
    full = m.bgnbd_log_likelihood(params, calibration.x, calibration.t_x, calibration.T).sum()
    (x, t_x, T), w, _ = m.compress(calibration.x, calibration.t_x, calibration.T)
    assert m.bgnbd_log_likelihood(params, x, t_x, T, w).sum() == pytest.approx(full, rel=1e-12)


def test_fit_recovers_parameters_from_simulated_customers():
    rng = np.random.default_rng(7)
    truth = m.BGNBDParams(r=0.5, alpha=6.0, a=1.2, b=3.0)
    n, T = 20000, 52.0
    lam = rng.gamma(truth.r, 1 / truth.alpha, n)
    p = rng.beta(truth.a, truth.b, n)
    x, t_x, t = np.zeros(n), np.zeros(n), np.zeros(n)
    active = np.arange(n)
    while active.size:  # every live customer's next purchase at once; dropout only after a repeat purchase
        t[active] += rng.exponential(1 / lam[active])
        active = active[t[active] < T]
        x[active] += 1
        t_x[active] = t[active]
        active = active[rng.random(active.size) > p[active]]
    params, _ = m.fit_bgnbd(x, t_x, np.full(n, T))
    assert params.r == pytest.approx(truth.r, rel=0.15)
    assert params.alpha == pytest.approx(truth.alpha, rel=0.2)
    assert params.a == pytest.approx(truth.a, rel=0.3)
    assert params.b == pytest.approx(truth.b, rel=0.3)


def test_fit_refuses_data_without_repeat_purchases():
    with pytest.raises(m.FitError, match="repeat"):
        m.fit_bgnbd([0, 0, 0], [0, 0, 0], [10, 20, 30])
    with pytest.raises(m.FitError):
        m.fit_gamma_gamma([0, 0], [np.nan, np.nan])


def test_clv_without_discount_is_margin_times_spend_times_purchases():
    bg = m.BGNBDParams(**PAPER_BGNBD)
    gg = m.GammaGammaParams(**PAPER_GAMMA_GAMMA)
    x, t_x, T, spend = np.array([0, 2, 6.0]), np.array([0, 30.43, 20]), np.array([38.86, 38.86, 38.86]), np.array([np.nan, 40, 25])
    result = m.customer_lifetime_value(bg, gg, x=x, t_x=t_x, T=T, m=spend, horizon_weeks=39, margin=0.3, annual_discount=0.0)
    assert result["clv"] == pytest.approx(0.3 * result["expected_spend"] * result["expected_purchases"], rel=1e-9)
    discounted = m.customer_lifetime_value(bg, gg, x=x, t_x=t_x, T=T, m=spend, horizon_weeks=39, margin=0.3, annual_discount=0.1)
    assert np.all(discounted["clv"] < result["clv"])
    assert np.all(discounted["clv"] > result["clv"] / 1.1)


def test_expected_spend_shrinks_towards_the_population_mean():
    gg = m.GammaGammaParams(**PAPER_GAMMA_GAMMA)
    population = gg.p * gg.gamma / (gg.q - 1)
    one, many = m.expected_spend(gg, [1, 50], [100.0, 100.0])
    assert population < one < many < 100.0
    assert m.expected_spend(gg, [0], [np.nan])[0] == pytest.approx(population)


def test_same_day_purchases_are_one_transaction_and_repeat_mean_excludes_the_first():
    purchases = Purchases(np.array([1, 1, 1, 1]), np.array([0, 0, 7, 14]), np.array([10.0, 5.0, 20.0, 40.0]))
    s = summarise(purchases, end_day=28)
    assert s.x[0] == 2 and s.purchases[0] == 4
    assert s.t_x[0] == pytest.approx(2.0) and s.T[0] == pytest.approx(4.0)
    assert s.m[0] == pytest.approx(30.0)
    assert s.revenue[0] == pytest.approx(75.0)


def test_monthly_steps_and_rate_follow_the_lifetimes_convention():
    """Σ_i (E[Y(i months)] − E[Y((i−1) months)]) × spend / (1 + d)^i, as the
    lifetimes package computes CLV, written out here by hand."""
    bg = m.BGNBDParams(**PAPER_BGNBD)
    gg = m.GammaGammaParams(**PAPER_GAMMA_GAMMA)
    x, t_x, T, spend = np.array([1, 4.0]), np.array([10, 30.0]), np.array([38.86, 38.86]), np.array([30.0, 50.0])
    month = m.PERIOD_WEEKS["month"]
    by_hand = sum((m.expected_purchases(bg, i * month, x, t_x, T) - m.expected_purchases(bg, (i - 1) * month, x, t_x, T))
                  / 1.01 ** i for i in range(1, 13))
    got = m.customer_lifetime_value(bg, gg, x=x, t_x=t_x, T=T, m=spend, horizon_weeks=12 * month, margin=1,
                                    annual_discount=0.01, step="month", discount_per="month")
    assert got["clv"] == pytest.approx(by_hand * m.expected_spend(gg, x, spend), rel=1e-9)

"""The probability models, on plain numpy arrays (no database here).

* **BG/NBD** — Fader, Hardie & Lee (2005), "Counting your customers the easy
  way: an alternative to the Pareto/NBD model", Marketing Science 24(2).
  While alive a customer buys at Poisson rate λ ~ Gamma(r, α); after each
  purchase they drop out with probability p ~ Beta(a, b). A customer is
  summarised by ``x`` (repeat purchases), ``t_x`` (time of the last purchase)
  and ``T`` (time since the first purchase), all measured from their first
  purchase, in weeks.
* **Gamma-Gamma** — Fader, Hardie & Lee (2005), "RFM and CLV: using iso-value
  curves for customer base analysis", and Colombo & Jiang (1999): the spend
  per transaction is Gamma(p, ν) with ν ~ Gamma(q, γ), independent of the
  purchase process. Fitted on repeat customers from ``x`` and the mean value
  ``m`` of their repeat transactions.

Both are fitted by maximum likelihood with analytic gradients, in log-parameter
space (so parameters stay positive) with L-BFGS-B, on customers compressed to
their distinct summaries (many customers share one), so the likelihood is one
vectorised expression whatever the number of customers.

numpy and scipy are imported here; import this module inside functions.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
from scipy.optimize import minimize
from scipy.special import betaln, digamma, expit, gammaln, hyp2f1

WEEKS_PER_YEAR = 365.25 / 7
PERIOD_WEEKS = {"week": 1.0, "month": WEEKS_PER_YEAR / 12, "year": WEEKS_PER_YEAR}


def _wsum(weights: np.ndarray, values: np.ndarray) -> float:
    """Σ weights × values without BLAS (whose threads stall on a busy machine)."""
    return float(np.add.reduce(weights * values))


class FitError(ValueError):
    """The data cannot support the model (too few customers, no repeat buyers)."""


# ---------------------------------------------------------------------------
# Compression: customers that share a summary share a likelihood term
# ---------------------------------------------------------------------------


def compress(*columns: np.ndarray) -> tuple[list[np.ndarray], np.ndarray, np.ndarray]:
    """Distinct rows of the given columns, their counts and, for each input
    row, the index of its distinct row."""
    stacked = np.column_stack([np.asarray(c, dtype=float) for c in columns])
    unique, inverse, counts = np.unique(stacked, axis=0, return_inverse=True, return_counts=True)
    return [unique[:, i] for i in range(unique.shape[1])], counts.astype(float), inverse.reshape(-1)


# ---------------------------------------------------------------------------
# BG/NBD
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class BGNBDParams:
    r: float
    alpha: float
    a: float
    b: float

    def as_dict(self) -> dict[str, float]:
        return asdict(self)


def _bgnbd_terms(params: np.ndarray, x: np.ndarray, t_x: np.ndarray, T: np.ndarray):
    r, alpha, a, b = params
    repeat = x > 0
    a1 = gammaln(r + x) - gammaln(r) + r * np.log(alpha)
    a2 = betaln(a, b + x) - betaln(a, b)
    a3 = -(r + x) * np.log(alpha + T)
    with np.errstate(divide="ignore", invalid="ignore"):
        a4 = np.where(repeat, np.log(a) - np.log(np.where(repeat, b + x - 1, 1.0)) - (r + x) * np.log(alpha + t_x), -np.inf)
    return a1, a2, a3, a4, repeat


def bgnbd_log_likelihood(params, x, t_x, T, weights=None) -> np.ndarray:
    """Each customer's log-likelihood (eq. 6 of the paper), vectorised."""
    a1, a2, a3, a4, _ = _bgnbd_terms(np.asarray(params, dtype=float), np.asarray(x, float), np.asarray(t_x, float), np.asarray(T, float))
    ll = a1 + a2 + np.logaddexp(a3, a4)
    return ll if weights is None else ll * weights


def _bgnbd_objective(log_params: np.ndarray, x, t_x, T, weights, total: float, by_x=None):
    """Mean negative log-likelihood and its gradient in log-parameter space.
    ``by_x`` = (distinct x, index of each row's x): the gamma/beta/digamma
    terms depend on x alone, so they are computed once per distinct x."""
    params = np.exp(log_params)
    r, alpha, a, b = params
    ux, xi = by_x if by_x is not None else np.unique(x, return_inverse=True)
    repeat = x > 0
    a1 = (gammaln(r + ux) - gammaln(r) + r * np.log(alpha))[xi]
    a2 = (betaln(a, b + ux) - betaln(a, b))[xi]
    log_alpha_T = np.log(alpha + T)
    log_alpha_tx = np.log(alpha + t_x)
    a3 = -(r + x) * log_alpha_T
    with np.errstate(divide="ignore", invalid="ignore"):
        inv_u = np.where(ux > 0, 1.0 / np.where(ux > 0, b + ux - 1, 1.0), 0.0)
        log_odds_u = np.where(ux > 0, np.log(a) + np.log(np.where(ux > 0, inv_u, 1.0)), -np.inf)
    a4 = np.where(repeat, log_odds_u[xi] - (r + x) * log_alpha_tx, -np.inf)
    mix = np.logaddexp(a3, a4)
    value = _wsum(weights, a1 + a2 + mix)
    if not np.isfinite(value):
        return 1e100, np.zeros(4)
    w = np.exp(a4 - mix)  # share of the "dropped out after the last purchase" term
    d_r = (digamma(r + ux) - digamma(r) + np.log(alpha))[xi] - (1 - w) * log_alpha_T - w * log_alpha_tx
    d_alpha = r / alpha - (r + x) * ((1 - w) / (alpha + T) + w / (alpha + t_x))
    d_a = (digamma(a + b) - digamma(a + b + ux))[xi] + w / a
    d_b = (digamma(b + ux) - digamma(a + b + ux) - digamma(b) + digamma(a + b))[xi] - w * inv_u[xi]
    grad = np.array([_wsum(weights, g) for g in (d_r, d_alpha, d_a, d_b)]) * params
    return -value / total, -grad / total


def fit_bgnbd(x, t_x, T, *, weights=None, initial=(1.0, 1.0, 1.0, 1.0)) -> tuple[BGNBDParams, float]:
    """Maximum-likelihood BG/NBD parameters and the total log-likelihood.

    ``x`` repeat purchases, ``t_x`` time of the last purchase and ``T`` time
    since the first purchase (same unit, usually weeks), one entry per
    customer (or per distinct summary with ``weights`` counting customers).
    """
    x = np.asarray(x, dtype=float)
    t_x = np.asarray(t_x, dtype=float)
    T = np.asarray(T, dtype=float)
    if weights is None:
        (x, t_x, T), weights, _ = compress(x, t_x, T)
    weights = np.asarray(weights, dtype=float)
    _check_bgnbd_data(x, t_x, T, weights)
    total = float(weights.sum())
    ux, xi = np.unique(x, return_inverse=True)
    by_x = (ux, xi.reshape(-1))
    best = None
    for start in (np.log(initial), np.log([0.5, 5.0, 0.8, 2.5]), np.zeros(4) + np.log(0.1)):
        result = minimize(_bgnbd_objective, start, args=(x, t_x, T, weights, total, by_x), jac=True, method="L-BFGS-B",
                          bounds=[(-12.0, 12.0)] * 4, options={"maxiter": 1000, "ftol": 1e-14, "gtol": 1e-9})
        if best is None or result.fun < best.fun:
            best = result
        if result.success and np.all(np.abs(result.x) < 11.9):
            break
    r, alpha, a, b = np.exp(best.x)
    return BGNBDParams(float(r), float(alpha), float(a), float(b)), -float(best.fun) * total


def _check_bgnbd_data(x, t_x, T, weights) -> None:
    if weights.sum() < 2:
        raise FitError("bgnbd: needs purchases from at least two customers")
    if not np.any(x > 0):
        raise FitError("bgnbd: no customer made a repeat purchase in the period; the model cannot be fitted")
    if np.any(x < 0) or np.any(t_x < 0) or np.any(T < t_x - 1e-9):
        raise FitError("bgnbd: summaries must satisfy x >= 0 and 0 <= t_x <= T")
    if not np.any(T > 0):
        raise FitError("bgnbd: the period is too short (every customer's T is 0)")


def _log_dropout_odds(params: BGNBDParams, x, t_x, T) -> np.ndarray:
    """log of a/(b+x-1) ((α+T)/(α+t_x))^(r+x) for x > 0; -inf for x = 0."""
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    repeat = x > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(repeat, np.log(a) - np.log(np.where(repeat, b + x - 1, 1.0))
                        + (r + x) * (np.log(alpha + T) - np.log(alpha + t_x)), -np.inf)


def p_alive(params: BGNBDParams, x, t_x, T) -> np.ndarray:
    """P(still active | x, t_x, T) (eq. 11 of the paper)."""
    x, t_x, T = (np.asarray(v, dtype=float) for v in (x, t_x, T))
    return expit(-_log_dropout_odds(params, x, t_x, T))


def _purchases_if_alive(params: BGNBDParams, t, x, T) -> np.ndarray:
    """The factor of eq. 10 that does not involve t_x: expected purchases in
    the next ``t`` of a customer known to be alive with ``x`` repeat purchases
    over ``T``. Depends on (x, T) only, so callers compress on those."""
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    if abs(a - 1) < 1e-9:  # a == 1: the limit of the expression, by a tiny step
        return _purchases_if_alive(BGNBDParams(r, alpha, a + 1e-7, b), t, x, T)
    t = np.asarray(t, dtype=float)
    log_ratio = (r + x) * (np.log(alpha + T) - np.log(alpha + T + t))
    hyper = hyp2f1(r + x, b + x, a + b + x - 1, t / (alpha + T + t))
    return (a + b + x - 1) / (a - 1) * (1 - np.exp(log_ratio) * hyper)


def expected_purchases(params: BGNBDParams, t, x, t_x, T) -> np.ndarray:
    """E[Y(t) | x, t_x, T]: purchases expected in the next ``t`` (eq. 10)."""
    x, t_x, T = (np.asarray(v, dtype=float) for v in (x, t_x, T))
    value = _purchases_if_alive(params, t, x, T) * p_alive(params, x, t_x, T)
    return np.maximum(value, 0.0)


def expected_purchases_new(params: BGNBDParams, t) -> np.ndarray:
    """E[X(t)] for a customer just acquired (eq. 9): the model's curve for
    a cohort, used to check a fit against actual repeat purchases."""
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    t = np.asarray(t, dtype=float)
    return (a + b - 1) / (a - 1) * (1 - (alpha / (alpha + t)) ** r * hyp2f1(r, b, a + b - 1, t / (alpha + t)))


# ---------------------------------------------------------------------------
# Gamma-Gamma
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class GammaGammaParams:
    p: float
    q: float
    gamma: float

    def as_dict(self) -> dict[str, float]:
        return asdict(self)


def gamma_gamma_log_likelihood(params, x, m, weights=None) -> np.ndarray:
    """Each repeat customer's log-likelihood of their mean spend ``m`` over
    ``x`` transactions."""
    p, q, g = np.asarray(params, dtype=float)
    x = np.asarray(x, float)
    m = np.asarray(m, float)
    px = p * x
    ll = (gammaln(px + q) - gammaln(px) - gammaln(q) + q * np.log(g) + (px - 1) * np.log(m)
          + px * np.log(x) - (px + q) * np.log(g + m * x))
    return ll if weights is None else ll * weights


def _gamma_gamma_objective(log_params, x, m, weights, total):
    params = np.exp(log_params)
    p, q, g = params
    ll = gamma_gamma_log_likelihood(params, x, m)
    value = _wsum(weights, ll)
    if not np.isfinite(value):
        return 1e100, np.zeros(3)
    px = p * x
    log_gmx = np.log(g + m * x)
    d_p = x * (digamma(px + q) - digamma(px) + np.log(m) + np.log(x) - log_gmx)
    d_q = digamma(px + q) - digamma(q) + np.log(g) - log_gmx
    d_g = q / g - (px + q) / (g + m * x)
    grad = np.array([_wsum(weights, d) for d in (d_p, d_q, d_g)]) * params
    return -value / total, -grad / total


def fit_gamma_gamma(x, m, *, weights=None, initial=(1.0, 1.0, 1.0)) -> tuple[GammaGammaParams, float]:
    """Maximum-likelihood Gamma-Gamma parameters and the log-likelihood, from
    repeat customers only (``x > 0`` transactions with mean value ``m > 0``;
    others are left out)."""
    x = np.asarray(x, dtype=float)
    m = np.asarray(m, dtype=float)
    keep = (x > 0) & (m > 0)
    if weights is None:
        (x, m), weights, _ = compress(x[keep], m[keep])
    else:
        weights = np.asarray(weights, dtype=float)[keep]
        x, m = x[keep], m[keep]
    if weights.sum() < 2:
        raise FitError("gamma_gamma: needs at least two repeat customers with a positive spend")
    total = float(weights.sum())
    # scale spend for the optimiser; γ scales with it and is scaled back
    scale = float(np.average(m, weights=weights))
    best = None
    for start in (np.log(initial), np.log([5.0, 3.0, 10.0]), np.log([0.5, 1.5, 0.5])):
        result = minimize(_gamma_gamma_objective, start, args=(x, m / scale, weights, total), jac=True, method="L-BFGS-B",
                          bounds=[(-12.0, 12.0)] * 3, options={"maxiter": 1000, "ftol": 1e-14, "gtol": 1e-9})
        if best is None or result.fun < best.fun:
            best = result
        if result.success and np.all(np.abs(result.x) < 11.9):
            break
    p, q, g = np.exp(best.x)
    loglik = -float(best.fun) * total - _wsum(weights, x > 0) * np.log(scale)
    return GammaGammaParams(float(p), float(q), float(g) * scale), loglik


def expected_spend(params: GammaGammaParams, x, m) -> np.ndarray:
    """E[spend per transaction | x, m]: the customer's own mean shrunk towards
    the population mean pγ/(q−1); customers with no repeat purchase get the
    population mean."""
    p, q, g = params.p, params.q, params.gamma
    x = np.asarray(x, dtype=float)
    m = np.nan_to_num(np.asarray(m, dtype=float))
    population = p * g / (q - 1) if q > 1 else np.nan
    with np.errstate(divide="ignore", invalid="ignore"):
        own = p * (g + m * x) / (p * x + q - 1)
    return np.where(x > 0, own, population)


# ---------------------------------------------------------------------------
# Lifetime value
# ---------------------------------------------------------------------------


def discounted_purchases(params: BGNBDParams, horizon_weeks: float, annual_discount: float, x, t_x, T,
                         step_weeks: float = 1.0, rate_period_weeks: float = WEEKS_PER_YEAR) -> np.ndarray:
    """Σ over steps (weekly by default) of the purchases expected in each
    step, each discounted to today at ``annual_discount`` per
    ``rate_period_weeks`` (a year by default): the present value of one unit
    of margin per purchase over the horizon. Monthly steps with a monthly
    rate are the convention of the ``lifetimes`` package. The hyp2f1 part of eq. 10 depends
    on (x, T) only: it is computed once per distinct pair and step, then
    multiplied by each customer's P(alive)."""
    if horizon_weeks <= 0:
        raise ValueError("horizon: must be positive")
    x, t_x, T = (np.asarray(v, dtype=float) for v in (x, t_x, T))
    (ux, uT), _, inverse = compress(x, T)
    edges = np.arange(step_weeks, horizon_weeks + 1e-9, step_weeks)
    if edges.size == 0 or edges[-1] < horizon_weeks - 1e-9:
        edges = np.append(edges, horizon_weeks)
    total = np.zeros(ux.shape[0])
    previous = np.zeros(ux.shape[0])
    for edge in edges:
        current = _purchases_if_alive(params, edge, ux, uT)
        total += (current - previous) / (1 + annual_discount) ** (edge / rate_period_weeks)
        previous = current
    return np.maximum(total[inverse] * p_alive(params, x, t_x, T), 0.0)


def customer_lifetime_value(bgnbd: BGNBDParams, gamma_gamma: GammaGammaParams, *, x, t_x, T, m,
                            horizon_weeks: float, margin: float, annual_discount: float, step: str = "week",
                            discount_per: str = "year") -> dict[str, np.ndarray]:
    """Per customer: P(alive), expected purchases over the horizon, expected
    spend per purchase and CLV = margin × spend × discounted purchases."""
    x, t_x, T = (np.asarray(v, dtype=float) for v in (x, t_x, T))
    alive = p_alive(bgnbd, x, t_x, T)
    (ux, uT), _, inverse = compress(x, T)
    purchases = np.maximum(_purchases_if_alive(bgnbd, horizon_weeks, ux, uT)[inverse] * alive, 0.0)
    spend = expected_spend(gamma_gamma, x, m)
    discounted = discounted_purchases(bgnbd, horizon_weeks, annual_discount, x, t_x, T,
                                      step_weeks=PERIOD_WEEKS[step], rate_period_weeks=PERIOD_WEEKS[discount_per])
    return {
        "p_alive": alive,
        "expected_purchases": purchases,
        "expected_spend": spend,
        "clv": margin * spend * discounted,
    }

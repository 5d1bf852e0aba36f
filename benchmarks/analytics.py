"""Benchmark of the analytics plugin: scoring a large customer base.

    python benchmarks/analytics.py            # 1,000,000 customers, ~5,000,000 purchases
    python benchmarks/analytics.py --quick    # 20,000 customers, ~100,000 purchases

1. Simulates a customer base from known BG/NBD + Gamma-Gamma parameters
   (vectorised), writes it as core customers and purchase activities with
   bulk ``insert()`` into a fresh SQLite CRM.
2. Times each step of the math on the arrays (load from the database,
   summarise, fit BG/NBD, fit Gamma-Gamma, CLV for everyone) and reports how
   close the fit comes to the parameters the data was drawn from.
3. Runs ``crm analytics score`` — RFM, grades, fit, CLV, churn, lifecycle for
   every customer, stored — as ONE command in a subprocess and times it.
4. If the ``lifetimes`` package is importable (optional; not a dependency),
   fits the same summaries with it and prints its parameters and time side by
   side, on CDNOW and on the simulated data.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
CDNOW = ROOT / "plugins" / "analytics" / "tests" / "fixtures" / "CDNOW_sample.txt"
TRUE_BGNBD = {"r": 0.68, "alpha": 6.0, "a": 0.8, "b": 3.2}
TRUE_GAMMA_GAMMA = {"p": 4.0, "q": 3.5, "gamma": 120.0}
START = datetime(2023, 1, 1, tzinfo=timezone.utc)
WEEKS = 104  # two years of history; customers arrive during the first year


def simulate(n: int, seed: int = 11):
    """Purchases of n customers drawn from BG/NBD (timing) and Gamma-Gamma
    (spend): arrays of customer index, time in weeks since START, amount."""
    rng = np.random.default_rng(seed)
    r, alpha, a, b = TRUE_BGNBD.values()
    p, q, g = TRUE_GAMMA_GAMMA.values()
    lam = rng.gamma(r, 1 / alpha, n)
    drop = rng.beta(a, b, n)
    nu = rng.gamma(q, 1 / g, n)
    first = rng.uniform(0, 52, n)
    who, when = [np.arange(n)], [first]
    t = first.copy()
    active = np.arange(n)
    while active.size:
        t[active] += rng.exponential(1 / lam[active])
        active = active[t[active] < WEEKS]
        who.append(active)
        when.append(t[active].copy())
        # after each repeat purchase a customer drops out with probability p
        active = active[rng.random(active.size) > drop[active]]
    who = np.concatenate(who)
    when = np.concatenate(when)
    amount = np.round(rng.gamma(p, 1 / nu[who]), 2) + 0.01
    return who, when, amount


def load_crm(url: str, n: int):
    import crmcore
    from crmcore.bootstrap import initialise
    from crmcore.tables import activities, customers
    from sqlalchemy import insert, select

    crm = crmcore.CRM.open(url, plugins=["analytics"])
    initialise(crm)
    who, when, amount = simulate(n)
    now = datetime.now(timezone.utc)
    chunk = 100_000
    t0 = time.perf_counter()
    with crm.unit_of_work() as uow:
        for start in range(0, n, chunk):
            uow.execute(insert(customers), [
                {"code": f"B{i:07d}", "kind": "person", "name": f"客户{i}", "phones": [], "emails": [], "level": "normal",
                 "status": "active", "stage": "exploration", "tags": [], "custom": {}, "do_not_contact": False,
                 "active": True, "created_at": now, "updated_at": now}
                for i in range(start, min(n, start + chunk))
            ])
        first_id = uow.execute(select(customers.c.id).where(customers.c.code == "B0000000")).scalar()
        order = np.argsort(when, kind="stable")
        # setup, not measured: straight through the driver (SQLite's stored datetime text), as a bulk import would
        base = np.datetime64(START.replace(tzinfo=None), "us")
        stamps = np.datetime_as_string(base + (when * 7 * 86400e6).astype("timedelta64[us]"), unit="us")
        created = now.replace(tzinfo=None).isoformat(sep=" ")
        sql = ("INSERT INTO activities (customer_id, type, subject, amount, occurred_at, done, source_plugin, payload, "
               "cancelled, created_at) VALUES (?, 'purchase', '订单', ?, ?, 1, 'core', '{}', 0, ?)")
        for start in range(0, who.size, chunk):
            index = order[start:start + chunk]
            uow.connection.exec_driver_sql(sql, [
                (int(first_id + c), float(m), w.replace("T", " "), created)
                for c, m, w in zip(who[index].tolist(), amount[index].tolist(), stamps[index].tolist())
            ])
            print(f"\r  loaded {min(start + chunk, who.size):,} of {who.size:,} purchases", end="", file=sys.stderr)
    print(file=sys.stderr)
    return crm, who.size, time.perf_counter() - t0


def timed(label: str, results: list, fn, *args, **kwargs):
    t0 = time.perf_counter()
    value = fn(*args, **kwargs)
    results.append((label, time.perf_counter() - t0))
    return value


def lifetimes_fit(summary):
    try:
        from lifetimes import BetaGeoFitter, GammaGammaFitter
    except ImportError:
        return None
    t0 = time.perf_counter()
    bg = BetaGeoFitter()
    bg.fit(summary.x, summary.t_x, summary.T)
    keep = summary.x > 0
    gg = GammaGammaFitter()
    gg.fit(summary.x[keep], summary.m[keep])
    seconds = time.perf_counter() - t0
    return dict(bg.params_), {"p": gg.params_["p"], "q": gg.params_["q"], "gamma": gg.params_["v"]}, seconds


def compare_predictions(summary, bg, gg) -> None:
    """Per-customer predictions of both implementations, from the same
    parameters: the largest differences."""
    try:
        from lifetimes import BetaGeoFitter, GammaGammaFitter
    except ImportError:
        return
    import pandas as pd

    from crm_analytics.models import customer_lifetime_value, expected_purchases, p_alive

    theirs = BetaGeoFitter()
    theirs.params_ = pd.Series(bg.as_dict())
    theirs.predict = theirs.conditional_expected_number_of_purchases_up_to_time
    their_gg = GammaGammaFitter()
    their_gg.params_ = pd.Series({"p": gg.p, "q": gg.q, "v": gg.gamma})
    m = np.nan_to_num(summary.m)
    pairs = {
        "P(alive)": (p_alive(bg, summary.x, summary.t_x, summary.T),
                     theirs.conditional_probability_alive(summary.x, summary.t_x, summary.T)),
        "E[purchases in 39 weeks]": (expected_purchases(bg, 39, summary.x, summary.t_x, summary.T),
                                     theirs.conditional_expected_number_of_purchases_up_to_time(39, summary.x, summary.t_x, summary.T)),
        "E[spend per purchase]": (customer_lifetime_value(bg, gg, x=summary.x, t_x=summary.t_x, T=summary.T, m=summary.m,
                                                          horizon_weeks=39, margin=1, annual_discount=0)["expected_spend"],
                                  their_gg.conditional_expected_average_profit(pd.Series(summary.x), pd.Series(m)).to_numpy()),
    }
    ours_clv = customer_lifetime_value(bg, gg, x=summary.x, t_x=summary.t_x, T=summary.T, m=summary.m, horizon_weeks=12 * 4.345,
                                       margin=1, annual_discount=0.01, step="month", discount_per="month")["clv"]
    their_clv = their_gg.customer_lifetime_value(theirs, pd.Series(summary.x), pd.Series(summary.t_x), pd.Series(summary.T),
                                                 pd.Series(m), time=12, discount_rate=0.01, freq="W").to_numpy()
    pairs["CLV 12 months, 1%/month"] = (ours_clv, their_clv)
    for label, (ours, other) in pairs.items():
        other = np.asarray(other, dtype=float)
        relative = np.max(np.abs(ours - other) / np.maximum(np.abs(other), 1e-12))
        print(f"  {label:<28} max |crm-analytics − lifetimes| = {np.max(np.abs(ours - other)):.2e} "
              f"(relative {relative:.1e}) over {len(ours):,} customers")


def show_params(title: str, rows: list[tuple[str, dict]]) -> None:
    names = list(rows[0][1])
    print(f"  {title:<28}" + "".join(f"{n:>12}" for n in names))
    for label, values in rows:
        print(f"  {label:<28}" + "".join(f"{values[n]:>12.4f}" for n in names))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="20,000 customers instead of 1,000,000")
    parser.add_argument("--customers", type=int, help="number of customers to simulate")
    args = parser.parse_args()
    n = args.customers or (20_000 if args.quick else 1_000_000)

    from crm_analytics.data import day_number, load_purchases
    from crm_analytics.models import BGNBDParams, GammaGammaParams, customer_lifetime_value, fit_bgnbd, fit_gamma_gamma
    from crm_analytics.summary import read_cdnow, summarise

    print("== CDNOW (Fader, Hardie & Lee 2005), calibration 1997-01-01..1997-09-30")
    cd = summarise(read_cdnow(CDNOW), 10134, 9862)
    t0 = time.perf_counter()
    bg, _ = fit_bgnbd(cd.x, cd.t_x, cd.T)
    gg, _ = fit_gamma_gamma(cd.x, cd.m)
    ours = time.perf_counter() - t0
    paper = [("paper", {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}), ("crm-analytics", bg.as_dict())]
    paper_gg = [("paper", {"p": 6.25, "q": 3.74, "gamma": 15.44}), ("crm-analytics", gg.as_dict())]
    other = lifetimes_fit(cd)
    if other:
        paper.append(("lifetimes", other[0]))
        paper_gg.append(("lifetimes", other[1]))
    show_params("BG/NBD", paper)
    show_params("Gamma-Gamma", paper_gg)
    compare_predictions(cd, bg, gg)
    print(f"  fit time: crm-analytics {ours * 1000:.0f} ms" + (f", lifetimes {other[2] * 1000:.0f} ms "
                                                                f"(ratio {other[2] / ours:.1f}x)" if other else
                                                                " (lifetimes not installed: no cross-check)"))

    print(f"\n== simulated base: {n:,} customers")
    workdir = Path(tempfile.mkdtemp(prefix="crm-bench-analytics-"))
    url = f"sqlite:///{workdir / 'crm.db'}"
    crm, purchases_n, load_seconds = load_crm(url, n)
    print(f"  {purchases_n:,} purchases written in {load_seconds:.1f} s ({purchases_n / load_seconds:,.0f} rows/s, bulk insert)")
    as_of = (START + timedelta(weeks=WEEKS)).date()
    steps: list[tuple[str, float]] = []
    with crm.unit_of_work() as uow:
        purchases = timed("read purchases from the database", steps, load_purchases, uow, as_of)
    summary = timed("summarise (x, t_x, T, m)", steps, summarise, purchases, day_number(as_of))
    bg, _ = timed("fit BG/NBD", steps, fit_bgnbd, summary.x, summary.t_x, summary.T)
    gg, _ = timed("fit Gamma-Gamma", steps, fit_gamma_gamma, summary.x, summary.m)
    timed("P(alive), E[purchases], spend, CLV (52w)", steps, customer_lifetime_value, bg, gg, x=summary.x, t_x=summary.t_x,
          T=summary.T, m=summary.m, horizon_weeks=52, margin=0.3, annual_discount=0.1)
    for label, seconds in steps:
        print(f"  {label:<42} {seconds:8.2f} s   {len(summary) / seconds:>12,.0f} customers/s")
    rows = [("drawn from", TRUE_BGNBD), ("crm-analytics", bg.as_dict())]
    rows_gg = [("drawn from", TRUE_GAMMA_GAMMA), ("crm-analytics", gg.as_dict())]
    other = lifetimes_fit(summary) if n <= 200_000 else None
    if other:
        rows.append(("lifetimes", other[0]))
        rows_gg.append(("lifetimes", other[1]))
    show_params("BG/NBD", rows)
    show_params("Gamma-Gamma", rows_gg)
    math_seconds = sum(s for label, s in steps if label.startswith("fit"))
    if other:
        compare_predictions(summary, bg, gg)
        print(f"  fit time: crm-analytics {math_seconds:.2f} s, lifetimes {other[2]:.2f} s (ratio {other[2] / math_seconds:.1f}x)")
    crm.close()

    print(f"\n== one command: crm analytics score (RFM, grades, fit, CLV, churn, lifecycle; all stored)")
    t0 = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", "from crmcore.cli import main; main()", "--db", url, "analytics", "score", "--as-of", as_of.isoformat(),
                           "--horizon", "52w", "--margin", "0.3", "--discount", "0.1"],
                          capture_output=True, text=True, env={**os.environ, "CRM_LOAD_PLUGINS": "analytics"})
    seconds = time.perf_counter() - t0
    if done.returncode != 0:
        print(done.stdout, done.stderr)
        raise SystemExit(done.returncode)
    print("  " + done.stdout.strip().replace("\n", "\n  "))
    print(f"  wall time {seconds:.1f} s: {n / seconds:,.0f} customers/s, {purchases_n / seconds:,.0f} purchases/s")


if __name__ == "__main__":
    main()

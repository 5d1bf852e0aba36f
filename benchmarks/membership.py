"""Benchmark of the membership points ledger.

    python benchmarks/membership.py            # 100,000 entries; balance reads at 10k and 1M entries
    python benchmarks/membership.py --quick    # 20,000 entries; balance reads at 10k and 100k entries

1. Posting: the same rows (1,000 members, reward entries with idempotency
   keys) posted through the service — ``Ledger.post_many`` in batches of
   10,000, each batch one unit of work: duplicate-key check, multi-row insert,
   one balance update per member — against raw inserts of the same rows
   (SQLAlchemy Core ``insert()`` executemany, and plain ``sqlite3``
   ``executemany``) into the same table on a fresh database. Target: the
   service within 3x of the Core insert.
2. Single posts: ``Ledger.post`` one entry per unit of work (what a counter
   does), for scale.
3. Balance read: ``Ledger.balance`` (primary-key read of the balance row) at
   10,000 entries and again after the ledger grows to 1,000,000; median and
   p99 of many reads, side by side with recomputing the balance from the
   ledger (``SUM``), which grows with the ledger.
"""

from __future__ import annotations

import argparse
import sqlite3
import statistics
import sys
import tempfile
import time
from datetime import date, datetime, timezone
from pathlib import Path

MEMBERS = 1000
BATCH = 10_000


def open_club(path: Path):
    from crmcore.bootstrap import initialise
    from crmcore.testing import open_test_crm

    crm = open_test_crm(f"sqlite:///{path}", ["membership"], outbox_dir=path.parent / "outbox")
    initialise(crm)
    return crm


def make_members(crm) -> list[int]:
    """Members with balance rows, written directly (setup, not measured)."""
    from sqlalchemy import insert

    from crm_membership.tables import balances, members, tiers

    now = datetime.now(timezone.utc)
    with crm.unit_of_work() as uow:
        customer_ids = [uow.customers.create(name=f"会员{i}", phones=[f"139{i:08d}"]).id for i in range(MEMBERS)]
        tier_id = uow.execute(insert(tiers).values(name="银卡", level=10, multiplier=1, upgrade_points=0, manual_only=False, benefits={},
                                                   created_at=now)).inserted_primary_key[0]
        uow.execute(insert(members), [{"customer_id": c, "card_number": f"B{n:06d}", "tier_id": tier_id, "status": "active",
                                       "joined_on": date.today(), "created_at": now} for n, c in enumerate(customer_ids)])
        from sqlalchemy import select

        ids = list(uow.execute(select(members.c.id).order_by(members.c.id)).scalars())
        uow.execute(insert(balances), [{"member_id": m, "reward": 0, "upgrade": 0, "updated_at": now} for m in ids])
    return ids


def rows_for(member_ids: list[int], count: int, prefix: str) -> list[dict]:
    day = date.today()
    return [{"member_id": member_ids[i % len(member_ids)], "kind": "reward", "points": 10 + i % 90, "source": "event",
             "plan_id": None, "reference": f"bench:{i}", "idempotency_key": f"{prefix}:{i}", "effective_on": day,
             "expires_on": None, "reversal_of": None, "lot_id": None, "reason": "benchmark"} for i in range(count)]


def post_through_service(crm, rows: list[dict]) -> float:
    start = time.perf_counter()
    for offset in range(0, len(rows), BATCH):
        with crm.unit_of_work() as uow:
            uow.service("membership").ledger.post_many(rows[offset:offset + BATCH])
    return time.perf_counter() - start


def post_raw_core(crm, rows: list[dict]) -> float:
    from sqlalchemy import insert

    from crm_membership.tables import ledger

    now = datetime.now(timezone.utc)
    full = [{**row, "actor": "system", "created_at": now} for row in rows]
    start = time.perf_counter()
    for offset in range(0, len(full), BATCH):
        with crm.engine.begin() as connection:
            connection.execute(insert(ledger), full[offset:offset + BATCH])
    return time.perf_counter() - start


def post_raw_sqlite(path: Path, rows: list[dict]) -> float:
    now = datetime.now(timezone.utc).replace(tzinfo=None).isoformat(sep=" ")
    columns = ("member_id", "kind", "points", "source", "plan_id", "reference", "idempotency_key", "effective_on", "expires_on",
               "reversal_of", "lot_id", "reason")
    values = [tuple(str(r[c]) if c == "effective_on" else r[c] for c in columns) + ("system", now) for r in rows]
    sql = f"INSERT INTO membership_ledger ({', '.join(columns)}, actor, created_at) VALUES ({', '.join('?' * (len(columns) + 2))})"
    connection = sqlite3.connect(path)
    start = time.perf_counter()
    for offset in range(0, len(values), BATCH):
        connection.executemany(sql, values[offset:offset + BATCH])
        connection.commit()
    elapsed = time.perf_counter() - start
    connection.close()
    return elapsed


def single_posts(crm, member_ids: list[int], count: int) -> float:
    start = time.perf_counter()
    for i in range(count):
        with crm.unit_of_work() as uow:
            uow.service("membership").ledger.post(member_ids[i % len(member_ids)], "reward", 5, "manual", key=f"single:{i}", reason="bench")
    return time.perf_counter() - start


def grow_ledger(path: Path, member_ids: list[int], total: int) -> None:
    """Fill the ledger to ``total`` entries (raw, keeping balances equal)."""
    connection = sqlite3.connect(path)
    have = connection.execute("SELECT count(*) FROM membership_ledger").fetchone()[0]
    now = datetime.now(timezone.utc).replace(tzinfo=None).isoformat(sep=" ")
    day = date.today().isoformat()
    chunk = 100_000
    while have < total:
        n = min(chunk, total - have)
        connection.executemany(
            "INSERT INTO membership_ledger (member_id, kind, points, source, effective_on, actor, created_at) VALUES (?, 'reward', 1, 'event', ?, 'system', ?)",
            ((member_ids[(have + i) % len(member_ids)], day, now) for i in range(n)))
        have += n
    connection.execute("UPDATE membership_balances SET reward = (SELECT coalesce(sum(points), 0) FROM membership_ledger l "
                       "WHERE l.member_id = membership_balances.member_id AND l.kind = 'reward')")
    connection.commit()
    connection.close()


def time_reads(crm, member_ids: list[int], reads: int) -> tuple[float, float, float]:
    """(median µs, p99 µs) of Ledger.balance, and median µs of a SUM over the ledger."""
    from sqlalchemy import func, select

    from crm_membership.tables import ledger

    samples, sums = [], []
    with crm.unit_of_work() as uow:
        service = uow.service("membership").ledger
        for i in range(reads):
            member_id = member_ids[(i * 7919) % len(member_ids)]
            start = time.perf_counter()
            service.balance(member_id)
            samples.append((time.perf_counter() - start) * 1e6)
        statement = select(func.sum(ledger.c.points)).where(ledger.c.member_id == member_ids[0], ledger.c.kind == "reward")
        for _ in range(max(5, reads // 200)):
            start = time.perf_counter()
            uow.execute(statement).scalar()
            sums.append((time.perf_counter() - start) * 1e6)
    samples.sort()
    return statistics.median(samples), samples[int(len(samples) * 0.99) - 1], statistics.median(sums)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="a smaller run")
    options = parser.parse_args()
    entries = 20_000 if options.quick else 100_000
    big = 100_000 if options.quick else 1_000_000
    with tempfile.TemporaryDirectory() as directory:
        work = Path(directory)
        print(f"membership ledger benchmark — SQLite {sqlite3.sqlite_version}, Python {sys.version.split()[0]}, {MEMBERS} members")
        service_db, core_db, raw_db = work / "service.db", work / "core.db", work / "raw.db"
        clubs = {}
        for name, path in (("service", service_db), ("core", core_db), ("raw", raw_db)):
            clubs[name] = open_club(path)
        ids = {name: make_members(crm) for name, crm in clubs.items()}
        rows = rows_for(ids["service"], entries, "bench")
        t_service = post_through_service(clubs["service"], rows)
        t_core = post_raw_core(clubs["core"], rows)
        clubs["raw"].engine.dispose()
        t_raw = post_raw_sqlite(raw_db, rows)
        print(f"\n1. posting {entries:,} entries in batches of {BATCH:,}")
        print(f"   {'path':<44}{'seconds':>9}{'rows/s':>11}{'ratio':>8}")
        for label, seconds in (("service Ledger.post_many (keys, balances)", t_service), ("raw SQLAlchemy Core insert()", t_core),
                               ("raw sqlite3 executemany", t_raw)):
            print(f"   {label:<44}{seconds:>9.2f}{entries / seconds:>11,.0f}{seconds / t_core:>7.2f}x")
        verdict = "within" if t_service <= 3 * t_core else "OVER"
        print(f"   service / Core insert = {t_service / t_core:.2f}x ({verdict} the 3x target); "
              f"service / sqlite3 = {t_service / t_raw:.2f}x")
        with clubs["service"].unit_of_work() as uow:
            problems = uow.service("membership").ledger.check()
        print(f"   check after posting: {'every balance equals its ledger' if not problems else f'{len(problems)} differences!'}")

        singles = 500 if options.quick else 2000
        t_single = single_posts(clubs["service"], ids["service"], singles)
        print(f"\n2. single posts, one unit of work each: {singles:,} in {t_single:.2f} s = {singles / t_single:,.0f}/s, "
              f"{t_single / singles * 1000:.2f} ms each")

        crm = clubs["core"]
        crm.engine.dispose()
        grow_ledger(core_db, ids["core"], 10_000)
        first = time_reads(crm, ids["core"], 5000)
        crm.engine.dispose()
        grow_ledger(core_db, ids["core"], big)
        second = time_reads(crm, ids["core"], 5000)
        print(f"\n3. balance read (5,000 reads over {MEMBERS} members)")
        print(f"   {'ledger entries':<16}{'balance median':>16}{'p99':>10}{'SUM from ledger':>18}")
        for label, (median, p99, summed) in ((f"{10_000:,}", first), (f"{big:,}", second)):
            print(f"   {label:<16}{median:>13.1f} µs{p99:>7.1f} µs{summed:>15.1f} µs")
        print(f"   balance read {big:,} vs 10,000 entries: {second[0] / first[0]:.2f}x (constant time); "
              f"SUM from the ledger: {second[2] / first[2]:.1f}x")
        for club in clubs.values():
            club.close()


if __name__ == "__main__":
    main()

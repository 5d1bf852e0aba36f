"""Benchmark: building a segment's audience versus hand-written SQL.

    python benchmarks/campaigns.py            # 1,000,000 customers, 5,000,000 activities
    python benchmarks/campaigns.py --quick    # 100,000 customers, 500,000 activities
    python benchmarks/campaigns.py --db postgresql+psycopg://postgres@127.0.0.1:5432/bench

The data is generated with raw driver inserts into a fresh database. The
segment has four criteria (city, level, a tag, purchases in the last 365 days
summing to 1000 or more); it is compiled by the campaigns plugin into one SQL
query and run through the service (the administrator's scope), then the same
audience is selected by a hand-written query in the same run. Both must
return the same customers; the medians of several runs and their ratio are
printed side by side. The target is a ratio within 3x.
"""

from __future__ import annotations

import argparse
import random
import shutil
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

SEGMENT = {
    "match": "all",
    "criteria": [
        {"field": "city", "op": "eq", "value": "上海"},
        {"field": "level", "op": "in", "value": ["vip", "important"]},
        {"field": "tags", "op": "contains", "value": "vip"},
        {"field": "purchases.sum", "window": "365d", "op": "gte", "value": 1000},
    ],
}

HAND_WRITTEN = """
SELECT c.id FROM customers c
WHERE c.active = {true} AND c.city = :city AND c.level IN ('vip', 'important')
  AND EXISTS (SELECT 1 FROM customer_tags t WHERE t.customer_id = c.id AND t.tag = 'vip')
  AND (SELECT coalesce(sum(a.amount), 0) FROM activities a
       WHERE a.customer_id = c.id AND a.type = 'purchase' AND a.cancelled = {false} AND a.occurred_at >= :since) >= 1000
ORDER BY c.id
"""

CITIES = ["上海", "北京", "广州", "深圳", "杭州", "南京", "成都", "武汉", "苏州", "重庆"]
LEVELS = ["vip", "important", "normal", "normal", "small"]
TAGS = ["vip", "老客户", "高潜力", "价格敏感", "团购", "线上"]
TYPES = ["purchase", "purchase", "call", "visit", "email", "note"]


def progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def generate(crm, customers_count: int, activities_per_customer: int, seed: int = 11) -> None:
    """Raw inserts through the driver, in one transaction per table."""
    rng = random.Random(seed)
    now = datetime.now(timezone.utc)
    sqlite = crm.engine.dialect.name == "sqlite"

    def moment(value: datetime):
        return value.replace(tzinfo=None).isoformat(sep=" ") if sqlite else value

    created = moment(now)
    with crm.engine.begin() as connection:
        chunk = 50_000
        for start in range(1, customers_count + 1, chunk):
            rows, tags = [], []
            for cid in range(start, min(start + chunk, customers_count + 1)):
                chosen = rng.sample(TAGS, rng.randint(0, 2))
                rows.append((cid, f"C{cid:07d}", "person", f"客户{cid}", "[]", "[]", rng.choice(CITIES), rng.choice(LEVELS),
                             "active", "stability", f'[{", ".join(chr(34) + t + chr(34) for t in chosen)}]', "{}", False, True,
                             created, created))
                tags.extend((t, cid) for t in chosen)
            connection.exec_driver_sql(
                "INSERT INTO customers (id, code, kind, name, phones, emails, city, level, status, stage, tags, custom, "
                "do_not_contact, active, created_at, updated_at) VALUES (" + ", ".join([_p(sqlite)] * 16) + ")", rows)
            connection.exec_driver_sql(f"INSERT INTO customer_tags (tag, customer_id) VALUES ({_p(sqlite)}, {_p(sqlite)})", tags)
            progress(f"  customers {min(start + chunk - 1, customers_count):,}")
    total = customers_count * activities_per_customer
    with crm.engine.begin() as connection:
        chunk = 100_000
        for start in range(0, total, chunk):
            rows = []
            for _ in range(min(chunk, total - start)):
                kind = rng.choice(TYPES)
                when = moment(now - timedelta(days=rng.randint(0, 720), seconds=rng.randint(0, 86_400)))
                amount = f"{rng.randint(20, 900)}.00" if kind == "purchase" else None
                rows.append((rng.randint(1, customers_count), kind, when, amount, "core", "{}", False, False, created))
            connection.exec_driver_sql(
                "INSERT INTO activities (customer_id, type, occurred_at, amount, source_plugin, payload, cancelled, done, created_at) "
                "VALUES (" + ", ".join([_p(sqlite)] * 9) + ")", rows)
            if (start // chunk) % 10 == 9 or start + chunk >= total:
                progress(f"  activities {min(start + chunk, total):,}")
    with crm.engine.begin() as connection:
        connection.exec_driver_sql("ANALYZE")


def _p(sqlite: bool) -> str:
    return "?" if sqlite else "%s"


def timed(function, repeat: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="100,000 customers and 500,000 activities")
    parser.add_argument("--customers", type=int, help="customers to generate [1,000,000; 100,000 with --quick]")
    parser.add_argument("--db", help="an empty database URL [a temporary SQLite file]")
    parser.add_argument("--repeat", type=int, default=5, help="runs of each query (the median is shown)")
    args = parser.parse_args()

    from sqlalchemy import text

    from crmcore import CRM
    from crmcore.bootstrap import initialise

    count = args.customers or (100_000 if args.quick else 1_000_000)
    workdir = tempfile.mkdtemp(prefix="crm-bench-campaigns-")
    url = args.db or f"sqlite:///{Path(workdir) / 'bench.db'}"
    crm = CRM.open(url, plugins=["campaigns"])
    initialise(crm)
    progress(f"generating {count:,} customers and {count * 5:,} activities in {crm.engine.url.get_backend_name()} ...")
    start = time.perf_counter()
    generate(crm, count, 5)
    progress(f"  generated in {time.perf_counter() - start:.1f} s")

    def through_plugin() -> list[int]:
        from crmcore.tables import customers

        with crm.unit_of_work(actor="admin") as uow:
            query = uow.service("campaigns").segment_query(SEGMENT).order_by(customers.c.id)
            return list(uow.execute(query).scalars())

    truth = "true" if crm.engine.dialect.name == "postgresql" else "1"
    falsity = "false" if crm.engine.dialect.name == "postgresql" else "0"
    hand = text(HAND_WRITTEN.format(true=truth, false=falsity))

    def by_hand() -> list[int]:
        since = datetime.now(timezone.utc) - timedelta(days=365)
        with crm.engine.connect() as connection:
            value = since.replace(tzinfo=None) if crm.engine.dialect.name == "sqlite" else since
            return list(connection.execute(hand, {"city": "上海", "since": value}).scalars())

    through_plugin(), by_hand()  # warm the caches the same way for both
    plugin_time, plugin_ids = timed(through_plugin, args.repeat)
    hand_time, hand_ids = timed(by_hand, args.repeat)
    if plugin_ids != hand_ids:
        raise SystemExit(f"the audiences differ: plugin {len(plugin_ids)} customers, hand-written {len(hand_ids)}")
    ratio = plugin_time / hand_time
    print(f"database            {crm.engine.url.get_backend_name()}")
    print(f"customers           {count:,}")
    print(f"activities          {count * 5:,}")
    print(f"audience            {len(plugin_ids):,} customers (4 criteria, same ids both ways)")
    print(f"segment (plugin)    {plugin_time * 1000:,.1f} ms  median of {args.repeat}")
    print(f"hand-written SQL    {hand_time * 1000:,.1f} ms  median of {args.repeat}")
    print(f"ratio               {ratio:.2f}x  (target: within 3x) {'OK' if ratio <= 3 else 'MISSED'}")
    crm.close()
    if not args.db:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()

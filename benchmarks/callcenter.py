"""Call-center benchmark: screen-pop latency and ACD replay throughput.

    python benchmarks/callcenter.py            # 1,000,000 customers, 100,000 open tickets, 100,000 calls
    python benchmarks/callcenter.py --quick    # 20,000 customers, 2,000 tickets, 10,000 calls
    python benchmarks/callcenter.py --db postgresql+psycopg://postgres@127.0.0.1:5432/bench

1. Screen pop (``uow.service("callcenter").screen_pop``) for random callers in
   mixed spellings: p50/p99 inside one unit of work, and p50/p99 of a whole
   request (a fresh unit of work per lookup, as a CTI adapter would do).
   Target: p99 under 5 ms.
2. Replaying simulated calls through ACD: calls per second of the routing
   simulator alone, and of ``replay`` end to end (CSV parsing, caller
   identification, routing, saving the call log and timeline entries).

Customers, phones and tickets are loaded with Core ``insert()`` in batches
(benchmark set-up, not a product path). Numbers and ratios print side by side.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


def spell(number: str, rng: random.Random) -> str:
    """The same mobile number written as callers' systems deliver it."""
    style = rng.randrange(5)
    if style == 0:
        return f"+86 {number[:3]}-{number[3:7]}-{number[7:]}"
    if style == 1:
        return f"{number[:3]} {number[3:7]} {number[7:]}"
    if style == 2:
        return "0086" + number
    if style == 3:
        return number.translate({ord(c): ord(c) + 0xFEE0 for c in "0123456789"})
    return number


def load(crm, customers_n: int, tickets_n: int, rng: random.Random) -> list[str]:
    from sqlalchemy import insert

    from crmcore.tables import customer_phones, customers
    from crm_callcenter.tables import tickets

    now = datetime.now(timezone.utc)
    numbers = [f"13{i:09d}" for i in range(customers_n)]
    batch = 20_000
    started = time.perf_counter()
    with crm.unit_of_work() as uow:
        for start in range(0, customers_n, batch):
            ids = range(start + 1, min(start + batch, customers_n) + 1)
            uow.execute(insert(customers), [{
                "id": i, "code": f"C{i:07d}", "kind": "person", "name": f"客户{i}", "phones": [numbers[i - 1]], "emails": [],
                "level": "vip" if i % 50 == 0 else "normal", "status": "active", "stage": "stability", "tags": [], "custom": {},
                "do_not_contact": False, "active": True, "created_at": now, "updated_at": now} for i in ids])
            uow.execute(insert(customer_phones), [{"number": numbers[i - 1], "customer_id": i, "contact_id": None} for i in ids])
        rows = []
        for n in range(tickets_n):
            customer_id = rng.randint(1, customers_n)
            rows.append({"customer_id": customer_id, "type": rng.choice(["complaint", "inquiry", "repair"]), "channel": "phone",
                         "priority": "normal", "subject": f"工单{n}", "status": "new", "is_open": True, "created_at": now,
                         "updated_at": now, "reopen_count": 0, "paused_seconds": 0, "first_response_escalation": -1,
                         "resolve_escalation": -1})
            if len(rows) == batch:
                uow.execute(insert(tickets), rows)
                rows = []
        if rows:
            uow.execute(insert(tickets), rows)
    print(f"loaded {customers_n:,} customers and {tickets_n:,} open tickets in {time.perf_counter() - started:.1f} s")
    return numbers


def bench_screen_pop(crm, numbers: list[str], lookups: int, rng: random.Random) -> dict[str, float]:
    callers = [spell(rng.choice(numbers), rng) for _ in range(lookups)]
    with crm.unit_of_work() as uow:  # warm up statement caches
        for caller in callers[:50]:
            uow.service("callcenter").screen_pop(caller)
    inside: list[float] = []
    cpu: list[float] = []
    with crm.unit_of_work() as uow:
        svc = uow.service("callcenter")
        for caller in callers:
            t0, c0 = time.perf_counter(), time.thread_time()
            pop = svc.screen_pop(caller)
            inside.append(time.perf_counter() - t0)
            cpu.append(time.thread_time() - c0)
            assert pop["found"], caller
    request: list[float] = []
    for caller in callers:
        t0 = time.perf_counter()
        with crm.unit_of_work() as uow:
            pop = uow.service("callcenter").screen_pop(caller)
        request.append(time.perf_counter() - t0)
    return {"p50_ms": statistics.median(inside) * 1000, "p99_ms": percentile(inside, 0.99) * 1000,
            "cpu_p99_ms": percentile(cpu, 0.99) * 1000,
            "request_p50_ms": statistics.median(request) * 1000, "request_p99_ms": percentile(request, 0.99) * 1000}


def make_calls_csv(numbers: list[str], calls_n: int, rng: random.Random) -> str:
    """A busy day: calls spread over 10 hours, 60% through the IVR."""
    day = datetime(2026, 11, 3, 8, 0)
    span = 10 * 3600
    lines = ["offered_at,caller,ivr_keys,queue,talk_seconds,abandon_after_seconds"]
    for n in sorted(rng.uniform(0, span) for _ in range(calls_n)):
        keys, queue = (rng.choice(["1", "2", "2", "3", ""]), "") if rng.random() < 0.6 else ("", rng.choice(["投诉", "咨询", "售后"]))
        abandon = str(rng.randint(20, 240)) if rng.random() < 0.3 else ""
        caller = spell(rng.choice(numbers), rng) if rng.random() < 0.8 else f"139{rng.randint(0, 99_999_999):08d}"
        lines.append(f"{(day + timedelta(seconds=n)).isoformat(timespec='seconds')},{caller},{keys},{queue},{rng.randint(60, 420)},{abandon}")
    return "\n".join(lines) + "\n"


def setup_desk(crm, agents_n: int) -> None:
    from crm_callcenter.ivr import SAMPLE

    with crm.unit_of_work() as uow:
        svc = uow.service("callcenter")
        svc.add_queue("投诉", skills="投诉", priority=1)
        svc.add_queue("咨询", skills="咨询")
        svc.add_queue("售后", skills="售后")
        svc.load_ivr(SAMPLE, name="main", filename="menu.toml")
        skills = ["投诉,咨询", "咨询", "咨询,售后", "售后,投诉", "投诉,咨询,售后"]
        for n in range(agents_n):
            uow.users.add(f"agent{n:03d}")
            svc.add_agent(f"agent{n:03d}", skills=skills[n % len(skills)])


def bench_replay(crm, text: str, calls_n: int) -> dict[str, float]:
    from crm_callcenter.acd import SimCall, Simulator

    with crm.unit_of_work() as uow:
        svc = uow.service("callcenter")
        agents, queues = svc._sim_agents(), None
        from sqlalchemy import select

        from crm_callcenter.acd import SimQueue
        from crm_callcenter.tables import queues as queue_table

        queues = [SimQueue(q.id, q.name, dict(q.skills), q.priority, q.service_level_seconds, q.wrap_up_seconds)
                  for q in uow.execute(select(queue_table))]
    rng = random.Random(3)
    ids = [q.id for q in queues]
    calls = [SimCall(i, i * 0.36, rng.choice(ids), rng.randint(60, 420), rng.randint(20, 240) if rng.random() < 0.3 else None,
                     rng.random() < 0.02) for i in range(calls_n)]
    t0 = time.perf_counter()
    Simulator(agents, queues).run(calls)
    routing = time.perf_counter() - t0
    t0 = time.perf_counter()
    with crm.unit_of_work() as uow:
        result = uow.service("callcenter").replay(text, name="bench.csv", save=True)
    end_to_end = time.perf_counter() - t0
    summary = result["summary"]
    return {"routing_cps": calls_n / routing, "replay_cps": calls_n / end_to_end, "replay_seconds": end_to_end,
            "answered": summary["answered"], "abandoned": summary["abandoned"], "service_level_pct": summary["service_level_pct"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a small run (20k customers, 2k tickets, 10k calls)")
    parser.add_argument("--db", help="database URL (default: a temporary SQLite file)")
    parser.add_argument("--lookups", type=int, default=2000)
    args = parser.parse_args()
    customers_n, tickets_n, calls_n, agents_n = (20_000, 2_000, 10_000, 80) if args.quick else (1_000_000, 100_000, 100_000, 800)

    from crmcore.bootstrap import initialise
    from crmcore.testing import open_test_crm

    directory = Path(tempfile.mkdtemp(prefix="crm-bench-"))
    url = args.db or f"sqlite:///{directory / 'bench.db'}"
    crm = open_test_crm(url, ["callcenter"], directory / "outbox")
    initialise(crm)
    rng = random.Random(7)
    try:
        numbers = load(crm, customers_n, tickets_n, rng)
        pop = bench_screen_pop(crm, numbers, args.lookups, rng)
        setup_desk(crm, agents_n)
        replay = bench_replay(crm, make_calls_csv(numbers, calls_n, rng), calls_n)
    finally:
        crm.close()
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores (wall-clock p99 includes preemption by other work)")
    print(f"database: {crm.engine.url.get_backend_name()}  customers {customers_n:,}  open tickets {tickets_n:,}  "
          f"calls {calls_n:,}  agents {agents_n}")
    print(f"{'measure':46} {'value':>12}  {'vs target / ratio':>20}")
    print(f"{'screen pop p50 (in one unit of work)':46} {pop['p50_ms']:10.2f} ms")
    print(f"{'screen pop p99 (in one unit of work)':46} {pop['p99_ms']:10.2f} ms  {pop['p99_ms'] / 5:17.2f}x of 5 ms")
    print(f"{'screen pop p99 CPU time (without preemption)':46} {pop['cpu_p99_ms']:10.2f} ms  {pop['cpu_p99_ms'] / 5:17.2f}x of 5 ms")
    print(f"{'screen pop p50 (fresh unit of work each)':46} {pop['request_p50_ms']:10.2f} ms")
    print(f"{'screen pop p99 (fresh unit of work each)':46} {pop['request_p99_ms']:10.2f} ms  {pop['request_p99_ms'] / 5:17.2f}x of 5 ms")
    print(f"{'ACD routing simulator':46} {replay['routing_cps']:10,.0f} calls/s")
    print(f"{'replay end to end (parse, identify, route, save)':46} {replay['replay_cps']:10,.0f} calls/s  "
          f"{replay['routing_cps'] / replay['replay_cps']:15.1f}x slower than routing")
    print(f"{'replayed day':46} answered {replay['answered']:,}, abandoned {replay['abandoned']:,}, "
          f"service level {replay['service_level_pct']}%")
    sys.stdout.flush()


if __name__ == "__main__":
    main()

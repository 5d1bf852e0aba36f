"""API benchmark (issue 10): ``GET /api/v1/customers/{id}`` and a name
search through ``crm serve``, on a database of N customers, measured with a
load generator (wrk when installed, else an asyncio httpx client), side by
side with Litestar's bare constant endpoint (``GET /api/ping``) served by
the same server in the same run. Prints throughput, p50 and p99 latency and
the ratio to the bare endpoint.

    python benchmarks/api.py                 # N = 1,000,000 on SQLite (building it takes a while)
    python benchmarks/api.py --quick         # N = 20,000, 5-second runs
    python benchmarks/api.py --db postgresql+psycopg://postgres@127.0.0.1:5432/crm_bench --workers 2

Every request authenticates a Bearer token and runs in its own unit of work
as that user (scoping, masking); ``GET /customers/{id}`` also writes the
audit entry every read of a full archive gets. On SQLite one process serves
requests one transaction at a time (see crmcore/api/auth.py), so use one
worker there; on PostgreSQL workers scale with cores.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import quote

HERE = Path(__file__).resolve().parent
NAMES = ["张伟", "王芳", "李娜", "刘洋", "陈静", "zhangwei", "wangfang", "zw"]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def build(url: str, n: int, work: Path) -> str:
    """A CRM with n customers (imported through the importer) and a read token."""
    sys.path.insert(0, str(HERE))
    from core import generate  # the core benchmark's customer generator

    import crmcore
    from crmcore.bootstrap import initialise
    from crmcore.importing import CustomerImport
    from crmcore.tokens import TokenService

    crm = crmcore.CRM.open(url, plugins=[])
    initialise(crm)
    with crm.unit_of_work() as uow:
        have = len(uow.customers.list(limit=1, offset=n - 1)) if n else 0
    if not have:
        source = work / "customers.csv"
        print(f"generating and importing {n:,} customers …", file=sys.stderr)
        generate(source, n)
        started = time.perf_counter()
        with crm.unit_of_work() as uow:
            CustomerImport(uow).run(source)
        print(f"imported in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    with crm.unit_of_work() as uow:
        token = TokenService(uow).create("admin", ["customers:read"], expires_in=None, name="benchmark")[1]
    crm.close()
    return token


def sample_ids(url: str, rng: random.Random, count: int = 2000) -> list[int]:
    """Ids of stored customers (the generated file's duplicates were skipped)."""
    import crmcore

    crm = crmcore.CRM.open(url, plugins=[])
    with crm.unit_of_work() as uow:
        highest = uow.customers.list(sort="-id", limit=1)[0].id
        found = [c.id for c in uow.customers.get_many(rng.randint(1, highest) for _ in range(count * 2))]
    crm.close()
    return found[:count]


def start_server(url: str, port: int, workers: int) -> subprocess.Popen:
    import httpx

    environment = {**os.environ, "CRM_LOAD_PLUGINS": "none"}
    process = subprocess.Popen(
        [sys.executable, "-c", "from crmcore.cli import main; main()", "--db", url, "serve", "--port", str(port),
         "--workers", str(workers), "--no-access-log", "--log-level", "warning"],
        env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/api/ping", timeout=1).status_code == 200:
                return process
        except httpx.TransportError:
            time.sleep(0.2)
        if process.poll() is not None:
            raise RuntimeError(process.stderr.read())
    raise RuntimeError("crm serve did not start")


LUA = """
local paths = {%s}
local token = "%s"
request = function()
  return wrk.format("GET", paths[math.random(#paths)], {["Authorization"] = "Bearer " .. token})
end
"""


def run_wrk(base: str, paths: list[str], token: str, seconds: int, connections: int) -> dict:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(LUA % (", ".join(json.dumps(p) for p in paths), token))
    try:
        out = subprocess.run(["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", script.name, base],
                             capture_output=True, text=True, check=True).stdout
    finally:
        os.unlink(script.name)

    def latency(label: str) -> float:
        match = re.search(rf"^\s+{label}%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
        value, unit = float(match.group(1)), match.group(2)
        return value * {"us": 0.001, "ms": 1, "s": 1000}[unit]

    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)), "p50_ms": latency("50"),
            "p99_ms": latency("99"), "non_2xx": int(errors.group(1)) if errors else 0, "tool": "wrk"}


def run_python(base: str, paths: list[str], token: str, seconds: int, connections: int) -> dict:
    import httpx

    async def main() -> dict:
        timings: list[float] = []
        failures = 0
        stop = time.perf_counter() + seconds
        async with httpx.AsyncClient(base_url=base, headers={"Authorization": f"Bearer {token}"},
                                     limits=httpx.Limits(max_connections=connections)) as client:
            async def worker() -> None:
                nonlocal failures
                rng = random.Random()
                while time.perf_counter() < stop:
                    started = time.perf_counter()
                    response = await client.get(rng.choice(paths))
                    timings.append(time.perf_counter() - started)
                    failures += response.status_code >= 300
            began = time.perf_counter()
            await asyncio.gather(*(worker() for _ in range(connections)))
            elapsed = time.perf_counter() - began
        ordered = sorted(timings)
        return {"rps": len(timings) / elapsed, "p50_ms": ordered[len(ordered) // 2] * 1000,
                "p99_ms": ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000, "non_2xx": failures,
                "tool": "python httpx"}

    return asyncio.run(main())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="20,000 customers, 5-second runs")
    parser.add_argument("-n", type=int, help="customers (default 1,000,000)")
    parser.add_argument("--db", help="database URL (default: a SQLite file in a temporary folder)")
    parser.add_argument("--keep", type=Path, help="build the SQLite database here and reuse it on later runs")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--seconds", type=int)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--tool", choices=["wrk", "python"], help="default: wrk when installed")
    args = parser.parse_args()
    n = args.n or (20_000 if args.quick else 1_000_000)
    seconds = args.seconds or (5 if args.quick else 15)
    tool = args.tool or ("wrk" if shutil.which("wrk") else "python")
    load = run_wrk if tool == "wrk" else run_python

    work = Path(tempfile.mkdtemp(prefix="crm-api-bench-"))
    try:
        url = args.db or f"sqlite:///{(args.keep or work / 'api.db')}"
        token = build(url, n, work)
        port = free_port()
        server = start_server(url, port, args.workers)
        base = f"http://127.0.0.1:{port}"
        rng = random.Random(3)
        try:
            runs = {
                "bare GET /api/ping": ["/api/ping"],
                "GET /api/v1/customers/{id}": [f"/api/v1/customers/{i}" for i in sample_ids(url, rng)],
                "GET /api/v1/customers?q=<name>": [f"/api/v1/customers?q={quote(name)}&limit=20" for name in NAMES],
            }
            load(base, runs["bare GET /api/ping"], token, 2, args.connections)  # warm up
            results = {label: load(base, paths, token, seconds, args.connections) for label, paths in runs.items()}
        finally:
            server.terminate()
            server.wait(timeout=30)
        bare = results["bare GET /api/ping"]
        print(f"\ncrm serve --workers {args.workers} on {url.split(':')[0]}, {n:,} customers, {tool}, "
              f"{args.connections} connections, {seconds} s per run, {os.cpu_count()} cores\n")
        print(f"{'endpoint':34} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'non-2xx':>8} {'bare/ours req/s':>16}")
        for label, r in results.items():
            print(f"{label:34} {r['rps']:9.0f} {r['p50_ms']:8.2f} {r['p99_ms']:8.2f} {r['non_2xx']:8d} {bare['rps'] / r['rps']:16.1f}x")
        print(json.dumps({"customers": n, "workers": args.workers, "tool": tool, "results": results}, ensure_ascii=False))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()

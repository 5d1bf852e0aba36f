"""A web import's state lives in the database: another server process on the
same database (as with ``crm serve --workers N``) shows its progress while it
runs and its outcome; a failed import ends ``failed`` with nothing kept; an
import whose worker stopped shows as stalled instead of spinning forever."""

from __future__ import annotations

import re
import threading
import time
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import func, select, update

from crmcore import hookimpl
from crmcore.api import jobs
from crmcore.api.jobs import ImportJobs
from crmcore.clock import utcnow
from crmcore.storage.api_tables import api_imports
from crmcore.storage.tables import customers
from crmcore.testing import WebServer, open_test_crm
from crmcore.tokens import TokenService

CLERK = ("customers.view_all", "customers.edit", "customers.import")
ROWS = 6000  # two batches of the importer (5,000 rows each): progress is reported after the first


def customers_file(count: int = ROWS) -> bytes:
    return ("客户名称,手机\n" + "".join(f"进度客户{i},139{i:08d}\n" for i in range(count))).encode("utf-8")


class SecondBatch:
    """A plugin that holds (or fails) the import at its second batch."""

    def __init__(self, fail: bool = False):
        self.fail, self.batches = fail, 0
        self.reached, self.release = threading.Event(), threading.Event()

    @hookimpl
    def crm_customers_imported(self, customer_ids):
        self.batches += 1
        if self.batches == 2:
            self.reached.set()
            if self.fail:
                raise RuntimeError("the loyalty service refused the batch")
            assert self.release.wait(60), "the test never released the import"


@pytest.fixture
def second_server(crm, crm_plugins):
    """Another server process's view: its own CRM object, app and lock on the test's database."""
    other = open_test_crm(crm.engine.url.render_as_string(hide_password=False), crm_plugins)
    server = WebServer(other)
    yield server
    server.stop()
    other.close()


def start_import(client, content: bytes) -> str:
    token = re.search(r'name="_csrf" value="([^"]+)"', client.get("/imports").text).group(1)
    started = client.post("/imports", data={"kind": "customers", "on_duplicate": "skip", "_csrf": token},
                          files={"file": ("进度.csv", content)})
    assert started.status_code == 303
    return started.headers["location"]


def poll_until(client, url: str, pattern: str, seconds: float = 60) -> str:
    deadline = time.monotonic() + seconds
    while True:
        text = client.get(url).text
        if re.search(pattern, text) or time.monotonic() > deadline:
            return text
        time.sleep(0.1)


def job_seen_by(crm, import_id: int) -> dict:
    with crm.unit_of_work(snapshot=True) as uow:
        uow.act_as("clerk")
        return ImportJobs(uow).get(import_id)


def test_another_server_process_shows_a_running_imports_progress_and_its_outcome(
        crm, web, second_server, register_plugin, monkeypatch):
    monkeypatch.setattr(jobs, "HEARTBEAT", timedelta(seconds=0.1))
    hold = register_plugin(SecondBatch(), "hold")
    web.user("clerk", permissions=CLERK)
    with web.client("clerk") as here, second_server.client("clerk") as there:
        run = start_import(here, customers_file())
        assert hold.reached.wait(60)
        # the first worker holds the import's transaction open; the second reads what it wrote beside it
        page = poll_until(there, run, r'value="5000"')
        assert re.search(r'<progress max="6000" value="5000"', page)
        assert "data-poll" in page and "data-done" not in page
        import_id = int(run.rsplit("/", 1)[1])
        first = job_seen_by(second_server.crm, import_id)["updated_at"]
        time.sleep(0.5)
        job = job_seen_by(second_server.crm, import_id)
        assert (job["status"], job["done"]) == ("running", 5000)
        assert job["updated_at"] > first and not job["stalled"]  # the worker's heartbeat between batches
        hold.release.set()
        page = poll_until(there, run, "data-done")
    assert re.search(r"(新增|Added)</dt><dd>6,000", page)
    with crm.unit_of_work() as uow:
        assert uow.execute(select(func.count()).select_from(customers)).scalar_one() == ROWS
        row = uow.execute(select(api_imports).where(api_imports.c.id == import_id)).mappings().one()
    assert (row["status"], row["rows"], row["done"], row["error"]) == ("done", ROWS, ROWS, None)


def test_a_failed_import_ends_failed_with_its_reason_and_none_of_its_rows_kept(crm, web, register_plugin):
    register_plugin(SecondBatch(fail=True), "refuse")
    web.user("clerk", permissions=CLERK)
    with web.client("clerk") as client:
        run = start_import(client, customers_file())
        page = poll_until(client, run, "data-done")
    assert re.search("失败|Failed", page) and "the loyalty service refused the batch" in page
    assert "data-poll" not in page
    with crm.unit_of_work() as uow:
        # the first batch of 5,000 was written and then rolled back with the rest
        assert uow.execute(select(func.count()).select_from(customers)).scalar_one() == 0
        row = uow.execute(select(api_imports).where(api_imports.c.id == int(run.rsplit("/", 1)[1]))).mappings().one()
    assert row["status"] == "failed" and "the loyalty service refused the batch" in row["error"]
    assert row["finished_at"] is not None
    with crm.unit_of_work() as uow:
        secret = TokenService(uow).create("clerk", ("imports:read",))[1]
    job = httpx.get(f"{web.url}/api/v1/imports/{row['id']}", headers={"Authorization": f"Bearer {secret}"}).json()
    assert (job["status"], job["error"], job["stalled"]) == ("failed", row["error"], False)


def test_a_running_import_whose_worker_stopped_shows_as_stalled_not_forever_running(crm, web, second_server):
    web.user("clerk", permissions=CLERK)
    with crm.unit_of_work("clerk") as uow:
        import_id = ImportJobs(uow).start("customers", "lost.csv")
    with crm.unit_of_work() as uow:  # the worker wrote its last sign of life, then died
        silent_since = utcnow() - jobs.STALE_AFTER - timedelta(seconds=5)
        uow.execute(update(api_imports).where(api_imports.c.id == import_id)
                    .values(created_at=silent_since, updated_at=silent_since))
    with second_server.client("clerk") as client:
        page = client.get(f"/imports/runs/{import_id}").text
        assert re.search("已中断|Stalled", page) and "data-done" in page and "data-poll" not in page
        listed = client.get("/imports").text
    # listed as running, linked to the page that answers while an import holds the write lock
    assert re.search(f'href="/imports/runs/{import_id}".*?lost.csv.*?(进行中|running)', listed, re.S)


def test_a_fresh_running_import_is_shown_as_running(crm, web):
    web.user("clerk", permissions=CLERK)
    with crm.unit_of_work("clerk") as uow:
        import_id = ImportJobs(uow).start("customers", "now.csv")
    with web.client("clerk") as client:
        page = client.get(f"/imports/runs/{import_id}").text
    assert f'data-poll="/imports/runs/{import_id}"' in page and "data-done" not in page

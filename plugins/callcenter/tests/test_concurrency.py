"""Two schedulers escalating at the same moment (PostgreSQL only: SQLite
serialises writers, so only a real server shows a race)."""

import os
import threading

import pytest
from sqlalchemy import func, select

from crmcore.tables import outbox
from crm_callcenter.tables import escalations

pytestmark = pytest.mark.skipif(not os.environ.get("CRM_TEST_DATABASE_URL"), reason="needs PostgreSQL (CRM_TEST_DATABASE_URL)")


def test_concurrent_escalation_runs_escalate_each_ticket_once(desk, make, crm):
    customers = [make.customer() for _ in range(5)]
    for customer in customers:
        desk("service", "ticket", "add", str(customer.id), "--type", "complaint", "--priority", "high", "--subject", "漏水",
             "--assignee", "alice", "--at", "2026-09-29T09:00")
    barrier = threading.Barrier(2)
    results, errors = [], []

    def run():
        try:
            barrier.wait()
            with crm.unit_of_work() as uow:
                results.append(uow.service("callcenter").escalate(at="2026-09-29T09:30"))
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    assert sum(len(r) for r in results) == 5  # each ticket escalated by exactly one of the two runs
    with crm.unit_of_work() as uow:
        assert uow.execute(select(func.count()).select_from(escalations)).scalar() == 5
        assert uow.execute(select(func.count()).where(outbox.c.dedupe_key.like("callcenter:escalation:%"))).scalar() == 5

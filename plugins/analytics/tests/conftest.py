from __future__ import annotations

from datetime import datetime, time, timezone
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import insert, select

from crmcore.tables import activities, customers

FIXTURES = Path(__file__).parent / "fixtures"
CDNOW = FIXTURES / "CDNOW_sample.txt"


@pytest.fixture
def crm_plugins():
    return ["analytics"]


def read_cdnow_rows() -> list[tuple[int, str, Decimal]]:
    rows = []
    for line in CDNOW.read_text().splitlines():
        if line.strip():
            master, _sample, day, _cds, dollars = line.split()
            rows.append((int(master), day, Decimal(dollars)))
    return rows


def bulk_load(crm, purchases: list[tuple[int, datetime, Decimal]], *, code_prefix: str = "CD") -> dict[int, int]:
    """Customers and purchase activities in bulk through ``insert()`` on the
    core tables (no hooks, as a bulk import would): external id → customer id."""
    now = datetime.now(timezone.utc)
    externals = sorted({p[0] for p in purchases})
    with crm.unit_of_work() as uow:
        uow.execute(insert(customers), [
            {"code": f"{code_prefix}{e:05d}", "kind": "person", "name": f"CDNOW 客户 {e}", "phones": [], "emails": [],
             "level": "normal", "status": "active", "stage": "exploration", "tags": [], "custom": {},
             "do_not_contact": False, "active": True, "created_at": now, "updated_at": now}
            for e in externals
        ])
        ids = dict(uow.execute(select(customers.c.code, customers.c.id).where(customers.c.code.like(f"{code_prefix}%"))).all())
        mapping = {e: ids[f"{code_prefix}{e:05d}"] for e in externals}
        uow.execute(insert(activities), [
            {"customer_id": mapping[e], "type": "purchase", "subject": "CD order", "occurred_at": when, "amount": amount,
             "done": True, "source_plugin": "core", "payload": {}, "cancelled": False, "created_at": now}
            for e, when, amount in purchases
        ])
    return mapping


@pytest.fixture
def cdnow(crm) -> dict[int, int]:
    """The CDNOW sample as customers and purchases; each purchase at local
    midnight of its day in the CRM's zone (the UTC date is the day before)."""
    zone = ZoneInfo(crm.config.timezone)
    purchases = [
        (e, datetime.combine(datetime.strptime(day, "%Y%m%d").date(), time(0), tzinfo=zone).astimezone(timezone.utc), amount)
        for e, day, amount in read_cdnow_rows()
    ]
    return bulk_load(crm, purchases)


@pytest.fixture
def load_purchases(crm):
    """``load_purchases([(external id, local "YYYY-MM-DDTHH:MM", amount), ...])``."""

    def load(rows, code_prefix: str = "T"):
        zone = ZoneInfo(crm.config.timezone)
        return bulk_load(crm, [(e, datetime.fromisoformat(when).replace(tzinfo=zone).astimezone(timezone.utc), Decimal(str(a)))
                               for e, when, a in rows], code_prefix=code_prefix)

    return load

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest


@pytest.fixture
def crm_plugins():
    return ["membership"]


class Club:
    """A configured club for tests: tiers 银卡 (base) and 金卡 (×1.5 from
    5000 upgrade points), and a plan covering today."""

    def __init__(self, crm: Any, make: Any):
        self.crm = crm
        self.make = make

    def setup(self, *, validity_months: int | None = None, carry_min: int = 0) -> "Club":
        today = date.today()
        with self.crm.unit_of_work() as uow:
            service = uow.service("membership")
            service.tiers.add("银卡", level=10, multiplier="1.0")
            service.tiers.add("金卡", level=20, multiplier="1.5", upgrade_points=5000)
            service.plans.add("当期", starts_on=today - timedelta(days=400), ends_on=today + timedelta(days=400), yuan_per_point="1",
                              validity_months=validity_months, carry_min_points=carry_min)
        return self

    def member(self, *, tier: str | None = None, **customer: Any) -> dict[str, Any]:
        made = self.make.customer(**customer)
        with self.crm.unit_of_work() as uow:
            return uow.service("membership").members.join(made.id, tier=tier)

    def consent(self, member: dict[str, Any], *channels: str, purpose: str = "marketing") -> dict[str, Any]:
        """Record the member's consent to ``purpose`` over ``channels`` (care messages check it)."""
        with self.crm.unit_of_work() as uow:
            for channel in channels or ("sms", "email"):
                uow.consents.grant(member["customer_id"], purpose, channel, method="form")
        return member

    def view(self, card: str) -> dict[str, Any]:
        with self.crm.unit_of_work() as uow:
            service = uow.service("membership")
            return service.members.view(service.members.by_card(card)["id"])

    def service(self, fn, actor: str | None = None):
        with self.crm.unit_of_work(actor=actor) as uow:
            return fn(uow.service("membership"))

    def check(self) -> list[dict[str, Any]]:
        return self.service(lambda s: s.ledger.check())


@pytest.fixture
def club(crm, make) -> Club:
    return Club(crm, make).setup()


@pytest.fixture
def make_club(crm, make):
    """A club with a chosen plan: ``make_club(validity_months=12)``."""
    return lambda **options: Club(crm, make).setup(**options)

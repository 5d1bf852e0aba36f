from datetime import timedelta

import pytest


@pytest.fixture
def crm_plugins():
    return ["sales"]


@pytest.fixture
def org(make):
    """An organisation customer."""

    def build(name="上海明源地产有限公司", **fields):
        fields.setdefault("kind", "organization")
        return make.customer(name=name, **fields)

    return build


@pytest.fixture
def opp(crm):
    """Open an opportunity through the service; ``moves`` = [(stage, days_ago)]."""

    def build(customer_id, *, actor=None, moves=(), opened_days_ago=None, **fields):
        fields.setdefault("name", "测试商机")
        fields.setdefault("amount", "100000")
        with crm.unit_of_work(actor=actor) as uow:
            sales = uow.service("sales")
            if opened_days_ago is not None:
                fields["opened_at"] = uow.now - timedelta(days=opened_days_ago)
            made = sales.opportunities.add(customer_id, **fields)
            for stage, days_ago in moves:
                reason = "价格" if stage == "lost" else None
                made = sales.opportunities.move(made.id, stage, reason=reason, at=uow.now - timedelta(days=days_ago))
        return made

    return build

"""`crm privacy retain`: the core's rules and plugins', dry run first, idempotent, logged."""

from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

import crmcore
from crmcore.errors import PermissionDenied
from crmcore.privacy import ERASED, apply_retention
from crmcore.storage.tables import audit_log, customers, outbox


@pytest.fixture
def aged(crm, make):
    """An old cancelled customer, a recent one, one under legal hold; old and new outbox messages; old views."""
    old, recent, held = make.customer(name="陈旧"), make.customer(name="新近"), make.customer(name="留存")
    with crm.unit_of_work() as uow:
        for customer in (old, recent, held):
            uow.customers.cancel(customer.id)
        long_ago = uow.now - timedelta(days=365 * 4)
        uow.execute(update(customers).where(customers.c.id.in_([old.id, held.id])).values(cancelled_at=long_ago))
        uow.execute(update(customers).where(customers.c.id == held.id).values(legal_hold=True))
        sent = uow.outbox.put("email", "a@example.com", "账单", "您的账单…", customer_id=recent.id)
        fresh = uow.outbox.put("email", "b@example.com", "账单", "本月账单…", customer_id=recent.id)
        uow.execute(update(outbox).where(outbox.c.id.in_([sent.id, fresh.id])).values(status="sent", sent_at=uow.now))
        uow.execute(update(outbox).where(outbox.c.id == sent.id).values(sent_at=uow.now - timedelta(days=200)))
        uow.audit.record("customer", recent.id, "view", {})
        uow.execute(update(audit_log).where(audit_log.c.action == "view").values(at=uow.now - timedelta(days=365 * 3)))
        uow.audit.record("customer", recent.id, "view", {})
    return {"old": old, "recent": recent, "held": held, "sent": sent, "fresh": fresh}


def counts(results):
    return {r["rule"]: r["count"] for r in results}


def test_dry_run_counts_and_changes_nothing(crm, aged):
    with crm.unit_of_work() as uow:
        before = uow.execute(select(func.count()).select_from(audit_log)).scalar_one()
    assert counts(apply_retention(crm, dry_run=True)) == {"core.cancelled_customers": 1, "core.outbox_bodies": 1, "core.audit_views": 1}
    with crm.unit_of_work() as uow:
        assert uow.customers.find(aged["old"].id).name == "陈旧"
        assert uow.execute(select(func.count()).select_from(audit_log)).scalar_one() == before


def test_rules_apply_once_and_are_logged(crm, aged):
    assert counts(apply_retention(crm, actor="admin")) == {"core.cancelled_customers": 1, "core.outbox_bodies": 1, "core.audit_views": 1}
    with crm.unit_of_work() as uow:
        names = dict(uow.execute(select(customers.c.id, customers.c.name)).all())
        bodies = dict(uow.execute(select(outbox.c.id, outbox.c.body)).all())
        views = uow.execute(select(func.count()).select_from(audit_log).where(audit_log.c.action == "view")).scalar_one()
        logged = uow.audit.list(entity="retention")
    assert names == {aged["old"].id: ERASED, aged["recent"].id: "新近", aged["held"].id: "留存"}
    assert bodies == {aged["sent"].id: None, aged["fresh"].id: "本月账单…"}
    assert views == 1
    assert {(e.entity_id, e.action, e.actor) for e in logged} >= {("core.cancelled_customers", "retain", "admin"), (None, "retention run", "admin")}
    assert counts(apply_retention(crm)) == {"core.cancelled_customers": 0, "core.outbox_bodies": 0, "core.audit_views": 0}


def test_periods_are_configurable_and_zero_turns_a_rule_off(crm, aged, monkeypatch):
    crm.config.extra["privacy"] = {"retention": {"cancelled_customers_years": 0, "outbox_bodies_days": 365}}
    monkeypatch.setenv("CRM_RETAIN_AUDIT_VIEWS_YEARS", "5")
    assert counts(apply_retention(crm, dry_run=True)) == {"core.outbox_bodies": 0, "core.audit_views": 0}


class CallRecordings:
    def __init__(self):
        self.calls = []

    @crmcore.hookimpl
    def crm_register_retention_rules(self, register):
        register("recordings.metadata", "Call recordings' metadata after 6 months", self.apply)

    def apply(self, uow, now, dry_run):
        self.calls.append(dry_run)
        return 4


class Failing:
    @crmcore.hookimpl
    def crm_register_retention_rules(self, register):
        register("failing.rule", "Always fails", lambda uow, now, dry_run: 1 / 0)


def test_plugin_rules_run_and_a_failing_one_stops_only_itself(crm, cli, register_plugin):
    recordings = register_plugin(CallRecordings(), name="recordings")
    register_plugin(Failing(), name="failing")
    result = cli("privacy", "retain", "--dry-run", json=True)
    assert result.exit_code == 1 and "failed" in result.stderr
    rows = {r["rule"]: r for r in result.json}
    assert rows["recordings.metadata"]["count"] == 4 and rows["recordings.metadata"]["plugin"] == "recordings"
    assert rows["failing.rule"]["error"] == "ZeroDivisionError: division by zero"
    assert recordings.calls == [True]


def test_retention_needs_the_permission(crm, as_user):
    with pytest.raises(PermissionDenied, match="privacy.retain"):
        apply_retention(crm, actor=as_user("clerk"))

"""One transaction per operation, hooks included; hooks fire exactly once."""

import types

import pytest
from sqlalchemy import func, select

from crmcore import HookFailed, ValidationError, hookimpl
from crmcore.storage.tables import audit_log, customers, outbox


def count(crm, table):
    with crm.engine.connect() as connection:
        return connection.execute(select(func.count()).select_from(table)).scalar_one()


def test_a_raising_lifecycle_hook_rolls_back_the_customer_and_its_audit(crm, register_plugin):
    class Exploding:
        @hookimpl
        def crm_customer_created(self, uow, customer):
            uow.outbox.put("email", "boss@example.com", "new customer")
            raise RuntimeError("boom")

    register_plugin(Exploding(), "exploding")
    before = count(crm, audit_log)
    with pytest.raises(HookFailed, match="failed in crm_customer_created: RuntimeError: boom"), crm.unit_of_work() as uow:
        uow.customers.create(name="张伟")
    assert count(crm, customers) == 0
    assert count(crm, outbox) == 0
    assert count(crm, audit_log) == before


def test_a_validation_hook_vetoes_with_its_messages(crm, register_plugin):
    class NeedsIndustry:
        @hookimpl
        def crm_validate_customer(self, customer, changes):
            if customer.kind == "organization" and not customer.industry:
                return ["industry: required for organisations"]

    register_plugin(NeedsIndustry(), "needs_industry")
    with pytest.raises(ValidationError, match="industry: required for organisations"), crm.unit_of_work() as uow:
        uow.customers.create(name="明源地产", kind="organization")
    assert count(crm, customers) == 0


def test_validation_hooks_see_the_changes_of_an_update(crm, make, register_plugin):
    seen = []

    class Watcher:
        @hookimpl
        def crm_validate_customer(self, customer, changes):
            seen.append(changes)

    customer = make.customer(city="北京")
    register_plugin(Watcher(), "watcher")
    with crm.unit_of_work() as uow:
        uow.customers.update(customer.id, city="上海")
    assert seen == [{"city": ("北京", "上海")}]


def test_a_hook_that_changes_its_own_customer_fires_once_and_does_not_loop(crm, make, register_plugin):
    calls = []

    class Tagger:
        @hookimpl
        def crm_customer_updated(self, uow, customer, changes):
            calls.append(dict(changes))
            uow.customers.update(customer.id, tags=[*customer.tags, f"changed{len(calls)}"])

    customer = make.customer()
    register_plugin(Tagger(), "tagger")
    with crm.unit_of_work() as uow:
        uow.customers.update(customer.id, city="上海")
    assert calls == [{"city": (None, "上海")}]
    with crm.unit_of_work() as uow:
        stored = uow.customers.get(customer.id)
        assert stored.tags == ["changed1"]
        assert [e.action for e in uow.audit.for_entity("customer", customer.id)] == ["create", "update", "update"]


def test_each_lifecycle_hook_fires_exactly_once_per_change(crm, make, register_plugin):
    fired = []

    class Recorder:
        @hookimpl
        def crm_customer_created(self, customer):
            fired.append(("created", customer.id))

        @hookimpl
        def crm_customer_cancelled(self, customer):
            fired.append(("cancelled", customer.id))

        @hookimpl
        def crm_customer_restored(self, customer):
            fired.append(("restored", customer.id))

        @hookimpl
        def crm_contact_added(self, customer, contact):
            fired.append(("contact", contact.name))

        @hookimpl
        def crm_activity_logged(self, activity):
            fired.append(("activity", activity.type))

    register_plugin(Recorder(), "recorder")
    customer = make.customer()
    make.contact(customer.id, name="李娜")
    make.activity(customer.id, "visit")
    with crm.unit_of_work() as uow:
        uow.customers.cancel(customer.id)
        uow.customers.restore(customer.id)
    assert fired == [("created", customer.id), ("contact", "李娜"), ("activity", "visit"),
                     ("cancelled", customer.id), ("restored", customer.id)]


def test_after_commit_callbacks_run_only_when_the_transaction_commits(crm):
    ran = []
    with crm.unit_of_work() as uow:
        uow.after_commit(lambda: ran.append("committed"))
    with pytest.raises(RuntimeError), crm.unit_of_work() as uow:
        uow.after_commit(lambda: ran.append("rolled back"))
        raise RuntimeError
    assert ran == ["committed"]


def test_an_outbox_message_with_the_same_dedupe_key_is_queued_once(crm, make):
    customer = make.customer()
    with crm.unit_of_work() as uow:
        first = uow.outbox.put("file", "a@example.com", "hi", customer_id=customer.id, dedupe_key="birthday:1:2026")
        second = uow.outbox.put("file", "a@example.com", "hi", customer_id=customer.id, dedupe_key="birthday:1:2026")
    assert first is not None and second is None
    assert count(crm, outbox) == 1


def test_outbox_delivery_sends_through_the_channel_and_retries_failures(crm, register_plugin):
    from crmcore.services.outbox import deliver_pending

    sent, attempts = [], []

    def flaky(message):
        attempts.append(message.id)
        if message.recipient == "down@example.com":
            raise ConnectionError("server down")
        sent.append(message.recipient)

    register_plugin(types.SimpleNamespace(crm_register_outbox_channels=hookimpl(lambda register: register("test", flaky))), "channel")
    with crm.unit_of_work() as uow:
        uow.outbox.put("test", "ok@example.com", "hello")
        uow.outbox.put("test", "down@example.com", "hello")
    assert deliver_pending(crm) == {"sent": 1, "retry": 1, "failed": 0}
    assert deliver_pending(crm) == {"sent": 0, "retry": 0, "failed": 0}  # the failed one waits for its backoff
    assert sent == ["ok@example.com"]
    with crm.unit_of_work() as uow:
        failed = uow.outbox.list(status="pending")[0]
    assert failed.attempts == 1 and "server down" in failed.error


def test_orm_work_through_uow_session_commits_and_rolls_back_with_the_unit_of_work(crm, make):
    from sqlalchemy import update

    customer = make.customer(city="北京")
    with pytest.raises(RuntimeError), crm.unit_of_work() as uow:
        uow.session.execute(update(customers).where(customers.c.id == customer.id).values(city="上海"))
        raise RuntimeError
    with crm.unit_of_work() as uow:
        assert uow.customers.get(customer.id).city == "北京"
        uow.session.execute(update(customers).where(customers.c.id == customer.id).values(city="广州"))
    with crm.unit_of_work() as uow:
        assert uow.customers.get(customer.id).city == "广州"


def test_two_writers_on_sqlite_wait_for_each_other_instead_of_failing(crm, make):
    import threading

    if crm.engine.dialect.name != "sqlite":
        pytest.skip("SQLite's locking")
    customer = make.customer()
    errors, first_has_read = [], threading.Event()

    def read_then_write(city, wait):
        try:
            with crm.unit_of_work() as uow:
                uow.customers.get(customer.id)
                first_has_read.set()
                if wait:
                    import time

                    time.sleep(0.3)
                uow.customers.update(customer.id, city=city)
        except Exception as error:  # noqa: BLE001 - the test reports any failure
            errors.append(error)

    first = threading.Thread(target=read_then_write, args=("上海", True))
    first.start()
    first_has_read.wait(5)
    read_then_write("北京", False)
    first.join()
    assert errors == []

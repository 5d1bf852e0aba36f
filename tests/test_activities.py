"""The activity timeline: single activities and the bulk path."""

import pytest

from crmcore import Activity, NotFound, ValidationError, hookimpl


def test_log_many_inserts_in_order_and_tells_plugins_once(crm, make, register_plugin):
    batches = []

    class Watcher:
        @hookimpl
        def crm_activities_imported(self, activity_ids):
            batches.append(activity_ids)

        @hookimpl
        def crm_activity_logged(self, activity):
            raise AssertionError("the bulk path fires no per-activity hook")

    register_plugin(Watcher(), "watcher")
    customer = make.customer()
    with crm.unit_of_work() as uow:
        ids = uow.activities.log_many([Activity(customer_id=customer.id, type="purchase", amount=str(n)) for n in (10, 20, 30)])
    assert batches == [ids]
    with crm.unit_of_work() as uow:
        assert [str(a.amount) for a in uow.activities.list(customer.id)] == ["30.00", "20.00", "10.00"]


def test_log_many_refuses_customers_outside_the_actors_scope(crm, make, as_user):
    as_user("bob", department="北京分公司")
    customer = make.customer()  # no department: bob cannot see it
    with crm.unit_of_work(actor="bob") as uow, pytest.raises(NotFound, match=str(customer.id)):
        uow.activities.log_many([Activity(customer_id=customer.id, type="note")])


def test_log_many_checks_each_activity_against_its_type(crm, make):
    customer = make.customer()
    with crm.unit_of_work() as uow, pytest.raises(ValidationError, match="amount: required for purchase"):
        uow.activities.log_many([Activity(customer_id=customer.id, type="purchase")])


def test_a_cancelled_purchase_stays_on_the_timeline_marked_cancelled(crm, make):
    customer = make.customer()
    purchase = make.activity(customer.id, "purchase", amount="99")
    with crm.unit_of_work() as uow:
        uow.activities.cancel(purchase.id, reason="退款")
    with crm.unit_of_work() as uow:
        assert uow.activities.list(customer.id) == []
        assert uow.activities.list(customer.id, include_cancelled=True)[0].cancelled

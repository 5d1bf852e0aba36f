"""Consent per purpose and channel, and its one enforcement point: the outbox."""

import pytest
from sqlalchemy import select

from crmcore.errors import ValidationError
from crmcore.storage.tables import outbox


def queue(crm, customer, purpose, channel="email", **kwargs):
    with crm.unit_of_work() as uow:
        return uow.outbox.put(channel, customer.emails[0] if channel == "email" else customer.phones[0], "春季特惠", "您好",
                              customer_id=customer.id, purpose=purpose, **kwargs)


@pytest.fixture
def zhang(make):
    return make.customer(name="张伟", emails=["zhangwei@example.com"])


def test_marketing_is_not_queued_without_consent_and_is_once_granted(crm, zhang):
    assert queue(crm, zhang, "marketing") is None
    with crm.unit_of_work() as uow:
        uow.consents.grant(zhang.id, "marketing", "email", method="form", evidence="表单 2024-117")
    message = queue(crm, zhang, "marketing")
    assert message is not None and message.purpose == "marketing"
    with crm.unit_of_work() as uow:
        stored = uow.execute(select(outbox.c.purpose, outbox.c.status)).all()
    assert [tuple(r) for r in stored] == [("marketing", "pending")]


def test_consent_is_per_channel(crm, zhang):
    with crm.unit_of_work() as uow:
        uow.consents.grant(zhang.id, "marketing", "sms")
    assert queue(crm, zhang, "marketing", "email") is None
    assert queue(crm, zhang, "marketing", "sms") is not None


def test_service_messages_need_no_consent_and_calls_without_purpose_keep_working(crm, zhang):
    assert queue(crm, zhang, "service") is not None
    with crm.unit_of_work() as uow:
        assert uow.outbox.put("email", "x@example.com", "s", "b", customer_id=zhang.id) is not None


def test_do_not_contact_blocks_marketing_even_with_consent(crm, zhang):
    with crm.unit_of_work() as uow:
        uow.consents.grant(zhang.id, "marketing", "email")
        uow.customers.update(zhang.id, do_not_contact=True)
    assert queue(crm, zhang, "marketing") is None
    assert queue(crm, zhang, "service") is not None


def test_withdrawing_cancels_only_pending_messages_of_that_purpose_and_channel(crm, zhang):
    with crm.unit_of_work() as uow:
        uow.consents.grant(zhang.id, "marketing", "email")
        uow.consents.grant(zhang.id, "marketing", "sms")
    campaign = queue(crm, zhang, "marketing", "email")
    by_sms = queue(crm, zhang, "marketing", "sms")
    care = queue(crm, zhang, "service", "email")
    with crm.unit_of_work() as uow:
        uow.consents.withdraw(zhang.id, "marketing", "email", method="call", evidence="录音 8812")
        status = dict(uow.execute(select(outbox.c.id, outbox.c.status)).all())
    assert status == {campaign.id: "cancelled", by_sms.id: "pending", care.id: "pending"}
    assert queue(crm, zhang, "marketing", "email") is None


def test_history_keeps_every_change_and_status_shows_the_latest(crm, zhang):
    with crm.unit_of_work(actor="admin") as uow:
        uow.consents.grant(zhang.id, "analytics", "email", method="api", evidence="app 同意书 v2")
        uow.consents.withdraw(zhang.id, "analytics", "email", method="form")
        history = uow.consents.history(zhang.id)
        status = {(r["purpose"], r["channel"]): r for r in uow.consents.status(zhang.id)}
        audit = uow.audit.for_entity("customer", zhang.id)
    assert [(c.granted, c.method, c.evidence, c.actor) for c in history] == [
        (True, "api", "app 同意书 v2", "admin"), (False, "form", None, "admin")]
    assert status[("analytics", "email")]["granted"] is False and not status[("analytics", "email")]["allowed"]
    assert status[("service", "sms")]["granted"] is None and status[("service", "sms")]["allowed"]
    assert [e.changes["granted"] for e in audit if e.action == "consent"] == [[None, True], [True, False]]


def test_unknown_purpose_channel_or_method_is_refused(crm, zhang):
    with crm.unit_of_work() as uow:
        with pytest.raises(ValidationError, match="purpose"):
            uow.consents.grant(zhang.id, "spam", "email")
        with pytest.raises(ValidationError, match="channel"):
            uow.consents.grant(zhang.id, "marketing", "pigeon")
        with pytest.raises(ValidationError, match="method"):
            uow.consents.grant(zhang.id, "marketing", "email", method="guess")
        with pytest.raises(ValidationError, match="purpose"):
            uow.outbox.put("email", "a@example.com", "s", "b", customer_id=zhang.id, purpose="markting")


def test_which_purposes_need_consent_is_configurable(crm, zhang):
    crm.config.extra["privacy"] = {"consent_required": ["marketing", "service"]}
    assert queue(crm, zhang, "service") is None
    assert queue(crm, zhang, "analytics") is not None


def test_a_purpose_needing_consent_without_a_customer_queues_nothing(crm):
    with crm.unit_of_work() as uow:
        assert uow.outbox.put("email", "someone@example.com", "s", "b", purpose="marketing") is None
        assert uow.outbox.put("email", "someone@example.com", "s", "b", purpose="service") is not None


def test_cli_grant_withdraw_and_show(cli, zhang):
    assert cli("consent", "grant", zhang.id, "--purpose", "marketing", "--channel", "email", "--channel", "sms",
               "--evidence", "门店表单 A-17").exit_code == 0
    assert cli("consent", "withdraw", zhang.id, "--purpose", "marketing", "--channel", "sms", "--method", "call").exit_code == 0
    shown = {(r["purpose"], r["channel"]): r for r in cli("consent", "show", zhang.id, json=True).json}
    assert shown[("marketing", "email")]["granted"] is True and shown[("marketing", "email")]["evidence"] == "门店表单 A-17"
    assert shown[("marketing", "sms")]["granted"] is False
    assert len(cli("consent", "show", zhang.id, "--history", json=True).json) == 3
    bad = cli("consent", "grant", zhang.id, "--purpose", "spam", "--channel", "email")
    assert bad.exit_code == 1 and "purpose" in bad.stderr


def test_consent_needs_edit_permission(crm, zhang, as_user):
    reader = as_user("reader", permissions=["customers.view", "customers.view_all"])
    from crmcore.errors import PermissionDenied

    with pytest.raises(PermissionDenied), crm.unit_of_work(actor=reader) as uow:
        uow.consents.grant(zhang.id, "marketing", "email")


def test_import_carries_consent_columns(crm, tmp_path):
    from crmcore.importing import CustomerImport

    path = tmp_path / "customers.csv"
    path.write_text("客户名称,手机,邮箱,营销邮件同意,营销短信同意\n"
                    "王芳,13900000001,wangfang@example.com,是,否\n"
                    "李娜,13900000002,lina@example.com,,是\n"
                    "赵强,13900000003,,也许,\n", encoding="utf-8")
    with crm.unit_of_work() as uow:
        result = CustomerImport(uow).run(path)
    assert result.created == 2 and [(r.line, r.column) for r in result.rejected] == [(4, "营销邮件同意")]
    with crm.unit_of_work() as uow:
        wang, = uow.customers.find_by_phone("13900000001")
        li, = uow.customers.find_by_phone("13900000002")
        assert uow.consents.allows(wang.id, "marketing", "email") and not uow.consents.allows(wang.id, "marketing", "sms")
        assert [(c.channel, c.granted, c.method, c.evidence) for c in uow.consents.history(wang.id)] == [
            ("email", True, "import", "customers.csv"), ("sms", False, "import", "customers.csv")]
        assert [(c.channel, c.granted) for c in uow.consents.history(li.id)] == [("sms", True)]


def test_a_withdrawal_on_a_merged_duplicate_still_counts(crm, zhang, make):
    duplicate = make.customer(name="张伟", emails=["zw@example.com"])
    with crm.unit_of_work() as uow:
        uow.consents.grant(zhang.id, "marketing", "email")
    with crm.unit_of_work() as uow:
        uow.consents.withdraw(duplicate.id, "marketing", "email", method="call")
    with crm.unit_of_work() as uow:
        uow.customers.merge(zhang.id, duplicate.id)
    assert queue(crm, zhang, "marketing") is None
    with crm.unit_of_work() as uow:
        uow.consents.grant(zhang.id, "marketing", "email", evidence="再次同意")
        assert [c.granted for c in uow.consents.history(zhang.id)] == [True, False, True]
    assert queue(crm, zhang, "marketing") is not None

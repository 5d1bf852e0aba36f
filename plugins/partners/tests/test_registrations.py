"""Deal registration: conflict check, approval, protection, expiry, outcomes."""

from datetime import date, timedelta

import pytest
from sqlalchemy import update

from crmcore import Conflict, hookimpl
from crm_partners import tables as t


@pytest.fixture
def approvals(register_plugin):
    """A throwaway plugin on the other side of crm_partners_registration_approved."""
    seen = []

    class Sales:
        @hookimpl(optionalhook=True)
        def crm_partners_registration_approved(self, uow, registration):
            seen.append((registration.id, registration.partner_id, registration.customer_id, registration.expected_amount,
                         registration.expected_close, registration.product))

    register_plugin(Sales(), name="fake_sales")
    return seen


def test_a_clean_registration_is_approved_at_once_and_the_hook_fires_once(partner, make, cli, approvals):
    pid = partner()
    end = make.customer(name="张伟")
    result = cli("partners", "register", str(pid), "--customer", str(end.id), "--amount", "20万", "--close", "2026-09-30",
                 "--product", "CRM 专业版", json=True)
    assert result.exit_code == 0, result
    reg = result.json
    assert reg["status"] == "approved" and reg["decision_reason"] == "auto-approved: no conflict"
    from decimal import Decimal

    assert approvals == [(reg["id"], pid, end.id, Decimal("200000.00"), date(2026, 9, 30), "CRM 专业版")]


def test_registrations_wait_for_approval_when_auto_approval_is_off(partner, make, cli, approvals):
    pid = partner()
    end = make.customer()
    assert cli("partners", "settings", "auto_approve", "never").exit_code == 0
    reg = cli("partners", "register", str(pid), "--customer", str(end.id), "--amount", "1000", "--close", "2026-09-30", json=True).json
    assert reg["status"] == "pending" and approvals == []
    approved = cli("partners", "approve", str(reg["id"]), "--reason", "资料齐全", json=True)
    assert approved.json["status"] == "approved" and approved.json["decision_reason"] == "资料齐全"
    assert [a[0] for a in approvals] == [reg["id"]]
    again = cli("partners", "approve", str(reg["id"]))
    assert again.exit_code == 1 and "not pending" in again.stderr and len(approvals) == 1


def test_another_partners_registration_of_the_same_phone_is_a_conflict(partner, make, cli, approvals):
    first, second = partner("甲公司"), partner("乙公司")
    zhang = make.customer(name="张伟", phones=["138 0013 8000"])
    duplicate = make.customer(name="张伟（重复）", phones=["+86 13800138000"])
    assert cli("partners", "register", str(first), "--customer", str(zhang.id), "--amount", "100000", "--close", "2026-09-30").exit_code == 0
    result = cli("partners", "register", str(second), "--customer", str(duplicate.id), "--amount", "90000", "--close", "2026-09-30", json=True)
    assert result.exit_code == 0, result
    reg = result.json
    assert reg["status"] == "pending"
    [conflict] = reg["conflicts"]
    assert conflict["kind"] == "registration" and conflict["partner_id"] == first and conflict["match"] == "same phone 13800138000"
    refused = cli("partners", "approve", str(reg["id"]))
    assert refused.exit_code == 1 and "conflicts" in refused.stderr
    no_reason = cli("partners", "approve", str(reg["id"]), "--override")
    assert no_reason.exit_code == 1 and "reason:" in no_reason.stderr
    forced = cli("partners", "approve", str(reg["id"]), "--override", "--reason", "客户指定乙公司", json=True).json
    assert forced["status"] == "approved" and forced["decision_reason"] == "override: 客户指定乙公司"
    assert len(approvals) == 2


def test_a_customer_worked_by_direct_sales_within_the_window_is_a_conflict(partner, make, cli, as_user, crm):
    as_user("alice")
    pid = partner()
    end = make.customer(name="李强", emails=["liqiang@example.com"], actor="alice")
    make.activity(end.id, "visit", actor="alice")
    reg = cli("partners", "register", str(pid), "--customer", str(end.id), "--amount", "5000", "--close", "2026-09-30", json=True).json
    [conflict] = reg["conflicts"]
    assert conflict["kind"] == "direct_sales" and conflict["owner"] == "alice" and reg["status"] == "pending"
    rejected = cli("partners", "reject", str(reg["id"]), "--reason", "直销客户", json=True).json
    assert rejected["status"] == "rejected" and rejected["decision_reason"] == "直销客户"


def test_direct_sales_work_older_than_the_window_does_not_protect(partner, make, cli, as_user, service):
    as_user("alice")
    pid = partner()
    end = make.customer(name="李强", actor="alice")
    today = service(lambda s: s.today())
    make.activity(end.id, "visit", actor="alice", occurred_at=str(today - timedelta(days=120)))
    reg = cli("partners", "register", str(pid), "--customer", str(end.id), "--amount", "5000", "--close", "2026-09-30", json=True).json
    assert reg["conflicts"] == [] and reg["status"] == "approved"


def test_rejecting_needs_a_reason(partner, make, cli):
    pid = partner()
    cli("partners", "settings", "auto_approve", "never")
    reg = cli("partners", "register", str(pid), "--customer", str(make.customer().id), "--amount", "1", "--close", "2026-09-30", json=True).json
    result = cli("partners", "reject", str(reg["id"]), "--reason", " ")
    assert result.exit_code == 1 and "reason: required" in result.stderr


def test_a_partner_cannot_register_the_same_deal_twice(partner, make, service):
    pid = partner()
    end = make.customer()
    service(lambda s: s.register(pid, end.id, amount="100", close=date(2026, 9, 30), product="A"))
    with pytest.raises(Conflict, match="already registered"):
        service(lambda s: s.register(pid, end.id, amount="100", close=date(2026, 9, 30), product="A"))
    other = service(lambda s: s.register(pid, end.id, amount="100", close=date(2026, 9, 30), product="B"))
    assert other["status"] == "approved"


def test_an_inactive_partner_cannot_register(partner, make, cli):
    pid = partner(status="onboarding")
    result = cli("partners", "register", str(pid), "--customer", str(make.customer().id), "--amount", "1", "--close", "2026-09-30")
    assert result.exit_code == 1 and "only active partners" in result.stderr


def test_bad_amounts_and_dates_are_refused(partner, make, cli):
    pid = partner()
    end = make.customer()
    amount = cli("partners", "register", str(pid), "--customer", str(end.id), "--amount", "lots", "--close", "2026-09-30")
    assert amount.exit_code == 1 and amount.stderr.startswith("error: amount:")
    close = cli("partners", "register", str(pid), "--customer", str(end.id), "--amount", "10", "--close", "next week")
    assert close.exit_code == 1 and close.stderr.startswith("error: close:")
    assert cli("partners", "registrations", json=True).json == []


def test_registrations_past_their_protection_expire_and_stop_conflicting(partner, make, cli, service):
    first, second = partner("甲公司"), partner("乙公司")
    end = make.customer()
    reg = service(lambda s: s.register(first, end.id, amount="100", close=date(2026, 9, 30)))
    today = service(lambda s: s.today())
    assert cli("partners", "expire", "--today", str(today + timedelta(days=90)), json=True).json == []
    expired = cli("partners", "expire", "--today", str(today + timedelta(days=91)), json=True).json
    assert [(e["id"], e["was"]) for e in expired] == [(reg["id"], "approved")]
    again = service(lambda s: s.register(second, end.id, amount="100", close=date(2026, 9, 30)))
    assert again["conflicts"] == [] and again["status"] == "approved"


def test_progress_renews_the_protection(partner, make, cli, service, crm):
    pid = partner()
    end = make.customer()
    reg = service(lambda s: s.register(pid, end.id, amount="100", close=date(2026, 9, 30)))
    today = service(lambda s: s.today())
    with crm.unit_of_work() as uow:
        uow.execute(update(t.registrations).where(t.registrations.c.id == reg["id"]).values(protected_until=today + timedelta(days=3)))
    result = cli("partners", "progress", str(reg["id"]), "完成方案演示", json=True).json
    assert result["protected_until"] == str(today + timedelta(days=90)) and "完成方案演示" in result["notes"]


def test_only_approved_deals_are_won_and_a_past_expected_close_is_the_close_date(partner, make, cli, service):
    pid = partner()
    cli("partners", "settings", "auto_approve", "never")
    end = make.customer()
    reg = service(lambda s: s.register(pid, end.id, amount="100", close=date(2026, 1, 15)))
    pending = cli("partners", "won", str(reg["id"]), "--amount", "90")
    assert pending.exit_code == 1 and "approve it first" in pending.stderr
    cli("partners", "approve", str(reg["id"]))
    won = cli("partners", "won", str(reg["id"]), "--amount", "90", json=True).json
    today = service(lambda s: s.today())
    assert won["status"] == "won" and won["won_amount"] == "90.00" and won["closed_on"] == str(min(date(2026, 1, 15), today))
    lost_after = cli("partners", "lost", str(reg["id"]))
    assert lost_after.exit_code == 1 and "only approved" in lost_after.stderr


def test_a_lost_deal_keeps_its_reason(partner, make, cli, service):
    pid = partner()
    end = make.customer()
    reg = service(lambda s: s.register(pid, end.id, amount="100", close=date(2026, 1, 15)))
    lost = cli("partners", "lost", str(reg["id"]), "--reason", "价格原因", "--date", "2026-02-01", json=True).json
    assert lost["status"] == "lost" and lost["close_reason"] == "价格原因" and lost["closed_on"] == "2026-02-01"

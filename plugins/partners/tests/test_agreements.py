"""Agreements: terms, overlap, termination, renewal reminders through the outbox."""

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from crmcore import Conflict
from crmcore.tables import outbox


def _outbox(crm):
    with crm.unit_of_work() as uow:
        return [dict(r) for r in uow.execute(select(outbox).order_by(outbox.c.id)).mappings()]


def test_a_tiered_agreement_keeps_its_terms(partner, cli):
    pid = partner()
    result = cli("partners", "agreement", "add", str(pid), "--from", "2026-01-01", "--to", "2026-12-31",
                 "--commission", "0:5%,500000:8%", "--tiers-apply", "whole", "--discount", "12.5%", "--product", "CRM 专业版", json=True)
    assert result.exit_code == 0, result
    agreement = result.json
    assert agreement["commission_kind"] == "tiered" and agreement["tiers_apply"] == "whole"
    assert agreement["commission_tiers"] == [["0.00", "5"], ["500000.00", "8"]]
    assert agreement["discount"] == "12.5" and agreement["product_lines"] == ["CRM 专业版"]


def test_an_agreement_ending_before_it_starts_is_refused(partner, cli):
    pid = partner()
    result = cli("partners", "agreement", "add", str(pid), "--from", "2026-12-31", "--to", "2026-01-01", "--commission", "8%")
    assert result.exit_code == 1 and result.stderr.startswith("error: to:")


def test_overlapping_agreements_for_the_same_products_conflict(partner, service):
    pid = partner()
    service(lambda s: s.add_agreement(pid, starts_on=date(2026, 1, 1), ends_on=date(2026, 12, 31), commission="8%", product_lines=["A"]))
    with pytest.raises(Conflict, match="already covers"):
        service(lambda s: s.add_agreement(pid, starts_on=date(2026, 6, 1), ends_on=date(2027, 5, 31), commission="6%", product_lines=["A", "C"]))
    other = service(lambda s: s.add_agreement(pid, starts_on=date(2026, 6, 1), ends_on=date(2027, 5, 31), commission="6%", product_lines=["B"]))
    assert other["product_lines"] == ["B"]
    general = service(lambda s: s.add_agreement(pid, starts_on=date(2026, 6, 1), ends_on=date(2027, 5, 31), commission="5%"))
    assert general["product_lines"] == []
    with pytest.raises(Conflict, match="already covers"):
        service(lambda s: s.add_agreement(pid, starts_on=date(2027, 1, 1), ends_on=date(2027, 12, 31), commission="4%"))


def test_a_terminated_agreement_is_kept_and_frees_its_dates(partner, cli, service):
    pid = partner()
    first = service(lambda s: s.add_agreement(pid, starts_on=date(2025, 1, 1), ends_on=date(2030, 12, 31), commission="8%"))
    today = service(lambda s: s.today())
    assert cli("partners", "agreement", "terminate", str(first["id"]), "--reason", "违约").exit_code == 0
    rows = cli("partners", "agreement", "list", str(pid), json=True).json
    assert [(r["id"], r["state"], r["terminate_reason"]) for r in rows] == [(first["id"], "terminated", "违约")]
    second = service(lambda s: s.add_agreement(pid, starts_on=today, ends_on=date(2030, 12, 31), commission="5%"))
    assert second["state"] == "active"


def test_renewal_reminders_are_queued_once_per_agreement_and_reminder_date(partner, service, cli, crm):
    pid = partner(emails=["channel@mingyuan.example"])
    today = service(lambda s: s.today())
    agreement = service(lambda s: s.add_agreement(pid, starts_on=today - timedelta(days=300), ends_on=today + timedelta(days=29),
                                                  commission="8%", remind_days="60,30,7"))
    first = cli("partners", "remind", json=True)
    assert first.exit_code == 0, first
    [reminder] = first.json
    assert reminder["agreement_id"] == agreement["id"] and reminder["remind_on"] == str(today + timedelta(days=29 - 30))
    assert reminder["recipient"] == "channel@mingyuan.example"
    assert cli("partners", "remind", json=True).json == []  # same day again: nothing new
    assert cli("partners", "remind", "--today", str(today + timedelta(days=5)), json=True).json == []  # still the 30-day reminder
    week = cli("partners", "remind", "--today", str(today + timedelta(days=22)), json=True).json
    assert [r["remind_on"] for r in week] == [str(today + timedelta(days=22))]
    messages = _outbox(crm)
    assert len(messages) == 2 and all("协议" in m["subject"] for m in messages)
    assert len({m["dedupe_key"] for m in messages}) == 2


def test_a_late_first_run_sends_only_the_latest_reminder_due(partner, service):
    pid = partner(emails=["a@b.example"])
    today = service(lambda s: s.today())
    service(lambda s: s.add_agreement(pid, starts_on=today - timedelta(days=300), ends_on=today + timedelta(days=3), commission="8%"))
    queued = service(lambda s: s.send_renewal_reminders())
    assert [q["remind_on"] for q in queued] == [today + timedelta(days=3 - 7)]


def test_a_renewed_agreement_gets_no_reminder_and_the_renewal_continues_it(partner, service, cli):
    pid = partner(emails=["a@b.example"])
    today = service(lambda s: s.today())
    old = service(lambda s: s.add_agreement(pid, starts_on=today - timedelta(days=300), ends_on=today + timedelta(days=10), commission="0:5%,100000:7%"))
    renewed = cli("partners", "agreement", "renew", str(old["id"]), "--to", str(today + timedelta(days=375)), json=True)
    assert renewed.exit_code == 0, renewed
    assert renewed.json["starts_on"] == str(today + timedelta(days=11)) and renewed.json["renewed_from_id"] == old["id"]
    assert renewed.json["commission_tiers"] == [["0.00", "5"], ["100000.00", "7"]]
    assert service(lambda s: s.send_renewal_reminders()) == []
    again = cli("partners", "agreement", "renew", str(old["id"]), "--to", str(today + timedelta(days=700)))
    assert again.exit_code == 1 and "renewed already" in again.stderr


def test_reminders_copy_the_configured_address(partner, service, cli, crm):
    pid = partner(emails=["p@partner.example"])
    assert cli("partners", "settings", "reminder_cc", "channel@us.example").exit_code == 0
    today = service(lambda s: s.today())
    service(lambda s: s.add_agreement(pid, starts_on=today - timedelta(days=30), ends_on=today + timedelta(days=6), commission="8%"))
    queued = cli("partners", "remind", json=True).json
    assert sorted(q["recipient"] for q in queued) == ["channel@us.example", "p@partner.example"]

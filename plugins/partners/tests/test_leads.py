"""Lead assignment: automatic choice, deadlines, reassignment, history."""

from datetime import timedelta

import pytest
from sqlalchemy import update

from crm_partners import tables as t


@pytest.fixture
def lead(make):
    def make_lead(name="王芳", **fields):
        fields.setdefault("status", "potential")
        return make.customer(name=name, **fields)

    return make_lead


def test_auto_assignment_prefers_the_territory_then_grade_and_load(partner, lead, cli):
    shanghai_bronze = partner("上海铜牌", grade="铜牌", territories=("上海",))
    jiangsu_gold = partner("江苏金牌", grade="金牌", territories=("江苏",))
    east_gold = partner("华东金牌", grade="金牌", territories=("华东",))
    customer = lead(city="上海", province="上海", region="华东")
    result = cli("partners", "assign", str(customer.id), "--auto", json=True)
    assert result.exit_code == 0, result
    offer = result.json
    # city match 3 × bronze 1 = 3 ties region match 1 × gold 3 = 3: equal load, so the older partner wins
    scores = {c["partner_id"]: c["score"] for c in offer["candidates"]}
    assert scores == {shanghai_bronze: "3.0000", east_gold: "3.0000"} and jiangsu_gold not in scores
    assert offer["partner_id"] == shanghai_bronze and offer["method"] == "auto"
    # the next Shanghai lead: bronze now has one open lead (3 / 2 = 1.5) and the gold regional partner wins
    second = cli("partners", "assign", str(lead("李娜", city="上海", region="华东").id), "--auto", json=True).json
    assert second["partner_id"] == east_gold


def test_industry_specialists_only_get_leads_of_their_industry(partner, lead, service):
    software = partner("软件伙伴", territories=(), industries=("软件",))
    retail = partner("零售伙伴", territories=(), industries=("零售",))
    new_lead = lead(industry="软件")
    offer = service(lambda s: s.assign(new_lead.id, auto=True))
    assert offer["partner_id"] == software
    assert retail not in [c["partner_id"] for c in offer["candidates"]]


def test_a_partner_at_its_lead_limit_gets_no_more(partner, lead, service):
    small = partner("小伙伴", grade="金牌", max_open_leads=1)
    big = partner("大伙伴", grade="铜牌")
    first, second = lead("甲", city="上海"), lead("乙", city="上海")
    assert service(lambda s: s.assign(first.id, auto=True))["partner_id"] == small
    assert service(lambda s: s.assign(second.id, auto=True))["partner_id"] == big


def test_only_potential_customers_are_leads(partner, make, cli):
    partner()
    customer = make.customer(status="active")
    result = cli("partners", "assign", str(customer.id), "--auto")
    assert result.exit_code == 1 and "lead:" in result.stderr


def test_assign_needs_either_auto_or_a_partner(lead, cli):
    result = cli("partners", "assign", str(lead().id))
    assert result.exit_code == 2


def test_no_matching_partner_is_reported(partner, lead, cli):
    partner(territories=("北京",))
    result = cli("partners", "assign", str(lead(city="广州").id), "--auto")
    assert result.exit_code == 1 and "no active partner covers 广州" in result.stderr


def test_a_lead_already_offered_needs_replace(partner, lead, cli):
    first, second = partner("甲公司"), partner("乙公司")
    customer = lead(city="上海")
    cli("partners", "assign", str(customer.id), "--partner", str(first))
    refused = cli("partners", "assign", str(customer.id), "--partner", str(second))
    assert refused.exit_code == 1 and "--replace" in refused.stderr
    moved = cli("partners", "assign", str(customer.id), "--partner", str(second), "--replace", "--reason", "客户要求", json=True).json
    assert moved["partner_id"] == second and moved["method"] == "manual"
    history = cli("partners", "assignments", "--lead", str(customer.id), json=True).json
    assert [(h["partner_id"], h["status"]) for h in history] == [(second, "offered"), (first, "withdrawn")]


def test_overdue_offers_are_reassigned_to_the_next_partner_and_kept(partner, lead, cli, service):
    best = partner("金牌伙伴", grade="金牌")
    next_best = partner("银牌伙伴", grade="银牌")
    customer = lead(city="上海")
    offer = service(lambda s: s.assign(customer.id, auto=True, hours=24))
    assert offer["partner_id"] == best
    now = service(lambda s: s.uow.now)
    early = cli("partners", "reassign", "--now", (now + timedelta(hours=23)).isoformat(), json=True).json
    assert early == []
    moved = cli("partners", "reassign", "--now", (now + timedelta(hours=25)).isoformat(), json=True).json
    assert [(m["expired_assignment"], m["partner_id"], m["note"]) for m in moved] == [(offer["id"], next_best, "reassigned")]
    later = service(lambda s: s.uow.now)
    last = cli("partners", "reassign", "--now", (later + timedelta(hours=49)).isoformat(), json=True).json
    assert last[0]["partner_id"] is None and "left unassigned" in last[0]["note"]
    history = cli("partners", "assignments", "--lead", str(customer.id), json=True).json
    assert [(h["partner_id"], h["status"]) for h in reversed(history)] == [(best, "expired"), (next_best, "expired")]


def test_declining_passes_the_lead_on(partner, lead, cli, service):
    best, other = partner("金牌伙伴", grade="金牌"), partner("铜牌伙伴", grade="铜牌")
    new_lead = lead(city="上海")
    offer = service(lambda s: s.assign(new_lead.id, auto=True))
    declined = cli("partners", "decline", str(offer["id"]), "--reason", "人手不足", json=True).json
    assert declined["status"] == "declined" and declined["next"]["partner_id"] == other


def test_accepting_records_the_response_time_and_is_refused_after_the_deadline(partner, lead, cli, service, crm):
    partner()
    new_lead = lead("甲", city="上海")
    first = service(lambda s: s.assign(new_lead.id, auto=True))
    accepted = cli("partners", "accept", str(first["id"]), json=True).json
    assert accepted["status"] == "accepted" and accepted["response_hours"] is not None
    new_lead = lead("乙", city="上海")
    second = service(lambda s: s.assign(new_lead.id, auto=True))
    with crm.unit_of_work() as uow:
        uow.execute(update(t.assignments).where(t.assignments.c.id == second["id"]).values(deadline_at=second["assigned_at"] - timedelta(hours=1)))
    late = cli("partners", "accept", str(second["id"]))
    assert late.exit_code == 1 and "deadline" in late.stderr


def test_terminating_a_partner_passes_its_open_offers_on(partner, lead, service):
    leaving, staying = partner("甲公司", grade="金牌"), partner("乙公司", grade="铜牌")
    new_lead = lead(city="上海")
    offer = service(lambda s: s.assign(new_lead.id, auto=True))
    assert offer["partner_id"] == leaving
    result = service(lambda s: s.set_status(leaving, "terminated", "合作终止"))
    assert [m["partner_id"] for m in result["reassigned"]] == [staying]
    assert service(lambda s: s.assignment(offer["id"]))["status"] == "withdrawn"


def test_an_offer_notifies_the_partner_through_the_outbox(partner, lead, service, crm):
    partner(emails=["leads@partner.example"])
    new_lead = lead(city="上海")
    service(lambda s: s.assign(new_lead.id, auto=True))
    with crm.unit_of_work() as uow:
        [message] = uow.outbox.list()
    assert message.recipient == "leads@partner.example" and "新线索分配" in message.subject

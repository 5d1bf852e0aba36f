"""Screen pop: a caller in any spelling, with tickets, activities and every plugin's panel."""

import pytest

from crmcore import Panel, hookimpl


@pytest.mark.parametrize("spelling", ["+86 138-0013-8000", "138 0013 8000", "0086 13800138000", "１３８００１３８０００", "(+86) 13800138000"])
def test_lookup_finds_the_customer_in_any_spelling(cli, make, spelling):
    customer = make.customer(name="张伟", phones=["13800138000"], level="vip")
    result = cli("--json", "service", "lookup", spelling)
    assert result.exit_code == 0, result
    (match,) = result.json["matches"]
    assert match["customer"]["id"] == customer.id and match["vip"] is True and result.json["number"] == "13800138000"


def test_lookup_command_as_written_shows_open_tickets_and_last_activities(desk, make):
    customer = make.customer(name="张伟", phones=["138 0013 8000"])
    make.activity(customer.id, "visit", subject="首次拜访")
    desk("service", "ticket", "add", str(customer.id), "--type", "complaint", "--priority", "high", "--subject", "物业维修未处理")
    pop = desk("--json", "service", "lookup", "+86 138-0013-8000").json
    (match,) = pop["matches"]
    assert [t["subject"] for t in match["open_tickets"]] == ["物业维修未处理"]
    assert {a["type"] for a in match["last_activities"]} == {"visit", "ticket"}
    assert match["panels"]["callcenter"]["open_tickets"] == 1
    text = desk("service", "lookup", "138 0013 8000").stdout
    assert "张伟" in text and "物业维修未处理" in text


def test_a_contacts_number_pops_its_organisation(cli, make):
    org = make.customer(name="申城酒店", kind="organization", phones=["02155551234"])
    contact = make.contact(org.id, name="王经理", phones=["13911112222"])
    (match,) = cli("service", "lookup", "139-1111-2222", json=True).json["matches"]
    assert match["customer"]["id"] == org.id and match["matched_contact_ids"] == [contact.id]


def test_an_unknown_number_offers_to_create_the_customer(cli):
    result = cli("service", "lookup", "+86 137 0000 0000")
    assert result.exit_code == 0
    assert "not a known customer" in result.stdout and 'crm customer add --name NAME --phone "13700000000"' in result.stdout
    assert cli("service", "lookup", "13700000000", json=True).json["found"] is False


def test_a_number_that_is_not_a_phone_number_is_a_usage_error(cli):
    result = cli("service", "lookup", "hello")
    assert result.exit_code == 1 and "number:" in result.stderr


def test_other_plugins_panels_appear_in_the_screen_pop(cli, make, register_plugin):
    class Membership:
        @hookimpl
        def crm_customer_panel(self, uow, customer):
            return Panel("membership", "会员", {"tier": "gold"})

    register_plugin(Membership(), name="membership_stub")
    make.customer(phones=["13800138000"])
    (match,) = cli("service", "lookup", "13800138000", json=True).json["matches"]
    assert match["panels"]["membership"] == {"title": "会员", "tier": "gold"}


def test_contact_details_stay_masked_for_users_who_may_not_see_them(cli, make, as_user):
    make.customer(phones=["13800138000"])
    as_user("dave", permissions=["customers.view", "customers.view_all", "callcenter.view"])
    (match,) = cli("service", "lookup", "13800138000", as_="dave", json=True).json["matches"]
    assert match["customer"]["phones"] == ["138****8000"]


def test_an_unknown_caller_can_be_created_from_the_screen_pop(cli):
    result = cli("service", "lookup", "+86 137 0000 0000", "--create", "新客户", json=True)
    assert result.exit_code == 0 and result.json["created"] is True
    assert result.json["matches"][0]["customer"]["name"] == "新客户"
    assert cli("service", "lookup", "13700000000", json=True).json["found"] is True

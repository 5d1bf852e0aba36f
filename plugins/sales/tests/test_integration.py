"""The seams: customer panel, merge, leavers, other plugins' hooks,
per-department enablement, demo data, conformance."""

from datetime import date
from decimal import Decimal
from types import SimpleNamespace

import pluggy
import pytest

from crmcore.testing import PluginConformance

hookspec = pluggy.HookspecMarker("crm")


class CampaignSpecs:
    """A stand-in for the hookspec the campaigns plugin declares."""

    @hookspec
    def crm_campaigns_lead_created(self, uow, customer, campaign, owner_id):
        """A campaign responder became a lead."""


class PartnerSpecs:
    """A stand-in for the hookspec the partners plugin declares."""

    @hookspec
    def crm_partners_registration_approved(self, uow, registration):
        """A deal registration was approved."""


def test_the_customer_panel_shows_open_and_won_opportunities(cli, make, opp):
    customer = make.customer(name="张伟")
    opp(customer.id, name="总部大楼项目", amount="500000", moves=[("proposal", 0)])
    opp(customer.id, name="旧项目", amount="80000", moves=[("won", 0)])
    panel = cli("customer", "show", str(customer.id), json=True).json["panels"]["sales"]
    assert (panel["open"], panel["open_amount"], panel["weighted_amount"], panel["won"], panel["won_amount"]) == (
        1, "500000.00", "250000.00", 1, "80000.00")
    assert [o["name"] for o in panel["opportunities"]] == ["总部大楼项目", "旧项目"]
    assert "#1 总部大楼项目 · 方案报价 50%" in cli("customer", "show", str(customer.id)).stdout


def test_customers_without_opportunities_get_no_panel(cli, make):
    customer = make.customer()
    assert "sales" not in cli("customer", "show", str(customer.id), json=True).json["panels"]


def test_merging_customers_moves_opportunities_quotes_and_plans(crm, cli, make, opp):
    kept, merged = make.customer(name="明源地产"), make.customer(name="明源地产(重复)")
    deal = opp(merged.id)
    cli("sales", "quote", "add", str(deal.id), "--line", "服务器,1,1000")
    cli("sales", "plan", "add", "--user", "admin", "--month", "2026-12", "--customer", str(merged.id), "--purpose", "拜访",
        "--date", "2026-12-08")
    with crm.unit_of_work() as uow:
        uow.customers.merge(kept.id, merged.id)
    assert [o["customer_id"] for o in cli("sales", "opportunity", "list", json=True).json] == [kept.id]
    assert [q["customer_id"] for q in cli("sales", "quote", "list", json=True).json] == [kept.id]
    assert [p["customer_id"] for p in cli("sales", "plan", "list", json=True).json["plans"]] == [kept.id]


def test_a_leavers_open_opportunities_and_future_plans_go_to_the_successor(crm, cli, as_user, make, opp):
    as_user("alice", permissions=["customers.view", "sales.edit"])
    as_user("bob", permissions=["customers.view", "sales.edit"])
    with crm.unit_of_work() as uow:
        alice, bob = uow.users.find("alice"), uow.users.find("bob")
    customer = make.customer()
    open_deal = opp(customer.id, owner_id=alice.id)
    won_deal = opp(customer.id, owner_id=alice.id, moves=[("won", 0)])
    cli("sales", "plan", "add", "--user", "alice", "--month", "2099-12", "--customer", str(customer.id), "--purpose", "拜访",
        "--date", "2099-12-08")
    with crm.unit_of_work() as uow:
        uow.users.deactivate("alice", reassign_to="bob")
        opportunities = uow.service("sales").opportunities
        assert (opportunities.get(open_deal.id).owner_id, opportunities.get(won_deal.id).owner_id) == (bob.id, alice.id)
    assert cli("sales", "plan", "list", json=True).json["plans"][0]["user"] == "bob"


def test_a_leaver_with_open_opportunities_needs_a_successor(crm, as_user, make, opp):
    from crmcore import ValidationError

    as_user("alice", permissions=["customers.view", "sales.edit"])
    with crm.unit_of_work() as uow:
        alice = uow.users.find("alice")
    opp(make.customer().id, owner_id=alice.id)
    with crm.unit_of_work() as uow, pytest.raises(ValidationError, match="owns 1 open opportunities"):
        uow.users.deactivate("alice")


def test_a_campaign_lead_opens_an_opportunity_once(crm, cli, as_user, make):
    crm.plugins.pm.add_hookspecs(CampaignSpecs)
    as_user("erin", permissions=["customers.view", "customers.view_all"])  # marketing: no sales.edit
    as_user("alice", permissions=["customers.view", "sales.edit"])
    customer = make.customer()
    campaign = SimpleNamespace(id=7, name="春季展会")
    for _ in range(2):
        with crm.unit_of_work(actor="erin") as uow:
            uow.hook.crm_campaigns_lead_created(uow=uow, customer=customer, campaign=campaign, owner_id=uow.users.find("alice").id)
    (made,) = cli("sales", "opportunity", "list", json=True).json
    assert (made["source"], made["owner"], made["stage"], made["name"]) == ("campaign:春季展会", "alice", "qualification", "春季展会 线索")


def test_an_approved_partner_registration_opens_an_opportunity(crm, cli, make):
    crm.plugins.pm.add_hookspecs(PartnerSpecs)
    partner, customer = make.customer(kind="organization", name="渠道商"), make.customer(kind="organization", name="终端客户")
    registration = SimpleNamespace(id=3, partner_id=partner.id, customer_id=customer.id, expected_amount=Decimal("250000"),
                                   expected_close=date(2026, 12, 20), product="智能门禁系统")
    with crm.unit_of_work() as uow:
        uow.hook.crm_partners_registration_approved(uow=uow, registration=registration)
    (made,) = cli("sales", "opportunity", "list", json=True).json
    assert (made["source"], made["amount"], made["expected_close"], made["name"], made["customer_id"]) == (
        f"partner:{partner.id}", "250000.00", "2026-12-20", "智能门禁系统", customer.id)


def test_other_plugins_can_open_opportunities_duck_typed(crm, make):
    customer = make.customer()
    with crm.unit_of_work() as uow:
        assert uow.has_service("sales")
        made = uow.service("sales").open(customer.id, name="渠道商机", amount="88000", close="2026-12-01", source="partner:9")
    assert (made.stage, made.probability, made.amount, made.source) == ("qualification", 10, Decimal("88000.00"), "partner:9")


def test_commands_refuse_to_run_where_sales_is_disabled(cli, as_user, make, opp):
    cli("department", "add", "北京分公司")
    cli("plugins", "disable", "sales", "--department", "北京分公司")
    as_user("bob", permissions=["customers.view", "customers.edit", "sales.edit"], department="北京分公司")
    customer = make.customer(actor="bob")
    result = cli("sales", "pipeline", as_="bob")
    assert result.exit_code == 1 and "disabled for the department of 'bob'" in result.stderr
    assert "sales" not in cli("customer", "show", str(customer.id), as_="bob", json=True).json["panels"]


def test_demo_data_gives_a_quarter_of_sales_work(cli):
    result = cli("demo")
    assert result.exit_code == 0, result
    assert "opportunities" in result.stdout and "crm sales pipeline" in result.stdout
    pipeline = cli("sales", "pipeline", json=True).json
    assert pipeline["total"]["open_count"] > 0 and any(s["stage"] == "won" and s["count"] for s in pipeline["stages"])
    assert cli("sales", "quote", "list", json=True).json
    assert cli("sales", "plan", "report", json=True).json
    assert cli("sales", "stale", "--no-notify", as_="alice").exit_code == 0


class TestConformance(PluginConformance):
    plugin_name = "sales"
    template_context = {
        "quote": SimpleNamespace(number="Q2026-0001", version=1, status="draft", valid_until=date(2026, 12, 31), currency="CNY",
                                 subtotal=Decimal("100.00"), discount_total=Decimal("10.00"), total=Decimal("90.00"), notes="备注"),
        "opportunity": SimpleNamespace(name="总部大楼项目"),
        "lines": [SimpleNamespace(position=1, product="服务器", quantity=Decimal("1.000"), unit_price=Decimal("100.00"),
                                  discount=Decimal("10.00"), amount=Decimal("90.00"))],
        "owner": None, "company": "示例公司", "today": date(2026, 12, 1),
    }

    def test_hookimpls_match_specs(self, crm):
        """The base check wants a spec for every hook; the campaigns and
        partners hooks are optional and declared by those plugins, so declare
        the agreed contracts here: this also checks our implementations take
        only the agreed arguments."""
        crm.plugins.pm.add_hookspecs(CampaignSpecs)
        crm.plugins.pm.add_hookspecs(PartnerSpecs)
        super().test_hookimpls_match_specs(crm)

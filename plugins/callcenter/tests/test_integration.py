"""Cross-plugin contract (campaign segment criteria), demo data and conformance."""

import pluggy
import pytest
from sqlalchemy import select

from crmcore.tables import customers
from crmcore.testing import PluginConformance

hookspec = pluggy.HookspecMarker("crm")


class CampaignSpecs:
    @hookspec
    def crm_campaigns_segment_criteria(self, register):
        """Declared by campaigns; declared here for the test only."""


def criteria(crm):
    crm.plugins.pm.add_hookspecs(CampaignSpecs)
    found = {}
    crm.plugins.pm.hook.crm_campaigns_segment_criteria(
        register=lambda name, label, build, value_type="text": found.setdefault(name, (label, build, value_type)))
    return found


def test_segment_criteria_count_open_complaints(desk, make, crm):
    one, two, none = make.customer(), make.customer(), make.customer()
    for customer, kind in ((one, "complaint"), (two, "complaint"), (two, "complaint"), (two, "inquiry")):
        desk("service", "ticket", "add", str(customer.id), "--type", kind, "--subject", "x")
    found = criteria(crm)
    assert found["callcenter.open_complaints"][2] == "number" and "callcenter.open_tickets" in found
    complaints, tickets = found["callcenter.open_complaints"][1], found["callcenter.open_tickets"][1]
    with crm.unit_of_work() as uow:
        def ids(expression):
            return set(uow.execute(select(customers.c.id).where(expression)).scalars())

        assert ids(complaints("gte", 2)) == {two.id}
        assert ids(complaints("exists", True)) == {one.id, two.id}
        assert none.id in ids(complaints("eq", 0))
        assert ids(tickets("between", [3, 5])) == {two.id}


def test_segment_criteria_refuse_text_operators(crm):
    from crmcore import ValidationError

    build = criteria(crm)["callcenter.open_tickets"][1]
    with pytest.raises(ValidationError, match="criteria:"):
        build("contains", "x")


def test_demo_data_builds_a_working_desk(cli, crm):
    from crmcore.cli.context import CLIState
    from crmcore.demo import make_demo

    made = make_demo(CLIState(crm=crm))
    assert any(line.strip().startswith("callcenter:") for line in made["lines"])
    pop = cli("service", "lookup", "+86 138-0013-8000", json=True).json
    assert pop["matches"][0]["open_tickets"][0]["subject"] == "物业维修未处理"
    assert cli("service", "escalate", as_="carol").exit_code == 0
    assert cli("service", "ticket", "list", as_="dave").exit_code == 0


class TestConformance(PluginConformance):
    plugin_name = "callcenter"

    def test_hookimpls_match_specs(self, crm):
        # The core's check predates optional hooks: an optionalhook whose
        # declaring plugin (campaigns) is absent has no spec. Declare the
        # agreed spec, as campaigns would, so our arguments are checked too.
        crm.plugins.pm.add_hookspecs(CampaignSpecs)
        super().test_hookimpls_match_specs(crm)


def test_the_customer_panel_lists_open_tickets_and_links_to_a_new_one(crm, web):
    """On the customer page, as the user sees it."""
    pytest.importorskip("litestar")
    with crm.unit_of_work(actor="admin") as uow:
        customer = uow.customers.create(name="模板测试")
        uow.service("callcenter").open_ticket(customer.id, type="inquiry", subject="发票抬头有误", priority="high")
    with web.client(web.admin()) as http:
        page = http.get(f"/customers/{customer.id}").text
    assert "发票抬头有误" in page and f"/callcenter/tickets/new?customer_id={customer.id}" in page

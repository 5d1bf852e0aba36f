"""Integration with the core: panel, merge, leavers, permissions, departments, conformance."""

from sqlalchemy import select

from crmcore.testing import PluginConformance

from crm_campaigns.tables import audience, blacklist, messages, optouts, responses

SHANGHAI = {"criteria": [{"field": "city", "op": "eq", "value": "上海"}]}


def launch(service, name="春季促销"):
    def build(s):
        if s.find_segment("上海") is None:
            s.add_segment("上海", SHANGHAI)
        s.add(name, segment="上海", channels=["email"])
        s.add_template(name, channel="email", subject="春季特惠", body="{{ customer.name }}您好")
        s.approve(name)
        return s.launch(name)

    return service(build)


def test_customer_show_has_the_campaign_history_panel(crm, make, service, cli):
    a = make.customer(city="上海", emails=["a@example.com"])
    launch(service)
    cli("campaigns", "response", "春季促销", "--customer", str(a.id), "--type", "clicked")
    cli("campaigns", "optout", str(a.id), "--channel", "sms")
    shown = cli("customer", "show", str(a.id), json=True)
    panel = shown.json["panels"]["campaigns"] if isinstance(shown.json.get("panels"), dict) else next(
        p for p in shown.json["panels"] if p["name"] == "campaigns")
    data = panel.get("data", panel)
    assert data["campaigns"][0]["campaign"] == "春季促销" and data["campaigns"][0]["responses"] == ["clicked"]
    assert data["opted_out"] == ["sms"]
    assert "春季促销" in cli("customer", "show", str(a.id)).stdout


def test_merging_customers_moves_messages_responses_and_opt_outs(crm, make, service, cli):
    kept = make.customer(city="北京", emails=["k@example.com"])
    merged = make.customer(city="上海", emails=["m@example.com"])
    launch(service)
    cli("campaigns", "response", "春季促销", "--customer", str(merged.id), "--type", "clicked")
    cli("campaigns", "optout", str(merged.id), "--channel", "sms")
    cli("campaigns", "blacklist", "add", str(merged.id))
    assert cli("customer", "merge", str(kept.id), str(merged.id)).exit_code == 0
    with crm.unit_of_work() as uow:
        for table in (audience, messages, responses, optouts, blacklist):
            owners = set(uow.execute(select(table.c.customer_id)).scalars())
            assert owners == {kept.id}, table.name


def test_merging_two_customers_in_the_same_audience_keeps_one_audience_row(crm, make, service, cli):
    kept = make.customer(city="上海", emails=["k@example.com"])
    merged = make.customer(city="上海", emails=["m@example.com"])
    launch(service)
    assert cli("customer", "merge", str(kept.id), str(merged.id)).exit_code == 0
    with crm.unit_of_work() as uow:
        assert list(uow.execute(select(audience.c.customer_id))) == [(kept.id,)]
        assert sorted(uow.execute(select(messages.c.customer_id)).scalars()) == [kept.id, kept.id]


def test_a_leavers_campaigns_and_leads_go_to_the_successor(crm, make, service, cli, as_user):
    as_user("erin", permissions=["customers.view", "campaigns.view", "campaigns.manage"])
    as_user("frank")
    service(lambda s: s.add("春季促销", owner="erin"))
    assert cli("user", "deactivate", "erin", "--reassign-to", "frank").exit_code == 0
    owner = service(lambda s: s.uow.users.find(s.get("春季促销").owner_id).username)
    assert owner == "frank"


def test_commands_need_the_campaign_permissions(crm, cli, as_user):
    as_user("alice", permissions=["customers.view"])
    result = cli("campaigns", "list", as_="alice")
    assert result.exit_code == 1 and "campaigns.view" in result.stderr


def test_a_department_that_disabled_campaigns_cannot_use_them(crm, cli, as_user):
    as_user("dave", permissions=["customers.view", "campaigns.view"], department="客服中心")
    assert cli("plugins", "disable", "campaigns", "--department", "客服中心").exit_code == 0
    result = cli("campaigns", "list", as_="dave")
    assert result.exit_code == 1 and "disabled" in result.stderr


def test_demo_data_makes_a_campaign_with_results(crm, cli):
    from crmcore.cli.context import CLIState
    from crmcore.demo import make_demo

    summary = make_demo(CLIState(crm=crm))
    assert any("crm campaigns stats" in line for line in summary["lines"])
    stats = cli("campaigns", "stats", "老客户电话回访", json=True).json
    assert stats["responded"] >= 1 and stats["cost"] == "1500.00"


class TestConformance(PluginConformance):
    plugin_name = "campaigns"

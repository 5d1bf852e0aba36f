"""Responses, purchase attribution, leads, costs and the evaluation."""

from datetime import timedelta
from decimal import Decimal

from sqlalchemy import update

from campaigns_helpers import write
from crmcore import hookimpl, utcnow

from crm_campaigns.tables import audience, campaigns, messages

SHANGHAI = {"criteria": [{"field": "city", "op": "eq", "value": "上海"}]}


def launch(service, make, count=4, name="春季促销", *, control=0, attribution_days=30):
    made = [make.customer(name=f"顾客{n}", city="上海", emails=[f"p{n}@example.com"]) for n in range(count)]

    def build(s):
        if s.find_segment("上海") is None:
            s.add_segment("上海", SHANGHAI)
        s.add(name, segment="上海", channels=["email"], control=control, attribution_days=attribution_days, budget="5000")
        s.add_template(name, channel="email", subject="春季特惠", body="{{ customer.name }}您好")
        s.approve(name)
        s.launch(name)

    service(build)
    return made


def group_of(crm, name="春季促销"):
    from sqlalchemy import select

    with crm.unit_of_work() as uow:
        rows = uow.execute(select(audience.c.customer_id, audience.c.grp).join(campaigns, campaigns.c.id == audience.c.campaign_id)
                           .where(campaigns.c.name == name)).all()
    return {customer_id: grp for customer_id, grp in rows}


def test_a_purchase_after_a_message_is_attributed_to_the_campaign(crm, make, service):
    a, b, *_ = launch(service, make)
    make.activity(a.id, "purchase", amount="1200")
    (response,) = service(lambda s: s.responses("春季促销"))
    assert (response["customer_id"], response["type"], response["amount"], response["channel"]) == (a.id, "bought", Decimal("1200.00"), "email")


def test_a_purchase_outside_the_attribution_window_is_not_attributed(crm, make, service):
    a, *_ = launch(service, make, attribution_days=7)
    make.activity(a.id, "purchase", amount="1200", occurred_at=utcnow() + timedelta(days=8))
    make.activity(a.id, "purchase", amount="50", occurred_at=utcnow() - timedelta(days=1))  # before the message
    assert service(lambda s: s.responses("春季促销")) == []


def test_the_last_campaign_to_reach_the_customer_gets_the_purchase(crm, make, service):
    a, *_ = launch(service, make, name="第一波")
    with crm.unit_of_work() as uow:
        uow.execute(update(messages).values(queued_at=uow.now - timedelta(days=2)))
    launch(service, make, count=0, name="第二波")
    make.activity(a.id, "purchase", amount="300")
    assert service(lambda s: s.responses("第一波")) == []
    assert [r["customer_id"] for r in service(lambda s: s.responses("第二波"))] == [a.id]


def test_a_cancelled_purchase_is_taken_out_of_the_campaign(crm, make, service):
    a, *_ = launch(service, make)
    purchase = make.activity(a.id, "purchase", amount="1200")
    with crm.unit_of_work() as uow:
        uow.activities.cancel(purchase.id, reason="退款")
    assert service(lambda s: s.responses("春季促销")) == []
    assert service(lambda s: s.stats("春季促销"))["revenue"] == Decimal("0.00")


def test_imported_purchases_are_attributed_in_one_batch(crm, make, service, cli, tmp_path):
    a, b, *_ = launch(service, make)
    path = write(tmp_path / "purchases.csv", f"客户编号,类型,金额,时间\n{a.code},purchase,800,\n{b.code},purchase,200,\n")
    result = cli("import", "activities", path)
    assert result.exit_code == 0, result
    amounts = sorted(r["amount"] for r in service(lambda s: s.responses("春季促销")))
    assert amounts == [Decimal("200.00"), Decimal("800.00")]


def test_a_bought_response_logs_the_purchase_on_the_timeline(crm, make, service, cli):
    a, *_ = launch(service, make)
    result = cli("campaigns", "response", "春季促销", "--customer", str(a.id), "--type", "bought", "--amount", "1999")
    assert result.exit_code == 0, result
    with crm.unit_of_work() as uow:
        (purchase,) = uow.activities.list(a.id, type="purchase")
    assert purchase.amount == Decimal("1999.00") and purchase.source_plugin == "campaigns"
    assert service(lambda s: s.stats("春季促销"))["revenue"] == Decimal("1999.00")


def test_a_response_from_outside_the_messaged_audience_is_refused(crm, make, service, cli):
    made = launch(service, make, count=10, control=20)
    outsider = make.customer(city="北京")
    in_control = next(c for c, g in group_of(crm).items() if g == "control")
    result = cli("campaigns", "response", "春季促销", "--customer", str(in_control), "--type", "clicked")
    assert result.exit_code == 1 and "control group" in result.stderr
    result = cli("campaigns", "response", "春季促销", "--customer", str(outsider.id), "--type", "clicked")
    assert result.exit_code == 1 and "not in the audience" in result.stderr
    assert len(made) == 10


def test_a_bought_response_needs_an_amount(crm, make, service, cli):
    a, *_ = launch(service, make)
    result = cli("campaigns", "response", "春季促销", "--customer", str(a.id), "--type", "bought")
    assert result.exit_code == 1 and "amount: a purchase needs a positive amount" in result.stderr


class SalesLike:
    """Stands in for the sales plugin: records the leads it is told about."""

    def __init__(self):
        self.leads = []

    @hookimpl(optionalhook=True)
    def crm_campaigns_lead_created(self, uow, customer, campaign, owner_id):
        self.leads.append((customer.id, campaign.name, owner_id))


def test_responders_become_leads_and_sales_is_told_once(crm, make, service, cli, as_user, register_plugin):
    sales = register_plugin(SalesLike(), name="sales")
    as_user("alice")
    a, b, c, d = launch(service, make)
    cli("campaigns", "response", "春季促销", "--customer", str(a.id), "--type", "clicked")
    cli("campaigns", "response", "春季促销", "--customer", str(b.id), "--type", "registered")
    made = cli("campaigns", "lead", "春季促销", "--owner", "alice", json=True)
    assert made.exit_code == 0, made
    assert [row["customer_id"] for row in made.json] == [a.id, b.id]
    alice_id = service(lambda s: s.uow.users.find("alice").id)
    assert sales.leads == [(a.id, "春季促销", alice_id), (b.id, "春季促销", alice_id)]
    assert cli("campaigns", "lead", "春季促销", json=True).json == []  # nobody new
    result = cli("campaigns", "lead", "春季促销", "--customer", str(c.id))
    assert result.exit_code == 1 and "has not responded" in result.stderr


def _evaluated(crm, make, service, cli):
    """20 customers, 5 held out; 3 target customers buy (1000, 2000, 500 of
    which 500 via a response), 1 control customer buys 400; costs 1000."""
    launch(service, make, count=20, control=25)
    groups = group_of(crm)
    target = sorted(c for c, g in groups.items() if g == "target")
    control = sorted(c for c, g in groups.items() if g == "control")
    make.activity(target[0], "purchase", amount="1000")
    make.activity(target[1], "purchase", amount="2000")
    cli("campaigns", "response", "春季促销", "--customer", str(target[2]), "--type", "bought", "--amount", "500")
    cli("campaigns", "response", "春季促销", "--customer", str(target[3]), "--type", "clicked")
    make.activity(control[0], "purchase", amount="400")
    cli("campaigns", "cost", "add", "春季促销", "--amount", "600", "--description", "邮件服务", "--channel", "email")
    cli("campaigns", "cost", "add", "春季促销", "--amount", "400", "--description", "设计")
    return target, control


def test_stats_compute_roi_and_lift_against_the_control_group(crm, make, service, cli):
    _evaluated(crm, make, service, cli)
    stats = cli("campaigns", "stats", "春季促销", json=True).json
    assert (stats["audience"], stats["target"], stats["control"], stats["sent"]) == (20, 15, 5, 15)
    assert stats["revenue"] == "3500.00" and stats["cost"] == "1000.00" and stats["unallocated_cost"] == "400.00"
    assert stats["cost_basis"] == "actual"
    assert stats["roi"] == 2.5  # (3500 - 1000) / 1000
    assert stats["conversions"] == 3 and stats["responded"] == 4
    lift = stats["lift"]
    assert (lift["target_buyers"], lift["control_buyers"]) == (3, 1)
    assert lift["target_rate"] == 0.2 and lift["control_rate"] == 0.2 and lift["lift"] == 0.0
    assert lift["incremental_revenue"] == "2300.00"  # (3500/15 - 400/5) * 15
    (email,) = stats["channels"]
    assert (email["channel"], email["revenue"], email["cost"], email["roi"]) == ("email", "3500.00", "600.00", round(2900 / 600, 4))


def test_without_cost_lines_roi_is_measured_against_the_budget(crm, make, service, cli):
    a, *_ = launch(service, make)
    make.activity(a.id, "purchase", amount="6000")
    stats = cli("campaigns", "stats", "春季促销", json=True).json
    assert (stats["cost"], stats["cost_basis"], stats["actual_cost"], stats["roi"]) == ("5000.00", "budget", "0.00", 0.2)


def test_stats_write_a_funnel_chart(crm, make, service, cli, tmp_path):
    _evaluated(crm, make, service, cli)
    chart = tmp_path / "funnel.svg"
    result = cli("campaigns", "stats", "春季促销", "--chart", str(chart))
    assert result.exit_code == 0 and "ROI 250.0%" in result.stdout
    svg = chart.read_text(encoding="utf-8")
    assert "目标组 target: 15" in svg and "已送达 reached: 0" in svg and "已转化 converted: 3" in svg


def test_campaigns_compare_side_by_side(crm, make, service, cli):
    _evaluated(crm, make, service, cli)
    launch(service, make, count=2, name="夏季促销")
    rows = cli("campaigns", "compare", json=True).json
    assert [(r["campaign"], r["revenue"]) for r in rows] == [("春季促销", "3500.00"), ("夏季促销", "0.00")]

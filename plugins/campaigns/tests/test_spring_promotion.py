"""The issue's commands, as written, end to end through a local SMTP server."""

from datetime import timedelta

from campaigns_helpers import body, header, write
from crmcore import utcnow

SEGMENT_TOML = """
match = "all"
[[criteria]]
field = "city"
op = "eq"
value = "上海"
[[criteria]]
field = "purchases.sum"
window = "365d"
op = "gte"
value = 1000
[[criteria]]
any = [ { field = "tags", op = "contains", value = "vip" }, { field = "rfm.segment", op = "in", value = ["champions", "loyal"] } ]
"""


def _shop(make):
    """Customers 1..8: 上海, vip, bought 1000+ this year (the segment);
    9 bought too little, 10 never bought, 11 and 12 are in 北京."""
    now = utcnow()
    made = []
    for n in range(1, 13):
        city = "北京" if n > 10 else "上海"
        customer = make.customer(name=f"客户{n}", emails=[f"c{n}@example.com"], city=city, tags=["vip"] if n != 9 else [],
                                 gender="female" if n % 2 else "male")
        made.append(customer)
        if n == 9:
            make.activity(customer.id, "purchase", amount="500", occurred_at=now - timedelta(days=10))
        elif n != 10:
            make.activity(customer.id, "purchase", amount=str(900 + 100 * n), occurred_at=now - timedelta(days=30 + n))
            make.activity(customer.id, "purchase", amount="300", occurred_at=now - timedelta(days=400))
    return made


def test_the_spring_promotion_runs_as_written_through_smtp(crm, make, cli, smtp_server, tmp_path):
    made = _shop(make)
    assert [c.id for c in made] == list(range(1, 13))

    assert cli("customer", "edit", "7", "--do-not-contact").exit_code == 0
    assert cli("campaigns", "optout", "8", "--channel", "sms").exit_code == 0
    added = cli("campaigns", "segment", "add", "上海高价值", "--criteria", write(tmp_path / "segment.toml", SEGMENT_TOML))
    assert added.exit_code == 0, added

    preview = cli("campaigns", "segment", "preview", "上海高价值", json=True)
    assert preview.exit_code == 0, preview
    assert preview.json["count"] == 8
    assert [row["id"] for row in preview.json["sample"]] == [1, 2, 3, 4, 5, 6, 7, 8]

    result = cli("campaigns", "add", "春季促销", "--segment", "上海高价值", "--channel", "email", "--budget", "5000", "--control", "10%")
    assert result.exit_code == 0, result
    body_file = write(tmp_path / "body.j2", "{{ customer.name }}{{ customer.salutation }}，您好！春季特惠全场八折。\n")
    result = cli("campaigns", "template", "add", "春季促销", "--channel", "email", "--subject", "{{ customer.name }}，春季特惠",
                 "--body-file", body_file)
    assert result.exit_code == 0, result
    assert cli("campaigns", "approve", "春季促销").exit_code == 0
    launched = cli("campaigns", "launch", "春季促销", json=True)
    assert launched.exit_code == 0, launched
    assert (launched.json["audience"], launched.json["target"], launched.json["control"]) == (8, 7, 1)

    with crm.unit_of_work() as uow:
        from sqlalchemy import select

        from crm_campaigns.tables import audience

        control = set(uow.execute(select(audience.c.customer_id).where(audience.c.grp == "control")).scalars())
    expected = {n for n in range(1, 9)} - control - {7}  # 7 asked not to be contacted at all

    delivered = cli("outbox", "deliver")
    assert delivered.exit_code == 0, delivered
    assert sorted(m["To"] for m in smtp_server) == sorted(f"c{n}@example.com" for n in expected)
    first = next(m for m in smtp_server if m["To"] == f"c{min(expected)}@example.com")
    assert header(first, "Subject") == f"客户{min(expected)}，春季特惠"
    assert body(first).startswith(f"客户{min(expected)}{'女士' if min(expected) % 2 else '先生'}，您好！")

    responder = min(expected)
    response = cli("campaigns", "response", "春季促销", "--customer", str(responder), "--type", "clicked")
    assert response.exit_code == 0, response

    stats = cli("campaigns", "stats", "春季促销", json=True)
    assert stats.exit_code == 0, stats
    data = stats.json
    assert (data["audience"], data["target"], data["control"]) == (8, 7, 1)
    assert data["sent"] == len(expected) and data["delivered"] == len(expected)
    assert data["suppressed"] == 7 - len(expected)
    assert data["responded"] == 1 and data["responses"]["clicked"] == 1
    assert data["response_rate"] == round(1 / len(expected), 4)
    assert data["budget"] == "5000.00"


def test_a_second_delivery_run_sends_nothing_again(crm, make, cli, smtp_server, tmp_path):
    _shop(make)
    cli("campaigns", "segment", "add", "上海高价值", "--criteria", write(tmp_path / "segment.toml", SEGMENT_TOML))
    cli("campaigns", "add", "春季促销", "--segment", "上海高价值", "--channel", "email")
    cli("campaigns", "template", "add", "春季促销", "--channel", "email", "--subject", "特惠", "--body", "您好")
    cli("campaigns", "approve", "春季促销")
    cli("campaigns", "launch", "春季促销")
    cli("outbox", "deliver")
    cli("campaigns", "run", "春季促销")
    cli("outbox", "deliver")
    assert len(smtp_server) == 8

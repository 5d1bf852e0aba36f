"""Sending: opt-outs, blacklist, throttling, steps, A/B tests, delivery state."""

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from crmcore import hookimpl

from crm_campaigns.tables import campaigns

SHANGHAI = {"criteria": [{"field": "city", "op": "eq", "value": "上海"}]}


def people(make, count, **fields):
    return [make.customer(name=f"顾客{n}", city="上海", emails=[f"p{n}@example.com"], phones=[f"1380000{n:04d}"], **fields)
            for n in range(count)]


def campaign(service, name="春季促销", *, channel="email", control=0, throttle=None, body="{{ customer.name }}您好", launch=True):
    def build(s):
        if s.find_segment("上海") is None:
            s.add_segment("上海", SHANGHAI)
        s.add(name, segment="上海", channels=[channel], control=control, throttle=throttle)
        s.add_template(name, channel=channel, subject="春季特惠" if channel == "email" else None, body=body)
        s.approve(name)
        return s.launch(name) if launch else None

    return service(build)


def statuses(crm, name="春季促销"):
    with crm.unit_of_work() as uow:
        rows = uow.service("campaigns").messages(name, limit=1000)
    return {row["customer_id"]: row["status"] for row in rows}


def test_a_blacklisted_customer_is_never_messaged_whatever_the_segment(crm, make, service, cli):
    a, b = people(make, 2)
    assert cli("campaigns", "blacklist", "add", str(b.id), "--reason", "投诉骚扰").exit_code == 0
    result = campaign(service)
    assert result["queued"] == 1 and result["suppressed"] == 1
    assert statuses(crm) == {a.id: "queued", b.id: "suppressed"}
    with crm.unit_of_work() as uow:
        assert [m.recipient for m in uow.outbox.list()] == [a.emails[0]]


def test_a_channel_opt_out_stops_that_channel_only(crm, make, service, cli):
    a, b = people(make, 2)
    assert cli("campaigns", "optout", str(b.id), "--channel", "sms").exit_code == 0
    campaign(service, "短信", channel="sms")
    campaign(service, "邮件", channel="email")
    assert statuses(crm, "短信") == {a.id: "queued", b.id: "suppressed"}
    assert statuses(crm, "邮件") == {a.id: "queued", b.id: "queued"}


def test_turning_on_do_not_contact_withdraws_queued_messages(crm, make, service, cli):
    a, b = people(make, 2)
    campaign(service)
    assert cli("customer", "edit", str(b.id), "--do-not-contact").exit_code == 0
    with crm.unit_of_work() as uow:
        by_customer = {m.customer_id: m.status for m in uow.outbox.list()}
    assert by_customer == {a.id: "pending", b.id: "cancelled"}
    assert statuses(crm)[b.id] == "cancelled"


def test_opting_out_after_queuing_withdraws_the_channels_messages(crm, make, service, cli):
    a, b = people(make, 2)
    campaign(service)
    result = cli("campaigns", "optout", str(a.id), "--channel", "email", json=True)
    assert result.json["withdrawn"] == 1
    with crm.unit_of_work() as uow:
        assert {m.customer_id: m.status for m in uow.outbox.list()} == {a.id: "cancelled", b.id: "pending"}


def test_customers_without_an_address_for_the_channel_are_suppressed_with_a_reason(crm, make, service):
    a = make.customer(city="上海", emails=["x@example.com"], phones=["021-64371234"])
    campaign(service, channel="sms")
    with crm.unit_of_work() as uow:
        (row,) = uow.service("campaigns").messages("春季促销")
    assert (row["customer_id"], row["status"], row["reason"]) == (a.id, "suppressed", "no mobile number")


def test_the_control_group_is_held_out_and_never_messaged(crm, make, service):
    made = people(make, 20)
    result = campaign(service, control="25%")
    assert (result["target"], result["control"], result["queued"]) == (15, 5, 15)
    from crm_campaigns.tables import audience

    with crm.unit_of_work() as uow:
        control = set(uow.execute(select(audience.c.customer_id).where(audience.c.grp == "control")).scalars())
    assert len(control) == 5 and not control & set(statuses(crm)) and control < {c.id for c in made}


def test_throttling_caps_the_messages_queued_per_run(crm, make, service, cli):
    people(make, 7)
    assert campaign(service, throttle=3)["queued"] == 3
    assert cli("campaigns", "run", json=True).json["queued"] == 3
    assert cli("campaigns", "run", json=True).json["queued"] == 1
    assert cli("campaigns", "run", json=True).json["queued"] == 0
    assert len(statuses(crm)) == 7
    assert service(lambda s: s.steps("春季促销")[0].status) == "done"


def test_running_again_never_sends_a_step_twice(crm, make, service, cli):
    people(make, 3)
    campaign(service)
    for _ in range(2):
        assert cli("campaigns", "run", "春季促销", "--step", "1", json=True).json["queued"] == 0
    with crm.unit_of_work() as uow:
        assert len(uow.outbox.list()) == 3


def test_a_reminder_goes_after_its_delay_to_those_who_did_not_respond(crm, make, service, cli):
    a, b, c = people(make, 3)
    campaign(service, launch=False)
    assert cli("campaigns", "step", "add", "春季促销", "--channel", "email", "--after", "3d", "--only", "non-responders").exit_code == 0
    assert cli("campaigns", "template", "add", "春季促销", "--channel", "email", "--step", "2", "--subject", "最后一天",
               "--body", "{{ customer.name }}，特惠今晚结束").exit_code == 0
    assert cli("campaigns", "approve", "春季促销").exit_code == 0
    assert cli("campaigns", "launch", "春季促销", json=True).json["queued"] == 3
    cli("campaigns", "response", "春季促销", "--customer", str(a.id), "--type", "opened")
    assert cli("campaigns", "run", json=True).json["queued"] == 0  # not due yet
    with crm.unit_of_work() as uow:
        uow.execute(update(campaigns).values(launched_at=uow.now - timedelta(days=3, minutes=1)))
    assert cli("campaigns", "run", json=True).json["queued"] == 2
    with crm.unit_of_work() as uow:
        reminders = [m for m in uow.outbox.list() if m.subject == "最后一天"]
    assert sorted(m.customer_id for m in reminders) == [b.id, c.id]


def test_a_step_can_be_sent_now_whatever_its_delay(crm, make, service, cli):
    people(make, 2)
    campaign(service, launch=False)
    service(lambda s: s.add_step("春季促销", channel="sms", after_days=7))
    service(lambda s: s.add_template("春季促销", channel="sms", body="{{ customer.name }}：春季特惠", step=2))
    service(lambda s: (s.approve("春季促销"), s.launch("春季促销")))
    assert cli("campaigns", "run", "春季促销", "--step", "2", json=True).json["queued"] == 2


def _ab_campaign(service, cli, make, size=20):
    made = people(make, size)
    campaign(service, launch=False)
    service(lambda s: s.add_template("春季促销", channel="email", subject="八折", body="B 版 {{ customer.name }}", variant="B"))
    assert cli("campaigns", "step", "edit", "春季促销", "1", "--ab", "50%").exit_code == 0
    service(lambda s: s.approve("春季促销"))
    return made


def test_an_ab_test_sends_the_variants_to_a_sample_and_the_winner_to_the_rest(crm, make, service, cli):
    _ab_campaign(service, cli, make)
    launched = cli("campaigns", "launch", "春季促销", json=True).json
    assert launched["queued"] == 10
    sent = {row["customer_id"]: row["variant"] for row in service(lambda s: s.messages("春季促销"))}
    assert sorted(sent.values()) == ["A"] * 5 + ["B"] * 5
    for customer_id in [c for c, v in sent.items() if v == "B"][:3]:
        cli("campaigns", "response", "春季促销", "--customer", str(customer_id), "--type", "clicked")
    for customer_id in [c for c, v in sent.items() if v == "A"][:1]:
        cli("campaigns", "response", "春季促销", "--customer", str(customer_id), "--type", "clicked")
    assert cli("campaigns", "run", json=True).json["queued"] == 0  # the test runs for 24 hours
    result = cli("campaigns", "winner", "春季促销", "--step", "1", json=True)
    assert result.exit_code == 0, result
    assert result.json["winner"] == "B" and result.json["queued"] == 10
    rest = [row for row in service(lambda s: s.messages("春季促销")) if row["customer_id"] not in sent]
    assert len(rest) == 10 and {row["variant"] for row in rest} == {"B"}


def test_the_ab_winner_is_picked_by_run_once_the_test_time_is_over(crm, make, service, cli):
    _ab_campaign(service, cli, make, size=4)
    cli("campaigns", "launch", "春季促销")
    sent = {row["customer_id"]: row["variant"] for row in service(lambda s: s.messages("春季促销"))}
    cli("campaigns", "response", "春季促销", "--customer", str(next(c for c, v in sent.items() if v == "A")), "--type", "clicked")
    from crm_campaigns.tables import steps

    with crm.unit_of_work() as uow:
        uow.execute(update(steps).values(started_at=uow.now - timedelta(hours=25)))
    assert cli("campaigns", "run", json=True).json["queued"] == 2
    assert service(lambda s: s.steps("春季促销")[0].winner) == "A"


class FailingSms:
    """An SMS gateway that is down."""

    @staticmethod
    @hookimpl
    def crm_register_outbox_channels(register):
        def deliver(message):
            raise ConnectionError("gateway unreachable")

        register("sms", deliver)


def test_delivery_failures_are_recorded_and_retried_with_backoff(crm, make, service, cli, register_plugin):
    register_plugin(FailingSms(), name="failing_sms")
    people(make, 1)
    campaign(service, channel="sms")
    assert cli("outbox", "deliver").exit_code == 0
    (row,) = service(lambda s: s.messages("春季促销"))
    assert (row["status"], row["attempts"]) == ("queued", 1) and "gateway unreachable" in row["error"]
    with crm.unit_of_work() as uow:
        (waiting,) = uow.outbox.list()
    assert waiting.status == "pending" and waiting.next_attempt_at > waiting.created_at + timedelta(seconds=30)


def test_delivered_messages_are_marked_sent(crm, make, service, cli, tmp_path):
    crm.config.outbox_dir = str(tmp_path)
    people(make, 2)
    campaign(service, channel="sms", body="{{ customer.name }}：春季特惠")
    cli("outbox", "deliver")
    assert set(statuses(crm).values()) == {"sent"}
    texts = sorted(p.read_text(encoding="utf-8") for p in (tmp_path / "sms").iterdir())
    assert "顾客0：春季特惠" in texts[0]


def test_a_phone_step_makes_a_call_list_instead_of_messages(crm, make, service, cli):
    a, b = people(make, 2)
    campaign(service, channel="phone", body="请致电 {{ customer.name }}")
    listed = cli("campaigns", "calllist", "春季促销", "--step", "1", json=True).json
    assert [row["customer_id"] for row in listed] == [a.id, b.id]
    with crm.unit_of_work() as uow:
        assert uow.outbox.list() == []


def test_the_template_preview_renders_for_one_customer(crm, make, service, cli):
    (a,) = people(make, 1, gender="female")
    campaign(service, body="{{ customer.name }}{{ customer.salutation }}，{{ campaign.name }}开始了", launch=False)
    shown = cli("campaigns", "template", "preview", "春季促销", "--customer", str(a.id), json=True).json
    assert shown["body"] == "顾客0女士，春季促销开始了" and shown["recipient"] == "p0@example.com"


def test_a_template_with_a_typo_is_refused(crm, make, service, cli):
    service(lambda s: s.add("春季促销", channels=["email"]))
    result = cli("campaigns", "template", "add", "春季促销", "--channel", "email", "--subject", "hi", "--body", "{{ customer.nmae }}")
    assert result.exit_code == 1 and "body:" in result.stderr and "nmae" in result.stderr
    result = cli("campaigns", "template", "add", "春季促销", "--channel", "email", "--subject", "hi", "--body", "{% if %}")
    assert result.exit_code == 1 and "body: line 1" in result.stderr


def test_the_customers_language_picks_the_template(crm, make, service):
    with crm.unit_of_work() as uow:
        uow.custom_fields.add("language", "text", "语言")
    zh = make.customer(city="上海", emails=["zh@example.com"])
    en = make.customer(city="上海", emails=["en@example.com"], custom={"language": "en"})
    campaign(service, body="您好 {{ customer.name }}", launch=False)
    service(lambda s: s.add_template("春季促销", channel="email", subject="Spring sale", body="Hello {{ customer.name }}", language="en"))
    service(lambda s: (s.approve("春季促销"), s.launch("春季促销")))
    with crm.unit_of_work() as uow:
        bodies = {m.customer_id: m.body for m in uow.outbox.list()}
    assert bodies[zh.id].startswith("您好") and bodies[en.id].startswith("Hello")


def test_a_campaign_must_be_approved_before_launch_and_changes_need_approval_again(crm, make, service, cli):
    people(make, 1)
    campaign(service, launch=False)
    service(lambda s: s.add_template("春季促销", channel="email", subject="改了", body="新的正文"))
    result = cli("campaigns", "launch", "春季促销")
    assert result.exit_code == 1 and "must be approved" in result.stderr


def test_approval_needs_the_approve_permission(crm, make, service, cli, as_user):
    as_user("erin", permissions=["customers.view", "campaigns.view", "campaigns.manage"])
    campaign(service, launch=False)
    service(lambda s: s.add_step("春季促销", channel="sms"))  # back to draft
    result = cli("campaigns", "approve", "春季促销", as_="erin")
    assert result.exit_code == 1 and "campaigns.approve" in result.stderr


def test_a_cancelled_campaign_withdraws_undelivered_messages(crm, make, service, cli):
    people(make, 2)
    campaign(service)
    assert cli("campaigns", "cancel", "春季促销").exit_code == 0
    with crm.unit_of_work() as uow:
        assert {m.status for m in uow.outbox.list()} == {"cancelled"}
    assert cli("campaigns", "run", "春季促销").exit_code == 1


@pytest.mark.parametrize("args, message", [
    (["--control", "120%"], "control: must be a whole percentage"),
    (["--channel", "fax"], "channel: 'fax' is not one of"),
    (["--budget", "lots"], "budget: 'lots' is not an amount"),
    (["--start", "2026-05-01", "--end", "2026-04-01"], "end: 2026-04-01 is before the start"),
])
def test_bad_campaign_settings_are_refused(crm, cli, args, message):
    result = cli("campaigns", "add", "活动", *args)
    assert result.exit_code == 1 and message in result.stderr
    assert cli("campaigns", "list", json=True).json == []


def test_a_message_the_outbox_refuses_is_recorded_and_not_retried_forever(crm, make, service):
    a, b = people(make, 2)
    campaign(service, launch=False)
    step_id = service(lambda s: s.steps("春季促销")[0].id)
    campaign_id = service(lambda s: s.get("春季促销").id)
    with crm.unit_of_work() as uow:  # something queued under the same key already
        uow.outbox.put("email", "x@example.com", "旧的", "旧的", dedupe_key=f"campaigns:{campaign_id}:{step_id}:{a.id}")
    result = service(lambda s: s.launch("春季促销"))
    assert (result["queued"], result["suppressed"]) == (1, 1)
    assert statuses(crm) == {a.id: "suppressed", b.id: "queued"}

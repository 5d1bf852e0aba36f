"""Segments: criteria as data compiled to one SQL query over customers."""

import json
from datetime import date, timedelta

import pytest
from sqlalchemy import event, select

from campaigns_helpers import segment_ids, write
from crmcore import ValidationError, hookimpl, utcnow
from crmcore.tables import customer_tags, customers


def doc(*criteria, match="all"):
    return {"match": match, "criteria": list(criteria)}


def test_core_fields_match_by_value_list_and_substring(crm, make):
    a = make.customer(name="上海明源", city="上海", industry="房地产")
    b = make.customer(name="杭州云帆", city="杭州", industry="软件")
    make.customer(name="无城市客户")
    assert segment_ids(crm, doc({"field": "city", "op": "eq", "value": "上海"})) == [a.id]
    assert segment_ids(crm, doc({"field": "city", "op": "in", "value": ["上海", "杭州"]})) == [a.id, b.id]
    assert segment_ids(crm, doc({"field": "name", "op": "contains", "value": "云帆"})) == [b.id]


def test_ne_and_not_include_customers_without_the_field(crm, make):
    make.customer(city="上海")
    b = make.customer(city="杭州")
    c = make.customer()
    assert segment_ids(crm, doc({"field": "city", "op": "ne", "value": "上海"})) == [b.id, c.id]
    assert segment_ids(crm, doc({"not": {"field": "city", "op": "eq", "value": "上海"}})) == [b.id, c.id]
    assert segment_ids(crm, doc({"field": "city", "op": "exists"})) == [b.id - 1, b.id]


def test_any_all_and_not_nest(crm, make):
    a = make.customer(city="上海", tags=["vip"])
    b = make.customer(city="上海", tags=["团购"])
    c = make.customer(city="北京", tags=["vip"])
    make.customer(city="北京")
    nested = doc({"any": [
        {"all": [{"field": "city", "value": "上海"}, {"not": [{"field": "tags", "op": "contains", "value": "vip"}]}]},
        {"all": [{"field": "city", "value": "北京"}, {"field": "tags", "op": "contains", "value": "vip"}]},
    ]})
    assert segment_ids(crm, nested) == [b.id, c.id]
    assert segment_ids(crm, doc({"field": "city", "value": "上海"}, {"field": "tags", "value": "vip"}, match="any")) == [a.id, b.id, c.id]


def test_levels_and_stages_accept_codes_and_labels(crm, make):
    a = make.customer(level="vip", stage="stability")
    make.customer(level="normal")
    assert segment_ids(crm, doc({"field": "level", "op": "eq", "value": "贵宾"})) == [a.id]
    assert segment_ids(crm, doc({"field": "lifecycle", "op": "in", "value": ["stability"]})) == [a.id]


def test_tags_contains_in_not_in_and_exists(crm, make):
    a = make.customer(tags=["vip", "老客户"])
    b = make.customer(tags=["团购"])
    c = make.customer()
    assert segment_ids(crm, doc({"field": "tags", "op": "contains", "value": ["vip", "老客户"]})) == [a.id]
    assert segment_ids(crm, doc({"field": "tags", "op": "in", "value": ["vip", "团购"]})) == [a.id, b.id]
    assert segment_ids(crm, doc({"field": "tags", "op": "not_in", "value": ["vip"]})) == [b.id, c.id]
    assert segment_ids(crm, doc({"field": "tags", "op": "exists", "value": False})) == [c.id]


def test_age_is_counted_in_whole_years_from_the_birthday(crm, make):
    today = utcnow().date()
    thirty = make.customer(birthday=date(today.year - 30, 1, 1) if (today.month, today.day) >= (1, 1) else None)
    forty = make.customer(birthday=date(today.year - 41, 12, 31) if (today.month, today.day) < (12, 31) else date(today.year - 40, 12, 31))
    make.customer()
    assert segment_ids(crm, doc({"field": "age", "op": "between", "value": [25, 35]})) == [thirty.id]
    assert segment_ids(crm, doc({"field": "age", "op": "eq", "value": 40})) == [forty.id]
    assert segment_ids(crm, doc({"field": "age", "op": "gte", "value": 31})) == [forty.id]


def test_custom_fields_compare_with_their_declared_type(crm, make):
    with crm.unit_of_work() as uow:
        uow.custom_fields.add("wechat_level", "int", "微信等级")
    a = make.customer(custom={"wechat_level": 5})
    make.customer(custom={"wechat_level": 2})
    make.customer()
    assert segment_ids(crm, doc({"field": "custom.wechat_level", "op": "gt", "value": 3})) == [a.id]
    assert segment_ids(crm, doc({"field": "wechat_level", "op": "gte", "value": "5"})) == [a.id]


def test_owner_and_department_select_the_subtree(crm, make, as_user):
    with crm.unit_of_work() as uow:
        uow.departments.add("华东区")
    as_user("alice", department="上海分公司", parent="华东区")
    as_user("bob", department="北京分公司")
    with crm.unit_of_work() as uow:
        alice, bob = uow.users.find("alice"), uow.users.find("bob")
    a = make.customer(owner_id=alice.id)
    make.customer(owner_id=bob.id)
    assert segment_ids(crm, doc({"field": "department", "value": "华东区"})) == [a.id]
    assert segment_ids(crm, doc({"field": "owner", "op": "eq", "value": "alice"})) == [a.id]


def test_purchase_facts_count_only_the_window_and_not_cancelled(crm, make):
    now = utcnow()
    recent = make.customer()
    make.activity(recent.id, "purchase", amount="600", occurred_at=now - timedelta(days=10))
    make.activity(recent.id, "purchase", amount="600", occurred_at=now - timedelta(days=20))
    old = make.customer()
    make.activity(old.id, "purchase", amount="5000", occurred_at=now - timedelta(days=400))
    refunded = make.customer()
    purchase = make.activity(refunded.id, "purchase", amount="5000", occurred_at=now - timedelta(days=5))
    with crm.unit_of_work() as uow:
        uow.activities.cancel(purchase.id)
    big = doc({"field": "purchases.sum", "window": "365d", "op": "gte", "value": 1000})
    assert segment_ids(crm, big) == [recent.id]
    assert segment_ids(crm, doc({"field": "purchases.count", "window": "1y", "op": "eq", "value": 2})) == [recent.id]


def test_a_count_below_a_threshold_includes_customers_who_never_bought(crm, make):
    now = utcnow()
    twice = make.customer()
    for days in (1, 2):
        make.activity(twice.id, "purchase", amount="10", occurred_at=now - timedelta(days=days))
    once = make.customer()
    make.activity(once.id, "purchase", amount="10")
    never = make.customer()
    assert segment_ids(crm, doc({"field": "purchases.count", "op": "lt", "value": 2})) == [once.id, never.id]


def test_activity_of_a_type_within_days(crm, make):
    now = utcnow()
    visited = make.customer()
    make.activity(visited.id, "visit", occurred_at=now - timedelta(days=3))
    long_ago = make.customer()
    make.activity(long_ago.id, "visit", occurred_at=now - timedelta(days=90))
    assert segment_ids(crm, doc({"field": "activity.visit.count", "window": "30d", "op": "exists"})) == [visited.id]
    assert segment_ids(crm, doc({"field": "activity.visit.count", "op": "gte", "value": 1})) == [visited.id, long_ago.id]


def _rfm_shop(make):
    """Five buyers, each better than the next on recency, frequency and money."""
    now = utcnow()
    made = []
    for rank in range(5):  # rank 0 is the best
        customer = make.customer(name=f"买家{rank}")
        for n in range(5 - rank):
            make.activity(customer.id, "purchase", amount=str(1000 * (5 - rank)), occurred_at=now - timedelta(days=10 * rank + n * 40 + 1))
        made.append(customer)
    make.customer(name="从未购买")
    return made


def test_rfm_quintiles_rank_buyers_against_each_other(crm, make):
    best, second, middle, fourth, worst = _rfm_shop(make)
    assert segment_ids(crm, doc({"field": "rfm.r", "op": "eq", "value": 5})) == [best.id]
    assert segment_ids(crm, doc({"field": "rfm.score", "op": "eq", "value": 111})) == [worst.id]
    assert segment_ids(crm, doc({"field": "rfm.m", "op": "gte", "value": 4})) == [best.id, second.id]
    assert segment_ids(crm, doc({"field": "rfm.segment", "op": "in", "value": ["champions", "loyal"]})) == [best.id, second.id]
    assert segment_ids(crm, doc({"field": "rfm.segment", "op": "eq", "value": "lost"})) == [worst.id]


def test_customers_without_purchases_are_in_no_rfm_segment(crm, make):
    best, second, middle, fourth, worst = _rfm_shop(make)
    never = best.id + 5
    from crm_campaigns.criteria import RFM_SEGMENTS

    assert never not in segment_ids(crm, doc({"field": "rfm.segment", "op": "in", "value": list(RFM_SEGMENTS)}))
    not_champions = segment_ids(crm, doc({"field": "rfm.segment", "op": "ne", "value": "champions"}))
    assert not_champions == [middle.id, fourth.id, worst.id, never]


class MembershipLike:
    """Stands in for a plugin contributing criteria (membership.tier)."""

    @staticmethod
    @hookimpl(optionalhook=True)
    def crm_campaigns_segment_criteria(register):
        from crmcore import ValidationError

        def tier(op, value):
            if op not in ("eq", "in"):
                raise ValidationError("criteria: membership.tier supports eq and in")
            values = value if op == "in" else [value]
            return customers.c.id.in_(select(customer_tags.c.customer_id).where(customer_tags.c.tag.in_([f"tier:{v}" for v in values])))

        register("membership.tier", "会员等级", tier)


def test_other_plugins_contribute_criteria_through_the_hook(crm, make, register_plugin, cli):
    register_plugin(MembershipLike(), name="membership")
    gold = make.customer(tags=["tier:gold"], city="上海")
    make.customer(tags=["tier:silver"], city="上海")
    assert segment_ids(crm, doc({"field": "city", "value": "上海"}, {"field": "membership.tier", "op": "in", "value": ["gold"]})) == [gold.id]
    fields = cli("campaigns", "segment", "fields", json=True).json
    assert {"field": "membership.tier", "label": "会员等级", "type": "text", "source": "membership"} in fields


def test_a_plugins_refusal_names_the_criterion(crm, make, register_plugin):
    register_plugin(MembershipLike(), name="membership")
    with pytest.raises(ValidationError, match=r"criteria\[1\]: membership.tier supports eq and in"):
        segment_ids(crm, doc({"field": "membership.tier", "op": "contains", "value": "go"}))


def test_a_field_of_an_absent_plugin_is_an_unknown_field(crm):
    with pytest.raises(ValidationError, match=r"criteria\[1\]\.field: unknown field 'membership.tier'"):
        segment_ids(crm, doc({"field": "membership.tier", "value": "gold"}))


@pytest.mark.parametrize("node, message", [
    ({"field": "citty", "value": "上海"}, r"criteria\[2\]\.field: unknown field 'citty'"),
    ({"field": "city", "op": "like", "value": "上海"}, r"criteria\[2\]\.op: 'like' is not one of"),
    ({"field": "purchases.sum", "op": "gte", "value": "lots"}, r"criteria\[2\]\.value: expected a number"),
    ({"field": "age", "op": "between", "value": [30]}, r"criteria\[2\]\.value: between takes a list of two"),
    ({"field": "city", "value": "上海", "window": "30d"}, r"criteria\[2\]\.window: only activity facts"),
    ({"field": "purchases.count", "window": "soon", "op": "gte", "value": 1}, r"criteria\[2\]\.window: 'soon' is not a period"),
    ({"any": [{"field": "city", "value": "上海"}, {"field": "city", "colour": "red"}]}, r"criteria\[2\]\.any\[2\]: unknown key\(s\) colour"),
    ({"field": "rfm.segment", "op": "eq", "value": "heroes"}, r"criteria\[2\]\.value: 'heroes' is not an RFM segment"),
])
def test_errors_name_the_bad_criterion(crm, node, message):
    with pytest.raises(ValidationError, match=message):
        segment_ids(crm, doc({"field": "city", "value": "上海"}, node))


def test_a_segment_respects_the_actors_scope(crm, make, as_user):
    as_user("alice", department="上海分公司", permissions=["customers.view", "campaigns.view"])
    as_user("bob", department="北京分公司")
    with crm.unit_of_work() as uow:
        alice, bob = uow.users.find("alice"), uow.users.find("bob")
    mine = make.customer(city="上海", owner_id=alice.id)
    make.customer(city="上海", owner_id=bob.id)
    criteria = doc({"field": "city", "value": "上海"})
    assert len(segment_ids(crm, criteria)) == 2
    assert segment_ids(crm, criteria, actor="alice") == [mine.id]


def test_preview_runs_one_query_for_the_count_and_one_for_the_sample(crm, make, service):
    now = utcnow()
    for n in range(3):
        customer = make.customer(city="上海", tags=["vip"])
        make.activity(customer.id, "purchase", amount="2000", occurred_at=now - timedelta(days=n + 1))
    criteria = doc({"field": "city", "value": "上海"}, {"field": "purchases.sum", "window": "365d", "op": "gte", "value": 1000},
                   {"any": [{"field": "tags", "op": "contains", "value": "vip"}, {"field": "rfm.segment", "op": "in", "value": ["champions"]}]})
    statements = []

    def count(conn, cursor, statement, *args):
        if statement.lstrip().upper().startswith(("SELECT", "WITH")) and "customers" in statement:
            statements.append(statement)

    with crm.unit_of_work() as uow:
        campaigns = uow.service("campaigns")
        campaigns.compiler.plugin_fields()  # the field catalogue is not part of the segment's query
        uow.customers.scope(select(customers.c.id))
        event.listen(crm.engine, "before_cursor_execute", count)
        try:
            result = campaigns.preview(criteria)
        finally:
            event.remove(crm.engine, "before_cursor_execute", count)
    assert result["count"] == 3
    assert len(statements) == 2


def test_segment_add_reads_json_and_preview_prints_a_sample(crm, make, cli, tmp_path):
    a = make.customer(city="上海")
    path = write(tmp_path / "seg.json", json.dumps({"criteria": [{"field": "city", "op": "eq", "value": "上海"}]}, ensure_ascii=False))
    assert cli("campaigns", "segment", "add", "上海客户", "--criteria", path).exit_code == 0
    shown = cli("campaigns", "segment", "preview", "上海客户")
    assert shown.exit_code == 0 and "1 customers" in shown.stdout and a.name in shown.stdout


def test_a_bad_criteria_file_is_refused_with_exit_1_and_nothing_saved(crm, cli, tmp_path):
    path = write(tmp_path / "seg.toml", '[[criteria]]\nfield = "citty"\nvalue = "上海"\n')
    result = cli("campaigns", "segment", "add", "坏的", "--criteria", path)
    assert result.exit_code == 1 and "criteria[1].field: unknown field 'citty'" in result.stderr
    assert cli("campaigns", "segment", "list", json=True).json == []


def test_a_segment_in_use_cannot_be_removed(crm, cli, tmp_path):
    path = write(tmp_path / "seg.toml", '[[criteria]]\nfield = "city"\nvalue = "上海"\n')
    cli("campaigns", "segment", "add", "上海客户", "--criteria", path)
    cli("campaigns", "add", "活动", "--segment", "上海客户")
    result = cli("campaigns", "segment", "remove", "上海客户")
    assert result.exit_code == 1 and "used by campaign(s) 活动" in result.stderr

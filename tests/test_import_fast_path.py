"""The importer's bulk path: rows validated without ``Customer(**fields)``,
one at a time or column by column, must be judged by the same rules with the
same words, name tokens cached per import must be the tokens of each row, and
codes generated ahead of the insert must be the service's codes."""

import gc

import pytest
from sqlalchemy import select

from crmcore import hookimpl
from crmcore.domain.customers import Customer, build_customer
from crmcore.errors import ValidationError
from crmcore.importing import CustomerImport
from crmcore.phones import normalise_phone
from crmcore.search import name_key, search_tokens
from crmcore.storage.tables import customers

FIELDS = [
    {"name": "张伟", "phones": ["138 0013 8000"], "emails": ["Zw@Example.com"], "city": "上海"},
    {"name": "上海明源地产有限公司", "kind": "organization", "tags": "vip、老客户、vip", "custom": {"a": 1}},
    {"name": "  王芳 ", "birthday": "1990年5月6日", "gender": "female", "do_not_contact": "是"},
    {"name": ""},
    {"name": "", "phones": ["12345"]},  # a converter fails before a validator, as in __init__
    {"name": "x" * 201},
    {"name": "李雷", "kind": "company"},
    {"name": "李雷", "gender": "m"},
    {"name": "李雷", "phones": ["12345"]},
    {"name": "李雷", "emails": ["not an address"]},
    {"name": "李雷", "birthday": "1990-02-30"},
]


def outcome(build, fields):
    try:
        return build(dict(fields))
    except ValidationError as error:
        return error.errors


@pytest.mark.parametrize("fields", FIELDS)
def test_the_bulk_builder_judges_as_the_class_does(fields):
    assert outcome(build_customer, fields) == outcome(lambda given: Customer(**given), fields)


def as_columns(rows):
    """Rows of fields as columns, "" where a row does not give a field."""
    names = sorted({name for row in rows for name in row})
    return {name: [row.get(name, "") for row in rows] for name in names}


def test_checking_columns_judges_each_row_as_the_class_does():
    rows = FIELDS + FIELDS[:3]  # repeated rows: values checked once, each row still judged
    converted, failed = build_customer.check_columns(as_columns(rows), len(rows))
    for row, fields in enumerate(rows):
        expected = outcome(lambda given: Customer(**given), fields)
        if isinstance(expected, Customer):
            assert row not in failed, (fields, failed.get(row))
            assert build_customer.assemble({name: values[row] for name, values in converted.items()}) == expected
        else:
            assert failed[row].errors == expected, fields


def test_a_default_that_fails_fails_every_row_once_checked_as_columns():
    converted, failed = build_customer.check_columns({"city": ["上海", "北京"]}, 2)
    assert [failed[row].errors for row in (0, 1)] == [["name: must not be empty"]] * 2


def test_customers_assembled_from_repeated_values_do_not_share_lists():
    converted, failed = build_customer.check_columns({"name": ["甲", "乙"], "tags": ["vip", "vip"]}, 2)
    first, second = (build_customer.assemble({name: values[row] for name, values in converted.items()}) for row in (0, 1))
    first.tags.append("老客户")
    assert (failed, second.tags) == ({}, ["vip"])


def test_built_customers_do_not_share_default_lists():
    first, second = build_customer({"name": "a"}), build_customer({"name": "b"})
    first.tags.append("x")
    first.custom["y"] = 1
    assert (second.tags, second.custom) == ([], {})


def test_a_default_of_the_moment_is_taken_when_each_object_is_built():
    from crmcore.clock import utcnow
    from crmcore.domain.activities import build_activity

    before = utcnow()
    assert build_activity({"customer_id": 1, "type": "note"}).occurred_at >= before
    converted, failed = build_activity.check_columns({"customer_id": [1], "type": ["note"]}, 1)
    assert failed == {} and build_activity.assemble({name: values[0] for name, values in converted.items()}).occurred_at >= before


def test_unknown_fields_are_refused_as_by_the_class():
    with pytest.raises(TypeError):
        build_customer({"name": "a", "colour": "red"})


@pytest.mark.parametrize("spelling", ["13800138000", "138 0013 8000", "138-0013-8000", "+86 138-0013-8000", "0086 13800138000",
                                      "１３８００１３８０００", "(138) 0013.8000", "138\t0013\t8000", "\u3000138 0013 8000"])
def test_every_mobile_spelling_gives_the_same_number(spelling):
    assert normalise_phone(spelling) == "13800138000"


def test_landlines_and_foreign_numbers_still_take_phonenumbers():
    assert normalise_phone("021-5555 1234") == "02155551234"
    assert normalise_phone("+1 415 555 2671") == "+14155552671"
    with pytest.raises(ValidationError, match="not a valid phone number"):
        normalise_phone("12345")


def write(path, text):
    path.write_text(text, encoding="utf-8")
    return path


def test_a_row_is_rejected_with_the_reason_the_service_gives(crm, tmp_path):
    rows = {"3": ("李雷,企业集团,13800138001,,", "类型"), "4": ("韩梅梅,个人,12345,,", "手机"),
            "5": ("王芳,个人,13800138002,wf@,", "邮箱"), "6": (",个人,13800138003,,", "客户名称"),
            "7": ("赵六,个人,13800138004,,1990-02-30", "生日")}
    source = write(tmp_path / "rows.csv", "客户名称,类型,手机,邮箱,生日\n张伟,个人,13800138000,,\n"
                   + "".join(row + "\n" for row, _ in rows.values()))
    with crm.unit_of_work() as uow:
        result = CustomerImport(uow).run(source)
    assert result.created == 1
    given = {"3": {"name": "李雷", "kind": "企业集团"}, "4": {"name": "韩梅梅", "phones": ["12345"]},
             "5": {"name": "王芳", "emails": ["wf@"]}, "6": {"name": ""}, "7": {"name": "赵六", "birthday": "1990-02-30"}}
    for rejection in result.rejected:
        line = str(rejection.line)
        assert rejection.column == rows[line][1]
        if line == "3":  # 企业集团 is not a value the importer translates; it says which are
            assert rejection.reason.startswith("'企业集团' is not one of")
            continue
        with pytest.raises(ValidationError) as error, crm.unit_of_work() as uow:
            uow.customers.create(**given[line])
        assert rejection.reason == error.value.errors[0].partition(": ")[2]
    assert sorted(str(r.line) for r in result.rejected) == sorted(rows)


def test_repeated_names_get_each_row_its_own_tokens_and_key(crm, tmp_path):
    lines = ["张伟,个人,1380013800{}".format(i) for i in range(4)] + ["明源有限公司,企业,13900139000", "明源有限公司,个人,13900139001"]
    source = write(tmp_path / "names.csv", "客户名称,类型,手机\n" + "\n".join(lines) + "\n")
    with crm.unit_of_work() as uow:
        assert CustomerImport(uow).run(source).created == 6
        stored = uow.execute(select(customers.c.name, customers.c.kind, customers.c.search_text, customers.c.name_key)).all()
        assert {row.name_key for row in stored if row.name == "明源有限公司"} == {"明源", "明源有限公司"}
        for name, kind, text, key in stored:
            assert (text, key) == (search_tokens(name), name_key(name, kind))
        assert [c.name for c in uow.customers.search("zw")] == ["张伟"] * 4


def test_generated_codes_step_around_codes_given_explicitly(crm, tmp_path):
    with crm.unit_of_work() as uow:
        uow.customers.create(name="先来的", code="C000003")
    # line 2 becomes customer 2, whose code C000002 line 3 claims; customer 4's C000004 is in the file too
    source = write(tmp_path / "codes.csv", "客户名称,客户编号\n甲,\n乙,C000002\n丙,\n丁,C000004\n")
    with crm.unit_of_work() as uow:
        result = CustomerImport(uow).run(source)
        codes = dict(uow.execute(select(customers.c.name, customers.c.code)).all())
    assert (result.created, result.rejected) == (4, [])
    assert codes == {"先来的": "C000003", "甲": "C000002-1", "乙": "C000002", "丙": "C000004-1", "丁": "C000004"}
    with crm.unit_of_work() as uow:  # the service agrees on what comes next
        assert uow.customers.create(name="戊").code == "C000006"


def test_collection_is_paused_only_while_importing(crm, register_plugin, tmp_path):
    seen = []

    class Watcher:
        @hookimpl
        def crm_customers_imported(self, customer_ids):
            seen.append(gc.isenabled())

    register_plugin(Watcher(), "gc-watcher")
    with crm.unit_of_work() as uow:
        CustomerImport(uow).run(write(tmp_path / "one.csv", "客户名称\n张伟\n"))
    with pytest.raises(ValidationError), crm.unit_of_work() as uow:
        CustomerImport(uow).run(write(tmp_path / "none.csv", "电话\n1\n"))
    assert seen == [False] and gc.isenabled()


def test_a_cell_may_hold_several_phones_and_emails_as_an_export_writes_them(crm, tmp_path):
    source = write(tmp_path / "many.csv", "客户名称,手机,电话,邮箱\n张伟,13800138000;139 0013 9000,021-5555 1234,a@example.com；B@example.com\n")
    with crm.unit_of_work() as uow:
        result = CustomerImport(uow).run(source)
        [customer] = uow.customers.search("张伟")
    assert (result.created, result.rejected) == (1, [])
    assert customer.phones == ["13800138000", "13900139000", "02155551234"]
    assert customer.emails == ["a@example.com", "b@example.com"]

"""Customers: what users can rely on when they create and change archives."""

import pytest

from crmcore import Conflict, NotFound, ValidationError


def test_phones_in_any_common_spelling_are_stored_in_one_canonical_form(make):
    customer = make.customer(phones=["１３８ ００１３ ８０００", "+86 021-5555 1234"])
    assert customer.phones == ["13800138000", "02155551234"]


def test_a_customer_is_found_by_phone_written_differently(crm, make):
    zhang = make.customer(name="张伟", phones=["13800138000"])
    with crm.unit_of_work() as uow:
        assert [c.id for c in uow.customers.find_by_phone("+86 138-0013-8000")] == [zhang.id]


def test_an_empty_name_is_refused_naming_the_field(crm):
    with crm.unit_of_work() as uow, pytest.raises(ValidationError, match="name: must not be empty"):
        uow.customers.create(name="  ")


def test_an_invalid_phone_is_refused_naming_the_field(crm):
    with crm.unit_of_work() as uow, pytest.raises(ValidationError, match="phones: '12345' is not a valid phone number"):
        uow.customers.create(name="张伟", phones=["12345"])


def test_level_accepts_code_or_chinese_label_and_stores_the_code(make):
    assert make.customer(level="贵宾").level == "vip"
    assert make.customer(level="important").level == "important"


def test_an_unknown_level_is_refused_with_the_known_ones(crm):
    with crm.unit_of_work() as uow, pytest.raises(ValidationError, match="level: 'gold' is not one of vip"):
        uow.customers.create(name="张伟", level="gold")


def test_codes_are_generated_and_unique(crm, make):
    first, second = make.customer(), make.customer()
    assert first.code == f"C{first.id:06d}" and second.code != first.code
    with crm.unit_of_work() as uow, pytest.raises(ValidationError, match="code: 'C.*' is already the code"):
        uow.customers.create(name="x", code=first.code)


def test_update_saves_only_changed_fields_and_audits_them(crm, make):
    customer = make.customer(city="北京")
    with crm.unit_of_work() as uow:
        uow.customers.update(customer.id, city="上海", industry=None)
        entries = uow.audit.for_entity("customer", customer.id)
    assert entries[-1].action == "update"
    assert entries[-1].changes == {"city": ["北京", "上海"]}


def test_cancel_keeps_the_archive_and_restore_brings_it_back(crm, make):
    customer = make.customer()
    with crm.unit_of_work() as uow:
        uow.customers.cancel(customer.id, reason="重复")
    with crm.unit_of_work() as uow:
        assert not uow.customers.get(customer.id).active
        assert customer.id not in [c.id for c in uow.customers.list()]
        uow.customers.restore(customer.id)
    with crm.unit_of_work() as uow:
        assert uow.customers.get(customer.id).active
        assert [e.action for e in uow.audit.for_entity("customer", customer.id)] == ["create", "cancel", "restore"]


def test_cancelling_twice_is_a_conflict(crm, make):
    customer = make.customer()
    with crm.unit_of_work() as uow:
        uow.customers.cancel(customer.id)
    with crm.unit_of_work() as uow, pytest.raises(Conflict):
        uow.customers.cancel(customer.id)


def test_unknown_custom_fields_are_refused_and_declared_ones_typed(crm):
    with crm.unit_of_work() as uow:
        uow.custom_fields.add("vip_since", "date", "入会日期")
    with crm.unit_of_work() as uow:
        customer = uow.customers.create(name="张伟", custom={"vip_since": "2024/03/01"})
        assert customer.custom == {"vip_since": "2024-03-01"}
        with pytest.raises(ValidationError, match="custom.hobby: no such custom field"):
            uow.customers.create(name="李娜", custom={"hobby": "golf"})


def test_search_finds_by_name_substring_pinyin_initials_code_and_email(crm, make):
    zhang = make.customer(name="张伟", emails=["zw@example.com"])
    make.customer(name="李娜")
    with crm.unit_of_work() as uow:
        for text in ("张", "zw", "zhangwei", zhang.code, "ZW@example.com", "138"[:0] + zhang.phones[0]):
            assert [c.id for c in uow.customers.search(text)] == [zhang.id], text


def test_a_missing_customer_is_not_found(crm):
    with crm.unit_of_work() as uow, pytest.raises(NotFound):
        uow.customers.get(999)


def test_chinese_text_round_trips(crm, make):
    customer = make.customer(name="上海明源地产有限公司", kind="organization", address="上海市浦东新区世纪大道１００号", tags=["重点客户"])
    with crm.unit_of_work() as uow:
        stored = uow.customers.get(customer.id)
    assert (stored.name, stored.address, stored.tags) == ("上海明源地产有限公司", "上海市浦东新区世纪大道１００号", ["重点客户"])


def test_merge_moves_contacts_and_activities_unites_channels_and_cancels_the_other(crm, make):
    keep = make.customer(name="张伟", phones=["13800138000"], tags=["vip"])
    other = make.customer(name="张伟", phones=["13900139000"], emails=["zw@example.com"], tags=["老客户"], city="上海")
    contact = make.contact(other.id, name="李娜", phones=["13700137000"])
    activity = make.activity(other.id, "visit")
    with crm.unit_of_work() as uow:
        merged = uow.customers.merge(keep.id, other.id)
    assert merged.phones == ["13800138000", "13900139000"] and merged.tags == ["vip", "老客户"] and merged.city == "上海"
    with crm.unit_of_work() as uow:
        assert uow.contacts.get(contact.id).customer_id == keep.id
        assert uow.activities.get(activity.id).customer_id == keep.id
        gone = uow.customers.get(other.id)
        assert (gone.active, gone.merged_into_id) == (False, keep.id)
        assert [c.id for c in uow.customers.find_by_phone("13700137000")] == [keep.id]
        assert [c.id for c in uow.customers.find_by_phone("13900139000")] == [keep.id]
        assert uow.audit.for_entity("customer", keep.id)[-1].action == "merge"


def test_merge_fires_the_merged_hook_once_and_a_failing_hook_undoes_it(crm, make, register_plugin):
    from crmcore import HookFailed, hookimpl

    calls = []

    class Plugin:
        @hookimpl
        def crm_customer_merged(self, kept, merged):
            calls.append((kept.id, merged.id))
            if merged.name == "坏":
                raise RuntimeError("cannot move records")

    register_plugin(Plugin(), "mover")
    keep, other, bad = make.customer(), make.customer(), make.customer(name="坏")
    with crm.unit_of_work() as uow:
        uow.customers.merge(keep.id, other.id)
    with pytest.raises(HookFailed), crm.unit_of_work() as uow:
        uow.customers.merge(keep.id, bad.id)
    with crm.unit_of_work() as uow:
        assert uow.customers.get(bad.id).active
    assert calls == [(keep.id, other.id), (keep.id, bad.id)]


def test_a_merged_customer_cannot_be_restored(crm, make):
    keep, other = make.customer(), make.customer()
    with crm.unit_of_work() as uow:
        uow.customers.merge(keep.id, other.id)
    with crm.unit_of_work() as uow, pytest.raises(Conflict, match="was merged into"):
        uow.customers.restore(other.id)


def test_search_pages_through_many_name_matches_in_id_order_with_exact_matches_merged(crm, make):
    made = [make.customer(name=f"张伟{i}") for i in range(7)]
    coded = make.customer(name="李娜", code="张伟")  # a code equal to the text is an exact match
    with crm.unit_of_work() as uow:
        first = uow.customers.search("张伟", limit=3)
        second = uow.customers.search("张伟", limit=3, offset=3)
        everything = uow.customers.search("张伟", limit=50)
    assert [c.id for c in everything] == [c.id for c in made] + [coded.id]
    assert [c.id for c in first + second] == [c.id for c in everything[:6]]

"""Engines write JSON columns as json.dumps would, faster."""

import json
from datetime import date
from decimal import Decimal

import pytest

from crmcore.storage.engine import json_text


@pytest.mark.parametrize("value", [["13800138000"], ["张伟", "é"], {"a": 1, "b": [1.5, None, True, False]}, {}, [], "text", 7,
                                   float("nan"), {"nested": {"list": [{"x": "y"}]}}])
def test_json_columns_hold_the_text_json_dumps_writes(value):
    assert json_text(value) == json.dumps(value)


@pytest.mark.parametrize("value", [date(2026, 11, 26), Decimal("1.00"), {"a": object()}])
def test_values_json_cannot_hold_are_refused_as_json_dumps_refuses_them(value):
    with pytest.raises(TypeError, match="is not JSON serializable"):
        json_text(value)


def test_a_stored_json_column_reads_back_as_written(crm):
    with crm.unit_of_work() as uow:
        created = uow.customers.create(name="张伟", phones=["13800138000"], tags=["vip", "老客户"], custom={})
    with crm.unit_of_work() as uow:
        stored = uow.customers.get(created.id)
    assert (stored.phones, stored.tags) == (["13800138000"], ["vip", "老客户"])

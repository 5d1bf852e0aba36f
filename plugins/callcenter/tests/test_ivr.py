"""IVR menus as data: validation and the simulator walk."""

import pytest

from crmcore import ValidationError
from crm_callcenter import ivr

MENU = {
    "prompt": "投诉按1，咨询按2，账单按3",
    "default": {"queue": "咨询"},
    "options": {
        "1": {"label": "投诉", "queue": "投诉"},
        "2": {"label": "咨询", "menu": {"prompt": "普通话按1，English按2",
                                         "options": {"1": {"queue": "咨询"}, "2": {"queue": "English"}}}},
        "3": {"label": "账单", "self_service": "账单查询"},
    },
}


def test_keys_route_through_a_sub_menu_to_a_queue():
    result = ivr.walk(MENU, "22")
    assert result["outcome"] == "queue" and result["queue"] == "English"
    assert [s["key"] for s in result["steps"]] == ["2", "2"]


def test_no_key_pressed_takes_the_default():
    assert ivr.walk(MENU, "")["queue"] == "咨询"


def test_a_self_service_option_ends_without_a_queue():
    assert ivr.walk(MENU, "3") | {"steps": None} == {"steps": None, "outcome": "self_service", "self_service": "账单查询", "unused_keys": ""}


def test_wrong_keys_are_retried_then_the_default_applies():
    assert ivr.walk(MENU, "91")["queue"] == "投诉"  # one wrong key, then 1
    assert ivr.walk(MENU, "999")["queue"] == "咨询"  # three wrong keys: default


def test_keys_running_out_in_a_sub_menu_without_default_give_no_route():
    assert ivr.walk(MENU, "2")["outcome"] == "no_route"


def test_validation_lists_every_problem_with_its_path():
    bad = {"prompt": "", "options": {"1": {"queue": "不存在"}, "x": {"queue": "投诉"}, "2": {"queue": "投诉", "menu": {}}}}
    problems = ivr.validate(bad, {"投诉"})
    assert "menu.prompt: every menu needs a prompt" in problems
    assert "menu.options.1.queue: no queue '不存在' (add it with `crm service queue add`)" in problems
    assert "menu.options.x: keys are 0-9, * and #" in problems
    assert any(p.startswith("menu.options.2: needs exactly one of") for p in problems)


def test_toml_and_json_menus_read_the_same():
    assert ivr.parse_menu_text(ivr.SAMPLE, "menu.toml")["options"]["1"]["queue"] == "投诉"
    assert ivr.parse_menu_text('{"prompt": "p", "options": {"1": {"queue": "q"}}}', "m.json")["options"]["1"] == {"queue": "q"}


def test_a_non_key_press_is_refused():
    with pytest.raises(ValidationError, match="keys: 'a' is not a telephone key"):
        ivr.walk(MENU, "a")

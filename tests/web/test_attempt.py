"""``web.attempt``: what a service call's refusal becomes on a form, and that
nothing of a refused call is kept."""

import pytest

pytest.importorskip("litestar")

from crmcore import Conflict, NotFound, ValidationError  # noqa: E402
from crmcore.web import attempt  # noqa: E402


HALFWAY, KEPT = "13800000009", "13900000010"


def creates_then_raises(uow, error: Exception):
    """An action that writes a customer (phone HALFWAY), then refuses."""
    def action():
        uow.customers.create(name="半途客户", phones=[HALFWAY])
        raise error
    return action


def customers_with_phone(crm, phone: str) -> int:
    with crm.unit_of_work() as uow:
        return len(uow.customers.find_by_phone(phone))


@pytest.mark.parametrize("error, errors", [
    (ValidationError(["name: is required", "phones: 12 is not a phone number"]),
     {"name": "is required", "phones": "12 is not a phone number"}),
    (Conflict("quote Q1 is not a draft"), {"": "quote Q1 is not a draft"}),
])
def test_a_validation_error_or_conflict_becomes_form_errors_and_nothing_of_the_action_is_kept(crm, error, errors):
    with crm.unit_of_work() as uow:
        assert attempt(uow, creates_then_raises(uow, error)) == (None, errors)
        uow.customers.create(name="保留客户", phones=[KEPT])   # the rest of the request commits
    assert (customers_with_phone(crm, HALFWAY), customers_with_phone(crm, KEPT)) == (0, 1)


def test_without_the_option_a_not_found_propagates_for_the_page_to_answer_404(crm):
    with pytest.raises(NotFound, match="customer 999999 not found"):
        with crm.unit_of_work() as uow:
            attempt(uow, uow.customers.get, 999999)


@pytest.mark.parametrize("not_found, message, errors", [
    ("form", "card: no member with card M1", {"": "card: no member with card M1"}),
    ("field", "card: no member with card M1", {"card": "no member with card M1"}),
    ("field", "ticket 7 not found", {"": "ticket 7 not found"}),
])
def test_with_the_option_a_not_found_is_shown_on_the_form_and_nothing_of_the_action_is_kept(crm, not_found, message, errors):
    with crm.unit_of_work() as uow:
        assert attempt(uow, creates_then_raises(uow, NotFound(message)), not_found=not_found) == (None, errors)
    assert customers_with_phone(crm, HALFWAY) == 0


def test_the_option_is_attempts_own_and_every_other_keyword_reaches_the_action(crm):
    def action(*args, **kwargs):
        return args, kwargs

    with crm.unit_of_work() as uow:
        result, errors = attempt(uow, action, 1, not_found="form", uow="u", action="a", reason="r")
    assert (result, errors) == (((1,), {"uow": "u", "action": "a", "reason": "r"}), {})


def test_an_unknown_not_found_choice_is_refused_before_the_action_runs(crm):
    with crm.unit_of_work() as uow, pytest.raises(ValueError, match="not_found"):
        attempt(uow, pytest.fail, not_found="card")

"""What the sales pages share: stage labels in the reader's language, the
next stage of the pipeline, and people and customers named in forms."""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable

if TYPE_CHECKING:
    from crmcore import UnitOfWork

    from crm_sales.domain import Stage


def stage_label(stage: "Stage", locale: str) -> str:
    """Stages carry their own Chinese and English labels (configurable
    with ``crm sales stages set``), so they are not in the catalogue."""
    return stage.label if locale.startswith("zh") else (stage.label_en or stage.label)


def stage_labels(uow: "UnitOfWork", locale: str) -> dict[str, str]:
    return {s.code: stage_label(s, locale) for s in uow.service("sales").stages.all(include_inactive=True)}


def next_stage(stages: list["Stage"], current: str) -> "Stage | None":
    """The stage an open opportunity moves to when it advances: the next
    active stage in pipeline order, skipping lost ones (losing needs a
    reason, so it is never one button press away)."""
    codes = [s.code for s in stages]
    if current not in codes:
        return None
    here = stages[codes.index(current)]
    if not here.is_open:
        return None
    return next((s for s in stages[codes.index(current) + 1:] if s.outcome != "lost"), None)


def user_names(uow: "UnitOfWork") -> dict[int, str]:
    return {u.id: u.display_name or u.username for u in uow.users.list(include_inactive=True)}


def active_users(uow: "UnitOfWork") -> list[tuple[str, str]]:
    """(username, shown name) of the people a form may name."""
    return [(u.username, u.display_name or u.username) for u in uow.users.list()]


def user_id(uow: "UnitOfWork", username: str, field: str, errors: dict[str, str], message: str) -> int | None:
    """The id of the user a form names (empty: None); an unknown one is
    recorded in ``errors`` as the form's problem."""
    if not username:
        return None
    found = uow.users.find(username)
    if found is None:
        errors[field] = message
        return None
    return found.id


def customer_id(uow: "UnitOfWork", text: str, errors: dict[str, str], _: Callable[..., str]) -> int | None:
    """A customer named on a form by number or by name (or pinyin): one
    visible match is it; none or several is the form's problem."""
    text = text.strip()
    if not text:
        errors["customer"] = _("Name the customer.")
        return None
    if text.isdigit():
        if uow.customers.find(int(text)) is None:
            errors["customer"] = _("No customer %(key)s.", key=text)
            return None
        return int(text)
    found = uow.customers.search(text, limit=2)
    if len(found) != 1:
        errors["customer"] = (_("No customer matches %(key)s.", key=text) if not found
                              else _("Several customers match %(key)s; enter the customer's number.", key=text))
        return None
    return found[0].id

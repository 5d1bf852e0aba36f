"""Labels of configurable lists and activity types in the reader's language
(the lists carry their own Chinese and English labels)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

if TYPE_CHECKING:
    from crmcore.storage.unit_of_work import UnitOfWork


def choice_labels(uow: "UnitOfWork", locale: str) -> Callable[[str, str | None], str]:
    """``label("level", "vip")`` → ``贵宾`` or ``VIP``."""
    def label(kind: str, code: str | None) -> str:
        if not code:
            return ""
        for choice in uow.choices.list(kind):
            if choice.code == code:
                return choice.label if locale.startswith("zh") else (choice.label_en or choice.code)
        return code

    return label


def choice_options(uow: "UnitOfWork", locale: str, kind: str) -> list[tuple[str, str]]:
    label = choice_labels(uow, locale)
    return [(choice.code, label(kind, choice.code)) for choice in uow.choices.list(kind)]


def activity_type_label(uow: "UnitOfWork", locale: str) -> Callable[[str], str]:
    types = uow.crm.activity_types

    def label(name: str) -> str:
        kind: Any = types.get(name)
        if kind is None:
            return name
        return kind.label if locale.startswith("zh") else (kind.label_en or kind.label)

    return label

"""Configurable lists: value levels, statuses, lifecycle stages.

Each entry has a code (``vip``) and labels (``贵宾``, ``VIP``); input may use
any of them, storage uses the code.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from attrs import frozen
from sqlalchemy import func, insert, select

from crmcore.errors import ValidationError
from crmcore.storage.tables import choices

if TYPE_CHECKING:
    from crmcore.storage.unit_of_work import UnitOfWork

KINDS = ("level", "status", "stage")


@frozen
class Choice:
    kind: str
    code: str
    label: str
    label_en: str | None


class ChoiceService:
    def __init__(self, uow: "UnitOfWork"):
        self.uow = uow
        self._cache: dict[str, list[Choice]] | None = None
        self._codes: dict[tuple[str, str], str] = {}

    def list(self, kind: str) -> list[Choice]:
        if self._cache is None:
            rows = self.uow.execute(select(choices).order_by(choices.c.kind, choices.c.position)).mappings()
            self._cache = {}
            for row in rows:
                self._cache.setdefault(row["kind"], []).append(Choice(row["kind"], row["code"], row["label"], row["label_en"]))
        return self._cache.get(kind, [])

    def resolve(self, kind: str, value: str) -> str:
        """The code for ``value`` given as code or label, or ValidationError."""
        known = self._codes.get((kind, value))
        if known is not None:
            return known
        text = str(value).strip()
        for choice in self.list(kind):
            if text.lower() in (choice.code, choice.label.lower(), (choice.label_en or "").lower()):
                self._codes[(kind, value)] = choice.code
                return choice.code
        known = ", ".join(f"{c.code} ({c.label})" for c in self.list(kind))
        raise ValidationError.field(kind, f"{value!r} is not one of {known}")

    def label(self, kind: str, code: str) -> str:
        return next((c.label for c in self.list(kind) if c.code == code), code)

    def add(self, kind: str, code: str, label: str, label_en: str | None = None) -> Choice:
        self.uow.require("settings.edit")
        if kind not in KINDS:
            raise ValidationError.field("kind", f"{kind!r} is not one of {', '.join(KINDS)}")
        if not code.strip() or not label.strip():
            raise ValidationError.field("code" if not code.strip() else "label", "must not be empty")
        if any(c.code == code or c.label == label for c in self.list(kind)):
            raise ValidationError.field("code", f"{kind} {code!r} or label {label!r} exists already")
        position = self.uow.execute(select(func.count()).select_from(choices).where(choices.c.kind == kind)).scalar_one()
        self.uow.execute(insert(choices).values(kind=kind, code=code, label=label, label_en=label_en, position=position))
        self.uow.audit.record("choice", f"{kind}:{code}", "create", {"label": label})
        self._cache = None
        self._codes.clear()
        return Choice(kind, code, label, label_en)

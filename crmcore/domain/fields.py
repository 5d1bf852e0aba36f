"""Converters and validators shared by the domain types, each naming its field."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any, Callable, Iterable

from crmcore.errors import ValidationError
from crmcore.phones import normalise_phone

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_LIST_SEPARATORS = re.compile(r"[;,，；、]")


def optional_text(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def required_text(name: str, max_length: int = 200) -> Callable[[Any, Any, Any], None]:
    def check(_instance: Any, _attribute: Any, value: Any) -> None:
        if not value:
            raise ValidationError.field(name, "must not be empty")
        if len(value) > max_length:
            raise ValidationError.field(name, f"longer than {max_length} characters")

    return check


def one_of(name: str, allowed: Iterable[str], *, optional: bool = False) -> Callable[[Any, Any, Any], None]:
    allowed = tuple(allowed)

    def check(_instance: Any, _attribute: Any, value: Any) -> None:
        if value is None and optional:
            return
        if value not in allowed:
            raise ValidationError.field(name, f"{value!r} is not one of {', '.join(allowed)}")

    return check


def optional_email(name: str) -> Callable[[Any, Any, Any], None]:
    def check(_instance: Any, _attribute: Any, value: Any) -> None:
        if value is not None and not _EMAIL.match(value):
            raise ValidationError.field(name, f"{value!r} is not an e-mail address")

    return check


def phone_list(field: str) -> Callable[[Any], list[str]]:
    def convert(values: Any) -> list[str]:
        result: list[str] = []
        for raw in _as_list(values):
            number = normalise_phone(raw, field=field)
            if number not in result:
                result.append(number)
        return result

    return convert


def email_list(field: str) -> Callable[[Any], list[str]]:
    def convert(values: Any) -> list[str]:
        result: list[str] = []
        for raw in _as_list(values):
            email = str(raw).strip().lower()
            if not _EMAIL.match(email):
                raise ValidationError.field(field, f"{raw!r} is not an e-mail address")
            if email not in result:
                result.append(email)
        return result

    return convert


def text_list(values: Any) -> list[str]:
    result: list[str] = []
    for raw in _as_list(values):
        text = str(raw).strip()
        if text and text not in result:
            result.append(text)
    return result


def money(field: str) -> Callable[[Any], Decimal | None]:
    def convert(value: Any) -> Decimal | None:
        if value is None or value == "":
            return None
        try:
            amount = Decimal(str(value).replace(",", "").replace("¥", "").strip())
        except InvalidOperation:
            raise ValidationError.field(field, f"{value!r} is not an amount") from None
        if not amount.is_finite():
            raise ValidationError.field(field, f"{value!r} is not an amount")
        if amount < 0:
            raise ValidationError.field(field, "must not be negative")
        return amount.quantize(Decimal("0.01"))

    return convert


def boolean(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in {"1", "true", "yes", "y", "是", "on"}
    return bool(value)


def _as_list(values: Any) -> list[Any]:
    if values is None or values == "":
        return []
    if isinstance(values, str):
        return [part for part in _LIST_SEPARATORS.split(values) if part.strip()]
    return [value for value in values if value not in (None, "")]

"""Small helpers shared by the membership services."""

from __future__ import annotations

import calendar
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from crmcore import ValidationError, mask_phone

REWARD, UPGRADE = "reward", "upgrade"
KINDS = (REWARD, UPGRADE)


def parse_day(value: Any, field: str, *, optional: bool = False) -> date | None:
    """A date from ``2026-03-01`` (also ``2026/3/1`` and ``2026年3月1日``)."""
    if value is None or value == "":
        if optional:
            return None
        raise ValidationError.field(field, "required")
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = str(value).strip().replace("/", "-").replace(".", "-")
    text = text.replace("年", "-").replace("月", "-").rstrip("日")
    try:
        year, month, day = (int(part) for part in text.split("-"))
        return date(year, month, day)
    except (ValueError, TypeError):
        raise ValidationError.field(field, f"{value!r} is not a date (use 2026-03-01)") from None


def parse_decimal(value: Any, field: str, *, minimum: Decimal | None = Decimal(0)) -> Decimal:
    try:
        number = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise ValidationError.field(field, f"{value!r} is not a number") from None
    if not number.is_finite():
        raise ValidationError.field(field, f"{value!r} is not a number")
    if minimum is not None and number < minimum:
        raise ValidationError.field(field, f"must be at least {minimum}")
    return number


def parse_points(value: Any, field: str = "points", *, allow_negative: bool = False, allow_zero: bool = False) -> int:
    try:
        number = int(str(value).strip())
    except (ValueError, TypeError):
        raise ValidationError.field(field, f"{value!r} is not a whole number of points") from None
    if number == 0 and not allow_zero:
        raise ValidationError.field(field, "must not be zero")
    if number < 0 and not allow_negative:
        raise ValidationError.field(field, "must be positive")
    return number


def local_today(uow: Any) -> date:
    return uow.now.astimezone(ZoneInfo(uow.crm.config.timezone)).date()


def local_date(uow: Any, moment: datetime) -> date:
    return moment.astimezone(ZoneInfo(uow.crm.config.timezone)).date()


def add_months(day: date, months: int) -> date:
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def require_text(value: Any, field: str, max_length: int = 200) -> str:
    text = (value or "").strip() if isinstance(value, str) or value is None else str(value).strip()
    if not text:
        raise ValidationError.field(field, "required")
    if len(text) > max_length:
        raise ValidationError.field(field, f"at most {max_length} characters")
    return text


def one_of(value: str, field: str, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise ValidationError.field(field, f"{value!r} is not one of {', '.join(allowed)}")
    return value


def masked_application(uow: Any, row: dict[str, Any]) -> dict[str, Any]:
    """An application as a user may see it: the applicant's phone, e-mail,
    ID number and birthday masked without ``customers.view_contact_details``
    (the API and the web pages alike)."""
    if uow.actor.can("customers.view_contact_details"):
        return row
    return {**row, "phone": mask_phone(row["phone"]) if row.get("phone") else None,
            "email": (row["email"][:1] + "***@" + row["email"].partition("@")[2]) if row.get("email") else None,
            "id_number": "****" if row.get("id_number") else None, "birthday": "****" if row.get("birthday") else None}

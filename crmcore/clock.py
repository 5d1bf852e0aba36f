"""Time: stored as timezone-aware UTC, entered and shown in the CRM's zone."""

from __future__ import annotations

from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

DEFAULT_ZONE = "Asia/Shanghai"


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def parse_datetime(value: str | datetime | date, zone: str = DEFAULT_ZONE, *, field: str = "time") -> datetime:
    """Accept ISO text, a date or a datetime; naive values are in ``zone``."""
    from crmcore.errors import ValidationError

    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        moment = datetime(value.year, value.month, value.day)
    else:
        try:
            moment = datetime.fromisoformat(str(value).strip().replace("/", "-"))
        except ValueError:
            raise ValidationError.field(field, f"{value!r} is not a date or time (use 2026-03-01 or 2026-03-01T14:30)") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZoneInfo(zone))
    return moment.astimezone(timezone.utc)


def parse_date(value: str | date | None, *, field: str = "date") -> date | None:
    from crmcore.errors import ValidationError

    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    import re

    match = re.fullmatch(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?(?:[ T].*)?", str(value).strip())
    if match:
        try:
            return date(*map(int, match.groups()))
        except ValueError:
            pass
    raise ValidationError.field(field, f"{value!r} is not a date (use 2026-03-01)")


def local(moment: datetime | None, zone: str = DEFAULT_ZONE) -> datetime | None:
    return None if moment is None else moment.astimezone(ZoneInfo(zone))

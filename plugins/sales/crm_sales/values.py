"""Parsing and arithmetic shared by the sales services: money, percentages,
months, periods (2026-12, 2026-Q4, 2026-H2, 2026), local dates."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from attrs import frozen

from crmcore import ValidationError

CENT = Decimal("0.01")


def money(value: Any, field: str = "amount", *, allow_zero: bool = True) -> Decimal:
    """A non-negative amount in CNY with two decimals; accepts 500000,
    "500,000", "¥500000", "50万"."""
    if isinstance(value, Decimal):
        amount = value
    else:
        text = str(value).strip().replace(",", "").replace("，", "").lstrip("¥￥").strip()
        factor = Decimal(1)
        if text.endswith("万"):
            text, factor = text[:-1], Decimal(10000)
        elif text.endswith("元"):
            text = text[:-1]
        try:
            amount = Decimal(text) * factor
        except (InvalidOperation, ValueError):
            raise ValidationError.field(field, f"{value!r} is not an amount (use 500000 or 50万)") from None
    if not amount.is_finite():
        raise ValidationError.field(field, f"{value!r} is not an amount")
    if amount < 0 or (amount == 0 and not allow_zero):
        raise ValidationError.field(field, "must be positive" if not allow_zero else "must not be negative")
    if amount >= Decimal("1e12"):
        raise ValidationError.field(field, "is too large")
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def quantity(value: Any, field: str = "quantity") -> Decimal:
    try:
        amount = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise ValidationError.field(field, f"{value!r} is not a number") from None
    if not amount.is_finite() or amount <= 0:
        raise ValidationError.field(field, "must be positive")
    if amount >= Decimal("1e11"):
        raise ValidationError.field(field, "is too large")
    return amount.quantize(Decimal("0.001"), rounding=ROUND_HALF_UP)


def percent(value: Any, field: str) -> int:
    """A whole percentage 0-100 ("75", "75%")."""
    text = str(value).strip().rstrip("%").strip()
    try:
        number = int(text)
    except ValueError:
        raise ValidationError.field(field, f"{value!r} is not a whole percentage (0-100)") from None
    if not 0 <= number <= 100:
        raise ValidationError.field(field, "must be between 0 and 100")
    return number


def discount(value: Any, field: str = "discount") -> Decimal:
    """A discount in percent off: "10", "10%", or the Chinese "9折" (= 10% off,
    "85折" = 15% off)."""
    if value in (None, ""):
        return Decimal("0.00")
    text = str(value).strip()
    try:
        if text.endswith("折"):
            rate = Decimal(text[:-1])
            rate = rate / 10 if rate >= 10 else rate  # 85折 → 8.5, 9折 → 9
            off = 100 - rate * 10
        else:
            off = Decimal(text.rstrip("%").strip())
    except (InvalidOperation, ValueError):
        raise ValidationError.field(field, f"{value!r} is not a discount (use 10, 10% or 9折)") from None
    if not off.is_finite() or not 0 <= off <= 100:
        raise ValidationError.field(field, "must be between 0% and 100%")
    return off.quantize(CENT, rounding=ROUND_HALF_UP)


def parse_day(value: Any, field: str) -> date | None:
    if value in (None, ""):
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = str(value).strip().replace("/", "-").replace(".", "-")
    for candidate in (text, text.replace("年", "-").replace("月", "-").rstrip("日")):
        try:
            return date.fromisoformat(candidate)
        except ValueError:
            continue
    raise ValidationError.field(field, f"{value!r} is not a date (use 2026-12-31)")


_MONTH = re.compile(r"^(\d{4})[-/年]?(\d{1,2})月?$")


def parse_month(value: Any, field: str = "month") -> str:
    """``YYYY-MM`` from "2026-12", "2026/12", "202612" or "2026年12月"."""
    match = _MONTH.match(str(value).strip())
    if not match or not 1 <= int(match.group(2)) <= 12:
        raise ValidationError.field(field, f"{value!r} is not a month (use 2026-12)")
    return f"{int(match.group(1)):04d}-{int(match.group(2)):02d}"


def month_of(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def month_bounds(month: str) -> tuple[date, date]:
    """First day of the month and first day of the next."""
    year, number = int(month[:4]), int(month[5:7])
    start = date(year, number, 1)
    end = date(year + number // 12, number % 12 + 1, 1)
    return start, end


@frozen
class Period:
    """A span of whole months: ``start`` inclusive, ``end`` exclusive."""

    label: str
    start: date
    end: date

    @property
    def months(self) -> list[str]:
        found, day = [], self.start
        while day < self.end:
            found.append(month_of(day))
            day = month_bounds(month_of(day))[1]
        return found

    def contains(self, day: date | None) -> bool:
        return day is not None and self.start <= day < self.end


_QUARTER = re.compile(r"^(\d{4})\s*[-]?\s*[Qq]([1-4])$")
_HALF = re.compile(r"^(\d{4})\s*[-]?\s*[Hh]([12])$")
_YEAR = re.compile(r"^(\d{4})年?$")
_CN_QUARTER = re.compile(r"^(\d{4})年?第?([1-4一二三四])季度?$")


def parse_period(value: Any, field: str = "period") -> Period:
    """A month (2026-12), a quarter (2026-Q4, 2026年第四季度), a half-year
    (2026-H2) or a year (2026)."""
    text = str(value).strip()
    if match := _QUARTER.match(text) or _CN_QUARTER.match(text):
        year, quarter = int(match.group(1)), "1234一二三四".index(match.group(2)) % 4 + 1
        start = date(year, 3 * quarter - 2, 1)
        end = date(year + (quarter == 4), (3 * quarter) % 12 + 1, 1)
        return Period(f"{year}-Q{quarter}", start, end)
    if match := _HALF.match(text):
        year, half = int(match.group(1)), int(match.group(2))
        return Period(f"{year}-H{half}", date(year, 1 if half == 1 else 7, 1), date(year, 7, 1) if half == 1 else date(year + 1, 1, 1))
    if match := _YEAR.match(text):
        year = int(match.group(1))
        return Period(str(year), date(year, 1, 1), date(year + 1, 1, 1))
    try:
        month = parse_month(text, field)
    except ValidationError:
        raise ValidationError.field(field, f"{value!r} is not a period (use 2026-12, 2026-Q4, 2026-H2 or 2026)") from None
    return Period(month, *month_bounds(month))


def quarter_of(day: date) -> Period:
    return parse_period(f"{day.year}-Q{(day.month - 1) // 3 + 1}")


def local_date(moment: datetime | None, zone: str) -> date | None:
    return None if moment is None else moment.astimezone(ZoneInfo(zone)).date()


def local_midnight(day: date, zone: str) -> datetime:
    """The instant a local day starts, timezone-aware."""
    return datetime(day.year, day.month, day.day, tzinfo=ZoneInfo(zone))


def days_between(start: datetime, end: datetime) -> float:
    return (end - start) / timedelta(days=1)


def parse_moment(value: Any, zone: str, field: str = "at") -> datetime:
    """ISO date or date-time; naive values are local to ``zone``."""
    if isinstance(value, datetime):
        moment = value
    else:
        text = str(value).strip().replace("/", "-")
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            raise ValidationError.field(field, f"{value!r} is not a date or time (use 2026-12-08 or 2026-12-08T10:00)") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZoneInfo(zone))
    return moment

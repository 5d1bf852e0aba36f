"""Working time: a business calendar and SLA arithmetic on it.

A :class:`BusinessCalendar` has daily work periods (``09:00-12:00`` and
``13:00-18:00``, say), the weekdays worked (ISO numbers, Monday = 1), holidays
(dates not worked) and make-up working days (调休: weekend dates worked), all in
one time zone (the CRM's, Asia/Shanghai by default). SLA clocks run only inside
work periods: :meth:`BusinessCalendar.add` moves a moment forward by an amount
of working time, :meth:`BusinessCalendar.working_seconds` measures the working
time between two moments.

Pure Python, no database: the service stores the calendar as JSON.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta, timezone
from typing import Any, Iterable, Iterator
from zoneinfo import ZoneInfo

from crmcore import ValidationError

#: Searching further than this for working time means the calendar has none.
MAX_DAYS = 3 * 366
_DURATION = re.compile(r"(\d+(?:\.\d+)?)\s*(d|h|m|s|天|小时|分钟|分|秒)", re.IGNORECASE)


def parse_time(text: str, field: str = "hours") -> time:
    try:
        hours, minutes = text.strip().split(":")
        if hours == "24" and minutes == "00":
            return time.max
        return time(int(hours), int(minutes))
    except ValueError:
        raise ValidationError.field(field, f"{text!r} is not a time of day (use 09:00)") from None


def parse_periods(specs: Iterable[str]) -> list[tuple[time, time]]:
    """``["09:00-12:00", "13:00-18:00"]`` or ``["09:00-12:00,13:00-18:00"]``."""
    periods: list[tuple[time, time]] = []
    for spec in specs:
        for part in str(spec).split(","):
            part = part.strip()
            if not part:
                continue
            start, sep, end = part.partition("-")
            if not sep:
                raise ValidationError.field("hours", f"{part!r} is not a period (use 09:00-18:00)")
            periods.append((parse_time(start), parse_time(end)))
    periods.sort()
    for start, end in periods:
        if end <= start:
            raise ValidationError.field("hours", f"{start:%H:%M}-{end:%H:%M} ends before it starts")
    for (_, end), (start, _) in zip(periods, periods[1:]):
        if start < end:
            raise ValidationError.field("hours", "work periods overlap")
    if not periods:
        raise ValidationError.field("hours", "at least one work period is needed")
    return periods


def parse_weekdays(text: str) -> list[int]:
    """``1-5``, ``1-6``, ``1,2,3,4,5,6``: ISO weekday numbers, Monday = 1."""
    days: set[int] = set()
    for part in str(text).split(","):
        part = part.strip()
        if not part:
            continue
        try:
            if "-" in part:
                first, last = (int(x) for x in part.split("-", 1))
                days.update(range(first, last + 1))
            else:
                days.add(int(part))
        except ValueError:
            raise ValidationError.field("weekdays", f"{part!r} is not a weekday number or range (use 1-5)") from None
    if not days or not days <= set(range(1, 8)):
        raise ValidationError.field("weekdays", "weekdays are numbers 1 (Monday) to 7 (Sunday), e.g. 1-5")
    return sorted(days)


def parse_duration(text: str, *, field: str, day_seconds: int) -> int:
    """Working time in seconds: ``10m``, ``4h``, ``1h30m``, ``0.5d`` (a
    working day is the calendar's daily working time), ``90`` (minutes)."""
    raw = str(text).strip().lower()
    if not raw:
        raise ValidationError.field(field, "must not be empty")
    if re.fullmatch(r"\d+", raw):
        return int(raw) * 60
    total, position = 0.0, 0
    for match in _DURATION.finditer(raw):
        if raw[position:match.start()].strip():
            break
        amount, unit = float(match.group(1)), match.group(2)
        total += amount * {"d": day_seconds, "天": day_seconds, "h": 3600, "小时": 3600, "m": 60, "分钟": 60, "分": 60,
                           "s": 1, "秒": 1}[unit]
        position = match.end()
    if position == 0 or raw[position:].strip():
        raise ValidationError.field(field, f"{text!r} is not a duration (use 10m, 4h, 1h30m or 0.5d)")
    if total <= 0:
        raise ValidationError.field(field, "must be longer than zero")
    return int(round(total))


def format_duration(seconds: int | float | None) -> str:
    if seconds is None:
        return ""
    seconds = int(round(seconds))
    sign = "-" if seconds < 0 else ""
    seconds = abs(seconds)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{sign}{hours}h{minutes:02d}m"
    if minutes:
        return f"{sign}{minutes}m{secs:02d}s" if secs else f"{sign}{minutes}m"
    return f"{sign}{secs}s"


class BusinessCalendar:
    """Work periods, weekdays, holidays and make-up days in one zone."""

    def __init__(
        self,
        periods: Iterable[tuple[time, time]] = ((time(9), time(18)),),
        weekdays: Iterable[int] = (1, 2, 3, 4, 5),
        holidays: Iterable[date] = (),
        workdays: Iterable[date] = (),
        zone: str = "Asia/Shanghai",
    ):
        self.periods = sorted(periods)
        self.weekdays = frozenset(weekdays)
        self.holidays = frozenset(holidays)
        self.workdays = frozenset(workdays)
        self.zone_name = zone
        self.zone = ZoneInfo(zone)
        if not self.periods or not (self.weekdays or self.workdays):
            raise ValidationError.field("calendar", "a calendar needs work periods and working days")

    # -- storage -----------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        return {
            "hours": [f"{s:%H:%M}-{'24:00' if e == time.max else f'{e:%H:%M}'}" for s, e in self.periods],
            "weekdays": sorted(self.weekdays),
            "holidays": sorted(d.isoformat() for d in self.holidays),
            "workdays": sorted(d.isoformat() for d in self.workdays),
            "zone": self.zone_name,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any], zone: str | None = None) -> "BusinessCalendar":
        return cls(
            parse_periods(data.get("hours") or ["09:00-18:00"]),
            data.get("weekdays") or (1, 2, 3, 4, 5),
            (date.fromisoformat(d) for d in data.get("holidays", ())),
            (date.fromisoformat(d) for d in data.get("workdays", ())),
            zone or data.get("zone") or "Asia/Shanghai",
        )

    # -- questions ------------------------------------------------------------------

    @property
    def day_seconds(self) -> int:
        """Working seconds in one full working day."""
        return sum(_seconds(s, e) for s, e in self.periods)

    def is_working_day(self, day: date) -> bool:
        if day in self.workdays:
            return True
        return day.isoweekday() in self.weekdays and day not in self.holidays

    def _intervals(self, day: date) -> Iterator[tuple[datetime, datetime]]:
        """The day's work periods as UTC moments."""
        if not self.is_working_day(day):
            return
        for start, end in self.periods:
            begin = datetime.combine(day, start, self.zone)
            finish = datetime.combine(day + timedelta(days=1), time(0), self.zone) if end == time.max \
                else datetime.combine(day, end, self.zone)
            yield begin.astimezone(timezone.utc), finish.astimezone(timezone.utc)

    def is_working_time(self, moment: datetime) -> bool:
        day = moment.astimezone(self.zone).date()
        return any(s <= moment < e for s, e in self._intervals(day))

    def working_seconds(self, start: datetime, end: datetime) -> int:
        """Working time between two moments (0 when ``end`` is not after ``start``)."""
        if end <= start:
            return 0
        total = 0.0
        day = start.astimezone(self.zone).date()
        last = end.astimezone(self.zone).date()
        while day <= last:
            for begin, finish in self._intervals(day):
                lo, hi = max(begin, start), min(finish, end)
                if hi > lo:
                    total += (hi - lo).total_seconds()
            day += timedelta(days=1)
        return int(total)

    def add(self, start: datetime, seconds: float) -> datetime:
        """The moment when ``seconds`` of working time have passed after
        ``start``. Work starting outside working hours starts at the next
        work period."""
        remaining = float(seconds)
        day = start.astimezone(self.zone).date()
        for _ in range(MAX_DAYS):
            for begin, finish in self._intervals(day):
                if finish <= start:
                    continue
                lo = max(begin, start)
                available = (finish - lo).total_seconds()
                if remaining <= available:
                    return lo + timedelta(seconds=remaining)
                remaining -= available
            day += timedelta(days=1)
        raise ValidationError.field("calendar", f"no working time within {MAX_DAYS} days")

    def next_working_moment(self, moment: datetime) -> datetime:
        """``moment`` itself in working time, else the start of the next work period."""
        return self.add(moment, 0)


def _seconds(start: time, end: time) -> int:
    end_seconds = 86400 if end == time.max else end.hour * 3600 + end.minute * 60
    return end_seconds - (start.hour * 3600 + start.minute * 60)

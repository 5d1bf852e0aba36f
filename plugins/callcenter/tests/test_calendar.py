"""Working-time arithmetic on the business calendar (pure, no database)."""

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from crmcore import ValidationError
from crm_callcenter.calendar import BusinessCalendar, parse_duration, parse_periods, parse_weekdays

SH = ZoneInfo("Asia/Shanghai")


def at(*parts):
    return datetime(*parts, tzinfo=SH)


@pytest.fixture
def calendar():
    return BusinessCalendar(parse_periods(["09:00-12:00,13:00-18:00"]), parse_weekdays("1-5"),
                            holidays=[date(2026, 10, 1), date(2026, 10, 2)], workdays=[date(2026, 10, 10)])


def test_adding_working_time_skips_the_lunch_break(calendar):
    assert calendar.add(at(2026, 9, 29, 11, 0), 2 * 3600) == at(2026, 9, 29, 14, 0)


def test_adding_working_time_skips_holidays_and_the_weekend(calendar):
    # Wed 30 Sep 16:00 + 4h: 2h that day, Thu/Fri holidays, Sat/Sun off, Mon 5 Oct 09:00 + 2h
    assert calendar.add(at(2026, 9, 30, 16, 0), 4 * 3600) == at(2026, 10, 5, 11, 0)


def test_a_make_up_saturday_is_worked(calendar):
    assert calendar.add(at(2026, 10, 9, 17, 0), 2 * 3600) == at(2026, 10, 10, 10, 0)


def test_work_arriving_at_night_starts_next_morning(calendar):
    assert calendar.add(at(2026, 9, 29, 20, 30), 10 * 60) == at(2026, 9, 30, 9, 10)


def test_a_target_ending_exactly_at_closing_time_is_due_at_closing_time(calendar):
    assert calendar.add(at(2026, 9, 29, 17, 0), 3600) == at(2026, 9, 29, 18, 0)


def test_working_seconds_count_only_work_periods(calendar):
    assert calendar.working_seconds(at(2026, 9, 30, 17, 0), at(2026, 10, 5, 10, 0)) == 2 * 3600


def test_durations_accept_minutes_hours_and_working_days():
    assert parse_duration("10m", field="x", day_seconds=8 * 3600) == 600
    assert parse_duration("1h30m", field="x", day_seconds=8 * 3600) == 5400
    assert parse_duration("0.5d", field="x", day_seconds=8 * 3600) == 4 * 3600


@pytest.mark.parametrize("text", ["", "soon", "4x", "-1h"])
def test_bad_durations_name_the_field(text):
    with pytest.raises(ValidationError, match="resolve:"):
        parse_duration(text, field="resolve", day_seconds=3600)


def test_overlapping_hours_are_refused():
    with pytest.raises(ValidationError, match="hours: work periods overlap"):
        parse_periods(["09:00-13:00,12:00-18:00"])

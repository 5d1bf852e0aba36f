"""Reading purchases out of the core's activities as numpy arrays, and the
small parsers the commands share. numpy is imported here: import this module
inside functions."""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta, timezone
from typing import TYPE_CHECKING, Callable
from zoneinfo import ZoneInfo

import numpy as np
from sqlalchemy import Float, cast, func, select

from crmcore import ValidationError
from crmcore.tables import activities, customers

from crm_analytics.summary import Purchases

if TYPE_CHECKING:
    from crmcore import UnitOfWork

EPOCH = date(1970, 1, 1)
CHUNK = 200_000


def day_number(day: date) -> int:
    return (day - EPOCH).days


def from_day_number(number: int) -> date:
    return EPOCH + timedelta(days=int(number))


def parse_day(value: str | date | None, field: str) -> date | None:
    if value is None or value == "":
        return None
    if isinstance(value, date):
        return value
    text = str(value).strip().replace("/", "-")
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValidationError.field(field, f"{value!r} is not a date (use 1997-09-30)") from None


_SPAN = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([dwmy]?)\s*$", re.IGNORECASE)
_DAYS = {"d": 1.0, "w": 7.0, "m": 365.25 / 12, "y": 365.25}


def parse_span_days(value: str, field: str, *, default_unit: str = "d") -> float:
    """``90d``, ``39w``, ``12m``, ``1y`` (a bare number is in ``default_unit``) → days."""
    match = _SPAN.match(str(value))
    if not match or float(match.group(1)) <= 0:
        raise ValidationError.field(field, f"{value!r} is not a span of time (use 90d, 39w, 12m or 1y)")
    return float(match.group(1)) * _DAYS[(match.group(2) or default_unit).lower()]


def parse_window(value: str | None) -> int | None:
    """The RFM/grading window in days; ``all`` (or nothing) = all history."""
    if value is None or str(value).strip().lower() in ("", "all"):
        return None
    return max(1, int(round(parse_span_days(value, "window"))))


def today(zone: str) -> date:
    return datetime.now(ZoneInfo(zone)).date()


def end_of_day_utc(day: date, zone: str) -> datetime:
    """The first instant after ``day`` in the CRM's zone, in UTC."""
    return datetime.combine(day + timedelta(days=1), time(0), tzinfo=ZoneInfo(zone)).astimezone(timezone.utc)


def _epoch_seconds(dialect: str):
    if dialect == "sqlite":
        # whole seconds, exactly (julianday arithmetic would round 16:00 UTC + 8 h to just before midnight)
        return func.strftime("%s", activities.c.occurred_at)
    if dialect == "postgresql":
        return func.extract("epoch", activities.c.occurred_at)
    return None


def local_days(seconds: np.ndarray, zone: str) -> np.ndarray:
    """UTC epoch seconds → calendar days (since 1970-01-01) in ``zone``,
    with the zone's offset at each hour (so daylight saving is honoured)."""
    if seconds.shape[0] == 0:
        return np.zeros(0, np.int64)
    seconds = np.round(seconds, 3)
    hours = np.floor(seconds / 3600.0).astype(np.int64)
    unique, inverse = np.unique(hours, return_inverse=True)
    tz = ZoneInfo(zone)
    offsets = np.array([datetime.fromtimestamp(int(h) * 3600, tz=tz).utcoffset().total_seconds() for h in unique])
    return np.floor((seconds + offsets[inverse.reshape(-1)]) / 86400.0).astype(np.int64)


def load_purchases(uow: "UnitOfWork", until: date | None = None, *,
                   progress: Callable[[int], None] | None = None) -> Purchases:
    """Every purchase (not cancelled, of an active customer) up to the end of
    ``until`` in the CRM's zone, as arrays. All customers, whatever the
    actor's scope: models are fitted on the whole customer base — only those
    who granted ``analytics`` consent when the plugin is configured to need
    it (``crm_analytics.privacy.consent_required``)."""
    zone = uow.crm.config.timezone
    dialect = uow.connection.dialect.name
    seconds_expr = _epoch_seconds(dialect)
    when = cast(seconds_expr, Float) if seconds_expr is not None else activities.c.occurred_at
    query = (
        select(activities.c.customer_id, when, cast(func.coalesce(activities.c.amount, 0), Float))
        .select_from(activities.join(customers, customers.c.id == activities.c.customer_id))
        .where(activities.c.type == "purchase", activities.c.cancelled.is_(False), customers.c.active.is_(True))
    )
    if until is not None:
        query = query.where(activities.c.occurred_at < end_of_day_utc(until, zone))
    from crm_analytics.privacy import consent_required, consenting_customers

    if consent_required(uow):  # profiling only of customers who agreed to it
        query = query.where(activities.c.customer_id.in_(consenting_customers()))
    result = uow.execute(query)
    # plain DBAPI tuples: numpy reads them ~10x faster than SQLAlchemy rows
    cursor = getattr(result, "cursor", None)
    fetch = cursor.fetchmany if cursor is not None else (lambda n: result.fetchmany(n))
    ids, secs, amounts = [], [], []
    while True:
        chunk = fetch(CHUNK)
        if not chunk:
            break
        if seconds_expr is None:
            chunk = [(c, w.timestamp(), a) for c, w, a in chunk]
        block = np.array(chunk, dtype=float).reshape(-1, 3)  # Decimal/str numbers convert here
        ids.append(block[:, 0].astype(np.int64))
        secs.append(block[:, 1])
        amounts.append(block[:, 2])
        if progress:
            progress(block.shape[0])
    if not ids:
        return Purchases.empty()
    customer = np.concatenate(ids)
    return Purchases(customer, local_days(np.concatenate(secs), zone), np.concatenate(amounts))

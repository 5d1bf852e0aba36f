"""Partner domain: value types, commission terms and reporting periods.

Plain Python (attrs, Decimal, dates); no database here, so the rules that
users check by hand (periods, percent and tiered commissions) are easy to
read and to test.
"""

from __future__ import annotations

import calendar
import re
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

import attrs
from attrs import define, field

from crmcore import ValidationError

STATUSES = ("recruiting", "onboarding", "active", "under_review", "terminated")
STATUS_LABELS = {"recruiting": "招募中", "onboarding": "入驻中", "active": "合作中", "under_review": "考核中", "terminated": "已终止"}
#: Which lifecycle moves are allowed (recruit → onboard → active → review → terminate).
TRANSITIONS = {
    "recruiting": {"onboarding", "active", "terminated"},
    "onboarding": {"active", "recruiting", "terminated"},
    "active": {"under_review", "terminated"},
    "under_review": {"active", "terminated"},
    "terminated": {"recruiting", "onboarding"},
}
REGISTRATION_STATUSES = ("pending", "approved", "rejected", "won", "lost", "expired", "reversed")
OPEN_REGISTRATION = ("pending", "approved")
ASSIGNMENT_STATUSES = ("offered", "accepted", "declined", "expired", "withdrawn")
OPEN_ASSIGNMENT = ("offered", "accepted")
TIERS_APPLY = ("marginal", "whole")

CENT = Decimal("0.01")
HUNDRED = Decimal(100)


def money(value: Any, *, field_name: str = "amount", allow_zero: bool = False) -> Decimal:
    """A positive amount of money, to the cent ("200000", "20万", "1,200.50")."""
    text = str(value).strip().replace(",", "").replace("，", "").replace("¥", "").replace("￥", "")
    factor = Decimal(1)
    if text.endswith("万"):
        text, factor = text[:-1], Decimal(10000)
    elif text.endswith("元"):
        text = text[:-1]
    try:
        amount = Decimal(text) * factor
    except (InvalidOperation, ValueError):
        raise ValidationError.field(field_name, f"{value!r} is not an amount of money") from None
    if not amount.is_finite() or amount < 0 or (amount == 0 and not allow_zero):
        raise ValidationError.field(field_name, f"{value!r} must be {'zero or more' if allow_zero else 'more than zero'}")
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def percent(value: Any, *, field_name: str = "commission") -> Decimal:
    """A percentage given as "8%", "8" or "8.5%": 8 means 8 %."""
    text = str(value).strip().rstrip("%").rstrip("％").strip()
    try:
        rate = Decimal(text)
    except (InvalidOperation, ValueError):
        raise ValidationError.field(field_name, f"{value!r} is not a percentage (use 8%)") from None
    if not rate.is_finite() or rate < 0 or rate > 100:
        raise ValidationError.field(field_name, f"{value!r} must be between 0% and 100%")
    return rate.normalize() if rate == rate.to_integral() else rate


def pct(rate: Decimal) -> str:
    """8.5000 → "8.5", 10.0000 → "10"."""
    return format(Decimal(rate).normalize(), "f")


def round_money(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


# ---------------------------------------------------------------------------
# Commission terms
# ---------------------------------------------------------------------------


@define(frozen=True)
class Terms:
    """Commission terms of an agreement: one percent rate, or tiers by the
    partner's won revenue in the period (``[(threshold, rate), ...]``, the
    first threshold 0). ``marginal`` tiers pay each band's rate on the revenue
    inside the band (like income tax); ``whole`` pays the reached tier's rate on
    all of the period's revenue."""

    kind: str  # percent | tiered
    rate: Decimal | None = None
    tiers: tuple[tuple[Decimal, Decimal], ...] = ()
    apply: str = "marginal"

    @classmethod
    def parse(cls, text: str, apply: str = "marginal") -> "Terms":
        """``8%`` or tiers ``0:5%,500000:8%,1000000:10%``."""
        text = str(text or "").strip()
        if not text:
            raise ValidationError.field("commission", "must not be empty (use 8% or 0:5%,500000:8%)")
        if apply not in TIERS_APPLY:
            raise ValidationError.field("tiers_apply", f"{apply!r} is not one of {', '.join(TIERS_APPLY)}")
        if ":" not in text:
            return cls("percent", rate=percent(text))
        tiers = []
        for part in re.split(r"[,;，；]", text):
            if not part.strip():
                continue
            threshold, _, rate = part.partition(":")
            tiers.append((money(threshold, field_name="commission", allow_zero=True), percent(rate)))
        tiers.sort()
        if not tiers or tiers[0][0] != 0:
            raise ValidationError.field("commission", "tiers must start at 0 (e.g. 0:5%,500000:8%)")
        if len({t for t, _ in tiers}) != len(tiers):
            raise ValidationError.field("commission", "two tiers have the same threshold")
        return cls("tiered", tiers=tuple(tiers), apply=apply)

    @classmethod
    def from_row(cls, row: Any) -> "Terms":
        if row["commission_kind"] == "percent":
            return cls("percent", rate=Decimal(row["commission_rate"]))
        return cls("tiered", tiers=tuple((Decimal(t), Decimal(r)) for t, r in row["commission_tiers"]), apply=row["tiers_apply"])

    def total(self, revenue: Decimal) -> Decimal:
        """Commission owed on ``revenue`` won in one period (unrounded)."""
        if revenue <= 0:
            return Decimal(0)
        if self.kind == "percent":
            return revenue * self.rate / HUNDRED
        if self.apply == "whole":
            rate = next(rate for threshold, rate in reversed(self.tiers) if revenue >= threshold)
            return revenue * rate / HUNDRED
        owed = Decimal(0)
        for index, (threshold, rate) in enumerate(self.tiers):
            upper = self.tiers[index + 1][0] if index + 1 < len(self.tiers) else None
            if revenue <= threshold:
                break
            band = (min(revenue, upper) if upper is not None else revenue) - threshold
            owed += band * rate / HUNDRED
        return owed

    def increment(self, before: Decimal, amount: Decimal) -> Decimal:
        """Commission on a deal of ``amount`` when ``before`` was already won in
        the period: the difference it makes to the period's total, so the sum
        of every deal's line always equals ``total(period revenue)``."""
        return round_money(self.total(before + amount)) - round_money(self.total(before))

    def describe(self) -> str:
        if self.kind == "percent":
            return f"{pct(self.rate)}%"
        bands = ", ".join(f"≥{t:,.0f}: {pct(r)}%" for t, r in self.tiers)
        return f"tiered ({self.apply}) {bands}"

    def as_columns(self) -> dict[str, Any]:
        return {
            "commission_kind": self.kind,
            "commission_rate": self.rate,
            "commission_tiers": [[str(t), str(r)] for t, r in self.tiers],
            "tiers_apply": self.apply,
        }


# ---------------------------------------------------------------------------
# Periods
# ---------------------------------------------------------------------------


@define(frozen=True)
class Period:
    """A reporting period: ``2026-Q2``, ``2026-05``, ``2026``, ``2026-H1`` or
    ``2026-01-15..2026-03-31``."""

    name: str
    start: date
    end: date  # inclusive

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def __contains__(self, day: date) -> bool:
        return self.start <= day <= self.end

    @classmethod
    def parse(cls, text: str) -> "Period":
        value = str(text or "").strip().upper()
        try:
            if m := re.fullmatch(r"(\d{4})-?Q([1-4])", value):
                year, quarter = int(m[1]), int(m[2])
                start = date(year, 3 * quarter - 2, 1)
                end_month = 3 * quarter
                return cls(f"{year}-Q{quarter}", start, date(year, end_month, calendar.monthrange(year, end_month)[1]))
            if m := re.fullmatch(r"(\d{4})-?H([12])", value):
                year, half = int(m[1]), int(m[2])
                return cls(f"{year}-H{half}", date(year, 1 if half == 1 else 7, 1), date(year, 6, 30) if half == 1 else date(year, 12, 31))
            if m := re.fullmatch(r"(\d{4})-(\d{1,2})", value):
                year, month = int(m[1]), int(m[2])
                return cls(f"{year}-{month:02d}", date(year, month, 1), date(year, month, calendar.monthrange(year, month)[1]))
            if m := re.fullmatch(r"(\d{4})", value):
                year = int(m[1])
                return cls(f"{year}", date(year, 1, 1), date(year, 12, 31))
            if m := re.fullmatch(r"(\d{4}-\d{2}-\d{2})\.\.(\d{4}-\d{2}-\d{2})", value):
                start, end = date.fromisoformat(m[1]), date.fromisoformat(m[2])
                if end < start:
                    raise ValidationError.field("period", f"{text!r} ends before it starts")
                return cls(f"{start}..{end}", start, end)
        except ValueError as error:
            if isinstance(error, ValidationError):
                raise
            raise ValidationError.field("period", f"{text!r} is not a valid period") from None
        raise ValidationError.field("period", f"{text!r} is not a period (use 2026-Q2, 2026-05, 2026-H1, 2026 or 2026-01-01..2026-03-31)")

    @classmethod
    def quarter_of(cls, day: date) -> "Period":
        return cls.parse(f"{day.year}-Q{(day.month - 1) // 3 + 1}")

    @classmethod
    def trailing_year(cls, today: date) -> "Period":
        start = today - timedelta(days=364)
        return cls(f"{start}..{today}", start, today)


def period_label_of(day: date) -> str:
    """The commission period a day belongs to: its quarter."""
    return Period.quarter_of(day).name


# ---------------------------------------------------------------------------
# Records handed to other code
# ---------------------------------------------------------------------------


@define(slots=False, kw_only=True)
class Registration:
    """A deal registration. Passed to ``crm_partners_registration_approved``."""

    id: int
    partner_id: int
    customer_id: int
    product: str | None
    expected_amount: Decimal
    expected_close: date
    status: str
    conflicts: list[dict[str, Any]] = field(factory=list)
    protected_until: date | None = None
    decision_reason: str | None = None
    decided_at: datetime | None = None
    decided_by: int | None = None
    won_amount: Decimal | None = None
    closed_on: date | None = None
    close_reason: str | None = None
    notes: str | None = None
    last_progress_at: datetime | None = None
    created_at: datetime | None = None
    created_by: int | None = None

    @classmethod
    def from_row(cls, row: Any) -> "Registration":
        names = {a.name for a in attrs.fields(cls)}
        return cls(**{k: v for k, v in dict(row).items() if k in names})

    def view(self) -> dict[str, Any]:
        return attrs.asdict(self)

"""The sales plugin's domain types (attrs, plain Python)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal

import attrs
from attrs import define, field

OUTCOMES = ("open", "won", "lost")
QUOTE_STATUSES = ("draft", "sent", "accepted", "rejected", "superseded")
SOURCE_KINDS = ("self", "campaign", "partner", "referral", "other")


@define(slots=False, kw_only=True)
class Stage:
    """A pipeline stage with its default win probability."""

    code: str
    label: str
    label_en: str | None = None
    probability: int = 0
    position: int = 0
    outcome: str = "open"
    active: bool = True

    @property
    def is_open(self) -> bool:
        return self.outcome == "open"


@define(slots=False, kw_only=True)
class Opportunity:
    """A possible sale (商机) to one customer."""

    name: str
    customer_id: int
    amount: Decimal
    stage: str
    probability: int
    id: int | None = None
    expected_close: date | None = None
    owner_id: int | None = None
    source: str = "self"
    source_ref: str | None = None
    competitors: list[str] = field(factory=list)
    lost_reason: str | None = None
    notes: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    stage_changed_at: datetime | None = None
    closed_at: datetime | None = None

    @property
    def weighted_amount(self) -> Decimal:
        return (self.amount * self.probability / 100).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)

    def evolve(self, **changes) -> "Opportunity":
        return attrs.evolve(self, **changes)


@define(slots=False, kw_only=True)
class QuoteLine:
    product: str
    quantity: Decimal
    unit_price: Decimal
    discount: Decimal = Decimal("0.00")
    amount: Decimal = Decimal("0.00")
    position: int = 0
    id: int | None = None
    quote_id: int | None = None

    @property
    def gross(self) -> Decimal:
        return (self.quantity * self.unit_price).quantize(Decimal("0.01"))


@define(slots=False, kw_only=True)
class Quote:
    number: str
    version: int
    opportunity_id: int
    customer_id: int
    status: str
    valid_until: date
    id: int | None = None
    currency: str = "CNY"
    subtotal: Decimal = Decimal("0.00")
    discount_total: Decimal = Decimal("0.00")
    total: Decimal = Decimal("0.00")
    notes: str | None = None
    decision_note: str | None = None
    created_by: str = ""
    created_at: datetime | None = None
    sent_at: datetime | None = None
    decided_at: datetime | None = None
    lines: list[QuoteLine] = field(factory=list)


@define(slots=False, kw_only=True)
class VisitPlan:
    user_id: int
    month: str
    customer_id: int
    purpose: str
    planned_date: date
    id: int | None = None
    opportunity_id: int | None = None
    created_at: datetime | None = None

"""The campaigns plugin's records, as plain attrs classes."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from attrs import define, field

CHANNELS = ("email", "sms", "phone", "event", "mail")
#: Channels delivered through the core outbox; the others produce lists
#: (a call list, an invitation list, a mailing list) worked by staff.
OUTBOX_CHANNELS = ("email", "sms")
CHANNEL_LABELS = {"email": "电子邮件", "sms": "短信", "phone": "电话", "event": "活动邀请", "mail": "直邮"}
STATUSES = ("draft", "approved", "running", "finished", "cancelled")
RESPONSE_TYPES = ("opened", "clicked", "replied", "registered", "bought")
STEP_AUDIENCES = ("all", "non_responders")
#: Message statuses: queued in the outbox, sent by it, failed for good,
#: cancelled (opt-out after queuing), listed (a list channel), suppressed
#: (never queued: opt-out, blacklist, no address), error (template failed).
MESSAGE_STATUSES = ("queued", "sent", "failed", "cancelled", "listed", "suppressed", "error")
REACHED = ("queued", "sent", "listed")


@define(slots=False, kw_only=True)
class Segment:
    name: str
    criteria: dict[str, Any]
    id: int | None = None
    description: str | None = None
    created_by: int | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None


@define(slots=False, kw_only=True)
class Campaign:
    name: str
    id: int | None = None
    goal: str | None = None
    starts_on: date | None = None
    ends_on: date | None = None
    channels: list[str] = field(factory=list)
    budget: Decimal | None = None
    owner_id: int | None = None
    segment_id: int | None = None
    status: str = "draft"
    control_pct: int = 0
    throttle: int | None = None
    attribution_days: int = 30
    approved_by: int | None = None
    approved_at: datetime | None = None
    launched_at: datetime | None = None
    finished_at: datetime | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None


@define(slots=False, kw_only=True)
class Step:
    campaign_id: int
    number: int
    channel: str
    id: int | None = None
    delay_days: int = 0
    audience: str = "all"
    ab_pct: int = 0
    ab_wait_hours: int = 24
    ab_sample_size: int | None = None
    winner: str | None = None
    status: str = "pending"  # pending, testing, sending, done
    started_at: datetime | None = None
    finished_at: datetime | None = None

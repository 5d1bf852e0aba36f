"""Outbox messages: side effects that leave the database, sent after commit."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from attrs import define, field


@define(slots=False, kw_only=True)
class OutboxMessage:
    channel: str
    recipient: str
    subject: str | None = None
    body: str | None = None
    payload: dict[str, Any] = field(factory=dict)
    id: int | None = None
    customer_id: int | None = None
    dedupe_key: str | None = None
    status: str = "pending"  # pending, sent, failed, cancelled
    attempts: int = 0
    next_attempt_at: datetime | None = None
    created_at: datetime | None = None
    sent_at: datetime | None = None
    error: str | None = None
    purpose: str | None = None  # marketing, service …: see crmcore/services/consents.py

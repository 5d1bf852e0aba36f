"""Activities: every interaction on a customer's timeline (联系记录)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

import attrs
from attrs import define, field, frozen

from crmcore.clock import parse_datetime, utcnow
from crmcore.domain.builder import CheckedBuilder
from crmcore.domain.fields import boolean, money, optional_text, required_text


def _moment(name: str):
    def convert(value: Any) -> datetime | None:
        if value is None or value == "":
            return None
        return parse_datetime(value, field=name)

    return convert


@frozen
class ActivityType:
    """A kind of activity; the core's and plugins' are kept in one registry."""

    name: str
    label: str
    label_en: str | None = None
    has_amount: bool = False
    is_task: bool = False
    plugin: str = "core"


CORE_ACTIVITY_TYPES = (
    ActivityType("call", "电话", "Call"),
    ActivityType("visit", "拜访", "Visit"),
    ActivityType("meeting", "会议", "Meeting"),
    ActivityType("email", "邮件", "E-mail"),
    ActivityType("sms", "短信", "SMS"),
    ActivityType("note", "备注", "Note"),
    ActivityType("task", "任务", "Task", is_task=True),
    ActivityType("purchase", "购买", "Purchase", has_amount=True),
    ActivityType("complaint", "投诉", "Complaint"),
    ActivityType("feedback", "反馈", "Feedback"),
)


@define(slots=False, kw_only=True, eq=True)
class Activity:
    """One entry on a customer's timeline."""

    customer_id: int
    type: str = field(default="", converter=optional_text, validator=required_text("type", 40))
    id: int | None = None
    contact_id: int | None = None
    subject: str | None = field(default=None, converter=optional_text)
    body: str | None = field(default=None, converter=optional_text)
    occurred_at: datetime = field(factory=utcnow, converter=_moment("occurred_at"))
    due_at: datetime | None = field(default=None, converter=_moment("due_at"))
    done: bool = field(default=False, converter=boolean)
    amount: Decimal | None = field(default=None, converter=money("amount"))
    owner_id: int | None = None
    source_plugin: str = "core"
    payload: dict[str, Any] = field(factory=dict, converter=lambda v: dict(v or {}))
    cancelled: bool = False
    created_at: datetime | None = None

    def evolve(self, **changes: Any) -> "Activity":
        return attrs.evolve(self, **changes)


#: ``Activity(**fields)`` for bulk paths; same rules, same errors (see CheckedBuilder).
build_activity = CheckedBuilder(Activity)

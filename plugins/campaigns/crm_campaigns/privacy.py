"""The campaigns plugin's part in a person's data (docs/privacy.md): export,
erasure and the retention rule for the copies of rendered messages.

What the plugin holds about a person:

* ``campaigns_audience`` — the frozen audience snapshot: ids and the group
  (target / control), nothing else;
* ``campaigns_messages`` — one row per customer per step, with a copy of
  the recipient (e-mail, mobile number or postal address), the rendered
  subject (which may quote the name) and the outbox's last error;
* ``campaigns_responses`` — responses, with the amount attributed and a
  free-text note;
* ``campaigns_leads``, ``campaigns_optouts``, ``campaigns_blacklist`` —
  ids, with a free-text reason on opt-outs and the blacklist;
* ``campaigns_segments``, ``campaigns_campaigns`` — written by staff; a
  segment's criteria may name a person (``name eq 王芳``) or quote a phone
  or e-mail, a campaign may be named after a customer. Those values go, in
  the rows and in the plugin's audit entries on them.

Erasure replaces the personal values and keeps every row that reports
count: audience sizes, message counts by status, responses, attributed
revenue, leads.
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import false, func, or_, select, update

from crmcore import ValidationError
from crmcore.tables import outbox

from crm_campaigns.tables import audience, blacklist, campaigns, leads, messages, optouts, responses, segments

if TYPE_CHECKING:
    from crmcore import Customer, UnitOfWork

#: What erased text becomes (as in the core).
ERASED = "(erased)"
#: The retention rule's default: copies of rendered messages are cleared after this many days.
DEFAULT_MESSAGE_DAYS = 90.0
RETENTION_RULE = "campaigns.message_copies"


# ---------------------------------------------------------------------------
# The person's values
# ---------------------------------------------------------------------------


def _addresses(customer: "Customer") -> list[str]:
    """Where the plugin may have copied the person to: phones, e-mails, postal address."""
    found = [*(customer.phones or []), *(customer.emails or [])]
    if customer.address:
        found.append(customer.address)
    return [v for v in dict.fromkeys(found) if isinstance(v, str) and v.strip() and v != ERASED]


def _messages_of(customer: "Customer") -> Any:
    """Messages to the person: theirs, and any addressed to one of their phones or e-mails."""
    addresses = _addresses(customer)
    return or_(messages.c.customer_id == customer.id, messages.c.recipient.in_(addresses) if addresses else false())


class _Scrubber:
    """Replace the person's values inside staff-written text (segment criteria
    and descriptions): their phones, e-mails and address wherever they
    appear; their name where it is a whole value, or inside text when it is
    at least two characters (a single character would hit unrelated words)."""

    def __init__(self, customer: "Customer"):
        self.distinctive = sorted(_addresses(customer), key=len, reverse=True)
        self.name = customer.name if customer.name and customer.name != ERASED else None

    def secrets(self) -> list[str]:
        return self.distinctive + ([self.name] if self.name else [])

    def text(self, value: str) -> str:
        if value == self.name:
            return ERASED
        for secret in self.distinctive + ([self.name] if self.name and len(self.name) >= 2 else []):
            if secret in value:
                value = value.replace(secret, ERASED)
        return value

    def value(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, list):
            return [self.value(v) for v in value]
        if isinstance(value, dict):
            return {k: self.value(v) for k, v in value.items()}
        return value


# ---------------------------------------------------------------------------
# Export
# ---------------------------------------------------------------------------


def export(uow: "UnitOfWork", customer: "Customer") -> dict[str, list[dict[str, Any]]]:
    """Every row of the plugin's tables about this customer record: by
    ``customer_id``, messages also by recipient (their phones, e-mails,
    address), and the segments whose criteria or description mention them."""

    def rows(query: Any) -> list[dict[str, Any]]:
        return [dict(row) for row in uow.execute(query).mappings()]

    names = {row.id: row.name for row in uow.execute(select(campaigns.c.id, campaigns.c.name))}

    def named(found: list[dict[str, Any]]) -> list[dict[str, Any]]:
        for row in found:
            if "campaign_id" in row:
                row["campaign"] = names.get(row["campaign_id"])
        return found

    scrubber = _Scrubber(customer)

    def mentioning(table: Any, columns: tuple[str, ...]) -> list[dict[str, Any]]:
        return [dict(row) for row in uow.execute(select(table).order_by(table.c.id)).mappings()
                if any(row[c] is not None and scrubber.value(row[c]) != row[c] for c in columns)]

    return {
        "campaigns_audience": named(rows(select(audience).where(audience.c.customer_id == customer.id)
                                         .order_by(audience.c.campaign_id))),
        "campaigns_messages": named(rows(select(messages).where(_messages_of(customer)).order_by(messages.c.id))),
        "campaigns_responses": named(rows(select(responses).where(responses.c.customer_id == customer.id).order_by(responses.c.id))),
        "campaigns_leads": named(rows(select(leads).where(leads.c.customer_id == customer.id).order_by(leads.c.id))),
        "campaigns_optouts": rows(select(optouts).where(optouts.c.customer_id == customer.id).order_by(optouts.c.channel)),
        "campaigns_blacklist": rows(select(blacklist).where(blacklist.c.customer_id == customer.id)),
        "campaigns_segments": mentioning(segments, ("name", "description", "criteria")),
        "campaigns_campaigns": mentioning(campaigns, ("name", "goal")),
    }


# ---------------------------------------------------------------------------
# Erasure
# ---------------------------------------------------------------------------


def erase(uow: "UnitOfWork", customer: "Customer", reason: str) -> dict[str, int]:
    """Replace every personal value the plugin holds about the person; keep
    every row (counts, statuses, amounts, dates, ids). Fires no hooks.

    Queued messages are withdrawn first (their outbox rows cancelled, the
    messages marked cancelled), as the core is about to cancel them too, so
    the plugin's states agree with the outbox's."""
    from crm_campaigns.services import WITHDRAWN, CampaignsService

    queued = uow.execute(select(messages.c.outbox_id).where(messages.c.customer_id == customer.id, messages.c.status == "queued",
                                                            messages.c.outbox_id.isnot(None))).scalars().all()
    done = {"withdrawn": uow.outbox.withdraw(queued, reason=WITHDRAWN)}
    CampaignsService(uow).sync_delivery(customer_ids=[customer.id])  # the messages show what the outbox did
    done["messages"] = uow.execute(update(messages).where(_messages_of(customer)).values(
        recipient=ERASED, subject=None, error=None)).rowcount
    done["responses"] = uow.execute(update(responses).where(responses.c.customer_id == customer.id, responses.c.note.isnot(None))
                                    .values(note=None)).rowcount
    done["optouts"] = uow.execute(update(optouts).where(optouts.c.customer_id == customer.id, optouts.c.reason.isnot(None))
                                  .values(reason=None)).rowcount
    done["blacklist"] = uow.execute(update(blacklist).where(blacklist.c.customer_id == customer.id, blacklist.c.reason.isnot(None))
                                    .values(reason=None)).rowcount
    scrubber = _Scrubber(customer)
    done["segments"] = _scrub_rows(uow, scrubber, segments, ("name", "description", "criteria"))
    done["campaigns"] = _scrub_rows(uow, scrubber, campaigns, ("name", "goal"))
    done["audit_entries"] = _scrub_audit(uow, scrubber)
    # campaigns_audience and campaigns_leads hold ids and the group only: kept as they are
    return done


def _scrub_rows(uow: "UnitOfWork", scrubber: _Scrubber, table: Any, columns: tuple[str, ...]) -> int:
    """Staff-written segments and campaigns that quote the person (a segment
    ``name eq 王芳``, a campaign named after a customer) lose those values; a
    name made equal to another's gets its id appended (names are unique)."""
    changed = 0
    for row in uow.execute(select(table.c.id, *(table.c[c] for c in columns))).mappings().all():
        values = {c: scrubber.value(row[c]) for c in columns if row[c] is not None}
        values = {c: v for c, v in values.items() if v != row[c]}
        if not values:
            continue
        if "name" in values and uow.execute(select(table.c.id).where(table.c.name == values["name"], table.c.id != row["id"])).first():
            values["name"] = f"{values['name']} #{row['id']}"
        uow.execute(update(table).where(table.c.id == row["id"]).values(values))
        changed += 1
    return changed


def _scrub_audit(uow: "UnitOfWork", scrubber: _Scrubber) -> int:
    """The plugin's own audit entries on segments and campaigns that copied
    the person's values (a segment's criteria, a campaign's name). Entries
    about the customer carry ``customer_id`` and are the core's to scrub."""
    return uow.audit.scrub({"campaigns.segment": None, "campaigns.campaign": None}, scrubber.value, mentioning=scrubber.secrets())


# ---------------------------------------------------------------------------
# Retention
# ---------------------------------------------------------------------------


def message_days(uow: "UnitOfWork") -> float:
    """``[privacy.retention] campaigns_messages_days`` in crm.toml or
    ``CRM_RETAIN_CAMPAIGNS_MESSAGES_DAYS``; 0 turns the rule off."""
    section = (uow.crm.config.extra or {}).get("privacy", {}).get("retention", {})
    raw = os.environ.get("CRM_RETAIN_CAMPAIGNS_MESSAGES_DAYS", section.get("campaigns_messages_days"))
    if raw is None:
        return DEFAULT_MESSAGE_DAYS
    try:
        days = float(raw)
    except (TypeError, ValueError):
        raise ValidationError.field("privacy.retention.campaigns_messages_days", f"{raw!r} is not a number") from None
    if days < 0:
        raise ValidationError.field("privacy.retention.campaigns_messages_days", "must not be negative")
    return days


def retain_messages(uow: "UnitOfWork", now: datetime, dry_run: bool) -> int:
    """Clear the copies of rendered messages (recipient, subject, last error)
    of messages queued more than ``campaigns_messages_days`` ago whose
    delivery is over: sent, failed, cancelled, listed, suppressed or failed
    to render (a message still pending in the outbox keeps them). Status,
    channel, variant, dates and attempts stay, so the statistics do not
    change. Idempotent; with ``dry_run`` only counts."""
    days = message_days(uow)
    if not days:
        return 0
    over = or_(messages.c.status != "queued",
               messages.c.outbox_id.in_(select(outbox.c.id).where(outbox.c.status != "pending")))
    condition = ((messages.c.queued_at < now - timedelta(days=days)) & over
                 & (messages.c.recipient.isnot(None) | messages.c.subject.isnot(None) | messages.c.error.isnot(None)))
    if dry_run:
        return uow.execute(select(func.count()).select_from(messages).where(condition)).scalar_one()
    from crm_campaigns.services import CampaignsService

    CampaignsService(uow).sync_delivery()  # copy the final states before the error text goes
    return uow.execute(update(messages).where(condition).values(recipient=None, subject=None, error=None)).rowcount

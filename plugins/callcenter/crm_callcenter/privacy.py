"""A person's data in the call center (个人信息保护): export, erasure and
the retention of call metadata.

What is personal here:

* tickets: subject and description (free text that may quote the caller),
  their events' bodies (replies, internal notes, reopen reasons) and the
  data of ``updated`` events (an earlier subject);
* the call log: the caller as dialled and its normalised number — by
  ``customer_id`` and, for calls nobody identified, by the person's numbers
  (the customer's and its contacts' phones); the ``offered`` event keeps the
  caller too;
* surveys: the customer's comment;
* the plugin's audit entries on tickets and surveys (subjects, reasons).

What stays, for reports: ids, types, priorities, statuses, categories,
times and SLA timings (due, breached, paused), durations (wait, talk,
after-call work), outcomes, queues and agents, CSAT scores.
"""

from __future__ import annotations

import calendar as _calendar
import os
from datetime import datetime
from typing import TYPE_CHECKING, Any, Iterable

from sqlalchemy import bindparam, false, func, or_, select, update

from crmcore import ValidationError
from crmcore.phones import try_normalise_phone
from crmcore.tables import contacts

from crm_callcenter.tables import call_events, calls, surveys, ticket_events, tickets

if TYPE_CHECKING:
    from crmcore import Customer, UnitOfWork

#: What erased text becomes (the core's marker).
ERASED = "(erased)"
#: The plugin's audit entities whose entries are about one customer.
AUDIT_ENTITIES = {"callcenter_ticket": "tickets", "callcenter_survey": "surveys"}
#: Keys of ticket-event data and audit changes that hold free text.
FREE_TEXT_KEYS = {"subject", "description", "reason", "body", "comment", "caller"}

RETENTION_RULE = "callcenter.call_metadata"
DEFAULT_CALL_METADATA_MONTHS = 24


# ---------------------------------------------------------------------------
# Who the person is, as the call center sees them
# ---------------------------------------------------------------------------


class Person:
    """One customer record's identifying values and the ids of its rows."""

    def __init__(self, uow: "UnitOfWork", customer: "Customer"):
        self.customer_id = customer.id
        names = {customer.name}
        phones = set(customer.phones or [])
        emails = set(customer.emails or [])
        for name, contact_phones, contact_emails in uow.execute(
                select(contacts.c.name, contacts.c.phones, contacts.c.emails).where(contacts.c.customer_id == customer.id)):
            names.add(name)
            phones.update(contact_phones or [])
            emails.update(contact_emails or [])
        spelled = {try_normalise_phone(p) or p for p in phones}
        self.names = {n for n in names if n and n.strip() and n != ERASED}
        self.phones = sorted(p for p in phones | spelled if p)
        self.emails = sorted(e for e in emails if e)
        self.ticket_ids = list(uow.execute(select(tickets.c.id).where(tickets.c.customer_id == customer.id)
                                           .order_by(tickets.c.id)).scalars())
        self.call_ids = list(uow.execute(select(calls.c.id).where(self.calls_condition()).order_by(calls.c.id)).scalars())
        self.survey_ids = list(uow.execute(select(surveys.c.id).where(surveys.c.customer_id == customer.id)
                                           .order_by(surveys.c.id)).scalars())

    def calls_condition(self) -> Any:
        """Calls of the customer, and calls from one of the person's numbers
        that nobody identified (``customer_id`` NULL) or that went elsewhere."""
        return or_(calls.c.customer_id == self.customer_id,
                   calls.c.caller_number.in_(self.phones) if self.phones else false(),
                   calls.c.caller.in_(self.phones) if self.phones else false())

    def texts(self) -> list[str]:
        """Values to cut out of free text, longest first."""
        return sorted(self.names | set(self.phones) | set(self.emails), key=len, reverse=True)


def _scrub(value: Any, texts: list[str], *, key: str | None = None) -> Any:
    """``value`` with the person's values (and free-text fields) replaced."""
    if key in FREE_TEXT_KEYS and value not in (None, "", [], {}):
        return [ERASED if v not in (None, "") else v for v in value] if isinstance(value, list) else ERASED
    if isinstance(value, str):
        for text in texts:
            if text in value:
                value = value.replace(text, ERASED)
        return value
    if isinstance(value, list):
        return [_scrub(v, texts) for v in value]
    if isinstance(value, dict):
        return {k: _scrub(v, texts, key=k) for k, v in value.items()}
    return value


def _rows(uow: "UnitOfWork", query: Any) -> list[dict[str, Any]]:
    return [dict(row) for row in uow.execute(query).mappings()]


def _chunks(ids: list[int], size: int = 500) -> Iterable[list[int]]:
    for start in range(0, len(ids), size):
        yield ids[start:start + size]


# ---------------------------------------------------------------------------
# Export
# ---------------------------------------------------------------------------


def export(uow: "UnitOfWork", customer: "Customer") -> dict[str, list[dict[str, Any]]] | None:
    """Every row of the plugin's tables about this customer record: tickets
    and their events, calls (also those from the person's numbers that
    nobody identified) and their events, surveys."""
    person = Person(uow, customer)
    found: dict[str, list[dict[str, Any]]] = {
        "callcenter_tickets": [], "callcenter_ticket_events": [], "callcenter_calls": [], "callcenter_call_events": [],
        "callcenter_surveys": [],
    }
    for chunk in _chunks(person.ticket_ids):
        found["callcenter_tickets"] += _rows(uow, select(tickets).where(tickets.c.id.in_(chunk)).order_by(tickets.c.id))
        found["callcenter_ticket_events"] += _rows(uow, select(ticket_events).where(ticket_events.c.ticket_id.in_(chunk))
                                                   .order_by(ticket_events.c.id))
    for chunk in _chunks(person.call_ids):
        found["callcenter_calls"] += _rows(uow, select(calls).where(calls.c.id.in_(chunk)).order_by(calls.c.id))
        found["callcenter_call_events"] += _rows(uow, select(call_events).where(call_events.c.call_id.in_(chunk))
                                                 .order_by(call_events.c.id))
    for chunk in _chunks(person.survey_ids):
        found["callcenter_surveys"] += _rows(uow, select(surveys).where(surveys.c.id.in_(chunk)).order_by(surveys.c.id))
    if not any(found.values()):
        return None
    return found


# ---------------------------------------------------------------------------
# Erasure
# ---------------------------------------------------------------------------


def erase(uow: "UnitOfWork", customer: "Customer", reason: str) -> dict[str, int]:
    """Replace every personal value the call center holds about this
    customer record; keep ids, times, SLA timings, durations, outcomes and
    scores. Fires no hooks, deletes no rows. Returns counts by kind."""
    person = Person(uow, customer)
    texts = person.texts()
    done = {"tickets": 0, "ticket_events": 0, "calls": 0, "call_events": 0, "surveys": 0, "audit_entries": 0}

    for chunk in _chunks(person.ticket_ids):
        # earlier subjects (ticket updates) are the person's free text as well
        done["tickets"] += uow.execute(update(tickets).where(tickets.c.id.in_(chunk)).values(
            subject=ERASED, description=None)).rowcount
        events = uow.execute(select(ticket_events.c.id, ticket_events.c.body, ticket_events.c.data)
                             .where(ticket_events.c.ticket_id.in_(chunk))).all()
        changes = []
        for event_id, body, data in events:
            scrubbed = _scrub(data or {}, texts)
            if body is not None or scrubbed != (data or {}):
                changes.append({"event_id": event_id, "new_body": None if body is None else ERASED, "new_data": scrubbed})
        if changes:
            uow.execute(update(ticket_events).where(ticket_events.c.id == bindparam("event_id"))
                        .values(body=bindparam("new_body"), data=bindparam("new_data")), changes)
        done["ticket_events"] += len(changes)

    for chunk in _chunks(person.call_ids):
        done["calls"] += uow.execute(update(calls).where(calls.c.id.in_(chunk)).values(caller=None, caller_number=None)).rowcount
        done["call_events"] += _strip_call_events(uow, chunk, texts)

    for chunk in _chunks(person.survey_ids):
        done["surveys"] += uow.execute(update(surveys).where(surveys.c.id.in_(chunk), surveys.c.comment.isnot(None))
                                       .values(comment=ERASED)).rowcount

    done["audit_entries"] = _erase_audit(uow, person, texts)
    return done


def _strip_call_events(uow: "UnitOfWork", call_ids: list[int], texts: list[str]) -> int:
    """Call events keep what happened; the caller as dialled goes."""
    rows = uow.execute(select(call_events.c.id, call_events.c.data).where(call_events.c.call_id.in_(call_ids))).all()
    changes = []
    for event_id, data in rows:
        data = data or {}
        kept = _scrub({k: v for k, v in data.items() if k != "caller"}, texts)
        if kept != data:
            changes.append({"event_id": event_id, "new_data": kept})
    if changes:
        uow.execute(update(call_events).where(call_events.c.id == bindparam("event_id")).values(data=bindparam("new_data")), changes)
    return len(changes)


def _erase_audit(uow: "UnitOfWork", person: Person, texts: list[str]) -> int:
    """The plugin's own audit entries on the person's tickets and surveys.
    Entries written since the privacy hooks carry ``customer_id`` and the
    core scrubs them too; older ones do not, so their free text (subjects,
    reasons) and the person's values are replaced here, and they are tagged
    with ``customer_id`` so the core treats them as the person's."""
    return uow.audit.scrub({"callcenter_ticket": person.ticket_ids, "callcenter_survey": person.survey_ids},
                           lambda changes: {**_scrub(changes, texts), "customer_id": person.customer_id})


# ---------------------------------------------------------------------------
# Retention: caller numbers of old calls
# ---------------------------------------------------------------------------


def call_metadata_months(uow: "UnitOfWork") -> float:
    """``[privacy.retention] callcenter_call_metadata_months`` in crm.toml or
    ``CRM_RETAIN_CALLCENTER_CALL_METADATA_MONTHS``; 24 by default, 0 off."""
    section = (uow.crm.config.extra or {}).get("privacy", {}).get("retention", {})
    raw = os.environ.get("CRM_RETAIN_CALLCENTER_CALL_METADATA_MONTHS", section.get("callcenter_call_metadata_months"))
    if raw is None:
        return DEFAULT_CALL_METADATA_MONTHS
    try:
        months = float(raw)
    except (TypeError, ValueError):
        raise ValidationError.field("privacy.retention.callcenter_call_metadata_months", f"{raw!r} is not a number") from None
    if months < 0:
        raise ValidationError.field("privacy.retention.callcenter_call_metadata_months", "must not be negative")
    return months


def months_before(moment: datetime, months: float) -> datetime:
    """``moment`` minus whole calendar months (a fraction counts as 30.44 days each)."""
    from datetime import timedelta

    whole = int(months)
    year, month = divmod(moment.month - 1 - whole, 12)
    year, month = moment.year + year, month + 1
    day = min(moment.day, _calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day) - timedelta(days=(months - whole) * 30.44)


def retain_call_metadata(uow: "UnitOfWork", now: datetime, dry_run: bool) -> int:
    """Calls offered more than N months ago lose the caller as dialled and
    its number (the call log's personal data); durations, outcomes, queues,
    agents and the link to a known customer stay. Returns the number of
    calls changed (or that would be); a second run finds none."""
    months = call_metadata_months(uow)
    if not months:
        return 0
    condition = (calls.c.offered_at < months_before(now, months)) & (calls.c.caller.isnot(None) | calls.c.caller_number.isnot(None))
    if dry_run:
        return int(uow.execute(select(func.count()).select_from(calls).where(condition)).scalar_one())
    ids = list(uow.execute(select(calls.c.id).where(condition).order_by(calls.c.id)).scalars())
    for chunk in _chunks(ids, 2000):
        uow.execute(update(calls).where(calls.c.id.in_(chunk)).values(caller=None, caller_number=None))
        _strip_call_events(uow, chunk, [])
    return len(ids)

"""The membership plugin's part in a person's data (docs/privacy.md):
export, erasure and the retention rule.

What the plugin holds about a person:

* ``membership_applications`` — name, phone, ID number, e-mail, birthday as
  filed, and the reviewer's reject reason;
* ``membership_members`` — the membership (card number, tier, dates) and the
  reason it was cancelled;
* ``membership_cards`` — the person's cards and their notes (a lost card's
  note, a replacement's reason);
* ``membership_balances``, ``membership_ledger``, ``membership_pending``,
  ``membership_awards``, ``membership_tier_changes``,
  ``membership_redemptions``, ``membership_event_members`` — numbers, dates
  and the reasons of entries;
* ``membership_merchant_contacts`` — when the person is an alliance
  merchant's contact (matched by phone or e-mail);
* the care messages rendered for them live in the core's outbox, which the
  core erases; the plugin keeps no copy.

Erasure keeps every amount, balance, count and date (reports, ``membership
check`` and the ledger's sums stay exactly as they were) and removes the
identity: the applications' personal fields, notes and reasons typed about
the person, the person's values quoted in the ledger's, tier changes' and
redemptions' reasons, merchant contacts that are the person, and their name,
phones and e-mails in merchant notes. An active membership is cancelled (the
customer record itself is cancelled by the core); the card number stays, a
pseudonymous key of the ledger. No hook is fired, no row deleted.
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Iterable

from sqlalchemy import and_, func, or_, select, update

from crmcore import ERASED, ValidationError, normalise_phone
from crmcore.tables import audit_log

from crm_membership.tables import (
    applications,
    awards,
    balances,
    cards,
    event_members,
    ledger,
    members,
    merchant_contacts,
    merchant_notes,
    pending,
    redemptions,
    tier_changes,
)

if TYPE_CHECKING:
    from crmcore import Customer, UnitOfWork

#: Tables keyed by member, exported whole.
BY_MEMBER = (cards, balances, ledger, pending, awards, tier_changes, redemptions, event_members)

#: The plugin's audit entities about one member / one application.
MEMBER_ENTITY, APPLICATION_ENTITY = "membership_member", "membership_application"

#: Free-text fields of the plugin's audit entries about a person: replaced whole on erasure.
AUDIT_FREE_TEXT = ("note", "reason")


# ---------------------------------------------------------------------------
# Who the person is, in the plugin's tables
# ---------------------------------------------------------------------------


def _phones(customer: "Customer") -> set[str]:
    found = set()
    for phone in customer.phones or []:
        found.add(phone)
        normalised = _normalised(phone)
        if normalised:
            found.add(normalised)
    return found


def _normalised(phone: str | None) -> str | None:
    if not phone:
        return None
    try:
        return normalise_phone(phone)
    except (ValueError, ValidationError):
        return phone.strip()


def _emails(customer: "Customer") -> set[str]:
    return {e.strip().lower() for e in customer.emails or [] if e and e.strip()}


def _member_ids(uow: "UnitOfWork", customer_id: int) -> list[int]:
    return list(uow.execute(select(members.c.id).where(members.c.customer_id == customer_id).order_by(members.c.id)).scalars())


def _applications_of(customer: "Customer", phones: set[str], emails: set[str]) -> Any:
    """Applications filed for the customer, or carrying their phone or e-mail."""
    conditions = [applications.c.customer_id == customer.id]
    if phones:
        conditions.append(applications.c.phone.in_(sorted(phones)))
    if emails:
        conditions.append(func.lower(applications.c.email).in_(sorted(emails)))
    return or_(*conditions)


def _merchant_contacts_of(uow: "UnitOfWork", phones: set[str], emails: set[str]) -> list[dict[str, Any]]:
    """Merchant contacts that are the person: same phone (as normalised) or
    e-mail. A name alone is not enough (two people share a name)."""
    if not phones and not emails:
        return []
    rows = uow.execute(select(merchant_contacts).where(or_(merchant_contacts.c.phone.isnot(None), merchant_contacts.c.email.isnot(None)))
                       .order_by(merchant_contacts.c.id)).mappings()
    return [dict(r) for r in rows
            if (r["phone"] and (r["phone"] in phones or _normalised(r["phone"]) in phones))
            or (r["email"] and r["email"].strip().lower() in emails)]


def _own_audit(uow: "UnitOfWork", member_ids: list[int], application_ids: list[int]) -> Any:
    conditions = []
    if member_ids:
        conditions.append((audit_log.c.entity == MEMBER_ENTITY) & audit_log.c.entity_id.in_([str(i) for i in member_ids]))
    if application_ids:
        conditions.append((audit_log.c.entity == APPLICATION_ENTITY) & audit_log.c.entity_id.in_([str(i) for i in application_ids]))
    return or_(*conditions) if conditions else None


# ---------------------------------------------------------------------------
# Export
# ---------------------------------------------------------------------------


def export(uow: "UnitOfWork", customer: "Customer") -> dict[str, list[dict[str, Any]]] | None:
    """Every row of the plugin's tables about this customer record, by table."""
    phones, emails = _phones(customer), _emails(customer)
    member_ids = _member_ids(uow, customer.id)

    def rows(query: Any) -> list[dict[str, Any]]:
        return [dict(r) for r in uow.execute(query).mappings()]

    found: dict[str, list[dict[str, Any]]] = {
        members.name: rows(select(members).where(members.c.customer_id == customer.id).order_by(members.c.id)),
        applications.name: rows(select(applications).where(_applications_of(customer, phones, emails)).order_by(applications.c.id)),
    }
    for table in BY_MEMBER:
        order = [table.c[name] for name in ("id", "event_id") if name in table.c] or [table.c.member_id]
        found[table.name] = rows(select(table).where(table.c.member_id.in_(member_ids)).order_by(*order)) if member_ids else []
    found[merchant_contacts.name] = _merchant_contacts_of(uow, phones, emails)
    # the plugin's audit entries written before they carried "customer_id"
    # (those that do are in the core's section already)
    condition = _own_audit(uow, member_ids, [a["id"] for a in found[applications.name] if a["customer_id"] == customer.id])
    if condition is not None:
        legacy = [r for r in rows(select(audit_log).where(condition).order_by(audit_log.c.id))
                  if not (isinstance(r["changes"], dict) and "customer_id" in r["changes"])]
        if legacy:
            found[audit_log.name] = legacy
    found = {kind: kind_rows for kind, kind_rows in found.items() if kind_rows}
    return found or None


# ---------------------------------------------------------------------------
# Erasure
# ---------------------------------------------------------------------------


class _Scrubber:
    """Replaces the person's name, phones and e-mails inside text."""

    def __init__(self, values: Iterable[str]):
        self.values = sorted({v for v in values if v and v.strip() and v != ERASED}, key=len, reverse=True)

    def __call__(self, text: Any) -> Any:
        if not isinstance(text, str):
            return text
        for value in self.values:
            if value in text:
                text = text.replace(value, ERASED)
        return text

    def deep(self, value: Any) -> Any:
        if isinstance(value, str):
            return self(value)
        if isinstance(value, list):
            return [self.deep(v) for v in value]
        if isinstance(value, dict):
            return {k: self.deep(v) for k, v in value.items()}
        return value


def _scrub_column(uow: "UnitOfWork", table: Any, column: str, condition: Any, scrub: _Scrubber) -> int:
    """Replace the person's values inside one text column of the rows matching ``condition``."""
    key = table.primary_key.columns.values()[0]
    changed = 0
    for row_id, text in uow.execute(select(key, table.c[column]).where(condition, table.c[column].isnot(None))).all():
        cleaned = scrub(text)
        if cleaned != text:
            uow.execute(update(table).where(key == row_id).values({column: cleaned}))
            changed += 1
    return changed


def erase(uow: "UnitOfWork", customer: "Customer", reason: str) -> dict[str, int]:
    """Replace every personal value the plugin holds about this customer
    record; keep amounts, balances, counts and dates. Fires no hook."""
    phones, emails = _phones(customer), _emails(customer)
    raw_emails = {e for e in customer.emails or [] if e}
    scrub = _Scrubber([customer.name or "", *phones, *raw_emails, *emails])
    member_ids = _member_ids(uow, customer.id)
    done: dict[str, int] = {}

    # applications filed for the person: every personal field
    own_apps = list(uow.execute(select(applications.c.id).where(applications.c.customer_id == customer.id)).scalars())
    if own_apps:
        done["applications"] = uow.execute(update(applications).where(applications.c.id.in_(own_apps)).values(
            name=ERASED, phone=None, id_number=None, email=None, birthday=None)).rowcount
        uow.execute(update(applications).where(applications.c.id.in_(own_apps), applications.c.reject_reason.isnot(None))
                    .values(reject_reason=ERASED))
    # applications of other customer records that carry the person's phone or e-mail: those fields
    if phones:
        done["applications_by_phone"] = uow.execute(update(applications).where(
            applications.c.phone.in_(sorted(phones)), applications.c.customer_id != customer.id).values(phone=None)).rowcount
    if emails:
        done["applications_by_email"] = uow.execute(update(applications).where(
            func.lower(applications.c.email).in_(sorted(emails)), applications.c.customer_id != customer.id).values(email=None)).rowcount

    if member_ids:
        # the membership ends with the customer record; balances and the ledger stay as they are
        active = list(uow.execute(select(members.c.id, members.c.card_number).where(
            members.c.id.in_(member_ids), members.c.status == "active")).all())
        for member_id, number in active:
            uow.execute(update(members).where(members.c.id == member_id).values(status="cancelled", cancelled_at=uow.now))
            uow.execute(update(cards).where(cards.c.number == number, cards.c.status.in_(("active", "lost")))
                        .values(status="cancelled", blocked_at=uow.now))
        uow.execute(update(members).where(members.c.id.in_(member_ids), or_(members.c.status == "cancelled", members.c.cancel_reason.isnot(None)))
                    .values(cancel_reason=ERASED))
        done["members"] = len(member_ids)
        done["cards"] = uow.execute(update(cards).where(cards.c.member_id.in_(member_ids), cards.c.note.isnot(None)).values(note=None)).rowcount
        # reasons stay (an expiry date, an event's name, "activity 7 cancelled"); the person's values in them go
        done["ledger_reasons"] = _scrub_column(uow, ledger, "reason", ledger.c.member_id.in_(member_ids), scrub)
        done["tier_change_reasons"] = _scrub_column(uow, tier_changes, "reason", tier_changes.c.member_id.in_(member_ids), scrub)
        done["redemption_reasons"] = _scrub_column(uow, redemptions, "reason", redemptions.c.member_id.in_(member_ids), scrub)

    # alliance merchants' contacts that are the person, and their values in merchant notes
    contacts = _merchant_contacts_of(uow, phones, emails)
    if contacts:
        done["merchant_contacts"] = uow.execute(update(merchant_contacts).where(merchant_contacts.c.id.in_([c["id"] for c in contacts]))
                                                .values(name=ERASED, title=None, phone=None, email=None)).rowcount
        scrub_names = _Scrubber([customer.name or "", *(c["name"] for c in contacts), *phones, *raw_emails, *emails])
        done["merchant_notes"] = _scrub_column(uow, merchant_notes, "text",
                                               merchant_notes.c.merchant_id.in_({c["merchant_id"] for c in contacts}), scrub_names)
    distinctive = _Scrubber([*phones, *raw_emails, *emails])
    if distinctive.values:
        done["merchant_notes"] = done.get("merchant_notes", 0) + _scrub_column(uow, merchant_notes, "text", merchant_notes.c.id.isnot(None),
                                                                               distinctive)

    # the plugin's audit entries about the person: free text goes, and each
    # carries "customer_id" so that the core treats every value in it as theirs
    def scrubbed(changes: dict[str, Any]) -> dict[str, Any]:
        cleaned = {"customer_id": customer.id, **changes}
        cleaned.update({key: ERASED for key in AUDIT_FREE_TEXT if cleaned.get(key)})
        return scrub.deep(cleaned)

    uow.audit.scrub({MEMBER_ENTITY: member_ids, APPLICATION_ENTITY: own_apps}, scrubbed)
    return done


# ---------------------------------------------------------------------------
# Retention
# ---------------------------------------------------------------------------

RETENTION_RULE = "membership.rejected_applications"
RETENTION_SETTING = "membership_rejected_applications_days"
RETENTION_DEFAULT_DAYS = 365


def retention_days(crm: Any) -> float:
    """``[privacy.retention] membership_rejected_applications_days`` in
    crm.toml or ``CRM_RETAIN_MEMBERSHIP_REJECTED_APPLICATIONS_DAYS``; 0 turns
    the rule off."""
    section = ((crm.config.extra or {}).get("privacy", {}) or {}).get("retention", {}) or {}
    raw = os.environ.get(f"CRM_RETAIN_{RETENTION_SETTING.upper()}", section.get(RETENTION_SETTING, RETENTION_DEFAULT_DAYS))
    try:
        days = float(raw)
    except (TypeError, ValueError):
        raise ValidationError.field(f"privacy.retention.{RETENTION_SETTING}", f"{raw!r} is not a number") from None
    if days < 0:
        raise ValidationError.field(f"privacy.retention.{RETENTION_SETTING}", "must not be negative")
    return days


def retain_rejected_applications(uow: "UnitOfWork", now: datetime, dry_run: bool) -> int:
    """Rejected applications reviewed more than the retention period ago lose
    the applicant's name, phone, ID number, e-mail, birthday and the reject
    reason; channel, status, dates and flags stay (counts of applications).
    Idempotent: a second run finds nothing left to clear."""
    days = retention_days(uow.crm)
    if not days:
        return 0
    condition = and_(
        applications.c.status == "rejected",
        func.coalesce(applications.c.reviewed_at, applications.c.created_at) < now - timedelta(days=days),
        or_(applications.c.name.isnot(None) & (applications.c.name != ERASED), applications.c.phone.isnot(None), applications.c.id_number.isnot(None), applications.c.email.isnot(None),
            applications.c.birthday.isnot(None), applications.c.reject_reason.isnot(None) & (applications.c.reject_reason != ERASED)),
    )
    if dry_run:
        return uow.execute(select(func.count()).select_from(applications).where(condition)).scalar_one()
    return uow.execute(update(applications).where(condition).values(
        name=ERASED, phone=None, id_number=None, email=None, birthday=None, reject_reason=ERASED)).rowcount

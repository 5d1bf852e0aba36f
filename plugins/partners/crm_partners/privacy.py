"""The partners plugin's part in a person's data (个人信息保护): export,
erasure and retention (see ``docs/privacy.md`` of crmcore).

A customer record reaches the plugin's tables in two roles:

* as an **end customer** (or lead): its deal registrations and lead
  assignments, and the commission lines paid on its deals;
* as a **partner** (an organisation, whose contact persons are people): its
  partner row, status history, agreements, registrations, assignments and
  commission lines.

Erasure keeps every row, amount, rate, date, status and id (performance,
commissions and scorecards still add up) and replaces what may identify or
quote a person: notes, free-text reasons, the person's values inside products
and conflict details (a conflict copies the name and the matching phone or
e-mail of the customers it found), and the renewal-reminder copy address when
it is the person's e-mail.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Iterable

from sqlalchemy import Text, cast, delete, false, or_, select, update

from crmcore import ERASED
from crmcore.tables import contacts, customer_emails, customer_phones

from crm_partners import tables as t

if TYPE_CHECKING:
    from crmcore import UnitOfWork

#: Free-text columns that may quote a person, and JSON columns that may copy
#: their values, per table.
TEXT_COLUMNS = {
    t.partners: ("notes",),
    t.status_history: ("reason",),
    t.agreements: ("terminate_reason",),
    t.registrations: ("product", "notes", "decision_reason", "close_reason"),
    t.assignments: ("reason",),
}
JSON_COLUMNS = {
    t.registrations: ("conflicts",),
    t.commissions: ("detail",),
}


def _rows(uow: "UnitOfWork", query: Any) -> list[dict[str, Any]]:
    return [dict(row) for row in uow.execute(query).mappings()]


def _registration_ids(uow: "UnitOfWork", customer_id: int) -> list[int]:
    return list(uow.execute(select(t.registrations.c.id).where(
        or_(t.registrations.c.customer_id == customer_id, t.registrations.c.partner_id == customer_id))).scalars())


def export(uow: "UnitOfWork", customer: Any) -> dict[str, list[dict[str, Any]]] | None:
    """Every row of the plugin about this customer record, by table."""
    cid = customer.id
    registration_ids = _registration_ids(uow, cid)
    data = {
        "partners_partners": _rows(uow, select(t.partners).where(t.partners.c.customer_id == cid)),
        "partners_status_history": _rows(uow, select(t.status_history).where(t.status_history.c.partner_id == cid)
                                         .order_by(t.status_history.c.id)),
        "partners_agreements": _rows(uow, select(t.agreements).where(t.agreements.c.partner_id == cid).order_by(t.agreements.c.id)),
        "partners_registrations": _rows(uow, select(t.registrations).where(t.registrations.c.id.in_(registration_ids))
                                        .order_by(t.registrations.c.id)) if registration_ids else [],
        "partners_assignments": _rows(uow, select(t.assignments).where(
            or_(t.assignments.c.customer_id == cid, t.assignments.c.partner_id == cid)).order_by(t.assignments.c.id)),
        "partners_commissions": _rows(uow, select(t.commissions).where(or_(
            t.commissions.c.partner_id == cid,
            t.commissions.c.registration_id.in_(registration_ids) if registration_ids else false())).order_by(t.commissions.c.id)),
        "partners_settings": [row for row in _rows(uow, select(t.settings).where(t.settings.c.key == "reminder_cc"))
                              if row["value"] in (customer.emails or [])],
    }
    data = {kind: rows for kind, rows in data.items() if rows}
    return data or None


# ---------------------------------------------------------------------------
# Erasure
# ---------------------------------------------------------------------------


def person_values(uow: "UnitOfWork", customer: Any) -> list[str]:
    """What identifies the person in text: the record's name, phones,
    e-mails and address, and its contact persons' names, phones and e-mails
    (a partner's contacts are people), longest first."""
    found: set[str] = {customer.name, *(customer.phones or []), *(customer.emails or []), customer.address or ""}
    for row in uow.execute(select(contacts.c.name, contacts.c.phones, contacts.c.emails).where(contacts.c.customer_id == customer.id)):
        found.update([row.name, *(row.phones or []), *(row.emails or [])])
    found.update(uow.execute(select(customer_phones.c.number).where(customer_phones.c.customer_id == customer.id)).scalars())
    found.update(uow.execute(select(customer_emails.c.email).where(customer_emails.c.customer_id == customer.id)).scalars())
    # one character matches too much to be replaced inside other text
    return sorted((v.strip() for v in found if isinstance(v, str) and len(v.strip()) > 1 and v.strip() != ERASED),
                  key=len, reverse=True)


def scrub(value: Any, values: Iterable[str]) -> Any:
    """``value`` (text, or JSON of lists and objects) with every occurrence
    of the person's values replaced by ERASED."""
    if isinstance(value, str):
        for text in values:
            if text in value:
                value = value.replace(text, ERASED)
        return value
    if isinstance(value, list):
        return [scrub(v, values) for v in value]
    if isinstance(value, dict):
        return {k: scrub(v, values) for k, v in value.items()}
    return value


def _patterns(values: Iterable[str]) -> list[str]:
    """LIKE patterns for a value as stored in text and inside JSON text."""
    found = set()
    for text in values:
        for form in (text, json.dumps(text)[1:-1]):
            found.add("%" + form.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%")
    return sorted(found)


def erase(uow: "UnitOfWork", customer: Any) -> dict[str, int]:
    """Replace the person's values in every table of the plugin; returns
    how many rows changed, by table. Amounts, counts, dates, statuses and
    ids stay; no row is deleted (but the reminder copy address setting when
    it is the person's e-mail); no hook fires."""
    cid = customer.id
    values = person_values(uow, customer)
    changed: dict[str, int] = {}

    def count(table: Any, n: int) -> None:
        if n:
            changed[table.name] = changed.get(table.name, 0) + n

    # 1. rows keyed by the person, as partner or as end customer: free text goes
    count(t.partners, uow.execute(update(t.partners).where(t.partners.c.customer_id == cid, t.partners.c.notes.isnot(None))
                                  .values(notes=None)).rowcount)
    count(t.status_history, uow.execute(update(t.status_history).where(
        t.status_history.c.partner_id == cid, t.status_history.c.reason.isnot(None)).values(reason=ERASED)).rowcount)
    count(t.agreements, uow.execute(update(t.agreements).where(
        t.agreements.c.partner_id == cid, t.agreements.c.terminate_reason.isnot(None)).values(terminate_reason=ERASED)).rowcount)
    own_registrations = or_(t.registrations.c.customer_id == cid, t.registrations.c.partner_id == cid)
    registration_ids = []
    for row in _rows(uow, select(t.registrations).where(own_registrations)):
        registration_ids.append(row["id"])
        new = {"notes": None,
               "decision_reason": ERASED if row["decision_reason"] else None,
               "close_reason": ERASED if row["close_reason"] else None,
               "product": scrub(row["product"], values),
               "conflicts": scrub(row["conflicts"], values)}
        new = {k: v for k, v in new.items() if v != row[k]}
        if new:
            uow.execute(update(t.registrations).where(t.registrations.c.id == row["id"]).values(new))
            count(t.registrations, 1)
    count(t.assignments, uow.execute(update(t.assignments).where(
        or_(t.assignments.c.customer_id == cid, t.assignments.c.partner_id == cid), t.assignments.c.reason.isnot(None))
        .values(reason=ERASED)).rowcount)
    own_lines = or_(t.commissions.c.partner_id == cid,
                    t.commissions.c.registration_id.in_(registration_ids) if registration_ids else false())
    for row in _rows(uow, select(t.commissions.c.id, t.commissions.c.detail).where(own_lines)):
        detail = scrub(row["detail"], values)
        if isinstance(detail, dict) and detail.get("reason"):
            detail = {**detail, "reason": ERASED}  # a reversal's free-text reason
        if detail != row["detail"]:
            uow.execute(update(t.commissions).where(t.commissions.c.id == row["id"]).values(detail=detail))
            count(t.commissions, 1)

    # 2. the person's values copied anywhere else: conflict details of other
    # registrations (a name, the phone that matched), notes quoting them
    if values:
        patterns = _patterns(values)
        for table in {*TEXT_COLUMNS, *JSON_COLUMNS}:
            text_columns, json_columns = TEXT_COLUMNS.get(table, ()), JSON_COLUMNS.get(table, ())
            key = list(table.primary_key.columns)[0]
            conditions = [table.c[name].like(p, escape="\\") for name in text_columns for p in patterns]
            conditions += [cast(table.c[name], Text).like(p, escape="\\") for name in json_columns for p in patterns]
            for row in _rows(uow, select(table).where(or_(*conditions))):
                new = {name: scrub(row[name], values) for name in (*text_columns, *json_columns)}
                new = {k: v for k, v in new.items() if v != row[k]}
                if new:
                    uow.execute(update(table).where(key == row[key.name]).values(new))
                    count(table, 1)

    # 3. rows keyed by their e-mail: the copy address of renewal reminders
    emails = {e.lower() for e in (customer.emails or [])}
    for key, value in uow.execute(select(t.settings.c.key, t.settings.c.value).where(t.settings.c.key == "reminder_cc")).all():
        if isinstance(value, str) and value.lower() in emails:
            count(t.settings, uow.execute(delete(t.settings).where(t.settings.c.key == key)).rowcount)
    return changed


# ---------------------------------------------------------------------------
# Retention
# ---------------------------------------------------------------------------

CLOSED = ("won", "lost", "rejected", "expired", "reversed")
#: The conflict details that copy other customers' names, phones and e-mails.
CONFLICT_TEXT = ("partner", "match", "message")


def retain_closed_registrations(uow: "UnitOfWork", now: datetime, dry_run: bool) -> int:
    """Registrations closed (won, lost, rejected, expired, reversed) more
    than ``notes_retention_years`` ago lose their progress notes and the
    names, phones and e-mails their conflict details copied; ids, amounts,
    dates, statuses and the conflicts' kinds and ids stay. Idempotent."""
    from crm_partners.service import PartnersService

    years = PartnersService(uow).setting("notes_retention_years")
    if not years:
        return 0
    cutoff = (now - timedelta(days=365.25 * float(years))).date()
    query = select(t.registrations.c.id, t.registrations.c.notes, t.registrations.c.conflicts).where(
        t.registrations.c.status.in_(CLOSED), t.registrations.c.protected_until < cutoff,
        or_(t.registrations.c.closed_on.is_(None), t.registrations.c.closed_on < cutoff),
        or_(t.registrations.c.notes.isnot(None),
            *(cast(t.registrations.c.conflicts, Text).like(f'%"{name}"%') for name in CONFLICT_TEXT)))
    done = 0
    for row in uow.execute(query).mappings().all():
        conflicts = [{k: v for k, v in c.items() if k not in CONFLICT_TEXT} if isinstance(c, dict) else c
                     for c in (row["conflicts"] or [])]
        if row["notes"] is None and conflicts == row["conflicts"]:
            continue
        done += 1
        if not dry_run:
            uow.execute(update(t.registrations).where(t.registrations.c.id == row["id"]).values(notes=None, conflicts=conflicts))
    return done

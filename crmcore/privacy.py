"""A person's data: export, erasure, legal hold, retention, and the check
that every plugin takes part (个人信息保护).

* :func:`export_person` — everything the CRM holds about one person, the
  core's records and each plugin's ``crm_privacy_export``, read in one
  transaction (REPEATABLE READ on PostgreSQL: one snapshot).
* :func:`erase_person` — one transaction: refused under legal hold; calls
  every plugin's ``crm_privacy_erase`` (every installed plugin, whatever the
  department's enablement), then anonymises the core: the customer row and
  the records merged into it, contacts, activities' text, lookup tables, the
  search index, consent evidence, outbox messages to them and the values
  inside earlier audit entries. Amounts, counts and dates stay. The audit
  trail records the erasure, by whom and why, without the erased values.
* :func:`apply_retention` — the core's rules and plugins' rules
  (``crm_register_retention_rules``), each in its own transaction.
* :func:`check_plugins` — installed plugins that do not implement the
  privacy hooks.
"""

from __future__ import annotations

import csv
import io
import json
import os
import zipfile
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable

from attrs import frozen
from sqlalchemy import Text, cast, delete, false, func, or_, select, update

from crmcore.audit import like_patterns, mentions
from crmcore.domain.customers import Customer
from crmcore.errors import Conflict, CRMError, HookFailed, PermissionDenied, ValidationError
from crmcore.search import index_names, name_key, search_tokens
from crmcore.storage.rows import from_row, jsonable
from crmcore.storage.tables import (
    activities,
    audit_log,
    consents,
    contacts,
    customer_emails,
    customer_phones,
    customer_tags,
    customers,
    outbox,
)

if TYPE_CHECKING:
    from crmcore.app import CRM
    from crmcore.storage.unit_of_work import UnitOfWork

#: What erased text becomes.
ERASED = "(erased)"
EXPORT_FORMAT = "crmcore.privacy-export/1"
ENTITY = "customer"


# ---------------------------------------------------------------------------
# Who is one person: the customer and the records merged into it
# ---------------------------------------------------------------------------


def _person(uow: "UnitOfWork", customer_id: int) -> list[Customer]:
    """The customer (in the actor's scope) and, transitively, every
    customer record merged into it: one person, several rows."""
    first = uow.customers.get(customer_id)
    group, queue = [first], [first.id]
    while queue:
        rows = uow.execute(select(customers).where(customers.c.merged_into_id.in_(queue)).order_by(customers.c.id)).mappings().all()
        queue = [row["id"] for row in rows]
        group += [from_row(Customer, row) for row in rows]
    return group


def _plugin_impls(uow: "UnitOfWork", hook_name: str) -> list[Any]:
    """Every installed plugin's implementation: privacy reaches plugins
    disabled for the actor's department too (their tables still hold data)."""
    return list(reversed(getattr(uow.crm.plugins.pm.hook, hook_name).get_hookimpls()))


def _call(impl: Any, hook_name: str, **kwargs: Any) -> Any:
    try:
        return impl.function(**{name: kwargs[name] for name in impl.argnames})
    except CRMError:
        raise
    except Exception as error:
        raise HookFailed(hook_name, impl.plugin_name, error) from error


def _audit_about(uow: "UnitOfWork", customer_ids: list[int], contact_ids: list[int], activity_ids: list[int]) -> Any:
    """Audit entries about the person: on the customer, its contacts and
    activities, or naming one of the customer ids as ``customer_id``."""
    conditions = [
        (audit_log.c.entity == "customer") & audit_log.c.entity_id.in_([str(i) for i in customer_ids]),
        (audit_log.c.entity == "contact") & audit_log.c.entity_id.in_([str(i) for i in contact_ids]),
        (audit_log.c.entity == "activity") & audit_log.c.entity_id.in_([str(i) for i in activity_ids]),
    ]
    if uow.connection.dialect.name == "postgresql":
        conditions.append(audit_log.c.changes["customer_id"].as_string().in_([str(i) for i in customer_ids]))
    else:
        conditions.append(func.json_extract(audit_log.c.changes, "$.customer_id").in_(customer_ids))
    return or_(*conditions)


# ---------------------------------------------------------------------------
# Export
# ---------------------------------------------------------------------------


def export_person(crm: "CRM", customer_id: int, actor: Any = None) -> dict[str, Any]:
    """Everything held about one person, as JSON-able data::

        {"format": ..., "exported_at": ..., "customer_id": ...,
         "core": {"customer": [...], "contacts": [...], "activities": [...],
                  "consents": [...], "audit": [...], "outbox": [...]},
         "plugins": {"<plugin>": {"<kind>": [...]}}}

    Needs ``privacy.export``; the export itself is audited."""
    with crm.unit_of_work(actor, snapshot=True) as uow:
        uow.require("privacy.export")
        group = _person(uow, customer_id)
        ids = [c.id for c in group]

        def rows(query: Any) -> list[dict[str, Any]]:
            return [dict(row) for row in uow.execute(query).mappings()]

        customer_rows = rows(select(customers).where(customers.c.id.in_(ids)).order_by(customers.c.id))
        for row in customer_rows:
            row.pop("search_text", None)
            row.pop("name_key", None)
        contact_rows = rows(select(contacts).where(contacts.c.customer_id.in_(ids)).order_by(contacts.c.id))
        activity_rows = rows(select(activities).where(activities.c.customer_id.in_(ids)).order_by(activities.c.id))
        core = {
            "customer": customer_rows,
            "contacts": contact_rows,
            "activities": activity_rows,
            "consents": rows(select(consents).where(consents.c.customer_id.in_(ids)).order_by(consents.c.id)),
            "audit": rows(select(audit_log).where(_audit_about(uow, ids, [r["id"] for r in contact_rows], [r["id"] for r in activity_rows]))
                          .order_by(audit_log.c.id)),
            "outbox": rows(select(outbox).where(outbox.c.customer_id.in_(ids)).order_by(outbox.c.id)),
        }
        plugins: dict[str, dict[str, list[dict[str, Any]]]] = {}
        for impl in _plugin_impls(uow, "crm_privacy_export"):
            for customer in group:
                result = _call(impl, "crm_privacy_export", uow=uow, customer=customer)
                if result is None:
                    continue
                if not isinstance(result, dict):
                    raise HookFailed("crm_privacy_export", impl.plugin_name, TypeError("must return {kind: [row, ...]} or None"))
                section = plugins.setdefault(impl.plugin_name, {})
                for kind, kind_rows in result.items():
                    section.setdefault(str(kind), []).extend(dict(r) for r in kind_rows)
        data = {"format": EXPORT_FORMAT, "exported_at": uow.now, "exported_by": uow.actor.username,
                "customer_id": customer_id, "customer_ids": ids, "core": core, "plugins": plugins}
        actor = uow.actor
    # recorded in a transaction of its own: the snapshot stays read-only, so
    # it never conflicts with writers (SQLite refuses a write from a
    # transaction whose snapshot is older than another's commit)
    with crm.unit_of_work(actor=actor if actor.id is not None else None) as uow:
        uow.audit.record(ENTITY, customer_id, "privacy_export", {
            "kinds": {**{k: len(v) for k, v in core.items()},
                      **{f"{p}.{k}": len(v) for p, kinds in plugins.items() for k, v in kinds.items()}}})
    return jsonable(data)


def write_export(data: dict[str, Any], path: Path) -> Path:
    """Write an export: readable JSON, or with a ``.zip`` name a ZIP of
    ``export.json`` and one CSV per kind (``core.contacts.csv``,
    ``<plugin>.<kind>.csv``; UTF-8 with BOM, nested values as JSON)."""
    text = json.dumps(data, ensure_ascii=False, indent=2)
    if path.suffix.lower() != ".zip":
        path.write_text(text + "\n", encoding="utf-8")
        return path
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("export.json", text + "\n")
        sections = [("core", data["core"]), *sorted(data["plugins"].items())]
        for owner, kinds in sections:
            for kind, kind_rows in kinds.items():
                archive.writestr(f"{owner}.{kind}.csv", _csv(kind_rows))
    return path


def _csv(rows: list[dict[str, Any]]) -> str:
    columns = list(dict.fromkeys(key for row in rows for key in row))
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(columns)
    for row in rows:
        writer.writerow(["" if row.get(c) is None else json.dumps(row[c], ensure_ascii=False) if isinstance(row.get(c), (dict, list))
                         else row[c] for c in columns])
    return "\ufeff" + buffer.getvalue()


# ---------------------------------------------------------------------------
# Legal hold and erasure
# ---------------------------------------------------------------------------


def set_legal_hold(uow: "UnitOfWork", customer_id: int, on: bool, reason: str | None = None) -> bool:
    """Set or lift the legal hold that blocks erasure; returns the previous state."""
    uow.require("privacy.hold")
    uow.customers.get(customer_id)
    before = uow.execute(select(customers.c.legal_hold).where(customers.c.id == customer_id)).scalar_one()
    if before != on:
        uow.execute(update(customers).where(customers.c.id == customer_id).values(legal_hold=on))
        uow.audit.record(ENTITY, customer_id, "legal_hold", {"legal_hold": (before, on), "reason": reason})
    return before


class _Values:
    """The personal values of one person, to replace wherever they were copied."""

    def __init__(self) -> None:
        #: distinctive values, replaced inside any text anywhere in the audit trail
        self.distinctive: set[str] = set()
        #: names: replaced where they are a whole value anywhere, inside text in the person's own entries
        self.names: set[str] = set()
        #: everything else personal (tags, subjects, birthdays, custom values): replaced as whole values in the person's entries
        self.other: set[str] = set()

    def add(self, kind: str, values: Iterable[Any]) -> None:
        target = getattr(self, kind)
        for value in values:
            if isinstance(value, (date, datetime)):
                value = value.isoformat()
            if isinstance(value, str) and value.strip() and value != ERASED:
                target.add(value)

    def harvest(self, changes: Any) -> None:
        """Take the values of personal fields from one of the person's own
        audit entries (``{field: [before, after]}``): earlier names, phones,
        addresses …"""
        if not isinstance(changes, dict):
            return
        for key, value in changes.items():
            kind = _PERSONAL_KEYS.get(key)
            if kind is not None:
                self.add(kind, _leaves(value))

    def scrub(self, value: Any, *, own: bool) -> Any:
        """``value`` with the person's values replaced by ERASED; ``own``:
        an entry about this person, where every personal value goes."""
        if isinstance(value, str):
            if value in self.distinctive or value in self.names or (own and value in self.other):
                return ERASED
            for text in sorted(self.distinctive | (self.names if own else set()), key=len, reverse=True):
                if text in value:
                    value = value.replace(text, ERASED)
            return value
        if isinstance(value, list):
            return [self.scrub(v, own=own) for v in value]
        if isinstance(value, dict):
            return {k: self.scrub(v, own=own) for k, v in value.items()}
        return value

    def patterns(self) -> list[str]:
        """LIKE patterns finding JSON text that may hold a name or distinctive value."""
        return like_patterns(self.distinctive | self.names)


#: Fields of the core's audit entries that hold personal values, by kind of value.
_PERSONAL_KEYS = {
    "name": "names", "merged_name": "names",
    "phones": "distinctive", "emails": "distinctive", "phone": "distinctive", "email": "distinctive",
    "address": "distinctive", "notes": "distinctive", "recipient": "distinctive", "body": "distinctive",
    "birthday": "other", "custom": "other", "tags": "other", "position": "other", "gender": "other",
    "title": "other", "subject": "other",
}


def _leaves(value: Any) -> list[Any]:
    if isinstance(value, dict):
        return [leaf for v in value.values() for leaf in _leaves(v)]
    if isinstance(value, (list, tuple)):
        return [leaf for v in value for leaf in _leaves(v)]
    return [value]


def erase_person(uow: "UnitOfWork", customer_id: int, reason: str) -> dict[str, Any]:
    """Erase one person, in ``uow``'s transaction (see the module docstring).
    Needs ``privacy.erase``; refused under legal hold or when already erased.
    Returns what was done, by kind."""
    uow.require("privacy.erase")
    if not (reason or "").strip():
        raise ValidationError.field("reason", "must not be empty")
    return _erase(uow, customer_id, reason.strip())


def _erase(uow: "UnitOfWork", customer_id: int, reason: str) -> dict[str, Any]:
    group = _person(uow, customer_id)
    first = group[0]
    if first.merged_into_id is not None:
        raise Conflict(f"customer {customer_id} was merged into customer {first.merged_into_id}: erase that one")
    ids = [c.id for c in group]
    state = {row.id: row for row in uow.execute(select(customers.c.id, customers.c.legal_hold, customers.c.erased_at,
                                                              customers.c.search_text).where(customers.c.id.in_(ids)))}
    held = [i for i in ids if state[i].legal_hold]
    if held:
        raise Conflict(f"customer {', '.join(map(str, held))} is under legal hold: erasure refused (crm privacy hold {held[0]} --off)")
    if state[first.id].erased_at is not None:
        raise Conflict(f"customer {customer_id} was already erased")

    with uow.audit._erasure() as scrubbed:
        return _erase_group(uow, group, state, reason, scrubbed)


def _erase_group(uow: "UnitOfWork", group: list[Customer], state: dict[int, Any], reason: str, scrubbed: set[int]) -> dict[str, Any]:
    first, ids = group[0], [c.id for c in group]
    # 1. plugins first, while the core's records still show who the person is;
    # their scrubs of audit entries (uow.audit.scrub) land in ``scrubbed``
    plugins = []
    for impl in _plugin_impls(uow, "crm_privacy_erase"):
        for customer in group:
            _call(impl, "crm_privacy_erase", uow=uow, customer=customer, reason=reason)
        plugins.append(impl.plugin_name)

    # 2. gather the person's values
    values = _Values()
    contact_rows = uow.execute(select(contacts).where(contacts.c.customer_id.in_(ids))).mappings().all()
    activity_rows = uow.execute(select(activities).where(activities.c.customer_id.in_(ids))).mappings().all()
    lookups = {
        "phones": uow.execute(select(customer_phones.c.number).where(customer_phones.c.customer_id.in_(ids))).scalars().all(),
        "emails": uow.execute(select(customer_emails.c.email).where(customer_emails.c.customer_id.in_(ids))).scalars().all(),
    }
    for customer in group:
        values.add("names", [customer.name])
        values.add("distinctive", [*customer.phones, *customer.emails, customer.address, customer.notes])
        values.add("other", [*customer.tags, customer.birthday, customer.position, customer.gender,
                             *(v for v in customer.custom.values() if isinstance(v, str))])
    for row in contact_rows:
        values.add("names", [row["name"]])
        values.add("distinctive", [*row["phones"], *row["emails"], row["notes"]])
        values.add("other", [row["title"], row["birthday"]])
    for row in activity_rows:
        values.add("other", [row["subject"], row["body"]])
    values.add("distinctive", [*lookups["phones"], *lookups["emails"]])

    # 3. the core's records
    now = uow.now
    for customer in group:
        uow.execute(update(customers).where(customers.c.id == customer.id).values(
            name=ERASED, phones=[], emails=[], address=None, position=None, birthday=None, gender=None,
            tags=[], custom={}, notes=None, do_not_contact=True, active=False,
            cancelled_at=customer.cancelled_at or now, erased_at=now, updated_at=now,
            search_text=search_tokens(ERASED), name_key=name_key(ERASED),
        ))
    index_names(uow.connection, [(i, state[i].search_text, search_tokens(ERASED)) for i in ids])
    for table in (customer_phones, customer_emails, customer_tags):
        uow.execute(delete(table).where(table.c.customer_id.in_(ids)))
    uow.execute(update(contacts).where(contacts.c.customer_id.in_(ids)).values(
        name=ERASED, title=None, phones=[], emails=[], birthday=None, notes=None, active=False))
    for row in activity_rows:
        payload = values.scrub(row["payload"], own=True)
        uow.execute(update(activities).where(activities.c.id == row["id"]).values(
            subject=ERASED if row["subject"] else None, body=None, payload=payload))
    uow.execute(update(consents).where(consents.c.customer_id.in_(ids), consents.c.evidence.isnot(None)).values(evidence=ERASED))

    # 4. earlier audit entries: the person's own (whose earlier values, an
    # old address or phone, are gathered too), and any other holding their values
    own = dict(uow.execute(select(audit_log.c.id, audit_log.c.changes).where(_audit_about(
        uow, ids, [r["id"] for r in contact_rows], [r["id"] for r in activity_rows]))).all())
    for changes in own.values():
        values.harvest(changes)
    own_ids = set(own)
    uow.audit._rewrite(or_(audit_log.c.id.in_(own_ids) if own_ids else false(), mentions(values.distinctive | values.names)),
                       lambda entry_id, changes: values.scrub(changes, own=entry_id in own_ids))
    messages = _erase_outbox(uow, ids, values)

    # 5. SQLite's FTS5 keeps deleted tokens in old segments until they merge
    if uow.connection.dialect.name == "sqlite":
        uow.connection.exec_driver_sql("INSERT INTO customers_fts(customers_fts) VALUES ('optimize')")
        uow.after_commit(lambda: checkpoint(uow.crm))

    done = {"customer_ids": ids, "plugins": plugins, "contacts": len(contact_rows), "activities": len(activity_rows),
            "outbox_messages": messages, "audit_entries_scrubbed": len(scrubbed)}
    uow.audit.record(ENTITY, first.id, "erase", {"reason": values.scrub(reason, own=True), **done})
    return done


def _erase_outbox(uow: "UnitOfWork", ids: list[int], values: _Values) -> int:
    """Messages to the person lose recipient, subject, body and error (and
    are cancelled if pending); messages to others that mention the person (a
    staff notice naming the caller) lose those mentions."""
    addresses = sorted(values.distinctive)
    query = select(outbox).where(or_(outbox.c.customer_id.in_(ids), outbox.c.recipient.in_(addresses) if addresses else false()))
    count = 0
    for row in uow.execute(query).mappings().all():
        changes: dict[str, Any] = {"recipient": ERASED, "subject": None, "body": None, "error": None,
                                   "payload": values.scrub(row["payload"], own=True)}
        if row["status"] == "pending":
            changes["status"] = "cancelled"
        if row["dedupe_key"] and values.scrub(row["dedupe_key"], own=True) != row["dedupe_key"]:
            changes["dedupe_key"] = f"erased:{row['id']}"
        uow.execute(update(outbox).where(outbox.c.id == row["id"]).values(changes))
        count += 1
    plain = ["%" + t.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%" for t in sorted(values.distinctive | values.names)]
    mentions = select(outbox).where(or_(
        *(outbox.c.subject.like(p, escape="\\") | outbox.c.body.like(p, escape="\\") | outbox.c.error.like(p, escape="\\") for p in plain),
        *(cast(outbox.c.payload, Text).like(p, escape="\\") for p in values.patterns()),
    )) if plain else None
    for row in (uow.execute(mentions).mappings().all() if mentions is not None else []):
        changes = {name: values.scrub(row[name], own=True) for name in ("subject", "body", "error", "payload")}
        changes = {name: value for name, value in changes.items() if value != row[name]}
        if changes:
            uow.execute(update(outbox).where(outbox.c.id == row["id"]).values(changes))
            count += 1
    return count


def checkpoint(crm: "CRM") -> None:
    """SQLite: copy the write-ahead log into the database file and truncate
    it, so no page image holding erased values stays in the WAL."""
    if crm.engine.dialect.name != "sqlite":
        return
    with crm.engine.connect() as connection:
        # outside any transaction: a checkpoint cannot run inside one
        connection.connection.driver_connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")


# ---------------------------------------------------------------------------
# Plugins' part
# ---------------------------------------------------------------------------


@frozen
class PluginPrivacy:
    plugin: str
    exports: bool
    erases: bool
    declared_no_personal_data: bool
    error: str | None

    @property
    def ok(self) -> bool:
        return self.error is None and (self.declared_no_personal_data or (self.exports and self.erases))

    @property
    def problem(self) -> str | None:
        if self.error is not None:
            return f"broken, its data cannot be exported or erased: {self.error}"
        if self.ok:
            return None
        missing = [hook for hook, has in (("crm_privacy_export", self.exports), ("crm_privacy_erase", self.erases)) if not has]
        return "does not implement " + " nor ".join(missing)


def check_plugins(crm: "CRM") -> list[PluginPrivacy]:
    """Each installed plugin: does it export and erase a person's data? A
    plugin holding no personal data says so with ``CRM_HOLDS_NO_PERSONAL_DATA
    = True`` in its plugin module."""
    found = []
    for name, info in sorted(crm.plugins.infos.items()):
        if not info.loaded:
            found.append(PluginPrivacy(name, False, False, False, info.error or "not loaded"))
            continue
        hooks = set(crm.plugins.hooks_of(name))
        found.append(PluginPrivacy(name, "crm_privacy_export" in hooks, "crm_privacy_erase" in hooks,
                                   bool(getattr(info.plugin, "CRM_HOLDS_NO_PERSONAL_DATA", False)), None))
    return found


# ---------------------------------------------------------------------------
# Retention
# ---------------------------------------------------------------------------


@frozen
class RetentionSettings:
    """``[privacy.retention]`` in crm.toml or ``CRM_RETAIN_*``; 0 turns a rule off."""

    cancelled_customers_years: float = 3
    outbox_bodies_days: float = 90
    audit_views_years: float = 2

    @classmethod
    def of(cls, crm: "CRM") -> "RetentionSettings":
        section = (crm.config.extra or {}).get("privacy", {}).get("retention", {})
        values = {}
        for name in ("cancelled_customers_years", "outbox_bodies_days", "audit_views_years"):
            raw = os.environ.get(f"CRM_RETAIN_{name.upper()}", section.get(name))
            if raw is not None:
                try:
                    values[name] = float(raw)
                except (TypeError, ValueError):
                    raise ValidationError.field(f"privacy.retention.{name}", f"{raw!r} is not a number") from None
                if values[name] < 0:
                    raise ValidationError.field(f"privacy.retention.{name}", "must not be negative")
        return cls(**values)


@frozen
class RetentionRule:
    name: str
    description: str
    plugin: str
    apply: Callable[..., int]


def retention_rules(crm: "CRM") -> list[RetentionRule]:
    """The core's rules, then plugins' rules by name."""
    settings = RetentionSettings.of(crm)
    rules = []
    if settings.cancelled_customers_years:
        years = settings.cancelled_customers_years
        rules.append(RetentionRule("core.cancelled_customers", f"Customers cancelled more than {years:g} years ago are erased",
                                   "core", lambda uow, now, dry_run: _retain_cancelled(uow, now, dry_run, years)))
    if settings.outbox_bodies_days:
        days = settings.outbox_bodies_days
        rules.append(RetentionRule("core.outbox_bodies", f"Subjects and bodies of outbox messages sent, failed or cancelled "
                                   f"more than {days:g} days ago are cleared", "core",
                                   lambda uow, now, dry_run: _retain_outbox(uow, now, dry_run, days)))
    if settings.audit_views_years:
        years_views = settings.audit_views_years
        rules.append(RetentionRule("core.audit_views", f"Audit entries of reads ('view') older than {years_views:g} years are deleted",
                                   "core", lambda uow, now, dry_run: _retain_views(uow, now, dry_run, years_views)))
    for name, (plugin, description, apply) in sorted(crm.plugins.registrations.retention_rules.items()):
        rules.append(RetentionRule(name, description, plugin, apply))
    return rules


def _retain_cancelled(uow: "UnitOfWork", now: datetime, dry_run: bool, years: float) -> int:
    cutoff = now - timedelta(days=365.25 * years)
    due = uow.execute(select(customers.c.id).where(
        customers.c.active.is_(False), customers.c.cancelled_at < cutoff, customers.c.erased_at.is_(None),
        customers.c.legal_hold.is_(False), customers.c.merged_into_id.is_(None)).order_by(customers.c.id)).scalars().all()
    if not dry_run:
        for customer_id in due:
            _erase(uow, customer_id, f"retention: cancelled more than {years:g} years ago")
    return len(due)


def _retain_outbox(uow: "UnitOfWork", now: datetime, dry_run: bool, days: float) -> int:
    cutoff = now - timedelta(days=days)
    condition = (outbox.c.status.in_(("sent", "failed", "cancelled"))
                 & (func.coalesce(outbox.c.sent_at, outbox.c.created_at) < cutoff)
                 & (outbox.c.body.isnot(None) | outbox.c.subject.isnot(None)))
    if dry_run:
        return uow.execute(select(func.count()).select_from(outbox).where(condition)).scalar_one()
    return uow.execute(update(outbox).where(condition).values(subject=None, body=None)).rowcount


def _retain_views(uow: "UnitOfWork", now: datetime, dry_run: bool, years: float) -> int:
    condition = (audit_log.c.action == "view") & (audit_log.c.at < now - timedelta(days=365.25 * years))
    if dry_run:
        return uow.execute(select(func.count()).select_from(audit_log).where(condition)).scalar_one()
    return uow.execute(delete(audit_log).where(condition)).rowcount


class _DryRun(Exception):
    pass


def apply_retention(crm: "CRM", actor: Any = None, *, dry_run: bool = False, now: datetime | None = None) -> list[dict[str, Any]]:
    """Apply every rule, each in its own transaction (a failing rule stops
    only itself). ``dry_run`` counts and changes nothing. A real run is
    recorded in the audit trail with each rule's count."""
    from crmcore.clock import utcnow

    now = now or utcnow()
    results = []
    for rule in retention_rules(crm):
        result = {"rule": rule.name, "plugin": rule.plugin, "description": rule.description, "count": 0, "error": None}
        try:
            with crm.unit_of_work(actor=actor) as uow:
                uow.require("privacy.retain")
                result["count"] = int(rule.apply(uow, now, dry_run) or 0)
                if dry_run:
                    raise _DryRun
                if result["count"]:
                    uow.audit.record("retention", rule.name, "retain", {"count": result["count"], "plugin": rule.plugin})
        except _DryRun:
            pass
        except PermissionDenied:
            raise
        except CRMError as error:
            result["error"] = str(error)
        except Exception as error:  # a plugin's rule failed: reported, the other rules still run
            result["error"] = f"{type(error).__name__}: {error}"
        results.append(result)
    if not dry_run:
        with crm.unit_of_work(actor=actor) as uow:
            uow.audit.record("retention", None, "retention run", {r["rule"]: r["count"] if r["error"] is None else "error" for r in results})
    return results

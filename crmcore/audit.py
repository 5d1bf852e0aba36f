"""The audit trail: who changed what, when, field by field (变更情况记录).

The trail is append-only through the API: entries are written by the
services inside the same transaction as the change, and there is no
operation that edits or deletes them, with one exception: while a person is
erased (``crm privacy erase``), :meth:`AuditTrail.scrub` replaces their values
inside earlier entries' ``changes`` (who, when, what and which action stay).
"""

from __future__ import annotations

import json
from contextlib import contextmanager
from datetime import datetime
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator, Mapping

from attrs import frozen
from sqlalchemy import Text, bindparam, cast, false, insert, or_, select, update

from crmcore.errors import Conflict, ValidationError

from crmcore.storage.rows import jsonable
from crmcore.storage.tables import audit_log

if TYPE_CHECKING:
    from crmcore.storage.unit_of_work import UnitOfWork


@frozen
class AuditEntry:
    id: int
    at: datetime
    actor: str
    entity: str
    entity_id: str | None
    action: str
    changes: dict[str, Any]


class AuditTrail:
    def __init__(self, uow: "UnitOfWork"):
        self.uow = uow
        # set by crmcore.privacy while an erasure runs: the only time entries may be rewritten
        self._erasing = False
        self._scrubbed: set[int] = set()

    def record(self, entity: str, entity_id: Any, action: str, changes: dict[str, Any] | None = None) -> None:
        """Append one entry; ``changes`` maps a field to ``(before, after)``
        or holds any other JSON-able detail of the action."""
        actor = self.uow.actor
        self.uow.execute(
            insert(audit_log).values(
                at=self.uow.now,
                actor_id=actor.id,
                actor=actor.username,
                entity=entity,
                entity_id=None if entity_id is None else str(entity_id),
                action=action,
                changes=jsonable(changes or {}),
            )
        )

    def record_many(self, entity: str, action: str, entries: list[tuple[Any, dict[str, Any]]]) -> None:
        """Append one entry per ``(entity_id, changes)`` in a single statement."""
        if not entries:
            return
        actor = self.uow.actor
        self.uow.execute(insert(audit_log), [
            {"at": self.uow.now, "actor_id": actor.id, "actor": actor.username, "entity": entity,
             "entity_id": str(entity_id), "action": action, "changes": jsonable(changes)}
            for entity_id, changes in entries
        ])

    def scrub(self, entries: Mapping[str, Iterable[Any] | None], replace: Callable[[dict[str, Any]], dict[str, Any]], *,
              mentioning: Iterable[str] | None = None) -> int:
        """Replace a person's values inside earlier entries, during their
        erasure only (from ``crm_privacy_erase``; anywhere else raises
        Conflict: the trail is append-only).

        ``entries`` maps an entity to the ids of its entries to visit, or to
        None for every entry of that entity; ``mentioning`` visits only those
        whose changes hold one of these texts. ``replace(changes)`` returns the
        changes to keep (a copy, with the values replaced, e.g. by
        ``crmcore.ERASED``); an entry it returns equal is not written. Only
        ``changes`` is rewritten: time, actor, entity and action stay. Runs in
        the erasure's transaction, and the erasure's own entry counts the
        entries changed (``audit_entries_scrubbed``). Returns how many changed.

        ::

            uow.audit.scrub({"sales_quote": quote_ids}, lambda changes: {**changes, "notes": ERASED})
        """
        self._require_erasure()
        texts = None if mentioning is None else [t for t in mentioning if isinstance(t, str) and t.strip()]
        selections = []
        for entity, ids in dict(entries).items():
            if not isinstance(entity, str) or not entity.strip():
                raise ValidationError.field("entity", "must be an entity name")
            if ids is None:
                selections.append(audit_log.c.entity == entity)
                continue
            keys = sorted({str(i) for i in ids})
            # chunks: SQLite caps the parameters of one statement
            selections += [(audit_log.c.entity == entity) & audit_log.c.entity_id.in_(keys[start:start + 500])
                           for start in range(0, len(keys), 500)]
        return sum(self._rewrite(selection if texts is None else selection & mentions(texts),
                                 lambda _entry_id, changes: replace(changes) if isinstance(changes, dict) else changes)
                   for selection in selections)

    @contextmanager
    def _erasure(self) -> Iterator[set[int]]:
        """While crmcore.privacy erases a person: entries may be scrubbed;
        yields the ids of those that were."""
        self._erasing, self._scrubbed = True, set()
        try:
            yield self._scrubbed
        finally:
            self._erasing = False

    def _require_erasure(self) -> None:
        if not self._erasing:
            raise Conflict("the audit trail is append-only: entries are scrubbed only while a person is erased")

    def _rewrite(self, condition: Any, replace: Callable[[int, Any], Any]) -> int:
        """The erasure's one way to change entries: the ``changes`` of those
        matching ``condition``, as ``replace(id, changes)`` returns them."""
        self._require_erasure()
        found = self.uow.execute(select(audit_log.c.id, audit_log.c.changes).where(condition).order_by(audit_log.c.id)).all()
        rewritten = []
        for entry_id, changes in found:
            scrubbed = replace(entry_id, changes)
            if scrubbed != changes:
                rewritten.append({"entry_id": entry_id, "scrubbed": jsonable(scrubbed)})
        if rewritten:
            self.uow.execute(update(audit_log).where(audit_log.c.id == bindparam("entry_id"))
                             .values(changes=bindparam("scrubbed")), rewritten)
            self._scrubbed.update(r["entry_id"] for r in rewritten)
        return len(rewritten)

    def list(self, *, actor: str | None = None, since: datetime | None = None, entity: str | None = None,
             action: str | None = None, limit: int = 100) -> list[AuditEntry]:
        """Newest first; needs ``audit.view``."""
        self.uow.require("audit.view")
        query = select(audit_log).order_by(audit_log.c.id.desc()).limit(limit)
        if actor:
            query = query.where(audit_log.c.actor == actor)
        if since:
            query = query.where(audit_log.c.at >= since)
        if entity:
            query = query.where(audit_log.c.entity == entity)
        if action:
            query = query.where(audit_log.c.action == action)
        return [_entry(row) for row in self.uow.execute(query).mappings()]

    def for_entity(self, entity: str, entity_id: Any) -> list[AuditEntry]:
        rows = self.uow.execute(
            select(audit_log)
            .where(audit_log.c.entity == entity, audit_log.c.entity_id == str(entity_id))
            .order_by(audit_log.c.id)
        ).mappings()
        return [_entry(row) for row in rows]


def like_patterns(texts: Iterable[str]) -> list[str]:
    """LIKE patterns (escape ``\\``) finding JSON text that may hold one of
    ``texts``: as stored raw (PostgreSQL's JSONB) and escaped (SQLite's JSON text)."""
    found = set()
    for text in texts:
        for form in (text, json.dumps(text)[1:-1]):
            found.add("%" + form.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%")
    return sorted(found)


def mentions(texts: Iterable[str]) -> Any:
    """Entries whose changes may hold one of ``texts`` (a coarse filter: the
    caller checks each value)."""
    patterns = like_patterns(texts)
    return or_(*(cast(audit_log.c.changes, Text).like(p, escape="\\") for p in patterns)) if patterns else false()


def _entry(row: Any) -> AuditEntry:
    return AuditEntry(row["id"], row["at"], row["actor"], row["entity"], row["entity_id"], row["action"], row["changes"])

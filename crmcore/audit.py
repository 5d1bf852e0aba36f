"""The audit trail: who changed what, when, field by field (变更情况记录).

The trail is append-only through the API: entries are written by the
services inside the same transaction as the change, and there is no
operation that edits or deletes them.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from attrs import frozen
from sqlalchemy import insert, select

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


def _entry(row: Any) -> AuditEntry:
    return AuditEntry(row["id"], row["at"], row["actor"], row["entity"], row["entity_id"], row["action"], row["changes"])

"""The outbox: messages written in the operation's transaction, delivered
after it commits by ``crm outbox deliver``, each exactly once.

Delivery claims messages one at a time; on PostgreSQL with
``FOR UPDATE SKIP LOCKED`` so several deliverers never take the same one.
A failed delivery is retried with exponential backoff, up to MAX_ATTEMPTS.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any, Callable, Iterable

from sqlalchemy import bindparam, insert, or_, select, update

from crmcore.domain.outbox import OutboxMessage
from crmcore.errors import ValidationError
from crmcore.storage.rows import from_row, jsonable
from crmcore.storage.tables import outbox

if TYPE_CHECKING:
    from crmcore.app import CRM
    from crmcore.storage.unit_of_work import UnitOfWork

MAX_ATTEMPTS = 8
#: What a plugin may rewrite in its messages (OutboxService.scrub): their content, not where or whether they go.
SCRUBBABLE = ("subject", "body", "payload")


class OutboxService:
    def __init__(self, uow: "UnitOfWork"):
        self.uow = uow

    def put(
        self,
        channel: str,
        recipient: str,
        subject: str | None = None,
        body: str | None = None,
        *,
        payload: dict[str, Any] | None = None,
        customer_id: int | None = None,
        dedupe_key: str | None = None,
        purpose: str | None = None,
    ) -> OutboxMessage | None:
        """Queue a message. With ``dedupe_key``, a key queued before makes
        this a no-op returning None: the same message is never queued twice.

        With ``purpose`` (``marketing``, ``service``, ``analytics``,
        ``sharing``) and ``customer_id``, a purpose that needs consent queues
        nothing and returns None unless the customer has granted it for this
        channel (and, for marketing, is not ``do_not_contact``); see
        ``uow.consents.allows``. A purpose needing consent without a
        ``customer_id`` is refused: nobody's consent could be checked."""
        if not channel or not recipient:
            raise ValidationError.field("channel" if not channel else "recipient", "must not be empty")
        if purpose is not None and not self.uow.consents.allows_message(customer_id, purpose, channel):
            return None
        if dedupe_key is not None:
            exists = self.uow.execute(select(outbox.c.id).where(outbox.c.dedupe_key == dedupe_key)).first()
            if exists:
                return None
        message = OutboxMessage(
            channel=channel, recipient=recipient, subject=subject, body=body, payload=jsonable(payload or {}),
            customer_id=customer_id, dedupe_key=dedupe_key, created_at=self.uow.now, next_attempt_at=self.uow.now,
            purpose=purpose,
        )
        values = {k: v for k, v in vars(message).items() if k != "id"}
        message.id = self.uow.execute(insert(outbox).values(values)).inserted_primary_key[0]
        return message

    def list(self, status: str | None = None, limit: int = 100) -> list[OutboxMessage]:
        query = select(outbox).order_by(outbox.c.id.desc()).limit(limit)
        if status:
            query = query.where(outbox.c.status == status)
        return [from_row(OutboxMessage, row) for row in self.uow.execute(query).mappings()]

    def cancel_pending(self, *, customer_id: int, channel: str | None = None, purpose: str | None = None) -> int:
        """Stop messages not yet sent to a customer (opt-out, withdrawn consent)."""
        query = update(outbox).where(outbox.c.customer_id == customer_id, outbox.c.status == "pending")
        if channel:
            query = query.where(outbox.c.channel == channel)
        if purpose:
            query = query.where(outbox.c.purpose == purpose)
        return self.uow.execute(query.values(status="cancelled")).rowcount

    def withdraw(self, message_ids: Iterable[int], reason: str) -> int:
        """Cancel those of these messages that are still pending, with
        ``reason`` as their error (shown by ``crm outbox list``): a plugin
        taking back what it queued. Sent, failed and cancelled ones stay as
        they are. Returns how many were cancelled."""
        if not (reason or "").strip():
            raise ValidationError.field("reason", "must not be empty")
        ids = sorted(set(message_ids))
        return sum(self.uow.execute(update(outbox).where(outbox.c.id.in_(ids[start:start + 1000]), outbox.c.status == "pending")
                                    .values(status="cancelled", error=reason)).rowcount
                   for start in range(0, len(ids), 1000))

    def scrub(self, message_ids: Iterable[int], replace: Callable[[OutboxMessage], dict[str, Any]]) -> int:
        """Rewrite the content of these messages: a person's data copied
        into them goes (erasure, retention). ``replace(message)`` returns new
        values for any of ``subject``, ``body`` and ``payload`` (others raise
        ValidationError naming the field: recipient, status and the rest are
        the outbox's); a message whose values it returns unchanged is not
        written. In the caller's transaction; returns how many changed.

        ::

            uow.outbox.scrub(ids, lambda m: {"payload": {k: v for k, v in m.payload.items() if k != "html"}})
        """
        ids = sorted(set(message_ids))
        changed = []
        for start in range(0, len(ids), 1000):
            rows = self.uow.execute(select(outbox).where(outbox.c.id.in_(ids[start:start + 1000])).order_by(outbox.c.id)).mappings()
            for message in [from_row(OutboxMessage, row) for row in rows]:
                values = dict(replace(message) or {})
                for name in values:
                    if name not in SCRUBBABLE:
                        raise ValidationError.field(name, f"cannot be scrubbed (only {', '.join(SCRUBBABLE)})")
                if any(values[name] != getattr(message, name) for name in values):
                    if "payload" in values:
                        values["payload"] = jsonable(values["payload"] or {})
                    changed.append({"message_id": message.id,
                                    **{f"new_{name}": values.get(name, getattr(message, name)) for name in SCRUBBABLE}})
        if changed:
            self.uow.execute(update(outbox).where(outbox.c.id == bindparam("message_id"))
                             .values({name: bindparam(f"new_{name}") for name in SCRUBBABLE}), changed)
        return len(changed)


def deliver_pending(crm: "CRM", *, limit: int | None = None) -> dict[str, int]:
    """Deliver due messages, one transaction per message. Returns counts of
    sent, retried and failed messages."""
    channels = _channels(crm)
    counts = {"sent": 0, "retry": 0, "failed": 0}
    done = 0
    while limit is None or done < limit:
        with crm.unit_of_work() as uow:
            message = _claim(uow)
            if message is None:
                break
            deliver = channels.get(message.channel)
            try:
                if deliver is None:
                    raise LookupError(f"no outbox channel {message.channel!r} is installed")
                if getattr(deliver, "takes_uow", False):  # channels that record what happened in this transaction
                    deliver(message, uow)
                else:
                    deliver(message)
            except Exception as error:  # a channel's failure is recorded and retried
                attempts = message.attempts + 1
                final = attempts >= MAX_ATTEMPTS
                uow.execute(update(outbox).where(outbox.c.id == message.id).values(
                    attempts=attempts, error=f"{type(error).__name__}: {error}",
                    status="failed" if final else "pending",
                    next_attempt_at=uow.now + timedelta(seconds=30 * 2 ** attempts),
                ))
                counts["failed" if final else "retry"] += 1
            else:
                uow.execute(update(outbox).where(outbox.c.id == message.id).values(
                    status="sent", sent_at=uow.now, attempts=message.attempts + 1, error=None))
                counts["sent"] += 1
        done += 1
    return counts


def _claim(uow: "UnitOfWork") -> OutboxMessage | None:
    query = (
        select(outbox)
        .where(outbox.c.status == "pending", or_(outbox.c.next_attempt_at.is_(None), outbox.c.next_attempt_at <= uow.now))
        .order_by(outbox.c.id)
        .limit(1)
    )
    if uow.connection.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    row = uow.execute(query).mappings().first()
    return None if row is None else from_row(OutboxMessage, row)


def _channels(crm: "CRM") -> dict[str, Callable[[OutboxMessage], None]]:
    """The core's channels, replaced or extended by plugins' channels."""
    from crmcore.channels import core_channels

    found = core_channels(crm)
    found.update({name: deliver for name, (_plugin, deliver) in crm.plugins.registrations.outbox_channels.items()})
    return found

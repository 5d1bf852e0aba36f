"""Consent (授权同意): per customer, per purpose and channel, with its history.

Every grant or withdrawal is a new row in ``consents`` — when, how
(``form``, ``call``, ``import``, ``api`` …), the evidence reference and who
recorded it — and nothing is ever updated: the latest row of a
``(customer, purpose, channel)`` is its current state, the rows before it
are the history.

Enforcement is in one place, the outbox: ``uow.outbox.put(..., purpose=...)``
queues nothing (returns None) when the purpose needs consent and the
customer has not granted it for that channel, or for marketing when the
customer is ``do_not_contact``. Withdrawing consent cancels the customer's
pending outbox messages of that purpose and channel.

Which purposes need consent is configurable (``[privacy] consent_required``
in ``crm.toml`` or ``CRM_CONSENT_REQUIRED``); by default every purpose but
``service`` does.
"""

from __future__ import annotations

import os
from datetime import datetime
from typing import TYPE_CHECKING, Any, Iterable

from attrs import frozen
from sqlalchemy import insert, select

from crmcore.errors import ValidationError
from crmcore.storage.tables import consents, customers

if TYPE_CHECKING:
    from crmcore.config import Config
    from crmcore.storage.unit_of_work import UnitOfWork

PURPOSES = ("marketing", "service", "analytics", "sharing")
CHANNELS = ("email", "sms", "phone", "mail")
METHODS = ("form", "call", "import", "api", "email", "sms", "in_person", "erasure", "other")
DEFAULT_REQUIRED = ("marketing", "analytics", "sharing")
ENTITY = "customer"


@frozen
class ConsentSettings:
    purposes: tuple[str, ...]
    channels: tuple[str, ...]
    required: frozenset[str]

    @classmethod
    def of(cls, config: "Config") -> "ConsentSettings":
        """From ``[privacy]`` in crm.toml (``purposes``, ``channels``: extra
        ones; ``consent_required``: the purposes needing consent), the
        environment's ``CRM_CONSENT_REQUIRED`` winning."""
        section = (config.extra or {}).get("privacy", {}) if config is not None else {}
        purposes = tuple(dict.fromkeys([*PURPOSES, *section.get("purposes", ())]))
        channels = tuple(dict.fromkeys([*CHANNELS, *section.get("channels", ())]))
        required: Iterable[str] = section.get("consent_required", DEFAULT_REQUIRED)
        if "CRM_CONSENT_REQUIRED" in os.environ:
            required = [p.strip() for p in os.environ["CRM_CONSENT_REQUIRED"].split(",") if p.strip()]
        unknown = sorted(set(required) - set(purposes))
        if unknown:
            raise ValidationError.field("consent_required", f"unknown purposes {', '.join(unknown)} (known: {', '.join(purposes)})")
        return cls(purposes, channels, frozenset(required))


@frozen
class Consent:
    """One recorded grant or withdrawal."""

    id: int
    customer_id: int
    purpose: str
    channel: str
    granted: bool
    at: datetime
    method: str
    evidence: str | None
    actor: str


class ConsentService:
    def __init__(self, uow: "UnitOfWork"):
        self.uow = uow
        self.settings = ConsentSettings.of(uow.crm.config)

    # -- recording -------------------------------------------------------------------

    def grant(self, customer_id: int, purpose: str, channel: str, *, method: str = "form",
              evidence: str | None = None) -> Consent:
        """Record that the customer granted ``purpose`` over ``channel``."""
        return self._record(customer_id, purpose, channel, True, method, evidence)

    def withdraw(self, customer_id: int, purpose: str, channel: str, *, method: str = "form",
                 evidence: str | None = None) -> Consent:
        """Record a withdrawal; the customer's pending outbox messages of this
        purpose and channel are cancelled in the same transaction."""
        return self._record(customer_id, purpose, channel, False, method, evidence)

    def _record(self, customer_id: int, purpose: str, channel: str, granted: bool, method: str,
                evidence: str | None) -> Consent:
        self.uow.require("customers.edit")
        self._check(purpose, channel, method)
        self.uow.customers.get(customer_id)  # exists and in the actor's scope
        before = self._latest(customer_id, purpose, channel)
        consent = self._insert([(customer_id, purpose, channel, granted)], method, evidence)[0]
        self.uow.audit.record(ENTITY, customer_id, "consent", {
            "purpose": purpose, "channel": channel, "granted": (before, granted), "method": method})
        if not granted:
            for record in self._records(customer_id):  # messages queued for a record merged into this one too
                self.uow.outbox.cancel_pending(customer_id=record, channel=channel, purpose=purpose)
        return consent

    def record_many(self, entries: Iterable[tuple[int, str, str, bool]], *, method: str = "import",
                    evidence: str | None = None) -> int:
        """Record ``(customer_id, purpose, channel, granted)`` entries in bulk
        (the importer); entries that change nothing are skipped. Returns how
        many were recorded."""
        entries = list(dict.fromkeys(entries))
        for _, purpose, channel, _ in entries:
            self._check(purpose, channel, method)
        if not entries:
            return 0
        current = self._latest_of({customer_id for customer_id, *_ in entries})
        changed = [e for e in entries if current.get(e[:3]) is not e[3]]
        if not changed:
            return 0
        self._insert(changed, method, evidence)
        self.uow.audit.record_many(ENTITY, "consent", [
            (customer_id, {"purpose": purpose, "channel": channel, "granted": (current.get((customer_id, purpose, channel)), granted),
                           "method": method})
            for customer_id, purpose, channel, granted in changed
        ])
        for customer_id, purpose, channel, granted in changed:
            if not granted:
                self.uow.outbox.cancel_pending(customer_id=customer_id, channel=channel, purpose=purpose)
        return len(changed)

    def _insert(self, entries: list[tuple[int, str, str, bool]], method: str, evidence: str | None) -> list[Consent]:
        actor, now = self.uow.actor, self.uow.now
        made = []
        for customer_id, purpose, channel, granted in entries:
            row = {"customer_id": customer_id, "purpose": purpose, "channel": channel, "granted": granted, "at": now,
                   "method": method, "evidence": evidence, "actor_id": actor.id, "actor": actor.username}
            row_id = self.uow.execute(insert(consents).values(row)).inserted_primary_key[0]
            made.append(Consent(row_id, customer_id, purpose, channel, granted, now, method, evidence, actor.username))
        return made

    def _check(self, purpose: str, channel: str, method: str) -> None:
        if purpose not in self.settings.purposes:
            raise ValidationError.field("purpose", f"{purpose!r} is not one of {', '.join(self.settings.purposes)}")
        if channel not in self.settings.channels:
            raise ValidationError.field("channel", f"{channel!r} is not one of {', '.join(self.settings.channels)}")
        if method not in METHODS:
            raise ValidationError.field("method", f"{method!r} is not one of {', '.join(METHODS)}")

    # -- reading ---------------------------------------------------------------------

    def needs_consent(self, purpose: str) -> bool:
        if purpose not in self.settings.purposes:
            raise ValidationError.field("purpose", f"{purpose!r} is not one of {', '.join(self.settings.purposes)}")
        return purpose in self.settings.required

    def allows(self, customer_id: int, purpose: str, channel: str) -> bool:
        """May the customer be contacted for ``purpose`` over ``channel``?
        Yes when the purpose needs no consent (and, for marketing, the
        customer is not do_not_contact), or the latest consent is a grant.
        Never for an erased customer."""
        required = self.needs_consent(purpose)
        flags = self.uow.execute(select(customers.c.do_not_contact, customers.c.erased_at).where(customers.c.id == customer_id)).first()
        if flags is None or flags.erased_at is not None:
            return False
        if purpose == "marketing" and flags.do_not_contact:
            return False
        if not required:
            return True
        return self._latest(customer_id, purpose, channel) is True

    def allows_message(self, customer_id: int | None, purpose: str, channel: str) -> bool:
        """The outbox's check: a purpose needing consent with no customer to
        ask is refused."""
        if customer_id is None:
            return not self.needs_consent(purpose)
        return self.allows(customer_id, purpose, channel)

    def status(self, customer_id: int) -> list[dict[str, Any]]:
        """The current state of every purpose and channel: ``granted`` is
        True, False (withdrawn) or None (never asked); ``allowed`` is what the
        outbox would do."""
        self.uow.customers.get(customer_id)
        latest: dict[tuple[str, str], Consent] = {}
        for consent in self.history(customer_id):
            latest[(consent.purpose, consent.channel)] = consent
        flags = self.uow.execute(select(customers.c.do_not_contact, customers.c.erased_at).where(customers.c.id == customer_id)).one()
        rows = []
        for purpose in self.settings.purposes:
            for channel in self.settings.channels:
                consent = latest.get((purpose, channel))
                required = purpose in self.settings.required
                granted = None if consent is None else consent.granted
                allowed = flags.erased_at is None and not (purpose == "marketing" and flags.do_not_contact) and (not required or granted is True)
                rows.append({"purpose": purpose, "channel": channel, "required": required, "granted": granted, "allowed": allowed,
                             "at": consent.at if consent else None, "method": consent.method if consent else None,
                             "evidence": consent.evidence if consent else None, "actor": consent.actor if consent else None})
        return rows

    def history(self, customer_id: int, purpose: str | None = None, channel: str | None = None) -> list[Consent]:
        """Every grant and withdrawal, oldest first."""
        query = select(consents).where(consents.c.customer_id.in_(_records(customer_id))).order_by(consents.c.at, consents.c.id)
        if purpose:
            query = query.where(consents.c.purpose == purpose)
        if channel:
            query = query.where(consents.c.channel == channel)
        return [Consent(r["id"], r["customer_id"], r["purpose"], r["channel"], r["granted"], r["at"], r["method"], r["evidence"], r["actor"])
                for r in self.uow.execute(query).mappings()]

    def _latest(self, customer_id: int, purpose: str, channel: str) -> bool | None:
        return self.uow.execute(
            select(consents.c.granted)
            .where(consents.c.customer_id.in_(_records(customer_id)), consents.c.purpose == purpose, consents.c.channel == channel)
            .order_by(consents.c.at.desc(), consents.c.id.desc()).limit(1)
        ).scalar()

    def _records(self, customer_id: int) -> list[int]:
        return list(self.uow.execute(_records(customer_id)).scalars())

    def _latest_of(self, customer_ids: set[int]) -> dict[tuple[int, str, str], bool]:
        found: dict[tuple[int, str, str], bool] = {}
        ordered = sorted(customer_ids)
        for start in range(0, len(ordered), 2000):
            rows = self.uow.execute(
                select(consents.c.customer_id, consents.c.purpose, consents.c.channel, consents.c.granted)
                .where(consents.c.customer_id.in_(ordered[start:start + 2000])).order_by(consents.c.id)
            )
            for customer_id, purpose, channel, granted in rows:
                found[(customer_id, purpose, channel)] = granted
        return found


def _records(customer_id: int) -> Any:
    """The customer's id and, transitively, the ids of records merged into
    it: consent given or withdrawn on a duplicate still counts after a merge
    (the latest decision wins)."""
    tree = select(customers.c.id).where(customers.c.id == customer_id).cte("consent_records", recursive=True)
    tree = tree.union_all(select(customers.c.id).where(customers.c.merged_into_id == tree.c.id))
    return select(tree.c.id)


# -- import columns -----------------------------------------------------------------------

_PURPOSE_NAMES = {"marketing": "营销", "service": "服务", "analytics": "分析", "sharing": "共享"}
_CHANNEL_NAMES = {"email": "邮件", "sms": "短信", "phone": "电话", "mail": "信函"}
#: Import columns carrying consent, by target ``consent.<purpose>.<channel>``:
#: ``consent_marketing_email`` or ``营销邮件同意``, valued 是/否 (yes/no).
IMPORT_COLUMNS: dict[str, tuple[str, ...]] = {
    f"consent.{purpose}.{channel}": (f"consent_{purpose}_{channel}", f"{_PURPOSE_NAMES[purpose]}{_CHANNEL_NAMES[channel]}同意")
    for purpose in PURPOSES for channel in CHANNELS
}
_YES = {"是", "同意", "yes", "y", "true", "1", "granted"}
_NO = {"否", "不同意", "no", "n", "false", "0", "withdrawn"}


def import_value(value: str) -> bool | None:
    """是/否 (yes/no …) as granted or withdrawn; empty means not stated."""
    key = value.strip().lower()
    if not key:
        return None
    if key in _YES:
        return True
    if key in _NO:
        return False
    raise ValueError(f"{value!r} is not 是/否 (yes/no)")

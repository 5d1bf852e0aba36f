"""Tables of the HTTP API (issue 10), created by ``core_0003``: API tokens,
login failures, idempotency keys, webhook subscriptions and their delivery
log, and import jobs run through the API.

They live on the core's ``metadata`` like every core table; they sit in their
own module so the API's storage is in one place.
"""

from __future__ import annotations

from sqlalchemy import Boolean, Column, ForeignKey, Index, Integer, LargeBinary, String, Table, Text, UniqueConstraint

from crmcore.storage.tables import metadata
from crmcore.storage.types import Id, Json, UTCDateTime

#: Personal API tokens: only a SHA-256 of the token is stored (tokens are
#: 256-bit random strings, so a fast hash is as safe as a slow one and keeps
#: every request cheap); ``prefix`` is the first characters, for people to
#: tell tokens apart.
api_tokens = Table(
    "api_tokens",
    metadata,
    Column("id", Id, primary_key=True),
    Column("user_id", Id, ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("name", String(100)),
    Column("kind", String(20), nullable=False),  # personal | session (from a password login)
    Column("prefix", String(20), nullable=False),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("scopes", Json, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime),
    Column("last_used_at", UTCDateTime),
    Column("revoked_at", UTCDateTime),
)

#: Consecutive failed password logins per user, and the lockout they caused.
login_failures = Table(
    "login_failures",
    metadata,
    Column("user_id", Id, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("failures", Integer, nullable=False),
    Column("last_failure_at", UTCDateTime, nullable=False),
    Column("locked_until", UTCDateTime),
)

#: The first response to a POST sent with an ``Idempotency-Key``, per user and key.
idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("id", Id, primary_key=True),
    Column("user_id", Id, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("key", String(200), nullable=False),
    Column("method", String(10), nullable=False),
    Column("path", String(500), nullable=False),
    Column("request_hash", String(64), nullable=False),
    Column("status_code", Integer, nullable=False),
    Column("content_type", String(100), nullable=False),
    Column("body", LargeBinary, nullable=False),
    Column("created_at", UTCDateTime, nullable=False, index=True),
    UniqueConstraint("user_id", "key"),
)

#: Webhook subscriptions: a URL, the events it wants, an optional department
#: (only events about customers of its subtree), the HMAC secret.
webhooks = Table(
    "webhooks",
    metadata,
    Column("id", Id, primary_key=True),
    Column("url", String(1000), nullable=False),
    Column("events", Json, nullable=False),
    Column("department_id", Id, ForeignKey("departments.id"), nullable=True),
    Column("secret", String(100), nullable=False),
    Column("description", String(300)),
    Column("active", Boolean, nullable=False),
    Column("created_by", Id, ForeignKey("users.id"), nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
)

#: One row per delivery attempt (and per test ping).
webhook_deliveries = Table(
    "webhook_deliveries",
    metadata,
    Column("id", Id, primary_key=True),
    Column("webhook_id", Id, ForeignKey("webhooks.id", ondelete="CASCADE"), nullable=False),
    Column("outbox_id", Id),
    Column("event", String(200), nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("status_code", Integer),
    Column("ok", Boolean, nullable=False),
    Column("error", Text),
    Column("duration_ms", Integer, nullable=False),
    Index("ix_webhook_deliveries_webhook_at", "webhook_id", "at"),
)

#: Imports uploaded through the API or the web interface: their summary and
#: reject file. A web import's row is written when it starts (``running``,
#: ``summary`` empty) and ends ``done`` or ``failed`` (with ``error``);
#: ``rows`` (in the file), ``done`` (read so far) and ``updated_at`` (its
#: worker's last sign of life) feed the progress page (``core_0005``; on
#: SQLite they are kept beside the database while it runs, see
#: ``crmcore.api.jobs.ImportProgress``).
api_imports = Table(
    "api_imports",
    metadata,
    Column("id", Id, primary_key=True),
    Column("user_id", Id, ForeignKey("users.id"), nullable=False, index=True),
    Column("kind", String(20), nullable=False),
    Column("file_name", String(300), nullable=False),
    Column("status", String(20), nullable=False),  # running | done | failed
    Column("summary", Json, nullable=False),
    Column("rejects", Text),
    Column("created_at", UTCDateTime, nullable=False),
    Column("finished_at", UTCDateTime),
    Column("rows", Integer),
    Column("done", Integer, nullable=False, server_default="0"),
    Column("error", Text),
    Column("updated_at", UTCDateTime),
)

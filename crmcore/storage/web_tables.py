"""Tables of the web interface (issue 11), created by ``core_0004``: browser
sessions. A user's preferred language is ``users.locale``."""

from __future__ import annotations

from sqlalchemy import Column, ForeignKey, String, Table

from crmcore.storage.tables import metadata
from crmcore.storage.types import Id, UTCDateTime

#: A logged-in browser. Only a SHA-256 of the cookie's random value is stored
#: (as for API tokens); ``csrf_token`` is the session's form token, sent back
#: in every form and compared on every state-changing request.
web_sessions = Table(
    "web_sessions",
    metadata,
    Column("id", Id, primary_key=True),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("user_id", Id, ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("csrf_token", String(64), nullable=False),
    Column("locale", String(10), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("last_seen_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False, index=True),
    Column("user_agent", String(300)),
)

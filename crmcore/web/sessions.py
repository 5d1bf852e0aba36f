"""Browser sessions: a random cookie value names a row of ``web_sessions``
(only its SHA-256 is stored); the row holds the user, the session's CSRF
token and language. Sessions end at logout, after ``IDLE_TIMEOUT`` without a
request, after ``MAX_AGE`` in any case, and when the user is deactivated.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta
from typing import TYPE_CHECKING

from attrs import frozen
from sqlalchemy import delete, insert, select, update

from crmcore.storage.tables import users
from crmcore.storage.web_tables import web_sessions

if TYPE_CHECKING:
    from crmcore.storage.unit_of_work import UnitOfWork

IDLE_TIMEOUT = timedelta(hours=8)
MAX_AGE = timedelta(days=7)
#: ``last_seen_at`` is written at most this often, so reading pages does not
#: write on every request.
TOUCH_EVERY = timedelta(minutes=5)


@frozen
class WebSession:
    id: int
    user_id: int
    csrf_token: str
    locale: str


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class WebSessions:
    def __init__(self, uow: "UnitOfWork"):
        self.uow = uow

    def start(self, user_id: int, locale: str, user_agent: str | None = None) -> tuple[str, WebSession]:
        """A new session for a user who just proved who they are; returns
        the cookie value (shown once) and the session."""
        token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        now = self.uow.now
        session_id = self.uow.execute(insert(web_sessions).values(
            token_hash=_digest(token), user_id=user_id, csrf_token=csrf, locale=locale, created_at=now,
            last_seen_at=now, expires_at=now + IDLE_TIMEOUT, user_agent=(user_agent or "")[:300] or None,
        )).inserted_primary_key[0]
        self.uow.execute(delete(web_sessions).where(web_sessions.c.expires_at < now))
        return token, WebSession(session_id, user_id, csrf, locale)

    def resume(self, token: str | None, *, touch: bool = True) -> WebSession | None:
        """The live session the cookie names, or ``None``; ``touch`` keeps
        it alive (a write, at most every ``TOUCH_EVERY``)."""
        if not token:
            return None
        row = self.uow.execute(
            select(web_sessions, users.c.active).join(users, users.c.id == web_sessions.c.user_id)
            .where(web_sessions.c.token_hash == _digest(token))
        ).mappings().first()
        now = self.uow.now
        if row is None or not row["active"] or row["expires_at"] <= now:
            return None
        if touch and now - row["last_seen_at"] >= TOUCH_EVERY:
            self.uow.execute(update(web_sessions).where(web_sessions.c.id == row["id"]).values(
                last_seen_at=now, expires_at=min(now + IDLE_TIMEOUT, row["created_at"] + MAX_AGE)))
        return WebSession(row["id"], row["user_id"], row["csrf_token"], row["locale"])

    def set_locale(self, session: WebSession, locale: str) -> None:
        self.uow.execute(update(web_sessions).where(web_sessions.c.id == session.id).values(locale=locale))

    def end(self, session: WebSession) -> None:
        self.uow.execute(delete(web_sessions).where(web_sessions.c.id == session.id))

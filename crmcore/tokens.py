"""Who calls the HTTP API: passwords (argon2, lockout after repeated
failures), personal API tokens with scopes, expiry and revocation.

Tokens are ``crm_`` followed by 43 random URL-safe characters (256 bits);
only their SHA-256 is stored. A token acts as its user — with the user's
permissions, department scoping and masking — and, in addition, only within
its scopes: ``customers:read`` lets a token read what its user may read, it
never lets it read more.

Scopes are ``<area>:read`` and ``<area>:write`` (write includes read) for the
core's areas (:data:`CORE_SCOPE_AREAS`) and for every installed plugin
(``membership:write``); ``*`` is every scope.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Iterable

from attrs import define, field
from sqlalchemy import delete, insert, select, update

from crmcore.errors import CRMError, NotFound, PermissionDenied, ValidationError
from crmcore.storage.api_tables import api_tokens, login_failures
from crmcore.storage.tables import users

if TYPE_CHECKING:
    from crmcore.app import CRM
    from crmcore.domain.organisation import User
    from crmcore.storage.unit_of_work import UnitOfWork

TOKEN_PREFIX = "crm_"
#: Consecutive failed logins that lock an account, and for how long.
MAX_LOGIN_FAILURES = 5
LOCKOUT = timedelta(minutes=15)
#: How long a token from a password login lives.
SESSION_LIFETIME = timedelta(hours=8)
#: Personal tokens expire after this unless told otherwise (``never`` for no expiry).
DEFAULT_EXPIRY = timedelta(days=90)
#: The core's scope areas and what they cover.
CORE_SCOPE_AREAS = {
    "customers": "customers, their contacts, activities, duplicates and history",
    "imports": "imports of customers, contacts and activities",
    "organisation": "departments, users, roles and plugins",
    "webhooks": "webhook subscriptions",
}
#: last_used_at is written at most this often per token (a write per request would serialise readers).
LAST_USED_GRANULARITY = timedelta(minutes=1)


class AuthenticationFailed(CRMError):
    """No valid credentials: a missing, unknown, expired or revoked token, a
    wrong password or a locked account (HTTP 401)."""


@define
class ApiToken:
    id: int
    user_id: int
    kind: str
    prefix: str
    scopes: tuple[str, ...]
    created_at: datetime
    name: str | None = None
    expires_at: datetime | None = None
    last_used_at: datetime | None = None
    revoked_at: datetime | None = None
    username: str | None = field(default=None)

    def active(self, now: datetime) -> bool:
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > now)

    def allows(self, area: str, write: bool) -> bool:
        return scope_allows(self.scopes, area, write)


def scope_allows(scopes: Iterable[str], area: str, write: bool) -> bool:
    """Whether ``scopes`` cover reading (or, with ``write``, changing) ``area``."""
    granted = set(scopes)
    if "*" in granted or f"{area}:write" in granted:
        return True
    return not write and f"{area}:read" in granted


def known_scopes(crm: "CRM") -> dict[str, str]:
    """Every scope a token may hold, with what it allows."""
    found = {"*": "everything the user may do"}
    areas = dict(CORE_SCOPE_AREAS)
    for info in crm.plugins.loaded:
        areas.setdefault(info.name, f"the {info.name} plugin's endpoints")
    for area, what in areas.items():
        found[f"{area}:read"] = f"read {what}"
        found[f"{area}:write"] = f"read and change {what}"
    return found


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def parse_expiry(text: str | None) -> timedelta | None:
    """``90d``, ``12h``, ``30m``, ``2w``; ``never`` (or ``0``) for no expiry;
    None for the default."""
    if text is None:
        return DEFAULT_EXPIRY
    text = text.strip().lower()
    if text in ("never", "none", "0"):
        return None
    match = re.fullmatch(r"(\d{1,5})\s*([mhdw])", text)
    if not match:
        raise ValidationError.field("expires", f"{text!r} is not like 90d, 12h, 30m, 2w or never")
    amount, unit = int(match.group(1)), match.group(2)
    if amount == 0:
        raise ValidationError.field("expires", "must be more than 0 (or never)")
    return {"m": timedelta(minutes=amount), "h": timedelta(hours=amount), "d": timedelta(days=amount), "w": timedelta(weeks=amount)}[unit]


class TokenService:
    """API tokens of users. A user manages their own; ``users.manage``
    manages everyone's."""

    def __init__(self, uow: "UnitOfWork"):
        self.uow = uow

    def _may_manage(self, user_id: int) -> None:
        actor = self.uow.actor
        if actor.id != user_id and not actor.can("users.manage"):
            raise PermissionDenied("users.manage", "only your own tokens")

    def create(self, user: str | int, scopes: Iterable[str], *, expires_in: timedelta | None = DEFAULT_EXPIRY,
               name: str | None = None, kind: str = "personal") -> tuple[ApiToken, str]:
        """A new token for ``user``; returns the record and the token itself,
        which is shown once and never stored."""
        owner = self.uow.users.get(user)
        if not owner.active:
            raise ValidationError.field("user", f"{owner.username!r} is deactivated")
        self._may_manage(owner.id)
        wanted = tuple(dict.fromkeys(s.strip() for s in scopes if s and s.strip()))
        if not wanted:
            raise ValidationError.field("scopes", "name at least one scope (see `crm token scopes`)")
        known = known_scopes(self.uow.crm)
        unknown = [s for s in wanted if s not in known]
        if unknown:
            raise ValidationError.field("scopes", f"unknown scope {', '.join(unknown)} (known: {', '.join(sorted(known))})")
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        record = ApiToken(
            id=0, user_id=owner.id, kind=kind, prefix=token[:10], scopes=wanted, created_at=self.uow.now, name=name,
            expires_at=self.uow.now + expires_in if expires_in is not None else None, username=owner.username,
        )
        record.id = self.uow.execute(insert(api_tokens).values(
            user_id=owner.id, name=name, kind=kind, prefix=record.prefix, token_hash=hash_token(token),
            scopes=list(wanted), created_at=record.created_at, expires_at=record.expires_at,
        )).inserted_primary_key[0]
        self.uow.audit.record("api_token", record.id, "create", {
            "user": owner.username, "kind": kind, "scopes": list(wanted),
            "expires_at": record.expires_at.isoformat() if record.expires_at else None})
        return record, token

    def list(self, user: str | int | None = None, *, include_inactive: bool = False) -> list[ApiToken]:
        """Tokens of ``user`` (default: the actor's own; everyone's for
        ``users.manage`` when ``user`` is ``"*"``)."""
        query = select(api_tokens, users.c.username).join(users, users.c.id == api_tokens.c.user_id).order_by(api_tokens.c.id)
        if user == "*":
            self.uow.require("users.manage")
        else:
            owner = self.uow.users.get(user) if user is not None else self.uow.actor
            self._may_manage(owner.id)
            query = query.where(api_tokens.c.user_id == owner.id)
        found = [_token(row) for row in self.uow.execute(query).mappings()]
        return found if include_inactive else [t for t in found if t.active(self.uow.now)]

    def get(self, token_id: int) -> ApiToken:
        row = self.uow.execute(
            select(api_tokens, users.c.username).join(users, users.c.id == api_tokens.c.user_id).where(api_tokens.c.id == token_id)
        ).mappings().first()
        if row is None:
            raise NotFound(f"token {token_id} not found")
        token = _token(row)
        try:
            self._may_manage(token.user_id)
        except PermissionDenied:
            raise NotFound(f"token {token_id} not found") from None
        return token

    def revoke(self, token_id: int) -> ApiToken:
        token = self.get(token_id)
        if token.revoked_at is not None:
            return token
        self.uow.execute(update(api_tokens).where(api_tokens.c.id == token_id).values(revoked_at=self.uow.now))
        self.uow.audit.record("api_token", token_id, "revoke", {"user": token.username})
        token.revoked_at = self.uow.now
        return token

    def authenticate(self, token: str) -> ApiToken:
        """The active token ``token`` is, or AuthenticationFailed. Needs no
        permission: it is how a request finds its user."""
        if not token.startswith(TOKEN_PREFIX) or len(token) > 200:
            raise AuthenticationFailed("invalid token")
        row = self.uow.execute(
            select(api_tokens, users.c.username, users.c.active.label("user_active"))
            .join(users, users.c.id == api_tokens.c.user_id).where(api_tokens.c.token_hash == hash_token(token))
        ).mappings().first()
        if row is None:
            raise AuthenticationFailed("invalid token")
        found = _token(row)
        now = self.uow.now
        if found.revoked_at is not None:
            raise AuthenticationFailed("token revoked")
        if found.expires_at is not None and found.expires_at <= now:
            raise AuthenticationFailed("token expired")
        if not row["user_active"]:
            raise AuthenticationFailed("user deactivated")
        if found.last_used_at is None or now - found.last_used_at >= LAST_USED_GRANULARITY:
            self.uow.execute(update(api_tokens).where(api_tokens.c.id == found.id).values(last_used_at=now))
        return found


def _token(row: Any) -> ApiToken:
    return ApiToken(
        id=row["id"], user_id=row["user_id"], kind=row["kind"], prefix=row["prefix"], scopes=tuple(row["scopes"] or ()),
        created_at=row["created_at"], name=row["name"], expires_at=row["expires_at"], last_used_at=row["last_used_at"],
        revoked_at=row["revoked_at"], username=row.get("username"),
    )


# -- passwords ----------------------------------------------------------------------


def _hasher() -> Any:
    from argon2 import PasswordHasher

    return PasswordHasher()


class PasswordService:
    """Argon2 password hashes on ``users.password_hash``; a login fails for
    an unknown user, a wrong password or a locked account alike, and
    ``MAX_LOGIN_FAILURES`` failures in a row lock the account for
    ``LOCKOUT``; failures and lockouts are in the audit trail."""

    MIN_LENGTH = 8

    def __init__(self, uow: "UnitOfWork"):
        self.uow = uow

    def set(self, username: str, password: str) -> None:
        user = self.uow.users.get(username)
        if self.uow.actor.id != user.id:
            self.uow.require("users.manage")
        if len(password) < self.MIN_LENGTH:
            raise ValidationError.field("password", f"must have at least {self.MIN_LENGTH} characters")
        self.uow.execute(update(users).where(users.c.id == user.id).values(password_hash=_hasher().hash(password)))
        self.uow.execute(delete(login_failures).where(login_failures.c.user_id == user.id))
        self.uow.audit.record("user", user.username, "set_password", {})

    def login(self, username: str, password: str) -> "User":
        """The user, or AuthenticationFailed. Commit the unit of work even
        when this raises, so the failure is counted (the API does)."""
        from argon2.exceptions import InvalidHashError, VerificationError

        row = self.uow.execute(select(users.c.id, users.c.username, users.c.active, users.c.password_hash)
                               .where(users.c.username == username.strip())).first() if username else None
        if row is None or not row.active or not row.password_hash:
            _hasher_dummy_verify()
            raise AuthenticationFailed("wrong username or password")
        state = self.uow.execute(select(login_failures).where(login_failures.c.user_id == row.id)).mappings().first()
        now = self.uow.now
        if state is not None and state["locked_until"] is not None and state["locked_until"] > now:
            self.uow.audit.record("user", row.username, "login_refused", {"locked_until": state["locked_until"].isoformat()})
            raise AuthenticationFailed("account locked after repeated failed logins; try again later")
        try:
            _hasher().verify(row.password_hash, password)
        except (VerificationError, InvalidHashError):
            failures = (state["failures"] if state is not None and state["locked_until"] is None else 0) + 1
            locked_until = now + LOCKOUT if failures >= MAX_LOGIN_FAILURES else None
            values = {"failures": failures, "last_failure_at": now, "locked_until": locked_until}
            if state is None:
                self.uow.execute(insert(login_failures).values(user_id=row.id, **values))
            else:
                self.uow.execute(update(login_failures).where(login_failures.c.user_id == row.id).values(values))
            self.uow.audit.record("user", row.username, "login_failed", {"failures": failures})
            if locked_until is not None:
                self.uow.audit.record("user", row.username, "locked", {"until": locked_until.isoformat(), "failures": failures})
            raise AuthenticationFailed("wrong username or password") from None
        if state is not None:
            self.uow.execute(delete(login_failures).where(login_failures.c.user_id == row.id))
        self.uow.audit.record("user", row.username, "login", {})
        return self.uow.users.get(row.id)

    def unlock(self, username: str) -> None:
        self.uow.require("users.manage")
        user = self.uow.users.get(username)
        self.uow.execute(delete(login_failures).where(login_failures.c.user_id == user.id))
        self.uow.audit.record("user", user.username, "unlock", {})


_DUMMY: list[str] = []


def _hasher_dummy_verify() -> None:
    """Spend the time of a real verification, so unknown users cannot be told from wrong passwords by timing."""
    from argon2.exceptions import VerificationError

    if not _DUMMY:
        _DUMMY.append(_hasher().hash(secrets.token_hex(8)))
    try:
        _hasher().verify(_DUMMY[0], "x")
    except VerificationError:
        pass

"""Every API request as one unit of work: the Bearer token names the user,
its scopes limit what the request may touch, the request then runs as that
user (permissions, department scoping, masking), and a POST with an
``Idempotency-Key`` is done once.
"""

from __future__ import annotations

import hashlib
from contextlib import contextmanager, nullcontext
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Iterator

from litestar import Request
from sqlalchemy import delete, insert, select, update

from crmcore.errors import Conflict, NotFound, PermissionDenied, ValidationError
from crmcore.storage.api_tables import idempotency_keys
from crmcore.tokens import AuthenticationFailed, TokenService

if TYPE_CHECKING:
    from crmcore.storage.unit_of_work import UnitOfWork

IDEMPOTENCY_HEADER = "idempotency-key"
IDEMPOTENCY_STATE = "crm.idempotency"  # set on the ASGI scope by IdempotencyMiddleware
#: How long a key and its response are kept.
IDEMPOTENCY_TTL = timedelta(hours=24)
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class Replay(Exception):
    """Raised to answer with the stored first response to an Idempotency-Key."""

    def __init__(self, status_code: int, content_type: str, body: bytes):
        self.status_code, self.content_type, self.body = status_code, content_type, body


def database_turn(state: Any) -> Any:
    """On SQLite, one request's transaction at a time in this process.

    SQLite has one writer, and a transaction that read before another
    connection committed cannot write any more (``database is locked``
    without waiting). Every request writes something (an audit entry, a
    token's last use), so SQLite requests take turns; PostgreSQL runs them
    in parallel. Serve SQLite with one worker process."""
    lock = state.get("crm_sqlite_lock")
    return lock if lock is not None else nullcontext()


def bearer_token(request: Request) -> str:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise AuthenticationFailed("send a token: Authorization: Bearer <token> (`crm token create` or POST /api/v1/auth/token)")
    return token.strip()


@contextmanager
def request_uow(request: Request, *, area: str | None = None) -> Iterator["UnitOfWork"]:
    """The request's unit of work, acting as the token's user.

    The token must cover ``area`` (default: the handler's ``opt["crm_area"]``,
    which plugin routers get set to the plugin's name): ``<area>:read`` for
    GET, ``<area>:write`` for everything else. A plugin's endpoint answers 404
    to users of a department where the plugin is disabled. Any exception
    rolls the whole request back, as in the CLI.
    """
    crm = request.app.state.crm
    opt = request.route_handler.opt
    area = area or opt.get("crm_area")
    write = request.method not in READ_METHODS
    token = bearer_token(request)
    with database_turn(request.app.state), crm.unit_of_work() as uow:
        record = TokenService(uow).authenticate(token)
        if area is not None and not record.allows(area, write):
            needed = f"{area}:{'write' if write else 'read'}"
            raise PermissionDenied(needed, "the token lacks this scope")
        uow.act_as(record.user_id)
        uow.api_token = record  # type: ignore[attr-defined]
        plugin = opt.get("crm_plugin")
        if plugin is not None and plugin in uow.disabled_plugins:
            raise NotFound(f"plugin {plugin!r} is not enabled for your department")
        _idempotency(request, uow)
        yield uow


def _idempotency(request: Request, uow: "UnitOfWork") -> None:
    """Reserve the key in this transaction (the reservation commits or rolls
    back with the work), or replay the first response."""
    state = request.scope.get(IDEMPOTENCY_STATE)  # type: ignore[call-overload]
    if not state or request.method != "POST":
        return
    key, fingerprint = state["key"], state["fingerprint"]
    if not key or len(key) > 200:
        raise ValidationError.field("Idempotency-Key", "must be 1 to 200 characters")
    user_id = uow.actor.id
    uow.execute(delete(idempotency_keys).where(idempotency_keys.c.user_id == user_id,
                                               idempotency_keys.c.created_at < uow.now - IDEMPOTENCY_TTL))
    row = uow.execute(select(idempotency_keys).where(idempotency_keys.c.user_id == user_id,
                                                     idempotency_keys.c.key == key)).mappings().first()
    if row is not None:
        if row["request_hash"] != fingerprint:
            raise ValidationError.field("Idempotency-Key", "was used before with a different request")
        if row["status_code"] == 0:
            raise Conflict("a request with this Idempotency-Key is still being processed (or its response was lost); "
                           "use a new key to try again")
        raise Replay(row["status_code"], row["content_type"], row["body"])
    state["record_id"] = uow.execute(insert(idempotency_keys).values(
        user_id=user_id, key=key, method=request.method, path=request.url.path[:500], request_hash=fingerprint,
        status_code=0, content_type="", body=b"", created_at=uow.now)).inserted_primary_key[0]


def _without_boundary(scope: Any, body: bytes) -> bytes:
    """A multipart body with its boundary (random per client call) taken out,
    so a retried upload has the same fingerprint."""
    content_type = next((v.decode("latin-1") for k, v in scope["headers"] if k == b"content-type"), "")
    if not content_type.lower().startswith("multipart/"):
        return body
    for parameter in content_type.split(";")[1:]:
        name, _, value = parameter.strip().partition("=")
        if name.lower() == "boundary" and value:
            return body.replace(value.strip('"').encode("latin-1"), b"BOUNDARY")
    return body


class IdempotencyMiddleware:
    """ASGI middleware: fingerprints POSTs that carry an ``Idempotency-Key``
    (method, path, query and body), and after the response stores it for the
    key reserved by :func:`request_uow` — if the request's transaction
    committed, the reservation exists and gets the response; if it rolled
    back, there is nothing to update and a retry runs afresh."""

    def __init__(self, app: Any, crm: Any, app_state: Any):
        self.app = app
        self.crm = crm
        self.app_state = app_state

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        key = next((v.decode("latin-1") for k, v in scope["headers"] if k == b"idempotency-key"), None)
        if key is None:
            await self.app(scope, receive, send)
            return
        chunks, more = [], True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunks.append(message.get("body", b""))
            more = message.get("more_body", False)
        body = b"".join(chunks)
        digest = hashlib.sha256()
        for part in (scope["method"].encode(), scope["path"].encode("utf-8"), scope.get("query_string", b""),
                     _without_boundary(scope, body)):
            digest.update(len(part).to_bytes(8, "big"))
            digest.update(part)
        state = scope[IDEMPOTENCY_STATE] = {"key": key.strip(), "fingerprint": digest.hexdigest()}
        delivered = False

        async def replay_receive() -> Any:
            nonlocal delivered
            if not delivered:
                delivered = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        response: dict[str, Any] = {"status": None, "content_type": "application/json", "body": []}
        held: list[Any] = []

        async def capture(message: Any) -> None:
            if message["type"] == "http.response.start":
                response["status"] = message["status"]
                for name, value in message.get("headers", []):
                    if name.lower() == b"content-type":
                        response["content_type"] = value.decode("latin-1")
            elif message["type"] == "http.response.body":
                response["body"].append(message.get("body", b""))
            held.append(message)

        try:
            await self.app(scope, replay_receive, capture)
        except BaseException:
            for message in held:
                await send(message)
            raise
        record_id = state.get("record_id")
        if record_id is not None and response["status"] is not None:
            import anyio

            await anyio.to_thread.run_sync(self._store, record_id, response["status"], response["content_type"], b"".join(response["body"]))
        for message in held:  # only now: a client's next request finds the response stored
            await send(message)

    def _store(self, record_id: int, status: int, content_type: str, body: bytes) -> None:
        with database_turn(self.app_state), self.crm.engine.begin() as connection:
            connection.execute(update(idempotency_keys).where(idempotency_keys.c.id == record_id, idempotency_keys.c.status_code == 0)
                               .values(status_code=status, content_type=content_type[:100], body=body))

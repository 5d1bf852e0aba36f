"""Engines: SQLite with WAL and foreign keys, PostgreSQL through psycopg 3."""

from __future__ import annotations

import json
from json.encoder import c_make_encoder, encode_basestring_ascii  # type: ignore[attr-defined]
from typing import Any, Callable

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url


def normalise_url(url: str) -> str:
    """``postgresql://`` and ``postgres://`` mean psycopg 3."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def _json_encoder() -> Callable[[Any], Any] | None:
    if c_make_encoder is None:  # Python built without the C accelerator
        return None
    defaults = json.JSONEncoder()
    # json.dumps's own settings (its default() refuses what JSON cannot hold);
    # no markers: JSON columns hold data, not cyclic structures
    return c_make_encoder(None, defaults.default, encode_basestring_ascii, None, defaults.key_separator,
                          defaults.item_separator, False, False, True)


_ENCODE = _json_encoder()


def json_text(value: Any) -> str:
    """``json.dumps(value)``, the same text in a quarter of the time: the C
    encoder that ``json.dumps`` builds on every call is built once. Bulk
    writes (an import's phones and e-mails) encode a JSON value per row."""
    if _ENCODE is None:
        return json.dumps(value)
    return "".join(_ENCODE(value, 0))


def make_engine(url: str) -> Engine:
    url = normalise_url(url)
    if make_url(url).get_backend_name() == "sqlite":
        engine = create_engine(url, connect_args={"timeout": 30}, json_serializer=json_text)
        _sqlite_pragmas(engine)
        return engine
    return create_engine(url, pool_pre_ping=True, json_serializer=json_text)


def _sqlite_pragmas(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection, _record):
        # pysqlite's own transaction handling defers BEGIN and breaks
        # SAVEPOINT; we emit BEGIN ourselves (SQLAlchemy's documented recipe).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        # deleted and overwritten content is zeroed, not left in free pages:
        # an erased person leaves no bytes behind (crmcore/privacy.py)
        cursor.execute("PRAGMA secure_delete=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def on_begin(connection):
        # Take the write lock at the start: a deferred transaction that reads
        # and then writes fails at once with "database is locked" when another
        # connection committed in between, whatever the busy timeout. Nearly
        # every unit of work writes (if only an audit entry), so all do, except
        # snapshot reads (privacy export), which never write.
        snapshot = connection.get_execution_options().get("crm_snapshot_read")
        connection.exec_driver_sql("BEGIN" if snapshot else "BEGIN IMMEDIATE")

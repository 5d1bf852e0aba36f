"""Engines: SQLite with WAL and foreign keys, PostgreSQL through psycopg 3."""

from __future__ import annotations

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url


def normalise_url(url: str) -> str:
    """``postgresql://`` and ``postgres://`` mean psycopg 3."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def make_engine(url: str) -> Engine:
    url = normalise_url(url)
    if make_url(url).get_backend_name() == "sqlite":
        engine = create_engine(url, connect_args={"timeout": 30})
        _sqlite_pragmas(engine)
        return engine
    return create_engine(url, pool_pre_ping=True)


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

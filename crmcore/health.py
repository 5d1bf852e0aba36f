"""Health checks: ``crm doctor``, and :func:`check` for the HTTP ``/healthz``.

Each check gives a :class:`Check` — name, status (``ok``, ``warn``,
``fail``), a readable detail and numbers for metrics. Any ``fail`` means the
CRM is not healthy; ``warn`` needs a look but does not stop it.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from attrs import asdict, field, frozen
from sqlalchemy import func, or_, select, text

if TYPE_CHECKING:
    from crmcore.app import CRM

OK, WARN, FAIL = "ok", "warn", "fail"


@frozen
class Check:
    name: str
    status: str
    detail: str
    data: dict[str, Any] = field(factory=dict)

    @property
    def ok(self) -> bool:
        return self.status != FAIL

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@frozen
class Thresholds:
    """When outbox messages count as stuck or the backlog as too long."""

    stuck_attempts: int = 3
    stuck_age: timedelta = timedelta(hours=1)
    backlog: int = 10_000


def check(crm: "CRM", thresholds: Thresholds | None = None) -> list[Check]:
    """Run every check; the database's reachability first (the rest need it)."""
    thresholds = thresholds or Thresholds()
    reachable = _database(crm)
    checks = [reachable]
    if reachable.status == FAIL:
        return checks
    checks.append(_migrations(crm))
    checks.append(_plugins(crm))
    try:
        checks.append(_outbox(crm, thresholds))
    except Exception as error:
        checks.append(Check("outbox", FAIL, f"cannot read the outbox: {type(error).__name__}: {str(error).splitlines()[0]}"))
    if crm.engine.dialect.name == "sqlite":
        checks.append(_sqlite(crm))
    return checks


def healthy(checks: list[Check]) -> bool:
    return all(c.ok for c in checks)


def _database(crm: "CRM") -> Check:
    url = crm.engine.url.render_as_string(hide_password=True)
    database = crm.engine.url.database
    if crm.engine.dialect.name == "sqlite" and database and database != ":memory:" and not Path(database).exists():
        # connecting would create an empty file: report it missing instead
        return Check("database", FAIL, f"no database file at {database}: run `crm init`, or give --db")
    try:
        with crm.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
            version = connection.dialect.server_version_info
    except Exception as error:
        return Check("database", FAIL, f"cannot reach {url}: {type(error).__name__}: {str(error).splitlines()[0]}")
    shown = ".".join(map(str, version)) if version else "?"
    return Check("database", OK, f"{crm.engine.dialect.name} {shown} at {url}", {"version": shown})


def _migrations(crm: "CRM") -> Check:
    try:
        branches = crm.migration_status()
    except Exception as error:  # e.g. a revision this code does not know: the database is newer
        return Check("migrations", FAIL, f"cannot read the schema version: {type(error).__name__}: {error}")
    pending = [b for b in branches if not b.up_to_date]
    data = {b.branch: {"current": b.current, "head": b.head} for b in branches}
    if pending:
        listed = ", ".join(f"{b.branch} {b.current or 'none'} → {b.head}" for b in pending)
        return Check("migrations", FAIL, f"pending: {listed}; run `crm db upgrade`", data)
    return Check("migrations", OK, f"{len(branches)} branch(es) at head", data)


def _plugins(crm: "CRM") -> Check:
    broken = {name: info.error for name, info in sorted(crm.plugins.infos.items()) if info.error}
    loaded = [info.name for info in crm.plugins.loaded]
    if broken:
        return Check("plugins", FAIL, "broken: " + "; ".join(f"{name}: {error}" for name, error in broken.items()),
                     {"loaded": loaded, "broken": broken})
    return Check("plugins", OK, f"{len(loaded)} loaded" + (f": {', '.join(loaded)}" if loaded else ""), {"loaded": loaded})


def _outbox(crm: "CRM", thresholds: Thresholds) -> Check:
    from crmcore.clock import utcnow
    from crmcore.storage.tables import outbox

    now = utcnow()
    pending = outbox.c.status == "pending"
    stuck_condition = pending & or_(outbox.c.attempts >= thresholds.stuck_attempts, outbox.c.created_at < now - thresholds.stuck_age)
    with crm.engine.connect() as connection:
        backlog = connection.execute(select(func.count()).where(pending)).scalar_one()
        stuck = connection.execute(select(func.count()).where(stuck_condition)).scalar_one()
        failed = connection.execute(select(func.count()).where(outbox.c.status == "failed")).scalar_one()
        oldest = connection.execute(select(func.min(outbox.c.created_at)).where(pending)).scalar()
    age = (now - oldest).total_seconds() if oldest else 0.0
    data = {"pending": backlog, "stuck": stuck, "failed": failed, "oldest_pending_seconds": round(age)}
    detail = f"{backlog} pending, {stuck} stuck, {failed} failed" + (f"; oldest pending {_duration(age)}" if backlog else "")
    if stuck:
        return Check("outbox", FAIL, f"{detail}: messages pending after {thresholds.stuck_attempts} attempts or older than "
                                     f"{_duration(thresholds.stuck_age.total_seconds())}; is `crm outbox deliver` running? "
                                     f"see `crm outbox list --status pending`", data)
    if backlog > thresholds.backlog or failed:
        return Check("outbox", WARN, detail + ("; see `crm outbox list --status failed`" if failed else "; backlog is long"), data)
    return Check("outbox", OK, detail, data)


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    if seconds < 172800:
        return f"{seconds / 3600:.0f} h"
    return f"{seconds / 86400:.0f} days"


def _probe(connection: Any, statement: str) -> bool:
    try:
        connection.exec_driver_sql(statement)
        return True
    except Exception:
        return False


def _sqlite(crm: "CRM") -> Check:
    """SQLite's traps, probed rather than guessed from the version: FTS5 (the
    name search needs it), JSON functions, secure_delete (erasure relies on
    it), the trigram tokenizer (not used: it matches nothing under three
    characters) and LIKE (case-insensitive for ASCII only)."""
    import sqlite3

    problems, notes = [], []
    with crm.engine.connect() as connection:
        version = connection.exec_driver_sql("SELECT sqlite_version()").scalar_one()
        fts5 = _probe(connection, "CREATE VIRTUAL TABLE temp.crm_doctor_fts USING fts5(x)")
        trigram = _probe(connection, "CREATE VIRTUAL TABLE temp.crm_doctor_tri USING fts5(x, tokenize='trigram')")
        for table in ("crm_doctor_fts", "crm_doctor_tri"):
            _probe(connection, f"DROP TABLE IF EXISTS temp.{table}")
        json1 = _probe(connection, "SELECT json_extract('{\"a\": 1}', '$.a')")
        search_index = connection.exec_driver_sql(
            "SELECT count(*) FROM sqlite_master WHERE name = 'customers_fts'").scalar_one() == 1
        secure = connection.exec_driver_sql("PRAGMA secure_delete").scalar_one() == 1
        journal = connection.exec_driver_sql("PRAGMA journal_mode").scalar_one()
        folds = connection.exec_driver_sql("SELECT 'Ä' LIKE 'ä'").scalar_one() == 1
    numbers = tuple(int(part) for part in version.split("."))
    if not fts5:
        problems.append("FTS5 is not compiled in: name search cannot work (use a Python whose sqlite3 has FTS5)")
    elif not search_index:
        problems.append("the customers_fts search index is missing: run `crm db upgrade` then `crm db reindex`")
    if not json1:
        problems.append("JSON functions are missing (SQLite before 3.38 without JSON1)")
    if not secure:
        problems.append("secure_delete is off: erased values could survive in free pages")
    if numbers < (3, 35):
        problems.append(f"SQLite {version} is older than 3.35: no RETURNING, no ALTER TABLE DROP COLUMN (migrations)")
    notes.append(f"journal {journal}")
    notes.append("trigram tokenizer " + ("available, unused: it matches nothing under 3 characters; names are indexed per character"
                                         if trigram else "unavailable (not needed)"))
    if not folds:
        notes.append("LIKE folds case for ASCII only: non-Latin and accented text compares exactly")
    data = {"version": version, "python_sqlite3": sqlite3.sqlite_version, "fts5": fts5, "trigram": trigram, "json": json1,
            "secure_delete": secure, "journal_mode": journal}
    if problems:
        return Check("sqlite", FAIL, f"SQLite {version}: " + "; ".join(problems + notes), data)
    return Check("sqlite", OK, f"SQLite {version}: FTS5, JSON, secure_delete; " + "; ".join(notes), data)

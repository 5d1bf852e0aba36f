"""Backup and restore: ``crm backup FILE`` and ``crm restore FILE``.

A backup is a ZIP holding the database and ``manifest.json``: the format,
when and from what it was taken, the installed plugins with their versions,
the schema revisions (Alembic heads) of the backed-up database, and per
table the row count and a SHA-256 of its rows as they were at that moment.

* SQLite: ``VACUUM INTO`` copies a consistent snapshot while the CRM
  keeps working; the manifest is computed on that copy.
* PostgreSQL: one REPEATABLE READ transaction exports its snapshot
  (``pg_export_snapshot()``); ``pg_dump -Fc --snapshot`` dumps exactly that
  snapshot while the manifest is computed in the same transaction. Without
  ``pg_dump`` on the PATH the backup fails saying so.

Restore refuses a backup whose schema holds a revision this code does not
know (taken by newer code, or with a plugin not installed here), refuses to
overwrite a database that holds data unless forced, checks every table's
count and checksum against the manifest, then upgrades an older schema to
this code's heads.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import tempfile
import zipfile
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, create_engine, inspect, text
from sqlalchemy.engine import make_url

from crmcore.errors import CRMError

if TYPE_CHECKING:
    from crmcore.app import CRM

FORMAT = "crmcore.backup/1"
MANIFEST = "manifest.json"
SQLITE_MEMBER = "crm.db"
POSTGRES_MEMBER = "crm.dump"


class BackupError(CRMError):
    """A backup or restore that cannot be done; the message says why."""


# ---------------------------------------------------------------------------
# Row checksums: the same on the backup's snapshot and on the restored copy
# ---------------------------------------------------------------------------


def _skipped_tables(connection: Connection) -> set[str]:
    """SQLite's FTS5 virtual tables and their shadow tables: derived from
    the customers table, rebuilt with it."""
    if connection.dialect.name != "sqlite":
        return set()
    virtual = [row[0] for row in connection.exec_driver_sql(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND sql LIKE 'CREATE VIRTUAL TABLE%'")]
    names = {row[0] for row in connection.exec_driver_sql("SELECT name FROM sqlite_master WHERE type = 'table'")}
    return {name for name in names if name in virtual or any(name.startswith(f"{v}_") for v in virtual)}


def _canonical(value: Any) -> Any:
    if isinstance(value, (bytes, memoryview)):
        return bytes(value).hex()
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (dict, list)):
        return json.dumps(value, sort_keys=True, ensure_ascii=False)
    return value


def table_checksums(connection: Connection) -> dict[str, dict[str, Any]]:
    """``{table: {"rows": n, "sha256": ...}}`` over every table's rows in
    primary-key order."""
    inspector = inspect(connection)
    skipped = _skipped_tables(connection)
    found = {}
    for table in sorted(inspector.get_table_names()):
        if table in skipped:
            continue
        columns = [c["name"] for c in inspector.get_columns(table)]
        order = inspector.get_pk_constraint(table).get("constrained_columns") or columns
        quoted = ", ".join(f'"{c}"' for c in columns)
        digest, count = hashlib.sha256(), 0
        result = connection.exec_driver_sql(f'SELECT {quoted} FROM "{table}" ORDER BY ' + ", ".join(f'"{c}"' for c in order))
        for row in result:
            digest.update(json.dumps([_canonical(v) for v in row], ensure_ascii=False, default=str).encode("utf-8"))
            digest.update(b"\n")
            count += 1
        found[table] = {"rows": count, "sha256": digest.hexdigest()}
    return found


def _revisions(connection: Connection) -> list[str]:
    try:
        return sorted(row[0] for row in connection.exec_driver_sql("SELECT version_num FROM alembic_version"))
    except Exception:
        return []


def known_revisions(crm: "CRM") -> set[str]:
    """Every revision of the core and the installed plugins' migrations."""
    from alembic.script import ScriptDirectory

    from crmcore.storage.migrations import _config

    script = ScriptDirectory.from_config(_config(None, crm.version_locations))
    return {revision.revision for revision in script.walk_revisions()}


# ---------------------------------------------------------------------------
# Backup
# ---------------------------------------------------------------------------


def backup(crm: "CRM", path: Path, actor: Any = None) -> dict[str, Any]:
    """Write a consistent online backup of the CRM's database to ``path``
    (a ZIP); returns the manifest. Needs ``operations.backup``."""
    from crmcore.clock import utcnow

    with crm.unit_of_work(actor=actor) as uow:
        uow.require("operations.backup")
    path = Path(path)
    manifest: dict[str, Any] = {
        "format": FORMAT, "taken_at": utcnow().isoformat(), "dialect": crm.engine.dialect.name,
        "plugins": {name: {"version": info.version, "loaded": info.loaded} for name, info in sorted(crm.plugins.infos.items())},
    }
    with tempfile.TemporaryDirectory(prefix="crm-backup-") as scratch:
        if crm.engine.dialect.name == "sqlite":
            member = Path(scratch) / SQLITE_MEMBER
            _sqlite_backup(crm, member)
            engine = create_engine(f"sqlite:///{member}")
            try:
                with engine.connect() as connection:
                    manifest.update(_describe(connection))
            finally:
                engine.dispose()
        elif crm.engine.dialect.name == "postgresql":
            member = Path(scratch) / POSTGRES_MEMBER
            manifest.update(_postgres_backup(crm, member))
        else:
            raise BackupError(f"backups of {crm.engine.dialect.name} databases are not supported")
        manifest["database_sha256"] = _file_sha256(member)
        partial = path.with_name(path.name + ".partial")
        with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_DEFLATED, allowZip64=True) as archive:
            archive.write(member, member.name)
            archive.writestr(MANIFEST, json.dumps(manifest, ensure_ascii=False, indent=2))
        os.replace(partial, path)
    # A backup only reads: a write here would contend with the CRM's own
    # writers (on SQLite a deferred transaction that read first fails with
    # "database is locked" when another commits). The manifest is its record.
    return manifest


def _describe(connection: Connection) -> dict[str, Any]:
    return {"revisions": _revisions(connection), "tables": table_checksums(connection)}


def _sqlite_backup(crm: "CRM", target: Path) -> None:
    """``VACUUM INTO``: one read transaction copies a consistent snapshot
    while others keep writing (WAL readers do not block writers). The online
    backup API restarts whenever another connection writes, so under steady
    writes it may never finish."""
    raw = crm.engine.raw_connection()
    try:
        raw.driver_connection.execute("VACUUM INTO ?", (str(target),))
    finally:
        raw.close()


def _libpq_url(url: Any) -> str:
    """The SQLAlchemy URL as libpq takes it (``postgresql://``, no driver)."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _need(tool: str) -> str:
    found = shutil.which(tool)
    if found is None:
        raise BackupError(f"{tool} was not found on the PATH: install the PostgreSQL client tools (e.g. apt install "
                          f"postgresql-client) matching the server's major version, or back up with `{tool}` yourself")
    return found


def _postgres_backup(crm: "CRM", target: Path) -> dict[str, Any]:
    pg_dump = _need("pg_dump")
    with crm.engine.connect() as connection:
        connection = connection.execution_options(isolation_level="REPEATABLE READ")
        with connection.begin():
            snapshot = connection.execute(text("SELECT pg_export_snapshot()")).scalar_one()
            done = subprocess.run(
                [pg_dump, "--format=custom", f"--snapshot={snapshot}", f"--file={target}", f"--dbname={_libpq_url(crm.engine.url)}"],
                capture_output=True, text=True)
            if done.returncode != 0:
                raise BackupError(f"pg_dump failed: {done.stderr.strip()}")
            return _describe(connection)


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


# ---------------------------------------------------------------------------
# Restore
# ---------------------------------------------------------------------------


def read_manifest(path: Path) -> dict[str, Any]:
    try:
        with zipfile.ZipFile(path) as archive:
            manifest = json.loads(archive.read(MANIFEST))
    except (zipfile.BadZipFile, KeyError, FileNotFoundError, json.JSONDecodeError) as error:
        raise BackupError(f"{path} is not a crm backup ({type(error).__name__}: {error})") from None
    if manifest.get("format") != FORMAT:
        raise BackupError(f"{path}: unknown backup format {manifest.get('format')!r}")
    return manifest


def restore(crm: "CRM", path: Path, *, force: bool = False) -> dict[str, Any]:
    """Restore the backup at ``path`` into ``crm``'s database (``crm`` gives
    the target URL and the code's plugins), verify every table against the
    manifest, then upgrade the schema. Returns what was done."""
    path = Path(path)
    manifest = read_manifest(path)
    unknown = sorted(set(manifest["revisions"]) - known_revisions(crm))
    if unknown:
        raise BackupError(f"the backup's schema is newer than this code: revision {', '.join(unknown)} is unknown here "
                          f"(taken by a newer crmcore, or with a plugin not installed here; backup plugins: "
                          f"{', '.join(manifest['plugins']) or 'none'})")
    dialect = crm.engine.dialect.name
    if manifest["dialect"] != dialect:
        raise BackupError(f"this is a {manifest['dialect']} backup; restore it into a {manifest['dialect']} database, not {dialect}")
    if not force and _holds_data(crm):
        raise BackupError("the target database already holds tables: restore into a new database, or pass --force to replace it")
    with tempfile.TemporaryDirectory(prefix="crm-restore-") as scratch:
        member = SQLITE_MEMBER if dialect == "sqlite" else POSTGRES_MEMBER
        with zipfile.ZipFile(path) as archive:
            archive.extract(member, scratch)
        extracted = Path(scratch) / member
        if manifest.get("database_sha256") and _file_sha256(extracted) != manifest["database_sha256"]:
            raise BackupError(f"{path}: the database inside does not match its manifest (damaged backup)")
        crm.engine.dispose()
        if dialect == "sqlite":
            _sqlite_restore(crm, extracted)
        else:
            _postgres_restore(crm, extracted, force)
    with crm.engine.connect() as connection:
        restored = table_checksums(connection)
    damaged = sorted(t for t, expected in manifest["tables"].items() if restored.get(t) != expected)
    if damaged:
        raise BackupError(f"restored tables differ from the backup's manifest: {', '.join(damaged)}")
    before = manifest["revisions"]
    crm.upgrade()
    with crm.engine.connect() as connection:
        after = _revisions(connection)
    return {"file": str(path), "taken_at": manifest["taken_at"], "tables": len(manifest["tables"]),
            "rows": sum(t["rows"] for t in manifest["tables"].values()), "revisions_before": before, "revisions_after": after,
            "upgraded": before != after}


def _holds_data(crm: "CRM") -> bool:
    with crm.engine.connect() as connection:
        return bool([t for t in inspect(connection).get_table_names() if t not in _skipped_tables(connection)])


def _sqlite_restore(crm: "CRM", source: Path) -> None:
    """Copy the snapshot into the target through the backup API, which
    replaces the target's pages under its own lock."""
    database = crm.engine.url.database
    if not database or database == ":memory:":
        raise BackupError("restore needs a SQLite database file (--db sqlite:///path/crm.db)")
    Path(database).parent.mkdir(parents=True, exist_ok=True)
    origin = sqlite3.connect(source)
    target = sqlite3.connect(database)
    try:
        origin.backup(target)
        target.execute("PRAGMA journal_mode=WAL")
    finally:
        target.close()
        origin.close()


def _postgres_restore(crm: "CRM", dump: Path, force: bool) -> None:
    pg_restore = _need("pg_restore")
    command = [pg_restore, "--no-owner", "--exit-on-error", f"--dbname={_libpq_url(crm.engine.url)}"]
    if force:
        command[1:1] = ["--clean", "--if-exists"]
    done = subprocess.run([*command, str(dump)], capture_output=True, text=True)
    if done.returncode != 0:
        raise BackupError(f"pg_restore failed: {done.stderr.strip()}")

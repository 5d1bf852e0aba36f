"""Imports run through the API and the web interface: the same importers as
``crm import``, with their state, summary and reject file kept in
``api_imports`` so any server process can answer a later poll.

An API import runs within its upload request and is written when it ends. A
web import runs in a thread of the worker that took the upload: its row is
written ``running`` first (:meth:`ImportJobs.start`), its progress as it goes
(:class:`ImportProgress`), and it ends ``done`` in the import's own
transaction or ``failed`` (:meth:`ImportJobs.fail`) after that rolled back.
"""

from __future__ import annotations

import logging
import threading
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterator

from sqlalchemy import Column, Engine, Integer, MetaData, Table, create_engine, delete, insert, or_, select, update
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.pool import NullPool, StaticPool
from sqlalchemy.schema import CreateTable

from crmcore.clock import utcnow
from crmcore.errors import NotFound, ValidationError
from crmcore.storage.api_tables import api_imports
from crmcore.storage.types import UTCDateTime

if TYPE_CHECKING:
    from crmcore.app import CRM
    from crmcore.storage.unit_of_work import UnitOfWork

log = logging.getLogger("crmcore.api")
KINDS = ("customers", "contacts", "activities")
#: A running import's worker writes a sign of life this often, between the
#: importer's progress calls too (reading a large file before the first batch
#: takes a while).
HEARTBEAT = timedelta(seconds=15)
#: A ``running`` import without a sign of life for this long is shown as
#: stalled: the worker running it has stopped (restarted, killed, crashed),
#: and its transaction with it, so nothing of it was imported.
STALE_AFTER = timedelta(minutes=2)


class _DryRun(Exception):
    pass


class ImportJobs:
    def __init__(self, uow: "UnitOfWork"):
        self.uow = uow

    def start(self, kind: str, file_name: str) -> int:
        """Record an import about to run in another transaction (``running``,
        nothing read yet); commit before running it."""
        self._check(kind)
        now = self.uow.now
        row = {"user_id": self.uow.actor.id, "kind": kind, "file_name": file_name, "status": "running", "summary": {},
               "created_at": now, "updated_at": now, "done": 0}
        return self.uow.execute(insert(api_imports).values(row)).inserted_primary_key[0]

    def fail(self, import_id: int, reason: str) -> None:
        """End a started import as ``failed`` (its own transaction rolled back)."""
        self.uow.execute(update(api_imports).where(api_imports.c.id == import_id, api_imports.c.status == "running")
                         .values(status="failed", error=reason, finished_at=self.uow.now, updated_at=self.uow.now))

    def _check(self, kind: str) -> None:
        self.uow.require("customers.import")
        if kind not in KINDS:
            raise ValidationError.field("kind", f"{kind!r} is not one of {', '.join(KINDS)}")

    def run(self, kind: str, path: Path, file_name: str, *, on_duplicate: str = "skip", mapping: str | None = None,
            encoding: str | None = None, dry_run: bool = False,
            progress: Callable[[int], None] | None = None, import_id: int | None = None) -> dict[str, Any]:
        """Import ``path`` in a savepoint of the request's unit of work (a dry
        run rolls the savepoint back) and record the outcome: in the row of
        :meth:`start` when ``import_id`` names one, else in a new row.
        ``progress(n)`` is called as rows are read (customers and activities:
        per batch)."""
        from crmcore.importing import CustomerImport, import_activities, import_contacts, parse_mapping

        self._check(kind)
        columns = parse_mapping(mapping)
        result = None
        try:
            with self.uow.savepoint():
                if kind == "customers":
                    result = CustomerImport(self.uow, on_duplicate, progress).run(path, encoding=encoding, mapping=columns)
                elif kind == "contacts":
                    result = import_contacts(self.uow, path, encoding=encoding, mapping=columns)
                else:
                    result = import_activities(self.uow, path, encoding=encoding, mapping=columns, progress=progress)
                if dry_run:
                    result.dry_run = True
                    raise _DryRun
        except _DryRun:
            pass
        summary = result.summary()
        summary["file"] = file_name
        rejects = _rejects_csv(result) if result.rejected else None
        outcome = {"status": "done", "summary": summary, "rejects": rejects, "finished_at": self.uow.now,
                   "updated_at": self.uow.now, "rows": result.rows, "done": result.rows}
        if import_id is not None:
            self.uow.execute(update(api_imports).where(api_imports.c.id == import_id).values(outcome))
            return self.get(import_id)
        row = {"user_id": self.uow.actor.id, "kind": kind, "file_name": file_name, "created_at": self.uow.now, **outcome}
        row["id"] = self.uow.execute(insert(api_imports).values(row)).inserted_primary_key[0]
        return row

    def get(self, import_id: int) -> dict[str, Any]:
        """An import of the caller's (anyone's with ``customers.import`` and
        ``users.manage``), with its progress while it runs and ``stalled``:
        running, but no sign of life from its worker for :data:`STALE_AFTER`."""
        row = self.uow.execute(select(api_imports).where(api_imports.c.id == import_id)).mappings().first()
        actor = self.uow.actor
        if row is None or (row["user_id"] != actor.id and not actor.can("users.manage")):
            raise NotFound(f"import {import_id} not found")
        job = ImportProgress(self.uow.crm).merged(dict(row))
        job["stalled"] = job["status"] == "running" and (job["updated_at"] or job["created_at"]) < utcnow() - STALE_AFTER
        return job


#: On SQLite, where running imports' progress is kept (see ImportProgress).
_progress_metadata = MetaData()
_progress = Table(
    "import_progress",
    _progress_metadata,
    Column("import_id", Integer, primary_key=True),
    Column("rows", Integer),
    Column("done", Integer, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)
_beside: dict[str, Engine] = {}
_beside_lock = threading.Lock()


class ImportProgress:
    """A running import's progress — rows in the file, rows read, its
    worker's last sign of life — written from the import's thread, each time
    in a short transaction of its own on a connection of its own (the import
    is one long transaction, so that a failure leaves nothing half-written),
    and read by whichever worker answers the progress page.

    PostgreSQL: the import's ``api_imports`` row.

    SQLite: the import's transaction holds the database's only write lock
    (``BEGIN IMMEDIATE``) until it ends; no other connection can write to the
    database meanwhile. The progress goes to a small SQLite file beside it
    (``<database>-progress``), which every worker process reads and writes:
    SQLite's workers run on one machine, on one file. The ``running`` row
    itself is in the database (written before the import begins), and the
    outcome too. An in-memory database lives in one process, and so does its
    progress.
    """

    def __init__(self, crm: "CRM"):
        self.engine = crm.engine
        self.sqlite = self.engine.dialect.name == "sqlite"

    def report(self, import_id: int, *, rows: int | None = None, add: int = 0) -> None:
        """A sign of life: ``add`` more rows read, or the file's ``rows``.
        A failure is logged, not raised: a lagging progress bar is better
        than a failed import."""
        values: dict[str, Any] = {"updated_at": utcnow()}
        if rows is not None:
            values["rows"] = rows
        try:
            if self.sqlite:
                with _beside_engine(self.engine).begin() as connection:
                    connection.execute(sqlite_insert(_progress).values(import_id=import_id, done=add, **values)
                                       .on_conflict_do_update(index_elements=[_progress.c.import_id],
                                                              set_={"done": _progress.c.done + add, **values}))
            else:
                with self.engine.begin() as connection:
                    connection.execute(update(api_imports)
                                       .where(api_imports.c.id == import_id, api_imports.c.status == "running")
                                       .values(done=api_imports.c.done + add, **values))
        except SQLAlchemyError:
            log.warning("could not record the progress of import %s", import_id, exc_info=True)

    @contextmanager
    def running(self, import_id: int) -> Iterator[Callable[[int], None]]:
        """While the block runs the import: a sign of life every
        :data:`HEARTBEAT`, and the importer's ``progress`` callback. End the
        import (done or failed) inside the block, so that it never looks
        stalled in between."""
        stop = threading.Event()

        def beat() -> None:
            while not stop.wait(HEARTBEAT.total_seconds()):
                self.report(import_id)

        thread = threading.Thread(target=beat, daemon=True, name=f"crm-import-heartbeat-{import_id}")
        thread.start()
        try:
            yield lambda rows: self.report(import_id, add=rows)
        finally:
            stop.set()
            thread.join()
            self._forget(import_id)

    def merged(self, job: dict[str, Any]) -> dict[str, Any]:
        """``job`` (an ``api_imports`` row) with its progress while it runs."""
        if self.sqlite and job["status"] == "running":
            with _beside_engine(self.engine).connect() as connection:
                found = connection.execute(select(_progress).where(_progress.c.import_id == job["id"])).mappings().first()
            if found is not None:
                job.update(done=found["done"], updated_at=found["updated_at"],
                           rows=found["rows"] if found["rows"] is not None else job["rows"])
        return job

    def _forget(self, import_id: int) -> None:
        """Drop an ended import's progress from beside a SQLite database, and
        any left by a worker that died a day ago or more."""
        if not self.sqlite:
            return
        try:
            with _beside_engine(self.engine).begin() as connection:
                connection.execute(delete(_progress).where(or_(_progress.c.import_id == import_id,
                                                               _progress.c.updated_at < utcnow() - timedelta(days=1))))
        except SQLAlchemyError:
            log.warning("could not drop the progress of import %s", import_id, exc_info=True)


def _beside_engine(engine: Engine) -> Engine:
    """The progress file beside a SQLite database (one engine per file per process)."""
    database = engine.url.database
    in_memory = not database or database == ":memory:" or database.startswith("file::memory:")
    key = f"memory:{id(engine)}" if in_memory else database
    with _beside_lock:
        found = _beside.get(key)
        if found is None:
            if in_memory:
                found = create_engine("sqlite://", poolclass=StaticPool, connect_args={"check_same_thread": False})
            else:
                # opened per use: a worker holds no file open between batches
                found = create_engine(f"sqlite:///{database}-progress", poolclass=NullPool, connect_args={"timeout": 10})
            with found.begin() as connection:  # several workers may get here at once
                connection.execute(CreateTable(_progress, if_not_exists=True))
            _beside[key] = found
        return found


def _rejects_csv(result: Any) -> str:
    """The reject file ``crm import --reject`` writes, as text."""
    import tempfile

    from crmcore.importing import write_rejects

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "rejects.csv"
        write_rejects(path, result)
        return path.read_text(encoding="utf-8-sig")

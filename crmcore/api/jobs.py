"""Imports run through the API: the same importers as ``crm import``, with
their summary and reject file kept in ``api_imports`` so any server process
can answer a later poll."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from sqlalchemy import insert, select

from crmcore.errors import NotFound, ValidationError
from crmcore.storage.api_tables import api_imports

if TYPE_CHECKING:
    from crmcore.storage.unit_of_work import UnitOfWork

KINDS = ("customers", "contacts", "activities")


class _DryRun(Exception):
    pass


class ImportJobs:
    def __init__(self, uow: "UnitOfWork"):
        self.uow = uow

    def run(self, kind: str, path: Path, file_name: str, *, on_duplicate: str = "skip", mapping: str | None = None,
            encoding: str | None = None, dry_run: bool = False,
            progress: Callable[[int], None] | None = None) -> dict[str, Any]:
        """Import ``path`` in a savepoint of the request's unit of work (a dry
        run rolls the savepoint back) and record the outcome. ``progress(n)``
        is called as rows are read (customers and activities: per batch)."""
        from crmcore.importing import CustomerImport, import_activities, import_contacts, parse_mapping

        self.uow.require("customers.import")
        if kind not in KINDS:
            raise ValidationError.field("kind", f"{kind!r} is not one of {', '.join(KINDS)}")
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
        row = {"user_id": self.uow.actor.id, "kind": kind, "file_name": file_name, "status": "done", "summary": summary,
               "rejects": rejects, "created_at": self.uow.now, "finished_at": self.uow.now}
        row["id"] = self.uow.execute(insert(api_imports).values(row)).inserted_primary_key[0]
        return row

    def get(self, import_id: int) -> dict[str, Any]:
        """An import of the caller's (anyone's with ``customers.import`` and ``users.manage``)."""
        row = self.uow.execute(select(api_imports).where(api_imports.c.id == import_id)).mappings().first()
        actor = self.uow.actor
        if row is None or (row["user_id"] != actor.id and not actor.can("users.manage")):
            raise NotFound(f"import {import_id} not found")
        return dict(row)


def _rejects_csv(result: Any) -> str:
    """The reject file ``crm import --reject`` writes, as text."""
    import tempfile

    from crmcore.importing import write_rejects

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "rejects.csv"
        write_rejects(path, result)
        return path.read_text(encoding="utf-8-sig")

"""Importing a CSV or XLSX file of customers, contacts or activities: the
upload form, a progress page that polls until the import is done, the
summary, and the reject file (every row not imported, with line, column and
reason) to download, fix and import again.

The import itself is the REST API's (``crmcore.api.jobs.ImportJobs``, the
same importers as ``crm import``), run in a thread of the server process that
took the upload so the browser can show progress. Its state is in the
database from the start (``api_imports``: ``running`` with the rows read,
then ``done`` or ``failed``), so with ``crm serve --workers N`` any worker
answers the progress page; an import whose worker stopped shows as stalled
(``crmcore.api.jobs.STALE_AFTER``).
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import threading
from pathlib import Path
from typing import Any

from litestar import Request, Response
from litestar.params import FromPath
from sqlalchemy import select

from crmcore.api.jobs import KINDS, ImportJobs, ImportProgress
from crmcore.errors import NotFound, ValidationError
from crmcore.web.routes import Upload, get, post
from crmcore.web.site import form_value, page, redirect, translator, web_uow

log = logging.getLogger("crmcore.web")
SUFFIXES = (".csv", ".txt", ".xlsx", ".xlsm")
ON_DUPLICATE = ("skip", "update", "merge")
#: A browser upload above this is refused before it is written anywhere.
MAX_BYTES = 50 * 1024 * 1024
RECENT = 10


def _count_rows(path: Path, encoding: str | None) -> int | None:
    """How many rows the file holds, for the progress page; ``None`` when
    unreadable (the import then says why)."""
    from crmcore.importing import read_rows

    try:
        return sum(1 for _ in read_rows(path, encoding)[1])
    except Exception:  # the importer reports the same problem properly
        return None


def _import(app_state: Any, import_id: int, user_id: int, kind: str, file_name: str, folder: Path, path: Path,
            options: dict[str, Any]) -> None:
    """The import (started as ``import_id``) in its own unit of work, acting
    as the uploader; it ends ``done`` with that unit of work, or ``failed``
    in a transaction of its own after it rolled back."""
    from crmcore.api.auth import database_turn

    crm = app_state["crm"]
    progress = ImportProgress(crm)
    try:
        with progress.running(import_id) as advance:
            try:
                progress.report(import_id, rows=_count_rows(path, options.get("encoding")))
                with database_turn(app_state), crm.unit_of_work() as uow:
                    uow.act_as(user_id)
                    ImportJobs(uow).run(kind, path, file_name, progress=advance, import_id=import_id, **options)
            except ValidationError as error:
                _fail(app_state, import_id, user_id, "; ".join(error.errors))
            except Exception as error:  # the page must say it failed rather than poll forever
                log.exception("web import %s failed", import_id)
                _fail(app_state, import_id, user_id, str(error) or type(error).__name__)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _fail(app_state: Any, import_id: int, user_id: int, reason: str) -> None:
    from crmcore.api.auth import database_turn

    with database_turn(app_state), app_state["crm"].unit_of_work() as uow:
        uow.act_as(user_id)
        ImportJobs(uow).fail(import_id, reason)


def _recent(uow: Any) -> list[dict[str, Any]]:
    from crmcore.storage.api_tables import api_imports

    query = (select(api_imports.c.id, api_imports.c.kind, api_imports.c.file_name, api_imports.c.status,
                    api_imports.c.summary, api_imports.c.created_at)
             .where(api_imports.c.user_id == uow.actor.id).order_by(api_imports.c.id.desc()).limit(RECENT))
    return [dict(row) for row in uow.execute(query).mappings()]


def _form_page(request: Request, uow: Any, form: dict[str, Any], errors: dict[str, str], status: int = 200) -> Response[str]:
    return page(request, uow, "core/web/imports/form.html", status=status, form=form, errors=errors, kinds=KINDS,
                on_duplicate=ON_DUPLICATE, recent=_recent(uow))


@get("/imports", name="imports")
def import_form(request: Request) -> Response[str]:
    with web_uow(request) as uow:
        uow.require("customers.import")
        return _form_page(request, uow, {"kind": "customers", "on_duplicate": "skip"}, {})


@post("/imports", request_max_body_size=MAX_BYTES + 1024 * 1024)
def import_upload(request: Request, data: Upload) -> Response[str]:
    """Start the import and show its progress page."""
    _ = translator(request)
    upload = data.get("file")
    fields = {name: value for name, value in data.items() if isinstance(value, str)}
    with web_uow(request, fields) as uow:
        uow.require("customers.import")
        kind, on_duplicate = form_value(fields, "kind"), form_value(fields, "on_duplicate") or "skip"
        name = Path(getattr(upload, "filename", None) or "").name[:300]
        errors: dict[str, str] = {}
        if kind not in KINDS:
            errors["kind"] = _("Choose what the file holds.")
        if on_duplicate not in ON_DUPLICATE:
            errors["on_duplicate"] = _("Choose what to do with duplicates.")
        if upload is None or not name:
            errors["file"] = _("Choose a file.")
        elif Path(name).suffix.lower() not in SUFFIXES:
            errors["file"] = _("Send a .csv or .xlsx file.")
        content = b"" if errors else upload.file.read(MAX_BYTES + 1)
        if not errors and not content:
            errors["file"] = _("The file is empty.")
        elif len(content) > MAX_BYTES:
            errors["file"] = _("The file is larger than %(size)s MB; split it.", size=MAX_BYTES // (1024 * 1024))
        if errors:
            return _form_page(request, uow, fields, errors, status=422)
        user_id = uow.actor.id
        import_id = ImportJobs(uow).start(kind, name)
    folder = Path(tempfile.mkdtemp(prefix="crm-web-import-"))
    path = folder / f"upload{Path(name).suffix.lower()}"
    path.write_bytes(content)
    options = {"on_duplicate": on_duplicate, "mapping": form_value(fields, "mapping") or None,
               "encoding": form_value(fields, "encoding") or None,
               "dry_run": form_value(fields, "dry_run") in ("1", "on", "true")}
    threading.Thread(target=_import, args=(request.app.state, import_id, user_id, kind, name, folder, path, options),
                     daemon=True, name=f"crm-web-import-{import_id}").start()
    return redirect(request, f"/imports/runs/{import_id}")


@get("/imports/runs/{import_id:int}", name="import_run")
def import_run(request: Request, import_id: FromPath[int]) -> Response[str]:
    """The progress page; ``crm.js`` polls its ``progress`` block until done.
    Everything it shows is in the database, so any server process answers.
    It only reads (a snapshot), so it answers while the import holds the
    write lock."""
    with web_uow(request, readonly=True) as uow:
        return page(request, uow, "core/web/imports/result.html", job=ImportJobs(uow).get(import_id))


@get("/imports/{import_id:int}", name="import_result")
def import_result(request: Request, import_id: FromPath[int]) -> Response[str]:
    """A finished import's summary (the importer's or an administrator's)."""
    with web_uow(request) as uow:
        uow.require("customers.import")
        job = ImportJobs(uow).get(import_id)
        return page(request, uow, "core/web/imports/result.html", job=job)


@get("/imports/{import_id:int}/rejects", name="import_rejects")
def import_rejects(request: Request, import_id: FromPath[int]) -> Response[bytes]:
    """The reject file, as ``crm import --reject`` writes it (UTF-8 with a
    BOM, so Excel opens it right)."""
    with web_uow(request) as uow:
        uow.require("customers.import")
        job = ImportJobs(uow).get(import_id)
    if not job.get("rejects"):
        raise NotFound(f"import {import_id} rejected no rows")
    return Response(job["rejects"].encode("utf-8-sig"), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="import-{import_id}-rejects.csv"',
                             "Cache-Control": "no-store"})


HANDLERS: list[Any] = [import_form, import_upload, import_run, import_result, import_rejects]

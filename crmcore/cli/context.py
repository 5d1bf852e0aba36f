"""What every command shares: the database, the acting user, the output
format. Plugin commands use it too: ``@pass_state`` gives a command the
:class:`CLIState`; ``state.uow()`` opens a unit of work as the acting user;
``state.emit(data, ...)`` prints a table or, with ``--json``, JSON."""

from __future__ import annotations

import json
import sys
import unicodedata
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Callable, Iterator, Sequence

import click

if TYPE_CHECKING:
    from crmcore.app import CRM
    from crmcore.storage.unit_of_work import UnitOfWork


class CLIState:
    def __init__(self, db: str | None = None, actor: str | None = None, as_json: bool = False, crm: "CRM | None" = None):
        self.db = db
        self.actor = actor
        self.as_json = as_json
        self.plugin: str | None = None  # the plugin whose command runs, if any
        self._crm = crm

    @property
    def has_crm(self) -> bool:
        return self._crm is not None

    @property
    def crm(self) -> "CRM":
        if self._crm is None:
            from crmcore.cli import open_crm

            self._crm = open_crm(self.db)
        return self._crm

    @contextmanager
    def uow(self) -> Iterator["UnitOfWork"]:
        """A unit of work as the acting user (``--as``, default admin). A
        plugin's command refuses to run where the plugin is disabled for the
        user's department."""
        from crmcore.access import ADMIN_USER
        from crmcore.errors import CRMError

        with self.crm.unit_of_work(actor=self.actor or ADMIN_USER) as uow:
            if self.plugin and self.plugin in uow.disabled_plugins:
                raise CRMError(f"plugin {self.plugin!r} is disabled for the department of {uow.actor.username!r}")
            yield uow

    def emit(
        self,
        data: Any,
        *,
        columns: Sequence[str] | None = None,
        text: str | Callable[[], str] | None = None,
    ) -> None:
        """Print ``data``: as JSON with ``--json``; otherwise ``text`` if
        given, else a table of ``columns`` when data is a list of dicts."""
        if self.as_json:
            from crmcore.storage.rows import jsonable

            click.echo(json.dumps(jsonable(data), ensure_ascii=False, indent=2))
        elif text is not None:
            click.echo(text() if callable(text) else text)
        elif isinstance(data, list):
            click.echo(render_table(data, columns))
        elif isinstance(data, dict):
            click.echo(render_fields(data))
        else:
            click.echo(str(data))


pass_state = click.make_pass_decorator(CLIState)


def width(text: str) -> int:
    """Display width: CJK characters take two columns."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, (list, tuple)):
        return ", ".join(_cell(v) for v in value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    if hasattr(value, "isoformat"):
        return value.isoformat(sep=" ", timespec="minutes") if hasattr(value, "hour") else value.isoformat()
    return str(value)


def render_table(rows: Sequence[dict[str, Any]], columns: Sequence[str] | None = None) -> str:
    if not rows:
        return "(none)"
    columns = list(columns or rows[0].keys())
    cells = [[_cell(row.get(c)) for c in columns] for row in rows]
    widths = [max(width(c), *(width(r[i]) for r in cells)) for i, c in enumerate(columns)]

    def line(values: Sequence[str]) -> str:
        return "  ".join(v + " " * (w - width(v)) for v, w in zip(values, widths)).rstrip()

    return "\n".join([line(columns), line(["-" * w for w in widths]), *(line(r) for r in cells)])


def render_fields(data: dict[str, Any]) -> str:
    shown = {k: v for k, v in data.items() if v not in (None, "", [], {})}
    if not shown:
        return "(empty)"
    label_width = max(width(k) for k in shown)
    return "\n".join(f"{k}{' ' * (label_width - width(k))}  {_cell(v)}" for k, v in shown.items())


def fail(message: str) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(1)

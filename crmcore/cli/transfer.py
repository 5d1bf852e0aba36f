"""``crm import`` and ``crm export``."""

from __future__ import annotations

import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator

import click

from crmcore.cli.context import CLIState, pass_state

FILE = click.Path(exists=True, dir_okay=False, path_type=Path)


@contextmanager
def progress_bar(label: str, enabled: bool) -> Iterator[Callable[[int], None]]:
    """A progress bar on a terminal; silent otherwise."""
    if not enabled or not sys.stderr.isatty():
        yield lambda n: None
        return
    with click.progressbar(length=None, label=label, file=sys.stderr, show_pos=True) as bar:
        yield bar.update


class DryRun(Exception):
    """Raised to roll back a dry run after its report is made."""


def _report(state: CLIState, result: Any, reject: Path | None) -> None:
    from crmcore.importing import write_rejects

    if reject is not None and result.rejected:
        write_rejects(reject, result)
    summary = result.summary()
    if reject is not None:
        summary["reject_file"] = str(reject) if result.rejected else None
    text = (f"{'dry run: ' if result.dry_run else ''}{result.rows} rows: {result.created} created, {result.updated} updated, "
            f"{result.merged} merged, {result.skipped} skipped as duplicates, {len(result.rejected)} not imported")
    if result.rejected:
        first = result.rejected[:5]
        text += "\n" + "\n".join(f"  line {r.line}: {r.column + ': ' if r.column else ''}{r.reason}" for r in first)
        text += f"\n  … reasons for all {len(result.rejected)} in {reject}" if reject else "\n  (--reject FILE writes every reason)"
    if result.unknown_columns:
        text += f"\nignored columns: {', '.join(result.unknown_columns)} (map them with --map COLUMN=FIELD)"
    state.emit(summary, text=text)


def _run(state: CLIState, dry_run: bool, work: Callable[[Any], Any]) -> Any:
    """Run an import in one unit of work; a dry run reports and rolls back."""
    outcome: dict[str, Any] = {}
    try:
        with state.uow() as uow:
            outcome["result"] = work(uow)
            if dry_run:
                outcome["result"].dry_run = True
                raise DryRun
    except DryRun:
        pass
    return outcome["result"]


@click.group("import")
def import_() -> None:
    """Import customers, contacts and activities from CSV or XLSX."""


def import_options(function: Callable[..., Any]) -> Callable[..., Any]:
    for option in reversed([
        click.argument("file", type=FILE),
        click.option("--encoding", help="File encoding; detected when left out (UTF-8 with or without BOM, GB18030/GBK)."),
        click.option("--map", "mapping", metavar="COLUMN=FIELD,...", help="Map columns to fields, e.g. 客户全称=name,手机1=phones."),
        click.option("--reject", type=click.Path(dir_okay=False, path_type=Path), help="Write every row not imported, with line, column and reason, here."),
        click.option("--dry-run", is_flag=True, help="Check everything and report, import nothing."),
    ]):
        function = option(function)
    return function


@import_.command("customers")
@import_options
@click.option("--on-duplicate", type=click.Choice(["skip", "update", "merge"]), default="skip", show_default=True,
              help="What to do with a row whose code, phone or e-mail a stored customer has.")
@pass_state
def import_customers(state: CLIState, file: Path, encoding: str | None, mapping: str | None, reject: Path | None,
                     dry_run: bool, on_duplicate: str) -> None:
    """Import customers; good rows are imported, the rest reported."""
    from crmcore.importing import CustomerImport, parse_mapping

    with progress_bar("importing customers", not state.as_json) as progress:
        result = _run(state, dry_run, lambda uow: CustomerImport(uow, on_duplicate, progress).run(
            file, encoding=encoding, mapping=parse_mapping(mapping)))
    _report(state, result, reject)


@import_.command("activities")
@import_options
@pass_state
def import_activities(state: CLIState, file: Path, encoding: str | None, mapping: str | None, reject: Path | None, dry_run: bool) -> None:
    """Import activities (purchases in bulk), matched to customers by
    customer_code (客户编号), customer_phone or customer_email."""
    from crmcore.importing import import_activities as run, parse_mapping

    with progress_bar("importing activities", not state.as_json) as progress:
        result = _run(state, dry_run, lambda uow: run(uow, file, encoding=encoding, mapping=parse_mapping(mapping), progress=progress))
    _report(state, result, reject)


@import_.command("contacts")
@import_options
@pass_state
def import_contacts(state: CLIState, file: Path, encoding: str | None, mapping: str | None, reject: Path | None, dry_run: bool) -> None:
    """Import contacts, matched to customers by customer_code, customer_phone or customer_email."""
    from crmcore.importing import import_contacts as run, parse_mapping

    result = _run(state, dry_run, lambda uow: run(uow, file, encoding=encoding, mapping=parse_mapping(mapping)))
    _report(state, result, reject)


@click.group("export")
def export() -> None:
    """Export customers to CSV or XLSX."""


@export.command("customers")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--cancelled", "include_cancelled", is_flag=True, help="Include cancelled customers.")
@pass_state
def export_customers(state: CLIState, file: Path, include_cancelled: bool) -> None:
    """Export the customers you can see, in the columns `crm import` reads;
    contact details masked unless you may see them."""
    from crmcore.exporting import export_customers as run

    with state.uow() as uow:
        count = run(uow, file, include_cancelled=include_cancelled)
    state.emit({"file": str(file), "customers": count}, text=f"exported {count} customers to {file}")

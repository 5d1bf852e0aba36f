"""Operating the CRM: ``crm backup``, ``crm restore``, ``crm doctor``."""

from __future__ import annotations

import sys
from datetime import timedelta
from pathlib import Path

import click

from crmcore.cli.context import CLIState, pass_state


@click.command()
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@pass_state
def backup(state: CLIState, file: Path) -> None:
    """Write a consistent online backup to FILE (a ZIP: the database and a
    manifest of plugins, schema revisions, row counts and checksums)."""
    from crmcore.access import ADMIN_USER
    from crmcore.backup import backup as make_backup

    manifest = make_backup(state.crm, file, actor=state.actor or ADMIN_USER)
    rows = sum(t["rows"] for t in manifest["tables"].values())
    state.emit({"file": str(file), **manifest},
               text=f"wrote {file}: {len(manifest['tables'])} tables, {rows} rows, schema {', '.join(manifest['revisions'])}")


@click.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--db", "db", metavar="URL", help="Restore into this database [default: the global --db, else the configured one].")
@click.option("--force", is_flag=True, help="Replace a database that already holds tables.")
@pass_state
def restore(state: CLIState, file: Path, db: str | None, force: bool) -> None:
    """Restore a backup into the database of --db (default: the configured one),
    check every table against the manifest, and upgrade an older schema.
    Refuses a backup whose schema is newer than this code."""
    from crmcore.app import CRM
    from crmcore.backup import restore as do_restore
    from crmcore.storage.engine import make_engine

    target = CRM(make_engine(db), state.crm.plugins, state.crm.config) if db else state.crm
    try:
        done = do_restore(target, file, force=force)
    finally:
        if target is not state.crm:
            target.close()
    state.emit(done, text=f"restored {done['rows']} rows in {done['tables']} tables from {file} (taken {done['taken_at']}); "
                          + (f"schema upgraded {', '.join(done['revisions_before'])} → {', '.join(done['revisions_after'])}"
                             if done["upgraded"] else f"schema {', '.join(done['revisions_after'])}"))


@click.command()
@click.option("--stuck-attempts", default=3, show_default=True, help="A pending message after this many attempts is stuck.")
@click.option("--stuck-minutes", default=60, show_default=True, help="A message pending longer than this is stuck.")
@click.option("--backlog", default=10_000, show_default=True, help="Warn above this many pending messages.")
@pass_state
def doctor(state: CLIState, stuck_attempts: int, stuck_minutes: int, backlog: int) -> None:
    """Check the database, migrations, plugins, the outbox and SQLite's
    traps; exit 1 when any check fails."""
    from crmcore.health import Thresholds, check, healthy

    checks = check(state.crm, Thresholds(stuck_attempts, timedelta(minutes=stuck_minutes), backlog))
    state.emit([c.as_dict() for c in checks], columns=["name", "status", "detail"])
    if not healthy(checks):
        sys.exit(1)

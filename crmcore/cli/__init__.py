"""The ``crm`` command: ``crm [--db URL] [--as USER] [--json] NOUN VERB ...``.

Core commands live in this package; plugins add theirs through
``crm_register_commands``. Errors go to stderr with exit code 1, usage
errors exit 2. Startup stays light: plugins are imported for their commands,
the database and heavy libraries only when a command needs them.
"""

from __future__ import annotations

import sys
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import click

from crmcore.cli.context import CLIState, pass_state

if TYPE_CHECKING:
    from crmcore.app import CRM
    from crmcore.config import Config
    from crmcore.plugins import PluginRegistry

CORE_COMMANDS = {
    "init": ("crmcore.cli.admin", "init"),
    "demo": ("crmcore.cli.admin", "demo"),
    "db": ("crmcore.cli.admin", "db"),
    "plugins": ("crmcore.cli.admin", "plugins"),
    "plugin": ("crmcore.cli.admin", "plugins"),
    "department": ("crmcore.cli.admin", "department"),
    "user": ("crmcore.cli.admin", "user"),
    "role": ("crmcore.cli.admin", "role"),
    "choices": ("crmcore.cli.admin", "choices"),
    "field": ("crmcore.cli.admin", "field"),
    "outbox": ("crmcore.cli.admin", "outbox"),
    "audit": ("crmcore.cli.admin", "audit"),
    "import": ("crmcore.cli.transfer", "import_"),
    "export": ("crmcore.cli.transfer", "export"),
    "customer": ("crmcore.cli.customers", "customer"),
    "contact": ("crmcore.cli.customers", "contact"),
    "activity": ("crmcore.cli.customers", "activity"),
    "serve": ("crmcore.cli.api", "serve"),
    "token": ("crmcore.cli.api", "token"),
    "webhook": ("crmcore.cli.api", "webhook"),
    "consent": ("crmcore.cli.privacy", "consent"),
    "privacy": ("crmcore.cli.privacy", "privacy"),
    "backup": ("crmcore.cli.operations", "backup"),
    "restore": ("crmcore.cli.operations", "restore"),
    "doctor": ("crmcore.cli.operations", "doctor"),
}
HIDDEN_ALIASES = {"plugin"}


@lru_cache(maxsize=1)
def _config() -> "Config":
    from crmcore.config import Config

    return Config.load()


@lru_cache(maxsize=1)
def plugin_registry() -> "PluginRegistry":
    """The installed plugins, loaded once per process."""
    from crmcore.plugins import PluginRegistry

    config = _config()
    registry = PluginRegistry(trace=config.trace_hooks, strict=config.strict_plugins)
    registry.load_entry_points(allow=config.load_plugins, block=config.block_plugins)
    return registry


def open_crm(url: str | None) -> "CRM":
    from crmcore.app import CRM
    from crmcore.storage.engine import make_engine

    config = _config()
    return CRM(make_engine(url or config.database_url), plugin_registry(), config)


class CRMGroup(click.Group):
    """Finds core commands by name and plugin commands through the hook."""

    def _plugin_commands(self, ctx: click.Context) -> dict[str, tuple[str, click.Command]]:
        state = ctx.find_object(CLIState)
        registry = state.crm.plugins if state is not None and state.has_crm else plugin_registry()
        return {command.name: (plugin, command) for plugin, command in registry.commands}

    def list_commands(self, ctx: click.Context) -> list[str]:
        names = [name for name in CORE_COMMANDS if name not in HIDDEN_ALIASES]
        return sorted(set(names) | set(self._plugin_commands(ctx)))

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name in CORE_COMMANDS:
            from importlib import import_module

            module, attribute = CORE_COMMANDS[name]
            return getattr(import_module(module), attribute)
        found = self._plugin_commands(ctx).get(name)
        if found is None:
            return None
        plugin, command = found
        ctx.meta["crm.plugin"] = plugin
        return command

    def invoke(self, ctx: click.Context) -> Any:
        from crmcore.errors import CRMError

        try:
            return super().invoke(ctx)
        except CRMError as error:
            _fail(str(error))
        except Exception as error:
            message = _database_problem(error)
            if message is None:
                raise
            _fail(message)


def _database_problem(error: Exception) -> str | None:
    """A readable message for database errors a user can fix, else None."""
    try:
        from sqlalchemy.exc import IntegrityError, OperationalError, ProgrammingError
    except ImportError:  # pragma: no cover
        return None
    if isinstance(error, (OperationalError, ProgrammingError)):
        text = str(error.orig) if getattr(error, "orig", None) else str(error)
        if "no such table" in text or "does not exist" in text and "relation" in text:
            return f"the database is not set up or not upgraded ({text.splitlines()[0]}): run `crm init` or `crm db upgrade`"
        return f"database error: {text.splitlines()[0]}"
    if isinstance(error, IntegrityError):
        return f"refused by the database: {str(error.orig).splitlines()[0]}"
    return None


def _fail(message: str) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(1)


@click.group(cls=CRMGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--db", "db", metavar="URL", help="Database URL [default: $CRM_DATABASE_URL, else sqlite:///crm.db].")
@click.option("--as", "actor", metavar="USER", help="Act as this user [default: the administrator].")
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")
@click.version_option(package_name="crmcore")
@click.pass_context
def cli(ctx: click.Context, db: str | None, actor: str | None, as_json: bool) -> None:
    """crmcore: customers, contacts and activities, extended by plugins.

    Start with `crm demo`, then `crm customer list`.
    """
    state = ctx.ensure_object(CLIState)  # tests may hand in a state holding their CRM
    state.db = db or state.db
    state.actor = actor or state.actor
    state.as_json = as_json or state.as_json
    state.plugin = ctx.meta.get("crm.plugin")


def main() -> None:
    from crmcore.errors import PluginError

    try:
        cli(prog_name="crm")
    except PluginError as error:  # CRM_STRICT_PLUGINS=1
        _fail(str(error))


__all__ = ["cli", "main", "CLIState", "pass_state", "open_crm", "plugin_registry"]

"""The CRM object: configuration, engine and plugins, and the door to every
operation, ``crm.unit_of_work(actor=...)``."""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable

from sqlalchemy import Engine

from crmcore.config import Config
from crmcore.domain.organisation import User
from crmcore.plugins import PluginRegistry
from crmcore.storage import migrations
from crmcore.storage.engine import make_engine

if TYPE_CHECKING:
    import jinja2

    from crmcore.storage.unit_of_work import UnitOfWork


class CRM:
    """One CRM: a database and the plugins installed for it."""

    def __init__(self, engine: Engine, plugins: PluginRegistry, config: Config | None = None):
        self.engine = engine
        self.plugins = plugins
        self.config = config or Config(database_url=str(engine.url))

    @classmethod
    def open(
        cls,
        url: str | None = None,
        *,
        plugins: Iterable[str] | None = None,
        entry_points: bool = True,
        config: Config | None = None,
    ) -> "CRM":
        """Open the CRM at ``url`` (default: configuration, then ``sqlite:///crm.db``).

        :param plugins: load only these installed plugins (and what they
            require); default: every installed plugin the configuration allows.
        :param entry_points: ``False`` loads no installed plugin at all;
            register plugin objects yourself with ``crm.plugins.register``.
        """
        config = config or Config.load()
        registry = PluginRegistry(trace=config.trace_hooks, strict=config.strict_plugins)
        if entry_points:
            allow = config.load_plugins if plugins is None else _with_requirements(plugins)
            registry.load_entry_points(allow=allow, block=config.block_plugins)
        return cls(make_engine(url or config.database_url), registry, config)

    def unit_of_work(self, actor: User | str | int | None = None, *, snapshot: bool = False) -> "UnitOfWork":
        """One transaction: ``with crm.unit_of_work(actor="alice") as uow: ...``.

        ``actor`` is a user, a username or a user id; ``None`` acts as the
        system (every permission, no department). ``snapshot=True``: one
        consistent read that does not wait for writers (REPEATABLE READ on
        PostgreSQL, a deferred transaction on SQLite) — for reads only.
        """
        from crmcore.storage.unit_of_work import UnitOfWork

        return UnitOfWork(self, actor, isolation_level="REPEATABLE READ" if snapshot else None)

    # -- schema ----------------------------------------------------------------

    @property
    def version_locations(self) -> list[Path]:
        return [path for _plugin, path in self.plugins.registrations.migrations]

    def upgrade(self) -> None:
        """Bring the core and every installed plugin to its newest schema."""
        migrations.upgrade(self.engine, self.version_locations)

    def migration_status(self) -> list[migrations.BranchStatus]:
        return migrations.status(self.engine, self.version_locations)

    # -- what plugins contributed ------------------------------------------------

    @property
    def activity_types(self) -> dict[str, Any]:
        return self.plugins.registrations.activity_types

    @cached_property
    def templates(self) -> "jinja2.Environment":
        """Jinja2 templates: the core's, and each plugin's as ``"<plugin>/<file>"``."""
        import jinja2

        loaders: dict[str, jinja2.BaseLoader] = {"core": jinja2.PackageLoader("crmcore", "templates")}
        for plugin, path in self.plugins.registrations.templates:
            loaders[plugin] = jinja2.FileSystemLoader(str(path))
        return jinja2.Environment(loader=jinja2.PrefixLoader(loaders), autoescape=jinja2.select_autoescape(["html"]), keep_trailing_newline=True)

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> "CRM":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def _with_requirements(names: Iterable[str]) -> tuple[str, ...]:
    """The named plugins plus, transitively, the plugins they declare they
    require (read from the entry points, importing only those plugins)."""
    from importlib import metadata

    from crmcore.plugins import ENTRY_POINT_GROUP

    available = {ep.name: ep for ep in metadata.entry_points(group=ENTRY_POINT_GROUP)}
    wanted, queue = set(), list(names)
    while queue:
        name = queue.pop()
        if name in wanted:
            continue
        wanted.add(name)
        if name in available:
            try:
                queue.extend(getattr(available[name].load(), "CRM_REQUIRES", ()))
            except Exception:
                pass  # the registry reports the import error by name
    return tuple(sorted(wanted))

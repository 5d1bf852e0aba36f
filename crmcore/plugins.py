"""Plugins: discovery through entry points, dependency order, registration
hooks, and the per-department view of the hooks.

A plugin is an object (usually a module) holding ``@crmcore.hookimpl``
functions, named by an entry point in the ``crm.plugins`` group. It may set
``CRM_REQUIRES = ("other_plugin",)``. Each entry point is loaded inside its
own try/except: a plugin that fails is reported by name with its error and the
CRM starts without it (``CRM_STRICT_PLUGINS=1`` makes that fatal).
"""

from __future__ import annotations

import logging
import sys
from importlib import metadata
from pathlib import Path
from typing import Any, Callable, Iterable

import pluggy
from attrs import define, field

from crmcore import hookspecs
from crmcore.errors import PluginError

ENTRY_POINT_GROUP = "crm.plugins"
log = logging.getLogger("crmcore.plugins")


@define
class PluginInfo:
    """What ``crm plugins list`` reports about one plugin."""

    name: str
    version: str = "0"
    description: str = ""
    requires: tuple[str, ...] = ()
    distribution: str | None = None
    error: str | None = None
    plugin: Any = field(default=None, repr=False, eq=False)

    @property
    def loaded(self) -> bool:
        return self.error is None and self.plugin is not None


@define
class Registrations:
    """What the registration hooks collected, keyed by the plugin that gave it."""

    commands: list[tuple[str, Any]] = field(factory=list)
    migrations: list[tuple[str, Path]] = field(factory=list)
    services: dict[str, tuple[str, Callable[..., Any]]] = field(factory=dict)
    permissions: dict[str, tuple[str, str]] = field(factory=dict)
    activity_types: dict[str, Any] = field(factory=dict)
    custom_fields: dict[str, dict[str, Any]] = field(factory=dict)
    templates: list[tuple[str, Path]] = field(factory=list)
    outbox_channels: dict[str, tuple[str, Callable[..., Any]]] = field(factory=dict)
    routes: list[tuple[str, Any]] = field(factory=list)
    pages: list[tuple[str, Any]] = field(factory=list)
    #: (plugin, keyword arguments of :class:`crmcore.web.site.NavEntry`)
    navigation: list[tuple[str, dict[str, Any]]] = field(factory=list)
    translations: list[tuple[str, Path]] = field(factory=list)
    events: dict[str, tuple[str, str]] = field(factory=dict)
    #: name → (plugin, description, apply(uow, now, dry_run) -> int)
    retention_rules: dict[str, tuple[str, str, Callable[..., int]]] = field(factory=dict)


class PluginRegistry:
    """The pluggy manager plus what the CRM knows about each plugin."""

    def __init__(self, *, trace: bool = False, strict: bool = False):
        self.pm = pluggy.PluginManager("crm")
        self.pm.add_hookspecs(hookspecs)
        # historic: every plugin registered from now on may add its own hookspecs
        self.pm.hook.crm_add_hookspecs.call_historic(kwargs={"plugin_manager": self.pm})
        from crmcore import webhooks  # the core's own plugin: webhook events from the lifecycle hooks

        self.pm.register(webhooks, name=webhooks.PLUGIN_NAME)
        self.strict = strict
        self.infos: dict[str, PluginInfo] = {}
        self._registrations: Registrations | None = None
        self._commands: list[tuple[str, Any]] | None = None
        self._relays: dict[frozenset[str], HookRelay] = {}
        if trace:
            self._trace()

    # -- loading ------------------------------------------------------------

    def load_entry_points(self, *, allow: Iterable[str] | None = None, block: Iterable[str] = ()) -> None:
        """Import and register every installed plugin, allow/block lists
        applied before import, then register in dependency order."""
        allowed = None if allow is None else set(allow)
        blocked = set(block)
        candidates: dict[str, PluginInfo] = {}
        for entry_point in sorted(metadata.entry_points(group=ENTRY_POINT_GROUP), key=lambda ep: ep.name):
            name = entry_point.name
            if name in blocked or (allowed is not None and name not in allowed) or name in self.infos:
                continue
            info = PluginInfo(name=name)
            dist = getattr(entry_point, "dist", None)
            if dist is not None:
                info.distribution = dist.name
                info.version = dist.version
                info.description = dist.metadata.get("Summary") or ""
            try:
                info.plugin = entry_point.load()
                info.requires = tuple(getattr(info.plugin, "CRM_REQUIRES", ()))
            except Exception as error:  # any failure of a plugin's import is reported, not raised
                self._broken(info, f"cannot import {entry_point.value}: {type(error).__name__}: {error}")
            candidates[name] = info
        self._register_in_order(candidates)

    def register(self, plugin: Any, name: str, *, version: str = "0", description: str = "",
                 requires: Iterable[str] | None = None) -> PluginInfo:
        """Register a plugin object directly (tests, embedding applications)."""
        info = PluginInfo(
            name=name, version=version, description=description or (getattr(plugin, "__doc__", None) or "").strip().split("\n")[0],
            requires=tuple(requires if requires is not None else getattr(plugin, "CRM_REQUIRES", ())), plugin=plugin,
        )
        self._register_in_order({name: info})
        if info.error and not self.strict:
            raise PluginError(f'plugin "{name}": {info.error}')
        return info

    def unregister(self, name: str) -> None:
        info = self.infos.pop(name, None)
        if info and info.plugin is not None and self.pm.is_registered(info.plugin):
            self.pm.unregister(info.plugin)
        self._changed()

    def _register_in_order(self, candidates: dict[str, PluginInfo]) -> None:
        pending = dict(candidates)
        for info in candidates.values():
            if info.error:
                self.infos[info.name] = info
                del pending[info.name]
        while pending:
            ready = sorted(
                name for name, info in pending.items()
                if all(req in self.infos or req not in pending for req in info.requires)
            )
            if not ready:  # a cycle: report every plugin in it
                for name, info in sorted(pending.items()):
                    self._broken(info, f"requirement cycle among {', '.join(sorted(pending))}")
                    self.infos[name] = info
                break
            for name in ready:
                info = pending.pop(name)
                missing = [req for req in info.requires if not (req in self.infos and self.infos[req].loaded)]
                if missing:
                    self._broken(info, f"requires plugin {', '.join(missing)}, which is not installed or failed to load")
                else:
                    self._add_to_manager(info)
                self.infos[name] = info
        self._changed()

    def _add_to_manager(self, info: PluginInfo) -> None:
        try:
            self.pm.register(info.plugin, name=info.name)
            self.pm.check_pending()
        except Exception as error:
            if self.pm.is_registered(info.plugin):
                self.pm.unregister(info.plugin)
            self._broken(info, f"{type(error).__name__}: {error}")

    def _broken(self, info: PluginInfo, message: str) -> None:
        info.error = message
        log.warning('plugin "%s" not loaded: %s', info.name, message)
        if self.strict:
            raise PluginError(f'plugin "{info.name}": {message}')

    def _changed(self) -> None:
        self._registrations = None
        self._commands = None
        self._relays.clear()

    # -- what plugins registered ---------------------------------------------

    @property
    def loaded(self) -> list[PluginInfo]:
        return [info for info in self.infos.values() if info.loaded]

    def hooks_of(self, name: str) -> list[str]:
        plugin = self.infos[name].plugin
        return sorted(caller.name for caller in self.pm.get_hookcallers(plugin) or [])

    def plugin_of_traceback(self, traceback: Any) -> str | None:
        """The plugin whose code raised, judged by the innermost frame that
        belongs to a plugin's package."""
        packages = {}
        for info in self.loaded:
            module = getattr(info.plugin, "__name__", None) or type(info.plugin).__module__
            packages[module.split(".")[0]] = info.name
        found = None
        while traceback is not None:
            module = traceback.tb_frame.f_globals.get("__name__", "")
            top = module.split(".")[0]
            if top in packages and top != "crmcore":
                found = packages[top]
            traceback = traceback.tb_next
        return found

    def requirers_of(self, name: str) -> list[str]:
        return [info.name for info in self.loaded if name in info.requires]

    @property
    def commands(self) -> list[tuple[str, Any]]:
        """``(plugin, click command)`` pairs; collected on their own so that
        ``crm --help`` calls no other registration hook (those import
        services and their heavy dependencies)."""
        if self._commands is None:
            self._commands = []
            self._each("crm_register_commands", lambda plugin: lambda command: self._commands.append((plugin, command)))
        return self._commands

    def _each(self, hook_name: str, make_register: Callable[[str], Callable[..., None]]) -> None:
        """Call each implementation with a ``register`` that knows its plugin."""
        for impl in getattr(self.pm.hook, hook_name).get_hookimpls():
            impl.function(**{name: make_register(impl.plugin_name) for name in impl.argnames})

    @property
    def registrations(self) -> Registrations:
        if self._registrations is None:
            self._registrations = self._collect()
        return self._registrations

    def _collect(self) -> Registrations:
        from crmcore.domain.activities import CORE_ACTIVITY_TYPES, ActivityType

        found = Registrations(commands=self.commands)
        found.activity_types = {t.name: t for t in CORE_ACTIVITY_TYPES}
        each = self._each
        each("crm_register_migrations", lambda plugin: lambda path: found.migrations.append((plugin, Path(path))))
        each("crm_register_templates", lambda plugin: lambda path: found.templates.append((plugin, Path(path))))

        def service(plugin: str):
            def register(name: str, factory: Callable[..., Any]) -> None:
                found.services[name] = (plugin, factory)
            return register

        def permission(plugin: str):
            def register(code: str, description: str) -> None:
                found.permissions[code] = (plugin, description)
            return register

        def activity_type(plugin: str):
            def register(name: str, label: str, label_en: str | None = None, has_amount: bool = False, is_task: bool = False) -> None:
                found.activity_types[name] = ActivityType(name, label, label_en, has_amount, is_task, plugin)
            return register

        def custom_field(plugin: str):
            def register(name: str, type: str, label: str, choices: Iterable[str] | None = None) -> None:
                found.custom_fields[name] = {"name": name, "type": type, "label": label, "choices": list(choices or []), "plugin": plugin}
            return register

        def channel(plugin: str):
            def register(name: str, deliver: Callable[..., Any]) -> None:
                found.outbox_channels[name] = (plugin, deliver)
            return register

        each("crm_register_services", service)
        each("crm_register_permissions", permission)
        each("crm_register_activity_types", activity_type)
        each("crm_register_custom_fields", custom_field)
        def retention_rule(plugin: str):
            def register(name: str, description: str, apply: Callable[..., int]) -> None:
                found.retention_rules[name] = (plugin, description, apply)
            return register

        each("crm_register_outbox_channels", channel)
        each("crm_register_retention_rules", retention_rule)

        def event(plugin: str):
            def register(name: str, description: str = "") -> None:
                found.events[name] = (plugin, description)
            return register

        each("crm_register_routes", lambda plugin: lambda handler: found.routes.append((plugin, handler)))
        each("crm_register_pages", lambda plugin: lambda handler: found.pages.append((plugin, handler)))
        each("crm_register_translations", lambda plugin: lambda path: found.translations.append((plugin, Path(path))))

        def navigation(plugin: str):
            def register(path: str, label: str, *, permission: str | tuple[str, ...] | None = None, order: int = 100,
                         section: str | None = None) -> None:
                found.navigation.append((plugin, {"path": path, "label": label, "permission": permission, "order": order,
                                                  "section": section}))
            return register

        each("crm_register_navigation", navigation)
        each("crm_register_events", event)
        return found

    # -- the hooks one department sees ----------------------------------------

    def relay(self, disabled: frozenset[str] = frozenset()) -> "HookRelay":
        """The hooks as seen by a department where ``disabled`` plugins are off."""
        relay = self._relays.get(disabled)
        if relay is None:
            relay = self._relays[disabled] = HookRelay(self, disabled)
        return relay

    def _trace(self) -> None:
        def before(hook_name: str, impls: list[Any], kwargs: dict[str, Any]) -> None:
            names = ", ".join(impl.plugin_name for impl in impls) or "no implementations"
            print(f"[crm hook] {hook_name} -> {names}", file=sys.stderr)

        def after(outcome: Any, hook_name: str, impls: list[Any], kwargs: dict[str, Any]) -> None:
            if outcome.exception is not None:
                print(f"[crm hook] {hook_name} raised {outcome.exception!r}", file=sys.stderr)

        self.pm.add_hookcall_monitoring(before, after)


class HookRelay:
    """``relay.crm_customer_created(...)`` calls only the enabled plugins."""

    def __init__(self, registry: PluginRegistry, disabled: frozenset[str]):
        self._registry = registry
        self._removed = [registry.infos[name].plugin for name in disabled if name in registry.infos and registry.infos[name].loaded]
        self._callers: dict[str, Any] = {}

    def __getattr__(self, hook_name: str) -> Any:
        caller = self._callers.get(hook_name)
        if caller is None:
            pm = self._registry.pm
            caller = pm.subset_hook_caller(hook_name, self._removed) if self._removed else getattr(pm.hook, hook_name)
            self._callers[hook_name] = caller
        return caller

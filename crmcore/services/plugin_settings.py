"""Per-department enablement of plugins.

A plugin is enabled unless switched off. A setting on a department applies to
its whole subtree unless a department below says otherwise; a global setting
applies where no department says anything. A plugin whose requirement is off
is off too.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import delete, insert, select

from crmcore.errors import ValidationError
from crmcore.storage.tables import plugin_settings

if TYPE_CHECKING:
    from crmcore.storage.unit_of_work import UnitOfWork


class PluginSettingsService:
    def __init__(self, uow: "UnitOfWork"):
        self.uow = uow

    def _settings(self) -> dict[tuple[str, int | None], bool]:
        rows = self.uow.execute(select(plugin_settings.c.plugin, plugin_settings.c.department_id, plugin_settings.c.enabled))
        return {(plugin, department): enabled for plugin, department, enabled in rows}

    def disabled_for(self, department_id: int | None) -> frozenset[str]:
        settings = self._settings()
        registry = self.uow.crm.plugins
        if not settings:
            return frozenset()
        chain = self.uow.departments.ancestry(department_id) if department_id else []
        disabled = set()
        for info in registry.loaded:
            enabled = settings.get((info.name, None), True)
            for department in reversed(chain):  # the root first, the nearest last
                enabled = settings.get((info.name, department), enabled)
            if not enabled:
                disabled.add(info.name)
        # a plugin is off where something it requires is off
        changed = True
        while changed:
            changed = False
            for info in registry.loaded:
                if info.name not in disabled and any(req in disabled for req in info.requires):
                    disabled.add(info.name)
                    changed = True
        return frozenset(disabled)

    def set(self, plugin: str, enabled: bool, department_id: int | None = None) -> None:
        self.uow.require("plugins.manage")
        if plugin not in self.uow.crm.plugins.infos:
            raise ValidationError.field("plugin", f"{plugin!r} is not installed")
        self.uow.execute(
            delete(plugin_settings).where(
                plugin_settings.c.plugin == plugin,
                plugin_settings.c.department_id.is_(None) if department_id is None else plugin_settings.c.department_id == department_id,
            )
        )
        self.uow.execute(insert(plugin_settings).values(plugin=plugin, department_id=department_id, enabled=enabled))
        self.uow.audit.record("plugin", plugin, "enable" if enabled else "disable", {"department_id": department_id})

    def explicit(self) -> dict[tuple[str, int | None], bool]:
        return self._settings()

"""crmcore: a small, sharp, plugin-based CRM core.

The public API is what this module exports, plus the hooks in
:mod:`crmcore.hookspecs`; everything else may change. Importing ``crmcore``
is cheap: heavy parts load on first use, so plugins can import it at the top
of their modules without slowing ``crm --help``.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

import pluggy

__version__ = "0.1.0"

hookimpl = pluggy.HookimplMarker("crm")
"""Marks a plugin's hook implementations: ``@crmcore.hookimpl``."""

_EXPORTS = {
    "CRM": "crmcore.app",
    "Config": "crmcore.config",
    "UnitOfWork": "crmcore.storage.unit_of_work",
    "Customer": "crmcore.domain.customers",
    "Contact": "crmcore.domain.customers",
    "Activity": "crmcore.domain.activities",
    "ActivityType": "crmcore.domain.activities",
    "Department": "crmcore.domain.organisation",
    "Role": "crmcore.domain.organisation",
    "User": "crmcore.domain.organisation",
    "OutboxMessage": "crmcore.domain.outbox",
    "Panel": "crmcore.panels",
    "CRMError": "crmcore.errors",
    "ValidationError": "crmcore.errors",
    "NotFound": "crmcore.errors",
    "PermissionDenied": "crmcore.errors",
    "Conflict": "crmcore.errors",
    "PluginError": "crmcore.errors",
    "HookFailed": "crmcore.errors",
    "metadata": "crmcore.storage.tables",
    "Id": "crmcore.storage.types",
    "Json": "crmcore.storage.types",
    "Money": "crmcore.storage.types",
    "UTCDateTime": "crmcore.storage.types",
    "normalise_phone": "crmcore.phones",
    "mask_phone": "crmcore.phones",
    "utcnow": "crmcore.clock",
    "jsonable": "crmcore.storage.rows",
    "from_row": "crmcore.storage.rows",
    "customer_view": "crmcore.presenting",
    "contact_view": "crmcore.presenting",
    "activity_view": "crmcore.presenting",
    "customer_panels": "crmcore.presenting",
    "bar_chart": "crmcore.charts",
    "funnel_chart": "crmcore.charts",
    "grid_chart": "crmcore.charts",
    "line_chart": "crmcore.charts",
    "save_chart": "crmcore.charts",
    "ERASED": "crmcore.privacy",
    "CLIState": "crmcore.cli.context",
    "pass_state": "crmcore.cli.context",
    "render_table": "crmcore.cli.context",
    "render_fields": "crmcore.cli.context",
}

__all__ = ["hookimpl", *_EXPORTS]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'crmcore' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value


if TYPE_CHECKING:
    from crmcore.app import CRM
    from crmcore.charts import bar_chart, funnel_chart, grid_chart, line_chart, save_chart
    from crmcore.cli.context import CLIState, pass_state, render_fields, render_table
    from crmcore.clock import utcnow
    from crmcore.config import Config
    from crmcore.domain.activities import Activity, ActivityType
    from crmcore.domain.customers import Contact, Customer
    from crmcore.domain.organisation import Department, Role, User
    from crmcore.domain.outbox import OutboxMessage
    from crmcore.errors import Conflict, CRMError, HookFailed, NotFound, PermissionDenied, PluginError, ValidationError
    from crmcore.panels import Panel
    from crmcore.privacy import ERASED
    from crmcore.presenting import activity_view, contact_view, customer_panels, customer_view
    from crmcore.phones import mask_phone, normalise_phone
    from crmcore.storage.rows import from_row, jsonable
    from crmcore.storage.tables import metadata
    from crmcore.storage.types import Id, Json, Money, UTCDateTime
    from crmcore.storage.unit_of_work import UnitOfWork

"""The core's pages, one module per area."""

from __future__ import annotations

from typing import Any


def core_pages() -> list[Any]:
    from crmcore.web.pages import admin, auth, contacts, customers, dashboard, duplicates, imports

    return [*auth.HANDLERS, *dashboard.HANDLERS, *customers.HANDLERS, *contacts.HANDLERS, *duplicates.HANDLERS,
            *imports.HANDLERS, *admin.HANDLERS]

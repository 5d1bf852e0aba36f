"""The partners plugin's web pages, mounted at ``/partners/…`` by
``crm serve`` (``crm_register_pages``), with their sidebar entries."""

from __future__ import annotations

from typing import Any

from crmcore.web.i18n import lazy


def handlers() -> list[Any]:
    """Every page handler (imports Litestar: call only when serving)."""
    from crm_partners.web import deals, partners

    return [*partners.HANDLERS, *deals.HANDLERS]


#: (path, label, permission, order): the sidebar, after the core's entries.
#: The sidebar heading of the plugin's entries.
SECTION = lazy("Partner channel")

NAVIGATION = (
    ("/partners", lazy("Partners"), "partners.view", 400),
    ("/partners/registrations", lazy("Deal registrations"), "partners.view", 401),
    ("/partners/agreements", lazy("Agreements expiring"), "partners.view", 402),
    ("/partners/assignments", lazy("Lead inbox"), "partners.view", 403),
    ("/partners/commissions", lazy("Commissions"), "partners.commissions", 404),
    ("/partners/performance", lazy("Partner scorecards"), "partners.view", 405),
)

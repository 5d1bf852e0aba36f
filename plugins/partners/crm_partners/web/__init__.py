"""The partners plugin's web pages, mounted at ``/partners/…`` by
``crm serve`` (``crm_register_pages``), with their sidebar entries."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from crmcore.web.i18n import lazy

if TYPE_CHECKING:
    from crmcore import Panel, UnitOfWork


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


#: Agreements ending within this many days are on the dashboard.
DASHBOARD_ENDING_DAYS = 30
#: How many rows the dashboard reads to count (far above a morning's queue).
DASHBOARD_LIMIT = 1000


def dashboard_panel(uow: "UnitOfWork") -> "Panel | None":
    """What the partner channel waits for, for users who may see it: deal
    registrations to approve (the newest five, conflicts flagged), offers of
    leads past their deadline, agreements ending within 30 days. Through the
    service the pages use, so scoped to the user's departments."""
    from crmcore import Panel

    if not uow.actor.can("partners.view"):
        return None
    partners = uow.service("partners")
    pending = partners.registrations(status="pending", limit=DASHBOARD_LIMIT)
    late = [a for a in partners.assignments(status="offered", limit=DASHBOARD_LIMIT) if a["deadline_at"] < uow.now]
    ending = partners.agreements(expiring_within=DASHBOARD_ENDING_DAYS)
    if not (pending or late or ending):
        return None
    return Panel("partners", lazy("Partner channel to do"),
                 {"pending": len(pending), "registrations": pending[:5], "late_offers": len(late),
                  "ending_agreements": len(ending), "days": DASHBOARD_ENDING_DAYS},
                 template="partners/web/dashboard.html")

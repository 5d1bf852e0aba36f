"""The analytics plugin's web interface: pages in :mod:`crm_analytics.web.pages`
(which loads Litestar), the sidebar entry here (cheap to import)."""

from typing import TYPE_CHECKING

from crmcore.web.i18n import lazy

if TYPE_CHECKING:
    from crmcore import Panel, UnitOfWork

#: The sidebar entry: the RFM grid, with tabs to the CLV and churn pages.
#: The sidebar heading of the plugin's entries.
SECTION = lazy("Analytics")

NAVIGATION = {"path": "/analytics", "label": lazy("Customer value"), "permission": "analytics.view", "order": 600}


def dashboard_panel(uow: "UnitOfWork") -> "Panel | None":
    """The most valuable customers likely to have stopped buying, for users
    who may see scores: the morning's retention calls."""
    from crmcore import NotFound, Panel

    if not uow.actor.can("analytics.view"):
        return None
    try:
        at_risk = uow.service("analytics").churn_list(above=0.7, limit=5)
    except NotFound:  # nothing scored yet
        return None
    if not at_risk:
        return None
    return Panel("analytics", lazy("Valuable customers at risk"), {"customers": at_risk},
                 template="analytics/web/dashboard.html")

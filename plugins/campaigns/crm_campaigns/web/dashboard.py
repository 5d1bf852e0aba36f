"""The campaigns panel of the web dashboard: drafts waiting for approval
(for users who may approve) and the running campaigns' response rate and
ROI so far, through the same service calls as the list and results pages."""

from __future__ import annotations

from typing import TYPE_CHECKING

from crmcore.web.i18n import lazy

if TYPE_CHECKING:
    from crmcore import Panel, UnitOfWork

#: How many running campaigns the panel shows (the rest are on the list page).
RUNNING_SHOWN = 5


def dashboard_panel(uow: "UnitOfWork") -> "Panel | None":
    """None without ``campaigns.view``, or when nothing waits for this user's
    approval and nothing is running."""
    from crmcore import Panel

    if not uow.actor.can("campaigns.view"):
        return None
    campaigns = uow.service("campaigns")
    waiting = campaigns.list("draft") if uow.actor.can("campaigns.approve") else []
    running = sorted(campaigns.list("running"), key=lambda c: (c.launched_at is not None, c.launched_at, c.id),
                     reverse=True)  # the latest launched first
    if not waiting and not running:
        return None
    shown = [{"campaign": c, "stats": campaigns.stats(c.id)} for c in running[:RUNNING_SHOWN]]
    return Panel("campaigns", lazy("Campaigns this morning"),
                 {"waiting": waiting, "running": shown, "running_total": len(running)},
                 template="campaigns/web/dashboard.html")

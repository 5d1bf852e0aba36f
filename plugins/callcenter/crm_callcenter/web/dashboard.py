"""The service desk's panel on the web dashboard: the agent's own open
tickets, most urgent first with their SLA clock, and how many tickets wait
unassigned or are overdue — the queue's tabs, counted."""

from __future__ import annotations

from typing import TYPE_CHECKING

from crmcore.web.i18n import lazy

from crm_callcenter.web.common import service, with_clocks
from crm_callcenter.web.tickets import LIMIT, _queue_filters

if TYPE_CHECKING:
    from crmcore import Panel, UnitOfWork

TITLE = lazy("My service tickets")
SHOWN = 5


def dashboard_panel(uow: "UnitOfWork") -> "Panel | None":
    """For users who may see tickets: up to five of their open tickets (as
    the queue's "mine" tab sorts them) and the unassigned and overdue counts
    (the queue's tabs of those names, scoped the same way); ``None`` when all
    three are empty."""
    from crmcore import Panel

    if not uow.actor.can("callcenter.view"):
        return None
    svc = service(uow)
    mine = with_clocks(svc.list_tickets(**_queue_filters(uow, "mine", "")))
    unassigned = len(svc.list_tickets(**_queue_filters(uow, "unassigned", "")))
    overdue = len(svc.list_tickets(**_queue_filters(uow, "overdue", "")))
    if not mine and not unassigned and not overdue:
        return None
    return Panel("callcenter", TITLE, {"mine": mine[:SHOWN], "mine_total": len(mine), "unassigned": unassigned,
                                       "overdue": overdue, "limit": LIMIT},
                 template="callcenter/web/dashboard.html")

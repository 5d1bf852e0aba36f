"""The sales panel on the web dashboard: the logged-in salesperson's open
opportunities (count and amount, those past their expected close date, the
ones closing soonest) and today's planned visits, through the same services
as the pipeline and visit-plan pages (so scoped to the customers one may see)."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

from crmcore.web.i18n import lazy

from crm_sales.values import local_date, month_of
from crm_sales.web import PERMISSIONS

if TYPE_CHECKING:
    from crmcore import Panel, UnitOfWork

#: Opportunities listed per group, at most.
SHOWN = 5


def dashboard_panel(uow: "UnitOfWork") -> "Panel | None":
    """None for users without the sales pages (no ``sales.edit`` nor
    ``sales.manage``) and when one owns no open opportunity and has no visit
    planned for today."""
    from crmcore import Panel

    if not any(uow.actor.can(permission) for permission in PERMISSIONS):
        return None
    sales = uow.service("sales")
    me = uow.actor.id
    today = local_date(uow.now, uow.crm.config.timezone)
    total = sales.reports.pipeline(owner_id=me)["total"]
    overdue = sales.opportunities.list(owner_id=me, open_only=True, closing=(date.min, today), limit=SHOWN)
    soonest = sales.opportunities.list(owner_id=me, open_only=True, closing=(today, date.max), limit=SHOWN)
    plans, _unplanned = sales.plans.matched(user_id=me, month=month_of(today))
    visits = [row for row in plans if row["planned_date"] == today]
    if not total["open_count"] and not visits:
        return None
    names = {c.id: c.name for c in uow.customers.get_many({o.customer_id for o in [*overdue, *soonest]})}
    return Panel("sales", lazy("My sales"), {
        "owner": uow.actor.username, "open_count": total["open_count"], "open_amount": total["open_amount"],
        "overdue_count": total["overdue_count"], "overdue": overdue, "soonest": soonest, "customers": names,
        "visits": visits,
    }, template="sales/web/dashboard.html")

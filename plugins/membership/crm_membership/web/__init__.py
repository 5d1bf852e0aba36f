"""The membership club's web pages, under ``/membership/``: applications to
review, members and the member card, the ledger with its chart, tiers, the
redemption catalogue, events, merchants, member care and reports.

Every page goes through ``uow.service("membership")`` — the CLI's and the
API's code paths and permission checks — and reads need
``membership.view``, as in the API. Imported only by the page hooks (Litestar
stays out of ``crm --help``).
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

from crmcore.web.i18n import lazy

from crm_membership.web import catalogue, club, members

if TYPE_CHECKING:
    from crmcore import Panel, UnitOfWork

HANDLERS: list[Any] = [*members.HANDLERS, *catalogue.HANDLERS, *club.HANDLERS]

#: Sidebar entries: (path, label, permission, order). The core uses orders 0–25 and 900.
#: The sidebar heading of the plugin's entries.
SECTION = lazy("Member club")

NAVIGATION = (
    ("/membership/applications", lazy("Member applications"), ("membership.approve", "membership.apply"), 300),
    ("/membership/members", lazy("Members"), "membership.view", 301),
    ("/membership/rewards", lazy("Rewards"), "membership.view", 302),
    ("/membership/events", lazy("Member events"), "membership.view", 303),
    ("/membership/merchants", lazy("Merchants"), "membership.view", 304),
    ("/membership/tiers", lazy("Tiers"), "membership.view", 305),
    ("/membership/care", lazy("Member care"), "membership.care", 306),
    ("/membership/reports", lazy("Membership reports"), "membership.view", 307),
)


#: How many pending applications the dashboard lists (the count covers them all).
DASHBOARD_APPLICATIONS = 3
#: Member events on the dashboard: today's and those of the next days, up to a week.
DASHBOARD_EVENT_DAYS = 7


def dashboard_panel(uow: "UnitOfWork") -> "Panel | None":
    """The club's morning: applications waiting for review (for users who
    may approve them; the newest few, masked as on the applications page)
    and the member events of today and the coming week."""
    from crmcore import Panel

    from crm_membership.common import local_today, masked_application

    if not uow.actor.can("membership.view"):
        return None
    service = uow.service("membership")
    waiting: list[dict[str, Any]] = []
    if uow.actor.can("membership.approve"):
        waiting = service.members.applications("pending", limit=10_000)  # in the customers the user may see
    today = local_today(uow)
    upcoming = sorted((e for e in service.events.list() if today <= e["held_on"] < today + timedelta(days=DASHBOARD_EVENT_DAYS)),
                      key=lambda e: (e["held_on"], e["id"]))
    if not waiting and not upcoming:
        return None
    recent = [masked_application(uow, row) for row in reversed(waiting[-DASHBOARD_APPLICATIONS:])]
    return Panel("membership", lazy("Member club: to review and coming up"),
                 {"waiting": len(waiting), "applications": recent, "events": upcoming, "today": today},
                 template="membership/web/dashboard.html")

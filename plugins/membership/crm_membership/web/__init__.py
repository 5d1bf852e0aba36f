"""The membership club's web pages, under ``/membership/``: applications to
review, members and the member card, the ledger with its chart, tiers, the
redemption catalogue, events, merchants, member care and reports.

Every page goes through ``uow.service("membership")`` — the CLI's and the
API's code paths and permission checks — and reads need
``membership.view``, as in the API. Imported only by the page hooks (Litestar
stays out of ``crm --help``).
"""

from __future__ import annotations

from typing import Any

from crmcore.web.i18n import lazy

from crm_membership.web import catalogue, club, members

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

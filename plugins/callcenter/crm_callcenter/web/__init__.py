"""The service desk's web pages (issue 11), mounted at ``/callcenter/…``:
ticket queue and ticket pages, the agent console with screen pop, the
knowledge base, satisfaction surveys and the call-center report.

Imported only inside ``crm_register_pages`` (Litestar stays out of ``crm --help``).
"""

from __future__ import annotations

from typing import Any

from crmcore.web.i18n import lazy

from crm_callcenter.web import console, knowledge, reports, tickets

HANDLERS: list[Any] = [*tickets.HANDLERS, *console.HANDLERS, *knowledge.HANDLERS, *reports.HANDLERS]

#: Sidebar entries (path, English label, order), for users holding ``callcenter.view``.
#: The sidebar heading of the plugin's entries.
SECTION = lazy("Customer service")

NAVIGATION = (
    ("/callcenter/tickets", lazy("Service tickets"), 500),
    ("/callcenter/console", lazy("Agent console"), 510),
    ("/callcenter/kb", lazy("Knowledge base"), 520),
    ("/callcenter/surveys", lazy("Satisfaction"), 530),
    ("/callcenter/reports", lazy("Service reports"), 540),
)

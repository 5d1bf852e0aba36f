"""The sales plugin's web pages, mounted under ``/sales/``: the pipeline
board, opportunities, forecast, visit plans, quotes and key-person maps."""

from __future__ import annotations

from typing import Any

from crmcore.web.i18n import lazy


def handlers() -> list[Any]:
    from crm_sales.web import forecast, opportunities, plans, quotes

    return [*opportunities.HANDLERS, *forecast.HANDLERS, *plans.HANDLERS, *quotes.HANDLERS]


#: Sidebar entries: (path, label, order). Shown to the people who work the
#: pipeline; the pages themselves need only sight of the customers.
NAVIGATION = (
    ("/sales/pipeline", lazy("Pipeline"), 300),
    ("/sales/opportunities", lazy("Opportunities"), 301),
    ("/sales/forecast", lazy("Forecast"), 302),
    ("/sales/plans", lazy("Visit plans"), 303),
    ("/sales/quotes", lazy("Quotes"), 304),
)
PERMISSIONS = ("sales.edit", "sales.manage")
#: The sidebar's heading over the entries.
SECTION = lazy("Sales")

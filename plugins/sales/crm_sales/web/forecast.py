"""The forecast: per month of a period, open amounts weighted by
probability plus what was won, per salesperson, with a chart."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response
from litestar.params import FromQuery

from crmcore import web
from crmcore.charts import bar_chart

from crm_sales.web.common import active_users, user_id


@web.get("/forecast")
def forecast(request: Request, period: FromQuery[str] = "", owner: FromQuery[str] = "") -> Response[str]:
    _ = web.translator(request)
    with web.web_uow(request) as uow:
        errors: dict[str, str] = {}
        owner_id = user_id(uow, owner, "owner", errors, _("No user %(key)s.", key=owner))
        data = None
        if not errors:
            data, errors = web.attempt(uow, uow.service("sales").reports.forecast, period or None, owner_id=owner_id)
        chart = None
        if data is not None:
            title = _("Forecast %(period)s (weighted open + won, CNY)", period=data["period"])
            chart = web.chart(bar_chart(title, [m["month"] for m in data["months"]],
                                        [float(m["forecast"]) for m in data["months"]]), title)
        return web.page(request, uow, "sales/web/forecast.html", data=data, chart=chart, errors=errors,
                        form={"period": period, "owner": owner}, users=active_users(uow))


HANDLERS: list[Any] = [forecast]

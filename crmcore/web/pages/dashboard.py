"""The dashboard: my open tasks, recent activities, customers by level and
stage."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response
from sqlalchemy import func, select

from crmcore.charts import bar_chart
from crmcore.storage.tables import customers
from crmcore.web.pages.labels import activity_type_label, choice_labels
from crmcore.web.routes import chart, get
from crmcore.web.site import page, request_locale, translator, web_uow


def _counts(uow: Any, column: Any) -> dict[str, int]:
    query = select(column, func.count()).where(customers.c.active.is_(True)).group_by(column)
    return dict(uow.execute(uow.customers.scope(query)).all())


@get("/", name="dashboard")
def dashboard(request: Request) -> Response[str]:
    _ = translator(request)
    locale = request_locale(request)
    with web_uow(request) as uow:
        label = choice_labels(uow, locale)
        can_see = uow.actor.can("customers.view") or uow.actor.can("customers.view_all")
        tasks = uow.activities.list(open_tasks_of=uow.actor.id, limit=20) if can_see else []
        tasks.sort(key=lambda task: (task.due_at is None, task.due_at or task.occurred_at))
        recent = uow.activities.list(limit=10) if can_see else []
        names = {c.id: c.name for c in uow.customers.get_many({a.customer_id for a in [*tasks, *recent]})}
        charts = []
        if can_see:
            for kind, title in (("level", _("Customers by level")), ("stage", _("Customers by lifecycle stage")),
                                ("status", _("Customers by status"))):
                counts = _counts(uow, customers.c[kind])
                codes = [c.code for c in uow.choices.list(kind) if c.code in counts]
                codes += [code for code in counts if code not in codes]
                charts.append(chart(bar_chart(title, [label(kind, code) for code in codes],
                                              [counts[code] for code in codes]), title))
        panels = [panel for panel in uow.hook.crm_dashboard_panel(uow=uow) if panel is not None]
        return page(request, uow, "core/web/dashboard.html", tasks=tasks, recent=recent, names=names, charts=charts,
                    type_label=activity_type_label(uow, locale), now=uow.now, panels=panels)


HANDLERS: list[Any] = [dashboard]

"""The ticket panel in ``crm customer show`` (and in the screen pop): one
prebuilt statement for the counts, one for the open tickets."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from sqlalchemy import bindparam, func, select

from crmcore import Panel


@lru_cache(maxsize=1)
def _statements() -> tuple[Any, Any]:
    from crm_callcenter.tables import calls, surveys, tickets

    customer = bindparam("customer_id")
    counts = select(
        select(func.count()).where(tickets.c.customer_id == customer).scalar_subquery().label("tickets"),
        select(func.count()).where(tickets.c.customer_id == customer, tickets.c.is_open.is_(True)).scalar_subquery().label("open"),
        select(func.count()).where(calls.c.customer_id == customer).scalar_subquery().label("calls"),
        select(surveys.c.score).where(surveys.c.customer_id == customer, surveys.c.score.isnot(None))
        .order_by(surveys.c.answered_at.desc()).limit(1).scalar_subquery().label("last_csat"),
    )
    open_rows = (select(tickets.c.id, tickets.c.type, tickets.c.status, tickets.c.priority, tickets.c.subject)
                 .where(tickets.c.customer_id == customer, tickets.c.is_open.is_(True)).order_by(tickets.c.id.desc()).limit(5))
    return counts, open_rows


def ticket_panel(uow: Any, customer: Any) -> Panel | None:
    counts_statement, open_statement = _statements()
    counts = uow.execute(counts_statement, {"customer_id": customer.id}).mappings().one()
    if not counts["tickets"] and not counts["calls"]:
        return None
    open_rows = uow.execute(open_statement, {"customer_id": customer.id}).mappings().all() if counts["open"] else []
    data = {"open_tickets": counts["open"], "tickets": counts["tickets"], "calls": counts["calls"], "last_csat": counts["last_csat"],
            "open": [dict(r) for r in open_rows]}
    lines = [f"工单 {counts['tickets']}（未结 {counts['open']}），来电 {counts['calls']}"
             + (f"，最近满意度 {counts['last_csat']}/5" if counts["last_csat"] else "")]
    lines += [f"#{r['id']} [{r['status']}] {r['priority']} {r['subject']}" for r in open_rows]
    return Panel("callcenter", "客服工单", data, lines=lines, template="callcenter/web/panel.html")

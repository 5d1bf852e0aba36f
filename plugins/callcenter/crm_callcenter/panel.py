"""The ticket panel in ``crm customer show``."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from crmcore import Panel

from crm_callcenter.tables import calls, surveys, tickets


def ticket_panel(uow: Any, customer: Any) -> Panel | None:
    open_rows = uow.execute(select(tickets.c.id, tickets.c.type, tickets.c.status, tickets.c.priority, tickets.c.subject)
                            .where(tickets.c.customer_id == customer.id, tickets.c.is_open.is_(True))
                            .order_by(tickets.c.id.desc()).limit(5)).mappings().all()
    total = uow.execute(select(func.count()).where(tickets.c.customer_id == customer.id)).scalar() or 0
    call_count = uow.execute(select(func.count()).where(calls.c.customer_id == customer.id)).scalar() or 0
    last_score = uow.execute(select(surveys.c.score).where(surveys.c.customer_id == customer.id, surveys.c.score.isnot(None))
                             .order_by(surveys.c.answered_at.desc()).limit(1)).scalar()
    if not total and not call_count:
        return None
    open_count = uow.execute(select(func.count()).where(tickets.c.customer_id == customer.id, tickets.c.is_open.is_(True))).scalar() or 0
    data = {"open_tickets": open_count, "tickets": total, "calls": call_count, "last_csat": last_score,
            "open": [dict(r) for r in open_rows]}
    lines = [f"工单 {total}（未结 {open_count}），来电 {call_count}" + (f"，最近满意度 {last_score}/5" if last_score else "")]
    lines += [f"#{r['id']} [{r['status']}] {r['priority']} {r['subject']}" for r in open_rows]
    return Panel("callcenter", "客服工单", data, lines=lines)

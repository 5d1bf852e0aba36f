"""The ticket queue with SLA timers, a ticket's page (history, SLA clocks,
reply, status flow, assignment, solutions, satisfaction) and opening a
ticket. Every change goes through ``uow.service("callcenter")``, which
checks ``callcenter.handle`` as on the command line and the API."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response
from litestar.params import FromPath, FromQuery

from crmcore import web
from crmcore.web import lazy

from crm_callcenter.setup import CHANNELS
from crm_callcenter.tickets import TRANSITIONS
from crm_callcenter.web.common import as_int, context, service, type_options, with_clocks

#: The queue's tabs: what each shows, as ``list_tickets`` arguments.
VIEWS = ("open", "mine", "unassigned", "overdue", "closed")
LIMIT = 200


def _queue_filters(uow: Any, view: str, type_code: str) -> dict[str, Any]:
    filters: dict[str, Any] = {"open_only": view in ("open", "mine", "unassigned", "overdue"), "limit": LIMIT}
    if view == "mine":
        filters["assignee"] = uow.actor.username
    elif view == "unassigned":
        filters["status"] = "new"
    elif view == "overdue":
        filters["overdue"] = True
    elif view == "closed":
        filters["status"] = "closed"
    if type_code:
        filters["type"] = type_code
    return filters


@web.get("/tickets", name="callcenter_tickets")
def ticket_queue(request: Request, view: FromQuery[str] = "open", type: FromQuery[str] = "") -> Response[str]:
    with web.web_uow(request) as uow:
        uow.require("callcenter.view")
        view = view if view in VIEWS else "open"
        locale = web.request_locale(request)
        options = type_options(uow, locale)
        type_code = type if type in {code for code, _ in options} else ""
        rows = with_clocks(service(uow).list_tickets(**_queue_filters(uow, view, type_code)))
        return web.page(request, uow, "callcenter/web/queue.html", rows=rows, view=view, views=VIEWS, type_code=type_code,
                        limit=LIMIT, **context(request, uow))


@web.post("/tickets/{ticket_id:int}/take")
def take_ticket(request: Request, ticket_id: FromPath[int], data: web.Form) -> Response[str]:
    """An agent takes a ticket from the queue: assigned to them."""
    with web.web_uow(request, data) as uow:
        _ = web.translator(request)
        _view, errors = web.attempt(uow, service(uow).assign, ticket_id, uow.actor.username, not_found="form")
    if errors:
        return web.redirect(request, "/callcenter/tickets", errors.get("", "; ".join(errors.values())))
    return web.redirect(request, f"/callcenter/tickets/{ticket_id}", _("Ticket #%(id)s is yours now.", id=ticket_id))


def _ticket_page(request: Request, uow: Any, ticket_id: int, *, status: int = 200, **extra: Any) -> Response[str]:
    svc = service(uow)
    view = svc.ticket_view(ticket_id, events=True)
    kb_q = request.query_params.get("kb_q", "").strip()
    agents = [a["user"] for a in svc.agents()] or [u.username for u in uow.users.list()]
    values: dict[str, Any] = {
        "ticket": view, "next_statuses": [s for s in ("in_progress", "waiting_on_customer", "resolved", "closed")
                                         if s in TRANSITIONS[view["status"]]],
        "agents": agents, "kb_q": kb_q, "kb_results": svc.search_articles(kb_q, limit=5) if kb_q else [],
        "errors": {}, "form": {}, "form_name": "",
        **context(request, uow),
    }
    values.update(extra)
    return web.page(request, uow, "callcenter/web/ticket.html", status=status, **values)


@web.get("/tickets/{ticket_id:int}", name="callcenter_ticket")
def ticket_detail(request: Request, ticket_id: FromPath[int]) -> Response[str]:
    with web.web_uow(request) as uow:
        uow.require("callcenter.view")
        return _ticket_page(request, uow, ticket_id)


def _ticket_action(request: Request, ticket_id: int, data: dict[str, Any], form_name: str, flash: str,
                   action: Any) -> Response[str]:
    """Run ``action(svc)`` on the ticket; its errors re-render the ticket
    with the form that failed (``form_name``) open and filled in. ``flash``
    is a message id, translated once the session's language is known."""
    with web.web_uow(request, data) as uow:
        _ = web.translator(request)  # the session's language: known once the session is resumed
        uow.require("callcenter.view")
        _result, errors = web.attempt(uow, action, service(uow), not_found="form")
        if errors:
            return _ticket_page(request, uow, ticket_id, status=422, errors=errors, form=dict(data), form_name=form_name)
    return web.redirect(request, f"/callcenter/tickets/{ticket_id}", _(flash))


@web.post("/tickets/{ticket_id:int}/comments")
def ticket_comment(request: Request, ticket_id: FromPath[int], data: web.Form) -> Response[str]:
    internal = web.form_value(data, "internal") in ("1", "on", "true")
    return _ticket_action(request, ticket_id, data, "comment", lazy("Note added.") if internal else lazy("Reply sent."),
                          lambda svc: svc.comment(ticket_id, web.form_value(data, "text"), internal=internal))


@web.post("/tickets/{ticket_id:int}/status")
def ticket_status(request: Request, ticket_id: FromPath[int], data: web.Form) -> Response[str]:
    return _ticket_action(request, ticket_id, data, "status", lazy("Status changed."),
                          lambda svc: svc.set_status(ticket_id, web.form_value(data, "status"),
                                                     note=web.form_value(data, "note") or None))


@web.post("/tickets/{ticket_id:int}/assign")
def ticket_assign(request: Request, ticket_id: FromPath[int], data: web.Form) -> Response[str]:
    return _ticket_action(request, ticket_id, data, "assign", lazy("Ticket assigned."),
                          lambda svc: svc.assign(ticket_id, web.form_value(data, "assignee")))


@web.post("/tickets/{ticket_id:int}/reopen")
def ticket_reopen(request: Request, ticket_id: FromPath[int], data: web.Form) -> Response[str]:
    return _ticket_action(request, ticket_id, data, "reopen", lazy("Ticket reopened."),
                          lambda svc: svc.reopen(ticket_id, reason=web.form_value(data, "reason") or None))


@web.post("/tickets/{ticket_id:int}/update")
def ticket_update(request: Request, ticket_id: FromPath[int], data: web.Form) -> Response[str]:
    return _ticket_action(request, ticket_id, data, "update", lazy("Changes saved."),
                          lambda svc: svc.update_ticket(ticket_id, **{name: web.form_value(data, name)
                                                                      for name in ("priority", "type", "category", "subject")}))


@web.post("/tickets/{ticket_id:int}/solutions")
def ticket_solution(request: Request, ticket_id: FromPath[int], data: web.Form) -> Response[str]:
    article_id = as_int(web.form_value(data, "article_id")) or 0
    return _ticket_action(request, ticket_id, data, "solution", lazy("Solution recorded on the ticket."),
                          lambda svc: svc.use_solution(ticket_id, article_id))


# -- opening a ticket -------------------------------------------------------------------------


def _new_page(request: Request, uow: Any, form: dict[str, Any], errors: dict[str, str], status: int = 200) -> Response[str]:
    customer_id = as_int(str(form.get("customer_id") or ""))
    customer = uow.customers.find(customer_id) if customer_id else None
    svc = service(uow)
    return web.page(request, uow, "callcenter/web/ticket_new.html", status=status, form=form, errors=errors, customer=customer,
                    agents=[a["user"] for a in svc.agents()] or [u.username for u in uow.users.list()],
                    **context(request, uow))


@web.get("/tickets/new", name="callcenter_ticket_new")
def ticket_new(request: Request, customer_id: FromQuery[str] = "", channel: FromQuery[str] = "phone") -> Response[str]:
    with web.web_uow(request) as uow:
        uow.require("callcenter.handle")
        form = {"customer_id": customer_id, "channel": channel if channel in CHANNELS else "phone", "priority": "normal",
                "assignee": uow.actor.username}
        return _new_page(request, uow, form, {})


@web.post("/tickets/new")
def ticket_create(request: Request, data: web.Form) -> Response[str]:
    with web.web_uow(request, data) as uow:
        _ = web.translator(request)
        uow.require("callcenter.handle")
        customer_id = as_int(web.form_value(data, "customer_id"))
        errors: dict[str, str] = {}
        created = None
        if customer_id is None or uow.customers.find(customer_id) is None:
            errors["customer_id"] = _("No customer with this number.")
        else:
            fields = {name: web.form_value(data, name) or None
                      for name in ("type", "subject", "priority", "description", "channel", "category", "assignee")}
            fields["subject"] = fields["subject"] or ""
            fields["type"] = fields["type"] or ""
            fields["priority"] = fields["priority"] or "normal"
            created, errors = web.attempt(uow, service(uow).open_ticket, customer_id, not_found="form", **fields)
        if errors:
            return _new_page(request, uow, dict(data), errors, status=422)
    return web.redirect(request, f"/callcenter/tickets/{created['id']}", _("Ticket #%(id)s opened.", id=created["id"]))


HANDLERS: list[Any] = [ticket_queue, take_ticket, ticket_new, ticket_create, ticket_detail, ticket_comment, ticket_status,
                       ticket_assign, ticket_reopen, ticket_update, ticket_solution]

"""The call center's REST endpoints, mounted by the core under
``/api/v1/callcenter/`` (see docs/api.md, "Plugins: adding endpoints").

Every handler opens the request's unit of work with ``request_uow`` (token,
scope ``callcenter:read|write``, the token's user, 404 where the plugin is
disabled for the user's department, ``Idempotency-Key``, rollback on error)
and goes through ``uow.service("callcenter")`` with the CLI's permissions:
``callcenter.view`` to read, ``callcenter.handle`` to work tickets, answer
surveys and feed call events. Customers outside the user's department scope
are 404, their tickets and calls invisible. Caller numbers are masked
(``138****8000``) for users without ``customers.view_contact_details``.

Imported only inside ``crm_register_routes`` (Litestar stays out of ``crm --help``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

import litestar
import msgspec
from litestar import Request
from litestar.params import Body, Parameter, QueryParameter
from msgspec import Meta, Struct

from crmcore import NotFound, jsonable, mask_phone
from crmcore.api import request_uow


def _sync(decorator: Any) -> Any:
    return lambda *args, **kwargs: decorator(*args, sync_to_thread=True, tags=["callcenter"], **kwargs)


get, post, patch = _sync(litestar.get), _sync(litestar.post), _sync(litestar.patch)

IdParam = Annotated[int, Parameter(ge=1, le=2**31 - 1, description="Id")]
Limit = Annotated[int, Parameter(ge=1, le=200, description="How many, at most")]
Short = Annotated[str, Meta(min_length=1, max_length=100)]
Subject = Annotated[str, Meta(min_length=1, max_length=300)]
Text = Annotated[str, Meta(min_length=1, max_length=20000)]
Moment = Annotated[str, Meta(min_length=1, max_length=40, description="ISO time; without a zone the CRM's zone")]
DbId = Annotated[int, Meta(ge=1, le=2**31 - 1)]


# -- bodies -------------------------------------------------------------------------------------


class Ticket(Struct):
    """A ticket as ``crm --json service ticket show`` gives it; ``events``,
    ``solutions``, ``calls`` and ``survey`` only on a single ticket."""

    id: int
    customer_id: int
    customer: str | None
    contact_id: int | None
    type: str
    type_label: str
    channel: str
    priority: str
    category: str | None
    subject: str
    description: str | None
    status: str
    status_label: str
    assignee: str | None
    team: str | None
    created_at: datetime
    first_response_at: datetime | None
    resolved_at: datetime | None
    closed_at: datetime | None
    reopen_count: int
    sla: dict[str, Any]
    events: list[dict[str, Any]] | None = None
    solutions: list[dict[str, Any]] | None = None
    calls: list[int] | None = None
    survey: dict[str, Any] | None = None


class TicketCreate(Struct, forbid_unknown_fields=True):
    customer_id: DbId
    type: Short
    subject: Subject
    priority: Short = "normal"
    description: Text | None = None
    channel: Short = "phone"
    category: Short | None = None
    contact_id: DbId | None = None
    assignee: Short | None = None
    team: Short | None = None
    call_id: DbId | None = None
    at: Moment | None = None


class TicketPatch(Struct, forbid_unknown_fields=True):
    priority: Short | None = None
    type: Short | None = None
    category: Annotated[str, Meta(max_length=100)] | None = None
    subject: Subject | None = None


class Assign(Struct, forbid_unknown_fields=True):
    assignee: Short
    team: Short | None = None
    at: Moment | None = None


class StatusChange(Struct, forbid_unknown_fields=True):
    status: Annotated[str, Meta(min_length=1, max_length=30, description="new, assigned, in_progress, waiting_on_customer, resolved, closed")]
    note: Text | None = None
    at: Moment | None = None


class Reopen(Struct, forbid_unknown_fields=True):
    reason: Text | None = None
    at: Moment | None = None


class Comment(Struct, forbid_unknown_fields=True):
    text: Text
    internal: bool = False
    at: Moment | None = None


class Call(Struct):
    """A call-log row; ``caller`` and ``number`` masked without ``customers.view_contact_details``."""

    id: int
    call_ref: str
    caller: str | None
    number: str | None
    customer_id: int | None
    vip: bool
    ivr: str | None
    queue: str | None
    agent: str | None
    status: str
    outcome: str | None
    offered_at: datetime
    answered_at: datetime | None
    ended_at: datetime | None
    wait_seconds: int | None
    talk_seconds: int | None
    acw_seconds: int | None
    transfers: int
    ticket_id: int | None
    source: str


class CallEvent(Struct, forbid_unknown_fields=True):
    """One event from the telephony system (README, "Call events API")."""

    event: Literal["offered", "queued", "answered", "transferred", "abandoned", "ended", "wrapup_done"]
    call: Annotated[str, Meta(min_length=1, max_length=120, description="The PBX's call id")]
    caller: Annotated[str, Meta(max_length=60)] | None = None
    queue: Short | None = None
    ivr_keys: Annotated[str, Meta(max_length=60)] | None = None
    agent: Short | None = None
    to_agent: Short | None = None
    at: Moment | None = None


class CallDecision(Struct):
    """The call after the event and, for ``offered``/``queued``/``transferred``,
    what to do: ``ring`` ``agent``, ``queue`` at ``position``, ``self_service``,
    ``no_route``; ``offered_call``: the waiting call a freed agent now rings for."""

    call: Call
    action: str | None = None
    agent: str | None = None
    position: int | None = None
    offered_call: Call | None = None
    ivr: dict[str, Any] | None = None


class SurveyAnswer(Struct, forbid_unknown_fields=True):
    score: Annotated[int, Meta(ge=1, le=5, description="CSAT 1-5 (5 = very satisfied)")]
    comment: Text | None = None
    at: Moment | None = None


class SurveyResult(Struct):
    ticket: int
    score: int
    comment: str | None
    agent: str | None


class Article(Struct):
    id: int
    title: str
    category: str | None
    tags: list[str]
    usage_count: int
    snippet: str | None = None
    body: str | None = None
    author: str | None = None
    active: bool | None = None
    tickets: list[int] | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None


def _as(value: Any, model: type) -> Any:
    return msgspec.convert(jsonable(value), model, strict=False)


def _svc(uow: Any) -> Any:
    return uow.service("callcenter")


# -- tickets ------------------------------------------------------------------------------------


@get("/tickets", summary="Tickets, newest first")
def list_tickets(request: Request,
                 status: Annotated[str | None, Parameter(max_length=30, description="new, assigned, in_progress, waiting_on_customer, resolved, closed")] = None,
                 open: Annotated[bool, Parameter(description="Open tickets only")] = False,
                 overdue: Annotated[bool, Parameter(description="Open tickets past an SLA due time")] = False,
                 assignee: Annotated[str | None, Parameter(max_length=100)] = None,
                 customer_id: Annotated[int | None, Parameter(ge=1, le=2**31 - 1)] = None,
                 type: Annotated[str | None, Parameter(max_length=40)] = None, limit: Limit = 50) -> list[Ticket]:
    with request_uow(request) as uow:
        uow.require("callcenter.view")
        rows = _svc(uow).list_tickets(status=status, open_only=open, overdue=overdue, assignee=assignee,
                                      customer_id=customer_id, type=type, limit=limit)
        return [_as(r, Ticket) for r in rows]


@post("/tickets", summary="Open a ticket (SLA due times from the policy for its type and priority)")
def open_ticket(request: Request, data: Annotated[TicketCreate, Body()]) -> Ticket:
    with request_uow(request) as uow:
        fields = msgspec.structs.asdict(data)
        view = _svc(uow).open_ticket(fields.pop("customer_id"), **fields)
        return _as(view, Ticket)


@get("/tickets/{ticket_id:int}", summary="A ticket with its SLA clocks and history")
def get_ticket(request: Request, ticket_id: IdParam) -> Ticket:
    with request_uow(request) as uow:
        uow.require("callcenter.view")
        return _as(_svc(uow).ticket_view(ticket_id, events=True), Ticket)


@patch("/tickets/{ticket_id:int}", summary="Change priority, type, category or subject")
def patch_ticket(request: Request, ticket_id: IdParam, data: Annotated[TicketPatch, Body()]) -> Ticket:
    with request_uow(request) as uow:
        return _as(_svc(uow).update_ticket(ticket_id, **msgspec.structs.asdict(data)), Ticket)


@post("/tickets/{ticket_id:int}/assign", summary="Assign a ticket", status_code=200)
def assign_ticket(request: Request, ticket_id: IdParam, data: Annotated[Assign, Body()]) -> Ticket:
    with request_uow(request) as uow:
        return _as(_svc(uow).assign(ticket_id, data.assignee, team=data.team, at=data.at), Ticket)


@post("/tickets/{ticket_id:int}/status", summary="Move a ticket along its status flow", status_code=200)
def change_status(request: Request, ticket_id: IdParam, data: Annotated[StatusChange, Body()]) -> Ticket:
    with request_uow(request) as uow:
        return _as(_svc(uow).set_status(ticket_id, data.status, note=data.note, at=data.at), Ticket)


@post("/tickets/{ticket_id:int}/reopen", summary="Reopen a resolved or closed ticket", status_code=200)
def reopen_ticket(request: Request, ticket_id: IdParam, data: Annotated[Reopen | None, Body()] = None) -> Ticket:
    data = data or Reopen()
    with request_uow(request) as uow:
        return _as(_svc(uow).reopen(ticket_id, reason=data.reason, at=data.at), Ticket)


@post("/tickets/{ticket_id:int}/comments", summary="Reply to the customer, or add an internal note", status_code=200)
def comment_ticket(request: Request, ticket_id: IdParam, data: Annotated[Comment, Body()]) -> Ticket:
    with request_uow(request) as uow:
        return _as(_svc(uow).comment(ticket_id, data.text, internal=data.internal, at=data.at), Ticket)


# -- calls --------------------------------------------------------------------------------------


def _call(uow: Any, view: dict[str, Any]) -> Call:
    if not uow.actor.can("customers.view_contact_details"):
        view = {**view, "caller": mask_phone(view["number"]) if view.get("number") else (None if view.get("caller") is None else "****"),
                "number": mask_phone(view["number"]) if view.get("number") else None}
    return _as(view, Call)


def _visible_call(uow: Any, call_id: int) -> dict[str, Any]:
    view = _svc(uow).call_view(call_id)
    if view["customer_id"] is not None and uow.customers.find(view["customer_id"]) is None:
        raise NotFound(f"call {call_id} not found")
    return view


@post("/calls/events", summary="Apply a call event from the PBX; answers the routing decision", status_code=200)
def call_event(request: Request, data: Annotated[CallEvent, Body()]) -> CallDecision:
    with request_uow(request) as uow:
        result = _svc(uow).call_event(data.event, data.call, at=data.at, caller=data.caller, queue=data.queue,
                                      ivr_keys=data.ivr_keys, agent=data.agent, to_agent=data.to_agent)
        return CallDecision(call=_call(uow, result["call"]), action=result.get("action"), agent=result.get("agent"),
                            position=result.get("position"), ivr=jsonable(result.get("ivr")),
                            offered_call=_call(uow, result["offered_call"]) if result.get("offered_call") else None)


@get("/calls", summary="The call log, newest first")
def list_calls(request: Request, customer_id: Annotated[int | None, Parameter(ge=1, le=2**31 - 1)] = None,
               agent: Annotated[str | None, Parameter(max_length=100)] = None,
               queue: Annotated[str | None, Parameter(max_length=100)] = None,
               status: Annotated[str | None, Parameter(max_length=20)] = None, limit: Limit = 50) -> list[Call]:
    with request_uow(request) as uow:
        uow.require("callcenter.view")
        return [_call(uow, r) for r in _svc(uow).list_calls(customer_id=customer_id, agent=agent, queue=queue, status=status, limit=limit)]


@get("/calls/{call_id:int}", summary="A call")
def get_call(request: Request, call_id: IdParam) -> Call:
    with request_uow(request) as uow:
        uow.require("callcenter.view")
        return _call(uow, _visible_call(uow, call_id))


@get("/lookup", summary="Screen pop: who is calling from this number (any spelling)")
def lookup(request: Request, number: Annotated[str, Parameter(min_length=1, max_length=60)]) -> dict[str, Any]:
    with request_uow(request) as uow:
        return jsonable(_svc(uow).screen_pop(number))


# -- surveys, knowledge base, report ------------------------------------------------------------


@post("/surveys/{key:str}/answer", summary="Record a satisfaction answer (key: the survey code, or the ticket id)", status_code=200)
def answer_survey(request: Request, key: Annotated[str, Parameter(min_length=1, max_length=40)],
                  data: Annotated[SurveyAnswer, Body()]) -> SurveyResult:
    with request_uow(request) as uow:
        return _as(_svc(uow).answer_survey(key, data.score, data.comment, at=data.at), SurveyResult)


@get("/kb", summary="Search the knowledge base (every word must match)")
def search_kb(request: Request, q: Annotated[str, Parameter(max_length=200)] = "", tag: Annotated[str | None, Parameter(max_length=60)] = None,
              category: Annotated[str | None, Parameter(max_length=100)] = None, limit: Limit = 20) -> list[Article]:
    with request_uow(request) as uow:
        uow.require("callcenter.view")
        return [_as(r, Article) for r in _svc(uow).search_articles(q, tag=tag, category=category, limit=limit)]


@get("/kb/{article_id:int}", summary="A knowledge-base solution")
def get_article(request: Request, article_id: IdParam) -> Article:
    with request_uow(request) as uow:
        uow.require("callcenter.view")
        return _as(_svc(uow).article(article_id), Article)


@get("/report", summary="Call-center report for a period: calls, queues, agents, tickets, SLA, CSAT")
def report(request: Request, from_: Annotated[str, QueryParameter(name="from", min_length=1, max_length=40)],
           to: Annotated[str, Parameter(min_length=1, max_length=40)],
           queue: Annotated[str | None, Parameter(max_length=100)] = None,
           service_level: Annotated[int | None, Parameter(ge=1, le=3600)] = None) -> dict[str, Any]:
    from crm_callcenter.reports import period

    with request_uow(request) as uow:
        since, until, _, _ = period(from_, to, uow.crm.config.timezone)
        return jsonable(_svc(uow).report(since, until, queue=queue, service_level=service_level))


ROUTES = [list_tickets, open_ticket, get_ticket, patch_ticket, assign_ticket, change_status, reopen_ticket, comment_ticket,
          call_event, list_calls, get_call, lookup, answer_survey, search_kb, get_article, report]

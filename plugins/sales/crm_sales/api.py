"""``/api/v1/sales/…``: opportunities, stage moves, pipeline and forecast,
quotes and visit plans over the REST API (docs/api.md in the core).

Every handler opens the request's unit of work with ``request_uow`` (token,
scope ``sales:read`` / ``sales:write``, the token's user, enablement,
``Idempotency-Key`` on POSTs) and goes through the same services as
``crm sales``: same permissions (``sales.edit``, ``sales.manage``), same
customer scoping, same JSON views. Imported only by ``crm serve``.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

import litestar
import msgspec
from litestar import Request
from litestar.params import Body, Parameter
from msgspec import UNSET, Meta, Struct, UnsetType, structs

from crmcore import jsonable
from crmcore.api import request_uow


def _sync(decorator: Any) -> Any:
    return lambda *args, **kwargs: decorator(*args, sync_to_thread=True, tags=["sales"], **kwargs)


get, post, patch, delete = _sync(litestar.get), _sync(litestar.post), _sync(litestar.patch), _sync(litestar.delete)

IdParam = Annotated[int, Parameter(ge=1, le=2**31 - 1, description="Id")]
OptionalId = Annotated[int | None, Parameter(ge=1, le=2**31 - 1)]
DbId = Annotated[int, Meta(ge=1, le=2**31 - 1)]
Amount = Annotated[str, Meta(min_length=1, max_length=40, description='CNY: "500000", "500,000.00", "50万"')]
Percent = Annotated[int, Meta(ge=0, le=100)]
Short = Annotated[str, Meta(max_length=60)]
Text = Annotated[str, Meta(max_length=300)]
Notes = Annotated[str, Meta(max_length=20000)]
Discount = Annotated[str, Meta(max_length=20, description='Percent off ("10", "10%") or 折 ("9折")')]
QuoteStatus = Literal["draft", "sent", "accepted", "rejected", "superseded"]


def _view(value: Any, model: type) -> Any:
    return msgspec.convert(jsonable(value), model, strict=False)


def _sent(data: Any) -> dict[str, Any]:
    return {name: value for name, value in structs.asdict(data).items() if value is not UNSET}


# -- bodies and views ---------------------------------------------------------------------


class Opportunity(Struct):
    """An opportunity as ``crm --json sales opportunity show`` gives it
    (amounts as decimal text)."""

    id: int
    customer_id: int
    customer: str | None
    name: str
    amount: str
    stage: str
    stage_label: str
    outcome: str
    probability: int
    weighted_amount: str
    expected_close: date | None
    owner: str | None
    source: str
    competitors: list[str]
    lost_reason: str | None
    notes: str | None
    created_at: str | None
    closed_at: str | None


class OpportunityCreate(Struct, forbid_unknown_fields=True):
    customer_id: DbId
    name: Annotated[str, Meta(min_length=1, max_length=200)]
    amount: Amount = "0"
    expected_close: date | None = None
    stage: Short | None = None
    probability: Percent | None = None
    owner: Short | None = None
    source: Annotated[str, Meta(max_length=120)] | None = None
    competitors: Annotated[list[Annotated[str, Meta(max_length=100)]], Meta(max_length=50)] = []
    notes: Notes | None = None


class OpportunityPatch(Struct, forbid_unknown_fields=True):
    name: Annotated[str, Meta(min_length=1, max_length=200)] | UnsetType = UNSET
    amount: Amount | UnsetType = UNSET
    expected_close: date | None | UnsetType = UNSET
    probability: Percent | UnsetType = UNSET
    owner: Short | UnsetType = UNSET
    source: Annotated[str, Meta(max_length=120)] | None | UnsetType = UNSET
    competitors: Annotated[list[Annotated[str, Meta(max_length=100)]], Meta(max_length=50)] | UnsetType = UNSET
    notes: Notes | None | UnsetType = UNSET


class StageMove(Struct, forbid_unknown_fields=True):
    to: Annotated[str, Meta(min_length=1, max_length=60, description="Stage code or label (proposal, 方案报价)")]
    probability: Percent | None = None
    reason: Text | None = None
    note: Text | None = None


class StageChange(Struct):
    id: int
    from_stage: str | None
    to_stage: str
    probability: int
    at: str
    actor: str
    note: str | None


class QuoteLine(Struct):
    position: int
    product: str
    quantity: str
    unit_price: str
    discount: str
    amount: str


class Quote(Struct):
    id: int
    number: str
    version: int
    opportunity_id: int
    customer_id: int
    status: str
    valid_until: date
    subtotal: str
    discount_total: str
    total: str
    notes: str | None
    decision_note: str | None
    created_by: str
    lines: list[QuoteLine]


class QuoteLineIn(Struct, forbid_unknown_fields=True):
    product: Annotated[str, Meta(min_length=1, max_length=200)]
    quantity: Annotated[str, Meta(min_length=1, max_length=20)]
    unit_price: Amount
    discount: Discount | None = None


class QuoteCreate(Struct, forbid_unknown_fields=True):
    lines: Annotated[list[QuoteLineIn], Meta(max_length=200)] = []
    valid_until: date | None = None
    valid_days: Annotated[int, Meta(ge=1, le=3650)] | None = None
    notes: Notes | None = None


class QuoteSend(Struct, forbid_unknown_fields=True):
    email: bool = False


class QuoteAccept(Struct, forbid_unknown_fields=True):
    win: bool = True
    note: Text | None = None


class QuoteReject(Struct, forbid_unknown_fields=True):
    reason: Text | None = None


class QuoteRevise(Struct, forbid_unknown_fields=True):
    valid_until: date | None = None
    valid_days: Annotated[int, Meta(ge=1, le=3650)] | None = None


class VisitPlan(Struct):
    id: int
    user: str | None
    month: str
    planned_date: date
    customer_id: int
    customer: str | None = None
    purpose: str = ""
    opportunity_id: int | None = None
    status: str | None = None
    visit_id: int | None = None
    visited_on: date | None = None
    report: str | None = None


class VisitPlanCreate(Struct, forbid_unknown_fields=True):
    user: Short
    customer_id: DbId
    purpose: Annotated[str, Meta(min_length=1, max_length=300)]
    planned_date: date
    opportunity_id: DbId | None = None


# -- helpers ------------------------------------------------------------------------------


def _opportunity(uow: Any, opportunity: Any) -> Opportunity:
    from crm_sales.cli import opportunity_view

    return _view(opportunity_view(uow, opportunity), Opportunity)


def _quote(quote: Any) -> Quote:
    from crm_sales.cli import _quote_view

    return _view(_quote_view(quote), Quote)


def _user_id(uow: Any, key: str | None, field: str) -> int | None:
    from crm_sales.cli import _user_id as find

    return find(uow, key, field)


# -- opportunities ------------------------------------------------------------------------


@get("/opportunities", summary="Opportunities the caller may see, soonest expected close first")
def list_opportunities(
    request: Request,
    owner: Annotated[str | None, Parameter(max_length=60, description="Username")] = None,
    stage: Annotated[str | None, Parameter(max_length=60, description="Stage code or label")] = None,
    customer_id: OptionalId = None,
    open: Annotated[bool, Parameter(description="Only open ones (not won or lost)")] = False,  # noqa: A002
    closing: Annotated[str | None, Parameter(max_length=20, description="Expected to close in: 2026-12, 2026-Q4, 2026")] = None,
    limit: Annotated[int, Parameter(ge=1, le=1000)] = 200,
) -> list[Opportunity]:
    from crm_sales.values import parse_period

    with request_uow(request) as uow:
        span = parse_period(closing, "closing") if closing else None
        found = uow.service("sales").opportunities.list(
            owner_id=_user_id(uow, owner, "owner"), stage=stage, customer_id=customer_id, open_only=open,
            closing=(span.start, span.end) if span else None, limit=limit)
        return [_opportunity(uow, o) for o in found]


@post("/opportunities", summary="Open an opportunity for a customer")
def create_opportunity(request: Request, data: Annotated[OpportunityCreate, Body()]) -> Opportunity:
    fields = structs.asdict(data)
    customer_id, owner = fields.pop("customer_id"), fields.pop("owner")
    with request_uow(request) as uow:
        made = uow.service("sales").opportunities.add(customer_id, owner_id=_user_id(uow, owner, "owner"), **fields)
        return _opportunity(uow, made)


@get("/opportunities/{opportunity_id:int}", summary="An opportunity")
def get_opportunity(request: Request, opportunity_id: IdParam) -> Opportunity:
    with request_uow(request) as uow:
        return _opportunity(uow, uow.service("sales").opportunities.get(opportunity_id))


@patch("/opportunities/{opportunity_id:int}", summary="Change an opportunity's fields (stage: POST …/stage)")
def patch_opportunity(request: Request, opportunity_id: IdParam, data: Annotated[OpportunityPatch, Body()]) -> Opportunity:
    changes = _sent(data)
    with request_uow(request) as uow:
        if "owner" in changes:
            changes["owner_id"] = _user_id(uow, changes.pop("owner"), "owner")
        return _opportunity(uow, uow.service("sales").opportunities.update(opportunity_id, **changes))


@post("/opportunities/{opportunity_id:int}/stage", summary="Move an opportunity to another stage (lost needs a reason)",
      status_code=200)
def move_opportunity(request: Request, opportunity_id: IdParam, data: Annotated[StageMove, Body()]) -> Opportunity:
    with request_uow(request) as uow:
        moved = uow.service("sales").opportunities.move(opportunity_id, data.to, probability=data.probability,
                                                        reason=data.reason, note=data.note)
        return _opportunity(uow, moved)


@get("/opportunities/{opportunity_id:int}/history", summary="An opportunity's stage changes")
def opportunity_history(request: Request, opportunity_id: IdParam) -> list[StageChange]:
    with request_uow(request) as uow:
        return [_view(change, StageChange) for change in uow.service("sales").opportunities.history(opportunity_id)]


# -- reports ------------------------------------------------------------------------------


@get("/pipeline", summary="Count, amount and weighted amount per stage and per owner and stage")
def pipeline(request: Request, owner: Annotated[str | None, Parameter(max_length=60, description="Username")] = None
             ) -> dict[str, Any]:
    with request_uow(request) as uow:
        return jsonable(uow.service("sales").reports.pipeline(owner_id=_user_id(uow, owner, "owner")))


@get("/forecast", summary="Weighted open amount plus won amount per month of a period")
def forecast(
    request: Request,
    period: Annotated[str | None, Parameter(max_length=30, description="2026-Q4, 2026-12, 2026-H2, 2026; default this quarter")] = None,
    owner: Annotated[str | None, Parameter(max_length=60, description="Username")] = None,
) -> dict[str, Any]:
    with request_uow(request) as uow:
        return jsonable(uow.service("sales").reports.forecast(period, owner_id=_user_id(uow, owner, "owner")))


# -- quotes -------------------------------------------------------------------------------


@get("/quotes", summary="Quotes the caller may see")
def list_quotes(request: Request, opportunity_id: OptionalId = None, customer_id: OptionalId = None,
                status: Annotated[QuoteStatus | None, Parameter()] = None) -> list[Quote]:
    with request_uow(request) as uow:
        quotes = uow.service("sales").quotes
        return [_quote(quotes.get(q.id)) for q in quotes.list(opportunity_id=opportunity_id, customer_id=customer_id, status=status)]


@post("/opportunities/{opportunity_id:int}/quotes", summary="A draft quote (version 1) for an open opportunity")
def create_quote(request: Request, opportunity_id: IdParam, data: Annotated[QuoteCreate, Body()]) -> Quote:
    lines = [structs.asdict(line) for line in data.lines]
    with request_uow(request) as uow:
        return _quote(uow.service("sales").quotes.add(opportunity_id, lines=lines, valid_until=data.valid_until,
                                                       valid_days=data.valid_days, notes=data.notes))


@get("/quotes/{quote_id:int}", summary="A quote with its lines")
def get_quote(request: Request, quote_id: IdParam) -> Quote:
    with request_uow(request) as uow:
        return _quote(uow.service("sales").quotes.get(quote_id))


@post("/quotes/{quote_id:int}/send", status_code=200,
      summary="Mark a draft sent; email=true queues it to the customer (a service message, needs consent where configured)")
def send_quote(request: Request, quote_id: IdParam, data: Annotated[QuoteSend | None, Body()] = None) -> Quote:
    with request_uow(request) as uow:
        return _quote(uow.service("sales").quotes.send(quote_id, email=bool(data and data.email)))


@post("/quotes/{quote_id:int}/accept", status_code=200,
      summary="The customer accepted: other open quotes are rejected; win=true wins the opportunity at the quote's total")
def accept_quote(request: Request, quote_id: IdParam, data: Annotated[QuoteAccept | None, Body()] = None) -> Quote:
    data = data or QuoteAccept()
    with request_uow(request) as uow:
        return _quote(uow.service("sales").quotes.accept(quote_id, win=data.win, note=data.note))


@post("/quotes/{quote_id:int}/reject", status_code=200, summary="The customer rejected a quote")
def reject_quote(request: Request, quote_id: IdParam, data: Annotated[QuoteReject | None, Body()] = None) -> Quote:
    with request_uow(request) as uow:
        return _quote(uow.service("sales").quotes.reject(quote_id, reason=data.reason if data else None))


@post("/quotes/{quote_id:int}/revise", summary="A new draft version (same number, lines copied)")
def revise_quote(request: Request, quote_id: IdParam, data: Annotated[QuoteRevise | None, Body()] = None) -> Quote:
    data = data or QuoteRevise()
    with request_uow(request) as uow:
        return _quote(uow.service("sales").quotes.revise(quote_id, valid_until=data.valid_until, valid_days=data.valid_days))


# -- visit plans --------------------------------------------------------------------------


@get("/plans", summary="Planned visits with the visit that fulfilled each (done, missed, planned)")
def list_plans(request: Request, user: Annotated[str | None, Parameter(max_length=60, description="Username")] = None,
               month: Annotated[str | None, Parameter(max_length=20, description="2026-12")] = None) -> list[VisitPlan]:
    from crm_sales.values import parse_month

    with request_uow(request) as uow:
        rows, _ = uow.service("sales").plans.matched(user_id=_user_id(uow, user, "user"),
                                                     month=parse_month(month) if month else None)
        return [_view(row, VisitPlan) for row in rows]


@post("/plans", summary="Plan a visit (planning for someone else takes sales.manage)")
def create_plan(request: Request, data: Annotated[VisitPlanCreate, Body()]) -> VisitPlan:
    from crm_sales.values import month_of

    with request_uow(request) as uow:
        made = uow.service("sales").plans.add(user=data.user, month=month_of(data.planned_date), customer_id=data.customer_id,
                                              purpose=data.purpose, planned_date=data.planned_date,
                                              opportunity_id=data.opportunity_id)
        return _view({"id": made.id, "user": data.user, "month": made.month, "planned_date": made.planned_date,
                      "customer_id": made.customer_id, "purpose": made.purpose, "opportunity_id": made.opportunity_id,
                      "status": "planned"}, VisitPlan)


@delete("/plans/{plan_id:int}", summary="Remove a planned visit")
def remove_plan(request: Request, plan_id: IdParam) -> None:
    with request_uow(request) as uow:
        uow.service("sales").plans.remove(plan_id)


ROUTES = [list_opportunities, create_opportunity, get_opportunity, patch_opportunity, move_opportunity, opportunity_history,
          pipeline, forecast, list_quotes, create_quote, get_quote, send_quote, accept_quote, reject_quote, revise_quote,
          list_plans, create_plan, remove_plan]


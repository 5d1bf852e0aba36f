"""``/api/v1/campaigns/…``: campaigns, their messages, responses and results,
segments, launching and running, opt-outs, over the REST API (docs/api.md
in the core).

Every handler opens the request's unit of work with ``request_uow`` (token,
scope ``campaigns:read`` / ``campaigns:write``, the token's user,
enablement, ``Idempotency-Key`` on POSTs) and goes through the same service
as ``crm campaigns``: same permissions (``campaigns.view``, ``.send``,
``.respond``, ``.optout``), same customer scoping, recipients masked for
users who may not see contact details. Imported only by ``crm serve``.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import litestar
import msgspec
from litestar import Request
from litestar.params import Body, Parameter
from msgspec import Meta, Struct

from crmcore import jsonable
from crmcore.api import request_uow


def _sync(decorator: Any) -> Any:
    return lambda *args, **kwargs: decorator(*args, sync_to_thread=True, tags=["campaigns"], **kwargs)


get, post, delete = _sync(litestar.get), _sync(litestar.post), _sync(litestar.delete)

IdParam = Annotated[int, Parameter(ge=1, le=2**31 - 1, description="Id")]
DbId = Annotated[int, Meta(ge=1, le=2**31 - 1)]
Limit = Annotated[int, Parameter(ge=1, le=1000, description="At most this many")]
CampaignStatus = Literal["draft", "approved", "running", "finished", "cancelled"]
MessageStatus = Literal["queued", "sent", "failed", "cancelled", "listed", "suppressed", "error"]
ResponseType = Literal["opened", "clicked", "replied", "registered", "bought"]
OptOutChannel = Literal["email", "sms", "phone", "event", "mail", "all"]


def _view(value: Any, model: type) -> Any:
    return msgspec.convert(jsonable(value), model, strict=False)


def _service(uow: Any) -> Any:
    return uow.service("campaigns")


# -- bodies and views ---------------------------------------------------------------------


class Step(Struct):
    step: int
    channel: str
    after_days: int
    only: str
    ab_pct: int
    winner: str | None
    status: str


class Campaign(Struct):
    """A campaign as ``crm --json campaigns show`` gives it (amounts as decimal text)."""

    id: int
    name: str
    status: str
    goal: str | None
    starts_on: str | None
    ends_on: str | None
    channels: list[str]
    budget: str | None
    control_pct: int
    throttle: int | None
    attribution_days: int
    launched_at: str | None
    finished_at: str | None
    segment: str | None = None
    owner: str | None = None
    steps: list[Step] = []


class Message(Struct):
    """One message of a campaign and its delivery state (read from the outbox)."""

    id: int
    step: int
    customer_id: int
    channel: str
    variant: str | None
    recipient: str | None
    subject: str | None
    status: str
    reason: str | None
    attempts: int
    error: str | None
    outbox_id: int | None
    queued_at: str | None
    delivered_at: str | None


class Response(Struct):
    id: int
    customer_id: int
    name: str | None
    type: str
    channel: str | None
    amount: str | None
    activity_id: int | None
    occurred_at: str | None
    note: str | None


class ResponseCreate(Struct, forbid_unknown_fields=True):
    """A response to the campaign's latest message to the customer; ``bought``
    needs ``amount`` and logs a purchase on the customer's timeline."""

    customer_id: DbId
    type: ResponseType
    amount: Annotated[str, Meta(min_length=1, max_length=40, description='CNY, e.g. "288.50"')] | None = None
    at: Annotated[str, Meta(min_length=1, max_length=40, description="When, ISO 8601 [now]")] | None = None
    note: Annotated[str, Meta(max_length=2000)] | None = None


class ResponseRecorded(Struct):
    id: int
    campaign: str
    customer_id: int
    type: str
    channel: str
    step: int
    amount: str | None
    occurred_at: str


class Sent(Struct):
    """What a launch or a run did."""

    queued: int
    listed: int
    suppressed: int
    errors: int
    campaign: str | None = None
    audience: int | None = None
    target: int | None = None
    control: int | None = None


class RunRequest(Struct, forbid_unknown_fields=True):
    step: Annotated[int, Meta(ge=1, le=1000, description="Send this step now, whatever its delay")] | None = None


class Segment(Struct):
    id: int
    name: str
    description: str | None
    criteria: dict[str, Any]
    created_at: str | None
    updated_at: str | None


class SampleCustomer(Struct):
    id: int
    name: str
    city: str | None
    level: str | None
    stage: str | None
    tags: list[str]


class Preview(Struct):
    count: int
    sample: list[SampleCustomer]


class OptOutCreate(Struct, forbid_unknown_fields=True):
    customer_id: DbId
    channel: OptOutChannel
    reason: Annotated[str, Meta(max_length=200)] | None = None


class OptOut(Struct):
    customer_id: int
    channel: str
    opted_out: bool
    withdrawn: int = 0


# -- campaigns ----------------------------------------------------------------------------------


def _campaign(uow: Any, campaign: Any, *, detail: bool = False) -> Campaign:
    data = {k: getattr(campaign, k) for k in ("id", "name", "status", "goal", "starts_on", "ends_on", "channels", "budget",
                                              "control_pct", "throttle", "attribution_days", "launched_at", "finished_at")}
    if detail:
        service = _service(uow)
        segment = service.find_segment(campaign.segment_id) if campaign.segment_id else None
        owner = uow.users.find(campaign.owner_id) if campaign.owner_id else None
        data.update(segment=segment.name if segment else None, owner=owner.username if owner else None,
                    steps=[{"step": s.number, "channel": s.channel, "after_days": s.delay_days, "only": s.audience,
                            "ab_pct": s.ab_pct, "winner": s.winner, "status": s.status} for s in service.steps(campaign.id)])
    return _view(data, Campaign)


@get("/campaigns", summary="List campaigns")
def list_campaigns(request: Request, status: Annotated[CampaignStatus | None, Parameter(description="Only this status")] = None) -> list[Campaign]:
    with request_uow(request) as uow:
        return [_campaign(uow, c) for c in _service(uow).list(status)]


@get("/campaigns/{campaign_id:int}", summary="A campaign with its segment, owner and steps")
def show_campaign(request: Request, campaign_id: IdParam) -> Campaign:
    with request_uow(request) as uow:
        return _campaign(uow, _service(uow).get(campaign_id), detail=True)


@get("/campaigns/{campaign_id:int}/stats", summary="Audience, delivery, responses, conversions, revenue, ROI and lift")
def campaign_stats(request: Request, campaign_id: IdParam) -> dict[str, Any]:
    with request_uow(request) as uow:
        return jsonable(_service(uow).stats(campaign_id))


@get("/campaigns/{campaign_id:int}/messages", summary="A campaign's messages and their delivery state")
def campaign_messages(request: Request, campaign_id: IdParam,
                      status: Annotated[MessageStatus | None, Parameter(description="Only this status")] = None,
                      step: Annotated[int | None, Parameter(ge=1, le=1000)] = None, limit: Limit = 100) -> list[Message]:
    with request_uow(request) as uow:
        return _view(_service(uow).messages(campaign_id, status=status, step=step, limit=limit), list[Message])


@get("/campaigns/{campaign_id:int}/responses", summary="A campaign's responses")
def campaign_responses(request: Request, campaign_id: IdParam,
                       type: Annotated[ResponseType | None, Parameter(description="Only this type")] = None,
                       limit: Limit = 200) -> list[Response]:
    with request_uow(request) as uow:
        return _view(_service(uow).responses(campaign_id, type=type, limit=limit), list[Response])


@post("/campaigns/{campaign_id:int}/responses", summary="Record a response (send an Idempotency-Key: bought logs a purchase)")
def record_response(request: Request, campaign_id: IdParam, data: Annotated[ResponseCreate, Body()]) -> ResponseRecorded:
    with request_uow(request) as uow:
        done = _service(uow).record_response(campaign_id, data.customer_id, data.type, amount=data.amount, at=data.at,
                                             note=data.note)
        return _view(done, ResponseRecorded)


@post("/campaigns/{campaign_id:int}/launch", status_code=200,
      summary="Launch an approved campaign: freeze the audience, hold out the control group, send the first step")
def launch_campaign(request: Request, campaign_id: IdParam) -> Sent:
    with request_uow(request) as uow:
        return _view(_service(uow).launch(campaign_id), Sent)


@post("/campaigns/{campaign_id:int}/run", status_code=200, summary="Send what is due in a running campaign (or one step now)")
def run_campaign(request: Request, campaign_id: IdParam, data: Annotated[RunRequest | None, Body()] = None) -> Sent:
    with request_uow(request) as uow:
        service = _service(uow)
        name = service.get(campaign_id).name
        done = service.run(name, step=data.step if data else None)
        return _view({**{k: done[k] for k in ("queued", "listed", "suppressed", "errors")}, "campaign": name}, Sent)


# -- segments -----------------------------------------------------------------------------------


@get("/segments", summary="List segments")
def list_segments(request: Request) -> list[Segment]:
    with request_uow(request) as uow:
        return _view([vars(s) for s in _service(uow).segments()], list[Segment])


@get("/segments/{segment_id:int}/preview", summary="How many customers you may see the segment holds now, and a sample")
def preview_segment(request: Request, segment_id: IdParam,
                    limit: Annotated[int, Parameter(ge=0, le=100, description="Sample size")] = 10) -> Preview:
    with request_uow(request) as uow:
        return _view(_service(uow).preview(segment_id, limit=limit), Preview)


# -- opt-outs -----------------------------------------------------------------------------------


@post("/optouts", summary="A customer opts out of campaign messages on a channel (queued ones are withdrawn)")
def add_optout(request: Request, data: Annotated[OptOutCreate, Body()]) -> OptOut:
    with request_uow(request) as uow:
        return _view(_service(uow).opt_out(data.customer_id, data.channel, reason=data.reason), OptOut)


@delete("/optouts/{customer_id:int}/{channel:str}", status_code=200, summary="Undo an opt-out")
def remove_optout(request: Request, customer_id: IdParam, channel: Annotated[OptOutChannel, Parameter(description="Channel")]) -> OptOut:
    with request_uow(request) as uow:
        return _view(_service(uow).opt_in(customer_id, channel), OptOut)


ROUTES = [list_campaigns, show_campaign, campaign_stats, campaign_messages, campaign_responses, record_response,
          launch_campaign, run_campaign, list_segments, preview_segment, add_optout, remove_optout]

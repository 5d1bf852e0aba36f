"""The membership plugin's REST endpoints, mounted by the core under
``/api/v1/membership/`` (docs/api.md, "Plugins: adding endpoints and events").

Every handler opens the request's unit of work with ``request_uow`` (token,
scope ``membership:read|write``, the token's user, 404 where the plugin is
disabled for the user's department, ``Idempotency-Key``, rollback on any
error) and goes through ``uow.service("membership")`` with the CLI's
permissions: ``membership.view`` to read, ``.apply``/``.approve`` to join,
``.adjust`` for points by hand, ``.redeem`` for redemptions, ``.cards`` to
cancel. Members of customers outside the user's department scope are 404.
Applicants' phones, e-mails, ID numbers and birthdays are masked for users
without ``customers.view_contact_details``.

Send an ``Idempotency-Key`` with the POSTs that move points (points,
redemptions, their cancellation): a retried request then returns the first
answer instead of posting twice.

Imported only inside ``crm_register_routes`` (Litestar stays out of ``crm --help``).
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

import litestar
import msgspec
from litestar import Request
from litestar.params import Body, Parameter
from msgspec import Meta, Struct
from sqlalchemy import select

from crmcore import NotFound, jsonable
from crmcore.api import request_uow

from crm_membership.common import masked_application
from crm_membership.tables import redemptions as redemptions_table


def _sync(decorator: Any) -> Any:
    return lambda *args, **kwargs: decorator(*args, sync_to_thread=True, tags=["membership"], **kwargs)


get, post = _sync(litestar.get), _sync(litestar.post)

IdParam = Annotated[int, Parameter(ge=1, le=2**31 - 1, description="Id")]
CardParam = Annotated[str, Parameter(min_length=1, max_length=40, description="Card number")]
Limit = Annotated[int, Parameter(ge=1, le=200, description="How many, at most")]
DbId = Annotated[int, Meta(ge=1, le=2**31 - 1)]
Short = Annotated[str, Meta(min_length=1, max_length=100)]
Reason = Annotated[str, Meta(min_length=1, max_length=300)]
Card = Annotated[str, Meta(min_length=1, max_length=40)]
Day = Annotated[str, Meta(min_length=1, max_length=20, description="YYYY-MM-DD")]


# -- bodies -------------------------------------------------------------------------------------


class Entry(Struct):
    """A ledger entry (signed points)."""

    id: int
    kind: str
    points: int
    source: str
    reference: str | None
    effective_on: date
    expires_on: date | None
    reason: str | None
    idempotency_key: str | None
    reversal_of: int | None


class Member(Struct):
    """A member as ``crm --json membership show`` gives it."""

    id: int
    card_number: str
    card_status: str | None
    customer_id: int
    name: str
    status: str
    tier: str
    tier_level: int
    reward_points: int
    upgrade_points: int
    pending_points: int
    joined_on: date
    tier_locked_until: date | None = None
    cancel_reason: str | None = None
    entries: list[Entry] | None = None


class MemberRow(Struct):
    id: int
    card_number: str
    customer_id: int
    name: str
    status: str
    tier: str
    reward_points: int
    upgrade_points: int
    card_status: str | None
    joined_on: date


class Join(Struct, forbid_unknown_fields=True):
    customer_id: DbId
    tier: Short | None = None
    card: Card | None = None
    channel: Literal["counter", "web", "purchase"] = "counter"


class Application(Struct):
    id: int
    customer_id: int
    channel: str
    status: str
    name: str | None
    phone: str | None
    email: str | None
    id_number: str | None
    birthday: str | None
    referrer_member_id: int | None
    flags: list[str]
    reject_reason: str | None
    member_id: int | None
    created_at: str
    reviewed_at: str | None
    reviewed_by: str | None


class Apply(Struct, forbid_unknown_fields=True):
    """An application for a customer (``customer_id``), or for a new one made from ``name`` (and ``phone``)."""

    customer_id: DbId | None = None
    channel: Literal["counter", "web", "purchase"] = "counter"
    name: Annotated[str, Meta(min_length=1, max_length=200)] | None = None
    phone: Annotated[str, Meta(min_length=1, max_length=40)] | None = None
    email: Annotated[str, Meta(min_length=3, max_length=200)] | None = None
    id_number: Annotated[str, Meta(min_length=1, max_length=40)] | None = None
    birthday: Day | None = None
    referrer: Card | None = None


class Approve(Struct, forbid_unknown_fields=True):
    tier: Short | None = None
    card: Card | None = None
    force: bool = False


class Reject(Struct, forbid_unknown_fields=True):
    reason: Reason


class Points(Struct, forbid_unknown_fields=True):
    """A manual adjustment: negative points deduct. ``key`` makes it idempotent in the ledger itself."""

    points: Annotated[int, Meta(ge=-10_000_000, le=10_000_000)]
    reason: Reason
    kind: Literal["reward", "upgrade"] = "reward"
    key: Annotated[str, Meta(min_length=1, max_length=200)] | None = None
    effective_on: Day | None = None


class Posted(Struct):
    posted: bool
    entry: Entry
    member: Member


class Redeem(Struct, forbid_unknown_fields=True):
    reward: Short
    quantity: Annotated[int, Meta(ge=1, le=1000)] = 1


class Redeemed(Struct):
    redemption: int
    card_number: str
    reward: str
    quantity: int
    points: int
    reward_points: int


class CancelRedemption(Struct, forbid_unknown_fields=True):
    reason: Reason | None = None


class RedemptionCancelled(Struct):
    redemption: int
    card_number: str
    status: str
    refunded: int
    reward_points: int


class Cancel(Struct, forbid_unknown_fields=True):
    reason: Reason


def _as(value: Any, model: type) -> Any:
    return msgspec.convert(jsonable(value), model, strict=False)


def _svc(uow: Any) -> Any:
    return uow.service("membership")


def _member(uow: Any, member_id: int, entries: int = 0) -> Member:
    return _as(_svc(uow).members.view(member_id, entries=entries), Member)


def _application(uow: Any, row: dict[str, Any]) -> Application:
    return _as(masked_application(uow, row), Application)


# -- members ------------------------------------------------------------------------------------


@get("/members", summary="Members you can see")
def list_members(request: Request, tier: Annotated[str | None, Parameter(max_length=100)] = None,
                 status: Annotated[Literal["active", "cancelled", "all"], Parameter(description="Membership status")] = "active",
                 lost: Annotated[bool, Parameter(description="Only cards reported lost")] = False,
                 min_points: Annotated[int | None, Parameter(ge=0, le=2**31 - 1)] = None, limit: Limit = 100,
                 offset: Annotated[int, Parameter(ge=0, le=2**31 - 1)] = 0) -> list[MemberRow]:
    with request_uow(request) as uow:
        uow.require("membership.view")
        rows = _svc(uow).members.list(tier=tier, status=None if status == "all" else status, card_status="lost" if lost else None,
                                      min_points=min_points, limit=limit, offset=offset)
        return [_as(r, MemberRow) for r in rows]


@post("/members", summary="Make a customer a member in one step (apply and approve)", status_code=201)
def join(request: Request, data: Annotated[Join, Body()]) -> Member:
    with request_uow(request) as uow:
        view = _svc(uow).members.join(data.customer_id, tier=data.tier, card=data.card, channel=data.channel)
        return _as(view, Member)


@get("/members/{card:str}", summary="A member: card, tier, both balances, pending points, recent ledger entries")
def get_member(request: Request, card: CardParam, entries: Annotated[int, Parameter(ge=0, le=200)] = 10) -> Member:
    with request_uow(request) as uow:
        uow.require("membership.view")
        return _member(uow, _svc(uow).members.by_card(card)["id"], entries)


@get("/customers/{customer_id:int}", summary="The customer's active membership (404 when not a member)")
def member_of_customer(request: Request, customer_id: IdParam) -> Member:
    with request_uow(request) as uow:
        uow.require("membership.view")
        uow.customers.get(customer_id)
        found = _svc(uow).members.active_of_customer(customer_id)
        if found is None:
            raise NotFound(f"customer {customer_id} is not a member")
        return _member(uow, found["id"], 10)


@get("/members/{card:str}/ledger", summary="A member's ledger, newest first")
def ledger(request: Request, card: CardParam, limit: Limit = 100,
           kind: Annotated[Literal["reward", "upgrade"] | None, Parameter(description="Only this balance's entries")] = None) -> list[Entry]:
    with request_uow(request) as uow:
        uow.require("membership.view")
        service = _svc(uow)
        member = service.members.by_card(card)
        return [_as(e, Entry) for e in service.ledger.entries(member["id"], limit=limit, kind=kind)]


@post("/members/{card:str}/points", summary="Add or deduct points by hand (send an Idempotency-Key)", status_code=200)
def adjust_points(request: Request, card: CardParam, data: Annotated[Points, Body()]) -> Posted:
    with request_uow(request) as uow:
        result = _svc(uow).points.add(card, data.points, kind=data.kind, reason=data.reason, key=data.key, effective_on=data.effective_on)
        member = _svc(uow).members.by_card(card)
        return Posted(posted=result["posted"], entry=_as(result["entry"], Entry), member=_member(uow, member["id"]))


@post("/members/{card:str}/redemptions", summary="Redeem a reward: stock and points in one transaction (send an Idempotency-Key)",
      status_code=201)
def redeem(request: Request, card: CardParam, data: Annotated[Redeem, Body()]) -> Redeemed:
    with request_uow(request) as uow:
        return _as(_svc(uow).redemption.redeem(card, data.reward, data.quantity), Redeemed)


@post("/members/{card:str}/cancel", summary="Cancel the membership (the card is retired, the ledger kept)", status_code=200)
def cancel_member(request: Request, card: CardParam, data: Annotated[Cancel, Body()]) -> Member:
    with request_uow(request) as uow:
        return _as(_svc(uow).members.cancel(card, data.reason), Member)


# -- rewards and redemptions --------------------------------------------------------------------


@get("/rewards", summary="The reward catalogue")
def rewards(request: Request) -> list[dict[str, Any]]:
    with request_uow(request) as uow:
        uow.require("membership.view")
        return jsonable(_svc(uow).redemption.catalogue())


@get("/redemptions", summary="Redemptions, newest first (of one card, or all you can see)")
def redemptions(request: Request, card: Annotated[str | None, Parameter(min_length=1, max_length=40)] = None,
                limit: Limit = 100) -> list[dict[str, Any]]:
    with request_uow(request) as uow:
        uow.require("membership.view")
        return jsonable(_svc(uow).redemption.list(card, limit=limit))


@post("/redemptions/{redemption_id:int}/cancel", summary="Cancel a redemption: points and stock go back (send an Idempotency-Key)",
      status_code=200)
def cancel_redemption(request: Request, redemption_id: IdParam,
                      data: Annotated[CancelRedemption | None, Body()] = None) -> RedemptionCancelled:
    data = data or CancelRedemption()
    with request_uow(request) as uow:
        service = _svc(uow)
        member_id = uow.execute(select(redemptions_table.c.member_id).where(redemptions_table.c.id == redemption_id)).scalar()
        if member_id is not None:
            service.members.get(member_id)  # 404 outside the user's scope
        return _as(service.redemption.cancel(redemption_id, data.reason), RedemptionCancelled)


# -- applications -------------------------------------------------------------------------------


@get("/applications", summary="Membership applications (pending by default)")
def list_applications(request: Request,
                      status: Annotated[Literal["pending", "approved", "rejected", "all"], Parameter(description="Status")] = "pending",
                      limit: Limit = 100) -> list[Application]:
    with request_uow(request) as uow:
        uow.require("membership.view")
        rows = _svc(uow).members.applications(None if status == "all" else status, limit=limit)
        return [_application(uow, r) for r in rows]


@post("/applications", summary="File an application, flagged for review (missing key fields, duplicates)", status_code=201)
def apply(request: Request, data: Annotated[Apply, Body()]) -> Application:
    with request_uow(request) as uow:
        fields = msgspec.structs.asdict(data)
        return _application(uow, _svc(uow).members.apply(fields.pop("customer_id"), **fields))


@post("/applications/{app_id:int}/approve", summary="Approve: card number and tier (flagged duplicates need force)", status_code=200)
def approve(request: Request, app_id: IdParam, data: Annotated[Approve | None, Body()] = None) -> Member:
    data = data or Approve()
    with request_uow(request) as uow:
        return _as(_svc(uow).members.approve(app_id, tier=data.tier, card=data.card, force=data.force), Member)


@post("/applications/{app_id:int}/reject", summary="Reject an application, recording why", status_code=200)
def reject(request: Request, app_id: IdParam, data: Annotated[Reject, Body()]) -> Application:
    with request_uow(request) as uow:
        return _application(uow, _svc(uow).members.reject(app_id, data.reason))


ROUTES = [list_members, join, get_member, member_of_customer, ledger, adjust_points, redeem, cancel_member,
          rewards, redemptions, cancel_redemption, list_applications, apply, approve, reject]

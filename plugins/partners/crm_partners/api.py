"""The partners plugin's REST endpoints, mounted at ``/api/v1/partners/``
(see the core's ``docs/api.md``). Each handler opens the request's unit of
work and goes through ``uow.service("partners")`` with the CLI's
permissions; the token needs ``partners:read`` (GET) or ``partners:write``.
POSTs honour ``Idempotency-Key`` (the core reserves it in the request's
transaction): send one when computing commissions or registering deals.

Imported only when ``crm serve`` builds the application.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

import litestar
import msgspec
from litestar import Request
from litestar.params import Body, Parameter
from msgspec import Meta, Struct, structs

from crmcore.api import request_uow
from crmcore.storage.rows import jsonable


def _sync(decorator: Any) -> Any:
    return lambda *args, **kwargs: decorator(*args, sync_to_thread=True, tags=["partners"], **kwargs)


get, post, patch = _sync(litestar.get), _sync(litestar.post), _sync(litestar.patch)

IdParam = Annotated[int, Parameter(ge=1, le=2**31 - 1, description="Id")]
DbId = Annotated[int, Meta(ge=1, le=2**31 - 1)]
Short = Annotated[str, Meta(min_length=1, max_length=60)]
Text = Annotated[str, Meta(max_length=300)]
Reason = Annotated[str, Meta(min_length=1, max_length=300)]
Notes = Annotated[str, Meta(max_length=20000)]
Amount = Annotated[str, Meta(pattern=r"^\d{1,13}(\.\d{1,2})?$", description='Decimal CNY amount, e.g. "200000.00"')]
PeriodText = Annotated[str, Meta(min_length=4, max_length=30, description="2026-Q2, 2026-05, 2026-H1, 2026 or 2026-04-01..2026-06-30")]
Filter = Annotated[str | None, Parameter(max_length=60)]
PeriodParam = Annotated[str | None, Parameter(min_length=4, max_length=30, description="2026-Q2, 2026-05, 2026-H1, 2026 or a..b")]
Limit = Annotated[int, Parameter(ge=1, le=1000, description="At most this many, newest first")]


def view(value: Any, model: type) -> Any:
    return msgspec.convert(jsonable(value), model, strict=False)


# -- bodies ----------------------------------------------------------------------------------------


class Partner(Struct):
    id: int
    name: str | None
    code: str | None
    type: str
    type_label: str
    grade: str | None
    grade_weight: int | None
    status: str
    status_label: str
    territories: list[str]
    industries: list[str]
    manager: str | None
    manager_id: int | None
    max_open_leads: int | None
    notes: str | None
    created_at: datetime
    updated_at: datetime


class PartnerCreate(Struct, forbid_unknown_fields=True):
    customer_id: DbId
    type: Short
    grade: Short | None = None
    territories: list[Short] = []
    industries: list[Short] = []
    manager: Short | None = None
    status: Literal["recruiting", "onboarding", "active", "under_review"] = "active"
    max_open_leads: Annotated[int, Meta(ge=1, le=1_000_000)] | None = None
    notes: Notes | None = None
    reason: Text | None = None


class PartnerPatch(Struct, forbid_unknown_fields=True):
    type: Short | None = None
    grade: Short | None = None
    territories: list[Short] | None = None
    industries: list[Short] | None = None
    manager: Short | None = None
    max_open_leads: Annotated[int, Meta(ge=1, le=1_000_000)] | None = None
    notes: Notes | None = None
    reason: Text | None = None


class StatusChange(Struct, forbid_unknown_fields=True):
    status: Literal["recruiting", "onboarding", "active", "under_review", "terminated"]
    reason: Text | None = None


class Agreement(Struct):
    id: int
    partner_id: int
    starts_on: date
    ends_on: date
    state: str
    commission: str
    commission_kind: str
    commission_rate: str | None
    commission_tiers: list[list[str]]
    tiers_apply: str
    discount: str | None
    territories: list[str]
    product_lines: list[str]
    remind_days: list[int]
    terminated_on: date | None
    terminate_reason: str | None
    renewed_from_id: int | None
    days_left: int | None


class AgreementCreate(Struct, forbid_unknown_fields=True):
    starts_on: date
    ends_on: date
    commission: Annotated[str, Meta(min_length=1, max_length=300, description='"8%" or tiers "0:5%,500000:8%"')]
    tiers_apply: Literal["marginal", "whole"] = "marginal"
    discount: Annotated[str, Meta(max_length=20)] | None = None
    territories: list[Short] = []
    product_lines: list[Short] = []
    remind_days: list[Annotated[int, Meta(ge=1, le=3650)]] | None = None


class Registration(Struct):
    id: int
    partner_id: int
    partner: str | None
    customer_id: int
    customer: str | None
    product: str | None
    expected_amount: str
    expected_close: date
    status: str
    conflicts: list[dict[str, Any]]
    protected_until: date | None
    decision_reason: str | None
    decided_at: datetime | None
    decided_by: int | None
    won_amount: str | None
    closed_on: date | None
    close_reason: str | None
    notes: str | None
    last_progress_at: datetime | None
    created_at: datetime | None
    created_by: int | None


class RegistrationCreate(Struct, forbid_unknown_fields=True):
    partner_id: DbId
    customer_id: DbId
    amount: Amount
    close: date
    product: Annotated[str, Meta(max_length=100)] | None = None
    notes: Notes | None = None


class Approval(Struct, forbid_unknown_fields=True):
    reason: Text | None = None
    override: bool = False


class Rejection(Struct, forbid_unknown_fields=True):
    reason: Reason


class Progress(Struct, forbid_unknown_fields=True):
    note: Annotated[str, Meta(min_length=1, max_length=2000)]


class Won(Struct, forbid_unknown_fields=True):
    amount: Amount
    on: date | None = msgspec.field(default=None, name="date")


class Lost(Struct, forbid_unknown_fields=True):
    reason: Text | None = None
    on: date | None = msgspec.field(default=None, name="date")


class Assignment(Struct):
    id: int
    customer_id: int
    lead: str | None
    partner_id: int
    partner: str | None
    method: str
    score: str | None
    status: str
    assigned_at: datetime
    deadline_at: datetime
    responded_at: datetime | None
    reason: str | None
    previous_id: int | None
    assigned_by: int | None
    response_hours: float | None
    notice: str | None = None
    candidates: list[dict[str, Any]] = []


class AssignRequest(Struct, forbid_unknown_fields=True):
    partner_id: DbId | None = None
    auto: bool = False
    hours: Annotated[int, Meta(ge=1, le=8760)] | None = None
    replace: bool = False
    reason: Text | None = None


class Decline(Struct, forbid_unknown_fields=True):
    reason: Text | None = None


class CommissionLine(Struct):
    id: int
    partner_id: int
    registration_id: int
    agreement_id: int
    period: str
    kind: str
    base_amount: str
    amount: str
    detail: dict[str, Any]
    reverses_id: int | None


class CommissionSummary(Struct):
    partner_id: int
    partner: str | None
    deals: int
    revenue: str
    commission: str
    reversals: str
    net: str


class CommissionRequest(Struct, forbid_unknown_fields=True):
    period: PeriodText
    partner_id: DbId | None = None


class CommissionRun(Struct):
    period: str
    from_: date = msgspec.field(name="from")
    to: date | None = None
    computed: int = 0
    lines: list[CommissionLine] = []
    skipped: list[dict[str, Any]] = []
    partners: list[CommissionSummary] = []
    total: str = "0.00"


def _service(uow: Any, permission: str | None = "partners.view") -> Any:
    """The service, with the permission the CLI's command requires."""
    if permission:
        uow.require(permission)
    return uow.service("partners")


# -- partners -------------------------------------------------------------------------------------


@get("/", summary="Partners (filters: status, type, grade, manager)")
def list_partners(request: Request, status: Filter = None, type: Filter = None, grade: Filter = None,
                  manager: Filter = None) -> list[Partner]:
    with request_uow(request) as uow:
        return [view(p, Partner) for p in _service(uow).list(status=status, type=type, grade=grade, manager=manager)]


@post("/", summary="Mark an organisation (a customer) as a partner")
def add_partner(request: Request, data: Annotated[PartnerCreate, Body()]) -> Partner:
    with request_uow(request) as uow:
        return view(_service(uow, None).add(
            data.customer_id, type=data.type, grade=data.grade, territories=data.territories, industries=data.industries,
            manager=data.manager, status=data.status, max_open_leads=data.max_open_leads, notes=data.notes, reason=data.reason), Partner)


@get("/{partner_id:int}", summary="A partner")
def get_partner(request: Request, partner_id: IdParam) -> Partner:
    with request_uow(request) as uow:
        return view(_service(uow).get(partner_id), Partner)


@patch("/{partner_id:int}", summary="Change a partner's type, grade, territory, industries, manager, capacity or notes")
def patch_partner(request: Request, partner_id: IdParam, data: Annotated[PartnerPatch, Body()]) -> Partner:
    with request_uow(request) as uow:
        changes = {k: v for k, v in structs.asdict(data).items() if k != "reason"}
        return view(_service(uow, None).update(partner_id, reason=data.reason, **changes), Partner)


@post("/{partner_id:int}/status", summary="Move a partner along its lifecycle (terminating needs a reason)", status_code=200)
def change_status(request: Request, partner_id: IdParam, data: Annotated[StatusChange, Body()]) -> Partner:
    with request_uow(request) as uow:
        return view(_service(uow, None).set_status(partner_id, data.status, data.reason), Partner)


@get("/{partner_id:int}/scorecard", summary="A partner's performance and the grade its results earn")
def scorecard(request: Request, partner_id: IdParam, period: PeriodParam = None) -> dict[str, Any]:
    with request_uow(request) as uow:
        return jsonable(_service(uow).scorecard(partner_id, period))


@get("/performance", summary="Per partner and period: deals, revenue, pipeline, leads, response time, commissions")
def performance(request: Request, period: PeriodParam = None) -> list[dict[str, Any]]:
    with request_uow(request) as uow:
        return jsonable(_service(uow).performance(period))


# -- agreements -----------------------------------------------------------------------------------


@get("/agreements", summary="Agreements (filters: partner_id, expiring within days, current only)")
def list_agreements(request: Request, partner_id: Annotated[int | None, Parameter(ge=1, le=2**31 - 1)] = None,
                    expiring: Annotated[int | None, Parameter(ge=0, le=3650)] = None,
                    current: Annotated[bool, Parameter(description="Only agreements not yet ended")] = False) -> list[Agreement]:
    with request_uow(request) as uow:
        rows = _service(uow).agreements(partner_id, expiring_within=expiring, include_ended=not current)
        return [view(a, Agreement) for a in rows]


@post("/{partner_id:int}/agreements", summary="Add an agreement: dates, territory, product lines, discount, commission terms")
def add_agreement(request: Request, partner_id: IdParam, data: Annotated[AgreementCreate, Body()]) -> Agreement:
    with request_uow(request) as uow:
        return view(_service(uow, None).add_agreement(
            partner_id, starts_on=data.starts_on, ends_on=data.ends_on, commission=data.commission, tiers_apply=data.tiers_apply,
            discount=data.discount, territories=data.territories, product_lines=data.product_lines,
            remind_days=data.remind_days), Agreement)


# -- deal registrations ---------------------------------------------------------------------------


@get("/registrations", summary="Deal registrations, newest first (filters: partner_id, customer_id, status)")
def list_registrations(request: Request, partner_id: Annotated[int | None, Parameter(ge=1, le=2**31 - 1)] = None,
                       customer_id: Annotated[int | None, Parameter(ge=1, le=2**31 - 1)] = None, status: Filter = None,
                       limit: Limit = 200) -> list[Registration]:
    with request_uow(request) as uow:
        rows = _service(uow).registrations(partner_id=partner_id, customer_id=customer_id, status=status, limit=limit)
        return [view(r, Registration) for r in rows]


@post("/registrations", summary="Register a partner's deal: conflicts are checked; a clean one is approved at once")
def register(request: Request, data: Annotated[RegistrationCreate, Body()]) -> Registration:
    with request_uow(request) as uow:
        return view(_service(uow, None).register(data.partner_id, data.customer_id, amount=data.amount, close=data.close,
                                                 product=data.product, notes=data.notes), Registration)


@get("/registrations/{registration_id:int}", summary="A deal registration")
def get_registration(request: Request, registration_id: IdParam) -> Registration:
    with request_uow(request) as uow:
        return view(_service(uow).registration_view(registration_id), Registration)


@post("/registrations/{registration_id:int}/approve", summary="Approve (override standing conflicts with a reason)", status_code=200)
def approve(request: Request, registration_id: IdParam, data: Annotated[Approval | None, Body()] = None) -> Registration:
    data = data or Approval()
    with request_uow(request) as uow:
        return view(_service(uow, None).approve(registration_id, data.reason, override=data.override), Registration)


@post("/registrations/{registration_id:int}/reject", summary="Reject a pending registration", status_code=200)
def reject(request: Request, registration_id: IdParam, data: Annotated[Rejection, Body()]) -> Registration:
    with request_uow(request) as uow:
        return view(_service(uow, None).reject(registration_id, data.reason), Registration)


@post("/registrations/{registration_id:int}/progress", summary="Record progress: protection runs again from today", status_code=200)
def progress(request: Request, registration_id: IdParam, data: Annotated[Progress, Body()]) -> Registration:
    with request_uow(request) as uow:
        return view(_service(uow, None).progress(registration_id, data.note), Registration)


@post("/registrations/{registration_id:int}/won", summary="Mark an approved deal won", status_code=200)
def won(request: Request, registration_id: IdParam, data: Annotated[Won, Body()]) -> Registration:
    with request_uow(request) as uow:
        return view(_service(uow, None).won(registration_id, data.amount, data.on), Registration)


@post("/registrations/{registration_id:int}/lost", summary="Mark an approved deal lost", status_code=200)
def lost(request: Request, registration_id: IdParam, data: Annotated[Lost | None, Body()] = None) -> Registration:
    data = data or Lost()
    with request_uow(request) as uow:
        return view(_service(uow, None).lost(registration_id, data.reason, data.on), Registration)


# -- lead assignment ------------------------------------------------------------------------------


@get("/assignments", summary="Lead offers, newest first (filters: lead_id, partner_id, status)")
def list_assignments(request: Request, lead_id: Annotated[int | None, Parameter(ge=1, le=2**31 - 1)] = None,
                     partner_id: Annotated[int | None, Parameter(ge=1, le=2**31 - 1)] = None, status: Filter = None,
                     limit: Limit = 200) -> list[Assignment]:
    with request_uow(request) as uow:
        rows = _service(uow).assignments(lead_id=lead_id, partner_id=partner_id, status=status, limit=limit)
        return [view(a, Assignment) for a in rows]


@post("/leads/{lead_id:int}/assign", summary="Offer a lead to a partner: the best one (auto) or the one named")
def assign(request: Request, lead_id: IdParam, data: Annotated[AssignRequest, Body()]) -> Assignment:
    with request_uow(request) as uow:
        return view(_service(uow, None).assign(lead_id, partner_id=data.partner_id, auto=data.auto, hours=data.hours,
                                               replace=data.replace, reason=data.reason), Assignment)


@post("/assignments/{assignment_id:int}/accept", summary="The partner accepts the lead", status_code=200)
def accept(request: Request, assignment_id: IdParam) -> Assignment:
    with request_uow(request) as uow:
        return view(_service(uow, None).accept(assignment_id), Assignment)


@post("/assignments/{assignment_id:int}/decline", summary="The partner declines: the lead goes to the next best partner",
      status_code=200)
def decline(request: Request, assignment_id: IdParam, data: Annotated[Decline | None, Body()] = None) -> Assignment:
    data = data or Decline()
    with request_uow(request) as uow:
        return view(_service(uow, None).decline(assignment_id, data.reason), Assignment)


# -- commissions ----------------------------------------------------------------------------------


@post("/commissions", summary="Compute commissions for a period (never pays a deal twice; send an Idempotency-Key)",
      status_code=200)
def compute_commissions(request: Request, data: Annotated[CommissionRequest, Body()]) -> CommissionRun:
    with request_uow(request) as uow:
        return view(_service(uow, None).compute_commissions(data.period, data.partner_id), CommissionRun)


@get("/commissions", summary="Commission totals per partner for a period")
def commission_summary(request: Request, period: Annotated[str, Parameter(min_length=4, max_length=30)],
                       partner_id: Annotated[int | None, Parameter(ge=1, le=2**31 - 1)] = None) -> list[CommissionSummary]:
    with request_uow(request) as uow:
        service = _service(uow, "partners.commissions")
        return [view(s, CommissionSummary) for s in service.commission_summary(period, partner_id)]


ROUTES = [
    list_partners, add_partner, get_partner, patch_partner, change_status, scorecard, performance,
    list_agreements, add_agreement,
    list_registrations, register, get_registration, approve, reject, progress, won, lost,
    list_assignments, assign, accept, decline,
    compute_commissions, commission_summary,
]

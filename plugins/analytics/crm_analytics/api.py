"""The analytics plugin's REST endpoints, mounted at ``/api/v1/analytics/``
(see the core's ``docs/api.md``): a customer's scores, the CLV and churn
lists, fitted models and grading rules (``analytics:read`` and
``analytics.view``); scoring and fitting (``analytics:write`` and
``analytics.compute``; ``analytics.write_back`` with ``write_back``).
Listings are limited to the customers the caller may see, as on the CLI.

Imported only when ``crm serve`` builds the application.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

import litestar
import msgspec
from litestar import Request
from litestar.params import Body, Parameter
from msgspec import Meta, Struct

from crmcore import NotFound
from crmcore.api import request_uow
from crmcore.storage.rows import jsonable


def _sync(decorator: Any) -> Any:
    return lambda *args, **kwargs: decorator(*args, sync_to_thread=True, tags=["analytics"], **kwargs)


get, post = _sync(litestar.get), _sync(litestar.post)

IdParam = Annotated[int, Parameter(ge=1, le=2**31 - 1, description="Id")]
Limit = Annotated[int | None, Parameter(ge=1, le=10_000, description="At most this many")]
Share = Annotated[float, Meta(ge=0, le=1)]
Span = Annotated[str, Meta(min_length=1, max_length=20, description="90d, 39w, 12m, 1y (windows also: all)")]


def view(value: Any, model: type) -> Any:
    return msgspec.convert(jsonable(value), model, strict=False)


# -- bodies ----------------------------------------------------------------------------------------


class RfmScore(Struct):
    as_of: date
    window_days: int | None
    computed_at: datetime
    last_purchase: date
    recency_days: int
    frequency: int
    monetary: str
    r_score: int
    f_score: int
    m_score: int
    cell: str
    segment: str
    stale: bool


class ValueScore(Struct):
    as_of: date
    window_days: int | None
    computed_at: datetime
    revenue: str
    purchases: int
    rank: int
    cumulative_share: float
    abc_class: str
    grade: str
    stale: bool


class ClvScore(Struct):
    model_id: int
    as_of: date
    computed_at: datetime
    horizon_weeks: float
    margin: float
    discount: float
    x: int
    t_x: float
    T: float
    mean_spend: float | None
    p_alive: float
    churn_risk: float
    expected_purchases: float
    expected_spend: float
    clv: float
    clv_percentile: float
    stale: bool


class LifecycleScore(Struct):
    as_of: date
    computed_at: datetime
    stage: str
    transactions: int
    days_since_last: int
    mean_gap_days: float | None
    recent_gap_days: float | None
    trend: float | None
    rule: str
    stale: bool


class CustomerScores(Struct):
    customer_id: int
    rfm: RfmScore | None = None
    value: ValueScore | None = None
    clv: ClvScore | None = None
    lifecycle: LifecycleScore | None = None


class ClvRow(Struct):
    customer_id: int
    code: str | None
    name: str
    p_alive: float
    churn_risk: float
    expected_purchases: float
    expected_spend: float
    clv: float
    clv_percentile: float
    x: int
    as_of: date
    stale: bool


class ChurnRow(Struct):
    customer_id: int
    code: str | None
    name: str
    owner_id: int | None
    churn_risk: float
    p_alive: float
    repeat_purchases: int
    mean_spend: float | None
    clv: float
    expected_spend: float
    value_at_risk: float
    as_of: date
    stale: bool


class ModelPeriod(Struct):
    from_: date | None = msgspec.field(default=None, name="from")
    to: date | None = None


class Model(Struct):
    model_id: int
    bgnbd: dict[str, float]
    gamma_gamma: dict[str, float] | None
    period: ModelPeriod
    customers: int
    repeat_customers: int
    log_likelihood: dict[str, float | None]
    fitted_at: datetime
    warnings: list[str]


class Rule(Struct):
    kind: str
    code: str
    label: str
    position: int
    max_cumulative_share: float | None
    abc: str | None
    top_share: float | None
    min_revenue: str | None
    min_purchases: int | None
    condition: str


class ScoreRequest(Struct, forbid_unknown_fields=True):
    as_of: date | None = None
    window: Span = "365d"
    horizon: Span = "52w"
    margin: Annotated[float, Meta(gt=0, le=1)] = 1.0
    discount: Annotated[float, Meta(ge=0, lt=10)] = 0.0
    write_back: bool = False


class FitRequest(Struct, forbid_unknown_fields=True):
    period_from: date | None = None
    period_to: date | None = None


def _service(uow: Any, permission: str | None = "analytics.view") -> Any:
    if permission:
        uow.require(permission)
    return uow.service("analytics")


# -- reading ---------------------------------------------------------------------------------------


@get("/customers/{customer_id:int}", summary="Every stored score of one customer (RFM, value grade, CLV and churn, lifecycle)")
def customer_scores(request: Request, customer_id: IdParam) -> CustomerScores:
    with request_uow(request) as uow:
        service = _service(uow)
        uow.customers.get(customer_id)  # 404 outside the caller's scope
        scores = service.customer_scores(customer_id)
        if scores is None:
            raise NotFound(f"customer {customer_id} has no scores yet: run a scoring (POST /api/v1/analytics/score)")
        return view({"customer_id": customer_id, **scores}, CustomerScores)


@get("/clv", summary="Stored CLV scores of the customers the caller may see, best first (order=churn: riskiest first)")
def clv_list(request: Request, limit: Limit = 100, above: Annotated[float | None, Parameter(ge=0, le=1)] = None,
             order: Annotated[Literal["clv", "churn"], Parameter(description="clv or churn")] = "clv") -> list[ClvRow]:
    with request_uow(request) as uow:
        return [view(row, ClvRow) for row in _service(uow).clv_list(limit=limit, above=above, order=order)]


@get("/churn", summary="Customers whose churn risk exceeds `above`: most valuable first (order=risk: riskiest first)")
def churn_list(request: Request, above: Annotated[float, Parameter(ge=0, le=1)] = 0.7, limit: Limit = 100,
               order: Annotated[Literal["value", "risk"], Parameter(description="value or risk")] = "value") -> list[ChurnRow]:
    with request_uow(request) as uow:
        return [view(row, ChurnRow) for row in _service(uow).churn_list(above=above, limit=limit, order=order)]


@get("/models", summary="Fitted models, newest first")
def models(request: Request, limit: Annotated[int, Parameter(ge=1, le=1000)] = 20) -> list[Model]:
    with request_uow(request) as uow:
        return [view(m, Model) for m in _service(uow).models(limit)]


@get("/models/latest", summary="The latest fitted model")
def latest_model(request: Request) -> Model:
    with request_uow(request) as uow:
        return view(_service(uow).model(None), Model)


@get("/models/{model_id:int}", summary="A fitted model")
def model(request: Request, model_id: IdParam) -> Model:
    with request_uow(request) as uow:
        return view(_service(uow).model(model_id), Model)


@get("/rules", summary="Grading rules in the order they apply (kind: abc or grade)")
def rules(request: Request, kind: Annotated[Literal["abc", "grade"] | None, Parameter(description="abc or grade")] = None) -> list[Rule]:
    with request_uow(request) as uow:
        found = _service(uow).rules(kind)
        return [view({"kind": r.kind, "code": r.code, "label": r.label, "position": r.position,
                      "max_cumulative_share": r.max_cumulative_share, "abc": r.abc, "top_share": r.top_share,
                      "min_revenue": r.min_revenue, "min_purchases": r.min_purchases, "condition": r.describe()}, Rule)
                for r in found]


# -- computing -------------------------------------------------------------------------------------


@post("/score", summary="Compute and store every score: RFM, grades, model fit, CLV and churn, lifecycle", status_code=200)
def score(request: Request, data: Annotated[ScoreRequest | None, Body()] = None) -> dict[str, Any]:
    from crm_analytics.data import parse_span_days, parse_window

    data = data or ScoreRequest()
    with request_uow(request) as uow:
        window_days = parse_window(data.window)
        weeks = parse_span_days(data.horizon, "horizon", default_unit="w") / 7.0
        result = _service(uow, None).score(as_of=data.as_of, window_days=window_days, horizon_weeks=weeks, margin=data.margin,
                                           discount=data.discount, write_back=data.write_back)
        return jsonable(result)


@post("/fit", summary="Fit and store a BG/NBD + Gamma-Gamma model on the purchases of a period")
def fit(request: Request, data: Annotated[FitRequest | None, Body()] = None) -> Model:
    data = data or FitRequest()
    with request_uow(request) as uow:
        return view(_service(uow, None).fit(period_from=data.period_from, period_to=data.period_to), Model)


ROUTES = [customer_scores, clv_list, churn_list, models, latest_model, model, rules, score, fit]

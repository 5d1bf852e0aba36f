"""``uow.service("sales")``: one entry point to the plugin's operations.

Other plugins reach it duck-typed (``uow.has_service("sales")``), e.g.
``uow.service("sales").opportunities.add(customer_id, name=..., amount=...)``.
"""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from crmcore import UnitOfWork


class SalesService:
    def __init__(self, uow: "UnitOfWork"):
        self.uow = uow

    @cached_property
    def opportunities(self) -> Any:
        from crm_sales.opportunities import OpportunityService

        return OpportunityService(self.uow)

    @property
    def stages(self) -> Any:
        return self.opportunities.stages

    @cached_property
    def reports(self) -> Any:
        from crm_sales.reports import ReportService

        return ReportService(self.uow, self.opportunities)

    @cached_property
    def plans(self) -> Any:
        from crm_sales.plans import PlanService

        return PlanService(self.uow)

    @cached_property
    def quotes(self) -> Any:
        from crm_sales.quotes import QuoteService

        return QuoteService(self.uow)

    @cached_property
    def keypersons(self) -> Any:
        from crm_sales.keypersons import KeyPersonService

        return KeyPersonService(self.uow)

    def open(self, customer_id: int, *, name: str | None = None, amount: Any = 0, close: Any = None,
             source: str = "self", owner_id: int | None = None, **fields: Any) -> Any:
        """Open an opportunity (a short form of ``opportunities.add`` for
        other plugins reaching sales duck-typed)."""
        return self.opportunities.add(customer_id, name=name or "新商机", amount=amount, expected_close=close,
                                      source=source, owner_id=owner_id, **fields)

    def customer_summary(self, customer_id: int) -> dict[str, Any]:
        """What the customer panel shows: open pipeline, won, latest deals."""
        from crm_sales.reports import weighted

        stages = self.stages.by_code()
        found = self.opportunities.list(customer_id=customer_id)
        found.sort(key=lambda o: (not stages[o.stage].is_open, o.expected_close or _far(), o.id))
        open_ = [o for o in found if stages[o.stage].is_open]
        won = [o for o in found if stages[o.stage].outcome == "won"]
        return {
            "open": len(open_),
            "open_amount": sum((o.amount for o in open_), start=_zero()),
            "weighted_amount": sum((weighted(o.amount, o.probability) for o in open_), start=_zero()),
            "won": len(won),
            "won_amount": sum((o.amount for o in won), start=_zero()),
            "opportunities": [
                {"id": o.id, "name": o.name, "stage": o.stage, "stage_label": stages[o.stage].label,
                 "stage_label_en": stages[o.stage].label_en or stages[o.stage].label, "amount": o.amount,
                 "probability": o.probability, "expected_close": o.expected_close}
                for o in found[:10]
            ],
        }


def _zero() -> Any:
    from decimal import Decimal

    return Decimal("0.00")


def _far() -> Any:
    from datetime import date

    return date.max

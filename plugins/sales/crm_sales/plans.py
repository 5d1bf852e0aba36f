"""Monthly visit plans (拜访计划) and plan-versus-actual.

A plan row is one intended visit: salesperson, month, customer, purpose,
planned date. Actual visits are the core's ``visit`` activities; a visit
fulfils a plan when it is on the same customer, owned by the same person and
happened (local time) in the plan's month. Matching is computed when asked,
nearest date first, so cancelled, imported, edited or merged activities are
always reflected without bookkeeping.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from typing import TYPE_CHECKING, Any, Iterable

from sqlalchemy import delete, insert, select, update

from crmcore import NotFound, PermissionDenied, ValidationError, from_row
from crmcore.tables import activities, customers, users

from crm_sales.domain import VisitPlan
from crm_sales.tables import visit_plans
from crm_sales.values import local_date, local_midnight, month_bounds, month_of, parse_day, parse_month

if TYPE_CHECKING:
    from crmcore import UnitOfWork

ENTITY = "sales_visit_plan"


class PlanService:
    def __init__(self, uow: "UnitOfWork"):
        self.uow = uow
        self.zone = uow.crm.config.timezone

    def _user(self, key: Any, field: str = "user") -> Any:
        user = self.uow.users.find(key)
        if user is None:
            raise ValidationError.field(field, f"no user {key!r}")
        return user

    def _check_planner(self, user_id: int) -> None:
        """Salespeople plan their own visits; planning for someone else takes
        ``sales.manage``."""
        self.uow.require("sales.edit")
        if user_id != self.uow.actor.id and not self.uow.actor.can("sales.manage"):
            raise PermissionDenied("sales.manage", "to plan visits for someone else")

    def add(self, *, user: Any, month: Any, customer_id: int, purpose: str, planned_date: Any,
            opportunity_id: int | None = None) -> VisitPlan:
        person = self._user(user)
        if not person.active:
            raise ValidationError.field("user", f"user {person.username!r} is deactivated")
        self._check_planner(person.id)
        month = parse_month(month)
        day = parse_day(planned_date, "date")
        if day is None:
            raise ValidationError.field("date", "is required")
        if month_of(day) != month:
            raise ValidationError.field("date", f"{day.isoformat()} is not in {month}")
        purpose = (purpose or "").strip()
        if not purpose:
            raise ValidationError.field("purpose", "must not be empty")
        customer = self.uow.customers.get(customer_id)
        if not customer.active:
            raise ValidationError.field("customer", f"customer {customer_id} is cancelled")
        if opportunity_id is not None:
            opportunity = self.uow.service("sales").opportunities.get(opportunity_id)
            if opportunity.customer_id != customer_id:
                raise ValidationError.field("opportunity", f"opportunity {opportunity_id} is not for customer {customer_id}")
        plan = VisitPlan(user_id=person.id, month=month, customer_id=customer_id, purpose=purpose[:300],
                         planned_date=day, opportunity_id=opportunity_id, created_at=self.uow.now)
        values = {k: v for k, v in vars(plan).items() if k != "id"}
        plan.id = self.uow.execute(insert(visit_plans).values(values)).inserted_primary_key[0]
        self.uow.audit.record(ENTITY, plan.id, "create", {**values, "created_at": None})
        return plan

    def get(self, plan_id: int) -> VisitPlan:
        row = self.uow.execute(select(visit_plans).where(visit_plans.c.id == plan_id)).mappings().first()
        if row is None or self.uow.customers.find(row["customer_id"]) is None:
            raise NotFound(f"visit plan {plan_id} not found")
        return from_row(VisitPlan, row)

    def remove(self, plan_id: int) -> VisitPlan:
        plan = self.get(plan_id)
        self._check_planner(plan.user_id)
        self.uow.execute(delete(visit_plans).where(visit_plans.c.id == plan_id))
        self.uow.audit.record(ENTITY, plan_id, "delete", {"customer_id": plan.customer_id, "planned_date": plan.planned_date})
        return plan

    def plans(self, *, user_id: int | None = None, month: str | None = None) -> list[VisitPlan]:
        query = select(visit_plans).where(visit_plans.c.customer_id.in_(self.uow.customers.scope(select(customers.c.id))))
        if user_id is not None:
            query = query.where(visit_plans.c.user_id == user_id)
        if month is not None:
            query = query.where(visit_plans.c.month == month)
        rows = self.uow.execute(query.order_by(visit_plans.c.month, visit_plans.c.user_id, visit_plans.c.planned_date, visit_plans.c.id))
        return [from_row(VisitPlan, row) for row in rows.mappings()]

    def _visits(self, user_ids: Iterable[int], months: Iterable[str]) -> dict[tuple[int, str], list[dict[str, Any]]]:
        """Visit activities (not cancelled) of these people in these months,
        keyed by (owner, month)."""
        user_ids, months = sorted(set(user_ids)), sorted(set(months))
        if not user_ids or not months:
            return {}
        start = local_midnight(month_bounds(months[0])[0], self.zone)
        end = local_midnight(month_bounds(months[-1])[1], self.zone)
        rows = self.uow.execute(
            select(activities.c.id, activities.c.customer_id, activities.c.owner_id, activities.c.occurred_at,
                   activities.c.subject, activities.c.body)
            .where(activities.c.type == "visit", activities.c.cancelled.is_(False), activities.c.owner_id.in_(user_ids),
                   activities.c.occurred_at >= start, activities.c.occurred_at < end,
                   activities.c.customer_id.in_(self.uow.customers.scope(select(customers.c.id))))
            .order_by(activities.c.occurred_at, activities.c.id)
        ).mappings()
        found: dict[tuple[int, str], list[dict[str, Any]]] = defaultdict(list)
        wanted = set(months)
        for row in rows:
            day = local_date(row["occurred_at"], self.zone)
            if month_of(day) in wanted:
                found[(row["owner_id"], month_of(day))].append({**row, "date": day})
        return found

    def matched(self, *, user_id: int | None = None, month: str | None = None) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """(plans with their matching visit or None, visits matching no plan)."""
        plans = self.plans(user_id=user_id, month=month)
        user_ids = {p.user_id for p in plans} | ({user_id} if user_id is not None else set())
        months = {p.month for p in plans} | ({month} if month else set())
        visits = self._visits(user_ids, months)
        grouped: dict[tuple[int, str], list[VisitPlan]] = defaultdict(list)
        for plan in plans:
            grouped[(plan.user_id, plan.month)].append(plan)
        result: dict[int, dict[str, Any] | None] = {}
        unplanned: list[dict[str, Any]] = []
        for key in sorted(set(grouped) | set(visits)):
            free = list(visits.get(key, []))
            for plan in sorted(grouped.get(key, []), key=lambda p: (p.planned_date, p.id)):
                candidates = [v for v in free if v["customer_id"] == plan.customer_id]
                if not candidates:
                    result[plan.id] = None
                    continue
                best = min(candidates, key=lambda v: (abs((v["date"] - plan.planned_date).days), v["date"], v["id"]))
                free.remove(best)
                result[plan.id] = best
            unplanned.extend(free)
        today = local_date(self.uow.now, self.zone)
        names = dict(self.uow.execute(select(users.c.id, users.c.username)).all())
        customer_ids = {p.customer_id for p in plans} | {v["customer_id"] for v in unplanned}
        customer_names = dict(self.uow.execute(select(customers.c.id, customers.c.name).where(customers.c.id.in_(customer_ids))).all()) if customer_ids else {}
        rows = []
        for plan in plans:
            visit = result.get(plan.id)
            if visit is not None:
                status = "done"
            else:
                status = "missed" if plan.planned_date < today else "planned"
            rows.append({
                "id": plan.id, "user": names.get(plan.user_id), "month": plan.month, "planned_date": plan.planned_date,
                "customer_id": plan.customer_id, "customer": customer_names.get(plan.customer_id), "purpose": plan.purpose,
                "opportunity_id": plan.opportunity_id, "status": status,
                "visit_id": visit["id"] if visit else None, "visited_on": visit["date"] if visit else None,
                "visit_subject": visit["subject"] if visit else None, "report": _report(visit) if visit else None,
            })
        extra = [{"visit_id": v["id"], "user": names.get(v["owner_id"]), "month": month_of(v["date"]), "visited_on": v["date"],
                  "customer_id": v["customer_id"], "customer": customer_names.get(v["customer_id"]), "visit_subject": v["subject"], "report": _report(v)}
                 for v in unplanned]
        return rows, extra

    def report(self, *, user_id: int | None = None, month: str | None = None) -> list[dict[str, Any]]:
        """Plan versus actual per person and month."""
        rows, extra = self.matched(user_id=user_id, month=month)
        table: dict[tuple[str | None, str], dict[str, Any]] = {}

        def entry(user: str | None, m: str) -> dict[str, Any]:
            return table.setdefault((user, m), {"user": user, "month": m, "planned": 0, "done": 0, "missed": 0, "pending": 0,
                                                "unplanned_visits": 0, "without_report": 0})

        for row in rows:
            e = entry(row["user"], row["month"])
            e["planned"] += 1
            e[{"done": "done", "missed": "missed", "planned": "pending"}[row["status"]]] += 1
            if row["status"] == "done" and not row["report"]:
                e["without_report"] += 1
        for visit in extra:
            entry(visit["user"], visit["month"])["unplanned_visits"] += 1
        result = []
        for key in sorted(table, key=lambda k: (k[1], k[0] or "")):
            e = table[key]
            e["completion_rate"] = round(100 * e["done"] / e["planned"], 1) if e["planned"] else None
            result.append(e)
        return result

    def reassign(self, old_user_id: int, new_user_id: int | None, from_day: date) -> int:
        """Hand a leaver's plans from ``from_day`` on to the successor."""
        if new_user_id is None:
            return 0
        moved = self.uow.execute(update(visit_plans).where(visit_plans.c.user_id == old_user_id, visit_plans.c.planned_date >= from_day)
                                 .values(user_id=new_user_id)).rowcount
        if moved:
            self.uow.audit.record(ENTITY, None, "reassign", {"user_id": (old_user_id, new_user_id), "count": moved})
        return moved

    def move_customer(self, from_id: int, to_id: int) -> int:
        return self.uow.execute(update(visit_plans).where(visit_plans.c.customer_id == from_id).values(customer_id=to_id)).rowcount


def _report(visit: dict[str, Any]) -> str | None:
    """The visit report: the activity's body (拜访小结)."""
    return (visit.get("body") or "").strip() or None

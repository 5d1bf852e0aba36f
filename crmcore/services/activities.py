"""Activities: the customer's timeline (calls, visits, tasks, purchases …)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

import attrs
from sqlalchemy import insert, select, update

from crmcore.domain.activities import Activity
from crmcore.errors import Conflict, NotFound, ValidationError
from crmcore.storage.bulk import Same, allocate_ids, insert_columns
from crmcore.storage.rows import diff, from_row, to_row
from crmcore.storage.tables import activities, contacts, customers

if TYPE_CHECKING:
    from crmcore.storage.unit_of_work import UnitOfWork

EDITABLE = ("subject", "body", "occurred_at", "due_at", "done", "amount", "owner_id", "payload", "contact_id")
LOG_FIELDS = (*EDITABLE, "source_plugin")
#: Columns an activity's own fields fill (id and created_at are given on insert).
_ROW_COLUMNS = tuple(name for name in activities.c.keys() if name in attrs.fields_dict(Activity) and name not in ("id", "created_at"))


class ActivityService:
    def __init__(self, uow: "UnitOfWork"):
        self.uow = uow

    def log(self, customer_id: int, type: str, **fields: Any) -> Activity:
        """Put an activity on a customer's timeline."""
        self.uow.require("customers.edit")
        unknown = sorted(set(fields) - set(LOG_FIELDS))
        if unknown:
            raise ValidationError([f"{name}: not an activity field" for name in unknown])
        customer = self.uow.customers.get(customer_id)
        if not customer.active:
            raise Conflict(f"customer {customer_id} is cancelled")
        activity = Activity(customer_id=customer_id, type=type, **fields)
        self.check(activity)
        if activity.owner_id is None:
            activity.owner_id = self.uow.actor.id
        self.uow.validate("crm_validate_activity", activity=activity)
        activity.created_at = self.uow.now
        row = to_row(activity, activities.c)
        del row["id"]
        activity.id = self.uow.execute(insert(activities).values(row)).inserted_primary_key[0]
        self.uow.audit.record("activity", activity.id, "create", {
            "customer_id": customer_id, "type": activity.type, "subject": activity.subject,
            **({"amount": str(activity.amount)} if activity.amount is not None else {}),
        })
        self.uow.fire("crm_activity_logged", ("activity", activity.id), activity=activity)
        return activity

    def log_many(self, entries: list[Activity], *, source: str = "bulk", checked: bool = False) -> list[int]:
        """Put many activities on timelines at once (imports, a replayed call
        log): one insert per batch, one audit entry and one
        ``crm_activities_imported`` call, no per-activity hook. Every
        customer must be active and in the actor's scope. Returns the new ids
        in order."""
        self.uow.require("customers.edit")
        if not entries:
            return []
        wanted = sorted({a.customer_id for a in entries})
        visible: set[int] = set()
        for start in range(0, len(wanted), 2000):
            query = select(customers.c.id).where(customers.c.id.in_(wanted[start:start + 2000]), customers.c.active.is_(True))
            visible.update(self.uow.execute(self.uow.customers.scope(query)).scalars())
        missing = [i for i in wanted if i not in visible]
        if missing:
            raise NotFound(f"customers not found or cancelled: {', '.join(map(str, missing[:10]))}")
        validate = bool(self.uow.hook.crm_validate_activity.get_hookimpls())
        for activity in entries:
            if not checked:
                self.check(activity)
            if activity.owner_id is None:
                activity.owner_id = self.uow.actor.id
            if validate:
                self.uow.validate("crm_validate_activity", activity=activity)
        ids = allocate_ids(self.uow, activities, len(entries))
        # column by column: a dict per row costs more than the insert
        columns: dict[str, Any] = {name: [entry.__dict__[name] for entry in entries] for name in _ROW_COLUMNS}
        insert_columns(self.uow.connection, activities, {**columns, "id": ids, "created_at": Same(self.uow.now)}, len(ids))
        for activity, activity_id in zip(entries, ids):
            activity.id = activity_id
        self.uow.audit.record("activity", f"{ids[0]}-{ids[-1]}", "import", {"source": source, "count": len(ids)})
        self.uow.fire("crm_activities_imported", ("activities", ids[0]), activity_ids=list(ids))
        return ids

    def update(self, activity_id: int, **changes: Any) -> Activity:
        self.uow.require("customers.edit")
        unknown = sorted(set(changes) - set(EDITABLE))
        if unknown:
            raise ValidationError([f"{name}: not an activity field" for name in unknown])
        current = self.get(activity_id)
        if current.cancelled:
            raise Conflict(f"activity {activity_id} is cancelled")
        changed = current.evolve(**changes)
        self.check(changed)
        delta = diff(current, changed, EDITABLE)
        if not delta:
            return current
        self.uow.execute(update(activities).where(activities.c.id == activity_id).values({k: getattr(changed, k) for k in delta}))
        self.uow.audit.record("activity", activity_id, "update", delta)
        self.uow.fire("crm_activity_updated", ("activity", activity_id), activity=changed, changes=delta)
        return changed

    def complete(self, activity_id: int) -> Activity:
        """Mark a task done."""
        if not self.uow.crm.activity_types[self.get(activity_id).type].is_task:
            raise ValidationError.field("type", f"activity {activity_id} is not a task")
        return self.update(activity_id, done=True)

    def cancel(self, activity_id: int, reason: str | None = None) -> Activity:
        """Cancel an activity (a refunded purchase, a visit that did not take
        place); it stays on the timeline, marked cancelled."""
        self.uow.require("customers.edit")
        activity = self.get(activity_id)
        if activity.cancelled:
            raise Conflict(f"activity {activity_id} is already cancelled")
        self.uow.execute(update(activities).where(activities.c.id == activity_id).values(cancelled=True))
        activity = activity.evolve(cancelled=True)
        self.uow.audit.record("activity", activity_id, "cancel", {"cancelled": (False, True), "reason": reason})
        self.uow.fire("crm_activity_cancelled", ("activity", activity_id), activity=activity)
        return activity

    def get(self, activity_id: int) -> Activity:
        row = self.uow.execute(select(activities).where(activities.c.id == activity_id)).mappings().first()
        if row is None or self.uow.customers.find(row["customer_id"]) is None:
            raise NotFound(f"activity {activity_id} not found")
        return from_row(Activity, row)

    def list(
        self,
        customer_id: int | None = None,
        *,
        type: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        open_tasks_of: int | None = None,
        include_cancelled: bool = False,
        limit: int = 50,
    ) -> list[Activity]:
        """Newest first. Without ``customer_id``, across the customers the
        actor may see."""
        query = select(activities)
        if customer_id is not None:
            self.uow.customers.get(customer_id)
            query = query.where(activities.c.customer_id == customer_id)
        else:
            query = query.where(activities.c.customer_id.in_(self.uow.customers.scope(select(customers.c.id))))
        if type:
            query = query.where(activities.c.type == type)
        if since:
            query = query.where(activities.c.occurred_at >= since)
        if until:
            query = query.where(activities.c.occurred_at < until)
        if open_tasks_of is not None:
            task_types = [t.name for t in self.uow.crm.activity_types.values() if t.is_task]
            query = query.where(activities.c.owner_id == open_tasks_of, activities.c.done.is_(False), activities.c.type.in_(task_types))
        if not include_cancelled:
            query = query.where(activities.c.cancelled.is_(False))
        query = query.order_by(activities.c.occurred_at.desc(), activities.c.id.desc()).limit(limit)
        return [from_row(Activity, row) for row in self.uow.execute(query).mappings()]

    def check(self, activity: Activity) -> None:
        """Raise ValidationError unless the activity fits its type."""
        kind = self.uow.crm.activity_types.get(activity.type)
        if kind is None:
            known = ", ".join(sorted(self.uow.crm.activity_types))
            raise ValidationError.field("type", f"{activity.type!r} is not an activity type ({known})")
        if kind.has_amount and activity.amount is None:
            raise ValidationError.field("amount", f"required for {activity.type}")
        if not kind.has_amount and activity.amount is not None:
            raise ValidationError.field("amount", f"{activity.type} does not take an amount")
        if activity.due_at is not None and not kind.is_task:
            raise ValidationError.field("due_at", f"only tasks have a due date, not {activity.type}")
        if activity.contact_id is not None:
            owner = self.uow.execute(select(contacts.c.customer_id).where(contacts.c.id == activity.contact_id)).scalar()
            if owner != activity.customer_id:
                raise ValidationError.field("contact", f"contact {activity.contact_id} is not a contact of customer {activity.customer_id}")

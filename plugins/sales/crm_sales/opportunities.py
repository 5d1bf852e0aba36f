"""Pipeline stages and opportunities: create, change, move through stages
(every move kept with time and actor), reassign, move on merge."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Any, Iterable

from sqlalchemy import delete, func, insert, select, update

from crmcore import Conflict, NotFound, ValidationError, from_row
from crmcore.tables import contacts, customers

from crm_sales.domain import OUTCOMES, Opportunity, Stage
from crm_sales.tables import opportunities, opportunity_contacts, stage_changes, stages
from crm_sales.values import money, parse_day, percent

if TYPE_CHECKING:
    from crmcore import UnitOfWork

ENTITY = "sales_opportunity"
COLUMNS = frozenset(opportunities.c.keys())
EDITABLE = ("name", "amount", "expected_close", "probability", "owner_id", "competitors", "notes", "source")


def _norm(text: str) -> str:
    return str(text).strip().lower().replace(" ", "_").replace("-", "_")


class StageService:
    """The configurable pipeline (stages with default probabilities)."""

    def __init__(self, uow: "UnitOfWork"):
        self.uow = uow
        self._cache: list[Stage] | None = None

    def all(self, *, include_inactive: bool = False) -> list[Stage]:
        if self._cache is None:
            rows = self.uow.execute(select(stages).order_by(stages.c.position, stages.c.code)).mappings()
            self._cache = [from_row(Stage, row) for row in rows]
        return [s for s in self._cache if include_inactive or s.active]

    def by_code(self) -> dict[str, Stage]:
        return {s.code: s for s in self.all(include_inactive=True)}

    def resolve(self, text: str, field: str = "stage") -> Stage:
        """A stage by code, Chinese label or English label."""
        key = _norm(text)
        for stage in self.all(include_inactive=True):
            if key in (stage.code, _norm(stage.label), _norm(stage.label_en or "")):
                if not stage.active:
                    raise ValidationError.field(field, f"stage {stage.code!r} is retired")
                return stage
        known = ", ".join(f"{s.code}/{s.label}" for s in self.all())
        raise ValidationError.field(field, f"no stage {text!r} (one of {known})")

    def first_open(self) -> Stage:
        stage = next((s for s in self.all() if s.is_open), None)
        if stage is None:
            raise Conflict("the pipeline has no open stage; add one with `crm sales stages set`")
        return stage

    def outcome_stage(self, outcome: str) -> Stage:
        stage = next((s for s in self.all() if s.outcome == outcome), None)
        if stage is None:
            raise Conflict(f"the pipeline has no {outcome} stage")
        return stage

    def set(self, code: str, *, label: str | None = None, label_en: str | None = None, probability: Any = None,
            position: int | None = None, outcome: str | None = None, active: bool | None = None) -> Stage:
        """Add a stage or change one; existing opportunities keep their own
        probability."""
        self.uow.require("sales.manage")
        code = _norm(code)
        if not code or len(code) > 40 or not code.replace("_", "").isalnum() or not code.isascii():
            raise ValidationError.field("code", f"{code!r} is not a stage code (ASCII letters, digits and _)")
        current = self.by_code().get(code)
        values: dict[str, Any] = {}
        if label is not None:
            if not label.strip():
                raise ValidationError.field("label", "must not be empty")
            values["label"] = label.strip()[:60]
        if label_en is not None:
            values["label_en"] = label_en.strip()[:60] or None
        if probability is not None:
            values["probability"] = percent(probability, "probability")
        if position is not None:
            values["position"] = int(position)
        if outcome is not None:
            if outcome not in OUTCOMES:
                raise ValidationError.field("outcome", f"{outcome!r} is not one of {', '.join(OUTCOMES)}")
            values["outcome"] = outcome
        if active is not None:
            values["active"] = bool(active)
        for other in self.all(include_inactive=True):
            if other.code != code and "label" in values and other.label == values["label"]:
                raise ValidationError.field("label", f"{values['label']!r} is the label of stage {other.code!r}")
        if current is None:
            if "label" not in values or "probability" not in values:
                raise ValidationError("stage: a new stage needs --label and --probability")
            values.setdefault("outcome", "open")
            values.setdefault("position", max((s.position for s in self.all(include_inactive=True)), default=0) + 1)
            values.setdefault("active", True)
            self.uow.execute(insert(stages).values(code=code, **values))
            self.uow.audit.record("sales_stage", code, "create", values)
        else:
            if current.outcome != values.get("outcome", current.outcome):
                used = self.uow.execute(select(func.count()).select_from(opportunities).where(opportunities.c.stage == code)).scalar_one()
                if used:
                    raise Conflict(f"stage {code!r} holds {used} opportunities; its outcome cannot change")
            changes = {k: (getattr(current, k), v) for k, v in values.items() if getattr(current, k) != v}
            if changes:
                self.uow.execute(update(stages).where(stages.c.code == code).values(**values))
                self.uow.audit.record("sales_stage", code, "update", changes)
        self._cache = None
        outcomes = {s.outcome for s in self.all()}
        if not {"open", "won", "lost"} <= outcomes:
            raise ValidationError.field("stage", "the pipeline needs at least one open, one won and one lost stage")
        return self.by_code()[code]


class OpportunityService:
    def __init__(self, uow: "UnitOfWork"):
        self.uow = uow
        self.stages = StageService(uow)

    # -- reading -----------------------------------------------------------------

    def visible(self, query: Any) -> Any:
        """Restrict a query over opportunities to customers the actor may see."""
        return query.where(opportunities.c.customer_id.in_(self.uow.customers.scope(select(customers.c.id))))

    def find(self, opportunity_id: int) -> Opportunity | None:
        row = self.uow.execute(self.visible(select(opportunities).where(opportunities.c.id == opportunity_id))).mappings().first()
        return None if row is None else from_row(Opportunity, row)

    def get(self, opportunity_id: int) -> Opportunity:
        found = self.find(opportunity_id)
        if found is None:
            raise NotFound(f"opportunity {opportunity_id} not found")
        return found

    def list(self, *, owner_id: int | None = None, stage: str | None = None, customer_id: int | None = None,
             open_only: bool = False, closing: tuple[date, date] | None = None, limit: int = 200) -> list[Opportunity]:
        query = self.visible(select(opportunities))
        if owner_id is not None:
            query = query.where(opportunities.c.owner_id == owner_id)
        if stage:
            query = query.where(opportunities.c.stage == self.stages.resolve(stage).code)
        if customer_id is not None:
            query = query.where(opportunities.c.customer_id == customer_id)
        if open_only:
            query = query.where(opportunities.c.stage.in_([s.code for s in self.stages.all(include_inactive=True) if s.is_open]))
        if closing:
            query = query.where(opportunities.c.expected_close >= closing[0], opportunities.c.expected_close < closing[1])
        query = query.order_by(opportunities.c.expected_close.is_(None), opportunities.c.expected_close, opportunities.c.id).limit(limit)
        return [from_row(Opportunity, row) for row in self.uow.execute(query).mappings()]

    def history(self, opportunity_id: int) -> list[dict[str, Any]]:
        self.get(opportunity_id)
        rows = self.uow.execute(
            select(stage_changes).where(stage_changes.c.opportunity_id == opportunity_id).order_by(stage_changes.c.at, stage_changes.c.id)
        ).mappings()
        return [dict(row) for row in rows]

    def key_contact_ids(self, opportunity_id: int) -> list[int]:
        return list(self.uow.execute(
            select(opportunity_contacts.c.contact_id).where(opportunity_contacts.c.opportunity_id == opportunity_id)
            .order_by(opportunity_contacts.c.contact_id)
        ).scalars())

    # -- changing ----------------------------------------------------------------

    def add(self, customer_id: int, *, name: str, amount: Any = 0, expected_close: Any = None, stage: str | None = None,
            probability: Any = None, owner_id: int | None = None, source: str | None = None, source_ref: str | None = None,
            competitors: Iterable[str] = (), notes: str | None = None, opened_at: datetime | None = None,
            on_behalf: bool = False) -> Opportunity:
        """Open an opportunity. The owner defaults to the customer's owner,
        else the actor; the stage to the first open stage; the probability
        to the stage's default. ``on_behalf``: called by another plugin's
        operation (a campaign lead, a partner registration), which checked
        permissions and scope itself."""
        if on_behalf:
            customer = self.uow.execute(select(customers.c.id, customers.c.owner_id, customers.c.active)
                                        .where(customers.c.id == customer_id)).first()
            if customer is None:
                raise NotFound(f"customer {customer_id} not found")
        else:
            self.uow.require("sales.edit")
            customer = self.uow.customers.get(customer_id)
        if not customer.active:
            raise Conflict(f"customer {customer_id} is cancelled")
        name = (name or "").strip()
        if not name:
            raise ValidationError.field("name", "must not be empty")
        if len(name) > 200:
            raise ValidationError.field("name", "is longer than 200 characters")
        chosen = self.stages.resolve(stage) if stage else self.stages.first_open()
        if owner_id is None:
            owner_id = customer.owner_id or self.uow.actor.id
        self._check_owner(owner_id)
        when = opened_at or self.uow.now
        if when.tzinfo is None:
            raise ValidationError.field("opened", "needs a time zone")
        opportunity = Opportunity(
            name=name, customer_id=customer_id, amount=money(amount), stage=chosen.code,
            probability=self._probability(chosen, probability), expected_close=parse_day(expected_close, "close"),
            owner_id=owner_id, source=(source or "self").strip()[:120], source_ref=source_ref,
            competitors=_competitors(competitors), notes=(notes or "").strip() or None,
            created_at=when, updated_at=self.uow.now, stage_changed_at=when,
            closed_at=when if not chosen.is_open else None,
        )
        if source_ref is not None:
            taken = self.uow.execute(select(opportunities.c.id).where(opportunities.c.source_ref == source_ref)).scalar()
            if taken:
                raise Conflict(f"opportunity {taken} was already opened for {source_ref}")
        if chosen.outcome == "lost":
            raise ValidationError.field("stage", "a new opportunity cannot start lost")
        row = {k: v for k, v in vars(opportunity).items() if k in COLUMNS and k != "id"}
        opportunity.id = self.uow.execute(insert(opportunities).values(row)).inserted_primary_key[0]
        self._record_change(opportunity.id, None, chosen.code, opportunity.probability, when, "opened")
        self.uow.audit.record(ENTITY, opportunity.id, "create", {
            "customer_id": customer_id, "name": name, "amount": opportunity.amount, "stage": chosen.code,
            "probability": opportunity.probability, "expected_close": opportunity.expected_close,
            "owner_id": owner_id, "source": opportunity.source,
        })
        self.uow.publish("sales.opportunity.created", event_payload(opportunity))
        return opportunity

    def update(self, opportunity_id: int, **changes: Any) -> Opportunity:
        self.uow.require("sales.edit")
        unknown = sorted(set(changes) - set(EDITABLE))
        if unknown:
            raise ValidationError([f"{name}: not an opportunity field" for name in unknown])
        current = self.get(opportunity_id)
        values: dict[str, Any] = {}
        for key, value in changes.items():
            if key == "name":
                value = (value or "").strip()
                if not value:
                    raise ValidationError.field("name", "must not be empty")
            elif key == "amount":
                value = money(value)
            elif key == "expected_close":
                value = parse_day(value, "close")
            elif key == "probability":
                value = percent(value, "probability")
                outcome = self.stages.by_code()[current.stage].outcome
                if outcome != "open":
                    raise ValidationError.field("probability", f"a {outcome} opportunity keeps its probability")
            elif key == "owner_id":
                self._check_owner(value)
            elif key == "competitors":
                value = _competitors(value)
            elif key in ("notes", "source"):
                value = (value or "").strip() or (None if key == "notes" else "self")
            values[key] = value
        delta = {k: (getattr(current, k), v) for k, v in values.items() if getattr(current, k) != v}
        if not delta:
            return current
        self.uow.execute(update(opportunities).where(opportunities.c.id == opportunity_id)
                         .values({**{k: v for k, (_, v) in delta.items()}, "updated_at": self.uow.now}))
        self.uow.audit.record(ENTITY, opportunity_id, "update", {**delta, "customer_id": current.customer_id})
        return current.evolve(**{k: v for k, (_, v) in delta.items()}, updated_at=self.uow.now)

    def move(self, opportunity_id: int, to: str, *, probability: Any = None, reason: str | None = None,
             note: str | None = None, at: datetime | None = None) -> Opportunity:
        """Move to another stage: the probability becomes the stage's default
        (or ``probability``); won and lost close the opportunity (lost needs a
        reason); moving back to an open stage reopens it."""
        self.uow.require("sales.edit")
        current = self.get(opportunity_id)
        target = self.stages.resolve(to, "to")
        if target.code == current.stage:
            raise ValidationError.field("to", f"opportunity {opportunity_id} is already in stage {target.code} ({target.label})")
        reason = (reason or "").strip() or None
        if target.outcome == "lost" and not reason:
            raise ValidationError.field("reason", "say why the opportunity was lost (--reason)")
        when = at or self.uow.now
        new_probability = self._probability(target, probability)
        values: dict[str, Any] = {
            "stage": target.code, "probability": new_probability, "stage_changed_at": when, "updated_at": self.uow.now,
            "closed_at": None if target.is_open else when,
            "lost_reason": reason if target.outcome == "lost" else None,
        }
        if not target.is_open:  # a closed deal closed on the day it was won or lost
            from crm_sales.values import local_date

            values["expected_close"] = local_date(when, self.uow.crm.config.timezone)
        self.uow.execute(update(opportunities).where(opportunities.c.id == opportunity_id).values(values))
        self._record_change(opportunity_id, current.stage, target.code, new_probability, when, note or reason)
        self.uow.audit.record(ENTITY, opportunity_id, "stage", {
            "customer_id": current.customer_id,
            "stage": (current.stage, target.code), "probability": (current.probability, new_probability),
            **({"lost_reason": reason} if target.outcome == "lost" else {}),
        })
        moved = current.evolve(**values)
        self.uow.publish("sales.opportunity.stage_changed", {**event_payload(moved), "from_stage": current.stage,
                                                             "outcome": target.outcome})
        if target.outcome in ("won", "lost"):
            self.uow.publish(f"sales.opportunity.{target.outcome}", event_payload(moved))
        return moved

    def link_contact(self, opportunity_id: int, contact_id: int) -> None:
        """Mark a contact of the customer as a key person of this deal."""
        self.uow.require("sales.edit")
        opportunity = self.get(opportunity_id)
        owner = self.uow.execute(select(contacts.c.customer_id).where(contacts.c.id == contact_id)).scalar()
        if owner != opportunity.customer_id:
            raise ValidationError.field("contact", f"contact {contact_id} is not a contact of customer {opportunity.customer_id}")
        if contact_id in self.key_contact_ids(opportunity_id):
            return
        self.uow.execute(insert(opportunity_contacts).values(opportunity_id=opportunity_id, contact_id=contact_id))
        self.uow.audit.record(ENTITY, opportunity_id, "key_person", {"contact_id": contact_id, "customer_id": opportunity.customer_id})

    def unlink_contact(self, opportunity_id: int, contact_id: int) -> None:
        self.uow.require("sales.edit")
        opportunity = self.get(opportunity_id)
        removed = self.uow.execute(delete(opportunity_contacts).where(
            opportunity_contacts.c.opportunity_id == opportunity_id, opportunity_contacts.c.contact_id == contact_id)).rowcount
        if not removed:
            raise ValidationError.field("contact", f"contact {contact_id} is not a key person of opportunity {opportunity_id}")
        self.uow.audit.record(ENTITY, opportunity_id, "key_person_removed", {"contact_id": contact_id, "customer_id": opportunity.customer_id})

    # -- integration -------------------------------------------------------------

    def reassign_owner(self, old_owner_id: int, new_owner_id: int | None) -> int:
        """Hand a leaver's open opportunities to a successor (won and lost
        ones keep their owner, for the record)."""
        open_codes = [s.code for s in self.stages.all(include_inactive=True) if s.is_open]
        ids = list(self.uow.execute(select(opportunities.c.id).where(
            opportunities.c.owner_id == old_owner_id, opportunities.c.stage.in_(open_codes))).scalars())
        if ids:
            self.uow.execute(update(opportunities).where(opportunities.c.id.in_(ids))
                             .values(owner_id=new_owner_id, updated_at=self.uow.now))
            self.uow.audit.record(ENTITY, None, "reassign", {"ids": ids, "owner_id": (old_owner_id, new_owner_id)})
        return len(ids)

    def move_customer(self, from_id: int, to_id: int) -> int:
        moved = self.uow.execute(update(opportunities).where(opportunities.c.customer_id == from_id)
                                 .values(customer_id=to_id, updated_at=self.uow.now)).rowcount
        if moved:
            self.uow.audit.record(ENTITY, None, "merge", {"customer_id": (from_id, to_id), "count": moved})
        return moved

    # -- helpers -----------------------------------------------------------------

    def _probability(self, stage: Stage, probability: Any) -> int:
        if probability in (None, ""):
            return stage.probability
        value = percent(probability, "probability")
        if stage.outcome == "won" and value != 100 or stage.outcome == "lost" and value != 0:
            raise ValidationError.field("probability", f"a {stage.outcome} opportunity has probability {stage.probability}")
        return value

    def _check_owner(self, owner_id: int | None) -> None:
        if owner_id is None:
            return
        user = self.uow.users.find(owner_id)
        if user is None:
            raise ValidationError.field("owner", f"no user {owner_id!r}")
        if not user.active:
            raise ValidationError.field("owner", f"user {user.username!r} is deactivated")

    def _record_change(self, opportunity_id: int, from_stage: str | None, to_stage: str, probability: int,
                       at: datetime, note: str | None) -> None:
        actor = self.uow.actor
        self.uow.execute(insert(stage_changes).values(
            opportunity_id=opportunity_id, from_stage=from_stage, to_stage=to_stage, probability=probability,
            at=at, actor_id=actor.id, actor=actor.username, note=note,
        ))


def _competitors(values: Iterable[str] | str | None) -> list[str]:
    if values is None:
        return []
    if isinstance(values, str):
        values = [values]
    found: list[str] = []
    for value in values:
        for part in str(value).replace("，", ",").split(","):
            part = part.strip()
            if part and part not in found:
                found.append(part[:100])
    return found


def event_payload(opportunity: Opportunity) -> dict[str, Any]:
    """What the sales.opportunity.* webhook events carry."""
    return {"customer_id": opportunity.customer_id, "opportunity_id": opportunity.id, "name": opportunity.name,
            "amount": opportunity.amount, "stage": opportunity.stage, "probability": opportunity.probability,
            "expected_close": opportunity.expected_close, "owner_id": opportunity.owner_id}


def open_stage_codes(uow: "UnitOfWork") -> list[str]:
    return [s.code for s in StageService(uow).all(include_inactive=True) if s.is_open]


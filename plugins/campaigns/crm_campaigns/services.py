"""The campaigns service: segments, campaigns, steps and templates, sending,
opt-outs, responses and attribution, leads, costs and evaluation.

Reached as ``uow.service("campaigns")``; every method runs inside the
caller's unit of work, checks its permission and audits what it changes.
"""

from __future__ import annotations

import random
import re
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any, Iterable

from sqlalchemy import and_, case, delete, exists, func, insert, select, update

from crmcore import Conflict, Customer, NotFound, ValidationError, from_row
from crmcore.storage.tables import consents  # not re-exported by crmcore.tables (yet): a batch of customers' consents in one query
from crmcore.tables import activities, customers, outbox

from crm_campaigns.criteria import Compiler, normalise_document
from crm_campaigns.domain import (
    CHANNEL_LABELS,
    CHANNELS,
    OUTBOX_CHANNELS,
    REACHED,
    RESPONSE_TYPES,
    STEP_AUDIENCES,
    Campaign,
    Segment,
    Step,
)
from crm_campaigns.tables import (
    audience,
    blacklist,
    campaigns,
    costs,
    leads,
    messages,
    optouts,
    responses,
    segments,
    steps,
    templates,
)

if TYPE_CHECKING:
    from crmcore import UnitOfWork

BATCH = 500
#: Why a customer was not messaged when their latest marketing consent for the channel is not a grant.
NO_CONSENT = "no consent"
#: An invitation is made by phone or e-mail: either consent will do.
EVENT_CONSENT_CHANNELS = ("phone", "email")

#: The outbox's error on queued messages the plugin took back (opt-out, blacklist, a stopped campaign, erasure).
WITHDRAWN = "withdrawn by campaigns"


class _All:
    """Marketing needs no consent in this configuration: every channel is allowed."""

    def get(self, key: Any, default: Any = None) -> "_All":
        return self

    def __repr__(self) -> str:
        return "ALL"


ALL: Any = _All()
DEFAULT_LANGUAGE = "zh"
MOBILE = re.compile(r"^1\d{10}$")


class CampaignsService:
    def __init__(self, uow: "UnitOfWork"):
        self.uow = uow
        self._compiler: Compiler | None = None

    @property
    def compiler(self) -> Compiler:
        if self._compiler is None:
            self._compiler = Compiler(self.uow)
        return self._compiler

    # =====================================================================
    # Segments
    # =====================================================================

    def add_segment(self, name: str, criteria: dict[str, Any], description: str | None = None) -> Segment:
        self.uow.require("campaigns.manage")
        name = _name(name, "name")
        if self.find_segment(name) is not None:
            raise Conflict(f"segment {name!r} exists already")
        document = normalise_document(criteria)
        self.compiler.compile(document)  # refuse what does not compile, naming the criterion
        now = self.uow.now
        segment = Segment(name=name, criteria=document, description=description or criteria.get("description"),
                          created_by=self.uow.actor.id, created_at=now, updated_at=now)
        values = {k: v for k, v in vars(segment).items() if k != "id"}
        segment.id = self.uow.execute(insert(segments).values(values)).inserted_primary_key[0]
        self.uow.audit.record("campaigns.segment", segment.id, "create", {"name": name, "criteria": document})
        return segment

    def edit_segment(self, name: str, criteria: dict[str, Any] | None = None, description: str | None = None,
                     new_name: str | None = None) -> Segment:
        self.uow.require("campaigns.manage")
        segment = self.segment(name)
        values: dict[str, Any] = {}
        if criteria is not None:
            document = normalise_document(criteria)
            self.compiler.compile(document)
            values["criteria"] = document
        if description is not None:
            values["description"] = description
        if new_name:
            new_name = _name(new_name, "name")
            if new_name != segment.name and self.find_segment(new_name) is not None:
                raise Conflict(f"segment {new_name!r} exists already")
            values["name"] = new_name
        if not values:
            return segment
        values["updated_at"] = self.uow.now
        self.uow.execute(update(segments).where(segments.c.id == segment.id).values(values))
        self.uow.audit.record("campaigns.segment", segment.id, "update",
                              {k: (getattr(segment, k), v) for k, v in values.items() if k != "updated_at"})
        return self.segment(segment.id)

    def remove_segment(self, name: str) -> None:
        self.uow.require("campaigns.manage")
        segment = self.segment(name)
        used = self.uow.execute(select(campaigns.c.name).where(campaigns.c.segment_id == segment.id)).scalars().all()
        if used:
            raise Conflict(f"segment {segment.name!r} is used by campaign(s) {', '.join(used)}")
        self.uow.execute(delete(segments).where(segments.c.id == segment.id))
        self.uow.audit.record("campaigns.segment", segment.id, "delete", {"name": segment.name})

    def find_segment(self, key: str | int) -> Segment | None:
        column = segments.c.id if isinstance(key, int) else segments.c.name
        row = self.uow.execute(select(segments).where(column == key)).mappings().first()
        return None if row is None else from_row(Segment, row)

    def segment(self, key: str | int) -> Segment:
        self.uow.require("campaigns.view")
        found = self.find_segment(key)
        if found is None:
            raise NotFound(f"segment {key!r} not found")
        return found

    def segments(self) -> list[Segment]:
        self.uow.require("campaigns.view")
        return [from_row(Segment, row) for row in self.uow.execute(select(segments).order_by(segments.c.name)).mappings()]

    def segment_query(self, criteria: dict[str, Any], *columns: Any) -> Any:
        """The one SELECT of the segment's customers within the actor's scope."""
        return self.compiler.query(criteria, *columns)

    def preview(self, key: str | int | dict[str, Any], limit: int = 10) -> dict[str, Any]:
        """How many customers the segment holds now, and a sample of them."""
        self.uow.require("campaigns.view")
        criteria = key if isinstance(key, dict) else self.segment(key).criteria
        ids = self.segment_query(criteria).subquery()
        count = self.uow.execute(select(func.count()).select_from(ids)).scalar_one()
        sample = self.uow.execute(
            select(customers.c.id, customers.c.name, customers.c.city, customers.c.level, customers.c.stage, customers.c.tags)
            .where(customers.c.id.in_(select(ids.c.id))).order_by(customers.c.id).limit(limit)
        ).mappings().all()
        return {"count": count, "sample": [dict(row) for row in sample]}

    def segment_sql(self, key: str | int) -> str:
        query = self.segment_query(self.segment(key).criteria)
        return str(query.compile(self.uow.connection, compile_kwargs={"literal_binds": True}))

    def fields(self) -> list[dict[str, str]]:
        self.uow.require("campaigns.view")
        return self.compiler.catalogue()

    # =====================================================================
    # Campaigns
    # =====================================================================

    def add(self, name: str, *, segment: str | None = None, channels: Iterable[str] = (), budget: Any = None,
            control: Any = 0, goal: str | None = None, starts_on: Any = None, ends_on: Any = None,
            owner: str | int | None = None, throttle: int | None = None, attribution_days: int = 30) -> Campaign:
        self.uow.require("campaigns.manage")
        name = _name(name, "name")
        if self.find(name) is not None:
            raise Conflict(f"campaign {name!r} exists already")
        now = self.uow.now
        campaign = Campaign(
            name=name, goal=goal, channels=_channels(channels), budget=_money(budget, "budget"),
            control_pct=_percent(control, "control", high=90), throttle=_positive(throttle, "throttle"),
            attribution_days=_positive(attribution_days, "attribution_days") or 30,
            starts_on=_date(starts_on, "start"), ends_on=_date(ends_on, "end"),
            owner_id=self._user_id(owner) if owner is not None else self.uow.actor.id,
            segment_id=self.segment(segment).id if segment else None, created_at=now, updated_at=now,
        )
        _check_dates(campaign)
        values = {k: v for k, v in vars(campaign).items() if k != "id"}
        campaign.id = self.uow.execute(insert(campaigns).values(values)).inserted_primary_key[0]
        self.uow.audit.record("campaigns.campaign", campaign.id, "create", {
            "name": name, "segment": segment, "channels": campaign.channels, "budget": campaign.budget,
            "control_pct": campaign.control_pct})
        return campaign

    def edit(self, name: str, **changes: Any) -> Campaign:
        """Change a campaign's settings. The audience-defining settings
        (segment, control group) only change before launch; changing an
        approved campaign sends it back to draft for approval."""
        self.uow.require("campaigns.manage")
        campaign = self.get(name)
        values: dict[str, Any] = {}
        for key, value in changes.items():
            if value is None:
                continue
            if key == "segment":
                values["segment_id"] = self.segment(value).id
            elif key == "channels":
                values["channels"] = _channels(value)
            elif key == "budget":
                values["budget"] = _money(value, "budget")
            elif key == "control":
                values["control_pct"] = _percent(value, "control", high=90)
            elif key == "throttle":
                values["throttle"] = _positive(value, "throttle") or None
            elif key == "attribution_days":
                values["attribution_days"] = _positive(value, "attribution_days")
            elif key in ("starts_on", "ends_on"):
                values[key] = _date(value, key)
            elif key == "goal":
                values["goal"] = value
            elif key == "owner":
                values["owner_id"] = self._user_id(value)
            elif key == "rename":
                new = _name(value, "name")
                if new != campaign.name and self.find(new) is not None:
                    raise Conflict(f"campaign {new!r} exists already")
                values["name"] = new
            else:
                raise ValidationError.field(key, "cannot be changed")
        if not values:
            return campaign
        if campaign.status in ("running", "finished", "cancelled") and values.keys() & {"segment_id", "control_pct"}:
            raise Conflict(f"campaign {campaign.name!r} is {campaign.status}; its audience is frozen")
        if campaign.status in ("finished", "cancelled") and values.keys() - {"goal"}:
            raise Conflict(f"campaign {campaign.name!r} is {campaign.status}")
        if campaign.status == "approved":
            values.update(status="draft", approved_by=None, approved_at=None)
        values["updated_at"] = self.uow.now
        _check_dates(Campaign(name=campaign.name, starts_on=values.get("starts_on", campaign.starts_on),
                              ends_on=values.get("ends_on", campaign.ends_on)))
        self.uow.execute(update(campaigns).where(campaigns.c.id == campaign.id).values(values))
        self.uow.audit.record("campaigns.campaign", campaign.id, "update",
                              {k: (getattr(campaign, k, None), v) for k, v in values.items() if k != "updated_at"})
        return self.get(campaign.id)

    def find(self, key: str | int) -> Campaign | None:
        column = campaigns.c.id if isinstance(key, int) else campaigns.c.name
        row = self.uow.execute(select(campaigns).where(column == key)).mappings().first()
        return None if row is None else from_row(Campaign, row)

    def get(self, key: str | int) -> Campaign:
        self.uow.require("campaigns.view")
        campaign = self.find(key)
        if campaign is None:
            raise NotFound(f"campaign {key!r} not found")
        return campaign

    def list(self, status: str | None = None) -> list[Campaign]:
        self.uow.require("campaigns.view")
        query = select(campaigns).order_by(campaigns.c.id)
        if status:
            query = query.where(campaigns.c.status == status)
        return [from_row(Campaign, row) for row in self.uow.execute(query).mappings()]

    def approve(self, name: str) -> Campaign:
        self.uow.require("campaigns.approve")
        campaign = self.get(name)
        if campaign.status != "draft":
            raise Conflict(f"campaign {campaign.name!r} is {campaign.status}, only a draft can be approved")
        self._check_ready(campaign)
        self._set(campaign, status="approved", approved_by=self.uow.actor.id, approved_at=self.uow.now)
        self.uow.audit.record("campaigns.campaign", campaign.id, "approve", {"status": ("draft", "approved")})
        return self.get(campaign.id)

    def _check_ready(self, campaign: Campaign) -> None:
        if campaign.segment_id is None:
            raise ValidationError.field("segment", f"campaign {campaign.name!r} has no target segment (crm campaigns edit --segment)")
        plan = self.steps(campaign.name)
        if not plan:
            raise ValidationError.field("template", f"campaign {campaign.name!r} has no message template (crm campaigns template add)")
        for step in plan:
            if step.channel in OUTBOX_CHANNELS and not self._templates(step.id):
                raise ValidationError.field("template", f"step {step.number} ({step.channel}) has no template")

    def launch(self, name: str) -> dict[str, Any]:
        """Freeze the segment into the audience (with the control group held
        out at random) and send the steps that are due."""
        self.uow.require("campaigns.send")
        campaign = self.get(name)
        if campaign.status != "approved":
            raise Conflict(f"campaign {campaign.name!r} is {campaign.status}; it must be approved before launch")
        self._check_ready(campaign)
        segment = self.segment(campaign.segment_id)
        ids = self.uow.execute(self.segment_query(segment.criteria).order_by(customers.c.id)).scalars().all()
        if not ids:
            raise ValidationError.field("segment", f"segment {segment.name!r} matches no customer you may see; nothing to launch")
        control_size = round(len(ids) * campaign.control_pct / 100)
        control = set(random.Random(f"campaign:{campaign.id}").sample(ids, control_size)) if control_size else set()
        for start in range(0, len(ids), 5000):
            chunk = ids[start:start + 5000]
            self.uow.execute(insert(audience), [
                {"campaign_id": campaign.id, "customer_id": i, "grp": "control" if i in control else "target"} for i in chunk])
        self._set(campaign, status="running", launched_at=self.uow.now)
        self.uow.audit.record("campaigns.campaign", campaign.id, "launch", {
            "status": ("approved", "running"), "audience": len(ids), "control": len(control), "segment": segment.name})
        result = self.run(campaign.name)
        launched = {"campaign": campaign.name, "audience": len(ids), "target": len(ids) - len(control), "control": len(control),
                    **{k: v for k, v in result.items() if k != "campaigns"}}
        self.uow.publish("campaigns.campaign.launched", {"campaign_id": campaign.id, **launched})
        return launched

    def finish(self, name: str) -> Campaign:
        self.uow.require("campaigns.send")
        campaign = self.get(name)
        if campaign.status != "running":
            raise Conflict(f"campaign {campaign.name!r} is {campaign.status}, not running")
        self._set(campaign, status="finished", finished_at=self.uow.now)
        self.uow.audit.record("campaigns.campaign", campaign.id, "finish", {"status": ("running", "finished")})
        return self.get(campaign.id)

    def cancel(self, name: str) -> Campaign:
        """Stop a campaign: nothing more is sent and queued messages not yet
        delivered are withdrawn."""
        self.uow.require("campaigns.send")
        campaign = self.get(name)
        if campaign.status in ("finished", "cancelled"):
            raise Conflict(f"campaign {campaign.name!r} is already {campaign.status}")
        withdrawn = self._withdraw(messages.c.campaign_id == campaign.id)
        self._set(campaign, status="cancelled", finished_at=self.uow.now)
        self.uow.audit.record("campaigns.campaign", campaign.id, "cancel", {"status": (campaign.status, "cancelled"),
                                                                             "withdrawn": withdrawn})
        return self.get(campaign.id)

    def _set(self, campaign: Campaign, **values: Any) -> None:
        values["updated_at"] = self.uow.now
        self.uow.execute(update(campaigns).where(campaigns.c.id == campaign.id).values(values))

    def _user_id(self, key: str | int) -> int:
        user = self.uow.users.find(int(key) if isinstance(key, str) and key.isdigit() else key)
        if user is None:
            raise ValidationError.field("owner", f"no user {key!r}")
        return user.id

    # =====================================================================
    # Steps and templates
    # =====================================================================

    def steps(self, name: str) -> list[Step]:
        campaign = self.get(name)
        rows = self.uow.execute(select(steps).where(steps.c.campaign_id == campaign.id).order_by(steps.c.number)).mappings()
        return [from_row(Step, row) for row in rows]

    def step(self, name: str, number: int) -> Step:
        found = next((s for s in self.steps(name) if s.number == number), None)
        if found is None:
            raise NotFound(f"campaign {name!r} has no step {number}")
        return found

    def add_step(self, name: str, *, channel: str, after_days: int = 0, only: str = "all", ab: Any = 0,
                 ab_wait_hours: int = 24, number: int | None = None) -> Step:
        """Add a step: a message sent ``after_days`` after launch to the
        target group, or only to those who have not responded yet."""
        self.uow.require("campaigns.manage")
        campaign = self.get(name)
        self._check_plan_editable(campaign)
        channel = _channels([channel])[0]
        only = only.replace("-", "_")
        if only not in STEP_AUDIENCES:
            raise ValidationError.field("only", f"{only!r} is not one of {', '.join(STEP_AUDIENCES)}")
        if after_days is None or int(after_days) < 0:
            raise ValidationError.field("after", "must be 0 days or more")
        existing = self.steps(name)
        if number is None:
            number = max((s.number for s in existing), default=0) + 1
        elif any(s.number == number for s in existing):
            raise Conflict(f"campaign {campaign.name!r} already has step {number}")
        if number == 1 and only == "non_responders":
            raise ValidationError.field("only", "the first step goes to everyone; send reminders in later steps")
        step = Step(campaign_id=campaign.id, number=number, channel=channel, delay_days=int(after_days), audience=only,
                    ab_pct=_percent(ab, "ab", high=90), ab_wait_hours=_positive(ab_wait_hours, "ab_wait_hours") or 24)
        values = {k: v for k, v in vars(step).items() if k != "id"}
        step.id = self.uow.execute(insert(steps).values(values)).inserted_primary_key[0]
        if channel not in campaign.channels:
            self._set(campaign, channels=[*campaign.channels, channel])
        self._plan_changed(campaign)
        self.uow.audit.record("campaigns.campaign", campaign.id, "add_step", {
            "step": number, "channel": channel, "after_days": step.delay_days, "only": only, "ab_pct": step.ab_pct})
        return step

    def edit_step(self, name: str, number: int, *, after_days: int | None = None, only: str | None = None,
                  ab: Any = None, ab_wait_hours: int | None = None) -> Step:
        self.uow.require("campaigns.manage")
        campaign = self.get(name)
        step = self.step(name, number)
        if step.status != "pending":
            raise Conflict(f"step {number} of {campaign.name!r} has started; it can no longer change")
        values: dict[str, Any] = {}
        if after_days is not None:
            if int(after_days) < 0:
                raise ValidationError.field("after", "must be 0 days or more")
            values["delay_days"] = int(after_days)
        if only is not None:
            only = only.replace("-", "_")
            if only not in STEP_AUDIENCES:
                raise ValidationError.field("only", f"{only!r} is not one of {', '.join(STEP_AUDIENCES)}")
            if number == 1 and only == "non_responders":
                raise ValidationError.field("only", "the first step goes to everyone")
            values["audience"] = only
        if ab is not None:
            values["ab_pct"] = _percent(ab, "ab", high=90)
        if ab_wait_hours is not None:
            values["ab_wait_hours"] = _positive(ab_wait_hours, "ab_wait_hours")
        if values:
            self.uow.execute(update(steps).where(steps.c.id == step.id).values(values))
            self._plan_changed(campaign)
            self.uow.audit.record("campaigns.campaign", campaign.id, "edit_step", {"step": number, **values})
        return self.step(name, number)

    def add_template(self, name: str, *, channel: str, body: str, subject: str | None = None, language: str = DEFAULT_LANGUAGE,
                     variant: str = "A", step: int | None = None) -> dict[str, Any]:
        """Add (or replace) the message of a step for one language and A/B
        variant. Without ``step``, the first step on ``channel`` is used, or a
        new step on that channel is made."""
        self.uow.require("campaigns.manage")
        campaign = self.get(name)
        channel = _channels([channel])[0]
        language = (language or DEFAULT_LANGUAGE).strip()
        variant = (variant or "A").strip().upper()
        if not re.fullmatch(r"[A-Z0-9]{1,10}", variant):
            raise ValidationError.field("variant", f"{variant!r}: use a short name like A, B, C")
        if not body or not body.strip():
            raise ValidationError.field("body", "must not be empty")
        if channel == "email" and not (subject or "").strip():
            raise ValidationError.field("subject", "an e-mail needs a subject")
        check_template(self.uow, body, "body")
        if subject:
            check_template(self.uow, subject, "subject")
        plan = self.steps(name)
        if step is None:
            target = next((s for s in plan if s.channel == channel), None)
            if target is None:
                target = self.add_step(name, channel=channel)
        else:
            target = next((s for s in plan if s.number == step), None)
            if target is None:
                target = self.add_step(name, channel=channel, number=step)
            elif target.channel != channel:
                raise ValidationError.field("channel", f"step {step} of {campaign.name!r} goes by {target.channel}, not {channel}")
        if target.status not in ("pending",):
            raise Conflict(f"step {target.number} of {campaign.name!r} has started; its messages can no longer change")
        self._check_plan_editable(campaign)
        now = self.uow.now
        existing = self.uow.execute(select(templates.c.id).where(
            templates.c.step_id == target.id, templates.c.language == language, templates.c.variant == variant)).scalar()
        values = {"subject": subject, "body": body, "updated_at": now}
        if existing:
            self.uow.execute(update(templates).where(templates.c.id == existing).values(values))
            action = "replace_template"
        else:
            self.uow.execute(insert(templates).values(step_id=target.id, language=language, variant=variant, created_at=now, **values))
            action = "add_template"
        self._plan_changed(campaign)
        self.uow.audit.record("campaigns.campaign", campaign.id, action, {
            "step": target.number, "channel": channel, "language": language, "variant": variant, "subject": subject})
        return {"campaign": campaign.name, "step": target.number, "channel": channel, "language": language, "variant": variant,
                "subject": subject}

    def templates(self, name: str) -> list[dict[str, Any]]:
        plan = {s.id: s for s in self.steps(name)}
        if not plan:
            return []
        rows = self.uow.execute(select(templates).where(templates.c.step_id.in_(plan)).order_by(
            templates.c.step_id, templates.c.language, templates.c.variant)).mappings()
        return [{"step": plan[r["step_id"]].number, "channel": plan[r["step_id"]].channel, "language": r["language"],
                 "variant": r["variant"], "subject": r["subject"], "body": r["body"]} for r in rows]

    def _templates(self, step_id: int) -> list[dict[str, Any]]:
        rows = self.uow.execute(select(templates).where(templates.c.step_id == step_id).order_by(templates.c.id)).mappings()
        return [dict(r) for r in rows]

    def preview_message(self, name: str, customer_id: int, *, step: int = 1, variant: str | None = None,
                        language: str | None = None) -> dict[str, Any]:
        """The message one customer would get, rendered, without sending."""
        campaign = self.get(name)
        target = self.step(name, step)
        customer = self.uow.customers.get(customer_id)
        choices = self._templates(target.id)
        if not choices:
            raise ValidationError.field("template", f"step {step} has no template")
        chosen = _pick_template(choices, language or _language(customer), variant)
        subject, body = render_message(self.uow, chosen, customer, campaign, target)
        return {"campaign": campaign.name, "step": step, "channel": target.channel, "customer_id": customer.id,
                "recipient": _recipient(customer, target.channel), "language": chosen["language"], "variant": chosen["variant"],
                "subject": subject, "body": body}

    def _check_plan_editable(self, campaign: Campaign) -> None:
        if campaign.status in ("finished", "cancelled"):
            raise Conflict(f"campaign {campaign.name!r} is {campaign.status}")

    def _plan_changed(self, campaign: Campaign) -> None:
        """An approved plan that changes needs approving again."""
        current = self.find(campaign.id)
        if current is not None and current.status == "approved":
            self._set(current, status="draft", approved_by=None, approved_at=None)
            self.uow.audit.record("campaigns.campaign", campaign.id, "unapprove", {"status": ("approved", "draft"),
                                                                                    "reason": "plan changed"})

    # =====================================================================
    # Sending
    # =====================================================================

    def run(self, name: str | None = None, *, step: int | None = None) -> dict[str, Any]:
        """Send what is due: for each running campaign (or the one named),
        its steps in order whose delay has passed, at most ``throttle``
        messages per campaign per run. ``step`` sends that step now,
        whatever its delay."""
        self.uow.require("campaigns.send")
        if step is not None and name is None:
            raise ValidationError.field("step", "name the campaign whose step to send")
        chosen = [self.get(name)] if name else self.list("running")
        totals = {"queued": 0, "listed": 0, "suppressed": 0, "errors": 0, "campaigns": []}
        for campaign in chosen:
            if campaign.status != "running":
                raise Conflict(f"campaign {campaign.name!r} is {campaign.status}, not running")
            result = self._run_campaign(campaign, force_step=step)
            for key in ("queued", "listed", "suppressed", "errors"):
                totals[key] += result[key]
            totals["campaigns"].append({"campaign": campaign.name, **result})
        return totals

    def _run_campaign(self, campaign: Campaign, force_step: int | None) -> dict[str, Any]:
        now = self.uow.now
        budget = campaign.throttle
        counts = {"queued": 0, "listed": 0, "suppressed": 0, "errors": 0, "steps": []}
        plan = self.steps(campaign.name)
        if force_step is not None and not any(s.number == force_step for s in plan):
            raise NotFound(f"campaign {campaign.name!r} has no step {force_step}")
        for current in plan:
            if current.status == "done":
                continue
            forced = current.number == force_step
            due = campaign.launched_at + timedelta(days=current.delay_days) <= now
            if not (due or forced):
                break
            left = None if budget is None else budget - counts["queued"] - counts["listed"]
            if left is not None and left <= 0:
                break
            result = self._run_step(campaign, current, left)
            for key in ("queued", "listed", "suppressed", "errors"):
                counts[key] += result[key]
            counts["steps"].append({"step": current.number, **result})
            if self._step_status(current.id) != "done":
                break  # later steps wait for this one (throttled, or an A/B test running)
        if campaign.ends_on and campaign.ends_on < now.date() and all(self._step_status(s.id) == "done" for s in plan):
            self._set(campaign, status="finished", finished_at=now)
            self.uow.audit.record("campaigns.campaign", campaign.id, "finish", {"status": ("running", "finished"),
                                                                                 "reason": "end date passed"})
        return counts

    def _step_status(self, step_id: int) -> str:
        return self.uow.execute(select(steps.c.status).where(steps.c.id == step_id)).scalar_one()

    def _run_step(self, campaign: Campaign, step: Step, cap: int | None) -> dict[str, Any]:
        now = self.uow.now
        counts = {"queued": 0, "listed": 0, "suppressed": 0, "errors": 0}
        choices = self._templates(step.id)
        primary = choices[0]["language"] if choices else DEFAULT_LANGUAGE
        variants = sorted({t["variant"] for t in choices if t["language"] == primary})
        if step.status == "pending":
            self.uow.execute(update(steps).where(steps.c.id == step.id).values(status="sending", started_at=now))
            step.status = "sending"
            if step.ab_pct and len(variants) > 1 and not step.winner:
                # A/B: the variants go to a random sample; the winner to the rest later
                eligible = self._eligible(campaign, step).subquery()
                count = self.uow.execute(select(func.count()).select_from(eligible)).scalar_one()
                size = max(len(variants), round(count * step.ab_pct / 100))
                if cap is not None:
                    size = min(size, cap)
                sample = self.uow.execute(self._eligible(campaign, step).order_by(func.random()).limit(size)).mappings().all()
                assignment = {row["id"]: variants[index % len(variants)] for index, row in enumerate(sample)}
                self._send(campaign, step, sample, choices, counts, assignment=assignment)
                self.uow.execute(update(steps).where(steps.c.id == step.id).values(
                    status="testing", ab_sample_size=len(sample)))
                return counts
        if step.status == "testing":
            if now < step.started_at + timedelta(hours=step.ab_wait_hours):
                return counts
            self._choose_winner(campaign, step)
            step = self.step(campaign.name, step.number)
        variant = step.winner or (variants[0] if variants else None)
        while cap is None or counts["queued"] + counts["listed"] < cap:
            room = BATCH if cap is None else min(BATCH, cap - counts["queued"] - counts["listed"])
            rows = self.uow.execute(self._eligible(campaign, step).order_by(customers.c.id).limit(room)).mappings().all()
            if not rows:
                self.uow.execute(update(steps).where(steps.c.id == step.id).values(status="done", finished_at=now))
                break
            self._send(campaign, step, rows, choices, counts, variant=variant)
        return counts

    def _eligible(self, campaign: Campaign, step: Step) -> Any:
        """Target-group customers of the campaign not yet handled in this
        step (and, for reminders, who have not responded), with what decides
        whether they may be messaged."""
        query = (
            select(customers.c.id, customers.c.name, customers.c.kind, customers.c.phones, customers.c.emails,
                   customers.c.address, customers.c.city, customers.c.region, customers.c.province, customers.c.level,
                   customers.c.gender, customers.c.birthday, customers.c.custom, customers.c.tags, customers.c.code,
                   customers.c.industry, customers.c.owner_id, customers.c.do_not_contact,
                   customers.c.id.in_(select(blacklist.c.customer_id)).label("blacklisted"),
                   exists().where(optouts.c.customer_id == customers.c.id,
                                  optouts.c.channel.in_([step.channel, "all"])).label("opted_out"))
            .select_from(audience.join(customers, customers.c.id == audience.c.customer_id))
            .where(audience.c.campaign_id == campaign.id, audience.c.grp == "target", customers.c.active.is_(True),
                   customers.c.id.not_in(select(messages.c.customer_id).where(messages.c.step_id == step.id)))
        )
        if step.audience == "non_responders":
            query = query.where(customers.c.id.not_in(select(responses.c.customer_id).where(responses.c.campaign_id == campaign.id)))
        return query

    def _send(self, campaign: Campaign, step: Step, rows: list[Any], choices: list[dict[str, Any]], counts: dict[str, int], *,
              variant: str | None = None, assignment: dict[int, str] | None = None) -> None:
        now = self.uow.now
        records = []
        environment = _environment(self.uow)
        compiled: dict[int, Any] = {}
        consented = self._marketing_consents([row["id"] for row in rows])
        for row in rows:
            customer = from_row(Customer, row)
            record = {"campaign_id": campaign.id, "step_id": step.id, "customer_id": customer.id, "channel": step.channel,
                      "variant": None, "language": None, "recipient": None, "subject": None, "status": "suppressed",
                      "reason": None, "outbox_id": None, "dedupe_key": f"campaigns:{campaign.id}:{step.id}:{customer.id}",
                      "attempts": 0, "error": None, "queued_at": now, "delivered_at": None}
            recipient = _recipient(customer, step.channel, consented.get(customer.id))
            if row["blacklisted"]:
                record["reason"] = "blacklisted"
            elif customer.do_not_contact:
                record["reason"] = "do_not_contact"
            elif row["opted_out"]:
                record["reason"] = f"opted_out:{step.channel}"
            elif consented is not ALL and not _consent_channels(step.channel) & consented.get(customer.id, set()):
                record["reason"] = NO_CONSENT
            elif recipient is None:
                record["reason"] = {"email": "no e-mail address", "sms": "no mobile number", "phone": "no phone number",
                                    "mail": "no postal address", "event": "no phone or e-mail"}[step.channel]
            if record["reason"]:
                counts["suppressed"] += 1
                records.append(record)
                continue
            record["recipient"] = recipient
            if choices:
                chosen = _pick_template(choices, _language(customer), (assignment or {}).get(customer.id, variant))
                record["variant"], record["language"] = chosen["variant"], chosen["language"]
                try:
                    template = compiled.get(chosen["id"])
                    if template is None:
                        template = compiled[chosen["id"]] = (
                            environment.from_string(chosen["subject"]) if chosen["subject"] else None,
                            environment.from_string(chosen["body"]))
                    context = template_context(self.uow, customer, campaign, step)
                    subject = template[0].render(context).strip() if template[0] else None
                    body = template[1].render(context)
                except Exception as error:  # one customer's data must not stop the run
                    record.update(status="error", error=f"{type(error).__name__}: {error}")
                    counts["errors"] += 1
                    records.append(record)
                    continue
                record["subject"] = subject[:300] if subject else None
            else:
                subject = body = None
            if step.channel in OUTBOX_CHANNELS:
                message = self.uow.outbox.put(
                    step.channel, recipient, subject, body, customer_id=customer.id, dedupe_key=record["dedupe_key"],
                    purpose="marketing",
                    payload={"campaign": campaign.name, "campaign_id": campaign.id, "step": step.number,
                             "variant": record["variant"]},
                )
                if message is None:  # refused: no consent after all, or queued before under this key (never twice)
                    allowed = self.uow.consents.allows(customer.id, "marketing", step.channel)
                    record["reason"] = "refused by the outbox" if allowed else NO_CONSENT
                    if not allowed:
                        record.update(recipient=None, subject=None, variant=None, language=None)
                    counts["suppressed"] += 1
                    records.append(record)
                    continue
                record.update(status="queued", outbox_id=message.id)
                counts["queued"] += 1
            else:
                record["status"] = "listed"
                counts["listed"] += 1
            records.append(record)
        if records:
            self.uow.execute(insert(messages), records)

    def _marketing_consents(self, customer_ids: list[int]) -> Any:
        """Per customer, the consent channels over which their latest
        marketing consent is a grant; ``ALL`` when the configuration does not
        require consent for marketing. One query per batch."""
        if not self.uow.consents.needs_consent("marketing"):
            return ALL
        found: dict[int, set[str]] = {}
        if not customer_ids:
            return found
        latest: dict[tuple[int, str], bool] = {}
        for customer_id, channel, granted in self.uow.execute(
                select(consents.c.customer_id, consents.c.channel, consents.c.granted)
                .where(consents.c.customer_id.in_(customer_ids), consents.c.purpose == "marketing").order_by(consents.c.id)):
            latest[(customer_id, channel)] = granted
        for (customer_id, channel), granted in latest.items():
            if granted:
                found.setdefault(customer_id, set()).add(channel)
        return found

    def _choose_winner(self, campaign: Campaign, step: Step, variant: str | None = None) -> str:
        rates = self.variant_rates(campaign, step)
        if variant is None:
            if not rates:
                raise Conflict(f"step {step.number} has no A/B results")
            best = max(rates, key=lambda r: (r["response_rate"], r["responders"], [-ord(c) for c in r["variant"]]))
            variant = best["variant"]
        elif variant not in {r["variant"] for r in rates}:
            raise ValidationError.field("variant", f"{variant!r} was not tested in step {step.number}")
        self.uow.execute(update(steps).where(steps.c.id == step.id).values(winner=variant, status="sending"))
        self.uow.audit.record("campaigns.campaign", campaign.id, "ab_winner", {"step": step.number, "winner": variant,
                                                                                "rates": rates})
        return variant

    def variant_rates(self, campaign: Campaign, step: Step) -> list[dict[str, Any]]:
        self.sync_delivery(campaign.id)
        responded = select(responses.c.message_id).where(responses.c.campaign_id == campaign.id, responses.c.message_id.isnot(None))
        rows = self.uow.execute(
            select(messages.c.variant, func.count().label("sent"),
                   func.count().filter(messages.c.id.in_(responded)).label("responders"))
            .where(messages.c.step_id == step.id, messages.c.status.in_(REACHED), messages.c.variant.isnot(None))
            .group_by(messages.c.variant).order_by(messages.c.variant)
        ).mappings().all()
        return [{"variant": r["variant"], "sent": r["sent"], "responders": r["responders"],
                 "response_rate": _rate(r["responders"], r["sent"])} for r in rows]

    def pick_winner(self, name: str, number: int, variant: str | None = None) -> dict[str, Any]:
        """End a step's A/B test now (the best response rate wins, or the
        variant given) and send the winner to the rest of the audience."""
        self.uow.require("campaigns.send")
        campaign = self.get(name)
        step = self.step(name, number)
        if step.status != "testing":
            raise Conflict(f"step {number} of {campaign.name!r} is not running an A/B test (status {step.status})")
        winner = self._choose_winner(campaign, step, variant.upper() if variant else None)
        result = self.run(campaign.name, step=number) if campaign.status == "running" else {}
        return {"campaign": campaign.name, "step": number, "winner": winner,
                "variants": self.variant_rates(campaign, step), "queued": result.get("queued", 0)}

    # =====================================================================
    # Delivery state
    # =====================================================================

    def sync_delivery(self, campaign_id: int | None = None, *, customer_ids: Iterable[int] | None = None) -> int:
        """Copy the outbox's delivery results (status, attempts, last error,
        time sent) to the campaign's messages still waiting for delivery:
        set-based UPDATEs, whatever the number of messages. The outbox is the
        source of truth: a message the core cancelled (consent withdrawn,
        customer erased) shows cancelled here after the next sync.
        ``customer_ids`` limits it to those customers' messages."""
        if customer_ids is not None:
            ids = sorted(set(customer_ids))
            return sum(self._sync(campaign_id, ids[start:start + 1000]) for start in range(0, len(ids), 1000))
        return self._sync(campaign_id, None)

    def _sync(self, campaign_id: int | None, customer_ids: list[int] | None) -> int:
        def waiting(*conditions: Any) -> list[Any]:
            found = [messages.c.status == "queued", messages.c.outbox_id.in_(select(outbox.c.id).where(*conditions))]
            if campaign_id is not None:
                found.append(messages.c.campaign_id == campaign_id)
            if customer_ids is not None:
                found.append(messages.c.customer_id.in_(customer_ids))
            return found

        def of_outbox(column: Any) -> Any:
            return select(column).where(outbox.c.id == messages.c.outbox_id).scalar_subquery()

        changed = 0
        for outbox_status, status in (("sent", "sent"), ("failed", "failed"), ("cancelled", "cancelled")):
            changed += self.uow.execute(update(messages).where(*waiting(outbox.c.status == outbox_status)).values(
                status=status, attempts=of_outbox(outbox.c.attempts), error=of_outbox(outbox.c.error),
                delivered_at=of_outbox(outbox.c.sent_at))).rowcount
        # still pending, but tried: keep the attempts and the last error
        changed += self.uow.execute(update(messages).where(
            *waiting(outbox.c.status == "pending", outbox.c.attempts > 0),
            messages.c.attempts != of_outbox(outbox.c.attempts)).values(
            attempts=of_outbox(outbox.c.attempts), error=of_outbox(outbox.c.error))).rowcount
        return changed

    def messages(self, name: str, *, status: str | None = None, step: int | None = None, limit: int = 100) -> list[dict[str, Any]]:
        campaign = self.get(name)
        self.sync_delivery(campaign.id)
        query = (select(messages, steps.c.number.label("step")).join(steps, steps.c.id == messages.c.step_id)
                 .where(messages.c.campaign_id == campaign.id).order_by(messages.c.id).limit(limit))
        if status:
            query = query.where(messages.c.status == status)
        if step is not None:
            query = query.where(steps.c.number == step)
        query = query.where(messages.c.customer_id.in_(self.uow.customers.scope(select(customers.c.id))))
        from crmcore.presenting import can_see_contact_details

        shown = can_see_contact_details(self.uow)
        return [{k: r[k] for k in ("id", "step", "customer_id", "channel", "variant", "recipient", "subject", "status", "reason",
                                   "attempts", "error", "outbox_id", "queued_at", "delivered_at")}
                | ({} if shown else {"recipient": _masked(r["recipient"], r["channel"])})
                for r in self.uow.execute(query).mappings()]

    def recipients_list(self, name: str, step: int) -> list[dict[str, Any]]:
        """The call list / invitation list / mailing list of a list-channel step."""
        from crmcore.presenting import masked_details

        campaign = self.get(name)
        target = self.step(name, step)
        rows = self.uow.execute(
            select(customers.c.id, customers.c.name, customers.c.phones, customers.c.emails, customers.c.address,
                   customers.c.owner_id, messages.c.recipient)
            .join(messages, messages.c.customer_id == customers.c.id)
            .where(messages.c.step_id == target.id, messages.c.status == "listed")
            .where(customers.c.id.in_(self.uow.customers.scope(select(customers.c.id))))
            .order_by(customers.c.id)).mappings().all()
        result = []
        for row in rows:
            shown = masked_details(self.uow, {"phones": row["phones"], "emails": row["emails"]})
            result.append({"customer_id": row["id"], "name": row["name"], "channel": target.channel,
                           "phone": (shown["phones"] or [None])[0], "email": (shown["emails"] or [None])[0],
                           "address": row["address"], "campaign": campaign.name})
        return result

    def _withdraw(self, condition: Any) -> int:
        """Cancel this plugin's queued outbox messages matching ``condition``
        (over campaigns_messages) that are not delivered yet."""
        ids = self.uow.execute(select(messages.c.outbox_id).where(condition, messages.c.status == "queued",
                                                                  messages.c.outbox_id.isnot(None))).scalars().all()
        if not ids:
            return 0
        withdrawn = self.uow.outbox.withdraw(ids, reason=WITHDRAWN)
        for start in range(0, len(ids), 1000):  # the plugin's messages show what the outbox did
            chunk = ids[start:start + 1000]
            self.uow.execute(update(messages).where(messages.c.outbox_id.in_(chunk)).values(status="cancelled")
                             .where(messages.c.outbox_id.in_(select(outbox.c.id).where(outbox.c.status == "cancelled"))))
        return withdrawn

    # =====================================================================
    # Opt-outs and blacklist
    # =====================================================================

    def opt_out(self, customer_id: int, channel: str, reason: str | None = None) -> dict[str, Any]:
        """The customer wants no more marketing on ``channel`` (or ``all``);
        queued campaign messages on it are withdrawn."""
        self.uow.require("campaigns.optout")
        customer = self.uow.customers.get(customer_id)
        channel = "all" if channel == "all" else _channels([channel])[0]
        exists_ = self.uow.execute(select(optouts.c.customer_id).where(optouts.c.customer_id == customer.id,
                                                                        optouts.c.channel == channel)).first()
        if not exists_:
            self.uow.execute(insert(optouts).values(customer_id=customer.id, channel=channel, reason=reason, created_at=self.uow.now))
            self.uow.audit.record("customer", customer.id, "campaigns.opt_out", {"customer_id": customer.id, "channel": channel,
                                                                                        "reason": reason})
        condition = messages.c.customer_id == customer.id
        if channel != "all":
            condition = and_(condition, messages.c.channel == channel)
        withdrawn = self._withdraw(condition)
        if not exists_:
            self.uow.publish("campaigns.customer.opted_out", {"customer_id": customer.id, "channel": channel})
        return {"customer_id": customer.id, "channel": channel, "opted_out": True, "withdrawn": withdrawn}

    def opt_in(self, customer_id: int, channel: str) -> dict[str, Any]:
        self.uow.require("campaigns.optout")
        customer = self.uow.customers.get(customer_id)
        removed = self.uow.execute(delete(optouts).where(optouts.c.customer_id == customer.id, optouts.c.channel == channel)).rowcount
        if not removed:
            raise NotFound(f"customer {customer.id} has not opted out of {channel}")
        self.uow.audit.record("customer", customer.id, "campaigns.opt_in", {"customer_id": customer.id, "channel": channel})
        return {"customer_id": customer.id, "channel": channel, "opted_out": False}

    def optouts(self, customer_id: int | None = None) -> list[dict[str, Any]]:
        self.uow.require("campaigns.view")
        query = (select(optouts, customers.c.name).join(customers, customers.c.id == optouts.c.customer_id)
                 .where(customers.c.id.in_(self.uow.customers.scope(select(customers.c.id)))).order_by(optouts.c.customer_id))
        if customer_id is not None:
            query = query.where(optouts.c.customer_id == customer_id)
        return [dict(r) for r in self.uow.execute(query).mappings()]

    def blacklist_add(self, customer_id: int, reason: str | None = None) -> dict[str, Any]:
        self.uow.require("campaigns.optout")
        customer = self.uow.customers.get(customer_id)
        if self.uow.execute(select(blacklist.c.customer_id).where(blacklist.c.customer_id == customer.id)).first():
            raise Conflict(f"customer {customer.id} is already blacklisted")
        self.uow.execute(insert(blacklist).values(customer_id=customer.id, reason=reason, created_by=self.uow.actor.id,
                                                  created_at=self.uow.now))
        withdrawn = self._withdraw(messages.c.customer_id == customer.id)
        self.uow.audit.record("customer", customer.id, "campaigns.blacklist", {"customer_id": customer.id, "reason": reason,
                                                                                          "withdrawn": withdrawn})
        return {"customer_id": customer.id, "name": customer.name, "blacklisted": True, "withdrawn": withdrawn}

    def blacklist_remove(self, customer_id: int) -> dict[str, Any]:
        self.uow.require("campaigns.optout")
        customer = self.uow.customers.get(customer_id)
        if not self.uow.execute(delete(blacklist).where(blacklist.c.customer_id == customer.id)).rowcount:
            raise NotFound(f"customer {customer.id} is not blacklisted")
        self.uow.audit.record("customer", customer.id, "campaigns.unblacklist", {"customer_id": customer.id})
        return {"customer_id": customer.id, "name": customer.name, "blacklisted": False}

    def blacklisted(self) -> list[dict[str, Any]]:
        self.uow.require("campaigns.view")
        query = (select(blacklist.c.customer_id, customers.c.name, blacklist.c.reason, blacklist.c.created_at)
                 .join(customers, customers.c.id == blacklist.c.customer_id)
                 .where(customers.c.id.in_(self.uow.customers.scope(select(customers.c.id)))).order_by(blacklist.c.customer_id))
        return [dict(r) for r in self.uow.execute(query).mappings()]

    def withdraw_for_customer(self, customer_id: int) -> int:
        """Used when a customer turns on the global do-not-contact flag."""
        return self._withdraw(messages.c.customer_id == customer_id)

    # =====================================================================
    # Responses and attribution
    # =====================================================================

    def record_response(self, name: str, customer_id: int, type: str, *, amount: Any = None, at: Any = None,
                        note: str | None = None) -> dict[str, Any]:
        """Record a response to the campaign's latest message to the customer.
        ``bought`` puts a purchase (with ``amount``) on the customer's
        timeline, which the attribution then credits to this campaign."""
        self.uow.require("campaigns.respond")
        campaign = self.get(name)
        if type not in RESPONSE_TYPES:
            raise ValidationError.field("type", f"{type!r} is not one of {', '.join(RESPONSE_TYPES)}")
        customer = self.uow.customers.get(customer_id)
        occurred = _moment(at, self.uow) if at else self.uow.now
        message = self._latest_message(campaign.id, customer.id, occurred)
        if message is None:
            group = self.uow.execute(select(audience.c.grp).where(audience.c.campaign_id == campaign.id,
                                                                  audience.c.customer_id == customer.id)).scalar()
            if group == "control":
                raise ValidationError.field("customer", f"{customer.id} is in the control group of {campaign.name!r} and got no message")
            if group is None:
                raise ValidationError.field("customer", f"{customer.id} is not in the audience of {campaign.name!r}")
            raise ValidationError.field("customer", f"{customer.id} got no message from {campaign.name!r} before {occurred:%Y-%m-%d %H:%M}")
        if type == "bought":
            value = _money(amount, "amount")
            if value is None or value <= 0:
                raise ValidationError.field("amount", "a purchase needs a positive amount")
            activity = self.uow.activities.log(customer.id, type="purchase", subject=f"{campaign.name} 营销成交", amount=value,
                                              occurred_at=occurred, body=note, source_plugin="campaigns",
                                              payload={"campaign_id": campaign.id, "campaign": campaign.name})
            response_id = self.uow.execute(select(responses.c.id).where(responses.c.activity_id == activity.id)).scalar()
            if response_id is None:  # the attribution hook did not run (plugin disabled in the hook relay)
                response_id = self._insert_response(campaign.id, customer.id, message, "bought", value, activity.id, occurred, note)
        else:
            if amount is not None:
                raise ValidationError.field("amount", f"only bought takes an amount, not {type}")
            response_id = self._insert_response(campaign.id, customer.id, message, type, None, None, occurred, note)
        self.uow.audit.record("campaigns.campaign", campaign.id, "response", {"customer_id": customer.id, "type": type,
                                                                               "amount": amount, "response_id": response_id})
        self.uow.publish("campaigns.response.recorded", {
            "customer_id": customer.id, "campaign_id": campaign.id, "campaign": campaign.name, "response_id": response_id,
            "type": type, "channel": message["channel"], "step": message["step"],
            "amount": _money(amount, "amount") if amount else None, "occurred_at": occurred})
        return {"id": response_id, "campaign": campaign.name, "customer_id": customer.id, "type": type,
                "channel": message["channel"], "step": message["step"], "amount": _money(amount, "amount") if amount else None,
                "occurred_at": occurred}

    def _latest_message(self, campaign_id: int, customer_id: int, before: datetime) -> dict[str, Any] | None:
        self.sync_delivery(campaign_id, customer_ids=[customer_id])  # a message the outbox cancelled reached nobody
        row = self.uow.execute(
            select(messages.c.id, messages.c.channel, steps.c.number.label("step"))
            .join(steps, steps.c.id == messages.c.step_id)
            .where(messages.c.campaign_id == campaign_id, messages.c.customer_id == customer_id,
                   messages.c.status.in_(REACHED), messages.c.queued_at <= before)
            .order_by(messages.c.queued_at.desc(), messages.c.id.desc()).limit(1)).mappings().first()
        return dict(row) if row else None

    def _insert_response(self, campaign_id: int, customer_id: int, message: dict[str, Any] | None, type: str, amount: Any,
                         activity_id: int | None, occurred: datetime, note: str | None) -> int:
        return self.uow.execute(insert(responses).values(
            campaign_id=campaign_id, customer_id=customer_id, message_id=message["id"] if message else None, type=type,
            channel=message["channel"] if message else None, amount=amount, activity_id=activity_id, occurred_at=occurred,
            recorded_at=self.uow.now, recorded_by=self.uow.actor.id, note=note)).inserted_primary_key[0]

    def attribute_purchases(self, activity_ids: list[int]) -> int:
        """Credit purchases to the campaign whose message the customer got
        last before buying, within that campaign's attribution window
        (last touch). Purchases logged through ``response --type bought``
        name their campaign. One query for the batch; returns how many were
        attributed."""
        if not activity_ids:
            return 0
        purchases = self.uow.execute(
            select(activities.c.id, activities.c.customer_id, activities.c.occurred_at, activities.c.amount, activities.c.payload)
            .where(activities.c.id.in_(activity_ids), activities.c.type == "purchase", activities.c.cancelled.is_(False),
                   activities.c.id.not_in(select(responses.c.activity_id).where(responses.c.activity_id.isnot(None))))
        ).mappings().all()
        if not purchases:
            return 0
        earliest = min(p["occurred_at"] for p in purchases)
        self.sync_delivery(customer_ids={p["customer_id"] for p in purchases})  # cancelled in the outbox: no touch
        max_days = self.uow.execute(select(func.max(campaigns.c.attribution_days))).scalar() or 0
        candidates = self.uow.execute(
            select(messages.c.id, messages.c.campaign_id, messages.c.customer_id, messages.c.channel, messages.c.queued_at,
                   campaigns.c.attribution_days)
            .join(campaigns, campaigns.c.id == messages.c.campaign_id)
            .where(messages.c.customer_id.in_({p["customer_id"] for p in purchases}), messages.c.status.in_(REACHED),
                   campaigns.c.status.in_(("running", "finished")),
                   messages.c.queued_at >= earliest - timedelta(days=max_days))
        ).mappings().all()
        by_customer: dict[int, list[Any]] = {}
        for message in candidates:
            by_customer.setdefault(message["customer_id"], []).append(message)
        rows = []
        for purchase in purchases:
            named = (purchase["payload"] or {}).get("campaign_id")
            best = None
            for message in by_customer.get(purchase["customer_id"], []):
                if named is not None and message["campaign_id"] != named:
                    continue
                if not (message["queued_at"] <= purchase["occurred_at"] <= message["queued_at"] + timedelta(days=message["attribution_days"])):
                    continue
                if best is None or (message["queued_at"], message["id"]) > (best["queued_at"], best["id"]):
                    best = message
            if best is None:
                continue
            rows.append({"campaign_id": best["campaign_id"], "customer_id": purchase["customer_id"], "message_id": best["id"],
                         "type": "bought", "channel": best["channel"], "amount": purchase["amount"], "activity_id": purchase["id"],
                         "occurred_at": purchase["occurred_at"], "recorded_at": self.uow.now, "recorded_by": self.uow.actor.id,
                         "note": None})
        if rows:
            self.uow.execute(insert(responses), rows)
        return len(rows)

    def purchase_cancelled(self, activity_id: int, customer_id: int | None = None) -> int:
        removed = self.uow.execute(delete(responses).where(responses.c.activity_id == activity_id)).rowcount
        if removed:
            self.uow.audit.record("activity", activity_id, "campaigns.unattribute", {"customer_id": customer_id, "responses": removed})
        return removed

    def responses(self, name: str, *, type: str | None = None, limit: int = 200) -> list[dict[str, Any]]:
        campaign = self.get(name)
        query = (select(responses, customers.c.name).join(customers, customers.c.id == responses.c.customer_id)
                 .where(responses.c.campaign_id == campaign.id,
                        customers.c.id.in_(self.uow.customers.scope(select(customers.c.id))))
                 .order_by(responses.c.occurred_at, responses.c.id).limit(limit))
        if type:
            query = query.where(responses.c.type == type)
        return [{k: r[k] for k in ("id", "customer_id", "name", "type", "channel", "amount", "activity_id", "occurred_at", "note")}
                for r in self.uow.execute(query).mappings()]

    # =====================================================================
    # Leads
    # =====================================================================

    def make_leads(self, name: str, *, customer_id: int | None = None, owner: str | int | None = None,
                   types: Iterable[str] = ()) -> list[dict[str, Any]]:
        """Turn responders into leads assigned to ``owner`` (default: the
        customer's owner, else the campaign's). Each new lead fires
        ``crm_campaigns_lead_created`` once (the sales plugin opens an
        opportunity)."""
        self.uow.require("campaigns.respond")
        campaign = self.get(name)
        types = list(types)
        for kind in types:
            if kind not in RESPONSE_TYPES:
                raise ValidationError.field("type", f"{kind!r} is not one of {', '.join(RESPONSE_TYPES)}")
        owner_id = self._user_id(owner) if owner is not None else None
        query = select(responses.c.customer_id).where(responses.c.campaign_id == campaign.id).distinct()
        if types:
            query = query.where(responses.c.type.in_(types))
        if customer_id is not None:
            self.uow.customers.get(customer_id)
            query = query.where(responses.c.customer_id == customer_id)
        query = query.where(responses.c.customer_id.not_in(select(leads.c.customer_id).where(leads.c.campaign_id == campaign.id)))
        query = query.where(responses.c.customer_id.in_(self.uow.customers.scope(select(customers.c.id))))
        candidates = self.uow.execute(query.order_by(responses.c.customer_id)).scalars().all()
        if customer_id is not None and not candidates:
            already = self.uow.execute(select(leads.c.id).where(leads.c.campaign_id == campaign.id, leads.c.customer_id == customer_id)).first()
            if already:
                raise Conflict(f"customer {customer_id} is already a lead of {campaign.name!r}")
            raise ValidationError.field("customer", f"{customer_id} has not responded to {campaign.name!r}")
        from crm_campaigns.criteria import ensure_hookspecs

        ensure_hookspecs(self.uow.crm.plugins.pm)
        made = []
        for customer in self.uow.customers.get_many(candidates):
            assigned = owner_id or customer.owner_id or campaign.owner_id
            lead_id = self.uow.execute(insert(leads).values(campaign_id=campaign.id, customer_id=customer.id, owner_id=assigned,
                                                            created_by=self.uow.actor.id, created_at=self.uow.now)).inserted_primary_key[0]
            self.uow.audit.record("customer", customer.id, "campaigns.lead", {"customer_id": customer.id, "campaign": campaign.name,
                                                                                 "owner_id": assigned})
            self.uow.fire("crm_campaigns_lead_created", ("campaigns.lead", lead_id), customer=customer, campaign=campaign,
                          owner_id=assigned)
            self.uow.publish("campaigns.lead.created", {"customer_id": customer.id, "lead_id": lead_id, "campaign_id": campaign.id,
                                                        "campaign": campaign.name, "owner_id": assigned})
            owner_user = self.uow.users.find(assigned) if assigned else None
            made.append({"lead_id": lead_id, "customer_id": customer.id, "name": customer.name,
                         "owner": owner_user.username if owner_user else None})
        return made

    # =====================================================================
    # Costs
    # =====================================================================

    def add_cost(self, name: str, amount: Any, description: str, *, channel: str | None = None, on: Any = None) -> dict[str, Any]:
        self.uow.require("campaigns.manage")
        campaign = self.get(name)
        value = _money(amount, "amount")
        if value is None or value <= 0:
            raise ValidationError.field("amount", "a cost needs a positive amount")
        if not description or not description.strip():
            raise ValidationError.field("description", "say what the cost is for")
        channel = _channels([channel])[0] if channel else None
        day = _date(on, "date") or self.uow.now.date()
        cost_id = self.uow.execute(insert(costs).values(campaign_id=campaign.id, description=description.strip(), channel=channel,
                                                        amount=value, incurred_on=day, created_by=self.uow.actor.id,
                                                        created_at=self.uow.now)).inserted_primary_key[0]
        self.uow.audit.record("campaigns.campaign", campaign.id, "cost", {"amount": value, "description": description, "channel": channel})
        return {"id": cost_id, "campaign": campaign.name, "amount": value, "description": description.strip(), "channel": channel,
                "incurred_on": day}

    def costs(self, name: str) -> list[dict[str, Any]]:
        campaign = self.get(name)
        rows = self.uow.execute(select(costs).where(costs.c.campaign_id == campaign.id).order_by(costs.c.incurred_on, costs.c.id)).mappings()
        return [{k: r[k] for k in ("id", "incurred_on", "description", "channel", "amount")} for r in rows]

    # =====================================================================
    # Evaluation
    # =====================================================================

    def stats(self, name: str) -> dict[str, Any]:
        """Audience, sent, delivered, responded, conversions, revenue, cost,
        ROI per channel and in total, and lift against the control group."""
        campaign = self.get(name)
        self.sync_delivery(campaign.id)
        cid = campaign.id
        groups = dict(self.uow.execute(select(audience.c.grp, func.count()).where(audience.c.campaign_id == cid)
                                       .group_by(audience.c.grp)).all())
        target, control = groups.get("target", 0), groups.get("control", 0)
        sent_rows = self.uow.execute(
            select(messages.c.channel, messages.c.status, func.count().label("messages"),
                   func.count(func.distinct(messages.c.customer_id)).label("customers"))
            .where(messages.c.campaign_id == cid).group_by(messages.c.channel, messages.c.status)).mappings().all()
        reached = dict(self.uow.execute(
            select(messages.c.channel, func.count(func.distinct(messages.c.customer_id)))
            .where(messages.c.campaign_id == cid, messages.c.status.in_(("sent", "listed"))).group_by(messages.c.channel)).all())
        messaged_total = self.uow.execute(select(func.count(func.distinct(messages.c.customer_id))).where(
            messages.c.campaign_id == cid, messages.c.status.in_(("queued", "sent", "failed", "cancelled", "listed")))).scalar_one()
        reached_total = self.uow.execute(select(func.count(func.distinct(messages.c.customer_id))).where(
            messages.c.campaign_id == cid, messages.c.status.in_(("sent", "listed")))).scalar_one()
        response_rows = self.uow.execute(
            select(responses.c.channel, func.count(func.distinct(responses.c.customer_id)).label("responders"),
                   func.count(func.distinct(responses.c.customer_id)).filter(responses.c.type == "bought").label("converters"),
                   func.count().filter(responses.c.type == "bought").label("purchases"),
                   func.coalesce(func.sum(responses.c.amount).filter(responses.c.type == "bought"), 0).label("revenue"))
            .where(responses.c.campaign_id == cid).group_by(responses.c.channel)).mappings().all()
        totals_row = self.uow.execute(
            select(func.count(func.distinct(responses.c.customer_id)).label("responders"),
                   func.count(func.distinct(responses.c.customer_id)).filter(responses.c.type == "bought").label("converters"),
                   func.count().filter(responses.c.type == "bought").label("purchases"),
                   func.coalesce(func.sum(responses.c.amount).filter(responses.c.type == "bought"), 0).label("revenue"))
            .where(responses.c.campaign_id == cid)).mappings().one()
        by_type = dict(self.uow.execute(select(responses.c.type, func.count(func.distinct(responses.c.customer_id)))
                                        .where(responses.c.campaign_id == cid).group_by(responses.c.type)).all())
        cost_rows = dict(self.uow.execute(select(costs.c.channel, func.sum(costs.c.amount)).where(costs.c.campaign_id == cid)
                                          .group_by(costs.c.channel)).all())
        total_cost = _dec(sum((v for v in cost_rows.values() if v is not None), Decimal(0)))
        channels_seen = [c for c in CHANNELS if c in campaign.channels or any(r["channel"] == c for r in sent_rows)
                         or c in cost_rows]
        per_channel = []
        for channel in channels_seen:
            counts = {r["status"]: r for r in sent_rows if r["channel"] == channel}
            sent = sum(counts[s]["messages"] for s in ("queued", "sent", "failed", "cancelled", "listed") if s in counts)
            delivered = sum(counts[s]["messages"] for s in ("sent", "listed") if s in counts)
            response = next((r for r in response_rows if r["channel"] == channel), None)
            responders = response["responders"] if response else 0
            revenue = _dec(response["revenue"]) if response else Decimal("0.00")
            cost = _dec(cost_rows.get(channel) or 0)
            per_channel.append({
                "channel": channel, "label": CHANNEL_LABELS[channel], "sent": sent, "delivered": delivered,
                "pending": counts["queued"]["messages"] if "queued" in counts else 0,
                "failed": counts["failed"]["messages"] if "failed" in counts else 0,
                "suppressed": counts["suppressed"]["messages"] if "suppressed" in counts else 0,
                "reached": reached.get(channel, 0), "responded": responders,
                "response_rate": _rate(responders, reached.get(channel, 0)),
                "conversions": response["converters"] if response else 0, "revenue": revenue, "cost": cost,
                "roi": _roi(revenue, cost),
            })
        revenue = _dec(totals_row["revenue"])
        # ROI against the actual cost lines; before any is entered, against the budget
        if cost_rows:
            cost_basis, roi_cost = "actual", total_cost
        elif campaign.budget is not None:
            cost_basis, roi_cost = "budget", _dec(campaign.budget)
        else:
            cost_basis, roi_cost = None, Decimal("0.00")
        sent = sum(c["sent"] for c in per_channel)
        delivered = sum(c["delivered"] for c in per_channel)
        lift = self._lift(campaign, target, control)
        return {
            "campaign": campaign.name, "status": campaign.status, "goal": campaign.goal,
            "launched_at": campaign.launched_at, "attribution_days": campaign.attribution_days,
            "audience": target + control, "target": target, "control": control,
            "sent": sent, "delivered": delivered,
            "pending": sum(c["pending"] for c in per_channel), "failed": sum(c["failed"] for c in per_channel),
            "suppressed": sum(c["suppressed"] for c in per_channel),
            "messaged": messaged_total, "reached": reached_total, "responded": totals_row["responders"],
            "response_rate": _rate(totals_row["responders"], reached_total),
            "responses": {kind: by_type.get(kind, 0) for kind in RESPONSE_TYPES},
            "conversions": totals_row["converters"], "purchases": totals_row["purchases"], "revenue": revenue,
            "budget": campaign.budget, "cost": roi_cost, "cost_basis": cost_basis, "actual_cost": total_cost,
            "unallocated_cost": _dec(cost_rows.get(None) or 0),
            "roi": _roi(revenue, roi_cost), "lift": lift, "channels": per_channel,
        }

    def _lift(self, campaign: Campaign, target: int, control: int) -> dict[str, Any]:
        """Conversion of the whole target group against the control group:
        purchases (not cancelled) from launch to the end of the attribution
        window, whether or not attributed to a message (intention to treat)."""
        if campaign.launched_at is None:
            return {"target_rate": None, "control_rate": None, "lift": None, "incremental_conversions": None,
                    "incremental_revenue": None}
        start = campaign.launched_at
        end = start + timedelta(days=campaign.attribution_days)
        bought = (select(activities.c.customer_id, func.sum(activities.c.amount).label("amount"))
                  .where(activities.c.type == "purchase", activities.c.cancelled.is_(False), activities.c.occurred_at >= start,
                         activities.c.occurred_at <= end).group_by(activities.c.customer_id).subquery())
        rows = dict((r["grp"], r) for r in self.uow.execute(
            select(audience.c.grp, func.count().label("buyers"), func.coalesce(func.sum(bought.c.amount), 0).label("amount"))
            .join(bought, bought.c.customer_id == audience.c.customer_id)
            .where(audience.c.campaign_id == campaign.id).group_by(audience.c.grp)).mappings())
        target_buyers = rows["target"]["buyers"] if "target" in rows else 0
        control_buyers = rows["control"]["buyers"] if "control" in rows else 0
        target_amount = _dec(rows["target"]["amount"]) if "target" in rows else Decimal("0.00")
        control_amount = _dec(rows["control"]["amount"]) if "control" in rows else Decimal("0.00")
        target_rate, control_rate = _rate(target_buyers, target), _rate(control_buyers, control)
        lift = None
        if control and target and control_buyers:
            lift = round((target_buyers / target - control_buyers / control) / (control_buyers / control), 4)
        incremental = round((target_buyers / target - control_buyers / control) * target, 1) if control and target else None
        incremental_revenue = None
        if control and target:
            incremental_revenue = _dec((target_amount / target - control_amount / control) * target)
        return {"target_buyers": target_buyers, "control_buyers": control_buyers, "target_rate": target_rate,
                "control_rate": control_rate, "lift": lift, "incremental_conversions": incremental,
                "target_revenue": target_amount, "control_revenue": control_amount,
                "incremental_revenue": incremental_revenue, "window_end": end}

    def compare(self, names: Iterable[str] = ()) -> list[dict[str, Any]]:
        chosen = [self.get(n) for n in names] or [c for c in self.list() if c.status in ("running", "finished")]
        rows = []
        for campaign in chosen:
            s = self.stats(campaign.name)
            rows.append({"campaign": s["campaign"], "status": s["status"], "audience": s["audience"], "sent": s["sent"],
                         "delivered": s["delivered"], "responded": s["responded"], "response_rate": s["response_rate"],
                         "conversions": s["conversions"], "revenue": s["revenue"], "cost": s["cost"], "roi": s["roi"],
                         "lift": s["lift"]["lift"]})
        return rows

    def funnel(self, stats: dict[str, Any]) -> tuple[list[str], list[float]]:
        """Customers at each stage: target group, messaged, reached (delivered), responded, converted."""
        return (["目标组 target", "已发送 messaged", "已送达 reached", "已响应 responded", "已转化 converted"],
                [stats["target"], stats["messaged"], stats["reached"], stats["responded"], stats["conversions"]])

    # =====================================================================
    # A customer's history; merges; leavers
    # =====================================================================

    def history(self, customer_id: int) -> dict[str, Any]:
        """The customer's campaigns, messages and responses (read only: a
        queued message's state is read from the outbox)."""
        rows = self.uow.execute(
            select(campaigns.c.id, campaigns.c.name, campaigns.c.status, audience.c.grp)
            .join(audience, audience.c.campaign_id == campaigns.c.id)
            .where(audience.c.customer_id == customer_id).order_by(campaigns.c.id)).mappings().all()
        state = case((messages.c.status == "queued", case((outbox.c.status == "pending", "queued"), else_=outbox.c.status)),
                     else_=messages.c.status)
        sent = self.uow.execute(
            select(messages.c.campaign_id, steps.c.number, messages.c.channel, func.coalesce(state, messages.c.status).label("status"),
                   messages.c.queued_at)
            .join(steps, steps.c.id == messages.c.step_id).outerjoin(outbox, outbox.c.id == messages.c.outbox_id)
            .where(messages.c.customer_id == customer_id).order_by(messages.c.id)).mappings().all()
        answered = self.uow.execute(select(responses.c.campaign_id, responses.c.type, responses.c.amount)
                                    .where(responses.c.customer_id == customer_id).order_by(responses.c.id)).mappings().all()
        history = []
        for row in rows:
            history.append({
                "campaign": row["name"], "status": row["status"], "group": row["grp"],
                "messages": [f"{m['number']}:{m['channel']}:{m['status']}" for m in sent if m["campaign_id"] == row["id"]],
                "responses": [r["type"] + (f" {r['amount']}" if r["amount"] is not None else "")
                              for r in answered if r["campaign_id"] == row["id"]],
            })
        opted = self.uow.execute(select(optouts.c.channel).where(optouts.c.customer_id == customer_id)).scalars().all()
        listed = self.uow.execute(select(blacklist.c.customer_id).where(blacklist.c.customer_id == customer_id)).first() is not None
        return {"campaigns": history, "opted_out": sorted(opted), "blacklisted": listed}

    def move_customer(self, kept_id: int, merged_id: int) -> None:
        """Move every record of ``merged`` to ``kept`` (customer merge)."""
        for table, key in ((audience, audience.c.campaign_id), (leads, leads.c.campaign_id), (optouts, optouts.c.channel)):
            twin = table.alias("twin")
            clash = exists().where(twin.c.customer_id == kept_id, getattr(twin.c, key.name) == key)
            self.uow.execute(update(table).where(table.c.customer_id == merged_id, ~clash).values(customer_id=kept_id))
            self.uow.execute(delete(table).where(table.c.customer_id == merged_id))
        if self.uow.execute(select(blacklist.c.customer_id).where(blacklist.c.customer_id == kept_id)).first():
            self.uow.execute(delete(blacklist).where(blacklist.c.customer_id == merged_id))
        else:
            self.uow.execute(update(blacklist).where(blacklist.c.customer_id == merged_id).values(customer_id=kept_id))
        for table in (messages, responses):
            self.uow.execute(update(table).where(table.c.customer_id == merged_id).values(customer_id=kept_id))

    def reassign_owner(self, user_id: int, successor_id: int | None) -> int:
        moved = self.uow.execute(update(campaigns).where(campaigns.c.owner_id == user_id,
                                                         campaigns.c.status.in_(("draft", "approved", "running")))
                                 .values(owner_id=successor_id)).rowcount
        moved += self.uow.execute(update(leads).where(leads.c.owner_id == user_id).values(owner_id=successor_id)).rowcount
        return moved


# ---------------------------------------------------------------------------
# Templates
# ---------------------------------------------------------------------------


def _environment(uow: "UnitOfWork") -> Any:
    from jinja2 import StrictUndefined
    from jinja2.sandbox import SandboxedEnvironment

    return SandboxedEnvironment(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=True)


def template_context(uow: "UnitOfWork", customer: Customer, campaign: Campaign, step: Step) -> dict[str, Any]:
    """What a message template sees: ``customer`` (every field, custom
    fields under ``customer.custom`` with declared ones always present,
    ``customer.salutation`` 先生/女士, ``customer.age``), ``campaign`` and
    ``step``."""
    data = {name: getattr(customer, name) for name in (
        "id", "code", "kind", "name", "phones", "emails", "address", "region", "province", "city", "industry", "position",
        "birthday", "gender", "source", "level", "status", "stage", "tags")}
    declared = {name: "" for name in uow.custom_fields.definitions()}
    data["custom"] = {**declared, **(customer.custom or {})}
    data["salutation"] = {"male": "先生", "female": "女士"}.get(customer.gender or "", "")
    data["phone"] = (customer.phones or [""])[0]
    data["email"] = (customer.emails or [""])[0]
    born = customer.birthday
    today = uow.now.date()
    data["age"] = (today.year - born.year - ((today.month, today.day) < (born.month, born.day))) if born else None
    return {"customer": data, "campaign": {"name": campaign.name, "goal": campaign.goal, "ends_on": campaign.ends_on},
            "step": step.number}


def check_template(uow: "UnitOfWork", source: str, field: str) -> None:
    """Refuse a template that does not parse or that uses a name a customer
    does not have (rendered against a sample customer)."""
    from jinja2 import TemplateError, TemplateSyntaxError

    environment = _environment(uow)
    try:
        template = environment.from_string(source)
    except TemplateSyntaxError as error:
        raise ValidationError.field(field, f"line {error.lineno}: {error.message}") from None
    sample = Customer(name="示例客户", phones=["13800000000"], emails=["sample@example.com"], birthday="1990-01-01", gender="female",
                      city="上海")
    sample.id = 0
    context = template_context(uow, sample, Campaign(name="示例活动", goal=""), Step(campaign_id=0, number=1, channel="email"))
    try:
        template.render(context)
    except TemplateError as error:
        raise ValidationError.field(field, f"{error}") from None


def render_message(uow: "UnitOfWork", chosen: dict[str, Any], customer: Customer, campaign: Campaign, step: Step) -> tuple[str | None, str]:
    environment = _environment(uow)
    context = template_context(uow, customer, campaign, step)
    try:
        subject = environment.from_string(chosen["subject"]).render(context).strip() if chosen["subject"] else None
        body = environment.from_string(chosen["body"]).render(context)
    except Exception as error:
        raise ValidationError.field("template", f"cannot render for customer {customer.id}: {error}") from None
    return subject, body


def _pick_template(choices: list[dict[str, Any]], language: str, variant: str | None) -> dict[str, Any]:
    primary = choices[0]["language"]
    languages = {t["language"] for t in choices}
    language = language if language in languages else primary
    pool = [t for t in choices if t["language"] == language]
    if variant:
        for t in pool:
            if t["variant"] == variant:
                return t
        for t in choices:
            if t["language"] == primary and t["variant"] == variant:
                return t
    return pool[0]


def _language(customer: Customer) -> str:
    value = (customer.custom or {}).get("language")
    return str(value).strip() if value else DEFAULT_LANGUAGE


def _recipient(customer: Customer, channel: str, consented: Any = ALL) -> str | None:
    """Where a message on ``channel`` goes. An invitation (``event``) goes to
    the first phone, else the first e-mail, over which the customer may be
    contacted (``consented``: the consent channels granted, or ``ALL``)."""
    if channel == "email":
        return customer.emails[0] if customer.emails else None
    if channel == "sms":
        return next((p for p in customer.phones if MOBILE.match(p)), None)
    if channel == "phone":
        return customer.phones[0] if customer.phones else None
    if channel == "mail":
        return customer.address or None
    allowed = set(EVENT_CONSENT_CHANNELS) if consented is ALL else set(consented or ())
    if customer.phones and "phone" in allowed:
        return customer.phones[0]
    if customer.emails and "email" in allowed:
        return customer.emails[0]
    return (customer.phones or customer.emails or [None])[0] if consented is ALL else None


def _masked(recipient: str | None, channel: str) -> str | None:
    """A message's recipient as someone without ``customers.view_contact_details`` sees it."""
    from crmcore import mask_phone
    from crmcore.presenting import mask_email

    if not recipient or recipient == "(erased)" or channel == "mail":
        return recipient
    return mask_email(recipient) if "@" in recipient else mask_phone(recipient)


def _consent_channels(channel: str) -> set[str]:
    """The consent channels a campaign channel needs one of: itself; an
    invitation (``event``) goes by phone or e-mail."""
    return set(EVENT_CONSENT_CHANNELS) if channel == "event" else {channel}


# ---------------------------------------------------------------------------
# Values
# ---------------------------------------------------------------------------


def _name(value: str, field: str) -> str:
    text = (value or "").strip()
    if not text:
        raise ValidationError.field(field, "must not be empty")
    if len(text) > 100:
        raise ValidationError.field(field, "at most 100 characters")
    return text


def _channels(values: Iterable[str]) -> list[str]:
    aliases = {"e-mail": "email", "mail-out": "mail", "call": "phone", "邮件": "email", "短信": "sms", "电话": "phone",
               "活动": "event", "直邮": "mail"}
    result = []
    for value in values:
        channel = aliases.get(str(value).strip().lower(), str(value).strip().lower())
        if channel not in CHANNELS:
            raise ValidationError.field("channel", f"{value!r} is not one of {', '.join(CHANNELS)}")
        if channel not in result:
            result.append(channel)
    return result


def _money(value: Any, field: str) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        amount = Decimal(str(value).replace(",", "").replace("¥", "").strip())
    except InvalidOperation:
        raise ValidationError.field(field, f"{value!r} is not an amount") from None
    if amount < 0 or not amount.is_finite():
        raise ValidationError.field(field, "must not be negative")
    return amount.quantize(Decimal("0.01"))


def _percent(value: Any, field: str, *, high: int) -> int:
    if value is None or value == "":
        return 0
    text = str(value).strip().rstrip("%").strip()
    try:
        number = Decimal(text)
    except InvalidOperation:
        raise ValidationError.field(field, f"{value!r} is not a percentage (e.g. 10%)") from None
    if number != number.to_integral_value() or not 0 <= number <= high:
        raise ValidationError.field(field, f"must be a whole percentage from 0% to {high}%")
    return int(number)


def _positive(value: Any, field: str) -> int | None:
    if value is None or value == "":
        return None
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise ValidationError.field(field, f"{value!r} is not a whole number") from None
    if number <= 0:
        raise ValidationError.field(field, "must be more than 0")
    return number


def _date(value: Any, field: str) -> date | None:
    from crmcore.clock import parse_date

    return parse_date(value, field=field) if value not in (None, "") else None


def _moment(value: Any, uow: "UnitOfWork") -> datetime:
    from crmcore.clock import parse_datetime

    return parse_datetime(value, uow.crm.config.timezone, field="at")


def _check_dates(campaign: Campaign) -> None:
    if campaign.starts_on and campaign.ends_on and campaign.ends_on < campaign.starts_on:
        raise ValidationError.field("end", f"{campaign.ends_on} is before the start {campaign.starts_on}")


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _dec(value: Any) -> Decimal:
    return Decimal(str(value or 0)).quantize(Decimal("0.01"))


def _roi(revenue: Decimal, cost: Decimal) -> float | None:
    return round(float((revenue - cost) / cost), 4) if cost else None

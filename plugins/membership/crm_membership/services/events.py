"""Member events (活动管理) and alliance merchants (联盟商家)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, func, insert, select, update

from crmcore import Conflict, NotFound, ValidationError

from crm_membership.common import REWARD, UPGRADE, one_of, parse_day, require_text
from crm_membership.tables import (
    balances,
    event_members,
    event_merchants,
    events,
    merchant_contacts,
    merchant_notes,
    merchant_offers,
    merchants,
    members,
    tiers,
)

if TYPE_CHECKING:
    from crm_membership.services import MembershipService

MERCHANT_STATUSES = ("applying", "active", "terminated")


class Events:
    def __init__(self, service: "MembershipService"):
        self.service = service
        self.uow = service.uow

    def add(self, name: str, *, held_on: Any, location: str | None = None, reward_points: int | None = None, upgrade_points: int = 0,
            capacity: int | None = None) -> dict[str, Any]:
        """A member event. Attendance earns ``reward_points`` (when not given:
        the `event` rule of the plan in force on the day)."""
        self.uow.require("membership.manage")
        name = require_text(name, "name", 200)
        day = parse_day(held_on, "on")
        if capacity is not None and capacity <= 0:
            raise ValidationError.field("capacity", "must be positive")
        if (reward_points is not None and reward_points < 0) or upgrade_points < 0:
            raise ValidationError.field("points", "must be zero or more")
        if reward_points is None:
            plan = self.service.plans.covering(day)
            reward_points, rule_upgrade = self.service.plans.earn(plan, "event", None) if plan else (0, 0)
            upgrade_points = upgrade_points or rule_upgrade
        values = {"name": name, "held_on": day, "location": location, "reward_points": reward_points, "upgrade_points": upgrade_points,
                  "capacity": capacity, "status": "planned", "created_at": self.uow.now}
        event_id = self.uow.execute(insert(events).values(values)).inserted_primary_key[0]
        self.uow.audit.record("membership_event", event_id, "create", {k: (None, v) for k, v in values.items() if k != "created_at"})
        return self.get(event_id)

    def get(self, event_id: int) -> dict[str, Any]:
        row = self.uow.execute(select(events).where(events.c.id == event_id)).mappings().first()
        if row is None:
            raise NotFound(f"event {event_id} not found")
        return dict(row)

    def list(self) -> list[dict[str, Any]]:
        return [dict(r) for r in self.uow.execute(select(events).order_by(events.c.held_on.desc(), events.c.id.desc())).mappings()]

    def invite(self, event_id: int, *, tier: str | None = None, min_points: int | None = None, cards: list[str] | None = None,
               joined_before: Any = None) -> dict[str, Any]:
        """Invite members found by a query (tier, minimum reward points, joined
        before a date) and/or by card; members invited before are kept."""
        from crmcore.tables import customers

        self.uow.require("membership.manage")
        event = self.get(event_id)
        ids: set[int] = set()
        if tier or min_points is not None or joined_before:
            query = (select(members.c.id).join(balances, balances.c.member_id == members.c.id)
                     .where(members.c.status == "active", members.c.customer_id.in_(self.uow.customers.scope(select(customers.c.id)))))
            if tier:
                query = query.where(members.c.tier_id == self.service.tiers.get(tier)["id"])
            if min_points is not None:
                query = query.where(balances.c.reward >= min_points)
            if joined_before:
                query = query.where(members.c.joined_on < parse_day(joined_before, "joined_before"))
            ids.update(self.uow.execute(query).scalars())
        for number in cards or []:
            ids.add(self.service.members.by_card(number)["id"])
        if not ids and not (tier or min_points is not None or joined_before or cards):
            raise ValidationError.field("query", "choose members: --tier, --min-points, --joined-before or --card")
        existing = set(self.uow.execute(select(event_members.c.member_id).where(event_members.c.event_id == event_id)).scalars())
        fresh = sorted(ids - existing)
        if fresh:
            self.uow.execute(insert(event_members), [{"event_id": event_id, "member_id": m, "invited_at": self.uow.now} for m in fresh])
        self.uow.audit.record("membership_event", event_id, "invite", {"invited": len(fresh)})
        return {"event": event["name"], "invited": len(fresh), "already": len(ids & existing)}

    def participants(self, event_id: int) -> list[dict[str, Any]]:
        """Who was invited, registered and attended, among the members the
        user may see (customers in scope)."""
        from crmcore.tables import customers

        self.get(event_id)
        query = (select(members.c.card_number, customers.c.name, tiers.c.name.label("tier"), event_members.c.invited_at,
                        event_members.c.registered_at, event_members.c.attended_at)
                 .join(members, members.c.id == event_members.c.member_id).join(customers, customers.c.id == members.c.customer_id)
                 .join(tiers, tiers.c.id == members.c.tier_id)
                 .where(event_members.c.event_id == event_id, members.c.customer_id.in_(self.uow.customers.scope(select(customers.c.id))))
                 .order_by(members.c.card_number))
        return [dict(row) for row in self.uow.execute(query).mappings()]

    def _participation(self, event_id: int, member_id: int) -> dict[str, Any] | None:
        row = self.uow.execute(select(event_members).where(event_members.c.event_id == event_id, event_members.c.member_id == member_id)).mappings().first()
        return dict(row) if row else None

    def register(self, event_id: int, number: str) -> dict[str, Any]:
        self.uow.require("membership.points")
        event = self.get(event_id)
        member = self.service.members.by_card(number)
        if member["status"] != "active":
            raise Conflict(f"card {number}: membership is {member['status']}")
        if event["capacity"]:
            taken = self.uow.execute(select(func.count()).select_from(event_members).where(
                event_members.c.event_id == event_id, event_members.c.registered_at.isnot(None))).scalar_one()
            if taken >= event["capacity"] and not (self._participation(event_id, member["id"]) or {}).get("registered_at"):
                raise Conflict(f"event {event['name']} is full ({event['capacity']} places)")
        row = self._participation(event_id, member["id"])
        if row is None:
            self.uow.execute(insert(event_members).values(event_id=event_id, member_id=member["id"], registered_at=self.uow.now))
        elif row["registered_at"] is None:
            self.uow.execute(update(event_members).where(event_members.c.event_id == event_id, event_members.c.member_id == member["id"])
                             .values(registered_at=self.uow.now))
        return {"event": event["name"], "card_number": member["card_number"], "registered": True}

    def attend(self, event_id: int, numbers: list[str], *, award: bool = True) -> dict[str, Any]:
        """Record attendance and (unless ``award`` is off) post the event's
        points to each attendee, once per member and event."""
        self.uow.require("membership.points")
        event = self.get(event_id)
        found = [self.service.members.by_card(n) for n in numbers]
        for member in found:
            if award:
                self.service.members.require_usable(member, "earning")
            row = self._participation(event_id, member["id"])
            if row is None:
                self.uow.execute(insert(event_members).values(event_id=event_id, member_id=member["id"], attended_at=self.uow.now))
            elif row["attended_at"] is None:
                self.uow.execute(update(event_members).where(event_members.c.event_id == event_id, event_members.c.member_id == member["id"])
                                 .values(attended_at=self.uow.now))
        self.uow.execute(update(events).where(events.c.id == event_id, events.c.status == "planned").values(status="held"))
        posted = self.award(event_id, [m["id"] for m in found]) if award else 0
        return {"event": event["name"], "attended": len(found), "points_posted": posted}

    def award(self, event_id: int, member_ids: list[int] | None = None) -> int:
        """Post attendance points (idempotent: key event:<id>:<member>)."""
        event = self.get(event_id)
        if member_ids is None:
            member_ids = list(self.uow.execute(select(event_members.c.member_id).where(
                event_members.c.event_id == event_id, event_members.c.attended_at.isnot(None))).scalars())
        plan = self.service.plans.covering(event["held_on"])
        rows = []
        for member_id in member_ids:
            for kind, points in ((REWARD, event["reward_points"]), (UPGRADE, event["upgrade_points"])):
                if points:
                    rows.append({"member_id": member_id, "kind": kind, "points": points, "source": "event", "plan_id": plan["id"] if plan else None,
                                 "reference": f"event:{event_id}", "idempotency_key": f"event:{event_id}:{member_id}:{kind}",
                                 "effective_on": event["held_on"],
                                 "expires_on": self.service.plans.expiry(plan, event["held_on"]) if kind == REWARD else None,
                                 "reason": event["name"]})
        posted = self.service.ledger.post_many(rows)
        self.service.members.upgrade_if_due({r["member_id"] for r in posted if r["kind"] == UPGRADE})
        return len([r for r in posted if r["kind"] == REWARD])

    def link_merchant(self, event_id: int, merchant: str, role: str | None = None) -> dict[str, Any]:
        self.uow.require("membership.manage")
        event = self.get(event_id)
        found = self.service.merchants.get(merchant)
        if self.uow.execute(select(event_merchants.c.event_id).where(event_merchants.c.event_id == event_id,
                                                                     event_merchants.c.merchant_id == found["id"])).first():
            raise Conflict(f"merchant {found['name']} already joined event {event['name']}")
        self.uow.execute(insert(event_merchants).values(event_id=event_id, merchant_id=found["id"], role=role))
        return {"event": event["name"], "merchant": found["name"], "role": role}

    def stats(self, event_id: int | None = None) -> list[dict[str, Any]]:
        em = event_members
        query = (
            select(events.c.id, events.c.name, events.c.held_on, events.c.status,
                   func.count(em.c.invited_at).label("invited"), func.count(em.c.registered_at).label("registered"),
                   func.count(em.c.attended_at).label("attended"))
            .outerjoin(em, em.c.event_id == events.c.id).group_by(events.c.id, events.c.name, events.c.held_on, events.c.status)
            .order_by(events.c.held_on.desc(), events.c.id.desc())
        )
        if event_id is not None:
            self.get(event_id)
            query = query.where(events.c.id == event_id)
        from crm_membership.tables import ledger

        points = dict(self.uow.execute(select(ledger.c.reference, func.sum(ledger.c.points)).where(
            ledger.c.source == "event", ledger.c.kind == REWARD, ledger.c.reference.like("event:%")).group_by(ledger.c.reference)).all())
        merchant_counts = dict(self.uow.execute(select(event_merchants.c.event_id, func.count()).group_by(event_merchants.c.event_id)).all())
        result = []
        for row in self.uow.execute(query).mappings():
            invited, attended = row["invited"], row["attended"]
            result.append({**dict(row), "attendance_rate": f"{attended / invited:.0%}" if invited else None,
                           "points": int(points.get(f"event:{row['id']}", 0)), "merchants": merchant_counts.get(row["id"], 0)})
        return result


class Merchants:
    def __init__(self, service: "MembershipService"):
        self.service = service
        self.uow = service.uow

    def add(self, name: str, *, category: str | None = None, address: str | None = None, status: str = "applying") -> dict[str, Any]:
        self.uow.require("membership.manage")
        name = require_text(name, "name", 200)
        one_of(status, "status", MERCHANT_STATUSES)
        if self.find(name):
            raise Conflict(f"name: merchant {name!r} exists")
        merchant_id = self.uow.execute(insert(merchants).values(name=name, status=status, category=category, address=address,
                                                                created_at=self.uow.now, status_changed_at=self.uow.now)).inserted_primary_key[0]
        self.uow.audit.record("membership_merchant", merchant_id, "create", {"name": name, "status": status})
        return self.get(merchant_id)

    def find(self, name_or_id: Any) -> dict[str, Any] | None:
        row = self.uow.execute(select(merchants).where(merchants.c.name == str(name_or_id).strip())).mappings().first()
        if row is None and str(name_or_id).isdigit():
            row = self.uow.execute(select(merchants).where(merchants.c.id == int(name_or_id))).mappings().first()
        return dict(row) if row else None

    def get(self, name_or_id: Any) -> dict[str, Any]:
        found = self.find(name_or_id)
        if found is None:
            raise NotFound(f"merchant: no merchant {name_or_id!r}")
        return found

    def set_status(self, name_or_id: Any, status: str, reason: str | None = None) -> dict[str, Any]:
        """applying → active → terminated (a terminated merchant stays on file)."""
        self.uow.require("membership.manage")
        one_of(status, "status", MERCHANT_STATUSES)
        merchant = self.get(name_or_id)
        allowed = {"applying": ("active", "terminated"), "active": ("terminated",), "terminated": ("active",)}
        if status not in allowed[merchant["status"]]:
            raise Conflict(f"merchant {merchant['name']} is {merchant['status']}; cannot become {status}")
        self.uow.execute(update(merchants).where(merchants.c.id == merchant["id"]).values(status=status, status_changed_at=self.uow.now))
        self.uow.audit.record("membership_merchant", merchant["id"], "status", {"status": (merchant["status"], status), "reason": reason})
        return self.get(merchant["id"])

    def add_offer(self, name_or_id: Any, description: str, *, min_tier: str | None = None, valid_to: Any = None) -> dict[str, Any]:
        self.uow.require("membership.manage")
        merchant = self.get(name_or_id)
        description = require_text(description, "text", 300)
        tier_id = self.service.tiers.get(min_tier)["id"] if min_tier else None
        offer_id = self.uow.execute(insert(merchant_offers).values(merchant_id=merchant["id"], min_tier_id=tier_id, description=description,
                                                                   valid_to=parse_day(valid_to, "valid_to", optional=True),
                                                                   created_at=self.uow.now)).inserted_primary_key[0]
        return {"id": offer_id, "merchant": merchant["name"], "description": description, "min_tier": min_tier}

    def add_contact(self, name_or_id: Any, name: str, *, title: str | None = None, phone: str | None = None, email: str | None = None) -> dict[str, Any]:
        self.uow.require("membership.manage")
        merchant = self.get(name_or_id)
        contact_id = self.uow.execute(insert(merchant_contacts).values(merchant_id=merchant["id"], name=require_text(name, "name", 100),
                                                                       title=title, phone=phone, email=email)).inserted_primary_key[0]
        return {"id": contact_id, "merchant": merchant["name"], "name": name}

    def add_note(self, name_or_id: Any, text: str, *, rating: int | None = None) -> dict[str, Any]:
        """A note on the merchant's reputation (口碑), optionally rated 1–5."""
        self.uow.require("membership.manage")
        merchant = self.get(name_or_id)
        if rating is not None and not 1 <= rating <= 5:
            raise ValidationError.field("rating", "must be 1 to 5")
        note_id = self.uow.execute(insert(merchant_notes).values(merchant_id=merchant["id"], rating=rating, text=require_text(text, "text", 2000),
                                                                 author=self.uow.actor.username, created_at=self.uow.now)).inserted_primary_key[0]
        return {"id": note_id, "merchant": merchant["name"], "rating": rating}

    def offers_for(self, tier_level: int) -> list[dict[str, Any]]:
        query = (select(merchants.c.name.label("merchant"), merchant_offers.c.description, tiers.c.name.label("min_tier"), merchant_offers.c.valid_to)
                 .join(merchants, merchants.c.id == merchant_offers.c.merchant_id)
                 .outerjoin(tiers, tiers.c.id == merchant_offers.c.min_tier_id)
                 .where(merchants.c.status == "active", (tiers.c.level.is_(None)) | (tiers.c.level <= tier_level)))
        return [dict(r) for r in self.uow.execute(query.order_by(merchants.c.name)).mappings()]

    def show(self, name_or_id: Any) -> dict[str, Any]:
        merchant = self.get(name_or_id)
        mid = merchant["id"]
        offers = self.uow.execute(select(merchant_offers.c.description, tiers.c.name.label("min_tier"), merchant_offers.c.valid_to)
                                  .outerjoin(tiers, tiers.c.id == merchant_offers.c.min_tier_id).where(merchant_offers.c.merchant_id == mid)).mappings()
        contacts = self.uow.execute(select(merchant_contacts.c.name, merchant_contacts.c.title, merchant_contacts.c.phone, merchant_contacts.c.email)
                                    .where(merchant_contacts.c.merchant_id == mid)).mappings()
        notes = list(self.uow.execute(select(merchant_notes.c.rating, merchant_notes.c.text, merchant_notes.c.author, merchant_notes.c.created_at)
                                      .where(merchant_notes.c.merchant_id == mid).order_by(merchant_notes.c.id)).mappings())
        joined = self.uow.execute(select(events.c.id, events.c.name, events.c.held_on, event_merchants.c.role)
                                  .join(event_merchants, event_merchants.c.event_id == events.c.id)
                                  .where(event_merchants.c.merchant_id == mid).order_by(events.c.held_on)).mappings()
        ratings = [n["rating"] for n in notes if n["rating"]]
        return {**merchant, "rating": round(sum(ratings) / len(ratings), 1) if ratings else None, "offers": [dict(o) for o in offers],
                "contacts": [dict(c) for c in contacts], "notes": [dict(n) for n in notes], "events": [dict(e) for e in joined]}

    def list(self, status: str | None = None) -> list[dict[str, Any]]:
        rating = (select(merchant_notes.c.merchant_id, func.avg(merchant_notes.c.rating).label("rating"))
                  .group_by(merchant_notes.c.merchant_id).subquery())
        offers = (select(merchant_offers.c.merchant_id, func.count().label("offers")).group_by(merchant_offers.c.merchant_id).subquery())
        query = (select(merchants.c.id, merchants.c.name, merchants.c.status, merchants.c.category, rating.c.rating, offers.c.offers)
                 .outerjoin(rating, rating.c.merchant_id == merchants.c.id).outerjoin(offers, offers.c.merchant_id == merchants.c.id)
                 .order_by(merchants.c.id))
        if status:
            query = query.where(merchants.c.status == one_of(status, "status", MERCHANT_STATUSES))
        rows = []
        for row in self.uow.execute(query).mappings():
            row = dict(row)
            row["rating"] = None if row["rating"] is None else round(float(row["rating"]), 1)
            row["offers"] = row["offers"] or 0
            rows.append(row)
        return rows

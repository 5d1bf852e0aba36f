"""Joining (入会), members, cards (会员卡号) and tiers of members (会员级别)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import TYPE_CHECKING, Any, Iterable

from sqlalchemy import and_, func, insert, or_, select, update

from crmcore import Conflict, NotFound, ValidationError, normalise_phone

from crm_membership.common import local_today, one_of, require_text
from crm_membership.tables import applications, balances, cards, ledger, members, sequences, tier_changes, tiers

if TYPE_CHECKING:
    from crm_membership.services import MembershipService

CHANNELS = ("counter", "web", "purchase")
SEQ_CARD = "card"


class Cards:
    """Card numbers: generated from a pattern, or taken from a preset pool
    (batches of prefix + serial, plus single special numbers). A number is
    unique and, once assigned, never given to anyone else."""

    def __init__(self, service: "MembershipService"):
        self.service = service
        self.uow = service.uow

    def pool_add(self, prefix: str, width: int, count: int, start: int | None = None) -> list[str]:
        self.uow.require("membership.manage")
        prefix = (prefix or "").strip()
        if len(prefix) > 20:
            raise ValidationError.field("prefix", "at most 20 characters")
        if not 1 <= int(width) <= 18:
            raise ValidationError.field("width", "must be between 1 and 18")
        if not 1 <= int(count) <= 100_000:
            raise ValidationError.field("count", "must be between 1 and 100000")
        if start is None:
            start = self._next_serial(prefix, int(width))
        if start < 0:
            raise ValidationError.field("start", "must be zero or more")
        if start + count - 1 >= 10 ** width:
            raise ValidationError.field("count", f"{count} numbers from {start} do not fit in {width} digits")
        numbers = [f"{prefix}{serial:0{width}d}" for serial in range(start, start + count)]
        taken = set()
        for chunk_start in range(0, len(numbers), 500):
            chunk = numbers[chunk_start:chunk_start + 500]
            taken.update(self.uow.execute(select(cards.c.number).where(cards.c.number.in_(chunk))).scalars())
        fresh = [n for n in numbers if n not in taken]
        if fresh:
            self.uow.execute(insert(cards), [{"number": n, "status": "available", "origin": "pool", "created_at": self.uow.now} for n in fresh])
        self.uow.audit.record("membership_cards", None, "pool_add", {"prefix": prefix, "width": width, "from": start, "count": len(fresh),
                                                                      "skipped": len(taken)})
        return fresh

    def _next_serial(self, prefix: str, width: int) -> int:
        highest = self.uow.execute(
            select(func.max(cards.c.number)).where(cards.c.number.like(f"{prefix}%"), func.length(cards.c.number) == len(prefix) + width)
        ).scalar()
        if highest and highest[len(prefix):].isdigit():
            return int(highest[len(prefix):]) + 1
        return 1

    def special_add(self, number: str, note: str | None = None) -> dict[str, Any]:
        self.uow.require("membership.manage")
        number = require_text(number, "number", 40)
        if self.uow.execute(select(cards.c.id).where(cards.c.number == number)).first():
            raise Conflict(f"number: card {number} exists")
        self.uow.execute(insert(cards).values(number=number, status="available", origin="special", created_at=self.uow.now, note=note))
        self.uow.audit.record("membership_cards", number, "special_add", {"note": note})
        return {"number": number, "status": "available", "origin": "special"}

    def available(self, limit: int = 50) -> tuple[int, list[str]]:
        count = self.uow.execute(select(func.count()).select_from(cards).where(cards.c.status == "available")).scalar_one()
        numbers = list(self.uow.execute(select(cards.c.number).where(cards.c.status == "available").order_by(cards.c.id).limit(limit)).scalars())
        return count, numbers

    def assign(self, member_id: int, number: str | None = None) -> str:
        """Give a member a card: the number asked for (a free pool or special
        number, or a new one), else the next from the pool or the pattern."""
        if number:
            number = require_text(number, "card", 40)
            row = self.uow.execute(select(cards.c.id, cards.c.status).where(cards.c.number == number)).first()
            if row is None:
                self.uow.execute(insert(cards).values(number=number, member_id=member_id, status="active", origin="manual",
                                                      created_at=self.uow.now, assigned_at=self.uow.now))
                return number
            if row.status != "available":
                raise Conflict(f"card: number {number} is already used and is never reused")
            self._take(row.id, member_id)
            return number
        if self.service.settings.get("card_mode") == "pool":
            query = select(cards.c.id, cards.c.number).where(cards.c.status == "available").order_by(cards.c.id).limit(1)
            if self.uow.connection.dialect.name == "postgresql":
                query = query.with_for_update(skip_locked=True)
            row = self.uow.execute(query).first()
            if row is None:
                raise Conflict("card: the preset pool is empty; add numbers with `crm membership card pool add`")
            self._take(row.id, member_id)
            return row.number
        pattern, year = self.service.settings.get("card_pattern"), local_today(self.uow).year
        for _ in range(1000):
            number = pattern.format(seq=self._next(SEQ_CARD), year=year)
            if not self.uow.execute(select(cards.c.id).where(cards.c.number == number)).first():
                self.uow.execute(insert(cards).values(number=number, member_id=member_id, status="active", origin="pattern",
                                                      created_at=self.uow.now, assigned_at=self.uow.now))
                return number
        raise Conflict("card: the pattern produced 1000 numbers in a row that are taken; change card_pattern")

    def _take(self, card_id: int, member_id: int) -> None:
        done = self.uow.execute(update(cards).where(cards.c.id == card_id, cards.c.status == "available")
                                .values(member_id=member_id, status="active", assigned_at=self.uow.now)).rowcount
        if done != 1:
            raise Conflict("card: that number was just taken; try again")

    def _next(self, name: str) -> int:
        result = self.uow.execute(update(sequences).where(sequences.c.name == name).values(value=sequences.c.value + 1)
                                  .returning(sequences.c.value)).first()
        if result is not None:
            return result[0]
        self.uow.execute(insert(sequences).values(name=name, value=1))
        return 1

    def status(self, number: str) -> str | None:
        return self.uow.execute(select(cards.c.status).where(cards.c.number == number)).scalar()

    def report_lost(self, number: str, note: str | None = None) -> dict[str, Any]:
        self.uow.require("membership.cards")
        member = self.service.members.by_card(number)
        status = self.status(member["card_number"])
        if status == "lost":
            raise Conflict(f"card {number} is already reported lost")
        self.uow.execute(update(cards).where(cards.c.number == member["card_number"]).values(status="lost", blocked_at=self.uow.now, note=note))
        self.uow.audit.record("membership_member", member["id"], "card_lost", {"customer_id": member["customer_id"], "card": number, "status": (status, "lost"), "note": note})
        return self.service.members.view(member["id"])

    def unblock(self, number: str) -> dict[str, Any]:
        self.uow.require("membership.cards")
        member = self.service.members.by_card(number)
        if self.status(member["card_number"]) != "lost":
            raise Conflict(f"card {number} is not reported lost")
        self.uow.execute(update(cards).where(cards.c.number == member["card_number"]).values(status="active", blocked_at=None))
        self.uow.audit.record("membership_member", member["id"], "card_unblocked", {"customer_id": member["customer_id"], "card": number, "status": ("lost", "active")})
        return self.service.members.view(member["id"])

    def replace(self, number: str, new_number: str | None = None, reason: str | None = None) -> dict[str, Any]:
        """A new card for the same member and balances; the old number is
        retired for good."""
        self.uow.require("membership.cards")
        member = self.service.members.by_card(number)
        old = member["card_number"]
        self.uow.execute(update(cards).where(cards.c.number == old).values(status="replaced", blocked_at=self.uow.now, note=reason))
        fresh = self.assign(member["id"], new_number)
        self.uow.execute(update(members).where(members.c.id == member["id"]).values(card_number=fresh))
        self.uow.audit.record("membership_member", member["id"], "card_replaced", {"customer_id": member["customer_id"], "card_number": (old, fresh), "reason": reason})
        return self.service.members.view(member["id"])

    def history(self, member_id: int) -> list[dict[str, Any]]:
        return [dict(row) for row in self.uow.execute(select(cards).where(cards.c.member_id == member_id).order_by(cards.c.id)).mappings()]


class Members:
    def __init__(self, service: "MembershipService"):
        self.service = service
        self.uow = service.uow

    # -- applications ------------------------------------------------------------------

    def apply(self, customer_id: int | None = None, *, channel: str = "counter", name: str | None = None, phone: str | None = None,
              email: str | None = None, id_number: str | None = None, birthday: Any = None, referrer: str | None = None) -> dict[str, Any]:
        """File an application for an existing customer, or for a new one made
        from the details given."""
        self.uow.require("membership.apply")
        one_of(channel, "channel", CHANNELS)
        if customer_id is None:
            if not name:
                raise ValidationError.field("customer", "give a customer id, or --name (and --phone) for a new customer")
            customer = self.uow.customers.create(name=name, phones=[phone] if phone else [], emails=[email] if email else [],
                                                 birthday=birthday or None, source=f"会员申请({channel})")
        else:
            customer = self.uow.customers.get(customer_id)
            if not customer.active:
                raise Conflict(f"customer {customer_id} is cancelled")
        phone_value = phone or (customer.phones[0] if customer.phones else None)
        if phone_value:
            try:
                phone_value = normalise_phone(phone_value)
            except (ValueError, ValidationError):
                raise ValidationError.field("phone", f"{phone_value!r} is not a phone number") from None
        referrer_id = self.by_card(referrer)["id"] if referrer else None
        values = {
            "customer_id": customer.id, "channel": channel, "status": "pending", "name": name or customer.name,
            "phone": phone_value, "id_number": (id_number or "").strip().upper() or None,
            "email": email or (customer.emails[0] if customer.emails else None),
            "birthday": customer.birthday, "referrer_member_id": referrer_id, "flags": [], "created_at": self.uow.now,
        }
        app_id = self.uow.execute(insert(applications).values(values)).inserted_primary_key[0]
        flags = self._flags({**values, "id": app_id})
        self.uow.execute(update(applications).where(applications.c.id == app_id).values(flags=flags))
        self.uow.audit.record("membership_application", app_id, "create", {"customer_id": customer.id, "channel": channel, "flags": flags})
        return self.application(app_id)

    def _flags(self, app: dict[str, Any]) -> list[str]:
        """What a reviewer must look at: missing key fields, duplicates."""
        flags = [f"missing: {field}" for field in self.service.settings.get("key_fields") if not app.get(field)]
        others = select(applications.c.id, applications.c.status).where(
            applications.c.id != app["id"], applications.c.status.in_(("pending", "approved")))
        same = []
        if app.get("phone"):
            same.append(("phone", others.where(applications.c.phone == app["phone"])))
        if app.get("id_number"):
            same.append(("ID", others.where(applications.c.id_number == app["id_number"])))
        for what, query in same:
            for other_id, status in self.uow.execute(query.order_by(applications.c.id)):
                flags.append(f"duplicate: application {other_id} ({status}) has the same {what}")
        existing = self.active_of_customer(app["customer_id"])
        if existing:
            flags.append(f"duplicate: customer {app['customer_id']} is already member {existing['card_number']}")
        return flags

    def application(self, app_id: int) -> dict[str, Any]:
        row = self.uow.execute(select(applications).where(applications.c.id == app_id)).mappings().first()
        if row is None or self.uow.customers.find(row["customer_id"]) is None:
            raise NotFound(f"application {app_id} not found")
        return dict(row)

    def applications(self, status: str | None = "pending", limit: int = 100) -> list[dict[str, Any]]:
        from crmcore.tables import customers

        query = select(applications).where(applications.c.customer_id.in_(self.uow.customers.scope(select(customers.c.id))))
        if status:
            query = query.where(applications.c.status == status)
        return [dict(row) for row in self.uow.execute(query.order_by(applications.c.id).limit(limit)).mappings()]

    def review(self, app_id: int | None = None) -> list[dict[str, Any]]:
        """Re-check pending applications (or one) and store their flags."""
        self.uow.require("membership.approve")
        found = [self.application(app_id)] if app_id else self.applications("pending", limit=10_000)
        for app in found:
            if app["status"] != "pending":
                continue
            flags = self._flags(app)
            if flags != app["flags"]:
                self.uow.execute(update(applications).where(applications.c.id == app["id"]).values(flags=flags))
                app["flags"] = flags
        return found

    def approve(self, app_id: int, *, tier: str | None = None, card: str | None = None, force: bool = False) -> dict[str, Any]:
        """Approve an application: the customer becomes a member with a card
        number and a tier (the lowest automatic tier if none is given)."""
        self.uow.require("membership.approve")
        app = self.application(app_id)
        if app["status"] != "pending":
            raise Conflict(f"application {app_id} is {app['status']}")
        flags = self._flags(app)
        if self.active_of_customer(app["customer_id"]):
            raise Conflict(f"application {app_id}: customer {app['customer_id']} is already a member")
        duplicates = [flag for flag in flags if flag.startswith("duplicate")]
        if duplicates and not force:
            raise Conflict(f"application {app_id}: {'; '.join(duplicates)} (check, then approve with --force)")
        tier_row = self.service.tiers.get(tier) if tier else self.service.tiers.lowest()
        member = self._create_member(app["customer_id"], tier_row, card=card, application_id=app_id,
                                     referrer_id=app["referrer_member_id"], reason=f"application {app_id} ({app['channel']})")
        self.uow.execute(update(applications).where(applications.c.id == app_id).values(
            status="approved", member_id=member["id"], flags=flags, reviewed_at=self.uow.now, reviewed_by=self.uow.actor.username))
        self.uow.audit.record("membership_application", app_id, "approve", {"customer_id": app["customer_id"], "status": ("pending", "approved"), "card_number": member["card_number"]})
        self.service.points.on_joined(member, app)
        return self.view(member["id"])

    def approve_many(self, app_ids: Iterable[int] | None = None, *, tier: str | None = None) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """Approve several applications (all clean pending ones when no ids
        are given); flagged ones are left for review. Returns (approved,
        skipped with reasons)."""
        self.uow.require("membership.approve")
        if app_ids is None:
            candidates = [app for app in self.review() if app["status"] == "pending"]
        else:
            candidates = [self.application(app_id) for app_id in app_ids]
        approved, skipped = [], []
        for app in candidates:
            if app["status"] != "pending":
                skipped.append({"application": app["id"], "reason": app["status"]})
                continue
            flags = self._flags(app)
            if flags:
                skipped.append({"application": app["id"], "reason": "; ".join(flags)})
                continue
            approved.append(self.approve(app["id"], tier=tier))
        return approved, skipped

    def reject(self, app_id: int, reason: str) -> dict[str, Any]:
        self.uow.require("membership.approve")
        reason = require_text(reason, "reason", 300)
        app = self.application(app_id)
        if app["status"] != "pending":
            raise Conflict(f"application {app_id} is {app['status']}")
        self.uow.execute(update(applications).where(applications.c.id == app_id).values(
            status="rejected", reject_reason=reason, reviewed_at=self.uow.now, reviewed_by=self.uow.actor.username))
        self.uow.audit.record("membership_application", app_id, "reject", {"customer_id": app["customer_id"], "status": ("pending", "rejected"), "reason": reason})
        return self.application(app_id)

    def join(self, customer_id: int, *, tier: str | None = None, card: str | None = None, channel: str = "counter") -> dict[str, Any]:
        """Apply and approve in one step (a counter signing someone up)."""
        app = self.apply(customer_id, channel=channel)
        return self.approve(app["id"], tier=tier, card=card, force=True)

    def _create_member(self, customer_id: int, tier: dict[str, Any], *, card: str | None, application_id: int | None,
                       referrer_id: int | None, reason: str) -> dict[str, Any]:
        values = {"customer_id": customer_id, "tier_id": tier["id"], "status": "active", "joined_on": local_today(self.uow),
                  "application_id": application_id, "referrer_member_id": referrer_id, "created_at": self.uow.now}
        member_id = self.uow.execute(insert(members).values(values)).inserted_primary_key[0]
        number = self.service.cards.assign(member_id, card)
        self.uow.execute(update(members).where(members.c.id == member_id).values(card_number=number))
        self.uow.execute(insert(balances).values(member_id=member_id, reward=0, upgrade=0, updated_at=self.uow.now))
        self.uow.execute(insert(tier_changes).values(member_id=member_id, from_tier_id=None, to_tier_id=tier["id"], kind="initial",
                                                     reason=reason, actor=self.uow.actor.username, at=self.uow.now))
        self.uow.audit.record("membership_member", member_id, "create", {"customer_id": customer_id, "card_number": number, "tier": tier["name"]})
        self.uow.publish("membership.member.joined", {"customer_id": customer_id, "member_id": member_id, "card_number": number,
                                                      "tier": tier["name"]})
        if self.uow.actor.can("customers.edit"):
            self.uow.activities.log(customer_id, type="membership", subject=f"入会 {number} {tier['name']}",
                                    payload={"card_number": number, "tier": tier["name"]}, source_plugin="membership")
        return self.get(member_id)

    # -- members -------------------------------------------------------------------------

    def get(self, member_id: int) -> dict[str, Any]:
        row = self.uow.execute(select(members).where(members.c.id == member_id)).mappings().first()
        if row is None or self.uow.customers.find(row["customer_id"]) is None:
            raise NotFound(f"member {member_id} not found")
        return dict(row)

    def by_card(self, number: str | None) -> dict[str, Any]:
        """The member holding card ``number`` (their current card)."""
        number = (number or "").strip()
        if not number:
            raise ValidationError.field("card", "required")
        row = self.uow.execute(select(members).where(members.c.card_number == number)).mappings().first()
        if row is None:
            replaced = self.uow.execute(
                select(members.c.card_number).join(cards, cards.c.member_id == members.c.id)
                .where(cards.c.number == number, cards.c.status == "replaced")
            ).scalar()
            if replaced:
                raise NotFound(f"card: {number} was replaced by {replaced}")
            raise NotFound(f"card: no member with card {number}")
        if self.uow.customers.find(row["customer_id"]) is None:
            raise NotFound(f"card: no member with card {number}")
        return dict(row)

    def active_of_customer(self, customer_id: int) -> dict[str, Any] | None:
        row = self.uow.execute(select(members).where(members.c.customer_id == customer_id, members.c.status == "active")).mappings().first()
        return dict(row) if row else None

    def require_usable(self, member: dict[str, Any], what: str) -> None:
        """Earning and redemption need an active member with a card that is
        not reported lost."""
        if member["status"] != "active":
            raise Conflict(f"card {member['card_number']}: membership is {member['status']}; no {what}")
        if self.service.cards.status(member["card_number"]) == "lost":
            raise Conflict(f"card {member['card_number']} is reported lost: no {what} until it is unblocked")

    def view(self, member_id: int, *, entries: int = 0) -> dict[str, Any]:
        member = self.get(member_id)
        tier = self.service.tiers.get(member["tier_id"])
        balance = self.service.ledger.balance(member_id)
        customer = self.uow.customers.get(member["customer_id"])
        pending = self.service.points.pending_points(member_id)
        view = {
            "id": member_id, "card_number": member["card_number"], "card_status": self.service.cards.status(member["card_number"]),
            "customer_id": member["customer_id"], "name": customer.name, "status": member["status"],
            "tier": tier["name"], "tier_level": tier["level"], "reward_points": balance["reward"], "upgrade_points": balance["upgrade"],
            "pending_points": pending, "joined_on": member["joined_on"], "tier_locked_until": member["tier_locked_until"],
        }
        if member["status"] == "cancelled":
            view["cancel_reason"] = member["cancel_reason"]
        if entries:
            view["entries"] = [_entry_view(e) for e in self.service.ledger.entries(member_id, limit=entries)]
        return view

    def list(self, *, tier: str | None = None, status: str | None = "active", card_status: str | None = None,
             min_points: int | None = None, limit: int = 100, offset: int = 0) -> list[dict[str, Any]]:
        from crmcore.tables import customers

        query = (
            select(members.c.id, members.c.card_number, members.c.customer_id, customers.c.name, members.c.status,
                   tiers.c.name.label("tier"), balances.c.reward.label("reward_points"), balances.c.upgrade.label("upgrade_points"),
                   cards.c.status.label("card_status"), members.c.joined_on)
            .join(tiers, tiers.c.id == members.c.tier_id)
            .join(balances, balances.c.member_id == members.c.id)
            .join(customers, customers.c.id == members.c.customer_id)
            .outerjoin(cards, cards.c.number == members.c.card_number)
            .where(members.c.customer_id.in_(self.uow.customers.scope(select(customers.c.id))))
        )
        if status:
            query = query.where(members.c.status == status)
        if tier:
            query = query.where(members.c.tier_id == self.service.tiers.get(tier)["id"])
        if card_status:
            query = query.where(cards.c.status == card_status)
        if min_points is not None:
            query = query.where(balances.c.reward >= min_points)
        query = query.order_by(members.c.id).limit(limit).offset(offset)
        return [dict(row) for row in self.uow.execute(query).mappings()]

    def cancel(self, number: str, reason: str) -> dict[str, Any]:
        """Cancel a membership (注销): the card is retired; balances stay in
        the ledger, frozen."""
        self.uow.require("membership.cards")
        reason = require_text(reason, "reason", 300)
        member = self.by_card(number)
        if member["status"] != "active":
            raise Conflict(f"card {number}: membership is already {member['status']}")
        self._cancel(member, reason)
        return self.view(member["id"])

    def _cancel(self, member: dict[str, Any], reason: str) -> None:
        self.uow.execute(update(members).where(members.c.id == member["id"]).values(status="cancelled", cancelled_at=self.uow.now,
                                                                                   cancel_reason=reason))
        self.uow.execute(update(cards).where(cards.c.number == member["card_number"]).values(status="cancelled", blocked_at=self.uow.now))
        self.uow.audit.record("membership_member", member["id"], "cancel", {"customer_id": member["customer_id"], "status": ("active", "cancelled"), "reason": reason})
        self.uow.publish("membership.member.cancelled", {"customer_id": member["customer_id"], "member_id": member["id"],
                                                         "card_number": member["card_number"]})

    # -- tiers of members -------------------------------------------------------------

    def set_tier(self, number: str, tier: str, reason: str, *, lock_until: Any = None) -> dict[str, Any]:
        """Manual tier adjustment with a reason; ``lock_until`` keeps the
        automatic evaluation off this member until that date."""
        self.uow.require("membership.tier")
        reason = require_text(reason, "reason", 300)
        member = self.by_card(number)
        if member["status"] != "active":
            raise Conflict(f"card {number}: membership is {member['status']}")
        target = self.service.tiers.get(tier)
        from crm_membership.common import parse_day

        locked = parse_day(lock_until, "until", optional=True)
        if target["id"] == member["tier_id"] and locked == member["tier_locked_until"]:
            raise Conflict(f"card {number} is already {target['name']}")
        self.change_tier(member, target, "manual", reason)
        self.uow.execute(update(members).where(members.c.id == member["id"]).values(tier_locked_until=locked))
        return self.view(member["id"])

    def change_tier(self, member: dict[str, Any], target: dict[str, Any], kind: str, reason: str) -> None:
        if target["id"] == member["tier_id"]:
            return
        before = self.service.tiers.get(member["tier_id"])
        self.uow.execute(update(members).where(members.c.id == member["id"]).values(tier_id=target["id"]))
        self.uow.execute(insert(tier_changes).values(member_id=member["id"], from_tier_id=before["id"], to_tier_id=target["id"], kind=kind,
                                                     reason=reason, actor=self.uow.actor.username, at=self.uow.now))
        self.uow.audit.record("membership_member", member["id"], "tier", {"customer_id": member["customer_id"], "tier": (before["name"], target["name"]), "kind": kind, "reason": reason})
        self.uow.publish("membership.tier.changed", {"customer_id": member["customer_id"], "member_id": member["id"], "card_number": member["card_number"],
                                                     "from": before["name"], "to": target["name"], "kind": kind})
        if target["level"] > before["level"] and self.service.settings.get("tier_upgrade_message"):
            self.service.care.tier_upgraded({**member, "tier_id": target["id"]}, before, target)

    def tier_history(self, member_id: int) -> list[dict[str, Any]]:
        names = {t["id"]: t["name"] for t in self.service.tiers.list()}
        rows = self.uow.execute(select(tier_changes).where(tier_changes.c.member_id == member_id).order_by(tier_changes.c.id)).mappings()
        return [{"at": row["at"], "from": names.get(row["from_tier_id"]), "to": names.get(row["to_tier_id"]), "kind": row["kind"],
                 "reason": row["reason"], "actor": row["actor"]} for row in rows]

    def window_points(self, member_ids: list[int] | None, as_of: date) -> dict[int, int]:
        """Upgrade points earned in the rolling window ending ``as_of``."""
        days = int(self.service.settings.get("tier_window_days"))
        query = (select(ledger.c.member_id, func.sum(ledger.c.points))
                 .where(ledger.c.kind == "upgrade", ledger.c.effective_on > as_of - timedelta(days=days), ledger.c.effective_on <= as_of)
                 .group_by(ledger.c.member_id))
        if member_ids is not None:
            found: dict[int, int] = {}
            for start in range(0, len(member_ids), 500):
                chunk = member_ids[start:start + 500]
                found.update({m: int(s) for m, s in self.uow.execute(query.where(ledger.c.member_id.in_(chunk)))})
            return found
        return {m: int(s) for m, s in self.uow.execute(query)}

    def upgrade_if_due(self, member_ids: Iterable[int]) -> list[dict[str, Any]]:
        """Raise members whose window points reach a higher tier (called after
        upgrade points are posted; downgrades wait for `tier evaluate`)."""
        ids = sorted(set(member_ids))
        if not ids:
            return []
        return self._evaluate(ids, local_today(self.uow), allow_down=False)

    def evaluate_tiers(self, as_of: Any = None) -> list[dict[str, Any]]:
        """Automatic upgrade and downgrade of every active member from the
        upgrade points of the rolling window."""
        self.uow.require("membership.tier")
        from crm_membership.common import parse_day

        day = parse_day(as_of, "as_of", optional=True) or local_today(self.uow)
        ids = list(self.uow.execute(select(members.c.id).where(members.c.status == "active").order_by(members.c.id)).scalars())
        return self._evaluate(ids, day, allow_down=True)

    def _evaluate(self, ids: list[int], day: date, *, allow_down: bool) -> list[dict[str, Any]]:
        tier_list = self.service.tiers.list()
        by_id = {t["id"]: t for t in tier_list}
        points = self.window_points(ids, day)
        changes = []
        rows = []
        for start in range(0, len(ids), 500):
            rows.extend(self.uow.execute(select(members).where(members.c.id.in_(ids[start:start + 500]), members.c.status == "active")).mappings())
        for row in rows:
            current = by_id[row["tier_id"]]
            if current["manual_only"] or (row["tier_locked_until"] and row["tier_locked_until"] >= day):
                continue
            target = self.service.tiers.for_points(points.get(row["id"], 0))
            if target is None or target["id"] == current["id"]:
                continue
            if target["level"] < current["level"] and not allow_down:
                continue
            kind = "upgrade" if target["level"] > current["level"] else "downgrade"
            reason = f"{points.get(row['id'], 0)} upgrade points in {self.service.settings.get('tier_window_days')} days to {day}"
            self.change_tier(dict(row), target, kind, reason)
            changes.append({"card_number": row["card_number"], "from": current["name"], "to": target["name"], "kind": kind, "reason": reason})
        return changes


def _entry_view(entry: dict[str, Any]) -> dict[str, Any]:
    return {key: entry[key] for key in ("id", "kind", "points", "source", "reference", "effective_on", "expires_on", "reason",
                                        "idempotency_key", "reversal_of")}

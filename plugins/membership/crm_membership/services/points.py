"""Points: purchase points (pending until confirmed), manual adjustments,
bulk entry, expiry (FIFO), carry-over (积分结转) and its reversal."""

from __future__ import annotations

import csv
import hashlib
import io
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, insert, select, update

from crmcore import Conflict, NotFound, ValidationError

from crm_membership.common import KINDS, REWARD, UPGRADE, local_date, local_today, one_of, parse_day, parse_points, require_text
from crm_membership.tables import awards, cards, ledger, members, pending, plans, sequences, tiers

if TYPE_CHECKING:
    from crm_membership.services import MembershipService


class Points:
    def __init__(self, service: "MembershipService"):
        self.service = service
        self.uow = service.uow

    @property
    def ledger(self):
        return self.service.ledger

    # -- purchases ---------------------------------------------------------------------

    def purchase_logged(self, activity: Any) -> dict[str, Any] | None:
        """A purchase on the timeline of a member: its points wait, pending,
        until the purchase is confirmed (paid)."""
        if activity.type != "purchase" or activity.amount is None or activity.amount <= 0 or activity.cancelled:
            return None
        member = self.service.members.active_of_customer(activity.customer_id)
        if member is None:
            if self.service.settings.get("apply_on_purchase") and not self._has_open_application(activity.customer_id):
                self.service.members.apply(activity.customer_id, channel="purchase")
            return None
        if self.service.cards.status(member["card_number"]) == "lost":
            self.uow.audit.record("membership_member", member["id"], "points_blocked",
                                  {"customer_id": member["customer_id"], "activity": activity.id, "reason": "card reported lost"})
            return None
        row = self._pending_row(member, activity.id, activity.amount, local_date(self.uow, activity.occurred_at))
        if row is None:
            return None
        row["id"] = self.uow.execute(insert(pending).values(row)).inserted_primary_key[0]
        return row

    def _has_open_application(self, customer_id: int) -> bool:
        from crm_membership.tables import applications

        return self.uow.execute(select(applications.c.id).where(applications.c.customer_id == customer_id,
                                                                applications.c.status == "pending")).first() is not None

    def _pending_row(self, member: dict[str, Any], activity_id: int, amount: Decimal, day: Any, *, plan_cache: dict | None = None,
                     tier_cache: dict | None = None) -> dict[str, Any] | None:
        plan = self.service.plans.covering(day) if plan_cache is None else _cached_plan(plan_cache, day)
        if plan is None:
            return None
        tier = (tier_cache or {}).get(member["tier_id"]) or self.service.tiers.get(member["tier_id"])
        plan_rules = plan_cache.get(("rules", plan["id"])) if plan_cache is not None else None
        reward, upgrade = self.service.plans.earn(plan, "purchase", tier, amount=amount, plan_rules=plan_rules)
        if not reward and not upgrade:
            return None
        return {"member_id": member["id"], "activity_id": activity_id, "plan_id": plan["id"], "amount": amount, "reward_points": reward,
                "upgrade_points": upgrade, "earned_on": day, "status": "pending", "created_at": self.uow.now}

    def purchases_imported(self, activity_ids: list[int]) -> int:
        """Pending points for a batch of imported purchases, in one insert."""
        from crmcore.tables import activities

        if not activity_ids:
            return 0
        rows = []
        plan_cache: dict[Any, Any] = {"plans": self.service.plans.list()}
        for plan in plan_cache["plans"]:
            plan_cache[("rules", plan["id"])] = self.service.plans.rules_of(plan["id"])
        tier_cache = {t["id"]: t for t in self.service.tiers.list()}
        for start in range(0, len(activity_ids), 500):
            chunk = activity_ids[start:start + 500]
            query = (
                select(activities.c.id, activities.c.amount, activities.c.occurred_at, members.c.id.label("member_id"), members.c.tier_id,
                       members.c.card_number)
                .join(members, (members.c.customer_id == activities.c.customer_id) & (members.c.status == "active"))
                .join(cards, (cards.c.number == members.c.card_number) & (cards.c.status == "active"))
                .where(activities.c.id.in_(chunk), activities.c.type == "purchase", activities.c.cancelled.is_(False), activities.c.amount > 0,
                       activities.c.id.notin_(select(pending.c.activity_id).where(pending.c.activity_id.in_(chunk))))
            )
            for row in self.uow.execute(query).mappings():
                member = {"id": row["member_id"], "tier_id": row["tier_id"]}
                made = self._pending_row(member, row["id"], row["amount"], local_date(self.uow, row["occurred_at"]),
                                         plan_cache=plan_cache, tier_cache=tier_cache)
                if made:
                    rows.append(made)
        if rows:
            self.uow.execute(insert(pending), rows)
        return len(rows)

    def purchase_amount_changed(self, activity: Any) -> None:
        row = self._pending_of(activity.id)
        if row is None or row["status"] != "pending":
            return
        member = self.service.members.get(row["member_id"])
        plan = self.service.plans.get(row["plan_id"])
        reward, upgrade = self.service.plans.earn(plan, "purchase", self.service.tiers.get(member["tier_id"]), amount=activity.amount)
        self.uow.execute(update(pending).where(pending.c.id == row["id"]).values(amount=activity.amount, reward_points=reward,
                                                                                 upgrade_points=upgrade))

    def _pending_of(self, activity_id: int) -> dict[str, Any] | None:
        row = self.uow.execute(select(pending).where(pending.c.activity_id == activity_id)).mappings().first()
        return dict(row) if row else None

    def confirm(self, activity_ids: list[int] | None = None, *, all_pending: bool = False) -> list[dict[str, Any]]:
        """Make pending purchase points effective (the purchase is paid).
        Confirming twice posts once."""
        self.uow.require("membership.points")
        if all_pending:
            rows = [dict(r) for r in self.uow.execute(select(pending).where(pending.c.status == "pending").order_by(pending.c.id)).mappings()]
        else:
            rows = []
            for activity_id in activity_ids or []:
                row = self._pending_of(activity_id)
                if row is None:
                    self.uow.activities.get(activity_id)  # NotFound outside scope
                    raise NotFound(f"activity: {activity_id} earned no pending points (not a member's purchase, or no plan covers its date)")
                self.service.members.get(row["member_id"])
                if row["status"] == "cancelled":
                    raise Conflict(f"activity {activity_id}: the purchase was cancelled")
                rows.append(row)
        results, entries, upgraded = [], [], set()
        today = local_today(self.uow)
        plan_by_id = {p["id"]: p for p in self.service.plans.list()}
        for row in rows:
            member = self.service.members.get(row["member_id"])
            if row["status"] == "confirmed":
                results.append({"activity": row["activity_id"], "card_number": member["card_number"], "status": "already confirmed",
                                "reward_points": 0, "upgrade_points": 0})
                continue
            try:
                self.service.members.require_usable(member, "earning")
            except Conflict as error:
                if not all_pending:
                    raise
                results.append({"activity": row["activity_id"], "card_number": member["card_number"], "status": f"skipped: {error}",
                                "reward_points": 0, "upgrade_points": 0})
                continue
            plan = plan_by_id[row["plan_id"]]
            for kind, points in ((REWARD, row["reward_points"]), (UPGRADE, row["upgrade_points"])):
                if points:
                    entries.append({"member_id": member["id"], "kind": kind, "points": points, "source": "purchase", "plan_id": plan["id"],
                                    "reference": f"activity:{row['activity_id']}", "idempotency_key": f"purchase:{row['activity_id']}:{kind}",
                                    "effective_on": today, "expires_on": self.service.plans.expiry(plan, today) if kind == REWARD else None})
            if row["upgrade_points"]:
                upgraded.add(member["id"])
            results.append({"activity": row["activity_id"], "card_number": member["card_number"], "status": "confirmed",
                            "reward_points": row["reward_points"], "upgrade_points": row["upgrade_points"]})
        posted = self.ledger.post_many(entries)
        done = {r["activity"] for r in results if r["status"] == "confirmed"}
        if done:
            ids = sorted(done)
            for start in range(0, len(ids), 500):
                self.uow.execute(update(pending).where(pending.c.activity_id.in_(ids[start:start + 500]), pending.c.status == "pending")
                                 .values(status="confirmed", resolved_at=self.uow.now))
            self.uow.audit.record("membership_points", None, "confirm", {"activities": ids, "entries": len(posted)})
        self.service.members.upgrade_if_due(upgraded)
        return results

    def purchase_cancelled(self, activity_id: int) -> dict[str, Any] | None:
        """A refunded purchase: pending points are dropped; confirmed points
        are reversed (as far as the balance allows — spent points are
        recorded as a shortfall on the reversing entry)."""
        row = self._pending_of(activity_id)
        if row is None or row["status"] == "cancelled":
            return None
        result = {"activity": activity_id, "was": row["status"], "reversed": 0, "shortfall": 0}
        if row["status"] == "confirmed":
            for kind in KINDS:
                entry = self.ledger.posted(f"purchase:{activity_id}:{kind}")
                if entry is None:
                    continue
                reversal, shortfall = self.ledger.reverse(entry["id"], source="purchase_cancelled", reason=f"activity {activity_id} cancelled",
                                                          key=f"purchase:{activity_id}:{kind}:reversal")
                if kind == REWARD:
                    result["reversed"] = -reversal["points"] if reversal else 0
                    result["shortfall"] = shortfall
        self.uow.execute(update(pending).where(pending.c.id == row["id"]).values(status="cancelled", resolved_at=self.uow.now))
        customer_id = self.uow.execute(select(members.c.customer_id).where(members.c.id == row["member_id"])).scalar()
        self.uow.audit.record("membership_member", row["member_id"], "purchase_cancelled", {"customer_id": customer_id, **result})
        return result

    def pending_points(self, member_id: int) -> int:
        return int(self.uow.execute(select(func.coalesce(func.sum(pending.c.reward_points), 0))
                                    .where(pending.c.member_id == member_id, pending.c.status == "pending")).scalar_one())

    def pending_list(self, limit: int = 100) -> list[dict[str, Any]]:
        query = (select(pending.c.activity_id, members.c.card_number, pending.c.amount, pending.c.reward_points, pending.c.upgrade_points,
                        pending.c.earned_on, plans.c.name.label("plan"))
                 .join(members, members.c.id == pending.c.member_id).join(plans, plans.c.id == pending.c.plan_id)
                 .where(pending.c.status == "pending").order_by(pending.c.id).limit(limit))
        return [dict(r) for r in self.uow.execute(query).mappings()]

    # -- other earnings ----------------------------------------------------------------

    def on_joined(self, member: dict[str, Any], app: dict[str, Any]) -> None:
        """Online-joining points for web applications, referral points for
        the referrer, by the rules of the plan in force."""
        plan = self.service.plans.covering(local_today(self.uow))
        if plan is None:
            return
        if app["channel"] == "web":
            self._earn(member, plan, "online_join", key=f"join:{member['id']}", reference=f"application:{app['id']}")
        if app["referrer_member_id"]:
            referrer = self.service.members.get(app["referrer_member_id"])
            if referrer["status"] == "active" and self.service.cards.status(referrer["card_number"]) == "active":
                self._earn(referrer, plan, "referral", key=f"referral:{member['id']}", reference=f"member:{member['id']}")

    def _earn(self, member: dict[str, Any], plan: dict[str, Any], source: str, *, key: str, reference: str) -> int:
        reward, upgrade = self.service.plans.earn(plan, source, self.service.tiers.get(member["tier_id"]))
        today = local_today(self.uow)
        if reward:
            self.ledger.post(member["id"], REWARD, reward, source, plan_id=plan["id"], reference=reference, key=f"{key}:reward",
                             expires_on=self.service.plans.expiry(plan, today))
        if upgrade:
            self.ledger.post(member["id"], UPGRADE, upgrade, source, plan_id=plan["id"], reference=reference, key=f"{key}:upgrade")
            self.service.members.upgrade_if_due([member["id"]])
        return reward

    def add(self, number: str, points: Any, *, kind: str = REWARD, reason: str | None = None, key: str | None = None,
            source: str = "manual", effective_on: Any = None) -> dict[str, Any]:
        """A manual adjustment (积分调整): needs membership.adjust and a
        reason; negative points deduct. With ``key``, posting it again posts
        nothing."""
        self.uow.require("membership.adjust")
        one_of(kind, "kind", KINDS)
        points = parse_points(points, allow_negative=True)
        reason = require_text(reason, "reason", 300)
        member = self.service.members.by_card(number)
        if key is not None:
            key = require_text(key, "key", 200)
            existing = self.ledger.posted(key)
            if existing:
                if (existing["member_id"], existing["kind"], existing["points"]) != (member["id"], kind, points):
                    raise Conflict(f"key: {key!r} was already used for a different entry ({existing['points']} {existing['kind']} points, entry {existing['id']})")
                return {"posted": False, "entry": existing, "member": self.service.members.view(member["id"])}
        if points > 0:
            self.service.members.require_usable(member, "earning")
        elif member["status"] != "active":
            raise Conflict(f"card {number}: membership is {member['status']}")
        day = parse_day(effective_on, "effective_on", optional=True) or local_today(self.uow)
        plan = self.service.plans.covering(day)
        entry = self.ledger.post(member["id"], kind, points, source, plan_id=plan["id"] if plan else None, reference=f"card:{member['card_number']}",
                                 key=key, effective_on=day, reason=reason,
                                 expires_on=self.service.plans.expiry(plan, day) if (points > 0 and kind == REWARD) else None)
        if entry is None:  # the key was posted concurrently
            return {"posted": False, "entry": self.ledger.posted(key), "member": self.service.members.view(member["id"])}
        self.uow.audit.record("membership_member", member["id"], "points", {"customer_id": member["customer_id"], "kind": kind, "points": points, "reason": reason, "key": key})
        self.uow.publish("membership.points.adjusted", {"customer_id": member["customer_id"], "member_id": member["id"],
                                                        "card_number": member["card_number"], "kind": kind, "points": points, "entry_id": entry["id"]})
        if kind == UPGRADE and points > 0:
            self.service.members.upgrade_if_due([member["id"]])
        return {"posted": True, "entry": entry, "member": self.service.members.view(member["id"])}

    def import_csv(self, text: str, *, source: str = "event", default_kind: str = REWARD, reason: str | None = None,
                   effective_on: Any = None, name: str = "import", batch: str | None = None) -> dict[str, Any]:
        """Bulk entry (e.g. event points) from CSV with a header: ``card``,
        ``points`` and optionally ``kind``, ``key``, ``reason``. Every row is
        checked first; one bad row refuses the file. A row without a key is
        keyed by the batch (``batch``, default the file's content) with its
        card and kind — one entry per member and kind per batch — so
        importing the batch again, even from a corrected file, posts only
        what is new."""
        self.uow.require("membership.points")
        one_of(source, "source", ("event", "manual", "online_join", "referral", "purchase"))
        batch = (batch or "").strip() or hashlib.sha1(text.encode()).hexdigest()[:12]
        keyed: dict[str, int] = {}
        reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
        headers = {h.strip().lower() for h in reader.fieldnames or []}
        if not {"card", "points"} <= headers:
            raise ValidationError.field("file", "needs a header with card and points columns (optional: kind, key, reason)")
        day = parse_day(effective_on, "effective_on", optional=True) or local_today(self.uow)
        plan = self.service.plans.covering(day)
        rows, errors, member_ids = [], [], set()
        raw = [{(k or "").strip().lower(): (v or "").strip() for k, v in row.items()} for row in reader]
        numbers = sorted({r.get("card", "") for r in raw if r.get("card")})
        found = {}
        for start in range(0, len(numbers), 500):
            query = (select(members.c.id, members.c.card_number, members.c.status, cards.c.status.label("card_status"))
                     .join(cards, cards.c.number == members.c.card_number).where(members.c.card_number.in_(numbers[start:start + 500])))
            found.update({r.card_number: r for r in self.uow.execute(query)})
        for line, row in enumerate(raw, start=2):
            try:
                member = found.get(row.get("card", ""))
                if member is None:
                    raise ValidationError(f"card: no member with card {row.get('card')!r}")
                if member.status != "active" or member.card_status != "active":
                    raise ValidationError(f"card: {member.card_number} is {member.status if member.status != 'active' else member.card_status}")
                kind = row.get("kind") or default_kind
                one_of(kind, "kind", KINDS)
                points = parse_points(row.get("points"), allow_negative=False)
            except ValidationError as error:
                errors.append(f"line {line}: {error}")
                continue
            key = row.get("key") or f"import:{batch}:{member.card_number}:{kind}"
            if key in keyed:
                errors.append(f"line {line}: key: {key!r} repeats line {keyed[key]} (one entry per card and kind in a batch; add a key column)")
                continue
            keyed[key] = line
            member_ids.add(member.id)
            rows.append({"member_id": member.id, "kind": kind, "points": points, "source": source, "plan_id": plan["id"] if plan else None,
                         "reference": f"{name}:{line}", "idempotency_key": key,
                         "effective_on": day, "expires_on": self.service.plans.expiry(plan, day) if kind == REWARD else None,
                         "reason": row.get("reason") or reason})
        if errors:
            raise ValidationError(errors[:20] + ([f"... and {len(errors) - 20} more"] if len(errors) > 20 else []))
        posted = self.ledger.post_many(rows)
        self.uow.audit.record("membership_points", None, "import", {"file": name, "rows": len(rows), "posted": len(posted)})
        self.service.members.upgrade_if_due({r["member_id"] for r in posted if r["kind"] == UPGRADE})
        return {"rows": len(rows), "posted": len(posted), "skipped": len(rows) - len(posted),
                "points": sum(r["points"] for r in posted if r["kind"] == REWARD)}

    # -- expiry ------------------------------------------------------------------------

    def expire(self, as_of: Any = None) -> dict[str, Any]:
        """Expire reward points whose lots reach their expiry date by
        ``as_of`` (FIFO: what remains of each lot after older debits).
        Running it again posts nothing new."""
        self.uow.require("membership.run")
        day = parse_day(as_of, "as_of", optional=True) or local_today(self.uow)
        settings = self.service.settings
        through, last_id = settings.get("_expiry_through"), settings.get("_expiry_last_entry") or 0
        after = parse_day(through, "through", optional=True) if through else None
        if after is not None and day < after:
            after, last_id = None, 0
        member_ids = self.ledger.members_with_lots_expiring(day, after=after, after_id=last_id)
        rows = []
        for member_id, lots in self.ledger.lots_expiring(member_ids, day).items():
            for lot in lots:
                rows.append({"member_id": member_id, "kind": REWARD, "points": -lot.remaining, "source": "expiry", "plan_id": lot.plan_id,
                             "reference": f"entry:{lot.id}", "idempotency_key": f"expire:{lot.id}", "effective_on": lot.expires_on,
                             "lot_id": lot.id, "reason": f"expired {lot.expires_on}"})
        top = self.uow.execute(select(func.max(ledger.c.id))).scalar() or 0
        posted = self.ledger.post_many(rows)
        settings.set("_expiry_through", day.isoformat())
        settings.set("_expiry_last_entry", top)
        total = -sum(r["points"] for r in posted)
        self.uow.audit.record("membership_points", None, "expire", {"as_of": day, "entries": len(posted), "points": total})
        return {"as_of": day, "members": len({r["member_id"] for r in posted}), "entries": len(posted), "points": total}

    def expiring(self, within_days: int = 30, as_of: Any = None) -> dict[int, tuple[int, Any]]:
        """{member_id: (points, first expiry date)} of points expiring soon."""
        from datetime import timedelta

        day = parse_day(as_of, "as_of", optional=True) or local_today(self.uow)
        through = day + timedelta(days=within_days)
        ids = self.ledger.members_with_lots_expiring(through)
        result = {}
        for member_id, lots in self.ledger.lots_expiring(ids, through).items():
            lots = [lot for lot in lots if lot.expires_on > day]
            if lots:
                result[member_id] = (sum(lot.remaining for lot in lots), min(lot.expires_on for lot in lots))
        return result

    # -- carry-over ----------------------------------------------------------------------

    def carry_over(self, plan_name: str) -> dict[str, Any]:
        """At a plan's end, members whose remaining reward points of the plan
        reach its carry_min_points have them converted: into a cash award
        (points × yuan_per_point) or into the next plan's points."""
        self.uow.require("membership.run")
        plan = self.service.plans.get(plan_name)
        if plan["carried_at"] is not None:
            raise Conflict(f"plan {plan['name']} was carried over already; reverse it first")
        if local_today(self.uow) <= plan["ends_on"]:
            raise Conflict(f"plan {plan['name']} runs until {plan['ends_on']}; carry over after it ends")
        target = None if plan["carry_to"] == "award" else self.service.plans.get(plan["carry_to"])
        round_no = self._next_round(plan["id"])
        member_ids = list(self.uow.execute(select(ledger.c.member_id).where(ledger.c.plan_id == plan["id"], ledger.c.kind == REWARD,
                                                                           ledger.c.points > 0).distinct().order_by(ledger.c.member_id)).scalars())
        states = dict(self.uow.execute(select(members.c.id, members.c.status).where(members.c.id.in_(member_ids))).all()) if member_ids else {}
        rows, credits, award_rows = [], [], []
        for member_id, history in self.ledger.replay_many(member_ids).items():
            if states.get(member_id) != "active":
                continue
            lots = [lot for lot in history.remaining() if lot.plan_id == plan["id"]]
            total = sum(lot.remaining for lot in lots)
            if not lots or total < plan["carry_min_points"]:
                continue
            for lot in lots:
                rows.append({"member_id": member_id, "kind": REWARD, "points": -lot.remaining, "source": "carryover", "plan_id": plan["id"],
                             "reference": f"plan:{plan['id']}", "idempotency_key": f"carry:{plan['id']}:{round_no}:{lot.id}",
                             "effective_on": plan["ends_on"], "lot_id": lot.id, "reason": f"carry-over of plan {plan['name']}"})
            if target is not None:
                credits.append({"member_id": member_id, "kind": REWARD, "points": total, "source": "carryover_in", "plan_id": target["id"],
                                "reference": f"plan:{plan['id']}", "idempotency_key": f"carry:{plan['id']}:{round_no}:in:{member_id}",
                                "effective_on": target["starts_on"], "expires_on": self.service.plans.expiry(target, target["starts_on"]),
                                "reason": f"carried over from plan {plan['name']}"})
            else:
                award_rows.append({"member_id": member_id, "plan_id": plan["id"], "points": total,
                                   "value": (Decimal(total) * Decimal(plan["yuan_per_point"])).quantize(Decimal("0.01")),
                                   "status": "issued", "created_at": self.uow.now})
        posted = self.ledger.post_many(rows)
        self.ledger.post_many(credits)
        if award_rows:
            self.uow.execute(insert(awards), award_rows)
        self.uow.execute(update(plans).where(plans.c.id == plan["id"]).values(carried_at=self.uow.now))
        summary = {"plan": plan["name"], "members": len(award_rows) + len(credits), "points": -sum(r["points"] for r in posted),
                   "to": plan["carry_to"], "value": str(sum((a["value"] for a in award_rows), Decimal("0.00")))}
        self.uow.audit.record("membership_plan", plan["id"], "carry_over", summary)
        return summary

    def _next_round(self, plan_id: int) -> int:
        name = f"carry:{plan_id}"
        result = self.uow.execute(update(sequences).where(sequences.c.name == name).values(value=sequences.c.value + 1)
                                  .returning(sequences.c.value)).first()
        if result is not None:
            return result[0]
        self.uow.execute(insert(sequences).values(name=name, value=1))
        return 1

    def reverse_carry_over(self, plan_name: str) -> dict[str, Any]:
        """Undo a carry-over (反结转): the points return to their lots,
        issued awards are voided. A paid award, or carried points already
        spent in the next plan, stop the reversal."""
        self.uow.require("membership.run")
        plan = self.service.plans.get(plan_name)
        if plan["carried_at"] is None:
            raise Conflict(f"plan {plan['name']} has not been carried over")
        paid = self.uow.execute(select(func.count()).select_from(awards).where(awards.c.plan_id == plan["id"], awards.c.status == "paid")).scalar_one()
        if paid:
            raise Conflict(f"plan {plan['name']}: {paid} carry-over awards are paid already; they cannot be taken back")
        reversed_ids = select(ledger.c.reversal_of).where(ledger.c.reversal_of.isnot(None))
        debits = [dict(r) for r in self.uow.execute(select(ledger).where(
            ledger.c.source.in_(("carryover", "carryover_in")), ledger.c.reference == f"plan:{plan['id']}",
            ledger.c.id.notin_(reversed_ids)).order_by(ledger.c.id)).mappings()]
        points = 0
        for entry in [e for e in debits if e["source"] == "carryover_in"] + [e for e in debits if e["source"] == "carryover"]:
            reversal, shortfall = self.ledger.reverse(entry["id"], source="carryover_reversal", reason=f"carry-over of {plan['name']} reversed")
            if shortfall:
                raise Conflict(f"card of member {entry['member_id']}: {shortfall} carried points were spent; the carry-over cannot be reversed")
            if entry["source"] == "carryover" and reversal:
                points += reversal["points"]
        voided = self.uow.execute(update(awards).where(awards.c.plan_id == plan["id"], awards.c.status == "issued").values(status="void")).rowcount
        self.uow.execute(update(plans).where(plans.c.id == plan["id"]).values(carried_at=None))
        summary = {"plan": plan["name"], "points": points, "awards_voided": voided}
        self.uow.audit.record("membership_plan", plan["id"], "carry_over_reversed", summary)
        return summary

    def awards(self, *, plan: str | None = None, status: str | None = None, limit: int = 200) -> list[dict[str, Any]]:
        query = (select(awards.c.id, members.c.card_number, plans.c.name.label("plan"), awards.c.points, awards.c.value, awards.c.status,
                        awards.c.paid_on)
                 .join(members, members.c.id == awards.c.member_id).join(plans, plans.c.id == awards.c.plan_id).order_by(awards.c.id).limit(limit))
        if plan:
            query = query.where(awards.c.plan_id == self.service.plans.get(plan)["id"])
        if status:
            query = query.where(awards.c.status == status)
        return [dict(r) for r in self.uow.execute(query).mappings()]

    def pay_awards(self, award_ids: list[int], paid_on: Any = None) -> int:
        """Fill in the payout date (兑奖日期) of issued awards."""
        self.uow.require("membership.redeem")
        day = parse_day(paid_on, "paid_on", optional=True) or local_today(self.uow)
        done = self.uow.execute(update(awards).where(awards.c.id.in_(award_ids), awards.c.status == "issued")
                                .values(status="paid", paid_on=day)).rowcount
        if done != len(set(award_ids)):
            raise Conflict("award: some of these awards are not issued (already paid, void or unknown)")
        self.uow.audit.record("membership_awards", None, "paid", {"awards": award_ids, "paid_on": day})
        return done


def _cached_plan(cache: dict, day: Any) -> dict[str, Any] | None:
    best = None
    for plan in cache["plans"]:
        if plan["starts_on"] <= day <= plan["ends_on"] and (best is None or plan["starts_on"] >= best["starts_on"]):
            best = plan
    return best

"""Redemption (积分兑换): a catalogue of rewards inside redemption campaigns;
redeeming reserves stock and debits points in one transaction."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import func, insert, select, update

from crmcore import Conflict, NotFound, ValidationError

from crm_membership.common import REWARD, local_today, one_of, parse_day, parse_decimal, parse_points, require_text
from crm_membership.tables import members, redemption_campaigns, redemptions, rewards, tiers

if TYPE_CHECKING:
    from crm_membership.services import MembershipService

REWARD_KINDS = ("physical", "cash")


class Redemption:
    def __init__(self, service: "MembershipService"):
        self.service = service
        self.uow = service.uow

    # -- campaigns and catalogue ---------------------------------------------------

    def add_campaign(self, name: str, *, starts_on: Any, ends_on: Any, max_per_member: int | None = None, min_tier: str | None = None,
                     notes: str | None = None) -> dict[str, Any]:
        self.uow.require("membership.manage")
        name = require_text(name, "name", 100)
        start, end = parse_day(starts_on, "from"), parse_day(ends_on, "to")
        if end < start:
            raise ValidationError.field("to", f"{end} is before {start}")
        if max_per_member is not None and max_per_member <= 0:
            raise ValidationError.field("max_per_member", "must be positive")
        if self.uow.execute(select(redemption_campaigns.c.id).where(redemption_campaigns.c.name == name)).first():
            raise Conflict(f"name: redemption campaign {name!r} exists")
        values = {"name": name, "starts_on": start, "ends_on": end, "max_per_member": max_per_member,
                  "min_tier_level": self.service.tiers.get(min_tier)["level"] if min_tier else None, "notes": notes, "created_at": self.uow.now}
        campaign_id = self.uow.execute(insert(redemption_campaigns).values(values)).inserted_primary_key[0]
        self.uow.audit.record("membership_redemption_campaign", campaign_id, "create", {k: (None, v) for k, v in values.items() if k != "created_at"})
        return {"id": campaign_id, **values}

    def campaign(self, name_or_id: Any) -> dict[str, Any]:
        query = select(redemption_campaigns)
        row = self.uow.execute(query.where(redemption_campaigns.c.name == str(name_or_id))).mappings().first()
        if row is None and str(name_or_id).isdigit():
            row = self.uow.execute(query.where(redemption_campaigns.c.id == int(name_or_id))).mappings().first()
        if row is None:
            raise NotFound(f"campaign: no redemption campaign {name_or_id!r}")
        return dict(row)

    def campaigns(self) -> list[dict[str, Any]]:
        return [dict(r) for r in self.uow.execute(select(redemption_campaigns).order_by(redemption_campaigns.c.starts_on)).mappings()]

    def add_reward(self, name: str, *, points: Any, stock: int | None = None, kind: str = "physical", cash_value: Any = None,
                   campaign: str | None = None, valid_from: Any = None, valid_to: Any = None, min_tier: str | None = None) -> dict[str, Any]:
        self.uow.require("membership.manage")
        name = require_text(name, "name", 100)
        one_of(kind, "kind", REWARD_KINDS)
        points = parse_points(points)
        if stock is not None and int(stock) < 0:
            raise ValidationError.field("stock", "must be zero or more")
        value = parse_decimal(cash_value, "cash_value") if cash_value not in (None, "") else None
        if kind == "cash" and value is None:
            raise ValidationError.field("cash_value", "required for a cash reward")
        start, end = parse_day(valid_from, "valid_from", optional=True), parse_day(valid_to, "valid_to", optional=True)
        if start and end and end < start:
            raise ValidationError.field("valid_to", f"{end} is before {start}")
        if self.uow.execute(select(rewards.c.id).where(rewards.c.name == name)).first():
            raise Conflict(f"name: reward {name!r} exists")
        values = {"name": name, "campaign_id": self.campaign(campaign)["id"] if campaign else None, "kind": kind, "points": points,
                  "cash_value": value, "stock": None if stock is None else int(stock), "valid_from": start, "valid_to": end,
                  "min_tier_level": self.service.tiers.get(min_tier)["level"] if min_tier else None, "active": True, "created_at": self.uow.now}
        reward_id = self.uow.execute(insert(rewards).values(values)).inserted_primary_key[0]
        self.uow.audit.record("membership_reward", reward_id, "create", {k: (None, v) for k, v in values.items() if k != "created_at"})
        return self.reward(reward_id)

    def restock(self, name: str, add: int) -> dict[str, Any]:
        self.uow.require("membership.manage")
        reward = self.reward(name)
        if reward["stock"] is None:
            raise Conflict(f"reward {reward['name']} has unlimited stock")
        if reward["stock"] + add < 0:
            raise ValidationError.field("stock", f"only {reward['stock']} in stock")
        self.uow.execute(update(rewards).where(rewards.c.id == reward["id"]).values(stock=rewards.c.stock + add))
        self.uow.audit.record("membership_reward", reward["id"], "restock", {"add": add})
        return self.reward(reward["id"])

    def reward(self, name_or_id: Any) -> dict[str, Any]:
        row = self.uow.execute(select(rewards).where(rewards.c.name == str(name_or_id).strip())).mappings().first()
        if row is None and (isinstance(name_or_id, int) or str(name_or_id).isdigit()):
            row = self.uow.execute(select(rewards).where(rewards.c.id == int(name_or_id))).mappings().first()
        if row is None:
            raise NotFound(f"reward: no reward {name_or_id!r}")
        return dict(row)

    def catalogue(self) -> list[dict[str, Any]]:
        query = (select(rewards.c.id, rewards.c.name, rewards.c.kind, rewards.c.points, rewards.c.cash_value, rewards.c.stock,
                        rewards.c.valid_from, rewards.c.valid_to, rewards.c.min_tier_level, redemption_campaigns.c.name.label("campaign"))
                 .outerjoin(redemption_campaigns, redemption_campaigns.c.id == rewards.c.campaign_id)
                 .where(rewards.c.active.is_(True)).order_by(rewards.c.points, rewards.c.id))
        return [dict(r) for r in self.uow.execute(query).mappings()]

    # -- redeeming ----------------------------------------------------------------------

    def redeem(self, number: str, reward_name: str, quantity: int = 1) -> dict[str, Any]:
        """Spend points on a reward: stock is reserved (``stock >= n`` checked
        in the UPDATE itself) and points debited (``balance >= n`` likewise) in
        one transaction; if either fails, nothing is kept."""
        self.uow.require("membership.redeem")
        if quantity < 1:
            raise ValidationError.field("quantity", "must be at least 1")
        member = self.service.members.by_card(number)
        self.service.members.require_usable(member, "redemption")
        reward = self.reward(reward_name)
        today = local_today(self.uow)
        if not reward["active"]:
            raise Conflict(f"reward {reward['name']} is withdrawn")
        if reward["valid_from"] and today < reward["valid_from"] or reward["valid_to"] and today > reward["valid_to"]:
            raise Conflict(f"reward {reward['name']} can be redeemed {reward['valid_from'] or ''}–{reward['valid_to'] or ''}, not on {today}")
        tier = self.service.tiers.get(member["tier_id"])
        levels = [reward["min_tier_level"]]
        if reward["campaign_id"]:
            campaign = self.campaign(reward["campaign_id"])
            if not campaign["starts_on"] <= today <= campaign["ends_on"]:
                raise Conflict(f"campaign {campaign['name']} runs {campaign['starts_on']}–{campaign['ends_on']}")
            levels.append(campaign["min_tier_level"])
            if campaign["max_per_member"]:
                taken = self.uow.execute(
                    select(func.coalesce(func.sum(redemptions.c.quantity), 0))
                    .join(rewards, rewards.c.id == redemptions.c.reward_id)
                    .where(redemptions.c.member_id == member["id"], redemptions.c.status == "done", rewards.c.campaign_id == campaign["id"])
                ).scalar_one()
                if taken + quantity > campaign["max_per_member"]:
                    raise Conflict(f"campaign {campaign['name']} allows {campaign['max_per_member']} per member; card {number} has {taken}")
        needed = max((level for level in levels if level is not None), default=None)
        if needed is not None and tier["level"] < needed:
            names = [t["name"] for t in self.service.tiers.list() if t["level"] >= needed]
            raise Conflict(f"reward {reward['name']} is for {', '.join(names)} members; card {number} is {tier['name']}")
        if reward["stock"] is not None:
            done = self.uow.execute(update(rewards).where(rewards.c.id == reward["id"], rewards.c.stock >= quantity)
                                    .values(stock=rewards.c.stock - quantity)).rowcount
            if done != 1:
                raise Conflict(f"reward {reward['name']} is out of stock")
        points = reward["points"] * quantity
        plan = self.service.plans.covering(today)
        entry = self.service.ledger.post(member["id"], REWARD, -points, "redemption", plan_id=plan["id"] if plan else None,
                                         reference=f"reward:{reward['id']}", reason=f"{reward['name']} × {quantity}")
        redemption_id = self.uow.execute(insert(redemptions).values(
            member_id=member["id"], reward_id=reward["id"], quantity=quantity, points=points, status="done", entry_id=entry["id"],
            created_at=self.uow.now)).inserted_primary_key[0]
        self.uow.audit.record("membership_member", member["id"], "redeem", {"customer_id": member["customer_id"], "redemption": redemption_id, "reward": reward["name"], "points": points})
        self.uow.publish("membership.reward.redeemed", {"customer_id": member["customer_id"], "member_id": member["id"], "card_number": member["card_number"],
                                                        "redemption": redemption_id, "reward": reward["name"], "quantity": quantity, "points": points})
        return {"redemption": redemption_id, "card_number": member["card_number"], "reward": reward["name"], "quantity": quantity,
                "points": points, "reward_points": self.service.ledger.balance(member["id"])[REWARD]}

    def cancel(self, redemption_id: int, reason: str | None = None) -> dict[str, Any]:
        """Cancel a redemption: the points come back (with their original
        earning and expiry dates) and the stock is released."""
        self.uow.require("membership.redeem")
        row = self.uow.execute(select(redemptions).where(redemptions.c.id == redemption_id)).mappings().first()
        if row is None:
            raise NotFound(f"redemption {redemption_id} not found")
        member = self.service.members.get(row["member_id"])
        done = self.uow.execute(update(redemptions).where(redemptions.c.id == redemption_id, redemptions.c.status == "done")
                                .values(status="cancelled", cancelled_at=self.uow.now, reason=reason)).rowcount
        if done != 1:
            raise Conflict(f"redemption {redemption_id} is already cancelled")
        refund, _ = self.service.ledger.reverse(row["entry_id"], source="redemption_cancelled", reason=reason or f"redemption {redemption_id} cancelled",
                                                key=f"redemption:{redemption_id}:refund")
        self.uow.execute(update(redemptions).where(redemptions.c.id == redemption_id).values(refund_entry_id=refund["id"] if refund else None))
        self.uow.execute(update(rewards).where(rewards.c.id == row["reward_id"], rewards.c.stock.isnot(None))
                         .values(stock=rewards.c.stock + row["quantity"]))
        holder = self.service.members.get(self.service.ledger.holder(member["id"]))
        self.uow.audit.record("membership_member", holder["id"], "redemption_cancelled", {"customer_id": holder["customer_id"], "redemption": redemption_id, "points": row["points"]})
        self.uow.publish("membership.redemption.cancelled", {"customer_id": holder["customer_id"], "member_id": holder["id"],
                                                             "card_number": holder["card_number"], "redemption": redemption_id, "points": row["points"]})
        return {"redemption": redemption_id, "card_number": holder["card_number"], "status": "cancelled", "refunded": row["points"],
                "reward_points": self.service.ledger.balance(holder["id"])[REWARD]}

    def get(self, redemption_id: int) -> dict[str, Any]:
        """One redemption with its card number (NotFound outside the actor's scope)."""
        row = self.uow.execute(select(redemptions.c.id, redemptions.c.member_id, redemptions.c.status, redemptions.c.points)
                               .where(redemptions.c.id == redemption_id)).mappings().first()
        if row is None:
            raise NotFound(f"redemption {redemption_id} not found")
        return {**dict(row), "card_number": self.service.members.get(row["member_id"])["card_number"]}

    def list(self, number: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
        query = (select(redemptions.c.id, members.c.card_number, rewards.c.name.label("reward"), redemptions.c.quantity, redemptions.c.points,
                        redemptions.c.status, redemptions.c.created_at)
                 .join(members, members.c.id == redemptions.c.member_id).join(rewards, rewards.c.id == redemptions.c.reward_id)
                 .order_by(redemptions.c.id.desc()).limit(limit))
        if number:
            query = query.where(redemptions.c.member_id == self.service.members.by_card(number)["id"])
        else:  # only members whose customer the actor may see
            from crmcore.tables import customers

            query = query.where(members.c.customer_id.in_(self.uow.customers.scope(select(customers.c.id))))
        return [dict(r) for r in self.uow.execute(query).mappings()]

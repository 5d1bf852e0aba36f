"""Reports: members by tier and status, points per plan and month, top
members, events, redemptions."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import case, func, select

from crm_membership.common import REWARD
from crm_membership.tables import balances, ledger, members, plans, redemptions, rewards, tiers

if TYPE_CHECKING:
    from crm_membership.services import MembershipService

EARNED = ("purchase", "event", "online_join", "referral", "manual", "merge_in", "carryover_in")
REDEEMED = ("redemption", "redemption_cancelled")


class Reports:
    def __init__(self, service: "MembershipService"):
        self.service = service
        self.uow = service.uow

    def members_by_tier(self) -> list[dict[str, Any]]:
        query = (select(tiers.c.name.label("tier"), tiers.c.level, members.c.status, func.count(members.c.id).label("members"),
                        func.coalesce(func.sum(balances.c.reward), 0).label("reward_points"))
                 .join(members, members.c.tier_id == tiers.c.id).join(balances, balances.c.member_id == members.c.id)
                 .group_by(tiers.c.name, tiers.c.level, members.c.status).order_by(tiers.c.level.desc(), members.c.status))
        return [dict(r) for r in self.uow.execute(query).mappings()]

    def points(self, plan: str | None = None) -> list[dict[str, Any]]:
        """Reward points earned, redeemed (net of cancelled redemptions),
        expired, carried over, reversed and adjusted, per plan and month."""
        dialect = self.uow.connection.dialect.name
        month = func.to_char(ledger.c.effective_on, "YYYY-MM") if dialect == "postgresql" else func.strftime("%Y-%m", ledger.c.effective_on)

        def total(condition: Any) -> Any:
            return func.coalesce(func.sum(case((condition, ledger.c.points), else_=0)), 0)

        earned = ledger.c.source.in_(EARNED) & (ledger.c.points > 0)
        manual_debit = (ledger.c.source == "manual") & (ledger.c.points < 0)
        query = (
            select(func.coalesce(plans.c.name, "-").label("plan"), month.label("month"), total(earned).label("earned"),
                   (-total(ledger.c.source.in_(REDEEMED))).label("redeemed"), (-total(ledger.c.source == "expiry")).label("expired"),
                   (-total(ledger.c.source == "carryover") - total(ledger.c.source == "carryover_reversal")).label("carried_over"),
                   (-total(ledger.c.source == "purchase_cancelled")).label("reversed"), total(manual_debit).label("deducted"),
                   func.sum(ledger.c.points).label("net"))
            .outerjoin(plans, plans.c.id == ledger.c.plan_id).where(ledger.c.kind == REWARD)
            .group_by(plans.c.name, month).order_by(plans.c.name, month)
        )
        if plan:
            query = query.where(ledger.c.plan_id == self.service.plans.get(plan)["id"])
        return [{k: (int(v) if k not in ("plan", "month") else v) for k, v in r.items()} for r in self.uow.execute(query).mappings()]

    def top(self, limit: int = 10, by: str = "reward") -> list[dict[str, Any]]:
        from crmcore.tables import customers

        column = balances.c.upgrade if by == "upgrade" else balances.c.reward
        query = (select(members.c.card_number, customers.c.name, tiers.c.name.label("tier"), balances.c.reward.label("reward_points"),
                        balances.c.upgrade.label("upgrade_points"))
                 .join(balances, balances.c.member_id == members.c.id).join(tiers, tiers.c.id == members.c.tier_id)
                 .join(customers, customers.c.id == members.c.customer_id)
                 .where(members.c.status == "active", members.c.customer_id.in_(self.uow.customers.scope(select(customers.c.id))))
                 .order_by(column.desc(), members.c.id).limit(limit))
        return [dict(r) for r in self.uow.execute(query).mappings()]

    def redemptions(self) -> list[dict[str, Any]]:
        done = redemptions.c.status == "done"
        query = (select(rewards.c.name.label("reward"), rewards.c.kind, rewards.c.stock,
                        func.coalesce(func.sum(case((done, redemptions.c.quantity), else_=0)), 0).label("redeemed"),
                        func.coalesce(func.sum(case((~done, redemptions.c.quantity), else_=0)), 0).label("cancelled"),
                        func.coalesce(func.sum(case((done, redemptions.c.points), else_=0)), 0).label("points"),
                        func.count(func.distinct(case((done, redemptions.c.member_id)))).label("members"))
                 .outerjoin(redemptions, redemptions.c.reward_id == rewards.c.id)
                 .group_by(rewards.c.id, rewards.c.name, rewards.c.kind, rewards.c.stock).order_by(rewards.c.id))
        return [dict(r) for r in self.uow.execute(query).mappings()]

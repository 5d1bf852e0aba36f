"""The membership service, reached as ``uow.service("membership")``.

One object per unit of work; its parts share that transaction:
``settings``, ``tiers``, ``plans``, ``cards``, ``members``, ``ledger``,
``points``, ``redemption``, ``events``, ``merchants``, ``care``,
``reports``. The short methods below are the surface other plugins may use
(duck-typed, through ``uow.has_service("membership")``).
"""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from crmcore import UnitOfWork


class MembershipService:
    def __init__(self, uow: "UnitOfWork"):
        self.uow = uow

    @cached_property
    def settings(self):
        from crm_membership.services.config import Settings

        return Settings(self.uow)

    @cached_property
    def tiers(self):
        from crm_membership.services.config import Tiers

        return Tiers(self.uow)

    @cached_property
    def plans(self):
        from crm_membership.services.config import Plans

        return Plans(self.uow)

    @cached_property
    def cards(self):
        from crm_membership.services.members import Cards

        return Cards(self)

    @cached_property
    def members(self):
        from crm_membership.services.members import Members

        return Members(self)

    @cached_property
    def ledger(self):
        from crm_membership.services.ledger import Ledger

        return Ledger(self.uow)

    @cached_property
    def points(self):
        from crm_membership.services.points import Points

        return Points(self)

    @cached_property
    def redemption(self):
        from crm_membership.services.redemption import Redemption

        return Redemption(self)

    @cached_property
    def events(self):
        from crm_membership.services.events import Events

        return Events(self)

    @cached_property
    def merchants(self):
        from crm_membership.services.events import Merchants

        return Merchants(self)

    @cached_property
    def care(self):
        from crm_membership.services.care import Care

        return Care(self)

    @cached_property
    def reports(self):
        from crm_membership.services.reports import Reports

        return Reports(self)

    # -- the short surface ---------------------------------------------------------------

    def find(self, customer_id: int) -> dict[str, Any] | None:
        """The active membership of a customer as a view, or None."""
        member = self.members.active_of_customer(customer_id)
        return None if member is None else self.members.view(member["id"])

    def join(self, customer_id: int, tier: str | None = None, card: str | None = None) -> dict[str, Any]:
        return self.members.join(customer_id, tier=tier, card=card)

    def balance(self, customer_id: int) -> dict[str, int]:
        member = self.members.active_of_customer(customer_id)
        return self.ledger.balance(member["id"]) if member else {"reward": 0, "upgrade": 0}

    def customer_merged(self, kept_id: int, merged_id: int) -> dict[str, Any]:
        from crm_membership.services.merge import merge_customers

        return merge_customers(self, kept_id, merged_id)

"""Hooks the campaigns plugin declares for other plugins.

Added to the CRM's plugin manager through ``crm_add_hookspecs``. Implement
them with ``@crmcore.hookimpl(optionalhook=True)`` so your plugin still loads
when campaigns is not installed; never import ``crm_campaigns``.
"""

from __future__ import annotations

from typing import Any, Callable

import pluggy

hookspec = pluggy.HookspecMarker("crm")


@hookspec
def crm_campaigns_segment_criteria(register: Callable[..., None]) -> None:
    """Called when a segment is compiled, to collect criteria other plugins
    contribute (membership tier, points balance, open complaints, churn risk).

    ``register(name, label, build, value_type="text")``:

    :param name: ``"<plugin>.<field>"``, e.g. ``"membership.tier"``; used as
        ``field = "membership.tier"`` in a segment's criteria.
    :param label: what ``crm campaigns segment fields`` shows.
    :param build: ``build(op, value)`` returns a SQLAlchemy boolean expression
        over ``crmcore.tables.customers`` (typically
        ``customers.c.id.in_(select(t.c.customer_id).where(...))``). ``op`` is
        one of eq ne in not_in contains gt gte lt lte between exists; raise
        ``crmcore.ValidationError("criteria: ...")`` for an op or value it does
        not support. The expression becomes part of the segment's one query,
        so it must not run queries itself.
    :param value_type: text, number, date or bool (checked before ``build``
        is called: a number field refuses ``"abc"``).

    Only plugins enabled for the acting user's department contribute.

    Example::

        @hookimpl(optionalhook=True)
        def crm_campaigns_segment_criteria(register):
            def tier(op, value):
                if op not in ("eq", "in"):
                    raise ValidationError("criteria: membership.tier supports eq and in")
                values = value if op == "in" else [value]
                return customers.c.id.in_(select(cards.c.customer_id).where(cards.c.tier.in_(values)))
            register("membership.tier", "会员等级", tier)
    """


@hookspec
def crm_campaigns_lead_created(uow: Any, customer: Any, campaign: Any, owner_id: int | None) -> None:
    """Called once, inside the unit of work, when a campaign responder is
    turned into a lead assigned to ``owner_id``.

    :param customer: the :class:`crmcore.Customer`.
    :param campaign: the campaign (``.id``, ``.name``, ``.goal``, ``.owner_id``).
    :param owner_id: the user the lead is assigned to.

    Example (the sales plugin opens an opportunity)::

        @hookimpl(optionalhook=True)
        def crm_campaigns_lead_created(uow, customer, campaign, owner_id):
            uow.service("sales").open(customer.id, owner_id=owner_id, source=f"campaign:{campaign.name}")
    """


def ensure_hookspecs(plugin_manager: Any) -> None:
    """Add these hookspecs to ``plugin_manager`` once; safe to call again
    (the core's ``crm_add_hookspecs`` and the plugin's own first use both
    call it). Light: imports nothing but pluggy."""
    import sys

    caller = getattr(plugin_manager.hook, "crm_campaigns_segment_criteria", None)
    if caller is not None and caller.spec is not None:
        return
    plugin_manager.add_hookspecs(sys.modules[__name__])

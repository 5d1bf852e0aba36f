"""Hooks the partners plugin offers other plugins.

Added to the CRM's plugin manager through ``crm_add_hookspecs``. Implement
them with ``@crmcore.hookimpl(optionalhook=True)`` so your plugin still loads
when partners is not installed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    from crm_partners.domain import Registration
    from crmcore import UnitOfWork

hookspec = pluggy.HookspecMarker("crm")


@hookspec
def crm_partners_registration_approved(uow: "UnitOfWork", registration: "Registration") -> None:
    """Called once when a partner's deal registration is approved (by hand,
    or automatically when it has no conflict), inside the approving unit of
    work; raising rolls the approval back.

    :param registration: has at least ``id``, ``partner_id`` (the partner's
        customer id), ``customer_id`` (the end customer), ``expected_amount``
        (Decimal), ``expected_close`` (date) and ``product`` (text or None).

    Example (the sales plugin opening an opportunity)::

        @hookimpl(optionalhook=True)
        def crm_partners_registration_approved(uow, registration):
            uow.service("sales").open(
                registration.customer_id, amount=registration.expected_amount,
                close=registration.expected_close, source=f"partner:{registration.partner_id}")
    """


def declare(plugin_manager: pluggy.PluginManager) -> None:
    """Add these hookspecs to ``plugin_manager`` once (safe to call again)."""
    import sys

    caller = getattr(plugin_manager.hook, "crm_partners_registration_approved", None)
    if caller is None or caller.spec is None:
        plugin_manager.add_hookspecs(sys.modules[__name__])

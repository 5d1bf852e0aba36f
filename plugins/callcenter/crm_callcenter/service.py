"""``uow.service("callcenter")``: the plugin's one service, built per unit of work."""

from __future__ import annotations

from typing import TYPE_CHECKING

from crm_callcenter.calls import CallsMixin
from crm_callcenter.knowledge import KnowledgeMixin
from crm_callcenter.reports import ReportsMixin
from crm_callcenter.screenpop import ScreenPopMixin
from crm_callcenter.setup import SetupMixin
from crm_callcenter.tickets import TicketsMixin

if TYPE_CHECKING:
    from crmcore import UnitOfWork


class CallcenterService(SetupMixin, TicketsMixin, CallsMixin, KnowledgeMixin, ScreenPopMixin, ReportsMixin):
    """Tickets, SLA and escalation, agents and queues, IVR, call events and
    replay, screen pop, knowledge base, surveys and reports. Every method
    runs inside the caller's unit of work."""

    def __init__(self, uow: "UnitOfWork"):
        self.uow = uow

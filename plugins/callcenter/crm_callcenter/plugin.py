"""Hook implementations of the call-center plugin.

Kept light to import: only the standard library and crmcore at the top;
the service, tables (SQLAlchemy) and CLI load inside the hooks.
"""

from __future__ import annotations

from pathlib import Path

from crmcore import hookimpl

HERE = Path(__file__).parent


@hookimpl
def crm_register_migrations(register):
    register(HERE / "migrations")


@hookimpl
def crm_register_templates(register):
    register(HERE / "templates")


@hookimpl
def crm_register_translations(register):
    register(HERE / "locale")


@hookimpl
def crm_register_pages(register):
    from crm_callcenter.web import HANDLERS

    for handler in HANDLERS:
        register(handler)


@hookimpl
def crm_register_navigation(register):
    from crm_callcenter.web import NAVIGATION, SECTION

    for path, label, order in NAVIGATION:
        register(path, label, permission="callcenter.view", order=order, section=SECTION)


@hookimpl
def crm_register_services(register):
    from crm_callcenter.service import CallcenterService

    register("callcenter", CallcenterService)


@hookimpl
def crm_register_commands(register):
    from crm_callcenter.cli import service

    register(service)


@hookimpl
def crm_register_permissions(register):
    register("callcenter.view", "See tickets, calls, screen pops, the knowledge base and call-center reports")
    register("callcenter.handle", "Open and work tickets, answer surveys, feed call events, change agent states")
    register("callcenter.manage", "Configure the business calendar, SLA policies, teams, agents, queues and IVR menus; replay calls")
    register("callcenter.escalate", "Run SLA escalation (the scheduler's job)")
    register("callcenter.kb_edit", "Write and change knowledge-base solutions")


@hookimpl
def crm_register_activity_types(register):
    register("ticket", "工单", label_en="Service ticket event")
    register("service_call", "客服来电", label_en="Call-center call")
    register("csat", "满意度评价", label_en="Satisfaction survey answer")


@hookimpl
def crm_customer_panel(uow, customer):
    from crm_callcenter.panel import ticket_panel

    return ticket_panel(uow, customer)


@hookimpl
def crm_dashboard_panel(uow):
    from crm_callcenter.web.dashboard import dashboard_panel

    return dashboard_panel(uow)


@hookimpl
def crm_customer_merged(uow, kept, merged):
    uow.service("callcenter").move_customer(kept.id, merged.id)


@hookimpl
def crm_user_deactivated(uow, user, successor):
    uow.service("callcenter").hand_over(user.id, successor.id if successor is not None else None)


#: Events integrators can subscribe to (webhooks); payloads carry ids and figures, no free text.
EVENTS = {
    "callcenter.ticket.created": "A ticket was opened (customer_id, ticket_id, type, priority, channel)",
    "callcenter.ticket.status_changed": "A ticket moved along its status flow (customer_id, ticket_id, from, to)",
    "callcenter.ticket.escalated": "An SLA target of a ticket was escalated (customer_id, ticket_id, kind, level, to)",
    "callcenter.call.ended": "A live call is over: answered and ended, abandoned, self service or no route "
                             "(customer_id, call_id, call_ref, outcome, queue, agent, wait_seconds, talk_seconds)",
    "callcenter.survey.answered": "A customer answered a satisfaction survey (customer_id, ticket_id, score)",
}


@hookimpl
def crm_register_events(register):
    for name, description in EVENTS.items():
        register(name, description)


@hookimpl
def crm_register_routes(register):
    from crm_callcenter.api import ROUTES

    for handler in ROUTES:
        register(handler)


@hookimpl
def crm_privacy_export(uow, customer):
    from crm_callcenter.privacy import export

    return export(uow, customer)


@hookimpl
def crm_privacy_erase(uow, customer, reason):
    from crm_callcenter.privacy import erase

    erase(uow, customer, reason)


@hookimpl
def crm_register_retention_rules(register):
    from crm_callcenter.privacy import DEFAULT_CALL_METADATA_MONTHS, RETENTION_RULE, retain_call_metadata

    register(RETENTION_RULE, "Caller numbers of calls offered more than callcenter_call_metadata_months ago are cleared "
             f"(default {DEFAULT_CALL_METADATA_MONTHS}; durations, outcomes and the customer link stay)", retain_call_metadata)


@hookimpl
def crm_demo_data(uow, customers):
    from crm_callcenter.demo import make_demo

    return make_demo(uow, customers)


@hookimpl(optionalhook=True)
def crm_campaigns_segment_criteria(register):
    """Segment criteria for the campaigns plugin (only called when it is installed)."""
    from crm_callcenter.segments import register_criteria

    register_criteria(register)


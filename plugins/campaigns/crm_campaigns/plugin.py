"""Hook implementations of the campaigns plugin.

Kept light to import: only click, crmcore and the standard library at the
top; the service, tables and SQL live in modules imported inside the hooks.
"""

from __future__ import annotations

from pathlib import Path

from crmcore import hookimpl

HERE = Path(__file__).parent

PERMISSIONS = {
    "campaigns.view": "See segments, campaigns, their messages and results",
    "campaigns.manage": "Create and change segments, campaigns, steps, templates and costs",
    "campaigns.approve": "Approve a campaign for launch",
    "campaigns.send": "Launch, run, finish and cancel campaigns; pick A/B winners",
    "campaigns.respond": "Record campaign responses and turn responders into leads",
    "campaigns.optout": "Record per-channel opt-outs and keep the blacklist",
}


def _service(uow):
    return uow.service("campaigns")


@hookimpl
def crm_add_hookspecs(plugin_manager):
    from crm_campaigns.hookspecs import ensure_hookspecs  # light: keeps `crm --help` free of SQLAlchemy

    ensure_hookspecs(plugin_manager)


@hookimpl
def crm_register_migrations(register):
    register(HERE / "migrations")


@hookimpl
def crm_register_services(register):
    from crm_campaigns.services import CampaignsService

    register("campaigns", CampaignsService)


@hookimpl
def crm_register_permissions(register):
    for code, description in PERMISSIONS.items():
        register(code, description)


@hookimpl
def crm_register_commands(register):
    from crm_campaigns.cli import campaigns

    register(campaigns)


@hookimpl
def crm_activity_logged(uow, activity):
    if activity.type == "purchase":
        _service(uow).attribute_purchases([activity.id])


@hookimpl
def crm_activities_imported(uow, activity_ids):
    _service(uow).attribute_purchases(list(activity_ids))


@hookimpl
def crm_activity_cancelled(uow, activity):
    if activity.type == "purchase":
        _service(uow).purchase_cancelled(activity.id, activity.customer_id)


@hookimpl
def crm_customer_updated(uow, customer, changes):
    before_after = changes.get("do_not_contact")
    if before_after and before_after[1]:
        _service(uow).withdraw_for_customer(customer.id)


@hookimpl
def crm_customer_cancelled(uow, customer):
    _service(uow).withdraw_for_customer(customer.id)


@hookimpl
def crm_customer_merged(uow, kept, merged):
    _service(uow).move_customer(kept.id, merged.id)


@hookimpl
def crm_user_deactivated(uow, user, successor):
    _service(uow).reassign_owner(user.id, successor.id if successor else None)


@hookimpl
def crm_customer_panel(uow, customer):
    if not uow.actor.can("campaigns.view"):
        return None
    history = _service(uow).history(customer.id)
    if not history["campaigns"] and not history["opted_out"] and not history["blacklisted"]:
        return None
    lines = []
    for entry in history["campaigns"]:
        group = "对照组 control" if entry["group"] == "control" else "目标组"
        detail = ", ".join(entry["messages"]) or "no message yet"
        answered = f"; responses: {', '.join(entry['responses'])}" if entry["responses"] else ""
        lines.append(f"{entry['campaign']} ({entry['status']}, {group}): {detail}{answered}")
    if history["opted_out"]:
        lines.append(f"opted out of: {', '.join(history['opted_out'])}")
    if history["blacklisted"]:
        lines.append("blacklisted: never messaged by campaigns")
    from crm_campaigns.web.labels import WebPanel

    return WebPanel("campaigns", "营销活动 Campaigns", history, lines=lines, template="campaigns/web/panel.html")


@hookimpl
def crm_dashboard_panel(uow):
    from crm_campaigns.web.dashboard import dashboard_panel

    return dashboard_panel(uow)


#: Webhook events (``crm webhook events``); payloads carry ids, never contact details.
EVENTS = {
    "campaigns.campaign.launched": "A campaign was launched: its audience frozen and its first step sent",
    "campaigns.response.recorded": "A customer's response to a campaign was recorded (opened, clicked, replied, registered, bought)",
    "campaigns.customer.opted_out": "A customer opted out of campaign messages on a channel (or all)",
    "campaigns.lead.created": "A campaign responder was turned into a lead",
}


@hookimpl
def crm_register_events(register):
    for name, description in EVENTS.items():
        register(name, description)


@hookimpl
def crm_register_templates(register):
    register(HERE / "templates")


@hookimpl
def crm_register_translations(register):
    register(HERE / "locale")


@hookimpl
def crm_register_pages(register):
    from crm_campaigns.web import handlers  # Litestar only loads for `crm serve`

    for handler in handlers():
        register(handler)


@hookimpl
def crm_register_navigation(register):
    from crm_campaigns.web.labels import NAVIGATION, NAVIGATION_SECTION

    for path, label in NAVIGATION:
        register(path, label, permission="campaigns.view", order=400, section=NAVIGATION_SECTION)


@hookimpl
def crm_register_routes(register):
    from crm_campaigns.api import ROUTES  # Litestar only loads for `crm serve`

    for handler in ROUTES:
        register(handler)


@hookimpl
def crm_privacy_export(uow, customer):
    from crm_campaigns.privacy import export

    return export(uow, customer)


@hookimpl
def crm_privacy_erase(uow, customer, reason):
    from crm_campaigns.privacy import erase

    erase(uow, customer, reason)


@hookimpl
def crm_register_retention_rules(register):
    from crm_campaigns.privacy import DEFAULT_MESSAGE_DAYS, RETENTION_RULE, retain_messages

    register(RETENTION_RULE, "Campaign messages' copies of the recipient, rendered subject and last error are cleared "
             f"once delivery is over and they were queued more than campaigns_messages_days ({DEFAULT_MESSAGE_DAYS:g} by default) "
             "days ago", retain_messages)


@hookimpl
def crm_demo_data(uow, customers):
    from crm_campaigns.demo import make_demo

    return make_demo(uow, customers)

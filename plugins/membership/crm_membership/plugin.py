"""Hook implementations of the membership plugin (会员管理).

Kept light to import: only click, crmcore and the standard library at the
top; services, tables and SQLAlchemy load inside the hooks.
"""

from __future__ import annotations

from pathlib import Path

from crmcore import Panel, hookimpl

HERE = Path(__file__).parent


@hookimpl
def crm_register_migrations(register):
    register(HERE / "migrations")


@hookimpl
def crm_register_templates(register):
    register(HERE / "templates")


@hookimpl
def crm_register_commands(register):
    from crm_membership.cli import membership

    register(membership)


@hookimpl
def crm_register_services(register):
    from crm_membership.services import MembershipService

    register("membership", MembershipService)


@hookimpl
def crm_register_activity_types(register):
    register("membership", "会员", label_en="Membership")


@hookimpl
def crm_register_permissions(register):
    register("membership.view", "See members, cards, points and membership reports")
    register("membership.apply", "File membership applications")
    register("membership.approve", "Review, approve and reject membership applications")
    register("membership.cards", "Report cards lost, unblock, replace cards, cancel memberships")
    register("membership.tier", "Adjust members' tiers by hand and run the tier evaluation")
    register("membership.points", "Confirm purchase points, enter event points, record event attendance")
    register("membership.adjust", "Adjust a member's points by hand (with a reason)")
    register("membership.redeem", "Redeem rewards for members, cancel redemptions, pay out awards")
    register("membership.run", "Run points expiry and plan carry-over (and its reversal)")
    register("membership.care", "Send member care messages")
    register("membership.manage", "Configure tiers, plans, rules, card pools, rewards, events and merchants")


@hookimpl
def crm_activity_logged(uow, activity):
    if activity.type == "purchase":
        uow.service("membership").points.purchase_logged(activity)


@hookimpl
def crm_activity_updated(uow, activity, changes):
    if activity.type == "purchase" and "amount" in changes:
        uow.service("membership").points.purchase_amount_changed(activity)


@hookimpl
def crm_activity_cancelled(uow, activity):
    if activity.type == "purchase":
        uow.service("membership").points.purchase_cancelled(activity.id)


@hookimpl
def crm_activities_imported(uow, activity_ids):
    uow.service("membership").points.purchases_imported(list(activity_ids))


@hookimpl
def crm_customer_merged(uow, kept, merged):
    uow.service("membership").customer_merged(kept.id, merged.id)


@hookimpl
def crm_customer_panel(uow, customer):
    from crm_membership.panel import panel_data

    data = panel_data(uow, customer.id)
    if data is None:
        return None
    lines = [f"{data['card_number']} ({data['card_status']})  {data['tier']}  {data['status']}",
             f"奖励积分 {data['reward_points']}  升级积分 {data['upgrade_points']}  待确认 {data['pending_points']}"]
    lines += [f"  {e['effective_on']}  {e['points']:+d} {e['kind']}  {e['source']}  {e['reason'] or ''}".rstrip() for e in data["entries"]]
    return Panel("membership", "会员", data, lines=lines, template="membership/web/panel.html")


@hookimpl
def crm_dashboard_panel(uow):
    from crm_membership.web import dashboard_panel

    return dashboard_panel(uow)


@hookimpl
def crm_demo_data(uow, customers):
    from crm_membership.demo import make_demo

    return make_demo(uow, customers)


@hookimpl(optionalhook=True)
def crm_campaigns_segment_criteria(register):
    from crm_membership.segments import register_all

    register_all(register)


#: Webhook events (docs/api.md), published from the services: the CLI, the API and hooks all publish them.
EVENTS = {
    "membership.member.joined": "A customer became a member (card number, tier)",
    "membership.member.cancelled": "A membership was cancelled",
    "membership.tier.changed": "A member's tier changed (upgrade, downgrade, manual)",
    "membership.points.adjusted": "Points were added to or deducted from a member by hand",
    "membership.reward.redeemed": "A member redeemed a reward for points",
    "membership.redemption.cancelled": "A redemption was cancelled and its points refunded",
}


@hookimpl
def crm_register_events(register):
    for name, description in EVENTS.items():
        register(name, description)


@hookimpl
def crm_register_routes(register):
    from crm_membership.api import ROUTES

    for handler in ROUTES:
        register(handler)


@hookimpl
def crm_register_pages(register):
    from crm_membership.web import HANDLERS

    for handler in HANDLERS:
        register(handler)


@hookimpl
def crm_register_navigation(register):
    from crm_membership.web import NAVIGATION, SECTION

    for path, label, permission, order in NAVIGATION:
        register(path, label, permission=permission, order=order, section=SECTION)


@hookimpl
def crm_register_translations(register):
    register(HERE / "locale")


@hookimpl
def crm_privacy_export(uow, customer):
    from crm_membership.privacy import export

    return export(uow, customer)


@hookimpl
def crm_privacy_erase(uow, customer, reason):
    from crm_membership.privacy import erase

    erase(uow, customer, reason)


@hookimpl
def crm_register_retention_rules(register):
    from crm_membership.privacy import RETENTION_DEFAULT_DAYS, RETENTION_RULE, RETENTION_SETTING, retain_rejected_applications

    register(RETENTION_RULE, "Rejected membership applications lose the applicant's name, phone, ID number, e-mail, birthday and reject reason "
             f"after review (default {RETENTION_DEFAULT_DAYS} days; privacy.retention.{RETENTION_SETTING})", retain_rejected_applications)

"""Hook implementations of the partners plugin (kept light to import:
everything heavy is imported inside the hooks)."""

from __future__ import annotations

from pathlib import Path

from crmcore import Panel, hookimpl

HERE = Path(__file__).parent

PERMISSIONS = {
    "partners.view": "See partners, agreements, registrations, assignments and performance",
    "partners.manage": "Add and change partners, grades, types, agreements and settings; send renewal reminders",
    "partners.register": "Register partner deals, record progress, mark them won or lost",
    "partners.approve": "Approve or reject deal registrations (and override conflicts); expire registrations",
    "partners.assign": "Assign leads to partners, accept or decline for them, reassign overdue leads",
    "partners.commissions": "Compute commissions, reverse cancelled deals, issue statements",
}


@hookimpl
def crm_add_hookspecs(plugin_manager):
    from crm_partners.hookspecs import declare

    declare(plugin_manager)


@hookimpl
def crm_register_migrations(register):
    register(HERE / "migrations")


@hookimpl
def crm_register_services(register):
    from crm_partners.service import PartnersService

    register("partners", PartnersService)


@hookimpl
def crm_register_permissions(register):
    for code, description in PERMISSIONS.items():
        register(code, description)


@hookimpl
def crm_register_commands(register):
    from crm_partners.cli import partners

    register(partners)


@hookimpl
def crm_customer_panel(uow, customer):
    data = uow.service("partners").panel_data(customer.id)
    if data is None:
        return None
    title = "渠道伙伴" if data["role"] == "partner" else "渠道（伙伴关系）"
    lines = []
    for key, value in data.items():
        if key == "role" or value in (None, [], ""):
            continue
        if isinstance(value, list):
            lines.append(f"{key}:")
            lines.extend(f"  {item}" for item in value)
        else:
            lines.append(f"{key}: {value}")
    return Panel("partners", title, data, lines=lines, template="partners/web/panel.html")


@hookimpl
def crm_register_templates(register):
    register(HERE / "templates")


@hookimpl
def crm_register_pages(register):
    from crm_partners.web import handlers

    for handler in handlers():
        register(handler)


@hookimpl
def crm_register_navigation(register):
    from crm_partners.web import NAVIGATION, SECTION

    for path, label, permission, order in NAVIGATION:
        register(path, label, permission=permission, order=order, section=SECTION)


@hookimpl
def crm_dashboard_panel(uow):
    from crm_partners.web import dashboard_panel

    return dashboard_panel(uow)


@hookimpl
def crm_register_translations(register):
    register(HERE / "locale")


@hookimpl
def crm_customer_merged(uow, kept, merged):
    uow.service("partners").merge(kept.id, merged.id)


@hookimpl
def crm_user_deactivated(uow, user, successor):
    uow.service("partners").hand_over(user.id, successor.id if successor else None)


@hookimpl
def crm_demo_data(uow, customers):
    from crm_partners.demo import make_demo

    return make_demo(uow, customers)


@hookimpl
def crm_privacy_export(uow, customer):
    from crm_partners.privacy import export

    return export(uow, customer)


@hookimpl
def crm_privacy_erase(uow, customer, reason):
    from crm_partners.privacy import erase

    erase(uow, customer)


@hookimpl
def crm_register_retention_rules(register):
    from crm_partners.privacy import retain_closed_registrations

    register("partners.closed_registration_notes",
             "Deal registrations closed more than notes_retention_years ago (default 3; crm partners settings) lose their "
             "notes and the names, phones and e-mails in their conflict details", retain_closed_registrations)


EVENTS = {
    "partners.registration.created": "A partner registered a deal with an end customer (conflicts counted)",
    "partners.registration.approved": "A deal registration was approved (by hand or automatically): the deal is protected",
    "partners.registration.won": "A partner's registered deal was won",
    "partners.lead.assigned": "A lead was offered to a partner (by hand, automatically, or passed on)",
    "partners.commissions.computed": "Commission lines were computed for a period",
}


@hookimpl
def crm_register_events(register):
    for name, description in EVENTS.items():
        register(name, description)


@hookimpl
def crm_register_routes(register):
    from crm_partners.api import ROUTES

    for handler in ROUTES:
        register(handler)

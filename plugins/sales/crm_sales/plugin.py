"""Hook implementations of the sales plugin. Kept light: only click, crmcore
and the standard library at import time; everything else inside the hooks."""

from __future__ import annotations

from pathlib import Path

from crmcore import Panel, hookimpl

HERE = Path(__file__).parent


# -- registration ------------------------------------------------------------------


@hookimpl
def crm_register_migrations(register):
    register(HERE / "migrations")


@hookimpl
def crm_register_services(register):
    from crm_sales.service import SalesService

    register("sales", SalesService)


@hookimpl
def crm_register_commands(register):
    from crm_sales.cli import sales

    register(sales)


@hookimpl
def crm_register_templates(register):
    register(HERE / "templates")


@hookimpl
def crm_register_pages(register):
    from crm_sales.web import handlers

    for handler in handlers():
        register(handler)


@hookimpl
def crm_register_navigation(register):
    from crm_sales.web import NAVIGATION, PERMISSIONS, SECTION

    for path, label, order in NAVIGATION:
        register(path, label, permission=PERMISSIONS, order=order, section=SECTION)


@hookimpl
def crm_register_translations(register):
    register(HERE / "locale")


@hookimpl
def crm_register_permissions(register):
    register("sales.edit", "Open and change opportunities, quotes and one's own visit plans")
    register("sales.manage", "Configure the pipeline, plan visits for others, and receive stale-opportunity reports")


# -- the REST API (docs/api.md): /api/v1/sales/… and webhook events ------------------

#: The events sales publishes (``crm webhook events``), from its services, so
#: the CLI, the API and other plugins' hooks all publish them.
EVENTS = {
    "sales.opportunity.created": "An opportunity was opened",
    "sales.opportunity.stage_changed": "An opportunity moved to another stage (from_stage, stage, outcome)",
    "sales.opportunity.won": "An opportunity was won",
    "sales.opportunity.lost": "An opportunity was lost",
    "sales.quote.sent": "A quote was sent to the customer",
    "sales.quote.accepted": "The customer accepted a quote",
    "sales.quote.rejected": "The customer rejected a quote",
}


@hookimpl
def crm_register_routes(register):
    from crm_sales.api import ROUTES

    for handler in ROUTES:
        register(handler)


@hookimpl
def crm_register_events(register):
    for name, description in EVENTS.items():
        register(name, description)


# -- privacy (docs/privacy.md) -----------------------------------------------------


@hookimpl
def crm_privacy_export(uow, customer):
    from crm_sales.privacy import export

    return export(uow, customer)


@hookimpl
def crm_privacy_erase(uow, customer, reason):
    from crm_sales.privacy import erase

    erase(uow, customer, reason)


@hookimpl
def crm_register_retention_rules(register):
    from crm_sales.privacy import RETENTION_DEFAULTS, retain_quote_html, retain_visit_purposes

    register("sales.quote_email_html",
             "Rendered quotes in e-mails sent, failed or cancelled longer ago than [sales.retention] quote_html_days "
             f"(default {RETENTION_DEFAULTS['quote_html_days']:g}) are removed", retain_quote_html)
    register("sales.visit_plan_purposes",
             "Purposes of visit plans planned longer ago than [sales.retention] visit_purposes_years "
             f"(default {RETENTION_DEFAULTS['visit_purposes_years']:g}) become '(expired)'", retain_visit_purposes)


# -- lifecycle ---------------------------------------------------------------------


@hookimpl
def crm_customer_merged(uow, kept, merged):
    sales = uow.service("sales")
    sales.opportunities.move_customer(merged.id, kept.id)
    sales.quotes.move_customer(merged.id, kept.id)
    sales.plans.move_customer(merged.id, kept.id)


@hookimpl
def crm_user_deactivated(uow, user, successor):
    from crmcore import ValidationError

    sales = uow.service("sales")
    successor_id = successor.id if successor is not None else None
    if successor_id is None:
        count = len(sales.opportunities.list(owner_id=user.id, open_only=True, limit=1_000_000))
        if count:
            raise ValidationError.field("reassign-to", f"{user.username!r} owns {count} open opportunities; name who takes them over")
    sales.opportunities.reassign_owner(user.id, successor_id)
    from crm_sales.values import local_date

    sales.plans.reassign(user.id, successor_id, local_date(uow.now, uow.crm.config.timezone))


# -- presentation ------------------------------------------------------------------


@hookimpl
def crm_customer_panel(uow, customer):
    summary = uow.service("sales").customer_summary(customer.id)
    if not summary["opportunities"]:
        return None
    lines = [f"open {summary['open']} (¥{summary['open_amount']:,}, weighted ¥{summary['weighted_amount']:,}), "
             f"won {summary['won']} (¥{summary['won_amount']:,})"]
    lines += [f"#{o['id']} {o['name']} · {o['stage_label']} {o['probability']}% · ¥{o['amount']:,} · {o['expected_close'] or '-'}"
              for o in summary["opportunities"]]
    # the title is shared with `crm customer show`; the web page translates
    # it through the plugin's catalogues (zh_CN and en)
    return Panel("sales", "商机 Opportunities", summary, lines=lines, template="sales/web/panel.html")


@hookimpl
def crm_dashboard_panel(uow):
    from crm_sales.web.dashboard import dashboard_panel

    return dashboard_panel(uow)


@hookimpl
def crm_demo_data(uow, customers):
    from crm_sales.demo import make_demo

    return make_demo(uow, customers)


# -- other plugins' hooks (declared by campaigns and partners) ----------------------


@hookimpl(optionalhook=True)
def crm_campaigns_lead_created(uow, customer, campaign, owner_id):
    """A campaign responder became a lead: open an opportunity for it."""
    if not uow.has_service("sales"):
        return None
    ref = f"campaign:{campaign.id}:customer:{customer.id}"
    return _open_once(uow, ref, customer.id, name=f"{campaign.name} 线索", amount=0, owner_id=owner_id,
                      source=f"campaign:{campaign.name}")


@hookimpl(optionalhook=True)
def crm_partners_registration_approved(uow, registration):
    """A partner's deal registration was approved: open its opportunity."""
    if not uow.has_service("sales"):
        return None
    product = getattr(registration, "product", None) or "合作伙伴报备"
    return _open_once(uow, f"partner_registration:{registration.id}", registration.customer_id,
                      name=str(product), amount=getattr(registration, "expected_amount", None) or 0,
                      expected_close=getattr(registration, "expected_close", None),
                      owner_id=getattr(registration, "owner_id", None),
                      source=f"partner:{registration.partner_id}")


def _open_once(uow, ref, customer_id, **fields):
    """Open an opportunity for ``ref`` unless one was opened for it before.
    The hook runs inside the other plugin's operation, which did its own
    permission and scope checks: ``sales.edit`` is not asked of its actor."""
    from sqlalchemy import select

    from crm_sales.tables import opportunities

    existing = uow.execute(select(opportunities.c.id).where(opportunities.c.source_ref == ref)).scalar()
    if existing:
        return existing
    return uow.service("sales").opportunities.add(customer_id, source_ref=ref, on_behalf=True, **fields).id

"""Hook implementations of the analytics plugin.

Kept light: only click, crmcore and the standard library at import time;
SQLAlchemy tables, numpy and scipy load inside the hooks that need them.
"""

from __future__ import annotations

from pathlib import Path

from crmcore import hookimpl

HERE = Path(__file__).parent


@hookimpl
def crm_register_migrations(register):
    register(HERE / "migrations")


@hookimpl
def crm_register_commands(register):
    from crm_analytics.cli import analytics

    register(analytics)


@hookimpl
def crm_register_services(register):
    from crm_analytics.services import AnalyticsService

    register("analytics", AnalyticsService)


@hookimpl
def crm_register_permissions(register):
    register("analytics.compute", "Compute and store customer scores (RFM, grades, models, CLV, lifecycle)")
    register("analytics.view", "See customer scores, churn lists and charts")
    register("analytics.rules", "Change the value grading rules")
    register("analytics.write_back", "Write computed grades and stages back to customers' level and stage")


# -- keeping scores honest: a purchase that comes or goes makes them stale -------------


@hookimpl
def crm_activity_logged(uow, activity):
    if activity.type == "purchase":
        uow.service("analytics").mark_stale([activity.customer_id])


@hookimpl
def crm_activity_cancelled(uow, activity):
    if activity.type == "purchase":
        uow.service("analytics").mark_stale([activity.customer_id])


@hookimpl
def crm_activity_updated(uow, activity, changes):
    if activity.type == "purchase" and changes.keys() & {"amount", "occurred_at"}:
        uow.service("analytics").mark_stale([activity.customer_id])


@hookimpl
def crm_activities_imported(uow, activity_ids):
    uow.service("analytics").mark_stale_for_activities(activity_ids)


@hookimpl
def crm_customer_merged(uow, kept, merged):
    uow.service("analytics").customer_merged(kept.id, merged.id)


# -- presentation -----------------------------------------------------------------------


@hookimpl
def crm_customer_panel(uow, customer):
    from crm_analytics.panel import customer_panel

    return customer_panel(uow, customer)


# -- the web interface: pages under /analytics, their templates and catalogues -------------------


@hookimpl
def crm_register_templates(register):
    register(HERE / "templates")


@hookimpl
def crm_register_translations(register):
    register(HERE / "locale")


@hookimpl
def crm_register_pages(register):
    from crm_analytics.web.pages import HANDLERS

    for handler in HANDLERS:
        register(handler)


@hookimpl
def crm_register_navigation(register):
    from crm_analytics.web import NAVIGATION, SECTION

    entry = dict(NAVIGATION)
    register(entry.pop("path"), entry.pop("label"), section=SECTION, **entry)


@hookimpl
def crm_demo_data(uow, customers):
    """Score the demo's customers so panels, churn lists and segments have data."""
    service = uow.service("analytics")
    try:
        result = service.score(window_days=None, horizon_weeks=52.0, margin=0.3, discount=0.1)
    except Exception as error:  # the demo's data may not support a model fit; say so, do not fail the demo
        from crmcore import CRMError

        if not isinstance(error, CRMError):
            raise
        return f"analytics: not scored ({error}) — try: crm analytics rfm"
    return (f"analytics: scored {result['clv']['customers']} customers (RFM, grades, CLV, churn, lifecycle) "
            f"— try: crm analytics clv --limit 10; crm analytics rfm; crm customer show 2")


# -- campaigns' segment criteria (declared by the campaigns plugin) ---------------------------


@hookimpl(optionalhook=True)
def crm_campaigns_segment_criteria(register):
    from crm_analytics.criteria import register_criteria

    register_criteria(register)


# -- privacy: scores are profiling of a person -------------------------------------------------


@hookimpl
def crm_privacy_export(uow, customer):
    from crm_analytics.privacy import export

    return export(uow, customer)


@hookimpl
def crm_privacy_erase(uow, customer, reason):
    from crm_analytics.privacy import erase

    erase(uow, customer)


def _retain_scores(uow, now, dry_run):
    from crm_analytics.privacy import retain_scores

    return retain_scores(uow, now, dry_run)


@hookimpl
def crm_register_retention_rules(register):
    register("analytics.old_scores",
             "Score rows (RFM, grade, CLV, churn, lifecycle) computed more than scores_days ago (default 365; "
             "[analytics.retention] or CRM_ANALYTICS_RETAIN_SCORES_DAYS), and those of cancelled customers, are deleted",
             _retain_scores)


# -- the REST API and its events ----------------------------------------------------------------


@hookimpl
def crm_dashboard_panel(uow):
    from crm_analytics.web import dashboard_panel

    return dashboard_panel(uow)


@hookimpl
def crm_register_events(register):
    register("analytics.scores.computed", "A run replaced one kind of scores (rfm, grades, clv, lifecycle) for every customer")
    register("analytics.model.fitted", "A BG/NBD + Gamma-Gamma model was fitted and stored")


@hookimpl
def crm_register_routes(register):
    from crm_analytics.api import ROUTES

    for handler in ROUTES:
        register(handler)

"""Every hook of the crmcore core, in one place.

Plugins implement these with ``@crmcore.hookimpl``. An implementation may
accept any subset of a hook's arguments, always by name: the core may add
arguments to a hook later, it never removes or renames one.

Three families:

* **lifecycle** hooks run inside the operation's unit of work, after the
  change is flushed and before the commit. Raising rolls back the whole
  operation. A change a hook makes to the entity its hook is running for is
  saved and audited but does not fire the hook again, so hooks never loop.
* **validation** hooks run before a change is written and may veto it by
  returning error messages.
* **registration** hooks run once, when the CRM starts, and receive a
  ``register`` callback rather than returning lists, so the core can add
  keyword arguments to ``register`` without breaking a plugin.

Lifecycle and validation hooks reach only the plugins enabled for the acting
user's department. docs/hooks.md mirrors this module; a test keeps them in
step.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

import pluggy

if TYPE_CHECKING:

    from crmcore.domain.activities import Activity
    from crmcore.domain.customers import Contact, Customer
    from crmcore.domain.organisation import User
    from crmcore.panels import Panel
    from crmcore.storage.unit_of_work import UnitOfWork

hookspec = pluggy.HookspecMarker("crm")


# ---------------------------------------------------------------------------
# Registration: called once when the CRM starts
# ---------------------------------------------------------------------------


@hookspec(historic=True)
def crm_add_hookspecs(plugin_manager: pluggy.PluginManager) -> None:
    """Called when the plugin is registered, so it can declare hooks of its own.

    A plugin that lets other plugins extend it (campaigns lets them contribute
    segment criteria) adds its hookspecs here. Other plugins implement those
    hooks with ``@hookimpl(optionalhook=True)`` so they still load when the
    declaring plugin is not installed.

    :param plugin_manager: the pluggy manager of this CRM.

    Example::

        @hookimpl
        def crm_add_hookspecs(plugin_manager):
            from crm_campaigns import hookspecs
            plugin_manager.add_hookspecs(hookspecs)
    """


@hookspec
def crm_register_migrations(register: Callable[..., None]) -> None:
    """Called at start to collect each plugin's Alembic versions directory.

    ``register(path)`` takes the directory holding the plugin's revisions. The
    plugin's first revision carries ``branch_labels = ("<plugin name>",)`` and
    ``depends_on = "core_0001"`` (or a later core revision it needs). All its
    tables start with the plugin's name.

    Example::

        @hookimpl
        def crm_register_migrations(register):
            register(Path(__file__).parent / "migrations")
    """


@hookspec
def crm_register_commands(register: Callable[..., None]) -> None:
    """Called at start to collect the plugin's click commands.

    ``register(command)`` adds a click command or group under ``crm``. Keep the
    module that defines the commands light: import heavy libraries inside the
    command functions, so ``crm --help`` stays fast.

    Example::

        @hookimpl
        def crm_register_commands(register):
            from crm_membership.cli import membership
            register(membership)
    """


@hookspec
def crm_register_services(register: Callable[..., None]) -> None:
    """Called at start to collect the plugin's services.

    ``register(name, factory)``: ``factory(uow)`` builds the service for one
    unit of work; other plugins reach it as ``uow.service(name)``, and only
    while the plugin is enabled for the actor's department.

    Example::

        @hookimpl
        def crm_register_services(register):
            from crm_membership.services import MembershipService
            register("membership", MembershipService)
    """


@hookspec
def crm_register_permissions(register: Callable[..., None]) -> None:
    """Called at start to collect the permissions a plugin checks.

    ``register(code, description)``. Codes are ``<plugin>.<verb>``; roles are
    granted them with ``crm role grant``.

    Example::

        @hookimpl
        def crm_register_permissions(register):
            register("membership.adjust_points", "Adjust a member's points by hand")
    """


@hookspec
def crm_register_activity_types(register: Callable[..., None]) -> None:
    """Called at start to add activity types to the timeline.

    ``register(name, label, label_en=None, has_amount=False, is_task=False)``.
    The core registers call, visit, meeting, email, sms, note, task, purchase,
    complaint and feedback itself.

    Example::

        @hookimpl
        def crm_register_activity_types(register):
            register("ticket", "工单", label_en="Service ticket")
    """


@hookspec
def crm_register_custom_fields(register: Callable[..., None]) -> None:
    """Called at start to declare custom customer fields a plugin relies on.

    ``register(name, type, label, choices=None)`` where ``type`` is one of
    text, int, decimal, date, bool, choice. Values live in
    ``customer.custom[name]`` and are validated against the declaration.

    Example::

        @hookimpl
        def crm_register_custom_fields(register):
            register("wechat_id", "text", "微信号")
    """


@hookspec
def crm_register_templates(register: Callable[..., None]) -> None:
    """Called at start to add a plugin's jinja2 template directory.

    ``register(path)``; templates are then addressed as ``"<plugin>/<file>"``
    through ``crm.templates``.

    Example::

        @hookimpl
        def crm_register_templates(register):
            register(Path(__file__).parent / "templates")
    """


@hookspec
def crm_register_outbox_channels(register: Callable[..., None]) -> None:
    """Called at start to add delivery channels for outbox messages.

    ``register(name, deliver)`` where ``deliver(message)`` sends one
    :class:`~crmcore.domain.outbox.OutboxMessage` and raises on failure (the
    message is retried with backoff). The core ships a ``file`` channel that
    writes messages to ``CRM_OUTBOX_DIR`` for development.

    Example::

        @hookimpl
        def crm_register_outbox_channels(register):
            register("sms", send_sms_through_gateway)
    """


# ---------------------------------------------------------------------------
# Validation: may veto a change
# ---------------------------------------------------------------------------


@hookspec
def crm_validate_customer(
    uow: UnitOfWork, customer: Customer, changes: dict[str, tuple[Any, Any]] | None
) -> list[str] | None:
    """Called before a customer is created or changed; may veto the change.

    :param customer: the customer as it would be saved.
    :param changes: ``{field: (before, after)}`` for an update, ``None`` for a
        new customer.
    :returns: a list of error messages ("field: problem"), or ``None`` or
        ``[]`` when valid. Any message stops the operation and rolls it back.

    Example::

        @hookimpl
        def crm_validate_customer(customer):
            if customer.kind == "organization" and not customer.industry:
                return ["industry: required for organisations"]
    """


@hookspec
def crm_validate_activity(uow: UnitOfWork, activity: Activity) -> list[str] | None:
    """Called before an activity is logged; may veto it.

    :returns: a list of error messages, or ``None``/``[]`` when valid.

    Example::

        @hookimpl
        def crm_validate_activity(activity):
            if activity.type == "purchase" and activity.amount > 1_000_000:
                return ["amount: purchases over one million need approval"]
    """


# ---------------------------------------------------------------------------
# Lifecycle: inside the unit of work, after the change is flushed
# ---------------------------------------------------------------------------


@hookspec
def crm_customer_created(uow: UnitOfWork, customer: Customer) -> None:
    """Called once after a customer is created (not for bulk imports, see
    :func:`crm_customers_imported`).

    Example::

        @hookimpl
        def crm_customer_created(uow, customer):
            uow.outbox.put("email", "sales@example.com", f"新客户 {customer.name}")
    """


@hookspec
def crm_customer_updated(
    uow: UnitOfWork, customer: Customer, changes: dict[str, tuple[Any, Any]]
) -> None:
    """Called once after a customer's fields changed.

    :param changes: ``{field: (before, after)}`` of the fields that changed.

    Example::

        @hookimpl
        def crm_customer_updated(uow, customer, changes):
            if "level" in changes:
                uow.service("membership").on_level_change(customer)
    """


@hookspec
def crm_customer_cancelled(uow: UnitOfWork, customer: Customer) -> None:
    """Called once after a customer is cancelled (注销); the record stays.

    Example::

        @hookimpl
        def crm_customer_cancelled(uow, customer):
            uow.service("membership").suspend(customer.id)
    """


@hookspec
def crm_customer_restored(uow: UnitOfWork, customer: Customer) -> None:
    """Called once after a cancelled customer is restored (恢复).

    Example::

        @hookimpl
        def crm_customer_restored(uow, customer):
            uow.service("membership").resume(customer.id)
    """


@hookspec
def crm_customer_merged(uow: UnitOfWork, kept: Customer, merged: Customer) -> None:
    """Called once when ``merged`` is merged into ``kept``, before ``merged`` is
    cancelled. Move every record of the plugin that points at ``merged.id`` to
    ``kept.id``.

    Example::

        @hookimpl
        def crm_customer_merged(uow, kept, merged):
            uow.connection.execute(
                update(tickets).where(tickets.c.customer_id == merged.id)
                .values(customer_id=kept.id))
    """


@hookspec
def crm_customers_imported(uow: UnitOfWork, customer_ids: list[int]) -> None:
    """Called once per batch of a bulk import with the ids created in it.

    Bulk paths never fire per-row hooks; do batch work here.

    Example::

        @hookimpl
        def crm_customers_imported(uow, customer_ids):
            uow.service("analytics").mark_stale(customer_ids)
    """


@hookspec
def crm_contact_added(uow: UnitOfWork, customer: Customer, contact: Contact) -> None:
    """Called once after a contact is added to an organisation or person.

    Example::

        @hookimpl
        def crm_contact_added(uow, customer, contact):
            uow.activities.log(customer.id, type="note", subject=f"新联系人 {contact.name}")
    """


@hookspec
def crm_contact_updated(
    uow: UnitOfWork, customer: Customer, contact: Contact, changes: dict[str, tuple[Any, Any]]
) -> None:
    """Called once after a contact's fields changed.

    Example::

        @hookimpl
        def crm_contact_updated(contact, changes):
            if "relationship" in changes:
                log.info("%s is now %s", contact.name, contact.relationship)
    """


@hookspec
def crm_activity_logged(uow: UnitOfWork, activity: Activity) -> None:
    """Called once after an activity is put on a customer's timeline.

    Purchases (``activity.type == "purchase"``) carry ``activity.amount``.

    Example::

        @hookimpl
        def crm_activity_logged(uow, activity):
            if activity.type == "purchase":
                uow.service("membership").earn_for_purchase(activity)
    """


@hookspec
def crm_activity_updated(
    uow: UnitOfWork, activity: Activity, changes: dict[str, tuple[Any, Any]]
) -> None:
    """Called once after an activity changed (a task marked done, a purchase
    confirmed).

    Example::

        @hookimpl
        def crm_activity_updated(activity, changes):
            if changes.get("done") == (False, True):
                log.info("task %s done", activity.id)
    """


@hookspec
def crm_activity_cancelled(uow: UnitOfWork, activity: Activity) -> None:
    """Called once after an activity is cancelled (a purchase refunded, a
    visit that did not happen). Undo what the activity caused.

    Example::

        @hookimpl
        def crm_activity_cancelled(uow, activity):
            if activity.type == "purchase":
                uow.service("membership").reverse_purchase(activity.id)
    """


@hookspec
def crm_activities_imported(uow: UnitOfWork, activity_ids: list[int]) -> None:
    """Called once per batch of a bulk activity import with the new ids.

    Example::

        @hookimpl
        def crm_activities_imported(uow, activity_ids):
            uow.service("membership").earn_for_purchases(activity_ids)
    """


@hookspec
def crm_user_deactivated(uow: UnitOfWork, user: User, successor: User | None) -> None:
    """Called once when a user leaves; hand the plugin's records they own
    (open tickets, opportunities) to ``successor``.

    Example::

        @hookimpl
        def crm_user_deactivated(uow, user, successor):
            uow.service("sales").reassign_owner(user.id, successor.id)
    """


# ---------------------------------------------------------------------------
# Privacy: a person's data, erasure, retention
# ---------------------------------------------------------------------------


@hookspec
def crm_privacy_export(uow: UnitOfWork, customer: Customer) -> dict[str, list[dict[str, Any]]] | None:
    """Called by ``crm privacy export`` for everything the plugin holds about
    one person, inside the export's single read transaction.

    :returns: ``{"<kind of record>": [row, ...]}`` with JSON-able rows (the
        export writes one JSON section and one CSV per kind), or ``None``.

    Example::

        @hookimpl
        def crm_privacy_export(uow, customer):
            rows = uow.execute(select(cards).where(cards.c.customer_id == customer.id)).mappings()
            return {"membership_cards": [dict(r) for r in rows]}
    """


@hookspec
def crm_privacy_erase(uow: UnitOfWork, customer: Customer, reason: str) -> None:
    """Called by ``crm privacy erase`` (and the retention rule erasing old
    cancelled customers) inside its transaction, before the core anonymises
    its own records, once per customer record of the person (the customer
    and any record merged into it), for every installed plugin whatever the
    department's enablement: replace every personal value the plugin holds
    about this customer (names, phones, e-mails, addresses, free text) so
    that no trace of them remains; keep what reports need (amounts, counts,
    durations) without identity. ``customer`` still holds the values, to
    find copies not keyed by ``customer_id``. Raising aborts the erasure.
    See docs/privacy.md.

    Example::

        @hookimpl
        def crm_privacy_erase(uow, customer, reason):
            uow.execute(update(tickets).where(tickets.c.customer_id == customer.id)
                        .values(subject="(erased)", body=None, caller=None))
    """


@hookspec
def crm_register_retention_rules(register: Callable[..., None]) -> None:
    """Called at start to collect retention rules, applied by ``crm privacy retain``.

    ``register(name, description, apply)`` where ``apply(uow, now, dry_run)``
    returns how many records the rule removes or anonymises (and changes
    nothing when ``dry_run``); it must be idempotent.

    Example::

        @hookimpl
        def crm_register_retention_rules(register):
            register("callcenter.call_metadata", "Call metadata after 24 months", purge_old_calls)
    """


# ---------------------------------------------------------------------------
# The HTTP API
# ---------------------------------------------------------------------------


@hookspec
def crm_register_routes(register: Callable[..., None]) -> None:
    """Called when ``crm serve`` builds the application, for the plugin's
    HTTP endpoints.

    ``register(handler)`` takes a Litestar route handler, controller or
    router; it is mounted under ``/api/v1/<plugin>/`` and served only to
    users of departments where the plugin is enabled. Handlers reach the
    services through the request's unit of work (see ``crmcore.api``).

    Example::

        @hookimpl
        def crm_register_routes(register):
            from crm_membership.api import MembersController
            register(MembersController)
    """


@hookspec
def crm_register_events(register: Callable[..., None]) -> None:
    """Called at start to declare the events integrators can subscribe
    webhooks to. ``register(name, description)``; names are
    ``<plugin>.<thing>.<happened>``. Publish one with
    ``uow.publish(name, payload)``: it is delivered after commit.

    Example::

        @hookimpl
        def crm_register_events(register):
            register("membership.points.posted", "Points were posted to a member's ledger")
    """


# ---------------------------------------------------------------------------
# The web interface
# ---------------------------------------------------------------------------


@hookspec
def crm_register_pages(register: Callable[..., None]) -> None:
    """Called when ``crm serve`` builds the application, for the plugin's
    web pages.

    ``register(handler)`` takes a Litestar route handler, controller or
    router; it is mounted under ``/<plugin>/`` next to the core's pages and
    served only to logged-in users of departments where the plugin is
    enabled (others get 404). Handlers open the page's unit of work with
    ``crmcore.web.web_uow(request, form)`` and answer with
    ``crmcore.web.page(...)`` or ``crmcore.web.redirect(...)``; templates
    come from ``crm_register_templates`` as ``"<plugin>/<file>"``.

    Example::

        from crmcore import web

        @web.get("/cards")
        def cards(request):
            with web.web_uow(request) as uow:
                return web.page(request, uow, "membership/web/cards.html",
                                cards=uow.service("membership").cards())

        @hookimpl
        def crm_register_pages(register):
            register(cards)                        # served at /membership/cards
    """


@hookspec
def crm_register_navigation(register: Callable[..., None]) -> None:
    """Called when ``crm serve`` starts, for the plugin's sidebar entries.

    ``register(path, label, *, permission=None, order=100, section=None)``:
    ``label`` is an English message id translated through the plugin's
    catalogue; the entry shows only to users holding ``permission`` (any of a
    tuple) in departments where the plugin is enabled. ``order`` sorts the
    sidebar (the core uses 0–25 and 900).

    Example::

        @hookimpl
        def crm_register_navigation(register):
            register("/membership/applications", "Member applications",
                     permission="membership.view", order=200)
    """


@hookspec
def crm_register_translations(register: Callable[..., None]) -> None:
    """Called when ``crm serve`` starts, for the plugin's message
    catalogues.

    ``register(directory)`` names a directory laid out as gettext's
    ``<locale>/LC_MESSAGES/<domain>.po`` (Babel ``.po`` sources; no compile
    step). Message ids are English; the core ships ``zh_CN``. Messages of all
    catalogues are merged, so prefer ids specific to the plugin's pages.

    Example::

        @hookimpl
        def crm_register_translations(register):
            register(Path(__file__).parent / "locale")
    """


# ---------------------------------------------------------------------------
# Presentation and demo data
# ---------------------------------------------------------------------------


@hookspec
def crm_customer_panel(uow: UnitOfWork, customer: Customer) -> Panel | None:
    """Called by ``crm customer show`` (and the API and web pages) for the
    plugin's summary of one customer.

    :returns: a :class:`crmcore.Panel` (``name``, ``title``, ``data`` for JSON,
        ``lines`` for text, ``template`` for the web page's customer detail:
        a ``"<plugin>/…"`` template rendered with ``panel`` and ``customer``;
        without one the page shows ``data`` as a table), or ``None`` when the
        plugin has nothing to say.

    Example::

        @hookimpl
        def crm_customer_panel(uow, customer):
            member = uow.service("membership").find(customer.id)
            if member:
                return Panel("membership", "会员", {"card_number": member.card})
    """


@hookspec
def crm_dashboard_panel(uow: UnitOfWork) -> Panel | None:
    """Called when the web dashboard is shown, for what the plugin has for
    the logged-in user (``uow.actor``) this morning: tickets close to their
    SLA, applications to review, deals to push.

    :returns: a :class:`crmcore.Panel` whose ``title`` is an English message
        id (translated through the plugin's catalogue), with a ``template``
        (rendered with ``panel``) or ``data`` shown as a list; ``None`` when
        there is nothing for this user (no permission, nothing pending).

    Example::

        @hookimpl
        def crm_dashboard_panel(uow):
            if uow.actor.can("membership.review"):
                waiting = uow.service("membership").applications(status="pending")
                return Panel("membership", "Member applications to review",
                             {"Waiting": len(waiting)}, template="membership/web/dashboard.html")
    """


@hookspec
def crm_demo_data(uow: UnitOfWork, customers: list[Customer]) -> str | None:
    """Called by ``crm demo`` after the core made its demo customers.

    :param customers: the demo customers, to attach the plugin's records to.
    :returns: one line saying what the plugin made and one command to try,
        printed in the demo's summary.

    Example::

        @hookimpl
        def crm_demo_data(uow, customers):
            for c in customers[:5]:
                uow.service("membership").join(c.id)
            return "5 members — try: crm membership list"
    """

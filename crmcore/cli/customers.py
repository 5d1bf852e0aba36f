"""``crm customer``, ``crm contact``, ``crm activity``."""

from __future__ import annotations

from typing import Any, Callable

import click

from crmcore.cli.context import CLIState, pass_state, render_fields, render_table

KIND_ALIASES = {
    "person": "person", "个人": "person", "individual": "person",
    "organization": "organization", "organisation": "organization", "企业": "organization",
    "company": "organization", "公司": "organization", "org": "organization",
}
GENDER_ALIASES = {"male": "male", "男": "male", "m": "male", "female": "female", "女": "female", "f": "female"}
LIST_COLUMNS = ("id", "code", "name", "kind", "phones", "city", "level", "status", "owner", "department")


def _alias(table: dict[str, str], field: str) -> Callable[[Any, Any, Any], str | None]:
    def convert(_ctx: Any, _param: Any, value: str | None) -> str | None:
        if value is None:
            return None
        key = value.strip().lower()
        if key not in table:
            raise click.BadParameter(f"{value!r} is not one of {', '.join(sorted(set(table.values())))}", param_hint=f"--{field}")
        return table[key]

    return convert


def customer_options(for_edit: bool) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """The field options shared by ``customer add`` and ``customer edit``."""
    options = [
        click.option("--name", required=not for_edit, help="Name of the person or organisation."),
        click.option("--kind", callback=_alias(KIND_ALIASES, "kind"), help="person (个人) or organization (企业)."),
        click.option("--code", help="Customer number; generated when left out."),
        click.option("--phone", "phones", multiple=True, help="Phone in any spelling; repeat for several." + (" Replaces all." if for_edit else "")),
        click.option("--email", "emails", multiple=True, help="E-mail; repeat for several." + (" Replaces all." if for_edit else "")),
        click.option("--address"), click.option("--region"), click.option("--province"), click.option("--city"),
        click.option("--industry"), click.option("--position"),
        click.option("--birthday", help="YYYY-MM-DD."),
        click.option("--gender", callback=_alias(GENDER_ALIASES, "gender"), help="male (男) or female (女)."),
        click.option("--source", help="Where the customer came from."),
        click.option("--level", help="Value level code or label: vip/贵宾, important/重要, normal/普通, small/小客户."),
        click.option("--status", help="Status code or label: potential/潜在, target/目标, active/现实, lost/流失."),
        click.option("--stage", help="Lifecycle stage: exploration/考察期, formation/形成期, stability/稳定期, decline/退化期."),
        click.option("--tag", "tags", multiple=True, help="Tag; repeat for several." + (" Replaces all." if for_edit else "")),
        click.option("--owner", help="Username of the owning salesperson."),
        click.option("--department", help="Department name."),
        click.option("--field", "fields", multiple=True, metavar="NAME=VALUE", help="Custom field value; repeat for several."),
        click.option("--do-not-contact/--contact-ok", "do_not_contact", default=None, help="Global opt-out from marketing."),
        click.option("--notes"),
    ]
    if for_edit:
        options += [
            click.option("--add-tag", "add_tags", multiple=True, help="Add a tag, keeping the others."),
            click.option("--remove-tag", "remove_tags", multiple=True, help="Remove a tag."),
            click.option("--add-phone", "add_phones", multiple=True, help="Add a phone, keeping the others."),
        ]

    def decorate(function: Callable[..., Any]) -> Callable[..., Any]:
        for option in reversed(options):
            function = option(function)
        return function

    return decorate


def _fields(uow: Any, values: dict[str, Any]) -> dict[str, Any]:
    """Turn option values into service fields; options left out are not fields."""
    from crmcore.errors import ValidationError

    fields: dict[str, Any] = {}
    for name, value in values.items():
        if value is None or value == ():
            continue
        if name == "owner":
            fields["owner_id"] = uow.users.get(value, field="owner").id
        elif name == "department":
            fields["department_id"] = uow.departments.get(value).id
        elif name == "fields":
            custom = {}
            for pair in value:
                key, sep, text = pair.partition("=")
                if not sep or not key.strip():
                    raise ValidationError.field("field", f"{pair!r} is not NAME=VALUE")
                custom[key.strip()] = text
            fields["custom"] = custom
        elif name in ("phones", "emails", "tags"):
            fields[name] = list(value)
        else:
            fields[name] = value
    return fields


def show_customer(state: CLIState, uow: Any, customer_id: int) -> None:
    from crmcore.presenting import activity_view, contact_view, customer_panels, customer_view

    customer = uow.customers.get(customer_id)
    view = customer_view(uow, customer)
    view["contacts"] = [contact_view(uow, c) for c in uow.contacts.list(customer_id)]
    view["activities"] = [activity_view(uow, a) for a in uow.activities.list(customer_id, limit=10)]
    panels = customer_panels(uow, customer)
    view["panels"] = {p.name: {"title": p.title, **p.data} for p in panels}
    uow.audit.record("customer", customer_id, "view", {})

    def text() -> str:
        head = {k: v for k, v in view.items() if k not in ("contacts", "activities", "panels", "owner_id", "department_id", "custom")}
        head.update({f"custom.{k}": v for k, v in customer.custom.items()})
        parts = [render_fields(head)]
        parts += ["", "Contacts", render_table(view["contacts"], ("id", "name", "title", "phones", "decision_role", "relationship"))]
        parts += ["", "Latest activities", render_table(view["activities"], ("id", "occurred_at", "type_label", "subject", "amount", "done"))]
        for panel in panels:
            parts += ["", panel.title, *panel.text_lines()]
        return "\n".join(parts)

    state.emit(view, text=text)


@click.group()
def customer() -> None:
    """Customers: persons and organisations (客户)."""


@customer.command("add")
@customer_options(for_edit=False)
@pass_state
def customer_add(state: CLIState, **options: Any) -> None:
    """Create a customer."""
    from crmcore.presenting import customer_view

    with state.uow() as uow:
        created = uow.customers.create(**_fields(uow, options))
        view = customer_view(uow, created)
    state.emit(view, text=f"created customer {created.id} ({created.code}) {created.name}")


@customer.command("edit")
@click.argument("customer_id", type=int)
@customer_options(for_edit=True)
@pass_state
def customer_edit(state: CLIState, customer_id: int, add_tags: tuple[str, ...], remove_tags: tuple[str, ...],
                  add_phones: tuple[str, ...], **options: Any) -> None:
    """Change a customer's fields; options left out stay as they are."""
    from crmcore.presenting import customer_view

    with state.uow() as uow:
        fields = _fields(uow, options)
        current = uow.customers.get(customer_id)
        if add_tags or remove_tags:
            tags = fields.get("tags", current.tags)
            fields["tags"] = [t for t in [*tags, *add_tags] if t not in remove_tags]
        if add_phones:
            fields["phones"] = [*fields.get("phones", current.phones), *add_phones]
        if "custom" in fields:
            fields["custom"] = {**current.custom, **fields["custom"]}
        updated = uow.customers.update(customer_id, **fields)
        view = customer_view(uow, updated)
    state.emit(view, text=f"saved customer {customer_id}")


@customer.command("show")
@click.argument("customer_id", type=int)
@pass_state
def customer_show(state: CLIState, customer_id: int) -> None:
    """Show a customer's archive: fields, contacts, latest activities and
    each plugin's panel."""
    with state.uow() as uow:
        show_customer(state, uow, customer_id)


def filter_options(function: Callable[..., Any]) -> Callable[..., Any]:
    """Filters, sorting and paging shared by ``customer list`` and ``customer search``."""
    options = [
        click.option("--level"), click.option("--status"), click.option("--stage"), click.option("--tag"),
        click.option("--owner", help="Username."),
        click.option("--department", help="Department name (with the departments below it)."),
        click.option("--field", "fields", multiple=True, metavar="NAME=VALUE", help="Custom field equals value."),
        click.option("--sort", default="id", show_default=True, help="id, name, created or updated; prefix - for descending."),
        click.option("--limit", default=50, show_default=True),
        click.option("--offset", default=0, show_default=True),
    ]
    for option in reversed(options):
        function = option(function)
    return function


def _filters(uow: Any, options: dict[str, Any]) -> dict[str, Any]:
    filters = {k: options[k] for k in ("level", "status", "stage", "tag") if options.get(k)}
    if options.get("owner"):
        filters["owner_id"] = uow.users.get(options["owner"], field="owner").id
    if options.get("department"):
        filters["department_id"] = uow.departments.get(options["department"]).id
    if options.get("fields"):
        filters["custom"] = _fields(uow, {"fields": options["fields"]})["custom"]
    return filters


@customer.command("list")
@filter_options
@click.option("--cancelled", is_flag=True, help="List cancelled customers instead.")
@pass_state
def customer_list(state: CLIState, cancelled: bool, sort: str, limit: int, offset: int, **options: Any) -> None:
    """List customers you can see."""
    from crmcore.presenting import customer_view

    with state.uow() as uow:
        found = uow.customers.list(active=not cancelled, sort=sort, limit=limit, offset=offset, **_filters(uow, options))
        views = [customer_view(uow, c) for c in found]
    state.emit(views, columns=LIST_COLUMNS)


@customer.command("search")
@click.argument("text", default="")
@filter_options
@click.option("--cancelled", "include_cancelled", is_flag=True, help="Include cancelled customers.")
@pass_state
def customer_search(state: CLIState, text: str, include_cancelled: bool, sort: str, limit: int, offset: int, **options: Any) -> None:
    """Find customers by name (Chinese substring, pinyin, initials), phone in
    any spelling, e-mail or code, narrowed by the filters."""
    from crmcore.presenting import customer_view

    with state.uow() as uow:
        found = uow.customers.search(text, include_cancelled=include_cancelled, sort=sort, limit=limit, offset=offset,
                                     **_filters(uow, options))
        views = [customer_view(uow, c) for c in found]
    state.emit(views, columns=LIST_COLUMNS)


@customer.command("cancel")
@click.argument("customer_id", type=int)
@click.option("--reason")
@pass_state
def customer_cancel(state: CLIState, customer_id: int, reason: str | None) -> None:
    """Cancel (注销) a customer; it can be restored."""
    with state.uow() as uow:
        uow.customers.cancel(customer_id, reason=reason)
    state.emit({"id": customer_id, "active": False}, text=f"cancelled customer {customer_id}")


@customer.command("restore")
@click.argument("customer_id", type=int)
@pass_state
def customer_restore(state: CLIState, customer_id: int) -> None:
    """Restore (恢复) a cancelled customer."""
    with state.uow() as uow:
        uow.customers.restore(customer_id)
    state.emit({"id": customer_id, "active": True}, text=f"restored customer {customer_id}")


@customer.command("merge")
@click.argument("keep_id", type=int)
@click.argument("other_id", type=int)
@pass_state
def customer_merge(state: CLIState, keep_id: int, other_id: int) -> None:
    """Merge customer OTHER into KEEP: contacts, activities and every plugin's
    records move to KEEP; OTHER is cancelled, pointing to KEEP."""
    with state.uow() as uow:
        uow.customers.merge(keep_id, other_id)
    state.emit({"kept": keep_id, "merged": other_id}, text=f"merged customer {other_id} into {keep_id}")


@customer.command("duplicates")
@click.option("--limit", default=200, show_default=True)
@pass_state
def customer_duplicates(state: CLIState, limit: int) -> None:
    """List duplicate candidates with the reason: same phone, same e-mail,
    same name (organisations ignoring legal suffixes)."""
    from crmcore.services.duplicates import find_duplicates

    with state.uow() as uow:
        pairs = find_duplicates(uow, limit=limit)
    state.emit(pairs, columns=("keep", "keep_name", "other", "other_name", "reasons"))


@customer.command("history")
@click.argument("customer_id", type=int)
@pass_state
def customer_history(state: CLIState, customer_id: int) -> None:
    """The change log of a customer: who did what, when, field by field."""
    from crmcore.clock import local

    with state.uow() as uow:
        uow.customers.get(customer_id)
        zone = uow.crm.config.timezone
        entries = [{"id": e.id, "time": local(e.at, zone), "actor": e.actor, "action": e.action, "changes": e.changes}
                   for e in uow.audit.for_entity("customer", customer_id)]
    state.emit(entries, columns=("time", "actor", "action", "changes"))


# -- contacts ---------------------------------------------------------------------

DECISION_ROLES = {"decision_maker": "decision_maker", "决策者": "decision_maker", "user": "user", "使用者": "user",
                  "influencer": "influencer", "影响者": "influencer", "buyer": "buyer", "采购者": "buyer",
                  "gatekeeper": "gatekeeper", "把关者": "gatekeeper"}
RELATIONSHIPS = {"positive": "positive", "积极": "positive", "neutral": "neutral", "中立": "neutral",
                 "negative": "negative", "消极": "negative", "none": "none", "尚未建立关系": "none"}


@click.group()
def contact() -> None:
    """Contacts and key persons of a customer (联系人)."""


@contact.command("add")
@click.argument("customer_id", type=int)
@click.option("--name", required=True)
@click.option("--title", help="Job title.")
@click.option("--phone", "phones", multiple=True)
@click.option("--email", "emails", multiple=True)
@click.option("--birthday")
@click.option("--role", "decision_role", callback=_alias(DECISION_ROLES, "role"),
              help="Role in the buying decision: decision_maker, user, influencer, buyer, gatekeeper.")
@click.option("--relationship", callback=_alias(RELATIONSHIPS, "relationship"),
              help="With us: positive, neutral, negative, none.")
@click.option("--staff", help="Username of our staff member holding the relationship.")
@click.option("--notes")
@pass_state
def contact_add(state: CLIState, customer_id: int, staff: str | None, **options: Any) -> None:
    """Add a contact to a customer."""
    from crmcore.presenting import contact_view

    with state.uow() as uow:
        fields = {k: (list(v) if isinstance(v, tuple) else v) for k, v in options.items() if v not in (None, ())}
        if staff:
            fields["staff_id"] = uow.users.get(staff, field="staff").id
        added = uow.contacts.add(customer_id, **fields)
        view = contact_view(uow, added)
    state.emit(view, text=f"added contact {added.id} {added.name} to customer {customer_id}")


@contact.command("list")
@click.argument("customer_id", type=int)
@pass_state
def contact_list(state: CLIState, customer_id: int) -> None:
    """List a customer's contacts."""
    from crmcore.presenting import contact_view

    with state.uow() as uow:
        views = [contact_view(uow, c) for c in uow.contacts.list(customer_id)]
    state.emit(views, columns=("id", "name", "title", "phones", "emails", "decision_role", "relationship", "staff"))


# -- activities -----------------------------------------------------------------------

ACTIVITY_COLUMNS = ("id", "customer_id", "occurred_at", "type_label", "subject", "amount", "due_at", "done")


@click.group()
def activity() -> None:
    """The customer timeline: calls, visits, e-mails, notes, tasks, purchases."""


@activity.command("log")
@click.argument("customer_id", type=int)
@click.option("--type", "type_", required=True, help="call, visit, meeting, email, sms, note, task, purchase, … (`crm activity types`).")
@click.option("--subject")
@click.option("--body")
@click.option("--at", "occurred_at", help="When it happened (default now), e.g. 2026-03-01T14:30.")
@click.option("--due", "due_at", help="Due time of a task.")
@click.option("--amount", help="Amount in CNY, for purchases.")
@click.option("--contact", "contact_id", type=int, help="Contact id.")
@pass_state
def activity_log(state: CLIState, customer_id: int, type_: str, **options: Any) -> None:
    """Log an activity on a customer's timeline."""
    from crmcore.presenting import activity_view

    with state.uow() as uow:
        logged = uow.activities.log(customer_id, type=type_, **{k: v for k, v in options.items() if v is not None})
        view = activity_view(uow, logged)
    state.emit(view, text=f"logged activity {logged.id} ({logged.type}) for customer {customer_id}")


@activity.command("list")
@click.argument("customer_id", type=int, required=False)
@click.option("--type", "type_")
@click.option("--tasks", is_flag=True, help="Only my open tasks.")
@click.option("--cancelled", "include_cancelled", is_flag=True, help="Include cancelled activities.")
@click.option("--limit", default=50, show_default=True)
@pass_state
def activity_list(state: CLIState, customer_id: int | None, type_: str | None, tasks: bool, include_cancelled: bool, limit: int) -> None:
    """List activities, newest first: one customer's, or all you can see."""
    from crmcore.presenting import activity_view

    with state.uow() as uow:
        found = uow.activities.list(customer_id, type=type_, open_tasks_of=uow.actor.id if tasks else None,
                                    include_cancelled=include_cancelled, limit=limit)
        views = [activity_view(uow, a) for a in found]
    state.emit(views, columns=ACTIVITY_COLUMNS)


@activity.command("done")
@click.argument("activity_id", type=int)
@pass_state
def activity_done(state: CLIState, activity_id: int) -> None:
    """Mark a task done."""
    with state.uow() as uow:
        uow.activities.complete(activity_id)
    state.emit({"id": activity_id, "done": True}, text=f"task {activity_id} done")


@activity.command("cancel")
@click.argument("activity_id", type=int)
@click.option("--reason")
@pass_state
def activity_cancel(state: CLIState, activity_id: int, reason: str | None) -> None:
    """Cancel an activity (a refunded purchase, a visit that did not happen)."""
    with state.uow() as uow:
        uow.activities.cancel(activity_id, reason=reason)
    state.emit({"id": activity_id, "cancelled": True}, text=f"cancelled activity {activity_id}")


@activity.command("types")
@pass_state
def activity_types(state: CLIState) -> None:
    """List activity types, the core's and the plugins'."""
    rows = [{"name": t.name, "label": t.label, "label_en": t.label_en, "amount": t.has_amount, "task": t.is_task, "plugin": t.plugin}
            for t in state.crm.activity_types.values()]
    state.emit(rows)

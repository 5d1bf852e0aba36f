"""Customer pages: the list with search and filters, the archive (timeline,
contacts, key persons, plugins' panels, history), the create and edit form,
and logging an activity."""

from __future__ import annotations

import re
from typing import Annotated, Any

from litestar import Request, Response
from litestar.params import FromPath, FromQuery, QueryParameter

from crmcore.domain.customers import CONTACT_DETAIL_FIELDS, GENDERS, KINDS
from crmcore.presenting import can_see_contact_details, contact_view, customer_panels, customer_view
from crmcore.web.pages.contacts import DECISION_ROLE_LABELS, RELATIONSHIP_LABELS
from crmcore.web.pages.labels import activity_type_label, choice_labels, choice_options
from crmcore.web.i18n import lazy
from crmcore.web.routes import Form, get, post
from crmcore.web.site import attempt, form_value, page, redirect, request_locale, translator, web_uow

#: The audit trail's actions and fields, as the history table shows them.
HISTORY_ACTIONS = {"create": lazy("Created the archive"), "update": lazy("Changed"), "cancel": lazy("Cancelled"),
                   "restore": lazy("Restored"), "merge": lazy("Merged another into this"),
                   "merged_into": lazy("Merged into another"), "view": lazy("Viewed"), "hand-over": lazy("Handed over"),
                   "import": lazy("Imported"), "erase": lazy("Erased")}
HISTORY_FIELDS = {"name": lazy("Name"), "kind": lazy("Kind"), "code": lazy("Code"), "phones": lazy("Phones"),
                  "emails": lazy("E-mails"), "address": lazy("Address"), "region": lazy("Region"),
                  "province": lazy("Province"), "city": lazy("City"), "industry": lazy("Industry"),
                  "position": lazy("Position"), "birthday": lazy("Birthday"), "gender": lazy("Gender"),
                  "source": lazy("Source"), "level": lazy("Level"), "status": lazy("Status"), "stage": lazy("Stage"),
                  "tags": lazy("Tags"), "owner_id": lazy("Owner"), "department_id": lazy("Department"),
                  "custom": lazy("Custom fields"), "do_not_contact": lazy("Do not contact"), "notes": lazy("Notes"),
                  "active": lazy("Active"), "reason": lazy("Reason"), "merged": lazy("Merged customer"),
                  "merged_name": lazy("Merged customer's name"), "into": lazy("Merged into")}
PAGE_SIZE = 25
SORTS = ("id", "-id", "name", "-name", "created", "-created", "updated", "-updated")
FILTERS = ("level", "status", "stage", "tag")
#: Text fields of the form, in the order shown.
TEXT_FIELDS = ("name", "code", "address", "province", "city", "industry", "position", "birthday", "source", "notes")
SPLIT = re.compile(r"[\n,，;；、]+")


def _listed(text: str) -> list[str]:
    return [part.strip() for part in SPLIT.split(text or "") if part.strip()]


@get("/customers", name="customers")
def customer_list(request: Request, q: FromQuery[str] = "", level: FromQuery[str] = "", status: FromQuery[str] = "",
                  stage: FromQuery[str] = "", tag: FromQuery[str] = "", sort: FromQuery[str] = "id",
                  page_number: Annotated[int, QueryParameter(name="page", ge=1)] = 1) -> Response[str]:
    locale = request_locale(request)
    with web_uow(request) as uow:
        filters = {name: value for name, value in (("level", level), ("status", status), ("stage", stage), ("tag", tag)) if value}
        sort = sort if sort in SORTS else "id"
        number = max(1, page_number)
        found = uow.customers.search(q, sort=sort, limit=PAGE_SIZE + 1, offset=(number - 1) * PAGE_SIZE, **filters)
        rows = [customer_view(uow, c) for c in found[:PAGE_SIZE]]
        return page(request, uow, "core/web/customers/list.html", rows=rows, q=q, filters=filters, sort=sort,
                    page_number=number, has_next=len(found) > PAGE_SIZE, label=choice_labels(uow, locale),
                    options={kind: choice_options(uow, locale, kind) for kind in ("level", "status", "stage")})


def _customer_page(request: Request, uow: Any, customer_id: int, **extra: Any) -> Response[str]:
    locale = request_locale(request)
    customer = uow.customers.get(customer_id)
    view = customer_view(uow, customer)
    contacts = [contact_view(uow, c) for c in uow.contacts.list(customer_id)]
    timeline = uow.activities.list(customer_id, limit=100, include_cancelled=True)
    history = uow.audit.for_entity("customer", customer_id)
    if not can_see_contact_details(uow):
        history = [_masked_entry(entry) for entry in history]
    uow.audit.record("customer", customer_id, "view", {})
    staff = {u.id: u.display_name or u.username for u in uow.users.list(include_inactive=True)}
    return page(request, uow, "core/web/customers/detail.html", customer=customer, view=view, contacts=contacts,
                key_persons=[c for c in contacts if c.get("decision_role")], timeline=timeline,
                panels=customer_panels(uow, customer), history=list(reversed(history)), staff=staff,
                label=choice_labels(uow, locale), type_label=activity_type_label(uow, locale),
                activity_types=sorted(uow.crm.activity_types.values(), key=lambda t: (t.plugin != "core", t.name)),
                decision_roles=DECISION_ROLE_LABELS, relationships=RELATIONSHIP_LABELS,
                history_actions=HISTORY_ACTIONS, history_fields=HISTORY_FIELDS, **extra)


def _masked_entry(entry: Any) -> Any:
    changes = {name: ("***" if name in CONTACT_DETAIL_FIELDS else value) for name, value in (entry.changes or {}).items()}
    return type(entry)(entry.id, entry.at, entry.actor, entry.entity, entry.entity_id, entry.action, changes)


@get("/customers/{customer_id:int}", name="customer")
def customer_detail(request: Request, customer_id: FromPath[int]) -> Response[str]:
    with web_uow(request) as uow:
        return _customer_page(request, uow, customer_id, activity_form={}, activity_errors={})


def _form_fields(uow: Any, data: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """Service fields from the submitted form, and the problems found
    before the service sees them (an unknown owner, say)."""
    fields: dict[str, Any] = {name: form_value(data, name) or None for name in TEXT_FIELDS}
    fields["name"] = form_value(data, "name")
    fields["kind"] = form_value(data, "kind") or "person"
    fields["gender"] = form_value(data, "gender") or None
    for name in ("level", "status", "stage"):
        if form_value(data, name):
            fields[name] = form_value(data, name)
    fields["phones"] = _listed(form_value(data, "phones"))
    fields["emails"] = _listed(form_value(data, "emails"))
    fields["tags"] = _listed(form_value(data, "tags"))
    fields["do_not_contact"] = form_value(data, "do_not_contact") in ("1", "on", "true")
    errors: dict[str, str] = {}
    owner = form_value(data, "owner")
    fields["owner_id"] = None
    if owner:
        found = uow.users.find(owner)
        if found is None:
            errors["owner"] = f"no user {owner!r}"
        else:
            fields["owner_id"] = found.id
    department = form_value(data, "department")
    if department:
        found_department = uow.departments.find(department)
        if found_department is None:
            errors["department"] = f"no department {department!r}"
        else:
            fields["department_id"] = found_department.id
    custom = {name: form_value(data, f"custom.{name}") for name in uow.custom_fields.definitions()
              if form_value(data, f"custom.{name}")}
    if custom:
        fields["custom"] = custom
    if not fields["code"]:
        fields.pop("code")
    return fields, errors


def _form_page(request: Request, uow: Any, *, customer: Any, form: dict[str, Any], errors: dict[str, str],
               status: int = 200) -> Response[str]:
    locale = request_locale(request)
    return page(request, uow, "core/web/customers/form.html", status=status, customer=customer, form=form, errors=errors,
                kinds=KINDS, genders=GENDERS, custom_fields=uow.custom_fields.definitions(),
                options={kind: choice_options(uow, locale, kind) for kind in ("level", "status", "stage")},
                departments=sorted(uow.departments.all().values(), key=lambda d: d.name),
                users=[u for u in uow.users.list()])


def _form_of(uow: Any, customer: Any) -> dict[str, Any]:
    view = customer_view(uow, customer)
    form = {name: view.get(name) or "" for name in (*TEXT_FIELDS, "kind", "gender", "level", "status", "stage")}
    form["birthday"] = customer.birthday.isoformat() if customer.birthday and can_see_contact_details(uow) else ""
    form["phones"] = "\n".join(view["phones"]) if can_see_contact_details(uow) else ""
    form["emails"] = "\n".join(view["emails"]) if can_see_contact_details(uow) else ""
    form["tags"] = ", ".join(customer.tags)
    form["owner"] = view.get("owner") or ""
    form["department"] = view.get("department") or ""
    form["do_not_contact"] = customer.do_not_contact
    form.update({f"custom.{name}": value for name, value in customer.custom.items()})
    return form


@get("/customers/new", name="customer_new")
def customer_new(request: Request) -> Response[str]:
    with web_uow(request) as uow:
        uow.require("customers.edit")
        department = uow.departments.find(uow.actor.department_id) if uow.actor.department_id else None
        form = {"kind": "person", "owner": uow.actor.username, "department": department.name if department else ""}
        return _form_page(request, uow, customer=None, form=form, errors={})


@post("/customers/new")
def customer_create(request: Request, data: Form) -> Response[str]:
    _ = translator(request)
    with web_uow(request, data) as uow:
        uow.require("customers.edit")
        fields, errors = _form_fields(uow, data)
        created = None
        if not errors:
            created, errors = attempt(uow, uow.customers.create, **fields)
        if errors:
            return _form_page(request, uow, customer=None, form=dict(data), errors=errors, status=422)
    return redirect(request, f"/customers/{created.id}", _("Customer %(name)s created.", name=created.name))


@get("/customers/{customer_id:int}/edit", name="customer_edit")
def customer_edit(request: Request, customer_id: FromPath[int]) -> Response[str]:
    with web_uow(request) as uow:
        uow.require("customers.edit")
        customer = uow.customers.get(customer_id)
        return _form_page(request, uow, customer=customer, form=_form_of(uow, customer), errors={})


@post("/customers/{customer_id:int}/edit")
def customer_update(request: Request, customer_id: FromPath[int], data: Form) -> Response[str]:
    _ = translator(request)
    with web_uow(request, data) as uow:
        uow.require("customers.edit")
        customer = uow.customers.get(customer_id)
        fields, errors = _form_fields(uow, data)
        if not can_see_contact_details(uow):
            # masked on the form: what the user could not see stays as it is
            for name in CONTACT_DETAIL_FIELDS:
                fields.pop(name, None)
        if "code" not in fields:
            fields["code"] = customer.code
        if not errors:
            _updated, errors = attempt(uow, uow.customers.update, customer_id, **fields)
        if errors:
            return _form_page(request, uow, customer=customer, form=dict(data), errors=errors, status=422)
    return redirect(request, f"/customers/{customer_id}", _("Changes saved."))


@post("/customers/{customer_id:int}/activities")
def activity_log(request: Request, customer_id: FromPath[int], data: Form) -> Response[str]:
    """Log a call, visit, note, task… on the customer's timeline."""
    _ = translator(request)
    with web_uow(request, data) as uow:
        uow.require("customers.edit")
        fields = {name: form_value(data, name) or None
                  for name in ("subject", "body", "occurred_at", "due_at", "amount")}
        fields = {name: value for name, value in fields.items() if value is not None}
        kind = form_value(data, "type")
        if not kind:
            errors = {"type": _("choose the kind of activity")}
        else:
            _logged, errors = attempt(uow, uow.activities.log, customer_id, kind, **fields)
        if errors:
            return _customer_page(request, uow, customer_id, activity_form=dict(data), activity_errors=errors)
    return redirect(request, f"/customers/{customer_id}#timeline", _("Activity logged."))


HANDLERS: list[Any] = [customer_list, customer_detail, customer_new, customer_create, customer_edit, customer_update,
                       activity_log]

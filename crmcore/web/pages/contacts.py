"""Adding and changing a customer's contacts (联系人) and key persons
(关键人物: their role in the buying decision and our relationship with them),
through the same service as ``crm contact add`` and the API."""

from __future__ import annotations

import re
from typing import Any

from litestar import Request, Response
from litestar.params import FromPath

from crmcore.domain.customers import CONTACT_DETAIL_FIELDS, DECISION_ROLES, RELATIONSHIPS
from crmcore.presenting import can_see_contact_details, contact_view
from crmcore.web.i18n import lazy
from crmcore.web.routes import Form, get, post
from crmcore.web.site import attempt, form_value, page, redirect, translator, web_uow

TEXT_FIELDS = ("name", "title", "birthday", "decision_role", "notes")
SPLIT = re.compile(r"[\n,，;；、]+")
#: Labels of the domain's codes, in the domain's order (a new code shows as itself until labelled here).
DECISION_ROLE_LABELS = {"decision_maker": lazy("Decision maker"), "user": lazy("User"), "influencer": lazy("Influencer"),
                        "buyer": lazy("Buyer"), "gatekeeper": lazy("Gatekeeper")}
RELATIONSHIP_LABELS = {"positive": lazy("Positive"), "neutral": lazy("Neutral"), "negative": lazy("Negative"),
                       "none": lazy("No relationship yet")}


def _labelled(_: Any, codes: tuple[str, ...], labels: dict[str, str]) -> list[tuple[str, str]]:
    return [(code, _(labels[code]) if code in labels else code) for code in codes]


def _fields(uow: Any, data: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """The service's fields from the form, and a problem the service would
    not name by the form's field (an unknown staff member)."""
    fields: dict[str, Any] = {name: form_value(data, name) or None for name in TEXT_FIELDS}
    fields["name"] = form_value(data, "name")
    fields["relationship"] = form_value(data, "relationship") or "none"
    fields["phones"] = [p.strip() for p in SPLIT.split(form_value(data, "phones")) if p.strip()]
    fields["emails"] = [e.strip() for e in SPLIT.split(form_value(data, "emails")) if e.strip()]
    fields["staff_id"], errors = None, {}
    staff = form_value(data, "staff")
    if staff:
        found = uow.users.find(staff)
        if found is None:
            errors["staff"] = f"no user {staff!r}"
        else:
            fields["staff_id"] = found.id
    return fields, errors


def _form_page(request: Request, uow: Any, customer: Any, contact: Any, form: dict[str, Any], errors: dict[str, str],
               status: int = 200) -> Response[str]:
    _ = translator(request)
    return page(request, uow, "core/web/contacts/form.html", status=status, customer=customer, contact=contact, form=form,
                errors=errors, users=uow.users.list(),
                decision_roles=_labelled(_, DECISION_ROLES, DECISION_ROLE_LABELS),
                relationships=_labelled(_, RELATIONSHIPS, RELATIONSHIP_LABELS))


def _contact_of(uow: Any, customer_id: int, contact_id: int) -> Any:
    """The contact, only through its own customer's URL (scope is checked
    by the service: a customer out of scope is not found)."""
    from crmcore.errors import NotFound

    contact = uow.contacts.get(contact_id)
    if contact.customer_id != customer_id:
        raise NotFound(f"contact {contact_id} not found")
    return contact


@get("/customers/{customer_id:int}/contacts/new", name="contact_new")
def contact_new(request: Request, customer_id: FromPath[int]) -> Response[str]:
    with web_uow(request) as uow:
        uow.require("customers.edit")
        customer = uow.customers.get(customer_id)
        return _form_page(request, uow, customer, None, {"relationship": "none"}, {})


@post("/customers/{customer_id:int}/contacts/new")
def contact_create(request: Request, customer_id: FromPath[int], data: Form) -> Response[str]:
    _ = translator(request)
    with web_uow(request, data) as uow:
        uow.require("customers.edit")
        customer = uow.customers.get(customer_id)
        fields, errors = _fields(uow, data)
        added = None
        if not errors:
            added, errors = attempt(uow, uow.contacts.add, customer_id, **fields)
        if errors:
            return _form_page(request, uow, customer, None, dict(data), errors, status=422)
    return redirect(request, f"/customers/{customer_id}#contacts", _("Contact %(name)s added.", name=added.name))


@get("/customers/{customer_id:int}/contacts/{contact_id:int}/edit", name="contact_edit")
def contact_edit(request: Request, customer_id: FromPath[int], contact_id: FromPath[int]) -> Response[str]:
    with web_uow(request) as uow:
        uow.require("customers.edit")
        customer = uow.customers.get(customer_id)
        contact = _contact_of(uow, customer_id, contact_id)
        view = contact_view(uow, contact)
        shown = can_see_contact_details(uow)
        form = {name: view.get(name) or "" for name in (*TEXT_FIELDS, "relationship")}
        form["birthday"] = contact.birthday.isoformat() if contact.birthday and shown else ""
        form["phones"] = "\n".join(contact.phones) if shown else ""
        form["emails"] = "\n".join(contact.emails) if shown else ""
        form["staff"] = view.get("staff") or ""
        return _form_page(request, uow, customer, contact, form, {})


@post("/customers/{customer_id:int}/contacts/{contact_id:int}/edit")
def contact_update(request: Request, customer_id: FromPath[int], contact_id: FromPath[int], data: Form) -> Response[str]:
    _ = translator(request)
    with web_uow(request, data) as uow:
        uow.require("customers.edit")
        customer = uow.customers.get(customer_id)
        contact = _contact_of(uow, customer_id, contact_id)
        fields, errors = _fields(uow, data)
        if not can_see_contact_details(uow):
            # masked on the form: what the user could not see stays as it is
            for name in CONTACT_DETAIL_FIELDS:
                fields.pop(name, None)
        if not errors:
            _updated, errors = attempt(uow, uow.contacts.update, contact_id, **fields)
        if errors:
            return _form_page(request, uow, customer, contact, dict(data), errors, status=422)
    return redirect(request, f"/customers/{customer_id}#contacts", _("Changes saved."))


HANDLERS: list[Any] = [contact_new, contact_create, contact_edit, contact_update]

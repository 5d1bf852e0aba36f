"""Duplicates review (客户资料的归并): the candidate pairs with the reason,
two records side by side, and merging one into the other — the same service
calls as ``crm customer duplicates`` and ``crm customer merge``."""

from __future__ import annotations

import re
from typing import Any, Callable

from litestar import Request, Response
from litestar.params import FromPath

from crmcore.errors import ValidationError
from crmcore.phones import mask_phone
from crmcore.presenting import can_see_contact_details, customer_view, mask_email
from crmcore.web.pages.labels import choice_labels
from crmcore.web.routes import Form, get, post
from crmcore.web.site import attempt, form_value, page, redirect, request_locale, translator, web_uow

#: The service's reasons ("same phone 138…") in the reader's language; the
#: value is masked like every phone and e-mail the user may not see.
REASONS = (
    (re.compile(r"^same phone (?P<value>.+)$"), "phone"),
    (re.compile(r"^same email (?P<value>.+)$"), "email"),
    (re.compile(r"^same name ignoring legal suffixes \((?P<value>.*)\)$"), "organisation"),
    (re.compile(r"^same name and city or birthday \((?P<value>.*)\)$"), "person"),
)
#: Rows of the side-by-side view: (view key, label); values come from customer_view, masked as usual.
COMPARED = ("code", "kind", "phones", "emails", "gender", "birthday", "province", "city", "address", "industry",
            "position", "level", "status", "stage", "owner", "department", "source", "tags", "created_at")


def reason_text(_: Callable[..., str], reason: str, unmasked: bool) -> str:
    for pattern, kind in REASONS:
        found = pattern.match(reason)
        if found is None:
            continue
        value = found["value"]
        if kind == "phone":
            return _("Same phone %(value)s", value=value if unmasked else mask_phone(value))
        if kind == "email":
            return _("Same e-mail %(value)s", value=value if unmasked else mask_email(value))
        if kind == "organisation":
            return _("Same name, ignoring legal suffixes (%(value)s)", value=value)
        return _("Same name and the same city or birthday (%(value)s)", value=value)
    return reason


@get("/duplicates", name="duplicates")
def duplicate_list(request: Request) -> Response[str]:
    from crmcore.services.duplicates import find_duplicates

    _ = translator(request)
    with web_uow(request) as uow:
        uow.require("customers.merge")
        unmasked = can_see_contact_details(uow)
        pairs = [{**pair, "reasons": [reason_text(_, r, unmasked) for r in pair["reasons"]]}
                 for pair in find_duplicates(uow)]
        return page(request, uow, "core/web/duplicates/list.html", pairs=pairs)


def _compared(request: Request, uow: Any, keep_id: int, other_id: int, errors: dict[str, str] | None = None,
              status: int = 200) -> Response[str]:
    if keep_id == other_id:
        raise ValidationError.field("other", "cannot merge a customer into itself")
    keep, other = uow.customers.get(keep_id), uow.customers.get(other_id)
    label = choice_labels(uow, request_locale(request))
    views = []
    for customer in (keep, other):
        view = customer_view(uow, customer)
        for kind in ("level", "status", "stage"):
            view[kind] = label(kind, view[kind])
        view["contact_count"] = len(uow.contacts.list(customer.id))
        view["activity_count"] = len(uow.activities.list(customer.id, limit=1000))
        views.append(view)
    return page(request, uow, "core/web/duplicates/compare.html", keep=keep, other=other, views=views, compared=COMPARED,
                errors=errors or {}, status=status)


@get("/duplicates/{keep_id:int}/{other_id:int}", name="duplicate_pair")
def duplicate_pair(request: Request, keep_id: FromPath[int], other_id: FromPath[int]) -> Response[str]:
    with web_uow(request) as uow:
        uow.require("customers.merge")
        return _compared(request, uow, keep_id, other_id)


@post("/duplicates/merge")
def duplicate_merge(request: Request, data: Form) -> Response[str]:
    """Merge OTHER into KEEP: OTHER's contacts, activities and every plugin's
    records move to KEEP, and OTHER is cancelled, pointing to KEEP."""
    _ = translator(request)
    with web_uow(request, data) as uow:
        uow.require("customers.merge")
        try:
            keep_id, other_id = int(form_value(data, "keep")), int(form_value(data, "other"))
        except ValueError:
            raise ValidationError.field("keep", "choose the two customers to merge") from None
        other_name = uow.customers.get(other_id).name
        kept, errors = attempt(uow, uow.customers.merge, keep_id, other_id)
        if errors:
            return _compared(request, uow, keep_id, other_id, errors, status=422)
    return redirect(request, f"/customers/{kept.id}",
                    _("%(other)s was merged into %(keep)s.", other=other_name, keep=kept.name))


HANDLERS: list[Any] = [duplicate_list, duplicate_pair, duplicate_merge]

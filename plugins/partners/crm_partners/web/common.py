"""What every partners page shares: the service with the API's permission
checks, labels of the plugin's codes in the reader's language, finding a
customer from what a user typed, and forms that report a service's
Conflict next to the fields instead of on an error page."""

from __future__ import annotations

import re
from datetime import date
from typing import TYPE_CHECKING, Any, Callable

from crmcore import web
from crmcore.web.i18n import lazy

if TYPE_CHECKING:
    from crmcore import UnitOfWork

#: Lifecycle statuses of a partner (English message ids; the service's own
#: labels are Chinese only).
PARTNER_STATUS = {"recruiting": lazy("Recruiting"), "onboarding": lazy("Onboarding"), "active": lazy("Active"),
                  "under_review": lazy("Under review"), "terminated": lazy("Terminated")}
REGISTRATION_STATUS = {"pending": lazy("Pending approval"), "approved": lazy("Approved"), "rejected": lazy("Rejected"),
                       "won": lazy("Won"), "lost": lazy("Lost"), "expired": lazy("Expired"), "reversed": lazy("Reversed")}
ASSIGNMENT_STATUS = {"offered": lazy("Offered"), "accepted": lazy("Accepted"), "declined": lazy("Declined"),
                     "expired": lazy("Expired"), "withdrawn": lazy("Withdrawn")}
AGREEMENT_STATE = {"active": lazy("In force"), "scheduled": lazy("Scheduled"), "expired": lazy("Ended"),
                   "terminated": lazy("Terminated")}
CONFLICT_KIND = {"registration": lazy("Registered by another partner"), "direct_sales": lazy("Worked by direct sales")}
SUGGESTION = {"upgrade": lazy("Upgrade"), "downgrade": lazy("Downgrade"), "keep": lazy("Keep the grade"),
              "set": lazy("Set a grade"), "review": lazy("Review")}
#: Badge colour per status: good news green, bad news red, the rest grey.
TONE = {"approved": "ok", "won": "ok", "accepted": "ok", "active": "ok", "pending": "warn", "rejected": "warn",
        "lost": "warn", "expired": "warn", "reversed": "warn", "declined": "warn", "terminated": "warn",
        "under_review": "warn", "offered": ""}
HASH_ID = re.compile(r"#\s*(\d+)")


def service(uow: "UnitOfWork", permission: str | None = "partners.view") -> Any:
    """The partners service, after the permission the API's endpoint
    requires (mutations leave it to the service, as the API does)."""
    if permission:
        uow.require(permission)
    return uow.service("partners")


def labels(uow: "UnitOfWork", locale: str) -> dict[str, Any]:
    """Template helpers naming the plugin's codes in the reader's language."""
    types = {row["code"]: row["label"] for row in uow.service("partners").types()}
    chinese = locale.startswith("zh")

    def type_label(code: str | None) -> str:
        if not code:
            return ""
        return types.get(code, code) if chinese else code.replace("_", " ")

    return {"type_label": type_label, "as_date": as_date, "partner_status": PARTNER_STATUS, "registration_status": REGISTRATION_STATUS,
            "assignment_status": ASSIGNMENT_STATUS, "agreement_state": AGREEMENT_STATE, "conflict_kind": CONFLICT_KIND,
            "suggestion": SUGGESTION, "tone": TONE}


def render(request: Any, uow: "UnitOfWork", template: str, *, status: int = 200, **context: Any) -> Any:
    """``web.page`` with the plugin's labels in the context."""
    return web.page(request, uow, f"partners/web/{template}", status=status,
                    **{**labels(uow, web.request_locale(request)), **context})


def find_customer(uow: "UnitOfWork", text: str, field: str, _: Callable[..., str]) -> tuple[int | None, dict[str, str]]:
    """A customer from what the user typed: ``#12``, ``12``, a code, a name,
    pinyin or a phone; one match only (else the field says which)."""
    text = (text or "").strip()
    if not text:
        return None, {field: _("Required.")}
    wanted = HASH_ID.search(text)
    if wanted or text.isdigit():
        found = uow.customers.find(int(wanted[1] if wanted else text))
        if found is not None:
            return found.id, {}
        if wanted:
            return None, {field: _("No customer %(text)s.", text=text)}
    matches = uow.customers.search(text, limit=6)
    exact = [c for c in matches if c.name == text or c.code == text]
    if len(exact) == 1 or len(matches) == 1:
        return (exact or matches)[0].id, {}
    if not matches:
        return None, {field: _("No customer %(text)s.", text=text)}
    names = "、".join(f"{c.name} (#{c.id})" for c in matches[:5])
    return None, {field: _("Several customers match: %(names)s. Type one of them with its #number.", names=names)}


def parse_date(text: str, field: str, errors: dict[str, str], _: Callable[..., str]) -> date | None:
    """A date input's value (``2026-06-30``); a problem goes into ``errors``."""
    text = (text or "").strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text.replace("/", "-"))
    except ValueError:
        errors[field] = _("Not a date (use 2026-06-30).")
        return None


def as_date(value: Any) -> date | None:
    """A date kept in JSON (a registration's conflicts) back as a date, for ``|date``."""
    if isinstance(value, str):
        try:
            return date.fromisoformat(value[:10])
        except ValueError:
            return None
    return value


def customer_label(uow: "UnitOfWork", customer_id: int | None) -> str:
    """How a customer is written back into a customer field: ``name (#id)``."""
    found = uow.customers.find(customer_id) if customer_id else None
    return f"{found.name} (#{found.id})" if found else ""


def current_period(uow: "UnitOfWork") -> str:
    from crm_partners.domain import Period

    return Period.quarter_of(uow.service("partners").today()).name

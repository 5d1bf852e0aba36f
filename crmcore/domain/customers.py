"""Customers (persons and organisations) and their contacts."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import attrs
from attrs import define, field

from crmcore.clock import parse_date
from crmcore.domain.builder import CheckedBuilder
from crmcore.domain.fields import (
    boolean,
    email_list,
    one_of,
    optional_text,
    phone_list,
    required_text,
    text_list,
)

KINDS = ("person", "organization")
GENDERS = ("male", "female")
DECISION_ROLES = ("decision_maker", "user", "influencer", "buyer", "gatekeeper")
RELATIONSHIPS = ("positive", "neutral", "negative", "none")

#: Fields a caller may set on a customer; the rest the core manages.
CUSTOMER_EDITABLE = (
    "name", "kind", "code", "phones", "emails", "address", "region", "province",
    "city", "industry", "position", "birthday", "gender", "source", "level",
    "status", "stage", "tags", "owner_id", "department_id", "custom",
    "do_not_contact", "notes",
)
#: Fields holding personal contact details, masked without
#: ``customers.view_contact_details``.
CONTACT_DETAIL_FIELDS = ("phones", "emails", "birthday")


def _birthday(value: Any) -> date | None:
    return parse_date(value, field="birthday")


def _custom(value: Any) -> dict[str, Any]:
    return dict(value or {})


@define(slots=False, kw_only=True, eq=True)
class Customer:
    """A person or an organisation the company does business with (客户档案)."""

    name: str = field(default="", converter=optional_text, validator=required_text("name"))
    kind: str = field(default="person", validator=one_of("kind", KINDS))
    id: int | None = None
    code: str | None = field(default=None, converter=optional_text)
    phones: list[str] = field(factory=list, converter=phone_list("phones"))
    emails: list[str] = field(factory=list, converter=email_list("emails"))
    address: str | None = field(default=None, converter=optional_text)
    region: str | None = field(default=None, converter=optional_text)
    province: str | None = field(default=None, converter=optional_text)
    city: str | None = field(default=None, converter=optional_text)
    industry: str | None = field(default=None, converter=optional_text)
    position: str | None = field(default=None, converter=optional_text)
    birthday: date | None = field(default=None, converter=_birthday)
    gender: str | None = field(default=None, converter=optional_text, validator=one_of("gender", GENDERS, optional=True))
    source: str | None = field(default=None, converter=optional_text)
    level: str = "normal"
    status: str = "potential"
    stage: str = "exploration"
    tags: list[str] = field(factory=list, converter=text_list)
    owner_id: int | None = None
    department_id: int | None = None
    custom: dict[str, Any] = field(factory=dict, converter=_custom)
    do_not_contact: bool = field(default=False, converter=boolean)
    notes: str | None = field(default=None, converter=optional_text)
    active: bool = True
    cancelled_at: datetime | None = None
    merged_into_id: int | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None

    def evolve(self, **changes: Any) -> "Customer":
        return attrs.evolve(self, **changes)


@define(slots=False, kw_only=True, eq=True)
class Contact:
    """A person at a customer (联系人), or a key person in a B2B sale (关键人物)."""

    name: str = field(default="", converter=optional_text, validator=required_text("name"))
    customer_id: int | None = None
    id: int | None = None
    title: str | None = field(default=None, converter=optional_text)
    phones: list[str] = field(factory=list, converter=phone_list("phones"))
    emails: list[str] = field(factory=list, converter=email_list("emails"))
    birthday: date | None = field(default=None, converter=_birthday)
    decision_role: str | None = field(default=None, converter=optional_text, validator=one_of("decision_role", DECISION_ROLES, optional=True))
    relationship: str = field(default="none", validator=one_of("relationship", RELATIONSHIPS))
    staff_id: int | None = None
    notes: str | None = field(default=None, converter=optional_text)
    active: bool = True
    created_at: datetime | None = None

    def evolve(self, **changes: Any) -> "Contact":
        return attrs.evolve(self, **changes)


#: ``Customer(**fields)`` for bulk paths; same rules, same errors (see CheckedBuilder).
build_customer = CheckedBuilder(Customer)

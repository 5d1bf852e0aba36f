"""Request and response bodies of the core's resources. Responses are the
CLI's ``--json`` views (``crmcore.presenting``), masked the same way."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

import msgspec
from msgspec import UNSET, Meta, Struct, UnsetType

from crmcore.storage.rows import jsonable

Text = Annotated[str, Meta(max_length=300)]
Name = Annotated[str, Meta(min_length=1, max_length=200)]
Short = Annotated[str, Meta(max_length=60)]
Notes = Annotated[str, Meta(max_length=20000)]
Phone = Annotated[str, Meta(min_length=1, max_length=40)]
Email = Annotated[str, Meta(min_length=3, max_length=200)]
Tag = Annotated[str, Meta(min_length=1, max_length=60)]
DbId = Annotated[int, Meta(ge=1, le=2**31 - 1)]
CustomValue = str | int | float | bool | None
Kind = Literal["person", "organization"]
Gender = Literal["male", "female"]


def view(value: Any, model: type) -> Any:
    """A presenting view (a dict) as ``model``."""
    return msgspec.convert(jsonable(value), model, strict=False)


# -- customers ---------------------------------------------------------------------------


class Customer(Struct):
    """A customer as the caller may see it: phones, e-mails and birthday are
    masked (``138****8000``, ``z***@example.com``, ``****``) without
    ``customers.view_contact_details``, exactly as on the CLI."""

    id: int
    code: str | None
    kind: str
    name: str
    phones: list[str]
    emails: list[str]
    address: str | None
    region: str | None
    province: str | None
    city: str | None
    industry: str | None
    position: str | None
    birthday: str | None
    gender: str | None
    source: str | None
    level: str
    status: str
    stage: str
    tags: list[str]
    owner_id: int | None
    owner: str | None
    department_id: int | None
    department: str | None
    custom: dict[str, Any]
    do_not_contact: bool
    notes: str | None
    active: bool
    cancelled_at: datetime | None
    merged_into_id: int | None
    created_at: datetime
    updated_at: datetime


class CustomerPage(Struct):
    items: list[Customer]
    next_cursor: str | None = None


class CustomerCreate(Struct, forbid_unknown_fields=True):
    name: Name
    kind: Kind = "person"
    code: Annotated[str, Meta(max_length=40)] | None = None
    phones: list[Phone] = []
    emails: list[Email] = []
    address: Text | None = None
    region: Short | None = None
    province: Short | None = None
    city: Short | None = None
    industry: Short | None = None
    position: Short | None = None
    birthday: date | None = None
    gender: Gender | None = None
    source: Short | None = None
    level: Annotated[str, Meta(max_length=40)] | None = None
    status: Annotated[str, Meta(max_length=40)] | None = None
    stage: Annotated[str, Meta(max_length=40)] | None = None
    tags: list[Tag] = []
    owner_id: DbId | None = None
    department_id: DbId | None = None
    custom: dict[Annotated[str, Meta(max_length=60)], CustomValue] = {}
    do_not_contact: bool = False
    notes: Notes | None = None


class CustomerPatch(Struct, forbid_unknown_fields=True):
    """Only the fields sent change; lists replace the stored list."""

    name: Name | UnsetType = UNSET
    kind: Kind | UnsetType = UNSET
    code: Annotated[str, Meta(min_length=1, max_length=40)] | UnsetType = UNSET
    phones: list[Phone] | UnsetType = UNSET
    emails: list[Email] | UnsetType = UNSET
    address: Text | None | UnsetType = UNSET
    region: Short | None | UnsetType = UNSET
    province: Short | None | UnsetType = UNSET
    city: Short | None | UnsetType = UNSET
    industry: Short | None | UnsetType = UNSET
    position: Short | None | UnsetType = UNSET
    birthday: date | None | UnsetType = UNSET
    gender: Gender | None | UnsetType = UNSET
    source: Short | None | UnsetType = UNSET
    level: Annotated[str, Meta(min_length=1, max_length=40)] | UnsetType = UNSET
    status: Annotated[str, Meta(min_length=1, max_length=40)] | UnsetType = UNSET
    stage: Annotated[str, Meta(min_length=1, max_length=40)] | UnsetType = UNSET
    tags: list[Tag] | UnsetType = UNSET
    owner_id: DbId | None | UnsetType = UNSET
    department_id: DbId | None | UnsetType = UNSET
    custom: dict[Annotated[str, Meta(max_length=60)], CustomValue] | UnsetType = UNSET
    do_not_contact: bool | UnsetType = UNSET
    notes: Notes | None | UnsetType = UNSET


class CancelRequest(Struct, forbid_unknown_fields=True):
    reason: Text | None = None


class MergeRequest(Struct, forbid_unknown_fields=True):
    """Merge customer ``other_id`` into the customer of the path."""

    other_id: DbId


class MergeResult(Struct):
    kept: Customer
    merged: int


class StateChange(Struct):
    id: int
    active: bool


class HistoryEntry(Struct):
    id: int
    time: datetime
    actor: str
    action: str
    changes: dict[str, Any]


class Duplicate(Struct):
    keep: int
    other: int
    reasons: list[str]
    keep_name: str | None = None
    other_name: str | None = None


# -- contacts and activities -----------------------------------------------------------------


class Contact(Struct):
    id: int
    customer_id: int
    name: str
    title: str | None
    phones: list[str]
    emails: list[str]
    birthday: str | None
    decision_role: str | None
    relationship: str
    staff_id: int | None
    staff: str | None
    notes: str | None
    active: bool
    created_at: datetime


class ContactCreate(Struct, forbid_unknown_fields=True):
    name: Name
    title: Annotated[str, Meta(max_length=100)] | None = None
    phones: list[Phone] = []
    emails: list[Email] = []
    birthday: date | None = None
    decision_role: Literal["decision_maker", "user", "influencer", "buyer", "gatekeeper"] | None = None
    relationship: Literal["positive", "neutral", "negative", "none"] = "none"
    staff_id: DbId | None = None
    notes: Notes | None = None


class ContactPatch(Struct, forbid_unknown_fields=True):
    name: Name | UnsetType = UNSET
    title: Annotated[str, Meta(max_length=100)] | None | UnsetType = UNSET
    phones: list[Phone] | UnsetType = UNSET
    emails: list[Email] | UnsetType = UNSET
    birthday: date | None | UnsetType = UNSET
    decision_role: Literal["decision_maker", "user", "influencer", "buyer", "gatekeeper"] | None | UnsetType = UNSET
    relationship: Literal["positive", "neutral", "negative", "none"] | UnsetType = UNSET
    staff_id: DbId | None | UnsetType = UNSET
    notes: Notes | None | UnsetType = UNSET


Amount = Annotated[str, Meta(pattern=r"^-?\d{1,13}(\.\d{1,2})?$", description="Decimal CNY amount, e.g. \"199.00\"")]


class Activity(Struct):
    id: int
    customer_id: int
    contact_id: int | None
    type: str
    type_label: str
    subject: str | None
    body: str | None
    occurred_at: datetime
    due_at: datetime | None
    done: bool
    amount: str | None
    owner_id: int | None
    source_plugin: str
    payload: dict[str, Any]
    cancelled: bool
    created_at: datetime


class ActivityCreate(Struct, forbid_unknown_fields=True):
    type: Annotated[str, Meta(min_length=1, max_length=40)]
    subject: Text | None = None
    body: Notes | None = None
    occurred_at: datetime | None = None
    due_at: datetime | None = None
    amount: Amount | None = None
    contact_id: DbId | None = None
    payload: dict[str, Any] = {}


class ActivityCancel(Struct, forbid_unknown_fields=True):
    reason: Text | None = None


# -- organisation, plugins, auth ----------------------------------------------------------------


class Department(Struct):
    id: int
    name: str
    parent_id: int | None
    path: str | None


class DepartmentCreate(Struct, forbid_unknown_fields=True):
    name: Annotated[str, Meta(min_length=1, max_length=100)]
    parent_id: DbId | None = None


class User(Struct):
    id: int
    username: str
    display_name: str | None
    department_id: int | None
    department: str | None
    roles: list[str]
    active: bool


class UserCreate(Struct, forbid_unknown_fields=True):
    username: Annotated[str, Meta(min_length=1, max_length=60, pattern=r"^[^\s]+$")]
    display_name: Annotated[str, Meta(max_length=100)] | None = None
    department_id: DbId | None = None
    roles: list[Annotated[str, Meta(min_length=1, max_length=60)]] = []


class Role(Struct):
    id: int
    name: str
    permissions: list[str]


class Plugin(Struct):
    name: str
    version: str
    description: str
    requires: list[str]
    enabled: bool
    error: str | None
    hooks: list[str]
    api_prefix: str | None


class LoginRequest(Struct, forbid_unknown_fields=True):
    username: Annotated[str, Meta(min_length=1, max_length=60)]
    password: Annotated[str, Meta(min_length=1, max_length=1000)]
    scopes: list[Annotated[str, Meta(min_length=1, max_length=100)]] = msgspec.field(default_factory=lambda: ["*"])


class TokenCreate(Struct, forbid_unknown_fields=True):
    scopes: Annotated[list[Annotated[str, Meta(min_length=1, max_length=100)]], Meta(min_length=1)]
    expires: Annotated[str, Meta(max_length=10, description="90d, 12h, 30m, 2w or never")] | None = None
    name: Annotated[str, Meta(max_length=100)] | None = None


class Token(Struct):
    id: int
    user: str | None
    name: str | None
    kind: str
    prefix: str
    scopes: list[str]
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked: bool


class NewToken(Struct):
    """The token itself is shown only here, once."""

    token: str
    id: int
    user: str | None
    scopes: list[str]
    expires_at: datetime | None


# -- imports and webhooks --------------------------------------------------------------------------


class ImportJob(Struct):
    """An import. One run through the API runs within the upload request, so
    it is ``done`` when the upload answers; poll it later by id. One started
    in the web interface is ``running`` (``rows`` in the file, ``done`` read so
    far; ``stalled`` when its server process stopped and nothing of it will be
    imported) until it is ``done``, or ``failed`` with ``error`` and nothing
    of it kept."""

    id: int
    kind: str
    file_name: str
    status: str
    summary: dict[str, Any]
    created_at: datetime
    finished_at: datetime | None
    rejects_url: str | None
    rows: int | None = None
    done: int = 0
    error: str | None = None
    stalled: bool = False


class Webhook(Struct):
    id: int
    url: str
    events: list[str]
    department_id: int | None
    description: str | None
    active: bool
    created_at: datetime


class NewWebhook(Struct):
    """The signing secret is shown only here, once."""

    id: int
    secret: str
    url: str
    events: list[str]
    department_id: int | None


class WebhookCreate(Struct, forbid_unknown_fields=True):
    url: Annotated[str, Meta(min_length=1, max_length=1000)]
    events: Annotated[list[Annotated[str, Meta(min_length=1, max_length=200)]], Meta(min_length=1)]
    department_id: DbId | None = None
    description: Text | None = None


class WebhookTest(Struct):
    webhook_id: int
    url: str
    ok: bool
    status_code: int | None
    error: str | None
    duration_ms: int


class Event(Struct):
    event: str
    plugin: str
    description: str

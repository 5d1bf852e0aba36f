"""The core's resources under ``/api/v1``: customers, contacts, activities,
duplicates, imports, departments, users, roles, plugins, tokens, webhooks.

Every handler opens the request's unit of work with :func:`request_uow` and
goes through the same services and presenting views as the CLI.
"""

from __future__ import annotations

import base64
import binascii
import json
import tempfile
from pathlib import Path
from typing import Annotated, Any, Literal

from dataclasses import dataclass

import litestar
from litestar import Request, Response, Router
from litestar.datastructures import UploadFile
from litestar.enums import RequestEncodingType
from litestar.exceptions import ValidationException
from litestar.params import Body, Parameter
from msgspec import UNSET, structs

from crmcore.api import schemas as s
from crmcore.api.auth import request_uow
from crmcore.errors import NotFound, ValidationError

def _sync(decorator: Any) -> Any:
    """The route decorators for plain functions: the services are
    synchronous, so handlers run in the thread pool."""
    return lambda *args, **kwargs: decorator(*args, sync_to_thread=True, **kwargs)


get, post, patch, delete = _sync(litestar.get), _sync(litestar.post), _sync(litestar.patch), _sync(litestar.delete)

IdParam = Annotated[int, Parameter(ge=1, le=2**31 - 1, description="Id")]
Limit = Annotated[int, Parameter(ge=1, le=200, description="Page size")]
Sort = Literal["id", "-id", "name", "-name", "created", "-created", "updated", "-updated"]


def _sent(data: Any) -> dict[str, Any]:
    return {name: value for name, value in structs.asdict(data).items() if value is not UNSET}


# -- customers ------------------------------------------------------------------------------------


def _customer(uow: Any, customer: Any) -> s.Customer:
    from crmcore.presenting import customer_view

    return s.view(customer_view(uow, customer), s.Customer)


def _cursor(offset: int, sort: str, query: str) -> str:
    raw = json.dumps({"o": offset, "s": sort, "q": query}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _offset(cursor: str | None, sort: str, query: str) -> int:
    if not cursor:
        return 0
    try:
        data = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        offset, cursor_sort, cursor_query = int(data["o"]), data["s"], data["q"]
    except (ValueError, KeyError, TypeError, binascii.Error, UnicodeDecodeError):
        raise ValidationException("cursor: not a cursor this API gave out", extra=[{"key": "cursor", "message": "invalid cursor"}]) from None
    if cursor_sort != sort or cursor_query != query or offset < 0:
        raise ValidationException("cursor: belongs to another query; send the same filters and sort with it",
                                  extra=[{"key": "cursor", "message": "belongs to another query"}])
    return offset


@get("/customers", summary="List and search customers", tags=["customers"])
def list_customers(
    request: Request,
    q: Annotated[str, Parameter(max_length=200, description="Phone in any spelling, e-mail, code, or name (Chinese, pinyin, initials)")] = "",
    level: Annotated[str | None, Parameter(max_length=40)] = None,
    status: Annotated[str | None, Parameter(max_length=40)] = None,
    stage: Annotated[str | None, Parameter(max_length=40)] = None,
    tag: Annotated[str | None, Parameter(max_length=60)] = None,
    owner_id: Annotated[int | None, Parameter(ge=1, le=2**31 - 1)] = None,
    department_id: Annotated[int | None, Parameter(ge=1, le=2**31 - 1, description="With the departments below it")] = None,
    field: Annotated[list[str] | None, Parameter(description="Custom field equals value: NAME=VALUE; repeat for several")] = None,
    include_cancelled: Annotated[bool, Parameter()] = False,
    sort: Annotated[Sort, Parameter(description="Prefix - for descending")] = "id",
    limit: Limit = 50,
    cursor: Annotated[str | None, Parameter(max_length=500, description="next_cursor of the previous page")] = None,
) -> s.CustomerPage:
    """The customers the caller may see, with the filters of `crm customer search`, newest pages by cursor."""
    custom = {}
    for pair in field or []:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            raise ValidationError.field("field", f"{pair!r} is not NAME=VALUE")
        custom[name.strip()] = value
    filters = {"level": level, "status": status, "stage": stage, "tag": tag, "owner_id": owner_id, "department_id": department_id}
    filters = {k: v for k, v in filters.items() if v is not None}
    if custom:
        filters["custom"] = custom
    fingerprint = json.dumps([q, filters, include_cancelled], sort_keys=True, ensure_ascii=False)
    query_key = __import__("hashlib").sha256(fingerprint.encode()).hexdigest()[:16]
    offset = _offset(cursor, sort, query_key)
    with request_uow(request, area="customers") as uow:
        found = uow.customers.search(q, include_cancelled=include_cancelled, sort=sort, limit=limit + 1, offset=offset, **filters)
        items = [_customer(uow, c) for c in found[:limit]]
    return s.CustomerPage(items=items, next_cursor=_cursor(offset + limit, sort, query_key) if len(found) > limit else None)


@post("/customers", summary="Create a customer", tags=["customers"])
def create_customer(request: Request, data: Annotated[s.CustomerCreate, Body()]) -> s.Customer:
    with request_uow(request, area="customers") as uow:
        return _customer(uow, uow.customers.create(**{k: v for k, v in structs.asdict(data).items() if v is not None}))


@get("/customers/{customer_id:int}", summary="Get a customer", tags=["customers"])
def get_customer(request: Request, customer_id: IdParam) -> s.Customer:
    with request_uow(request, area="customers") as uow:
        customer = uow.customers.get(customer_id)
        uow.audit.record("customer", customer_id, "view", {"via": "api"})
        return _customer(uow, customer)


@patch("/customers/{customer_id:int}", summary="Change a customer's fields", tags=["customers"])
def patch_customer(request: Request, customer_id: IdParam, data: Annotated[s.CustomerPatch, Body()]) -> s.Customer:
    with request_uow(request, area="customers") as uow:
        return _customer(uow, uow.customers.update(customer_id, **_sent(data)))


@post("/customers/{customer_id:int}/cancel", summary="Cancel (注销) a customer", tags=["customers"], status_code=200)
def cancel_customer(request: Request, customer_id: IdParam, data: Annotated[s.CancelRequest | None, Body()] = None) -> s.Customer:
    with request_uow(request, area="customers") as uow:
        return _customer(uow, uow.customers.cancel(customer_id, reason=data.reason if data else None))


@post("/customers/{customer_id:int}/restore", summary="Restore (恢复) a cancelled customer", tags=["customers"], status_code=200)
def restore_customer(request: Request, customer_id: IdParam) -> s.Customer:
    with request_uow(request, area="customers") as uow:
        return _customer(uow, uow.customers.restore(customer_id))


@post("/customers/{customer_id:int}/merge", summary="Merge another customer into this one", tags=["customers"], status_code=200)
def merge_customer(request: Request, customer_id: IdParam, data: Annotated[s.MergeRequest, Body()]) -> s.MergeResult:
    with request_uow(request, area="customers") as uow:
        kept = uow.customers.merge(customer_id, data.other_id)
        return s.MergeResult(kept=_customer(uow, kept), merged=data.other_id)


@get("/customers/{customer_id:int}/history", summary="A customer's change log", tags=["customers"])
def customer_history(request: Request, customer_id: IdParam) -> list[s.HistoryEntry]:
    from crmcore.clock import local

    with request_uow(request, area="customers") as uow:
        uow.customers.get(customer_id)
        zone = uow.crm.config.timezone
        return [s.view({"id": e.id, "time": local(e.at, zone), "actor": e.actor, "action": e.action,
                        "changes": e.changes if isinstance(e.changes, dict) else {"value": e.changes}}, s.HistoryEntry)
                for e in uow.audit.for_entity("customer", customer_id)]


@get("/duplicates", summary="Duplicate candidates with the reason", tags=["customers"])
def duplicates(request: Request, limit: Annotated[int, Parameter(ge=1, le=1000)] = 200) -> list[s.Duplicate]:
    from crmcore.services.duplicates import find_duplicates

    with request_uow(request, area="customers") as uow:
        return [s.view(pair, s.Duplicate) for pair in find_duplicates(uow, limit=limit)]


# -- contacts ---------------------------------------------------------------------------------------


def _contact(uow: Any, contact: Any) -> s.Contact:
    from crmcore.presenting import contact_view

    return s.view(contact_view(uow, contact), s.Contact)


@get("/customers/{customer_id:int}/contacts", summary="A customer's contacts", tags=["contacts"])
def list_contacts(request: Request, customer_id: IdParam) -> list[s.Contact]:
    with request_uow(request, area="customers") as uow:
        return [_contact(uow, c) for c in uow.contacts.list(customer_id)]


@post("/customers/{customer_id:int}/contacts", summary="Add a contact to a customer", tags=["contacts"])
def add_contact(request: Request, customer_id: IdParam, data: Annotated[s.ContactCreate, Body()]) -> s.Contact:
    with request_uow(request, area="customers") as uow:
        return _contact(uow, uow.contacts.add(customer_id, **{k: v for k, v in structs.asdict(data).items() if v is not None}))


@get("/contacts/{contact_id:int}", summary="Get a contact", tags=["contacts"])
def get_contact(request: Request, contact_id: IdParam) -> s.Contact:
    with request_uow(request, area="customers") as uow:
        return _contact(uow, uow.contacts.get(contact_id))


@patch("/contacts/{contact_id:int}", summary="Change a contact", tags=["contacts"])
def patch_contact(request: Request, contact_id: IdParam, data: Annotated[s.ContactPatch, Body()]) -> s.Contact:
    with request_uow(request, area="customers") as uow:
        return _contact(uow, uow.contacts.update(contact_id, **_sent(data)))


# -- activities -------------------------------------------------------------------------------------


def _activity(uow: Any, activity: Any) -> s.Activity:
    from crmcore.presenting import activity_view

    return s.view(activity_view(uow, activity), s.Activity)


@get("/activities", summary="Activities, newest first", tags=["activities"])
def list_activities(
    request: Request,
    customer_id: Annotated[int | None, Parameter(ge=1, le=2**31 - 1)] = None,
    type: Annotated[str | None, Parameter(max_length=40)] = None,
    open_tasks: Annotated[bool, Parameter(description="Only the caller's open tasks")] = False,
    include_cancelled: Annotated[bool, Parameter()] = False,
    limit: Limit = 50,
) -> list[s.Activity]:
    with request_uow(request, area="customers") as uow:
        found = uow.activities.list(customer_id, type=type, open_tasks_of=uow.actor.id if open_tasks else None,
                                    include_cancelled=include_cancelled, limit=limit)
        return [_activity(uow, a) for a in found]


@post("/customers/{customer_id:int}/activities", summary="Log an activity (a purchase, a visit …)", tags=["activities"])
def log_activity(request: Request, customer_id: IdParam, data: Annotated[s.ActivityCreate, Body()]) -> s.Activity:
    fields = {k: v for k, v in structs.asdict(data).items() if v is not None and k != "type"}
    if not fields.get("payload"):
        fields.pop("payload", None)
    with request_uow(request, area="customers") as uow:
        return _activity(uow, uow.activities.log(customer_id, type=data.type, **fields))


@get("/activities/{activity_id:int}", summary="Get an activity", tags=["activities"])
def get_activity(request: Request, activity_id: IdParam) -> s.Activity:
    with request_uow(request, area="customers") as uow:
        return _activity(uow, uow.activities.get(activity_id))


@post("/activities/{activity_id:int}/done", summary="Mark a task done", tags=["activities"], status_code=200)
def complete_activity(request: Request, activity_id: IdParam) -> s.Activity:
    with request_uow(request, area="customers") as uow:
        return _activity(uow, uow.activities.complete(activity_id))


@post("/activities/{activity_id:int}/cancel", summary="Cancel an activity (a refund …)", tags=["activities"], status_code=200)
def cancel_activity(request: Request, activity_id: IdParam, data: Annotated[s.ActivityCancel | None, Body()] = None) -> s.Activity:
    with request_uow(request, area="customers") as uow:
        return _activity(uow, uow.activities.cancel(activity_id, reason=data.reason if data else None))


# -- imports ------------------------------------------------------------------------------------------


@dataclass
class ImportForm:
    file: UploadFile
    on_duplicate: Literal["skip", "update", "merge"] = "skip"
    mapping: str | None = None
    encoding: str | None = None
    dry_run: bool = False


def _job(row: dict[str, Any]) -> s.ImportJob:
    from crmcore.api.app import API_PREFIX

    return s.view({**row, "rejects_url": f"{API_PREFIX}/imports/{row['id']}/rejects" if row.get("rejects") else None}, s.ImportJob)


@litestar.post("/imports/{kind:str}", summary="Upload a CSV or XLSX file and import it", tags=["imports"])
async def upload_import(
    request: Request,
    kind: Annotated[Literal["customers", "contacts", "activities"], Parameter(description="What the file holds")],
    data: Annotated[ImportForm, Body(media_type=RequestEncodingType.MULTI_PART)],
) -> s.ImportJob:
    """Runs within the request (files of up to tens of thousands of rows);
    good rows are imported, the others are in the reject file."""
    import anyio

    content = await data.file.read()
    name = Path(data.file.filename or "upload.csv").name[:300] or "upload.csv"
    return await anyio.to_thread.run_sync(lambda: _run_import(request, kind, name, content, data))


def _run_import(request: Request, kind: str, name: str, content: bytes, form: ImportForm) -> s.ImportJob:
    from crmcore.api.jobs import ImportJobs

    suffix = Path(name).suffix.lower()
    if suffix not in (".csv", ".txt", ".xlsx", ".xlsm"):
        raise ValidationError.field("file", f"{name!r}: send a .csv or .xlsx file")
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"upload{suffix}"
        path.write_bytes(content)
        with request_uow(request, area="imports") as uow:
            return _job(ImportJobs(uow).run(kind, path, name, on_duplicate=form.on_duplicate, mapping=form.mapping,
                                            encoding=form.encoding, dry_run=form.dry_run))


@get("/imports/{import_id:int}", summary="An import's status and summary", tags=["imports"])
def get_import(request: Request, import_id: IdParam) -> s.ImportJob:
    from crmcore.api.jobs import ImportJobs

    with request_uow(request, area="imports") as uow:
        return _job(ImportJobs(uow).get(import_id))


@get("/imports/{import_id:int}/rejects", summary="The rows not imported, with line, column and reason (CSV)",
     tags=["imports"], media_type="text/csv", response_description="UTF-8 CSV with BOM")
def get_import_rejects(request: Request, import_id: IdParam) -> Response[bytes]:
    from crmcore.api.jobs import ImportJobs

    with request_uow(request, area="imports") as uow:
        job = ImportJobs(uow).get(import_id)
    if not job.get("rejects"):
        raise NotFound(f"import {import_id} rejected no rows")
    return Response(job["rejects"].encode("utf-8-sig"), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="import-{import_id}-rejects.csv"'})


# -- organisation and plugins ------------------------------------------------------------------------


def _user(uow: Any, user: Any) -> s.User:
    department = uow.departments.find(user.department_id) if user.department_id else None
    return s.User(id=user.id, username=user.username, display_name=user.display_name, department_id=user.department_id,
                  department=department.name if department else None, roles=list(user.roles), active=user.active)


@get("/departments", summary="Departments", tags=["organisation"])
def list_departments(request: Request) -> list[s.Department]:
    with request_uow(request, area="organisation") as uow:
        return [s.Department(id=d.id, name=d.name, parent_id=d.parent_id, path=uow.departments.path(d.id))
                for d in uow.departments.all().values()]


@post("/departments", summary="Add a department", tags=["organisation"])
def add_department(request: Request, data: Annotated[s.DepartmentCreate, Body()]) -> s.Department:
    with request_uow(request, area="organisation") as uow:
        d = uow.departments.add(data.name, data.parent_id)
        return s.Department(id=d.id, name=d.name, parent_id=d.parent_id, path=uow.departments.path(d.id))


@get("/users", summary="Users", tags=["organisation"])
def list_users(request: Request, include_inactive: Annotated[bool, Parameter()] = False) -> list[s.User]:
    with request_uow(request, area="organisation") as uow:
        return [_user(uow, u) for u in uow.users.list(include_inactive=include_inactive)]


@get("/users/me", summary="The caller", tags=["organisation"])
def me(request: Request) -> s.User:
    with request_uow(request) as uow:
        return _user(uow, uow.actor)


@get("/users/{username:str}", summary="A user", tags=["organisation"])
def get_user(request: Request, username: Annotated[str, Parameter(max_length=60)]) -> s.User:
    with request_uow(request, area="organisation") as uow:
        return _user(uow, uow.users.get(username))


@post("/users", summary="Add a user", tags=["organisation"])
def add_user(request: Request, data: Annotated[s.UserCreate, Body()]) -> s.User:
    with request_uow(request, area="organisation") as uow:
        return _user(uow, uow.users.add(data.username, display_name=data.display_name, department=data.department_id,
                                        roles_=data.roles))


@get("/roles", summary="Roles and their permissions", tags=["organisation"])
def list_roles(request: Request) -> list[s.Role]:
    with request_uow(request, area="organisation") as uow:
        return [s.Role(id=r.id, name=r.name, permissions=sorted(r.permissions)) for r in uow.roles.list()]


@get("/plugins", summary="Installed plugins and whether they are enabled for the caller", tags=["organisation"])
def list_plugins(request: Request) -> list[s.Plugin]:
    from crmcore.api.app import API_PREFIX

    with request_uow(request, area="organisation") as uow:
        crm, disabled = uow.crm, uow.disabled_plugins
        with_routes = {plugin for plugin, _ in crm.plugins.registrations.routes}
        return [s.Plugin(name=info.name, version=info.version, description=info.description, requires=list(info.requires),
                         enabled=info.loaded and info.name not in disabled, error=info.error,
                         hooks=crm.plugins.hooks_of(info.name) if info.loaded else [],
                         api_prefix=f"{API_PREFIX}/{info.name}" if info.name in with_routes else None)
                for info in crm.plugins.infos.values()]


# -- auth and tokens -----------------------------------------------------------------------------------


def _token(token: Any) -> s.Token:
    return s.Token(id=token.id, user=token.username, name=token.name, kind=token.kind, prefix=token.prefix,
                   scopes=list(token.scopes), created_at=token.created_at, expires_at=token.expires_at,
                   last_used_at=token.last_used_at, revoked=token.revoked_at is not None)


@post("/auth/token", summary="Log in with a password; returns a token for 8 hours", tags=["auth"], security=[{}],
      status_code=201)
def login(request: Request, data: Annotated[s.LoginRequest, Body()]) -> s.NewToken:
    """Five failures in a row lock the account for 15 minutes; failures and
    lockouts are in the audit trail."""
    from crmcore.tokens import SESSION_LIFETIME, AuthenticationFailed, PasswordService, TokenService

    crm = request.app.state.crm
    failure: AuthenticationFailed | None = None
    from crmcore.api.auth import database_turn

    with database_turn(request.app.state), crm.unit_of_work() as uow:  # acting as the system: nobody is logged in yet
        try:
            user = PasswordService(uow).login(data.username, data.password)
        except AuthenticationFailed as error:
            failure = error  # the unit of work still commits, so the failure counts
        else:
            uow.act_as(user.id)
            record, secret = TokenService(uow).create(user.id, data.scopes, expires_in=SESSION_LIFETIME, name="login", kind="session")
    if failure is not None:
        raise failure
    return s.NewToken(token=secret, id=record.id, user=record.username, scopes=list(record.scopes), expires_at=record.expires_at)


@delete("/auth/token", summary="Revoke the token of this request (log out)", tags=["auth"])
def logout(request: Request) -> None:
    from crmcore.tokens import TokenService

    with request_uow(request) as uow:
        TokenService(uow).revoke(uow.api_token.id)


@get("/tokens", summary="The caller's tokens", tags=["auth"])
def list_tokens(request: Request, include_inactive: Annotated[bool, Parameter()] = False) -> list[s.Token]:
    from crmcore.tokens import TokenService

    with request_uow(request) as uow:
        return [_token(t) for t in TokenService(uow).list(include_inactive=include_inactive)]


@post("/tokens", summary="Create a personal token for the caller", tags=["auth"])
def create_token(request: Request, data: Annotated[s.TokenCreate, Body()]) -> s.NewToken:
    from crmcore.tokens import TokenService, parse_expiry, scope_allows

    with request_uow(request) as uow:
        held = uow.api_token.scopes
        wider = [scope for scope in data.scopes if scope == "*" and "*" not in held
                 or ":" in scope and not scope_allows(held, scope.split(":")[0], scope.endswith(":write"))]
        if wider:
            raise ValidationError.field("scopes", f"a token cannot create a token with more scopes than its own: {', '.join(wider)}")
        record, secret = TokenService(uow).create(uow.actor.id, data.scopes, expires_in=parse_expiry(data.expires), name=data.name)
    return s.NewToken(token=secret, id=record.id, user=record.username, scopes=list(record.scopes), expires_at=record.expires_at)


@delete("/tokens/{token_id:int}", summary="Revoke a token", tags=["auth"])
def revoke_token(request: Request, token_id: IdParam) -> None:
    from crmcore.tokens import TokenService

    with request_uow(request) as uow:
        TokenService(uow).revoke(token_id)


# -- webhooks -------------------------------------------------------------------------------------------


@get("/webhooks", summary="Webhook subscriptions", tags=["webhooks"])
def list_webhooks(request: Request) -> list[s.Webhook]:
    from crmcore.webhooks import WebhookService

    with request_uow(request, area="webhooks") as uow:
        return [s.view(w, s.Webhook) for w in WebhookService(uow).list()]


@post("/webhooks", summary="Subscribe a URL to events", tags=["webhooks"])
def add_webhook(request: Request, data: Annotated[s.WebhookCreate, Body()]) -> s.NewWebhook:
    from crmcore.webhooks import WebhookService

    with request_uow(request, area="webhooks") as uow:
        record = WebhookService(uow).add(data.url, data.events, department=data.department_id, description=data.description)
    return s.NewWebhook(id=record["id"], secret=record["secret"], url=record["url"], events=record["events"],
                        department_id=record["department_id"])


@delete("/webhooks/{webhook_id:int}", summary="Remove a subscription", tags=["webhooks"])
def remove_webhook(request: Request, webhook_id: IdParam) -> None:
    from crmcore.webhooks import WebhookService

    with request_uow(request, area="webhooks") as uow:
        WebhookService(uow).remove(webhook_id)


@post("/webhooks/{webhook_id:int}/test", summary="Send a signed webhook.test event now", tags=["webhooks"], status_code=200)
def test_webhook(request: Request, webhook_id: IdParam) -> s.WebhookTest:
    from crmcore.webhooks import WebhookService

    with request_uow(request, area="webhooks") as uow:
        return s.WebhookTest(**WebhookService(uow).test(webhook_id))


@get("/webhooks/events", summary="Events subscriptions can name", tags=["webhooks"])
def list_events(request: Request) -> list[s.Event]:
    from crmcore.webhooks import registered_events

    with request_uow(request, area="webhooks") as uow:
        return [s.Event(event=name, plugin=plugin, description=description)
                for name, (plugin, description) in sorted(registered_events(uow.crm).items())]


HANDLERS = [
    list_customers, create_customer, get_customer, patch_customer, cancel_customer, restore_customer, merge_customer,
    customer_history, duplicates, list_contacts, add_contact, get_contact, patch_contact, list_activities, log_activity,
    get_activity, complete_activity, cancel_activity, upload_import, get_import, get_import_rejects, list_departments,
    add_department, list_users, me, get_user, add_user, list_roles, list_plugins, login, logout, list_tokens, create_token,
    revoke_token, list_webhooks, add_webhook, remove_webhook, test_webhook, list_events,
]


def core_router() -> Router:
    return Router(path="/", route_handlers=HANDLERS)

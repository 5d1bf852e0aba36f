"""Webhooks: integrators subscribe URLs to events; deliveries go through
the outbox after commit, signed, retried with backoff and logged.

This module is also the core's own small plugin (registered by the plugin
registry like any other, dogfooding the hooks): its lifecycle hooks publish
the core's events, and it declares them with ``crm_register_events``.

Publishing (``uow.publish(name, payload)``) writes one outbox message on the
``webhook`` channel per matching subscription, in the operation's own
transaction: nothing is sent unless the operation commits, and ``crm outbox
deliver`` sends it afterwards. The body is JSON::

    {"id": "evt_…", "event": "customer.created", "created_at": "2026-…Z", "data": {…}}

and the request carries ``CRM-Signature: t=<unix time>,v1=<hex HMAC-SHA256
of f"{t}.{raw body}" under the subscription's secret>``, ``CRM-Event`` and
``CRM-Delivery`` (the outbox message id, the same on every retry).

A subscription with a department only receives events about customers of
that department's subtree (events that name no customer go only to
subscriptions without a department). Contact details in payloads are masked
unless the user who made the subscription may see them.

Keep this module light at import time: it is imported with the plugins.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
import uuid
from typing import TYPE_CHECKING, Any, Callable, Iterable

import crmcore

if TYPE_CHECKING:
    from crmcore.app import CRM
    from crmcore.domain.outbox import OutboxMessage
    from crmcore.storage.unit_of_work import UnitOfWork

PLUGIN_NAME = "core.webhooks"
CHANNEL = "webhook"
SIGNATURE_HEADER = "CRM-Signature"
#: A receiver should refuse signatures older than this (seconds).
SIGNATURE_TOLERANCE = 300
TIMEOUT_SECONDS = 10

CORE_EVENTS = {
    "customer.created": "A customer was created",
    "customer.updated": "A customer's fields changed (data.changes has before/after per field)",
    "customer.cancelled": "A customer was cancelled (注销)",
    "customer.restored": "A cancelled customer was restored (恢复)",
    "customer.merged": "A customer was merged into another (data.kept, data.merged)",
    "contact.added": "A contact was added to a customer",
    "activity.logged": "An activity was put on a customer's timeline (purchases carry an amount)",
    "webhook.test": "A test delivery sent by `crm webhook test` or POST /api/v1/webhooks/{id}/test",
}


# -- the core's plugin: events from the lifecycle hooks ---------------------------------------


def _customer_data(customer: Any) -> dict[str, Any]:
    from crmcore.storage.rows import jsonable

    data = jsonable(dict(vars(customer)))
    return {k: v for k, v in data.items() if not k.startswith("_")}


def _publish(uow: "UnitOfWork | None", name: str, build: Callable[[], dict[str, Any]]) -> None:
    """Publish when someone subscribed to anything (the payload is built only then)."""
    if uow is None or not _subscriptions(uow):
        return
    uow.publish(name, build())


@crmcore.hookimpl
def crm_register_events(register: Callable[..., None]) -> None:
    for name, description in CORE_EVENTS.items():
        register(name, description)


@crmcore.hookimpl
def crm_register_permissions(register: Callable[..., None]) -> None:
    register("webhooks.manage", "Add, remove and test webhook subscriptions")


@crmcore.hookimpl
def crm_customer_created(uow: "UnitOfWork", customer: Any) -> None:
    _publish(uow, "customer.created", lambda: {"customer_id": customer.id, "customer": _customer_data(customer)})


@crmcore.hookimpl
def crm_customer_updated(uow: "UnitOfWork", customer: Any, changes: dict[str, Any]) -> None:
    _publish(uow, "customer.updated", lambda: {"customer_id": customer.id, "customer": _customer_data(customer),
                                     "changes": {k: list(v) if isinstance(v, tuple) else v for k, v in changes.items()}})


@crmcore.hookimpl
def crm_customer_cancelled(uow: "UnitOfWork", customer: Any) -> None:
    _publish(uow, "customer.cancelled", lambda: {"customer_id": customer.id, "customer": _customer_data(customer)})


@crmcore.hookimpl
def crm_customer_restored(uow: "UnitOfWork", customer: Any) -> None:
    _publish(uow, "customer.restored", lambda: {"customer_id": customer.id, "customer": _customer_data(customer)})


@crmcore.hookimpl
def crm_customer_merged(uow: "UnitOfWork", kept: Any, merged: Any) -> None:
    _publish(uow, "customer.merged", lambda: {"customer_id": kept.id, "kept": _customer_data(kept), "merged": _customer_data(merged)})


@crmcore.hookimpl
def crm_contact_added(uow: "UnitOfWork", customer: Any, contact: Any) -> None:
    from crmcore.storage.rows import jsonable

    _publish(uow, "contact.added", lambda: {"customer_id": customer.id, "contact": jsonable(dict(vars(contact)))})


@crmcore.hookimpl
def crm_activity_logged(uow: "UnitOfWork", activity: Any) -> None:
    from crmcore.storage.rows import jsonable

    _publish(uow, "activity.logged", lambda: {"customer_id": activity.customer_id, "activity": jsonable(dict(vars(activity)))})


# -- signing -------------------------------------------------------------------------------------


def sign(secret: str, body: bytes, timestamp: int | None = None) -> str:
    """The ``CRM-Signature`` header value for ``body``."""
    t = int(time.time()) if timestamp is None else timestamp
    mac = hmac.new(secret.encode("utf-8"), f"{t}.".encode("ascii") + body, hashlib.sha256).hexdigest()
    return f"t={t},v1={mac}"


def verify(secret: str, body: bytes, header: str, *, tolerance: int = SIGNATURE_TOLERANCE, now: float | None = None) -> bool:
    """What a receiver does: recompute the HMAC and compare in constant time,
    refusing timestamps older than ``tolerance`` seconds."""
    try:
        parts = dict(item.split("=", 1) for item in header.split(","))
        t = int(parts["t"])
    except (ValueError, KeyError):
        return False
    if abs((time.time() if now is None else now) - t) > tolerance:
        return False
    expected = sign(secret, body, t).split("v1=", 1)[1]
    return hmac.compare_digest(expected, parts.get("v1", ""))


# -- publishing ----------------------------------------------------------------------------------


def registered_events(crm: "CRM") -> dict[str, tuple[str, str]]:
    """``{event name: (plugin, description)}`` of every declared event."""
    return crm.plugins.registrations.events


def publish(uow: "UnitOfWork", name: str, payload: dict[str, Any]) -> int:
    """Queue ``name`` for every subscription that wants it and may see it;
    returns how many deliveries were queued. Called as ``uow.publish``."""
    from sqlalchemy import select

    from crmcore.storage.rows import jsonable
    from crmcore.storage.tables import customers

    events = registered_events(uow.crm)
    if name not in events:
        raise crmcore.CRMError(f"event {name!r} is not declared: declare it with crm_register_events")
    subscriptions = _subscriptions(uow)
    wanted = [s for s in subscriptions if name in s["events"] or "*" in s["events"]]
    if not wanted:
        return 0
    data = jsonable(payload)
    customer_id = data.get("customer_id") if isinstance(data, dict) else None
    department_id, known_customer = None, False
    if isinstance(customer_id, int) and not isinstance(customer_id, bool):
        row = uow.execute(select(customers.c.department_id).where(customers.c.id == customer_id)).first()
        known_customer = row is not None
        department_id = row[0] if row is not None else None
    queued = 0
    event_id = "evt_" + uuid.uuid4().hex
    for subscription in wanted:
        if subscription["department_id"] is not None:
            if customer_id is None or department_id is None:
                continue
            if department_id not in uow.departments.subtree(subscription["department_id"]):
                continue
        body = {"id": event_id, "event": name, "created_at": uow.now.isoformat().replace("+00:00", "Z"),
                "data": data if _sees_details(uow, subscription["created_by"]) else mask_payload(data)}
        uow.outbox.put(CHANNEL, subscription["url"], subject=name,
                       body=json.dumps(body, ensure_ascii=False, separators=(",", ":")),
                       payload={"webhook_id": subscription["id"], "event": name, "event_id": event_id},
                       customer_id=customer_id if known_customer else None)
        queued += 1
    return queued


def _subscriptions(uow: "UnitOfWork") -> list[dict[str, Any]]:
    """Active subscriptions, read once per unit of work."""
    cached = uow.__dict__.get("_webhook_subscriptions")
    if cached is None:
        from sqlalchemy import select

        from crmcore.storage.api_tables import webhooks

        rows = uow.execute(select(webhooks).where(webhooks.c.active.is_(True)).order_by(webhooks.c.id)).mappings()
        cached = uow.__dict__["_webhook_subscriptions"] = [dict(row) for row in rows]
    return cached


def _sees_details(uow: "UnitOfWork", user_id: int | None) -> bool:
    if user_id is None:
        return True
    user = uow.users.find(user_id)
    return user is not None and user.can("customers.view_contact_details")


def mask_payload(value: Any) -> Any:
    """Phones, e-mails and birthdays masked wherever a record in the payload has them."""
    from crmcore.phones import mask_phone
    from crmcore.presenting import HIDDEN, mask_email

    if isinstance(value, list):
        return [mask_payload(v) for v in value]
    if not isinstance(value, dict):
        return value
    masked = {k: mask_payload(v) for k, v in value.items()}
    if isinstance(masked.get("phones"), list):
        masked["phones"] = [mask_phone(p) if isinstance(p, str) else p for p in masked["phones"]]
    if isinstance(masked.get("emails"), list):
        masked["emails"] = [mask_email(e) if isinstance(e, str) else e for e in masked["emails"]]
    if masked.get("birthday"):
        masked["birthday"] = HIDDEN
    return masked


# -- subscriptions -------------------------------------------------------------------------------


class WebhookService:
    """Subscriptions; needs ``webhooks.manage``."""

    def __init__(self, uow: "UnitOfWork"):
        self.uow = uow

    def add(self, url: str, events: Iterable[str], *, department: str | int | None = None,
            description: str | None = None) -> dict[str, Any]:
        from sqlalchemy import insert
        from urllib.parse import urlsplit

        from crmcore.errors import ValidationError
        from crmcore.storage.api_tables import webhooks

        self.uow.require("webhooks.manage")
        url = (url or "").strip()
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname or len(url) > 1000:
            raise ValidationError.field("url", f"{url!r} is not an http(s) URL")
        wanted = list(dict.fromkeys(e.strip() for e in events if e and e.strip()))
        if not wanted:
            raise ValidationError.field("event", "name at least one event (see `crm webhook events`)")
        known = registered_events(self.uow.crm)
        unknown = [e for e in wanted if e != "*" and e not in known]
        if unknown:
            raise ValidationError.field("event", f"unknown event {', '.join(unknown)} (see `crm webhook events`)")
        department_id = self.uow.departments.get(department).id if department not in (None, "") else None
        secret = "whsec_" + secrets.token_urlsafe(32)
        record = {"url": url, "events": wanted, "department_id": department_id, "secret": secret, "description": description,
                  "active": True, "created_by": self.uow.actor.id, "created_at": self.uow.now}
        record["id"] = self.uow.execute(insert(webhooks).values(record)).inserted_primary_key[0]
        self.uow.audit.record("webhook", record["id"], "create", {"url": url, "events": wanted, "department_id": department_id})
        self.uow.__dict__.pop("_webhook_subscriptions", None)
        return record

    def list(self) -> list[dict[str, Any]]:
        from sqlalchemy import select

        from crmcore.storage.api_tables import webhooks

        self.uow.require("webhooks.manage")
        rows = self.uow.execute(select(webhooks).where(webhooks.c.active.is_(True)).order_by(webhooks.c.id)).mappings()
        return [_public(dict(row)) for row in rows]

    def get(self, webhook_id: int, *, with_secret: bool = False) -> dict[str, Any]:
        from sqlalchemy import select

        from crmcore.errors import NotFound
        from crmcore.storage.api_tables import webhooks

        self.uow.require("webhooks.manage")
        row = self.uow.execute(select(webhooks).where(webhooks.c.id == webhook_id, webhooks.c.active.is_(True))).mappings().first()
        if row is None:
            raise NotFound(f"webhook {webhook_id} not found")
        return dict(row) if with_secret else _public(dict(row))

    def remove(self, webhook_id: int) -> None:
        from sqlalchemy import update

        from crmcore.storage.api_tables import webhooks
        from crmcore.storage.tables import outbox

        self.get(webhook_id)
        self.uow.execute(update(webhooks).where(webhooks.c.id == webhook_id).values(active=False))
        pending = self.uow.execute(
            update(outbox).where(outbox.c.channel == CHANNEL, outbox.c.status == "pending",
                                 outbox.c.payload["webhook_id"].as_integer() == webhook_id).values(status="cancelled"))
        self.uow.audit.record("webhook", webhook_id, "remove", {"cancelled_deliveries": pending.rowcount})
        self.uow.__dict__.pop("_webhook_subscriptions", None)

    def deliveries(self, webhook_id: int, limit: int = 50) -> list[dict[str, Any]]:
        from sqlalchemy import select

        from crmcore.storage.api_tables import webhook_deliveries

        self.get(webhook_id)
        rows = self.uow.execute(select(webhook_deliveries).where(webhook_deliveries.c.webhook_id == webhook_id)
                                .order_by(webhook_deliveries.c.id.desc()).limit(limit)).mappings()
        return [dict(row) for row in rows]

    def test(self, webhook_id: int) -> dict[str, Any]:
        """Send a ``webhook.test`` event to the subscription now and report
        the receiver's answer (logged like any delivery)."""
        subscription = self.get(webhook_id, with_secret=True)
        body = json.dumps({"id": "evt_" + uuid.uuid4().hex, "event": "webhook.test",
                           "created_at": self.uow.now.isoformat().replace("+00:00", "Z"),
                           "data": {"webhook_id": webhook_id, "message": "test delivery"}}, separators=(",", ":")).encode()
        outcome = post(subscription["url"], subscription["secret"], body, event="webhook.test", delivery_id=f"test-{uuid.uuid4().hex[:12]}")
        _log(self.uow.connection, webhook_id, None, "webhook.test", outcome, self.uow.now)
        return {"webhook_id": webhook_id, "url": subscription["url"], **{k: outcome[k] for k in ("ok", "status_code", "error", "duration_ms")}}


def _public(record: dict[str, Any]) -> dict[str, Any]:
    record = dict(record)
    record.pop("secret", None)
    return record


# -- delivery: the outbox's ``webhook`` channel ---------------------------------------------------


def post(url: str, secret: str, body: bytes, *, event: str, delivery_id: str) -> dict[str, Any]:
    """POST one signed delivery; never raises, returns the outcome. Header
    names are sent exactly as documented (``CRM-Signature``)."""
    import http.client
    import ssl
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    headers = {
        "Content-Type": "application/json", "User-Agent": f"crmcore-webhooks/{crmcore.__version__}",
        SIGNATURE_HEADER: sign(secret, body), "CRM-Event": event, "CRM-Delivery": delivery_id,
    }
    started = time.monotonic()
    outcome: dict[str, Any] = {"ok": False, "status_code": None, "error": None}
    try:
        if parts.scheme == "https":
            connection: Any = http.client.HTTPSConnection(parts.hostname, parts.port, timeout=TIMEOUT_SECONDS,
                                                          context=ssl.create_default_context())
        else:
            connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=TIMEOUT_SECONDS)
        try:
            target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
            connection.request("POST", target, body=body, headers=headers)
            response = connection.getresponse()
            response.read(65536)
            outcome["status_code"] = response.status
            outcome["ok"] = 200 <= response.status < 300
        finally:
            connection.close()
    except Exception as error:  # network failures are an outcome, retried by the outbox
        outcome["error"] = f"{type(error).__name__}: {error}"
    if not outcome["ok"] and outcome["error"] is None:
        outcome["error"] = f"HTTP {outcome['status_code']}"
    outcome["duration_ms"] = int((time.monotonic() - started) * 1000)
    return outcome


def _log(connection: Any, webhook_id: int, outbox_id: int | None, event: str, outcome: dict[str, Any], at: Any) -> None:
    from sqlalchemy import insert

    from crmcore.storage.api_tables import webhook_deliveries

    connection.execute(insert(webhook_deliveries).values(
        webhook_id=webhook_id, outbox_id=outbox_id, event=event, at=at, status_code=outcome["status_code"],
        ok=outcome["ok"], error=(outcome["error"] or None) and str(outcome["error"])[:2000], duration_ms=outcome["duration_ms"]))


class DeliveryFailed(Exception):
    """The receiver did not answer 2xx; the outbox retries with backoff."""


def webhook_channel(crm: "CRM") -> Callable[["OutboxMessage"], None]:
    """The outbox channel: sign and POST the stored body to the
    subscription's URL, log the attempt, raise unless it got a 2xx."""

    def deliver(message: "OutboxMessage", uow: "UnitOfWork") -> None:
        from sqlalchemy import select

        from crmcore.clock import utcnow
        from crmcore.storage.api_tables import webhooks

        webhook_id = (message.payload or {}).get("webhook_id")
        row = uow.execute(select(webhooks.c.url, webhooks.c.secret, webhooks.c.active).where(webhooks.c.id == webhook_id)).first()
        if row is None or not row.active:
            return  # the subscription was removed after the event: nothing to deliver
        outcome = post(row.url, row.secret, (message.body or "").encode("utf-8"),
                       event=message.subject or "", delivery_id=str(message.id))
        # logged in the delivering transaction (a second connection could
        # not write on SQLite while it is open), committed with the outcome
        _log(uow.connection, webhook_id, message.id, message.subject or "", outcome, utcnow())
        if not outcome["ok"]:
            raise DeliveryFailed(outcome["error"])

    deliver.takes_uow = True  # type: ignore[attr-defined]
    return deliver

"""``crm serve``, ``crm token``, ``crm webhook`` and ``crm user password``:
the integrators' side of the CRM. Litestar and uvicorn are imported only
inside ``crm serve``."""

from __future__ import annotations

import os
from typing import Any

import click

from crmcore.cli.context import CLIState, pass_state


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535))
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64),
              help="Worker processes; the API is stateless, every worker serves the same database.")
@click.option("--log-level", default="info", show_default=True, type=click.Choice(["critical", "error", "warning", "info", "debug"]))
@click.option("--access-log/--no-access-log", default=True, show_default=True)
@pass_state
def serve(state: CLIState, host: str, port: int, workers: int, log_level: str, access_log: bool) -> None:
    """Serve the staff's web interface (http://HOST:PORT/, log in with a
    user's password: crm user add … --password, or crm user password) and the
    REST API (/api/v1/…, OpenAPI at /api/schema) with uvicorn."""
    import uvicorn

    shown = "localhost" if host in ("127.0.0.1", "0.0.0.0", "::") else host
    click.echo(f"crm: web interface at http://{shown}:{port}/ · API at http://{shown}:{port}/api/v1 "
               f"(OpenAPI: /api/schema/swagger)", err=True)

    if state.db:
        os.environ["CRM_DATABASE_URL"] = state.db  # every worker process opens the same database
    if workers > 1:
        uvicorn.run("crmcore.api.asgi:app", host=host, port=port, workers=workers, log_level=log_level,
                    access_log=access_log, lifespan="on")
    else:
        from crmcore.api import create_app

        uvicorn.run(create_app(state.crm), host=host, port=port, log_level=log_level, access_log=access_log)


# -- tokens -----------------------------------------------------------------------------------


def _token_row(token: Any) -> dict[str, Any]:
    return {"id": token.id, "user": token.username, "name": token.name, "kind": token.kind, "prefix": token.prefix,
            "scopes": list(token.scopes), "created_at": token.created_at, "expires_at": token.expires_at,
            "last_used_at": token.last_used_at, "revoked": token.revoked_at is not None}


@click.group()
def token() -> None:
    """Personal API tokens: Bearer credentials with scopes and an expiry."""


@token.command("create")
@click.option("--user", "username", help="Whose token [default: the acting user].")
@click.option("--scopes", required=True, metavar="SCOPE,...", help="e.g. customers:read,customers:write (`crm token scopes`).")
@click.option("--expires", metavar="DURATION", help="90d, 12h, 30m, 2w or never [default: 90d].")
@click.option("--name", help="What the token is for.")
@pass_state
def token_create(state: CLIState, username: str | None, scopes: str, expires: str | None, name: str | None) -> None:
    """Create a token; it is printed once and only its hash is stored."""
    from crmcore.tokens import TokenService, parse_expiry

    with state.uow() as uow:
        record, secret = TokenService(uow).create(username or uow.actor.id, scopes.split(","),
                                                  expires_in=parse_expiry(expires), name=name)
    state.emit({"token": secret, "id": record.id, "user": record.username, "scopes": list(record.scopes),
                "expires_at": record.expires_at},
               text=f"{secret}\n(token {record.id} for {record.username}; shown once, store it now)")


@token.command("list")
@click.option("--user", "username", help="Whose tokens; * for everyone's [default: your own].")
@click.option("--all", "include_inactive", is_flag=True, help="Include revoked and expired tokens.")
@pass_state
def token_list(state: CLIState, username: str | None, include_inactive: bool) -> None:
    """List tokens (never the tokens themselves)."""
    from crmcore.tokens import TokenService

    with state.uow() as uow:
        rows = [_token_row(t) for t in TokenService(uow).list(username, include_inactive=include_inactive)]
    state.emit(rows, columns=("id", "user", "name", "prefix", "scopes", "expires_at", "last_used_at", "revoked"))


@token.command("revoke")
@click.argument("token_id", type=int)
@pass_state
def token_revoke(state: CLIState, token_id: int) -> None:
    """Revoke a token; requests with it fail from now on."""
    from crmcore.tokens import TokenService

    with state.uow() as uow:
        TokenService(uow).revoke(token_id)
    state.emit({"id": token_id, "revoked": True}, text=f"revoked token {token_id}")


@token.command("scopes")
@pass_state
def token_scopes(state: CLIState) -> None:
    """The scopes a token can hold."""
    from crmcore.tokens import known_scopes

    state.emit([{"scope": k, "allows": v} for k, v in known_scopes(state.crm).items()])


# -- webhooks -----------------------------------------------------------------------------


@click.group()
def webhook() -> None:
    """Webhook subscriptions: signed POSTs of events, through the outbox."""


@webhook.command("add")
@click.argument("url")
@click.option("--event", "events", multiple=True, required=True, help="Event name; repeat for several; * for all (`crm webhook events`).")
@click.option("--department", help="Only events about customers of this department (and below).")
@click.option("--description")
@pass_state
def webhook_add(state: CLIState, url: str, events: tuple[str, ...], department: str | None, description: str | None) -> None:
    """Subscribe URL to events; prints the signing secret once."""
    from crmcore.webhooks import WebhookService

    names = [name for value in events for name in value.split(",")]
    with state.uow() as uow:
        record = WebhookService(uow).add(url, names, department=department, description=description)
    state.emit({"id": record["id"], "secret": record["secret"], "url": record["url"], "events": record["events"],
                "department_id": record["department_id"]},
               text=f"webhook {record['id']}: {record['url']} <- {', '.join(record['events'])}\nsecret {record['secret']} (shown once)")


@webhook.command("list")
@pass_state
def webhook_list(state: CLIState) -> None:
    """List subscriptions."""
    from crmcore.webhooks import WebhookService

    with state.uow() as uow:
        rows = WebhookService(uow).list()
    state.emit(rows, columns=("id", "url", "events", "department_id", "created_at"))


@webhook.command("remove")
@click.argument("webhook_id", type=int)
@pass_state
def webhook_remove(state: CLIState, webhook_id: int) -> None:
    """Remove a subscription; its undelivered events are cancelled."""
    from crmcore.webhooks import WebhookService

    with state.uow() as uow:
        WebhookService(uow).remove(webhook_id)
    state.emit({"id": webhook_id, "removed": True}, text=f"removed webhook {webhook_id}")


@webhook.command("test")
@click.argument("webhook_id", type=int)
@pass_state
def webhook_test(state: CLIState, webhook_id: int) -> None:
    """Send a signed webhook.test event now and show the answer."""
    from crmcore.errors import CRMError
    from crmcore.webhooks import WebhookService

    with state.uow() as uow:
        outcome = WebhookService(uow).test(webhook_id)
    state.emit(outcome, text=f"{'ok' if outcome['ok'] else 'failed'}: HTTP {outcome['status_code']} in {outcome['duration_ms']} ms"
               + (f" ({outcome['error']})" if outcome["error"] else ""))
    if not outcome["ok"]:
        raise CRMError(f"webhook {webhook_id} test delivery failed: {outcome['error']}")


@webhook.command("deliveries")
@click.argument("webhook_id", type=int)
@click.option("--limit", default=50, show_default=True)
@pass_state
def webhook_deliveries(state: CLIState, webhook_id: int, limit: int) -> None:
    """The delivery log of a subscription, newest first."""
    from crmcore.webhooks import WebhookService

    with state.uow() as uow:
        rows = WebhookService(uow).deliveries(webhook_id, limit)
    state.emit(rows, columns=("id", "at", "event", "outbox_id", "status_code", "ok", "duration_ms", "error"))


@webhook.command("events")
@pass_state
def webhook_events(state: CLIState) -> None:
    """Events a subscription can name: the core's and every plugin's."""
    from crmcore.webhooks import registered_events

    state.emit([{"event": name, "plugin": plugin, "description": description}
                for name, (plugin, description) in sorted(registered_events(state.crm).items())])


# -- passwords ----------------------------------------------------------------------------


@click.command("password")
@click.argument("username")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True, help="Prompted for when left out.")
@pass_state
def user_password(state: CLIState, username: str, password: str) -> None:
    """Set a user's password (for logging in to the API); clears a lockout."""
    from crmcore.tokens import PasswordService

    with state.uow() as uow:
        PasswordService(uow).set(username, password)
    state.emit({"user": username, "password_set": True}, text=f"password set for {username}")

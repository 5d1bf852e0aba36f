"""Setting up and running the CRM: init, demo, db, plugins, departments,
users, roles, lists, custom fields, outbox."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from crmcore.cli.context import CLIState, pass_state


@click.command()
@click.option("--admin", "admin_name", default="admin", show_default=True, help="Username of the administrator.")
@pass_state
def init(state: CLIState, admin_name: str) -> None:
    """Create or upgrade the database and the administrator."""
    from crmcore.bootstrap import initialise

    made = initialise(state.crm, admin_name)
    state.emit(made, text=f"database ready at {state.crm.engine.url.render_as_string(hide_password=True)}; "
                          f"administrator: {made['admin']}" + (" (created)" if made["admin_created"] else ""))


@click.command()
@click.option("--reset", is_flag=True, help="Empty an existing SQLite demo database first.")
@pass_state
def demo(state: CLIState, reset: bool) -> None:
    """Create a database full of realistic demo data from the core and every
    installed plugin, then say what to try."""
    from crmcore.demo import make_demo

    summary = make_demo(state, reset=reset)
    state.emit(summary, text=lambda: "\n".join(summary["lines"]))


# -- db ------------------------------------------------------------------------------


@click.group()
def db() -> None:
    """Schema migrations of the core and every plugin."""


@db.command("upgrade")
@pass_state
def db_upgrade(state: CLIState) -> None:
    """Bring the core and every installed plugin to its newest schema."""
    state.crm.upgrade()
    rows = [{"branch": s.branch, "revision": s.current, "head": s.head} for s in state.crm.migration_status()]
    state.emit(rows, text="\n".join(f"{r['branch']}: at {r['revision']}" for r in rows))


@db.command("status")
@pass_state
def db_status(state: CLIState) -> None:
    """Show each branch's revision and whether it is up to date."""
    rows = [{"branch": s.branch, "current": s.current, "head": s.head, "up_to_date": s.up_to_date}
            for s in state.crm.migration_status()]
    state.emit(rows)
    if not all(r["up_to_date"] for r in rows):
        click.echo("pending migrations: run `crm db upgrade`", err=True)


@db.command("reindex")
@pass_state
def db_reindex(state: CLIState) -> None:
    """Rebuild the customer name search index (SQLite)."""
    from crmcore.search import rebuild_index

    with state.uow() as uow:
        uow.require("settings.edit")
        rebuild_index(uow.connection)
    state.emit({"reindexed": True}, text="search index rebuilt")


# -- plugins ----------------------------------------------------------------------------


@click.group()
def plugins() -> None:
    """Installed plugins: list them, enable or disable them, scaffold a new one."""


@plugins.command("list")
@pass_state
def plugins_list(state: CLIState) -> None:
    """Name, version, state per department, hooks, or the error of a broken one."""
    registry = state.crm.plugins
    departments: dict[int, str] = {}
    settings: dict[tuple[str, int | None], bool] = {}
    try:
        with state.crm.unit_of_work() as uow:
            settings = uow.plugin_settings.explicit()
            departments = {d.id: d.name for d in uow.departments.all().values()}
            disabled_by_department = {d: uow.plugin_settings.disabled_for(d) for d in departments}
    except Exception:  # listing plugins must work before `crm init`
        disabled_by_department = {}
    rows = []
    for info in sorted(registry.infos.values(), key=lambda i: i.name):
        globally = settings.get((info.name, None), True)
        rows.append({
            "name": info.name,
            "version": info.version,
            "description": info.description,
            "requires": list(info.requires),
            "enabled": info.loaded and globally,
            "departments": {name: info.name not in disabled_by_department.get(dep_id, frozenset())
                            for dep_id, name in departments.items()} if info.loaded else {},
            "hooks": registry.hooks_of(info.name) if info.loaded else [],
            "error": info.error,
        })

    def text() -> str:
        if not rows:
            return "no plugins installed"
        lines = []
        for r in rows:
            state_text = "BROKEN" if r["error"] else ("enabled" if r["enabled"] else "disabled")
            lines.append(f"{r['name']} {r['version']}  [{state_text}]  {r['description']}")
            if r["error"]:
                lines.append(f"    error: {r['error']}")
            else:
                off = [d for d, on in r["departments"].items() if on != r["enabled"]]
                if off:
                    lines.append(f"    {'enabled' if not r['enabled'] else 'disabled'} for: {', '.join(off)}")
                lines.append(f"    hooks: {', '.join(r['hooks'])}")
        return "\n".join(lines)

    state.emit(rows, text=text)


def _set_plugin(state: CLIState, name: str, enabled: bool, department: str | None) -> None:
    with state.uow() as uow:
        department_id = uow.departments.get(department).id if department else None
        uow.plugin_settings.set(name, enabled, department_id)
    where = f"department {department}" if department else "everyone"
    state.emit({"plugin": name, "enabled": enabled, "department": department},
               text=f"{name} {'enabled' if enabled else 'disabled'} for {where}")


@plugins.command("enable")
@click.argument("name")
@click.option("--department", help="Only for this department and the departments below it.")
@pass_state
def plugins_enable(state: CLIState, name: str, department: str | None) -> None:
    """Enable a plugin, for everyone or for one department."""
    _set_plugin(state, name, True, department)


@plugins.command("disable")
@click.argument("name")
@click.option("--department", help="Only for this department and the departments below it.")
@pass_state
def plugins_disable(state: CLIState, name: str, department: str | None) -> None:
    """Disable a plugin, for everyone or for one department."""
    _set_plugin(state, name, False, department)


@plugins.command("new")
@click.argument("name")
@click.option("--directory", type=click.Path(file_okay=False, path_type=Path), default=Path("."), show_default=True,
              help="Where to create the plugin's folder.")
@pass_state
def plugins_new(state: CLIState, name: str, directory: Path) -> None:
    """Scaffold a plugin distribution with one hook, one migration and one
    passing test."""
    from crmcore.scaffold import scaffold_plugin

    target = scaffold_plugin(name, directory)
    state.emit({"path": str(target)}, text=f"created {target}\nnext: pip install -e {target} && pytest {target}")


# -- organisation -------------------------------------------------------------------------


@click.group()
def department() -> None:
    """Departments: the company tree (集团 → 区域 → 公司 → 部门)."""


@department.command("add")
@click.argument("name")
@click.option("--parent", help="Parent department name.")
@pass_state
def department_add(state: CLIState, name: str, parent: str | None) -> None:
    """Add a department."""
    with state.uow() as uow:
        added = uow.departments.add(name, parent=parent)
    state.emit({"id": added.id, "name": added.name, "parent_id": added.parent_id}, text=f"added department {added.id} {added.name}")


@department.command("list")
@pass_state
def department_list(state: CLIState) -> None:
    """List departments with their place in the tree."""
    with state.uow() as uow:
        rows = [{"id": d.id, "name": d.name, "parent_id": d.parent_id, "path": uow.departments.path(d.id)}
                for d in uow.departments.all().values()]
    state.emit(rows, columns=("id", "name", "path"))


def _user_row(user: Any, uow: Any) -> dict[str, Any]:
    return {"id": user.id, "username": user.username, "display_name": user.display_name, "email": user.email,
            "department": uow.departments.path(user.department_id), "roles": list(user.roles), "active": user.active}


@click.group()
def user() -> None:
    """Staff who use the CRM."""


def _add_password_command() -> None:
    from crmcore.cli.api import user_password

    user.add_command(user_password)


_add_password_command()


@user.command("add")
@click.argument("username")
@click.option("--name", "display_name", help="Display name.")
@click.option("--email", help="Where the CRM sends the user's notices.")
@click.option("--department")
@click.option("--role", "roles", multiple=True, help="Role name; repeat for several.")
@click.option("--password", help="Lets the user log in to the web interface and the API (or later: crm user password).")
@click.option("--locale", type=click.Choice(["zh_CN", "en"]), help="The web interface's language (default: the browser's).")
@pass_state
def user_add(state: CLIState, username: str, display_name: str | None, email: str | None, department: str | None,
             roles: tuple[str, ...], password: str | None, locale: str | None) -> None:
    """Add a user."""
    from crmcore.tokens import PasswordService

    with state.uow() as uow:
        added = uow.users.add(username, display_name=display_name, department=department, roles_=roles, email=email)
        if password is not None:
            PasswordService(uow).set(added.username, password)
        if locale is not None:
            uow.users.set_locale(added.username, locale)
        row = _user_row(added, uow)
    state.emit(row, text=f"added user {added.username}")


@user.command("list")
@click.option("--all", "include_inactive", is_flag=True, help="Include deactivated users.")
@pass_state
def user_list(state: CLIState, include_inactive: bool) -> None:
    """List users."""
    with state.uow() as uow:
        rows = [_user_row(u, uow) for u in uow.users.list(include_inactive=include_inactive)]
    state.emit(rows)


@user.command("deactivate")
@click.argument("username")
@click.option("--reassign-to", help="Who takes over the user's customers, open tasks and contacts.")
@pass_state
def user_deactivate(state: CLIState, username: str, reassign_to: str | None) -> None:
    """Freeze a leaving user's account and hand their customers and open
    tasks to another user, in one transaction."""
    with state.uow() as uow:
        counts = uow.users.deactivate(username, reassign_to)
    state.emit({"user": username, "reassigned_to": reassign_to, **counts},
               text=f"deactivated {username}; {counts['customers']} customers, {counts['tasks']} open tasks and "
                    f"{counts['contacts']} contacts handed to {reassign_to or 'nobody'}")


@click.group()
def role() -> None:
    """Roles (岗位) and the permissions they hold."""


@role.command("add")
@click.argument("name")
@click.option("--grant", "grants", multiple=True, help="Permission; repeat for several.")
@pass_state
def role_add(state: CLIState, name: str, grants: tuple[str, ...]) -> None:
    """Add a role."""
    with state.uow() as uow:
        added = uow.roles.add(name, grants)
    state.emit({"name": added.name, "permissions": sorted(added.permissions)}, text=f"added role {added.name}")


@role.command("grant")
@click.argument("name")
@click.argument("permission")
@pass_state
def role_grant(state: CLIState, name: str, permission: str) -> None:
    """Grant a permission to a role."""
    with state.uow() as uow:
        changed = uow.roles.grant(name, permission)
    state.emit({"name": changed.name, "permissions": sorted(changed.permissions)}, text=f"{name} may now {permission}")


@role.command("revoke")
@click.argument("name")
@click.argument("permission")
@pass_state
def role_revoke(state: CLIState, name: str, permission: str) -> None:
    """Revoke a permission from a role."""
    with state.uow() as uow:
        changed = uow.roles.revoke(name, permission)
    state.emit({"name": changed.name, "permissions": sorted(changed.permissions)}, text=f"{name} may no longer {permission}")


@role.command("list")
@pass_state
def role_list(state: CLIState) -> None:
    """List roles and their permissions."""
    with state.uow() as uow:
        rows = [{"name": r.name, "permissions": sorted(r.permissions)} for r in uow.roles.list()]
    state.emit(rows)


@role.command("permissions")
@pass_state
def role_permissions(state: CLIState) -> None:
    """List every permission the core and the plugins declare."""
    with state.uow() as uow:
        rows = [{"permission": code, "plugin": plugin, "description": description}
                for code, (plugin, description) in sorted(uow.roles.known_permissions().items())]
    state.emit(rows)


# -- lists and custom fields -------------------------------------------------------------


@click.group()
def choices() -> None:
    """The configurable lists: value levels, statuses, lifecycle stages."""


@choices.command("list")
@click.argument("kind", required=False, type=click.Choice(["level", "status", "stage"]))
@pass_state
def choices_list(state: CLIState, kind: str | None) -> None:
    """Show the lists (or one of them)."""
    with state.uow() as uow:
        rows = [{"kind": c.kind, "code": c.code, "label": c.label, "label_en": c.label_en}
                for k in ([kind] if kind else ["level", "status", "stage"]) for c in uow.choices.list(k)]
    state.emit(rows)


@choices.command("add")
@click.argument("kind", type=click.Choice(["level", "status", "stage"]))
@click.argument("code")
@click.option("--label", required=True, help="Chinese label.")
@click.option("--label-en", help="English label.")
@pass_state
def choices_add(state: CLIState, kind: str, code: str, label: str, label_en: str | None) -> None:
    """Add an entry to a list."""
    with state.uow() as uow:
        added = uow.choices.add(kind, code, label, label_en)
    state.emit({"kind": added.kind, "code": added.code, "label": added.label}, text=f"added {kind} {code} ({label})")


@click.group()
def field() -> None:
    """Custom customer fields."""


@field.command("add")
@click.argument("name")
@click.option("--type", "type_", default="text", show_default=True,
              type=click.Choice(["text", "int", "decimal", "date", "bool", "choice"]))
@click.option("--label", required=True)
@click.option("--choice", "choice_values", multiple=True, help="Allowed value of a choice field; repeat.")
@pass_state
def field_add(state: CLIState, name: str, type_: str, label: str, choice_values: tuple[str, ...]) -> None:
    """Declare a custom field."""
    with state.uow() as uow:
        uow.custom_fields.add(name, type_, label, list(choice_values))
    state.emit({"name": name, "type": type_, "label": label}, text=f"added custom field {name}")


@field.command("list")
@pass_state
def field_list(state: CLIState) -> None:
    """List custom fields, declared here or by plugins."""
    with state.uow() as uow:
        rows = [{k: d.get(k) for k in ("name", "type", "label", "choices", "plugin")} for d in uow.custom_fields.definitions().values()]
    state.emit(rows)


# -- audit --------------------------------------------------------------------------------


@click.group()
def audit() -> None:
    """The audit trail of every change (append-only)."""


@audit.command("list")
@click.option("--actor", help="Username.")
@click.option("--since", help="Date or time, e.g. 2026-11-01.")
@click.option("--entity", help="customer, contact, activity, user, role, department …")
@click.option("--action", help="create, update, cancel, restore, merge, hand-over, view, grant …")
@click.option("--limit", default=100, show_default=True)
@pass_state
def audit_list(state: CLIState, actor: str | None, since: str | None, entity: str | None, action: str | None, limit: int) -> None:
    """List audit entries, newest first."""
    from crmcore.clock import local, parse_datetime

    with state.uow() as uow:
        moment = parse_datetime(since, uow.crm.config.timezone, field="since") if since else None
        zone = uow.crm.config.timezone
        rows = [{"id": e.id, "time": local(e.at, zone), "actor": e.actor, "entity": e.entity, "entity_id": e.entity_id,
                 "action": e.action, "changes": e.changes}
                for e in uow.audit.list(actor=actor, since=moment, entity=entity, action=action, limit=limit)]
    state.emit(rows)


# -- outbox -------------------------------------------------------------------------------


@click.group()
def outbox() -> None:
    """Messages waiting to leave the CRM (e-mail, SMS, webhooks)."""


@outbox.command("list")
@click.option("--status", type=click.Choice(["pending", "sent", "failed", "cancelled"]))
@click.option("--limit", default=50, show_default=True)
@pass_state
def outbox_list(state: CLIState, status: str | None, limit: int) -> None:
    """List messages, newest first."""
    with state.uow() as uow:
        rows = [{"id": m.id, "channel": m.channel, "recipient": m.recipient, "subject": m.subject, "status": m.status,
                 "attempts": m.attempts, "error": m.error} for m in uow.outbox.list(status, limit)]
    state.emit(rows)


@outbox.command("deliver")
@click.option("--limit", type=int, help="Deliver at most this many.")
@pass_state
def outbox_deliver(state: CLIState, limit: int | None) -> None:
    """Deliver due messages through their channels, with retries."""
    from crmcore.services.outbox import deliver_pending

    counts = deliver_pending(state.crm, limit=limit)
    state.emit(counts, text=f"sent {counts['sent']}, to retry {counts['retry']}, failed {counts['failed']}")

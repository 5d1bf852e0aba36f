"""Administration: the department tree, users (add with a password, role
and department; deactivate handing their customers to a successor), roles
and the permission catalogue, and which plugins each department uses.

Each page needs the permission its ``crm`` command needs (``users.manage``,
``roles.manage``, ``plugins.manage``) and calls the same services.
"""

from __future__ import annotations

from typing import Any, Iterable

from litestar import Request, Response
from litestar.params import FromPath

from crmcore.errors import PermissionDenied
from crmcore.web.i18n import LOCALE_NAMES
from crmcore.web.routes import Form, get, post
from crmcore.web.site import attempt, form_list, form_value, page, redirect, translator, web_uow

ADMIN_PERMISSIONS = ("users.manage", "roles.manage", "plugins.manage")


def department_tree(uow: Any) -> list[tuple[Any, int]]:
    """Every department with its depth, parents before their children."""
    children: dict[int | None, list[Any]] = {}
    for department in uow.departments.all().values():
        children.setdefault(department.parent_id, []).append(department)
    ordered: list[tuple[Any, int]] = []

    def walk(parent: int | None, depth: int) -> None:
        for department in sorted(children.get(parent, []), key=lambda d: d.name):
            ordered.append((department, depth))
            walk(department.id, depth + 1)

    walk(None, 0)
    return ordered


@get("/admin", name="admin")
def admin_index(request: Request) -> Response[str]:
    with web_uow(request) as uow:
        if not any(uow.actor.can(p) for p in ADMIN_PERMISSIONS):
            raise PermissionDenied(" / ".join(ADMIN_PERMISSIONS))
        return page(request, uow, "core/web/admin/index.html")


# -- departments ----------------------------------------------------------------------


def _departments_page(request: Request, uow: Any, form: dict[str, Any], errors: dict[str, str],
                      status: int = 200) -> Response[str]:
    counts: dict[int | None, int] = {}
    for user in uow.users.list():
        counts[user.department_id] = counts.get(user.department_id, 0) + 1
    return page(request, uow, "core/web/admin/departments.html", status=status, tree=department_tree(uow),
                path_of=uow.departments.path, counts=counts, form=form, errors=errors)


@get("/admin/departments", name="admin_departments")
def departments(request: Request) -> Response[str]:
    with web_uow(request) as uow:
        uow.require("users.manage")
        return _departments_page(request, uow, {}, {})


@post("/admin/departments")
def department_add(request: Request, data: Form) -> Response[str]:
    _ = translator(request)
    with web_uow(request, data) as uow:
        uow.require("users.manage")
        added, errors = attempt(uow, uow.departments.add, form_value(data, "name"), form_value(data, "parent") or None)
        if errors:
            return _departments_page(request, uow, dict(data), errors, status=422)
    return redirect(request, "/admin/departments", _("Department %(name)s added.", name=added.name))


# -- users ----------------------------------------------------------------------------


def _users_page(request: Request, uow: Any, form: dict[str, Any], errors: dict[str, str], status: int = 200) -> Response[str]:
    return page(request, uow, "core/web/admin/users.html", status=status, users=uow.users.list(include_inactive=True),
                path_of=uow.departments.path, tree=department_tree(uow), roles=uow.roles.list(),
                locale_names=LOCALE_NAMES, form=form, errors=errors)


def add_user(uow: Any, username: str, *, password: str, locale: str, **fields: Any) -> Any:
    """``crm user add`` as one step: the user, their password and language."""
    from crmcore.tokens import PasswordService

    added = uow.users.add(username, **fields)
    if password:
        PasswordService(uow).set(added.username, password)
    if locale:
        uow.users.set_locale(added.username, locale)
    return added


@get("/admin/users", name="admin_users")
def users(request: Request) -> Response[str]:
    with web_uow(request) as uow:
        uow.require("users.manage")
        return _users_page(request, uow, {}, {})


@post("/admin/users")
def user_add(request: Request, data: Form) -> Response[str]:
    _ = translator(request)
    with web_uow(request, data) as uow:
        uow.require("users.manage")
        added, errors = attempt(uow, add_user, uow, form_value(data, "username"),
                                password=str(data.get("password") or ""), locale=form_value(data, "locale"),
                                display_name=form_value(data, "display_name") or None,
                                email=form_value(data, "email") or None,
                                department=form_value(data, "department") or None, roles_=form_list(data, "roles"))
        if errors:
            form = {name: value for name, value in data.items() if name != "password"}  # never echoed back
            if "role" in errors:
                errors.setdefault("roles", errors.pop("role"))
            return _users_page(request, uow, form, errors, status=422)
    return redirect(request, "/admin/users", _("User %(name)s added.", name=added.username))


def _deactivate_page(request: Request, uow: Any, user: Any, form: dict[str, Any], errors: dict[str, str],
                     status: int = 200) -> Response[str]:
    successors = [u for u in uow.users.list() if u.id != user.id]
    return page(request, uow, "core/web/admin/deactivate.html", status=status, person=user, successors=successors,
                form=form, errors=errors)


@get("/admin/users/{user_id:int}/deactivate", name="admin_user_deactivate")
def user_deactivate_form(request: Request, user_id: FromPath[int]) -> Response[str]:
    with web_uow(request) as uow:
        uow.require("users.manage")
        return _deactivate_page(request, uow, uow.users.get(user_id), {}, {})


@post("/admin/users/{user_id:int}/deactivate")
def user_deactivate(request: Request, user_id: FromPath[int], data: Form) -> Response[str]:
    """A leaving user: their customers, open tasks and contacts go to the
    successor, and the account is frozen, in one transaction."""
    _ = translator(request)
    with web_uow(request, data) as uow:
        uow.require("users.manage")
        user = uow.users.get(user_id)
        successor = form_value(data, "reassign_to") or None
        counts, errors = attempt(uow, uow.users.deactivate, user.username, successor)
        if errors:
            if "reassign-to" in errors:
                errors["reassign_to"] = errors.pop("reassign-to")
            return _deactivate_page(request, uow, user, dict(data), errors, status=422)
    return redirect(request, "/admin/users",
                    _("%(name)s deactivated; %(customers)s customers, %(tasks)s open tasks and %(contacts)s contacts "
                      "handed over.", name=user.username, **counts))


# -- roles ------------------------------------------------------------------------------


def _roles_page(request: Request, uow: Any, form: dict[str, Any], errors: dict[str, str], status: int = 200) -> Response[str]:
    catalogue = sorted(uow.roles.known_permissions().items(), key=lambda item: (item[1][0] != "core", item[1][0], item[0]))
    return page(request, uow, "core/web/admin/roles.html", status=status, roles=uow.roles.list(), catalogue=catalogue,
                form=form, errors=errors)


@get("/admin/roles", name="admin_roles")
def roles(request: Request) -> Response[str]:
    with web_uow(request) as uow:
        uow.require("roles.manage")
        return _roles_page(request, uow, {}, {})


@post("/admin/roles")
def role_add(request: Request, data: Form) -> Response[str]:
    _ = translator(request)
    with web_uow(request, data) as uow:
        uow.require("roles.manage")
        added, errors = attempt(uow, uow.roles.add, form_value(data, "name"), form_list(data, "permissions"))
        if errors:
            if "permission" in errors:
                errors.setdefault("permissions", errors.pop("permission"))
            return _roles_page(request, uow, {**data, "permissions": form_list(data, "permissions")}, errors, status=422)
    return redirect(request, "/admin/roles", _("Role %(name)s added.", name=added.name))


def _change_role(request: Request, data: Form, change: str) -> Response[str]:
    """Grant or revoke: ``change`` is the RoleService method."""
    _ = translator(request)
    with web_uow(request, data) as uow:
        uow.require("roles.manage")
        name, permission = form_value(data, "role"), form_value(data, "permission")
        _changed, errors = attempt(uow, getattr(uow.roles, change), name, permission)
        if errors:
            return _roles_page(request, uow, {"role": name}, {f"{change}:{name}": "; ".join(errors.values())}, status=422)
    message = _("%(role)s may now %(permission)s.", role=name, permission=permission) if change == "grant" \
        else _("%(role)s may no longer %(permission)s.", role=name, permission=permission)
    return redirect(request, "/admin/roles", message)


@post("/admin/roles/grant")
def role_grant(request: Request, data: Form) -> Response[str]:
    return _change_role(request, data, "grant")


@post("/admin/roles/revoke")
def role_revoke(request: Request, data: Form) -> Response[str]:
    return _change_role(request, data, "revoke")


# -- plugins ------------------------------------------------------------------------------


def _plugin_rows(uow: Any, departments: Iterable[Any]) -> list[dict[str, Any]]:
    """Per plugin: the setting for everyone, and per department whether it
    is on there and whether that department says so itself or inherits it."""
    explicit = uow.plugin_settings.explicit()
    disabled = {d.id: uow.plugin_settings.disabled_for(d.id) for d in departments}
    rows = []
    for info in sorted(uow.crm.plugins.infos.values(), key=lambda i: i.name):
        rows.append({
            "info": info,
            "everyone": explicit.get((info.name, None), True),
            "cells": {d_id: {"enabled": info.name not in off, "explicit": (info.name, d_id) in explicit}
                      for d_id, off in disabled.items()},
        })
    return rows


@get("/admin/plugins", name="admin_plugins")
def plugins(request: Request) -> Response[str]:
    with web_uow(request) as uow:
        uow.require("plugins.manage")
        tree = department_tree(uow)
        return page(request, uow, "core/web/admin/plugins.html", tree=tree,
                    rows=_plugin_rows(uow, [d for d, _depth in tree]))


@post("/admin/plugins")
def plugin_set(request: Request, data: Form) -> Response[str]:
    """Switch a plugin on or off for everyone or for one department (and the
    departments below it that say nothing themselves)."""
    _ = translator(request)
    with web_uow(request, data) as uow:
        uow.require("plugins.manage")
        name, enabled = form_value(data, "plugin"), form_value(data, "enabled") == "1"
        department = uow.departments.get(form_value(data, "department")) if form_value(data, "department") else None
        uow.plugin_settings.set(name, enabled, department.id if department else None)
    where = department.name if department else _("everyone")
    message = _("%(plugin)s enabled for %(where)s.", plugin=name, where=where) if enabled \
        else _("%(plugin)s disabled for %(where)s.", plugin=name, where=where)
    return redirect(request, "/admin/plugins", message)


HANDLERS: list[Any] = [admin_index, departments, department_add, users, user_add, user_deactivate_form, user_deactivate,
                       roles, role_add, role_grant, role_revoke, plugins, plugin_set]

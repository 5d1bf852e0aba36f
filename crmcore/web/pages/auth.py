"""Logging in and out, and choosing the language."""

from __future__ import annotations

import hmac
import secrets
from typing import Any
from urllib.parse import urlsplit

from litestar import Request, Response
from litestar.datastructures import Cookie
from litestar.params import FromQuery

from crmcore.tokens import AuthenticationFailed, PasswordService
from crmcore.web.i18n import LOCALES, negotiate
from crmcore.web.routes import Form, get, post
from crmcore.web.sessions import MAX_AGE, WebSessions
from crmcore.web.site import (CSRF_FIELD, SESSION_COOKIE, CSRFRejected, LoginRequired, form_value, is_https, page, redirect,
                              translator, web_uow)


def _safe_next(target: str | None) -> str:
    """Only a path on this site: no open redirect through ``?next=``."""
    if not target:
        return "/"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


LOGIN_CSRF_COOKIE = "crm_login_csrf"


def _login_page(request: Request, *, status: int = 200, **context: Any) -> Response[str]:
    """The login form, with a form token bound to this browser (a cookie),
    so no other site can log the browser in as someone else."""
    token = request.cookies.get(LOGIN_CSRF_COOKIE) or secrets.token_urlsafe(32)
    response = page(request, None, "core/web/login.html", status=status, csrf_token=token, **context)
    response.set_cookie(Cookie(key=LOGIN_CSRF_COOKIE, value=token, path="/", httponly=True, samesite="strict",
                               secure=is_https(request)))
    return response


def _login_csrf_ok(request: Request, data: Form) -> bool:
    expected = request.cookies.get(LOGIN_CSRF_COOKIE) or ""
    return bool(expected) and hmac.compare_digest(form_value(data, CSRF_FIELD), expected)


@get("/login", name="login")
def login_form(request: Request, next: FromQuery[str | None] = None) -> Response[str]:
    return _login_page(request, next=_safe_next(next), username="", failed="")


@post("/login")
def login(request: Request, data: Form) -> Response[str]:
    """Password login; failures are counted (lockout) and audited."""
    crm = request.app.state["crm"]
    username, password = form_value(data, "username"), str(data.get("password") or "")
    target = _safe_next(form_value(data, "next"))
    _ = translator(request)
    if not _login_csrf_ok(request, data):
        return _login_page(request, status=403, next=target, username=username,
                           failed=_("The form expired. Please log in again."))
    from crmcore.api.auth import database_turn

    failed = None
    with database_turn(request.app.state), crm.unit_of_work() as uow:
        try:
            user = PasswordService(uow).login(username, password)
        except AuthenticationFailed as error:
            failed = str(error)  # the unit of work commits: the failure is counted
        else:
            chosen = request.cookies.get("crm_lang")
            locale = uow.users.locale(user.id) or (chosen if chosen in LOCALES else None) \
                or negotiate(request.headers.get("accept-language"))
            token, _session = WebSessions(uow).start(user.id, locale, request.headers.get("user-agent"))
    if failed is not None:
        message = _("Account locked after repeated failed logins; try again later.") if "locked" in failed \
            else _("Wrong username or password.")
        return _login_page(request, status=401, next=target, username=username, failed=message)
    response = redirect(request, target)
    secure = is_https(request) or crm.config.secure_cookies
    response.set_cookie(Cookie(key=SESSION_COOKIE, value=token, path="/", httponly=True, samesite="lax", secure=bool(secure),
                               max_age=int(MAX_AGE.total_seconds())))
    return response


@post("/logout")
def logout(request: Request, data: Form) -> Response[str]:
    with web_uow(request, data) as uow:
        WebSessions(uow).end(uow.web_session)  # type: ignore[attr-defined]
        uow.audit.record("user", uow.actor.username, "logout", {})
    response = redirect(request, "/login")
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@post("/language")
def language(request: Request, data: Form) -> Response[str]:
    """Switch language: for a logged-in user it is remembered (and used on
    every device); on the login page, for this browser."""
    locale = form_value(data, "locale")
    target = _safe_next(form_value(data, "next") or request.headers.get("referer", "/").split(request.url.netloc, 1)[-1])
    if locale not in LOCALES:
        locale = negotiate(request.headers.get("accept-language"))
    if request.cookies.get(SESSION_COOKIE) and not _login_csrf_ok(request, data):
        try:
            with web_uow(request, data) as uow:
                uow.users.set_locale(uow.actor.id, locale)
                WebSessions(uow).set_locale(uow.web_session, locale)  # type: ignore[attr-defined]
        except LoginRequired:
            pass  # an expired session: the choice is kept for this browser only
    elif not _login_csrf_ok(request, data):
        raise CSRFRejected()
    response = redirect(request, target)
    response.set_cookie(Cookie(key="crm_lang", value=locale, path="/", samesite="lax", secure=is_https(request),
                               max_age=365 * 24 * 3600))
    return response


HANDLERS: list[Any] = [login_form, login, logout, language]

"""The web interface's routes inside the API's Litestar application: the
core's pages at ``/``, each plugin's under ``/<plugin>/``, static files under
``/static/``, with HTML error pages and security headers."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from litestar import Request, Response, Router
from litestar.exceptions import HTTPException
from litestar.static_files import create_static_files_router

from crmcore.errors import Conflict, HookFailed, NotFound, PermissionDenied, ValidationError
from crmcore.web.site import CSRFRejected, LoginRequired, page, translator

if TYPE_CHECKING:
    from crmcore.app import CRM

STATIC = Path(__file__).parent / "static"
log = logging.getLogger("crmcore.web")

SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
                               "script-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'self'",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}


def _error_page(request: Request, status: int, title: str, detail: str) -> Response[str]:
    try:
        return page(request, None, "core/web/error.html", status=status, title=title, detail=detail)
    except Exception:  # the error page must not fail: fall back to plain text
        log.exception("rendering the error page failed")
        return Response(f"{title}\n{detail}", status_code=status, media_type="text/plain; charset=utf-8")


def _login_required(request: Request, _error: Exception) -> Response[str]:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    if request.headers.get("x-crm-fragment"):
        return Response("", status_code=401, headers={"HX-Redirect": "/login"})
    return Response("", status_code=303, headers={"Location": f"/login?next={quote(target, safe='')}"})


def _handle(request: Request, error: Exception) -> Response[str]:
    _ = translator(request)
    if isinstance(error, CSRFRejected):
        return _error_page(request, 403, _("Form expired"), _("The form was sent without its security token, or from an "
                                                            "old page. Go back, reload the page and try again."))
    if isinstance(error, NotFound):
        return _error_page(request, 404, _("Not found"), _("This page does not exist, or it is not yours to see."))
    if isinstance(error, PermissionDenied):
        return _error_page(request, 403, _("Not allowed"), _("You need the permission %(permission)s for this.",
                                                                 permission=error.permission))
    if isinstance(error, ValidationError):
        return _error_page(request, 422, _("Not saved"), "; ".join(error.errors))
    if isinstance(error, Conflict):
        return _error_page(request, 409, _("Not saved"), str(error))
    if isinstance(error, HTTPException):
        if error.status_code == 404:
            return _error_page(request, 404, _("Not found"), _("This page does not exist, or it is not yours to see."))
        return _error_page(request, error.status_code, _("Bad request"), str(error.detail))
    if isinstance(error, HookFailed):
        log.error("%s", error)
        return _error_page(request, 500, _("Not saved"), str(error))
    log.exception("web page failed", exc_info=error)
    return _error_page(request, 500, _("Something went wrong"), _("Nothing was saved. The error was logged."))


EXCEPTION_HANDLERS: dict[Any, Any] = {LoginRequired: _login_required, Exception: _handle}


async def _security_headers(response: Response) -> Response:
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    return response


def web_routers(crm: "CRM") -> list[Any]:
    """The core's pages, each plugin's pages and the static files."""
    from crmcore.web.pages import core_pages

    routers: list[Any] = [Router(path="/", route_handlers=core_pages(), exception_handlers=EXCEPTION_HANDLERS,
                                 after_request=_security_headers, include_in_schema=False)]
    by_plugin: dict[str, list[Any]] = {}
    for plugin, handler in crm.plugins.registrations.pages:
        by_plugin.setdefault(plugin, []).append(handler)
    for plugin, handlers in sorted(by_plugin.items()):
        routers.append(Router(path=f"/{plugin}", route_handlers=handlers, exception_handlers=EXCEPTION_HANDLERS,
                              after_request=_security_headers, include_in_schema=False,
                              opt={"crm_plugin": plugin}))
    directories = [STATIC]
    routers.append(create_static_files_router(path="/static", directories=directories, include_in_schema=False,
                                              cache_control=None, name="static"))
    return routers

"""Errors as ``application/problem+json`` (RFC 9457), with the field and
the reason of every problem.

=====================================  ======
what went wrong                        status
=====================================  ======
malformed request (JSON, types, a      400
parameter out of range, a bad cursor)
no or an invalid/expired/revoked       401
token, wrong password, locked account
missing permission or token scope      403
not found, outside the caller's        404
department scope, plugin disabled
clashes with the current state         409
(cancelled customer, key in use)
well-formed but refused by the CRM's   422
rules (crmcore.ValidationError)
=====================================  ======
"""

from __future__ import annotations

import logging

import msgspec
from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException

from crmcore.errors import Conflict, CRMError, HookFailed, NotFound, PermissionDenied, ValidationError
from crmcore.tokens import AuthenticationFailed

PROBLEM_MEDIA_TYPE = "application/problem+json"
log = logging.getLogger("crmcore.api")


class FieldProblem(msgspec.Struct, omit_defaults=True):
    """One problem with one field (or with the request as a whole when ``field`` is empty)."""

    reason: str
    field: str | None = None


class Problem(msgspec.Struct, omit_defaults=True):
    """An RFC 9457 problem detail."""

    type: str
    title: str
    status: int
    detail: str | None = None
    instance: str | None = None
    errors: list[FieldProblem] | None = None
    permission: str | None = None


TITLES = {400: "Bad request", 401: "Not authenticated", 403: "Forbidden", 404: "Not found", 405: "Method not allowed",
          409: "Conflict", 413: "Request too large", 415: "Unsupported media type", 422: "Unprocessable content",
          429: "Too many requests", 500: "Internal server error"}
TYPES = {400: "bad-request", 401: "unauthenticated", 403: "forbidden", 404: "not-found", 405: "method-not-allowed",
         409: "conflict", 422: "validation-error", 500: "server-error"}


def problem_response(request: Request | None, status: int, detail: str | None = None, *, errors: list[FieldProblem] | None = None,
                     permission: str | None = None, headers: dict[str, str] | None = None) -> Response[Problem]:
    body = Problem(type=f"https://crmcore.dev/problems/{TYPES.get(status, 'error')}", title=TITLES.get(status, "Error"),
                   status=status, detail=detail, instance=str(request.url.path) if request is not None else None,
                   errors=errors or None, permission=permission)
    return Response(body, status_code=status, media_type=PROBLEM_MEDIA_TYPE, headers=headers)


def field_problems(messages: list[str]) -> list[FieldProblem]:
    """``"field: problem"`` messages (how the core words them) split in two."""
    found = []
    for message in messages:
        name, sep, reason = message.partition(": ")
        if sep and name and " " not in name.strip():
            found.append(FieldProblem(field=name.strip(), reason=reason))
        else:
            found.append(FieldProblem(reason=message))
    return found


def handle(request: Request, error: Exception) -> Response[Problem]:
    """The one exception handler of the API."""
    from sqlalchemy.exc import DataError, IntegrityError

    if isinstance(error, AuthenticationFailed):
        return problem_response(request, 401, str(error), headers={"WWW-Authenticate": 'Bearer realm="crm"'})
    if isinstance(error, ValidationError):
        return problem_response(request, 422, str(error), errors=field_problems(error.errors))
    if isinstance(error, NotFound):
        return problem_response(request, 404, str(error))
    if isinstance(error, PermissionDenied):
        return problem_response(request, 403, str(error), permission=error.permission)
    if isinstance(error, Conflict):
        return problem_response(request, 409, str(error))
    if isinstance(error, HookFailed):
        log.error("%s", error, exc_info=error)
        return problem_response(request, 500, str(error))
    if isinstance(error, CRMError):
        return problem_response(request, 422, str(error), errors=field_problems([str(error)]))
    if isinstance(error, ValidationException):
        extra = error.extra if isinstance(error.extra, list) else []
        errors = [FieldProblem(field=str(item.get("key")) if isinstance(item, dict) and item.get("key") else None,
                               reason=str(item.get("message", item)) if isinstance(item, dict) else str(item)) for item in extra]
        return problem_response(request, 400, error.detail, errors=errors)
    if isinstance(error, HTTPException):
        headers = dict(error.headers or {})
        if error.status_code == 401:
            headers.setdefault("WWW-Authenticate", 'Bearer realm="crm"')
        status = error.status_code if error.status_code in TITLES or 400 <= error.status_code < 600 else 500
        return problem_response(request, status, error.detail, headers=headers)
    if isinstance(error, IntegrityError):
        return problem_response(request, 409, "refused by the database: " + str(error.orig).splitlines()[0])
    if isinstance(error, DataError):
        return problem_response(request, 422, "a value cannot be stored: " + str(error.orig).splitlines()[0])
    log.error("unhandled error on %s %s", request.method, request.url.path, exc_info=error)
    return problem_response(request, 500, "internal error; it has been logged")

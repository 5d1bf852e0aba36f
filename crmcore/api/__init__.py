"""The REST API (``crm serve``): Litestar on uvicorn, stateless, one unit of
work per request through the same services as the CLI.

For plugin authors, everything needed to add endpoints::

    from litestar import Request, get
    from crmcore.api import request_uow

    @get("/members/{customer_id:int}", summary="A member's card and points")
    def member(request: Request, customer_id: int) -> MemberOut:
        with request_uow(request) as uow:          # authenticates, checks scope and enablement
            return MemberOut(**uow.service("membership").summary(customer_id))

    @crmcore.hookimpl
    def crm_register_routes(register):
        register(member)                          # served at /api/v1/membership/members/{id}

See docs/api.md. Importing this package is cheap; Litestar loads with
:func:`create_app` and :func:`request_uow`.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_EXPORTS = {
    "create_app": "crmcore.api.app",
    "request_uow": "crmcore.api.auth",
    "Problem": "crmcore.api.problems",
    "FieldProblem": "crmcore.api.problems",
    "PROBLEM_MEDIA_TYPE": "crmcore.api.problems",
    "API_PREFIX": "crmcore.api.app",
}

__all__ = list(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'crmcore.api' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value

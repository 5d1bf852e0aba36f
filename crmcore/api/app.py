"""The Litestar application: the core's resources and every plugin's
routes under ``/api/v1``, problem+json errors, OpenAPI 3.1 at
``/api/schema`` (Swagger UI at ``/api/schema/swagger``, Scalar at
``/api/schema/scalar``).

Stateless: the app holds the CRM (engine and plugins) and nothing else;
each request is one unit of work, so several processes or hosts can serve
one PostgreSQL database.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from litestar import Litestar, Request, Response, Router, get
from litestar.connection import ASGIConnection
from litestar.handlers import BaseRouteHandler
from litestar.middleware import DefineMiddleware
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import JsonRenderPlugin, ScalarRenderPlugin, SwaggerRenderPlugin, YamlRenderPlugin
from litestar.openapi.spec import (
    Components,
    OpenAPIMediaType,
    OpenAPIResponse,
    OpenAPIType,
    Reference,
    Schema,
    SecurityScheme,
    Tag,
)

import crmcore
from crmcore.api.auth import IdempotencyMiddleware, Replay, bearer_token
from crmcore.api.problems import PROBLEM_MEDIA_TYPE, handle

if TYPE_CHECKING:
    from crmcore.app import CRM

API_PREFIX = "/api/v1"
SCHEMA_PATH = "/api/schema"

ERROR_DESCRIPTIONS = {
    400: "Malformed request: JSON, a parameter's type or range, a bad cursor",
    401: "No valid token (missing, unknown, expired, revoked) or a failed login",
    403: "The user lacks a permission, or the token a scope",
    404: "Not found, outside the caller's department scope, or the plugin is disabled for the caller",
    409: "Clashes with the current state (a cancelled customer, an Idempotency-Key in use)",
    422: "Well-formed but refused by the CRM's rules; errors[] names each field and reason",
}


def _replay(_request: Request, replay: Replay) -> Response[bytes]:
    return Response(replay.body, status_code=replay.status_code, media_type=replay.content_type or "application/json",
                    headers={"Idempotent-Replayed": "true"})


def _bearer_guard(connection: ASGIConnection, _handler: BaseRouteHandler) -> None:
    """Plugin routes refuse requests without a Bearer token before their
    handler runs (the handler's ``request_uow`` checks the token itself)."""
    bearer_token(connection)  # type: ignore[arg-type]


@get("/api/ping", summary="A constant answer (liveness; the benchmark's baseline)", tags=["meta"], include_in_schema=True,
     security=[{}])
async def ping() -> dict[str, str]:
    return {"status": "ok"}


@get("/healthz", summary="Health: database, migrations, plugins, outbox (503 when any check fails)", tags=["meta"],
     security=[{}], sync_to_thread=True)
def healthz(request: Request) -> Response[dict[str, Any]]:
    from crmcore.health import check, healthy

    checks = check(request.app.state["crm"])
    ok = healthy(checks)
    body = {"status": "ok" if ok else "fail", "checks": [c.as_dict() for c in checks]}
    return Response(body, status_code=200 if ok else 503)


@get("/metrics", summary="Prometheus metrics: requests, latencies, outbox depth, hook errors", tags=["meta"],
     security=[{}], sync_to_thread=True, media_type="text/plain; version=0.0.4")
def metrics(request: Request) -> str:
    from sqlalchemy import func, select

    from crmcore.metrics import exposition
    from crmcore.storage.tables import outbox

    with request.app.state["crm"].engine.connect() as connection:
        counts = dict(connection.execute(select(outbox.c.status, func.count()).group_by(outbox.c.status)).all())
    return exposition({status: counts.get(status, 0) for status in ("pending", "sent", "failed", "cancelled")})


def metrics_middleware(app: Any) -> Any:
    """Counts every request and its latency by route template."""
    import time

    from crmcore.metrics import record_request

    async def middleware(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        started, status = time.perf_counter(), [500]

        async def remember(message: Any) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        try:
            await app(scope, receive, remember)
        finally:
            handler = scope.get("route_handler")
            route = sorted(handler.paths)[0] if handler is not None and getattr(handler, "paths", None) else "unmatched"
            record_request(scope.get("method", "GET"), route, status[0], time.perf_counter() - started)

    return middleware


def plugin_routers(crm: "CRM") -> list[Router]:
    """One router per plugin that registered routes, at ``/api/v1/<plugin>``."""
    by_plugin: dict[str, list[Any]] = {}
    for plugin, handler in crm.plugins.registrations.routes:
        by_plugin.setdefault(plugin, []).append(handler)
    return [Router(path=f"{API_PREFIX}/{plugin}", route_handlers=handlers, guards=[_bearer_guard], tags=[plugin],
                   opt={"crm_area": plugin, "crm_plugin": plugin})
            for plugin, handlers in sorted(by_plugin.items())]


def create_app(crm: "CRM", *, debug: bool = False) -> Litestar:
    """The ASGI application serving ``crm``."""
    from crmcore.api.resources import core_router
    from crmcore.web.app import web_routers

    core = Router(path=API_PREFIX, route_handlers=[core_router()], opt={})
    openapi = OpenAPIConfig(
        title="crmcore API",
        version=crmcore.__version__,
        description=(
            "The integrators' interface of crmcore: customers, contacts, activities, imports, organisation, "
            "webhooks and every installed plugin's resources. Authenticate with `Authorization: Bearer <token>` "
            "(`crm token create`, or POST /api/v1/auth/token with a password). Errors are application/problem+json "
            "(RFC 9457). POSTs accept an `Idempotency-Key` header: a repeat returns the first response."
        ),
        path=SCHEMA_PATH,
        render_plugins=[JsonRenderPlugin(path=["/", "/openapi.json"]), YamlRenderPlugin(), SwaggerRenderPlugin(),
                        ScalarRenderPlugin()],
        components=Components(security_schemes={"bearerAuth": SecurityScheme(
            type="http", scheme="bearer", description="A token from `crm token create` or POST /api/v1/auth/token")}),
        security=[{"bearerAuth": []}],
        tags=[Tag(name="customers"), Tag(name="contacts"), Tag(name="activities"), Tag(name="imports"),
              Tag(name="organisation"), Tag(name="auth"), Tag(name="webhooks"), Tag(name="meta")],
        use_handler_docstrings=True,
    )
    import threading

    from litestar.datastructures import State

    state = State({"crm": crm, "crm_sqlite_lock": threading.Lock() if crm.engine.dialect.name == "sqlite" else None})
    app = Litestar(
        route_handlers=[ping, healthz, metrics, core, *plugin_routers(crm), *web_routers(crm)],
        exception_handlers={Replay: _replay, Exception: handle},
        middleware=[metrics_middleware, DefineMiddleware(IdempotencyMiddleware, crm=crm, app_state=state)],
        openapi_config=openapi,
        state=state,
        debug=debug,
    )
    _complete_schema(app)
    return app


def _complete_schema(app: Litestar) -> None:
    """Every operation under /api/v1 documents its problem responses, the
    Idempotency-Key of POSTs and the Bearer requirement (plugin handlers get
    them too, without writing them)."""
    from litestar.openapi.spec import Parameter

    schema = app.openapi_schema
    components = schema.components
    components.schemas = dict(components.schemas or {})
    components.schemas["FieldProblem"] = Schema(
        type=OpenAPIType.OBJECT, required=["reason"],
        properties={"field": Schema(type=OpenAPIType.STRING, description="The field, or absent for the request as a whole"),
                    "reason": Schema(type=OpenAPIType.STRING)})
    components.schemas["Problem"] = Schema(
        type=OpenAPIType.OBJECT, required=["type", "title", "status"], description="RFC 9457 problem details",
        properties={"type": Schema(type=OpenAPIType.STRING), "title": Schema(type=OpenAPIType.STRING),
                    "status": Schema(type=OpenAPIType.INTEGER), "detail": Schema(type=OpenAPIType.STRING),
                    "instance": Schema(type=OpenAPIType.STRING),
                    "errors": Schema(type=OpenAPIType.ARRAY, items=Reference(ref="#/components/schemas/FieldProblem")),
                    "permission": Schema(type=OpenAPIType.STRING, description="The missing permission or scope (403)")})
    _closed_bodies(components.schemas)
    problem = {PROBLEM_MEDIA_TYPE: OpenAPIMediaType(schema=Reference(ref="#/components/schemas/Problem"))}
    for path, item in (schema.paths or {}).items():
        if not path.startswith(API_PREFIX):
            continue
        for method in ("get", "post", "put", "patch", "delete"):
            operation = getattr(item, method, None)
            if operation is None:
                continue
            responses = dict(operation.responses or {})
            public = operation.security == [{}]
            for status, description in ERROR_DESCRIPTIONS.items():
                if status == 409 and method == "get":
                    continue
                responses[str(status)] = OpenAPIResponse(description=description, content=problem)
            if not public:
                responses["401"].headers = None
            operation.responses = responses
            if method == "post":
                parameters = list(operation.parameters or [])
                if not any(getattr(p, "name", "").lower() == "idempotency-key" for p in parameters):
                    parameters.append(Parameter(
                        name="Idempotency-Key", param_in="header", required=False,
                        schema=Schema(type=OpenAPIType.STRING, max_length=200),
                        description="Send the same key to repeat a POST safely: the first response is returned again "
                                    "(with Idempotent-Replayed: true), kept 24 hours per user and key"))
                operation.parameters = parameters


def _closed_bodies(schemas: dict[str, Any]) -> None:
    """Request bodies that refuse unknown fields say so (``additionalProperties: false``)."""
    import msgspec

    from crmcore.api import schemas as bodies

    for name, value in vars(bodies).items():
        if isinstance(value, type) and issubclass(value, msgspec.Struct) and value.__struct_config__.forbid_unknown_fields:
            schema = schemas.get(name)
            if isinstance(schema, Schema):
                schema.additional_properties = False

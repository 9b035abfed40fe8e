"""Mounting generated routers: error handlers, 404/405, validation codes, guards, middleware."""

from collections.abc import Callable, Coroutine, Iterable, Iterator, Mapping
from http import HTTPStatus
from pathlib import Path
from typing import Any

import fastapi.routing
from fastapi import APIRouter, FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route
from starlette.types import Scope

from kontrakt.runtime.server._guard import Guard
from kontrakt.runtime.server.auth import Authenticator
from kontrakt.runtime.server.batch import BatchLimit
from kontrakt.runtime.server.codes import ErrorTable, MissingTriggerError
from kontrakt.runtime.server.config import (
    DEFAULT_SENSITIVE_HEADERS,
    ServerConfig,
    operation_id_of,
)
from kontrakt.runtime.server.errors import ApiProblem, Code, ErrorItem, ErrorStyle, render_errors
from kontrakt.runtime.server.middleware import BodyLimitMiddleware, ServerErrorMiddleware
from kontrakt.runtime.server.negotiation import ContentTypeGuard, Negotiator
from kontrakt.runtime.server.params import BodyReader, QueryParam

__all__ = [
    "KontraktRoute",
    "create_app",
    "create_router",
    "install",
    "required_triggers",
]

# Statuses a handler may raise as a plain HTTPException, and the trigger whose code they carry.
_STATUS_TRIGGER: Mapping[int, str] = {
    400: "invalid-body",  # Starlette's "error parsing the body"
    401: "unauthenticated",
    403: "forbidden",
    404: "not-found",
    405: "method-not-allowed",
    406: "not-acceptable",
    409: "conflict",
    413: "payload-too-large",
    415: "unsupported-media-type",
    422: "unprocessable",
    429: "rate-limited",
    500: "server-error",
    502: "upstream-error",
    503: "unavailable",
}


def _dependants(dependant: Dependant) -> Iterator[Dependant]:
    yield dependant
    for child in dependant.dependencies:
        yield from _dependants(child)


def route_guards(dependant: Dependant) -> tuple[Guard[Any], ...]:
    """The guards among a route's dependencies, in the order they run (authentication first)."""
    seen: dict[int, Guard[Any]] = {}
    for node in _dependants(dependant):
        if isinstance(node.call, Guard):
            seen.setdefault(id(node.call), node.call)
    return tuple(sorted(seen.values(), key=lambda guard: guard.priority))


def _effective_routes(app: FastAPI) -> Iterator[tuple[BaseRoute, Any]]:
    """Every route with the view that includes router prefixes and dependencies.

    FastAPI 0.16x keeps included routers nested and exposes the effective routes through
    `iter_route_contexts`; older versions copy routes into the app's router.
    """
    iterate = getattr(fastapi.routing, "iter_route_contexts", None)
    if iterate is None:
        for route in app.router.routes:
            yield route, route
        return
    for context in iterate(app.router.routes):
        yield context.original_route, context


def _route_path(scope: Scope) -> str:
    path: str = scope["path"]
    root = scope.get("root_path", "")
    if root and path.startswith(root) and (path == root or path[len(root)] == "/"):
        return path[len(root) :]
    return path


class KontraktRoute(APIRoute):
    """An APIRoute that runs its guards (auth, Accept, Content-Type) before reading the body."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        # The route's own dependencies: what generated code declares. Guards added only at
        # include_router() time still run, as ordinary dependencies.
        guards = route_guards(self.dependant)
        if not guards:
            return handler

        async def guarded(request: Request) -> Response:
            for guard in guards:
                await guard.resolve(request)
            return await handler(request)

        return guarded


def create_router(**kwargs: Any) -> APIRouter:
    """An APIRouter whose routes are `KontraktRoute`s (what generated routers start from)."""
    kwargs.setdefault("route_class", KontraktRoute)
    return APIRouter(**kwargs)


def _config(request: Request) -> ServerConfig:
    config = getattr(request.app.state, "kontrakt", None)
    if not isinstance(config, ServerConfig):
        raise RuntimeError("kontrakt server runtime not installed on this app (call install())")
    return config


# --- exception handlers -----------------------------------------------------------------------


async def _on_problem(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiProblem)
    return _config(request).render_problem(exc, operation_id_of(request))


def _location(loc: tuple[Any, ...], body: Any = None) -> tuple[int | None, str | None]:
    """A body error location as (batch index, dotted field): ("body", 3, "a", 0, "b").

    With the request `body`, a segment naming no member of the object it stands in, and not the
    last one, is pydantic's tag of a union member (`vessel.Vessel1.imoNumber`) and is dropped.
    """
    rest = list(loc[1:])
    node = body
    index = rest.pop(0) if rest and isinstance(rest[0], int) else None
    if index is not None:
        node = node[index] if isinstance(node, list) and index < len(node) else None
    field = ""
    for position, part in enumerate(rest):
        if isinstance(node, dict) and part not in node and position < len(rest) - 1:
            continue
        field += f"[{part}]" if isinstance(part, int) else (f".{part}" if field else str(part))
        if isinstance(node, dict):
            node = node.get(part)
        elif isinstance(node, list) and isinstance(part, int) and part < len(node):
            node = node[part]
        else:
            node = None
    return index, field or None


def _member(field: str | None) -> str | None:
    """The top-level member of a dotted body location: `a[0].b` -> `a`."""
    if not field:
        return None
    return field.split(".", 1)[0].split("[", 1)[0] or None


async def _on_validation(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    config = _config(request)
    operation_id = operation_id_of(request)
    status: int | None = None
    items: list[ErrorItem] = []
    for error in exc.errors():
        loc = tuple(error.get("loc", ()))
        kind = str(loc[0]) if loc else "body"
        kind_error = str(error.get("type", ""))
        detail = str(error.get("msg", "invalid"))
        parameter: str | None = None
        situation: str | None = None
        index: int | None = None
        if kind in ("header", "query", "path", "cookie") and len(loc) > 1:
            parameter = field = str(loc[1])
            if kind_error == "missing":
                trigger, situation = "missing-parameter", "missing"
                message = f"The {kind} parameter {parameter} is missing."
            else:
                trigger, situation = "invalid-parameter", "invalid"
                if parameter.casefold() in config.sensitive_headers:
                    detail = "invalid value"
                message = f"The {kind} parameter {parameter} is not valid: {detail}."
        elif kind_error == "json_invalid":
            trigger, situation, field = "invalid-body", "malformed", None
            message = "The request body is not valid JSON."
        else:
            trigger = "invalid-body"
            index, field = _location(loc, exc.body) if kind == "body" else (None, None)
            # The body member that fails (`evidenceRequests` for evidenceRequests[0].name): an
            # invalid-body error use listing it in `parameters` wins (DAN 1001 for requestor).
            parameter = _member(field)
            if field is None and index is None and kind_error == "missing":
                message = "The request body is missing."
            else:
                where = field or "the body"
                at = f" (item {index})" if index is not None else ""
                message = f"The request body is not valid at {where}{at}: {detail}."
        item_status, code = config.resolve(
            trigger, operation_id=operation_id, parameter=parameter, situation=situation
        )
        status = item_status if status is None else status
        items.append(ErrorItem(code, message, field=field, index=index))
    if not items:
        status, code = config.resolve("invalid-body", operation_id=operation_id)
        items.append(ErrorItem(code, "The request is not valid."))
    assert status is not None
    return render_errors(config.style, status, items)


def _allowed_methods(request: Request) -> list[str]:
    """Every method declared on the request's path, across all routes (one per operation)."""
    path = _route_path(request.scope)
    allowed: list[str] = []
    for original, effective in _effective_routes(request.app):
        regex = getattr(effective, "path_regex", None)
        methods = getattr(effective, "methods", None)
        if isinstance(original, Route) and regex is not None and methods and regex.match(path):
            allowed.extend(method for method in methods if method not in allowed)
    return sorted(allowed)


async def _on_http_exception(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    config = _config(request)
    status = exc.status_code
    headers = dict(exc.headers or {})
    trigger = _STATUS_TRIGGER.get(status)
    default_detail = _phrase(status)
    message = exc.detail if exc.detail and exc.detail != default_detail else ""
    if status == 405:
        allowed = _allowed_methods(request)
        if allowed:
            headers["Allow"] = ", ".join(allowed)
            message = message or (
                f"Method {request.method} is not allowed here; use {' or '.join(allowed)}."
            )
    elif status == 404:
        message = message or "No resource exists at this path."
    code: Code | None = None
    operation_id = operation_id_of(request)
    if trigger is not None:
        _, code = config.resolve(trigger, operation_id=operation_id, status=status)
    if code is None:
        for table in config.tables(operation_id):
            code = table.for_status(status)
            if code is not None:
                break
    return render_errors(
        config.style,
        status,
        [ErrorItem(code, message or default_detail)],
        headers=headers or None,
    )


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


# --- installing -------------------------------------------------------------------------------


def _has_params(dependant: Dependant) -> tuple[bool, bool]:
    """(any non-body parameter, any required non-body parameter) over the dependency tree."""
    any_param = required = False
    for node in _dependants(dependant):
        for param in (
            *node.path_params,
            *node.query_params,
            *node.header_params,
            *node.cookie_params,
        ):
            any_param = True
            required = required or param.field_info.is_required()
        if isinstance(node.call, QueryParam):
            any_param = True
            required = required or node.call.required
    return any_param, required


def required_triggers(app: FastAPI) -> dict[str | None, set[str]]:
    """The triggers each operation can answer through the runtime (None: the whole app)."""
    needed: dict[str | None, set[str]] = {None: {"server-error"}}
    for original, route in _effective_routes(app):
        if not isinstance(original, APIRoute):
            continue
        dependant: Dependant = route.dependant or original.dependant
        triggers = needed.setdefault(route.operation_id or route.name, set())
        needed[None].add("method-not-allowed")
        any_param, required = _has_params(dependant)
        if any_param:
            triggers.add("invalid-parameter")
        if required:
            triggers.add("missing-parameter")
        if route.body_field is not None or any(
            isinstance(node.call, BodyReader) for node in _dependants(dependant)
        ):
            triggers.add("invalid-body")
        for guard in route_guards(dependant):
            if isinstance(guard, Authenticator):
                if guard.authenticates:
                    triggers.add("unauthenticated")
                if guard.authorises:
                    triggers.add("forbidden")
            elif isinstance(guard, Negotiator):
                triggers.add("not-acceptable")
            elif isinstance(guard, ContentTypeGuard):
                triggers.add("unsupported-media-type")
            elif isinstance(guard, BatchLimit):
                triggers.add("payload-too-large")
    return needed


def _check(app: FastAPI, config: ServerConfig) -> None:
    problems: list[str] = []
    if config.max_body_size is not None and config.table.find("payload-too-large") is None:
        problems.append("payload-too-large (the body cap)")
    for operation, triggers in required_triggers(app).items():
        tables = config.tables(operation)
        for trigger in sorted(triggers):
            if all(table.find(trigger) is None for table in tables):
                where = f"operation {operation}" if operation else "the API"
                problems.append(f"{trigger} ({where})")
    if problems:
        raise MissingTriggerError(problems)


def install(app: FastAPI, config: ServerConfig, *, check: bool = True) -> None:
    """Wire the runtime into `app`: exception handlers, body cap, last-resort 500.

    With `check`, every trigger the app's routes can answer must resolve to a code in the
    document (`MissingTriggerError` otherwise), so a gap shows when the server is built, not when
    a client first hits it. Call after including the routers and before the app starts.
    """
    if check:
        _check(app, config)
    app.state.kontrakt = config
    app.add_exception_handler(ApiProblem, _on_problem)
    app.add_exception_handler(RequestValidationError, _on_validation)
    app.add_exception_handler(StarletteHTTPException, _on_http_exception)
    app.add_middleware(ServerErrorMiddleware, config=config)
    if config.max_body_size is not None:
        # Added last, so it runs first: an oversized body is refused before any other work.
        app.add_middleware(BodyLimitMiddleware, config=config)


def _serve_document(app: FastAPI, document: Path) -> None:
    """GET /openapi.json answers with the source document (read once, on first request)."""
    for original, effective in _effective_routes(app):
        regex = getattr(effective, "path_regex", None)
        if isinstance(original, Route) and regex is not None and regex.match("/openapi.json"):
            return  # the API's own route at that path wins
    cached: list[bytes] = []

    async def openapi_document(request: Request) -> Response:
        if not cached:
            cached.append(document.read_bytes())
        return Response(cached[0], media_type="application/json")

    app.router.add_route("/openapi.json", openapi_document, methods=["GET"])


def create_app(
    routers: Iterable[APIRouter],
    error_style: ErrorStyle,
    error_table: ErrorTable,
    *,
    operation_tables: Mapping[str, ErrorTable] | None = None,
    max_body_size: int | None = None,
    sensitive_headers: Iterable[str] = DEFAULT_SENSITIVE_HEADERS,
    check: bool = True,
    document: Path | None = None,
    **fastapi_kwargs: Any,
) -> FastAPI:
    """A FastAPI app serving the generated routers with the API's own errors.

    FastAPI's own /docs, /redoc and /openapi.json are off unless asked for: the contract is the
    authored document, which is what `/openapi.json` serves when `document` (a JSON file) is
    given, unless the API declares that path itself.
    """
    own_openapi = "openapi_url" in fastapi_kwargs
    for key in ("openapi_url", "docs_url", "redoc_url"):
        fastapi_kwargs.setdefault(key, None)
    app = FastAPI(**fastapi_kwargs)
    for router in routers:
        app.include_router(router)
    if document is not None and not own_openapi:
        _serve_document(app, document)
    config = ServerConfig(
        style=error_style,
        table=error_table,
        operation_tables=dict(operation_tables or {}),
        max_body_size=max_body_size,
        sensitive_headers=frozenset(name.casefold() for name in sensitive_headers),
    )
    install(app, config, check=check)
    return app

"""IR -> what the server and client templates place: every decision about generated code is here.

The templates of ``server.py`` and ``client.py`` need more than the IR states directly: which
parameters the authenticator reads instead of the handler, which media type a body is sent as,
the error tables keyed by trigger, which operation a lifecycle is polled through. This module
derives those values as frozen dataclasses of ready-to-place strings and literals, so that the
templates stay free of logic (`generator.render` passes them on).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace

from kontrakt.generator.ir import (
    Api,
    ErrorUse,
    MediaType,
    Operation,
    Parameter,
    Response,
    Scalar,
    TypeInfo,
)
from kontrakt.generator.naming import pascal_name, unique

__all__ = ["ClientView", "OperationView", "ServerView", "client_view", "server_view"]

# FastAPI's parameter class for each OpenAPI location.
_FASTAPI_PARAM = {"path": "Path", "query": "Query", "header": "Header", "cookie": "Cookie"}

# Keyword names the generated functions use themselves; a parameter with one of them is renamed.
_RESERVED = ("auth", "body", "self", "request", "kontrakt_auth", "kontrakt_media")

ErrorRow = tuple[int, str, tuple[str, ...]] | tuple[int, str, tuple[str, ...], str]


@dataclass(frozen=True)
class ParamView:
    """One parameter as a keyword argument of a handler, route function and client method."""

    name: str  # as the document spells it
    python_name: str
    location: str
    fastapi: str  # Path | Query | Header | Cookie
    annotation: str  # including `| None` when optional
    required: bool
    # Keyword arguments of fastapi.Path/Query/Header/Cookie enforcing the schema's constraints.
    constraints: tuple[tuple[str, Scalar], ...] = ()
    style: str = "form"
    explode: bool = True
    # `object` or `array` when the query value is read and sent per style/explode by the runtime
    # (FastAPI itself only reads exploded form arrays); None for everything FastAPI types itself.
    styled: str | None = None
    # The type the runtime validates a styled value into (the annotation without `| None`).
    model: str = ""
    # The operation's other query parameters, which an exploded form object does not own.
    declared: tuple[str, ...] = ()


@dataclass(frozen=True)
class BodyView:
    annotation: str
    required: bool
    media_types: tuple[str, ...]
    content_type: str  # what the client sends by default
    # (media type, annotation) of every declared representation, in document order.
    types: tuple[tuple[str, str], ...] = ()
    # Read by the runtime's BodyReader (anything but one JSON media type) and sent with
    # `encode_body` by the client, which may pick the media type.
    reader: bool = False

    @property
    def choices(self) -> str:
        """The client's `content_type` annotation: a Literal of the declared media types."""
        return "typing.Literal[" + ", ".join(repr(m) for m in self.media_types) + "]"


@dataclass(frozen=True)
class OperationView:
    operation_id: str
    python_name: str
    handler_class: str
    method: str  # lower case
    method_upper: str
    path: str
    summary: str
    params: tuple[ParamView, ...]
    body: BodyView | None
    status: int
    result: str  # the handler's return annotation (a model, `bytes` or `None`)
    returns_content: bool
    media: tuple[tuple[str, tuple[str, ...]], ...]  # (media type, environments)
    accept: str | None  # what the client asks for
    parser: str  # parse_json(Model) | parse_json_as(special form) | no_content | raw_response

    @property
    def casts(self) -> bool:
        """The client method casts `_request`'s result (a type no `type[T]` carries)."""
        return self.parser.startswith("parse_json_as(")

    client_result: str
    secured: bool
    security: tuple[tuple[tuple[str, tuple[str, ...]], ...], ...]
    roles: tuple[tuple[str, ...], str] | None
    errors: tuple[tuple[str, tuple[ErrorRow, ...]], ...]
    links_pointer: str | None  # x-kontrakt-pagination style links
    # The success response declares headers: the handler may return `rt.Reply(body, headers=...)`.
    reply: bool = False
    required_headers: tuple[str, ...] = ()  # the declared headers marked `required: true`
    # x-kontrakt-batch: (max-items, too-large-status), checked before the body is validated.
    batch: tuple[int, int | None] | None = None
    # The JSON body type a handler's result is checked against (None: nothing to check).
    checked: str | None = None

    @property
    def styled_params(self) -> tuple[ParamView, ...]:
        return tuple(p for p in self.params if p.styled)

    @property
    def path_params(self) -> tuple[ParamView, ...]:
        return tuple(p for p in self.params if p.location == "path")

    @property
    def query_params(self) -> tuple[ParamView, ...]:
        return tuple(p for p in self.params if p.location == "query")

    @property
    def header_params(self) -> tuple[ParamView, ...]:
        return tuple(p for p in self.params if p.location == "header")

    @property
    def cookie_params(self) -> tuple[ParamView, ...]:
        return tuple(p for p in self.params if p.location == "cookie")


@dataclass(frozen=True)
class WaitView:
    """A `wait_for_<lifecycle>` helper: poll one GET operation until a terminal state."""

    lifecycle: str
    python_name: str
    operation: OperationView
    member: str  # the JSON member holding the state
    terminal: tuple[str, ...]
    known: tuple[str, ...]


@dataclass(frozen=True)
class ServerView:
    operations: tuple[OperationView, ...]
    routes: tuple[OperationView, ...]  # the operations in the order their routes are added
    style: tuple[tuple[str, object], ...]  # ErrorStyle keyword arguments
    errors: tuple[tuple[str, tuple[ErrorRow, ...]], ...]
    check: bool
    check_reason: str
    environments: tuple[str, ...]
    default_environment: str
    model_names: tuple[str, ...]


@dataclass(frozen=True)
class ClientView:
    operations: tuple[OperationView, ...]
    code_pointer: str | None
    code_type: str | None
    waits: tuple[WaitView, ...]
    model_names: tuple[str, ...]
    styled: bool = False  # some query parameter is sent per style/explode (`styled`)
    casts: bool = False  # some operation's result is a special form (`parse_json_as`)


def _is_json(media_type: str) -> bool:
    essence = media_type.split(";", 1)[0].strip().lower()
    return essence == "application/json" or (
        essence.startswith("application/") and essence.endswith("+json")
    )


def _json_type(contents: Iterable[MediaType]) -> MediaType | None:
    return next((m for m in contents if _is_json(m.media_type) and m.type is not None), None)


def _annotation(info: TypeInfo, required: bool) -> str:
    if required or info.nullable or info.annotation.endswith("| None"):
        return info.annotation if required else _optional(info.annotation)
    return f"{info.annotation} | None"


def _optional(annotation: str) -> str:
    return (
        annotation
        if annotation.endswith("| None") or annotation == "None"
        else (f"{annotation} | None")
    )


# Primitive annotations by JSON type and format, for parameters whose schema names a model class
# (FastAPI declares query and path parameters only with scalar types or lists of them).
_PRIMITIVE = {
    ("string", "uuid"): "uuid.UUID",
    ("string", "date"): "datetime.date",
    ("string", "date-time"): "datetime.datetime",
    ("integer", None): "int",
    ("number", None): "float",
    ("boolean", None): "bool",
}


def _scalar(info: TypeInfo) -> str:
    """The wire annotation of a parameter value: a primitive instead of a scalar model class."""
    if info.items is not None:
        return f"list[{_scalar(info.items)}]"
    if info.model is None or not info.json_types or info.enum:
        return info.annotation
    kind = info.json_types[0]
    if kind in ("object", "array"):
        return info.annotation
    return _PRIMITIVE.get((kind, info.format), _PRIMITIVE.get((kind, None), "str"))


# JSON Schema keyword -> FastAPI parameter keyword, by the kind of value the annotation declares.
_STRING_CONSTRAINTS = {"pattern": "pattern", "minLength": "min_length", "maxLength": "max_length"}
_NUMBER_CONSTRAINTS = {
    "minimum": "ge",
    "maximum": "le",
    "exclusiveMinimum": "gt",
    "exclusiveMaximum": "lt",
    "multipleOf": "multiple_of",
}
_ARRAY_CONSTRAINTS = {"minItems": "min_length", "maxItems": "max_length"}


def _constraints(info: TypeInfo, annotation: str) -> tuple[tuple[str, Scalar], ...]:
    """The FastAPI keywords enforcing the constraints of a parameter's schema.

    Only where the wire annotation is the plain type the keyword applies to (`str`, `int`,
    `float`, `list[...]`): a `uuid.UUID` or an enum is already checked by its type, and pydantic
    refuses `pattern=` on it. Patterns the engines cannot compile were dropped by the parser.
    """
    base = annotation.removesuffix(" | None")
    if base == "str":
        keywords = _STRING_CONSTRAINTS
    elif base in ("int", "float"):
        keywords = _NUMBER_CONSTRAINTS
    elif base.startswith("list["):
        keywords = _ARRAY_CONSTRAINTS
    else:
        return ()
    found: list[tuple[str, Scalar]] = []
    for key, value in info.constraints:
        keyword = keywords.get(key)
        if keyword is None or value is None or isinstance(value, bool):
            continue
        if keyword == "pattern" and not isinstance(value, str):
            continue
        if keyword != "pattern" and not isinstance(value, int | float):
            continue
        found.append((keyword, value))
    return tuple(found)


def _credential_headers(api: Api) -> frozenset[str]:
    """Headers the authenticator reads: never handler parameters."""
    names = {"authorization"}
    for scheme in api.security_schemes:
        if scheme.kind == "apiKey" and scheme.key_location == "header" and scheme.key_name:
            names.add(scheme.key_name.casefold())
    return frozenset(names)


def _params(api: Api, operation: Operation) -> tuple[ParamView, ...]:
    skip = _credential_headers(api)
    kept: list[Parameter] = [
        p
        for p in operation.parameters
        if p.location in _FASTAPI_PARAM
        and not (p.location == "header" and p.name.casefold() in skip)
    ]
    names = unique((p.python_name for p in kept), taken=_RESERVED)
    views: list[ParamView] = []
    declared = tuple(p.name for p in kept if p.location == "query")
    for p, name in zip(kept, names, strict=True):
        styled: str | None = None
        if p.location != "query" or p.style == "content":
            pass  # a `content` parameter is one serialised value (a JSON text), typed as such
        elif "object" in p.type.json_types:
            styled = "object"
        elif "array" in p.type.json_types and (p.style != "form" or not p.explode):
            styled = "array"
        wire = _scalar(p.type)
        views.append(
            ParamView(
                name=p.name,
                python_name=name,
                location=p.location,
                fastapi=_FASTAPI_PARAM[p.location],
                annotation=_annotation(
                    replace(p.type, annotation=wire), p.required or p.location == "path"
                ),
                required=p.required or p.location == "path",
                constraints=() if styled else _constraints(p.type, wire),
                style=p.style,
                explode=p.explode,
                styled=styled,
                model=wire.removesuffix(" | None"),
                declared=tuple(n for n in declared if n != p.name),
            )
        )
    # Required arguments first, each group in document order.
    return tuple(sorted(views, key=lambda v: not v.required))


def _success(operation: Operation) -> Response | None:
    return next((r for r in operation.responses if r.status.startswith("2")), None)


def _success_contents(operation: Operation) -> tuple[MediaType, ...]:
    success = _success(operation)
    return success.contents if success else ()


def _error_rows(responses: Iterable[Response]) -> dict[str, list[ErrorRow]]:
    table: dict[str, list[ErrorRow]] = {}
    for response in responses:
        if not response.status.isdigit():
            continue
        status = int(response.status)
        for use in response.errors:
            row = _row(status, use)
            rows = table.setdefault(use.trigger, [])
            if row not in rows:
                rows.append(row)
    return table


def _row(status: int, use: ErrorUse) -> ErrorRow:
    if use.situation:
        return (status, use.code, use.parameters, use.situation)
    return (status, use.code, use.parameters)


def _freeze(table: dict[str, list[ErrorRow]]) -> tuple[tuple[str, tuple[ErrorRow, ...]], ...]:
    return tuple((trigger, tuple(rows)) for trigger, rows in table.items())


def _top_level_members(annotation: str) -> list[str]:
    """`A | list[B | C]` -> ["A", "list[B | C]"]: the union members outside brackets."""
    members, depth, current = [], 0, ""
    for char in annotation:
        depth += char == "["
        depth -= char == "]"
        if char == "|" and depth == 0:
            members.append(current.strip())
            current = ""
        else:
            current += char
    members.append(current.strip())
    return members


def _is_class_expression(annotation: str) -> bool:
    """Whether a type checker reads `annotation` as a value of `type[T]` (a class, `list[X]`),
    not a special form (`Literal[...]`, `A | B`, `Annotated[...]`)."""
    members = _top_level_members(annotation)
    if len(members) != 1:
        return False
    head = members[0].split("[", 1)[0]
    return head.rsplit(".", 1)[-1] not in ("Literal", "Annotated", "Union", "Optional", "Any")


def _with_reply(result: str) -> str:
    """`result` or a `rt.Reply` of it, with `None` last (ruff RUF036)."""
    if result == "None":
        return "rt.Reply[None] | None"
    if result.endswith(" | None"):
        return f"{result.removesuffix(' | None')} | rt.Reply[{result}] | None"
    return f"{result} | rt.Reply[{result}]"


def _operation(api: Api, operation: Operation, handler_class: str) -> OperationView:
    success = _success(operation)
    status = int(success.status) if success and success.status.isdigit() else 200
    contents = success.contents if success else ()
    chosen = _json_type(contents)
    if chosen is not None and chosen.type is not None:
        result = chosen.type.annotation
        # `parse_json(Thing | None)` is no `type[T]` to a type checker: the class and a flag.
        if not _is_class_expression(result.removesuffix(" | None")):
            parser = f"parse_json_as({result})"  # the client method casts the result
        elif result.endswith(" | None") and result != "None":
            parser = f"parse_json({result.removesuffix(' | None')}, nullable=True)"
        else:
            parser = f"parse_json({result})"
        client_result = result
        accept: str | None = chosen.media_type
    elif contents:
        result, parser, client_result, accept = "bytes", "raw_response", "httpx.Response", None
    else:
        result, parser, client_result, accept = "None", "no_content", "None", None
    declared = tuple(
        h for h in (success.headers if success else ()) if h.name.casefold() != "content-type"
    )
    if declared:
        result = _with_reply(result)
    body = None
    if operation.request_body is not None:
        request = operation.request_body
        body_type = _json_type(request.contents)
        types = tuple((m.media_type, _body_annotation(m)) for m in request.contents)
        reader = not (len(types) == 1 and body_type is not None)
        if reader:
            distinct = list(dict.fromkeys(a for _, a in types)) or ["bytes"]
            annotation = " | ".join(distinct)
        else:
            annotation = body_type.type.annotation if body_type and body_type.type else "bytes"
        body = BodyView(
            annotation=annotation if request.required else _optional(annotation),
            required=request.required,
            media_types=tuple(m.media_type for m in request.contents),
            content_type=request.contents[0].media_type
            if request.contents
            else "application/octet-stream",
            types=types,
            reader=reader,
        )
    pagination = operation.pagination
    return OperationView(
        operation_id=operation.operation_id,
        python_name=operation.python_name,
        handler_class=handler_class,
        method=operation.method,
        method_upper=operation.method.upper(),
        path=operation.path,
        summary=operation.summary or operation.operation_id,
        params=_params(api, operation),
        body=body,
        status=status,
        result=result,
        returns_content=bool(contents),
        media=tuple((m.media_type, m.environments) for m in contents),
        accept=accept,
        parser=parser,
        client_result=client_result,
        secured=bool(operation.security),
        security=tuple(r.schemes for r in operation.security),
        roles=(operation.roles.any_of, operation.roles.claim or "roles")
        if operation.roles
        else None,
        errors=_freeze(_error_rows(operation.responses)),
        links_pointer=(pagination.links or "/links")
        if pagination is not None and pagination.style == "links"
        else None,
        reply=bool(declared),
        required_headers=tuple(h.name for h in declared if h.required),
        batch=(operation.batch.max_items, operation.batch.too_large_status)
        if operation.batch is not None and body is not None
        else None,
        checked=chosen.type.annotation if chosen is not None and chosen.type is not None else None,
    )


def _body_annotation(media: MediaType) -> str:
    """The type one request representation is read into (and sent from)."""
    essence = media.media_type.split(";", 1)[0].strip().lower()
    if media.type is not None and (
        _is_json(essence)
        or essence in ("application/x-www-form-urlencoded", "multipart/form-data")
        or media.type.model is not None
        or media.type.annotation in ("str", "bytes")
    ):
        return media.type.annotation
    if essence in ("application/x-www-form-urlencoded", "multipart/form-data"):
        return "dict[str, typing.Any]"
    return "str" if essence.startswith("text/") else "bytes"


def _operations(api: Api) -> tuple[OperationView, ...]:
    models = set(api.models.public_names)
    wanted = [pascal_name(op.python_name) + "Handler" for op in api.operations]
    classes = unique(wanted, taken=models | {"Handlers"})
    return tuple(_operation(api, op, cls) for op, cls in zip(api.operations, classes, strict=True))


def _route_order(operations: tuple[OperationView, ...]) -> tuple[OperationView, ...]:
    """Routes match in the order they are added, and OpenAPI wants a concrete path to win over a
    templated one that also matches it (`/items/batch` over `/items/{id}`): such a route moves
    just before the first template it would be shadowed by; everything else keeps document order.
    """

    def segments(path: str) -> tuple[str, ...]:
        return tuple(path.strip("/").split("/"))

    def shadows(outer: tuple[str, ...], inner: tuple[str, ...]) -> bool:
        for a, b in zip(outer, inner, strict=True):
            if a != b and (not a.startswith("{") or b.startswith("{")):
                return False
        return True

    # Each path is split once and compared only with the routes of as many segments, the only
    # ones that can shadow it (GitHub's 1,223 operations made 750,000 comparisons of split paths);
    # `alike` holds those routes, in route order, by number of segments.
    routes: list[OperationView] = []
    alike: dict[int, list[tuple[OperationView, tuple[str, ...]]]] = {}
    for op in operations:
        inner = segments(op.path)
        group = alike.setdefault(len(inner), [])
        at = next(
            (
                k
                for k, (route, outer) in enumerate(group)
                if route.path != op.path and shadows(outer, inner)
            ),
            None,
        )
        if at is None:
            routes.append(op)
            group.append((op, inner))
            continue
        shadowed = group[at][0]
        routes.insert(next(i for i, route in enumerate(routes) if route is shadowed), op)
        group.insert(at, (op, inner))
    return tuple(routes)


def server_view(api: Api) -> ServerView:
    catalogue = api.error_catalogue
    table = _error_rows(r for op in api.operations for r in op.responses)
    codeless: list[str] = []
    style: list[tuple[str, object]] = []
    if catalogue is not None:
        for default in catalogue.defaults:
            if default.code is None:
                codeless.append(default.trigger)
                continue
            rows = table.setdefault(default.trigger, [])
            row: ErrorRow = (default.status, default.code, ())
            if row not in rows:
                rows.append(row)
        style = [
            ("code_pointer", catalogue.code_pointer or "/code"),
            ("code_type", catalogue.code_type),
            ("message_field", catalogue.message_field),
        ]
        if catalogue.details_field:
            style.append(("details_field", catalogue.details_field))
        if catalogue.media_type != "application/json":
            style.append(("media_type", catalogue.media_type))
    environments = sorted(
        {
            env
            for op in api.operations
            for r in op.responses
            for m in r.contents
            for env in m.environments
        }
    )
    default_environment = (
        "production" if "production" in environments or not environments else environments[0]
    )
    # The triggers the runtime answers for these routes (see kontrakt.runtime.server.app); one
    # the document gives no code makes the start-up check fail, so it is turned off and named.
    operations = api.operations
    needed = {"server-error", "method-not-allowed"}
    needed |= {"unauthenticated"} if any(op.security for op in operations) else set()
    needed |= {"not-acceptable"} if any(_success_contents(op) for op in operations) else set()
    needed |= {"unsupported-media-type"} if any(op.request_body for op in operations) else set()
    uncoded = sorted(t for t in needed if t not in table and t not in codeless)
    reasons = []
    if codeless:
        reasons.append(f"the document's defaults for {', '.join(codeless)} carry no code")
    if uncoded:
        reasons.append(f"the document names no code for {', '.join(uncoded)}")
    reason = "; ".join(reasons)
    views = _operations(api)
    return ServerView(
        operations=views,
        routes=_route_order(views),
        style=tuple(style),
        errors=_freeze(table),
        check=not reason,
        check_reason=reason,
        environments=tuple(environments),
        default_environment=default_environment,
        model_names=api.models.public_names,
    )


def client_view(api: Api) -> ClientView:
    catalogue = api.error_catalogue
    operations = _operations(api)
    by_id = {op.operation_id: op for op in operations}
    waits: list[WaitView] = []
    wait_names = unique(
        (f"wait_for_{life.name.replace('-', '_')}" for life in api.lifecycles),
        taken={op.python_name for op in operations},
    )
    for life, name in zip(api.lifecycles, wait_names, strict=True):
        holders = {pointer.lstrip("#"): member for pointer, member in life.holders}
        for operation in api.operations:
            success = _success(operation)
            chosen = _json_type(success.contents) if success else None
            pointer = (chosen.type.pointer or "").lstrip("#") if chosen and chosen.type else ""
            if operation.method == "get" and pointer in holders:
                waits.append(
                    WaitView(
                        lifecycle=life.name,
                        python_name=name,
                        operation=by_id[operation.operation_id],
                        member=holders[pointer],
                        terminal=tuple(s.name for s in life.states if s.terminal),
                        known=tuple(s.name for s in life.states),
                    )
                )
                break
    return ClientView(
        operations=operations,
        code_pointer=catalogue.code_pointer if catalogue else None,
        code_type=catalogue.code_type if catalogue else None,
        waits=tuple(w for w in waits if w.terminal),
        model_names=api.models.public_names,
        styled=any(p.styled for op in operations for p in op.params),
        casts=any(op.casts for op in operations),
    )

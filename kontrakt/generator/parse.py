"""Parse stage: a loaded document (plus its models) becomes the IR of `generator.ir`.

Two entry points, called by `generator.pipeline` around the models stage:

- `plan_hoisting` picks the structured inline body schemas that need a model class of their own
  and names them (``<OperationId>Request``, ``<OperationId>Response<status>``,
  ``<ComponentName>Body``);
- `parse` builds the `Api`, naming each body's class from the models that were built (whose unions
  with an open branch `generator.unions` rewrites to prefer the typed branches).

Whatever the parser does not understand or does not support is reported on the document as a
warning with its JSON pointer, and the parser carries on with what it could read (best-effort
output); it never raises on document content.
"""

from __future__ import annotations

import datetime
import functools
import ipaddress
import json
import re
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from pydantic import AnyUrl, AwareDatetime, TypeAdapter, ValidationError
from pydantic_core import SchemaError, SchemaValidator

from kontrakt.diagnostics import escape
from kontrakt.generator import syntax
from kontrakt.generator.ir import (
    Api,
    Batch,
    ErrorCatalogue,
    ErrorCode,
    ErrorDefault,
    ErrorUse,
    Header,
    HoistedSchema,
    Lifecycle,
    LifecycleState,
    MediaType,
    ModelsModule,
    OAuthFlow,
    Operation,
    OperationLifecycle,
    Pagination,
    Parameter,
    RequestBody,
    Response,
    Roles,
    Rule,
    Scalar,
    SecurityRequirement,
    SecurityScheme,
    Server,
    Service,
    ServiceConstraints,
    ServicePeriod,
    TypeInfo,
)
from kontrakt.generator.load import Document, OperationSite
from kontrakt.generator.naming import (
    derived_operation_id,
    operation_name,
    package_name,
    pascal_name,
    snake_name,
    unique,
)
from kontrakt.generator.unions import prefer_typed_unions

__all__ = [
    "OperationName",
    "checked_default",
    "operation_names",
    "parse",
    "pattern_problem",
    "plan_hoisting",
]

LOCATIONS = ("path", "query", "header", "cookie")
# Header parameters OpenAPI says to ignore: HTTP itself carries them.
IGNORED_HEADERS = frozenset({"accept", "content-type", "authorization"})
# Parameter Python names that generated methods use for themselves.
RESERVED_PARAMETERS = ("self", "body")
# Schema keywords that need a class of their own when a body schema uses them inline.
STRUCTURED = ("properties", "patternProperties", "allOf", "oneOf", "anyOf", "enum")
CONSTRAINTS = (
    "minLength",
    "maxLength",
    "pattern",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "multipleOf",
    "minItems",
    "maxItems",
    "uniqueItems",
)
FORMATS = {
    "date": "datetime.date",
    "date-time": "datetime.datetime",
    "time": "datetime.time",
    "uuid": "uuid.UUID",
    "binary": "bytes",
}
PRIMITIVES = {"integer": "int", "number": "float", "boolean": "bool", "null": "None"}
MAX_DEPTH = 16


# -- small readers that never raise on unexpected shapes ----------------------------------------
def _str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _strs(value: Any) -> tuple[str, ...]:
    return tuple(v for v in value if isinstance(v, str)) if isinstance(value, list) else ()


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _bool(value: Any) -> bool | None:
    return value if isinstance(value, bool) else None


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _scalar(value: Any) -> tuple[bool, Scalar]:
    if isinstance(value, datetime.date | datetime.datetime | datetime.time):
        return True, value.isoformat()
    if value is None or isinstance(value, str | int | float | bool):
        return True, value
    return False, None


def _literal(value: Scalar) -> str:
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    return repr(value)


def _union(parts: Iterable[str]) -> str:
    seen: list[str] = []
    for part in parts:
        if part not in seen:
            seen.append(part)
    if "typing.Any" in seen:
        return "typing.Any"
    return " | ".join(seen) if seen else "typing.Any"


def _status_word(status: str) -> str:
    return "Default" if status == "default" else pascal_name(status, prefix="")


def _coerce(default: Any, types: Sequence[str]) -> tuple[bool, Any]:
    """``(True, value)`` when ``default`` fits ``types`` or converts unambiguously to one of them."""
    fits = {
        "string": isinstance(default, str),
        "integer": isinstance(default, int) and not isinstance(default, bool),
        "number": isinstance(default, int | float) and not isinstance(default, bool),
        "boolean": isinstance(default, bool),
        "null": default is None,
        "array": isinstance(default, list),
        "object": isinstance(default, dict),
    }
    if any(fits.get(t, True) for t in types):
        return True, default
    if isinstance(default, str):
        text = default.strip()
        if "integer" in types and re.fullmatch(r"-?[0-9]+", text):
            return True, int(text)
        if "number" in types and re.fullmatch(r"-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?", text):
            return True, float(text)
        if "boolean" in types and text in ("true", "false"):
            return True, text == "true"
    return False, None


def checked_default(
    document: Document, schema: dict[str, Any], ptr: str, types: Sequence[str]
) -> tuple[bool, Any]:
    """The default of ``schema`` (at ``ptr``) made to fit its types: ``(False, None)`` when it
    cannot be; a default that is converted or dropped is reported."""
    default = schema["default"]
    if not types:
        return True, default
    ok, value = _coerce(default, types)
    kinds = "/".join(types)
    if not ok:
        document.report(
            f"{ptr}/default", f"default {default!r} does not match type {kinds}; it is left out"
        )
        return False, None
    if value != default or type(value) is not type(default):
        document.report(
            f"{ptr}/default", f"default {default!r} is not of type {kinds}; {value!r} is used"
        )
    fmt = schema.get("format")
    if isinstance(value, str) and isinstance(fmt, str) and not format_accepts(fmt, value):
        # The field is typed by its format (AnyUrl, AwareDatetime, ...): such a default would be
        # a plain string in a typed field (`url: AnyUrl = ""`), wrong at run time and to mypy.
        document.report(
            f"{ptr}/default", f"default {default!r} is not a valid {fmt}; it is left out"
        )
        return False, None
    return True, value


# Formats that make a string field another type in the models, with that type as pydantic reads it.
FORMAT_TYPES: dict[str, Any] = {
    "uri": AnyUrl,
    "date-time": AwareDatetime,
    "date": datetime.date,
    "time": datetime.time,
    "uuid": uuid.UUID,
    "ipv4": ipaddress.IPv4Address,
    "ipv6": ipaddress.IPv6Address,
}


@functools.cache
def _format_adapter(fmt: str) -> TypeAdapter[Any] | None:
    kind = FORMAT_TYPES.get(fmt)
    return TypeAdapter(kind) if kind is not None else None


def format_accepts(fmt: str, value: str) -> bool:
    """Whether a string value is valid for the type ``fmt`` gives its field (True for formats
    that leave the field a string)."""
    adapter = _format_adapter(fmt)
    if adapter is None:
        return True
    try:
        adapter.validate_python(value)
    except ValidationError:
        return False
    return True


def pattern_problem(pattern: str) -> str | None:
    """Why ``pattern`` cannot be enforced as it stands, or None: both Python's `re` and the
    engine of pydantic-core (what a FastAPI parameter's ``pattern=`` uses) must compile it."""
    try:
        re.compile(pattern)
    except re.error as exc:
        return f"Python's re cannot compile it: {exc}"
    try:
        SchemaValidator({"type": "str", "pattern": pattern})
    except SchemaError as exc:
        lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
        return f"pydantic-core cannot compile it: {lines[-1] if lines else exc}"
    return None


# -- operation names ---------------------------------------------------------------------------
@dataclass(frozen=True)
class OperationName:
    operation_id: str
    python_name: str
    derived: bool


def operation_names(document: Document) -> dict[str, OperationName]:
    """Operation pointer -> its operationId (derived when missing) and unique Python name."""
    sites = list(document.operations())
    ids: list[tuple[str, bool]] = []
    for site in sites:
        raw = site.operation.get("operationId")
        if isinstance(raw, str) and raw.strip():
            ids.append((raw, False))
        else:
            ids.append((derived_operation_id(site.method, site.path), True))
    wanted = [operation_name(op_id) for op_id, _ in ids]
    names: dict[str, OperationName] = {}
    for site, (op_id, derived), want, python in zip(
        sites, ids, wanted, unique(wanted), strict=True
    ):
        if derived:
            document.report(
                site.pointer,
                f"operation has no operationId; it is called {op_id!r} (Python name {python!r}), "
                "derived from its method and path",
                check="operation-id",
            )
        elif python != want:
            document.report(
                f"{site.pointer}/operationId",
                f"operationId {op_id!r} gives the Python name {want!r}, which an earlier operation "
                f"already has; this one is called {python!r}",
                check="operation-id",
            )
        names[site.pointer] = OperationName(op_id, python, derived)
    return names


# -- hoisting plan -----------------------------------------------------------------------------
def _is_structured(schema: Any) -> bool:
    return (
        isinstance(schema, dict) and "$ref" not in schema and any(k in schema for k in STRUCTURED)
    )


def _model_site(schema: Any, location: str, name: str) -> tuple[str, str] | None:
    """Where, under an inline body schema, a class is needed: the schema itself or its items."""
    while isinstance(schema, dict) and "$ref" not in schema:
        if _is_structured(schema):
            return location, name
        items = schema.get("items")
        if not isinstance(items, dict):
            return None
        schema, location, name = items, f"{location}/items", f"{name}Item"
    return None


def plan_hoisting(document: Document) -> tuple[HoistedSchema, ...]:
    """The inline body schemas that get classes of their own, with unique class base names."""
    wanted: list[tuple[str, str]] = []

    def content(ptr: str, value: Any, base: str) -> None:
        inline = 0
        for media_type, media in _dict(value).items():
            if not isinstance(media, dict):
                continue
            subtype = media_type.split(";")[0].split("/")[-1]
            name = base if inline == 0 else base + pascal_name(subtype, prefix="")
            site = _model_site(media.get("schema"), f"{ptr}/{escape(media_type)}/schema", name)
            if site is not None:
                wanted.append(site)
                inline += 1

    components = _dict(document.data.get("components"))
    for group in ("requestBodies", "responses"):
        for name, value in _dict(components.get(group)).items():
            if isinstance(value, dict) and "$ref" not in value:
                ptr = f"/components/{group}/{escape(name)}/content"
                content(ptr, value.get("content"), pascal_name(name) + "Body")
    names = operation_names(document)
    for site in document.operations():
        base = pascal_name(names[site.pointer].operation_id)
        body = site.operation.get("requestBody")
        if isinstance(body, dict) and "$ref" not in body:
            content(f"{site.pointer}/requestBody/content", body.get("content"), f"{base}Request")
        for status, response in _dict(site.operation.get("responses")).items():
            if isinstance(response, dict) and "$ref" not in response:
                ptr = f"{site.pointer}/responses/{escape(status)}/content"
                content(ptr, response.get("content"), f"{base}Response{_status_word(status)}")
    existing = list(_dict(components.get("schemas")))
    taken = {*existing, *(pascal_name(n) for n in existing)}
    chosen = unique([name for _, name in wanted], taken=taken, separator="")
    return tuple(
        HoistedSchema(location, name) for (location, _), name in zip(wanted, chosen, strict=True)
    )


# -- the parser --------------------------------------------------------------------------------
@dataclass
class _Parser:
    document: Document
    classes: dict[str, str]

    def warn(self, ptr: str, message: str) -> None:
        self.document.report(ptr, message)

    # -- types ----------------------------------------------------------------------------------
    def type_info(self, raw: Any, ptr: str, *, scalar: bool = False, depth: int = 0) -> TypeInfo:
        """The type of the schema ``raw`` found at ``ptr``.

        With ``scalar`` (parameters and headers) a class whose schema is a plain string, number
        or boolean is described by that primitive type; enums and structures keep their class.
        """
        if depth > MAX_DEPTH:
            return TypeInfo("typing.Any", pointer=ptr)
        schema, where = self.document.resolve(raw, ptr)
        if not isinstance(schema, dict):
            if schema is not None and schema is not True:
                self.warn(where, "schema is not an object; any value is accepted")
            return TypeInfo("typing.Any", pointer=where)
        plain = self._plain(schema, where, depth)
        name = self.classes.get("#" + where)
        if name is None:
            return plain
        primitive = (
            plain.json_types
            and not plain.enum
            and set(plain.json_types) <= set(PRIMITIVES) | {"string"}
        )
        if scalar and primitive:
            return replace(plain, model=name)
        annotation = f"{name} | None" if plain.nullable else name
        return replace(plain, annotation=annotation, model=name)

    def _types(self, schema: dict[str, Any]) -> tuple[list[str], bool]:
        raw = schema.get("type")
        if isinstance(raw, str):
            types = [raw]
        elif isinstance(raw, list):
            types = [t for t in raw if isinstance(t, str)]
        elif "properties" in schema or "additionalProperties" in schema:
            types = ["object"]
        elif "items" in schema:
            types = ["array"]
        else:
            types = []
        nullable = "null" in types or schema.get("nullable") is True
        return [t for t in types if t != "null"], nullable

    def _plain(self, schema: dict[str, Any], ptr: str, depth: int) -> TypeInfo:
        types, nullable = self._types(schema)
        fmt = _str(schema.get("format"))
        enum: list[Scalar] = []
        values = schema["enum"] if isinstance(schema.get("enum"), list) else []
        if "const" in schema:
            values = [schema["const"]]
        for value in values:
            ok, scalar = _scalar(value)
            if ok:
                enum.append(scalar)
        if None in enum:
            nullable = True
        constraints: list[tuple[str, Scalar]] = []
        for key in CONSTRAINTS:
            ok, value = _scalar(schema.get(key)) if key in schema else (False, None)
            if ok and value is not None:
                constraints.append((key, value))
        constraints = _normalise_exclusive(constraints)
        default_json = None
        if "default" in schema:
            present, default = checked_default(self.document, schema, ptr, types)
            if present:
                default_json = json.dumps(default, ensure_ascii=False, sort_keys=True, default=str)
        items: TypeInfo | None = None
        literals = [v for v in enum if v is not None]
        if literals:
            annotation = f"typing.Literal[{', '.join(_literal(v) for v in literals)}]"
        elif types:
            parts: list[str] = []
            for kind in types:
                if kind == "string":
                    parts.append(FORMATS.get(fmt or "", "str"))
                elif kind == "array":
                    items = self.type_info(schema.get("items", {}), f"{ptr}/items", depth=depth + 1)
                    parts.append(f"list[{items.annotation}]")
                elif kind == "object":
                    extra = schema.get("additionalProperties")
                    if isinstance(extra, dict) and extra:
                        value_type = self.type_info(
                            extra, f"{ptr}/additionalProperties", depth=depth + 1
                        )
                        parts.append(f"dict[str, {value_type.annotation}]")
                    else:
                        parts.append("dict[str, typing.Any]")
                else:
                    parts.append(PRIMITIVES.get(kind, "typing.Any"))
            annotation = _union(parts)
        else:
            annotation = self._composite(schema, ptr, depth)
            if annotation.endswith(" | None"):
                annotation, nullable = annotation.removesuffix(" | None"), True
        if nullable and annotation not in ("typing.Any", "None"):
            annotation = f"{annotation} | None"
        return TypeInfo(
            annotation=annotation,
            json_types=tuple(types),
            format=fmt,
            nullable=nullable,
            pointer=ptr,
            enum=tuple(enum),
            constraints=tuple(constraints),
            default_json=default_json,
            items=items,
        )

    def _composite(self, schema: dict[str, Any], ptr: str, depth: int) -> str:
        for key in ("oneOf", "anyOf"):
            members = schema.get(key)
            if isinstance(members, list) and members:
                infos = [
                    self.type_info(m, f"{ptr}/{key}/{i}", depth=depth + 1)
                    for i, m in enumerate(members)
                ]
                null = any(i.annotation == "None" for i in infos)
                union = _union(i.annotation for i in infos if i.annotation != "None")
                return f"{union} | None" if null and union != "typing.Any" else union
        members = schema.get("allOf")
        if isinstance(members, list) and len(members) == 1:
            return self.type_info(members[0], f"{ptr}/allOf/0", depth=depth + 1).annotation
        return "typing.Any"

    # -- operations ---------------------------------------------------------------------------------
    def content(self, value: Any, ptr: str) -> tuple[MediaType, ...]:
        found: list[MediaType] = []
        for media_type, media in _dict(value).items():
            here = f"{ptr}/{escape(media_type)}"
            if not isinstance(media, dict):
                self.warn(here, "media type object is not a mapping; ignored")
                continue
            schema = media.get("schema")
            kind = None if schema is None else self.type_info(schema, f"{here}/schema")
            environments = _strs(media.get("x-kontrakt-environments"))
            found.append(MediaType(media_type, kind, environments))
        return tuple(found)

    def parameters(self, site: OperationSite) -> tuple[Parameter, ...]:
        merged: dict[tuple[str, str], tuple[dict[str, Any], str]] = {}
        sources = (
            (f"{site.item_pointer}/parameters", site.path_item.get("parameters")),
            (f"{site.pointer}/parameters", site.operation.get("parameters")),
        )
        for base, listed in sources:
            if listed is None:
                continue
            if not isinstance(listed, list):
                self.warn(base, "parameters is not a list; ignored")
                continue
            for index, raw in enumerate(listed):
                value, ptr = self.document.resolve(raw, f"{base}/{index}")
                name, location = _str(_dict(value).get("name")), _str(_dict(value).get("in"))
                if not name or location not in LOCATIONS:
                    self.warn(
                        ptr,
                        "parameter without a usable name and location (path, query, header, cookie); ignored",
                    )
                    continue
                if location == "header" and name.lower() in IGNORED_HEADERS:
                    self.warn(
                        ptr,
                        f"header parameter {name!r} is ignored, as OpenAPI prescribes (HTTP sets it)",
                    )
                    continue
                merged[(name, location)] = (value, ptr)
        wanted = [
            snake_name(n, fallback="param", prefix="p_", reserved=RESERVED_PARAMETERS)
            for n, _ in merged
        ]
        # Path parameters are named first: a server framework matches a path placeholder to the
        # argument of that name, so a query `param` beside the path's `{param}` becomes `param_2`.
        keys = list(merged)
        order = sorted(range(len(keys)), key=lambda i: keys[i][1] != "path")
        names = [""] * len(keys)
        for index, python in zip(order, unique([wanted[i] for i in order]), strict=True):
            names[index] = python
        found: list[Parameter] = []
        for ((name, location), (value, ptr)), python in zip(merged.items(), names, strict=True):
            required = value.get("required") is True
            if location == "path" and not required:
                self.warn(ptr, "path parameter is not marked required; it is treated as required")
                required = True
            style = _str(value.get("style")) or (
                "form" if location in ("query", "cookie") else "simple"
            )
            explode = _bool(value.get("explode"))
            if "schema" in value:
                kind = self.type_info(value["schema"], f"{ptr}/schema", scalar=True)
            elif isinstance(value.get("content"), dict) and value["content"]:
                media_type, media = next(iter(value["content"].items()))
                kind = self.type_info(
                    _dict(media).get("schema", {}),
                    f"{ptr}/content/{escape(media_type)}/schema",
                    scalar=True,
                )
                self.warn(
                    f"{ptr}/content",
                    f"parameter serialised as {media_type} (`content`) is not supported; generated code "
                    "passes its value through as text",
                )
                style, kind = "content", replace(kind, annotation="str")
            else:
                self.warn(
                    ptr, "parameter has neither schema nor content; it is treated as a string"
                )
                kind = TypeInfo("str", ("string",), pointer=ptr)
            kind = self._checked_pattern(kind)
            found.append(
                Parameter(
                    name=name,
                    location=location,
                    python_name=python,
                    required=required,
                    style=style,
                    explode=style == "form" if explode is None else explode,
                    type=kind,
                    description=_text(value.get("description")),
                    deprecated=value.get("deprecated") is True,
                    pointer=ptr,
                )
            )
        return tuple(found)

    def _checked_pattern(self, kind: TypeInfo) -> TypeInfo:
        """``kind`` without a ``pattern`` the generated route could not enforce, with a warning.

        A document's patterns are ECMA-262 regular expressions; a generated route checks them
        with pydantic-core's engine (Rust `regex`), and the rest of kontrakt uses Python's `re`.
        A pattern one of them cannot compile (named groups `(?<n>...)`, `\\p{L}`, look-around)
        is left out of the route, so the value is not checked against it.
        """
        constraints = dict(kind.constraints)
        pattern = constraints.get("pattern")
        if not isinstance(pattern, str):
            return kind
        problem = pattern_problem(pattern)
        if problem is None:
            return kind
        self.warn(
            f"{kind.pointer or ''}/pattern",
            f"pattern {pattern!r} is not enforced by the generated server ({problem}); "
            "the handler must check it",
        )
        del constraints["pattern"]
        return replace(kind, constraints=tuple(constraints.items()))

    def request_body(self, site: OperationSite) -> RequestBody | None:
        raw = site.operation.get("requestBody")
        if raw is None:
            return None
        value, ptr = self.document.resolve(raw, f"{site.pointer}/requestBody")
        if not isinstance(value, dict):
            self.warn(ptr, "requestBody is not a mapping; ignored")
            return None
        return RequestBody(
            required=value.get("required") is True,
            contents=self.content(value.get("content"), f"{ptr}/content"),
            description=_text(value.get("description")),
        )

    def responses(self, site: OperationSite) -> tuple[Response, ...]:
        found: list[Response] = []
        for status, raw in _dict(site.operation.get("responses")).items():
            if status.startswith("x-"):
                continue
            value, ptr = self.document.resolve(raw, f"{site.pointer}/responses/{escape(status)}")
            if not isinstance(value, dict):
                self.warn(ptr, "response is not a mapping; ignored")
                continue
            if value.get("links"):
                # Like callbacks: nothing in the generated code follows a link.
                self.warn(
                    f"{ptr}/links",
                    "links are not supported; they are left out of the generated code",
                )
            ref = _str(_dict(raw).get("$ref")) or ""
            component = (
                ref.removeprefix("#/components/responses/")
                if ref.startswith("#/components/responses/")
                else None
            )
            headers: list[Header] = []
            for name, header_raw in _dict(value.get("headers")).items():
                header, header_ptr = self.document.resolve(
                    header_raw, f"{ptr}/headers/{escape(name)}"
                )
                header = _dict(header)
                kind = self.type_info(header.get("schema", {}), f"{header_ptr}/schema", scalar=True)
                headers.append(
                    Header(
                        name, header.get("required") is True, kind, _text(header.get("description"))
                    )
                )
            found.append(
                Response(
                    status=status,
                    description=_text(value.get("description")),
                    contents=self.content(value.get("content"), f"{ptr}/content"),
                    headers=tuple(headers),
                    errors=self.error_uses(value.get("x-kontrakt-errors")),
                    component=component.replace("~1", "/").replace("~0", "~")
                    if component
                    else None,
                )
            )
        return tuple(found)

    def error_uses(self, value: Any) -> tuple[ErrorUse, ...]:
        uses: list[ErrorUse] = []
        for use in value if isinstance(value, list) else []:
            use = _dict(use)
            code = use.get("code")
            if isinstance(code, str | int) and not isinstance(code, bool):
                uses.append(
                    ErrorUse(
                        code=str(code),
                        trigger=_text(use.get("trigger")) or "other",
                        when=_text(use.get("when")),
                        parameters=_strs(use.get("parameters")),
                        rule=_str(use.get("rule")),
                        situation=_str(use.get("situation")),
                    )
                )
        return tuple(uses)

    def security(self, value: Any, ptr: str, schemes: set[str]) -> tuple[SecurityRequirement, ...]:
        if not isinstance(value, list):
            if value is not None:
                self.warn(ptr, "security is not a list; ignored")
            return ()
        found: list[SecurityRequirement] = []
        for index, requirement in enumerate(value):
            entries: list[tuple[str, tuple[str, ...]]] = []
            for name, scopes in _dict(requirement).items():
                if name not in schemes:
                    self.warn(
                        f"{ptr}/{index}/{escape(name)}", f"security scheme {name!r} is not declared"
                    )
                entries.append((name, _strs(scopes)))
            found.append(SecurityRequirement(tuple(entries)))
        return tuple(found)

    def operation(self, site: OperationSite, name: OperationName, schemes: set[str]) -> Operation:
        op = site.operation
        if op.get("callbacks"):
            self.warn(
                f"{site.pointer}/callbacks",
                "callbacks are not supported; they are left out of the generated code",
            )
        if "security" in op:
            security = self.security(op["security"], f"{site.pointer}/security", schemes)
        else:
            security = self.security(self.document.data.get("security"), "/security", schemes)
        return Operation(
            operation_id=name.operation_id,
            python_name=name.python_name,
            method=site.method,
            path=site.path,
            pointer=site.pointer,
            webhook=site.group == "webhooks",
            derived_id=name.derived,
            tags=_strs(op.get("tags")),
            summary=_text(op.get("summary")),
            description=_text(op.get("description")),
            deprecated=op.get("deprecated") is True,
            parameters=self.parameters(site),
            request_body=self.request_body(site),
            responses=self.responses(site),
            security=security,
            rules=_strs(op.get("x-kontrakt-rules")),
            pagination=_pagination(op.get("x-kontrakt-pagination")),
            lifecycle=_operation_lifecycle(op.get("x-kontrakt-lifecycle")),
            roles=_roles(op.get("x-kontrakt-roles")),
            batch=_batch(op.get("x-kontrakt-batch")),
        )

    # -- document level -------------------------------------------------------------------------
    def security_schemes(self) -> tuple[SecurityScheme, ...]:
        found: list[SecurityScheme] = []
        declared = _dict(_dict(self.document.data.get("components")).get("securitySchemes"))
        for name, raw in declared.items():
            value, ptr = self.document.resolve(raw, f"/components/securitySchemes/{escape(name)}")
            value = _dict(value)
            kind = _text(value.get("type"))
            if kind not in ("http", "apiKey", "oauth2", "openIdConnect", "mutualTLS"):
                self.warn(
                    ptr,
                    f"security scheme type {kind!r} is not known; the scheme is kept without details",
                )
            flows = tuple(
                OAuthFlow(
                    kind=flow_kind,
                    token_url=_str(_dict(flow).get("tokenUrl")),
                    authorization_url=_str(_dict(flow).get("authorizationUrl")),
                    refresh_url=_str(_dict(flow).get("refreshUrl")),
                    scopes=tuple(
                        (str(s), _text(d)) for s, d in _dict(_dict(flow).get("scopes")).items()
                    ),
                )
                for flow_kind, flow in _dict(value.get("flows")).items()
            )
            found.append(
                SecurityScheme(
                    name=name,
                    kind=kind,
                    description=_text(value.get("description")),
                    scheme=(_str(value.get("scheme")) or "").lower() or None,
                    bearer_format=_str(value.get("bearerFormat")),
                    key_name=_str(value.get("name")) if kind == "apiKey" else None,
                    key_location=_str(value.get("in")) if kind == "apiKey" else None,
                    flows=flows,
                    openid_connect_url=_str(value.get("openIdConnectUrl")),
                )
            )
        return tuple(found)


def _normalise_exclusive(constraints: list[tuple[str, Scalar]]) -> list[tuple[str, Scalar]]:
    """OpenAPI 3.0's boolean exclusiveMinimum/Maximum, written as 3.1's numeric form."""
    values = dict(constraints)
    for bound, exclusive in (("minimum", "exclusiveMinimum"), ("maximum", "exclusiveMaximum")):
        if values.get(exclusive) is True and bound in values:
            values[exclusive] = values.pop(bound)
        elif isinstance(values.get(exclusive), bool):
            del values[exclusive]
    return [(k, values[k]) for k in CONSTRAINTS if k in values]


def _pagination(value: Any) -> Pagination | None:
    value = _dict(value)
    style, items = _str(value.get("style")), _str(value.get("items"))
    if not style or items is None:
        return None
    return Pagination(
        style=style,
        items=items,
        links=_str(value.get("links")),
        rels=_strs(value.get("rels")),
        relative=value.get("relative") is True,
        parameters=_strs(value.get("parameters")),
        min_page_size=_int(value.get("min-page-size")),
    )


def _operation_lifecycle(value: Any) -> OperationLifecycle | None:
    value = _dict(value)
    name = _str(value.get("lifecycle"))
    if not name:
        return None
    return OperationLifecycle(
        lifecycle=name,
        requires=_strs(value.get("requires")),
        moves_to=_str(value.get("moves-to")),
        otherwise=_int(value.get("otherwise")),
    )


def _roles(value: Any) -> Roles | None:
    value = _dict(value)
    any_of = _strs(value.get("any-of"))
    return Roles(any_of, _str(value.get("claim"))) if any_of else None


def _batch(value: Any) -> Batch | None:
    value = _dict(value)
    atomic, max_items = _bool(value.get("atomic")), _int(value.get("max-items"))
    if atomic is None or max_items is None:
        return None
    return Batch(
        atomic=atomic,
        max_items=max_items,
        too_large_status=_int(value.get("too-large-status")),
        index_pointer=_str(value.get("index-pointer")),
        order_preserved=_bool(value.get("order-preserved")),
    )


def _error_catalogue(value: Any) -> ErrorCatalogue | None:
    value = _dict(value)
    if not value:
        return None
    codes: list[ErrorCode] = []
    for code, entry in _dict(value.get("codes")).items():
        entry = _dict(entry)
        status = entry.get("status")
        statuses = status if isinstance(status, list) else [status]
        codes.append(
            ErrorCode(
                code=code,
                statuses=tuple(s for s in (_int(s) for s in statuses) if s is not None),
                title=_text(entry.get("title")),
                description=_text(entry.get("description")),
                deprecated=entry.get("deprecated") is True,
            )
        )
    defaults: list[ErrorDefault] = []
    for trigger, entry in _dict(value.get("defaults")).items():
        entry = _dict(entry)
        default_status = _int(entry.get("status"))
        default_code = entry.get("code")
        if default_status is not None:
            text = None if default_code is None else str(default_code)
            defaults.append(ErrorDefault(trigger, default_status, text))
    return ErrorCatalogue(
        code_pointer=_text(value.get("code-pointer")),
        code_type=_str(value.get("code-type")) or "string",
        codes=tuple(codes),
        defaults=tuple(defaults),
    )


# Members that carry an error's text beside its code, in order of preference.
_MESSAGE_MEMBERS = ("message", "description", "errorMessage", "detail", "title")


def _error_shape(document: Document, catalogue: ErrorCatalogue) -> ErrorCatalogue:
    """The catalogue with the error body's text member and media type read from the schemas.

    The first error response whose schema holds the code at the catalogue's pointer decides: the
    object around the code names the message member (and DPS's ``details``), and the media type it
    sits under is the one error bodies are sent as (Sdir: ``application/problem+json``).
    """
    segments = [part for part in catalogue.code_pointer.split("/")[1:] if part]
    if not segments:
        return catalogue
    for site in document.operations():
        responses = _dict(site.operation.get("responses"))
        for status, raw in responses.items():
            if not str(status).startswith(("4", "5")):
                continue
            response, where = document.resolve(raw, f"{site.pointer}/responses/{escape(status)}")
            for media, entry in _dict(_dict(response).get("content")).items():
                holder = _code_holder(document, _dict(entry).get("schema"), where, segments)
                if holder is None:
                    continue
                names = [name for name in holder if name != segments[-1]]
                message = next((m for m in _MESSAGE_MEMBERS if m in names), None)
                if message is None:
                    message = next(iter(names), "message")
                details = "details" if "details" in names else None
                return replace(
                    catalogue, message_field=message, details_field=details, media_type=media
                )
    return catalogue


def _code_holder(
    document: Document, raw: Any, ptr: str, segments: Sequence[str]
) -> dict[str, Any] | None:
    """The `properties` of the object that holds the code member, or None."""
    schema, where = document.resolve(raw, ptr)
    for depth, segment in enumerate(segments):
        schema = _dict(schema)
        if segment == "*":
            schema, where = document.resolve(schema.get("items"), f"{where}/items")
            continue
        properties = _dict(schema.get("properties"))
        if segment not in properties:
            return None
        if depth == len(segments) - 1:
            return {name: True for name in properties}
        schema, where = document.resolve(properties[segment], f"{where}/properties/{segment}")
    return None


def _lifecycle_holders(data: dict[str, Any], schema: str | None) -> tuple[tuple[str, str], ...]:
    """(schema pointer, property) of each component schema with a property `$ref`-ing ``schema``."""
    if not schema:
        return ()
    found: list[tuple[str, str]] = []
    for name, component in _dict(_dict(data.get("components")).get("schemas")).items():
        for prop, value in _dict(_dict(component).get("properties")).items():
            if _dict(value).get("$ref") == schema:
                found.append((f"/components/schemas/{escape(name)}", prop))
    return tuple(found)


def _rules(value: Any) -> tuple[Rule, ...]:
    return tuple(
        Rule(
            rule_id=rule_id,
            title=_text(_dict(entry).get("title")),
            severity=_text(_dict(entry).get("severity")),
            capability=_str(_dict(entry).get("capability")),
            codes=_strs(_dict(entry).get("codes")),
        )
        for rule_id, entry in _dict(value).items()
    )


def _lifecycles(value: Any) -> tuple[Lifecycle, ...]:
    found: list[Lifecycle] = []
    for name, raw in _dict(value).items():
        life = _dict(raw)
        states = tuple(
            LifecycleState(
                name=state,
                terminal=_dict(entry).get("terminal") is True,
                description=_text(_dict(entry).get("description")),
                code=_int(_dict(entry).get("code")),
            )
            for state, entry in _dict(life.get("states")).items()
        )
        transitions = tuple(
            (state, _strs(targets)) for state, targets in _dict(life.get("transitions")).items()
        )
        found.append(
            Lifecycle(
                name=name,
                states=states,
                transitions=transitions,
                unknown_states=_str(life.get("unknown-states")) or "error",
                initial=_str(life.get("initial")),
                schema=_str(life.get("schema")),
                description=_text(life.get("description")),
            )
        )
    return tuple(found)


def _services(value: Any) -> tuple[Service, ...]:
    found: list[Service] = []
    for name, raw in _dict(value).items():
        service = _dict(raw)
        consumer = _dict(service.get("consumer"))
        outside = _dict(service.get("outside"))
        limits = _dict(service.get("constraints"))
        period = _dict(limits.get("period"))
        reference_type = limits.get("additional-reference-id-type", ...)
        constraints = ServiceConstraints(
            legal_mandates=_strs(limits.get("legal-mandates")),
            only_primary_owner=tuple(
                v for v in _list(limits.get("only-primary-owner")) if isinstance(v, bool)
            ),
            additional_reference_id_type="" if reference_type is None else _str(reference_type),
            requester_id=_str(limits.get("requester-id")),
            period=ServicePeriod(
                max_years_back=_int(period.get("max-years-back")),
                max_months_back=_int(period.get("max-months-back")),
                from_date=_str(period.get("from-date")),
                to_date=_str(period.get("to-date")),
            )
            if period
            else None,
        )
        found.append(
            Service(
                name=name,
                title=_text(service.get("title")),
                operations=_strs(service.get("operations")),
                consumer_name=_str(consumer.get("name")),
                consumer_orgno=_str(consumer.get("orgno")),
                outside_status=_int(outside.get("status")),
                outside_code=_str(outside.get("code")),
                constraints=constraints,
            )
        )
    return tuple(found)


def parse(document: Document, models: ModelsModule) -> Api:
    """The IR of ``document``; problems are added to ``document.found`` as warnings."""
    classes: dict[str, str] = {}
    own: set[str] = set()
    for model in models.classes:
        # An allOf of a $ref and a bare `required` list makes datamodel-code-generator emit the
        # helper part (`...Record3`, only the required members) before the composed class, both
        # under the component's pointer; the class named after the component is the real one.
        if model.pointer in own:
            continue
        if model.name == model.pointer.rsplit("/", 1)[-1]:
            classes[model.pointer] = model.name
            own.add(model.pointer)
        else:
            classes.setdefault(model.pointer, model.name)
    parser = _Parser(document, classes)
    data = document.data
    info = _dict(data.get("info"))
    api = _dict(data.get("x-kontrakt-api"))
    schemes = parser.security_schemes()
    scheme_names = {s.name for s in schemes}
    names = operation_names(document)
    operations: list[Operation] = []
    webhooks: list[Operation] = []
    for site in document.operations():
        parsed = parser.operation(site, names[site.pointer], scheme_names)
        (webhooks if parsed.webhook else operations).append(parsed)
    catalogue = _error_catalogue(data.get("x-kontrakt-error-catalogue"))
    servers = tuple(
        Server(url, _text(s.get("description")))
        for s in _list(data.get("servers"))
        if isinstance(s, dict) and (url := _str(s.get("url")))
    )
    # The models module as it is rendered: unions with an open branch prefer the typed ones.
    rendered_models = prefer_typed_unions(models.source)
    syntax.forget()  # the last pass that reads the models module by syntax tree
    return Api(
        package=package_name(_str(api.get("id")), Path(document.spec.path)),
        source=document.source,
        openapi=document.openapi,
        title=_text(info.get("title")),
        version=str(info.get("version", "")),
        models=replace(models, source=rendered_models),
        api_id=_str(api.get("id")),
        family=_str(api.get("family")),
        publisher=_str(api.get("publisher")),
        status=_str(api.get("status")),
        summary=_text(info.get("summary")),
        servers=servers,
        operations=tuple(operations),
        webhooks=tuple(webhooks),
        security_schemes=schemes,
        security=parser.security(data.get("security"), "/security", scheme_names),
        error_catalogue=catalogue and _error_shape(document, catalogue),
        rules=_rules(data.get("x-kontrakt-rules")),
        lifecycles=tuple(
            replace(life, holders=_lifecycle_holders(data, life.schema))
            for life in _lifecycles(data.get("x-kontrakt-lifecycles"))
        ),
        services=_services(data.get("x-kontrakt-services")),
    )

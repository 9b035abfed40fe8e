"""Every operation of every generated package round-trips: the generated client against the
generated server, in-process over `httpx.ASGITransport`.

For each operation the arguments and the handler's answer come from the document itself: its
`example`/`examples` where it has them (and they fit the types), otherwise the simplest value its
JSON schema allows, found deterministically (strings with a `pattern` through hypothesis'
`from_regex`, shrunk to the minimal match). A recording handler checks that the server hands it
the arguments the client sent; the client's result must equal what the handler returned.
"""

from __future__ import annotations

import importlib
import inspect
import typing
from dataclasses import dataclass
from functools import cache
from types import ModuleType
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, find, settings
from hypothesis import strategies as st
from pydantic import TypeAdapter

from kontrakt.generator import ir
from kontrakt.generator.load import Document, load
from kontrakt.generator.models import build_models
from kontrakt.generator.parse import parse, plan_hoisting
from kontrakt.runtime import server as rt
from kontrakt.runtime.client import ApiKey, BearerToken, MultiAuth
from tests.e2e._support import REPO, Issuer

ISSUER = Issuer("https://issuer.test/", "https://api.test/")
API_KEY = "round-trip-key"
PACKAGES = sorted(p.parent.name for p in (REPO / "kontrakt" / "generated").glob("*/api.py"))
FIND = settings(
    database=None, derandomize=True, max_examples=2000, suppress_health_check=list(HealthCheck)
)

# (package, operationId) -> why it cannot round-trip yet: each an xfail(strict=True).
KNOWN_FAILURES: dict[tuple[str, str], str] = {}


@dataclass(frozen=True)
class Spec:
    document: Document
    api: ir.Api
    package: ModuleType


@cache
def spec(name: str) -> Spec:
    """The package `kontrakt/generated/<name>` with the IR of the document it was generated from."""
    package = importlib.import_module(f"kontrakt.generated.{name}")
    document, _ = load(REPO / package.api.SOURCE)
    assert document is not None
    api = parse(document, build_models(document, plan_hoisting(document)))
    assert api.package == name
    return Spec(document, api, package)


def _cases() -> list[Any]:
    cases = []
    for name in PACKAGES:
        for op in importlib.import_module(f"kontrakt.generated.{name}.api").OPERATIONS:
            reason = KNOWN_FAILURES.get((name, op.operation_id))
            marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
            cases.append(
                pytest.param(name, op.operation_id, id=f"{name}-{op.operation_id}", marks=marks)
            )
    return cases


# --- values from the document ---------------------------------------------------------------------


def _resolve(document: Document, value: Any) -> Any:
    while isinstance(value, dict) and "$ref" in value:
        found, value = document.get(value["$ref"].removeprefix("#"))
        assert found
    return value


def _examples(document: Document, holder: Any) -> list[Any]:
    """The examples an object (parameter, media type, schema) carries, in document order."""
    holder = _resolve(document, holder)
    if not isinstance(holder, dict):
        return []
    found = []
    if "example" in holder:
        found.append(holder["example"])
    examples = holder.get("examples")
    if isinstance(examples, dict):
        found += [_resolve(document, item).get("value") for item in examples.values()]
    elif isinstance(examples, list):
        found += examples
    return found


_FORMATS: dict[str, Any] = {
    "date": "2024-01-31",
    "date-time": "2024-01-31T12:00:00Z",
    "time": "12:00:00",
    "uuid": "3fa85f64-5717-4562-b3fc-2c963f66afa6",
    "email": "test@example.com",
    "uri": "https://example.com/x",
    "url": "https://example.com/x",
    "hostname": "example.com",
    "ipv4": "192.0.2.1",
    "byte": "AA==",
}


def _string(schema: dict[str, Any]) -> str:
    pattern = schema.get("pattern")
    low: int = schema.get("minLength", 1 if pattern is None else 0)
    high: int | None = schema.get("maxLength")
    if schema.get("format") in _FORMATS and pattern is None:
        return str(_FORMATS[schema["format"]])
    if pattern is None:
        text = "x" * max(low, 1)
        return text[:high] if high is not None else text

    def fits(value: str) -> bool:
        size_ok = len(value) >= max(low, 1) and (high is None or len(value) <= high)
        return size_ok and value.isprintable() and value.strip() == value

    strategy = st.from_regex(pattern, fullmatch=True)
    return str(find(strategy, fits, settings=FIND))


def _merged(document: Document, schema: dict[str, Any]) -> dict[str, Any] | None:
    """An `allOf` of object schemas as one object schema (properties and required united)."""
    properties: dict[str, Any] = {}
    required: list[str] = []
    parts = [schema, *(_resolve(document, part) for part in schema["allOf"])]
    for part in parts:
        if "allOf" in part and part is not schema:
            part = _merged(document, part)
            if part is None:
                return None
        if not isinstance(part, dict) or part.get("type", "object") != "object":
            return None
        properties.update(part.get("properties", {}))
        required += [name for name in part.get("required", []) if name not in required]
        for key in ("anyOf", "oneOf"):
            # A part's alternatives apply too (Sdir: anyOf required imo number or call sign).
            if key in part and isinstance(option := _resolve(document, part[key][0]), dict):
                properties.update(option.get("properties", {}))
                required += [name for name in option.get("required", []) if name not in required]
    return {"type": "object", "properties": properties, "required": required}


def instance(document: Document, schema: Any, depth: int = 0) -> Any:
    """The simplest value `schema` allows (its own example when it has one)."""
    schema = _resolve(document, schema)
    if schema is True or not isinstance(schema, dict):
        return "x"
    for example in _examples(document, schema):
        return example
    if "const" in schema:
        return schema["const"]
    if "enum" in schema:
        return next(value for value in schema["enum"] if value is not None)
    if "default" in schema and schema["default"] is not None:
        return schema["default"]
    if "allOf" in schema:
        merged = _merged(document, schema)
        if merged is not None:
            return instance(document, merged, depth + 1)
        return instance(document, schema["allOf"][0], depth + 1)
    for key in ("oneOf", "anyOf"):
        if key in schema:
            options = [o for o in schema[key] if _resolve(document, o).get("type") != "null"]
            rest = {name: value for name, value in schema.items() if name != key}
            if not {"properties", "required", "type"} & set(rest):
                return instance(document, options[0], depth + 1)
            # Alternatives beside the schema's own keywords: both apply (e.g. anyOf required).
            return instance(document, {"allOf": [rest, options[0]]}, depth + 1)
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind is None:
        objecty = {"properties", "required", "additionalProperties"} & set(schema)
        kind = "object" if objecty else "string"
    if kind == "object":
        properties = schema.get("properties", {})
        value = {
            name: instance(document, properties.get(name, {}), depth + 1)
            for name in schema.get("required", [])
        }
        minimum = schema.get("minProperties", 0)
        extra = schema.get("additionalProperties")
        # One member at least: an empty map sent as exploded query members is no value at all.
        if len(value) < max(minimum, 1) and isinstance(extra, dict):
            value["key"] = instance(document, extra, depth + 1)
        return value
    if kind == "array":
        count = max(schema.get("minItems", 1), 1)
        return [instance(document, schema.get("items", {}), depth + 1) for _ in range(count)]
    if kind in ("integer", "number"):
        low = schema.get(
            "minimum", schema.get("exclusiveMinimum", 0) + 1 if "exclusiveMinimum" in schema else 1
        )
        high = schema.get("maximum")
        value = low if high is None else min(low, high)
        return int(value) if kind == "integer" else float(value)
    if kind == "boolean":
        return True
    if kind == "null":
        return None
    return _string(schema)


def parameter_value(document: Document, parameter: ir.Parameter) -> Any:
    found, holder = document.get(parameter.pointer)
    assert found
    holder = _resolve(document, holder)
    for example in _examples(document, holder):
        return example
    return instance(document, holder.get("schema", {}))


def media_value(document: Document, holder: Any, media_type: str) -> Any:
    media = _resolve(document, holder)["content"][media_type]
    for example in _examples(document, media):
        return example
    return instance(document, media.get("schema", {}))


def typed(annotation: Any, data: Any) -> Any:
    return TypeAdapter(annotation).validate_python(data)


def dumped(annotation: Any, value: Any) -> Any:
    return TypeAdapter(annotation).dump_python(value, mode="json", by_alias=True)


# --- credentials ------------------------------------------------------------------------------------


def schemes(api: ir.Api) -> dict[str, rt.SecurityScheme]:
    found: dict[str, rt.SecurityScheme] = {}
    for scheme in api.security_schemes:
        if scheme.kind == "apiKey":
            verifier = rt.ApiKeyVerifier(scheme.key_name or "", [API_KEY])
            found[scheme.name] = rt.ApiKeyScheme(verifier)
        else:
            found[scheme.name] = rt.BearerScheme(ISSUER.verifier())
    return found


def credentials(api: ir.Api, op: ir.Operation, path_values: dict[str, str]) -> httpx.Auth:
    """The first security alternative's credentials, with its scopes and the operation's roles."""
    by_name = {scheme.name: scheme for scheme in api.security_schemes}
    alternative = op.security[0] if op.security else ir.SecurityRequirement()
    auths: list[httpx.Auth] = []
    claims: dict[str, Any] = {}
    scopes = [scope for _, wanted in alternative.schemes for scope in wanted]
    if scopes:
        claims["scope"] = " ".join(scopes)
    if op.roles is not None:
        # A template variable that is no path parameter (DPS disseminations: the contract of the
        # archiveId) is the handler's to check; the route wants some role of the template's shape.
        unbound = rt.RoleRequirement(op.roles.any_of).unbound(path_values)
        roles = rt.expand_roles(op.roles.any_of, {**path_values, **dict.fromkeys(unbound, "any")})
        *parents, leaf = (op.roles.claim or "roles").split(".")
        target = claims
        for part in parents:
            target = target.setdefault(part, {})
        target[leaf] = list(roles)
    for name, _ in alternative.schemes:
        scheme = by_name[name]
        if scheme.kind == "apiKey":
            location: typing.Literal["header", "query"] = (
                "query" if scheme.key_location == "query" else "header"
            )
            auths.append(ApiKey(API_KEY, name=scheme.key_name or "", location=location))
        else:
            auths.append(BearerToken(ISSUER.token(**claims)))
    return MultiAuth(*auths)


# --- the test ---------------------------------------------------------------------------------------


class Recorder:
    """Handlers for every operation: record the arguments, answer with the prepared result."""

    def __init__(self, name: str, result: Any) -> None:
        self.name = name
        self.result = result
        self.received: dict[str, Any] | None = None

    def __getattr__(self, name: str) -> Any:
        if name != self.name:
            raise AttributeError(name)

        async def handle(**arguments: Any) -> Any:
            self.received = arguments
            return self.result

        return handle


def _success(op: ir.Operation) -> ir.Response:
    return next(r for r in op.responses if r.status.startswith("2"))


def _json_media(contents: tuple[ir.MediaType, ...]) -> ir.MediaType:
    served = [m for m in contents if not m.environments or "test" in m.environments]
    return next((m for m in served if "json" in m.media_type), served[0])


@pytest.mark.anyio
@pytest.mark.parametrize(("name", "operation_id"), _cases())
async def test_operation_round_trips(name: str, operation_id: str) -> None:
    found = spec(name)
    document, api, package = found.document, found.api, found.package
    op = next(o for o in api.operations if o.operation_id == operation_id)
    method = getattr(package.AsyncClient, op.python_name)
    hints = typing.get_type_hints(method, vars(package.client))
    accepted = set(inspect.signature(method).parameters) - {"self"}

    arguments: dict[str, Any] = {}
    path_values: dict[str, str] = {}
    for parameter in op.parameters:
        if parameter.python_name not in accepted:
            continue  # a credential header the authenticator supplies
        value = typed(hints[parameter.python_name], parameter_value(document, parameter))
        arguments[parameter.python_name] = value
        if parameter.location == "path":
            path_values[parameter.name] = str(dumped(hints[parameter.python_name], value))
    if op.request_body is not None and "body" in accepted:
        media = _json_media(op.request_body.contents)
        _, holder = document.get(f"{op.pointer}/requestBody")
        arguments["body"] = typed(hints["body"], media_value(document, holder, media.media_type))

    # The handler Protocol `Handlers.<operation>` names, and what its `__call__` returns.
    protocol = getattr(package.server.Handlers, op.python_name).fget
    handler = typing.get_type_hints(protocol, vars(package.server))["return"]
    returns = typing.get_type_hints(handler.__call__, vars(package.server))["return"]
    success = _success(op)
    result = None
    if success.contents:
        media = _json_media(success.contents)
        _, holder = document.get(f"{op.pointer}/responses/{success.status}")
        result = typed(returns, media_value(document, holder, media.media_type))

    recorder = Recorder(op.python_name, result)
    app = package.create_app(recorder, schemes(api), environment="test")
    auth = credentials(api, op, path_values)
    transport = httpx.ASGITransport(app=app)
    async with package.AsyncClient(
        "http://api.test", auth=auth, transport=transport, retry=None
    ) as client:
        answer = await getattr(client, op.python_name)(**arguments)

    assert recorder.received is not None
    for argument, value in arguments.items():
        sent, got = (
            dumped(hints[argument], value),
            dumped(hints[argument], recorder.received[argument]),
        )
        assert got == sent, argument
    if result is None:
        assert answer is None
    else:
        expected = hints["return"]
        if isinstance(expected, type):
            assert isinstance(answer, expected)
        assert dumped(expected, answer) == dumped(returns, result)


def test_every_operation_is_a_case() -> None:
    """The cases (from each package's api.OPERATIONS) are exactly the operations of the IR."""
    assert len(PACKAGES) >= 7
    for name in PACKAGES:
        found = spec(name)
        listed = [op.operation_id for op in found.package.api.OPERATIONS]
        assert listed == [op.operation_id for op in found.api.operations]

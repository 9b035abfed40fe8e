"""Crash property of `kontrakt diff`: any pair of valid OpenAPI documents gives a report.

Hypothesis draws pairs of small OpenAPI 3.0 and 3.1 documents from one small vocabulary (so the two
sides share paths, operations, parameters and schemas often enough to be compared, not only added
and removed), covering the shapes that once crashed the checker or were never compared: path items
holding only `parameters`, operations with bare responses, `$ref`s to every component kind,
webhooks, callbacks, deprecation and stability extensions, media types with parameters and
wildcards, and documents missing every optional section. `diff_documents` must return, and the
CLI must exit 0, 1 or 2 without a traceback. Examples are bounded and derandomised, so the test is
deterministic and takes a few seconds.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from kontrakt.cli import app
from kontrakt.diff import Verdict
from kontrakt.diff.report import FORMATS
from tests.unit.diff.helpers import diff

Doc = dict[str, Any]
SETTINGS = settings(
    max_examples=120,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

PATHS = ("/items", "/items/{id}", "/items/{ref}/", "/v1/items", "/users/{id}/items/{n}")
METHODS = ("get", "post", "delete")
PARAM_NAMES = ("id", "ref", "q", "limit", "X-Trace")
MEDIA = (
    "application/json",
    "application/json; charset=utf-8",
    "application/problem+json",
    "application/*",
    "*/*",
    "text/plain",
    "application/xml",
)
SCHEMA_NAMES = ("A", "B", "C")
DATES = ("2001-01-01", "2099-12-31", "2030-06-01T00:00:00Z", "not a date")
LEVELS = ("draft", "alpha", "beta", "stable", "experimental")


def _opt(draw: st.DrawFn, value: Any) -> Any:
    return value if draw(st.booleans()) else None


@st.composite
def schemas(draw: st.DrawFn, depth: int = 0) -> Doc:
    """A small schema: scalar, array, object, a reference, or a composition."""
    kinds = ["string", "integer", "number", "boolean", "ref", "array", "object", "empty"]
    if depth < 2:
        kinds += ["oneOf", "allOf", "anyOf"]
    kind = draw(st.sampled_from(kinds))
    if kind == "ref" or (depth >= 2 and kind in ("array", "object")):
        return {"$ref": f"#/components/schemas/{draw(st.sampled_from(SCHEMA_NAMES))}"}
    if kind == "empty":
        return {}
    if kind == "array":
        return {"type": "array", "items": draw(schemas(depth + 1))}
    if kind == "object":
        names = draw(st.lists(st.sampled_from(("a", "b", "c")), max_size=3, unique=True))
        schema: Doc = {
            "type": "object",
            "properties": {n: draw(schemas(depth + 1)) for n in names},
        }
        required = [n for n in names if draw(st.booleans())]
        if required:
            schema["required"] = required
        return schema
    if kind in ("oneOf", "allOf", "anyOf"):
        return {kind: draw(st.lists(schemas(depth + 1), min_size=1, max_size=3))}
    schema = {"type": kind}
    if kind == "string" and draw(st.booleans()):
        schema["enum"] = draw(st.lists(st.sampled_from(("x", "y", "z")), min_size=1, unique=True))
    if draw(st.booleans()):
        schema["default"] = {"string": "x", "integer": 1, "number": 1.5, "boolean": True}[kind]
    return schema


@st.composite
def parameters(draw: st.DrawFn, path: str) -> list[Doc]:
    result: list[Doc] = []
    names = [s.strip("{}") for s in path.split("/") if s.startswith("{")]
    for name in names:
        if draw(st.booleans()):
            result.append(
                {"name": name, "in": "path", "required": True, "schema": draw(schemas(2))}
            )
    for name in draw(st.lists(st.sampled_from(PARAM_NAMES), max_size=2, unique=True)):
        if name in names:
            continue
        where = draw(st.sampled_from(("query", "header", "cookie")))
        param: Doc = {"name": name, "in": where}
        if draw(st.booleans()):
            param["required"] = draw(st.booleans())
        if draw(st.booleans()):
            param["schema"] = draw(schemas(1))
        else:
            param["content"] = {draw(st.sampled_from(MEDIA)): {"schema": draw(schemas(2))}}
        if draw(st.booleans()):
            param["style"], param["explode"] = "form", draw(st.booleans())
        result.append(param if draw(st.booleans()) else {"$ref": f"#/components/parameters/{name}"})
    return result


@st.composite
def contents(draw: st.DrawFn) -> Doc:
    content: Doc = {}
    for media in draw(st.lists(st.sampled_from(MEDIA), max_size=2, unique=True)):
        content[media] = {"schema": draw(schemas())} if draw(st.booleans()) else {}
    return content


@st.composite
def responses(draw: st.DrawFn) -> Doc:
    result: Doc = {}
    for status in draw(
        st.lists(st.sampled_from(("200", "201", "204", "4XX", "404", "default")), min_size=1)
    ):
        if draw(st.booleans()) and status != "204":
            result[status] = {"$ref": "#/components/responses/Shared"}
            continue
        response: Doc = {"description": status}
        if draw(st.booleans()):
            response["content"] = draw(contents())
        if draw(st.booleans()):
            response["headers"] = {
                "X-Rate": {"required": draw(st.booleans()), "schema": draw(schemas(2))}
            }
        result[status] = response
    return result


@st.composite
def operations(draw: st.DrawFn, path: str, depth: int = 0) -> Doc:
    op: Doc = {"responses": draw(responses())}
    if draw(st.booleans()):
        op["operationId"] = draw(st.sampled_from(("one", "two", "three")))
    params = draw(parameters(path))
    if params:
        op["parameters"] = params
    if draw(st.booleans()):
        body: Doc = {"content": draw(contents())}
        if draw(st.booleans()):
            body["required"] = draw(st.booleans())
        op["requestBody"] = (
            body if draw(st.booleans()) else {"$ref": "#/components/requestBodies/B"}
        )
    if draw(st.booleans()):
        op["deprecated"] = draw(st.booleans())
    if draw(st.booleans()):
        op["x-sunset"] = draw(st.sampled_from(DATES))
    if draw(st.booleans()):
        op["x-stability-level"] = draw(st.sampled_from(LEVELS))
    if draw(st.booleans()):
        op["security"] = draw(
            st.lists(
                st.sampled_from(
                    ({}, {"oauth": ["read"]}, {"oauth": ["read", "write"]}, {"key": []})
                ),
                max_size=2,
            )
        )
    if depth == 0 and draw(st.booleans()):
        expression = draw(st.sampled_from(("{$request.body#/url}", "{$request.query.cb}")))
        callback = {expression: draw(path_items(expression, depth + 1))}
        op["callbacks"] = {
            "onEvent": callback if draw(st.booleans()) else {"$ref": "#/components/callbacks/Cb"}
        }
    return op


@st.composite
def path_items(draw: st.DrawFn, path: str, depth: int = 0) -> Doc:
    item: Doc = {}
    if draw(st.booleans()):
        item["parameters"] = draw(parameters(path))
    for method in draw(st.lists(st.sampled_from(METHODS), max_size=2, unique=True)):
        item[method] = draw(operations(path, depth))
    return item


@st.composite
def documents(draw: st.DrawFn) -> Doc:
    version = draw(st.sampled_from(("3.0.3", "3.1.0")))
    doc: Doc = {
        "openapi": version,
        "info": {"title": "t", "version": draw(st.sampled_from(("1.0", "2.0")))},
    }
    paths: Doc = {}
    for path in draw(st.lists(st.sampled_from(PATHS), max_size=3, unique=True)):
        if version.startswith("3.1") and path == "/items" and draw(st.booleans()):
            paths[path] = {"$ref": "#/components/pathItems/Hook"}  # 3.1: a path item by reference
        else:
            paths[path] = draw(path_items(path))
    if paths or version.startswith("3.0") or draw(st.booleans()):
        doc["paths"] = paths
    if version.startswith("3.1") and draw(st.booleans()):
        doc["webhooks"] = {
            name: (
                draw(path_items("/"))
                if draw(st.booleans())
                else {"$ref": "#/components/pathItems/Hook"}
            )
            for name in draw(st.lists(st.just("created"), max_size=1))
        }
    if draw(st.booleans()):
        doc["servers"] = [
            {"url": draw(st.sampled_from(("https://x.no/v1", "https://x.no/v2", "/")))}
        ]
    if draw(st.booleans()):
        doc["security"] = draw(st.lists(st.sampled_from(({"oauth": ["read"]}, {"key": []}, {}))))
    if draw(st.booleans()):
        components: Doc = {
            "schemas": {name: draw(schemas(1)) for name in SCHEMA_NAMES},
            "parameters": {
                name: {"name": name, "in": "query", "schema": draw(schemas(2))}
                for name in PARAM_NAMES
            },
            "responses": {"Shared": {"description": "shared", "content": draw(contents())}},
            "requestBodies": {"B": {"content": draw(contents())}},
            "callbacks": {"Cb": {"{$request.body#/url}": draw(path_items("/", 1))}},
            "securitySchemes": {
                "oauth": {
                    "type": "oauth2",
                    "flows": {"clientCredentials": {"tokenUrl": "/t", "scopes": {"read": "r"}}},
                },
                "key": {
                    "type": "apiKey",
                    "in": draw(st.sampled_from(("header", "query"))),
                    "name": "k",
                },
            },
        }
        if version.startswith("3.1"):
            components["pathItems"] = {"Hook": draw(path_items("/", 1))}
        doc["components"] = components
    return doc


@st.composite
def pairs(draw: st.DrawFn) -> tuple[Doc, Doc]:
    """Two independent documents, or one and a copy with some operations and components redrawn
    (so that the same operation is compared with a different one, not only added and removed)."""
    old = draw(documents())
    if draw(st.booleans()):
        return old, draw(documents())
    new = copy.deepcopy(old)
    for path, item in (new.get("paths") or {}).items():
        for method in [m for m in METHODS if m in item]:
            if draw(st.booleans()):
                item[method] = draw(operations(path))
        if draw(st.booleans()):
            item["parameters"] = draw(parameters(path))
    for name in list(new.get("webhooks") or {}):
        if draw(st.booleans()):
            new["webhooks"][name] = draw(path_items("/"))
    if "components" in new and draw(st.booleans()):
        new["components"]["schemas"] = {name: draw(schemas(1)) for name in SCHEMA_NAMES}
    return old, new


@given(pair=pairs())
@SETTINGS
def test_any_pair_of_documents_gives_a_report(pair: tuple[Doc, Doc]) -> None:
    old, new = pair
    result = diff(old, new)
    assert all(isinstance(c.verdict, Verdict) for c in result.changes)
    ids = [c.id for c in result.changes]
    assert len(ids) == len(set(ids))
    # Determinism: the same pair gives the same changes.
    assert [c.id for c in diff(old, new).changes] == ids


@given(pair=pairs())
@settings(SETTINGS, max_examples=15)
def test_the_cli_exits_0_1_or_2_without_a_traceback(
    pair: tuple[Doc, Doc], tmp_path_factory: Any
) -> None:
    old, new = pair
    folder: Path = tmp_path_factory.mktemp("pair")
    (folder / "old.json").write_text(json.dumps(old), encoding="utf-8")
    (folder / "new.json").write_text(json.dumps(new), encoding="utf-8")
    for fmt in FORMATS:
        result = CliRunner().invoke(
            app, ["diff", str(folder / "old.json"), str(folder / "new.json"), "--format", fmt]
        )
        assert result.exit_code in (0, 1, 2), result.output
        assert result.exception is None or isinstance(result.exception, SystemExit), repr(
            result.exception
        )
        assert "Traceback" not in result.output


@given(doc=documents())
@settings(SETTINGS, max_examples=60)
def test_any_document_against_itself_reports_nothing(doc: Doc) -> None:
    """Webhooks, callbacks, sunsets, media parameters and repeated security alternatives
    included."""
    assert [c.id for c in diff(doc, copy.deepcopy(doc)).changes] == []

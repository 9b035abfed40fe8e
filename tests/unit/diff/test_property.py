"""Property tests: a document diffed with itself (or its inlined twin) reports nothing, and any
single generated mutation is reported with the kind that names it."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from kontrakt.diff import Verdict
from tests.unit.diff.helpers import diff, kinds

Doc = dict[str, Any]
SETTINGS = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow], database=None
)

names = st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=3, max_size=8)
scalar = st.sampled_from(["string", "integer", "boolean", "number"])


@st.composite
def properties(draw: st.DrawFn) -> dict[str, Any]:
    props: dict[str, Any] = {}
    for name in draw(st.lists(names, min_size=1, max_size=5, unique=True)):
        kind = draw(scalar)
        schema: dict[str, Any] = {"type": kind}
        if kind == "string" and draw(st.booleans()):
            schema["enum"] = draw(st.lists(names, min_size=2, max_size=4, unique=True))
        props[name] = schema
    return props


@st.composite
def documents(draw: st.DrawFn) -> Doc:
    """Small OpenAPI 3.1 documents: 1-3 paths, GET/POST, parameters, object responses via $ref."""
    paths: dict[str, Any] = {}
    schemas: dict[str, Any] = {}
    for i, segment in enumerate(draw(st.lists(names, min_size=1, max_size=3, unique=True))):
        item: dict[str, Any] = {}
        for method in draw(
            st.lists(st.sampled_from(["get", "post"]), min_size=1, max_size=2, unique=True)
        ):
            params = []
            for name in draw(st.lists(names, max_size=3, unique=True)):
                params.append(
                    {
                        "name": name,
                        "in": "query",
                        "required": draw(st.booleans()),
                        "schema": {"type": draw(scalar)},
                    }
                )
            props = draw(properties())
            schema_name = f"S{i}{method}"
            schemas[schema_name] = {
                "type": "object",
                "required": sorted(p for p in props if draw(st.booleans())),
                "properties": props,
            }
            item[method] = {
                "operationId": f"op{i}{method}",
                "parameters": params,
                "responses": {
                    "200": {
                        "description": "ok",
                        "content": {
                            "application/json": {
                                "schema": {"$ref": f"#/components/schemas/{schema_name}"}
                            }
                        },
                    },
                    "404": {"description": "missing"},
                },
            }
        paths[f"/{segment}"] = item
    return {
        "openapi": "3.1.0",
        "info": {"title": "generated", "version": "1.0.0"},
        "servers": [{"url": "https://example.no/v1"}],
        "security": [{"oauth": ["read"]}],
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "oauth": {
                    "type": "oauth2",
                    "flows": {
                        "clientCredentials": {
                            "tokenUrl": "https://auth.example.no/token",
                            "scopes": {"read": "r", "write": "w"},
                        }
                    },
                }
            },
        },
    }


def inline(doc: Doc) -> Doc:
    """The same document with every schema $ref replaced by the schema it names."""
    schemas = doc["components"]["schemas"]

    def walk(node: Any) -> Any:
        if isinstance(node, dict):
            if "$ref" in node:
                return walk(copy.deepcopy(schemas[node["$ref"].rsplit("/", 1)[1]]))
            return {k: walk(v) for k, v in node.items()}
        if isinstance(node, list):
            return [walk(v) for v in node]
        return node

    result = copy.deepcopy(doc)
    result["paths"] = walk(result["paths"])
    result["components"].pop("schemas")
    return result


@given(documents())
@SETTINGS
def test_a_document_against_itself_reports_nothing(doc: Doc) -> None:
    assert diff(doc, copy.deepcopy(doc)).changes == []


@given(documents())
@SETTINGS
def test_references_and_their_inlined_schemas_compare_equal(doc: Doc) -> None:
    assert diff(doc, inline(doc)).changes == []
    assert diff(inline(doc), doc).changes == []


@given(documents(), st.sampled_from(["3.0.3", "3.1.0"]))
@SETTINGS
def test_nullable_spellings_of_30_and_31_compare_equal(doc: Doc, version: str) -> None:
    as_31 = copy.deepcopy(doc)
    as_30 = copy.deepcopy(doc)
    as_30["openapi"] = "3.0.3"
    for name, schema in as_31["components"]["schemas"].items():
        for prop, sub in schema["properties"].items():
            sub["type"] = [sub["type"], "null"]
            as_30["components"]["schemas"][name]["properties"][prop]["nullable"] = True
    assert diff(as_30, as_31).changes == []
    assert diff(as_31, as_30).changes == []


# -- single mutations -----------------------------------------------------------------------


def _ops(doc: Doc) -> list[Doc]:
    return [op for item in doc["paths"].values() for op in item.values()]


def _schema(doc: Doc, op: Doc) -> Doc:
    ref = op["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    return doc["components"]["schemas"][ref.rsplit("/", 1)[1]]  # type: ignore[no-any-return]


Mutation = Callable[[Doc, st.DataObject], None]


def remove_path(doc: Doc, data: st.DataObject) -> None:
    doc["paths"].pop(data.draw(st.sampled_from(sorted(doc["paths"]))))


def remove_operation(doc: Doc, data: st.DataObject) -> None:
    items = [item for item in doc["paths"].values() if len(item) > 1]
    assume(items)
    item = data.draw(st.sampled_from(items))
    item.pop(data.draw(st.sampled_from(sorted(item))))


def add_operation(doc: Doc, data: st.DataObject) -> None:
    item = data.draw(st.sampled_from(list(doc["paths"].values())))
    assume("delete" not in item)
    item["delete"] = {"responses": {"204": {"description": "gone"}}}


def add_required_parameter(doc: Doc, data: st.DataObject) -> None:
    op = data.draw(st.sampled_from(_ops(doc)))
    op["parameters"].append(
        {"name": "Zz-New", "in": "header", "required": True, "schema": {"type": "string"}}
    )


def make_parameter_required(doc: Doc, data: st.DataObject) -> None:
    optional = [p for op in _ops(doc) for p in op["parameters"] if not p["required"]]
    assume(optional)
    data.draw(st.sampled_from(optional))["required"] = True


def change_parameter_type(doc: Doc, data: st.DataObject) -> None:
    params = [p for op in _ops(doc) for p in op["parameters"]]
    assume(params)
    param = data.draw(st.sampled_from(params))
    # Not a scalar -> exploded array: a single value is a one-item array there (GEN-PARAM-BECAME-ARRAY).
    param["schema"] = {"type": "boolean" if param["schema"]["type"] != "boolean" else "integer"}


def remove_response_status(doc: Doc, data: st.DataObject) -> None:
    data.draw(st.sampled_from(_ops(doc)))["responses"].pop("404")


def add_response_status(doc: Doc, data: st.DataObject) -> None:
    data.draw(st.sampled_from(_ops(doc)))["responses"]["406"] = {"description": "not acceptable"}


def remove_response_property(doc: Doc, data: st.DataObject) -> None:
    schema = _schema(doc, data.draw(st.sampled_from(_ops(doc))))
    assume(schema["required"])
    name = data.draw(st.sampled_from(sorted(schema["required"])))
    schema["properties"].pop(name)
    schema["required"].remove(name)


def remove_optional_response_property(doc: Doc, data: st.DataObject) -> None:
    schema = _schema(doc, data.draw(st.sampled_from(_ops(doc))))
    optional = sorted(set(schema["properties"]) - set(schema["required"]))
    assume(optional)
    schema["properties"].pop(data.draw(st.sampled_from(optional)))


def rename_response_property(doc: Doc, data: st.DataObject) -> None:
    schema = _schema(doc, data.draw(st.sampled_from(_ops(doc))))
    name = data.draw(st.sampled_from(sorted(schema["properties"])))
    props = schema["properties"]
    assume(sum(1 for p in props.values() if p == props[name]) == 1)
    props["renamed" + name] = props.pop(name)
    schema["required"] = ["renamed" + r if r == name else r for r in schema["required"]]


def change_response_property_type(doc: Doc, data: st.DataObject) -> None:
    schema = _schema(doc, data.draw(st.sampled_from(_ops(doc))))
    name = data.draw(st.sampled_from(sorted(schema["properties"])))
    schema["properties"][name] = {"type": "object"}


def add_response_property(doc: Doc, data: st.DataObject) -> None:
    schema = _schema(doc, data.draw(st.sampled_from(_ops(doc))))
    schema["properties"]["zzadded"] = {"type": "string"}


def remove_response_enum_value(doc: Doc, data: st.DataObject) -> None:
    enums = [p for op in _ops(doc) for p in _schema(doc, op)["properties"].values() if "enum" in p]
    assume(enums)
    prop = data.draw(st.sampled_from(enums))
    prop["enum"] = prop["enum"][1:]


def add_scope(doc: Doc, data: st.DataObject) -> None:
    doc["security"] = [{"oauth": ["read", "write"]}]


def remove_media_type(doc: Doc, data: st.DataObject) -> None:
    op = data.draw(st.sampled_from(_ops(doc)))
    content = op["responses"]["200"]["content"]
    content["application/xml"] = content.pop("application/json")


MUTATIONS: dict[str, tuple[Mutation, str, Verdict]] = {
    "remove_path": (remove_path, "path-removed", Verdict.BREAKING),
    "remove_operation": (remove_operation, "operation-removed", Verdict.BREAKING),
    "add_operation": (add_operation, "operation-added", Verdict.ALLOWED),
    "add_required_parameter": (add_required_parameter, "request-parameter-added", Verdict.BREAKING),
    "make_parameter_required": (make_parameter_required, "request-parameter-became-required", Verdict.BREAKING),
    "change_parameter_type": (change_parameter_type, "request-parameter-type-changed", Verdict.BREAKING),
    "remove_response_status": (remove_response_status, "response-status-removed", Verdict.WARN),
    "add_response_status": (add_response_status, "response-status-added", Verdict.ALLOWED),
    "remove_response_property": (remove_response_property, "response-property-removed", Verdict.BREAKING),
    "remove_optional_response_property": (remove_optional_response_property, "response-property-removed", Verdict.WARN),
    "rename_response_property": (rename_response_property, "response-property-renamed", Verdict.BREAKING),
    "change_response_property_type": (change_response_property_type, "response-property-type-changed", Verdict.BREAKING),
    "add_response_property": (add_response_property, "response-property-added", Verdict.ALLOWED),
    "remove_response_enum_value": (remove_response_enum_value, "response-property-enum-value-removed", Verdict.ALLOWED),
    "add_scope": (add_scope, "security-scope-added", Verdict.BREAKING),
    "remove_media_type": (remove_media_type, "response-media-type-removed", Verdict.BREAKING),
}  # fmt: skip


@given(documents(), st.sampled_from(sorted(MUTATIONS)), st.data())
@settings(
    max_examples=300,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
def test_a_single_mutation_is_reported_with_its_kind(
    doc: Doc, name: str, data: st.DataObject
) -> None:
    mutate, kind, verdict = MUTATIONS[name]
    new = copy.deepcopy(doc)
    mutate(new, data)
    result = diff(doc, new)
    found = kinds(result)
    # The mutation's own kind, and only that kind (a media type swap also adds the new one).
    expected = (
        {kind, "response-media-type-added"} if kind == "response-media-type-removed" else {kind}
    )
    assert found == expected, [c.id for c in result.changes]
    assert all(c.verdict is verdict for c in result.changes if c.kind == kind)

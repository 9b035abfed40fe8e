"""Schema pairs that once could trip the comparison: recursive `$ref`s through 2020-12 keywords,
boolean schemas, `$ref` with siblings (3.1), `$defs`. Each gives changes or nothing, never an
exception, and the changes it gives are the right ones."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from kontrakt.diff import Verdict
from tests.unit.diff.helpers import diff

B, W, A = Verdict.BREAKING, Verdict.WARN, Verdict.ALLOWED


def doc(schemas: dict[str, Any], body: Any) -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {"title": "T", "version": "1.0.0"},
        "paths": {
            "/n": {
                "post": {
                    "requestBody": {"content": {"application/json": {"schema": body}}},
                    "responses": {
                        "200": {
                            "description": "ok",
                            "content": {"application/json": {"schema": copy.deepcopy(body)}},
                        }
                    },
                }
            }
        },
        "components": {"schemas": copy.deepcopy(schemas)},
    }


NODE = {"$ref": "#/components/schemas/Node"}
RECURSIVE: dict[str, Any] = {
    "Node": {
        "type": "object",
        "properties": {"name": {"type": "string"}},
        "prefixItems": [NODE],
        "patternProperties": {"^n": NODE},
        "dependentSchemas": {"name": NODE},
        "contains": NODE,
        "if": NODE,
        "then": NODE,
        "else": NODE,
        "unevaluatedProperties": NODE,
        "propertyNames": {"$ref": "#/components/schemas/Name"},
    },
    "Name": {"type": "string", "$defs": {"self": {"$ref": "#/components/schemas/Name"}}},
}


def test_a_schema_recursive_through_every_keyword_compares_finitely() -> None:
    old = doc(RECURSIVE, NODE)
    assert not diff(old, old).changes
    new = copy.deepcopy(old)
    new["components"]["schemas"]["Node"]["properties"]["name"]["maxLength"] = 5
    changes = diff(old, new).changes
    assert changes
    assert {(c.direction.value, c.verdict) for c in changes} == {("request", B), ("response", A)}


@pytest.mark.parametrize("old_body", [True, False, {}, {"not": {}}])
@pytest.mark.parametrize("new_body", [True, False, {}, {"type": "string"}])
def test_boolean_schemas_never_raise(old_body: Any, new_body: Any) -> None:
    result = diff(doc({}, old_body), doc({}, new_body))
    assert all(c.verdict in (B, W, A) for c in result.changes)


@pytest.mark.parametrize("keyword", ["contains", "propertyNames", "unevaluatedProperties"])
def test_a_false_sub_schema_admits_less_than_a_schema(keyword: str) -> None:
    old = doc({}, {"type": "object", keyword: {"type": "string"}})
    new = doc({}, {"type": "object", keyword: False})
    by_direction = {c.direction.value: c.verdict for c in diff(old, new).changes}
    assert by_direction == {"request": B, "response": A}


def test_ref_siblings_are_compared_over_the_target() -> None:
    schemas = {"Id": {"type": "string"}}
    old = doc(schemas, {"$ref": "#/components/schemas/Id"})
    new = doc(schemas, {"$ref": "#/components/schemas/Id", "maxLength": 11})
    rules = sorted(c.rule for c in diff(old, new).changes)
    assert rules == ["GEN-REQ-CONSTRAINT-NARROWED", "GEN-RESP-CONSTRAINT-NARROWED"]


def test_defs_reached_by_reference_are_compared() -> None:
    def with_defs(limit: int) -> dict[str, Any]:
        wrapper = {"$defs": {"code": {"type": "string", "maxLength": limit}}}
        body = {
            "type": "object",
            "properties": {"code": {"$ref": "#/components/schemas/W/$defs/code"}},
        }
        return doc({"W": wrapper}, body)

    changes = diff(with_defs(10), with_defs(20)).changes
    assert {(c.rule, c.verdict) for c in changes} == {
        ("GEN-REQ-CONSTRAINT-WIDENED", A),
        ("GEN-RESP-CONSTRAINT-WIDENED", B),
    }


@pytest.mark.parametrize(
    "junk",
    [{"prefixItems": "x"}, {"patternProperties": [1]}, {"dependentRequired": {"a": "b"}},
     {"dependentSchemas": 3}, {"contains": 7}, {"x-extensible-enum": "a"}, {"const": None},
     {"type": ["string", 5]}, {"if": True, "then": False}],
)  # fmt: skip
def test_malformed_keyword_values_never_raise(junk: dict[str, Any]) -> None:
    plain = doc({}, {"type": "object"})
    odd = doc({}, {"type": "object", **junk})
    diff(plain, odd)
    diff(odd, plain)
    assert not diff(odd, odd).changes

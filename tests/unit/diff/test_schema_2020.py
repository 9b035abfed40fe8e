"""JSON Schema 2020-12 keywords in `kontrakt diff`: each keyword added, removed and changed, in a
request body and in a response body, judged by the direction the data flows (docs/diff-policy.md).

A change that narrows what a request may hold is breaking and its mirror allowed; a change that
widens what a response may hold is breaking and its mirror allowed."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from kontrakt.diff import DiffResult, Verdict
from tests.unit.diff.helpers import diff

B, W, A = Verdict.BREAKING, Verdict.WARN, Verdict.ALLOWED


def doc(schema: Any, where: str) -> dict[str, Any]:
    """A 3.1 document whose one operation carries ``schema`` in its request or its response."""
    body = {"content": {"application/json": {"schema": copy.deepcopy(schema)}}}
    operation: dict[str, Any] = {"operationId": "op", "responses": {"200": {"description": "ok"}}}
    if where == "request":
        operation["requestBody"] = {**body, "required": True}
    else:
        operation["responses"]["200"].update(body)
    return {
        "openapi": "3.1.0",
        "info": {"title": "T", "version": "1.0.0"},
        "paths": {"/things": {"post": operation}},
    }


def run(old: Any, new: Any, where: str) -> DiffResult:
    return diff(doc(old, where), doc(new, where))


def verdict(result: DiffResult) -> Verdict:
    """The worst verdict of the result (allowed when nothing changed)."""
    found = {c.verdict for c in result.changes}
    return next((v for v in (B, W, A) if v in found), A)


ARR = {"type": "array"}
OBJ = {"type": "object"}
STR = {"type": "string"}

# (name, old schema, new schema, verdict in a request, verdict in a response)
CASES: list[tuple[str, Any, Any, Verdict, Verdict]] = [
    ("contains added", ARR, {**ARR, "contains": STR}, B, A),
    ("contains removed", {**ARR, "contains": STR}, ARR, A, B),
    ("contains narrowed", {**ARR, "contains": STR}, {**ARR, "contains": {**STR, "maxLength": 3}}, B, A),
    ("minContains raised", {**ARR, "contains": STR, "minContains": 1}, {**ARR, "contains": STR, "minContains": 2}, B, A),
    ("maxContains lowered", {**ARR, "contains": STR, "maxContains": 5}, {**ARR, "contains": STR, "maxContains": 2}, B, A),
    ("maxContains set", {**ARR, "contains": STR}, {**ARR, "contains": STR, "maxContains": 2}, B, A),
    ("dependentRequired added", OBJ, {**OBJ, "dependentRequired": {"a": ["b"]}}, B, A),
    ("dependentRequired name removed", {**OBJ, "dependentRequired": {"a": ["b", "c"]}}, {**OBJ, "dependentRequired": {"a": ["b"]}}, A, B),
    ("dependentSchemas added", OBJ, {**OBJ, "dependentSchemas": {"a": {"required": ["b"]}}}, B, A),
    ("dependentSchemas removed", {**OBJ, "dependentSchemas": {"a": {"required": ["b"]}}}, OBJ, A, B),
    ("dependentSchemas value property required", {**OBJ, "dependentSchemas": {"a": {"properties": {"b": STR}}}}, {**OBJ, "dependentSchemas": {"a": {"properties": {"b": STR}, "required": ["b"]}}}, B, A),
    ("then added", {**OBJ, "if": {"required": ["a"]}}, {**OBJ, "if": {"required": ["a"]}, "then": {"required": ["b"]}}, B, A),
    ("else removed", {**OBJ, "if": {"required": ["a"]}, "else": {"required": ["b"]}}, {**OBJ, "if": {"required": ["a"]}}, A, B),
    ("then bound tightened", {**OBJ, "if": {"required": ["a"]}, "then": {"properties": {"b": {**STR, "maxLength": 9}}}}, {**OBJ, "if": {"required": ["a"]}, "then": {"properties": {"b": {**STR, "maxLength": 4}}}}, B, A),
    ("if changed", {**OBJ, "if": {"required": ["a"]}, "then": {"required": ["b"]}}, {**OBJ, "if": {"required": ["c"]}, "then": {"required": ["b"]}}, W, W),
    ("unevaluatedProperties closed", OBJ, {**OBJ, "unevaluatedProperties": False}, B, A),
    ("unevaluatedProperties opened", {**OBJ, "unevaluatedProperties": False}, {**OBJ, "unevaluatedProperties": True}, A, B),
    ("unevaluatedProperties schema narrowed", {**OBJ, "unevaluatedProperties": STR}, {**OBJ, "unevaluatedProperties": {**STR, "maxLength": 2}}, B, A),
    ("unevaluatedItems closed", {**ARR, "prefixItems": [STR]}, {**ARR, "prefixItems": [STR], "unevaluatedItems": False}, B, A),
    ("prefixItems added", ARR, {**ARR, "prefixItems": [STR]}, B, A),
    ("prefixItems member removed", {**ARR, "prefixItems": [STR, STR]}, {**ARR, "prefixItems": [STR]}, A, B),
    ("prefixItems member type changed", {**ARR, "prefixItems": [STR]}, {**ARR, "prefixItems": [{"type": "integer"}]}, B, B),
    ("prefixItems member enum value added", {**ARR, "prefixItems": [{**STR, "enum": ["a"]}]}, {**ARR, "prefixItems": [{**STR, "enum": ["a", "b"]}]}, A, W),
    ("propertyNames added", OBJ, {**OBJ, "propertyNames": {"pattern": "^[a-z]+$"}}, B, A),
    ("propertyNames removed", {**OBJ, "propertyNames": {"maxLength": 5}}, OBJ, A, B),
    ("patternProperties added", OBJ, {**OBJ, "patternProperties": {"^x-": STR}}, B, A),
    ("patternProperties removed", {**OBJ, "patternProperties": {"^x-": STR}}, OBJ, A, B),
    ("patternProperties value widened", {**OBJ, "patternProperties": {"^x-": STR}}, {**OBJ, "patternProperties": {"^x-": {"type": ["string", "integer"]}}}, A, B),
    ("contentSchema added", {**STR, "contentMediaType": "application/json"}, {**STR, "contentMediaType": "application/json", "contentSchema": OBJ}, B, A),
    ("contentSchema removed", {**STR, "contentMediaType": "application/json", "contentSchema": OBJ}, {**STR, "contentMediaType": "application/json"}, A, B),
    ("contentMediaType changed", {**STR, "contentMediaType": "application/json"}, {**STR, "contentMediaType": "application/xml"}, W, W),
    ("contentEncoding added", STR, {**STR, "contentEncoding": "base64"}, W, W),
    ("const changed", {"const": "a"}, {"const": "b"}, B, B),
    ("const set where an enum was", {**STR, "enum": ["a", "b"]}, {**STR, "const": "a"}, B, A),
    ("type array gains null", {"type": ["string"]}, {"type": ["string", "null"]}, A, B),
    ("type array loses a type", {"type": ["string", "integer"]}, {"type": ["string"]}, B, A),
    ("not added", OBJ, {**OBJ, "not": {"required": ["a"]}}, B, A),
    ("not changed", {**OBJ, "not": {"required": ["a"]}}, {**OBJ, "not": {"required": ["b"]}}, W, W),
]  # fmt: skip


@pytest.mark.parametrize("where", ["request", "response"])
@pytest.mark.parametrize(("name", "old", "new", "req", "resp"), CASES, ids=[c[0] for c in CASES])
def test_keyword_change_is_judged_by_direction(
    name: str, old: Any, new: Any, req: Verdict, resp: Verdict, where: str
) -> None:
    result = run(old, new, where)
    expected = req if where == "request" else resp
    assert result.changes, f"{name}: nothing reported"
    assert verdict(result) is expected, [(c.rule, c.verdict.value) for c in result.changes]
    assert all(c.kind.startswith(where) for c in result.changes), [c.kind for c in result.changes]


@pytest.mark.parametrize(("name", "old", "new", "req", "resp"), CASES, ids=[c[0] for c in CASES])
def test_unchanged_keywords_report_nothing(
    name: str, old: Any, new: Any, req: Verdict, resp: Verdict
) -> None:
    for schema in (old, new):
        for where in ("request", "response"):
            assert not run(schema, schema, where).changes, name


def test_keyword_changes_nested_in_a_property_are_found_and_located() -> None:
    old = {**OBJ, "properties": {"tags": {**ARR, "prefixItems": [STR]}}}
    new = {**OBJ, "properties": {"tags": {**ARR, "prefixItems": [{**STR, "maxLength": 3}]}}}
    result = run(old, new, "request")
    (change,) = result.changes
    assert change.verdict is B and change.rule == "GEN-REQ-CONSTRAINT-NARROWED"
    assert "tags[0]" in change.where
    assert change.new_pointer is not None and "/prefixItems/0/maxLength" in change.new_pointer

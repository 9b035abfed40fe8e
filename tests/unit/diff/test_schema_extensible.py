"""x-extensible-enum (Zalando guideline 112) and the schema verdicts docs/diff-policy.md moved in
issue #17: response enum value removed, optional response property removed, request defaults,
patterns that accept everything."""

from __future__ import annotations

from typing import Any

import pytest

from kontrakt.diff import Verdict
from tests.unit.diff.test_schema_2020 import STR, run, verdict

B, W, A = Verdict.BREAKING, Verdict.WARN, Verdict.ALLOWED
EXT = {**STR, "x-extensible-enum": ["a", "b"]}

CASES: list[tuple[str, Any, Any, Verdict, Verdict]] = [
    ("extensible value added", EXT, {**STR, "x-extensible-enum": ["a", "b", "c"]}, A, A),
    ("extensible value removed", EXT, {**STR, "x-extensible-enum": ["a"]}, B, A),
    ("enum became extensible", {**STR, "enum": ["a", "b"]}, EXT, A, W),
    ("extensible became enum", EXT, {**STR, "enum": ["a", "b"]}, B, A),
    ("extensible became enum with a value added", EXT, {**STR, "enum": ["a", "b", "c"]}, B, W),
    ("closed enum value added", {**STR, "enum": ["a"]}, {**STR, "enum": ["a", "b"]}, A, W),
    ("closed enum value removed", {**STR, "enum": ["a", "b"]}, {**STR, "enum": ["a"]}, B, A),
    ("pattern added", STR, {**STR, "pattern": "^[0-9]{11}$"}, B, A),
    ("pattern changed", {**STR, "pattern": "^[0-9]{11}$"}, {**STR, "pattern": "^[0-9]{9}$"}, W, W),
    ("bound set where none was", STR, {**STR, "maxLength": 35}, B, A),
    ("exclusive bound set", {"type": "number"}, {"type": "number", "exclusiveMaximum": 10}, B, A),
]  # fmt: skip


@pytest.mark.parametrize("where", ["request", "response"])
@pytest.mark.parametrize(("name", "old", "new", "req", "resp"), CASES, ids=[c[0] for c in CASES])
def test_verdict(name: str, old: Any, new: Any, req: Verdict, resp: Verdict, where: str) -> None:
    result = run(old, new, where)
    assert result.changes, name
    expected = req if where == "request" else resp
    assert verdict(result) is expected, [(c.rule, c.verdict.value) for c in result.changes]


@pytest.mark.parametrize("match_all", ["", ".*", "^.*$"])
def test_a_pattern_accepting_everything_is_no_pattern(match_all: str) -> None:
    assert not run(STR, {**STR, "pattern": match_all}, "request").changes
    changed = run({**STR, "pattern": "^[a-z]+$"}, {**STR, "pattern": match_all}, "request")
    assert [c.rule for c in changed.changes] == ["GEN-REQ-PATTERN-REMOVED"]


def _object(required: list[str]) -> dict[str, Any]:
    return {"type": "object", "required": required, "properties": {"a": STR, "b": STR}}


def test_response_property_removed_breaks_only_when_it_was_required() -> None:
    gone = {"type": "object", "properties": {"b": STR}}
    optional = run(_object([]), gone, "response")
    assert [(c.rule, c.verdict) for c in optional.changes] == [
        ("GEN-RESP-OPTIONAL-PROPERTY-REMOVED", W)
    ]
    required = run(_object(["a"]), gone, "response")
    assert ("GEN-RESP-PROPERTY-REMOVED", B) in [(c.rule, c.verdict) for c in required.changes]


@pytest.mark.parametrize(
    ("old", "new", "rule", "expected"),
    [
        ({**STR, "default": "x"}, {**STR, "default": "y"}, "GEN-REQ-DEFAULT-CHANGED", B),
        ({**STR, "default": "x"}, STR, "GEN-REQ-DEFAULT-CHANGED", B),
        (STR, {**STR, "default": "x"}, "GEN-REQ-DEFAULT-ADDED", W),
    ],
)
def test_request_defaults(old: Any, new: Any, rule: str, expected: Verdict) -> None:
    result = run(old, new, "request")
    assert [(c.rule, c.verdict) for c in result.changes] == [(rule, expected)]
    assert not run(old, new, "response").changes  # a response default promises nothing


def _pets(name: str, extra: str | None = None) -> dict[str, Any]:
    props = {name: STR, **({extra: STR} if extra else {})}
    return {
        "oneOf": [
            {"type": "object", "required": [name], "properties": props},
            {"type": "object", "required": [name], "properties": {**props, "bark": STR}},
        ],
        "discriminator": {"propertyName": name},
        "properties": props,
    }


@pytest.mark.parametrize("where", ["request", "response"])
def test_discriminator_property_name_renamed_is_breaking(where: str) -> None:
    result = run(_pets("petType"), _pets("petType2"), where)
    renamed = [c for c in result.changes if "discriminator" in c.kind]
    assert [c.verdict for c in renamed] == [B]
    assert verdict(result) is B


@pytest.mark.parametrize("where", ["request", "response"])
def test_discriminator_moved_to_a_property_that_already_existed_warns(where: str) -> None:
    old = _pets("petType", extra="kind")
    new = {**old, "discriminator": {"propertyName": "kind"}}
    result = run(old, new, where)
    assert [(c.rule, c.verdict) for c in result.changes] == [("GEN-SCHEMA-KEYWORD-CHANGED", W)]

"""The models stage's walk over a schema: every schema object once per place it appears, each
before its sub-schemas, with the JSON pointer the diagnostics name (tokens escaped); values that
are not schema objects (booleans, ``additionalProperties: true``) are passed over. And the copy
the models input is made from: deep, sharing what the original shares, as `copy.deepcopy`."""

from __future__ import annotations

import copy
import datetime
from typing import Any

from kontrakt.generator.models import _copied, _schemas


def test_every_schema_in_order_with_its_pointer() -> None:
    shared: dict[str, Any] = {"type": "string"}
    schema: dict[str, Any] = {
        "type": "object",
        "properties": {
            "a/b": {"type": "array", "items": {"type": "integer"}},
            "c~d": shared,
            "flag": True,
        },
        "additionalProperties": True,
        "allOf": [{"$ref": "#/components/schemas/X"}, False, {"not": shared}],
        "$defs": {"inner": {"enum": ["x"]}},
        "items": {"type": "null"},
    }
    found = _schemas(schema, "/components/schemas/S")
    assert [ptr for _, ptr in found] == [
        "/components/schemas/S",
        "/components/schemas/S/items",
        "/components/schemas/S/allOf/0",
        "/components/schemas/S/allOf/2",
        "/components/schemas/S/allOf/2/not",
        "/components/schemas/S/properties/a~1b",
        "/components/schemas/S/properties/a~1b/items",
        "/components/schemas/S/properties/c~0d",
        "/components/schemas/S/$defs/inner",
    ]
    assert found[0][0] is schema
    assert found[4][0] is shared and found[7][0] is shared


def test_a_value_that_is_no_schema_object_has_no_schemas() -> None:
    assert _schemas(True, "/x") == []
    assert _schemas(None, "/x") == []


def test_the_copy_is_deep_and_shares_what_the_original_shares() -> None:
    shared: dict[str, Any] = {"type": "string", "enum": ["a", "b"]}
    data: dict[str, Any] = {
        "one": shared,
        "two": [shared, {"default": datetime.date(2025, 1, 31)}],
        "three": {"tags": {"x", "y"}, "n": 1.5, "flag": None},
    }
    copied = _copied(data)
    assert copied == data == copy.deepcopy(data)
    assert copied["one"] is copied["two"][0] and copied["one"] is not shared
    assert copied["one"]["enum"] is not shared["enum"]
    assert copied["three"]["tags"] is not data["three"]["tags"]  # left to copy.deepcopy
    copied["one"]["enum"].append("c")
    assert shared["enum"] == ["a", "b"]

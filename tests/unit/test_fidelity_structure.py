"""The fidelity comparator itself: it must see real differences, or the fidelity tests prove nothing."""

from __future__ import annotations

import copy
from typing import Any

from tests.fidelity.structure import compare, facts

DOC: dict[str, Any] = {
    "openapi": "3.0.0",
    "info": {"title": "t", "version": "1"},
    "paths": {
        "/a": {
            "get": {
                "parameters": [
                    {"name": "X-Id", "in": "header", "required": True, "schema": {"type": "string"}}
                ],
                "responses": {
                    "200": {
                        "description": "ok",
                        "content": {
                            "application/json": {"schema": {"$ref": "#/components/schemas/A"}}
                        },
                    }
                },
            }
        }
    },
    "components": {
        "schemas": {
            "A": {
                "type": "object",
                "required": ["kind"],
                "properties": {"kind": {"type": "string", "enum": ["x", "y"], "nullable": True}},
            }
        }
    },
}


def test_identical_documents_have_no_differences() -> None:
    assert compare(DOC, copy.deepcopy(DOC)) == []


def test_nullable_and_type_lists_are_the_same_fact() -> None:
    ours = copy.deepcopy(DOC)
    ours["components"]["schemas"]["A"]["properties"]["kind"] = {
        "type": ["string", "null"],
        "enum": ["x", "y"],
    }
    assert compare(ours, DOC) == []


def test_header_names_compare_case_insensitively() -> None:
    ours = copy.deepcopy(DOC)
    ours["paths"]["/a"]["get"]["parameters"][0]["name"] = "x-id"
    assert compare(ours, DOC) == []


def test_each_kind_of_difference_is_seen() -> None:
    ours = copy.deepcopy(DOC)
    ours["paths"]["/a"]["get"]["parameters"][0]["required"] = False
    ours["paths"]["/a"]["get"]["responses"]["404"] = {"description": "no"}
    ours["components"]["schemas"]["A"]["properties"]["kind"]["enum"] = ["x"]
    ours["components"]["schemas"]["A"]["required"] = []
    assert compare(ours, DOC) == [
        "+ param GET /a header:x-id required=False",
        "- param GET /a header:x-id required=True",
        "- schema A.kind enum y",
        "- schema A.kind required",
        "+ status GET /a 404",
    ]


def test_renames_map_upstream_schema_names() -> None:
    ours = copy.deepcopy(DOC)
    ours["components"]["schemas"]["B"] = ours["components"]["schemas"].pop("A")
    body = ours["paths"]["/a"]["get"]["responses"]["200"]["content"]["application/json"]
    body["schema"]["$ref"] = "#/components/schemas/B"
    assert compare(ours, DOC) != []
    assert compare(ours, DOC, renames={"A": "B"}) == []


def test_extra_operations_are_listed_once_when_only_upstream_operations_are_compared() -> None:
    ours = copy.deepcopy(DOC)
    ours["paths"]["/b"] = copy.deepcopy(DOC["paths"]["/a"])
    assert compare(ours, DOC, only_upstream_operations=True) == ["+ operation GET /b"]
    assert len([f for f in facts(ours) if "/b" in f]) > 1


def test_a_schema_only_one_side_has_is_one_difference() -> None:
    ours = copy.deepcopy(DOC)
    ours["components"]["schemas"]["Extra"] = {
        "type": "object",
        "properties": {"a": {"type": "string"}, "b": {"type": "integer"}},
    }
    assert compare(ours, DOC) == ["+ schema Extra (whole schema)"]
    assert compare(DOC, ours) == ["- schema Extra (whole schema)"]

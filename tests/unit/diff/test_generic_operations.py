"""Operation-level comparison: path items without operations, path parameters, a scalar query
parameter widened to an exploded array, success and error statuses removed."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from kontrakt.diff import Verdict
from tests.unit.diff.helpers import base, diff, kinds, only

Doc = dict[str, Any]
B, W, A = Verdict.BREAKING, Verdict.WARN, Verdict.ALLOWED


def get(doc: Doc) -> Doc:
    return doc["paths"]["/items/{id}"]["get"]  # type: ignore[no-any-return]


def params_only() -> Doc:
    doc = base()
    doc["paths"]["/items/{id}/history"] = {
        "parameters": [{"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}]
    }
    return doc


def test_a_path_item_with_parameters_and_no_operations_compares() -> None:
    """It was a StopIteration traceback (issue #17); it is nothing a client can call."""
    with_ops = params_only()
    with_ops["paths"]["/items/{id}/history"]["get"] = {"responses": {"200": {"description": "ok"}}}
    assert diff(params_only(), params_only()).changes == []
    assert diff(params_only(), base()).changes == []
    assert diff(base(), params_only()).changes == []
    added = only(diff(params_only(), with_ops), "path-added")
    assert added.verdict is A
    assert added.old_pointer == "/paths/~1items~1{id}~1history"
    removed = only(diff(with_ops, params_only()), "path-removed")
    assert removed.verdict is B
    assert removed.new_pointer == "/paths/~1items~1{id}~1history"


def test_a_path_item_without_operations_through_a_reference() -> None:
    doc = base()
    doc["paths"]["/empty"] = {"$ref": "#/components/pathItems/Nothing"}
    doc["components"]["pathItems"] = {"Nothing": {"summary": "nothing yet"}}
    assert diff(doc, base()).changes == []
    doc["paths"]["/missing"] = {"$ref": "#/components/pathItems/Gone"}
    assert diff(doc, base()).changes == []


def test_declaring_a_path_parameter_is_no_change() -> None:
    """The template decides the URL; oasdiff's new_endpoints pair declares {testId} where the old
    document named it {id} and declared a parameter not in its template."""
    old, new = base(), base()
    get(old)["parameters"][0]["name"] = "itemId"  # not in the template: no place in the URL
    assert kinds(diff(old, new)) == set()
    get(new)["parameters"].pop(0)
    assert kinds(diff(base(), new)) == set()


def exploded(new_schema: Doc, **param: Any) -> tuple[Doc, Doc]:
    old, new = base(), base()
    get(new)["parameters"][1].update({"schema": new_schema, **param})
    return old, new


def test_query_parameter_generalised_to_an_exploded_array_is_allowed() -> None:
    old, new = exploded({"type": "array", "items": {"type": "string", "maxLength": 10}})
    found = diff(old, new)
    change = only(found, "request-parameter-became-array")
    assert (change.rule, change.verdict) == ("GEN-PARAM-BECAME-ARRAY", A)
    assert kinds(found) == {"request-parameter-became-array"}
    old, new = exploded(
        {"type": "array", "items": {"type": "string", "maxLength": 10}}, explode=True
    )
    assert kinds(diff(old, new)) == {"request-parameter-became-array"}


def test_the_array_items_are_still_compared_with_the_old_value() -> None:
    old, new = exploded({"type": "array", "items": {"type": "string", "maxLength": 5}})
    found = diff(old, new)
    assert only(found, "request-parameter-became-array").verdict is A
    assert any(c.verdict is B for c in found.changes), [c.id for c in found.changes]


def test_an_array_not_exploded_warns() -> None:
    """docs/diff-policy.md: with explode false an old value holding a comma now splits."""
    old, new = exploded(
        {"type": "array", "items": {"type": "string", "maxLength": 10}}, explode=False
    )
    found = diff(old, new)
    change = only(found, "request-parameter-became-array")
    assert (change.rule, change.verdict) == ("GEN-PARAM-BECAME-ARRAY-UNEXPLODED", W)
    assert kinds(found) == {"request-parameter-became-array"}


def test_an_array_in_another_style_is_a_real_type_change() -> None:
    old, new = exploded({"type": "array", "items": {"type": "string"}}, style="pipeDelimited")
    found = diff(old, new)
    assert "request-parameter-became-array" not in kinds(found)
    assert any(c.verdict is B for c in found.changes)


def test_a_header_generalised_to_an_array_is_not_excused() -> None:
    """Only form style with explode sends one value as a one-item array (oasdiff's rule too)."""
    old, new = base(), base()
    get(new)["parameters"][2]["schema"] = {
        "type": "array",
        "items": {"type": "string", "enum": ["a", "b"]},
    }
    assert "request-parameter-became-array" not in kinds(diff(old, new))


@pytest.mark.parametrize(
    ("status", "rule", "verdict"),
    [
        ("200", "GEN-RESP-STATUS-REMOVED", B),
        ("404", "GEN-RESP-ERROR-STATUS-REMOVED", W),
        ("default", "GEN-RESP-ERROR-STATUS-REMOVED", W),
        ("302", "GEN-RESP-STATUS-REMOVED", B),
    ],
)
def test_success_and_error_statuses_removed_have_their_own_rules(
    status: str, rule: str, verdict: Verdict
) -> None:
    old = base()
    get(old)["responses"][status] = {"description": status}
    new = copy.deepcopy(old)
    del get(new)["responses"][status]
    change = only(diff(old, new), "response-status-removed")
    assert (change.rule, change.verdict) == (rule, verdict)
    assert change.id == f"response-status-removed:GET /items/{{id}}:response {status}"


def test_the_documents_paths_or_webhooks_may_be_missing() -> None:
    doc = base()
    empty = {"openapi": "3.1.0", "info": {"title": "t", "version": "1"}}
    found = diff(doc, empty)
    assert only(found, "path-removed").verdict is B
    assert diff(empty, empty).changes == []
    assert only(diff(empty, doc), "path-added").verdict is A


def test_a_multi_typed_query_value_fits_string_items() -> None:
    """``?token=5`` is text on the wire: ``[string, integer]`` -> array of string is allowed
    (oasdiff's request_param_multitype_to_array pair); array of integer refuses ``?token=abc``."""
    old, new = base(), base()
    get(old)["parameters"][1]["schema"] = {"type": ["string", "integer"]}
    get(new)["parameters"][1]["schema"] = {"type": "array", "items": {"type": "string"}}
    found = diff(old, new)
    assert kinds(found) == {"request-parameter-became-array"}
    assert only(found, "request-parameter-became-array").verdict is A
    get(new)["parameters"][1]["schema"] = {"type": "array", "items": {"type": "integer"}}
    assert any(c.verdict is B for c in diff(old, new).changes)


def test_security_alternatives_on_one_scheme_pair_exactly() -> None:
    """``[{oauth: [items.read]}, {oauth: [items.read, items.write]}]`` compared with itself, or
    with a repeated entry added, is no change; dropping the read-only way in is breaking."""
    old = base()
    get(old)["security"] = [{"oauth": ["items.read"]}, {"oauth": ["items.read", "items.write"]}]
    assert diff(old, copy.deepcopy(old)).changes == []
    repeated = copy.deepcopy(old)
    get(repeated)["security"].append({"oauth": ["items.read"]})
    assert diff(old, repeated).changes == []
    write_only = copy.deepcopy(old)
    get(write_only)["security"].pop(0)
    found = diff(old, write_only)
    assert any(c.verdict is B for c in found.changes), [c.id for c in found.changes]
    assert "security-alternative-added" not in kinds(found)

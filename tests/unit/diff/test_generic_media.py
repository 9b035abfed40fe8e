"""Media types: a changed parameter, a narrower or wider range, a ``+json`` type is one change with a
verdict for its direction, never a removal plus an addition."""

from __future__ import annotations

from typing import Any

import pytest

from kontrakt.diff import Verdict
from tests.unit.diff.helpers import base, diff, kinds, only

Doc = dict[str, Any]
B, W, A = Verdict.BREAKING, Verdict.WARN, Verdict.ALLOWED
PUT = "/paths/~1items~1{id}/put"
GET = "/paths/~1items~1{id}/get"


def request(media: str) -> Doc:
    doc = base()
    content = doc["paths"]["/items/{id}"]["put"]["requestBody"]["content"]
    content[media] = content.pop("application/json")
    return doc


def response(media: str) -> Doc:
    doc = base()
    content = doc["paths"]["/items/{id}"]["get"]["responses"]["200"]["content"]
    content[media] = content.pop("application/json")
    return doc


# old, new, the change's kind suffix, request verdict, response verdict
CASES = [
    # docs/diff-policy.md: charset=utf-8 on JSON is no difference; other parameters warn
    ("application/json", "application/json; charset=utf-8", "parameters-changed", A, A),
    ("application/json; charset=utf-8", "application/json", "parameters-changed", A, A),
    (
        "application/problem+json",
        "application/problem+json; charset=utf-8",
        "parameters-changed",
        A,
        A,
    ),
    ("application/json", "application/json; charset=iso-8859-1", "parameters-changed", W, W),
    ("text/plain", "text/plain; charset=utf-8", "parameters-changed", W, W),
    ("application/json; version=1", "application/json; version=2", "parameters-changed", W, W),
    ("application/json", "application/json; version=2", "parameters-changed", W, W),
    ("application/json; version=1", "application/json", "parameters-changed", W, W),
    ("*/*", "application/json", "changed", B, A),
    ("application/*", "application/json", "changed", B, A),
    ("application/json", "application/*", "changed", A, B),
    ("application/json", "*/*", "changed", A, B),
    ("application/json", "application/problem+json", "changed", B, A),
    ("application/problem+json", "application/json", "changed", A, B),
    ("application/*+json", "application/problem+json", "changed", B, A),
    ("*/*", "application/json; charset=utf-8", "changed", B, A),
]


@pytest.mark.parametrize(("old", "new", "suffix", "req", "resp"), CASES)
def test_request_media_type_change_is_one_change(
    old: str, new: str, suffix: str, req: Verdict, resp: Verdict
) -> None:
    found = diff(request(old), request(new))
    change = only(found, f"request-media-type-{suffix}")
    assert kinds(found) == {f"request-media-type-{suffix}"}, [c.id for c in found.changes]
    assert change.verdict is req
    assert change.old_pointer == f"{PUT}/requestBody/content/{old.replace('/', '~1')}"
    assert change.new_pointer == f"{PUT}/requestBody/content/{new.replace('/', '~1')}"
    assert change.direction.value == "request"


@pytest.mark.parametrize(("old", "new", "suffix", "req", "resp"), CASES)
def test_response_media_type_change_is_one_change(
    old: str, new: str, suffix: str, req: Verdict, resp: Verdict
) -> None:
    found = diff(response(old), response(new))
    assert kinds(found) == {f"response-media-type-{suffix}"}, [c.id for c in found.changes]
    assert only(found, f"response-media-type-{suffix}").verdict is resp


def test_spelling_of_the_same_media_type_is_no_change() -> None:
    assert (
        diff(
            request("application/json; charset=utf-8"), request("Application/JSON;charset=UTF-8")
        ).changes
        == []
    )
    assert (
        diff(response('text/plain; charset="utf-8"'), response("text/plain;charset=utf-8")).changes
        == []
    )


def test_unrelated_media_types_stay_removed_and_added() -> None:
    found = diff(request("application/json"), request("application/xml"))
    assert kinds(found) == {"request-media-type-removed", "request-media-type-added"}
    assert only(found, "request-media-type-removed").verdict is B
    assert only(found, "request-media-type-added").verdict is A


def test_two_versions_side_by_side_pair_exactly() -> None:
    """Parameters keep media types apart: v1 and v2 both listed is not one type twice."""
    old, new = base(), base()
    content = new["paths"]["/items/{id}"]["get"]["responses"]["200"]["content"]
    content["application/json; version=2"] = {"schema": {"type": "string"}}
    found = diff(old, new)
    assert kinds(found) == {"response-media-type-added"}
    change = only(found, "response-media-type-added")
    assert change.id.endswith("response 200 application/json; version=2")
    # dropping the unversioned one from both leaves v2 compared with v2: nothing
    for doc in (old, new):
        doc["paths"]["/items/{id}"]["get"]["responses"]["200"]["content"][
            "application/json; version=2"
        ] = {"schema": {"type": "string"}}
    assert diff(old, new).changes == []


def test_the_schema_under_a_paired_media_type_is_still_compared() -> None:
    old, new = response("*/*"), response("application/json")
    new["components"]["schemas"]["Item"]["properties"].pop("count")
    found = diff(old, new)
    assert kinds(found) == {"response-media-type-changed", "response-property-removed"}


def test_the_closest_relation_wins_the_pairing() -> None:
    """``application/json`` pairs with ``application/json; charset=utf-8`` rather than with a range."""
    old = request("application/json")
    new = request("*/*")
    content = new["paths"]["/items/{id}"]["put"]["requestBody"]["content"]
    content["application/json; charset=utf-8"] = {"schema": {"$ref": "#/components/schemas/ItemIn"}}
    found = diff(old, new)
    assert kinds(found) == {"request-media-type-parameters-changed", "request-media-type-added"}
    assert only(found, "request-media-type-parameters-changed").verdict is A
    assert only(found, "request-media-type-added").where == "request */*"

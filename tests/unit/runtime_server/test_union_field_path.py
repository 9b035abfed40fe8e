"""Regression: a body error inside a union member names the member path, not pydantic's tag.

An `anyOf` object (Sdir v2's `vessel`: imoNumber or callSign) becomes a union of two models, and
pydantic puts the member model's name into the error location (`vessel.Vessel1.imoNumber`); the
`errors[].field` a client reads must be the document's member path (`vessel.imoNumber`).
"""

from __future__ import annotations

from kontrakt.runtime.server.app import _location


def test_a_union_members_tag_is_dropped_with_the_body() -> None:
    body = [{"vessel": {"imoNumber": "123456"}}, {"vessel": {"imoNumber": "1"}}]
    loc = ("body", 1, "vessel", "Vessel1", "imoNumber")
    assert _location(loc, body) == (1, "vessel.imoNumber")


def test_members_and_list_positions_are_kept() -> None:
    body = {"a": [{"b": 1}]}
    assert _location(("body", "a", 0, "b"), body) == (None, "a[0].b")
    # A missing member is the last segment: kept although the object lacks it.
    assert _location(("body", 0, "seafarer", "lastName"), [{"seafarer": {}}]) == (
        0,
        "seafarer.lastName",
    )


def test_without_the_body_the_location_is_kept_as_it_is() -> None:
    assert _location(("body", 3, "vessel", "Vessel1", "imoNumber")) == (
        3,
        "vessel.Vessel1.imoNumber",
    )

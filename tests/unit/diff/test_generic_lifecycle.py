"""Deprecation with sunset dates (``deprecated`` + ``x-sunset``) and stability levels
(``x-stability-level``), judged as of a given date (``diff_documents(on=...)``, ``--as-of``)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from kontrakt.diff import Verdict
from tests.unit.diff.helpers import base, diff, kinds, only

Doc = dict[str, Any]
B, W, A = Verdict.BREAKING, Verdict.WARN, Verdict.ALLOWED
ON = dt.date(2027, 1, 1)
GET = "/paths/~1items~1{id}/get"


def get(doc: Doc) -> Doc:
    return doc["paths"]["/items/{id}"]["get"]  # type: ignore[no-any-return]


def put(doc: Doc) -> Doc:
    return doc["paths"]["/items/{id}"]["put"]  # type: ignore[no-any-return]


def deprecated(sunset: object = None, **extra: Any) -> Doc:
    doc = base()
    get(doc)["deprecated"] = True
    if sunset is not None:
        get(doc)["x-sunset"] = sunset
    get(doc).update(extra)
    return doc


def drop_get(doc: Doc) -> Doc:
    doc["paths"]["/items/{id}"].pop("get")
    return doc


@pytest.mark.parametrize(
    ("sunset", "rule", "verdict"),
    [
        ("2027-06-30", "GEN-OPERATION-REMOVED-BEFORE-SUNSET", B),
        ("2027-01-01", "GEN-OPERATION-REMOVED-AFTER-SUNSET", A),  # on the day itself
        ("2026-12-31", "GEN-OPERATION-REMOVED-AFTER-SUNSET", A),
        ("2026-12-31T23:00:00Z", "GEN-OPERATION-REMOVED-AFTER-SUNSET", A),  # RFC 3339
        ("2027-01-02T00:00:00+01:00", "GEN-OPERATION-REMOVED-BEFORE-SUNSET", B),
        ("soon", "GEN-SUNSET-INVALID", W),  # docs/diff-policy.md: judged as undated
        (None, "GEN-OPERATION-REMOVED-DEPRECATED", W),
    ],
)
def test_removing_a_deprecated_operation_is_judged_by_its_sunset(
    sunset: object, rule: str, verdict: Verdict
) -> None:
    old = deprecated(sunset)
    change = only(diff(old, drop_get(deprecated(sunset)), on=ON), "operation-removed")
    assert (change.rule, change.verdict) == (rule, verdict)
    assert change.old_pointer == GET


def test_the_date_judged_against_comes_from_on() -> None:
    old = deprecated("2027-06-30")
    new = drop_get(deprecated("2027-06-30"))
    assert only(diff(old, new, on=dt.date(2027, 6, 29)), "operation-removed").verdict is B
    assert only(diff(old, new, on=dt.date(2027, 6, 30)), "operation-removed").verdict is A


def test_today_is_the_default_date(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KONTRAKT_DIFF_TODAY", "2030-01-01")
    old = deprecated("2029-01-01")
    assert only(diff(old, drop_get(deprecated("2029-01-01"))), "operation-removed").verdict is A
    monkeypatch.setenv("KONTRAKT_DIFF_TODAY", "2028-01-01")
    assert only(diff(old, drop_get(deprecated("2029-01-01"))), "operation-removed").verdict is B


def test_removing_an_operation_never_deprecated_stays_breaking() -> None:
    old = base()
    get(old)["x-sunset"] = "2020-01-01"  # a date without the deprecation mark promises nothing
    change = only(diff(old, drop_get(base()), on=ON), "operation-removed")
    assert (change.rule, change.verdict) == ("GEN-OPERATION-REMOVED", B)


def test_a_removed_path_takes_the_worst_of_its_operations() -> None:
    def removed(old: Doc) -> Any:
        new = base()
        del new["paths"]["/items/{id}"]
        return only(diff(old, new, on=ON), "path-removed")

    both_past = deprecated("2026-01-01")
    put(both_past).update({"deprecated": True, "x-sunset": "2026-06-01"})
    assert (removed(both_past).rule, removed(both_past).verdict) == (
        "GEN-PATH-REMOVED-AFTER-SUNSET",
        A,
    )
    one_future = deprecated("2026-01-01")
    put(one_future).update({"deprecated": True, "x-sunset": "2027-06-01"})
    assert removed(one_future).rule == "GEN-PATH-REMOVED-BEFORE-SUNSET"
    unreadable = deprecated("2027-06-01")  # before its sunset beats an unreadable one
    put(unreadable).update({"deprecated": True, "x-sunset": "later"})
    assert (removed(unreadable).rule, removed(unreadable).verdict) == (
        "GEN-PATH-REMOVED-BEFORE-SUNSET",
        B,
    )
    mixed = deprecated("2026-01-01")  # PUT is not deprecated at all
    assert (removed(mixed).rule, removed(mixed).verdict) == ("GEN-PATH-REMOVED", B)


def test_newly_deprecated_with_a_future_sunset_is_allowed_with_a_past_one_breaking() -> None:
    change = only(diff(base(), deprecated("2027-06-30"), on=ON), "operation-deprecated")
    assert change.verdict is A
    assert "2027-06-30" in change.message
    change = only(diff(base(), deprecated("2026-06-30"), on=ON), "operation-sunset-too-soon")
    assert change.verdict is B
    assert only(diff(base(), deprecated("never"), on=ON), "operation-sunset-invalid").verdict is W
    assert only(diff(deprecated(), base(), on=ON), "operation-reactivated").verdict is A


def test_sunset_moved_earlier_breaks_later_is_allowed() -> None:
    early, late = deprecated("2027-03-01"), deprecated("2027-09-01")
    change = only(diff(late, early, on=ON), "operation-sunset-changed")
    assert (change.rule, change.verdict) == ("GEN-SUNSET-EARLIER", B)
    assert change.old_pointer == f"{GET}/x-sunset"
    assert only(diff(early, late, on=ON), "operation-sunset-changed").verdict is A
    # the same day written another way is no change
    assert diff(early, deprecated("2027-03-01T12:00:00Z"), on=ON).changes == []


def test_sunset_removed_from_a_deprecated_operation_breaks() -> None:
    change = only(diff(deprecated("2027-06-30"), deprecated(), on=ON), "operation-sunset-removed")
    assert change.verdict is B
    # announcing one later is allowed; an unreadable one on either side is a warning
    assert (
        only(diff(deprecated(), deprecated("2027-06-30"), on=ON), "operation-sunset-added").verdict
        is A
    )
    assert (
        only(
            diff(deprecated("2027-06-30"), deprecated("x"), on=ON), "operation-sunset-invalid"
        ).verdict
        is W
    )
    assert (
        only(
            diff(deprecated("x"), deprecated("2027-06-30"), on=ON), "operation-sunset-invalid"
        ).verdict
        is W
    )


def test_other_extensions_of_a_deprecated_operation_change_nothing() -> None:
    assert diff(deprecated(**{"x-owner": "a"}), deprecated(), on=ON).changes == []


def param_doc(**param: Any) -> Doc:
    doc = base()
    get(doc)["parameters"][1].update(param)  # query q
    return doc


def drop_q(doc: Doc) -> Doc:
    get(doc)["parameters"].pop(1)
    return doc


@pytest.mark.parametrize(
    ("param", "rule", "verdict"),
    [
        ({}, "GEN-PARAM-REMOVED", W),
        ({"deprecated": True}, "GEN-PARAM-REMOVED-DEPRECATED", W),
        ({"deprecated": True, "x-sunset": "2027-06-30"}, "GEN-PARAM-REMOVED-BEFORE-SUNSET", B),
        ({"deprecated": True, "x-sunset": "2026-06-30"}, "GEN-PARAM-REMOVED-AFTER-SUNSET", A),
        ({"deprecated": True, "x-sunset": "?"}, "GEN-SUNSET-INVALID", W),
    ],
)
def test_removing_a_deprecated_parameter_is_judged_by_its_sunset(
    param: Doc, rule: str, verdict: Verdict
) -> None:
    change = only(
        diff(param_doc(**param), drop_q(param_doc(**param)), on=ON), "request-parameter-removed"
    )
    assert (change.rule, change.verdict) == (rule, verdict)


def test_parameter_sunset_changes() -> None:
    dated = param_doc(deprecated=True, **{"x-sunset": "2027-06-30"})
    undated = param_doc(deprecated=True)
    assert only(diff(dated, undated, on=ON), "request-parameter-sunset-removed").verdict is B
    assert only(diff(base(), dated, on=ON), "request-parameter-deprecated").verdict is A
    earlier = param_doc(deprecated=True, **{"x-sunset": "2027-02-01"})
    assert only(diff(dated, earlier, on=ON), "request-parameter-sunset-changed").verdict is B


def leveled(level: str | None, doc: Doc | None = None) -> Doc:
    doc = doc or base()
    if level is not None:
        get(doc)["x-stability-level"] = level
    return doc


@pytest.mark.parametrize(
    ("old", "new", "kind", "verdict"),
    [
        ("stable", "beta", "stability-decreased", B),
        ("beta", "alpha", "stability-decreased", B),
        ("stable", "draft", "stability-decreased", B),
        ("alpha", "draft", "stability-decreased", A),  # promised nothing before either
        ("alpha", "beta", "stability-increased", A),
        (None, "beta", "stability-declared", A),
        (None, "alpha", "stability-decreased", B),
        ("beta", None, "stability-increased", A),
        ("beta", "experimental", "stability-level-invalid", B),
    ],
)
def test_stability_level_changes(
    old: str | None, new: str | None, kind: str, verdict: Verdict
) -> None:
    change = only(diff(leveled(old), leveled(new)), kind)
    assert change.verdict is verdict
    assert change.operation == "GET /items/{id}"


@pytest.mark.parametrize("level", ["draft", "alpha"])
def test_changes_to_a_draft_or_alpha_operation_are_allowed(level: str) -> None:
    old, new = leveled(level), leveled(level)
    get(new)["parameters"][1]["required"] = True  # breaking for a stable operation
    change = only(diff(old, new), "request-parameter-became-required")
    assert (change.rule, change.verdict) == ("GEN-UNSTABLE-CHANGED", A)
    assert "GEN-PARAM-BECAME-REQUIRED" in change.message
    # and removing it is allowed too
    removed = only(diff(old, drop_get(leveled(level))), "operation-removed")
    assert (removed.rule, removed.verdict) == ("GEN-OPERATION-REMOVED-UNSTABLE", A)


@pytest.mark.parametrize("level", ["beta", "stable", None])
def test_changes_to_a_beta_or_stable_operation_are_judged(level: str | None) -> None:
    old, new = leveled(level), leveled(level)
    get(new)["parameters"][1]["required"] = True
    assert only(diff(old, new), "request-parameter-became-required").verdict is B
    assert only(diff(old, drop_get(leveled(level))), "operation-removed").verdict is B


def test_lowering_to_draft_is_breaking_even_though_the_rest_is_excused() -> None:
    old, new = leveled("stable"), leveled("draft")
    get(new)["parameters"][1]["required"] = True
    found = diff(old, new)
    assert kinds(found) == {"stability-decreased", "request-parameter-became-required"}
    assert only(found, "stability-decreased").verdict is B
    assert only(found, "request-parameter-became-required").verdict is A


def test_a_sunset_without_the_deprecation_mark_is_not_read() -> None:
    """oasdiff reads x-sunset only on deprecated elements; so do we."""
    old, new = base(), base()
    get(new)["x-sunset"] = "whenever"
    assert diff(old, new, on=ON).changes == []
    get(old)["x-sunset"] = "2027-06-30"
    assert diff(old, new, on=ON).changes == []

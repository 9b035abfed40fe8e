"""`kontrakt diff` on the real pairs: DSOP v1.1.1 -> v2.0, Sdir v1 -> v2, DAN 2018 draft -> v1.

The publishers' documents in ../shared/reference are frozen, so their findings are pinned exactly;
our own contracts in specs/ must reproduce every breaking change the publisher's pair shows.
"""

from __future__ import annotations

from functools import cache

from typer.testing import CliRunner

from kontrakt.cli import app
from kontrakt.diff import DiffResult, Verdict, diff_sources
from tests.conftest import REPO
from tests.unit.diff.helpers import REFERENCE, need

DSOP = REFERENCE / "dsop"
OPS = [
    "GET /accounts",
    "GET /accounts/{accountReference}",
    "GET /accounts/{accountReference}/transactions",
    "GET /accounts/{accountReference}/cards",
    "GET /accounts/{accountReference}/roles",
]
PER_ACCOUNT = OPS[1:]

# Every breaking change between the publisher's DSOP Control v1.1.1 and v2.0.0 documents.
DSOP_BREAKING = {
    "request-parameter-added:GET /accounts:parameter query OnlyPrimaryOwner",
    "request-parameter-became-required:GET /accounts:parameter header PartyID",
    *(f"request-parameter-enum-value-removed:{op}:parameter header AdditionalReferenceIDType enum=pol" for op in OPS),
    "response-property-became-optional:GET /accounts:response 200 application/json body.accounts[].servicer.identifier",
    "response-property-became-optional:GET /accounts/{accountReference}:response 200 application/json body.account.servicer.identifier",
}  # fmt: skip
# Optional response properties the publisher removed: warn since docs/diff-policy.md
# "Optional response property removed" (a tolerant reader copes with their absence).
DSOP_OPTIONAL_REMOVED = {
    *(f"response-property-removed:{op}:response 200 application/json body.responseStatus" for op in OPS if not op.endswith("}")),
    "response-property-removed:GET /accounts/{accountReference}:response 200 application/json body.responseStatus",
    "response-property-removed:GET /accounts:response 200 application/json body.accounts[].links",
    "response-property-removed:GET /accounts:response 200 application/json body.accounts[].primaryOwner.postalAddress",
    "response-property-removed:GET /accounts:response 200 application/json body.accounts[].primaryOwner.electronicAddresses",
    "response-property-removed:GET /accounts/{accountReference}:response 200 application/json body.account.primaryOwner.postalAddress",
    "response-property-removed:GET /accounts/{accountReference}:response 200 application/json body.account.primaryOwner.electronicAddresses",
    "response-property-removed:GET /accounts/{accountReference}/roles:response 200 application/json body.roles[].postalAddress",
    "response-property-removed:GET /accounts/{accountReference}/roles:response 200 application/json body.roles[].electronicAddresses",
}  # fmt: skip
# The publisher's v2.0.0 puts the JSON schema under application/jose, whose v1 body was a string.
JOSE_QUIRK = {f"response-body-type-changed:{op}:response 200 application/jose body" for op in OPS}


@cache
def _dsop_upstream() -> DiffResult:
    return diff_sources(
        str(need(DSOP / "dsop-control-api-v1.1.1.yaml")),
        str(need(DSOP / "dsop-control-api-v2.0.0.yaml")),
    )


@cache
def _dsop_ours() -> DiffResult:
    specs = REPO / "specs" / "dsop-control"
    return diff_sources(
        str(need(specs / "v1.1.1" / "openapi.yaml")), str(need(specs / "v2.0" / "openapi.yaml"))
    )


def _ids(result: DiffResult, verdict: Verdict) -> set[str]:
    return {c.id for c in result.changes if c.verdict is verdict}


def test_dsop_upstream_is_a_new_major_version() -> None:
    result = _dsop_upstream()
    assert result.major is not None and (result.major.old, result.major.new) == ("v1", "v2")
    assert not result.fails("breaking")
    assert all(c.sanctioned for c in result.changes if c.verdict is Verdict.BREAKING)


def test_dsop_upstream_breaking_changes_are_exactly_the_known_ones() -> None:
    assert _ids(_dsop_upstream(), Verdict.BREAKING) == DSOP_BREAKING | JOSE_QUIRK


def test_dsop_upstream_406_is_allowed_on_every_operation() -> None:
    allowed = _ids(_dsop_upstream(), Verdict.ALLOWED)
    assert {f"response-status-added:{op}:response 406" for op in OPS} <= allowed
    assert {f"request-parameter-added:{op}:parameter header RequesterID" for op in OPS} <= allowed
    for value in ("pol1", "srf"):
        assert {
            f"request-parameter-enum-value-added:{op}:parameter header AdditionalReferenceIDType enum={value}"
            for op in OPS
        } <= allowed


def test_dsop_upstream_warnings() -> None:
    assert (
        _ids(_dsop_upstream(), Verdict.WARN)
        == {
            "request-parameter-removed:GET /accounts:parameter header AccountID",
            "response-property-enum-value-added:GET /accounts:response 200 application/json body.accounts[].type enum=accountWithoutBalance",
            "response-property-enum-value-added:GET /accounts/{accountReference}:response 200 application/json body.account.type enum=accountWithoutBalance",
        }
        | DSOP_OPTIONAL_REMOVED
    )


def test_our_dsop_contracts_reproduce_every_real_breaking_change() -> None:
    ours = _dsop_ours()
    assert ours.major is not None and ours.major.label == "v1 -> v2"
    assert _ids(ours, Verdict.BREAKING) == DSOP_BREAKING
    allowed = _ids(ours, Verdict.ALLOWED)
    assert "error-code-added:error-catalogue:ACC-013" in allowed
    assert {f"response-status-added:{op}:response 406" for op in OPS} <= allowed
    added = [c for c in ours.changes if c.kind == "response-status-added"]
    assert all("ACC-013" in c.message for c in added)


def test_dsop_cli_report_is_readable_and_exits_zero() -> None:
    specs = REPO / "specs" / "dsop-control"
    old, new = need(specs / "v1.1.1" / "openapi.yaml"), need(specs / "v2.0" / "openapi.yaml")
    result = CliRunner().invoke(app, ["diff", str(old), str(new)])
    assert result.exit_code == 0, result.output
    text = result.output
    assert "New major version v1 -> v2" in text
    assert "BREAKING (" in text and "ALLOWED (" in text and "Rules applied" in text
    assert "response 406" in text and "ACC-013" in text
    assert "#/components/parameters/PartyID/required" in text


# -- Sdir additional competence v1 -> v2 ------------------------------------------------------


@cache
def _sdir() -> DiffResult:
    specs = REPO / "specs" / "sdir-additional-competence"
    return diff_sources(
        str(need(specs / "v1" / "openapi.yaml")), str(need(specs / "v2" / "openapi.yaml")), "sdir"
    )


def test_sdir_v2_is_a_major_version_read_from_the_paths() -> None:
    result = _sdir()
    assert result.major is not None
    assert (result.major.old, result.major.new, result.major.source) == ("v1", "v2", "paths")
    major = [c for c in result.changes if c.kind == "api-major-version-changed"]
    assert [c.rule for c in major] == ["SDIR-VER-URL-MAJOR"]
    assert not result.fails("breaking")


def test_sdir_flat_to_nested_body_is_breaking() -> None:
    result = _sdir()
    batch = "POST /v1/additionalcompetence/batch"
    breaking = {
        c.id for c in result.changes if c.verdict is Verdict.BREAKING and c.operation == batch
    }
    for name in ("seafarer", "organization", "vessel", "competence"):
        assert f"request-property-added:{batch}:request application/json body[].{name}" in breaking
    flat = {
        c.where
        for c in result.changes
        if c.kind == "request-property-removed" and c.operation == batch
    }
    assert "request application/json body[].personalIdentityNumber" in flat
    assert all(c.sanctioned for c in result.changes if c.verdict is Verdict.BREAKING)
    # Operations v2 dropped (single create, PUT batch, PUT one) are breaking too.
    removed = {c.id for c in result.changes if c.kind == "operation-removed"}
    assert "operation-removed:PUT /v1/additionalcompetence/batch" in removed


def test_sdir_paths_pair_across_the_version_prefix() -> None:
    kinds = {c.kind for c in _sdir().changes}
    assert "path-removed" not in kinds  # /v1/x and /v2/x are the same resource


# -- DAN: the 2018 draft against our v1 ---------------------------------------------------------


@cache
def _dan() -> DiffResult:
    draft = need(REFERENCE / "dan" / "nadobe-openapi-spec-2018-draft.json")
    ours = need(REPO / "specs" / "dan" / "v1" / "openapi.yaml")
    return diff_sources(str(draft), str(ours), "dan")


def test_dan_draft_renamed_fields_are_found() -> None:
    renamed = {
        (c.operation, c.where, c.text)
        for c in _dan().changes
        if c.kind == "response-property-renamed"
    }
    assert (
        "GET /accreditations",
        "response 200 */* body[].accreditationId",
        "renamed to 'id'",
    ) in renamed
    assert (
        "GET /evidence/{accreditationId}",
        "response 200 */* body[].status.id",
        "renamed to 'code'",
    ) in renamed
    assert all(
        c.verdict is Verdict.BREAKING
        for c in _dan().changes
        if c.kind == "response-property-renamed"
    )


def test_dan_draft_to_v1_breaks_inside_the_same_major_version() -> None:
    result = _dan()
    assert result.major is None  # /nadobe/1.0 and /v1 are both major version 1
    assert result.fails("breaking")
    ids = {c.id for c in result.changes if c.verdict is Verdict.BREAKING}
    assert "response-status-removed:POST /authorization:response 201" in ids
    assert "operation-removed:DELETE /evidence/{accreditationId}" in ids
    added = [c for c in result.changes if c.kind in ("error-code-added", "dataset-added")]
    assert added and {c.rule for c in added} == {"DAN-CODES-ADDED", "DAN-DATASET-ADDED"}

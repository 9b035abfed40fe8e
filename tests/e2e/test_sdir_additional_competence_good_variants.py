"""The Sdir profiles (v1 and v2) against known-good variants: providers making other choices
Sdir's text permits (`sdir_additional_competence_good_variants.py`).

Each variant runs the rules it touches: at the default level none fails or errs and the run
passes; at strict exactly the rules it lists are flagged (fail; warn for a SHOULD rule). One
provider making every compatible choice at once passes the whole profile at the default level.
The credential roles that close detection gaps are shown to work on the sandbox as well.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pydantic import SecretStr

from kontrakt.conformance.manifest import BearerAuth, Manifest, NegativeAuth
from tests.e2e.sdir_additional_competence_bad_variants import (
    OTHER_OWNER,
    Kit,
    Switch,
    SwitchedSandbox,
    switched,
)
from tests.e2e.sdir_additional_competence_good_variants import (
    ALL_AT_ONCE,
    GOOD,
    GoodVariant,
    by_name,
    combined,
)
from tests.e2e.test_sdir_additional_competence_rules import AUTOMATED, manifest, run


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SwitchedSandbox]:
    with SwitchedSandbox.start(["sdir"]) as running:
        assert isinstance(running, SwitchedSandbox)
        yield running


@pytest.fixture(scope="module")
def switch(sandbox: SwitchedSandbox) -> Switch:
    app = sandbox.apps["sdir"]
    assert isinstance(app, Switch)
    return app


def _cases() -> list[tuple[GoodVariant, str]]:
    return [(v, version) for v in GOOD for version in v.versions]


def test_there_are_at_least_ten_good_variants() -> None:
    names = [v.name for v in GOOD]
    assert len(names) >= 10 and len(set(names)) == len(names)
    assert set(ALL_AT_ONCE) <= set(names)


@pytest.mark.parametrize(
    ("variant", "version"), _cases(), ids=[f"{v.name}-{ver}" for v, ver in _cases()]
)
def test_a_good_variant_passes_and_strict_flags_exactly_its_assumptions(
    sandbox: SwitchedSandbox, switch: Switch, variant: GoodVariant, version: str
) -> None:
    touches = [t for t in variant.touches if t in AUTOMATED[version]]
    with switched(switch, variant.app(switch, Kit(sandbox))):
        result = run(manifest(sandbox, version), touches)
    assert {r.id for r in result.results} == set(touches)
    for r in result.results:
        assert r.verdicts["default"] not in ("fail", "error"), (r.id, r.message)
        if r.id in variant.strict:
            wanted = "fail" if r.severity == "MUST" else "warn"
            assert r.verdicts["strict"] == wanted, (r.id, r.verdicts)
        else:
            assert r.verdicts["strict"] in ("pass", "not-applicable"), (r.id, r.message)
    assert result.passed_at("default")
    assert result.passed_at("strict") == (not any(r in touches for r in variant.strict))


@pytest.mark.parametrize("version", ["v1", "v2"])
def test_one_provider_making_every_compatible_choice_passes(
    sandbox: SwitchedSandbox, switch: Switch, version: str
) -> None:
    chosen = [by_name(n) for n in ALL_AT_ONCE if version in by_name(n).versions]
    with switched(switch, combined(chosen, switch, Kit(sandbox))):
        result = run(manifest(sandbox, version))
    found = {r.id: r.verdicts["default"] for r in result.results}
    assert set(found) == AUTOMATED[version]
    assert not {k: v for k, v in found.items() if v in ("fail", "error")}, result.results
    assert result.passed_at("default")
    assert not result.passed_at("strict")  # the choices depart from kontrakt's proposals


def _with_roles(found: Manifest, kit: Kit, **tokens: str) -> Manifest:
    credentials = {
        **found.credentials,
        **{name: [BearerAuth(type="bearer", token=token)] for name, token in tokens.items()},
    }
    fixtures = {k: v for k, v in found.fixtures.items() if k != "foreign_report_uid"}
    return found.model_copy(
        update={"credentials": credentials, "negative_auth": NegativeAuth(), "fixtures": fixtures}
    )


@pytest.mark.parametrize("version", ["v1", "v2"])
def test_the_roles_judge_the_sandbox_without_a_signing_key(
    sandbox: SwitchedSandbox, version: str
) -> None:
    """credentials.expired_token, .delegated and .other_owner let a manifest without a signing
    key (and without a foreign report's uid) judge what the suite used to mint or be told."""
    kit = Kit(sandbox)
    delegated = kit.organisation_token(
        "310000159", supplier={"authority": "iso6523-actorid-upis", "ID": "0192:310000116"}
    )
    found = _with_roles(
        manifest(sandbox, version),
        kit,
        expired_token=kit.expired_token(),
        delegated=delegated,
        other_owner=kit.organisation_token(OTHER_OWNER),
    )
    rules = ["SDIR-AUTH-TOKEN-VALID", "SDIR-AUTH-DELEGATION", "SDIR-READ-OWN-ONLY"]
    result = run(found, rules)
    assert {r.id: r.verdict for r in result.results} == dict.fromkeys(rules, "pass")
    assert result.passed
    token_valid = next(r for r in result.results if r.id == "SDIR-AUTH-TOKEN-VALID")
    assert not token_valid.notes, token_valid.notes  # the expired token was tried


@pytest.mark.parametrize(
    ("change", "cause"),
    [
        ("key", "HTTP 401"),
        ("secret", "refused the client"),
        ("base_url", "HTTP 404"),
    ],
)
def test_the_preflight_ends_a_run_that_cannot_talk_to_the_provider(
    sandbox: SwitchedSandbox, change: str, cause: str
) -> None:
    """The plain read (the code list with the main credentials) fails: cannot-run, one
    diagnosis, no rule judged."""
    found = manifest(sandbox, "v2")
    if change == "key":
        auth = [
            a.model_copy(update={"value": SecretStr("no-such-key")}) if a.type == "api-key" else a
            for a in found.auth
        ]
        found = found.model_copy(update={"auth": auth})
    elif change == "secret":
        auth = [
            a.model_copy(update={"client_secret": SecretStr("wrong")})
            if a.type == "oauth2-client-credentials"
            else a
            for a in found.auth
        ]
        found = found.model_copy(update={"auth": auth})
    else:
        found = found.model_copy(update={"base_url": found.base_url + "/nowhere"})
    result = run(found)
    assert result.cannot_run and not result.results
    assert result.preflight is not None and cause in result.preflight.diagnosis


@pytest.mark.parametrize("version", ["v1", "v2"])
def test_a_manifest_with_only_the_required_fixtures_passes(
    sandbox: SwitchedSandbox, version: str
) -> None:
    """What the suite can make itself it makes (another organisation's number, an IMO number no
    vessel has): only the rules needing another party's data are not applicable."""
    found = manifest(sandbox, version)
    required = {"organisation", "vessel_imo", "seafarers"}
    found = found.model_copy(
        update={
            "fixtures": {k: v for k, v in found.fixtures.items() if k in required},
            "negative_auth": NegativeAuth(),
        }
    )
    result = run(found)
    verdicts = {r.id: r.verdict for r in result.results}
    not_applicable = {k for k, v in verdicts.items() if v == "not-applicable"}
    assert not_applicable == {"SDIR-AUTH-DELEGATION", "SDIR-READ-OWN-ONLY"}, verdicts
    assert set(verdicts.values()) <= {"pass", "not-applicable"}, result.results
    assert result.passed

"""Tier 3, the exploratory stateful run (`certify --explore`), against the DSOP and DPS sandboxes.

The DSOP sandbox passes; a known-bad twin answers listCards' 200 with an undeclared status, which
only a sequence reaches (the account reference comes out of listAccounts, nothing in the request
values names one), and exploration fails DSOP-SCHEMA-200 with the seed and the minimal failing
sequence in report.json; the same seed replays the same sequence.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from rich.console import Console

from kontrakt.conformance.explore import ExploreSettings
from kontrakt.conformance.manifest import Manifest, load_manifest
from kontrakt.conformance.profile import load_profile
from kontrakt.conformance.registry import RuleSet
from kontrakt.conformance.report import write_reports
from kontrakt.conformance.rules import dsop_control_v2
from kontrakt.conformance.runner import RuleResult, run_profile
from kontrakt.sandbox.launch import Sandbox
from kontrakt.selfcert import sandbox_environment
from tests.e2e._support import serve
from tests.e2e.dsop_bad_variants import REPO, Variant, ends, json_hook

MANIFESTS = REPO / "kontrakt" / "conformance" / "manifests"
SCHEMA = json.loads((REPO / "kontrakt/conformance/report/report.schema.json").read_text())
QUIET = Console(file=io.StringIO(), force_terminal=False)
BUDGET = ExploreSettings(max_examples=6, max_steps=5)
RULE = "DSOP-SCHEMA-200"


def _cards_203(scope: Any, status: int, body: Any) -> tuple[int, Any] | None:
    if status == 200 and ends("/cards")(str(scope["path"])):
        return 203, body
    return None


TWIN = Variant(
    "explore-cards-203",
    "listCards answers 203 (undeclared) for a real account",
    kills=(RULE,),
    response=lambda context: json_hook(_cards_203),
)


@pytest.fixture(scope="module", autouse=True)
def _repo_root(request: pytest.FixtureRequest) -> Iterator[None]:
    # Anywhere but the repository: the committed manifests' fixture paths are their own.
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(REPO.parent)
        yield


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    with Sandbox.start(["dsop-control", "dps"]) as started:
        yield started


@pytest.fixture(scope="module")
def manifest(sandbox: Sandbox) -> Manifest:
    env = sandbox_environment(sandbox)
    return load_manifest(MANIFESTS / "sandbox-dsop-control.yaml", env=env)


@pytest.fixture(scope="module")
def twin(sandbox: Sandbox, manifest: Manifest) -> Iterator[Manifest]:
    with serve(TWIN.app(sandbox.context)) as url:
        yield manifest.model_copy(update={"base_url": url + "/v2"})


def _exploration_only() -> RuleSet:
    """DSOP-SCHEMA-200 judged by the exploration alone (its tier-1 corpus reads every card
    list too), with the profile's own request values."""
    rule_set = RuleSet("dsop-control/v2.0")
    known = dsop_control_v2.rules.explore_rules[RULE].known
    rule_set.explore_rule(RULE, known=known)
    return rule_set


def _explore(manifest: Manifest, seed: int, rule_set: RuleSet | None = None) -> RuleResult:
    profile = load_profile("dsop-control/v2.0", rule_set=rule_set, patterns=[RULE])
    result = run_profile(profile, manifest, seed=seed, console=QUIET, explore=BUDGET)
    (outcome,) = result.results
    return outcome


def test_the_profiles_name_their_exploration_rule() -> None:
    from kontrakt.conformance.rules import dan_v1, dps_v1
    from kontrakt.conformance.rules import sdir_additional_competence_v1 as sdir_v1
    from kontrakt.conformance.rules import sdir_additional_competence_v2 as sdir_v2

    assert set(dsop_control_v2.rules.explore_rules) == {RULE}
    assert set(dps_v1.rules.explore_rules) == {"DPS-ERROR-ENVELOPE"}
    assert set(dan_v1.rules.explore_rules) == {"DAN-ERR-HTTP-MAPPING"}
    assert set(sdir_v1.rules.explore_rules) == set(sdir_v2.rules.explore_rules)
    assert set(sdir_v1.rules.explore_rules) == {"SDIR-ERROR-CODES"}


def test_exploration_passes_against_the_dsop_sandbox(manifest: Manifest, tmp_path: Path) -> None:
    profile = load_profile("dsop-control/v2.0", patterns=[RULE])
    result = run_profile(profile, manifest, seed=0, console=QUIET, explore=BUDGET)
    (outcome,) = result.results
    assert outcome.verdict == "pass", (outcome.message, outcome.notes)
    assert outcome.exploration is not None and outcome.exploration["finding"] is None
    assert outcome.exploration["requests"] > 0
    data = json.loads(write_reports(result, tmp_path, ["json"])["json"].read_text())
    jsonschema.Draft202012Validator(SCHEMA).validate(data)
    assert data["explore"] == {"max_examples": 6, "max_steps": 5}
    assert data["rules"][0]["exploration"]["seed"] == 0


def test_the_twin_fails_only_under_exploration_and_replays(twin: Manifest, tmp_path: Path) -> None:
    rule_set = _exploration_only()
    profile = load_profile("dsop-control/v2.0", rule_set=rule_set, patterns=[RULE])
    quiet = run_profile(profile, twin, seed=5, console=QUIET)
    assert [r.verdict for r in quiet.results] == ["not-applicable"]  # opt-in: nothing sent
    assert quiet.requests_sent == 0

    result = run_profile(profile, twin, seed=5, console=QUIET, explore=BUDGET)
    (outcome,) = result.results
    assert outcome.verdict == "fail" and outcome.id == RULE, outcome.message
    exploration = outcome.exploration
    assert exploration is not None and exploration["seed"] == 5
    sequence = exploration["sequence"]
    # The minimal sequence: a listAccounts that yields the reference, then the bad listCards.
    assert len(sequence) >= 2, sequence
    assert "(listAccounts) -> HTTP 200" in sequence[0]
    assert "/cards" in sequence[-1] and "HTTP 203" in sequence[-1]
    assert "status 203 is not declared" in exploration["finding"]
    assert "seed 5" in outcome.message and any("--seed 5" in n for n in outcome.notes)

    data = json.loads(write_reports(result, tmp_path, ["json", "junit"])["json"].read_text())
    jsonschema.Draft202012Validator(SCHEMA).validate(data)
    assert data["seed"] == 5 and data["passed"] is False
    assert data["rules"][0]["exploration"]["sequence"] == sequence
    assert data["rules"][0]["evidence"][-1]["response"]["status"] == 203

    again = _explore(twin, 5, rule_set)
    assert again.exploration is not None and again.exploration["sequence"] == sequence


def test_exploration_chains_dps_identifiers(sandbox: Sandbox) -> None:
    env = sandbox_environment(sandbox)
    dps = load_manifest(MANIFESTS / "sandbox-dps.yaml", env=env)
    profile = load_profile("dps/v1", patterns=["DPS-ERROR-ENVELOPE"])
    result = run_profile(profile, dps, seed=1, console=QUIET, explore=BUDGET)
    (outcome,) = result.results
    assert outcome.verdict == "pass", (outcome.message, outcome.notes)
    assert outcome.exploration is not None and outcome.exploration["requests"] > 0

"""Levels, basis, preflight and snapshots end to end, over real HTTP on 127.0.0.1.

A provider that differs only from kontrakt's assumptions passes at the default level and fails at
strict; a broken published demand fails at both; nothing to judge is not-applicable; a wrong
credential or base URL ends the run as `cannot-run` (exit 3) with a diagnosis and no rule
verdicts; a rule comparing with an earlier snapshot is not-applicable until one is recorded.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from rich.console import Console
from typer.testing import CliRunner

from kontrakt.cli import app
from kontrakt.conformance.certificate import issue_certificate, read_statement
from kontrakt.conformance.manifest import Manifest
from kontrakt.conformance.profile import load_profile
from kontrakt.conformance.report import write_reports
from kontrakt.conformance.runner import RunResult, run_profile
from tests.e2e import levels_profile
from tests.e2e._support import serve
from tests.e2e.levels_profile import LIMITED, TOKEN, Behaviour, levels_app

REPO = Path(__file__).resolve().parents[2]
SCHEMA = json.loads((REPO / "kontrakt/conformance/report/report.schema.json").read_text())
QUIET = Console(file=io.StringIO(), force_terminal=False)


@pytest.fixture
def provider(request: pytest.FixtureRequest) -> Iterator[str]:
    behaviour = getattr(request, "param", Behaviour())
    with serve(levels_app(behaviour)) as url:
        yield url


def _manifest(base_url: str, **extra: Any) -> Manifest:
    data: dict[str, Any] = {
        "profile": str(levels_profile.SPEC),
        "base_url": base_url,
        "auth": {"type": "bearer", "token": TOKEN},
        "credentials": {"wrong_scope": {"type": "bearer", "token": LIMITED}},
        "fixtures": {"item_name": "second"},
        **extra,
    }
    return Manifest.model_validate(data)


def _run(base_url: str, **extra: Any) -> RunResult:
    level = extra.pop("level", None)
    profile = load_profile("levels", rule_set=levels_profile.rules)
    return run_profile(profile, _manifest(base_url, **extra), console=QUIET, level=level)


def _verdicts(result: RunResult) -> dict[str, str]:
    return {r.id: r.verdict for r in result.results}


def test_a_provider_keeping_every_demand_passes_at_both_levels(provider: str) -> None:
    result = _run(provider)
    assert result.preflight is not None and result.preflight.status == "ok"
    assert _verdicts(result) == {
        "LVL-REFUSE": "pass",
        "LVL-ORDER": "pass",
        "LVL-NAMES": "pass",
        "LVL-FIXTURE": "pass",
        "LVL-ROLE": "pass",
        "LVL-SNAPSHOT": "not-applicable",
    }
    assert result.passed_at("default") and result.passed_at("strict")
    assert all(r.basis == "published" for r in result.results if r.id != "LVL-ORDER")


@pytest.mark.parametrize(
    "provider",
    [Behaviour(code="E_BAD_REQUEST"), Behaviour(code=None), Behaviour(order=[3, 1, 2])],
    indirect=True,
    ids=["own-codes", "no-codes", "other-order"],
)
def test_differing_only_from_our_assumptions_warns_by_default_and_fails_at_strict(
    provider: str, tmp_path: Path
) -> None:
    result = _run(provider)
    changed = {r.id: r for r in result.results if r.verdicts["default"] != r.verdicts["strict"]}
    assert len(changed) == 1
    (rule,) = changed.values()
    assert rule.verdict == "warn" and rule.verdicts == {"default": "warn", "strict": "fail"}
    assert rule.basis == "assumption"
    assert rule.deviations[0].assumption in ("A-LVL-001", "A-LVL-002")
    assert "differs from kontrakt's proposal A-LVL-00" in rule.message
    assert result.passed and result.passed_at("default")
    assert not result.passed_at("strict")
    strict = _run(provider, level="strict")
    assert not strict.passed and _verdicts(strict)[rule.id] == "fail"
    written = write_reports(result, tmp_path, ("json", "junit", "html"))
    data = json.loads(written["json"].read_text())
    jsonschema.validate(data, SCHEMA)
    assert data["level"] == "default" and data["verdict"] == "passed"
    assert data["levels"]["strict"]["passed"] is False
    assert data["levels"]["default"]["counts"]["warn"] == 1
    assert data["levels"]["strict"]["counts"]["fail"] == 1
    profile = load_profile("levels", rule_set=levels_profile.rules)
    issued = issue_certificate(result, profile, _manifest(provider), tmp_path)
    assert issued.path is not None and (tmp_path / "certificate.json").is_file()
    cert = read_statement(issued.path)["predicate"]
    assert cert["assumption_warnings"] == [rule.deviations[0].assumption]
    assert cert["levels"]["strict"]["passed"] is False
    assert "differs from kontrakt" in written["html"].read_text()


@pytest.mark.parametrize("provider", [Behaviour(html_errors=True)], indirect=True)
def test_an_error_page_without_json_is_a_deviation_of_the_code_not_a_pass(provider: str) -> None:
    result = _run(provider)
    refuse = next(r for r in result.results if r.id == "LVL-REFUSE")
    assert refuse.verdicts == {"default": "warn", "strict": "fail"}
    assert "no JSON body" in refuse.message


@pytest.mark.parametrize("provider", [Behaviour(nameless=True, order=[2, 1])], indirect=True)
def test_a_published_failure_fails_at_both_levels(provider: str) -> None:
    result = _run(provider)
    names = next(r for r in result.results if r.id == "LVL-NAMES")
    assert names.verdicts == {"default": "fail", "strict": "fail"}
    assert names.basis == "published"
    assert not result.passed


@pytest.mark.parametrize("provider", [Behaviour(empty=True)], indirect=True)
def test_nothing_to_judge_is_not_applicable_never_pass(provider: str) -> None:
    found = _verdicts(_run(provider))
    assert found["LVL-ORDER"] == "not-applicable"
    assert found["LVL-NAMES"] == "not-applicable"
    assert found["LVL-FIXTURE"] == "fail"


def test_missing_optional_fixture_and_role_are_not_applicable_naming_the_key(
    provider: str,
) -> None:
    result = _run(provider, fixtures={}, credentials={})
    by_id = {r.id: r for r in result.results}
    assert by_id["LVL-FIXTURE"].verdict == "not-applicable"
    assert "fixtures.item_name" in by_id["LVL-FIXTURE"].message
    assert by_id["LVL-ROLE"].verdict == "not-applicable"
    assert "credentials.wrong_scope" in by_id["LVL-ROLE"].message


@pytest.mark.parametrize("provider", [Behaviour(accept_any_token=True)], indirect=True)
def test_a_separate_wrong_scope_client_detects_a_provider_accepting_any_token(
    provider: str,
) -> None:
    assert _verdicts(_run(provider))["LVL-ROLE"] == "fail"


def test_an_undeclared_fixture_is_a_bug_in_the_profile(provider: str) -> None:
    profile = load_profile("levels", rule_set=levels_profile.rules)
    declared = dict(levels_profile.rules.fixtures)
    levels_profile.rules.fixtures.clear()
    levels_profile.rules.fixture("other", "something else", rules=["LVL-NAMES"], required=False)
    try:
        result = run_profile(profile, _manifest(provider), console=QUIET)
    finally:
        levels_profile.rules.fixtures.clear()
        levels_profile.rules.fixtures.update(declared)
    fixture = next(r for r in result.results if r.id == "LVL-FIXTURE")
    assert fixture.verdict == "error"
    assert "does not declare" in fixture.message


def test_snapshot_out_then_metadata_snapshot_compares_with_the_same_provider(
    provider: str, tmp_path: Path
) -> None:
    snapshot = tmp_path / "snap.json"
    profile = load_profile("levels", rule_set=levels_profile.rules)
    first = run_profile(profile, _manifest(provider), console=QUIET, snapshot_out=snapshot)
    assert first.snapshot_path == str(snapshot)
    recorded = json.loads(snapshot.read_text())
    assert recorded == {"names": ["first", "second", "third"]}
    later = _run(provider, metadata_snapshot=str(snapshot))
    assert _verdicts(later)["LVL-SNAPSHOT"] == "pass"
    snapshot.write_text(json.dumps({"names": ["first", "gone"]}))
    changed = _run(provider, metadata_snapshot=str(snapshot))
    assert _verdicts(changed)["LVL-SNAPSHOT"] == "fail"
    missing = next(r for r in first.results if r.id == "LVL-SNAPSHOT")
    assert "--snapshot-out" in missing.message


@pytest.mark.parametrize(
    ("behaviour", "auth", "base", "expected"),
    [
        (Behaviour(), {"type": "bearer", "token": "wrong-token-0123456789"}, "", "refused the cre"),
        (Behaviour(status_plain=406), None, "", "Accept header"),
        (Behaviour(), None, "/nowhere", "base_url is probably wrong"),
        (
            Behaviour(),
            {
                "type": "oauth2-client-credentials",
                "token_url": "http://127.0.0.1:9/token",
                "client_id": "c",
                "client_secret": "s3cret-value",
            },
            "",
            "cannot reach the token endpoint",
        ),
    ],
    ids=["wrong-token", "406", "wrong-path", "token-url-unreachable"],
)
def test_preflight_ends_a_run_that_cannot_work_as_cannot_run(
    behaviour: Behaviour, auth: dict[str, Any] | None, base: str, expected: str, tmp_path: Path
) -> None:
    with serve(levels_app(behaviour)) as url:
        extra = {"auth": auth} if auth else {}
        result = _run(url + base, **extra)
    assert result.cannot_run and result.verdict == "cannot-run"
    assert result.preflight is not None and expected in result.preflight.diagnosis
    assert result.results == [] and not result.passed
    if behaviour.status_plain == 406:
        assert "not an authentication" in result.preflight.diagnosis
    written = write_reports(result, tmp_path, ("json", "junit", "html"))
    data = json.loads(written["json"].read_text())
    jsonschema.validate(data, SCHEMA)
    assert data["verdict"] == "cannot-run" and data["preflight"]["status"] == "cannot-run"
    assert 'name="PREFLIGHT [MUST]"' in written["junit"].read_text()
    assert "s3cret-value" not in "".join(p.read_text() for p in tmp_path.iterdir())
    assert not (tmp_path / "certificate.json").exists()


def test_unreachable_provider_is_cannot_run() -> None:
    result = _run("http://127.0.0.1:9")
    assert result.cannot_run
    assert result.preflight is not None
    assert "cannot reach the provider" in result.preflight.diagnosis


def test_cli_exit_status_per_level_and_cannot_run(tmp_path: Path) -> None:
    runner = CliRunner()
    with serve(levels_app(Behaviour(code="OWN"))) as url:
        manifest = tmp_path / "provider.yaml"
        manifest.write_text(
            yaml.safe_dump(
                {
                    "profile": str(levels_profile.SPEC),
                    "base_url": url,
                    "auth": {"type": "bearer", "token": TOKEN},
                    "credentials": {"wrong_scope": {"type": "bearer", "token": LIMITED}},
                }
            )
        )
        module = ["--rule-module", "tests.e2e.levels_profile"]
        default = runner.invoke(
            app, ["certify", str(manifest), "--out", str(tmp_path / "a"), *module]
        )
        strict = runner.invoke(
            app,
            ["certify", str(manifest), "--out", str(tmp_path / "b"), "--level", "strict", *module],
        )
        snap = runner.invoke(
            app,
            [
                "certify",
                str(manifest),
                "--out",
                str(tmp_path / "c"),
                *module,
                "--snapshot-out",
                str(tmp_path / "snap.json"),
            ],
        )
    assert default.exit_code == 0, default.output
    assert "A-LVL-001" in default.output and "strict: not passed" in default.output
    assert strict.exit_code == 1, strict.output
    assert snap.exit_code == 0 and (tmp_path / "snap.json").is_file()
    gone = runner.invoke(app, ["certify", str(manifest), "--out", str(tmp_path / "d"), *module])
    assert gone.exit_code == 3, gone.output
    assert "CANNOT RUN" in gone.output and "cannot reach the provider" in gone.output
    report = json.loads((tmp_path / "d" / "report.json").read_text())
    assert report["verdict"] == "cannot-run"
    bad = runner.invoke(app, ["certify", str(manifest), "--level", "lenient", *module])
    assert bad.exit_code == 2

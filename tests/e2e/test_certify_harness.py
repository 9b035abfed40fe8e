"""The certify harness end to end, over real HTTP on 127.0.0.1: the tiny example profile passes
against a good provider and fails against its bad twin; a misbehaving provider gives failures with
evidence (never a traceback) and a report every time; limits, waivers, Ctrl-C, report formats,
the CLI and the pytest plugin."""

from __future__ import annotations

import datetime as dt
import io
import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from rich.console import Console
from typer.testing import CliRunner

from kontrakt.cli import app
from kontrakt.conformance.certificate import issue_certificate, read_statement
from kontrakt.conformance.manifest import Limits, Manifest, load_manifest
from kontrakt.conformance.probe import Probe
from kontrakt.conformance.profile import load_profile
from kontrakt.conformance.registry import RuleContext, RuleSet
from kontrakt.conformance.report import write_reports
from kontrakt.conformance.runner import RunResult, run_profile
from tests.e2e import tiny_profile
from tests.e2e._support import serve
from tests.e2e.certify_apps import TOKEN, misbehaving_app, tiny_app

pytest_plugins = ["pytester"]

SCHEMA = json.loads(
    (
        Path(__file__).resolve().parents[2] / "kontrakt/conformance/report/report.schema.json"
    ).read_text()
)
QUIET = Console(file=io.StringIO(), force_terminal=False)


@pytest.fixture(scope="module")
def good() -> Iterator[str]:
    with serve(tiny_app()) as url:
        yield url


@pytest.fixture(scope="module")
def bad() -> Iterator[str]:
    with serve(tiny_app(bad=True)) as url:
        yield url


@pytest.fixture(scope="module")
def wild() -> Iterator[str]:
    with serve(misbehaving_app()) as url:
        yield url


def _manifest(base_url: str, **extra: Any) -> Manifest:
    data: dict[str, Any] = {
        "profile": str(tiny_profile.SPEC),
        "base_url": base_url,
        "auth": {"type": "bearer", "token": TOKEN},
        "capabilities": ["items"],
        **extra,
    }
    return Manifest.model_validate(data)


def _run(base_url: str, profile: Any = None, **extra: Any) -> RunResult:
    chosen = profile or load_profile("tiny", rule_set=tiny_profile.rules)
    return run_profile(chosen, _manifest(base_url, **extra), seed=3, console=QUIET)


def _verdicts(result: RunResult) -> dict[str, str]:
    return {r.id: r.verdict for r in result.results}


def _all_text(folder: Path) -> str:
    return "\n".join(p.read_text(errors="replace") for p in folder.iterdir())


def test_the_example_profile_passes_against_the_good_provider(good: str, tmp_path: Path) -> None:
    result = _run(good)
    assert _verdicts(result) == {
        "TINY-ITEMS-200": "pass",
        "TINY-405": "pass",
        "TINY-MISSING-HEADER": "pass",
        "TINY-SCHEMA": "pass",
        "TINY-ADMIN": "not-applicable",
    }, [(r.id, r.message) for r in result.results]
    assert [i.id for i in result.not_automated] == ["TINY-UNAUTOMATED"]
    assert result.passed and result.complete
    written = write_reports(result, tmp_path)
    assert {"json", "junit", "html"} <= set(written) and "certificate" not in written
    issued = issue_certificate(
        result, load_profile("tiny", rule_set=tiny_profile.rules), _manifest(good), tmp_path
    )
    assert issued.path is not None and not issued.signed
    predicate = read_statement(issued.path)["predicate"]
    assert "TINY-405" in predicate["rules"]["passed"]
    assert predicate["spec"]["raw_sha256"] == result.spec_sha256
    assert TOKEN not in _all_text(tmp_path)


def test_the_bad_twin_fails_each_rule_with_evidence(bad: str, tmp_path: Path) -> None:
    result = _run(bad)
    verdicts = _verdicts(result)
    assert verdicts["TINY-ITEMS-200"] == "fail"
    assert verdicts["TINY-405"] == "fail"
    assert verdicts["TINY-MISSING-HEADER"] == "warn"  # a SHOULD rule only warns
    assert verdicts["TINY-SCHEMA"] == "fail"
    assert not result.passed
    by_id = {r.id: r for r in result.results}
    assert "expected HTTP 405, got 200" in by_id["TINY-405"].message
    assert "listItems: ST108 Response violates schema" in by_id["TINY-SCHEMA"].message
    evidence = by_id["TINY-ITEMS-200"].evidence[0]
    assert evidence.status == 200 and evidence.curl.startswith("curl ")
    assert "Bearer ${KONTRAKT_TOKEN}" in evidence.curl and TOKEN not in evidence.curl

    written = write_reports(result, tmp_path)
    data = json.loads(written["json"].read_text())
    jsonschema.Draft202012Validator(SCHEMA).validate(data)
    assert data["counts"]["not-automated"] == 1 and data["passed"] is False
    issued = issue_certificate(
        result, load_profile("tiny", rule_set=tiny_profile.rules), _manifest(bad), tmp_path
    )
    assert issued.path is None and not (tmp_path / "certificate.json").exists()
    suite = ET.parse(written["junit"]).getroot()
    cases = {c.get("name", "").split(" ")[0]: c for c in suite.iter("testcase")}
    assert cases["TINY-405"].find("failure") is not None
    assert cases["TINY-ADMIN"].find("skipped") is not None
    html = written["html"].read_text()
    # Self-contained: no stylesheet, script, image, font or link to fetch (inline script and
    # jump links within the page only).
    for external in ("src=", "<link", "@import", "url("):
        assert external not in html
    assert re.findall(r'href="([^"#][^"]*)"', html) == []
    assert "TINY-405" in html and "FAILED" in html
    assert TOKEN not in _all_text(tmp_path)


def _probe_rule(path: str) -> RuleSet:
    rule_set = RuleSet(str(tiny_profile.SPEC))

    @rule_set.rule("TINY-ITEMS-200")
    def probe_path(ctx: RuleContext) -> None:
        answer = ctx.probe.get(path)
        ctx.expect_status(answer, 200)
        if answer.content_type != "application/json":
            raise ctx.fail(f"Content-Type is {answer.content_type}", answer)
        answer.json()

    return rule_set


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/slow", "timeout"),
        ("/reset", "reset"),
        ("/garbage", "invalid-json"),
        ("/html", "Content-Type is text/html"),
        ("/big", "too-large"),
    ],
)
def test_a_misbehaving_provider_gives_failures_with_evidence(
    wild: str, tmp_path: Path, path: str, expected: str
) -> None:
    limits = {"timeout_seconds": 0.5, "max_body_bytes": 1024 * 1024}
    profile = load_profile("tiny", rule_set=_probe_rule(path))
    result = _run(wild, profile, limits=limits)
    (outcome,) = result.results
    assert outcome.verdict == "fail", outcome.message
    assert expected in outcome.message
    assert outcome.evidence and outcome.evidence[0].url.endswith(path)
    written = write_reports(result, tmp_path)
    jsonschema.Draft202012Validator(SCHEMA).validate(json.loads(written["json"].read_text()))


def test_the_unreachable_provider_still_gets_a_report(tmp_path: Path) -> None:
    manifest = tmp_path / "provider.yaml"
    manifest.write_text(
        f"profile: {tiny_profile.SPEC}\nbase_url: http://127.0.0.1:9\n"
        f"auth: {{type: bearer, token: {TOKEN}}}\nlimits: {{timeout_seconds: 1}}\n"
    )
    out = tmp_path / "out"
    result = CliRunner().invoke(
        app,
        ["certify", str(manifest), "--out", str(out), "--rule-module", "tests.e2e.tiny_profile"],
    )
    # No preflight in the tiny profile: the rules meet the refused connections, and after
    # MAX_TRANSPORT_FAILURES in a row the run stops as provider-unreachable (exit 3).
    assert result.exit_code == 3, result.output
    data = json.loads((out / "report.json").read_text())
    assert data["verdict"] == "provider-unreachable" and data["passed"] is False
    assert "in a row" in data["stop_reason"]
    assert data["counts"]["fail"] >= 1
    items = next(r for r in data["rules"] if r["id"] == "TINY-ITEMS-200")
    assert items["message"].startswith("connection:") and items["evidence"][0]["response"] is None
    assert TOKEN not in _all_text(out)


def test_429_backs_off_honouring_retry_after_within_a_bound(wild: str) -> None:
    slept: list[float] = []
    probe = Probe(wild, limits=Limits(), sleep=slept.append)
    assert probe.get("/limited").status == 200
    assert probe.sent == 2 and slept == [0.0]
    answer = probe.get("/always429")
    assert answer.status == 429 and slept == [0.0]
    assert "over the back-off bound" in answer.exchange.notes[0]
    assert probe.get("/always429", retry_429=False).status == 429


def test_pacing_and_read_only(wild: str) -> None:
    probe = Probe(wild, limits=Limits(requests_per_second=20))
    started = dt.datetime.now()
    for _ in range(4):
        probe.get("/items")
    assert (dt.datetime.now() - started).total_seconds() >= 0.15
    from kontrakt.conformance.probe import ReadOnlyViolation

    with pytest.raises(ReadOnlyViolation):
        probe.request("POST", "/items")
    assert probe.request("POST", "/items", expect_rejection=True).status == 405


def test_the_request_budget_stops_the_run_with_reasons(good: str) -> None:
    result = _run(good, limits={"max_requests": 2})
    verdicts = _verdicts(result)
    assert verdicts["TINY-ITEMS-200"] == "pass"
    assert verdicts["TINY-405"] == "error"  # its second request is over the budget
    assert all(
        v in ("error", "not-applicable") for k, v in verdicts.items() if k != "TINY-ITEMS-200"
    )
    assert result.requests_sent == 2 and not result.passed
    assert "max_requests = 2" in (result.stop_reason or "")


def test_waivers_valid_and_expired(bad: str, tmp_path: Path) -> None:
    waivers = [
        {"rule": "TINY-405", "reason": "fix in next release", "expires": "2999-01-01"},
        {"rule": "TINY-ITEMS-200", "reason": "old excuse", "expires": "2000-01-01"},
    ]
    result = _run(bad, waivers=waivers)
    by_id = {r.id: r for r in result.results}
    assert by_id["TINY-405"].verdict == "waived" and by_id["TINY-405"].outcome == "fail"
    assert by_id["TINY-ITEMS-200"].verdict == "fail"
    assert any("expired" in n for n in by_id["TINY-ITEMS-200"].notes)
    assert {w.waiver.rule: w.status for w in result.waivers} == {
        "TINY-405": "applied",
        "TINY-ITEMS-200": "expired",
    }
    data = json.loads(write_reports(result, tmp_path)["json"].read_text())
    jsonschema.Draft202012Validator(SCHEMA).validate(data)


def test_ctrl_c_writes_a_partial_report(good: str, tmp_path: Path) -> None:
    rule_set = RuleSet(str(tiny_profile.SPEC))

    @rule_set.rule("TINY-ITEMS-200")
    def first(ctx: RuleContext) -> None:
        ctx.probe.get("/items", headers={"X-Case": "c"})

    @rule_set.rule("TINY-405")
    def second(ctx: RuleContext) -> None:
        raise KeyboardInterrupt

    @rule_set.rule("TINY-SCHEMA")
    def third(ctx: RuleContext) -> None:
        raise AssertionError("never reached")

    result = _run(good, load_profile("tiny", rule_set=rule_set))
    assert not result.complete and not result.passed
    assert [r.id for r in result.results] == ["TINY-ITEMS-200"]
    data = json.loads(write_reports(result, tmp_path)["json"].read_text())
    assert data["complete"] is False and "Ctrl-C" in data["stop_reason"]
    jsonschema.Draft202012Validator(SCHEMA).validate(data)


def test_a_crashing_rule_is_an_error_and_the_run_continues(good: str) -> None:
    rule_set = RuleSet(str(tiny_profile.SPEC))

    @rule_set.rule("TINY-ITEMS-200")
    def crashes(ctx: RuleContext) -> None:
        {}["missing"]

    @rule_set.rule("TINY-405")
    def needs_fixture(ctx: RuleContext) -> None:
        ctx.fixture("party_with_accounts")

    @rule_set.rule("TINY-MISSING-HEADER")
    def fine(ctx: RuleContext) -> None:
        pass

    result = _run(good, load_profile("tiny", rule_set=rule_set))
    by_id = {r.id: r for r in result.results}
    assert by_id["TINY-ITEMS-200"].verdict == "error"
    assert "KeyError" in by_id["TINY-ITEMS-200"].message and by_id["TINY-ITEMS-200"].notes
    assert (
        by_id["TINY-405"].verdict == "error" and "party_with_accounts" in by_id["TINY-405"].message
    )
    assert by_id["TINY-MISSING-HEADER"].verdict == "pass"


def test_unknown_rule_ids_are_refused_at_registration() -> None:
    from kontrakt.conformance.spec import SpecError

    with pytest.raises(SpecError, match="not in x-kontrakt-rules"):
        tiny_profile.rules.rule("TINY-NO-SUCH-RULE")


def test_the_cli_certifies_the_good_provider(good: str, tmp_path: Path) -> None:
    out = tmp_path / "reports"
    args = ["certify", "--profile", str(tiny_profile.SPEC), "--base-url", good, "--bearer", TOKEN]
    args += ["--rule-module", "tests.e2e.tiny_profile", "--out", str(out), "--rules", "TINY-4*"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    data = json.loads((out / "report.json").read_text())
    assert [r["id"] for r in data["rules"]] == ["TINY-405"] and data["rule_filter"] == ["TINY-4*"]
    assert not (out / "certificate.md").exists()  # a filtered run certifies nothing
    assert "no certificate: a rule filter" in result.output


def test_the_pytest_plugin_runs_rules_as_items(
    pytester: pytest.Pytester, good: str, bad: str
) -> None:
    pytester.makepyfile(test_plain="def test_ok():\n    assert True\n")
    plain = pytester.runpytest_inprocess("-p", "no:cacheprovider")
    plain.assert_outcomes(passed=1)
    assert "TINY" not in plain.stdout.str()
    for url, outcome in (
        (good, {"passed": 5, "skipped": 1}),
        (bad, {"passed": 2, "failed": 3, "skipped": 1}),
    ):
        manifest = pytester.path / "provider.yaml"
        manifest.write_text(
            f"profile: {tiny_profile.SPEC}\nbase_url: {url}\n"
            f"auth: {{type: bearer, token: {TOKEN}}}\ncapabilities: [items]\n"
        )
        run = pytester.runpytest_inprocess(
            "--kontrakt",
            str(manifest),
            "--kontrakt-rule-module",
            "tests.e2e.tiny_profile",
            "-p",
            "no:cacheprovider",
        )
        run.assert_outcomes(**outcome)
    assert "TINY-405" in run.stdout.str() and TOKEN not in run.stdout.str()


def test_manifest_file_round_trip(tmp_path: Path, good: str) -> None:
    path = tmp_path / "p.yaml"
    path.write_text(
        f"profile: tiny/v1\nbase_url: {good}\nauth: {{type: bearer, token: '${{T}}'}}\n"
    )
    assert load_manifest(path, env={"T": "x-token"}).secrets() == ["x-token"]

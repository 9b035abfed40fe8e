"""The fix-verify loop and the sector view, over real HTTP on 127.0.0.1: `kontrakt replay` runs a
failing rule of a report again with fresh credentials (the rule's wrong-scope token sent anew)
and says whether it passes now; `kontrakt matrix` lines reports up rule by provider in html, md
and json; report.html puts the failures first with jump links and curl lines that run."""

from __future__ import annotations

import io
import json
import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from rich.console import Console
from typer.testing import CliRunner

from kontrakt.cli import app
from kontrakt.sandbox.launch import Sandbox
from kontrakt.selfcert import MANIFESTS, sandbox_environment, write_matrix
from tests.e2e._reports import BROKEN, certify, write_manifest
from tests.e2e._support import serve
from tests.e2e.levels_profile import LIMITED, TOKEN, Behaviour, levels_app


@pytest.fixture(scope="module")
def urls() -> Iterator[dict[str, str]]:
    with serve(levels_app(Behaviour(**BROKEN))) as broken, serve(levels_app(Behaviour())) as fixed:  # type: ignore[arg-type]
        yield {"broken": broken, "fixed": fixed}


@pytest.fixture(scope="module")
def reports(urls: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("reports")
    return {
        "broken": certify(root / "broken-bank", urls["broken"]),
        "fixed": certify(root / "fixed-bank", urls["fixed"]),
    }


def test_the_report_records_what_replay_needs_and_curl_lines_name_the_tokens(
    reports: dict[str, Path],
) -> None:
    data = json.loads(reports["broken"].read_text())
    assert data["manifest"] == str(reports["broken"].parent.parent / "broken-bank-manifest.yaml")
    assert data["rule_module"] == "tests.e2e.levels_profile"
    role = next(r for r in data["rules"] if r["id"] == "LVL-ROLE")
    assert role["verdict"] == "fail"
    curl = role["evidence"][0]["curl"]
    # The role's own token is not the manifest's: its own variable, never the value.
    assert '"authorization: Bearer ${KONTRAKT_TEST_TOKEN}"' in curl
    assert LIMITED not in curl and TOKEN not in reports["broken"].read_text()
    html = reports["broken"].with_name("report.html").read_text()
    assert "export KONTRAKT_TOKEN=..." in html and "export KONTRAKT_TEST_TOKEN=..." in html
    # Failures first: the jump link list comes before every rule block, and points at LVL-ROLE.
    assert html.index('href="#rule-LVL-ROLE"') < html.index('id="rule-LVL-REFUSE"')
    assert re.search(r'<details class="rule" id="rule-LVL-ROLE"[^>]* open>', html)
    assert re.search(r'<details class="rule" id="rule-LVL-NAMES"[^>]*"MUST">', html)  # closed
    assert "default: warn / strict: fail" in html  # both levels where they differ
    junit = reports["broken"].with_name("junit.xml").read_text()
    assert junit.count("export KONTRAKT_TEST_TOKEN=...") == 1  # LVL-ROLE's case only


def test_replay_passes_once_the_provider_is_fixed(
    reports: dict[str, Path], urls: dict[str, str], tmp_path: Path
) -> None:
    runner = CliRunner()
    still = runner.invoke(app, ["replay", str(reports["broken"]), "LVL-ROLE"])
    assert still.exit_code == 1, still.output
    assert "LVL-ROLE: was fail" in still.output and "now fail" in still.output
    assert "export KONTRAKT_TEST_TOKEN=..." in still.output
    assert "-> HTTP 200" in still.output and LIMITED not in still.output
    fixed = write_manifest(tmp_path / "fixed.yaml", urls["fixed"])
    now = runner.invoke(
        app, ["replay", str(reports["broken"]), "LVL-ROLE", "--manifest", str(fixed)]
    )
    assert now.exit_code == 0, now.output
    assert "was fail" in now.output and "now pass" in now.output and "-> HTTP 403" in now.output
    # The report itself is left as it was.
    again = json.loads(reports["broken"].read_text())
    assert next(r for r in again["rules"] if r["id"] == "LVL-ROLE")["verdict"] == "fail"


def test_replay_refuses_bad_input_with_exit_2(reports: dict[str, Path], tmp_path: Path) -> None:
    runner = CliRunner()
    unknown = runner.invoke(app, ["replay", str(reports["broken"]), "NO-SUCH-RULE"])
    assert unknown.exit_code == 2 and "not a rule of" in unknown.output
    missing = runner.invoke(app, ["replay", str(tmp_path / "nope.json"), "LVL-ROLE"])
    assert missing.exit_code == 2 and "cannot read" in missing.output
    (tmp_path / "junk.json").write_text("{")
    junk = runner.invoke(app, ["replay", str(tmp_path / "junk.json"), "LVL-ROLE"])
    assert junk.exit_code == 2 and "not JSON" in junk.output
    data = json.loads(reports["broken"].read_text())
    data["manifest"] = None
    (tmp_path / "flags.json").write_text(json.dumps(data))
    flags = runner.invoke(app, ["replay", str(tmp_path / "flags.json"), "LVL-ROLE"])
    assert flags.exit_code == 2 and "give --manifest" in flags.output
    for result in (unknown, missing, junk, flags):
        assert "Traceback" not in result.output


def test_matrix_lines_up_providers_in_every_format(
    reports: dict[str, Path], tmp_path: Path
) -> None:
    runner = CliRunner()
    out = tmp_path / "site" / "matrix.html"
    done = runner.invoke(app, ["matrix", str(reports["broken"].parent.parent), "-o", str(out)])
    assert done.exit_code == 0, done.output
    html = out.read_text()
    assert "<th>broken-bank</th>" in html and "<th>fixed-bank</th>" in html
    # Cells link to the rule in each provider's report, relative to the matrix.
    target = os.path.relpath(reports["broken"].with_name("report.html"), out.parent)
    assert f'href="{target}#rule-LVL-ROLE"' in html and target.startswith("../")
    md = runner.invoke(app, ["matrix", str(reports["broken"]), str(reports["fixed"])])
    assert md.exit_code == 0
    assert "| LVL-ROLE | MUST | **fail** | pass |" in md.output
    assert "| LVL-ORDER | MUST | warn * | pass |" in md.output
    assert "- LVL-ROLE: 1 of 2 (broken-bank)" in md.output
    as_json = runner.invoke(
        app, ["matrix", str(reports["broken"]), str(reports["fixed"]), "--format", "json"]
    )
    matrix = json.loads(as_json.output)
    broken = json.loads(reports["broken"].read_text())
    by_name = {p["name"]: p for p in matrix["providers"]}
    assert by_name["broken-bank"]["counts"]["fail"] == broken["counts"]["fail"]
    assert by_name["broken-bank"]["verdict"] == "failed" and by_name["fixed-bank"]["passed"]
    assert by_name["fixed-bank"]["certificate"]["status"] == "unsigned"
    rows = {r["id"]: r for r in matrix["rules"]}
    assert rows["LVL-ORDER"]["cells"]["broken-bank"]["warn"]
    bad = runner.invoke(app, ["matrix", str(tmp_path / "empty")])
    assert bad.exit_code == 2 and "Traceback" not in bad.output
    (tmp_path / "empty").mkdir()
    empty = runner.invoke(app, ["matrix", str(tmp_path / "empty")])
    assert empty.exit_code == 2 and "no report.json" in empty.output


def test_make_demo_writes_the_matrix_of_the_providers_it_certified(
    reports: dict[str, Path], tmp_path: Path
) -> None:
    out = io.StringIO()
    write_matrix(Console(file=out), tmp_path, [reports["broken"], tmp_path / "gone/report.json"])
    html = (tmp_path / "matrix.html").read_text()
    md = (tmp_path / "matrix.md").read_text()
    assert "<th>broken-bank</th>" in html and "| LVL-ROLE | MUST | **fail** |" in md
    assert "Matrix of 1 provider(s)" in out.getvalue()


def test_replay_mints_the_bad_tokens_of_a_sandbox_rule_afresh(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """DAN's invalid-token rule signs an expired token with the sandbox issuer's test key and
    tampers with a real one: replay makes them anew against the running provider."""
    rule = "DAN-AUTH-TOKEN-INVALID-401"
    manifest = MANIFESTS / "sandbox-dan.yaml"
    with Sandbox.start(["dan"]) as sandbox:
        env = sandbox_environment(sandbox)
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        done = CliRunner().invoke(
            app, ["certify", str(manifest), "--out", str(tmp_path), "--rules", rule]
        )
        assert done.exit_code == 0, done.output
        replayed = CliRunner().invoke(app, ["replay", str(tmp_path / "report.json"), rule])
    assert replayed.exit_code == 0, replayed.output
    assert f"{rule}: was pass" in replayed.output and "now pass" in replayed.output
    assert "export KONTRAKT_TEST_TOKEN=..." in replayed.output
    bad_tokens = replayed.output.count('"authorization: Bearer ${KONTRAKT_TEST_TOKEN}"')
    assert bad_tokens >= 3 and replayed.output.count("-> HTTP 401") >= bad_tokens
    assert "eyJ" not in replayed.output  # no token, good or bad, is shown

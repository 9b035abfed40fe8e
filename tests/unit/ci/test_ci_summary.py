"""`kontrakt ci-summary`: a certify report as a job summary and as GitHub annotations.

The summary puts the verdict first and the failures before the warnings; the annotations are
workflow commands whose message and properties are escaped as the runner reads them (a rule
message with a comma, a colon or a new line must not cut the command short).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from kontrakt.ci import github_outputs, markdown_summary, workflow_commands
from kontrakt.cli import app
from tests.conftest import REPO


def _rule(rule_id: str, verdict: str, severity: str = "MUST", **extra: Any) -> dict[str, Any]:
    return {
        "id": rule_id,
        "title": f"{rule_id} title",
        "severity": severity,
        "verdict": verdict,
        "message": f"{rule_id}: {verdict}",
        "basis": "published",
        "assumption": None,
        "deviations": [],
        **extra,
    }


def _report(**changes: Any) -> dict[str, Any]:
    report: dict[str, Any] = {
        "profile": "dsop-control/v2.0",
        "spec": {"path": str(REPO / "specs" / "dsop-control" / "v2.0" / "openapi.yaml")},
        "provider": {"base_url": "https://bank.example/v2"},
        "seed": 7,
        "level": "default",
        "verdict": "failed",
        "passed": False,
        "complete": True,
        "levels": {"default": {"passed": False}, "strict": {"passed": False}},
        "counts": {"pass": 1, "fail": 1, "warn": 1, "not-applicable": 0, "waived": 0, "error": 1},
        "rules": [
            _rule(
                "DSOP-ACC-406",
                "warn",
                basis="assumption",
                deviations=[{"assumption": "A-DSOP-009"}],
            ),
            _rule("DSOP-ACC-200", "pass"),
            _rule("DSOP-LOW", "error", severity="SHOULD"),
            _rule("DSOP-ACC-405", "fail", message="PUT /accounts: got 200,\nnot 405: served"),
        ],
    }
    report.update(changes)
    return report


def test_summary_puts_the_verdict_and_failures_first() -> None:
    text = markdown_summary(_report())
    assert text.startswith("## kontrakt certify `dsop-control/v2.0`: FAILED\n")
    assert "| 1 | 1 | 1 | 1 | 0 | 0 |" in text  # fail error warn pass n/a waived
    failures, warnings = text.index("### Failures (2)"), text.index("### Warnings (1)")
    assert failures < warnings
    # MUST before SHOULD; a new line in a message stays inside its table row.
    assert failures < text.index("`DSOP-ACC-405`") < text.index("`DSOP-LOW`") < warnings
    assert (
        "| `DSOP-ACC-405` | fail | MUST | published | PUT /accounts: got 200, not 405: served |"
        in text
    )
    assert "| `DSOP-ACC-406` | warn | MUST | assumption (A-DSOP-009) |" in text
    assert "DSOP-ACC-200" not in text


def test_summary_of_a_passing_and_of_a_cannot_run_report() -> None:
    passing = markdown_summary(
        _report(verdict="passed", passed=True, rules=[_rule("DSOP-ACC-200", "pass")])
    )
    assert ": PASSED" in passing and "Every rule that ran passed." in passing
    stuck = markdown_summary(
        _report(
            verdict="cannot-run",
            rules=[],
            preflight={"status": "cannot-run", "diagnosis": "no token from the issuer"},
        )
    )
    assert ": CANNOT RUN" in stuck and "**Cannot run:** no token from the issuer" in stuck


def test_annotations_point_at_the_rule_entry_and_escape_the_message() -> None:
    commands = list(workflow_commands(_report(), manifest="provider.yaml", base=REPO))
    assert [c.split(" ", 1)[0] for c in commands] == ["::error", "::error", "::warning"]
    spec = "specs/dsop-control/v2.0/openapi.yaml"
    first = commands[0]
    assert first.startswith(f"::error file={spec},line=")
    assert ",title=kontrakt dsop-control/v2.0 DSOP-ACC-405::" in first
    # The message: the new line escaped; commas and colons are data there, left as they are.
    assert first.endswith(
        "::FAIL DSOP-ACC-405 [MUST, published]: PUT /accounts: got 200,%0Anot 405: served"
    )
    assert "differs from A-DSOP-009" in commands[2]


def test_annotations_fall_back_to_the_manifest(tmp_path: Path) -> None:
    # The contract is not below the working directory (a shipped copy): the manifest carries them.
    commands = list(workflow_commands(_report(), manifest="ci/my bank.yaml", base=tmp_path))
    assert all(
        c.split("::")[1].split(" ", 1)[1].startswith("file=ci/my bank.yaml,title=")
        for c in commands
    )
    title = "title=kontrakt dsop-control/v2.0 DSOP-ACC-405"
    assert any(title in c for c in commands)


def test_property_values_are_escaped() -> None:
    (command,) = workflow_commands(
        _report(rules=[_rule("A,B:C", "fail")]), manifest="x,y:z.yaml", base=Path("/nonexistent")
    )
    assert command.startswith(
        "::error file=x%2Cy%3Az.yaml,title=kontrakt dsop-control/v2.0 A%2CB%3AC::"
    )


def test_outputs() -> None:
    outputs = github_outputs(_report())
    assert outputs["verdict"] == "failed" and outputs["passed"] == "false"
    assert outputs["count-fail"] == "1" and outputs["count-warn"] == "1"


def test_the_command(tmp_path: Path) -> None:
    report = tmp_path / "report.json"
    report.write_text(json.dumps(_report()))
    summary, outputs = tmp_path / "summary.md", tmp_path / "out"
    summary.write_text("earlier step\n")
    result = CliRunner().invoke(
        app,
        [
            "ci-summary",
            str(report),
            "--annotations",
            "--summary",
            str(summary),
            "--github-output",
            str(outputs),
        ],
    )
    assert result.exit_code == 0, result.output
    assert summary.read_text().startswith("earlier step\n## kontrakt certify")  # appended
    assert "verdict=failed\n" in outputs.read_text()
    assert result.stdout.count("::error ") == 2 and result.stdout.count("::warning ") == 1
    assert "## kontrakt" not in result.stdout


def test_an_unreadable_report_is_one_line_and_status_2(tmp_path: Path) -> None:
    for content in (None, "{not json", json.dumps({"verdict": "passed"})):
        path = tmp_path / "report.json"
        if content is None:
            path.unlink(missing_ok=True)
        else:
            path.write_text(content)
        result = CliRunner().invoke(app, ["ci-summary", str(path)])
        assert result.exit_code == 2
        assert result.stderr.startswith("kontrakt ci-summary: ") and result.stderr.count("\n") == 1


def test_annotations_use_the_manifest_the_report_names(tmp_path: Path) -> None:
    report = _report(manifest=str(tmp_path / "ci" / "bank.yaml"))
    commands = list(workflow_commands(report, base=tmp_path))
    assert commands and all(" file=ci/bank.yaml,title=" in c for c in commands)

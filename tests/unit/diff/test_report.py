"""Report formats, the command's exit status, and the public names of `kontrakt.diff`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

import pytest
import yaml
from typer.testing import CliRunner

import kontrakt.diff
from kontrakt.cli import app
from kontrakt.diff import FORMATS, Verdict, all_rules, render
from kontrakt.diff.checks_dan import DAN_OVERLAY
from kontrakt.diff.checks_sdir import SDIR_OVERLAY
from tests.conftest import REPO
from tests.unit.diff.helpers import base, diff

RUNNER = CliRunner()


def _changed() -> dict[str, Any]:
    new = base()
    new["paths"]["/items/{id}"].pop("put")  # breaking
    new["paths"]["/items/{id}"]["get"]["operationId"] = "fetchItem"  # warn
    new["paths"]["/items/{id}"]["get"]["responses"]["406"] = {"description": "x"}  # allowed
    return new


def _files(tmp_path: Path, new: dict[str, Any]) -> tuple[str, str]:
    old_path, new_path = tmp_path / "old.yaml", tmp_path / "new.yaml"
    old_path.write_text(yaml.safe_dump(base()), encoding="utf-8")
    new_path.write_text(yaml.safe_dump(new), encoding="utf-8")
    return str(old_path), str(new_path)


def test_json_report_lists_every_change() -> None:
    result = diff(base(), _changed())
    payload = json.loads(render(result, "json"))
    assert payload["summary"] == {"breaking": 1, "warn": 1, "allowed": 1}
    assert payload["fails"] is True
    assert {c["kind"] for c in payload["changes"]} == {
        "operation-removed",
        "operation-id-changed",
        "response-status-added",
    }
    for change in payload["changes"]:
        assert change["rule"] in payload["rule_table"]
        assert set(change) >= {
            "id",
            "kind",
            "verdict",
            "rule",
            "old_pointer",
            "new_pointer",
            "message",
        }


def test_junit_report_fails_the_breaking_case_only() -> None:
    root = ET.fromstring(render(diff(base(), _changed()), "junit").split("\n", 1)[1])
    suite = root.find("testsuite")
    assert suite is not None and suite.get("tests") == "3" and suite.get("failures") == "1"
    failing = [
        case.get("name") for case in suite.iter("testcase") if case.find("failure") is not None
    ]
    assert failing == ["operation-removed:PUT /items/{id}"]
    root = ET.fromstring(render(diff(base(), _changed()), "junit", "warn").split("\n", 1)[1])
    assert root.find("testsuite").get("failures") == "2"  # type: ignore[union-attr]


def test_markdown_and_text_reports() -> None:
    result = diff(base(), _changed())
    markdown = render(result, "markdown")
    assert "| verdict | change | where | rule | old | new |" in markdown
    assert "GEN-OPERATION-REMOVED" in markdown and "`#/paths/~1items~1{id}/put`" in markdown
    text = render(result, "text")
    assert text.index("BREAKING (1)") < text.index("WARNINGS (1)") < text.index("ALLOWED (1)")
    assert "id  operation-removed:PUT /items/{id}" in text
    assert "exit status 1" in text
    assert "No differences" in render(diff(base(), base()), "text")
    with pytest.raises(ValueError, match="unknown format"):
        render(result, "pdf")


@pytest.mark.parametrize(
    ("args", "code"),
    [
        ([], 1),
        (["--fail-on", "never"], 0),
        (["--rules", "sdir"], 1),
        (["--format", "json"], 1),
        (["--rules", "nope"], 2),
        (["--format", "pdf"], 2),
        (["--fail-on", "sometimes"], 2),
    ],
)
def test_exit_status(tmp_path: Path, args: list[str], code: int) -> None:
    old, new = _files(tmp_path, _changed())
    result = RUNNER.invoke(app, ["diff", old, new, *args])
    assert result.exit_code == code, result.output


def test_fail_on_warn_and_output_file(tmp_path: Path) -> None:
    new = base()
    new["paths"]["/items/{id}"]["get"]["operationId"] = "fetchItem"
    old_file, new_file = _files(tmp_path, new)
    assert RUNNER.invoke(app, ["diff", old_file, new_file]).exit_code == 0
    out = tmp_path / "report.xml"
    result = RUNNER.invoke(
        app, ["diff", old_file, new_file, "--fail-on", "warn", "--format", "junit", "-o", str(out)]
    )
    assert result.exit_code == 1
    assert out.read_text(encoding="utf-8").startswith("<?xml")


def test_unreadable_side_exits_2(tmp_path: Path) -> None:
    result = RUNNER.invoke(app, ["diff", str(tmp_path / "missing.yaml"), str(tmp_path / "x.yaml")])
    assert result.exit_code == 2


def test_rule_tables_are_complete() -> None:
    rules = all_rules()
    for rule_id, rule in rules.items():
        assert rule.id == rule_id and rule.cites and isinstance(rule.verdict, Verdict)
    for overlay in (DAN_OVERLAY, SDIR_OVERLAY):
        assert set(overlay) <= set(rules) and set(overlay.values()) <= set(rules)


def test_public_names() -> None:
    assert sorted(kontrakt.diff.__all__) == sorted(
        [
            "FORMATS", "RULESETS", "Change", "DiffResult", "Direction", "Document", "LoadError",
            "MajorVersion", "Rule", "Verdict", "all_rules", "diff_documents", "diff_sources",
            "load_document", "render",
        ]
    )  # fmt: skip
    assert FORMATS == (
        "text",
        "json",
        "yaml",
        "markdown",
        "html",
        "junit",
        "sarif",
        "githubactions",
        "singleline",
    )


def test_output_file_goes_into_new_directories_and_unwritable_paths_exit_2(tmp_path: Path) -> None:
    old = REPO / "specs" / "dsop-control" / "v1.1.1" / "openapi.yaml"
    new = REPO / "specs" / "dsop-control" / "v2.0" / "openapi.yaml"
    target = tmp_path / "a" / "b" / "report.md"
    args = ["diff", str(old), str(new), "--format", "markdown", "--fail-on", "never"]
    result = CliRunner().invoke(app, [*args, "--output", str(target)])
    assert result.exit_code == 0, result.output
    assert target.read_text(encoding="utf-8").startswith("#")
    (tmp_path / "file").write_text("x", encoding="utf-8")
    result = CliRunner().invoke(app, [*args, "--output", str(tmp_path / "file" / "report.md")])
    assert result.exit_code == 2
    assert "cannot write" in result.output

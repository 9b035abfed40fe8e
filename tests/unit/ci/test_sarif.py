"""SARIF 2.1.0 from lint, diff and certify: valid against the OASIS schema, and placed right.

Every log is validated against the official schema kept in `schema/` (see its NOTICE.md); a log
that code scanning would reject fails here first. The places are checked too: the line of the
finding's JSON pointer in the document, the pointer itself, relative paths under %SRCROOT%.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from typer.testing import CliRunner

from kontrakt.cli import app
from kontrakt.conformance.report.sarif import sarif_report
from kontrakt.diagnostics import Diagnostic, Level, to_sarif
from kontrakt.sarif import Finding, artifact_uri, sarif_log
from tests.conftest import REPO

SCHEMA = json.loads((Path(__file__).parent / "schema" / "sarif-schema-2.1.0.json").read_text())
LINT_FIXTURES = REPO / "tests" / "unit" / "lint" / "fixtures" / "broken"


def valid(text: str) -> dict[str, Any]:
    """The log, after the SARIF 2.1.0 schema accepted it."""
    log = json.loads(text)
    jsonschema.Draft4Validator(SCHEMA).validate(log)
    assert log["version"] == "2.1.0"
    return dict(log)


def test_the_schema_rejects_what_code_scanning_would() -> None:
    # The validator is live: a level SARIF does not know, and a result without a message, fail.
    log = sarif_log("kontrakt test", [Finding("R1", "error", "broken", file="a.yaml", line=3)])
    valid(json.dumps(log))
    log["runs"][0]["results"][0]["level"] = "fatal"
    with pytest.raises(jsonschema.ValidationError):
        valid(json.dumps(log))
    del log["runs"][0]["results"][0]["message"]
    log["runs"][0]["results"][0]["level"] = "error"
    with pytest.raises(jsonschema.ValidationError):
        valid(json.dumps(log))


def test_artifact_uris_are_relative_references(tmp_path: Path) -> None:
    # Code scanning takes repository paths only: never an https: or file: URI.
    inside = tmp_path / "specs" / "a b.yaml"
    assert artifact_uri(str(inside), tmp_path) == ("specs/a%20b.yaml", "%SRCROOT%")
    assert artifact_uri("specs/x.yaml", tmp_path) == ("specs/x.yaml", "%SRCROOT%")
    shipped = tmp_path.parent / "site" / "_specs"
    roots = {"KONTRAKT_SPECS": shipped}
    assert artifact_uri(str(shipped / "dps/v1/openapi.yaml"), tmp_path, roots) == (
        "dps/v1/openapi.yaml",
        "KONTRAKT_SPECS",
    )
    outside = (tmp_path.parent / "elsewhere.yaml").resolve()
    assert artifact_uri(str(outside), tmp_path) == (outside.as_posix().lstrip("/"), None)
    assert artifact_uri(outside.as_uri(), tmp_path) == (outside.as_posix().lstrip("/"), None)
    assert artifact_uri("https://bank.example:8443/v2/openapi.json") == (
        "bank.example_8443/v2/openapi.json",
        None,
    )


def test_a_place_outside_the_repository_keeps_its_address(tmp_path: Path) -> None:
    found = [
        Finding("R", "error", "m", file="https://bank.example/openapi.json", pointer="/paths"),
        Finding("R", "error", "m", file=str(tmp_path / "in.yaml"), line=2),
    ]
    log = valid(json.dumps(sarif_log("kontrakt test", found, base=tmp_path)))
    remote, local = log["runs"][0]["results"]
    assert remote["properties"]["documentUri"] == "https://bank.example/openapi.json"
    assert "documentUri" not in local.get("properties", {})


def test_lint_sarif_places_each_diagnostic() -> None:
    result = CliRunner().invoke(app, ["lint", "--format", "sarif", str(LINT_FIXTURES)])
    assert result.exit_code == 1  # the fixtures are broken on purpose
    log = valid(result.stdout)
    run = log["runs"][0]
    results = run["results"]
    assert results and all(r["level"] in ("error", "warning") for r in results)
    rule_ids = [r["id"] for r in run["tool"]["driver"]["rules"]]
    assert {r["ruleId"] for r in results} <= set(rule_ids)
    assert all(rule_ids[r["ruleIndex"]] == r["ruleId"] for r in results)
    # The text output names the same findings, with the same lines.
    text = CliRunner().invoke(app, ["lint", str(LINT_FIXTURES)]).stdout
    for found in results:
        place = found["locations"][0]
        uri = place["physicalLocation"]["artifactLocation"]["uri"]
        line = place["physicalLocation"].get("region", {}).get("startLine")
        pointer = found["properties"]["jsonPointer"]
        assert place["logicalLocations"][0]["fullyQualifiedName"] == "#" + pointer
        where = f"{uri}:{line}" if line else uri
        assert f"{where}: {found['level']}: #{pointer}: " in text, (where, pointer)


def test_lint_rejects_an_unknown_format() -> None:
    result = CliRunner().invoke(app, ["lint", "--format", "xml", str(LINT_FIXTURES)])
    assert result.exit_code == 2
    assert "--format must be one of text, json, sarif" in result.stderr


def test_diagnostic_levels_and_rule_ids() -> None:
    found = [
        Diagnostic("a.yaml", "/paths/~1x", "bad", Level.ERROR, 7, "refs"),
        Diagnostic("a.yaml", "", "meh", Level.WARNING, None, ""),
    ]
    log = valid(to_sarif(found))
    first, second = log["runs"][0]["results"]
    assert (first["ruleId"], first["level"]) == ("refs", "error")
    assert first["locations"][0]["physicalLocation"]["region"] == {"startLine": 7}
    assert first["properties"]["jsonPointer"] == "/paths/~1x"
    assert (second["ruleId"], second["level"]) == ("lint", "warning")
    assert "region" not in second["locations"][0]["physicalLocation"]


OLD = """\
openapi: 3.0.3
info: {title: t, version: 1.0.0}
paths:
  /items:
    get:
      parameters:
        - {name: q, in: query, schema: {type: string}}
      responses:
        '200':
          description: ok
          content:
            application/json:
              schema:
                type: object
                required: [id, name]
                properties:
                  id: {type: string}
                  name: {type: string}
"""

NEW = """\
openapi: 3.0.3
info: {title: t, version: 1.1.0}
paths:
  /items:
    get:
      parameters:
        - {name: q, in: query, schema: {type: string}}
        - {name: page, in: query, schema: {type: integer}}
      responses:
        '200':
          description: ok
          content:
            application/json:
              schema:
                type: object
                properties:
                  id: {type: string}
"""


def _line_of(text: str, pointer: str) -> int:
    """The line of the key (or the sequence item) the pointer ends on, counted from 1."""
    node = yaml.compose(text)
    line = 1
    for token in pointer.strip("/").split("/"):
        token = token.replace("~1", "/").replace("~0", "~")
        assert node is not None
        if isinstance(node, yaml.SequenceNode):
            node = node.value[int(token)]
            line = node.start_mark.line + 1
            continue
        key, node = next((k, v) for k, v in node.value if k.value == token)
        line = key.start_mark.line + 1
    return int(line)


def test_diff_sarif_breaking_is_an_error_at_its_line_in_the_new_document(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    Path("old.yaml").write_text(OLD)
    Path("new.yaml").write_text(NEW)
    result = CliRunner().invoke(app, ["diff", "old.yaml", "new.yaml", "--format", "sarif"])
    assert result.exit_code == 1
    log = valid(result.stdout)
    results = log["runs"][0]["results"]
    removed = next(r for r in results if r["properties"]["kind"] == "response-property-removed")
    assert removed["level"] == "error"
    # A removal sits where the new document lost it (the parent of the old place), which is
    # where a reviewer of the change looks.
    place = removed["locations"][0]["physicalLocation"]
    assert place["artifactLocation"] == {"uri": "new.yaml", "uriBaseId": "%SRCROOT%"}
    pointer = removed["properties"]["newPointer"]
    assert removed["properties"]["jsonPointer"] == pointer
    assert removed["properties"]["oldPointer"] == pointer + "/name"
    assert place["region"]["startLine"] == _line_of(NEW, pointer)
    added = next(r for r in results if r["properties"]["kind"] == "request-parameter-added")
    assert added["level"] in ("note", "warning")
    assert added["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "new.yaml"
    assert added["locations"][0]["physicalLocation"]["region"]["startLine"] == _line_of(
        NEW, added["properties"]["newPointer"]
    )
    rules = {r["id"]: r for r in log["runs"][0]["tool"]["driver"]["rules"]}
    assert rules[removed["ruleId"]]["defaultConfiguration"]["level"] == "error"
    assert rules[removed["ruleId"]]["shortDescription"]["text"]
    # --fail-on never: the same change is reported, no longer as an error.
    lenient = CliRunner().invoke(
        app, ["diff", "old.yaml", "new.yaml", "--format", "sarif", "--fail-on", "never"]
    )
    assert lenient.exit_code == 0
    levels = {
        r["properties"]["changeId"]: r["level"] for r in valid(lenient.stdout)["runs"][0]["results"]
    }
    assert levels[removed["properties"]["changeId"]] == "note"


def _report(verdict: str, rules: list[dict[str, Any]], spec: str | None) -> dict[str, Any]:
    return {
        "tool": {"name": "kontrakt", "version": "0.1.0"},
        "profile": "dsop-control/v2.0",
        "spec": {"path": spec, "sha256": "0" * 64},
        "provider": {"base_url": "http://127.0.0.1:1/v2", "environment": "test"},
        "seed": 0,
        "level": "default",
        "verdict": verdict,
        "preflight": None
        if verdict != "cannot-run"
        else {"status": "cannot-run", "diagnosis": "no token", "evidence": [{"curl": "curl x"}]},
        "rules": rules,
    }


def _rule(rule_id: str, verdict: str) -> dict[str, Any]:
    return {
        "id": rule_id,
        "title": f"{rule_id} title",
        "severity": "MUST",
        "source": {"doc": "DOCS", "section": "API methods"},
        "verdict": verdict,
        "message": f"{rule_id} said {verdict}",
        "basis": "published",
        "assumption": None,
        "deviations": [],
        "evidence": [],
    }


def test_certify_sarif_points_at_the_rule_entry() -> None:
    spec = REPO / "specs" / "dsop-control" / "v2.0" / "openapi.yaml"
    rules = [_rule("DSOP-ACC-405", "fail"), _rule("DSOP-ACC-406", "pass")]
    log = valid(sarif_report(_report("failed", rules, str(spec)), base=REPO))
    run = log["runs"][0]
    assert run["invocations"][0]["executionSuccessful"] is True
    # Passing rules are described, not reported.
    assert [r["id"] for r in run["tool"]["driver"]["rules"]] == ["DSOP-ACC-405", "DSOP-ACC-406"]
    (only,) = run["results"]
    assert (only["ruleId"], only["level"]) == ("DSOP-ACC-405", "error")
    place = only["locations"][0]["physicalLocation"]
    assert place["artifactLocation"] == {
        "uri": "specs/dsop-control/v2.0/openapi.yaml",
        "uriBaseId": "%SRCROOT%",
    }
    line = _line_of(spec.read_text(), "/x-kontrakt-rules/DSOP-ACC-405")
    assert place["region"]["startLine"] == line


def test_certify_sarif_in_a_providers_repository_sits_on_the_manifest(tmp_path: Path) -> None:
    # The provider's repository holds its manifest, not the contract (shipped with kontrakt).
    spec = REPO / "specs" / "dsop-control" / "v2.0" / "openapi.yaml"
    (tmp_path / "ci").mkdir()
    (tmp_path / "ci" / "bank.yaml").write_text("profile: dsop-control/v2.0\n")
    report = _report("failed", [_rule("DSOP-ACC-405", "fail")], str(spec))
    log = valid(sarif_report({**report, "manifest": "ci/bank.yaml"}, base=tmp_path))
    (only,) = log["runs"][0]["results"]
    place = only["locations"][0]
    assert place["physicalLocation"] == {
        "artifactLocation": {"uri": "ci/bank.yaml", "uriBaseId": "%SRCROOT%"}
    }
    assert place["logicalLocations"][0]["fullyQualifiedName"] == "#/x-kontrakt-rules/DSOP-ACC-405"
    assert only["properties"]["contract"] == str(spec)
    # Without a manifest there either, the shipped contract relative to KONTRAKT_SPECS.
    log = valid(sarif_report(report, base=tmp_path))
    (only,) = log["runs"][0]["results"]
    artifact = only["locations"][0]["physicalLocation"]["artifactLocation"]
    assert artifact == {"uri": "dsop-control/v2.0/openapi.yaml", "uriBaseId": "KONTRAKT_SPECS"}
    assert "KONTRAKT_SPECS" in log["runs"][0]["originalUriBaseIds"]


def test_certify_sarif_of_a_run_that_could_not_start() -> None:
    log = valid(sarif_report(_report("cannot-run", [], None)))
    run = log["runs"][0]
    assert run["invocations"][0]["executionSuccessful"] is False
    (only,) = run["results"]
    assert only["ruleId"] == "PREFLIGHT" and "no token" in only["message"]["text"]

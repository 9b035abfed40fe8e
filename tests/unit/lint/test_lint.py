"""`kontrakt lint` on a valid contract, on one broken fixture per check, and on specs/."""

from __future__ import annotations

from pathlib import Path

import jsonschema
import pytest
from typer.testing import CliRunner

from kontrakt.cli import app
from kontrakt.lint import extension_schema, lint_paths

HERE = Path(__file__).parent
FIXTURES = HERE / "fixtures"
BROKEN = sorted((FIXTURES / "broken").glob("*.yaml"))
REPO = HERE.parents[2]


def _expectations(path: Path) -> list[tuple[str, str]]:
    """`# expect: <check> <pointer>` lines at the top of a broken fixture."""
    found = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("# expect:"):
            check, _, ptr = line.removeprefix("# expect:").strip().partition(" ")
            found.append((check, ptr.strip()))
    return found


def test_extension_schema_is_a_valid_json_schema() -> None:
    jsonschema.Draft202012Validator.check_schema(extension_schema())


def test_valid_fixture_has_no_findings() -> None:
    assert lint_paths([FIXTURES / "valid.yaml"]) == []


def test_every_broken_fixture_states_what_it_expects() -> None:
    assert len(BROKEN) >= 12
    for path in BROKEN:
        assert _expectations(path), f"{path.name} has no '# expect:' line"


@pytest.mark.parametrize("path", BROKEN, ids=lambda p: p.stem)
def test_broken_fixture_is_reported_with_file_and_pointer(path: Path) -> None:
    found = lint_paths([path])
    assert found, f"{path.name}: lint found nothing"
    assert all(d.file == str(path) for d in found)
    seen = {(d.check, d.pointer) for d in found}
    for expected in _expectations(path):
        assert expected in seen, f"{path.name}: expected {expected}, got {sorted(seen)}"


def test_cli_exits_1_names_file_and_pointer_and_writes_nothing(tmp_path: Path) -> None:
    target = tmp_path / "spec.yaml"
    target.write_text((FIXTURES / "broken" / "unknown-code.yaml").read_text(), encoding="utf-8")
    before = {p: p.stat().st_mtime_ns for p in tmp_path.rglob("*")}
    result = CliRunner().invoke(app, ["lint", str(target)])
    assert result.exit_code == 1, result.output
    assert f"{target}:" in result.output
    assert "#/paths/~1things~1{id}/get/responses/404/x-kontrakt-errors/0/code" in result.output
    assert {p: p.stat().st_mtime_ns for p in tmp_path.rglob("*")} == before


def test_cli_json_output_lists_every_finding() -> None:
    result = CliRunner().invoke(app, ["lint", "--format", "json", str(FIXTURES / "broken")])
    assert result.exit_code == 1
    assert result.output.count('"pointer"') >= len(BROKEN)


def test_unreadable_and_swagger2_documents_are_diagnostics(tmp_path: Path) -> None:
    (tmp_path / "bad.yaml").write_text("openapi: [unclosed\n", encoding="utf-8")
    (tmp_path / "old.yaml").write_text(
        "swagger: '2.0'\ninfo: {title: x, version: '1'}\npaths: {}\n"
    )
    found = lint_paths([tmp_path / "bad.yaml", tmp_path / "old.yaml"])
    messages = {Path(d.file).name: d.message for d in found}
    assert "not valid YAML/JSON" in messages["bad.yaml"]
    assert "Swagger 2.0" in messages["old.yaml"] and "convert" in messages["old.yaml"]


def test_foreign_mode_skips_house_rules_but_not_openapi(tmp_path: Path) -> None:
    text = (FIXTURES / "valid.yaml").read_text().replace("x-kontrakt-api:", "x-other-api:", 1)
    (tmp_path / "foreign.yaml").write_text(text, encoding="utf-8")
    checks = {d.check for d in lint_paths([tmp_path / "foreign.yaml"], authored=False)}
    assert "extension-schema" not in checks


def test_all_authored_specs_pass() -> None:
    documents = sorted((REPO / "specs").rglob("openapi.yaml"))
    assert len(documents) == 7, [str(d) for d in documents]
    found = lint_paths(documents)
    assert not found, "\n".join(d.format() for d in found)


def test_lint_reports_real_problems_in_publishers_documents(shared: Path) -> None:
    kar = shared / "reference" / "dsop" / "kundeforhold-kar-api-v1.1.2.yaml"
    found = lint_paths([kar], authored=False)
    assert any(d.check == "quoted-keys" for d in found)


@pytest.mark.parametrize(
    "paths",
    [
        "{/a: {parameters: notalist, get: {responses: {'200': {description: ok}}}}}",
        "{/a: {get: {responses: []}}}",
        "{/a: {get: {parameters: [{name: x}], responses: {'200': 7}}}}",
        "[]",
    ],
)
def test_malformed_documents_are_findings_not_tracebacks(tmp_path: Path, paths: str) -> None:
    target = tmp_path / "malformed.yaml"
    target.write_text(f"openapi: 3.1.0\ninfo: {{title: x, version: '1'}}\npaths: {paths}\n")
    found = lint_paths([target], authored=False)
    assert any(d.check == "openapi" for d in found)


def test_unbound_role_variable_is_a_warning_unless_acknowledged(tmp_path: Path) -> None:
    text = (FIXTURES / "broken" / "unbound-role.yaml").read_text(encoding="utf-8")
    [found] = lint_paths([FIXTURES / "broken" / "unbound-role.yaml"])
    assert (found.check, found.level.value) == ("roles", "warning")
    assert "{ownerId}" in found.message and "unbound-ok" in found.message
    acknowledged = tmp_path / "acknowledged.yaml"
    acknowledged.write_text(
        text.replace(
            '        source: {doc: T, section: "4"}',
            '        unbound-ok: true\n        source: {doc: T, section: "4"}',
        ),
        encoding="utf-8",
    )
    assert lint_paths([acknowledged]) == []
    assert CliRunner().invoke(app, ["lint", str(acknowledged)]).exit_code == 0

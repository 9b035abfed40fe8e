"""Writing: all or nothing (a failing template, model step, formatter or swap leaves the output
byte-identical), deterministic (two runs, identical trees), --check diffs, and the CLI."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

import kontrakt.generator.models
import kontrakt.generator.pipeline
import kontrakt.generator.render
import kontrakt.generator.write
from kontrakt.cli import app
from kontrakt.diagnostics import Level
from kontrakt.generator.models import ModelsError
from kontrakt.generator.pipeline import build_all, generate
from kontrakt.generator.write import WriteError

REPO = Path(__file__).resolve().parents[3]
GOLDEN = REPO / "tests" / "golden" / "specs"
SPECS = [GOLDEN / "kontrakt-rules.yaml", GOLDEN / "edge-cases-31.yaml"]


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and "__pycache__" not in p.parts
    }


@pytest.fixture(scope="module")
def first_generation(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("first") / "generated"
    cwd = Path.cwd()
    os.chdir(REPO)
    try:
        outcome = generate(SPECS, out)
    finally:
        os.chdir(cwd)
    assert outcome.written, [d.format() for d in outcome.errors]
    return out


@pytest.fixture
def written(first_generation: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An output folder holding a previous generation plus a hand-made change."""
    monkeypatch.chdir(REPO)
    out = tmp_path / "generated"
    shutil.copytree(first_generation, out)
    (out / "golden_rules_v1" / "models.py").write_text("# an older generation\n", encoding="utf-8")
    return out


def _assert_untouched(out: Path, before: dict[str, bytes]) -> None:
    assert _snapshot(out) == before
    leftovers = [p.name for p in out.parent.iterdir() if p.name.startswith(f".{out.name}-staging-")]
    assert leftovers == []


def test_a_failing_template_leaves_the_output_untouched(
    written: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    templates = tmp_path / "templates"
    shutil.copytree(kontrakt.generator.render.TEMPLATES, templates)
    api_template = templates / "package" / "api.py.jinja"
    api_template.write_text(api_template.read_text() + "{{ no_such_value }}\n")
    monkeypatch.setattr(kontrakt.generator.render, "TEMPLATES", templates)
    kontrakt.generator.render._environment.cache_clear()
    before = _snapshot(written)
    try:
        outcome = generate(SPECS, written)
    finally:
        kontrakt.generator.render._environment.cache_clear()
    assert not outcome.written
    assert any(d.check == "render" and "no_such_value" in d.message for d in outcome.errors)
    _assert_untouched(written, before)


def test_a_failing_model_step_leaves_the_output_untouched(
    written: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def fail(*args: object) -> None:
        raise ModelsError("simulated failure")

    monkeypatch.setattr(kontrakt.generator.models, "build_models", fail)
    before = _snapshot(written)
    outcome = generate(SPECS, written)
    assert not outcome.written and outcome.errors
    _assert_untouched(written, before)


def test_one_bad_document_means_nothing_is_written(written: Path, tmp_path: Path) -> None:
    swagger = tmp_path / "old.yaml"
    swagger.write_text("swagger: '2.0'\ninfo: {title: Old, version: '1'}\npaths: {}\n")
    before = _snapshot(written)
    outcome = generate([*SPECS, swagger], written)
    assert not outcome.written
    assert [d.pointer for d in outcome.errors] == ["/swagger"]
    _assert_untouched(written, before)


def test_a_failing_formatter_leaves_the_output_untouched(
    written: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def fail(arguments: object, folder: Path) -> None:
        raise WriteError("ruff failed (simulated)")

    monkeypatch.setattr(kontrakt.generator.write, "_ruff", fail)
    before = _snapshot(written)
    outcome = generate(SPECS, written)
    assert not outcome.written
    assert [d.check for d in outcome.errors] == ["write"]
    _assert_untouched(written, before)


def test_a_failing_swap_is_rolled_back(written: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real_rename: Callable[[str | Path, str | Path], None] = os.rename
    calls: list[str] = []

    def rename(source: str | Path, target: str | Path) -> None:
        calls.append(str(target))
        # Fail once, when the second package is about to take its place.
        if Path(target) == written / "edge_cases_31" and not failed:
            failed.append(True)
            raise OSError("disk full (simulated)")
        real_rename(source, target)

    failed: list[bool] = []

    monkeypatch.setattr(kontrakt.generator.write.os, "rename", rename)
    before = _snapshot(written)
    outcome = generate(SPECS, written)
    assert not outcome.written
    assert any("disk full" in d.message for d in outcome.errors)
    assert str(written / "golden_rules_v1") in calls  # the first package had been swapped in
    _assert_untouched(written, before)


def test_generation_is_deterministic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)
    first, second = tmp_path / "one" / "out", tmp_path / "two" / "out"
    assert generate(SPECS, first).written
    assert generate(SPECS, second).written
    assert _snapshot(first) == _snapshot(second)
    assert set(_snapshot(first)) >= {
        "README.md",
        "__init__.py",
        "golden_rules_v1/models.py",
        "edge_cases_31/py.typed",
    }


def test_worker_processes_change_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Documents built in forked workers (jobs=2) come back in document order, with the same files
    # and diagnostics as built one after the other in this process (jobs=1).
    monkeypatch.chdir(REPO)
    documents = [*SPECS, GOLDEN / "nullable-30.yaml", GOLDEN / "petstore-expanded.yaml"]
    alone = build_all(documents, jobs=1)
    forked = build_all(documents, jobs=2)
    assert [b.path for b in forked] == documents
    assert [(b.package, b.diagnostics) for b in forked] == [
        (b.package, b.diagnostics) for b in alone
    ]
    first, second = tmp_path / "one" / "out", tmp_path / "two" / "out"
    assert generate(documents, first, jobs=1).written
    assert generate(documents, second, jobs=2).written
    assert _snapshot(first) == _snapshot(second)


def test_one_document_is_checked_and_made_side_by_side(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # One document, two workers: "check" and "make" run at the same time; "make" is speculative.
    # (The invalid document is foreign, so only an unresolvable $ref stops it.)
    monkeypatch.chdir(REPO)
    [alone] = build_all(SPECS[:1], jobs=1)
    [forked] = build_all(SPECS[:1], jobs=2)
    assert (forked.package, forked.diagnostics) == (alone.package, alone.diagnostics)

    invalid = tmp_path / "invalid.yaml"
    invalid.write_text(
        "openapi: 3.1.0\ninfo: {title: Invalid, version: '1'}\n"
        "paths: {/a: {get: {operationId: getA, responses: {'200': {$ref: '#/nowhere'}}}}}\n",
        encoding="utf-8",
    )

    def crash(*args: object) -> None:
        raise RuntimeError("a bug in the models stage (simulated)")

    monkeypatch.setattr(kontrakt.generator.models, "build_models", crash)
    # What "make" raised is dropped when "check" stops the document, as `build` never runs it...
    [built] = build_all([invalid], jobs=2)
    assert (
        built.package is None and built.diagnostics == build_all([invalid], jobs=1)[0].diagnostics
    )
    assert [d.check for d in built.diagnostics if d.level is Level.ERROR] == ["refs"]
    # ...and raised when the document is valid, as `build` raises it.
    with pytest.raises(RuntimeError, match="simulated"):
        build_all(SPECS[:1], jobs=2)


def test_check_reports_a_diff_and_writes_nothing(written: Path) -> None:
    before = _snapshot(written)
    outcome = generate(SPECS, written, check=True)
    assert not outcome.written
    assert "--- generated/golden_rules_v1/models.py" in outcome.diff
    assert "-# an older generation" in outcome.diff
    assert _snapshot(written) == before
    (written / "golden_rules_v1" / "models.py").unlink()
    (written / "golden_rules_v1" / "py.typed").unlink()
    outcome = generate(SPECS, written, check=True)
    assert "--- /dev/null\n+++ generated/golden_rules_v1/py.typed" in outcome.diff


def test_cli_generate_and_check(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)
    out = tmp_path / "out"
    runner = CliRunner()
    spec = str(SPECS[0])
    result = runner.invoke(app, ["generate", spec, "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "wrote golden_rules_v1" in result.output
    assert (out / "golden_rules_v1" / "py.typed").exists()
    result = runner.invoke(app, ["generate", spec, "--out", str(out), "--check"])
    assert result.exit_code == 0, result.output
    assert "up to date" in result.output
    (out / "golden_rules_v1" / "api.py").write_text("# edited by hand\n", encoding="utf-8")
    result = runner.invoke(app, ["generate", spec, "--out", str(out), "--check"])
    assert result.exit_code == 1
    assert "+++ out/golden_rules_v1/api.py" in result.output
    assert "differs" in result.output


def test_cli_prints_warnings_with_file_line_and_pointer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(REPO)
    result = CliRunner().invoke(app, ["generate", str(SPECS[1]), "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    assert (
        "tests/golden/specs/edge-cases-31.yaml:125: warning: #/paths/~1dyr/post/callbacks:"
        in result.output
    )


def test_cli_swagger_2_exits_1_with_the_conversion_hint(tmp_path: Path) -> None:
    swagger = tmp_path / "old.json"
    swagger.write_text('{"swagger": "2.0", "info": {"title": "Old", "version": "1"}, "paths": {}}')
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["generate", str(swagger), "--out", str(out)])
    assert result.exit_code == 1
    assert "Swagger 2.0" in result.output and "swagger2openapi" in result.output
    assert "nothing was written" in result.output
    assert not out.exists()


def test_a_large_document_is_written_to_openapi_json_compact(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    generate(SPECS[:1], tmp_path / "indented")
    monkeypatch.setattr(kontrakt.generator.pipeline, "COMPACT_JSON_BYTES", 100)
    generate(SPECS[:1], tmp_path / "compact")
    [indented] = (tmp_path / "indented").glob("*/openapi.json")
    [compact] = (tmp_path / "compact").glob("*/openapi.json")
    assert indented.read_text(encoding="utf-8").count("\n") > 100
    assert compact.read_text(encoding="utf-8").count("\n") == 1
    assert json.loads(compact.read_bytes()) == json.loads(indented.read_bytes())

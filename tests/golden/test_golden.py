"""Golden trees ("did it change") and foreign documents ("does it work").

- Each small edge-case spec in ``tests/golden/specs/`` has its expected package committed under
  ``tests/golden/expected/<spec name>/<package>/``; the test regenerates it and compares byte for
  byte. ``KONTRAKT_UPDATE_GOLDEN=1`` rewrites the expected trees (review the diff, then commit).
- ``kontrakt/generated/`` must equal what the generator produces from ``specs/`` (the same check as
  ``make check-generated``).
- Documents we did not write (the publishers' copies in ../shared/reference and the petstore
  fixture) generate without errors, their packages import, and ruff and strict mypy pass on them.
"""

from __future__ import annotations

import difflib
import importlib
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from kontrakt.generator.pipeline import Outcome, generate
from tests.conftest import SHARED, require_shared

REPO = Path(__file__).resolve().parents[2]
HERE = Path(__file__).parent
SPECS = sorted((HERE / "specs").glob("*.yaml"))
EXPECTED = HERE / "expected"
UPDATE = os.environ.get("KONTRAKT_UPDATE_GOLDEN") == "1"
# The publishers' documents, as copied under ../shared/reference (see its SOURCE.txt files).
# Each maps to the package it must give.
FOREIGN = {
    "dsop/dsop-control-api-v1.1.1.yaml": "dsop_control_api_v1_1_1",
    "dsop/dsop-control-api-v2.0.0.yaml": "dsop_control_api_v2",
    "dsop/kundeforhold-kar-api-v1.1.2.yaml": "kundeforhold_kar_api_v1_1_2",
    "dps/dps-submission-service-api-1.0.0.swagger.json": "dps_submission_service_api_1_swagger",
    "dan/nadobe-openapi-spec-2018-draft.json": "nadobe_openapi_spec_2018_draft",
}
PETSTORE = {"petstore-expanded": "petstore_expanded"}


def _tree(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and "__pycache__" not in p.parts
    }


def _diff(expected: dict[str, bytes], produced: dict[str, bytes]) -> str:
    lines: list[str] = []
    for name in sorted({*expected, *produced}):
        before = expected.get(name, b"").decode().splitlines(keepends=True)
        after = produced.get(name, b"").decode().splitlines(keepends=True)
        if expected.get(name) != produced.get(name):
            lines.extend(
                difflib.unified_diff(before, after, f"expected/{name}", f"produced/{name}")
            )
            lines.append(f"(differs: {name})\n")
    return "".join(lines)


@pytest.mark.parametrize("spec", SPECS, ids=lambda p: p.stem)
def test_golden_tree(spec: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)  # generated headers name the document relative to the repository
    outcome = generate([spec.relative_to(REPO)], tmp_path / "out")
    assert outcome.written, [d.format() for d in outcome.errors]
    [package] = outcome.packages
    produced = tmp_path / "out" / package.name
    expected = EXPECTED / spec.stem / package.name
    if UPDATE:
        shutil.rmtree(EXPECTED / spec.stem, ignore_errors=True)
        shutil.copytree(produced, expected)
    assert expected.is_dir(), f"no golden tree for {spec.name}: run with KONTRAKT_UPDATE_GOLDEN=1"
    difference = _diff(_tree(expected), _tree(produced))
    assert not difference, f"{spec.name} generates something else now:\n{difference}"


def test_every_golden_tree_has_its_spec() -> None:
    assert sorted(p.name for p in EXPECTED.iterdir() if p.is_dir()) == sorted(p.stem for p in SPECS)


def test_generated_folder_is_what_specs_produce(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)
    outcome = generate([Path("specs")], Path("kontrakt/generated"), check=True)
    assert not outcome.errors, [d.format() for d in outcome.errors]
    assert outcome.diff == "", f"kontrakt/generated/ is stale; run `make generate`:\n{outcome.diff}"
    produced = {p.name for p in outcome.packages}
    present = {
        p.name
        for p in (REPO / "kontrakt" / "generated").iterdir()
        if p.is_dir() and p.name != "__pycache__"
    }
    assert present == produced, "kontrakt/generated/ holds packages no document produces"


# -- foreign documents ------------------------------------------------------------------------------
def _documents() -> list[Path]:
    documents = [HERE / "specs" / "petstore-expanded.yaml", *SPECS]
    if SHARED.is_dir():
        documents.extend(SHARED / "reference" / name for name in FOREIGN)
    return list(dict.fromkeys(documents))


@pytest.fixture(scope="module")
def foreign(tmp_path_factory: pytest.TempPathFactory) -> tuple[Outcome, Path]:
    """Every foreign document (and every golden spec) generated together into one folder."""
    out = tmp_path_factory.mktemp("foreign") / "out"
    cwd = Path.cwd()
    os.chdir(REPO)
    try:
        outcome = generate(_documents(), out)
    finally:
        os.chdir(cwd)
    return outcome, out


def test_the_publishers_documents_are_present() -> None:
    shared = require_shared()
    for name in FOREIGN:
        assert (shared / "reference" / name).is_file(), name


@pytest.mark.parametrize(("name", "package"), [*PETSTORE.items(), *FOREIGN.items()])
def test_foreign_document_generates(name: str, package: str, foreign: tuple[Outcome, Path]) -> None:
    if name not in PETSTORE:
        require_shared()
    outcome, out = foreign
    assert outcome.written, [d.format() for d in outcome.errors]
    produced = {p.name: p for p in outcome.packages}
    assert package in produced, f"no package {package} for {name}: {sorted(produced)}"
    assert {f.path for f in produced[package].files} == {
        "__init__.py",
        "api.py",
        "client.py",
        "models.py",
        "openapi.json",
        "py.typed",
        "server.py",
    }
    assert (out / package / "py.typed").is_file()


@pytest.fixture
def importable(foreign: tuple[Outcome, Path]) -> Iterator[Path]:
    _, out = foreign
    sys.path.insert(0, str(out))
    try:
        yield out
    finally:
        sys.path.remove(str(out))


def test_foreign_packages_import(foreign: tuple[Outcome, Path], importable: Path) -> None:
    outcome, _ = foreign
    for package in outcome.packages:
        module = importlib.import_module(package.name)
        models = importlib.import_module(f"{package.name}.models")
        assert set(module.__all__) >= {"api"}
        for name in module.__all__:
            assert getattr(module, name) is not None
        assert module.api.OPERATIONS or module.api.WEBHOOKS or package.name == "nullable_30"
        assert models.__name__.endswith(".models")


def test_petstore_models_validate(foreign: tuple[Outcome, Path], importable: Path) -> None:
    petstore = importlib.import_module("petstore_expanded")
    pet = petstore.Pet.model_validate({"id": 7, "name": "Fido", "tag": "dog"})
    assert (pet.id, pet.name, pet.tag) == (7, "Fido", "dog")
    assert [op.python_name for op in petstore.api.OPERATIONS] == [
        "find_pets",
        "add_pet",
        "find_pet_by_id",
        "delete_pet",
    ]


def _run(*command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", *command], capture_output=True, text=True, cwd=REPO, check=False
    )


def test_ruff_passes_on_foreign_output(foreign: tuple[Outcome, Path]) -> None:
    _, out = foreign
    config = str(REPO / "pyproject.toml")
    checked = _run("ruff", "check", "--config", config, "--no-cache", str(out))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    formatted = _run("ruff", "format", "--check", "--config", config, "--no-cache", str(out))
    assert formatted.returncode == 0, formatted.stdout + formatted.stderr


def test_mypy_strict_passes_on_foreign_output(
    foreign: tuple[Outcome, Path], tmp_path: Path
) -> None:
    _, out = foreign
    checked = _run(
        "mypy",
        "--config-file",
        str(REPO / "pyproject.toml"),
        "--cache-dir",
        str(tmp_path / "mypy-cache"),
        str(out),
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr

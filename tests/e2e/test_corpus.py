"""Documents we did not write, end to end: each generates, imports, assembles a server app, keeps
every operation in client and server, and the generated code passes the project's ruff and
`mypy --strict`; `kontrakt lint --foreign` reads them all without failing on what OpenAPI allows.

The corpus (tests/corpus/, sources and licences in LICENSES.md) is openapi-python-client's and
datamodel-code-generator's own test documents: OpenAPI 3.0 and 3.1, JSON and YAML. The packages
are generated once into one folder, imported as `kontrakt_corpus.<package>`, and type-checked in
one mypy run over all of them (mypy's start-up and the runtime's analysis are paid once).

Every check runs twice: on the packages as generated, and on packages whose models were built in
parts and merged (`kontrakt.generator.partition`, which only documents of several MB reach on their
own; here the part size is forced down to 500 bytes so that every document with more than a handful
of schemas is split into up to four parts).
"""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from kontrakt.generator import partition
from kontrakt.generator.pipeline import generate
from kontrakt.runtime import server as rt
from tests.e2e._support import Issuer

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT / "tests" / "corpus"
DOCUMENTS = sorted(p for p in CORPUS.rglob("*") if p.suffix in (".yaml", ".yml", ".json"))
METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
BIN = Path(sys.executable).parent
FOLDER = "kontrakt_corpus"


@dataclass(frozen=True)
class Corpus:
    root: Path  # holds FOLDER, the generated packages
    packages: dict[Path, str]  # document -> package name


@pytest.fixture(scope="module", params=["whole", "in-parts"])
def corpus(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Corpus]:
    root = tmp_path_factory.mktemp("corpus")
    with pytest.MonkeyPatch.context() as patch:
        if request.param == "in-parts":
            patch.setattr(partition, "PART_BYTES", 500)
        outcome = generate(DOCUMENTS, root / FOLDER, jobs=2)
    assert outcome.written, [d.format() for d in outcome.errors]
    assert len(outcome.packages) == len(DOCUMENTS)
    sys.path.insert(0, str(root))
    try:
        yield Corpus(root, {d: p.name for d, p in zip(DOCUMENTS, outcome.packages, strict=True)})
    finally:
        sys.path.remove(str(root))
        for name in [m for m in sys.modules if m == FOLDER or m.startswith(f"{FOLDER}.")]:
            del sys.modules[name]


def test_the_corpus_is_large_and_varied() -> None:
    assert len(DOCUMENTS) >= 30
    versions = set()
    for path in DOCUMENTS:
        text = path.read_text(encoding="utf-8")
        versions.add(("3.1" if "3.1." in text.split("openapi", 1)[1][:12] else "3.0", path.suffix))
    assert {("3.0", ".json"), ("3.0", ".yaml"), ("3.1", ".yaml")} <= versions


def _operations(document: dict[str, Any]) -> list[tuple[str, str]]:
    """(method, path) of every operation under `paths` in the document itself."""
    found = []
    for path, raw in (document.get("paths") or {}).items():
        item = raw
        if isinstance(raw, dict) and isinstance(raw.get("$ref"), str):  # a referenced path item
            item = document
            for token in raw["$ref"].removeprefix("#/").split("/"):
                item = item.get(token.replace("~1", "/").replace("~0", "~"), {})
        if isinstance(item, dict):
            found += [(m, path) for m in METHODS if isinstance(item.get(m), dict)]
    return found


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_operation_is_in_client_and_server(corpus: Corpus, document: Path) -> None:
    package = importlib.import_module(f"{FOLDER}.{corpus.packages[document]}")
    source = json.loads(
        (corpus.root / FOLDER / corpus.packages[document] / "openapi.json").read_text()
    )
    expected = _operations(source)
    operations = package.api.OPERATIONS
    assert sorted((op.method, op.path) for op in operations) == sorted(expected)
    names = {
        scheme
        for alternatives in package.server.SECURITY.values()
        for alternative in alternatives
        for scheme in alternative.schemes
    }
    verifier = Issuer("https://issuer.test/", "api").verifier()
    schemes = {scheme: rt.BearerScheme(verifier) for scheme in names}
    package.create_app(object(), schemes)  # assembles: every route and check builds
    routes = [
        (method.lower(), route.path)
        for route in package.server.create_router(object(), schemes).routes
        if getattr(route, "operation_id", None)
        for method in route.methods
    ]
    assert sorted(routes) == sorted(expected), "every operation has exactly one route"
    for op in operations:
        assert callable(getattr(package.Client, op.python_name)), op.operation_id
        assert callable(getattr(package.AsyncClient, op.python_name)), op.operation_id


def test_lint_reads_every_document(corpus: Corpus) -> None:
    done = subprocess.run(
        [str(BIN / "kontrakt"), "lint", "--foreign", "--format", "json", *map(str, DOCUMENTS)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
    )
    # 0: clean, 1: findings. The corpus has documents that are invalid on purpose.
    assert done.returncode in (0, 1), done.stderr
    assert "Traceback" not in done.stderr
    found = json.loads(done.stdout)
    findings = found["diagnostics"] if isinstance(found, dict) else found
    errors = [f for f in findings if f["level"] == "error"]
    # What OpenAPI allows is no error in a foreign document (a missing operationId, a component
    # reached only through a name called `default`, an unused component).
    assert not [f for f in errors if f["check"] in ("operation-id", "unused-components")]
    assert all(f["file"] and f["pointer"] is not None for f in findings)


def test_ruff_is_clean_on_every_package(corpus: Corpus) -> None:
    done = subprocess.run(
        [
            str(BIN / "ruff"),
            "check",
            "--no-cache",
            "--config",
            str(ROOT / "pyproject.toml"),
            # Inside the repository ruff knows `kontrakt` is first-party; here it must be told.
            "--config",
            "lint.isort.known-first-party = ['kontrakt']",
            FOLDER,
        ],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=corpus.root,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_mypy_strict_is_clean_on_every_package(corpus: Corpus) -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--config-file",
            str(ROOT / "pyproject.toml"),
            "--cache-dir",
            str(corpus.root / ".mypy_cache"),
            FOLDER,
        ],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=corpus.root,
    )
    assert done.returncode == 0, done.stdout + done.stderr

"""The generate cache (`kontrakt.generator.cache`): a hit gives back exactly what a build writes,
any change of input is a miss, a document that could read another file is never cached, and a
damaged, foreign or oversized cache is only ever a miss."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from kontrakt.cli import app
from kontrakt.generator import cache as cache_module
from kontrakt.generator import pipeline
from kontrakt.generator.cache import Cache, uncacheable

REPO = Path(__file__).resolve().parents[3]
SPEC = REPO / "specs" / "dps" / "v1" / "openapi.yaml"

SMALL = """openapi: 3.1.0
info: {title: Shelf, version: '1'}
paths:
  /books/{id}:
    get:
      operationId: getBook
      parameters: [{name: id, in: path, required: true, schema: {type: string}}]
      responses:
        '200':
          description: one book
          content: {application/json: {schema: {$ref: '#/components/schemas/Book'}}}
components:
  schemas:
    Book:
      type: object
      properties: {title: {type: string}, pages: {type: integer, format: weird}}
"""


def _tree(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and "__pycache__" not in p.parts
    }


def _package_entries(folder: Path) -> list[Path]:
    """The index of each package entry under ``folder`` (not the output folders' root files)."""
    return [
        index
        for index in sorted(folder.rglob("entry.json"))
        if json.loads(index.read_text(encoding="utf-8"))["name"] != "_root"
    ]


def _no_build(*args: object, **kwargs: object) -> list[pipeline.Built]:
    raise AssertionError("built although the cache had it")


@pytest.fixture
def document(tmp_path: Path) -> Path:
    path = tmp_path / "shelf.yaml"
    path.write_text(SMALL, encoding="utf-8")
    return path


def test_a_hit_writes_what_the_build_wrote_with_the_same_warnings(
    document: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = Cache(tmp_path / "cache")
    first = pipeline.generate([document], tmp_path / "one", cache=store)
    assert first.written and first.diagnostics  # the unknown format is a warning
    monkeypatch.setattr(pipeline, "build_all", _no_build)
    second = pipeline.generate([document], tmp_path / "two", cache=store)
    assert second.written
    assert second.diagnostics == first.diagnostics
    assert _tree(tmp_path / "two") == _tree(tmp_path / "one")
    checked = pipeline.generate([document], tmp_path / "one", check=True, cache=store)
    assert checked.diff == ""


def test_every_input_change_is_a_miss(
    document: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = Cache(tmp_path / "cache")
    key = store.key(document, ("a",), label="shelf.yaml", authored=False)
    assert key is not None
    assert store.key(document, ("b",), label="shelf.yaml", authored=False) != key
    assert store.key(document, ("a",), label="other.yaml", authored=False) != key
    assert store.key(document, ("a",), label="shelf.yaml", authored=True) != key
    document.write_text(SMALL.replace("one book", "a book"), encoding="utf-8")
    assert store.key(document, ("a",), label="shelf.yaml", authored=False) != key
    document.write_text(SMALL, encoding="utf-8")
    assert store.key(document, ("a",), label="shelf.yaml", authored=False) == key
    monkeypatch.setattr(cache_module, "generator_fingerprint", lambda: "another generator")
    assert store.key(document, ("a",), label="shelf.yaml", authored=False) != key


def test_an_edited_document_is_built_again(document: Path, tmp_path: Path) -> None:
    store = Cache(tmp_path / "cache")
    pipeline.generate([document], tmp_path / "out", cache=store)
    document.write_text(SMALL.replace("title: {type: string}", "title: {type: boolean}"))
    pipeline.generate([document], tmp_path / "out", cache=store)
    models = next((tmp_path / "out").rglob("models.py")).read_text(encoding="utf-8")
    assert "title: bool | None" in models


def test_the_generator_sources_are_in_the_key() -> None:
    sources = [p.relative_to(cache_module.PACKAGE).as_posix() for p in cache_module._sources()]
    assert "generator/models.py" in sources and "lint.py" in sources
    assert any(s.startswith("templates/") for s in sources)
    assert not any(s.startswith(("generated/", "sandbox/")) for s in sources)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (b"$ref: '#/components/schemas/A'", False),
        (b'{"$ref": "#/components/schemas/A"}', False),
        (b'{"$ref":"#/a"}\n$ref:   "#/b"', False),
        (b"description: no references at all", False),
        (b"$ref: other.yaml#/components/schemas/A", True),
        (b'{"$ref": "https://example.test/a.json"}', True),
        (b"$ref: *anchored", True),
        (b'{"\\u0024ref": "other.json"}', True),
        (b"description: use $ref to point elsewhere", True),  # cannot tell: not cached
    ],
)
def test_what_could_name_another_file_is_not_cached(text: bytes, expected: bool) -> None:
    assert uncacheable(text) is expected


def test_a_document_with_an_outside_reference_is_never_stored(tmp_path: Path) -> None:
    document = tmp_path / "split.yaml"
    document.write_text(SMALL.replace("'#/components/schemas/Book'", "'book.yaml'"))
    store = Cache(tmp_path / "cache")
    pipeline.generate([document], tmp_path / "out", cache=store)
    assert not (tmp_path / "cache").exists() or not _package_entries(tmp_path / "cache")


def test_a_damaged_or_foreign_entry_is_a_miss(document: Path, tmp_path: Path) -> None:
    store = Cache(tmp_path / "cache")
    pipeline.generate([document], tmp_path / "one", cache=store)
    (index,) = _package_entries(tmp_path / "cache")
    record = json.loads(index.read_text(encoding="utf-8"))
    for damage in ("not json", json.dumps({**record, "files": ["../../escape.py"]})):
        index.write_text(damage, encoding="utf-8")
        outcome = pipeline.generate([document], tmp_path / "two", cache=store)
        assert outcome.written
        assert _tree(tmp_path / "two") == _tree(tmp_path / "one")
    assert not (tmp_path / "escape.py").exists()


def test_errors_are_not_stored(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text(SMALL.replace("'#/components/schemas/Book'", "'#/components/schemas/None'"))
    store = Cache(tmp_path / "cache")
    outcome = pipeline.generate([broken], tmp_path / "out", cache=store)
    assert outcome.errors and not outcome.written
    assert not _package_entries(tmp_path / "cache")


def test_the_least_recently_used_entries_go_first(document: Path, tmp_path: Path) -> None:
    store = Cache(tmp_path / "cache")
    pipeline.generate([document], tmp_path / "one", cache=store)
    other = tmp_path / "other.yaml"
    other.write_text(SMALL.replace("Shelf", "Other"), encoding="utf-8")
    pipeline.generate([other], tmp_path / "two", cache=store)
    assert len(_package_entries(tmp_path / "cache")) == 2
    entries = sorted((tmp_path / "cache" / "generate").glob("*/*"))  # with the root files'
    os.utime(entries[0], (1, 1))  # the oldest
    Cache(tmp_path / "cache", limit=1).prune()  # nothing fits: all go, oldest first
    assert not any((tmp_path / "cache" / "generate").glob("*/*"))


def test_the_command_uses_the_cache_unless_told_not_to(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(REPO)
    runner = CliRunner()
    folder = tmp_path / "cache"
    arguments = ["generate", str(SPEC), "--out", str(tmp_path / "a"), "--cache-dir", str(folder)]
    assert runner.invoke(app, [*arguments, "--no-cache"]).exit_code == 0
    assert not folder.exists()
    assert runner.invoke(app, arguments).exit_code == 0
    assert len(_package_entries(folder)) == 1
    monkeypatch.setenv("KONTRAKT_CACHE_DIR", str(tmp_path / "from-env"))
    assert runner.invoke(app, ["generate", str(SPEC), "--out", str(tmp_path / "b")]).exit_code == 0
    assert len(_package_entries(tmp_path / "from-env")) == 1
    monkeypatch.setenv("KONTRAKT_NO_CACHE", "1")
    monkeypatch.setenv("KONTRAKT_CACHE_DIR", str(tmp_path / "off"))
    assert runner.invoke(app, ["generate", str(SPEC), "--out", str(tmp_path / "c")]).exit_code == 0
    assert not (tmp_path / "off").exists()
    assert _tree(tmp_path / "a") == _tree(tmp_path / "b") == _tree(tmp_path / "c")


def test_an_unchanged_output_folder_is_left_alone(
    document: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = Cache(tmp_path / "cache")
    out = tmp_path / "out"
    pipeline.generate([document], out, cache=store)
    before = {p: p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file()}
    for path in before:
        os.utime(path, ns=(1, 1))
    monkeypatch.setattr(pipeline, "build_all", _no_build)
    monkeypatch.setattr(pipeline, "render_root", _no_build)  # the root files come cached too
    outcome = pipeline.generate([document], out, cache=store)
    assert outcome.written
    assert all(p.stat().st_mtime_ns == 1 for p in before)  # not one file rewritten
    (next(out.rglob("models.py"))).write_text("# edited by hand\n", encoding="utf-8")
    pipeline.generate([document], out, cache=store)  # a hand edit is put right, from the cache
    assert "edited by hand" not in next(out.rglob("models.py")).read_text(encoding="utf-8")

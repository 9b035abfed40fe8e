"""Generate cache: a document's finished package, kept under a key naming all it was made from.

Regenerating a document nobody changed should cost what reading it costs, not what building its
models costs (half a minute for GitHub's description). `generate` therefore looks each document up
here first. An entry is the package exactly as it was written (after ruff) plus the diagnostics
the build reported, stored under the SHA-256 of everything the output depends on:

- the document's bytes, the path it was named by (diagnostics quote it), its label in the
  generated headers (relative to the working directory) and whether it is held to the house rules
  (it sits in the working directory's ``specs/``);
- the generator itself: the bytes of kontrakt's top-level modules, of the generator, its
  templates and the schemas lint reads (an edited checkout is a different generator), the versions of the libraries
  whose behaviour reaches the output (datamodel-code-generator, pydantic, the validators, jinja2,
  ruff), whether email-validator is installed, the Python version;
- the options: the reference policy and the ruff settings.

A document that could name another file (a ``$ref`` whose value does not plainly start with ``#``,
or an escaped ``$`` that could spell one) is never cached: its output may depend on bytes that are
not in the key. So an entry can only be served for exactly the inputs that produced it; it cannot
be stale. An entry is a folder: an index (package name, file paths, diagnostics) and the files as
they were written. A damaged or unreadable entry is a miss. Entries are written whole (into a
temporary folder, then renamed), touched when used, and the least recently used are deleted beyond
a size limit.

The folder: ``--cache-dir``, else ``$KONTRAKT_CACHE_DIR``, else ``$XDG_CACHE_HOME/kontrakt``, else
``~/.cache/kontrakt``; entries live in its ``generate/`` sub-folder. ``--no-cache`` or
``KONTRAKT_NO_CACHE=1`` turns it off.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import json
import os
import re
import shutil
import sys
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import cache
from importlib import metadata
from pathlib import Path
from typing import Any

from kontrakt.diagnostics import Diagnostic, Level
from kontrakt.generator.render import RenderedFile, RenderedPackage

__all__ = ["Cache", "Entry", "default_folder", "uncacheable"]

FORMAT = 2  # the layout of an entry; a new layout is a new key
INDEX = "entry.json"  # in an entry's folder: package name, file paths, diagnostics
FILES = "files"  # in an entry's folder: the package's files as written
DEFAULT_LIMIT = 1 << 30  # bytes of entries kept (1 GiB), least recently used deleted first
# Libraries whose version can change what `generate` writes for the same document.
LIBRARIES = (
    "datamodel-code-generator",
    "pydantic",
    "openapi-spec-validator",
    "openapi-schema-validator",
    "jsonschema-rs",  # openapi-spec-validator's faster backend, used when installed
    "jsonschema",
    "jsonschema-path",
    "referencing",
    "jinja2",
    "ruff",
    "PyYAML",
)
PACKAGE = Path(__file__).resolve().parents[1]  # the kontrakt package
# Where generated code and its diagnostics come from: the package's top-level modules (lint,
# specfile, diagnostics, ...), the generator, its templates and the schemas lint reads.
SOURCE_FOLDERS = ("generator", "templates", "schemas")

_REF = re.compile(rb"\$ref")
_AFTER_REF = re.compile(rb"""[\s"']*:?[\s"']*""")
_ESCAPED_DOLLAR = re.compile(rb"\\(?:u0024|U00000024|x24|044)")


def uncacheable(data: bytes) -> bool:
    """Whether the document's output could depend on another file: some ``$ref`` value does not
    start with ``#`` (or is written so that we cannot tell, e.g. through an escape or an alias)."""
    if _ESCAPED_DOLLAR.search(data):
        return True
    for found in _REF.finditer(data):
        after = _AFTER_REF.match(data, found.end())
        end = after.end() if after else found.end()
        if data[end : end + 1] != b"#":
            return True
    return False


def default_folder() -> Path | None:
    """The cache folder from the environment, or None when the cache is turned off there."""
    if os.environ.get("KONTRAKT_NO_CACHE", "").strip() not in ("", "0"):
        return None
    explicit = os.environ.get("KONTRAKT_CACHE_DIR")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "kontrakt"


def _sources() -> Iterator[Path]:
    found = [*PACKAGE.glob("*.py")]
    for folder in SOURCE_FOLDERS:
        found.extend(p for p in (PACKAGE / folder).rglob("*") if "__pycache__" not in p.parts)
    yield from sorted(p for p in found if p.is_file())


@cache
def generator_fingerprint() -> str:
    """What identifies the generator: kontrakt's own files and the libraries' versions."""
    digest = hashlib.sha256(f"kontrakt-generate-cache {FORMAT}\n".encode())
    for path in _sources():
        digest.update(path.relative_to(PACKAGE).as_posix().encode() + b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    for name in LIBRARIES:
        try:
            version = metadata.version(name)
        except metadata.PackageNotFoundError:
            version = "-"
        digest.update(f"{name}={version}\n".encode())
    email = importlib.util.find_spec("email_validator") is not None
    digest.update(f"email-validator={email} python={sys.version_info[:2]}\n".encode())
    return digest.hexdigest()


@dataclass(frozen=True)
class Entry:
    """One document's package as written (formatted) and the diagnostics its build reported."""

    package: RenderedPackage
    diagnostics: tuple[Diagnostic, ...]


def _record(entry: Entry) -> bytes:
    """The entry's index: its package name, file paths and diagnostics (the files sit beside)."""
    record = {
        "format": FORMAT,
        "name": entry.package.name,
        "files": [item.path for item in entry.package.files],
        "diagnostics": [
            [d.file, d.pointer, d.message, d.level.value, d.line, d.check]
            for d in entry.diagnostics
        ],
    }
    return json.dumps(record, ensure_ascii=False, separators=(",", ":")).encode()


def _read(folder: Path) -> Entry | None:
    """The entry stored in ``folder``, or None when it is not one this version wrote whole."""
    try:
        record: Any = json.loads((folder / INDEX).read_bytes())
        if record.get("format") != FORMAT:
            return None
        files: list[RenderedFile] = []
        for path in record["files"]:
            if not isinstance(path, str) or not _safe(path):
                return None
            files.append(RenderedFile(path, (folder / FILES / path).read_bytes().decode()))
        diagnostics = tuple(
            Diagnostic(str(f), str(p), str(m), Level(level), line, str(c))
            for f, p, m, level, line, c in record["diagnostics"]
        )
        return Entry(RenderedPackage(str(record["name"]), tuple(files)), diagnostics)
    except (OSError, ValueError, TypeError, KeyError, AttributeError):
        return None


def _safe(path: str) -> bool:
    """Whether ``path`` is a plain relative path inside the entry (as the generator writes)."""
    parts = path.split("/")
    return bool(path) and not path.startswith("/") and ".." not in parts and "" not in parts


class Cache:
    """Finished packages by key, in ``folder/generate``; every failure to use it is a miss."""

    def __init__(self, folder: Path, *, limit: int = DEFAULT_LIMIT) -> None:
        self.folder = folder / "generate"
        self.limit = limit

    def key(self, path: Path, options: Sequence[str], *, label: str, authored: bool) -> str | None:
        """The key of ``path`` generated with ``options``; None when it must not be cached (or
        cannot be read: the build reports why)."""
        try:
            data = path.read_bytes()
        except OSError:
            return None
        if uncacheable(data):
            return None
        digest = hashlib.sha256(generator_fingerprint().encode())
        for part in (str(path), label, str(authored), *options):
            digest.update(b"\0" + part.encode("utf-8", "surrogateescape"))
        digest.update(b"\0" + hashlib.sha256(data).digest())
        return digest.hexdigest()

    def key_of(self, *parts: str) -> str:
        """The key of something made from ``parts`` alone by this generator (the output
        folder's own files, from the facts they state)."""
        digest = hashlib.sha256(generator_fingerprint().encode() + b"\0parts")
        for part in parts:
            digest.update(b"\0" + part.encode("utf-8", "surrogateescape"))
        return digest.hexdigest()

    def _folder(self, key: str) -> Path:
        return self.folder / key[:2] / key

    def get(self, key: str) -> Entry | None:
        target = self._folder(key)
        entry = _read(target)
        if entry is not None:
            with contextlib.suppress(OSError):
                os.utime(target)  # recently used: kept longest
        return entry

    def put(self, key: str, entry: Entry) -> None:
        """Store ``entry``; a cache that cannot be written is skipped silently (it is only a
        cache), and older entries are deleted beyond the size limit."""
        target = self._folder(key)
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            temporary = Path(tempfile.mkdtemp(prefix=".tmp-", dir=target.parent))
            try:
                for item in entry.package.files:
                    if not _safe(item.path):
                        return
                    path = temporary / FILES / item.path
                    path.parent.mkdir(parents=True, exist_ok=True)
                    path.write_bytes(item.text.encode())
                (temporary / INDEX).write_bytes(_record(entry))
                os.rename(temporary, target)  # whole or not at all; a twin already there wins
            finally:
                shutil.rmtree(temporary, ignore_errors=True)
            self.prune()
        except OSError:
            return

    def prune(self) -> None:
        """Delete the least recently used entries until the rest fit in the size limit."""
        entries: list[tuple[float, int, Path]] = []
        for folder in self.folder.glob("*/*"):
            if folder.name.startswith("."):
                continue
            with contextlib.suppress(OSError):
                size = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
                entries.append((folder.stat().st_mtime, size, folder))
        total = sum(size for _, size, _ in entries)
        for _, size, folder in sorted(entries, key=lambda item: (item[0], str(item[2]))):
            if total <= self.limit:
                break
            shutil.rmtree(folder, ignore_errors=True)
            total -= size

"""Write stage: put rendered packages on disk atomically, formatted once with ruff.

Everything is first written to a staging folder next to the output folder (same file system),
where ruff fixes import order and ``__all__`` order and formats every file in one run each. Only
when all of that succeeded are the packages swapped in, one ``rename`` each (an existing package is
first renamed aside and deleted at the end). Any failure before the swap leaves the output folder
untouched; a failure during the swap puts back what was already moved.

`stage` is also what ``kontrakt generate --check`` uses: it formats into a temporary folder, and
`compare` diffs that against the output folder.
"""

from __future__ import annotations

import difflib
import importlib
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from kontrakt.generator.render import RenderedFile, RenderedPackage

__all__ = [
    "RUFF_FIX",
    "RUFF_FORMAT",
    "Staged",
    "WriteError",
    "compare",
    "stage",
    "unchanged",
    "write",
]

# ruff runs isolated from any configuration found around the output folder, so that the output
# is the same wherever it is staged; these settings match the project's pyproject.toml.
RUFF_SETTINGS = ("--isolated", "--line-length", "100", "--target-version", "py311")
# Beside import and `__all__` order: builtin generics for typing.Dict/List (UP006/UP035), `X | Y`
# for Union/Optional (UP007/UP045) and unquoted forward references (UP037), which
# datamodel-code-generator writes in recursive and additionalProperties models.
RUFF_FIX = (
    "check",
    "--fix",
    "--quiet",
    "--select",
    "I,F401,RUF022,UP006,UP007,UP035,UP037,UP045",
    *RUFF_SETTINGS,
)
RUFF_FORMAT = ("format", "--quiet", *RUFF_SETTINGS)
ROOT = "_root"  # staging sub-folder for the output folder's own files
SKIP = frozenset({"__pycache__"})


class WriteError(Exception):
    """The output could not be formatted or written; the output folder was left as it was."""


@cache
def _ruff_command() -> tuple[str, ...]:
    """How to start ruff: its binary, found the way ``python -m ruff`` finds it, else that."""
    try:
        # Running the binary directly spares the Python start-up `python -m ruff` pays per call.
        # (Imported by name: the ruff package ships no type information.)
        return (str(importlib.import_module("ruff").find_ruff_bin()),)
    except (ImportError, AttributeError, FileNotFoundError):
        return (sys.executable, "-m", "ruff")


def _ruff(arguments: Sequence[str], folders: Sequence[Path]) -> None:
    command = [*_ruff_command(), *arguments, *map(str, folders)]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    # `ruff check --fix` exits 1 when something it cannot fix remains; that is lint's business.
    if result.returncode not in (0, 1) or (arguments[0] == "format" and result.returncode != 0):
        detail = (result.stderr or result.stdout).strip()
        raise WriteError(f"ruff {arguments[0]} failed on the generated code: {detail}")


def _write_files(folder: Path, files: Sequence[RenderedFile]) -> None:
    for item in files:
        target = folder / item.path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(item.text, encoding="utf-8", newline="\n")


@dataclass(frozen=True)
class Staged:
    """What `stage` formatted (to be cached): the packages not given as formatted, and the
    output folder's own files."""

    packages: list[RenderedPackage]
    root_files: tuple[RenderedFile, ...]


def stage(
    packages: Sequence[RenderedPackage],
    root_files: Sequence[RenderedFile],
    folder: Path,
    *,
    formatted: Collection[str] = (),
    root_formatted: bool = False,
    keep: bool = True,
) -> Staged:
    """Write and format everything under ``folder`` (packages by name, root files under _root).

    The packages named in ``formatted`` (and the root files, with ``root_formatted``) are already
    as ruff leaves them (the generate cache keeps them so) and are written as they are; ruff runs
    only when something else is left.
    """
    for package in packages:
        _write_files(folder / package.name, package.files)
    _write_files(folder / ROOT, root_files)
    targets = [folder / p.name for p in packages if p.name not in formatted]
    if not root_formatted:
        targets.append(folder / ROOT)
    if targets:
        _ruff(RUFF_FIX, targets)
        _ruff(RUFF_FORMAT, targets)

    if not keep:  # nobody caches the result: do not read back what was just written
        return Staged([], ())

    def read(base: Path, files: Sequence[RenderedFile]) -> tuple[RenderedFile, ...]:
        return tuple(RenderedFile(f.path, (base / f.path).read_text("utf-8")) for f in files)

    return Staged(
        [
            RenderedPackage(package.name, read(folder / package.name, package.files))
            for package in packages
            if package.name not in formatted
        ],
        tuple(root_files) if root_formatted else read(folder / ROOT, root_files),
    )


def unchanged(
    packages: Sequence[RenderedPackage], root_files: Sequence[RenderedFile], out: Path
) -> bool:
    """Whether ``out`` holds exactly these (formatted) packages and root files already."""
    try:
        for package in packages:
            present = set(_files(out / package.name))
            if present != {Path(f.path) for f in package.files}:
                return False
            for item in package.files:
                if (out / package.name / item.path).read_bytes() != item.text.encode():
                    return False
        return all((out / f.path).read_bytes() == f.text.encode() for f in root_files)
    except OSError:
        return False


def write(
    packages: Sequence[RenderedPackage],
    root_files: Sequence[RenderedFile],
    out: Path,
    *,
    formatted: Collection[str] = (),
    root_formatted: bool = False,
    keep: bool = True,
) -> Staged:
    """Replace the packages (and root files) in ``out``, all or nothing; returns what `stage`
    formatted (nothing without ``keep``)."""
    out.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}-staging-", dir=out.parent))
    try:
        result = stage(
            packages,
            root_files,
            staging,
            formatted=formatted,
            root_formatted=root_formatted,
            keep=keep,
        )
        _swap(packages, staging, out)
        for item in root_files:
            os.replace(staging / ROOT / item.path, out / item.path)
        return result
    except OSError as exc:
        raise WriteError(f"cannot write {out}: {exc}") from exc
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _swap(packages: Sequence[RenderedPackage], staging: Path, out: Path) -> None:
    aside = staging / ".previous"
    aside.mkdir()
    moved_aside: list[str] = []
    swapped: list[str] = []
    try:
        for package in packages:
            target = out / package.name
            if target.exists():
                os.rename(target, aside / package.name)
                moved_aside.append(package.name)
            os.rename(staging / package.name, target)
            swapped.append(package.name)
    except OSError:
        # Put back what was already moved: the new packages out, the previous ones in.
        for name in reversed(swapped):
            os.rename(out / name, staging / name)
        for name in reversed(moved_aside):
            os.rename(aside / name, out / name)
        raise


def _files(folder: Path) -> Iterator[Path]:
    if not folder.is_dir():
        return
    for path in sorted(folder.rglob("*")):
        if path.is_file() and not SKIP.intersection(path.relative_to(folder).parts):
            yield path.relative_to(folder)


def _read(path: Path) -> list[str]:
    try:
        return path.read_text(encoding="utf-8").splitlines(keepends=True)
    except (OSError, UnicodeDecodeError):
        return []


def compare(packages: Sequence[RenderedPackage], staged: Path, out: Path) -> str:
    """A unified diff from ``out`` (what is committed) to ``staged`` (what the specs produce)."""
    pairs: list[tuple[Path, Path, str]] = []
    for package in packages:
        names = sorted({*_files(staged / package.name), *_files(out / package.name)})
        pairs.extend(
            (staged / package.name / n, out / package.name / n, f"{package.name}/{n.as_posix()}")
            for n in names
        )
    names = sorted(_files(staged / ROOT))
    pairs.extend((staged / ROOT / n, out / n, n.as_posix()) for n in names)
    chunks: list[str] = []
    for new, old, label in pairs:
        before = _read(old) if old.exists() else []
        after = _read(new) if new.exists() else []
        if before != after or old.exists() != new.exists():
            fromfile = f"{out.name}/{label}" if old.exists() else "/dev/null"
            tofile = f"{out.name}/{label}" if new.exists() else "/dev/null"
            lines = list(difflib.unified_diff(before, after, fromfile, tofile))
            chunks.extend(lines or [f"--- {fromfile}\n", f"+++ {tofile}\n"])
            if not chunks[-1].endswith("\n"):
                chunks.append("\n")
    return "".join(chunks)

"""Where kontrakt finds the files it ships: contracts, and which copy of a contract a run uses.

Everything else the commands need (templates, rule profiles, example manifests, report templates,
JSON Schemas, sandbox fixtures) lives inside the `kontrakt` package and is found next to the code.
The contracts are the exception: the repository keeps them in its top-level `specs/` (what a
maintainer edits), and a wheel carries a copy as `kontrakt/_specs`. `bundled_specs()` is whichever
this installation has. Certify looks a profile up in `--specs DIR`, then `./specs`, then the
bundled copy (`spec_roots`), says where it looked when nothing matches, and notes when a local
copy differs from the bundled one.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["bundled_spec", "bundled_specs", "local_copy_note", "spec_roots"]

_PACKAGE = Path(__file__).resolve().parent
_CHECKOUT_SPECS = _PACKAGE.parent / "specs"  # a clone or an editable install
_PACKAGED_SPECS = _PACKAGE / "_specs"  # a wheel


def bundled_specs() -> Path:
    """The contracts this installation ships: the clone's specs/, else the wheel's copy."""
    if (_PACKAGE.parent / "pyproject.toml").is_file() and _CHECKOUT_SPECS.is_dir():
        return _CHECKOUT_SPECS
    return _PACKAGED_SPECS


def bundled_spec(relative: str) -> Path:
    """A shipped contract by its repository path (`specs/dps/v1/openapi.yaml`) or below specs/."""
    parts = Path(relative).parts
    if parts and parts[0] == "specs":
        parts = parts[1:]
    return bundled_specs().joinpath(*parts)


def spec_roots(specs_dir: Path | None = None) -> list[tuple[str, Path]]:
    """Where a profile's document is looked for, in order, each with how the user names it."""
    roots: list[tuple[str, Path]] = []
    if specs_dir is not None:
        roots.append((f"--specs {specs_dir}", specs_dir))
    roots.append(("./specs", Path.cwd() / "specs"))
    roots.append((f"kontrakt's own ({bundled_specs()})", bundled_specs()))
    return roots


def local_copy_note(document: Path, profile: str) -> str | None:
    """A one-line note when `document` is not the bundled copy of `profile` and differs from it."""
    bundled = bundled_specs() / profile
    for name in ("openapi.yaml", "openapi.yml", "openapi.json"):
        shipped = bundled / name
        if not shipped.is_file():
            continue
        if shipped.resolve() == document.resolve():
            return None
        if shipped.read_bytes() != document.read_bytes():
            return (
                f"using {document}, which differs from the contract kontrakt ships for "
                f"{profile} ({shipped})"
            )
        return None
    return None

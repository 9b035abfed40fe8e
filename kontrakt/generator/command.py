"""The ``kontrakt generate`` command: documents in, one Python package per document out.

Registered in `kontrakt.cli` as ``app.command("generate")(generate_command)``. Exit status: 0 when
every package was written (or, with ``--check``, when the output folder is up to date), 1 on any
error (nothing is written then) or any difference found by ``--check``.
"""

from __future__ import annotations

import atexit
import gc
from functools import cache
from pathlib import Path
from typing import Annotated

import typer

__all__ = ["AllowOutsideRefs", "AllowRemoteRefs", "generate_command"]


@cache
def _exit_without_collecting() -> None:
    """Have the interpreter skip the cyclic garbage collection of everything at exit (once)."""
    # Generating leaves a large heap (every module of the validator, datamodel-code-generator and
    # jinja2); at exit the interpreter would walk all of it, about 0.1 s, to free memory the end of
    # the process frees anyway. Frozen objects are skipped by those collections and still released
    # by reference counting as modules are torn down.
    atexit.register(gc.freeze)


# The untrusted-reference switches, shared by `kontrakt lint` and `kontrakt generate`.
AllowRemoteRefs = Annotated[
    bool,
    typer.Option("--allow-remote-refs", help="Fetch $ref URLs (off: a document names none)."),
]
AllowOutsideRefs = Annotated[
    bool,
    typer.Option("--allow-outside-refs", help="Read $ref files outside the document's folder."),
]


def generate_command(
    specs: Annotated[
        list[Path] | None,
        typer.Argument(help="Documents or directories (default: specs/).", show_default=False),
    ] = None,
    out: Annotated[
        Path, typer.Option("--out", help="Output folder, one package per document.")
    ] = Path("generated"),
    check: Annotated[
        bool,
        typer.Option(
            "--check",
            help="Generate into a temporary folder and fail with a diff when --out differs.",
        ),
    ] = False,
    allow_remote_refs: AllowRemoteRefs = False,
    allow_outside_refs: AllowOutsideRefs = False,
    quiet: Annotated[
        bool,
        typer.Option("--quiet", "-q", help="Print errors and the summary line only, no warnings."),
    ] = False,
    cache_dir: Annotated[
        Path | None,
        typer.Option(
            "--cache-dir",
            help="Where finished packages are kept by content (default: $KONTRAKT_CACHE_DIR, "
            "else $XDG_CACHE_HOME/kontrakt, else ~/.cache/kontrakt).",
            show_default=False,
        ),
    ] = None,
    no_cache: Annotated[
        bool,
        typer.Option(
            "--no-cache", help="Build every document, neither reading nor filling the cache."
        ),
    ] = False,
) -> None:
    """Generate typed models, FastAPI server stubs and httpx clients from OpenAPI 3.0/3.1 documents.

    Each document becomes one package in --out (named after x-kontrakt-api.id, else the file).
    Warnings (unsupported constructs, with their JSON pointer) are printed and do not stop
    generation; any error does, and then nothing is written. The output folder's README.md names
    each package's document and the command that regenerates the folder.

    A document generated before, byte for byte, by the same generator with the same options, is
    taken from the cache (keyed on all of that; off with --no-cache or KONTRAKT_NO_CACHE=1).
    """
    from kontrakt.diagnostics import format_text
    from kontrakt.generator.cache import Cache, default_folder
    from kontrakt.generator.pipeline import generate
    from kontrakt.lint import set_ref_policy

    set_ref_policy(allow_remote=allow_remote_refs, allow_outside=allow_outside_refs)
    _exit_without_collecting()
    folder = None if no_cache else (cache_dir or default_folder())
    cache = Cache(folder) if folder is not None else None
    outcome = generate(specs or [Path("specs")], out, check=check, cache=cache)
    shown = outcome.errors if quiet else outcome.diagnostics
    if shown:
        typer.echo(format_text(shown), err=True)
    errors = len(outcome.errors)
    warnings = len(outcome.diagnostics) - errors
    counts = f"{errors} error(s), {warnings} warning(s)"
    if errors:
        typer.echo(f"kontrakt generate: {counts}; nothing was written", err=True)
        raise typer.Exit(1)
    names = ", ".join(p.name for p in outcome.packages)
    if check:
        if outcome.diff:
            typer.echo(outcome.diff, nl=False)
            typer.echo(
                f"kontrakt generate --check: {out} differs from what the documents produce "
                "(run the same command without --check and commit the result)",
                err=True,
            )
            raise typer.Exit(1)
        typer.echo(f"kontrakt generate --check: {out} is up to date ({names}; {counts})")
        return
    typer.echo(f"kontrakt generate: wrote {names} to {out} ({counts})")

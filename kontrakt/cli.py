"""The `kontrakt` command line: one verb per job (lint, assumptions, diff, ...).

Each command is a thin shell over a library function, so the same behaviour is available from
Python and from tests; commands print diagnostics and set the exit status, nothing more.

Start-up stays light: the command modules import only what their options need, and each command
imports its library (the linter, the conformance runner, uvicorn, ...) when it runs.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from kontrakt.ci import ci_summary_command
from kontrakt.conformance.command import certify_command, init_command, manifest_schema_command
from kontrakt.conformance.matrix import matrix_command
from kontrakt.conformance.replay import replay_command
from kontrakt.conformance.verify import verify_command
from kontrakt.diff.command import diff_command
from kontrakt.generator.command import generate_command
from kontrakt.sandbox.command import serve_command

__all__ = ["app"]

app = typer.Typer(
    name="kontrakt",
    help="Contract-first code generator and conformance suite for Norwegian data-sharing APIs.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import PackageNotFoundError, version

        try:
            typer.echo(f"kontrakt {version('kontrakt')}")
        except PackageNotFoundError:  # pragma: no cover - running from a bare source tree
            typer.echo("kontrakt (not installed)")
        raise typer.Exit()


@app.callback()
def _options(
    show_version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """Contract-first code generator and conformance suite for Norwegian data-sharing APIs."""


DEFAULT_SPECS = [Path("specs")]
Paths = Annotated[
    list[Path] | None,
    typer.Argument(help="Documents or directories (default: specs/).", show_default=False),
]


@app.command()
def lint(
    paths: Paths = None,
    output_format: Annotated[
        str,
        typer.Option("--format", help="text, json or sarif (SARIF 2.1.0)", case_sensitive=False),
    ] = "text",
    foreign: Annotated[
        bool,
        typer.Option(
            "--foreign",
            help="Documents we did not author: OpenAPI and reference checks only, "
            "no house rules (x-kontrakt-api, rule ids, OpenAPI 3.1).",
        ),
    ] = False,
    allow_remote_refs: Annotated[
        bool,
        typer.Option("--allow-remote-refs", help="Fetch $ref URLs (off: a document names none)."),
    ] = False,
    allow_outside_refs: Annotated[
        bool,
        typer.Option("--allow-outside-refs", help="Read $ref files outside the document's folder."),
    ] = False,
) -> None:
    """Validate OpenAPI documents and their x-kontrakt-* rules; exit 1 on any error."""
    from kontrakt.diagnostics import Level, format_text, to_json, to_sarif
    from kontrakt.lint import lint_paths, set_ref_policy

    output_format = output_format.lower()
    if output_format not in ("text", "json", "sarif"):
        typer.echo("kontrakt lint: --format must be one of text, json, sarif", err=True)
        raise typer.Exit(2)
    set_ref_policy(allow_remote=allow_remote_refs, allow_outside=allow_outside_refs)

    def progress(message: str) -> None:
        typer.echo(f"kontrakt lint: {message}", err=True)

    found = lint_paths(paths or DEFAULT_SPECS, authored=not foreign, progress=progress)
    errors = [d for d in found if d.level is Level.ERROR]
    if output_format == "json":
        typer.echo(to_json(found))
    elif output_format == "sarif":
        typer.echo(to_sarif(found))
    else:
        if found:
            typer.echo(format_text(found))
        documents = sorted({d.file for d in found})
        summary = f"{len(errors)} error(s), {len(found) - len(errors)} warning(s)"
        typer.echo(f"kontrakt lint: {summary}" + (f" in {', '.join(documents)}" if found else ""))
    raise typer.Exit(1 if errors else 0)


@app.command()
def assumptions(
    paths: Paths = None,
    output_format: Annotated[
        str, typer.Option("--format", help="text, markdown or json", case_sensitive=False)
    ] = "text",
) -> None:
    """List everything the specs mark as kontrakt's proposal (x-kontrakt-assumption)."""
    from kontrakt.assumptions import collect_assumptions, format_assumptions

    items = collect_assumptions(paths or DEFAULT_SPECS)
    typer.echo(format_assumptions(items, output_format.lower()))


app.command("diff")(diff_command)
app.command("generate")(generate_command)
app.command("certify")(certify_command)
app.command("verify")(verify_command)
app.command("replay")(replay_command)
app.command("matrix")(matrix_command)
app.command("manifest-schema")(manifest_schema_command)
app.command("init")(init_command)
app.command("serve")(serve_command)
app.command("ci-summary")(ci_summary_command)


@app.command("extension-schema")
def extension_schema_command() -> None:
    """Print the JSON Schema of the x-kontrakt-* vocabulary."""
    from kontrakt.lint import extension_schema

    typer.echo(json.dumps(extension_schema(), indent=2, ensure_ascii=False))


# Which extra brings a module a command imports when it runs (the core install has none of them).
EXTRAS = {
    "datamodel_code_generator": "generate",
    "jinja2": "generate",
    "openapi_spec_validator": "generate",
    "jsonschema": "generate",
    "referencing": "generate",
    "yaml": "generate",
    "ruff": "generate",
    "schemathesis": "certify",
    "hypothesis": "certify",
    "openapi_core": "certify",
    "joserfc": "certify",
    "securesystemslib": "certify",
    "pytest": "certify",
    "uvicorn": "serve",
    "jmespath": "serve",
    "multipart": "serve",
    "python_multipart": "serve",
}


# The extra each command comes with (a module missing outside these falls back to EXTRAS).
COMMAND_EXTRAS = {
    "lint": "generate",
    "assumptions": "generate",
    "extension-schema": "generate",
    "diff": "generate",
    "generate": "generate",
    "certify": "certify",
    "verify": "certify",
    "replay": "certify",
    "matrix": "certify",
    "init": "certify",
    "manifest-schema": "certify",
    "serve": "serve",
}


def main() -> None:
    """The console entry point: a command whose extra is not installed says which one it needs."""
    import sys

    try:
        app()
    except ModuleNotFoundError as exc:
        top = (exc.name or "").split(".")[0]
        if top not in EXTRAS:
            raise
        command = next((a for a in sys.argv[1:] if not a.startswith("-")), "")
        extra = COMMAND_EXTRAS.get(command, EXTRAS[top])
        typer.echo(
            f"kontrakt {command or 'command'}: needs {top!r}, which comes with the {extra!r} "
            f"extra: pip install 'kontrakt[{extra}]' (or 'kontrakt[all]')",
            err=True,
        )
        raise SystemExit(2) from None

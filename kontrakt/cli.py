"""The `kontrakt` command line: one verb per job (lint, assumptions, diff, ...).

Each command is a thin shell over a library function, so the same behaviour is available from
Python and from tests; commands print diagnostics and set the exit status, nothing more.

Start-up stays light: the command modules import only what their options need, and each command
imports its library (the linter, the conformance runner, uvicorn, ...) when it runs.

Conventions every command follows (`_conventions`): a flag shows no value type in `--help` (it
takes none), a repeatable option shows its item type once with `...`, and the help ends with
examples (`EXAMPLES`). `--no-color` or `NO_COLOR` turn colour off everywhere (`kontrakt.terminal`).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Annotated, Any

import typer
from typer.core import TyperCommand, TyperGroup

from kontrakt.ci import ci_summary_command
from kontrakt.conformance.command import certify_command, init_command, manifest_schema_command
from kontrakt.conformance.matrix import matrix_command
from kontrakt.conformance.replay import replay_command
from kontrakt.conformance.verify import verify_command
from kontrakt.diff.command import diff_command
from kontrakt.generator.command import AllowOutsideRefs, AllowRemoteRefs, generate_command
from kontrakt.sandbox.command import serve_command
from kontrakt.terminal import disable_color, use_color_env

__all__ = ["EXAMPLES", "app"]


def _readable(params: list[Any], ctx: Any) -> list[Any]:
    """The parameters as `--help` should show them: a flag without `<bool>`, a repeatable option
    as `<str>...` instead of `<list[str]>`."""
    for param in params:
        if getattr(param, "param_type_name", "") != "option" or param.metavar is not None:
            continue
        if getattr(param, "is_flag", False):
            param.metavar = ""
        elif getattr(param, "multiple", False):
            shown = param.display_type(ctx)
            param.metavar = re.sub(r"^<list\[(.*)\]>$", r"<\1>...", shown)
    return params


class _Command(TyperCommand):
    """A kontrakt command: readable option types in `--help`."""

    def get_params(self, ctx: Any) -> list[Any]:
        return _readable(super().get_params(ctx), ctx)


class _Group(TyperGroup):
    """The `kontrakt` command itself: colour is settled before anything (`--help` too) prints."""

    def get_params(self, ctx: Any) -> list[Any]:
        return _readable(super().get_params(ctx), ctx)

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        # Only the options before the command name are the app's own (`kontrakt --no-color X`).
        own = next((i for i, a in enumerate(args) if not a.startswith("-")), len(args))
        if "--no-color" in args[:own]:
            disable_color()
        use_color_env()
        return super().parse_args(ctx, args)


app = typer.Typer(
    name="kontrakt",
    help="Contract-first code generator and conformance suite for Norwegian data-sharing APIs.",
    cls=_Group,
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
    no_color: Annotated[
        bool,
        typer.Option(
            "--no-color",
            help="No colour or other ANSI styling in any output (same as NO_COLOR=1).",
        ),
    ] = False,
) -> None:
    """Contract-first code generator and conformance suite for Norwegian data-sharing APIs."""
    if no_color:
        disable_color()


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
    allow_remote_refs: AllowRemoteRefs = False,
    allow_outside_refs: AllowOutsideRefs = False,
    quiet: Annotated[
        bool,
        typer.Option(
            "--quiet", "-q", help="No progress lines on large documents: findings and summary only."
        ),
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
        if not quiet:
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


# The examples each command's `--help` ends with (a test holds every command to having some).
EXAMPLES: dict[str, tuple[str, ...]] = {
    "lint": (
        "kontrakt lint specs/",
        "kontrakt lint my-api.yaml --foreign --format sarif > lint.sarif",
    ),
    "assumptions": ("kontrakt assumptions specs/dps --format markdown",),
    "diff": (
        "kontrakt diff released.yaml openapi.yaml",
        "kontrakt diff https://api.example.no/openapi.json openapi.yaml --rules dan "
        "--format markdown -o diff.md",
    ),
    "generate": (
        "kontrakt generate my-api.yaml --out src/generated",
        "kontrakt generate specs --out kontrakt/generated --check",
    ),
    "certify": (
        "kontrakt certify provider.yaml --out reports",
        "kontrakt certify --profile dsop-control/v2.0 --base-url http://127.0.0.1:8001/v2 "
        "--bearer TOKEN --rules 'DSOP-ACC-4*' --quiet",
    ),
    "verify": (
        "kontrakt verify reports/certificate.json --key certifier.pub.pem",
        "kontrakt verify certificate.json --key certifier.pub.pem --spec openapi.yaml",
    ),
    "manifest-schema": ("kontrakt manifest-schema --profile dps/v1 > manifest.schema.json",),
    "replay": (
        "kontrakt replay reports/report.json DSOP-ACC-401",
        "kontrakt replay reports/report.json DSOP-ACC-401 --manifest fixed-provider.yaml",
    ),
    "matrix": (
        "kontrakt matrix reports/ -o matrix.html",
        "kontrakt matrix reports/*/report.json --format md >> $GITHUB_STEP_SUMMARY",
    ),
    "init": (
        "kontrakt init dsop-control/v2.0 -o provider.yaml",
        "kontrakt init dps/v1 --sandbox -o sandbox-dps.yaml",
    ),
    "serve": (
        "kontrakt serve all --port 8000",
        "kontrakt serve dsop-control --set dsop-control.rate_limit=5",
    ),
    "ci-summary": (
        'kontrakt ci-summary reports/report.json --annotations --summary "$GITHUB_STEP_SUMMARY"',
        "kontrakt ci-summary reports/report.json >> job-summary.md",
    ),
    "extension-schema": ("kontrakt extension-schema > x-kontrakt.schema.json",),
}


def _conventions(typer_app: typer.Typer) -> None:
    """Give every registered command kontrakt's help conventions and its examples."""
    for info in typer_app.registered_commands:
        if info.cls in (None, TyperCommand):
            info.cls = _Command
        name = info.name or (info.callback.__name__ if info.callback else "")
        examples = EXAMPLES.get(name)
        if examples and not info.epilog:
            # typer's rich help keeps a paragraph break (blank line) as a line break.
            info.epilog = "\n\n".join(["Examples:", *(f"  {e}" for e in examples)])


_conventions(app)


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

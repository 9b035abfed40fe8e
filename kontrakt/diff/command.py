"""The ``kontrakt diff`` command: compare two OpenAPI documents under a rule set, for CI.

Registered in `kontrakt.cli` as ``app.command("diff")(diff_command)``. Exit status: 0 when the new
document keeps the promises of its version, 1 when it does not (any breaking change, or with
``--fail-on warn`` any warning; changes covered by a new major URL version never fail), 2 when a
side cannot be read or an option is wrong.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from kontrakt.diff.model import FORMATS

__all__ = ["diff_command"]

FAIL_ON = ("breaking", "warn", "never")


def diff_command(
    old: Annotated[
        str,
        typer.Argument(
            help="The released document: a file, an http(s) URL, or a running provider."
        ),
    ],
    new: Annotated[str, typer.Argument(help="The candidate document, in the same forms.")],
    rules: Annotated[
        str,
        typer.Option("--rules", help="Rule set: generic, dan or sdir.", case_sensitive=False),
    ] = "generic",
    format: Annotated[
        str,
        typer.Option(
            "--format",
            help=f"{', '.join(FORMATS[:-1])} or {FORMATS[-1]}.",
            case_sensitive=False,
        ),
    ] = "text",
    fail_on: Annotated[
        str,
        typer.Option(
            "--fail-on",
            help="Exit 1 on 'breaking' changes (default), also on 'warn'ings, or 'never'.",
            case_sensitive=False,
        ),
    ] = "breaking",
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="Write the report to this file instead of stdout."),
    ] = None,
    as_of: Annotated[
        str | None,
        typer.Option(
            "--as-of",
            metavar="DATE",
            help="Judge sunset dates and retirement periods as of this YYYY-MM-DD "
            "(default: KONTRAKT_DIFF_TODAY, else today).",
        ),
    ] = None,
) -> None:
    """Say whether NEW keeps the versioning promises OLD made: every change, its verdict, its rule.

    A new major version (v1 -> v2) is reported as such; its breaking changes are what a client must change and do not fail the check. Where the servers URL or the paths carry a major version it decides, and info.version does not; the report names the source. Sunset dates and DAN retirement periods are judged as of --as-of, KONTRAKT_DIFF_TODAY or today.
    """
    from kontrakt.diff.engine import RULESETS, diff_sources, parse_date
    from kontrakt.diff.load import LoadError
    from kontrakt.diff.report import render

    rules, format, fail_on = rules.lower(), format.lower(), fail_on.lower()
    for value, allowed, option in (
        (rules, RULESETS, "--rules"),
        (format, FORMATS, "--format"),
        (fail_on, FAIL_ON, "--fail-on"),
    ):
        if value not in allowed:
            typer.echo(f"kontrakt diff: {option} must be one of {', '.join(allowed)}", err=True)
            raise typer.Exit(2)
    try:
        on = parse_date(as_of, "--as-of") if as_of is not None else None
    except ValueError as exc:
        typer.echo(f"kontrakt diff: {exc}", err=True)
        raise typer.Exit(2) from exc
    try:
        result = diff_sources(old, new, rules, on=on)
    except (LoadError, ValueError) as exc:
        typer.echo(f"kontrakt diff: {exc}", err=True)
        raise typer.Exit(2) from exc
    report = render(result, format, fail_on)
    if output is not None:
        try:
            output.parent.mkdir(parents=True, exist_ok=True)
            output.write_text(report + "\n", encoding="utf-8")
        except OSError as exc:
            typer.echo(f"kontrakt diff: cannot write {output}: {exc.strerror or exc}", err=True)
            raise typer.Exit(2) from exc
    else:
        typer.echo(report)
    raise typer.Exit(1 if result.fails(fail_on) else 0)

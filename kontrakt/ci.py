"""The CI gate's voice: a certify report as a job summary in Markdown and as CI annotations.

`kontrakt ci-summary REPORT_JSON` reads the `report.json` a `kontrakt certify` run wrote and
writes what a CI page shows: a Markdown summary (the verdict, the counts per verdict, then the
failures first, each with rule id, severity, basis and message; then the warnings) and, with
`--annotations`, one GitHub Actions workflow command per problem: `::error` for a failed or
erroring rule (or a provider that could not be judged), `::warning` for a rule that only warns
(one resting on kontrakt's own assumption at the default level, or a SHOULD).

An annotation points at the contract line that states the rule (its `x-kontrakt-rules` entry)
when the contract lies in the working directory, else at the manifest (`--manifest`, or the one
the report names).
The GitHub composite action (`action.yml`) calls this after certify; the GitLab template reads
the JUnit report instead. Exit status: 0, or 2 when the report cannot be read.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Annotated, Any

import typer

__all__ = ["ci_summary_command", "github_outputs", "main", "markdown_summary", "workflow_commands"]

VERDICT_ORDER = ("fail", "error", "warn", "pass", "not-applicable", "waived")
BANNER = {
    "passed": "PASSED",
    "failed": "FAILED",
    "cannot-run": "CANNOT RUN",
    "provider-unreachable": "PROVIDER UNREACHABLE",
}
PROBLEMS = ("fail", "error")
# A long message stays readable in a table cell and in an annotation.
MESSAGE_LIMIT = 500


class ReportError(Exception):
    """The file is not a certify report kontrakt can read."""


def load_report(path: Path) -> dict[str, Any]:
    """The certify report at `path`, checked for the fields the summary reads."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ReportError(f"cannot read {path}: {exc.strerror or exc}") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ReportError(f"{path} is not JSON: {exc}") from None
    needed = ("profile", "verdict", "counts", "rules", "provider", "level")
    if not isinstance(data, dict) or any(key not in data for key in needed):
        raise ReportError(f"{path} is not a kontrakt certify report.json")
    return data


def _short(text: str) -> str:
    flat = " ".join(str(text).split())
    return flat if len(flat) <= MESSAGE_LIMIT else flat[: MESSAGE_LIMIT - 1] + "…"


def _cell(text: object) -> str:
    return _short(str(text)).replace("|", "\\|")


def _problems(data: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Failed and erroring rules, MUST before SHOULD before MAY, fail before error."""
    order = {"MUST": 0, "SHOULD": 1, "MAY": 2}
    found = [r for r in data["rules"] if r.get("verdict") in PROBLEMS]
    return sorted(
        found, key=lambda r: (order.get(r.get("severity"), 3), PROBLEMS.index(r["verdict"]))
    )


def _warnings(data: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [r for r in data["rules"] if r.get("verdict") == "warn"]


def _rule_table(rules: Sequence[Mapping[str, Any]]) -> list[str]:
    lines = ["| rule | verdict | severity | basis | message |", "|---|---|---|---|---|"]
    for rule in rules:
        basis = rule.get("basis") or "published"
        assumed = sorted(
            {d.get("assumption") for d in rule.get("deviations") or [] if d.get("assumption")}
            | ({rule["assumption"]} if rule.get("assumption") else set())
        )
        if assumed:
            basis = f"{basis} ({', '.join(assumed)})"
        lines.append(
            "| "
            + " | ".join(
                [
                    f"`{_cell(rule['id'])}`",
                    _cell(rule["verdict"]),
                    _cell(rule.get("severity", "")),
                    _cell(basis),
                    _cell(rule.get("message") or rule.get("title") or ""),
                ]
            )
            + " |"
        )
    return lines


def markdown_summary(data: Mapping[str, Any]) -> str:
    """The job summary: verdict line, counts per verdict, failures first, then warnings."""
    verdict = str(data["verdict"])
    provider = data["provider"].get("base_url", "")
    lines = [
        f"## kontrakt certify `{data['profile']}`: {BANNER.get(verdict, verdict.upper())}",
        "",
        f"Provider `{provider}` · level {data['level']} · seed {data.get('seed', '-')} · "
        f"{data.get('requests_sent', 0)} requests · {data.get('duration_s', 0)} s",
        "",
    ]
    counts: Mapping[str, int] = data["counts"]
    names = [v for v in VERDICT_ORDER if v in counts] + [
        v for v in counts if v not in VERDICT_ORDER
    ]
    lines += [
        "| " + " | ".join(names) + " |",
        "|" + "---:|" * len(names),
        "| " + " | ".join(str(counts[v]) for v in names) + " |",
        "",
    ]
    preflight = data.get("preflight") or {}
    if preflight.get("status") == "cannot-run":
        lines += [f"**Cannot run:** {_cell(preflight.get('diagnosis', ''))}", ""]
    if not data.get("complete", True):
        lines += [f"**Incomplete run:** {_cell(data.get('stop_reason') or '')}", ""]
    problems = _problems(data)
    if problems:
        lines += [f"### Failures ({len(problems)})", "", *_rule_table(problems), ""]
    warnings = _warnings(data)
    if warnings:
        lines += [f"### Warnings ({len(warnings)})", "", *_rule_table(warnings), ""]
    if not problems and not warnings and verdict == "passed":
        lines += ["Every rule that ran passed.", ""]
    levels = data.get("levels") or {}
    other = "strict" if data["level"] == "default" else "default"
    if other in levels:
        passed = "passes" if levels[other].get("passed") else "does not pass"
        lines += [f"At level {other} the run {passed}.", ""]
    return "\n".join(lines)


def _escape_data(text: str) -> str:
    # GitHub workflow commands: %, CR and LF are escaped in the message ...
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    # ... and also : and , in property values.
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def _command(kind: str, message: str, **properties: object) -> str:
    props = ",".join(
        f"{name}={_escape_property(str(value))}"
        for name, value in properties.items()
        if value is not None and value != ""
    )
    # An annotation shows several lines; only its length is clipped.
    clipped = message if len(message) <= MESSAGE_LIMIT else message[: MESSAGE_LIMIT - 1] + "…"
    return f"::{kind}{' ' + props if props else ''}::{_escape_data(clipped.strip())}"


def _relative(path: str, base: Path) -> str:
    """`path` relative to `base` when below it (an annotation names a repository path)."""
    full = Path(path) if Path(path).is_absolute() else base / path
    try:
        return full.resolve().relative_to(base.resolve()).as_posix()
    except ValueError:
        return path


def _spec_lines(data: Mapping[str, Any], base: Path) -> tuple[str | None, dict[str, int]]:
    """The contract as a path relative to `base` and the line of each rule entry, when the
    contract lies below `base` (an annotation on a file outside the repository shows nowhere)."""
    spec = (data.get("spec") or {}).get("path")
    if not spec:
        return None, {}
    path = Path(spec)
    absolute = (path if path.is_absolute() else base / path).resolve()
    try:
        relative = absolute.relative_to(base.resolve()).as_posix()
    except ValueError:
        return None, {}
    try:
        from kontrakt.specfile import SpecLoadError, read_spec

        lines = read_spec(absolute).lines
    except (ImportError, SpecLoadError):
        lines = {}
    return relative, lines


def workflow_commands(
    data: Mapping[str, Any], *, manifest: str | None = None, base: Path | None = None
) -> Iterator[str]:
    """GitHub workflow commands: `::error` per failed or erroring rule, `::warning` per warning."""
    root = base or Path.cwd()
    spec, lines = _spec_lines(data, root)
    if manifest is None and data.get("manifest"):
        manifest = _relative(str(data["manifest"]), root)
    profile = data["profile"]
    preflight = data.get("preflight") or {}
    if preflight.get("status") == "cannot-run":
        yield _command(
            "error",
            f"{profile}: the provider cannot be judged: {preflight.get('diagnosis', '')}",
            file=manifest,
            title="kontrakt certify: cannot run",
        )
    from kontrakt.diagnostics import escape

    for rule in [*_problems(data), *_warnings(data)]:
        line = lines.get("/x-kontrakt-rules/" + escape(rule["id"])) if spec else None
        kind = "error" if rule["verdict"] in PROBLEMS else "warning"
        basis = rule.get("basis") or "published"
        assumed = sorted(
            {d["assumption"] for d in rule.get("deviations") or [] if "assumption" in d}
        )
        detail = f"; differs from {', '.join(assumed)}" if assumed else ""
        yield _command(
            kind,
            f"{rule['verdict'].upper()} {rule['id']} [{rule.get('severity', '')}, {basis}"
            f"{detail}]: {rule.get('message') or rule.get('title') or ''}",
            file=spec or manifest,
            line=line,
            title=f"kontrakt {profile} {rule['id']}",
        )
    if not data.get("complete", True):
        yield _command(
            "error",
            f"{profile}: incomplete run: {data.get('stop_reason') or ''}",
            file=manifest,
            title="kontrakt certify: incomplete",
        )


def github_outputs(data: Mapping[str, Any]) -> dict[str, str]:
    """Step outputs: the verdict, whether it passed, and the count of each verdict."""
    outputs = {
        "verdict": str(data["verdict"]),
        "passed": "true" if data.get("passed") else "false",
    }
    for verdict, count in data["counts"].items():
        outputs[f"count-{verdict}"] = str(count)
    return outputs


def _append(path: Path, text: str, what: str) -> None:
    try:
        with path.open("a", encoding="utf-8") as handle:
            handle.write(text)
    except OSError as exc:
        typer.echo(f"kontrakt ci-summary: cannot write the {what} {path}: {exc.strerror}", err=True)
        raise typer.Exit(2) from None


def ci_summary_command(
    report: Annotated[Path, typer.Argument(help="The report.json of a kontrakt certify run.")],
    annotate: Annotated[
        bool,
        typer.Option(
            "--annotations",
            help="Also print GitHub Actions annotations (::error, ::warning) on stdout.",
        ),
    ] = False,
    summary: Annotated[
        Path | None,
        typer.Option(
            "--summary",
            help="Append the Markdown summary to this file (e.g. $GITHUB_STEP_SUMMARY) instead "
            "of printing it.",
        ),
    ] = None,
    github_output: Annotated[
        Path | None,
        typer.Option(
            "--github-output",
            help="Append verdict=, passed= and count-<verdict>= lines to this file "
            "(e.g. $GITHUB_OUTPUT).",
        ),
    ] = None,
    manifest: Annotated[
        str | None,
        typer.Option(
            "--manifest",
            help="The manifest's path in the repository: where annotations point when the "
            "contract is not in the working directory.",
        ),
    ] = None,
) -> None:
    """Write a certify report as a CI job summary (Markdown) and, with --annotations, as
    GitHub Actions annotations.

    Example: kontrakt ci-summary reports/report.json --annotations --summary "$GITHUB_STEP_SUMMARY"
    """
    try:
        data = load_report(report)
    except ReportError as exc:
        typer.echo(f"kontrakt ci-summary: {exc}", err=True)
        raise typer.Exit(2) from None
    text = markdown_summary(data) + "\n"
    if summary is not None:
        _append(summary, text, "summary")
    else:
        typer.echo(text, nl=False)
    if github_output is not None:
        lines = "".join(f"{k}={v}\n" for k, v in github_outputs(data).items())
        _append(github_output, lines, "output file")
    if annotate:
        for command in workflow_commands(data, manifest=manifest):
            typer.echo(command)


def main(argv: Sequence[str] | None = None) -> None:
    """`python -m kontrakt.ci REPORT_JSON [...]`: the same as `kontrakt ci-summary`."""
    app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)
    app.command()(ci_summary_command)
    app(args=list(argv) if argv is not None else sys.argv[1:], prog_name="kontrakt ci-summary")


if __name__ == "__main__":  # pragma: no cover - python -m kontrakt.ci
    main()

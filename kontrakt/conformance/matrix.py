"""`kontrakt matrix REPORT_OR_DIR...`: the cross-provider matrix of certify reports.

How a standards body sees a whole sector: rows are rule ids (the union over the reports), columns
are the providers (one per report: its folder name, profile and base URL), each cell the rule's
verdict at the level that report ran at, with a marker where the rule differs from one of
kontrakt's own assumptions or where the other level judges differently, and a link to the rule in
that provider's report.html. Per provider: totals, verdict, and the certificate lying next to the
report (signed or not, its expiry; listed, not verified: `kontrakt verify` checks one). Then the
rules most providers fail. Reports come from runs done anywhere (a CI job matrix); this command
only reads them.

Formats: html (self-contained, the same no-server filter as report.html), md (GitHub job
summaries), json. Exit status 0, or 2 when a path holds no readable report.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer

__all__ = [
    "MatrixError",
    "load_reports",
    "matrix_command",
    "matrix_data",
    "matrix_view",
    "render_matrix",
]

MATRIX_FORMATS = ("html", "md", "json")
_VERDICTS = ("pass", "fail", "warn", "not-applicable", "waived", "error")
_SEVERITY_ORDER = ("MUST", "SHOULD", "MAY")
_SUFFIX_FORMATS = {".html": "html", ".htm": "html", ".md": "md", ".json": "json"}
_MOST_FAILED = 10


class MatrixError(Exception):
    """A path that is not a readable certify report (or holds none)."""


@dataclass(frozen=True)
class _Loaded:
    path: Path
    data: dict[str, Any]


def _read(path: Path) -> _Loaded:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise MatrixError(f"cannot read {path}: {exc.strerror}") from None
    except (UnicodeDecodeError, ValueError):
        raise MatrixError(f"{path} is not JSON") from None
    if not isinstance(data, dict) or not isinstance(data.get("rules"), list):
        raise MatrixError(f"{path} is not a report.json of kontrakt certify")
    return _Loaded(path.resolve(), data)


def load_reports(paths: list[Path]) -> list[_Loaded]:
    """Each report.json named, or found under a named folder (sorted), read."""
    found: list[_Loaded] = []
    for path in paths:
        if path.is_dir():
            inside = sorted(path.rglob("report.json"))
            if not inside:
                raise MatrixError(f"{path}: no report.json in this folder")
            found.extend(_read(p) for p in inside)
        else:
            found.append(_read(path))
    return found


def _certificate(folder: Path, now: dt.datetime) -> dict[str, Any] | None:
    path = folder / "certificate.json"
    if not path.is_file():
        return None
    from kontrakt.conformance.certificate import CertificateError, read_statement

    try:
        statement = read_statement(path)
        signed = bool(json.loads(path.read_text(encoding="utf-8")).get("signatures"))
    except (CertificateError, OSError, ValueError):
        return {"status": "unreadable", "expires": None, "path": str(path)}
    expires = str(statement.get("predicate", {}).get("expires_at") or "") or None
    status = "signed" if signed else "unsigned"
    if expires is not None:
        try:
            if dt.datetime.fromisoformat(expires.replace("Z", "+00:00")) < now:
                status = "expired"
        except ValueError:
            pass
    return {"status": status, "expires": expires, "path": str(path)}


def _labels(reports: list[_Loaded]) -> list[str]:
    """A column name per report: its folder's name, made unique by the profile, then a number."""
    names = [r.path.parent.name or r.data.get("profile", "?") for r in reports]
    seen: Counter[str] = Counter()
    labels = []
    for name, report in zip(names, reports, strict=True):
        label = name if names.count(name) == 1 else f"{name} ({report.data.get('profile')})"
        seen[label] += 1
        labels.append(label if seen[label] == 1 else f"{label} #{seen[label]}")
    return labels


def _link(report: _Loaded, rule_id: str | None, base: Path | None) -> str:
    html = report.path.with_name("report.html")
    target = html if html.is_file() else report.path
    shown = os.path.relpath(target, base) if base is not None else str(target)
    shown = Path(shown).as_posix()
    return f"{shown}#rule-{rule_id}" if rule_id and target == html else shown


def matrix_data(
    reports: list[_Loaded], *, base: Path | None = None, now: dt.datetime | None = None
) -> dict[str, Any]:
    """The matrix as data (the json format; html and md are made from it). Links are relative
    to `base` (the folder the matrix is written to) when given."""
    now = now or dt.datetime.now(dt.UTC)
    labels = _labels(reports)
    providers = []
    severity: dict[str, str] = {}
    titles: dict[str, str] = {}
    cells: dict[str, dict[str, dict[str, Any]]] = {}
    for label, report in zip(labels, reports, strict=True):
        data = report.data
        level = data.get("level", "default")
        other = "strict" if level == "default" else "default"
        providers.append(
            {
                "name": label,
                "profile": data.get("profile"),
                "base_url": (data.get("provider") or {}).get("base_url"),
                "environment": (data.get("provider") or {}).get("environment"),
                "level": level,
                "verdict": data.get("verdict"),
                "passed": bool(data.get("passed")),
                "counts": {v: int((data.get("counts") or {}).get(v, 0)) for v in _VERDICTS},
                "report": _link(report, None, base),
                "finished_at": data.get("finished_at"),
                "certificate": _certificate(report.path.parent, now),
            }
        )
        for rule in data["rules"]:
            rule_id = str(rule.get("id"))
            severity.setdefault(rule_id, str(rule.get("severity", "")))
            titles.setdefault(rule_id, str(rule.get("title", "")))
            verdicts = rule.get("verdicts") or {}
            marks = []
            if rule.get("deviations"):
                marks.append(
                    "differs from an assumption: "
                    + ", ".join(sorted({str(d.get("assumption")) for d in rule["deviations"]}))
                )
            if verdicts.get(other) and verdicts.get(other) != rule.get("verdict"):
                marks.append(f"{other}: {verdicts[other]}")
            cells.setdefault(rule_id, {})[label] = {
                "verdict": rule.get("verdict"),
                "warn": marks,
                "link": _link(report, rule_id, base),
            }
    rules = []
    for rule_id in sorted(cells):
        row = cells[rule_id]
        failed_by = [p for p, c in row.items() if c["verdict"] in ("fail", "error")]
        rules.append(
            {
                "id": rule_id,
                "severity": severity[rule_id],
                "title": titles[rule_id],
                "cells": row,
                "failed_by": failed_by,
            }
        )
    most = sorted(
        (r for r in rules if r["failed_by"]), key=lambda r: (-len(r["failed_by"]), r["id"])
    )[:_MOST_FAILED]
    return {
        "matrix_version": "1",
        "generated_at": now.isoformat().replace("+00:00", "Z"),
        "providers": providers,
        "rules": rules,
        "most_failed": [
            {"id": r["id"], "failed_by": r["failed_by"], "of": len(r["cells"])} for r in most
        ],
    }


# -- rendering: the json is the source; html and md only arrange it ----------------------------


def _cell_text(cell: dict[str, Any] | None) -> str:
    if cell is None:
        return "-"
    return str(cell["verdict"]) + (" *" if cell["warn"] else "")


def _markdown(matrix: dict[str, Any]) -> str:
    def esc(text: Any) -> str:
        return str(text).replace("|", "\\|").replace("\n", " ")

    providers = matrix["providers"]
    lines = [
        "## kontrakt certify: cross-provider matrix",
        "",
        "| provider | profile | verdict | level | " + " | ".join(_VERDICTS) + " | certificate |",
        "|" + "---|" * (5 + len(_VERDICTS)),
    ]
    for p in providers:
        cert = p["certificate"]
        cert_text = "none" if cert is None else f"{cert['status']} (expires {cert['expires']})"
        lines.append(
            f"| [{esc(p['name'])}]({p['report']}) | {esc(p['profile'])} | **{p['verdict']}** | "
            f"{p['level']} | "
            + " | ".join(str(p["counts"][v]) for v in _VERDICTS)
            + f" | {esc(cert_text)} |"
        )
    if matrix["most_failed"]:
        lines += ["", "Rules most providers fail:", ""]
        lines += [
            f"- {m['id']}: {len(m['failed_by'])} of {m['of']} ({esc(', '.join(m['failed_by']))})"
            for m in matrix["most_failed"]
        ]
    lines += [
        "",
        "| rule | severity | " + " | ".join(esc(p["name"]) for p in providers) + " |",
        "|" + "---|" * (2 + len(providers)),
    ]
    for rule in matrix["rules"]:
        cells = []
        for p in providers:
            cell = rule["cells"].get(p["name"])
            text = _cell_text(cell)
            if cell is not None and cell["verdict"] in ("fail", "error"):
                text = f"**{text}**"
            cells.append(text)
        lines.append(f"| {rule['id']} | {rule['severity']} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "`*`: the rule differs from one of kontrakt's own assumptions, or the other level judges "
        "it differently; `-`: not in that provider's profile or run.",
        "",
    ]
    return "\n".join(lines)


def matrix_view(matrix: dict[str, Any]) -> dict[str, Any]:
    """What matrix.html shows: totals per provider, the most failed rules, then the grid."""
    providers = matrix["providers"]
    cell_counts: Counter[str] = Counter()
    rows = []
    for rule in matrix["rules"]:
        cells: list[dict[str, Any] | None] = []
        for p in providers:
            cell = rule["cells"].get(p["name"])
            if cell is None:
                cells.append(None)
                continue
            cell_counts[str(cell["verdict"])] += 1
            cells.append(
                {
                    "text": _cell_text(cell),
                    "verdict": cell["verdict"],
                    "link": cell["link"],
                    "note": "; ".join(cell["warn"]),
                }
            )
        rows.append(
            {
                "id": rule["id"],
                "severity": rule["severity"],
                "title": rule["title"],
                "verdicts": " ".join(sorted({c["verdict"] for c in cells if c is not None})),
                "cells": cells,
                "failed": len(rule["failed_by"]),
            }
        )
    severities = {r["severity"] for r in rows}
    return {
        "title": f"kontrakt matrix: {len(providers)} provider(s), {len(rows)} rule(s)",
        "generated_at": matrix["generated_at"],
        "verdicts": list(_VERDICTS),
        "providers": [
            {
                "name": p["name"],
                "subtitle": f"{p['profile']} at {p['base_url']}",
                "verdict": p["verdict"],
                "ok": p["passed"],
                "level": p["level"],
                "report": p["report"],
                "counts": [(v, p["counts"][v]) for v in _VERDICTS],
                "certificate": "none"
                if p["certificate"] is None
                else f"{p['certificate']['status']}"
                + (
                    f", expires {p['certificate']['expires']}"
                    if p["certificate"]["expires"]
                    else ""
                ),
            }
            for p in providers
        ],
        "most_failed": [
            {
                "id": m["id"],
                "anchor": "row-" + m["id"],
                "count": len(m["failed_by"]),
                "of": m["of"],
                "who": ", ".join(m["failed_by"]),
            }
            for m in matrix["most_failed"]
        ],
        "rows": rows,
        "filter": {
            "verdicts": [(v, cell_counts[v]) for v in _VERDICTS if cell_counts[v]],
            "severities": [s for s in _SEVERITY_ORDER if s in severities]
            + sorted(severities - set(_SEVERITY_ORDER)),
        },
    }


def _html(matrix: dict[str, Any]) -> str:
    import jinja2

    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(Path(__file__).parent / "report"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
    )
    return environment.get_template("matrix.html.j2").render(page=matrix_view(matrix))


def render_matrix(matrix: dict[str, Any], output_format: str) -> str:
    """The matrix in `output_format` (html, md or json)."""
    if output_format == "json":
        return json.dumps(matrix, indent=2, ensure_ascii=False) + "\n"
    if output_format == "md":
        return _markdown(matrix)
    return _html(matrix)


def matrix_command(
    reports: Annotated[
        list[Path],
        typer.Argument(help="report.json files, or folders searched for them (recursively)."),
    ],
    out: Annotated[
        Path | None,
        typer.Option("--out", "-o", help="Write here (default: standard output)."),
    ] = None,
    output_format: Annotated[
        str | None,
        typer.Option(
            "--format",
            help="html, md or json (default: from --out's suffix, else md).",
        ),
    ] = None,
) -> None:
    """Rule x provider matrix of certify reports: verdicts, totals, certificates.

    Exit status 0, or 2 when a path is not a readable report or a folder holds none.
    """
    chosen = output_format or (_SUFFIX_FORMATS.get(out.suffix.lower()) if out else None) or "md"
    if chosen not in MATRIX_FORMATS:
        typer.echo(f"kontrakt matrix: --format must be html, md or json, not {chosen!r}", err=True)
        raise typer.Exit(2)
    try:
        loaded = load_reports(reports)
    except MatrixError as exc:
        typer.echo(f"kontrakt matrix: {exc}", err=True)
        raise typer.Exit(2) from None
    base = (out.parent if out is not None else Path.cwd()).resolve()
    text = render_matrix(matrix_data(loaded, base=base), chosen)
    if out is None:
        sys.stdout.write(text)
        return
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text, encoding="utf-8")
    except OSError as exc:
        typer.echo(f"kontrakt matrix: cannot write {out}: {exc.strerror}", err=True)
        raise typer.Exit(2) from None
    typer.echo(f"kontrakt matrix: {len(loaded)} report(s) -> {out}", err=True)

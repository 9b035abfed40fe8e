"""Formats a `RunResult`: JSON (the source of every other format), JUnit XML, HTML.

The HTML template lives next to this module (`report.html.j2`), not in the repository's
`kontrakt/templates/`: that folder holds the generator's templates, which only ever see generator IR, and
certify must find its template in an installed package too. The page is self-contained (inline
CSS and a few lines of inline script, no external reference) so it can be attached to a ticket or
archived as is. What the page shows and in which order is decided here (`report_view`); the
template only places the values. The verdict and the failures come first, each failure with a
jump link; then every other rule, collapsed. The filter by verdict and severity is the inline
script's (hidden without it: the page reads fully without script).
"""

from __future__ import annotations

import datetime as dt
import json
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import jinja2
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from kontrakt.conformance.registry import Level
from kontrakt.conformance.report.formats import FORMATS
from kontrakt.conformance.report.sarif import sarif_report
from kontrakt.conformance.reproduce import export_lines, variables_in
from kontrakt.conformance.runner import VERDICTS, RuleResult, RunResult

__all__ = [
    "FORMATS",
    "REPORT_VERSION",
    "print_summary",
    "report_dict",
    "report_view",
    "rule_anchor",
    "write_reports",
]

REPORT_VERSION = "1"
_HERE = Path(__file__).parent


def _iso(value: dt.datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value is not None else None


def _rule(result: RuleResult) -> dict[str, Any]:
    info = result.info
    found: dict[str, Any] = {
        "id": info.id,
        "title": info.title,
        "severity": info.severity,
        "source": dict(info.source),
        "capability": result.capability,
        "function": result.function,
        "verdict": result.verdict,
        "outcome": result.outcome,
        "message": result.message,
        "notes": list(result.notes),
        "duration_ms": round(result.duration_s * 1000, 1),
        "requests": result.requests,
        "waiver": None
        if result.waiver is None
        else {
            "reason": result.waiver.reason,
            "expires": result.waiver.expires.isoformat(),
        },
        "evidence": [e.to_dict() for e in result.evidence],
        "basis": result.basis,
        "assumption": info.assumption_id,
        "verdicts": dict(result.verdicts),
        "deviations": [
            {
                "assumption": d.assumption,
                "message": d.message,
                "evidence": [e.to_dict() for e in d.evidence[:2]],
            }
            for d in result.deviations
        ],
        "readings": list(result.readings),
    }
    if result.exploration is not None:
        found["exploration"] = dict(result.exploration)
    return found


def report_dict(result: RunResult) -> dict[str, Any]:
    """The run as the JSON document `report.schema.json` describes."""
    data: dict[str, Any] = {
        "report_version": REPORT_VERSION,
        "tool": {"name": "kontrakt", "version": result.tool_version},
        "profile": result.profile,
        "spec": {"path": result.spec_path, "sha256": result.spec_sha256},
        "provider": {"base_url": result.base_url, "environment": result.environment},
        "seed": result.seed,
        "started_at": _iso(result.started_at),
        "finished_at": _iso(result.finished_at),
        "duration_s": round(result.duration_s, 3),
        "complete": result.complete,
        "stop_reason": result.stop_reason,
        "level": result.level,
        "verdict": result.verdict,
        "passed": result.passed,
        "levels": {
            level: {
                "passed": result.passed_at(level),
                "counts": {**result.counts(level), "not-automated": len(result.not_automated)},
            }
            for level in ("default", "strict")
        },
        "preflight": None
        if result.preflight is None
        else {
            "status": result.preflight.status,
            "diagnosis": result.preflight.diagnosis,
            "evidence": [e.to_dict() for e in result.preflight.evidence],
        },
        "snapshot": None
        if result.snapshot_path is None and result.snapshot_error is None
        else {"path": result.snapshot_path, "error": result.snapshot_error},
        "rule_filter": list(result.rule_filter),
        "manifest": result.manifest_path,
        "rule_module": result.rule_module,
        "requests_sent": result.requests_sent,
        "counts": {**result.counts(), "not-automated": len(result.not_automated)},
        "rules": [_rule(r) for r in result.results],
        "not_automated": [
            {"id": i.id, "title": i.title, "severity": i.severity, "source": dict(i.source)}
            for i in result.not_automated
        ],
        "waivers": [
            {
                "rule": w.waiver.rule,
                "reason": w.waiver.reason,
                "expires": w.waiver.expires.isoformat(),
                "status": w.status,
            }
            for w in result.waivers
        ],
    }
    if result.explore is not None:
        data["explore"] = {
            "max_examples": result.explore.max_examples,
            "max_steps": result.explore.max_steps,
        }
    return data


def _junit(data: dict[str, Any]) -> bytes:
    counts = data["counts"]
    suite = ET.Element(
        "testsuite",
        name=f"kontrakt certify {data['profile']}",
        tests=str(len(data["rules"]) + (1 if data["verdict"] == "cannot-run" else 0)),
        failures=str(counts["fail"]),
        errors=str(counts["error"] + (1 if data["verdict"] == "cannot-run" else 0)),
        skipped=str(counts["not-applicable"] + counts["waived"]),
        time=f"{data['duration_s']:.3f}",
        timestamp=str(data["started_at"]),
    )
    properties = ET.SubElement(suite, "properties")
    for name, value in (
        ("base_url", data["provider"]["base_url"]),
        ("seed", str(data["seed"])),
        ("spec_sha256", data["spec"]["sha256"]),
        ("complete", str(data["complete"]).lower()),
    ):
        ET.SubElement(properties, "property", name=name, value=value)
    preflight = data.get("preflight") or {}
    if preflight.get("status") == "cannot-run":
        case = ET.SubElement(
            suite, "testcase", classname=data["profile"], name="PREFLIGHT [MUST]", time="0.000"
        )
        node = ET.SubElement(case, "error", message=preflight["diagnosis"], type="cannot-run")
        node.text = "\n".join(e["curl"] for e in preflight["evidence"])
    for rule in data["rules"]:
        case = ET.SubElement(
            suite,
            "testcase",
            classname=data["profile"],
            name=f"{rule['id']} [{rule['severity']}]",
            time=f"{rule['duration_ms'] / 1000:.3f}",
        )
        evidence = "\n\n".join(
            f"{e['curl']}\n-> "
            + (
                f"HTTP {e['response']['status']}\n{e['response']['body'] or ''}"
                if e["response"]
                else str(e["error"])
            )
            for e in rule["evidence"]
        )
        # A CI page shows one test case at a time: each carries the lines its curl lines need.
        exports = export_lines(variables_in(e["curl"] for e in rule["evidence"]))
        if exports:
            evidence = "\n".join(exports) + "\n\n" + evidence
        verdict = rule["verdict"]
        if verdict == "fail":
            node = ET.SubElement(case, "failure", message=rule["message"], type="fail")
            node.text = evidence
        elif verdict == "error":
            node = ET.SubElement(case, "error", message=rule["message"], type="error")
            node.text = evidence or "\n".join(rule["notes"])
        elif verdict in ("not-applicable", "waived"):
            ET.SubElement(case, "skipped", message=f"{verdict}: {rule['message']}")
        elif verdict == "warn":
            out = ET.SubElement(case, "system-out")
            out.text = f"WARN: {rule['message']}\n{evidence}"
    tree = ET.ElementTree(suite)
    ET.indent(tree)
    text: bytes = ET.tostring(suite, encoding="utf-8", xml_declaration=True)
    return text


_PROBLEMS = ("fail", "error")
_SEVERITY_ORDER = ("MUST", "SHOULD", "MAY")


def rule_anchor(rule_id: str) -> str:
    """The fragment naming a rule in report.html (`report.html#rule-<id>`)."""
    return "rule-" + rule_id


def _source_text(source: dict[str, Any]) -> str:
    return ", ".join(str(source[k]) for k in ("doc", "section") if source.get(k))


def _rule_view(rule: dict[str, Any]) -> dict[str, Any]:
    verdicts = rule.get("verdicts") or {}
    levels_differ = bool(verdicts) and verdicts.get("default") != verdicts.get("strict")
    return {
        "id": rule["id"],
        "anchor": rule_anchor(rule["id"]),
        "title": rule["title"],
        "severity": rule["severity"],
        "verdict": rule["verdict"],
        "outcome": rule["outcome"],
        "problem": rule["verdict"] in _PROBLEMS,
        "levels": (
            f"default: {verdicts.get('default')} / strict: {verdicts.get('strict')}"
            if levels_differ
            else None
        ),
        "basis": rule["basis"],
        "assumption": rule["assumption"],
        "source": _source_text(rule["source"]),
        "message": rule["message"],
        "deviations": rule["deviations"],
        "readings": rule["readings"],
        "notes": rule["notes"],
        "waiver": rule["waiver"],
        "evidence": [
            {
                "summary": f"{e['request']['method']} {e['request']['url']} -> "
                + (f"HTTP {e['response']['status']}" if e["response"] else str(e["error"]))
                + f" ({e['elapsed_ms']} ms)",
                "curl": e["curl"],
                "response": None
                if e["response"] is None
                else "".join(f"{name}: {value}\n" for name, value in e["response"]["headers"])
                + "\n"
                + (e["response"]["body"] or ""),
                "error": e["error"],
                "notes": e["notes"],
            }
            for e in rule["evidence"]
        ],
    }


def _ordered(values: Sequence[str], order: Sequence[str]) -> list[str]:
    present = set(values)
    return [v for v in order if v in present] + sorted(present - set(order))


def report_view(data: dict[str, Any]) -> dict[str, Any]:
    """What report.html shows, in its order: verdict, failures (with jump links), the rest."""
    rules = [_rule_view(r) for r in data["rules"]]
    failures = sorted(
        (r for r in rules if r["problem"]),
        key=lambda r: (
            _SEVERITY_ORDER.index(r["severity"]) if r["severity"] in _SEVERITY_ORDER else 9,
            r["id"],
        ),
    )
    curls = [e["curl"] for r in data["rules"] for e in r["evidence"]]
    preflight = data.get("preflight")
    if preflight:
        curls += [e["curl"] for e in preflight["evidence"]]
    other: Level = "strict" if data["level"] == "default" else "default"
    counts = data["counts"]
    return {
        "title": f"kontrakt certify {data['profile']} - {data['verdict'].upper()}",
        "profile": data["profile"],
        "verdict": data["verdict"],
        "banner": f"{data['verdict'].upper()} at level {data['level']}",
        "other_level": f"{other}: {'passed' if data['levels'][other]['passed'] else 'not passed'}",
        "passed": data["passed"],
        "incomplete": None if data["complete"] else (data["stop_reason"] or "incomplete"),
        "rule_filter": ", ".join(data["rule_filter"]),
        "cannot_run": preflight if preflight and preflight["status"] == "cannot-run" else None,
        "facts": [
            ("provider", f"{data['provider']['base_url']} ({data['provider']['environment']})"),
            ("spec", f"{data['spec']['path']} (sha256 {data['spec']['sha256']})"),
            ("tool", f"kontrakt {data['tool']['version']}"),
            (
                "run",
                f"{data['started_at']}, {data['duration_s']} s, {data['requests_sent']} "
                f"requests, seed {data['seed']}",
            ),
        ],
        "verdicts": list(VERDICTS),
        "levels": [
            {
                "name": name,
                "this_run": name == data["level"],
                "result": "passed" if level["passed"] else "not passed",
                "counts": [(v, level["counts"][v]) for v in VERDICTS],
                "not_automated": level["counts"]["not-automated"],
            }
            for name, level in data["levels"].items()
        ],
        "failures": failures,
        "rest": [r for r in rules if not r["problem"]],
        "assumption_warnings": [
            {
                "anchor": r["anchor"],
                "id": r["id"],
                "assumption": d["assumption"],
                "message": d["message"],
                "verdict": r["verdict"],
            }
            for r in rules
            for d in r["deviations"]
        ],
        "filter_verdicts": [(v, counts[v]) for v in VERDICTS if counts[v]],
        "filter_severities": _ordered([r["severity"] for r in rules], _SEVERITY_ORDER),
        "exports": export_lines(variables_in(curls)),
        "not_automated": data["not_automated"],
        "waivers": data["waivers"],
    }


def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(_HERE),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
    )


def _html(data: dict[str, Any]) -> str:
    return _environment().get_template("report.html.j2").render(page=report_view(data))


def write_reports(
    result: RunResult, out_dir: Path, formats: Sequence[str] = FORMATS
) -> dict[str, Path]:
    """Write the reports into `out_dir` (created); report.json always. Returns format -> path."""
    unknown = sorted(set(formats) - set(FORMATS))
    if unknown:
        raise ValueError(f"unknown report format(s) {unknown}; known: {', '.join(FORMATS)}")
    out_dir.mkdir(parents=True, exist_ok=True)
    data = report_dict(result)
    written: dict[str, Path] = {}
    path = out_dir / "report.json"
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    written["json"] = path
    if "junit" in formats:
        path = out_dir / "junit.xml"
        path.write_bytes(_junit(data))
        written["junit"] = path
    if "html" in formats:
        path = out_dir / "report.html"
        path.write_text(_html(data), encoding="utf-8")
        written["html"] = path
    if "sarif" in formats:
        path = out_dir / "report.sarif"
        path.write_text(sarif_report(data) + "\n", encoding="utf-8")
        written["sarif"] = path
    # The certificate is not a report format: `conformance.certificate.issue_certificate` signs
    # one (or says why none) from the run, its profile and its manifest.
    return written


_STYLE = {
    "pass": "green",
    "fail": "bold red",
    "warn": "yellow",
    "not-applicable": "dim",
    "waived": "cyan",
    "error": "magenta",
}


def print_summary(
    console: Console, result: RunResult, written: dict[str, Path] | None = None
) -> None:
    """Counts per verdict, then each failing or erroring MUST rule with its curl line."""
    counts = result.counts()
    table = Table(title=f"kontrakt certify {result.profile} against {result.base_url}")
    for verdict in VERDICTS:
        table.add_column(verdict, justify="right", style=_STYLE[verdict])
    table.add_column("not automated", justify="right", style="dim")
    table.add_row(*[str(counts[v]) for v in VERDICTS], str(len(result.not_automated)))
    console.print(table)
    shown = [r for r in result.results if r.severity == "MUST" and r.verdict in ("fail", "error")]
    # The line that sets the curl lines' ${KONTRAKT_...} variables, once above them.
    curls = [e.curl for r in shown for e in r.evidence[:1]]
    if result.cannot_run and result.preflight is not None:
        curls += [e.curl for e in result.preflight.evidence[:1]]
    for line in export_lines(variables_in(curls)):
        console.print(line, markup=False, highlight=False)
    for rule in shown:
        console.print(
            f"[{_STYLE[rule.verdict]}]{rule.verdict.upper()}[/] {rule.id}: {escape(rule.message)}",
            highlight=False,
        )
        for exchange in rule.evidence[:1]:
            console.print(f"  {exchange.curl}", markup=False, highlight=False)
    if not result.complete:
        console.print(f"[yellow]incomplete run:[/] {escape(result.stop_reason or '')}")
    if result.cannot_run and result.preflight is not None:
        console.print(
            f"[bold magenta]CANNOT RUN[/] {escape(result.preflight.diagnosis)}", highlight=False
        )
        for exchange in result.preflight.evidence[:1]:
            console.print(f"  {exchange.curl}", markup=False, highlight=False)
    if result.snapshot_path is not None:
        console.print(f"snapshot: {result.snapshot_path}", markup=False, highlight=False)
    if result.snapshot_error is not None:
        console.print(f"[yellow]no snapshot:[/] {escape(result.snapshot_error)}")
    assumed = sorted({d.assumption for r in result.results for d in r.deviations})
    if assumed:
        console.print(
            f"differs from kontrakt's own assumptions (warnings at the default level, failures "
            f"at strict): {', '.join(assumed)}",
            markup=False,
            highlight=False,
        )
    banner = {
        "passed": "[bold green]PASSED[/]",
        "failed": "[bold red]FAILED[/]",
        "cannot-run": "[bold magenta]CANNOT RUN[/]",
        "provider-unreachable": "[bold magenta]PROVIDER UNREACHABLE[/]",
    }[result.verdict]
    other: Level = "strict" if result.level == "default" else "default"
    console.print(
        f"profile {result.profile}: {banner} at level {result.level} "
        f"({other}: {'passed' if result.passed_at(other) else 'not passed'}; "
        f"{result.requests_sent} requests, seed {result.seed})"
    )
    for name, path in (written or {}).items():
        console.print(f"  {name}: {path}", markup=False, highlight=False)

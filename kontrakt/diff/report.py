"""Rendering a `DiffResult` as text, JSON, Markdown, JUnit XML or SARIF.

Text and Markdown are for people: one entry per difference, with the operations it affects
grouped (a change in a shared schema shows once, listing every operation), the rule it applies
and both JSON pointers. JSON lists every change separately with its stable id, for tools. JUnit
makes each change a test case that fails when it would fail CI, for CI dashboards. SARIF makes
each change a code-scanning result on the side that has it (the new document, or the old one for a
removal), at the line of its pointer when that side is a local file.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from xml.etree import ElementTree as ET

from kontrakt.diff.model import Change, DiffResult, Verdict
from kontrakt.sarif import SarifLevel
from kontrakt.specfile import SpecFile, SpecLoadError, read_spec

__all__ = ["FORMATS", "render"]

FORMATS = ("text", "json", "markdown", "junit", "sarif")
HEADINGS = {
    Verdict.BREAKING: "BREAKING",
    Verdict.WARN: "WARNINGS",
    Verdict.ALLOWED: "ALLOWED",
}


@dataclass
class _Group:
    """Changes that are the same difference reached from several places (a shared schema)."""

    changes: list[Change]

    @property
    def first(self) -> Change:
        return self.changes[0]

    @property
    def places(self) -> list[str]:
        """``<scope>: <where>`` for each change; the id is ``<kind>:`` plus this with ``:``."""
        return [": ".join(p for p in (c.id.split(":", 2)[1], c.where) if p) for c in self.changes]

    @property
    def headline(self) -> str:
        first = self.first
        if len(self.changes) == 1:
            return first.message
        # The places differ in the path leading there, not in what changed: name that.
        subject = first.where.replace("[]", "").split(" ")[-1].split(".")[-1] if first.where else ""
        text = first.text or first.message
        lead = f"{subject}: " if subject and subject not in text else ""
        return f"{lead}{text} ({first.kind}, {len(self.changes)} places)"


def _groups(changes: Iterable[Change]) -> list[_Group]:
    groups: dict[tuple[str, ...], _Group] = {}
    for change in changes:
        key = (
            change.verdict.value,
            change.kind,
            change.rule,
            change.text or change.id,
            change.old_pointer or "",
            change.new_pointer or "",
        )
        groups.setdefault(key, _Group([])).changes.append(change)
    return list(groups.values())


def _summary(result: DiffResult) -> str:
    return (
        f"{result.count(Verdict.BREAKING)} breaking, {result.count(Verdict.WARN)} warning(s), "
        f"{result.count(Verdict.ALLOWED)} allowed"
    )


def _verdict_line(result: DiffResult, fail_on: str) -> str:
    if result.major is not None:
        return (
            f"New major version {result.major.label} (read from {result.major.source}): the "
            f"{result.count(Verdict.BREAKING)} breaking change(s) below are what a client must change "
            "to move to it; they do not fail this check."
        )
    if result.fails(fail_on):
        return "The new document breaks the promises of its version (exit status 1)."
    return "The new document keeps the promises of its version."


def _ptr(value: str | None) -> str:
    return "-" if value is None else "#" + value


def _text(result: DiffResult, fail_on: str) -> str:
    lines = [
        f"kontrakt diff (rules: {result.ruleset})",
        f"  old: {result.old_source}",
        f"  new: {result.new_source}",
        "",
        _verdict_line(result, fail_on),
        f"Summary: {_summary(result)}.",
    ]
    lines += [f"Note: {note}" for note in result.notes]
    for verdict in Verdict:
        groups = _groups(c for c in result.changes if c.verdict is verdict)
        if not groups:
            continue
        count = sum(len(g.changes) for g in groups)
        lines += ["", f"{HEADINGS[verdict]} ({count})"]
        for group in groups:
            first = group.first
            lines.append(f"- [{first.rule}] {group.headline}")
            lines.append(f"    old {_ptr(first.old_pointer)}")
            lines.append(f"    new {_ptr(first.new_pointer)}")
            if len(group.changes) == 1:
                lines.append(f"    id  {first.id}")
            else:
                lines.append(f"    ids ({len(group.changes)} places)")
                lines += [f"      {c.id}" for c in group.changes]
    if result.rules:
        lines += ["", "Rules applied"]
        for rule in sorted(result.rules.values(), key=lambda r: (r.verdict.rank, r.id)):
            peer = f" [oasdiff: {rule.oasdiff}]" if rule.oasdiff else ""
            lines.append(f"  {rule.id} ({rule.verdict.value}): {rule.cites}{peer}")
    if not result.changes:
        lines += ["", "No differences that matter to clients."]
    return "\n".join(lines)


def _json(result: DiffResult, fail_on: str) -> str:
    payload = {
        "old": result.old_source,
        "new": result.new_source,
        "rules": result.ruleset,
        "major_version": (
            None
            if result.major is None
            else {"old": result.major.old, "new": result.major.new, "source": result.major.source}
        ),
        "summary": {v.value: result.count(v) for v in Verdict},
        "fails": result.fails(fail_on),
        "notes": result.notes,
        "changes": [c.as_dict() for c in result.changes],
        "rule_table": {
            r.id: {"verdict": r.verdict.value, "cites": r.cites, "oasdiff": r.oasdiff}
            for r in result.rules.values()
        },
    }
    return json.dumps(payload, indent=2, ensure_ascii=False)


def _md_cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _markdown(result: DiffResult, fail_on: str) -> str:
    lines = [
        f"## kontrakt diff (rules: {result.ruleset})",
        "",
        f"`{result.old_source}` -> `{result.new_source}`",
        "",
        f"**{_verdict_line(result, fail_on)}** {_summary(result)}.",
    ]
    lines += [f"\n> {note}" for note in result.notes]
    if result.changes:
        lines += [
            "",
            "| verdict | change | where | rule | old | new |",
            "|---|---|---|---|---|---|",
        ]
        for group in _groups(result.changes):
            first = group.first
            cells = [
                first.verdict.value,
                first.text or first.message,
                "<br>".join(group.places),
                first.rule,
                f"`{_ptr(first.old_pointer)}`",
                f"`{_ptr(first.new_pointer)}`",
            ]
            lines.append("| " + " | ".join(_md_cell(c) for c in cells) + " |")
        lines += ["", "| rule | verdict | citation | oasdiff |", "|---|---|---|---|"]
        for rule in sorted(result.rules.values(), key=lambda r: (r.verdict.rank, r.id)):
            cells = [rule.id, rule.verdict.value, rule.cites, rule.oasdiff or "-"]
            lines.append("| " + " | ".join(_md_cell(c) for c in cells) + " |")
    return "\n".join(lines)


def _fails(change: Change, fail_on: str) -> bool:
    if change.sanctioned or fail_on == "never":
        return False
    if change.verdict is Verdict.BREAKING:
        return True
    return fail_on == "warn" and change.verdict is Verdict.WARN


def _junit(result: DiffResult, fail_on: str) -> str:
    failing = sum(1 for c in result.changes if _fails(c, fail_on))
    suites = ET.Element("testsuites", name="kontrakt diff")
    suite = ET.SubElement(
        suites,
        "testsuite",
        name=f"kontrakt diff ({result.ruleset}): {result.old_source} -> {result.new_source}",
        tests=str(len(result.changes)),
        failures=str(failing),
        errors="0",
        skipped="0",
    )
    for change in result.changes:
        case = ET.SubElement(suite, "testcase", classname=change.kind, name=change.id)
        rule = result.rules.get(change.rule)
        detail = (
            f"{change.message}\nverdict: {change.verdict.value}"
            + (" (covered by a new major version)" if change.sanctioned else "")
            + f"\nrule: {change.rule}{': ' + rule.cites if rule else ''}"
            + f"\nold: {_ptr(change.old_pointer)}\nnew: {_ptr(change.new_pointer)}"
        )
        if _fails(change, fail_on):
            failure = ET.SubElement(case, "failure", message=change.message, type=change.rule)
            failure.text = detail
        else:
            out = ET.SubElement(case, "system-out")
            out.text = detail
    ET.indent(suites)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suites, encoding="unicode")


_RULE_LEVEL: dict[Verdict, SarifLevel] = {
    Verdict.BREAKING: "error",
    Verdict.WARN: "warning",
    Verdict.ALLOWED: "note",
}


class _Lines:
    """The line of a pointer in a side that is a local YAML/JSON file (None for a URL)."""

    def __init__(self) -> None:
        self._files: dict[str, SpecFile | None] = {}

    def line(self, source: str, ptr: str) -> int | None:
        if source not in self._files:
            path = Path(source)
            try:
                self._files[source] = read_spec(path) if path.is_file() else None
            except SpecLoadError:
                self._files[source] = None
        spec = self._files[source]
        return spec.line(ptr) if spec is not None else None


def _sarif(result: DiffResult, fail_on: str) -> str:
    from kontrakt.sarif import Finding, RuleDescriptor, dumps, sarif_log, tool_version

    lines = _Lines()
    findings: list[Finding] = []
    for change in result.changes:
        level: SarifLevel = (
            "error"
            if _fails(change, fail_on)
            else ("warning" if change.verdict is Verdict.WARN and not change.sanctioned else "note")
        )
        new_side = change.new_pointer is not None
        source = result.new_source if new_side else result.old_source
        ptr = change.new_pointer if new_side else change.old_pointer
        findings.append(
            Finding(
                rule=change.rule,
                level=level,
                message=change.message,
                file=source,
                line=lines.line(source, ptr or ""),
                pointer=ptr,
                properties={
                    "changeId": change.id,
                    "kind": change.kind,
                    "verdict": change.verdict.value,
                    "sanctioned": change.sanctioned,
                    "oldPointer": change.old_pointer,
                    "newPointer": change.new_pointer,
                    "operation": change.operation,
                },
            )
        )
    rules = [
        RuleDescriptor(
            id=rule.id,
            title=rule.cites,
            level=_RULE_LEVEL[rule.verdict],
            properties={
                "verdict": rule.verdict.value,
                **({"oasdiff": rule.oasdiff} if rule.oasdiff else {}),
            },
        )
        for rule in sorted(result.rules.values(), key=lambda r: (r.verdict.rank, r.id))
    ]
    log = sarif_log(
        f"kontrakt diff ({result.ruleset})",
        findings,
        rules,
        version=tool_version(),
        properties={
            "old": result.old_source,
            "new": result.new_source,
            "fails": result.fails(fail_on),
            "majorVersion": None if result.major is None else result.major.label,
        },
    )
    return dumps(log)


def render(result: DiffResult, fmt: str = "text", fail_on: str = "breaking") -> str:
    """The report in one of `FORMATS`."""
    renderers = {
        "text": _text,
        "json": _json,
        "markdown": _markdown,
        "junit": _junit,
        "sarif": _sarif,
    }
    if fmt not in renderers:
        raise ValueError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
    return renderers[fmt](result, fail_on)

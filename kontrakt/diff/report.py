"""Rendering a `DiffResult` as text, JSON, YAML, Markdown, HTML, JUnit XML, SARIF, GitHub
workflow commands or single lines.

Text and Markdown are for people: one entry per difference, with the operations it affects
grouped (a change in a shared schema shows once, listing every operation), the rule it applies
and both JSON pointers. JSON lists every change separately with its stable id, for tools. JUnit
makes each change a test case that fails when it would fail CI, for CI dashboards. SARIF makes
each change a code-scanning result on the side that has it (the new document, or the old one for a
removal), at the line of its pointer when that side is a local file; ``githubactions`` places the
same results as workflow annotations. HTML is one self-contained page (no script, no external
asset). ``singleline`` gives one grep-able line per change. Every format names the versioning
source (`DiffResult.versioning`). Output is deterministic: the same result renders to the same
bytes.
"""

from __future__ import annotations

import contextlib
import html
import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from xml.etree import ElementTree as ET

from kontrakt.diff.model import FORMATS, Change, DiffResult, Verdict
from kontrakt.sarif import SarifLevel
from kontrakt.specfile import SpecFile, SpecLoadError, read_spec

__all__ = ["FORMATS", "render"]

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


def _versioning(result: DiffResult) -> str:
    return result.versioning or "none"


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
        f"Versioning source: {_versioning(result)}.",
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


def _payload(result: DiffResult, fail_on: str) -> dict[str, object]:
    return {
        "old": result.old_source,
        "new": result.new_source,
        "rules": result.ruleset,
        "major_version": (
            None
            if result.major is None
            else {"old": result.major.old, "new": result.major.new, "source": result.major.source}
        ),
        "versioning_source": _versioning(result),
        "info_version_major_ignored": result.info_major_moved or None,
        "summary": {v.value: result.count(v) for v in Verdict},
        "fails": result.fails(fail_on),
        "notes": result.notes,
        "changes": [c.as_dict() for c in result.changes],
        "rule_table": {
            r.id: {"verdict": r.verdict.value, "cites": r.cites, "oasdiff": r.oasdiff}
            for r in result.rules.values()
        },
    }


def _json(result: DiffResult, fail_on: str) -> str:
    return json.dumps(_payload(result, fail_on), indent=2, ensure_ascii=False)


def _yaml(result: DiffResult, fail_on: str) -> str:
    import yaml  # not in the core install; the other formats must not need it

    text: str = yaml.safe_dump(
        _payload(result, fail_on), sort_keys=False, allow_unicode=True, width=100
    )
    return text.rstrip("\n")


def _md_cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _markdown(result: DiffResult, fail_on: str) -> str:
    lines = [
        f"## kontrakt diff (rules: {result.ruleset})",
        "",
        f"`{result.old_source}` -> `{result.new_source}`",
        "",
        f"**{_verdict_line(result, fail_on)}** {_summary(result)}.",
        "",
        f"Versioning source: {_md_cell(_versioning(result))}.",
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
    props = ET.SubElement(suite, "properties")
    ET.SubElement(props, "property", name="versioning-source", value=_versioning(result))
    for note in result.notes:
        ET.SubElement(props, "property", name="note", value=note)
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


def _level(change: Change, fail_on: str) -> SarifLevel:
    """``error`` when the change fails CI, ``warning`` for a warning that does not, else ``note``."""
    if _fails(change, fail_on):
        return "error"
    return "warning" if change.verdict is Verdict.WARN and not change.sanctioned else "note"


def _side(result: DiffResult, change: Change) -> tuple[str, str | None]:
    """The document a change is shown in (the new one, the old one for a removal) and its pointer."""
    if change.new_pointer is not None:
        return result.new_source, change.new_pointer
    return result.old_source, change.old_pointer


def _sarif(result: DiffResult, fail_on: str) -> str:
    from kontrakt.sarif import Finding, RuleDescriptor, dumps, sarif_log, tool_version

    lines = _Lines()
    findings: list[Finding] = []
    for change in result.changes:
        level = _level(change, fail_on)
        source, ptr = _side(result, change)
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
            "versioningSource": _versioning(result),
            "notes": result.notes,
        },
    )
    return dumps(log)


def _gh_data(text: str) -> str:
    """Escape a workflow command's message (GitHub: ``%``, CR and LF)."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _gh_property(text: str) -> str:
    """Escape a workflow command's property value (the message escapes plus ``:`` and ``,``)."""
    return _gh_data(text).replace(":", "%3A").replace(",", "%2C")


_GH_COMMAND = {"error": "error", "warning": "warning", "note": "notice"}


def _repo_path(source: str) -> str:
    """A file as GitHub annotates it: relative to the working directory (the checkout) when inside."""
    path = Path(source)
    if path.is_absolute():
        with contextlib.suppress(ValueError):
            path = path.relative_to(Path.cwd())
    return path.as_posix()


def _githubactions(result: DiffResult, fail_on: str) -> str:
    """GitHub workflow commands: a notice with the summary, then one annotation per change."""
    head = (
        f"kontrakt diff ({result.ruleset}): {_summary(result)}; "
        f"versioning source: {_versioning(result)}. {_verdict_line(result, fail_on)}"
    )
    head += "".join(f" Note: {note}" for note in result.notes)
    out = [f"::notice title={_gh_property('kontrakt diff')}::{_gh_data(head)}"]
    lines = _Lines()
    for change in result.changes:
        source, ptr = _side(result, change)
        props = []
        if "://" not in source:
            props.append(f"file={_gh_property(_repo_path(source))}")
            line = lines.line(source, ptr or "")
            if line is not None:
                props.append(f"line={line}")
        rule = result.rules.get(change.rule)
        props.append(f"title={_gh_property(f'{change.rule} ({change.verdict.value})')}")
        message = change.message
        if change.sanctioned:
            message += " (covered by a new major version)"
        message += f"\nid: {change.id}"
        if rule is not None:
            message += f"\nrule: {rule.cites}"
            if rule.oasdiff:
                message += f"\noasdiff: {rule.oasdiff}"
        out.append(
            f"::{_GH_COMMAND[_level(change, fail_on)]} {','.join(props)}::{_gh_data(message)}"
        )
    return "\n".join(out)


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _singleline(result: DiffResult, fail_on: str) -> str:
    """A summary line, then one line per change: verdict, rule, message, id."""
    out = [
        _one_line(
            f"kontrakt diff ({result.ruleset}) {result.old_source} -> {result.new_source}: "
            f"{_summary(result)}; versioning source: {_versioning(result)}; "
            f"{'fails' if result.fails(fail_on) else 'passes'}"
            + "".join(f"; note: {note}" for note in result.notes)
        )
    ]
    for change in result.changes:
        mark = " (covered by a new major version)" if change.sanctioned else ""
        out.append(
            _one_line(
                f"{change.verdict.value}{mark} [{change.rule}] {change.message} ({change.id})"
            )
        )
    return "\n".join(out)


_HTML_STYLE = """
body{font-family:system-ui,sans-serif;margin:2rem;max-width:75rem;color:#1b1b1b}
table{border-collapse:collapse;margin:.5rem 0 1.5rem;width:100%}
th,td{border:1px solid #ccc;padding:.3rem .5rem;text-align:left;vertical-align:top}
th{background:#f2f2f2}
code{font-size:.9em;word-break:break-all}
.breaking{color:#a40000}.warn{color:#7a5200}.allowed{color:#246b24}
.verdict{font-weight:bold}
""".strip()


def _html(result: DiffResult, fail_on: str) -> str:
    """One self-contained page: summary counts, then breaking, warnings, allowed; no script."""
    e = html.escape
    title = f"kontrakt diff ({result.ruleset}): {result.old_source} -> {result.new_source}"
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        '<head><meta charset="utf-8">',
        f"<title>{e(title)}</title>",
        f"<style>{_HTML_STYLE}</style></head>",
        "<body>",
        f"<h1>kontrakt diff ({e(result.ruleset)})</h1>",
        f"<p>old: <code>{e(result.old_source)}</code><br>new: <code>{e(result.new_source)}</code></p>",
        f'<p class="verdict">{e(_verdict_line(result, fail_on))}</p>',
        f'<p id="versioning">Versioning source: {e(_versioning(result))}.</p>',
        '<table id="summary"><tr><th>verdict</th><th>changes</th></tr>',
    ]
    parts += [
        f'<tr class="{v.value}"><td>{v.value}</td><td>{result.count(v)}</td></tr>' for v in Verdict
    ]
    parts.append("</table>")
    if result.notes:
        parts.append('<ul id="notes">')
        parts += [f"<li>{e(note)}</li>" for note in result.notes]
        parts.append("</ul>")
    for verdict in Verdict:
        changes = [c for c in result.changes if c.verdict is verdict]
        if not changes:
            continue
        parts += [
            f'<h2 id="{verdict.value}" class="{verdict.value}">'
            f"{HEADINGS[verdict].capitalize()} ({len(changes)})</h2>",
            f'<table class="changes {verdict.value}">',
            "<tr><th>change</th><th>rule</th><th>citation</th><th>oasdiff</th>"
            "<th>old</th><th>new</th></tr>",
        ]
        for change in changes:
            rule = result.rules.get(change.rule)
            mark = " <em>(covered by a new major version)</em>" if change.sanctioned else ""
            parts.append(
                f'<tr id="{e(change.id)}">'
                f"<td>{e(change.message)}{mark}<br><code>{e(change.id)}</code></td>"
                f"<td><code>{e(change.rule)}</code></td>"
                f"<td>{e(rule.cites) if rule else ''}</td>"
                f"<td>{e(rule.oasdiff) if rule and rule.oasdiff else '-'}</td>"
                f"<td><code>{e(_ptr(change.old_pointer))}</code></td>"
                f"<td><code>{e(_ptr(change.new_pointer))}</code></td></tr>"
            )
        parts.append("</table>")
    if not result.changes:
        parts.append("<p>No differences that matter to clients.</p>")
    parts += ["</body>", "</html>"]
    return "\n".join(parts)


def render(result: DiffResult, fmt: str = "text", fail_on: str = "breaking") -> str:
    """The report in one of `FORMATS`."""
    renderers = {
        "text": _text,
        "json": _json,
        "yaml": _yaml,
        "markdown": _markdown,
        "html": _html,
        "junit": _junit,
        "sarif": _sarif,
        "githubactions": _githubactions,
        "singleline": _singleline,
    }
    if fmt not in renderers:
        raise ValueError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
    return renderers[fmt](result, fail_on)

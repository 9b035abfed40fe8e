"""Write the rule table of docs/diff-policy.md from the rule tables, once, as a starting point.

The table in the policy page is hand-maintained afterwards (it is the policy: verdicts the code must
match); this script prints a draft for rules that have no row yet, with oasdiff's level beside each
mapped id, so a new rule's row is not written from memory::

    .venv/bin/python -m tests.diff.policy_table /path/to/oasdiff [--missing]
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from tests.diff.oasdiff.extract import read_registry

GROUPS = (
    ("dan", "DAN rule set (`--rules dan`)", r"^DAN-"),
    ("sdir", "Sdir rule set (`--rules sdir`)", r"^SDIR-"),
    ("hooks", "Webhooks and callbacks", r"HOOK|WEBHOOK|CALLBACK"),
    (
        "lifecycle",
        "Deprecation, sunset, stability",
        r"SUNSET|STABILITY|UNSTABLE|DEPRECATED|REACTIVATED",
    ),
    ("ops", "Paths and operations", r"^GEN-(PATH|OPERATION)-"),
    ("params", "Parameters", r"^GEN-PARAM-"),
    ("bodies", "Request bodies", r"^GEN-BODY-"),
    ("media", "Media types", r"MEDIA|SCHEMA-(ADDED|REMOVED)$"),
    ("status", "Statuses and response headers", r"STATUS|RESP-HEADER|RESP-ERROR-CODE"),
    (
        "schema",
        "Schemas: types, values, properties, constraints, composition",
        r"^GEN-(REQ|RESP)-|^GEN-PATTERN",
    ),
    ("security", "Security", r"^GEN-SECURITY"),
    ("doc", "Document level", r"MAJOR|SERVER"),
    ("ext", "kontrakt extensions (error catalogue, lifecycles, batch, pagination)", r"^GEN-"),
)
ORDER = (
    "ops",
    "lifecycle",
    "params",
    "bodies",
    "media",
    "status",
    "schema",
    "security",
    "hooks",
    "doc",
    "ext",
    "dan",
    "sdir",
)


def rows(levels: dict[str, str], only: set[str] | None = None) -> str:
    from kontrakt.diff.engine import all_rules
    from kontrakt.diff.model import Rule

    rules = all_rules()

    def oas(rs: list[Rule]) -> str:
        seen: dict[str, None] = {}
        for r in rs:
            for oid in filter(None, (p.strip() for p in r.oasdiff.split(","))):
                seen[f"`{oid}` {levels.get(oid, '?')}"] = None
        return "; ".join(seen) or "no check"

    def cell(r: Rule | None) -> str:
        return f"`{r.id}` {r.verdict.value}" if r else "-"

    def why(r: Rule) -> str:
        return r.cites.removeprefix("Issue #8: ")

    done: set[str] = set()
    out: dict[str, list[str]] = {key: [] for key, _, _ in GROUPS}
    for key, _, pattern in GROUPS:
        for rid, rule in rules.items():
            if rid in done or not re.search(pattern, rid) or (only is not None and rid not in only):
                continue
            m = re.match(r"GEN-(REQ|RESP)-(.*)", rid)
            if m:
                pos, suffix = m.groups()
                other = rules.get(f"GEN-{'RESP' if pos == 'REQ' else 'REQ'}-{suffix}")
                req, resp = (rule, other) if pos == "REQ" else (other, rule)
                pair = [x for x in (req, resp) if x]
                done.update(x.id for x in pair)
                text = " ".join(f"{'Request' if x is req else 'Response'}: {why(x)}" for x in pair)
                label = suffix.lower().replace("-", " ")
                out[key].append(f"| {label} | {cell(req)} | {cell(resp)} | {text} | {oas(pair)} |")
                continue
            done.add(rid)
            label = rid.split("-", 1)[1].lower().replace("-", " ")
            request_only = rid.startswith(("GEN-PARAM", "GEN-BODY", "GEN-SECURITY"))
            a, b = (cell(rule), "-") if request_only else (cell(rule), "(no position)")
            out[key].append(f"| {label} | {a} | {b} | {why(rule)} | {oas([rule])} |")
    titles = {key: title for key, title, _ in GROUPS}
    lines: list[str] = []
    for key in ORDER:
        if out[key]:
            lines.append(f"\n### {titles[key]}\n\n| change | request | response | why | oasdiff |")
            lines.append("|---|---|---|---|---|")
            lines.extend(out[key])
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("oasdiff", type=Path, help="a checkout of oasdiff, for its levels")
    parser.add_argument("--missing", action="store_true", help="only rules the page has no row for")
    args = parser.parse_args(argv)
    _, levels = read_registry(args.oasdiff)
    only = None
    if args.missing:
        from kontrakt.diff.engine import all_rules

        page = (Path(__file__).resolve().parents[2] / "docs" / "diff-policy.md").read_text()
        only = {rid for rid in all_rules() if f"`{rid}`" not in page}
    print(rows(levels, only))
    return 0


if __name__ == "__main__":
    sys.exit(main())

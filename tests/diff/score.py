"""Score `kontrakt diff` against oasdiff's own checker test pairs: the agreement table.

Each pair under ``tests/diff/oasdiff/data/`` comes with what oasdiff's Go tests assert about it
(``expectations.json``, written by ``extract.py``). We diff the pair with the ``generic`` rule set,
take the worst verdict (no change counts as ``allowed``), and sort the pair into one of:

- ``agree``: our verdict is one oasdiff's assertions allow (ERR -> breaking, WARN -> warn,
  INFO or nothing -> allowed);
- ``argued``: we differ, and ``argued.json`` names this pair, both verdicts and the section of
  docs/diff-policy.md that says why;
- ``missed breaking``: oasdiff says breaking, we do not (the table also says how many we warned on);
- ``false breaking``: we say breaking, oasdiff does not;
- ``warn differs``: neither says breaking, but one warns and the other does not;
- ``crash``: the engine raised.

``untriaged.json`` lists disagreements nobody has argued or fixed yet; the corpus test marks them
xfail. Run::

    .venv/bin/python -m tests.diff.score            # the table
    .venv/bin/python -m tests.diff.score --list     # one line per disagreeing pair
    .venv/bin/python -m tests.diff.score --write-untriaged   # untriaged.json := today's disagreements
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
CORPUS = HERE / "oasdiff"
DATA = CORPUS / "data"
ROOT = HERE.parent.parent
POLICY = ROOT / "docs" / "diff-policy.md"

AGREE = "agree"
ARGUED = "argued"
MISSED = "missed breaking"
FALSE = "false breaking"
WARN_DIFFERS = "warn differs"
CRASH = "crash"
CATEGORIES = (AGREE, ARGUED, MISSED, FALSE, WARN_DIFFERS, CRASH)
RANK = {"breaking": 0, "warn": 1, "allowed": 2}


def _read(name: str) -> Any:
    return json.loads((CORPUS / name).read_text(encoding="utf-8"))


def expectations() -> list[dict[str, Any]]:
    pairs: list[dict[str, Any]] = _read("expectations.json")["pairs"]
    return pairs


def argued() -> dict[str, dict[str, str]]:
    """Pair -> the argued disagreement (ours, oasdiff, policy section)."""
    return {entry["pair"]: entry for entry in _read("argued.json")["argued"]}


def untriaged() -> dict[str, dict[str, str]]:
    return {entry["pair"]: entry for entry in _read("untriaged.json")["untriaged"]}


class IdMap:
    """oasdiff id -> our rule ids: each rule's ``oasdiff`` field, plus mapping.json's ``rules``
    (exact ids) and ``patterns`` (regular expressions over ids, for oasdiff's families such as
    ``request-(body|property|parameter)-max-length-decreased``)."""

    def __init__(self) -> None:
        from kontrakt.diff.engine import all_rules

        self.exact: dict[str, set[str]] = {}
        for rule in all_rules().values():
            for oid in filter(None, (part.strip() for part in rule.oasdiff.split(","))):
                self.exact.setdefault(oid, set()).add(rule.id)
        mapping = _read("mapping.json")
        for oid, rules in mapping.get("rules", {}).items():
            self.exact.setdefault(oid, set()).update(rules)
        self.patterns = [
            (re.compile(p["match"]), set(p["rules"])) for p in mapping.get("patterns", [])
        ]

    def get(self, oid: str) -> set[str]:
        found = set(self.exact.get(oid, set()))
        for pattern, rules in self.patterns:
            if pattern.fullmatch(oid):
                found |= rules
        return found


def id_map() -> IdMap:
    return IdMap()


def slug(heading: str) -> str:
    """The anchor MkDocs (Python-Markdown's toc) gives a heading."""
    text = unicodedata.normalize("NFKD", heading).encode("ascii", "ignore").decode()
    text = re.sub(r"[^\w\s-]", "", text).strip().lower()
    return re.sub(r"[-\s]+", "-", text)


def policy_sections() -> set[str]:
    """Anchors of the headings in docs/diff-policy.md (explicit ``{#id}`` ones included)."""
    if not POLICY.exists():
        return set()
    anchors: set[str] = set()
    for line in POLICY.read_text(encoding="utf-8").splitlines():
        heading = re.match(r"#{1,6}\s+(.*?)\s*$", line)
        if not heading:
            continue
        text = heading.group(1)
        explicit = re.search(r"\{\s*#([\w-]+)[^}]*\}\s*$", text)
        anchors.add(explicit.group(1) if explicit else slug(text))
    return anchors


@dataclass
class Outcome:
    pair: str
    accepted: list[str]
    ours: str = ""
    category: str = ""
    error: str = ""
    rules: list[str] = field(default_factory=list)
    id_matched: bool | None = None
    seconds: float = 0.0

    @property
    def oasdiff(self) -> str:
        return "|".join(self.accepted)


def our_verdict(base: Path, revision: Path) -> tuple[str, list[str]]:
    """Our whole-pair verdict (worst change; ``allowed`` when nothing changed) and the rules used."""
    from kontrakt.diff.engine import diff_documents
    from kontrakt.diff.load import load_document

    result = diff_documents(load_document(str(base)), load_document(str(revision)), "generic")
    verdicts = [c.verdict.value for c in result.changes]
    worst = min(verdicts, key=RANK.__getitem__) if verdicts else "allowed"
    return worst, sorted({c.rule for c in result.changes})


def classify(ours: str, accepted: list[str]) -> str:
    if ours in accepted:
        return AGREE
    if accepted == ["breaking"]:
        return MISSED
    if ours == "breaking":
        return FALSE
    return WARN_DIFFERS


def score_pair(
    entry: dict[str, Any], argued_pairs: dict[str, dict[str, str]], ids: IdMap
) -> Outcome:
    outcome = Outcome(entry["pair"], list(entry["accepted"]))
    start = time.process_time()
    try:
        outcome.ours, outcome.rules = our_verdict(DATA / entry["base"], DATA / entry["revision"])
    except Exception as exc:  # a crash is what this column counts
        outcome.category = CRASH
        outcome.error = f"{type(exc).__name__}: {exc}".splitlines()[0][:200]
        return outcome
    finally:
        outcome.seconds = time.process_time() - start
    outcome.category = classify(outcome.ours, outcome.accepted)
    claim = argued_pairs.get(outcome.pair)
    if (
        outcome.category != AGREE
        and claim is not None
        and claim["ours"] == outcome.ours
        and claim["oasdiff"] == outcome.oasdiff
    ):
        outcome.category = ARGUED
    expected_ids = [e["id"] for e in entry["expected"]]
    if expected_ids:
        ours_rules = set(outcome.rules)
        outcome.id_matched = any(ids.get(oid) & ours_rules for oid in expected_ids)
    return outcome


def score(only: str | None = None) -> list[Outcome]:
    argued_pairs = argued()
    ids = id_map()
    return [
        score_pair(entry, argued_pairs, ids)
        for entry in expectations()
        if only is None or only in entry["pair"]
    ]


def table(outcomes: list[Outcome]) -> str:
    counts = Counter(o.category for o in outcomes)
    warned = sum(1 for o in outcomes if o.category == MISSED and o.ours == "warn")
    lines = [f"pairs: {len(outcomes)} (oasdiff {_read('expectations.json')['commit'][:12]})", ""]
    lines.append("| outcome | pairs |")
    lines.append("|---|---|")
    for category in CATEGORIES:
        extra = f" (we warned on {warned})" if category == MISSED and warned else ""
        lines.append(f"| {category} | {counts.get(category, 0)}{extra} |")
    matched = [o for o in outcomes if o.id_matched is not None]
    lines.append("")
    lines.append(
        f"oasdiff id reported by a mapped rule of ours: {sum(1 for o in matched if o.id_matched)} "
        f"of {len(matched)} pairs with asserted ids"
    )
    pending = untriaged()
    disagreeing = {o.pair for o in outcomes if o.category not in (AGREE, ARGUED)}
    stale = sorted(set(pending) - disagreeing)
    unlisted = sorted(disagreeing - set(pending))
    lines.append(
        f"untriaged list: {len(pending)} entries; {len(stale)} now agree or are argued; "
        f"{len(unlisted)} disagreements not on it (the corpus test fails on those)"
    )
    lines.append(f"engine CPU time: {sum(o.seconds for o in outcomes):.1f} s")
    return "\n".join(lines)


def listing(outcomes: list[Outcome]) -> str:
    rows = []
    for o in sorted(outcomes, key=lambda o: (o.category, o.pair)):
        if o.category in (AGREE, ARGUED):
            continue
        detail = o.error or ", ".join(o.rules) or "no change"
        rows.append(
            f"{o.category:15} ours={o.ours or '-':8} oasdiff={o.oasdiff:15} {o.pair}  [{detail}]"
        )
    return "\n".join(rows)


def write_untriaged(outcomes: list[Outcome]) -> int:
    before = untriaged()
    entries = [
        {
            "pair": o.pair,
            "ours": o.ours or "crash",
            "oasdiff": o.oasdiff,
            "category": o.category,
            "reason": before.get(o.pair, {}).get("reason", "not yet triaged"),
        }
        for o in sorted(outcomes, key=lambda o: o.pair)
        if o.category not in (AGREE, ARGUED)
    ]
    document = {
        "about": "Disagreements with oasdiff nobody has argued (argued.json) or fixed yet; "
        "tests/unit/diff/test_oasdiff_corpus.py marks them xfail. Regenerate with "
        "python -m tests.diff.score --write-untriaged.",
        "untriaged": entries,
    }
    (CORPUS / "untriaged.json").write_text(json.dumps(document, indent=1) + "\n", encoding="utf-8")
    return len(entries)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="kontrakt diff against oasdiff's checker test pairs"
    )
    parser.add_argument("--list", action="store_true", help="one line per pair that does not agree")
    parser.add_argument("--only", help="score only pairs whose name contains this")
    parser.add_argument("--json", action="store_true", help="every outcome as JSON")
    parser.add_argument(
        "--write-untriaged",
        action="store_true",
        help="rewrite untriaged.json with today's unargued disagreements",
    )
    args = parser.parse_args(argv)
    outcomes = score(args.only)
    if args.json:
        print(json.dumps([o.__dict__ | {"oasdiff": o.oasdiff} for o in outcomes], indent=1))
        return 0
    print(table(outcomes))
    if args.list:
        print()
        print(listing(outcomes))
    if args.write_untriaged:
        print(f"untriaged.json: {write_untriaged(outcomes)} entries")
    return 0


if __name__ == "__main__":
    sys.exit(main())

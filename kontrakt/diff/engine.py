"""Running a comparison: load both sides, pick the rule set, run its checks, judge the result.

`diff_documents` is the library entry point behind ``kontrakt diff``. Rule sets stack: ``generic``
is every OpenAPI check; ``dan`` and ``sdir`` add their publisher's checks and replace the citation
(and where the publisher says so, the verdict) of generic rules through an overlay. A new major URL
version turns breaking changes into the list of what a client must change: they keep their verdict
but are marked ``sanctioned``, and do not fail CI.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import replace

from kontrakt.diff.checks_dan import DAN_OVERLAY, DAN_RULES, check_dan
from kontrakt.diff.checks_generic import GENERIC_RULES, check_document, detect_major
from kontrakt.diff.checks_sdir import SDIR_NOTES, SDIR_OVERLAY, SDIR_RULES
from kontrakt.diff.emit import Emitter
from kontrakt.diff.load import KIND_OPENAPI, Document, load_document
from kontrakt.diff.model import Change, DiffResult, Rule, Verdict

__all__ = ["RULESETS", "all_rules", "diff_documents", "diff_sources", "today"]

RULESETS = ("generic", "dan", "sdir")
TODAY_VARIABLE = "KONTRAKT_DIFF_TODAY"


def all_rules() -> dict[str, Rule]:
    """Every rule of every rule set, by id."""
    return {**GENERIC_RULES, **DAN_RULES, **SDIR_RULES}


def today() -> dt.date:
    """The date retirement periods are measured against; ``KONTRAKT_DIFF_TODAY`` pins it for CI."""
    pinned = os.environ.get(TODAY_VARIABLE)
    return dt.date.fromisoformat(pinned) if pinned else dt.date.today()


def _sort_key(change: Change) -> tuple[int, str]:
    return (change.verdict.rank, change.id)


def diff_documents(
    old: Document, new: Document, ruleset: str = "generic", *, on: dt.date | None = None
) -> DiffResult:
    """Compare two loaded documents under a rule set (``generic``, ``dan`` or ``sdir``)."""
    if ruleset not in RULESETS:
        raise ValueError(f"unknown rule set {ruleset!r}; choose one of {', '.join(RULESETS)}")
    overlay = {"dan": DAN_OVERLAY, "sdir": SDIR_OVERLAY}.get(ruleset, {})
    em = Emitter(all_rules(), overlay)
    result = DiffResult(old.source, new.source, ruleset)
    both_openapi = old.kind == KIND_OPENAPI and new.kind == KIND_OPENAPI
    if both_openapi:
        result.major = detect_major(old, new, info_counts=ruleset == "generic")
        if ruleset != "generic" and result.major is None:
            info_major = detect_major(old, new, info_counts=True)
            if info_major is not None:
                result.notes.append(
                    f"info.version moved to a new major ({info_major.label}) but the URL version did "
                    f"not: {ruleset.upper()} versions in the URL, so breaking changes are not covered."
                )
        check_document(old, new, em, result.major, on or today())
    elif ruleset != "dan":
        raise ValueError(
            f"{old.source if old.kind != KIND_OPENAPI else new.source}: DAN metadata snapshots "
            "can only be compared with --rules dan"
        )
    if ruleset == "dan":
        result.notes.extend(check_dan(old, new, em, on or today()))
    elif both_openapi and ("x-kontrakt-datasets" in old.data or "x-kontrakt-datasets" in new.data):
        result.notes.append("x-kontrakt-datasets present: compare with --rules dan to check them.")
    if ruleset == "sdir":
        result.notes.extend(SDIR_NOTES)
    changes = em.changes
    if result.major is not None:
        changes = [replace(c, sanctioned=c.verdict is not Verdict.ALLOWED) for c in changes]
    result.changes = sorted(changes, key=_sort_key)
    used = {c.rule for c in result.changes}
    result.rules = {rid: rule for rid, rule in all_rules().items() if rid in used}
    return result


def diff_sources(
    old: str, new: str, ruleset: str = "generic", *, on: dt.date | None = None
) -> DiffResult:
    """Load two sources (files, URLs, running providers) and compare them."""
    return diff_documents(load_document(old), load_document(new), ruleset, on=on)

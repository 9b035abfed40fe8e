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
from kontrakt.diff.checks_generic import (
    GENERIC_RULES,
    _path_version,
    _server_version,
    check_document,
    detect_major,
)
from kontrakt.diff.checks_sdir import SDIR_NOTES, SDIR_OVERLAY, SDIR_RULES
from kontrakt.diff.emit import Emitter
from kontrakt.diff.load import KIND_OPENAPI, Document, load_document
from kontrakt.diff.model import Change, DiffResult, MajorVersion, Rule, Verdict

__all__ = [
    "RULESETS",
    "all_rules",
    "diff_documents",
    "diff_sources",
    "parse_date",
    "today",
    "versioning_source",
]

RULESETS = ("generic", "dan", "sdir")
TODAY_VARIABLE = "KONTRAKT_DIFF_TODAY"


def all_rules() -> dict[str, Rule]:
    """Every rule of every rule set, by id."""
    return {**GENERIC_RULES, **DAN_RULES, **SDIR_RULES}


def parse_date(text: str, what: str) -> dt.date:
    """A ``YYYY-MM-DD`` date, or ValueError naming ``what`` gave something else."""
    try:
        return dt.date.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(f"{what} must be a date as YYYY-MM-DD, not {text!r}") from None


def today() -> dt.date:
    """The date retirement periods are measured against; ``KONTRAKT_DIFF_TODAY`` pins it for CI."""
    pinned = os.environ.get(TODAY_VARIABLE)
    return parse_date(pinned, TODAY_VARIABLE) if pinned else dt.date.today()


def _info_version(doc: Document) -> str:
    info = doc.data.get("info") if isinstance(doc.data, dict) else None
    return str(info.get("version", "")) if isinstance(info, dict) else ""


def _url_version(doc: Document) -> tuple[str, str] | None:
    """``("servers URL", "v2")`` or ``("paths", "v1")``: where this document's URL says its major."""
    server = _server_version(doc)
    if server is not None:
        return "servers URL", server[0]
    path = _path_version(doc)
    return ("paths", path) if path else None


def versioning_source(
    old: Document, new: Document, ruleset: str
) -> tuple[MajorVersion | None, str, str]:
    """Which version decides whether breaking changes are allowed, and whether it moved a major.

    Returns the new major version (or None), the source as a report names it (``servers URL /v2``,
    ``paths /v1``, ``info.version 1.4.0``) and, when a URL version decides, info.version's major
    step (``1.0.0 -> 2.0.0``) when it moved anyway. Where either document carries a major in its
    servers URL or in a ``/vN`` prefix of every path (DSOP ``/v2``, DAN ``/v1``), that URL version
    decides and info.version does not count; where neither does, info.version counts under
    ``generic`` (``dan`` and ``sdir`` version in the URL only, so nothing excuses a break there).
    """
    url_major = detect_major(old, new, info_counts=False)
    info_major = detect_major(old, new, info_counts=True) if url_major is None else None
    if info_major is not None and info_major.source != "info.version":
        info_major = None
    o_url, n_url = _url_version(old), _url_version(new)
    if o_url is not None or n_url is not None:
        where, token = n_url or o_url or ("", "")
        label = f"{where} /{token}"
        if url_major is not None:
            where = "servers URL" if url_major.source == "servers" else url_major.source
            label = f"{where} /{url_major.old} -> /{url_major.new}"
        moved = info_major.label if info_major is not None else ""
        return url_major, label, moved
    o_info, n_info = _info_version(old), _info_version(new)
    if ruleset != "generic":
        moved = info_major.label if info_major is not None else ""
        return (
            None,
            f"none ({ruleset} versions in the URL, and neither document's carries one)",
            moved,
        )
    if info_major is not None:
        return info_major, f"info.version {o_info} -> {n_info}", ""
    if n_info or o_info:
        return None, f"info.version {n_info or o_info}", ""
    return None, "none (no version in the servers URL, the paths or info.version)", ""


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
        result.major, result.versioning, result.info_major_moved = versioning_source(
            old, new, ruleset
        )
        if result.info_major_moved and result.versioning.startswith("none"):
            result.notes.append(
                f"info.version moved to a new major ({result.info_major_moved}), but "
                f"{ruleset.upper()} versions in the URL only and neither document's URL carries "
                "a version: breaking changes are not covered."
            )
        elif result.info_major_moved:
            result.notes.append(
                f"info.version moved to a new major ({result.info_major_moved}) but the URL version "
                f"did not ({result.versioning}): the URL version decides, so breaking changes are "
                "not covered."
            )
        check_document(old, new, em, result.major, on or today())
    else:
        result.versioning = "none (DAN metadata snapshots carry no version)"
    if not both_openapi and ruleset != "dan":
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

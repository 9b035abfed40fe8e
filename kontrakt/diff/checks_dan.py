"""data.altinn.no (DAN) versioning rules on top of the generic ones.

DAN's consumer documentation, section "Versjonering" (restated in FACTS §8), promises that inside a
URL version only additions happen: dataset fields (name, count, value type) never change, error and
status codes are only added, and a dataset is retired only after a deprecation notice and about 12
months. The datasets are read from ``x-kontrakt-datasets`` or from a ``/public/metadata/evidencecodes``
snapshot; error and status codes from the error catalogue and lifecycles, or from
``/public/metadata/errorcodes`` and ``/statuscodes`` snapshots.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from kontrakt.diff.checks_generic import (
    ErrorCatalogue,
    check_catalogues,
    error_catalogue,
    error_codes_from_snapshot,
)
from kontrakt.diff.emit import Emitter
from kontrakt.diff.load import (
    KIND_DAN_METADATA,
    KIND_ERRORCODES,
    KIND_EVIDENCECODES,
    KIND_OPENAPI,
    KIND_STATUSCODES,
    Document,
    join,
)
from kontrakt.diff.model import Rule, Verdict

__all__ = ["DAN_OVERLAY", "DAN_RULES", "check_dan"]

B, W, A = Verdict.BREAKING, Verdict.WARN, Verdict.ALLOWED
_SECTION = "DAN docs 'Kom i gang med API', Versjonering (FACTS §8)"

DAN_RULES: dict[str, Rule] = {
    r.id: r
    for r in (
        Rule(
            "DAN-VER-URL-MAJOR",
            A,
            f"{_SECTION}: the version is the URL prefix (v1, v2); a new prefix is a new version and the old one stays >= 12 months.",
        ),
        Rule("DAN-DATASET-ADDED", A, f"{_SECTION}, Datasett: new datasets may appear."),
        Rule(
            "DAN-DATASET-FIELDS-FROZEN",
            B,
            f"{_SECTION}, Datasett: a dataset's fields (name, count, value type) never change; a change is a new dataset.",
        ),
        Rule(
            "DAN-DATASET-AUTHZ-CHANGED",
            A,
            f"{_SECTION}, Datasett: a dataset's authorization requirements may change.",
        ),
        Rule(
            "DAN-DATASET-DEPRECATED",
            A,
            f"{_SECTION}, Datasett: retirement starts with a deprecation notice and date.",
        ),
        Rule(
            "DAN-DATASET-REMOVED",
            B,
            f"{_SECTION}, Datasett: a dataset is retired only after a deprecation notice with a date.",
        ),
        Rule(
            "DAN-DATASET-RETIRED-EARLY",
            W,
            f"{_SECTION}, Datasett: retired after a notice, but before about 12 months (or its valid-to date) have passed.",
        ),
        Rule(
            "DAN-DATASET-RETIRED",
            A,
            f"{_SECTION}, Datasett: retired after its notice and about 12 months.",
        ),
        Rule(
            "DAN-CODES-ADDED",
            A,
            f"{_SECTION}, Feil- og statuskoder: new error and status codes may be added.",
        ),
        Rule(
            "DAN-CODES-FROZEN",
            B,
            f"{_SECTION}, Feil- og statuskoder: listed codes are never removed, renumbered or renamed inside a version.",
        ),
        Rule(
            "DAN-CODES-WORDING",
            W,
            f"{_SECTION}, Feil- og statuskoder: only the description text changed (FACTS §8: a warning if only wording).",
        ),
    )
}

# Generic rules that DAN's own text states: the change keeps its id, the citation becomes DAN's.
DAN_OVERLAY: dict[str, str] = {
    "GEN-MAJOR-VERSION": "DAN-VER-URL-MAJOR",
    "GEN-ERROR-CODE-ADDED": "DAN-CODES-ADDED",
    "GEN-ERROR-CODE-REMOVED": "DAN-CODES-FROZEN",
    "GEN-ERROR-CODE-RENUMBERED": "DAN-CODES-FROZEN",
    "GEN-ERROR-CODE-NAME-CHANGED": "DAN-CODES-FROZEN",
    "GEN-ERROR-CODE-STATUS-CHANGED": "DAN-CODES-FROZEN",
    "GEN-ERROR-CODE-TEXT-CHANGED": "DAN-CODES-WORDING",
    "GEN-STATE-ADDED": "DAN-CODES-ADDED",
    "GEN-STATE-ADDED-CLOSED": "DAN-CODES-ADDED",
    "GEN-STATE-REMOVED": "DAN-CODES-FROZEN",
    "GEN-STATE-RENAMED": "DAN-CODES-FROZEN",
    "GEN-STATE-RENUMBERED": "DAN-CODES-FROZEN",
    "GEN-STATE-TEXT-CHANGED": "DAN-CODES-WORDING",
}

RETIREMENT_MONTHS = 12


@dataclass
class Dataset:
    """One dataset (evidence code) as far as the versioning rules care."""

    name: str
    ptr: str
    values: list[tuple[str, str, str]]
    """``(name, value type, pointer)``; the type is compared case-insensitively."""
    authz: str = ""
    notice: str | None = None
    valid_to: str | None = None
    deprecated: bool = False


@dataclass
class DanFacts:
    """What one side says about datasets, error codes and status codes (None: it says nothing)."""

    datasets: dict[str, Dataset] | None = None
    errors: ErrorCatalogue | None = None
    statuses: dict[str, tuple[str, str]] | None = None
    """Status code -> (description, pointer), from a /statuscodes snapshot."""
    kind: str = ""
    base: str = "/x-kontrakt-datasets"
    """Where the datasets sit in the document (the root of an evidencecodes snapshot is "")."""
    notes: list[str] = field(default_factory=list)


def _from_extension(doc: Document) -> dict[str, Dataset] | None:
    raw = doc.data.get("x-kontrakt-datasets")
    if not isinstance(raw, dict):
        return None
    result = {}
    for name, entry in raw.items():
        entry = entry if isinstance(entry, dict) else {}
        ptr = join("", "x-kontrakt-datasets", name)
        values = [
            (str(v.get("name")), str(v.get("value-type", "")), join(ptr, "values", i))
            for i, v in enumerate(entry.get("values") or [])
            if isinstance(v, dict)
        ]
        dep = entry.get("deprecated") if isinstance(entry.get("deprecated"), dict) else None
        result[name] = Dataset(
            name,
            ptr,
            values,
            authz=repr(entry.get("requires-consent")),
            notice=str(dep["notice"]) if dep and dep.get("notice") else None,
            valid_to=str(dep["valid-to"]) if dep and dep.get("valid-to") else None,
            deprecated=dep is not None,
        )
    return result


def _from_evidencecodes(items: list[Any], base: str = "") -> dict[str, Dataset]:
    result = {}
    for i, item in enumerate(items):
        if not isinstance(item, dict) or "evidenceCodeName" not in item:
            continue
        ptr = join(base, i)
        values = [
            (str(v.get("evidenceValueName")), str(v.get("valueType", "")), join(ptr, "values", j))
            for j, v in enumerate(item.get("values") or [])
            if isinstance(v, dict)
        ]
        warning = item.get("deprecationWarning")
        valid_to = item.get("validTo")
        result[str(item["evidenceCodeName"])] = Dataset(
            str(item["evidenceCodeName"]),
            ptr,
            values,
            authz=repr(item.get("authorizationRequirements")),
            notice=None,
            valid_to=str(valid_to)[:10] if valid_to else None,
            deprecated=bool(warning) or bool(valid_to),
        )
    return result


def _statuses(items: list[Any], base: str = "") -> dict[str, tuple[str, str]]:
    return {
        str(item["code"]): (str(item.get("description", "")), join(base, i))
        for i, item in enumerate(items)
        if isinstance(item, dict) and "code" in item
    }


def facts(doc: Document) -> DanFacts:
    """Read datasets, error codes and status codes from any kind of DAN document."""
    if doc.kind == KIND_OPENAPI:
        return DanFacts(datasets=_from_extension(doc), errors=error_catalogue(doc), kind=doc.kind)
    if doc.kind == KIND_EVIDENCECODES:
        return DanFacts(datasets=_from_evidencecodes(doc.data), kind=doc.kind, base="")
    if doc.kind == KIND_ERRORCODES:
        return DanFacts(errors=error_codes_from_snapshot(doc.data), kind=doc.kind)
    if doc.kind == KIND_STATUSCODES:
        return DanFacts(statuses=_statuses(doc.data), kind=doc.kind)
    if doc.kind == KIND_DAN_METADATA:
        data = doc.data
        return DanFacts(
            datasets=_from_evidencecodes(data["evidencecodes"], "/evidencecodes")
            if isinstance(data.get("evidencecodes"), list)
            else None,
            errors=error_codes_from_snapshot(data["errorcodes"], "/errorcodes")
            if isinstance(data.get("errorcodes"), list)
            else None,
            statuses=_statuses(data["statuscodes"], "/statuscodes")
            if isinstance(data.get("statuscodes"), list)
            else None,
            kind=doc.kind,
            base="/evidencecodes",
        )
    return DanFacts(kind=doc.kind)


def _add_months(day: dt.date, months: int) -> dt.date:
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    return dt.date(year, month, min(day.day, 28))


def _date(text: str | None) -> dt.date | None:
    if not text:
        return None
    try:
        return dt.date.fromisoformat(text[:10])
    except ValueError:
        return None


def check_datasets(
    old: dict[str, Dataset],
    new: dict[str, Dataset],
    em: Emitter,
    today: dt.date,
    *,
    compare_authz: bool = True,
    bases: tuple[str, str] = ("/x-kontrakt-datasets", "/x-kontrakt-datasets"),
) -> None:
    """Dataset fields are frozen; datasets are retired only after notice and about 12 months."""
    for name, o in old.items():
        scope = f"dataset {name}"
        n = new.get(name)
        if n is None:
            notice, valid_to = _date(o.notice), _date(o.valid_to)
            if not o.deprecated or (notice is None and valid_to is None):
                rule, why = "DAN-DATASET-REMOVED", "without a prior deprecation notice and date"
            else:
                deadlines = [
                    d
                    for d in (valid_to, _add_months(notice, RETIREMENT_MONTHS) if notice else None)
                    if d
                ]
                deadline = max(deadlines)
                if today >= deadline:
                    rule, why = (
                        "DAN-DATASET-RETIRED",
                        f"after its deprecation (supported until {deadline})",
                    )
                else:
                    rule, why = (
                        "DAN-DATASET-RETIRED-EARLY",
                        f"before the end of its notice period ({deadline})",
                    )
                if notice is None:
                    why += "; the notice date is unknown, so only valid-to was checked"
            em.emit(
                "dataset-removed",
                rule,
                scope,
                "",
                o.ptr,
                bases[1],
                f"dataset removed {why}",
            )
            continue
        if n.deprecated and not o.deprecated:
            em.emit(
                "dataset-deprecated",
                "DAN-DATASET-DEPRECATED",
                scope,
                "",
                o.ptr,
                n.ptr,
                f"deprecated (notice {n.notice or 'undated'}, valid to {n.valid_to or 'undated'})",
            )
        if compare_authz and o.authz != n.authz:
            em.emit(
                "dataset-authorization-changed",
                "DAN-DATASET-AUTHZ-CHANGED",
                scope,
                "",
                o.ptr,
                n.ptr,
                "authorization requirements changed",
            )
        o_vals = {v[0]: v for v in o.values}
        n_vals = {v[0]: v for v in n.values}
        removed = [v for v in o.values if v[0] not in n_vals]
        added = [v for v in n.values if v[0] not in o_vals]
        # A value out and a value in at the same position with the same type is a rename.
        for ov in list(removed):
            position = o.values.index(ov)
            if position < len(n.values):
                nv = n.values[position]
                if nv in added and nv[1].lower() == ov[1].lower():
                    removed.remove(ov)
                    added.remove(nv)
                    em.emit(
                        "dataset-value-renamed",
                        "DAN-DATASET-FIELDS-FROZEN",
                        scope,
                        ov[0],
                        ov[2],
                        nv[2],
                        f"value renamed to {nv[0]}",
                    )
        for ov in removed:
            em.emit(
                "dataset-value-removed",
                "DAN-DATASET-FIELDS-FROZEN",
                scope,
                ov[0],
                ov[2],
                join(n.ptr, "values"),
                "value removed",
            )
        for nv in added:
            em.emit(
                "dataset-value-added",
                "DAN-DATASET-FIELDS-FROZEN",
                scope,
                nv[0],
                join(o.ptr, "values"),
                nv[2],
                "value added (the value list is frozen; publish a new dataset)",
            )
        for value, ov in o_vals.items():
            same = n_vals.get(value)
            if same is not None and ov[1].lower() != same[1].lower():
                em.emit(
                    "dataset-value-type-changed",
                    "DAN-DATASET-FIELDS-FROZEN",
                    scope,
                    value,
                    ov[2],
                    same[2],
                    f"value type {ov[1]} -> {same[1]}",
                )
    for name, n in new.items():
        if name not in old:
            em.emit(
                "dataset-added",
                "DAN-DATASET-ADDED",
                f"dataset {name}",
                "",
                bases[0],
                n.ptr,
                f"dataset added ({len(n.values)} values)",
            )


def check_status_snapshots(
    old: dict[str, tuple[str, str]], new: dict[str, tuple[str, str]], em: Emitter
) -> None:
    """``/public/metadata/statuscodes``: codes are only added; a new description is a warning."""
    scope = "status-codes"
    for code, (text, ptr) in old.items():
        if code not in new:
            em.emit(
                "status-code-removed",
                "DAN-CODES-FROZEN",
                scope,
                code,
                ptr,
                "",
                f"removed ({text})",
            )
        elif new[code][0] != text:
            em.emit(
                "status-code-text-changed",
                "DAN-CODES-WORDING",
                scope,
                code,
                ptr,
                new[code][1],
                f"description {text!r} -> {new[code][0]!r}",
            )
    for code, (text, ptr) in new.items():
        if code not in old:
            em.emit(
                "status-code-added",
                "DAN-CODES-ADDED",
                scope,
                code,
                "",
                ptr,
                f"added ({text})",
            )


def check_dan(old: Document, new: Document, em: Emitter, today: dt.date) -> list[str]:
    """The DAN-only checks (datasets, metadata snapshots); returns notes for the report."""
    o, n = facts(old), facts(new)
    notes: list[str] = []
    same_kind = old.kind == new.kind
    if (o.datasets is not None or n.datasets is not None) and (
        same_kind or (o.datasets is not None and n.datasets is not None)
    ):
        # requires-consent and authorizationRequirements do not compare with each other.
        check_datasets(
            o.datasets or {},
            n.datasets or {},
            em,
            today,
            compare_authz=same_kind,
            bases=(o.base, n.base),
        )
    both_openapi = old.kind == KIND_OPENAPI and new.kind == KIND_OPENAPI
    if not both_openapi and o.errors is not None and n.errors is not None:
        # Snapshot against snapshot compares wording; against our catalogue only existence.
        check_catalogues(o.errors, n.errors, em, full=same_kind)
        if not same_kind:
            notes.append(
                "error codes compared by existence only (catalogue against /errorcodes snapshot)"
            )
    if o.statuses is not None and n.statuses is not None:
        check_status_snapshots(o.statuses, n.statuses, em)
    return notes

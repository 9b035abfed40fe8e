"""SARIF 2.1.0 logs for code scanning: one builder that lint, diff and certify share.

A finding is a rule id, a level (error, warning or note), a message, and where it is: a file (a
path or a URL), the line when known, and the JSON pointer (RFC 6901) into the document. The
pointer travels twice: as the result's logical location (``fullyQualifiedName`` ``#/paths/...``),
which a SARIF viewer shows, and as the property ``jsonPointer``, which a script reads.

GitHub code scanning accepts only paths in the repository (an ``https:`` location makes the upload
fail), so every artifact is a relative reference: a path below the working directory relative to
``%SRCROOT%``; one below a named root (the contracts kontrakt ships, ``KONTRAKT_SPECS``) relative
to that root; a URL as ``host[_port]/path``; any other file by its absolute path without the
leading slash. Whenever the place is not a path of the working directory, the result's property
``documentUri`` keeps the original URL or path.

Only the standard library is used, so every command can write SARIF with the core install.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal
from urllib.parse import quote, urlsplit

__all__ = [
    "SARIF_SCHEMA",
    "SARIF_VERSION",
    "Finding",
    "RuleDescriptor",
    "SarifLevel",
    "artifact_uri",
    "dumps",
    "sarif_log",
    "tool_version",
]

SARIF_VERSION = "2.1.0"
SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
INFORMATION_URI = "https://github.com/kontrakt-dev/kontrakt"
SRCROOT = "%SRCROOT%"

SarifLevel = Literal["error", "warning", "note"]


@dataclass(frozen=True)
class RuleDescriptor:
    """What a rule id stands for: a short title, a longer text, a link, its usual level."""

    id: str
    title: str = ""
    description: str = ""
    help_uri: str | None = None
    level: SarifLevel | None = None
    properties: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Finding:
    """One result: a rule broken (or merely noted) at one place in one document."""

    rule: str
    level: SarifLevel
    message: str
    file: str | None = None
    line: int | None = None
    pointer: str | None = None
    properties: Mapping[str, Any] = field(default_factory=dict)


def _is_url(location: str) -> bool:
    return location.split(":", 1)[0].lower() in ("http", "https", "file")


def artifact_uri(
    location: str, base: Path | None = None, roots: Mapping[str, Path] | None = None
) -> tuple[str, str | None]:
    """``(uri, uriBaseId)`` for a path or URL, always a relative reference (see the module's
    docstring): below ``base`` (the working directory) under ``%SRCROOT%``, below one of ``roots``
    under its name, else a stand-in path with no base."""
    if _is_url(location):
        parts = urlsplit(location)
        if parts.scheme.lower() != "file":
            host = (parts.hostname or "") + (f"_{parts.port}" if parts.port else "")
            return quote(f"{host}{parts.path}".strip("/") or host), None
        location = parts.path
    root = (base or Path.cwd()).resolve()
    path = Path(location)
    absolute = (path if path.is_absolute() else root / path).resolve()
    for name, folder in ((SRCROOT, root), *(roots or {}).items()):
        try:
            return quote(absolute.relative_to(folder.resolve()).as_posix()), name
        except ValueError:
            continue
    return quote(absolute.as_posix().lstrip("/")), None


def _fingerprint(finding: Finding, uri: str) -> str:
    # Stable across edits that move lines: the rule, the document and the pointer.
    key = "\0".join((finding.rule, uri, finding.pointer or "", finding.message))
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]


def _result(
    finding: Finding, index: dict[str, int], base: Path, roots: Mapping[str, Path]
) -> dict[str, Any]:
    result: dict[str, Any] = {
        "ruleId": finding.rule,
        "ruleIndex": index[finding.rule],
        "level": finding.level,
        "message": {"text": finding.message or finding.rule},
    }
    location: dict[str, Any] = {}
    uri = ""
    properties = dict(finding.properties)
    if finding.file:
        uri, base_id = artifact_uri(finding.file, base, roots)
        if base_id != SRCROOT:
            properties["documentUri"] = finding.file
        artifact: dict[str, Any] = {"uri": uri}
        if base_id is not None:
            artifact["uriBaseId"] = base_id
        physical: dict[str, Any] = {"artifactLocation": artifact}
        if finding.line is not None and finding.line >= 1:
            physical["region"] = {"startLine": finding.line}
        location["physicalLocation"] = physical
    if finding.pointer is not None:
        location["logicalLocations"] = [
            {"fullyQualifiedName": "#" + finding.pointer, "name": finding.pointer or "/"}
        ]
    if location:
        result["locations"] = [location]
    result["partialFingerprints"] = {"kontrakt/v1": _fingerprint(finding, uri)}
    if finding.pointer is not None:
        properties["jsonPointer"] = finding.pointer
    if properties:
        result["properties"] = properties
    return result


def _rule(descriptor: RuleDescriptor) -> dict[str, Any]:
    rule: dict[str, Any] = {"id": descriptor.id}
    if descriptor.title:
        rule["shortDescription"] = {"text": descriptor.title}
    if descriptor.description:
        rule["fullDescription"] = {"text": descriptor.description}
    if descriptor.help_uri:
        rule["helpUri"] = descriptor.help_uri
    if descriptor.level is not None:
        rule["defaultConfiguration"] = {"level": descriptor.level}
    if descriptor.properties:
        rule["properties"] = dict(descriptor.properties)
    return rule


def sarif_log(
    tool: str,
    findings: Iterable[Finding],
    rules: Sequence[RuleDescriptor] = (),
    *,
    version: str | None = None,
    base: Path | None = None,
    successful: bool = True,
    properties: Mapping[str, Any] | None = None,
    roots: Mapping[str, Path] | None = None,
) -> dict[str, Any]:
    """A SARIF 2.1.0 log of one run of ``tool`` (``kontrakt lint``, ...).

    Every rule a finding names is listed in the driver (``rules`` describe them; an id without a
    descriptor gets a bare entry). ``successful`` is the invocation's ``executionSuccessful``: false
    when the tool could not do its job (a provider that cannot be judged), not when it found
    problems. ``roots`` name folders outside the working directory whose files are written
    relative to them (``{"KONTRAKT_SPECS": Path(...)}``).
    """
    root = (base or Path.cwd()).resolve()
    found = list(findings)
    descriptors = {d.id: d for d in rules}
    for finding in found:
        descriptors.setdefault(finding.rule, RuleDescriptor(finding.rule))
    index = {rule_id: position for position, rule_id in enumerate(descriptors)}
    driver: dict[str, Any] = {
        "name": tool,
        "informationUri": INFORMATION_URI,
        "rules": [_rule(d) for d in descriptors.values()],
    }
    if version:
        driver["version"] = version
    run: dict[str, Any] = {
        "tool": {"driver": driver},
        "invocations": [{"executionSuccessful": successful}],
        "originalUriBaseIds": {
            name: {"uri": folder.resolve().as_uri() + "/"}
            for name, folder in {SRCROOT: root, **(roots or {})}.items()
        },
        "results": [_result(f, index, root, roots or {}) for f in found],
        "columnKind": "unicodeCodePoints",
    }
    if properties:
        run["properties"] = dict(properties)
    return {"$schema": SARIF_SCHEMA, "version": SARIF_VERSION, "runs": [run]}


def tool_version() -> str | None:
    """kontrakt's installed version (None from a bare source tree)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("kontrakt")
    except PackageNotFoundError:  # pragma: no cover - running from a bare source tree
        return None


def dumps(log: Mapping[str, Any]) -> str:
    return json.dumps(log, indent=2, ensure_ascii=False)

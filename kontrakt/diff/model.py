"""The values `kontrakt diff` produces: one `Change` per difference, judged by one `Rule`.

A change id is content-derived and stable, never a positional counter, so a later certificate can
name the changes (and through them the rules) a release invalidates. The scheme is

    <kind>:<scope>[:<location>]

- ``kind`` says what changed (``response-property-removed``, ``error-code-added``, ...);
- ``scope`` is the operation as ``<METHOD> <path>`` (the old document's path, or the new one's for an
  addition), or a document-level scope such as ``error-catalogue``, ``dataset UnitBasicInformation``
  or ``servers``;
- ``location`` is a readable place inside the scope: ``parameter header:PartyID``,
  ``response 200 application/json body.accounts[].status``, ``ACC-013`` ...

The same difference between the same two documents always gets the same id, whichever rule set
judges it: rule sets change verdicts and citations, never ids.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

__all__ = [
    "FORMATS",
    "Change",
    "DiffResult",
    "Direction",
    "MajorVersion",
    "Rule",
    "RuleTable",
    "Verdict",
]


# The report formats `kontrakt diff --format` offers (rendered by kontrakt.diff.report); here, with
# no dependency, so the CLI can name them without importing the renderers.
FORMATS = (
    "text",
    "json",
    "yaml",
    "markdown",
    "html",
    "junit",
    "sarif",
    "githubactions",
    "singleline",
)


class Verdict(enum.StrEnum):
    """How a change affects existing clients."""

    BREAKING = "breaking"
    WARN = "warn"
    ALLOWED = "allowed"

    @property
    def rank(self) -> int:
        return {"breaking": 0, "warn": 1, "allowed": 2}[self.value]


class Direction(enum.StrEnum):
    """Which way the changed data flows; a widening is safe in one direction only."""

    REQUEST = "request"
    RESPONSE = "response"
    NONE = "none"


@dataclass(frozen=True)
class Rule:
    """One versioning rule: its id, the verdict it gives, and a one-line citation.

    ``oasdiff`` names the corresponding oasdiff check id where one exists, so a reader can compare
    our verdict with that tool's.
    """

    id: str
    verdict: Verdict
    cites: str
    oasdiff: str = ""


RuleTable = dict[str, Rule]


@dataclass(frozen=True)
class Change:
    """One difference between the old and the new document, with the verdict of the rule applied."""

    id: str
    kind: str
    verdict: Verdict
    rule: str
    old_pointer: str | None
    new_pointer: str | None
    message: str
    operation: str = ""
    direction: Direction = Direction.NONE
    where: str = ""
    """The place inside the scope (parameter, body path, catalogue entry)."""
    text: str = ""
    """What happened, in a few words; ``message`` is scope, place and text together."""
    sanctioned: bool = False
    """True when a new major (URL) version covers this breaking change: a client must adapt, but
    the release itself keeps the publisher's promise."""

    def as_dict(self) -> dict[str, object]:
        return {
            "id": self.id,
            "kind": self.kind,
            "verdict": self.verdict.value,
            "rule": self.rule,
            "old_pointer": self.old_pointer,
            "new_pointer": self.new_pointer,
            "message": self.message,
            "operation": self.operation,
            "where": self.where,
            "direction": self.direction.value,
            "sanctioned": self.sanctioned,
        }


@dataclass(frozen=True)
class MajorVersion:
    """A new major version between the two documents, and where it was read."""

    old: str
    new: str
    source: str
    """``servers``, ``paths`` or ``info.version``."""

    @property
    def label(self) -> str:
        return f"{self.old} -> {self.new}"


@dataclass
class DiffResult:
    """Everything one comparison found, plus what is needed to judge and render it."""

    old_source: str
    new_source: str
    ruleset: str
    changes: list[Change] = field(default_factory=list)
    rules: RuleTable = field(default_factory=dict)
    major: MajorVersion | None = None
    notes: list[str] = field(default_factory=list)
    versioning: str = ""
    """Where the version that decides what may break was read: ``servers URL /v2``,
    ``paths /v1``, ``info.version 1.4.0``, or why there is none; every report names it."""
    info_major_moved: str = ""
    """``1.0.0 -> 2.0.0`` when info.version's major moved while a URL version decides (and did not
    move): such a bump does not excuse breaking changes, and the report says so."""

    def count(self, verdict: Verdict) -> int:
        return sum(1 for c in self.changes if c.verdict is verdict)

    @property
    def unsanctioned_breaking(self) -> list[Change]:
        return [c for c in self.changes if c.verdict is Verdict.BREAKING and not c.sanctioned]

    def fails(self, fail_on: str) -> bool:
        """Whether CI should fail: any unsanctioned breaking change, or also warnings with ``warn``."""
        if fail_on == "never":
            return False
        if self.unsanctioned_breaking:
            return True
        if fail_on == "warn":
            return any(c.verdict is Verdict.WARN and not c.sanctioned for c in self.changes)
        return False

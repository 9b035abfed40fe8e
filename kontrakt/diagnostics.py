"""Spec problems as values: one `Diagnostic` per finding, collected and reported together.

Every part of kontrakt that reads a document (lint, generator, diff) reports what it finds with the
file, the JSON pointer (RFC 6901) and, when known, the line, instead of raising on the first problem.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass

__all__ = ["Diagnostic", "Level", "escape", "format_text", "pointer", "to_json", "to_sarif"]


class Level(enum.StrEnum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True, order=True)
class Diagnostic:
    """One finding about one place in one document."""

    file: str
    pointer: str
    message: str
    level: Level = Level.ERROR
    line: int | None = None
    check: str = ""

    def format(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        ptr = f"#{self.pointer}" if self.pointer else "#"
        check = f" [{self.check}]" if self.check else ""
        return f"{where}: {self.level.value}: {ptr}: {self.message}{check}"


def escape(token: str | int) -> str:
    """Escape one reference token for a JSON pointer."""
    return str(token).replace("~", "~0").replace("/", "~1")


def pointer(parts: Iterable[str | int]) -> str:
    """Join reference tokens into a JSON pointer ("" is the whole document)."""
    return "".join("/" + escape(p) for p in parts)


def format_text(diagnostics: Sequence[Diagnostic]) -> str:
    return "\n".join(d.format() for d in diagnostics)


def to_json(diagnostics: Sequence[Diagnostic]) -> str:
    return json.dumps([asdict(d) for d in diagnostics], indent=2, ensure_ascii=False)


def to_sarif(diagnostics: Sequence[Diagnostic], tool: str = "kontrakt lint") -> str:
    """The diagnostics as a SARIF 2.1.0 log: the check is the rule id, the pointer the logical
    location, file and line the physical one."""
    from kontrakt.sarif import Finding, dumps, sarif_log, tool_version

    findings = [
        Finding(
            rule=d.check or "lint",
            level="error" if d.level is Level.ERROR else "warning",
            message=d.message,
            file=d.file or None,
            line=d.line,
            pointer=d.pointer,
        )
        for d in diagnostics
    ]
    return dumps(sarif_log(tool, findings, version=tool_version()))

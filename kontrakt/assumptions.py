"""Collecting `x-kontrakt-assumption` markers, so users see what is official and what is ours."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from kontrakt.diagnostics import pointer
from kontrakt.specfile import SpecLoadError, find_documents, read_spec

__all__ = ["Assumption", "collect_assumptions", "format_assumptions"]


@dataclass(frozen=True)
class Assumption:
    api: str
    id: str
    statement: str
    basis: str
    file: str
    pointer: str


def _walk(value: Any, parts: tuple[str, ...]) -> list[tuple[tuple[str, ...], dict[str, Any]]]:
    found: list[tuple[tuple[str, ...], dict[str, Any]]] = []
    if isinstance(value, dict):
        for key, child in value.items():
            if key in ("assumption", "x-kontrakt-assumption") and isinstance(child, dict):
                found.append(((*parts, key), child))
            else:
                found.extend(_walk(child, (*parts, key)))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found.extend(_walk(item, (*parts, str(index))))
    return found


def collect_assumptions(paths: list[Path]) -> list[Assumption]:
    """Every assumption in the documents under ``paths``, in document order."""
    result: list[Assumption] = []
    for path in find_documents(paths):
        try:
            spec = read_spec(path)
        except SpecLoadError:
            continue  # `kontrakt lint` reports unreadable files
        api = str((spec.data.get("x-kontrakt-api") or {}).get("id", path))
        for parts, item in _walk(spec.data, ()):
            result.append(
                Assumption(
                    api=api,
                    id=str(item.get("id", "?")),
                    statement=str(item.get("statement", "")),
                    basis=str(item.get("basis", "")),
                    file=str(path),
                    pointer=pointer(parts[:-1]),
                )
            )
    return result


def format_assumptions(items: list[Assumption], output_format: str = "text") -> str:
    if output_format == "json":
        return json.dumps([asdict(a) for a in items], indent=2, ensure_ascii=False)
    lines: list[str] = []
    current = None
    for item in items:
        if item.api != current:
            current = item.api
            lines.append(f"\n## {item.api}\n" if output_format == "markdown" else f"{item.api}")
        if output_format == "markdown":
            lines.append(f"- **{item.id}** {item.statement} (`#{item.pointer}`)")
        else:
            lines.append(f"  {item.id}  {item.statement}\n      at #{item.pointer}")
    lines.append(f"{len(items)} assumption(s)")
    return "\n".join(lines).strip()

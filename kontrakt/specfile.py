"""Reading OpenAPI documents from disk, keeping the line of every JSON pointer for diagnostics."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from kontrakt.diagnostics import Diagnostic, escape
from kontrakt.safeyaml import check_nodes

__all__ = ["SpecFile", "SpecLoadError", "find_documents", "read_spec"]

DOCUMENT_NAMES = ("openapi.yaml", "openapi.yml", "openapi.json")
SUFFIXES = (".yaml", ".yml", ".json")
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class SpecLoadError(Exception):
    """The file cannot be read as a YAML or JSON mapping; carries the diagnostic to report."""

    def __init__(self, diagnostic: Diagnostic) -> None:
        super().__init__(diagnostic.format())
        self.diagnostic = diagnostic


@dataclass
class SpecFile:
    """A parsed document, its path, and the source line of each JSON pointer."""

    path: Path
    data: dict[str, Any]
    lines: dict[str, int] = field(default_factory=dict)
    integer_keys: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        return str(self.path)

    def line(self, ptr: str) -> int | None:
        """The line of ``ptr``, or of its nearest ancestor that has one."""
        while True:
            if ptr in self.lines:
                return self.lines[ptr]
            if not ptr:
                return None
            ptr = ptr.rsplit("/", 1)[0]


def _index(node: yaml.Node, ptr: str, lines: dict[str, int], integer_keys: list[str]) -> None:
    lines.setdefault(ptr, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            token = str(key.value)
            child = f"{ptr}/{escape(token)}"
            if key.tag == "tag:yaml.org,2002:int":
                integer_keys.append(child)
            lines.setdefault(child, key.start_mark.line + 1)
            _index(value, child, lines, integer_keys)
    elif isinstance(node, yaml.SequenceNode):
        for position, item in enumerate(node.value):
            _index(item, f"{ptr}/{position}", lines, integer_keys)


def _stringify_keys(node: Any) -> Any:
    if isinstance(node, dict):
        return {str(k): _stringify_keys(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_stringify_keys(v) for v in node]
    return node


def read_spec(path: Path) -> SpecFile:
    """Parse ``path``; keys written as bare integers (``200:``) are kept as strings and remembered."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SpecLoadError(Diagnostic(str(path), "", f"cannot read file: {exc}")) from exc
    lines: dict[str, int] = {}
    integer_keys: list[str] = []
    try:
        if path.suffix == ".json":
            data = json.loads(text)
        else:
            # Parse once (libyaml when present): the node tree gives the lines, then the data.
            loader = _Loader(text)
            try:
                node = loader.get_single_node()
                if node is not None:
                    check_nodes(node)
                data = loader.construct_document(node) if node is not None else None
            finally:
                loader.dispose()
            if node is not None:
                _index(node, "", lines, integer_keys)
    except RecursionError:
        raise SpecLoadError(
            Diagnostic(str(path), "", "not valid YAML/JSON: nested too deeply")
        ) from None
    except (yaml.YAMLError, json.JSONDecodeError) as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else getattr(exc, "lineno", None)
        raise SpecLoadError(
            Diagnostic(str(path), "", f"not valid YAML/JSON: {exc}", line=line)
        ) from exc
    if not isinstance(data, dict):
        raise SpecLoadError(Diagnostic(str(path), "", "the document is not a mapping"))
    return SpecFile(path=path, data=_stringify_keys(data), lines=lines, integer_keys=integer_keys)


def find_documents(paths: list[Path]) -> list[Path]:
    """Expand directories to the OpenAPI documents inside them, in a stable order.

    A directory holding `openapi.yaml|yml|json` files (like specs/) yields just those; any other
    directory yields every YAML and JSON file in it.
    """
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            named = sorted(p for p in path.rglob("*") if p.name in DOCUMENT_NAMES)
            found.extend(named or sorted(p for p in path.rglob("*") if p.suffix in SUFFIXES))
        else:
            found.append(path)
    return found

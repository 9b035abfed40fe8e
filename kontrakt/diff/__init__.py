"""`kontrakt diff`: does a new OpenAPI document keep the versioning promises of the old one?

Compares two documents (files, URLs or a running provider's published description, or DAN
metadata snapshots) and lists every change with a stable id, JSON pointers into both sides and a
verdict (``breaking``, ``warn``, ``allowed``) citing the rule applied. Rule sets: ``generic``
(OpenAPI compatibility, oasdiff-style, request and response directions), ``dan`` (data.altinn.no
"Versjonering": frozen dataset fields, codes only added, 12-month retirement) and ``sdir``
(major version in the URL, atomic batches).

    from kontrakt.diff import diff_sources, render
    result = diff_sources("old.yaml", "new.yaml", "dan")
    print(render(result, "markdown"))

The public names are loaded from their modules on first use, so that importing
`kontrakt.diff.command` (as the CLI does at start-up) loads no rule tables or HTTP client.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kontrakt.diff.engine import RULESETS, all_rules, diff_documents, diff_sources
    from kontrakt.diff.load import Document, LoadError, load_document
    from kontrakt.diff.model import Change, DiffResult, Direction, MajorVersion, Rule, Verdict
    from kontrakt.diff.report import FORMATS, render

__all__ = [
    "FORMATS",
    "RULESETS",
    "Change",
    "DiffResult",
    "Direction",
    "Document",
    "LoadError",
    "MajorVersion",
    "Rule",
    "Verdict",
    "all_rules",
    "diff_documents",
    "diff_sources",
    "load_document",
    "render",
]

_MODULES = {
    "RULESETS": "engine",
    "all_rules": "engine",
    "diff_documents": "engine",
    "diff_sources": "engine",
    "Document": "load",
    "LoadError": "load",
    "load_document": "load",
    "Change": "model",
    "DiffResult": "model",
    "Direction": "model",
    "MajorVersion": "model",
    "Rule": "model",
    "Verdict": "model",
    "FORMATS": "report",
    "render": "report",
}


def __getattr__(name: str) -> Any:
    module = _MODULES.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from importlib import import_module

    value = getattr(import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value

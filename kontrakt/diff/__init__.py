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
"""

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

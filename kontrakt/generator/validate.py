"""Validate stage: `kontrakt lint` on the loaded document, with the generator's tolerance.

Authored contracts (see `generator.load`) get the full house rules, and any error stops their
generation: the generator never builds code from a contract that lint rejects. Foreign documents
get the OpenAPI and reference checks only (``authored=False``); their errors become warnings
(best-effort output), except the ones the generator cannot work around: an unsupported version or
a ``$ref`` that does not resolve. A missing or duplicate operationId is not reported here: the
parser derives or disambiguates the name and says so itself; keys written as bare numbers are
reported once per document.
"""

from __future__ import annotations

from dataclasses import replace

from kontrakt.diagnostics import Diagnostic, Level
from kontrakt.generator.load import Document
from kontrakt.lint import lint_document

__all__ = ["FATAL_CHECKS", "validate"]

# Lint checks whose errors stop generation even for a foreign document.
FATAL_CHECKS = frozenset({"openapi-version", "refs"})


def validate(document: Document) -> list[Diagnostic]:
    """The lint findings for ``document``, graded for generation."""
    try:
        found = lint_document(document.spec, authored=document.authored)
    except Exception as exc:  # the OpenAPI validator can fail on badly malformed documents
        message = f"kontrakt lint could not check this document ({type(exc).__name__}: {exc}); " + (
            "it is not generated" if document.authored else "generating without validation"
        )
        level = Level.ERROR if document.authored else Level.WARNING
        return [Diagnostic(document.spec.name, "", message, level, None, "openapi")]
    if document.authored:
        return found
    graded: list[Diagnostic] = []
    bare = [d for d in found if d.check == "quoted-keys"]
    if bare:
        # Often every status code of a document (Bits' KAR): one finding says it all.
        first = bare[0]
        message = (
            f"{len(bare)} key(s) written as bare numbers (such as `200:`), first here; they are "
            "read as strings, but quote them to make the document valid OpenAPI"
        )
        graded.append(replace(first, message=message, level=Level.WARNING))
    for diagnostic in found:
        if diagnostic.check in ("operation-id", "quoted-keys"):
            continue
        if diagnostic.level is Level.ERROR and diagnostic.check not in FATAL_CHECKS:
            diagnostic = replace(diagnostic, level=Level.WARNING)
        graded.append(diagnostic)
    return graded

"""One syntax tree per module text, shared by the passes that read the models module.

The models stage rewrites datamodel-code-generator's output in several passes (constrained types,
typed defaults, bare collections, overrides) and the parse stage once more (unions); each reads
the module by syntax tree. Parsing is what they cost: on GitHub's REST description (2.8 MB of
models) one `ast.parse` takes 1-2 s and the passes took five. Most passes change nothing on most
documents, so the next one reads the same text: `tree` parses a text once and hands the same tree
to every pass that asks for that text, until the text changes or `forget` is called.

The passes only read the tree (never change it), which is what makes sharing it safe.
"""

from __future__ import annotations

import ast

__all__ = ["forget", "tree"]

_last: tuple[str, ast.Module] | None = None


def tree(source: str) -> ast.Module:
    """The syntax tree of ``source``, parsed once for as long as it is the text asked about."""
    global _last
    if _last is not None and (_last[0] is source or _last[0] == source):
        return _last[1]
    _last = None  # the previous tree is freed before the next is built (peak memory)
    parsed = ast.parse(source)
    _last = (source, parsed)
    return parsed


def forget() -> None:
    """Drop the tree held (after the last pass, so that its memory is freed)."""
    global _last
    _last = None

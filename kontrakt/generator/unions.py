"""Unions with an open branch: the typed branches first, validated left to right.

pydantic's default ("smart") union mode picks the branch that validates most exactly, and a branch
that accepts anything (`RootModel[Any]`, `dict[str, Any]`, `Any`) wins that contest against a
model with dates or enums, which only validates in lax mode: DAN's `DatasetBody =
RootModel[Evidence | UnenvelopedEvidence]` read an enveloped answer as the untyped
`UnenvelopedEvidence`. So in every union of the generated models that has an open branch and a
typed one, the typed branches move to the front (in the document's order), the open ones after
them, `None` last, and the union gets `Field(union_mode="left_to_right")`: the first branch that
validates wins, and the open branch only takes what no typed branch accepts. Unions without an
open branch are left as datamodel-code-generator wrote them (smart mode suits them).

`prefer_typed_unions` works on the module text (by syntax tree, edits by position), so the output
stays byte-identical for the same input; it is applied by `generator.parse.parse` to the models
module the models stage built.
"""

from __future__ import annotations

import ast
import re

from kontrakt.generator import syntax

__all__ = ["UNION_MODE", "open_classes", "prefer_typed_unions"]

UNION_MODE = 'union_mode="left_to_right"'

# A RootModel that accepts any value or any object: an open branch wherever it is named.
_OPEN_CLASS = re.compile(
    r"^class (\w+)\(RootModel\[(?:Any|dict\[str, Any\])\]\):", flags=re.MULTILINE
)
_OPEN_INLINE = ("Any", "dict[str, Any]")
_WORD = re.compile(r"\w+")


def open_classes(source: str) -> frozenset[str]:
    """The names of the module's root models whose root accepts any value (or any object)."""
    return frozenset(_OPEN_CLASS.findall(source))


def _members(node: ast.expr) -> list[ast.expr]:
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
        return [*_members(node.left), *_members(node.right)]
    return [node]


def _is_union(node: ast.AST | None) -> bool:
    return isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr)


class _Offsets:
    """Character offsets of (line, UTF-8 byte column) positions, as `ast` reports them."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.starts = [0]
        for line in source.splitlines(keepends=True):
            self.starts.append(self.starts[-1] + len(line))

    def at(self, line: int, column: int) -> int:
        text = self.source[self.starts[line - 1] : self.starts[line]]
        return self.starts[line - 1] + len(text.encode("utf-8")[:column].decode("utf-8"))

    def span(self, node: ast.expr) -> tuple[int, int]:
        start = self.at(node.lineno, node.col_offset)
        end = self.at(node.end_lineno or node.lineno, node.end_col_offset or 0)
        return start, end


def _field_call(parents: dict[int, ast.AST], union: ast.expr) -> ast.Call | None:
    """The `Field(...)` of an `Annotated[union, Field(...)]` around ``union``, if any."""
    arguments = parents.get(id(union))
    subscript = parents.get(id(arguments))
    if not (
        isinstance(arguments, ast.Tuple)
        and arguments.elts
        and arguments.elts[0] is union
        and isinstance(subscript, ast.Subscript)
        and subscript.slice is arguments
        and isinstance(subscript.value, ast.Name)
        and subscript.value.id == "Annotated"
    ):
        return None
    for extra in arguments.elts[1:]:
        if (
            isinstance(extra, ast.Call)
            and isinstance(extra.func, ast.Name)
            and extra.func.id == "Field"
        ):
            return extra
    return None


def prefer_typed_unions(source: str) -> str:
    """``source`` with every union that mixes open and typed branches rewritten (see above)."""
    opened = open_classes(source)
    if not opened and not any(f"{n} |" in source or f"| {n}" in source for n in _OPEN_INLINE):
        return source
    tree = syntax.tree(source)
    offsets = _Offsets(source)

    def text(node: ast.expr) -> str:
        start, end = offsets.span(node)
        return source[start:end]

    def is_open(node: ast.expr) -> bool:
        return (isinstance(node, ast.Name) and node.id in opened) or text(node) in _OPEN_INLINE

    def may_change(place: ast.expr) -> bool:
        """False when no union in ``place`` can have an open branch (read from its text)."""
        written = text(place)
        return "|" in written and (
            "Any" in written or not opened.isdisjoint(_WORD.findall(written))
        )

    edits: list[tuple[int, int, str]] = []
    for cls in (n for n in tree.body if isinstance(n, ast.ClassDef)):
        places: list[tuple[ast.expr, bool]] = [(base, False) for base in cls.bases]
        places += [(s.annotation, True) for s in cls.body if isinstance(s, ast.AnnAssign)]
        for place, annotated in places:
            if not may_change(place):
                continue
            # A union's parents (another union, the Annotated[...] around it) are in its place.
            parents: dict[int, ast.AST] = {}
            for node in ast.walk(place):
                for child in ast.iter_child_nodes(node):
                    parents[id(child)] = node
            for node in ast.walk(place):
                if not isinstance(node, ast.expr) or not _is_union(node):
                    continue
                if _is_union(parents.get(id(node))):
                    continue
                members = _members(node)
                nones = [m for m in members if isinstance(m, ast.Constant) and m.value is None]
                rest = [m for m in members if m not in nones]
                wide = [m for m in rest if is_open(m)]
                typed = [m for m in rest if m not in wide]
                if not wide or not typed:
                    continue
                union = " | ".join(text(m) for m in [*typed, *wide, *nones])
                start, end = offsets.span(node)
                if not annotated:  # a class base, RootModel[...]: the order only
                    edits.append((start, end, union))
                    continue
                field = _field_call(parents, node)
                if field is None:
                    edits.append((start, end, f"Annotated[{union}, Field({UNION_MODE})]"))
                    continue
                edits.append((start, end, union))
                if any(keyword.arg == "union_mode" for keyword in field.keywords):
                    continue  # already rewritten (or chosen by the document's generator)
                call_start, call_end = offsets.span(field)
                call = source[call_start:call_end]
                inner = call[call.index("(") + 1 : -1].strip().rstrip(",")
                joined = f"{inner}, {UNION_MODE}" if inner else UNION_MODE
                edits.append((call_start, call_end, f"{call[: call.index('(')]}({joined})"))
    if not edits:
        return source
    kept: list[tuple[int, int, str]] = []
    for start, end, new in sorted(edits):
        if kept and start < kept[-1][1]:
            continue  # inside an edit already made (a union nested in a rewritten one)
        kept.append((start, end, new))
    for start, end, new in reversed(kept):
        source = source[:start] + new + source[end:]
    # The edits are inside classes: the module's imports are still those of the tree read above.
    return _with_imports(source, tree)


def _with_imports(source: str, tree: ast.Module) -> str:
    """``source`` importing `typing.Annotated` and `pydantic.Field` (the rewrite may add both);
    ``tree`` holds the module's imports."""
    imported = {
        (node.module, alias.name)
        for node in tree.body
        if isinstance(node, ast.ImportFrom)
        for alias in node.names
    }
    lines = [
        f"from {module} import {name}\n"
        for module, name in (("typing", "Annotated"), ("pydantic", "Field"))
        if (module, name) not in imported
    ]
    if not lines:
        return source
    anchor = "from __future__ import annotations\n"
    where = source.find(anchor)
    where = where + len(anchor) if where >= 0 else 0
    return source[:where] + "".join(lines) + source[where:]

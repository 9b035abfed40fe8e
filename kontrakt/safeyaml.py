"""YAML from documents we did not write: aliases, nesting and cycles within a budget.

A YAML alias shares a node, so 759 bytes of nested aliases ("billion laughs") compose to a
hundred nodes that every walker then visits ten billion times. Before anything walks or builds a
composed document, `check_nodes` counts the nodes the aliases expand to (each shared node once,
by identity), refuses alias cycles and nesting deeper than any real document, and raises
`YamlBudgetError` (a `yaml.YAMLError`, so callers report it like any other unreadable YAML).
"""

from __future__ import annotations

from typing import Any

import yaml

__all__ = ["MAX_DEPTH", "YamlBudgetError", "check_nodes", "safe_load"]

MAX_DEPTH = 500
# Expansion allowed beyond the composed size: real documents share a few anchors, bombs share
# everything. A document with no alias expands to exactly its own size and always passes.
EXPANSION_FACTOR = 10
EXPANSION_FLOOR = 1_000_000

_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class YamlBudgetError(yaml.YAMLError):
    """The YAML is well formed but would expand beyond what any real document needs."""


def check_nodes(root: yaml.Node) -> None:
    """Raise `YamlBudgetError` for alias cycles, deep nesting or an alias bomb under `root`."""
    expanded: dict[int, int] = {}  # node id -> size with aliases expanded
    on_path: set[int] = set()
    # Iterative post-order walk: (node, depth, children visited?)
    stack: list[tuple[yaml.Node, int, bool]] = [(root, 1, False)]
    while stack:
        node, depth, done = stack.pop()
        key = id(node)
        if done:
            on_path.discard(key)
            expanded[key] = 1 + sum(expanded[id(c)] for c in _children(node))
            continue
        if key in expanded:
            continue
        if key in on_path:
            raise YamlBudgetError("a YAML alias refers to a node that contains it (a cycle)")
        if depth > MAX_DEPTH:
            raise YamlBudgetError(f"the YAML nests deeper than {MAX_DEPTH} levels")
        on_path.add(key)
        stack.append((node, depth, True))
        for child in _children(node):
            child_key = id(child)
            if child_key in on_path:
                raise YamlBudgetError("a YAML alias refers to a node that contains it (a cycle)")
            if child_key not in expanded:
                stack.append((child, depth + 1, False))
    distinct = len(expanded)
    total = expanded[id(root)]
    limit = max(EXPANSION_FACTOR * distinct, EXPANSION_FLOOR)
    if total > limit:
        raise YamlBudgetError(
            f"YAML aliases expand {distinct} nodes to {total} (limit {limit}): an alias bomb?"
        )


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def safe_load(text: str, loader: Any = None) -> Any:
    """`yaml.safe_load` (or with `loader`, a SafeLoader subclass) within the budget."""
    instance = (loader or _Loader)(text)
    try:
        node = instance.get_single_node()
        if node is None:
            return None
        check_nodes(node)
        return instance.construct_document(node)
    finally:
        instance.dispose()

"""Route order of the generated server: a concrete path moves just before the first template
that would shadow it (`/items/batch` before `/items/{id}`), everything else keeps document order;
checked against the rule applied literally (every earlier route compared) on a set of paths with
the awkward cases: the same path twice, templates first, the root, different lengths."""

from __future__ import annotations

import itertools
import random
from dataclasses import dataclass
from typing import cast

from kontrakt.generator.views import OperationView, _route_order


@dataclass(frozen=True)
class _Op:
    path: str
    method: str


def _literal(operations: list[_Op]) -> list[_Op]:
    def shadows(template: str, path: str) -> bool:
        outer, inner = template.strip("/").split("/"), path.strip("/").split("/")
        return (
            template != path
            and len(outer) == len(inner)
            and all(
                a == b or (a.startswith("{") and not b.startswith("{"))
                for a, b in zip(outer, inner, strict=True)
            )
        )

    routes: list[_Op] = []
    for op in operations:
        at = next((i for i, r in enumerate(routes) if shadows(r.path, op.path)), len(routes))
        routes.insert(at, op)
    return routes


def _order(operations: list[_Op]) -> list[_Op]:
    views = cast(tuple[OperationView, ...], tuple(operations))
    return cast(list[_Op], list(_route_order(views)))


def test_a_concrete_path_goes_before_the_template_that_shadows_it() -> None:
    ops = [
        _Op("/items/{id}", "get"),
        _Op("/items", "get"),
        _Op("/items/batch", "post"),
        _Op("/items/{id}", "delete"),
        _Op("/items/batch", "get"),
    ]
    assert [(op.path, op.method) for op in _order(ops)] == [
        ("/items/batch", "post"),
        ("/items/batch", "get"),
        ("/items/{id}", "get"),
        ("/items", "get"),
        ("/items/{id}", "delete"),
    ]


def test_the_order_is_the_rule_applied_literally() -> None:
    segments = ["a", "b", "{x}", "{y}"]
    paths = ["/"] + [
        "/" + "/".join(parts)
        for length in (1, 2, 3)
        for parts in itertools.product(segments, repeat=length)
    ]
    shuffled = random.Random(16)
    for _ in range(20):
        ops = [_Op(path, method) for path in paths for method in ("get", "put")]
        shuffled.shuffle(ops)
        assert _order(ops) == _literal(ops)

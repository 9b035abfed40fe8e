"""The subset of JMESPath the DAN sandbox applies for the `query` parameter (DAN-QUERY-JMESPATH).

DAN runs full JMESPath over its JSON answers. The project has no JMESPath library, so the sandbox
understands the expressions consumers use in practice: field access (`OrganizationName`,
`a.b`, `"quoted name"`), indexes (`[0]`, `[-1]`), wildcard projections (`[*].evidenceCodeName`,
`evidenceCodes[*].values[*].evidenceValueName`) and `@`. Anything else is an expression that
"could not be applied" and answers 1027, as a syntax error would in DAN (assumption for the lead:
A-DAN sandbox JMESPath subset).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

__all__ = ["QueryError", "apply", "compile_query"]

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<ident>[A-Za-z_][A-Za-z0-9_]*)
      | "(?P<quoted>(?:[^"\\]|\\.)*)"
      | \[(?P<index>-?\d+)\]
      | (?P<star>\[\*\])
      | (?P<dot>\.)
      | (?P<current>@)
    )""",
    re.VERBOSE,
)


class QueryError(ValueError):
    """The expression is outside the supported subset or not JMESPath at all."""


@dataclass(frozen=True)
class _Field:
    name: str


@dataclass(frozen=True)
class _Index:
    index: int


@dataclass(frozen=True)
class _Project:
    pass


_Step = _Field | _Index | _Project


def compile_query(expression: str) -> tuple[_Step, ...]:
    """The steps of `expression`, or QueryError."""
    steps: list[_Step] = []
    position = 0
    expect_name = True  # at the start or after a dot, a name (or @, [..]) must follow
    text = expression.strip()
    if not text:
        raise QueryError("the expression is empty")
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None or match.end() == position:
            raise QueryError(f"unexpected input at position {position}")
        position = match.end()
        if match.group("dot") is not None:
            if expect_name:
                raise QueryError(f"unexpected '.' at position {match.start()}")
            expect_name = True
            continue
        if match.group("ident") is not None or match.group("quoted") is not None:
            if not expect_name:
                raise QueryError(f"a '.' is missing before position {match.start()}")
            name = match.group("ident")
            if name is None:
                name = re.sub(r"\\(.)", r"\1", match.group("quoted"))
            steps.append(_Field(name))
        elif match.group("current") is not None:
            if steps or not expect_name:
                raise QueryError("'@' may only start the expression")
        elif match.group("index") is not None:
            steps.append(_Index(int(match.group("index"))))
        else:
            steps.append(_Project())
        expect_name = False
    if expect_name:
        raise QueryError("the expression ends with '.'")
    return tuple(steps)


def _evaluate(steps: tuple[_Step, ...], value: Any) -> Any:
    for position, step in enumerate(steps):
        if isinstance(step, _Field):
            value = value.get(step.name) if isinstance(value, dict) else None
        elif isinstance(step, _Index):
            if not isinstance(value, list) or not -len(value) <= step.index < len(value):
                return None
            value = value[step.index]
        else:
            if not isinstance(value, list):
                return None
            rest = steps[position + 1 :]
            projected = (_evaluate(rest, item) for item in value)
            return [item for item in projected if item is not None]
        if value is None:
            return None
    return value


def apply(expression: str, document: Any) -> Any:
    """`expression` applied to a JSON document (JMESPath semantics: a missing member is null)."""
    return _evaluate(compile_query(expression), document)

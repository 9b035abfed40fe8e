"""The `query` parameter of DAN (DAN-QUERY-JMESPATH): JMESPath over a JSON answer.

DAN applies a consumer's JMESPath expression to its JSON answers; the sandbox does the same with
the `jmespath` library. An expression that does not compile, or fails while it is applied (a
function on the wrong type), is a `QueryError`, which the provider answers with code 1027.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import jmespath
from jmespath.exceptions import JMESPathError
from jmespath.parser import ParsedResult

__all__ = ["QueryError", "apply", "compile_query"]


class QueryError(ValueError):
    """The expression is not JMESPath, or cannot be applied to the answer."""


@lru_cache(maxsize=256)
def compile_query(expression: str) -> ParsedResult:
    """The compiled expression (cached: consumers repeat the same few queries)."""
    try:
        return jmespath.compile(expression)
    except JMESPathError as exc:
        raise QueryError(f"not a JMESPath expression: {exc}") from None


def apply(expression: str, data: Any) -> Any:
    """The result of `expression` on `data`."""
    try:
        return compile_query(expression).search(data)
    except JMESPathError as exc:
        raise QueryError(f"the expression cannot be applied: {exc}") from None

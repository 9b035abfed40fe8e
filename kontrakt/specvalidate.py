"""The OpenAPI structural validator lint runs: its bookkeeping made linear, and a progress hook.

openapi-spec-validator 0.8 remembers the schemas it has visited and meta-checked, and the
operationIds it has seen, in Python lists and asks `x in list` for each one it walks, so a
document with n schemas costs n^2 list scans: 39 of the 63 s an 8 MB, 4,000-operation document
took were spent there. These subclasses swap the lists for a list-compatible registry backed by a
set; what is validated, and every message, stays the validator's own. `validator_for` also lets
the caller count operations as they are validated (lint's progress line on large documents).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterator
from typing import Any

from openapi_spec_validator import OpenAPIV30SpecValidator, OpenAPIV31SpecValidator
from openapi_spec_validator.validation import keywords


class _Seen(list[Any]):
    """A list whose `in` is a set lookup (the validator only appends to it and asks it)."""

    def __init__(self) -> None:
        super().__init__()
        self._members: set[Hashable] = set()

    def append(self, item: Any) -> None:
        self._members.add(item)
        super().append(item)

    def __contains__(self, item: object) -> bool:
        return item in self._members


class _Linear30Schema(keywords.OpenAPIV30SchemaValidator):
    def __init__(self, registry: Any) -> None:
        super().__init__(registry)
        self.visited_schema_ids = _Seen()
        self.meta_checked_schema_ids = _Seen()


class _Linear31Schema(keywords.OpenAPIV31SchemaValidator):
    def __init__(self, registry: Any) -> None:
        super().__init__(registry)
        self.visited_schema_ids = _Seen()
        self.meta_checked_schema_ids = _Seen()


class _LinearOperation(keywords.OperationValidator):
    def __init__(self, registry: Any) -> None:
        super().__init__(registry)
        self.operation_ids_registry = _Seen()


class OpenAPI30Validator(OpenAPIV30SpecValidator):
    keyword_validators = {  # noqa: RUF012 - upstream's class attribute, never mutated
        **OpenAPIV30SpecValidator.keyword_validators,
        "schema": _Linear30Schema,
        "operation": _LinearOperation,
    }


class OpenAPI31Validator(OpenAPIV31SpecValidator):
    keyword_validators = {  # noqa: RUF012 - upstream's class attribute, never mutated
        **OpenAPIV31SpecValidator.keyword_validators,
        "schema": _Linear31Schema,
        "operation": _LinearOperation,
    }


def validator_for(
    version: str, on_operation: Callable[[], None] | None = None
) -> type[OpenAPI30Validator] | type[OpenAPI31Validator]:
    """The validator class for an `openapi:` version (3.0.x or 3.1.x), calling `on_operation`
    before each operation it validates."""
    base: type[OpenAPI30Validator] | type[OpenAPI31Validator]
    base = OpenAPI31Validator if version.startswith("3.1") else OpenAPI30Validator
    if on_operation is None:
        return base
    tick = on_operation

    class _CountedOperation(_LinearOperation):
        def __call__(self, *args: Any, **kwargs: Any) -> Iterator[Any]:
            tick()
            yield from super().__call__(*args, **kwargs)

    keywords_ = {**base.keyword_validators, "operation": _CountedOperation}
    return type(base.__name__, (base,), {"keyword_validators": keywords_})

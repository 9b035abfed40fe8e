"""JSON pointers (RFC 6901) with one extension: `*` stands for every item of an array.

The specs name where a value sits in a body with such pointers (`x-kontrakt-error-catalogue`
`code-pointer`: `/code`, `/error/code`, `/errors/*/code`; `x-kontrakt-pagination` `items` and
`links`). Lookups never raise: a body that does not have the shape the pointer expects simply has
no value there.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

__all__ = ["MISSING", "find_all", "find_first", "parent_pointer", "split"]


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()
"""What `find_first` answers when nothing is at the pointer (JSON `null` is a value)."""


def split(pointer: str) -> list[str]:
    """The unescaped reference tokens of a pointer; "" is the whole document."""
    if pointer == "":
        return []
    if not pointer.startswith("/"):
        raise ValueError(f"a JSON pointer starts with '/': {pointer!r}")
    return [t.replace("~1", "/").replace("~0", "~") for t in pointer[1:].split("/")]


def parent_pointer(pointer: str) -> str:
    """The pointer one level up (`/errors/*/code` -> `/errors/*`)."""
    return pointer.rpartition("/")[0] if pointer else ""


def _walk(value: Any, tokens: list[str]) -> Iterator[Any]:
    if not tokens:
        yield value
        return
    head, rest = tokens[0], tokens[1:]
    if isinstance(value, dict):
        if head in value:
            yield from _walk(value[head], rest)
    elif isinstance(value, list):
        if head == "*":
            for item in value:
                yield from _walk(item, rest)
        elif head.isdigit() and (head == "0" or not head.startswith("0")):
            index = int(head)
            if index < len(value):
                yield from _walk(value[index], rest)


def find_all(document: Any, pointer: str) -> Iterator[Any]:
    """Every value at the pointer, in document order (more than one only through `*`)."""
    return _walk(document, split(pointer))


def find_first(document: Any, pointer: str) -> Any:
    """The first value at the pointer, or `MISSING`."""
    return next(find_all(document, pointer), MISSING)

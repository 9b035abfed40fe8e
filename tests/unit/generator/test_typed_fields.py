"""The bare-collection pass of the models stage: ``list``/``dict`` written without items become
``list[Any]``/``dict[str, Any]`` wherever a class uses them (bases, annotations, inside
``Annotated``), and nothing else changes; the pass reads only classes whose text has the word.
A field whose default is None admits None in its annotation (unless it already does)."""

from __future__ import annotations

import textwrap

from kontrakt.generator.models import _typed_fields

SOURCE = textwrap.dedent(
    """\
    from __future__ import annotations

    from pydantic import BaseModel, Field, RootModel


    class Items(RootModel[list]):
        root: list


    class Holder(BaseModel):
        a: Annotated[dict, Field(description="a dict of anything")]
        b: list[int] | dict | None = None
        c: typing.list_of
        d: Annotated[list[str], Field(description="the list of names")]


    class Plain(BaseModel):
        e: int
    """
)


def test_bare_collections_get_their_items_typed() -> None:
    out = _typed_fields(SOURCE)
    assert "class Items(RootModel[list[Any]]):\n    root: list[Any]\n" in out
    assert 'a: Annotated[dict[str, Any], Field(description="a dict of anything")]' in out
    assert "b: list[int] | dict[str, Any] | None = None" in out
    assert "c: typing.list_of\n" in out
    assert 'd: Annotated[list[str], Field(description="the list of names")]' in out
    assert "from typing import Any\n" in out


def test_a_module_without_bare_collections_is_returned_as_is() -> None:
    text = 'class A(BaseModel):\n    a: Annotated[list[int], Field(description="a list")] = []\n'
    assert _typed_fields(text) is text


def test_a_field_defaulting_to_none_admits_none() -> None:
    text = textwrap.dedent(
        """\
        from __future__ import annotations

        from typing import Any


        class Optional(BaseModel):
            a: str = None
            b: int | None = None
            c: Annotated[str, Field(description="c")] = None
            d: Any = None
            e: None | int = None
            f: list[int | None] = None
        """
    )
    out = _typed_fields(text)
    assert "    a: str | None = None\n" in out
    assert "    b: int | None = None\n" in out
    assert '    c: Annotated[str | None, Field(description="c")] = None\n' in out
    assert "    d: Any = None\n" in out
    assert "    e: None | int = None\n" in out
    assert "    f: list[int | None] = None\n" in out

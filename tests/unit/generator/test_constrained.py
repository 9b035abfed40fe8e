"""Constrained-type calls that datamodel-code-generator writes inside unions (``conint(ge=0)``)
become ``Annotated[int, Field(ge=0)]``, with the imports they need; a name that only contains one
of those words is no call to rewrite, and a module without them is returned as it is."""

from __future__ import annotations

import textwrap

from kontrakt.generator.models import _annotated_constraints

SOURCE = textwrap.dedent(
    """\
    from __future__ import annotations

    from pydantic import BaseModel


    class Limits(BaseModel):
        count: conint(ge=0) | None = None
        ratio: list[confloat(gt=0.0, lt=1.0)] | str
        code: constr(pattern='^[A-Z]{2}$') | int
    """
)


def test_constrained_calls_become_annotated_types() -> None:
    out = _annotated_constraints(SOURCE)
    assert "count: Annotated[int, Field(ge=0)] | None = None" in out
    assert "ratio: list[Annotated[float, Field(gt=0.0, lt=1.0)]] | str" in out
    assert "code: Annotated[str, Field(pattern='^[A-Z]{2}$')] | int" in out
    assert "from typing import Annotated\n" in out and "from pydantic import Field\n" in out


def test_words_that_contain_the_names_are_left_alone() -> None:
    text = 'class A(BaseModel):\n    a: Annotated[str, Field(description="constraints")]\n'
    assert _annotated_constraints(text) is text
    text = "class B(BaseModel):\n    b: xconint | myconstr\n"
    assert _annotated_constraints(text) is text

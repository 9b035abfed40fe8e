"""Unions with an open branch prefer the typed branches: DAN's `DatasetBody` reads an enveloped
answer as `Evidence` (pydantic's smart mode picked the untyped `UnenvelopedEvidence`), and the
rewrite of the models text is exact and leaves other unions alone."""

from __future__ import annotations

import json
import textwrap

import httpx
import pytest
from pydantic import TypeAdapter

from kontrakt.generated.dan_v1.models import DatasetBody, Evidence, UnenvelopedEvidence
from kontrakt.generator.unions import open_classes, prefer_typed_unions
from kontrakt.runtime.client.base import parse_json

ENVELOPED = {
    "evidenceStatus": {
        "evidenceCodeName": "UnitBasicInformation",
        "status": {"code": 1, "description": "Available"},
        "validFrom": "2025-06-02T10:15:00+02:00",
        "validTo": "2025-08-31T10:15:00+02:00",
    },
    "evidenceValues": [
        {
            "evidenceValueName": "OrganizationName",
            "source": "Enhetsregisteret",
            "valueType": "string",
            "value": "Eksempel AS",
        }
    ],
}


def test_an_enveloped_answer_is_typed() -> None:
    parsed = TypeAdapter(DatasetBody).validate_json(json.dumps(ENVELOPED))
    assert isinstance(parsed.root, Evidence)
    assert parsed.root.evidence_values[0].evidence_value_name == "OrganizationName"


@pytest.mark.parametrize("raw", [{"OrganizationName": "Eksempel AS"}, 12.5, "text", [1, 2]])
def test_anything_else_stays_unenveloped(raw: object) -> None:
    parse = parse_json(DatasetBody)
    parsed = parse(httpx.Response(200, content=json.dumps(raw).encode()))
    assert isinstance(parsed.root, UnenvelopedEvidence)
    assert parsed.root.root == raw


SOURCE = textwrap.dedent(
    """\
    from __future__ import annotations

    from typing import Any

    from pydantic import BaseModel, RootModel


    class Loose(RootModel[Any]):
        root: Any


    class Bag(RootModel[dict[str, Any]]):
        root: dict[str, Any]


    class Typed(BaseModel):
        a: int


    class Body(RootModel[Loose | Typed]):
        root: Loose | Typed


    class Holder(BaseModel):
        x: Bag | Typed | None = None
        y: Annotated[list[Loose | Typed], Field(description="many")]
        z: Annotated[Any | Typed, Field(description="øre")]
        plain: int | str
        only_open: Loose | None = None
    """
)


def test_the_rewrite_moves_typed_branches_first_and_validates_left_to_right() -> None:
    assert open_classes(SOURCE) == {"Loose", "Bag"}
    out = prefer_typed_unions(SOURCE)
    assert "class Body(RootModel[Typed | Loose]):" in out
    assert 'root: Annotated[Typed | Loose, Field(union_mode="left_to_right")]' in out
    assert 'x: Annotated[Typed | Bag | None, Field(union_mode="left_to_right")] = None' in out
    assert (
        'y: Annotated[list[Annotated[Typed | Loose, Field(union_mode="left_to_right")]], '
        'Field(description="many")]'
    ) in out
    assert 'z: Annotated[Typed | Any, Field(description="øre", union_mode="left_to_right")]' in out
    assert "plain: int | str\n" in out
    assert "only_open: Loose | None = None" in out
    assert "from typing import Annotated\n" in out and "from pydantic import Field\n" in out
    assert prefer_typed_unions(out) == out  # idempotent: already in order


def test_a_module_without_open_branches_is_returned_as_is() -> None:
    text = "class A(BaseModel):\n    a: int | str\n"
    assert prefer_typed_unions(text) is text

"""Accept negotiation and success-body serialisation."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, Field

from kontrakt.runtime.server import choose_media_type, serialize

JOSE, JSON = "application/jose", "application/json"


@pytest.mark.parametrize(
    ("accept", "offered", "chosen"),
    [
        (None, [JOSE, JSON], JOSE),
        ("", [JOSE, JSON], JOSE),
        ("*/*", [JOSE, JSON], JOSE),
        ("application/json", [JOSE, JSON], JSON),
        ("application/json", [JOSE], None),
        ("application/*", [JOSE, JSON], JOSE),
        ("application/json;q=0.5, application/jose;q=0.4", [JOSE, JSON], JSON),
        ("application/json, */*;q=0.1", [JOSE, JSON], JSON),
        ("*/*;q=0.1, application/jose;q=0", [JOSE, JSON], JSON),
        ("application/jose;q=0", [JOSE], None),
        ("text/csv", [JOSE, JSON], None),
        ("APPLICATION/JSON", [JOSE, JSON], JSON),
        ("application/json; charset=utf-8", [JOSE, JSON], JSON),
        ("application/json;q=abc, application/jose", [JOSE, JSON], JOSE),
        ("garbage", [JOSE, JSON], None),
    ],
)
def test_choose(accept: str | None, offered: list[str], chosen: str | None) -> None:
    assert choose_media_type(accept, offered) == chosen


@given(
    accept=st.text(max_size=80),
    offered=st.lists(st.sampled_from([JOSE, JSON, "text/csv"]), max_size=3),
)
@settings(max_examples=200, deadline=None, database=None)
def test_choice_is_always_offered(accept: str, offered: list[str]) -> None:
    chosen = choose_media_type(accept, offered)
    assert chosen is None or chosen in offered


class Item(BaseModel):
    account_reference: str = Field(alias="accountReference")
    note: str | None = None


def test_serialize_json_by_alias_without_nulls() -> None:
    response = serialize([Item(accountReference="r1")], JSON, status_code=201)
    assert response.status_code == 201 and response.media_type == JSON
    assert json.loads(bytes(response.body)) == [{"accountReference": "r1"}]


def test_serialize_other_media_types() -> None:
    assert bytes(serialize("a.b.c.d.e", JOSE).body) == b"a.b.c.d.e"
    encoded = serialize({"x": 1}, JOSE, encoders={JOSE: lambda content: b"sealed"})
    assert bytes(encoded.body) == b"sealed"
    problem = serialize({"x": 1}, "application/vnd.example+json")
    assert json.loads(bytes(problem.body)) == {"x": 1}
    with pytest.raises(TypeError, match="no encoder"):
        serialize({"x": 1}, JOSE)

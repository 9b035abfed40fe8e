"""Models in parts (`kontrakt.generator.partition`): how schemas are split, how the modules are
merged, and that a document built in parts is the same on every run and with any number of CPUs.
The generated code of documents built in parts is checked end to end (imports, operations, ruff,
mypy --strict) by tests/e2e/test_corpus.py."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from kontrakt.generator import partition
from kontrakt.generator.partition import Caught, Output, merge, plan
from kontrakt.generator.pipeline import build, generate

REPO = Path(__file__).resolve().parents[3]
BASELINE = REPO / "tests" / "corpus" / "openapi-python-client" / "baseline_openapi_3.0.json"


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _schemas() -> dict[str, Any]:
    padding = {"description": "x" * 400}
    return {
        "User": {"type": "object", "properties": {"name": {"type": "string"}}, **padding},
        "Repo": {"type": "object", "properties": {"owner": _ref("User")}, **padding},
        "Issue": {
            "type": "object",
            "properties": {"repo": _ref("Repo"), "author": _ref("User")},
            **padding,
        },
        "Tag": {"type": "string", **padding},
        "Team": {"type": "object", "properties": {"lead": _ref("User")}, **padding},
        "Odd~Name/x": {"type": "object", "properties": {"t": _ref("Tag")}, **padding},
        "Uses odd": {"type": "object", "properties": {"o": _ref("Odd~0Name~1x")}, **padding},
    }


def _closed(part: list[str], schemas: dict[str, Any]) -> bool:
    for name in part:
        text = json.dumps(schemas[name])
        for target in re.findall(r'"#/components/schemas/([^"]+)"', text):
            if target.replace("~1", "/").replace("~0", "~") not in part:
                return False
    return True


def test_a_small_document_is_one_part() -> None:
    schemas = _schemas()
    assert plan(schemas) == [list(schemas)]


def test_parts_are_closed_cover_everything_and_do_not_depend_on_the_machine(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(partition, "PART_BYTES", 1_000)
    schemas = _schemas()
    parts = plan(schemas)
    assert 2 <= len(parts) <= partition.MAX_PARTS
    assert set().union(*parts) == set(schemas)
    assert all(_closed(part, schemas) for part in parts)
    assert all(part == [n for n in schemas if n in part] for part in parts)  # document order
    assert plan(schemas) == parts  # no randomness, no CPU count


MODULE_A = """# header

from __future__ import annotations

from enum import Enum

from pydantic import BaseModel


class User(BaseModel):
    name: str


class Permissions(BaseModel):
    admin: bool


class Repo(BaseModel):
    owner: User
    permissions: Permissions
"""

MODULE_B = """# header

from __future__ import annotations

from enum import Enum

from pydantic import AnyUrl, BaseModel, Field


class User(BaseModel):
    name: str


class Permissions(BaseModel):
    pull: bool


class Kind(Enum):
    Permissions = "Permissions"


class Team(BaseModel):
    lead: User
    permissions: Permissions = Field(default=None, title="Permissions")
    kind: Kind = Kind.Permissions
    url: AnyUrl


Team.model_rebuild()
"""


def _models(*pairs: tuple[str, str]) -> list[dict[str, Any]]:
    return [
        {"class_name": name, "source_ref": f"#/components/schemas/{ref}"} for name, ref in pairs
    ]


def test_merge_keeps_one_class_per_schema_and_renames_clashes() -> None:
    first = Output(
        MODULE_A,
        _models(("User", "User"), ("Permissions", "Repo/properties/permissions"), ("Repo", "Repo")),
        (Caught(UserWarning, "one"),),
    )
    second = Output(
        MODULE_B,
        _models(
            ("User", "User"),
            ("Permissions", "Team/properties/permissions"),
            ("Kind", "Team/properties/kind"),
            ("Team", "Team"),
        ),
        (Caught(UserWarning, "one"), Caught(UserWarning, "two")),
    )
    merged = merge([first, second])
    assert merged is not None
    source = merged.source
    assert source.count("class User(") == 1  # the same schema: made once
    assert "class Permissions1(BaseModel):\n    pull: bool" in source  # another schema, renamed
    assert 'permissions: Permissions1 = Field(default=None, title="Permissions")' in source
    assert 'Permissions = "Permissions"' in source  # an enum member is not a class reference
    assert "kind: Kind = Kind.Permissions" in source  # nor is an attribute
    assert "from pydantic import AnyUrl" in source or "AnyUrl," in source
    assert source.rstrip().endswith("Team.model_rebuild()")
    assert [m["class_name"] for m in merged.models] == [
        "User",
        "Permissions",
        "Repo",
        "Permissions1",
        "Kind",
        "Team",
    ]
    assert merged.caught == (Caught(UserWarning, "one"), Caught(UserWarning, "two"))
    namespace: dict[str, Any] = {}
    exec(compile(source, "<merged>", "exec"), namespace)
    team = namespace["Team"](lead={"name": "a"}, url="https://example.test/")
    assert type(team.lead) is namespace["User"] and team.permissions is None


def test_merge_refuses_what_it_cannot_vouch_for() -> None:
    first = Output(MODULE_A, _models(("User", "User"), ("Permissions", "P"), ("Repo", "Repo")), ())
    other_meaning = MODULE_B.replace("from enum import Enum", "from mylib import Enum")
    second = Output(
        other_meaning,
        _models(("User", "User"), ("Permissions", "Q"), ("Kind", "K"), ("Team", "Team")),
        (),
    )
    assert merge([first, second]) is None  # one name imported with two meanings
    statement = Output(MODULE_A + "\nprint('hello')\n", first.models, ())
    assert merge([statement, second]) is None  # a statement merge does not know


def test_a_document_in_parts_is_the_same_with_one_cpu_or_two(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(partition, "PART_BYTES", 2_000)
    merged: list[bool] = []
    real_merge = partition.merge

    def recording(outputs: list[Output]) -> Output | None:
        result = real_merge(outputs)
        merged.append(result is not None)
        return result

    monkeypatch.setattr(partition, "merge", recording)
    built = build(BASELINE)  # in this process: the merge is seen
    assert built.ok and merged == [True]
    one = generate([BASELINE], tmp_path / "one", jobs=1)
    two = generate([BASELINE], tmp_path / "two", jobs=2)
    assert one.written and two.written
    for path in sorted((tmp_path / "one").rglob("*.py")):
        twin = tmp_path / "two" / path.relative_to(tmp_path / "one")
        assert path.read_bytes() == twin.read_bytes(), path.name


def test_a_failing_part_falls_back_to_the_whole(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(partition, "PART_BYTES", 1_000)
    schemas = _schemas()
    calls: list[int] = []

    def build_models(document: dict[str, Any]) -> Output:
        calls.append(len(document["components"]["schemas"]))
        if len(document["components"]["schemas"]) < len(schemas):
            raise RuntimeError("a part fails")
        return Output("", [], ())

    result = partition.build_in_parts({"components": {"schemas": schemas}}, build_models, jobs=1)
    assert result == Output("", [], ())
    assert calls[-1] == len(schemas)

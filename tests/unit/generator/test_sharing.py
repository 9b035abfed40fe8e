"""Shared inline shapes (`kontrakt.generator.sharing`): which copies become one class, what stays
at each place, and that every field is typed and validated as it was with the copies inline."""

from __future__ import annotations

import copy
import itertools
import json
import sys
import tempfile
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import TypeAdapter

from kontrakt.generator import models
from kontrakt.generator.load import load
from kontrakt.generator.parse import parse, plan_hoisting
from kontrakt.generator.sharing import share_identical

PREFIX = "#/components/schemas/"


def _ref(name: str, **site: Any) -> dict[str, Any]:
    return {"$ref": f"{PREFIX}{name}", **site}


def _user() -> dict[str, Any]:
    return {
        "type": "object",
        "description": "Someone.",
        "title": "Person",
        "properties": {"login": {"type": "string"}, "id": {"type": "integer"}},
        "required": ["login"],
    }


def _state() -> dict[str, Any]:
    return {"type": "string", "enum": ["open", "closed"]}


def _share(schemas: dict[str, Any]) -> tuple[dict[str, Any], dict[str, list[str]]]:
    return share_identical(schemas, lambda pointer: pointer)


def test_copies_at_properties_become_one_component_named_after_the_property() -> None:
    schemas = {
        "Issue": {"type": "object", "properties": {"owner": _user(), "state": _state()}},
        "Pull": {"type": "object", "properties": {"owner": _user(), "state": _state()}},
        "Team": {"type": "object", "properties": {"lead": _user()}},
    }
    shared, places = _share(schemas)
    assert list(shared) == ["Issue", "Pull", "Team", "Owner", "State"]
    user = _user()
    assert shared["Owner"] == user  # description and title stay with the class
    assert shared["State"] == _state()
    # The description also stays at each place (the field's description); the title does not.
    assert shared["Issue"]["properties"]["owner"] == _ref("Owner", description="Someone.")
    assert shared["Team"]["properties"]["lead"] == _ref("Owner", description="Someone.")
    assert shared["Pull"]["properties"]["state"] == _ref("State")
    assert places == {
        "Owner": [
            "/components/schemas/Issue/properties/owner",
            "/components/schemas/Pull/properties/owner",
            "/components/schemas/Team/properties/lead",
        ],
        "State": [
            "/components/schemas/Issue/properties/state",
            "/components/schemas/Pull/properties/state",
        ],
    }


def test_what_belongs_to_the_place_stays_there_and_does_not_split_the_shape() -> None:
    site = {"nullable": True, "default": "open", "readOnly": True, "deprecated": True}
    schemas = {
        "A": {"type": "object", "properties": {"state": {**_state(), **site}}},
        "B": {"type": "object", "properties": {"state": {**_state(), "example": "closed"}}},
    }
    shared, _ = _share(schemas)
    assert shared["State"] == _state()
    assert shared["A"]["properties"]["state"] == _ref("State", **site)
    assert shared["B"]["properties"]["state"] == _ref("State", example="closed")


def test_items_of_a_property_and_shapes_inside_shapes_are_shared() -> None:
    label = {"type": "object", "properties": {"name": {"type": "string"}, "state": _state()}}
    schemas = {
        "A": {"type": "object", "properties": {"labels": {"type": "array", "items": label}}},
        "B": {"type": "object", "properties": {"labels": {"type": "array", "items": label}}},
    }
    shared, places = _share(schemas)
    assert shared["A"]["properties"]["labels"] == {"type": "array", "items": _ref("Labels")}
    # The inner enum is shared too, once, from inside the shared shape.
    assert shared["Labels"]["properties"]["state"] == _ref("State")
    assert places["State"] == ["/components/schemas/A/properties/labels/items/properties/state"]


def test_a_single_copy_or_a_different_one_stays_inline() -> None:
    other = _user()
    other["properties"] = dict(reversed(other["properties"].items()))  # another field order
    schemas = {
        "A": {"type": "object", "properties": {"owner": _user()}},
        "B": {"type": "object", "properties": {"owner": other}},
        "C": {"type": "object", "properties": {"tag": {"type": "string", "enum": ["x", None]}}},
        "D": {"type": "object", "properties": {"tag": {"type": "string", "enum": ["x", None]}}},
    }
    assert _share(schemas) == (schemas, {})


@pytest.mark.parametrize(
    "shape",
    [
        {"allOf": [_user()]},
        {"oneOf": [_state(), {"type": "integer"}]},
        {"$ref": f"{PREFIX}X", "description": "d"},
        {"type": ["object", "null"], "properties": {"a": {"type": "string"}}},
        {"type": "object", "properties": {}},
    ],
)
def test_shapes_whose_meaning_could_change_at_a_ref_are_never_shared(shape: Any) -> None:
    schemas = {
        "X": {"type": "string"},
        "A": {"type": "object", "properties": {"p": copy.deepcopy(shape)}},
        "B": {"type": "object", "properties": {"p": copy.deepcopy(shape)}},
    }
    assert _share(schemas) == (schemas, {})


def test_nothing_under_an_allof_nor_in_a_schema_an_allof_names() -> None:
    schemas = {
        "Base": {"type": "object", "properties": {"state": _state()}},
        "Child": {
            "allOf": [
                _ref("Base"),
                {"type": "object", "properties": {"state": _state()}},
            ]
        },
    }
    assert _share(schemas) == (schemas, {})


def test_an_inline_copy_of_a_component_points_to_the_component() -> None:
    schemas = {
        "simple-user": _user(),
        "Repo": {"type": "object", "properties": {"owner": _user()}},
    }
    shared, places = _share(schemas)
    assert shared["Repo"]["properties"]["owner"] == _ref("simple-user", description="Someone.")
    assert list(shared) == ["simple-user", "Repo"]
    assert places == {
        "simple-user": [
            "/components/schemas/simple-user",
            "/components/schemas/Repo/properties/owner",
        ]
    }


def test_names_are_unique_and_data_is_never_read_as_schema() -> None:
    example = {"properties": {"state": _state()}}  # an example value that looks like a schema
    schemas = {
        "State": {"type": "integer"},
        "A": {"type": "object", "properties": {"state": _state()}, "example": example},
        "B": {"type": "object", "properties": {"state": _state()}, "default": example},
    }
    before = copy.deepcopy(schemas)
    shared, _ = _share(schemas)
    assert schemas == before  # the input is not changed
    # "State" is taken: the shared enum is numbered as `naming.unique` numbers clashes.
    assert list(shared) == ["State", "A", "B", "State2"]
    assert shared["A"]["properties"]["state"] == _ref("State2")
    assert shared["A"]["example"] == example and shared["B"]["default"] == example


# -- the generated models, with and without sharing ---------------------------------------------

_modules = itertools.count()


def _document(version: str) -> dict[str, Any]:
    user = _user()
    link = {"type": "object", "properties": {"href": {"type": "string", "format": "uri"}}}
    nullable = {"nullable": True} if version.startswith("3.0") else {}
    links = {"type": "object", "properties": {"html": link, "self": link}, "required": ["self"]}
    return {
        "openapi": version,
        "info": {"title": "Sharing", "version": "1"},
        "paths": {},
        "components": {
            "schemas": {
                "Link": copy.deepcopy(link),
                "Issue": {
                    "type": "object",
                    "required": ["owner", "state"],
                    "properties": {
                        "owner": {**user, "readOnly": True},
                        "assignee": {**user, **nullable},
                        "state": {**_state(), "description": "Where it is."},
                        "_links": links,
                        "labels": {"type": "array", "items": {**_state(), "default": "open"}},
                    },
                },
                "Pull": {
                    "type": "object",
                    "properties": {
                        "owner": user,
                        "state": {**_state(), "default": "closed"},
                        "_links": copy.deepcopy(links),
                        "labels": {"type": "array", "items": _state()},
                        "link": copy.deepcopy(link),
                    },
                },
            }
        },
    }


def _classes(path: Path, share: bool, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, Any]]:
    """Each component's class, as JSON schema with every reference inlined and no titles."""
    with monkeypatch.context() as patch:
        if not share:
            patch.setattr(models, "share_identical", lambda schemas, real, own: (schemas, {}))
        document, _ = load(path)
        assert document is not None
        built = models.build_models(document, plan_hoisting(document))
    name = f"kontrakt_sharing_{next(_modules)}"
    module = types.ModuleType(name)
    sys.modules[name] = module
    exec(compile(built.source, name, "exec"), module.__dict__)
    seen = set()
    for model in built.classes:
        if model.pointer.count("/") == 3 and model.pointer not in seen:
            seen.add(model.pointer)
            schema = TypeAdapter(getattr(module, model.name)).json_schema()
            yield model.pointer, _inlined(schema, schema.get("$defs", {}))
    yield "classes", built.source.count("\nclass ")


def _inlined(node: Any, defs: dict[str, Any]) -> Any:
    if isinstance(node, list):
        return [_inlined(item, defs) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        site = {k: _inlined(v, defs) for k, v in node.items() if k not in ("$ref", "title")}
        return {**_inlined(defs[node["$ref"].rsplit("/", 1)[-1]], defs), **site}
    return {k: _inlined(v, defs) for k, v in node.items() if k not in ("title", "$defs")}


@pytest.mark.parametrize("version", ["3.0.3", "3.1.0"])
def test_every_field_is_typed_as_with_the_copies_inline(
    version: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "doc.json"
    path.write_text(json.dumps(_document(version)), encoding="utf-8")
    with_sharing = dict(_classes(path, True, monkeypatch))
    inline = dict(_classes(path, False, monkeypatch))
    assert with_sharing.pop("classes") < inline.pop("classes")
    assert with_sharing == inline
    assert set(inline) == {f"{PREFIX}{n}" for n in ("Link", "Issue", "Pull")}


def test_parse_finds_the_shared_class_at_every_place(tmp_path: Path) -> None:
    path = tmp_path / "doc.json"
    path.write_text(json.dumps(_document("3.0.3")), encoding="utf-8")
    document, _ = load(path)
    assert document is not None
    built = models.build_models(document, plan_hoisting(document))
    owners = {m.pointer: m.name for m in built.classes if m.pointer.endswith("/owner")}
    assert set(owners) == {
        f"{PREFIX}Issue/properties/owner",
        f"{PREFIX}Pull/properties/owner",
    }
    assert len(set(owners.values())) == 1
    # An inline copy of a component is that component's class.
    links = {m.pointer: m.name for m in built.classes if m.pointer.lower().endswith("link")}
    assert links[f"{PREFIX}Pull/properties/link"] == links[f"{PREFIX}Link"]
    parse(document, built)  # the IR is built from it without trouble
    assert not [d for d in document.found if d.level.name == "ERROR"]


# -- any document: hypothesis writes documents that repeat shapes -------------------------------

_NAMES = st.sampled_from(["owner", "state", "links", "label", "user", "kind", "meta"])
_ENUMS = st.lists(st.sampled_from(["open", "closed", "draft", "merged"]), min_size=1, unique=True)


@st.composite
def _shape(draw: st.DrawFn, depth: int = 0) -> dict[str, Any]:
    """An inline object or enum of the kind datamodel-code-generator makes a class for."""
    if depth >= 2 or draw(st.booleans()):
        return {"type": "string", "enum": draw(_ENUMS)}
    names = draw(st.lists(_NAMES, min_size=1, max_size=3, unique=True))
    properties: dict[str, Any] = {}
    for name in names:
        kind = draw(st.sampled_from(["string", "integer", "shape", "array"]))
        if kind == "shape":
            properties[name] = draw(_shape(depth + 1))
        elif kind == "array":
            properties[name] = {"type": "array", "items": draw(_shape(depth + 1))}
        else:
            properties[name] = {"type": kind}
    required = draw(st.lists(st.sampled_from(names), unique=True))
    shape: dict[str, Any] = {"type": "object", "properties": properties}
    if required:
        shape["required"] = required
    if draw(st.booleans()):
        shape["description"] = "A shape."
    return shape


@st.composite
def _documents(draw: st.DrawFn) -> dict[str, Any]:
    version = draw(st.sampled_from(["3.0.3", "3.1.0"]))
    shapes = draw(st.lists(_shape(), min_size=1, max_size=3))
    components: dict[str, Any] = {}
    for index in range(draw(st.integers(2, 4))):
        properties: dict[str, Any] = {}
        # Each place gets a name of its own: datamodel-code-generator merges same-named inline
        # classes that render alike even when one place is nullable and the other is not (it
        # lost `nullable` on array items that way), which would make the inline build the wrong
        # baseline; see test_nullable_items_stay_nullable.
        for name in draw(st.lists(_NAMES, min_size=1, max_size=4, unique=True)):
            name = f"{name}_{index}"
            value = copy.deepcopy(draw(st.sampled_from(shapes)))
            if draw(st.booleans()):
                value = {"type": "array", "items": value}
            # The place's own keywords go on the property: inline, the library reads `nullable`
            # on array items only sometimes (see test_nullable_items_stay_nullable).
            site = draw(st.sampled_from(["", "nullable", "default", "readOnly", "description"]))
            if site == "nullable" and version.startswith("3.0"):
                value["nullable"] = True
            elif site == "default" and "enum" in value:
                value["default"] = value["enum"][-1]
            elif site == "readOnly":
                value["readOnly"] = True
            elif site == "description":
                value["description"] = f"Field {name}."
            properties[name] = value
        required = draw(st.lists(st.sampled_from(sorted(properties)), unique=True))
        schema: dict[str, Any] = {"type": "object", "properties": properties}
        if required:
            schema["required"] = required
        components[f"Thing{index}"] = schema
    return {
        "openapi": version,
        "info": {"title": "Shapes", "version": "1"},
        "paths": {},
        "components": {"schemas": components},
    }


def test_nullable_items_stay_nullable(tmp_path: Path) -> None:
    """The library builds one class for both item schemas below and drops `nullable` from the
    second; shared, the nullability stays at the place, as the document says."""
    item = {"type": "object", "properties": {"owner": {"type": "string"}}}
    document = {
        "openapi": "3.0.3",
        "info": {"title": "Items", "version": "1"},
        "paths": {},
        "components": {
            "schemas": {
                "Thing0": {
                    "type": "object",
                    "properties": {"owner": {"type": "array", "items": item}},
                },
                "Thing1": {
                    "type": "object",
                    "properties": {"owner": {"type": "array", "items": {**item, "nullable": True}}},
                },
            }
        },
    }
    path = tmp_path / "doc.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    loaded, _ = load(path)
    assert loaded is not None
    source = models.build_models(loaded, plan_hoisting(loaded)).source
    assert "owner: list[Owner] | None = None" in source
    assert "owner: list[Owner | None] | None = None" in source


@settings(max_examples=100, deadline=None, derandomize=True, database=None)
@given(document=_documents())
def test_any_document_is_typed_as_with_its_copies_inline(document: dict[str, Any]) -> None:
    with tempfile.TemporaryDirectory() as folder, pytest.MonkeyPatch.context() as patch:
        path = Path(folder) / "doc.json"
        path.write_text(json.dumps(document), encoding="utf-8")
        with_sharing = dict(_classes(path, True, patch))
        inline = dict(_classes(path, False, patch))
    # (In 96 of the 100 documents the shared build has fewer classes.)
    assert with_sharing.pop("classes") <= inline.pop("classes")
    assert with_sharing == inline


def test_only_the_documents_own_components_are_pointed_to() -> None:
    schemas = {
        "GetUserResponse200": _user(),  # a hoisted response body, not a component
        "Repo": {"type": "object", "properties": {"owner": _user()}},
    }
    shared, places = share_identical(schemas, lambda pointer: pointer, own={"Repo"})
    assert shared == schemas and places == {}

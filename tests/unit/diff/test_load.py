"""Loading both sides: files, http URLs on 127.0.0.1, running providers, YAML/JSON, $ref safety."""

from __future__ import annotations

import functools
import http.server
import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from kontrakt.diff import LoadError, diff_documents, load_document
from kontrakt.diff.load import (
    KIND_DAN_METADATA,
    KIND_ERRORCODES,
    KIND_EVIDENCECODES,
    KIND_OPENAPI,
    KIND_STATUSCODES,
    RefCycleError,
    schema_types,
)
from tests.unit.diff.helpers import base, openapi


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A throwaway HTTP server on 127.0.0.1 serving ``tmp_path``."""
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path))
    handler.log_message = lambda *a, **k: None  # type: ignore[attr-defined]
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", tmp_path
    finally:
        server.shutdown()
        server.server_close()


def test_url_and_running_provider(served: tuple[str, Path]) -> None:
    url, root = served
    (root / "api.yaml").write_text(yaml.safe_dump(base()), encoding="utf-8")
    provider = root / "provider"
    provider.mkdir()
    (provider / "openapi.json").write_text(json.dumps(base()), encoding="utf-8")
    by_url = load_document(f"{url}/api.yaml")
    by_probe = load_document(f"{url}/provider")  # the provider's base URL: openapi.json is found
    assert by_url.kind == by_probe.kind == KIND_OPENAPI
    assert by_probe.source.endswith("/provider/openapi.json")
    assert diff_documents(by_url, by_probe).changes == []


def test_unreachable_url_is_a_load_error(served: tuple[str, Path]) -> None:
    url, _ = served
    with pytest.raises(LoadError):
        load_document(f"{url}/missing.yaml")


def test_yaml_integer_status_codes_become_strings(tmp_path: Path) -> None:
    text = yaml.safe_dump(base()).replace("'404':", "404:")
    path = tmp_path / "api.yaml"
    path.write_text(text, encoding="utf-8")
    doc = load_document(str(path))
    assert "404" in doc.data["paths"]["/items/{id}"]["get"]["responses"]
    assert diff_documents(openapi(base()), doc).changes == []


def test_unreadable_and_foreign_inputs(tmp_path: Path) -> None:
    with pytest.raises(LoadError, match="cannot read"):
        load_document(str(tmp_path / "nope.yaml"))
    bad = tmp_path / "bad.yaml"
    bad.write_text("a: [unclosed", encoding="utf-8")
    with pytest.raises(LoadError, match="not valid"):
        load_document(str(bad))
    swagger = tmp_path / "swagger.json"
    swagger.write_text('{"swagger": "2.0", "paths": {}}', encoding="utf-8")
    with pytest.raises(LoadError, match=r"Swagger 2\.0"):
        load_document(str(swagger))
    other = tmp_path / "other.json"
    other.write_text('{"hello": 1}', encoding="utf-8")
    with pytest.raises(LoadError, match="neither"):
        load_document(str(other))


@pytest.mark.parametrize(
    ("name", "data", "kind"),
    [
        ("codes.json", [{"evidenceCodeName": "A", "values": []}], KIND_EVIDENCECODES),
        ("errorcodes.json", [{"code": 1001, "description": "x"}], KIND_ERRORCODES),
        ("statuscodes.json", [{"code": 1, "description": "x"}], KIND_STATUSCODES),
        ("snapshot.json", [{"code": 2, "description": "x"}], KIND_STATUSCODES),
        ("snapshot2.json", [{"code": 1002, "description": "x"}], KIND_ERRORCODES),
        ("bundle.json", {"evidencecodes": [], "errorcodes": []}, KIND_DAN_METADATA),
    ],
)
def test_dan_snapshot_kinds(tmp_path: Path, name: str, data: object, kind: str) -> None:
    path = tmp_path / name
    path.write_text(json.dumps(data), encoding="utf-8")
    assert load_document(str(path)).kind == kind


def test_ref_cycles_are_safe() -> None:
    doc = base()
    doc["components"]["schemas"]["Node"] = {
        "type": "object",
        "properties": {"child": {"$ref": "#/components/schemas/Node"}, "name": {"type": "string"}},
    }
    doc["components"]["schemas"]["Item"]["properties"]["tree"] = {
        "$ref": "#/components/schemas/Node"
    }
    doc["components"]["schemas"]["Loop"] = {"$ref": "#/components/schemas/Loop"}
    new = base()
    new["components"]["schemas"]["Node"] = {
        "type": "object",
        "properties": {"child": {"$ref": "#/components/schemas/Node"}},
    }
    new["components"]["schemas"]["Item"]["properties"]["tree"] = {
        "$ref": "#/components/schemas/Node"
    }
    result = diff_documents(openapi(doc), openapi(new))
    assert [c.kind for c in result.changes] == ["response-property-removed"]
    assert result.changes[0].old_pointer == "/components/schemas/Node/properties/name"
    loader = openapi(doc)
    with pytest.raises(RefCycleError):
        loader.resolve({"$ref": "#/components/schemas/Loop"}, "/x")
    assert loader.deref({"$ref": "#/components/schemas/Loop"}, "/x") == ({}, "/x")


def test_external_file_reference(tmp_path: Path) -> None:
    item = base()["components"]["schemas"]["Item"]
    item["properties"]["count"] = {"$ref": "#/Count"}  # local to schemas.yaml
    (tmp_path / "schemas.yaml").write_text(
        yaml.safe_dump({"Item": item, "Count": {"type": "integer"}}), encoding="utf-8"
    )
    doc = base()
    doc["paths"]["/items/{id}"]["get"]["responses"]["200"]["content"]["application/json"][
        "schema"
    ] = {"$ref": "schemas.yaml#/Item"}
    path = tmp_path / "api.yaml"
    path.write_text(yaml.safe_dump(doc), encoding="utf-8")
    assert diff_documents(openapi(base()), load_document(str(path))).changes == []


def test_ref_siblings_in_31_overlay_the_target() -> None:
    doc = openapi(base())
    node, ptr = doc.resolve(
        {"$ref": "#/components/schemas/Item", "description": "x", "maxProperties": 3}, "/p"
    )
    assert (
        ptr == "/components/schemas/Item"
        and node["maxProperties"] == 3
        and "description" not in node
    )


def test_nullable_spellings() -> None:
    assert schema_types({"type": "string", "nullable": True}, is_31=False) == {"string", "null"}
    assert schema_types({"type": ["string", "null"]}, is_31=True) == {"string", "null"}
    assert schema_types({"type": "string", "nullable": True}, is_31=True) == {"string"}
    assert schema_types({"enum": ["a", None], "type": "string"}, is_31=True) == {"string", "null"}
    assert schema_types({}, is_31=True) is None
    old = base()
    old["openapi"] = "3.0.3"
    old["components"]["schemas"]["Item"]["properties"]["count"] = {
        "type": "integer",
        "nullable": True,
    }
    new = base()
    new["components"]["schemas"]["Item"]["properties"]["count"] = {
        "anyOf": [{"type": "integer"}, {"type": "null"}]
    }
    assert diff_documents(openapi(old), openapi(new)).changes == []


def test_30_boolean_exclusive_maximum_equals_31_number() -> None:
    old = base()
    old["openapi"] = "3.0.3"
    old["components"]["schemas"]["Item"]["properties"]["count"] = {
        "type": "integer",
        "maximum": 10,
        "exclusiveMaximum": True,
    }
    new = base()
    new["components"]["schemas"]["Item"]["properties"]["count"] = {
        "type": "integer",
        "exclusiveMaximum": 10,
    }
    assert diff_documents(openapi(old), openapi(new)).changes == []

"""Large documents: lint says what it is doing, and its validator stays linear in the schemas.

The validator's own findings are unchanged by kontrakt's linear bookkeeping (same messages on a
document with a duplicate operationId and a broken schema); documents of at least 1 MB report
their stages and every tenth of the operations on stderr, smaller ones stay quiet. Wall time is
measured in bench/hostile.py, never asserted here.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from openapi_spec_validator import OpenAPIV30SpecValidator, OpenAPIV31SpecValidator
from typer.testing import CliRunner

from kontrakt.cli import app
from kontrakt.lint import LARGE_DOCUMENT_BYTES, lint_paths
from kontrakt.specvalidate import validator_for


def document(
    operations: int, version: str = "3.1.0", padding: int = 0, properties: int = 5
) -> dict[str, Any]:
    """A valid document of `operations` GETs, each answering its own object schema of
    `properties` strings with `padding`-character descriptions (bench/hostile.py uses it too)."""
    paths: dict[str, Any] = {}
    schemas: dict[str, Any] = {}
    for n in range(operations):
        schemas[f"S{n}"] = {
            "type": "object",
            "properties": {
                f"p{k}": {"type": "string", "description": "x" * padding} for k in range(properties)
            },
        }
        paths[f"/r{n}/{{id}}"] = {
            "get": {
                "operationId": f"get{n}",
                "parameters": [
                    {"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}
                ],
                "responses": {
                    "200": {
                        "description": "ok",
                        "content": {
                            "application/json": {"schema": {"$ref": f"#/components/schemas/S{n}"}}
                        },
                    }
                },
            }
        }
    return {
        "openapi": version,
        "info": {"title": "large", "version": "1"},
        "paths": paths,
        "components": {"schemas": schemas},
    }


def broken(version: str) -> dict[str, Any]:
    data = document(3, version)
    data["paths"]["/r1/{id}"]["get"]["operationId"] = "get0"  # duplicate
    data["components"]["schemas"]["S2"]["properties"]["p0"] = {"type": 5}  # not a type
    return data


def messages(validator: Any, data: dict[str, Any]) -> list[str]:
    return sorted(e.message for e in validator(data).iter_errors())


def test_linear_validators_find_what_the_upstream_ones_find() -> None:
    for version, upstream in (
        ("3.0.3", OpenAPIV30SpecValidator),
        ("3.1.0", OpenAPIV31SpecValidator),
    ):
        data = broken(version)
        ours = messages(validator_for(version), data)
        assert ours == messages(upstream, data)
        assert any("is not unique" in m for m in ours)
        assert len(ours) >= 2


def test_progress_hook_counts_every_operation() -> None:
    seen: list[int] = []
    validator = validator_for("3.1.0", lambda: seen.append(1))
    assert list(validator(document(7)).iter_errors()) == []
    assert len(seen) == 7


def test_large_documents_report_progress_on_stderr(tmp_path: Path) -> None:
    large = tmp_path / "large.json"
    large.write_text(json.dumps(document(200, padding=1100)))
    assert large.stat().st_size >= LARGE_DOCUMENT_BYTES
    result = CliRunner().invoke(app, ["lint", "--foreign", str(large)])
    assert result.exit_code == 0, result.output
    progress = [line for line in result.stderr.splitlines() if str(large) in line]
    assert progress[0].startswith(f"kontrakt lint: {large}: reading ")
    assert any("200/200 operations validated" in line for line in progress)
    assert sum("operations validated" in line for line in progress) == 10
    assert progress[-1].split(": ")[-1].startswith("done (")
    assert "0 error(s)" in result.stdout and str(large) not in result.stdout


def test_small_documents_stay_quiet(tmp_path: Path) -> None:
    small = tmp_path / "small.json"
    small.write_text(json.dumps(document(5)))
    heard: list[str] = []
    assert lint_paths([small], authored=False, progress=heard.append) == []
    assert heard == []

"""Small documents and shortcuts shared by the `kontrakt diff` tests."""

from __future__ import annotations

import copy
import os
from pathlib import Path
from typing import Any

import pytest

from kontrakt.diff import Change, DiffResult, Document, diff_documents
from kontrakt.diff.load import KIND_OPENAPI
from tests.conftest import SHARED

REFERENCE = SHARED / "reference"


def need(path: Path) -> Path:
    """A file from ../shared or our specs: missing fails under CI, skips elsewhere."""
    if not path.exists():
        message = f"fixture not found: {path}"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return path


def openapi(data: dict[str, Any], name: str = "doc.yaml") -> Document:
    return Document(name, data, KIND_OPENAPI)


def diff(old: dict[str, Any], new: dict[str, Any], rules: str = "generic", **kw: Any) -> DiffResult:
    return diff_documents(openapi(old, "old.yaml"), openapi(new, "new.yaml"), rules, **kw)


def kinds(result: DiffResult) -> set[str]:
    return {c.kind for c in result.changes}


def only(result: DiffResult, kind: str) -> Change:
    """The single change of ``kind`` (fails when there is none or more than one)."""
    found = [c for c in result.changes if c.kind == kind]
    assert len(found) == 1, f"expected one {kind}, got {[c.id for c in result.changes]}"
    return found[0]


def base() -> dict[str, Any]:
    """A small but complete document: one path, GET and PUT, refs, enums, security with scopes."""
    return copy.deepcopy(
        {
            "openapi": "3.1.0",
            "info": {"title": "Items", "version": "1.0.0"},
            "servers": [{"url": "https://api.example.no/v1"}],
            "security": [{"oauth": ["items.read"]}],
            "paths": {
                "/items/{id}": {
                    "get": {
                        "operationId": "getItem",
                        "parameters": [
                            {
                                "name": "id",
                                "in": "path",
                                "required": True,
                                "schema": {"type": "string"},
                            },
                            {
                                "name": "q",
                                "in": "query",
                                "schema": {"type": "string", "maxLength": 10},
                            },
                            {
                                "name": "kind",
                                "in": "header",
                                "schema": {"type": "string", "enum": ["a", "b"]},
                            },
                        ],
                        "responses": {
                            "200": {
                                "description": "ok",
                                "headers": {
                                    "X-Trace": {"required": True, "schema": {"type": "string"}}
                                },
                                "content": {
                                    "application/json": {
                                        "schema": {"$ref": "#/components/schemas/Item"}
                                    }
                                },
                            },
                            "404": {"description": "not found"},
                        },
                    },
                    "put": {
                        "operationId": "putItem",
                        "x-kontrakt-batch": {
                            "atomic": True,
                            "max-items": 100,
                            "source": {"doc": "X", "section": "1"},
                        },
                        "requestBody": {
                            "content": {
                                "application/json": {
                                    "schema": {"$ref": "#/components/schemas/ItemIn"}
                                }
                            }
                        },
                        "responses": {"204": {"description": "stored"}},
                    },
                }
            },
            "components": {
                "schemas": {
                    "Item": {
                        "type": "object",
                        "required": ["id", "name"],
                        "properties": {
                            "id": {"type": "string"},
                            "name": {"type": "string", "maxLength": 50},
                            "status": {"type": "string", "enum": ["open", "closed"]},
                            "count": {"type": "integer"},
                        },
                    },
                    "ItemIn": {
                        "type": "object",
                        "required": ["name"],
                        "properties": {
                            "name": {"type": "string"},
                            "colour": {"type": "string", "enum": ["red", "blue"]},
                            "note": {"type": "string"},
                        },
                    },
                },
                "securitySchemes": {
                    "oauth": {
                        "type": "oauth2",
                        "flows": {
                            "clientCredentials": {
                                "tokenUrl": "https://auth.example.no/token",
                                "scopes": {"items.read": "read", "items.write": "write"},
                            }
                        },
                    },
                    "key": {"type": "apiKey", "in": "header", "name": "X-Key"},
                },
            },
            "x-kontrakt-error-catalogue": {
                "code-pointer": "/code",
                "codes": {
                    "E-1": {
                        "status": 400,
                        "name": "BadInput",
                        "title": "Bad input",
                        "source": {"doc": "X", "section": "1"},
                    },
                    "E-2": {
                        "status": 404,
                        "name": "Missing",
                        "title": "Not found",
                        "source": {"doc": "X", "section": "1"},
                    },
                },
            },
            "x-kontrakt-lifecycles": {
                "job": {
                    "states": {
                        "queued": {"code": 1, "terminal": False, "description": "waiting"},
                        "done": {"code": 2, "terminal": True, "description": "finished"},
                    },
                    "transitions": {"queued": ["done"]},
                    "unknown-states": "non-terminal",
                    "source": {"doc": "X", "section": "1"},
                }
            },
        }
    )

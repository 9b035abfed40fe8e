"""Every generated package assembles: its server app builds (every trigger its routes can answer
resolves to a code of the document, unless the document's defaults name none), each operation has
a route with the spec's operationId, and both clients have a method per operation."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

from kontrakt.runtime import server as rt
from tests.e2e._support import Issuer

GENERATED = Path(__file__).resolve().parents[2] / "kontrakt" / "generated"
PACKAGES = sorted(p.name for p in GENERATED.iterdir() if (p / "server.py").is_file())


@pytest.mark.parametrize("name", PACKAGES)
def test_server_and_client_assemble(name: str) -> None:
    package = importlib.import_module(f"kontrakt.generated.{name}")
    verifier = Issuer("https://issuer.test/", "api").verifier()
    names = {
        scheme
        for alternatives in package.server.SECURITY.values()
        for alternative in alternatives
        for scheme in alternative.schemes
    }
    # Any scheme kind will do here: the app is only assembled, not called.
    app = package.create_app(object(), {scheme: rt.BearerScheme(verifier) for scheme in names})
    routes = {operation for operation in rt.required_triggers(app) if operation is not None}
    operations = {op.operation_id for op in package.api.OPERATIONS}
    assert routes == operations
    for op in package.api.OPERATIONS:
        assert callable(getattr(package.Client, op.python_name))
        assert callable(getattr(package.AsyncClient, op.python_name))

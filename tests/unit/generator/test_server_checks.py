"""What a generated server and client do beyond the contract's happy path: a handler's result is
checked against the declared response (on by default, off on request), the source document is
served at `/openapi.json`, a document without x-kontrakt codes answers rejected requests
without logging about missing codes, and a 500 is not re-sent by the client."""

from __future__ import annotations

import asyncio
import importlib
import logging
import sys
import textwrap
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import httpx
import pytest

from kontrakt.generator.pipeline import generate
from kontrakt.runtime.client import ApiError

SPEC = """\
openapi: 3.0.3
info: {title: Checks, version: '1'}
paths:
  /things/{id}:
    get:
      operationId: getThing
      parameters:
        - {name: id, in: path, required: true, schema: {type: integer}}
      responses:
        '200':
          description: A thing.
          content:
            application/json:
              schema: {$ref: '#/components/schemas/Thing'}
components:
  schemas:
    Thing:
      type: object
      required: [name]
      properties:
        name: {type: string}
        size: {type: integer}
"""


@pytest.fixture(scope="module")
def package(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ModuleType, ModuleType]]:
    root = tmp_path_factory.mktemp("checks")
    spec = root / "checks.yaml"
    spec.write_text(textwrap.dedent(SPEC), encoding="utf-8")
    outcome = generate([spec], root / "out", jobs=1)
    assert outcome.written, [d.format() for d in outcome.errors]
    sys.path.insert(0, str(root / "out"))
    try:
        [built] = outcome.packages
        yield (
            importlib.import_module(f"{built.name}.server"),
            importlib.import_module(f"{built.name}.client"),
        )
    finally:
        sys.path.remove(str(root / "out"))


class Handlers:
    def __init__(self, result: Any) -> None:
        self.result = result
        self.calls = 0

    async def get_thing(self, **_: Any) -> Any:
        self.calls += 1
        if isinstance(self.result, Exception):
            raise self.result
        return self.result


def _get(app: Any, path: str) -> httpx.Response:
    async def go() -> httpx.Response:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app)) as http:
            return await http.get(f"http://test{path}")

    return asyncio.run(go())


def test_a_wrong_result_is_not_sent_unless_checks_are_off(
    package: tuple[ModuleType, ModuleType],
) -> None:
    server, _ = package
    wrong = {"size": "big"}  # no name, and size is no integer
    assert _get(server.create_app(Handlers(wrong), {}), "/things/1").status_code == 500
    relaxed = server.create_app(Handlers(wrong), {}, validate_responses=False)
    assert _get(relaxed, "/things/1").json() == wrong
    right = _get(server.create_app(Handlers({"name": "n", "size": 2}), {}), "/things/1")
    assert (right.status_code, right.json()) == (200, {"name": "n", "size": 2})


def test_the_source_document_is_served(package: tuple[ModuleType, ModuleType]) -> None:
    server, _ = package
    response = _get(server.create_app(Handlers({"name": "n"}), {}), "/openapi.json")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json()["paths"]["/things/{id}"]["get"]["operationId"] == "getThing"


def test_a_document_without_codes_logs_nothing_for_rejected_requests(
    package: tuple[ModuleType, ModuleType], caplog: pytest.LogCaptureFixture
) -> None:
    server, _ = package
    with caplog.at_level(logging.WARNING, logger="kontrakt.runtime.server"):
        response = _get(server.create_app(Handlers({"name": "n"}), {}), "/things/not-a-number")
    assert response.status_code in (400, 422)
    assert not [r for r in caplog.records if "no error code" in r.getMessage()]


def test_a_server_error_is_not_sent_again(package: tuple[ModuleType, ModuleType]) -> None:
    server, client = package
    handlers = Handlers(RuntimeError("boom"))
    app = server.create_app(handlers, {})

    async def go() -> None:
        # The default retry policy: connection errors, 429 and 503 only.
        async with client.AsyncClient("http://test", transport=httpx.ASGITransport(app=app)) as api:
            await api.get_thing(id=1)

    with pytest.raises(ApiError) as caught:
        asyncio.run(go())
    assert caught.value.status == 500
    assert handlers.calls == 1

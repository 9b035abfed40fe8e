"""Styled query parameters and request media types, end to end through a generated package.

An object or array query parameter is sent by the generated client per its `style`/`explode`
(form, deepObject, pipe- and space-delimited) and read by the generated server into the typed
model; a wrong member type or an unknown member (the schema's `additionalProperties: false`)
is answered with the document's invalid-parameter code. Request bodies go out in the media type
the document declares (an optional form body as a form, not JSON) and the server parses each
declared media type (JSON, form, multipart, octet-stream, text) into its model.
"""

from __future__ import annotations

import asyncio
import importlib
import sys
import textwrap
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import httpx
import pytest

from kontrakt.generator.pipeline import generate

SPEC = """\
openapi: 3.1.0
info: {title: Styles, version: '1'}
x-kontrakt-error-catalogue:
  code-pointer: /code
  codes:
    BAD_PARAM: {status: 400}
    BAD_BODY: {status: 422}
    MEDIA: {status: 415}
    METHOD: {status: 405}
    NOPE: {status: 406}
    OOPS: {status: 500}
  defaults:
    method-not-allowed: {status: 405, code: METHOD}
    invalid-parameter: {status: 400, code: BAD_PARAM}
    invalid-body: {status: 422, code: BAD_BODY}
    unsupported-media-type: {status: 415, code: MEDIA}
    not-acceptable: {status: 406, code: NOPE}
    server-error: {status: 500, code: OOPS}
paths:
  /things:
    get:
      operationId: listThings
      parameters:
        - {name: filter, in: query, schema: {$ref: '#/components/schemas/Filter'}}
        - {name: deep, in: query, style: deepObject, explode: true, schema: {$ref: '#/components/schemas/Filter'}}
        - {name: flat, in: query, style: form, explode: false, schema: {$ref: '#/components/schemas/Filter'}}
        - {name: pipes, in: query, style: pipeDelimited, explode: false, schema: {type: array, items: {type: integer}}}
        - {name: spaces, in: query, style: spaceDelimited, explode: false, schema: {type: array, items: {type: string}}}
        - {name: csv, in: query, explode: false, schema: {type: array, items: {type: integer}}}
        - {name: limit, in: query, schema: {type: integer}}
      responses:
        '204': {description: Listed.}
    post:
      operationId: makeThing
      requestBody:
        content:
          application/x-www-form-urlencoded:
            schema: {$ref: '#/components/schemas/Filter'}
      responses:
        '204': {description: Made.}
  /upload:
    put:
      operationId: upload
      requestBody:
        required: true
        content:
          application/json:
            schema: {$ref: '#/components/schemas/Filter'}
          application/x-www-form-urlencoded:
            schema: {$ref: '#/components/schemas/Filter'}
          multipart/form-data:
            schema:
              type: object
              properties:
                name: {type: string}
                file: {type: string, format: binary}
          application/octet-stream:
            schema: {type: string, format: binary}
          text/plain:
            schema: {type: string}
      responses:
        '204': {description: Stored.}
components:
  schemas:
    Filter:
      type: object
      additionalProperties: false
      properties:
        a: {type: string}
        b: {type: integer}
"""


@pytest.fixture(scope="module")
def package(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ModuleType, ModuleType]]:
    root = tmp_path_factory.mktemp("styles")
    spec = root / "styles.yaml"
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


class Recorder:
    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    async def list_things(self, **arguments: Any) -> None:
        self.calls.append(arguments)

    async def make_thing(self, **arguments: Any) -> None:
        self.calls.append(arguments)

    async def upload(self, **arguments: Any) -> None:
        self.calls.append(arguments)


class Wire(httpx.AsyncBaseTransport):
    """ASGI transport that keeps each request as sent."""

    def __init__(self, app: Any) -> None:
        self.inner = httpx.ASGITransport(app=app)
        self.sent: list[httpx.Request] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        await request.aread()
        self.sent.append(request)
        return await self.inner.handle_async_request(request)


def _run(package: tuple[ModuleType, ModuleType], call: str, **kwargs: Any) -> tuple[Any, Wire]:
    server, client = package
    handlers = Recorder()
    wire = Wire(server.create_app(handlers, {}))

    async def go() -> None:
        async with client.AsyncClient("http://test", transport=wire, retry=None) as api:
            await getattr(api, call)(**kwargs)

    asyncio.run(go())
    [arguments] = handlers.calls
    return arguments, wire


def test_styled_query_round_trip(package: tuple[ModuleType, ModuleType]) -> None:
    models = sys.modules[package[0].__name__.rsplit(".", 1)[0] + ".models"]
    value = models.Filter(a="x y", b=2)
    got, wire = _run(
        package,
        "list_things",
        filter=value,
        deep=value,
        flat=value,
        pipes=[1, 2],
        spaces=["p", "q"],
        csv=[3, 4],
        limit=5,
    )
    query = wire.sent[0].url.params
    assert query.get_list("a") == ["x y"] and query.get_list("b") == ["2"]
    assert query["deep[a]"] == "x y" and query["deep[b]"] == "2"
    assert query["flat"] == "a,x y,b,2"
    assert query["pipes"] == "1|2" and query["spaces"] == "p q" and query["csv"] == "3,4"
    for name in ("filter", "deep", "flat"):
        assert got[name] == value and isinstance(got[name], models.Filter)
    assert (got["pipes"], got["spaces"], got["csv"], got["limit"]) == (
        [1, 2],
        ["p", "q"],
        [3, 4],
        5,
    )


@pytest.mark.parametrize(
    "query",
    ["a=x&b=not-an-int", "a=x&zzz=1", "deep[b]=x", "flat=a,x,b,y", "pipes=1|x", "csv=1,x"],
)
def test_wrong_styled_values_get_the_invalid_parameter_code(
    package: tuple[ModuleType, ModuleType], query: str
) -> None:
    server, _ = package
    handlers = Recorder()
    app = server.create_app(handlers, {})

    async def go() -> httpx.Response:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app)) as http:
            return await http.get(f"http://test/things?{query}")

    response = asyncio.run(go())
    assert response.status_code == 400, response.text
    assert response.json()["code"] == "BAD_PARAM"
    assert handlers.calls == []


def test_optional_form_body_goes_as_a_form(package: tuple[ModuleType, ModuleType]) -> None:
    models = sys.modules[package[0].__name__.rsplit(".", 1)[0] + ".models"]
    got, wire = _run(package, "make_thing", body=models.Filter(a="x&y", b=3))
    sent = wire.sent[0]
    assert sent.headers["content-type"] == "application/x-www-form-urlencoded"
    assert sent.content == b"a=x%26y&b=3"
    assert got["body"] == models.Filter(a="x&y", b=3)


def test_an_absent_optional_body_reaches_the_handler_as_none(
    package: tuple[ModuleType, ModuleType],
) -> None:
    got, wire = _run(package, "make_thing")
    assert wire.sent[0].content == b"" and got["body"] is None


@pytest.mark.parametrize(
    ("media", "body", "expected"),
    [
        ("application/json", {"a": "j", "b": 1}, {"a": "j", "b": 1}),
        ("application/x-www-form-urlencoded", {"a": "f", "b": 2}, {"a": "f", "b": 2}),
        (
            "multipart/form-data",
            {"name": "n", "file": b"\x00\xff"},
            {"name": "n", "file": b"\x00\xff"},
        ),
        ("application/octet-stream", b"\x00\x01", b"\x00\x01"),
        ("text/plain", "hello", "hello"),
    ],
)
def test_every_declared_media_type_is_sent_and_parsed(
    package: tuple[ModuleType, ModuleType], media: str, body: Any, expected: Any
) -> None:
    models = sys.modules[package[0].__name__.rsplit(".", 1)[0] + ".models"]
    if media in ("application/json", "application/x-www-form-urlencoded"):
        body = models.Filter(**body)
    elif media == "multipart/form-data":
        body = models.UploadRequest(**body)
    got, wire = _run(package, "upload", body=body, content_type=media)
    assert wire.sent[0].headers["content-type"].startswith(media)
    received = got["body"]
    if isinstance(received, models.Filter | models.UploadRequest):
        received = received.model_dump(exclude_unset=True)
    assert received == expected


def test_a_form_body_of_the_wrong_type_gets_the_invalid_body_code(
    package: tuple[ModuleType, ModuleType],
) -> None:
    server, _ = package
    app = server.create_app(Recorder(), {})

    async def go() -> httpx.Response:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app)) as http:
            return await http.put(
                "http://test/upload",
                content=b"a=x&b=nope",
                headers={"content-type": "application/x-www-form-urlencoded"},
            )

    response = asyncio.run(go())
    assert response.status_code == 422, response.text
    assert response.json()["code"] == "BAD_BODY"

"""Parameter constraints reach the generated routes: a path, query or header value outside its
schema's `pattern`, bounds, lengths or item count is answered by the runtime's validation handler
with the `invalid-parameter` code of the error use naming that parameter. A pattern the engines
cannot compile (ECMA-262 named groups, `\\p{...}`) is left out with a warning naming its place."""

from __future__ import annotations

import asyncio
import importlib
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest

from kontrakt.diagnostics import Level
from kontrakt.generator.parse import pattern_problem
from kontrakt.generator.pipeline import generate

SPEC = """\
openapi: 3.1.0
info: {title: Constraints, version: '1'}
x-kontrakt-error-catalogue:
  code-pointer: /code
  codes:
    BAD_ID: {status: 400}
    BAD_PAGE: {status: 400}
    BAD_OTHER: {status: 400}
    METHOD: {status: 405}
    OOPS: {status: 500}
  defaults:
    method-not-allowed: {status: 405, code: METHOD}
paths:
  /things/{id}:
    get:
      operationId: getThing
      parameters:
        - {name: id, in: path, required: true, schema: {type: string, pattern: '^[0-9a-f]{4}$'}}
        - {name: page, in: query, schema: {type: integer, minimum: 0, maximum: 9}}
        - {name: size, in: query, schema: {type: integer, exclusiveMinimum: 0}}
        - {name: X-Key, in: header, schema: {type: string, minLength: 3, maxLength: 5}}
        - name: tag
          in: query
          schema: {type: array, maxItems: 2, items: {type: string}}
        - {name: year, in: query, schema: {type: string, pattern: '^(?<year>[0-9]{4})$'}}
      responses:
        '204': {description: Done.}
        '400':
          description: Bad parameter.
          x-kontrakt-errors:
            - {code: BAD_ID, trigger: invalid-parameter, parameters: [id], when: The id is bad.}
            - {code: BAD_PAGE, trigger: invalid-parameter, parameters: [page, size], when: Paging is bad.}
            - {code: BAD_OTHER, trigger: invalid-parameter, when: Another parameter is bad.}
        '500':
          description: Failure.
          x-kontrakt-errors:
            - {code: OOPS, trigger: server-error, when: Something broke.}
"""


@pytest.fixture(scope="module")
def package(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ModuleType, list[Any]]]:
    root = tmp_path_factory.mktemp("constraints")
    spec = root / "constraints.yaml"
    spec.write_text(textwrap.dedent(SPEC), encoding="utf-8")
    outcome = generate([spec], root / "out", jobs=1)
    assert outcome.written, [d.format() for d in outcome.errors]
    sys.path.insert(0, str(root / "out"))
    try:
        [built] = outcome.packages
        yield importlib.import_module(f"{built.name}.server"), list(outcome.diagnostics)
    finally:
        sys.path.remove(str(root / "out"))


class Things:
    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    async def get_thing(self, **arguments: Any) -> None:
        self.calls.append(arguments)


def _get(server: ModuleType, url: str, **kwargs: Any) -> tuple[httpx.Response, Things]:
    handlers = Things()
    app = server.create_app(handlers, {})

    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://api.test") as client:
            return await client.get(url, **kwargs)

    return asyncio.run(go()), handlers


def test_valid_values_reach_the_handler(package: tuple[ModuleType, list[Any]]) -> None:
    server, _ = package
    response, handlers = _get(
        server,
        "/things/a1f3?page=9&size=1&tag=x&tag=y&year=not-checked",
        headers={"X-Key": "abc"},
    )
    assert response.status_code == 204, response.text
    assert handlers.calls[0]["id"] == "a1f3"
    assert handlers.calls[0]["year"] == "not-checked"


@pytest.mark.parametrize(
    ("url", "headers", "code"),
    [
        pytest.param("/things/A1F3", {}, "BAD_ID", id="pattern"),
        pytest.param("/things/a1f", {}, "BAD_ID", id="pattern-length"),
        pytest.param("/things/a1f3?page=-1", {}, "BAD_PAGE", id="minimum"),
        pytest.param("/things/a1f3?page=10", {}, "BAD_PAGE", id="maximum"),
        pytest.param("/things/a1f3?size=0", {}, "BAD_PAGE", id="exclusive-minimum"),
        pytest.param("/things/a1f3", {"X-Key": "ab"}, "BAD_OTHER", id="min-length"),
        pytest.param("/things/a1f3", {"X-Key": "abcdef"}, "BAD_OTHER", id="max-length"),
        pytest.param("/things/a1f3?tag=a&tag=b&tag=c", {}, "BAD_OTHER", id="max-items"),
    ],
)
def test_a_violation_answers_the_code_naming_the_parameter(
    package: tuple[ModuleType, list[Any]], url: str, headers: dict[str, str], code: str
) -> None:
    server, _ = package
    response, handlers = _get(server, url, headers=headers)
    assert response.status_code == 400, response.text
    assert response.json()["code"] == code
    assert handlers.calls == []


def test_constraints_are_emitted_as_fastapi_keywords(
    package: tuple[ModuleType, list[Any]],
) -> None:
    server, _ = package
    text = Path(str(server.__file__)).read_text(encoding="utf-8")
    assert 'fastapi.Path(alias="id", pattern="^[0-9a-f]{4}$")' in text
    assert 'fastapi.Query(alias="page", ge=0, le=9)' in text
    assert 'fastapi.Query(alias="size", gt=0)' in text
    assert 'fastapi.Header(alias="X-Key", min_length=3, max_length=5)' in text
    assert 'fastapi.Query(alias="tag", max_length=2)' in text
    assert 'fastapi.Query(alias="year")' in text


def test_a_pattern_python_cannot_compile_is_skipped_with_a_warning(
    package: tuple[ModuleType, list[Any]],
) -> None:
    _, diagnostics = package
    [warning] = [d for d in diagnostics if "not enforced" in d.message]
    assert warning.level is Level.WARNING
    assert warning.file.endswith("constraints.yaml")
    assert warning.pointer == "/paths/~1things~1{id}/get/parameters/5/schema/pattern"
    assert "Python's re" in warning.message


@pytest.mark.parametrize(
    ("pattern", "engine"),
    [
        (r"^(?<year>[0-9]{4})$", "Python's re"),
        (r"^\p{L}+$", "Python's re"),
        (r"^(?=a)ab$", "pydantic-core"),
        ("[", "Python's re"),
    ],
)
def test_pattern_problem_names_the_engine(pattern: str, engine: str) -> None:
    problem = pattern_problem(pattern)
    assert problem is not None and problem.startswith(engine)


def test_ordinary_patterns_have_no_problem() -> None:
    assert pattern_problem(r"^[0-9a-zA-Z\-_]{3,200}$") is None
    assert pattern_problem(r"^v[0-9a-z]+,[A-Za-z0-9+/=]+( v[0-9a-z]+,[A-Za-z0-9+/=]+)*$") is None

"""Generated code passes the project's `ruff` and `mypy --strict` settings, no ignores, on the
constructs foreign documents use: an enum-typed property with a string default, nullable
responses, allOf property overrides (compatible and not), discriminator members narrowing the
tag, bare arrays, recursive and additionalProperties models, a free-form query object alone,
string defaults of typed formats (valid ones typed at run time, invalid ones left out)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from kontrakt.generator.pipeline import generate

ROOT = Path(__file__).resolve().parents[3]

SPEC = """\
openapi: 3.0.3
info: {title: Strict, version: '1'}
paths:
  /thing:
    get:
      operationId: getThing
      parameters:
        - {name: filter, in: query, schema: {type: object, additionalProperties: {type: string}}}
      responses:
        '200':
          description: Maybe a thing.
          content:
            application/json:
              schema:
                nullable: true
                allOf: [{$ref: '#/components/schemas/Thing'}]
  /things:
    get:
      operationId: getThings
      responses:
        '200':
          description: Things or null.
          content:
            application/json:
              schema: {type: array, nullable: true, items: {$ref: '#/components/schemas/Thing'}}
  /pet:
    get:
      operationId: getPet
      responses:
        '200':
          description: A pet.
          content:
            application/json:
              schema: {$ref: '#/components/schemas/Special'}
components:
  schemas:
    Color: {type: string, enum: [red, green]}
    Thing:
      type: object
      properties:
        c: {allOf: [{$ref: '#/components/schemas/Color'}], default: red}
        d: {$ref: '#/components/schemas/Color'}
        items: {type: array}
        kids: {type: array, items: {$ref: '#/components/schemas/Thing'}}
        map: {type: object, additionalProperties: {$ref: '#/components/schemas/Thing'}}
        deep: {type: array, items: {type: object, additionalProperties: {$ref: '#/components/schemas/Thing'}}}
        plain: {type: string, nullable: false}
    Base:
      type: object
      properties:
        kind: {type: string}
        size: {type: integer}
    Special:
      allOf:
        - $ref: '#/components/schemas/Base'
        - type: object
          required: [size]
          properties:
            kind: {type: integer}
            size: {type: integer, minimum: 1}
    Pet:
      type: object
      required: [petType]
      properties:
        petType: {type: string}
      discriminator: {propertyName: petType}
    Cat:
      allOf:
        - $ref: '#/components/schemas/Pet'
        - type: object
          properties:
            petType: {type: string, enum: [Cat]}
    Links:
      type: object
      properties:
        home: {type: string, format: uri, default: ''}
        docs: {type: string, format: uri, default: 'https://example.test/docs'}
        since: {type: string, format: date-time, default: '2020-01-02T03:04:05Z'}
        day: {type: string, format: date, default: '2020-01-02'}
        naive: {type: string, format: date-time, default: '2020-01-02T03:04:05'}
"""


@pytest.fixture(scope="module")
def package(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("strict")
    spec = root / "strict.yaml"
    spec.write_text(textwrap.dedent(SPEC), encoding="utf-8")
    outcome = generate([spec], root / "out", jobs=1)
    assert outcome.written, [d.format() for d in outcome.errors]
    dropped = {d.pointer for d in outcome.diagnostics if "it is left out" in d.message}
    assert dropped == {
        "/components/schemas/Links/properties/home/default",
        "/components/schemas/Links/properties/naive/default",
    }
    [built] = outcome.packages
    return root / "out" / built.name


def _run(*command: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=300)


def test_ruff_is_clean(package: Path) -> None:
    ruff = Path(sys.executable).parent / "ruff"
    # Outside the repository ruff cannot tell that `kontrakt` is first-party, as it does inside.
    done = _run(
        str(ruff),
        "check",
        "--no-cache",
        "--config",
        str(ROOT / "pyproject.toml"),
        "--config",
        "lint.isort.known-first-party = ['kontrakt']",
        str(package),
        cwd=package.parent,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_mypy_strict_is_clean_and_the_models_behave(package: Path) -> None:
    done = _run(
        sys.executable,
        "-m",
        "mypy",
        "--config-file",
        str(ROOT / "pyproject.toml"),
        "--cache-dir",
        str(package.parent / ".mypy_cache"),
        package.name,
        cwd=package.parent,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    check = (
        f"from {package.name} import models as m\n"
        "t = m.Thing()\n"
        "assert t.c is m.Color.RED, t.c\n"
        "s = m.Special.model_validate({'kind': 3, 'size': 2})\n"
        "assert s.kind == 3\n"
        "import datetime\n"
        "links = m.Links()\n"
        "assert links.home is None and links.naive is None\n"
        "assert str(links.docs) == 'https://example.test/docs', links.docs\n"
        "assert links.since == datetime.datetime(2020, 1, 2, 3, 4, 5, tzinfo=datetime.UTC)\n"
        "assert links.day == datetime.date(2020, 1, 2)\n"
    )
    done = _run(sys.executable, "-c", check, cwd=package.parent)
    assert done.returncode == 0, done.stderr

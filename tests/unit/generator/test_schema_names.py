"""Schema names that are not Python identifiers (`a.B`, `1st`, `my-thing`) become valid class
names with a warning naming the schema's pointer; the document still generates and imports."""

from __future__ import annotations

import importlib
import sys
import textwrap
from pathlib import Path

from kontrakt.generator.pipeline import generate

SPEC = """\
openapi: 3.0.3
info: {title: Names, version: '1'}
paths:
  /things:
    get:
      operationId: getThing
      responses:
        '200':
          description: A thing.
          content:
            application/json:
              schema: {$ref: '#/components/schemas/model.reference.with.Periods'}
components:
  schemas:
    model.reference.with.Periods:
      type: object
      properties:
        next: {$ref: '#/components/schemas/my-thing'}
    my-thing:
      type: object
      properties:
        rank: {$ref: '#/components/schemas/1st'}
    1st: {type: integer}
"""


def test_non_identifier_schema_names_are_mapped_with_a_warning(tmp_path: Path) -> None:
    spec = tmp_path / "names.yaml"
    spec.write_text(textwrap.dedent(SPEC), encoding="utf-8")
    outcome = generate([spec], tmp_path / "out", jobs=1)
    assert outcome.written, [d.format() for d in outcome.errors]
    warned = {d.pointer for d in outcome.diagnostics if "not a Python identifier" in d.message}
    assert warned == {
        "/components/schemas/model.reference.with.Periods",
        "/components/schemas/my-thing",
        "/components/schemas/1st",
    }
    sys.path.insert(0, str(tmp_path / "out"))
    try:
        [built] = outcome.packages
        models = importlib.import_module(f"{built.name}.models")
        thing = models.ModelReferenceWithPeriods.model_validate({"next": {"rank": 1}})
        assert thing.next is not None and thing.next.rank is not None
    finally:
        sys.path.remove(str(tmp_path / "out"))

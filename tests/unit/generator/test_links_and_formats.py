"""Links are left out with a warning at their place (as callbacks are); a format the models
cannot use is reported at the schema that declares it, with its line, not at the document."""

from __future__ import annotations

import textwrap
from pathlib import Path

from kontrakt.generator.pipeline import generate

SPEC = """\
openapi: 3.0.3
info: {title: Fmt, version: '1'}
paths:
  /a:
    get:
      operationId: getA
      responses:
        '200':
          description: An A.
          links:
            self: {operationId: getA}
          content:
            application/json:
              schema: {$ref: '#/components/schemas/A'}
components:
  schemas:
    A:
      type: object
      properties:
        n: {type: string, format: weird-thing}
        m: {type: integer, format: int128}
"""


def test_links_and_unknown_formats_are_reported_where_they_are(tmp_path: Path) -> None:
    spec = tmp_path / "fmt.yaml"
    spec.write_text(textwrap.dedent(SPEC), encoding="utf-8")
    outcome = generate([spec], tmp_path / "out", jobs=1)
    assert outcome.written, [d.format() for d in outcome.errors]
    found = {d.pointer: d for d in outcome.diagnostics}
    links = found["/paths/~1a/get/responses/200/links"]
    assert "links are not supported" in links.message and links.line == 10
    weird = found["/components/schemas/A/properties/n/format"]
    assert "weird-thing" in weird.message and weird.line == 20
    assert found["/components/schemas/A/properties/m/format"].line == 21
    assert not any(d.pointer in ("", "/") and "format" in d.message for d in outcome.diagnostics)

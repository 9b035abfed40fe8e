"""The unused-component walk knows where `default` (and `value`, `example`, `enum`) is instance
data and where it is a name: an example named `default`, a property called `default` or `value`,
a `default` response. Components reached only through such names are used; a component that is
really unused is a warning, not an error."""

from __future__ import annotations

import textwrap
from pathlib import Path

from kontrakt.diagnostics import Level
from kontrakt.lint import lint_paths

SPEC = """\
openapi: 3.1.0
info: {title: Defaults, version: '1'}
paths:
  /things:
    get:
      operationId: getThings
      responses:
        '200':
          description: Things.
          content:
            application/json:
              schema: {$ref: '#/components/schemas/Thing'}
              examples:
                default: {$ref: '#/components/examples/Full'}
        default: {$ref: '#/components/responses/Problem'}
components:
  examples:
    Full: {value: {default: {$ref: '#/components/schemas/OnlyInData'}}}
  responses:
    Problem:
      description: A problem.
      content:
        application/json:
          schema: {$ref: '#/components/schemas/Problem'}
  schemas:
    Thing:
      type: object
      properties:
        default: {$ref: '#/components/schemas/Setting'}
        value: {$ref: '#/components/schemas/Amount'}
        mode: {type: string, default: {$ref: '#/components/schemas/OnlyInData'}}
    Setting: {type: string}
    Amount: {type: number}
    Problem: {type: object}
    OnlyInData: {type: string}
"""


def test_names_called_default_reach_their_components(tmp_path: Path) -> None:
    path = tmp_path / "defaults.yaml"
    path.write_text(textwrap.dedent(SPEC), encoding="utf-8")
    unused = [d for d in lint_paths([path], authored=False) if d.check == "unused-components"]
    # A $ref inside instance data (a default value, an example's value) is no use.
    assert [d.pointer for d in unused] == ["/components/schemas/OnlyInData"]
    assert all(d.level is Level.WARNING for d in unused)

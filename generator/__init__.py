"""kontrakt's code generator: OpenAPI documents -> typed Python packages (issue #4).

The stages, one module each: `load` (read, detect the version), `validate` (kontrakt lint),
`models` (pydantic models via datamodel-code-generator), `parse` (the IR of `ir`, named by
`naming`), `render` (Jinja templates in ``templates/``) and `write` (atomic, formatted output);
`pipeline` runs them and `command` is ``kontrakt generate``.
"""

from generator.pipeline import Built, Outcome, build, generate

__all__ = ["Built", "Outcome", "build", "generate"]

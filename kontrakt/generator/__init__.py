"""kontrakt's code generator: OpenAPI documents -> typed Python packages (issue #4).

The stages, one module each: `load` (read, detect the version), `validate` (kontrakt lint),
`models` (pydantic models via datamodel-code-generator), `parse` (the IR of `ir`, named by
`naming`), `render` (Jinja templates in ``kontrakt/templates/``) and `write` (atomic, formatted output);
`pipeline` runs them and `command` is ``kontrakt generate``.

The public names come from `pipeline` on first use, so that importing `generator.command` (as
the CLI does at start-up) does not load the whole generator.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kontrakt.generator.pipeline import Built, Outcome, build, generate

__all__ = ["Built", "Outcome", "build", "generate"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from kontrakt.generator import pipeline

        value = getattr(pipeline, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

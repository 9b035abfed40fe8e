"""Render stage: IR -> file contents, through the Jinja templates in ``kontrakt/templates/``.

This is the only module that imports jinja2. The templates receive IR objects and a few values
computed here (the package heading, the names to export) and, for ``server.py`` and
``client.py``, the views `generator.views` derives from the IR; they only place and format them, with
two filters: ``py`` (a Python literal) and ``doc`` (text made safe inside a docstring). The
models module comes from the models stage as it is; ``py.typed`` is empty. Nothing here touches
the disk except reading templates: `generator.write` writes.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

__all__ = [
    "TEMPLATES",
    "RenderError",
    "RenderedFile",
    "RenderedPackage",
    "RootView",
    "render_package",
    "render_root",
]

TEMPLATES = Path(__file__).resolve().parents[1] / "templates"

if TYPE_CHECKING:
    import jinja2

    from kontrakt.generator.ir import Api


class RenderError(Exception):
    """A template could not be rendered (a bug in a template or in the IR it was given)."""


@dataclass(frozen=True)
class RenderedFile:
    path: str  # relative, with forward slashes
    text: str


@dataclass(frozen=True)
class RenderedPackage:
    name: str
    files: tuple[RenderedFile, ...]


def _py(value: Any) -> str:
    """A Python literal for a string, number, bool, None or tuple of those."""
    if isinstance(value, tuple):
        inner = ", ".join(_py(v) for v in value)
        return f"({inner},)" if len(value) == 1 else f"({inner})"
    if value is None or isinstance(value, str | int | float | bool):
        return repr(value)
    raise TypeError(f"no Python literal for {type(value).__name__}")


def _doc(value: Any) -> str:
    """Text that can stand inside a triple-quoted docstring, on one line."""
    text = " ".join(str(value).split())
    return text.replace("\\", "\\\\").replace('"""', '\\"\\"\\"')


@cache
def _environment() -> jinja2.Environment:
    # Imported here: a `kontrakt generate` served from the cache renders nothing.
    import jinja2

    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=False,
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters["py"] = _py
    environment.filters["doc"] = _doc
    return environment


def _render(template: str, **context: Any) -> str:
    import jinja2

    try:
        return _environment().get_template(template).render(**context)
    except (jinja2.TemplateError, TypeError) as exc:
        raise RenderError(f"template {template}: {exc}") from exc


def _heading(api: Api) -> str:
    heading = f"{api.title or api.package} {api.version}".strip()
    return f"{heading} ({api.api_id})" if api.api_id else heading


def render_package(api: Api, document_json: str | None = None) -> RenderedPackage:
    """Every file of the package generated for ``api``.

    ``document_json`` is the source document as JSON: shipped as ``openapi.json``, which the
    generated server serves at ``/openapi.json``.
    """
    # Imported here, like jinja2: a run served from the cache renders no package.
    from kontrakt.generator.views import client_view, server_view

    catalogue = api.error_catalogue
    context: dict[str, Any] = {
        "api": api,
        "heading": _heading(api),
        "exports": api.models.public_names,
        "error_code_pointer": catalogue.code_pointer if catalogue else None,
        "error_codes": catalogue.codes if catalogue else (),
    }
    files: tuple[RenderedFile, ...] = (
        RenderedFile("__init__.py", _render("package/__init__.py.jinja", **context)),
        RenderedFile("api.py", _render("package/api.py.jinja", **context)),
        RenderedFile(
            "client.py", _render("package/client.py.jinja", **context, view=client_view(api))
        ),
        RenderedFile(
            "server.py", _render("package/server.py.jinja", **context, view=server_view(api))
        ),
        RenderedFile("models.py", api.models.source),
        RenderedFile("py.typed", ""),
    )
    if document_json is not None:
        files += (RenderedFile("openapi.json", document_json),)
    return RenderedPackage(api.package, files)


@dataclass(frozen=True)
class RootView:
    """What the output folder's README says: each package's document and the command that
    regenerates the folder (paths as `source_label` shows them, never absolute)."""

    sources: tuple[tuple[str, str], ...] = ()  # (package, document)
    regenerate: str = "kontrakt generate specs --out generated"


def render_root(view: RootView | None = None) -> tuple[RenderedFile, ...]:
    """The files of the output folder itself: a namespace ``__init__.py`` and a README."""
    view = view or RootView()
    return (
        RenderedFile("__init__.py", _render("root/__init__.py.jinja")),
        RenderedFile("README.md", _render("root/README.md.jinja", view=view)),
    )

"""The generator end to end: documents -> load -> validate -> models -> parse -> render -> write.

`build` takes one document as far as rendered files, collecting diagnostics; `generate` builds
every document and then writes them all, or (``check=True``) diffs them against what is on disk.
Nothing is written when any document has an error.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from generator.ir import Api
from generator.load import load
from generator.models import ModelsError, build_models
from generator.parse import parse, plan_hoisting
from generator.render import RenderedPackage, RenderError, render_package, render_root
from generator.validate import validate
from generator.write import WriteError, compare, stage, write
from kontrakt.diagnostics import Diagnostic, Level
from kontrakt.specfile import find_documents

__all__ = ["Built", "Outcome", "build", "generate"]


@dataclass
class Built:
    """One document taken as far as it would go."""

    path: Path
    api: Api | None = None
    package: RenderedPackage | None = None
    diagnostics: list[Diagnostic] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.package is not None and not any(
            d.level is Level.ERROR for d in self.diagnostics
        )


@dataclass
class Outcome:
    """What `generate` did: every diagnostic, the packages, whether it wrote, the --check diff."""

    diagnostics: list[Diagnostic]
    packages: list[RenderedPackage]
    written: bool = False
    diff: str = ""

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.level is Level.ERROR]


def _sorted(found: Sequence[Diagnostic]) -> list[Diagnostic]:
    return sorted(found, key=lambda d: (d.file, d.line or 0, d.pointer, d.message))


def build(path: Path) -> Built:
    """Load, validate, model, parse and render one document."""
    document, found = load(path)
    built = Built(path, diagnostics=found)
    if document is None:
        return built
    found = validate(document)
    if any(d.level is Level.ERROR for d in found):
        built.diagnostics = _sorted(found)
        return built
    try:
        models = build_models(document, plan_hoisting(document))
    except ModelsError as exc:
        document.report(
            exc.pointer,
            f"datamodel-code-generator could not build the models: {exc}",
            Level.ERROR,
            "models",
        )
        built.diagnostics = _sorted([*found, *document.found])
        return built
    built.api = parse(document, models)
    try:
        built.package = render_package(built.api)
    except RenderError as exc:
        document.report("", str(exc), Level.ERROR, "render")
    built.diagnostics = _sorted([*found, *document.found])
    return built


def generate(paths: Sequence[Path], out: Path, *, check: bool = False) -> Outcome:
    """Generate one package per document under ``paths`` into ``out`` (or diff, with ``check``)."""
    documents = find_documents(list(paths))
    if not documents:
        missing = Diagnostic(", ".join(map(str, paths)), "", "no OpenAPI documents found")
        return Outcome([missing], [])
    diagnostics: list[Diagnostic] = []
    packages: list[RenderedPackage] = []
    owners: dict[str, Path] = {}
    for path in documents:
        built = build(path)
        diagnostics.extend(built.diagnostics)
        if built.package is None:
            continue
        name = built.package.name
        if name in owners:
            message = f"package {name!r} is already generated from {owners[name]}; give one document another x-kontrakt-api.id or file name"
            diagnostics.append(
                Diagnostic(str(path), "", message, Level.ERROR, None, "package-name")
            )
            continue
        owners[name] = path
        packages.append(built.package)
    outcome = Outcome(diagnostics, packages)
    if outcome.errors:
        return outcome
    try:
        root_files = render_root()
        if check:
            with tempfile.TemporaryDirectory(prefix="kontrakt-check-") as tmp:
                stage(packages, root_files, Path(tmp))
                outcome.diff = compare(packages, Path(tmp), out)
        else:
            write(packages, root_files, out)
            outcome.written = True
    except (WriteError, RenderError) as exc:
        outcome.diagnostics.append(Diagnostic(str(out), "", str(exc), Level.ERROR, None, "write"))
    return outcome

"""Load stage: read one document, decide what it is (OpenAPI 3.0 or 3.1, authored or foreign).

Reading goes through `kontrakt.specfile.read_spec` (YAML or JSON, line numbers kept, bare integer
keys such as ``200:`` turned into strings). Swagger 2.0 and unknown versions stop here with a
diagnostic that says how to convert. Local ``$ref``s are resolved lazily, when the parser follows
them, through `Document.resolve`; a reference that leaves the document is reported, not fetched.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kontrakt.diagnostics import Diagnostic, Level, escape
from kontrakt.specfile import SpecFile, SpecLoadError, read_spec

__all__ = ["METHODS", "Document", "OperationSite", "load", "source_label", "unescape"]

METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")

SWAGGER_HINT = (
    "this is a Swagger 2.0 document; kontrakt generates from OpenAPI 3.0 and 3.1 only. Convert it "
    "first, for example with `npx swagger2openapi in.yaml -o openapi.yaml` (or the Swagger "
    "Editor's 'Convert to OpenAPI 3'), then generate from the converted file"
)


def unescape(token: str) -> str:
    """Undo JSON pointer escaping of one reference token."""
    return token.replace("~1", "/").replace("~0", "~")


def source_label(path: Path) -> str:
    """How generated files name their document: relative to the working directory when below it,
    else the file name alone (generated files never carry a machine's absolute paths)."""
    resolved = path.resolve()
    try:
        return resolved.relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return resolved.name


@dataclass(frozen=True)
class OperationSite:
    """Where an operation sits: ``paths`` or ``webhooks``, the path (or webhook name), the method.

    ``item_pointer`` is the path item's own place (after following a ``$ref``); the operation is
    at ``item_pointer/method``.
    """

    group: str
    path: str
    method: str
    operation: dict[str, Any]
    path_item: dict[str, Any]
    item_pointer: str

    @property
    def pointer(self) -> str:
        return f"{self.item_pointer}/{self.method}"


@dataclass
class Document:
    """A readable OpenAPI 3.x document and what the stages after loading need to know about it."""

    spec: SpecFile
    openapi: str  # the document's own `openapi` value, e.g. "3.1.0"
    authored: bool  # held to the house rules of specs/ (see `load`)
    source: str
    found: list[Diagnostic] = field(default_factory=list)
    # What `report` has recorded, to drop repeats without searching the list (920 on GitHub's).
    _reported: set[Diagnostic] = field(default_factory=set, repr=False, compare=False)

    @property
    def data(self) -> dict[str, Any]:
        return self.spec.data

    @property
    def is_31(self) -> bool:
        return self.openapi.startswith("3.1")

    def report(
        self, ptr: str, message: str, level: Level = Level.WARNING, check: str = "generate"
    ) -> None:
        """Record a finding about the place ``ptr`` (a JSON pointer without the leading ``#``)."""
        diagnostic = Diagnostic(self.spec.name, ptr, message, level, self.spec.line(ptr), check)
        if diagnostic not in self._reported:
            self._reported.add(diagnostic)
            self.found.append(diagnostic)

    def get(self, ptr: str) -> tuple[bool, Any]:
        """The value at a JSON pointer, and whether it exists."""
        target: Any = self.data
        for raw in ptr.split("/")[1:]:
            token = unescape(raw)
            if isinstance(target, dict) and token in target:
                target = target[token]
            elif isinstance(target, list) and token.isdigit() and int(token) < len(target):
                target = target[int(token)]
            else:
                return False, None
        return True, target

    def resolve(self, value: Any, ptr: str) -> tuple[Any, str]:
        """Follow ``$ref`` from ``value`` (found at ``ptr``) to the object it names.

        Returns the object and its own pointer. A reference that leaves the document, does not
        resolve or loops is reported as a warning, and ``({}, ptr)`` comes back so the caller can
        carry on with an empty object.
        """
        seen: set[str] = set()
        while isinstance(value, dict) and isinstance(value.get("$ref"), str):
            ref: str = value["$ref"]
            where = f"{ptr}/$ref"
            if not ref.startswith("#"):
                self.report(
                    where,
                    f"$ref {ref!r} points outside the document and is not followed; bundle the "
                    "document into one file first (for example `npx @redocly/cli bundle`)",
                    check="refs",
                )
                return {}, ptr
            if ref in seen:
                self.report(where, f"$ref {ref!r} refers to itself in a loop", check="refs")
                return {}, ptr
            seen.add(ref)
            ok, target = self.get(ref[1:])
            if not ok:
                self.report(where, f"$ref {ref!r} does not resolve", check="refs")
                return {}, ptr
            value, ptr = target, ref[1:]
        return value, ptr

    def operations(self) -> Iterator[OperationSite]:
        """Every operation under ``paths`` and ``webhooks``, in document order."""
        for group in ("paths", "webhooks"):
            items = self.data.get(group)
            if not isinstance(items, dict):
                continue
            for path, raw_item in items.items():
                item, item_pointer = self.resolve(raw_item, f"/{group}/{escape(path)}")
                if not isinstance(item, dict):
                    self.report(item_pointer, "path item is not a mapping; ignored")
                    continue
                for method in METHODS:
                    operation = item.get(method)
                    if isinstance(operation, dict):
                        yield OperationSite(group, path, method, operation, item, item_pointer)


def _is_authored(path: Path, data: dict[str, Any]) -> bool:
    # A document that declares itself a kontrakt contract, or sits in the working directory's
    # specs/, is held to the house rules; anything else is a foreign document generated best-effort.
    if "x-kontrakt-api" in data:
        return True
    specs = (Path.cwd() / "specs").resolve()
    return path.resolve().is_relative_to(specs)


def load(path: Path) -> tuple[Document | None, list[Diagnostic]]:
    """Read ``path``; ``None`` (with the reason) when it cannot be generated from at all."""
    try:
        spec = read_spec(path)
    except SpecLoadError as exc:
        return None, [exc.diagnostic]
    name = str(path)
    if "swagger" in spec.data:
        return None, [
            Diagnostic(
                name,
                "/swagger",
                SWAGGER_HINT,
                Level.ERROR,
                spec.line("/swagger"),
                "openapi-version",
            )
        ]
    version = str(spec.data.get("openapi", ""))
    if not (version.startswith("3.0") or version.startswith("3.1")):
        message = f"unsupported or missing OpenAPI version {version!r}: kontrakt generates from 3.0.x and 3.1.x"
        return None, [
            Diagnostic(
                name, "/openapi", message, Level.ERROR, spec.line("/openapi"), "openapi-version"
            )
        ]
    document = Document(spec, version, _is_authored(path, spec.data), source_label(path))
    return document, []

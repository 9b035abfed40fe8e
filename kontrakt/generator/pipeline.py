"""The generator end to end: documents -> load -> validate -> models -> parse -> render -> write.

`build` takes one document as far as rendered files, collecting diagnostics; `generate` builds
every document and then writes them all, or (``check=True``) diffs them against what is on disk.
Nothing is written when any document has an error.

Documents are independent until the write stage, so `generate` builds them in forked worker
processes when there are several documents and several CPUs (`build_all`); the results are put
back in document order, so the output is the same as building them one after the other.
"""

from __future__ import annotations

import contextlib
import gc
import json
import multiprocessing
import os
import shlex
import tempfile
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from kontrakt.diagnostics import Diagnostic, Level
from kontrakt.generator.load import Document, load, source_label
from kontrakt.generator.render import (
    RenderedFile,
    RenderedPackage,
    RenderError,
    RootView,
    render_root,
)
from kontrakt.generator.write import (
    RUFF_FIX,
    RUFF_FORMAT,
    WriteError,
    compare,
    stage,
    unchanged,
    write,
)
from kontrakt.specfile import find_documents

if TYPE_CHECKING:
    from kontrakt.generator.cache import Cache
    from kontrakt.generator.ir import Api

__all__ = ["Built", "Outcome", "build", "build_all", "cpus", "generate"]

CHECK_NICENESS = 10  # how much lower a "check" task runs than "make" (see `_task`)


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


@dataclass
class _Checked:
    """The first half of `build`: the document loaded and validated (or why it did not load)."""

    loaded: bool
    diagnostics: list[Diagnostic]
    document: Document | None = None  # not sent back from a worker: the parent does not need it

    @property
    def stop(self) -> bool:
        """Whether generation ends here: the document did not load or has a validation error."""
        return not self.loaded or any(d.level is Level.ERROR for d in self.diagnostics)


@dataclass
class _Made:
    """The second half of `build`: models, IR and files, with what those stages reported."""

    api: Api | None
    package: RenderedPackage | None
    diagnostics: list[Diagnostic]


def _check(path: Path) -> _Checked:
    """Load and validate ``path`` (the stages that decide whether it is generated at all)."""
    # Imported here: the validators cost 0.2 s to import, which a cached run does not pay.
    from kontrakt.generator.validate import validate

    document, found = load(path)
    if document is None:
        return _Checked(False, found)
    return _Checked(True, validate(document), document)


# Documents larger than this are written to openapi.json without indentation: json's indenting
# encoder is written in Python, the compact one in C (GitHub's 13 MB description: 0.4 s -> 0.1 s).
COMPACT_JSON_BYTES = 1_000_000


def _document_json(document: Document) -> str:
    """The source document as JSON text (YAML dates and other scalars as strings); indented,
    unless its compact form is larger than `COMPACT_JSON_BYTES`."""
    text = json.dumps(document.data, ensure_ascii=False, default=str)
    if len(text) <= COMPACT_JSON_BYTES:
        text = json.dumps(document.data, ensure_ascii=False, indent=1, default=str)
    return text + "\n"


def _make(document: Document) -> _Made:
    """Build the models, the IR and the files of a loaded ``document``."""
    # Imported here: a run served from the cache never builds models (0.05 s of imports).
    from kontrakt.generator.models import ModelsError, build_models
    from kontrakt.generator.parse import parse, plan_hoisting
    from kontrakt.generator.render import render_package
    from kontrakt.lint import external_refs_refused

    if external_refs_refused(document.spec):
        # The check half reports the refused references; the model builder would follow them.
        return _Made(None, None, [])
    try:
        models = build_models(document, plan_hoisting(document))
    except ModelsError as exc:
        document.report(
            exc.pointer,
            f"datamodel-code-generator could not build the models: {exc}",
            Level.ERROR,
            "models",
        )
        return _Made(None, None, document.found)
    api = parse(document, models)
    try:
        package = render_package(api, _document_json(document))
    except RenderError as exc:
        document.report("", str(exc), Level.ERROR, "render")
        return _Made(api, None, document.found)
    return _Made(api, package, document.found)


def _combine(path: Path, checked: _Checked, made: _Made | None) -> Built:
    """The `Built` of ``path`` from its two halves, as `build` reports it."""
    if not checked.loaded:
        return Built(path, diagnostics=checked.diagnostics)
    if checked.stop or made is None:
        return Built(path, diagnostics=_sorted(checked.diagnostics))
    return Built(path, made.api, made.package, _sorted([*checked.diagnostics, *made.diagnostics]))


def build(path: Path) -> Built:
    """Load, validate, model, parse and render one document."""
    checked = _check(path)
    document = checked.document
    made = _make(document) if document is not None and not checked.stop else None
    return _combine(path, checked, made)


# -- building in worker processes ------------------------------------------------------------
# With at least as many documents as workers, each document is one task, "build". With fewer (one
# large document, say), each document is split in two tasks that do not depend on each other:
# "check" (load, validate) and "make" (load, models, parse, render), so they run at the same time.
# "make" then runs speculatively: what it produced (or raised) is dropped when "check" finds an
# error, exactly as `build` would not have run it. Each task loads the document itself: a second
# parse is cheaper than sending the parsed document between processes, but not free, which is why
# documents are only split when there are workers to spare.


@dataclass
class _Raised:
    """An exception a "make" task raised, carried back to be raised only if it matters."""

    error: BaseException


def _task(task: tuple[str, Path]) -> Built | _Checked | _Made | _Raised | None:
    """Run one task in a worker; what goes back to the parent is kept small (no document, no IR,
    which `generate` does not need)."""
    kind, path = task
    if kind == "build":
        built = build(path)
        built.api = None
        return built
    if kind == "check":
        # "make" is the longer task and, for a large document, builds its models in parts on
        # every CPU (`generator.partition`); validating at a lower priority takes the CPU time
        # "make" leaves idle (its single-threaded end) instead of slowing its parallel middle.
        with contextlib.suppress(OSError, AttributeError):
            os.nice(CHECK_NICENESS)
        checked = _check(path)
        return _Checked(checked.loaded, checked.diagnostics)
    document, _ = load(path)
    if document is None:
        return None  # the "check" task reports why
    try:
        made = _make(document)
    except Exception as exc:  # only raised in the parent, and only if validation passed
        return _Raised(exc)
    return _Made(None, made.package, made.diagnostics)


def _start_worker() -> None:
    """Set up a build worker: it lives for one `generate` call, so collect garbage less often."""
    # Parsed documents, schemas and source text are garbage without cycles that reference
    # counting frees; the default threshold (700 allocations) runs the cyclic collector thousands
    # of times per document for little.
    gc.set_threshold(20_000, 10, 10)


def cpus() -> int:
    """How many CPUs this process may run on (the default number of workers)."""
    try:
        return len(os.sched_getaffinity(0))  # the CPUs this process may run on, not the machine's
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _size(path: Path) -> int:
    """The size of ``path`` in bytes, how `build_all` estimates what a document costs."""
    try:
        return path.stat().st_size
    except OSError:
        return 0


def build_all(paths: Sequence[Path], *, jobs: int | None = None) -> list[Built]:
    """`build` every document, in ``jobs`` processes (default: one per CPU); results in order.

    The workers are forked, so they start with every module the parent has imported and cost a few
    milliseconds each; where fork is not available, or with one job, the documents are built here,
    one after the other. Each result depends only on its document, so which process built it
    changes nothing, except that `Built.api` is left out (None) when built in workers. The largest
    tasks go first, which balances the workers.
    """
    jobs = min(jobs or cpus(), 2 * len(paths))
    if jobs < 2 or "fork" not in multiprocessing.get_all_start_methods():
        return [build(path) for path in paths]
    split = len(paths) < jobs
    kinds = ("make", "check") if split else ("build",)
    # "make" costs about twice what "check" does (datamodel-code-generator against the validator).
    weight = {"build": 3, "make": 2, "check": 1}
    tasks = sorted(
        ((kind, index) for index in range(len(paths)) for kind in kinds),
        key=lambda task: -_size(paths[task[1]]) * weight[task[0]],
    )
    results: dict[tuple[str, int], Built | _Checked | _Made | _Raised | None] = {}
    # Frozen objects (all of the parent's modules) are left alone by the workers' collections:
    # no time spent scanning them, and no copy-on-write of the pages they sit on.
    gc.freeze()
    try:
        # An executor rather than multiprocessing.Pool: a worker that dies (killed for memory,
        # say) fails the call with BrokenProcessPool instead of leaving it waiting forever.
        with ProcessPoolExecutor(
            jobs, mp_context=multiprocessing.get_context("fork"), initializer=_start_worker
        ) as pool:
            done = pool.map(_task, [(kind, paths[index]) for kind, index in tasks])
            for task, result in zip(tasks, done, strict=True):
                results[task] = result
    finally:
        gc.unfreeze()
    if not split:
        return [_built(results["build", index]) for index in range(len(paths))]
    built: list[Built] = []
    for index, path in enumerate(paths):
        checked, made = results["check", index], results["make", index]
        assert isinstance(checked, _Checked)
        if checked.stop:
            built.append(_combine(path, checked, None))
        elif isinstance(made, _Raised):
            raise made.error
        elif isinstance(made, _Made):
            built.append(_combine(path, checked, made))
        else:  # loaded for "check" but not for "make": the file changed meanwhile; once more here
            built.append(build(path))
    return built


def _built(result: Built | _Checked | _Made | _Raised | None) -> Built:
    """The result of a "build" task, typed as such."""
    assert isinstance(result, Built)
    return result


def _root_view(paths: Sequence[Path], out: Path, owners: dict[str, Path]) -> RootView:
    """The README's facts: which document each package came from and the command (as run from
    the working directory) that regenerates the folder."""
    words = shlex.join(["kontrakt", "generate", *(source_label(p) for p in paths), "--out"])
    try:
        folder = shlex.quote(out.resolve().relative_to(Path.cwd().resolve()).as_posix())
    except ValueError:  # outside the working directory: no machine's absolute path in the output
        folder = "<this folder>"
    return RootView(
        sources=tuple((name, source_label(path)) for name, path in owners.items()),
        regenerate=f"{words} {folder}",
    )


def _options() -> tuple[str, ...]:
    """The options that change what `generate` writes, as cache key parts."""
    from kontrakt.lint import REF_POLICY

    return (
        f"allow_remote={REF_POLICY.allow_remote}",
        f"allow_outside={REF_POLICY.allow_outside}",
        " ".join(RUFF_FIX),
        " ".join(RUFF_FORMAT),
    )


def _cache_keys(cache: Cache | None, documents: Sequence[Path]) -> list[str | None]:
    """Each document's cache key (None: not cached, or no cache)."""
    if cache is None:
        return [None] * len(documents)
    options = _options()
    specs = (Path.cwd() / "specs").resolve()
    return [
        cache.key(
            path,
            options,
            label=source_label(path),
            authored=path.resolve().is_relative_to(specs),
        )
        for path in documents
    ]


def generate(
    paths: Sequence[Path],
    out: Path,
    *,
    check: bool = False,
    jobs: int | None = None,
    cache: Cache | None = None,
) -> Outcome:
    """Generate one package per document under ``paths`` into ``out`` (or diff, with ``check``).

    ``jobs`` is how many processes build the documents (default: one per CPU; 1: in this one).
    With a ``cache``, a document whose key is there is not built again: its package comes back as
    it was written, with the diagnostics it had; what is built and written is stored.
    """
    documents = find_documents(list(paths))
    if not documents:
        missing = Diagnostic(", ".join(map(str, paths)), "", "no OpenAPI documents found")
        return Outcome([missing], [])
    keys = _cache_keys(cache, documents)
    hits = {i: cache.get(k) for i, k in enumerate(keys) if cache is not None and k is not None}
    todo = [path for i, path in enumerate(documents) if hits.get(i) is None]
    fresh = iter(build_all(todo, jobs=jobs)) if todo else iter(())
    diagnostics: list[Diagnostic] = []
    packages: list[RenderedPackage] = []
    formatted: set[str] = set()  # packages that come from the cache, as written
    owners: dict[str, Path] = {}
    to_store: dict[str, tuple[str, list[Diagnostic]]] = {}  # built now: name -> key, findings
    for index, path in enumerate(documents):
        entry = hits.get(index)
        if entry is not None:
            built = Built(path, None, entry.package, list(entry.diagnostics))
        else:
            built = next(fresh)
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
        if entry is not None:
            formatted.add(name)
        elif (key := keys[index]) is not None:
            to_store[name] = (key, built.diagnostics)
    outcome = Outcome(diagnostics, packages)
    if outcome.errors:
        return outcome
    view = _root_view(paths, out, owners)
    root_key = cache.key_of("root", repr(view), *_options()) if cache is not None else None
    root_entry = cache.get(root_key) if cache is not None and root_key is not None else None
    try:
        if root_entry is not None:
            root_files: Sequence[RenderedFile] = root_entry.package.files
        else:
            root_files = render_root(view)
        settled = root_entry is not None and len(formatted) == len(packages)
        if settled and not check and unchanged(packages, root_files, out):
            outcome.written = True  # everything is in place, byte for byte: nothing to write
            return outcome
        ready = root_entry is not None  # the root files come formatted from the cache
        if check:
            with tempfile.TemporaryDirectory(prefix="kontrakt-check-") as tmp:
                staged = stage(
                    packages,
                    root_files,
                    Path(tmp),
                    formatted=formatted,
                    root_formatted=ready,
                    keep=cache is not None,
                )
                outcome.diff = compare(packages, Path(tmp), out)
        else:
            staged = write(
                packages,
                root_files,
                out,
                formatted=formatted,
                root_formatted=ready,
                keep=cache is not None,
            )
            outcome.written = True
    except (WriteError, RenderError) as exc:
        outcome.diagnostics.append(Diagnostic(str(out), "", str(exc), Level.ERROR, None, "write"))
        return outcome
    if cache is not None:
        from kontrakt.generator.cache import Entry

        for package in staged.packages:
            if package.name in to_store:
                key, found = to_store[package.name]
                cache.put(key, Entry(package, tuple(found)))
        if root_key is not None and root_entry is None:
            cache.put(root_key, Entry(RenderedPackage("_root", staged.root_files), ()))
    return outcome

"""Models in parts: a large document's schemas split into closed groups, built side by side by
datamodel-code-generator, and the modules merged back into one.

datamodel-code-generator takes about 10 s of one CPU for GitHub's description (1,873 schemas with
the hoisted bodies and the shared inline shapes, 2 MB of JSON; `generator.sharing`) and cannot use
a second one. Its time grows with the schemas it is given, and
a schema needs only the schemas it references, so:

- `plan` splits the components into parts: each schema goes to one part, which also receives
  everything that schema references (its closure), so each part is a valid input on its own. The
  schemas go, largest closure first, to the part they enlarge least, which keeps related schemas
  together and the parts of similar size. How many parts depends on the input's size only (never
  on the number of CPUs), so the output is the same on every machine.
- each part is built in a forked process (one after the other with one CPU);
- `merge` puts the modules together: the first part's module as it is, then from each later part
  the classes not already there. A class is "already there" when the first parts made a class for
  the same schema (the same ``source_ref`` in datamodel-code-generator's model metadata, the same
  number of times); the later part's references to it are renamed to the earlier name, and a new
  class whose name is taken gets the next free number, as datamodel-code-generator numbers its own
  clashes. Imports are united.

Whatever `merge` cannot vouch for (an unexpected statement, two imports of one name, a class named
like an import) makes it return None, and the caller builds the whole input in one piece instead:
slower, never different in meaning. A merged module can differ from the one-piece module in class
numbering (which part met a name first) and in keeping two classes that one piece would have
merged as duplicates; both are sound, and both are the same on every run.
"""

from __future__ import annotations

import ast
import gc
import io
import json
import multiprocessing
import re
import tokenize
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, replace
from typing import Any

__all__ = ["PART_BYTES", "Caught", "Output", "build_in_parts", "merge", "plan"]

PART_BYTES = 900_000  # about this much schema JSON per part (GitHub's description: 2 parts)
MAX_PARTS = 4
_REF = re.compile(r'"\$ref"\s*:\s*"#/components/schemas/([^"]+)"')
_TRAILING_NUMBER = re.compile(r"\d+$")


@dataclass(frozen=True)
class Caught:
    """A warning datamodel-code-generator gave (picklable, unlike `warnings.WarningMessage`)."""

    category: type[Warning]
    message: str


@dataclass(frozen=True)
class Output:
    """What one datamodel-code-generator run produced: the module, its model metadata, warnings."""

    source: str
    models: list[dict[str, Any]]
    caught: tuple[Caught, ...]
    shape: Shape | None = None  # found where the module was made (see `merge`)


def _unescape(token: str) -> str:
    return token.replace("~1", "/").replace("~0", "~")


def plan(schemas: Mapping[str, Any]) -> list[list[str]]:
    """The schema names of each part, in document order; one part when the input is small."""
    texts = {
        name: json.dumps(schema, ensure_ascii=False, default=str)
        for name, schema in schemas.items()
    }
    size = sum(len(text) for text in texts.values())
    count = min(MAX_PARTS, size // PART_BYTES)
    if count < 2:
        return [list(schemas)]
    refs = {
        name: {_unescape(target) for target in _REF.findall(text)} & schemas.keys()
        for name, text in texts.items()
    }

    def closure(name: str) -> set[str]:
        seen: set[str] = set()
        todo = [name]
        while todo:
            item = todo.pop()
            if item not in seen:
                seen.add(item)
                todo.extend(refs[item])
        return seen

    closures = {name: closure(name) for name in schemas}
    weight = {name: len(text) for name, text in texts.items()}
    parts: list[set[str]] = [set() for _ in range(count)]
    sizes = [0] * count
    order = sorted(schemas, key=lambda n: (-sum(weight[m] for m in closures[n]), n))
    for name in order:
        if any(name in part for part in parts):
            continue  # already in some part as another schema's reference
        added = [sum(weight[m] for m in closures[name] - part) for part in parts]
        best = min(range(count), key=lambda i: (sizes[i] + added[i], i))
        parts[best] |= closures[name]
        sizes[best] += added[best]
    return [[name for name in schemas if name in part] for part in parts if part]


# -- merging ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Shape:
    """What `merge` needs to know of a module, found by parsing it (in the worker that made it)."""

    plain: (
        bool  # only absolute ``from`` imports, classes and ``X.model_rebuild()`` at the top level
    )
    imports: tuple[tuple[str, str, str | None], ...]  # (module, name, as-name)
    imports_end: int  # the last line of the imports
    classes: dict[str, tuple[int, int]]  # class name -> first and last line
    rebuilt: tuple[str, ...]  # the classes whose ``model_rebuild()`` the module calls, in order


def shape(source: str) -> Shape:
    """The `Shape` of ``source``."""
    tree = ast.parse(source)
    imports: list[tuple[str, str, str | None]] = []
    classes: dict[str, tuple[int, int]] = {}
    rebuilt: list[str] = []
    plain, end = True, 0
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            imports += [(node.module, alias.name, alias.asname) for alias in node.names]
            end = node.end_lineno or node.lineno
        elif isinstance(node, ast.ClassDef) and not node.decorator_list:
            classes[node.name] = (node.lineno, node.end_lineno or node.lineno)
        elif (rebuilds := _rebuilds(node)) is not None:
            rebuilt.append(rebuilds)
        else:
            plain = False  # a statement merge does not know: not vouched for
    return Shape(plain, tuple(imports), end, classes, tuple(rebuilt))


def _rebuilds(node: ast.stmt) -> str | None:
    """``X`` when ``node`` is ``X.model_rebuild()`` (recursive models are completed so)."""
    match node:
        case ast.Expr(
            ast.Call(ast.Attribute(ast.Name(name), "model_rebuild"), args=[], keywords=[])
        ):
            return name
    return None


def _rename(text: str, names: Mapping[str, str]) -> str:
    """``text`` (a class statement) with the class names in ``names`` replaced: every name token
    except attributes (after a dot) and names before a single ``=`` that do not follow a colon
    (keyword arguments, enum members; ``field: Name = default`` is a reference)."""
    lines = text.splitlines(keepends=True)
    tokens = list(tokenize.generate_tokens(io.StringIO(text).readline))
    edits: list[tuple[int, int, int, str]] = []
    for index, token in enumerate(tokens):
        if token.type != tokenize.NAME or token.string not in names:
            continue
        before = tokens[index - 1].string if index else ""
        after = tokens[index + 1].string if index + 1 < len(tokens) else ""
        if before == "." or (after == "=" and before != ":"):
            continue  # an attribute, a keyword argument or an assignment target (enum member)
        (row, col), (_, end) = token.start, token.end
        edits.append((row, col, end, names[token.string]))
    for row, col, end, new in reversed(edits):
        line = lines[row - 1]
        lines[row - 1] = line[:col] + new + line[end:]
    return "".join(lines)


def _free(name: str, used: set[str]) -> str:
    """``name`` if unused, else the next free numbered form of its stem."""
    if name not in used:
        return name
    stem = _TRAILING_NUMBER.sub("", name) or name
    number = 1
    while f"{stem}{number}" in used:
        number += 1
    return f"{stem}{number}"


def merge(outputs: Sequence[Output]) -> Output | None:
    """One module from the parts' modules (see the module docstring); None when not vouched for."""
    shapes = [output.shape or shape(output.source) for output in outputs]
    first, first_shape = outputs[0], shapes[0]
    bound: dict[str, tuple[str, str]] = {}  # local name -> (module, name)
    for module, name, alias in first_shape.imports:
        bound[alias or name] = (module, name)
    if not first_shape.plain or len(first_shape.classes) != len(first.models):
        return None
    if first_shape.classes.keys() & bound.keys():
        return None
    made: dict[str, list[str]] = {}  # source_ref -> the class names made for it, in order
    for model in first.models:
        made.setdefault(model["source_ref"], []).append(model["class_name"])
    used = set(first_shape.classes)
    models = list(first.models)
    extra_imports: list[str] = []
    extra_classes: list[str] = []
    extra_rebuilds: list[str] = []
    for output, part_shape in zip(outputs[1:], shapes[1:], strict=True):
        if not part_shape.plain or len(part_shape.classes) != len(output.models):
            return None
        for module, name, alias in part_shape.imports:
            local = alias or name
            if local not in bound:
                bound[local] = (module, name)
                extra_imports.append(
                    f"from {module} import {name}" + (f" as {alias}" if alias else "")
                )
            elif bound[local] != (module, name):
                return None  # one name, two meanings
        counts = Counter(model["source_ref"] for model in output.models)
        seen: Counter[str] = Counter()
        names: dict[str, str] = {}
        kept: list[dict[str, Any]] = []
        for model in output.models:
            ref, name = model["source_ref"], model["class_name"]
            if name not in part_shape.classes:
                return None
            earlier = made.get(ref, [])
            if len(earlier) == counts[ref]:
                names[name] = earlier[seen[ref]]  # the same schema, made before
                seen[ref] += 1
            else:
                kept.append(model)
        for model in kept:
            new_name = _free(model["class_name"], used | bound.keys())
            used.add(new_name)
            names[model["class_name"]] = new_name
        changed = {old: new for old, new in names.items() if old != new}
        mentions = (
            re.compile(r"\b(?:" + "|".join(map(re.escape, changed)) + r")\b") if changed else None
        )
        lines = output.source.splitlines(keepends=True)
        for model in kept:
            first_line, last_line = part_shape.classes[model["class_name"]]
            text = "".join(lines[first_line - 1 : last_line])
            if mentions is not None and mentions.search(text):
                text = _rename(text, changed)
            extra_classes.append(text)
            if model["class_name"] in part_shape.rebuilt:
                extra_rebuilds.append(f"{names[model['class_name']]}.model_rebuild()")
            renamed = dict(model, class_name=names[model["class_name"]])
            models.append(renamed)
            made.setdefault(model["source_ref"], []).append(renamed["class_name"])
    lines = first.source.splitlines(keepends=True)
    head = "".join(lines[: first_shape.imports_end])
    rest = "".join(lines[first_shape.imports_end :]).rstrip("\n")
    added = "".join(f"{line}\n" for line in extra_imports)
    tail = "".join(f"\n\n\n{text.rstrip()}" for text in extra_classes)
    rebuilds = "\n\n" + "".join(f"\n{line}" for line in extra_rebuilds) if extra_rebuilds else ""
    source = f"{head}{added}{rest}{tail}{rebuilds}\n"
    caught = tuple(dict.fromkeys(c for output in outputs for c in output.caught))
    return Output(source, models, caught)


# -- running the parts -----------------------------------------------------------------------

# What forked workers read (set just before the pool forks; a fork copies it for free).
Builder = Callable[[dict[str, Any]], Output]
_WORK: tuple[dict[str, Any], list[list[str]], Builder] | None = None


def _subset(document: dict[str, Any], names: Sequence[str]) -> dict[str, Any]:
    schemas = document["components"]["schemas"]
    components = {**document["components"], "schemas": {name: schemas[name] for name in names}}
    return {**document, "components": components}


def _part(document: dict[str, Any], names: Sequence[str], build: Builder) -> Output:
    """One part built, with its `Shape` (found here, in parallel, rather than in `merge`)."""
    output = build(_subset(document, names))
    return replace(output, shape=shape(output.source))


def _worker(index: int) -> Output:
    assert _WORK is not None
    document, parts, build = _WORK
    # The worker lives for one part: what it inherited (the input, the modules) is left out of
    # its collections, and they run less often (datamodel-code-generator allocates millions of
    # objects; with the default threshold the cyclic collector takes about a tenth of its time).
    gc.freeze()
    gc.set_threshold(100_000, 50, 1000)
    return _part(document, parts[index], build)


def build_in_parts(document: dict[str, Any], build: Builder, *, jobs: int | None = None) -> Output:
    """``build(document)``, in parts when the document's schemas are large (see `plan`)."""
    global _WORK
    parts = plan(document["components"]["schemas"])
    if len(parts) < 2:
        return build(document)
    # Imported here: the pipeline imports (at call time) the models stage, which imports this.
    from kontrakt.generator.pipeline import cpus

    jobs = min(jobs or cpus(), len(parts))
    try:
        if jobs < 2 or "fork" not in multiprocessing.get_all_start_methods():
            outputs = [_part(document, names, build) for names in parts]
        else:
            _WORK = (document, parts, build)
            context = multiprocessing.get_context("fork")
            with ProcessPoolExecutor(jobs, mp_context=context) as pool:
                outputs = list(pool.map(_worker, range(len(parts))))
    except Exception:  # a part failed: the whole input decides (and reports) what is wrong
        return build(document)
    finally:
        _WORK = None
    return merge(outputs) or build(document)

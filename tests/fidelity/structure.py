"""Structural facts of an OpenAPI document, for comparing our specs with the publishers' copies.

A document is reduced to a set of one-line *facts* (operations, parameters and their `required`,
status codes, media types, and per named schema its property names, types, formats, enums,
patterns and required lists). Two documents are compared as two fact sets: a fact only upstream
prints as ``- fact``, a fact only ours as ``+ fact``. The fidelity tests require every such line
to be explained in an allow-list (see tests/fidelity/README.md).

Run it by hand to see the differences and an allow-list skeleton:

    .venv/bin/python tests/fidelity/structure.py OURS.yaml UPSTREAM.yaml [--renames Old=New ...]
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import yaml

from kontrakt.specfile import read_spec

METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
SCHEMA_REF = "#/components/schemas/"


def load(path: Path) -> dict[str, Any]:
    """Read YAML or JSON; status codes written as bare integers (``200:``) become strings."""
    return read_spec(path).data


def _resolve(doc: Mapping[str, Any], node: Any) -> Any:
    """Follow local non-schema $refs (parameters, responses, request bodies, headers)."""
    seen: set[str] = set()
    while isinstance(node, dict) and "$ref" in node and not node["$ref"].startswith(SCHEMA_REF):
        ref = node["$ref"]
        if ref in seen or not ref.startswith("#/"):
            break
        seen.add(ref)
        target: Any = doc
        for part in ref[2:].split("/"):
            target = target.get(part.replace("~1", "/").replace("~0", "~"), {})
        node = target
    return node


def _types(schema: Mapping[str, Any]) -> str | None:
    """Normalise 3.0 ``nullable`` and 3.1 type lists to one sorted ``a|b`` string."""
    raw = schema.get("type")
    types: set[str] = set()
    if isinstance(raw, str):
        types.add(raw)
    elif isinstance(raw, list):
        types.update(str(t) for t in raw)
    if schema.get("nullable") is True:
        types.add("null")
    return "|".join(sorted(types)) if types else None


class _Collector:
    def __init__(self, doc: Mapping[str, Any], renames: Mapping[str, str]) -> None:
        self.doc = doc
        self.renames = renames
        self.facts: set[str] = set()
        self.owner: dict[str, str] = {}  # fact -> the named schema it describes

    def name(self, ref: str) -> str:
        raw = ref[len(SCHEMA_REF) :] if ref.startswith(SCHEMA_REF) else ref
        return self.renames.get(raw, raw)

    def schema(self, where: str, schema: Any) -> None:
        """Facts for a schema at location ``where``; named schemas are referenced, not expanded."""
        if not isinstance(schema, dict):
            return
        if "$ref" in schema:
            self.facts.add(f"{where} -> {self.name(schema['$ref'])}")
            return
        typ = _types(schema)
        if typ:
            self.facts.add(f"{where} type={typ}")
        for key in ("format", "pattern"):
            if key in schema:
                self.facts.add(f"{where} {key}={schema[key]}")
        for value in schema.get("enum", []) or []:
            if value is not None:
                self.facts.add(f"{where} enum {value}")
        for name in schema.get("required", []) or []:
            self.facts.add(f"{where}.{name} required")
        for name, sub in (schema.get("properties") or {}).items():
            self.facts.add(f"{where}.{name} property")
            self.schema(f"{where}.{name}", sub)
        if "items" in schema:
            self.schema(f"{where}[]", schema["items"])
        if isinstance(schema.get("additionalProperties"), dict):
            self.schema(f"{where}{{*}}", schema["additionalProperties"])
        for combinator in ("allOf", "oneOf", "anyOf"):
            for index, sub in enumerate(schema.get(combinator, []) or []):
                self.schema(f"{where}<{combinator}{index}>", sub)

    def parameter(self, op: str, param: Mapping[str, Any]) -> None:
        where = param.get("in", "?")
        name = str(param.get("name", "?"))
        if where == "header":
            name = name.lower()  # HTTP header names are case-insensitive
        label = f"param {op} {where}:{name}"
        self.facts.add(f"{label} required={bool(param.get('required', False))}")
        self.schema(f"{label} schema", param.get("schema"))

    def operations(self) -> Iterator[tuple[str, str, dict[str, Any], list[Any]]]:
        for path, item in (self.doc.get("paths") or {}).items():
            item = _resolve(self.doc, item)
            shared = item.get("parameters", []) or []
            for method in METHODS:
                if method in item:
                    yield path, method.upper(), item[method], shared

    def collect(self) -> set[str]:
        for path, method, op, shared in self.operations():
            label = f"{method} {path}"
            self.facts.add(f"operation {label}")
            params = {}
            for raw in [*shared, *(op.get("parameters", []) or [])]:
                param = _resolve(self.doc, raw)
                params[(param.get("in"), str(param.get("name")).lower())] = param
            for param in params.values():
                self.parameter(label, param)
            body = _resolve(self.doc, op.get("requestBody"))
            if isinstance(body, dict):
                self.facts.add(f"request {label} required={bool(body.get('required', False))}")
                for media, content in (body.get("content") or {}).items():
                    self.facts.add(f"request {label} media {media}")
                    self.schema(f"request {label} {media}", (content or {}).get("schema"))
            for status, response in (op.get("responses") or {}).items():
                response = _resolve(self.doc, response)
                self.facts.add(f"status {label} {status}")
                for media, content in ((response or {}).get("content") or {}).items():
                    self.facts.add(f"media {label} {status} {media}")
                    self.schema(f"body {label} {status} {media}", (content or {}).get("schema"))
        for name, schema in ((self.doc.get("components") or {}).get("schemas") or {}).items():
            before = set(self.facts)
            named = self.renames.get(name, name)
            self.schema(f"schema {named}", schema)
            self.owner.update({fact: named for fact in self.facts - before})
        return self.facts


def facts(doc: Mapping[str, Any], renames: Mapping[str, str] | None = None) -> set[str]:
    """The structural facts of ``doc``; ``renames`` maps schema names onto the other side's names."""
    return _Collector(doc, renames or {}).collect()


def _schema_facts(
    doc: Mapping[str, Any], renames: Mapping[str, str]
) -> tuple[set[str], dict[str, str]]:
    collector = _Collector(doc, renames)
    return collector.collect(), collector.owner


def _collapse(found: set[str], owner: Mapping[str, str], alone: set[str]) -> set[str]:
    """Replace the facts of schemas only one side has with one ``schema <Name> (whole schema)``."""
    kept = {f for f in found if owner.get(f) not in alone}
    return kept | {f"schema {name} (whole schema)" for name in alone}


def operation_labels(doc: Mapping[str, Any]) -> set[str]:
    return {f"{m} {p}" for p, m, _, _ in _Collector(doc, {}).operations()}


def compare(
    ours: Mapping[str, Any],
    upstream: Mapping[str, Any],
    renames: Mapping[str, str] | None = None,
    only_upstream_operations: bool = False,
) -> list[str]:
    """Sorted difference lines: ``- fact`` only upstream, ``+ fact`` only ours.

    ``renames`` maps upstream schema names to ours. A named schema that only one side has is one
    difference (``schema <Name> (whole schema)``), not one per property. With
    ``only_upstream_operations``, operations that exist only in our document are reported once
    each (``+ operation ...``) and not expanded.
    """
    theirs, their_owner = _schema_facts(upstream, renames or {})
    mine, my_owner = _schema_facts(ours, {})
    their_names, my_names = set(their_owner.values()), set(my_owner.values())
    theirs = _collapse(theirs, their_owner, their_names - my_names)
    mine = _collapse(mine, my_owner, my_names - their_names)
    if only_upstream_operations:
        extra = operation_labels(ours) - operation_labels(upstream)
        mine = {f for f in mine if not any(_mentions(f, label) for label in extra)}
        mine |= {f"operation {label}" for label in extra}
    lines = [f"- {f}" for f in theirs - mine] + [f"+ {f}" for f in mine - theirs]
    return sorted(lines, key=lambda line: (line[2:], line[0]))


def _mentions(fact: str, label: str) -> bool:
    return f" {label} " in f" {fact} "


def _main(argv: Iterable[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("ours", type=Path)
    parser.add_argument("upstream", type=Path)
    parser.add_argument("--renames", nargs="*", default=[], help="UpstreamName=OurName")
    parser.add_argument("--only-upstream-operations", action="store_true")
    args = parser.parse_args(list(argv) if argv is not None else None)
    renames = dict(item.split("=", 1) for item in args.renames)
    lines = compare(load(args.ours), load(args.upstream), renames, args.only_upstream_operations)
    for line in lines:
        print(
            yaml.safe_dump([{"diff": line, "reason": "TODO"}], allow_unicode=True, width=200),
            end="",
        )
    print(f"# {len(lines)} differences", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(_main())

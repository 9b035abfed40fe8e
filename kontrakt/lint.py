"""`kontrakt lint`: is an authored contract valid OpenAPI, and are its x-kontrakt-* rules coherent?

Checks, in order (see specs/README.md "Linting"): OpenAPI validity, the extension schema per place,
operationIds, domain codes on error responses against the error catalogue, rule ids and source
keys, lifecycles and services, role templates naming no path parameter (a warning),
`$ref` resolution and unused components. Every finding is a
`Diagnostic` naming file and JSON pointer; linting never writes anything.
"""

from __future__ import annotations

import json
import keyword
import re
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kontrakt.diagnostics import Diagnostic, Level, escape, pointer
from kontrakt.specfile import SpecFile, SpecLoadError, read_spec
from kontrakt.stackroom import with_room

if TYPE_CHECKING:
    import jsonschema

# The validators (jsonschema, openapi-spec-validator: 0.25 s to import) are imported where they
# are used, so that commands which only set the reference policy (a cached generate) skip them.

__all__ = ["LOCATIONS", "extension_schema", "lint_document", "lint_paths"]

METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
PREFIX = "x-kontrakt-"
# The places an extension may sit, as named by the $defs of the extension schema.
LOCATIONS = ("document", "operation", "response", "media-type", "schema", "anywhere")
# Keys whose values are instance data, not OpenAPI objects: never read extensions inside them.
DATA_KEYS = frozenset({"example", "examples", "value", "default", "enum", "const"})
# While scanning for $ref and extension values, "examples" may hold Example objects and a
# "default" under "responses" is a response; every other data key is skipped.
SCAN_SKIP = frozenset({"example", "value", "enum", "const"})
# A `{name}` variable of a path template or an x-kontrakt-roles template.
_TEMPLATE_VARIABLE = re.compile(r"\{([^{}]+)\}")


# Maps whose keys are names the author chose (a response status, an example's, a property's, a
# component's): `default`, `value` or `example` there is a name, never instance data.
NAME_MAPS = frozenset(
    {
        "responses",
        "examples",
        "properties",
        "patternProperties",
        "$defs",
        "definitions",
        "dependentSchemas",
        "headers",
        "links",
        "callbacks",
        "encoding",
        "content",
        "schemas",
        "parameters",
        "requestBodies",
        "securitySchemes",
        "pathItems",
        "paths",
        "webhooks",
        "variables",
    }
)


def _is_data(key: str, parent: str, value: Any = None) -> bool:
    """Whether `key` (under the key `parent`) holds instance data rather than OpenAPI structure.

    `default`, `example`, `value`, `enum` and `const` hold data in a schema, parameter or example
    object, but are names in a map of names (a property called `default`, an example named
    `default`); a JSON Schema `examples` list is data too.
    """
    if parent in NAME_MAPS:
        return False
    return key in SCAN_SKIP or key == "default" or (key == "examples" and isinstance(value, list))


SCHEMA_CHILD = (
    "items",
    "additionalProperties",
    "not",
    "contains",
    "propertyNames",
    "if",
    "then",
    "else",
    "unevaluatedProperties",
    "unevaluatedItems",
    "contentSchema",
)
SCHEMA_LIST = ("allOf", "oneOf", "anyOf", "prefixItems")
SCHEMA_MAP = ("properties", "patternProperties", "$defs", "definitions", "dependentSchemas")
COMPONENT_KINDS = {
    "schemas": "schema",
    "responses": "response",
    "parameters": "parameter",
    "headers": "header",
    "requestBodies": "request-body",
    "pathItems": "path-item",
    "securitySchemes": "generic",
    "examples": "generic",
    "links": "generic",
    "callbacks": "callbacks",
}
ERROR_STATUS = re.compile(r"^([45][0-9][0-9]|[45]XX|default)$")


@cache
def extension_schema() -> dict[str, Any]:
    """The published JSON Schema of the x-kontrakt-* vocabulary."""
    text = resources.files("kontrakt").joinpath("schemas/x-kontrakt.schema.json").read_text("utf-8")
    return json.loads(text)  # type: ignore[no-any-return]


@cache
def _key_validator(location: str, key: str) -> jsonschema.Draft202012Validator | None:
    schema = extension_schema()
    properties = schema["$defs"][location]["properties"]
    if key not in properties:
        return None
    wrapper = {"$defs": schema["$defs"], **properties[key]}
    import jsonschema

    return jsonschema.Draft202012Validator(wrapper, format_checker=jsonschema.FormatChecker())


def _allowed(location: str) -> list[str]:
    return sorted(extension_schema()["$defs"][location]["properties"])


@dataclass
class _Node:
    parts: tuple[str, ...]
    kind: str
    value: dict[str, Any]


def _walk(value: Any, parts: tuple[str, ...], kind: str) -> Iterator[_Node]:
    """Every OpenAPI object in the document with the kind of place it is."""
    if isinstance(value, list):
        for index, item in enumerate(value):
            yield from _walk(item, (*parts, str(index)), kind)
        return
    if not isinstance(value, dict):
        return
    yield _Node(parts, kind, value)
    for key, child in value.items():
        if key.startswith("x-") or key in DATA_KEYS:
            continue
        here = (*parts, key)
        yield from _walk_child(kind, key, child, here)


def _each(mapping: Any, parts: tuple[str, ...], kind: str) -> Iterator[_Node]:
    if isinstance(mapping, dict):
        for name, item in mapping.items():
            if not str(name).startswith("x-"):
                yield from _walk(item, (*parts, str(name)), kind)


_BODY = {"content": ("media-type", True), "headers": ("header", True), "schema": ("schema", False)}
# For each kind of OpenAPI object: child key -> (kind of the child, whether it is a map of them).
# Lists need no entry: `_walk` gives list items the kind of the list. "*" matches every key.
_CHILDREN: dict[str, dict[str, tuple[str, bool]]] = {
    "document": {"paths": ("path-item", True), "webhooks": ("path-item", True)},
    "path-item": {**{m: ("operation", False) for m in METHODS}, "parameters": ("parameter", False)},
    "operation": {
        "responses": ("response", True),
        "parameters": ("parameter", False),
        "requestBody": ("request-body", False),
        "callbacks": ("callbacks", True),
    },
    "callbacks": {"*": ("path-item", False)},
    "response": _BODY,
    "request-body": _BODY,
    "parameter": _BODY,
    "header": _BODY,
    "media-type": {"schema": ("schema", False)},
    "schema": {
        **{k: ("schema", False) for k in (*SCHEMA_CHILD, *SCHEMA_LIST)},
        **{k: ("schema", True) for k in SCHEMA_MAP},
    },
}


def _walk_child(kind: str, key: str, child: Any, here: tuple[str, ...]) -> Iterator[_Node]:
    if kind == "document" and key == "components" and isinstance(child, dict):
        for group, items in child.items():
            yield from _each(items, (*here, group), COMPONENT_KINDS.get(group, "generic"))
        return
    table = _CHILDREN.get(kind, {})
    child_kind, is_map = table.get(key) or table.get("*") or ("generic", False)
    yield from (_each if is_map else _walk)(child, here, child_kind)


def _location(kind: str) -> str:
    return kind if kind in LOCATIONS else "anywhere"


def _resolve_pointer(data: Any, ref_pointer: str) -> tuple[bool, Any]:
    target = data
    for raw in ref_pointer.split("/")[1:]:
        token = raw.replace("~1", "/").replace("~0", "~")
        if isinstance(target, dict) and token in target:
            target = target[token]
        elif isinstance(target, list) and token.isdigit() and int(token) < len(target):
            target = target[int(token)]
        else:
            return False, None
    return True, target


def _all_refs(value: Any, parts: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], str]]:
    """Every ``$ref`` string in the document, with where it sits (instance data skipped)."""
    if isinstance(value, dict):
        ref = value.get("$ref")
        if isinstance(ref, str):
            yield parts, ref
        parent = parts[-1] if parts else ""
        for key, child in value.items():
            if not _is_data(key, parent, child) and not key.startswith(PREFIX):
                yield from _all_refs(child, (*parts, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _all_refs(item, (*parts, str(index)))


@dataclass
class _Linter:
    spec: SpecFile
    authored: bool = True
    progress: Callable[[str], None] | None = None
    found: list[Diagnostic] = field(default_factory=list)

    @property
    def data(self) -> dict[str, Any]:
        return self.spec.data

    def report(
        self, parts: tuple[str, ...] | str, message: str, check: str, level: Level = Level.ERROR
    ) -> None:
        ptr = parts if isinstance(parts, str) else pointer(parts)
        self.found.append(
            Diagnostic(self.spec.name, ptr, message, level, self.spec.line(ptr), check)
        )

    def _operation_ticker(self) -> Callable[[], None] | None:
        """A callback for the validator that reports every tenth of the operations validated."""
        progress = self.progress
        if progress is None:
            return None
        total = sum(1 for parts, _ in self.operations() if parts[0] == "paths")
        step = max(1, total // 10)
        done = 0

        def tick() -> None:
            nonlocal done
            done += 1
            if done % step == 0 or done == total:
                progress(f"OpenAPI structure: {done}/{total} operations validated")

        return tick

    # -- 1. OpenAPI itself ------------------------------------------------------------------
    def check_openapi(self, refs_ok: bool) -> None:
        version = str(self.data.get("openapi", ""))
        if "swagger" in self.data:
            self.report(
                "/swagger",
                "Swagger 2.0 is not supported: convert the document to "
                "OpenAPI 3 first (for example `npx swagger2openapi in.yaml -o out.yaml`)",
                "openapi-version",
            )
            return
        if not version.startswith(("3.0", "3.1")):
            self.report(
                "/openapi",
                f"unsupported or missing OpenAPI version {version!r} (3.0.x or 3.1.x expected)",
                "openapi-version",
            )
            return
        if self.authored and not version.startswith("3.1"):
            self.report("/openapi", "authored contracts are OpenAPI 3.1", "openapi-version")
        for ptr in self.spec.integer_keys:
            self.report(
                ptr,
                "key written as a bare number: quote it (OpenAPI requires string keys, e.g. '200')",
                "quoted-keys",
            )
        if not refs_ok:
            return  # the validator cannot walk unresolved references; those are reported below
        import referencing.exceptions

        from kontrakt.specvalidate import validator_for

        try:
            base = self.spec.path.resolve().as_uri()
            validator_class = validator_for(version, self._operation_ticker())
            # Walked with room on the frame stack: the validator recurses through the whole
            # document (`kontrakt.stackroom`).
            walk = validator_class(self.data, base_uri=base).iter_errors()
            for error in with_room(list, walk):
                parts = tuple(str(p) for p in error.absolute_path)
                self.report(parts, f"invalid OpenAPI: {error.message.splitlines()[0]}", "openapi")
        except referencing.exceptions.Unresolvable as exc:
            self.report("", f"invalid OpenAPI: unresolvable reference {exc}", "openapi")
        except RecursionError:
            self.report(
                "",
                "invalid OpenAPI: the validator could not walk the document (its references "
                "recurse without end)",
                "openapi",
            )
        except (KeyError, TypeError, AttributeError, ValueError) as exc:
            # openapi-spec-validator walks the document assuming its shape and can fail on badly
            # malformed input (e.g. `parameters: notalist`); that is a finding, not a crash.
            already = any(d.check == "openapi" for d in self.found)
            if not already:
                self.report(
                    "",
                    "invalid OpenAPI: the validator could not walk the document "
                    f"({type(exc).__name__}: {exc}); fix the structural errors first",
                    "openapi",
                )

    # -- 2. extension values ------------------------------------------------------------------
    def check_extensions(self) -> None:
        everywhere = {k for loc in LOCATIONS for k in _allowed(loc)}
        for node in _walk(self.data, (), "document"):
            location = _location(node.kind)
            for key, value in node.value.items():
                if not key.startswith(PREFIX):
                    continue
                here = (*node.parts, key)
                validator = _key_validator(location, key)
                if validator is None:
                    hint = (
                        f"not allowed on a {node.kind} (allowed here: "
                        f"{', '.join(_allowed(location))})"
                        if key in everywhere
                        else "unknown extension key"
                    )
                    self.report(here, f"{key}: {hint}", "extension-place")
                    continue
                for error in sorted(validator.iter_errors(value), key=lambda e: list(e.path)):
                    parts = (*here, *(str(p) for p in error.absolute_path))
                    self.report(parts, f"{key}: {error.message}", "extension-schema")
        if self.authored and "x-kontrakt-api" not in self.data:
            self.report(
                "",
                "missing x-kontrakt-api (id, family, publisher, status, sources)",
                "extension-schema",
            )

    # -- 3. operations ------------------------------------------------------------------------
    def operations(self) -> Iterator[tuple[tuple[str, ...], dict[str, Any]]]:
        for group in ("paths", "webhooks"):
            for path, item in (self.data.get(group) or {}).items():
                if not isinstance(item, dict):
                    continue
                for method in METHODS:
                    if isinstance(item.get(method), dict):
                        yield (group, path, method), item[method]

    def check_operation_ids(self) -> None:
        seen: dict[str, tuple[str, ...]] = {}
        for parts, op in self.operations():
            if parts[0] == "webhooks":
                continue
            op_id = op.get("operationId")
            if not isinstance(op_id, str) or not op_id:
                # OpenAPI makes operationId optional: a house rule for our contracts only (the
                # generator derives one from the method and path for a foreign document).
                self.report(
                    parts,
                    "operation has no operationId",
                    "operation-id",
                    Level.ERROR if self.authored else Level.WARNING,
                )
                continue
            if op_id in seen:
                self.report(
                    (*parts, "operationId"),
                    f"operationId {op_id!r} is also used at #{pointer(seen[op_id])}",
                    "operation-id",
                )
            seen[op_id] = parts
            if self.authored and (not op_id.isidentifier() or keyword.iskeyword(op_id)):
                self.report(
                    (*parts, "operationId"),
                    f"operationId {op_id!r} is not an "
                    "identifier; generated method names derive from it",
                    "operation-id",
                )

    # -- 4/5. domain codes -----------------------------------------------------------------
    def resolved(self, parts: tuple[str, ...], value: Any) -> tuple[tuple[str, ...], Any]:
        seen = set()
        while isinstance(value, dict) and isinstance(value.get("$ref"), str):
            ref = value["$ref"]
            if not ref.startswith("#/") or ref in seen:
                break
            seen.add(ref)
            ok, target = _resolve_pointer(self.data, ref[1:])
            if not ok:
                break
            parts = tuple(t.replace("~1", "/").replace("~0", "~") for t in ref[2:].split("/"))
            value = target
        return parts, value

    def check_error_codes(self) -> None:
        catalogue = self.data.get("x-kontrakt-error-catalogue")
        codes: Mapping[str, Any] = catalogue.get("codes", {}) if isinstance(catalogue, dict) else {}
        checked: set[tuple[str, ...]] = set()
        for parts, op in self.operations():
            if parts[0] != "paths":
                continue
            for status, raw in (op.get("responses") or {}).items():
                where, response = self.resolved((*parts, "responses", status), raw)
                if not ERROR_STATUS.match(status) or not isinstance(response, dict):
                    continue
                uses = response.get("x-kontrakt-errors")
                key = (*where, status)
                if key in checked:
                    continue
                checked.add(key)
                if uses is None:
                    if codes:
                        self.report(
                            where,
                            f"error response {status} names no domain codes (x-kontrakt-errors)",
                            "error-codes",
                        )
                    continue
                for index, use in enumerate(uses if isinstance(uses, list) else []):
                    code = use.get("code") if isinstance(use, dict) else None
                    if code is None:
                        continue
                    at = (*where, "x-kontrakt-errors", str(index), "code")
                    entry = codes.get(str(code))
                    if entry is None:
                        self.report(
                            at, f"code {code!r} is not in x-kontrakt-error-catalogue", "error-codes"
                        )
                        continue
                    mapped = entry.get("status")
                    statuses = mapped if isinstance(mapped, list) else [mapped]
                    if not any(_status_matches(status, s) for s in statuses):
                        self.report(
                            at,
                            f"code {code!r} is catalogued for HTTP {statuses}, "
                            f"not for this {status} response (reached from "
                            f"#{pointer(parts)})",
                            "error-codes",
                        )

    def check_defaults(self) -> None:
        catalogue = self.data.get("x-kontrakt-error-catalogue")
        if not isinstance(catalogue, dict) or not isinstance(catalogue.get("defaults"), dict):
            return
        codes = catalogue.get("codes") or {}
        for trigger, entry in catalogue["defaults"].items():
            if not isinstance(entry, dict) or "code" not in entry:
                continue
            at = ("x-kontrakt-error-catalogue", "defaults", trigger, "code")
            known = codes.get(str(entry["code"]))
            if known is None:
                self.report(at, f"code {entry['code']!r} is not in the catalogue", "error-codes")
                continue
            mapped = known.get("status")
            statuses = mapped if isinstance(mapped, list) else [mapped]
            if entry.get("status") not in statuses:
                self.report(
                    at,
                    f"code {entry['code']!r} is catalogued for HTTP {statuses}, not "
                    f"{entry.get('status')}",
                    "error-codes",
                )

    # -- 6. rules, sources, assumptions ----------------------------------------------------
    def check_references(self) -> None:
        rules = self.data.get("x-kontrakt-rules")
        rule_ids = set(rules) if isinstance(rules, dict) else set()
        api = self.data.get("x-kontrakt-api")
        sources = set(api.get("sources") or {}) if isinstance(api, dict) else set()
        assumption_ids: dict[str, str] = {}
        for parts, key, value in _extension_values(self.data):
            if key == "source" and isinstance(value, dict) and "doc" in value:
                if value["doc"] not in sources:
                    self.report(
                        (*parts, "doc"),
                        f"source document {value['doc']!r} is not "
                        "declared in x-kontrakt-api.sources",
                        "sources",
                    )
            elif key == "assumption" and isinstance(value, dict) and "id" in value:
                ptr = pointer(parts)
                if value["id"] in assumption_ids:
                    self.report(
                        parts,
                        f"assumption id {value['id']!r} is also used at "
                        f"#{assumption_ids[value['id']]}",
                        "assumptions",
                    )
                assumption_ids.setdefault(value["id"], ptr)
            elif key == "rule" and isinstance(value, str) and value not in rule_ids:
                self.report(parts, f"rule {value!r} is not in x-kontrakt-rules", "rules")
        for parts, op in self.operations():
            if parts[0] != "paths":
                continue
            listed = op.get("x-kontrakt-rules")
            if isinstance(listed, list):
                for index, rule in enumerate(listed):
                    if rule not in rule_ids:
                        self.report(
                            (*parts, "x-kontrakt-rules", str(index)),
                            f"rule {rule!r} is not in the document's x-kontrakt-rules",
                            "rules",
                        )
            elif self.authored and rule_ids:
                self.report(parts, "operation lists no rule ids (x-kontrakt-rules)", "rules")

    # -- 7. lifecycles and services -------------------------------------------------------
    def check_lifecycles(self) -> None:
        lifecycles = self.data.get("x-kontrakt-lifecycles") or {}
        if not isinstance(lifecycles, dict):
            return
        for name, life in lifecycles.items():
            if not isinstance(life, dict):
                continue
            base = ("x-kontrakt-lifecycles", name)
            states = set(life.get("states") or {})
            initial = life.get("initial")
            if initial is not None and initial not in states:
                self.report(
                    (*base, "initial"), f"initial state {initial!r} is not declared", "lifecycles"
                )
            for source, targets in (life.get("transitions") or {}).items():
                if source not in states:
                    self.report(
                        (*base, "transitions", source),
                        f"state {source!r} is not declared",
                        "lifecycles",
                    )
                elif (life["states"][source] or {}).get("terminal") and targets:
                    self.report(
                        (*base, "transitions", source),
                        f"terminal state {source!r} has outgoing transitions",
                        "lifecycles",
                    )
                for index, target in enumerate(targets or []):
                    if target not in states:
                        self.report(
                            (*base, "transitions", source, str(index)),
                            f"state {target!r} is not declared",
                            "lifecycles",
                        )
            ref = life.get("schema")
            if isinstance(ref, str) and not _resolve_pointer(self.data, ref[1:])[0]:
                self.report((*base, "schema"), f"{ref} does not resolve", "lifecycles")
        for parts, op in self.operations():
            use = op.get("x-kontrakt-lifecycle")
            if not isinstance(use, dict):
                continue
            life = lifecycles.get(use.get("lifecycle"))
            at = (*parts, "x-kontrakt-lifecycle")
            if not isinstance(life, dict):
                self.report(at, f"lifecycle {use.get('lifecycle')!r} is not declared", "lifecycles")
                continue
            declared = life.get("states") or {}
            for state in [*(use.get("requires") or []), *filter(None, [use.get("moves-to")])]:
                if state not in declared:
                    self.report(
                        at,
                        f"state {state!r} is not in lifecycle {use['lifecycle']!r}",
                        "lifecycles",
                    )

    def check_services(self) -> None:
        services = self.data.get("x-kontrakt-services") or {}
        op_ids = {op.get("operationId") for _, op in self.operations()}
        catalogue = self.data.get("x-kontrakt-error-catalogue") or {}
        codes = catalogue.get("codes", {}) if isinstance(catalogue, dict) else {}
        for name, service in services.items() if isinstance(services, dict) else []:
            if not isinstance(service, dict):
                continue
            for index, op_id in enumerate(service.get("operations") or []):
                if op_id not in op_ids:
                    self.report(
                        ("x-kontrakt-services", name, "operations", str(index)),
                        f"operationId {op_id!r} does not exist",
                        "services",
                    )
            outside = service.get("outside")
            if isinstance(outside, dict) and outside.get("code") not in codes:
                self.report(
                    ("x-kontrakt-services", name, "outside", "code"),
                    f"code {outside.get('code')!r} is not in x-kontrakt-error-catalogue",
                    "services",
                )

    def check_roles(self) -> None:
        """A role template variable that is no path parameter: checked by shape only (warning)."""
        for parts, op in self.operations():
            roles = op.get("x-kontrakt-roles")
            if not isinstance(roles, dict) or roles.get("unbound-ok") is True:
                continue
            bound = set(_TEMPLATE_VARIABLE.findall(parts[1])) if parts[0] == "paths" else set()
            for index, template in enumerate(roles.get("any-of") or []):
                if not isinstance(template, str):
                    continue
                for variable in dict.fromkeys(_TEMPLATE_VARIABLE.findall(template)):
                    if variable in bound:
                        continue
                    self.report(
                        (*parts, "x-kontrakt-roles", "any-of", str(index)),
                        f"role template {template!r} names {{{variable}}}, which is no path "
                        "parameter of this operation: the generated route checks the role by "
                        "shape only and the handler must check it (AuthContext.require_roles); "
                        "add `unbound-ok: true` to x-kontrakt-roles to acknowledge",
                        "roles",
                        Level.WARNING,
                    )

    # -- 8. references and unused components -------------------------------------------------
    def check_refs(self) -> bool:
        ok = True
        for parts, ref in _all_refs(self.data):
            if ref.startswith("#"):
                if not _resolve_pointer(self.data, ref[1:])[0]:
                    self.report((*parts, "$ref"), f"$ref {ref!r} does not resolve", "refs")
                    ok = False
                elif (cycle := self._ref_cycle(ref)) is not None:
                    self.report(
                        (*parts, "$ref"),
                        f"$ref {ref!r} only refers on in a circle ({' -> '.join(cycle)}); "
                        "nothing is ever defined",
                        "refs",
                    )
                    ok = False
            else:
                ok = self.check_external_ref(parts, ref) and ok
        return ok

    def _ref_cycle(self, ref: str) -> list[str] | None:
        """The chain when `ref` leads, through objects that are nothing but a `$ref`, back to
        a reference already on the way (`P -> Q -> P`, `S -> S`); None when it ends."""
        chain = [ref]
        while True:
            ok, target = _resolve_pointer(self.data, chain[-1][1:])
            if not ok or not isinstance(target, dict) or not isinstance(target.get("$ref"), str):
                return None
            following = target["$ref"]
            if not following.startswith("#"):
                return None
            if following in chain:
                return [*chain, following]
            chain.append(following)

    def check_external_ref(self, parts: tuple[str, ...], ref: str) -> bool:
        if self.authored:
            self.report(
                (*parts, "$ref"),
                f"$ref {ref!r} points outside the document; authored contracts are self-contained",
                "refs",
            )
            return False
        refused = refused_ref(self.spec.path, ref)
        if refused is not None:
            self.report((*parts, "$ref"), refused, "refs")
            return False
        file_part, _, fragment = ref.partition("#")
        if _is_url(file_part):
            return True  # allowed remote references are the loader's business
        target = (self.spec.path.parent / file_part).resolve()
        try:
            other = read_spec(target)
        except SpecLoadError:
            self.report((*parts, "$ref"), f"$ref {ref!r}: file {target} cannot be read", "refs")
            return False
        if fragment and not _resolve_pointer(other.data, fragment)[0]:
            self.report((*parts, "$ref"), f"$ref {ref!r} does not resolve in {target}", "refs")
            return False
        return True

    def check_unused(self) -> None:
        components = self.data.get("components") or {}
        if not isinstance(components, dict):
            return
        edges: dict[str, set[str]] = {}
        roots: set[str] = set()
        for parts, ref in _all_refs(self.data):
            if not ref.startswith("#/components/"):
                continue
            target = "/".join(ref[2:].split("/")[:3])
            if len(parts) >= 3 and parts[0] == "components":
                edges.setdefault("/".join(parts[:3]), set()).add(target)
            else:
                roots.add(target)
        for life in (self.data.get("x-kontrakt-lifecycles") or {}).values():
            if isinstance(life, dict) and isinstance(life.get("schema"), str):
                roots.add("/".join(life["schema"][2:].split("/")[:3]))
        for requirement in _security_requirements(self.data):
            roots.update(f"components/securitySchemes/{escape(n)}" for n in requirement)
        reached: set[str] = set()
        pending = list(roots)
        while pending:
            item = pending.pop()
            if item not in reached:
                reached.add(item)
                pending.extend(edges.get(item, ()))
        for group, items in components.items():
            if group.startswith("x-") or not isinstance(items, dict):
                continue
            for name in items:
                if f"components/{group}/{escape(name)}" not in reached:
                    self.report(
                        ("components", group, name),
                        "component is never used (nothing outside components reaches it)",
                        "unused-components",
                        # Tidiness, not a defect: the API means the same without it.
                        Level.WARNING,
                    )

    def run(self) -> list[Diagnostic]:
        refs_ok = self.check_refs()
        self.check_openapi(refs_ok)
        if "swagger" in self.data:
            return self.found
        if self.progress is not None:
            self.progress("references, error codes and kontrakt rules")
        self.check_extensions()
        self.check_operation_ids()
        self.check_error_codes()
        self.check_defaults()
        self.check_references()
        self.check_lifecycles()
        self.check_services()
        self.check_roles()
        self.check_unused()
        return self.found


def _status_matches(status: str, mapped: Any) -> bool:
    if status == "default":
        return True
    if status.endswith("XX"):
        return str(mapped).startswith(status[0])
    return str(mapped) == status


def _security_requirements(data: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    for requirement in data.get("security") or []:
        if isinstance(requirement, dict):
            yield requirement
    for group in ("paths", "webhooks"):
        for item in (data.get(group) or {}).values():
            for method in METHODS:
                op = item.get(method) if isinstance(item, dict) else None
                for requirement in (op or {}).get("security") or []:
                    if isinstance(requirement, dict):
                        yield requirement


def _extension_values(
    value: Any, parts: tuple[str, ...] = (), inside: bool = False
) -> Iterator[tuple[tuple[str, ...], str, Any]]:
    """(where, key, value) for every key inside x-kontrakt-* values, and the extensions themselves.

    `x-kontrakt-source` and `x-kontrakt-assumption` are yielded under the keys `source` and
    `assumption`, the names they have inside catalogue entries.
    """
    if isinstance(value, dict):
        for key, child in value.items():
            here = (*parts, key)
            if key.startswith(PREFIX):
                short = key[len(PREFIX) :]
                if short in ("source", "assumption"):
                    yield here, short, child
                yield from _extension_values(child, here, True)
            elif inside:
                yield here, key, child
                yield from _extension_values(child, here, True)
            elif not _is_data(key, parts[-1] if parts else "", child):
                yield from _extension_values(child, here, False)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _extension_values(item, (*parts, str(index)), inside)


@dataclass
class RefPolicy:
    """Which `$ref`s of a document we did not write may be followed. By default none that
    fetches a URL and none that reads a file outside the document's folder: run in CI on a
    contributor's document, either would let the document make us fetch or read what it likes."""

    allow_remote: bool = False
    allow_outside: bool = False


REF_POLICY = RefPolicy()


def set_ref_policy(*, allow_remote: bool = False, allow_outside: bool = False) -> None:
    """Set the reference policy of this process (and of the generator's forked workers)."""
    REF_POLICY.allow_remote = allow_remote
    REF_POLICY.allow_outside = allow_outside


def _is_url(file_part: str) -> bool:
    return "://" in file_part or file_part.lower().startswith(("file:", "http:", "https:", "//"))


def refused_ref(document: Path, ref: str) -> str | None:
    """Why `ref` of `document` is not followed under `REF_POLICY`, or None. The message is the
    same whether or not the target exists, and names nothing but the reference as written."""
    file_part = ref.partition("#")[0]
    if not file_part:
        return None
    if _is_url(file_part):
        if REF_POLICY.allow_remote:
            return None
        return (
            f"$ref {ref!r} is not followed: kontrakt fetches no URL a document names "
            "(--allow-remote-refs to fetch it)"
        )
    if REF_POLICY.allow_outside:
        return None
    folder = document.parent.resolve()
    target = (document.parent / file_part).resolve()
    if not target.is_relative_to(folder):
        return (
            f"$ref {ref!r} is not followed: kontrakt reads no file outside the document's folder "
            "(--allow-outside-refs to read it)"
        )
    return None


def external_refs_refused(spec: SpecFile) -> bool:
    """Whether any `$ref` of `spec` is refused by `REF_POLICY` (the generator then builds no
    models: the model builder would follow it)."""
    return any(refused_ref(spec.path, ref) is not None for _, ref in _all_refs(spec.data))


def lint_document(
    spec: SpecFile, *, authored: bool = True, progress: Callable[[str], None] | None = None
) -> list[Diagnostic]:
    """All findings for one parsed document; ``authored`` adds the house rules for specs/;
    ``progress`` hears of each stage (and of every tenth of the operations validated)."""
    found = _Linter(spec, authored, progress).run()
    return sorted(found, key=lambda d: (d.line or 0, d.pointer, d.message))


# Documents at least this large report their progress (about 1 s of linting per MB, measured in
# bench/HOSTILE.md): below it lint answers before anyone wonders whether it hangs.
LARGE_DOCUMENT_BYTES = 1 << 20


def lint_paths(
    paths: list[Path],
    *,
    authored: bool = True,
    on_file: Callable[[Path], None] | None = None,
    progress: Callable[[str], None] | None = None,
) -> list[Diagnostic]:
    """Lint every document under ``paths``; unreadable files become diagnostics too.

    ``progress`` (e.g. a line on stderr) hears what lint is doing on documents of at least
    `LARGE_DOCUMENT_BYTES`, each message prefixed with the file and the seconds spent on it."""
    from kontrakt.specfile import find_documents

    found: list[Diagnostic] = []
    documents = find_documents(paths)
    if not documents:
        found.append(Diagnostic(", ".join(map(str, paths)), "", "no OpenAPI documents found"))
    for path in documents:
        if on_file:
            on_file(path)
        stage = _stage_reporter(path, progress)
        if stage is not None:
            stage(f"reading {path.stat().st_size / 1e6:.1f} MB")
        try:
            spec = read_spec(path)
        except SpecLoadError as exc:
            found.append(exc.diagnostic)
            continue
        found.extend(lint_document(spec, authored=authored, progress=stage))
        if stage is not None:
            stage("done")
    return found


def _stage_reporter(
    path: Path, progress: Callable[[str], None] | None
) -> Callable[[str], None] | None:
    if progress is None:
        return None
    try:
        if path.stat().st_size < LARGE_DOCUMENT_BYTES:
            return None
    except OSError:
        return None  # read_spec reports the unreadable file
    started = time.monotonic()

    def stage(message: str) -> None:
        progress(f"{path}: {message} ({time.monotonic() - started:.0f} s)")

    return stage

"""The contract as a rule author reads it: operations, error uses, rule catalogue, schemas.

Rules never repeat the tables of a spec; they ask this object. `Spec.error_codes(trigger=...,
operation=...)` gives the codes the document names for a situation, `Spec.validate(...)` checks a
body against an operation's response schema (OpenAPI 3.1 = JSON Schema 2020-12, `$ref`s resolved
inside the document), `Spec.rules` is `x-kontrakt-rules` with severity, title and source.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

import jsonschema
import referencing
import referencing.jsonschema

from kontrakt.specfile import SpecLoadError, read_spec

__all__ = [
    "HTTP_METHODS",
    "Basis",
    "ErrorUse",
    "Operation",
    "RuleInfo",
    "Severity",
    "Spec",
    "SpecError",
]

Severity = Literal["MUST", "SHOULD", "MAY"]
# Where a demand comes from: the publisher's text or OpenAPI, or kontrakt's own assumption.
Basis = Literal["published", "assumption"]
HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
_DOC_URI = "urn:kontrakt:document"


class SpecError(Exception):
    """The document cannot serve as a profile (unreadable, no rule catalogue, unknown id)."""


@dataclass(frozen=True)
class RuleInfo:
    """One entry of `x-kontrakt-rules`: what a rule demands and where the demand comes from."""

    id: str
    title: str
    severity: Severity
    source: Mapping[str, str]
    capability: str | None = None
    codes: tuple[str, ...] = ()
    assumption: Mapping[str, Any] | None = None
    basis: Basis = "published"

    @property
    def assumption_id(self) -> str | None:
        """The id of the rule's own assumption (`A-SDIR-019`), if it records one."""
        if isinstance(self.assumption, Mapping) and self.assumption.get("id"):
            return str(self.assumption["id"])
        return None


@dataclass(frozen=True)
class ErrorUse:
    """One `x-kontrakt-errors` entry of one response of one operation."""

    operation_id: str
    status: str
    code: str | int
    trigger: str
    parameters: tuple[str, ...] = ()
    situation: str | None = None
    rule: str | None = None
    when: str | None = None


@dataclass(frozen=True)
class Operation:
    """An operation of the document, its `$ref`s resolved one level (parameters, responses)."""

    id: str
    method: str
    path: str
    data: Mapping[str, Any] = field(repr=False)
    parameters: tuple[Mapping[str, Any], ...] = field(default=(), repr=False)
    responses: Mapping[str, Mapping[str, Any]] = field(default_factory=dict, repr=False)

    @property
    def rules(self) -> tuple[str, ...]:
        return tuple(self.data.get("x-kontrakt-rules") or ())

    @property
    def statuses(self) -> tuple[str, ...]:
        return tuple(self.responses)

    def parameter(self, name: str, location: str | None = None) -> Mapping[str, Any] | None:
        """A parameter by name (header names compare case-insensitively)."""
        for parameter in self.parameters:
            same = parameter.get("name") == name or (
                parameter.get("in") == "header"
                and str(parameter.get("name", "")).lower() == name.lower()
            )
            if same and (location is None or parameter.get("in") == location):
                return parameter
        return None

    def required_parameters(self, location: str | None = None) -> list[Mapping[str, Any]]:
        return [
            p
            for p in self.parameters
            if (p.get("required") or p.get("in") == "path")
            and (location is None or p.get("in") == location)
        ]

    def extension(self, name: str, default: Any = None) -> Any:
        """The operation's `x-kontrakt-<name>` value."""
        return self.data.get(f"x-kontrakt-{name}", default)


def _absolute_refs(node: Any) -> Any:
    """`schema` with its local `#/...` refs pointing into the registered document."""
    if isinstance(node, Mapping):
        return {
            key: (
                _DOC_URI + value
                if key == "$ref" and isinstance(value, str) and value.startswith("#")
                else _absolute_refs(value)
            )
            for key, value in node.items()
        }
    if isinstance(node, list):
        return [_absolute_refs(item) for item in node]
    return node


class Spec:
    """A parsed OpenAPI document with the `x-kontrakt-*` helpers rules use."""

    def __init__(self, data: dict[str, Any], *, path: Path | None = None, raw: bytes = b"") -> None:
        self.data = data
        self.path = path
        self._raw = raw or json.dumps(data, sort_keys=True).encode()

    @classmethod
    def from_path(cls, path: Path) -> Spec:
        try:
            spec_file = read_spec(path)
        except SpecLoadError as exc:
            raise SpecError(str(exc)) from None
        return cls(spec_file.data, path=path, raw=path.read_bytes())

    # -- identity ------------------------------------------------------------------------------

    @property
    def id(self) -> str:
        api = self.data.get("x-kontrakt-api") or {}
        if isinstance(api, Mapping) and api.get("id"):
            return str(api["id"])
        return str(self.data.get("info", {}).get("title", "unnamed"))

    @cached_property
    def sha256(self) -> str:
        """The hash of the document's bytes as read (certificates name it)."""
        return hashlib.sha256(self._raw).hexdigest()

    def extension(self, name: str, default: Any = None) -> Any:
        """The document-level `x-kontrakt-<name>` value."""
        return self.data.get(f"x-kontrakt-{name}", default)

    # -- references and schemas ----------------------------------------------------------------

    def resolve(self, node: Any) -> Any:
        """`node` with local `$ref`s followed (repeatedly) until it is not a reference."""
        seen: set[str] = set()
        while isinstance(node, Mapping) and isinstance(node.get("$ref"), str):
            ref: str = node["$ref"]
            if ref in seen or not ref.startswith("#"):
                raise SpecError(f"cannot resolve $ref {ref!r}")
            seen.add(ref)
            node = self.pointer(ref[1:])
        return node

    def pointer(self, pointer: str) -> Any:
        node: Any = self.data
        for part in pointer.lstrip("/").split("/") if pointer.strip("/") else []:
            part = part.replace("~1", "/").replace("~0", "~")
            try:
                node = node[int(part)] if isinstance(node, list) else node[part]
            except (KeyError, IndexError, ValueError, TypeError):
                raise SpecError(f"JSON pointer {pointer!r} does not resolve") from None
        return node

    @cached_property
    def _registry(self) -> referencing.Registry[Any]:
        resource = referencing.Resource.from_contents(
            self.data, default_specification=referencing.jsonschema.DRAFT202012
        )
        registry: referencing.Registry[Any] = referencing.Registry().with_resource(
            _DOC_URI, resource
        )
        return registry

    def validator(self, schema: Mapping[str, Any]) -> jsonschema.protocols.Validator:
        """A JSON Schema 2020-12 validator for `schema`, its `#/...` refs resolved in the document.

        Formats are checked (`date`, `date-time`, `uuid`, ...) as far as jsonschema can.
        """
        return jsonschema.Draft202012Validator(
            _absolute_refs(schema),
            registry=self._registry,
            format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER,
        )

    def response_schema(
        self, operation: str, status: str | int = "200", media_type: str = "application/json"
    ) -> dict[str, Any]:
        """The schema of an operation's response body (unresolved, may be a `$ref`)."""
        op = self.operation(operation)
        response = op.responses.get(str(status))
        if response is None:
            raise SpecError(f"{operation} declares no {status} response")
        content = response.get("content") or {}
        media = content.get(media_type)
        if media is None:
            raise SpecError(f"{operation} {status} has no {media_type} content")
        schema = media.get("schema")
        if not isinstance(schema, Mapping):
            raise SpecError(f"{operation} {status} {media_type} has no schema")
        return dict(schema)

    def validate(
        self,
        operation: str,
        body: Any,
        status: str | int = "200",
        media_type: str = "application/json",
    ) -> list[str]:
        """Readable violations of `body` against the response schema; empty when valid."""
        validator = self.validator(self.response_schema(operation, status, media_type))
        problems = []
        for error in sorted(validator.iter_errors(body), key=lambda e: list(e.absolute_path)):
            where = "/" + "/".join(str(p) for p in error.absolute_path)
            problems.append(f"{where}: {error.message}")
        return problems

    # -- operations ----------------------------------------------------------------------------

    @cached_property
    def operations(self) -> tuple[Operation, ...]:
        """Every operation, in document order."""
        found: list[Operation] = []
        for path, item in (self.data.get("paths") or {}).items():
            item = self.resolve(item)
            if not isinstance(item, Mapping):
                continue
            shared = [self.resolve(p) for p in item.get("parameters") or ()]
            for method in HTTP_METHODS:
                data = item.get(method)
                if not isinstance(data, Mapping):
                    continue
                own = [self.resolve(p) for p in data.get("parameters") or ()]
                names = {(p.get("name"), p.get("in")) for p in own}
                parameters = [p for p in shared if (p.get("name"), p.get("in")) not in names]
                responses = {
                    str(status): self.resolve(response)
                    for status, response in (data.get("responses") or {}).items()
                }
                op_id = str(data.get("operationId") or f"{method.upper()} {path}")
                found.append(Operation(op_id, method, path, data, (*parameters, *own), responses))
        return tuple(found)

    def operation(self, operation_id: str) -> Operation:
        for op in self.operations:
            if op.id == operation_id:
                return op
        raise SpecError(f"the document has no operation {operation_id!r}")

    def operations_for_rule(self, rule_id: str) -> list[Operation]:
        """The operations whose `x-kontrakt-rules` name `rule_id`."""
        return [op for op in self.operations if rule_id in op.rules]

    def methods(self, path: str) -> set[str]:
        """The methods the document declares for a path template."""
        return {op.method for op in self.operations if op.path == path}

    @property
    def paths(self) -> list[str]:
        return list(dict.fromkeys(op.path for op in self.operations))

    # -- rule catalogue ------------------------------------------------------------------------

    @cached_property
    def rules(self) -> dict[str, RuleInfo]:
        """`x-kontrakt-rules` in document order."""
        catalogue = self.extension("rules") or {}
        if not isinstance(catalogue, Mapping):
            raise SpecError("x-kontrakt-rules is not a mapping")
        found: dict[str, RuleInfo] = {}
        for rule_id, entry in catalogue.items():
            if not isinstance(entry, Mapping):
                raise SpecError(f"x-kontrakt-rules.{rule_id} is not a mapping")
            severity = entry.get("severity", "MUST")
            if severity not in ("MUST", "SHOULD", "MAY"):
                raise SpecError(f"x-kontrakt-rules.{rule_id}: unknown severity {severity!r}")
            basis = entry.get("basis", "published")
            if basis not in ("published", "assumption"):
                raise SpecError(f"x-kontrakt-rules.{rule_id}: unknown basis {basis!r}")
            if basis == "assumption" and not isinstance(entry.get("assumption"), Mapping):
                raise SpecError(
                    f"x-kontrakt-rules.{rule_id}: basis assumption needs the assumption it rests on"
                )
            found[str(rule_id)] = RuleInfo(
                id=str(rule_id),
                title=str(entry.get("title", rule_id)),
                severity=severity,
                source=dict(entry.get("source") or {}),
                capability=entry.get("capability"),
                codes=tuple(entry.get("codes") or ()),
                assumption=entry.get("assumption"),
                basis=basis,
            )
        return found

    @cached_property
    def assumptions(self) -> dict[str, str]:
        """Every assumption id the document records (anywhere), with its statement."""
        found: dict[str, str] = {}

        def walk(node: Any) -> None:
            if isinstance(node, Mapping):
                for key, child in node.items():
                    if key in ("assumption", "x-kontrakt-assumption") and isinstance(
                        child, Mapping
                    ):
                        if child.get("id"):
                            found.setdefault(str(child["id"]), str(child.get("statement", "")))
                    else:
                        walk(child)
            elif isinstance(node, list):
                for item in node:
                    walk(item)

        walk(self.data)
        return found

    # -- error catalogue and uses --------------------------------------------------------------

    @property
    def error_catalogue(self) -> Mapping[str, Any]:
        return self.extension("error-catalogue") or {}

    @property
    def code_assumption(self) -> str | None:
        """The assumption id under which the whole code vocabulary is kontrakt's proposal
        (`x-kontrakt-error-catalogue.assumption`, e.g. A-SDIR-005), or None when the publisher
        names the codes. A code check resting only on it warns at the default level."""
        entry = self.error_catalogue.get("assumption")
        if isinstance(entry, Mapping) and entry.get("id"):
            return str(entry["id"])
        return None

    @property
    def code_pointer(self) -> str:
        """Where a domain code sits in an error body (`/code`, `/error/code`, `/errors/*/code`)."""
        return str(self.error_catalogue.get("code-pointer", "/code"))

    def code_status(self, code: str | int) -> tuple[int, ...]:
        """The HTTP statuses the catalogue maps a code to."""
        entry = (self.error_catalogue.get("codes") or {}).get(str(code)) or {}
        status = entry.get("status")
        if status is None:
            return ()
        return tuple(int(s) for s in (status if isinstance(status, list) else [status]))

    def default_error(self, trigger: str) -> Mapping[str, Any] | None:
        """`x-kontrakt-error-catalogue.defaults[trigger]`: `{status, code?}` or None."""
        defaults = self.error_catalogue.get("defaults") or {}
        value = defaults.get(trigger)
        return value if isinstance(value, Mapping) else None

    @cached_property
    def error_uses(self) -> tuple[ErrorUse, ...]:
        found: list[ErrorUse] = []
        for op in self.operations:
            for status, response in op.responses.items():
                for use in response.get("x-kontrakt-errors") or ():
                    found.append(
                        ErrorUse(
                            operation_id=op.id,
                            status=status,
                            code=use["code"],
                            trigger=str(use.get("trigger", "other")),
                            parameters=tuple(use.get("parameters") or ()),
                            situation=use.get("situation"),
                            rule=use.get("rule"),
                            when=use.get("when"),
                        )
                    )
        return tuple(found)

    def errors(
        self,
        *,
        trigger: str | None = None,
        operation: str | None = None,
        status: str | int | None = None,
        rule: str | None = None,
        parameter: str | None = None,
        situation: str | None = None,
    ) -> list[ErrorUse]:
        """The error uses matching every filter given (parameters compare case-insensitively)."""

        def matches(use: ErrorUse) -> bool:
            if trigger is not None and use.trigger != trigger:
                return False
            if operation is not None and use.operation_id != operation:
                return False
            if status is not None and use.status != str(status):
                return False
            if rule is not None and use.rule != rule:
                return False
            if situation is not None and use.situation not in (None, situation):
                return False
            return parameter is None or parameter.lower() in {p.lower() for p in use.parameters}

        return [use for use in self.error_uses if matches(use)]

    def error_codes(self, **filters: Any) -> set[str | int]:
        """The codes of `errors(**filters)`; with a trigger and no operation use, the default.

        Example: `spec.error_codes(trigger="method-not-allowed", operation="listAccounts")`.
        """
        codes: set[str | int] = {use.code for use in self.errors(**filters)}
        trigger = filters.get("trigger")
        if not codes and trigger is not None:
            default = self.default_error(trigger)
            if default is not None and default.get("code") is not None:
                codes.add(default["code"])
        return codes

    def error_statuses(self, **filters: Any) -> set[int]:
        """The HTTP statuses of `errors(**filters)` (or the trigger's default status)."""
        statuses = {int(use.status) for use in self.errors(**filters) if use.status.isdigit()}
        trigger = filters.get("trigger")
        if not statuses and trigger is not None:
            default = self.default_error(trigger)
            if default is not None and default.get("status") is not None:
                statuses.add(int(default["status"]))
        return statuses

    def code_of(self, body: Any) -> list[Any]:
        """The domain code(s) in an error body, found through the catalogue's code pointer."""
        parts = [p for p in self.code_pointer.split("/") if p]

        def walk(node: Any, rest: Sequence[str]) -> Iterator[Any]:
            if not rest:
                yield node
                return
            head, tail = rest[0], rest[1:]
            if head == "*" and isinstance(node, list):
                for item in node:
                    yield from walk(item, tail)
            elif isinstance(node, Mapping) and head in node:
                yield from walk(node[head], tail)
            elif isinstance(node, list) and head.isdigit() and int(head) < len(node):
                yield from walk(node[int(head)], tail)

        return list(walk(body, parts))

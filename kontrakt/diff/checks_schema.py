"""Comparing two schemas in the direction the data flows (request or response).

A change that widens what may be sent is safe in a request and breaking in a response; a change
that narrows it is the reverse. Every check here names a ``GEN-REQ-*`` or ``GEN-RESP-*`` rule
from `kontrakt.diff.checks_generic.GENERIC_RULES` accordingly, the same split oasdiff makes. The
rules only this module uses, and the schema verdicts docs/diff-policy.md moved, are in
`SCHEMA_RULES`, which that table takes in.

JSON Schema 2020-12 keywords (``contains`` with its bounds, ``dependentRequired``,
``dependentSchemas``, ``if/then/else``, ``unevaluatedProperties/Items``, ``prefixItems``,
``propertyNames``, ``patternProperties``, ``contentSchema``, ``not``) are judged the same way: one
added narrows, one removed widens, and their sub-schemas are compared inside as properties are.
Where the direction cannot be decided (an ``if`` or ``not`` schema changed, ``contentMediaType``)
the change warns. ``x-extensible-enum`` is an enum readers must expect to grow.

Schemas are compared after `$ref` resolution, with ``allOf`` merged into one view and a nullable
wrapper (``anyOf: [X, {type: 'null'}]``) read as a nullable X, so OpenAPI 3.0 and 3.1 spellings
of the same thing compare equal. A pair of schemas already on the comparison stack is not entered
again, which keeps recursive schemas finite.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from typing import Any

from kontrakt.diff.emit import Emitter
from kontrakt.diff.load import Document, join, schema_types
from kontrakt.diff.model import Direction, Rule, Verdict

__all__ = ["SCHEMA_RULES", "SchemaContext", "SchemaDiff", "fingerprint"]

REQ = Direction.REQUEST
RESP = Direction.RESPONSE
_B, _W, _A = Verdict.BREAKING, Verdict.WARN, Verdict.ALLOWED

# fmt: off
SCHEMA_RULES: dict[str, Rule] = {
    r[0]: Rule(r[0], r[1], r[2], r[3])
    for r in (
        # JSON Schema 2020-12 keywords (contains, dependentRequired, dependentSchemas, if/then/else,
        # unevaluated*, prefixItems, propertyNames, patternProperties, contentSchema, content*).
        ("GEN-REQ-SCHEMA-NARROWED", _B, "A JSON Schema keyword now rejects request values the old schema accepted.", "request-property-schema-narrowed"),
        ("GEN-REQ-SCHEMA-WIDENED", _A, "A JSON Schema keyword was lifted or loosened; every old request value is still accepted.", "request-property-schema-widened"),
        ("GEN-RESP-SCHEMA-WIDENED", _B, "A JSON Schema keyword was lifted or loosened; the response may hold values old readers do not expect.", "response-property-schema-widened"),
        ("GEN-RESP-SCHEMA-NARROWED", _A, "A JSON Schema keyword now limits the response further; old readers see a subset.", "response-property-schema-narrowed"),
        ("GEN-SCHEMA-KEYWORD-CHANGED", _W, "A JSON Schema keyword changed in a way whose effect on the accepted values cannot be decided (content media type, encoding); review it.", "request-property-schema-changed"),
        ("GEN-RESP-OPTIONAL-PROPERTY-REMOVED", _W, "An optional response property is gone; a tolerant reader copes with its absence.", "response-optional-property-removed"),
        ("GEN-REQ-DEFAULT-ADDED", _W, "A default now states what omission means; before it was unstated.", "request-parameter-default-value-added"),
        # Verdicts docs/diff-policy.md moved (issue #17); these override the rows of GENERIC_RULES.
        ("GEN-REQ-DEFAULT-CHANGED", _B, "Clients omitting the value, as the old document allowed, silently get another behaviour.", "request-parameter-default-value-changed"),
        ("GEN-RESP-ENUM-VALUE-REMOVED", _A, "A reader meets fewer values than before; its branch for the removed one is dead code.", "response-property-enum-value-removed"),
        ("GEN-RESP-PROPERTY-REMOVED", _B, "Readers of a required property no longer get it.", "response-required-property-removed"),
        # Type changes whose wire form does not change the way the JSON type does.
        ("GEN-XML-TYPE-CHANGED", _W, "A type changed inside an XML body, where JSON Schema types describe element text; review the XML itself.", "request-property-type-changed"),
    )
}
# fmt: on

# Keywords whose value is one schema, compared by recursion; absent reads as ``true``.
SUB_SCHEMA = ("contains", "propertyNames", "then", "else", "contentSchema")
# Keywords whose value maps names (or patterns) to schemas.
SUB_SCHEMA_MAPS = ("patternProperties", "dependentSchemas")
# A schema in these places that is `false` closes the object or array to what is not evaluated.
CLOSING = ("unevaluatedProperties", "unevaluatedItems")
# Annotations about string content: a change is reviewed, not decided.
CONTENT = ("contentMediaType", "contentEncoding")
# Patterns that accept every string: a change to one of them is a pattern removed.
MATCH_ALL = {"", ".*", "^.*$", "^.*", ".*$", "(.*)", "^(.*)$"}

# Upper and lower bounds: a narrower range is safe for responses and breaking for requests.
UPPER = ("maxLength", "maximum", "exclusiveMaximum", "maxItems", "maxProperties", "maxContains")
LOWER = ("minLength", "minimum", "exclusiveMinimum", "minItems", "minProperties", "minContains")
# Format changes that only widen the value space (a request may accept more, a response not).
WIDER_FORMAT = {("int32", "int64"), ("float", "double")}
ANNOTATIONS = {"description", "title", "example", "examples", "summary", "externalDocs", "$comment"}


def _kebab(name: str) -> str:
    return "".join("-" + c.lower() if c.isupper() else c for c in name)


def fingerprint(node: Any) -> str:
    """A canonical text of a schema without annotations, to recognise a renamed property."""

    def strip(value: Any) -> Any:
        if isinstance(value, dict):
            return {
                k: strip(v)
                for k, v in sorted(value.items())
                if k not in ANNOTATIONS and not k.startswith("x-")
            }
        if isinstance(value, list):
            return [strip(v) for v in value]
        return value

    return json.dumps(strip(node), sort_keys=True, default=str)


@dataclass(frozen=True)
class SchemaContext:
    """Where a schema comparison stands: operation, place in the message, and path inside it."""

    direction: Direction
    scope: str
    where: str
    root: str
    """What the root schema is: ``parameter``, ``body`` or ``header``."""
    path: str = ""
    stack: frozenset[tuple[str, str]] = field(default_factory=frozenset)
    xml: bool = False
    """The body is XML: JSON Schema types do not reach the wire (docs/diff-policy.md)."""

    @property
    def subject(self) -> str:
        return self.root if not self.path or self.path == "body" else "property"

    def location(self, detail: str = "") -> str:
        parts = [self.where]
        if self.path:
            parts.append(self.path)
        if detail:
            parts.append(detail)
        return " ".join(parts)

    def child(self, step: str) -> SchemaContext:
        return replace(self, path=self.path + step)

    @property
    def label(self) -> str:
        return self.location() if self.path else self.where


@dataclass
class _View:
    """A schema with ``allOf`` merged and a nullable wrapper unwrapped."""

    ptr: str
    kw: dict[str, Any]
    types: frozenset[str] | None
    props: dict[str, tuple[Any, str]]
    required: set[str]
    variants: list[tuple[Any, str]]


class SchemaDiff:
    """Compares schemas of two documents and reports through an `Emitter`."""

    def __init__(self, old: Document, new: Document, emitter: Emitter) -> None:
        self.old = old
        self.new = new
        self.em = emitter

    # -- building views ------------------------------------------------------------------

    def _view(self, doc: Document, node: Any, ptr: str, depth: int = 0) -> _View:
        schema, ptr = doc.deref(node, ptr)
        if not isinstance(schema, dict):
            schema = {}
        kw = {k: v for k, v in schema.items() if k not in ("allOf", "properties", "required")}
        props: dict[str, tuple[Any, str]] = {}
        for name, sub in (schema.get("properties") or {}).items():
            props[name] = (sub, join(ptr, "properties", name))
        required = {r for r in schema.get("required") or [] if isinstance(r, str)}
        nullable = False
        variants: list[tuple[Any, str]] = []
        extra_types: frozenset[str] | None = None
        parts: list[tuple[Any, str]] = [
            (sub, join(ptr, "allOf", i)) for i, sub in enumerate(schema.get("allOf") or [])
        ]
        for key in ("oneOf", "anyOf"):
            branches = schema.get(key) or []
            kept = []
            for i, sub in enumerate(branches):
                resolved, _ = doc.deref(sub, join(ptr, key, i))
                if isinstance(resolved, dict) and schema_types(resolved, doc.is_31) == frozenset(
                    {"null"}
                ):
                    nullable = True
                else:
                    kept.append((sub, join(ptr, key, i)))
            if len(kept) == 1 and nullable:
                parts.append(kept[0])
            else:
                variants.extend(kept)
            kw.pop(key, None)
        if depth < 16:
            for sub, sub_ptr in parts:
                part = self._view(doc, sub, sub_ptr, depth + 1)
                for name, value in part.props.items():
                    props.setdefault(name, value)
                required |= part.required
                variants.extend(part.variants)
                for k, v in part.kw.items():
                    kw.setdefault(k, v)
                if part.types is not None:
                    extra_types = part.types if extra_types is None else (extra_types & part.types)
        types = schema_types(kw, doc.is_31)
        if types is None:
            types = extra_types
        if nullable and types is not None:
            types = types | {"null"}
        if not doc.is_31 and kw.get("exclusiveMaximum") is True and "maximum" in kw:
            kw["exclusiveMaximum"] = kw.pop("maximum")
        if not doc.is_31 and kw.get("exclusiveMinimum") is True and "minimum" in kw:
            kw["exclusiveMinimum"] = kw.pop("minimum")
        for k in ("exclusiveMaximum", "exclusiveMinimum"):
            if isinstance(kw.get(k), bool):
                kw.pop(k)
        return _View(ptr, kw, types, props, required, variants)

    # -- emitting ------------------------------------------------------------------------

    def _emit(
        self,
        ctx: SchemaContext,
        what: str,
        rule: str,
        old_ptr: str | None,
        new_ptr: str | None,
        message: str,
        detail: str = "",
        subject: str | None = None,
    ) -> None:
        kind = f"{ctx.direction.value}-{subject or ctx.subject}-{what}"
        self.em.emit(
            kind,
            rule,
            ctx.scope,
            ctx.location(detail),
            old_ptr,
            new_ptr,
            message,
            operation=ctx.scope,
            direction=ctx.direction,
            where=ctx.label,
        )

    # -- comparing -----------------------------------------------------------------------

    def compare(
        self, old_node: Any, old_ptr: str, new_node: Any, new_ptr: str, ctx: SchemaContext
    ) -> None:
        """Compare two schemas (either may still be a `$ref`) at the place ``ctx`` describes."""
        o = self._view(self.old, old_node, old_ptr)
        n = self._view(self.new, new_node, new_ptr)
        key = (o.ptr, n.ptr)
        if key in ctx.stack:
            return
        ctx = replace(ctx, stack=ctx.stack | {key})
        self._sunset(o, n, ctx)
        if not self._types(o, n, ctx):
            return  # an incompatible type change: what lies below no longer lines up
        self._format(o, n, ctx)
        self._enum(o, n, ctx)
        self._bounds(o, n, ctx)
        self._pattern(o, n, ctx)
        self._default(o, n, ctx)
        self._properties(o, n, ctx)
        self._additional(o, n, ctx)
        self._items(o, n, ctx)
        self._variants(o, n, ctx)
        self._keywords(o, n, ctx)
        self._discriminator(o, n, ctx)

    def _sunset(self, o: _View, n: _View, ctx: SchemaContext) -> None:
        """A deprecated property whose new ``x-sunset`` is not a date: the document's defect, warn.

        Dated property sunsets are not judged further: a property's removal is judged as such.
        """
        from kontrakt.diff.checks_generic import _date  # the one parser of x-sunset dates

        sunset = n.kw.get("x-sunset")
        if n.kw.get("deprecated") is not True or sunset is None or _date(sunset) is not None:
            return
        if o.kw.get("x-sunset") == sunset:
            return
        self._emit(
            ctx,
            "sunset-invalid",
            "GEN-SUNSET-INVALID",
            o.ptr,
            join(n.ptr, "x-sunset"),
            f"x-sunset {sunset!r} is not a date",
        )

    def _types(self, o: _View, n: _View, ctx: SchemaContext) -> bool:
        if o.types == n.types:
            return True
        o_null = o.types is None or "null" in o.types
        n_null = n.types is None or "null" in n.types
        ob = None if o.types is None else o.types - {"null"}
        nb = None if n.types is None else n.types - {"null"}
        compatible = True
        if ob != nb:

            def covers(wide: frozenset[str] | None, narrow: frozenset[str] | None) -> bool:
                if wide is None:
                    return True
                if narrow is None:
                    return False
                return all(t in wide or (t == "integer" and "number" in wide) for t in narrow)

            old_t = "any" if ob is None else "/".join(sorted(ob)) or "null"
            new_t = "any" if nb is None else "/".join(sorted(nb)) or "null"
            text = f"type {old_t} -> {new_t}"
            ptrs = (join(o.ptr, "type"), join(n.ptr, "type"))
            # A parameter reaches the server as text: a string accepts every old value's text.
            as_text = ctx.root in ("parameter", "header") and nb is not None and "string" in nb
            if ctx.xml:
                self._emit(ctx, "type-changed", "GEN-XML-TYPE-CHANGED", *ptrs, text + " (XML body)")
            elif ctx.direction is REQ:
                if covers(nb, ob) or as_text:
                    self._emit(
                        ctx, "type-changed", "GEN-REQ-TYPE-WIDENED", *ptrs, text + " (accepts more)"
                    )
                else:
                    self._emit(
                        ctx,
                        "type-changed",
                        "GEN-REQ-TYPE-NARROWED",
                        *ptrs,
                        text + " (old requests may be rejected)",
                    )
            elif covers(ob, nb):
                self._emit(
                    ctx, "type-changed", "GEN-RESP-TYPE-NARROWED", *ptrs, text + " (returns less)"
                )
            else:
                self._emit(
                    ctx,
                    "type-changed",
                    "GEN-RESP-TYPE-WIDENED",
                    *ptrs,
                    text + " (old readers may fail)",
                )
            if ob is not None and nb is not None:
                numeric = {"integer", "number"}
                compatible = bool(ob & nb) or bool(ob & numeric and nb & numeric)
        if o_null != n_null and o.types is not None and n.types is not None:
            ptrs = (o.ptr, n.ptr)
            if n_null:
                rule = (
                    "GEN-REQ-BECAME-NULLABLE"
                    if ctx.direction is REQ
                    else "GEN-RESP-BECAME-NULLABLE"
                )
                self._emit(ctx, "became-nullable", rule, *ptrs, "may now be null")
            else:
                rule = (
                    "GEN-REQ-BECAME-NOT-NULLABLE"
                    if ctx.direction is REQ
                    else "GEN-RESP-BECAME-NOT-NULLABLE"
                )
                self._emit(ctx, "became-not-nullable", rule, *ptrs, "may no longer be null")
        return compatible

    def _format(self, o: _View, n: _View, ctx: SchemaContext) -> None:
        of, nf = o.kw.get("format"), n.kw.get("format")
        if of == nf:
            return
        text = f"format {of or 'none'} -> {nf or 'none'}"
        ptrs = (join(o.ptr, "format") if of else o.ptr, join(n.ptr, "format") if nf else n.ptr)
        widened = nf is None or (of, nf) in WIDER_FORMAT
        narrowed = of is None or (nf, of) in WIDER_FORMAT
        if ctx.direction is REQ:
            rule = "GEN-REQ-FORMAT-WIDENED" if widened else "GEN-REQ-FORMAT-NARROWED"
        else:
            rule = "GEN-RESP-FORMAT-NARROWED" if narrowed else "GEN-RESP-FORMAT-WIDENED"
        self._emit(ctx, "format-changed", rule, *ptrs, text)

    @staticmethod
    def _enum_values(v: _View) -> list[Any] | None:
        if "enum" in v.kw and isinstance(v.kw["enum"], list):
            return [x for x in v.kw["enum"] if x is not None]
        if isinstance(v.kw.get("x-extensible-enum"), list):
            return [x for x in v.kw["x-extensible-enum"] if x is not None]
        if "const" in v.kw and v.kw["const"] is not None:
            return [v.kw["const"]]
        return None

    def _enum(self, o: _View, n: _View, ctx: SchemaContext) -> None:
        oe, ne = self._enum_values(o), self._enum_values(n)
        if oe is None and ne is None:
            return
        o_ptr, n_ptr = o.ptr, n.ptr
        for key in ("enum", "x-extensible-enum"):
            o_ptr = join(o.ptr, key) if key in o.kw and o_ptr == o.ptr else o_ptr
            n_ptr = join(n.ptr, key) if key in n.kw and n_ptr == n.ptr else n_ptr
        req = ctx.direction is REQ
        if "const" in o.kw and "const" in n.kw and "enum" not in o.kw and "enum" not in n.kw:
            # A constant changed: every old request is refused, every response is new to readers.
            ptrs = (join(o.ptr, "const"), join(n.ptr, "const"))
            if oe != ne:
                text = f"const {o.kw['const']!r} -> {n.kw['const']!r}"
                self._kw_emit(ctx, "const", "changed", req, ptrs, text)
            return
        # x-extensible-enum (Zalando): the list names today's values, readers must tolerate others.
        o_open = "enum" not in o.kw and "x-extensible-enum" in o.kw
        n_open = "enum" not in n.kw and "x-extensible-enum" in n.kw
        if oe is not None and ne is not None and o_open != n_open:
            if n_open:
                rule = "GEN-REQ-ENUM-DROPPED" if req else "GEN-RESP-ENUM-DROPPED"
                text = "enum became x-extensible-enum: values outside the list may now appear"
                self._emit(ctx, "enum-became-extensible", rule, o_ptr, n_ptr, text)
            else:
                rule = "GEN-REQ-BECAME-ENUM" if req else "GEN-RESP-BECAME-ENUM"
                text = f"x-extensible-enum became a closed enum: now restricted to {ne}"
                self._emit(ctx, "extensible-enum-closed", rule, o_ptr, n_ptr, text)
        if oe is None:
            rule = "GEN-REQ-BECAME-ENUM" if req else "GEN-RESP-BECAME-ENUM"
            self._emit(ctx, "became-enum", rule, o_ptr, n_ptr, f"now restricted to {ne}")
            return
        if ne is None:
            rule = "GEN-REQ-ENUM-DROPPED" if req else "GEN-RESP-ENUM-DROPPED"
            self._emit(
                ctx,
                "enum-dropped",
                rule,
                o_ptr,
                n_ptr,
                f"no longer restricted to {oe}",
            )
            return
        for value in oe:
            if value not in ne:
                rule = "GEN-REQ-ENUM-VALUE-REMOVED" if req else "GEN-RESP-ENUM-VALUE-REMOVED"
                self._emit(
                    ctx,
                    "enum-value-removed",
                    rule,
                    o_ptr,
                    n_ptr,
                    f"value {value!r} removed",
                    detail=f"enum={value}",
                )
        open_enum = n.kw.get("x-kontrakt-open-enum") is True or n_open
        for value in ne:
            if value not in oe:
                if req:
                    rule = "GEN-REQ-ENUM-VALUE-ADDED"
                else:
                    rule = (
                        "GEN-RESP-ENUM-VALUE-ADDED-OPEN"
                        if open_enum
                        else "GEN-RESP-ENUM-VALUE-ADDED"
                    )
                self._emit(
                    ctx,
                    "enum-value-added",
                    rule,
                    o_ptr,
                    n_ptr,
                    f"value {value!r} added",
                    detail=f"enum={value}",
                )

    def _bounds(self, o: _View, n: _View, ctx: SchemaContext) -> None:
        for keyword in (*UPPER, *LOWER):
            ov, nv = o.kw.get(keyword), n.kw.get(keyword)
            if ov == nv or not all(isinstance(v, int | float) or v is None for v in (ov, nv)):
                continue
            upper = keyword in UPPER
            if ov is None:
                narrowed = not (not upper and nv == 0)
                widened = not narrowed
            elif nv is None:
                narrowed, widened = False, True
            else:
                narrowed = (nv < ov) if upper else (nv > ov)
                widened = not narrowed
            if ctx.direction is REQ:
                rule = "GEN-REQ-CONSTRAINT-NARROWED" if narrowed else "GEN-REQ-CONSTRAINT-WIDENED"
            else:
                rule = "GEN-RESP-CONSTRAINT-WIDENED" if widened else "GEN-RESP-CONSTRAINT-NARROWED"
            self._emit(
                ctx,
                f"{_kebab(keyword)}-changed",
                rule,
                join(o.ptr, keyword) if ov is not None else o.ptr,
                join(n.ptr, keyword) if nv is not None else n.ptr,
                f"{keyword} {ov if ov is not None else 'none'} -> {nv if nv is not None else 'none'}",
                detail=keyword,
            )

    def _pattern(self, o: _View, n: _View, ctx: SchemaContext) -> None:
        op_, np_ = o.kw.get("pattern"), n.kw.get("pattern")
        op_ = None if op_ in MATCH_ALL else op_
        np_ = None if np_ in MATCH_ALL else np_
        if op_ == np_:
            return
        req = ctx.direction is REQ
        if op_ is None:
            what, rule = (
                "pattern-added",
                ("GEN-REQ-PATTERN-ADDED" if req else "GEN-RESP-PATTERN-ADDED"),
            )
        elif np_ is None:
            what, rule = (
                "pattern-removed",
                ("GEN-REQ-PATTERN-REMOVED" if req else "GEN-RESP-PATTERN-REMOVED"),
            )
        else:
            what, rule = "pattern-changed", "GEN-PATTERN-CHANGED"
        self._emit(
            ctx,
            what,
            rule,
            join(o.ptr, "pattern") if op_ else o.ptr,
            join(n.ptr, "pattern") if np_ else n.ptr,
            f"pattern {op_!r} -> {np_!r}",
        )

    def _default(self, o: _View, n: _View, ctx: SchemaContext) -> None:
        if ctx.direction is not REQ or ("default" not in o.kw and "default" not in n.kw):
            return
        if "default" not in o.kw:
            self._emit(
                ctx,
                "default-added",
                "GEN-REQ-DEFAULT-ADDED",
                o.ptr,
                join(n.ptr, "default"),
                f"default {n.kw['default']!r} added; omission was unstated before",
            )
            return
        if "default" not in n.kw:
            self._emit(
                ctx,
                "default-removed",
                "GEN-REQ-DEFAULT-CHANGED",
                join(o.ptr, "default"),
                n.ptr,
                f"default {o.kw['default']!r} removed; "
                "clients that omit the value no longer get it",
            )
            return
        if o.kw["default"] != n.kw["default"]:
            self._emit(
                ctx,
                "default-changed",
                "GEN-REQ-DEFAULT-CHANGED",
                join(o.ptr, "default"),
                join(n.ptr, "default"),
                f"default {o.kw['default']!r} -> {n.kw['default']!r}; "
                "clients that omit the value get a different behaviour",
            )

    def _flag(self, doc: Document, node: Any, ptr: str, name: str) -> bool:
        schema, _ = doc.deref(node, ptr)
        return isinstance(schema, dict) and schema.get(name) is True

    def _properties(self, o: _View, n: _View, ctx: SchemaContext) -> None:
        if not o.props and not n.props:
            return
        req = ctx.direction is REQ
        hidden = "readOnly" if req else "writeOnly"  # never travels in this direction
        removed = [p for p in o.props if p not in n.props]
        added = [p for p in n.props if p not in o.props]
        renamed = self._renames(o, n, removed, added)
        for old_name, new_name in renamed.items():
            removed.remove(old_name)
            added.remove(new_name)
            rule = "GEN-REQ-PROPERTY-RENAMED" if req else "GEN-RESP-PROPERTY-RENAMED"
            self._emit(
                ctx.child(f".{old_name}"),
                "renamed",
                rule,
                o.props[old_name][1],
                n.props[new_name][1],
                f"renamed to {new_name!r}",
                subject="property",
            )
        for name in removed:
            node, ptr = o.props[name]
            sub = ctx.child(f".{name}")
            if self._flag(self.old, node, ptr, hidden):
                continue
            was = "required" if name in o.required else "optional"
            if req:
                self._emit(
                    sub,
                    "removed",
                    "GEN-REQ-PROPERTY-REMOVED",
                    ptr,
                    join(n.ptr, "properties"),
                    f"{was} property removed from the request; "
                    "the server may now ignore or reject it",
                    subject="property",
                )
            else:
                self._emit(
                    sub,
                    "removed",
                    "GEN-RESP-PROPERTY-REMOVED"
                    if was == "required"
                    else "GEN-RESP-OPTIONAL-PROPERTY-REMOVED",
                    ptr,
                    join(n.ptr, "properties"),
                    f"{was} property removed from the response",
                    subject="property",
                )
        for name in added:
            node, ptr = n.props[name]
            sub = ctx.child(f".{name}")
            if self._flag(self.new, node, ptr, hidden):
                continue
            if req and name in n.required:
                self._emit(
                    sub,
                    "added",
                    "GEN-REQ-PROPERTY-ADDED-REQUIRED",
                    join(o.ptr, "properties"),
                    ptr,
                    "new required request property; old requests lack it",
                    subject="property",
                )
            else:
                rule = "GEN-REQ-PROPERTY-ADDED" if req else "GEN-RESP-PROPERTY-ADDED"
                what = "optional" if name not in n.required else "required"
                self._emit(
                    sub,
                    "added",
                    rule,
                    join(o.ptr, "properties"),
                    ptr,
                    f"new {what} property",
                    subject="property",
                )
        for name in o.props:
            if name not in n.props:
                continue
            (o_node, o_ptr), (n_node, n_ptr) = o.props[name], n.props[name]
            sub = ctx.child(f".{name}")
            skip = self._flag(self.old, o_node, o_ptr, hidden) and self._flag(
                self.new, n_node, n_ptr, hidden
            )
            if not skip and (name in o.required) != (name in n.required):
                ptrs = (join(o.ptr, "required"), join(n.ptr, "required"))
                if name in n.required:
                    rule = (
                        "GEN-REQ-PROPERTY-BECAME-REQUIRED"
                        if req
                        else "GEN-RESP-PROPERTY-BECAME-REQUIRED"
                    )
                    self._emit(
                        sub,
                        "became-required",
                        rule,
                        *ptrs,
                        "became required",
                        subject="property",
                    )
                else:
                    rule = (
                        "GEN-REQ-PROPERTY-BECAME-OPTIONAL"
                        if req
                        else "GEN-RESP-PROPERTY-BECAME-OPTIONAL"
                    )
                    self._emit(
                        sub,
                        "became-optional",
                        rule,
                        *ptrs,
                        "became optional",
                        subject="property",
                    )
            if not skip:
                self.compare(o_node, o_ptr, n_node, n_ptr, sub)

    def _renames(self, o: _View, n: _View, removed: list[str], added: list[str]) -> dict[str, str]:
        """Pair removed with added properties whose schemas are the same: a rename."""
        if not removed or not added:
            return {}
        o_fp = {p: fingerprint(o.props[p][0]) for p in removed}
        n_fp = {p: fingerprint(n.props[p][0]) for p in added}
        pairs: dict[str, str] = {}
        for p, fp in o_fp.items():
            same_old = [q for q in removed if o_fp[q] == fp]
            same_new = [q for q in added if n_fp[q] == fp]
            if len(same_old) == 1 and len(same_new) == 1:
                pairs[p] = same_new[0]
        o_left = [p for p in removed if p not in pairs]
        n_left = [p for p in added if p not in pairs.values()]

        def signature(doc: Document, node: Any, ptr: str) -> tuple[str, ...]:
            view = self._view(doc, node, ptr)
            return (*sorted(view.types or ()), str(view.kw.get("format", "")))

        o_sig = {p: signature(self.old, *o.props[p]) for p in o_left}
        n_sig = {p: signature(self.new, *n.props[p]) for p in n_left}
        # The old schema requires a name it never defines, and one removed property of the same
        # type contains that name: the definition was misspelt (DAN 2018 draft: id/accreditationId).
        for new_name in list(n_left):
            if new_name in o.required and new_name not in o.props:
                hits = [
                    p
                    for p in o_left
                    if o_sig[p] == n_sig[new_name]
                    and (new_name.lower() in p.lower() or p.lower() in new_name.lower())
                ]
                if len(hits) == 1:
                    pairs[hits[0]] = new_name
                    o_left.remove(hits[0])
                    n_left.remove(new_name)
        # One property out and one in with the same type, alone of that type: a rename.
        for p in list(o_left):
            same_old = [q for q in o_left if o_sig[q] == o_sig[p]]
            same_new = [q for q in n_left if n_sig[q] == o_sig[p]]
            if len(same_old) == 1 and len(same_new) == 1 and o_sig[p][0:1] != ("",):
                pairs[p] = same_new[0]
                o_left.remove(p)
                n_left.remove(same_new[0])
        return pairs

    def _additional(self, o: _View, n: _View, ctx: SchemaContext) -> None:
        oa, na = o.kw.get("additionalProperties", True), n.kw.get("additionalProperties", True)
        if isinstance(oa, dict) and isinstance(na, dict):
            self.compare(
                oa,
                join(o.ptr, "additionalProperties"),
                na,
                join(n.ptr, "additionalProperties"),
                ctx.child("{}"),
            )
            return
        o_open, n_open = oa is not False, na is not False
        if o_open == n_open:
            return
        req = ctx.direction is REQ
        if n_open:
            rule = "GEN-REQ-ADDITIONAL-OPENED" if req else "GEN-RESP-ADDITIONAL-OPENED"
            text = "now admits undeclared properties"
        else:
            rule = "GEN-REQ-ADDITIONAL-CLOSED" if req else "GEN-RESP-ADDITIONAL-CLOSED"
            text = "no longer admits undeclared properties"
        self._emit(
            ctx,
            "additional-properties-changed",
            rule,
            join(o.ptr, "additionalProperties") if "additionalProperties" in o.kw else o.ptr,
            join(n.ptr, "additionalProperties") if "additionalProperties" in n.kw else n.ptr,
            f"{text}",
        )

    def _items(self, o: _View, n: _View, ctx: SchemaContext) -> None:
        oi, ni = o.kw.get("items"), n.kw.get("items")
        if isinstance(oi, dict) and isinstance(ni, dict):
            self.compare(oi, join(o.ptr, "items"), ni, join(n.ptr, "items"), ctx.child("[]"))

    @staticmethod
    def _describe(node: Any) -> str:
        """A few words naming an alternative: its reference, its type or what it requires."""
        if not isinstance(node, dict):
            return "?"
        if isinstance(node.get("$ref"), str):
            return str(node["$ref"]).rsplit("/", 1)[-1]
        if node.get("required") and set(node) <= {"required", "description", "title"}:
            return "requires " + ", ".join(str(r) for r in node["required"])
        if "type" in node:
            return f"type {node['type']}"
        return "inline schema"

    def _variants(self, o: _View, n: _View, ctx: SchemaContext) -> None:
        if not o.variants and not n.variants:
            return
        req = ctx.direction is REQ
        if not n.variants or not o.variants:
            # The whole union appeared or went: a constraint added or lifted, not one shape.
            lifted = not n.variants
            if lifted:
                rule = "GEN-REQ-ALTERNATIVES-LIFTED" if req else "GEN-RESP-ALTERNATIVES-LIFTED"
                text = "no longer limited to the alternatives " + "; ".join(
                    self._describe(v[0]) for v in o.variants
                )
                what = "alternatives-lifted"
            else:
                rule = "GEN-REQ-ALTERNATIVES-IMPOSED" if req else "GEN-RESP-ALTERNATIVES-IMPOSED"
                text = "now limited to the alternatives " + "; ".join(
                    self._describe(v[0]) for v in n.variants
                )
                what = "alternatives-imposed"
            old_ptr = o.variants[0][1].rsplit("/", 1)[0] if o.variants else o.ptr
            new_ptr = n.variants[0][1].rsplit("/", 1)[0] if n.variants else n.ptr
            self._emit(ctx, what, rule, old_ptr, new_ptr, text)
            return
        o_fp = [fingerprint(self.old.deref(*v)[0]) for v in o.variants]
        n_fp = [fingerprint(self.new.deref(*v)[0]) for v in n.variants]
        o_left = [i for i, fp in enumerate(o_fp) if fp not in n_fp]
        n_left = [j for j, fp in enumerate(n_fp) if fp not in o_fp]
        while o_left and n_left:  # changed in place: compare pairwise, in order
            i, j = o_left.pop(0), n_left.pop(0)
            self.compare(*o.variants[i], *n.variants[j], ctx.child(f"|{i}"))
        for i in o_left:
            rule = "GEN-REQ-VARIANT-REMOVED" if req else "GEN-RESP-VARIANT-REMOVED"
            self._emit(
                ctx,
                "variant-removed",
                rule,
                o.variants[i][1],
                n.ptr,
                f"alternative {i} ({self._describe(o.variants[i][0])}) removed",
                detail=f"|{i}",
            )
        for j in n_left:
            rule = "GEN-REQ-VARIANT-ADDED" if req else "GEN-RESP-VARIANT-ADDED"
            self._emit(
                ctx,
                "variant-added",
                rule,
                o.ptr,
                n.variants[j][1],
                f"alternative {j} ({self._describe(n.variants[j][0])}) added",
                detail=f"|{j}",
            )

    # -- JSON Schema 2020-12 keywords ----------------------------------------------------------

    def _kw_emit(
        self,
        ctx: SchemaContext,
        keyword: str,
        change: str,
        narrowed: bool | None,
        ptrs: tuple[str, str],
        text: str,
        detail: str = "",
    ) -> None:
        """One keyword change: ``narrowed`` True/False says which way the value space moved."""
        if narrowed is None:
            rule = "GEN-SCHEMA-KEYWORD-CHANGED"
        elif ctx.direction is REQ:
            rule = "GEN-REQ-SCHEMA-NARROWED" if narrowed else "GEN-REQ-SCHEMA-WIDENED"
        else:
            rule = "GEN-RESP-SCHEMA-NARROWED" if narrowed else "GEN-RESP-SCHEMA-WIDENED"
        self._emit(ctx, f"{_kebab(keyword)}-{change}", rule, *ptrs, text, detail=detail or keyword)

    @staticmethod
    def _sub(value: Any) -> Any:
        """A sub-schema as ``None`` (admits everything: absent, ``true``, ``{}``), False or a dict."""
        if value is None or value is True or value == {}:
            return None
        if value is False:
            return False
        return value if isinstance(value, dict) else None

    def _sub_pair(
        self,
        ctx: SchemaContext,
        keyword: str,
        ov: Any,
        nv: Any,
        ptrs: tuple[str, str],
        step: str,
        label: str,
    ) -> None:
        """Two sub-schemas at one place: added, removed, opened, closed or compared inside."""
        ov, nv = self._sub(ov), self._sub(nv)
        if ov is None and nv is None:
            return
        o_ptr, n_ptr = ptrs
        if isinstance(ov, dict) and isinstance(nv, dict):
            self.compare(ov, o_ptr, nv, n_ptr, ctx.child(step))
            return
        if ov == nv:
            return
        # Order of what admits more: None (everything) > a schema > False (nothing).
        rank = {type(None): 2, dict: 1, bool: 0}
        narrowed = rank[type(nv)] < rank[type(ov)]
        if ov is None:
            change, text = "added", f"{label} added"
        elif nv is None:
            change, text = "removed", f"{label} removed"
        else:
            change = "changed"
            text = f"{label} {'now admits nothing' if nv is False else 'now admits a schema'}"
        self._kw_emit(ctx, keyword, change, narrowed, ptrs, text, detail=label)

    def _keywords(self, o: _View, n: _View, ctx: SchemaContext) -> None:
        for keyword in (*SUB_SCHEMA, *CLOSING):
            if keyword in o.kw or keyword in n.kw:
                self._sub_pair(
                    ctx,
                    keyword,
                    o.kw.get(keyword),
                    n.kw.get(keyword),
                    (join(o.ptr, keyword), join(n.ptr, keyword)),
                    f"<{keyword}>",
                    keyword,
                )
        for keyword in SUB_SCHEMA_MAPS:
            om, nm = o.kw.get(keyword), n.kw.get(keyword)
            om = om if isinstance(om, dict) else {}
            nm = nm if isinstance(nm, dict) else {}
            for key in sorted(set(om) | set(nm), key=str):
                self._sub_pair(
                    ctx,
                    keyword,
                    om.get(key),
                    nm.get(key),
                    (join(o.ptr, keyword, key), join(n.ptr, keyword, key)),
                    f"<{keyword}:{key}>",
                    f"{keyword} {key!r}",
                )
        self._prefix_items(o, n, ctx)
        self._dependent_required(o, n, ctx)
        for keyword in ("if", "not"):
            ov, nv = self._sub(o.kw.get(keyword)), self._sub(n.kw.get(keyword))
            if ov is not None and nv is not None and fingerprint(ov) != fingerprint(nv):
                ptrs = (join(o.ptr, keyword), join(n.ptr, keyword))
                self._kw_emit(ctx, keyword, "changed", None, ptrs, f"{keyword} schema changed")
            elif keyword == "not" and (ov is None) != (nv is None):
                ptrs = (join(o.ptr, keyword), join(n.ptr, keyword))
                added = nv is not None
                text = f"not {'added' if added else 'removed'}"
                self._kw_emit(ctx, keyword, "added" if added else "removed", added, ptrs, text)
        for keyword in CONTENT:
            ov, nv = o.kw.get(keyword), n.kw.get(keyword)
            if ov != nv:
                ptrs = (
                    join(o.ptr, keyword) if ov is not None else o.ptr,
                    join(n.ptr, keyword) if nv is not None else n.ptr,
                )
                change = "added" if ov is None else "removed" if nv is None else "changed"
                self._kw_emit(ctx, keyword, change, None, ptrs, f"{keyword} {ov!r} -> {nv!r}")

    def _prefix_items(self, o: _View, n: _View, ctx: SchemaContext) -> None:
        op, np_ = o.kw.get("prefixItems"), n.kw.get("prefixItems")
        op = op if isinstance(op, list) else []
        np_ = np_ if isinstance(np_, list) else []
        for i in range(max(len(op), len(np_))):
            ov = op[i] if i < len(op) else None
            nv = np_[i] if i < len(np_) else None
            self._sub_pair(
                ctx,
                "prefixItems",
                ov,
                nv,
                (join(o.ptr, "prefixItems", i), join(n.ptr, "prefixItems", i)),
                f"[{i}]",
                f"prefixItems[{i}]",
            )

    def _dependent_required(self, o: _View, n: _View, ctx: SchemaContext) -> None:
        od, nd = o.kw.get("dependentRequired"), n.kw.get("dependentRequired")
        od = od if isinstance(od, dict) else {}
        nd = nd if isinstance(nd, dict) else {}
        for key in sorted(set(od) | set(nd), key=str):
            old = {x for x in od.get(key) or [] if isinstance(x, str)}
            new = {x for x in nd.get(key) or [] if isinstance(x, str)}
            ptrs = (join(o.ptr, "dependentRequired", key), join(n.ptr, "dependentRequired", key))
            for name in sorted(new - old):
                self._kw_emit(
                    ctx,
                    "dependentRequired",
                    "added",
                    True,
                    ptrs,
                    f"{name!r} now required when {key!r} is present",
                    detail=f"dependentRequired {key}->{name}",
                )
            for name in sorted(old - new):
                self._kw_emit(
                    ctx,
                    "dependentRequired",
                    "removed",
                    False,
                    ptrs,
                    f"{name!r} no longer required when {key!r} is present",
                    detail=f"dependentRequired {key}->{name}",
                )

    def _discriminator(self, o: _View, n: _View, ctx: SchemaContext) -> None:
        """A discriminator's ``propertyName`` renamed: breaking both ways, unless the new name was
        already a property of the schema (it may have carried the same values): warn."""
        od, nd = o.kw.get("discriminator"), n.kw.get("discriminator")
        on = od.get("propertyName") if isinstance(od, dict) else None
        nn = nd.get("propertyName") if isinstance(nd, dict) else None
        if not isinstance(on, str) or not isinstance(nn, str) or on == nn:
            return
        ptrs = (
            join(o.ptr, "discriminator", "propertyName"),
            join(n.ptr, "discriminator", "propertyName"),
        )
        text = f"discriminator propertyName {on!r} -> {nn!r}"
        narrowed = None if nn in o.props else ctx.direction is REQ
        self._kw_emit(ctx, "discriminator-property-name", "changed", narrowed, ptrs, text)

"""Comparing two schemas in the direction the data flows (request or response).

A change that widens what may be sent is safe in a request and breaking in a response; a change
that narrows it is the reverse. Every check here names a ``GEN-REQ-*`` or ``GEN-RESP-*`` rule
from `kontrakt.diff.checks_generic.GENERIC_RULES` accordingly, the same split oasdiff makes.

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
from kontrakt.diff.model import Direction

__all__ = ["SchemaContext", "SchemaDiff", "fingerprint"]

REQ = Direction.REQUEST
RESP = Direction.RESPONSE

# Upper and lower bounds: a narrower range is safe for responses and breaking for requests.
UPPER = ("maxLength", "maximum", "exclusiveMaximum", "maxItems", "maxProperties")
LOWER = ("minLength", "minimum", "exclusiveMinimum", "minItems", "minProperties")
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
            if ctx.direction is REQ:
                if covers(nb, ob):
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
        if "const" in v.kw and v.kw["const"] is not None:
            return [v.kw["const"]]
        return None

    def _enum(self, o: _View, n: _View, ctx: SchemaContext) -> None:
        oe, ne = self._enum_values(o), self._enum_values(n)
        if oe is None and ne is None:
            return
        o_ptr = join(o.ptr, "enum") if "enum" in o.kw else o.ptr
        n_ptr = join(n.ptr, "enum") if "enum" in n.kw else n.ptr
        req = ctx.direction is REQ
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
        open_enum = n.kw.get("x-kontrakt-open-enum") is True
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
        if ctx.direction is not REQ or "default" not in o.kw or "default" not in n.kw:
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
                    "GEN-RESP-PROPERTY-REMOVED",
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

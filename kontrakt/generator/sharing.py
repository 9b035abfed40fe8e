"""Share identical inline schemas: one class for a shape a document repeats, built once.

Large documents repeat themselves. GitHub's REST description writes the same inline objects and
enums (a user, a link, a `state` enum) out in full hundreds of times; datamodel-code-generator
names each copy after its property and numbers them (`State1`, `State13`, `State16` ... 47 equal
enums; 1,428 of its 4,769 classes were copies), and parsing the copies is half its time.

`share_identical` runs on the models input before the library sees it. Every inline schema that
would become a class of its own (an object with properties, or an enum) at a property, or as the
items of a property, and that occurs at least twice with the same class-defining content, is moved
to one new component, and each place it stood becomes a ``$ref`` to it; a copy of a component
written out inline points to that component. What belongs to the place rather than to the class
stays at the place, beside the ``$ref`` (its description, default, nullability, read/write-only,
deprecation and examples); with those kept, the library types and validates each field exactly as
it did with the copy inline. The tests check that by comparing the JSON schema of every component
class built both ways; only field titles (metadata) can differ. Where they differ otherwise, the
shared build is the one that follows the document: inline, the library merges same-named copies
that render alike and then loses what only one of them said (`nullable` on array items, a default
carried from one `Target` enum to another; three of GitHub's request bodies).

Only plain shapes are shared: nothing with a ``$ref``, a composition (allOf/oneOf/anyOf/not/if),
a type list or a null enum member, whose meaning at a ``$ref`` the library could read otherwise;
and nothing inside an allOf member or a schema an allOf names, because the library merges those
property by property, and a property that is a ``$ref`` merges differently from one written out.
Content is compared with its keys in their order (the order of the properties is the order of the
fields). The new component is named after the property where the shape is most often found (ties:
the first), in PascalCase, numbered when taken.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Container
from typing import Any

from kontrakt.diagnostics import escape
from kontrakt.generator.load import unescape
from kontrakt.generator.naming import pascal_name, unique

__all__ = ["USE_SITE", "share_identical"]

# Keywords that describe the place a schema is used rather than the class it makes: they stay at
# the place. A description also stays in the shared schema (its docstring); a title stays there
# only (the library would turn a title beside a `$ref` into the field's title).
USE_SITE = frozenset(
    {"nullable", "default", "readOnly", "writeOnly", "deprecated", "example", "examples"}
)
_BOTH = frozenset({"description"})
# Keywords whose meaning beside a `$ref` the library might read differently: never shared.
_NOT_SHARED = frozenset(
    {"$ref", "allOf", "oneOf", "anyOf", "not", "if", "then", "else", "const", "discriminator"}
)
# Schema keywords holding one subschema, a list of them, or a mapping of names to them.
_ONE = (
    *("additionalProperties", "not", "if", "then", "else", "contains", "propertyNames"),
    *("unevaluatedItems", "unevaluatedProperties", "contentSchema"),
)
_MANY = ("allOf", "oneOf", "anyOf", "prefixItems")
_MAPS = ("patternProperties", "dependentSchemas", "$defs", "definitions")


def _sharable(node: Any) -> bool:
    """Whether ``node`` is a plain inline schema that becomes a class (object or enum)."""
    if not isinstance(node, dict) or not _NOT_SHARED.isdisjoint(node):
        return False
    if "type" in node and not isinstance(node["type"], str):
        return False
    properties, enum = node.get("properties"), node.get("enum")
    if isinstance(properties, dict) and properties:
        return True
    return isinstance(enum, list) and bool(enum) and None not in enum


def _class_part(node: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in node.items() if key not in USE_SITE}


def _site_part(node: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in node.items() if key in USE_SITE or key in _BOTH}


def _key(node: dict[str, Any]) -> str:
    # Not sorted: the order of the properties is the order of the fields.
    return json.dumps(_class_part(node), ensure_ascii=False, default=str)


Visit = Callable[[dict[str, Any], str, str], "dict[str, Any] | None"]


def _child(value: Any, pointer: str, site: str | None, blocked: bool, visit: Visit) -> Any:
    """``value`` (a subschema) passed to ``visit`` when it stands at a property, then walked."""
    if site is not None and not blocked and _sharable(value):
        replaced = visit(value, pointer, site)
        if replaced is not None:
            return replaced
    return _walk(value, pointer, blocked, visit)


def _walk(node: Any, pointer: str, blocked: bool, visit: Visit) -> Any:
    """A copy of the schema ``node`` whose subschemas went through `_child`; only schema
    keywords are followed, never data (examples, defaults, enum values)."""
    if not isinstance(node, dict):
        return node
    out = dict(node)
    properties = node.get("properties")
    if isinstance(properties, dict):
        out["properties"] = {
            name: _child(value, f"{pointer}/properties/{escape(name)}", name, blocked, visit)
            for name, value in properties.items()
        }
    items = node.get("items")
    if isinstance(items, dict):
        # The items of a property count as the property's (the library names an inline item
        # class after its property too).
        out["items"] = _child(items, f"{pointer}/items", _site_of(pointer), blocked, visit)
    elif isinstance(items, list):
        out["items"] = [
            _child(value, f"{pointer}/items/{index}", None, blocked, visit)
            for index, value in enumerate(items)
        ]
    for key in _ONE:
        if isinstance(node.get(key), dict):
            out[key] = _child(node[key], f"{pointer}/{key}", None, blocked, visit)
    for key in _MANY:
        if isinstance(node.get(key), list):
            # The members of an allOf are merged by the library, property by property, and a
            # member's property that is a `$ref` merges otherwise than one written inline.
            inner = blocked or key == "allOf"
            out[key] = [
                _child(value, f"{pointer}/{key}/{index}", None, inner, visit)
                for index, value in enumerate(node[key])
            ]
    for key in _MAPS:
        if isinstance(node.get(key), dict):
            out[key] = {
                name: _child(value, f"{pointer}/{key}/{escape(name)}", None, blocked, visit)
                for name, value in node[key].items()
            }
    return out


def _merged(schemas: dict[str, Any]) -> set[str]:
    """The schemas some allOf names by `$ref` (merged by the library like an inline member)."""
    found: set[str] = set()
    stack: list[Any] = list(schemas.values())
    while stack:
        node = stack.pop()
        if isinstance(node, list):
            stack += node
        elif isinstance(node, dict):
            members = node.get("allOf")
            for member in members if isinstance(members, list) else ():
                ref = member.get("$ref") if isinstance(member, dict) else None
                if isinstance(ref, str) and ref.startswith("#/components/schemas/"):
                    name = ref.removeprefix("#/components/schemas/").split("/")[0]
                    found.add(unescape(name))
            stack += node.values()
    return found


def share_identical(
    schemas: dict[str, Any], real: Callable[[str], str], *, own: Container[str] | None = None
) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """``schemas`` with repeated inline shapes moved to shared components (see the module).

    ``real`` maps a pointer into the models input to the place in the document; ``own`` names the
    schemas that are the document's components (default: all), the only ones an inline copy may
    point to (a hoisted request body's class should not type a property elsewhere). Returns the new
    schemas (the originals first, in their order, then the shared ones) and, for each shared
    component, the places in the document it stands for, first the one it was taken from.
    """
    merged = _merged(schemas)
    counts: Counter[str] = Counter()
    names: dict[str, Counter[str]] = {}

    def count(node: dict[str, Any], pointer: str, site: str) -> None:
        key = _key(node)
        counts[key] += 1
        names.setdefault(key, Counter())[site] += 1
        return None  # walked on: the shapes inside count too

    def walk_all(visit: Visit) -> dict[str, Any]:
        return {
            name: _walk(schema, f"/components/schemas/{escape(name)}", name in merged, visit)
            for name, schema in schemas.items()
        }

    walk_all(count)
    # A component written exactly like an inline shape (nothing of its own that belongs to a
    # place) is that shape's class already: every copy points to it.
    existing: dict[str, str] = {}
    for name, schema in schemas.items():
        if own is not None and name not in own:
            continue
        if _sharable(schema) and USE_SITE.isdisjoint(schema) and name not in merged:
            existing.setdefault(_key(schema), name)
    repeated = [key for key, n in counts.items() if n > 1 and key not in existing]
    chosen = {key: name for key, name in existing.items() if key in counts}
    if not repeated and not chosen:
        return schemas, {}
    # Counter.most_common keeps first-seen order among equal counts: ties go to the first.
    wanted = [pascal_name(names[key].most_common(1)[0][0]) for key in repeated]
    taken = {pascal_name(name) for name in schemas} | set(schemas)
    chosen.update(zip(repeated, unique(wanted, taken=taken, separator=""), strict=True))

    shared: dict[str, Any] = {}
    places: dict[str, list[str]] = {}
    prefix = "/components/schemas/"

    def place(pointer: str) -> str:
        """The document's pointer for ``pointer``, also inside a shared component made here."""
        name, _, rest = pointer[len(prefix) :].partition("/")
        if name in places:
            return places[name][0] + (f"/{rest}" if rest else "")
        return real(pointer)

    def share(node: dict[str, Any], pointer: str, site: str) -> dict[str, Any] | None:
        name = chosen.get(_key(node))
        if name is None:
            return None
        if name in places:
            places[name].append(place(pointer))
        elif name in schemas:  # an existing component (see above)
            places[name] = [real(f"{prefix}{escape(name)}"), place(pointer)]
        else:
            places[name] = [place(pointer)]
            shared[name] = None  # claimed before its content, which may hold other shapes
            shared[name] = _walk(_class_part(node), f"{prefix}{name}", False, share)
        return {"$ref": f"#{prefix}{escape(name)}", **_site_part(node)}

    return {**walk_all(share), **shared}, places


def _site_of(pointer: str) -> str | None:
    """The property name when ``pointer`` ends at a property's schema, else None."""
    head, _, last = pointer.rpartition("/")
    if head.endswith("/properties"):
        return unescape(last)
    return None

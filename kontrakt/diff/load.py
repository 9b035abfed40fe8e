"""Reading both sides of a diff: files, http(s) URLs or a running provider; YAML or JSON.

What comes back is a `Document`: the parsed data, what kind of document it is (an OpenAPI
description, or one of DAN's public metadata snapshots), and a cycle-safe `$ref` resolver that
answers with the JSON pointer each reference lands on, so every change can cite both sides.

OpenAPI 3.0 and 3.1 are both read; their differences in schemas (``nullable`` against type lists,
boolean against numeric ``exclusiveMaximum``) are evened out by `schema_types` and friends, which
the checks use instead of reading those keywords themselves.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urljoin, urlsplit

import httpx
import yaml

from kontrakt.safeyaml import safe_load

__all__ = [
    "Document",
    "LoadError",
    "RefCycleError",
    "escape",
    "join",
    "load_document",
    "parse_text",
    "schema_types",
]

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

# Where a running provider publishes its description, tried in order after the URL itself: first
# under the path given, then at the root of its host. FastAPI (and the generated servers) serve
# /openapi.json, Springdoc /v3/api-docs, Swashbuckle and older stacks /swagger.json (read to say it
# is Swagger 2.0); DAN publishes at /public/metadata/oas/json (FACTS §0).
WELL_KNOWN = (
    "openapi.json",
    "openapi.yaml",
    ".well-known/openapi.json",
    "v3/api-docs",
    "swagger.json",
    "public/metadata/oas/json",
)

KIND_OPENAPI = "openapi"
KIND_EVIDENCECODES = "evidencecodes"
KIND_ERRORCODES = "errorcodes"
KIND_STATUSCODES = "statuscodes"
KIND_DAN_METADATA = "dan-metadata"
KIND_FRAGMENT = "fragment"


class LoadError(Exception):
    """A side of the diff cannot be read; the message says which and why."""


class RefCycleError(LoadError):
    """A `$ref` chain points back at itself without ever reaching a value."""


def escape(token: str | int) -> str:
    """Escape one reference token for a JSON pointer (RFC 6901)."""
    return str(token).replace("~", "~0").replace("/", "~1")


def join(ptr: str, *tokens: str | int) -> str:
    """Append reference tokens to a JSON pointer."""
    return ptr + "".join("/" + escape(t) for t in tokens)


def _unescape(token: str) -> str:
    return token.replace("~1", "/").replace("~0", "~")


def _normalise(node: Any) -> Any:
    """String keys everywhere (YAML ``200:`` is an int) and ISO strings for YAML dates."""
    if isinstance(node, dict):
        return {str(k): _normalise(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_normalise(v) for v in node]
    if isinstance(node, dt.datetime | dt.date):
        return node.isoformat()
    return node


def parse_text(text: str, source: str) -> Any:
    """Parse JSON or YAML text into plain data with string keys."""
    stripped = text.lstrip()
    try:
        if stripped.startswith(("{", "[")):
            try:
                return _normalise(json.loads(text))
            except json.JSONDecodeError:
                pass  # YAML flow style also starts with a brace
        return _normalise(safe_load(text, _Loader))
    except RecursionError:
        raise LoadError(f"{source}: not valid YAML or JSON: nested too deeply") from None
    except yaml.YAMLError as exc:
        raise LoadError(f"{source}: not valid YAML or JSON: {exc}") from exc


def _kind_of(data: Any, source: str) -> str | None:
    """What kind of document ``data`` is, or None when it is none we compare."""
    if isinstance(data, dict):
        if "openapi" in data:
            return KIND_OPENAPI
        if "swagger" in data:
            raise LoadError(
                f"{source}: Swagger 2.0 is not supported; convert it to OpenAPI 3 first"
            )
        if any(k in data for k in (KIND_EVIDENCECODES, KIND_ERRORCODES, KIND_STATUSCODES)):
            return KIND_DAN_METADATA
        return None
    if isinstance(data, list) and not data:
        # An empty snapshot (every dataset retired, say): only its name can tell what it is.
        lowered = source.lower()
        for hint, kind in (
            ("evidencecode", KIND_EVIDENCECODES),
            ("errorcode", KIND_ERRORCODES),
            ("statuscode", KIND_STATUSCODES),
        ):
            if hint in lowered:
                return kind
        return None
    if isinstance(data, list) and all(isinstance(i, dict) for i in data):
        if all("evidenceCodeName" in i for i in data):
            return KIND_EVIDENCECODES
        if all("code" in i for i in data):
            # DAN's /errorcodes and /statuscodes share the shape {code, description}; the name of
            # the source says which, else error codes are the four-digit ones (FACTS §6, §7).
            lowered = source.lower()
            if "statuscode" in lowered:
                return KIND_STATUSCODES
            if "errorcode" in lowered:
                return KIND_ERRORCODES
            codes = [i.get("code") for i in data]
            if all(isinstance(c, int) and c < 100 for c in codes):
                return KIND_STATUSCODES
            return KIND_ERRORCODES
    return None


@dataclass
class Document:
    """One parsed side of a diff and a resolver for its `$ref`s."""

    source: str
    data: Any
    kind: str
    _external: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def openapi_version(self) -> str:
        """``3.0`` or ``3.1`` (``""`` for metadata snapshots)."""
        if self.kind != KIND_OPENAPI:
            return ""
        return ".".join(str(self.data.get("openapi", "3.0")).split(".")[:2])

    @property
    def is_31(self) -> bool:
        return self.openapi_version not in ("3.0", "")

    def get(self, ptr: str) -> Any:
        """The value at a local JSON pointer, or None when there is none."""
        node = self.data
        if ptr in ("", "#"):
            return node
        for raw in ptr.lstrip("#").split("/")[1:]:
            token = _unescape(unquote(raw))
            if isinstance(node, dict):
                if token not in node:
                    return None
                node = node[token]
            elif isinstance(node, list):
                try:
                    node = node[int(token)]
                except (ValueError, IndexError):
                    return None
            else:
                return None
        return node

    def _external_doc(self, location: str) -> Document:
        target = urljoin(self.source, location) if "://" in self.source else location
        if "://" not in target:
            target = str((Path(self.source).parent / location).resolve())
        if target not in self._external:
            loaded = _load_any(target, allow_probe=False, fragment=True)
            loaded.data = _rebase(loaded.data, target)
            self._external[target] = loaded
        doc = self._external[target]
        assert isinstance(doc, Document)
        return doc

    def resolve(self, node: Any, ptr: str) -> tuple[Any, str]:
        """Follow a `$ref` chain from ``node`` (found at ``ptr``) to a value.

        Returns the value and the pointer it lives at. Sibling keywords of a `$ref` (allowed in 3.1)
        are laid over the target. A reference into another file answers with ``file#pointer``.
        """
        seen: set[str] = set()
        doc: Document = self
        overlay: dict[str, Any] = {}
        prefix = ""
        while isinstance(node, dict) and isinstance(node.get("$ref"), str):
            ref: str = node["$ref"]
            overlay = {**{k: v for k, v in node.items() if k != "$ref"}, **overlay}
            location, _, fragment = ref.partition("#")
            if location:
                doc = doc._external_doc(location)
                prefix = doc.source + "#"
            key = prefix + fragment
            if key in seen:
                raise RefCycleError(f"{self.source}: $ref cycle through {ref} (at {ptr})")
            seen.add(key)
            target = doc.get(fragment)
            if target is None:
                raise LoadError(f"{self.source}: unresolvable $ref {ref} (at {ptr})")
            node, ptr = target, prefix + fragment
        if overlay and isinstance(node, dict):
            annotations = {"description", "summary", "title", "example", "examples"}
            extra = {k: v for k, v in overlay.items() if k not in annotations}
            if extra:
                node = {**node, **extra}
        return node, ptr

    def deref(self, node: Any, ptr: str) -> tuple[Any, str]:
        """`resolve`, but an unresolvable or cyclic reference gives an empty object."""
        try:
            return self.resolve(node, ptr)
        except LoadError:
            return {}, ptr


def _rebase(node: Any, target: str) -> Any:
    """Rewrite the `$ref`s of a file loaded through a reference so they still name that file."""
    if isinstance(node, dict):
        result = {k: _rebase(v, target) for k, v in node.items()}
        ref = node.get("$ref")
        if isinstance(ref, str):
            location, _, fragment = ref.partition("#")
            if not location:
                location = target
            elif "://" in target:
                location = urljoin(target, location)
            elif "://" not in location:
                location = str((Path(target).parent / location).resolve())
            result["$ref"] = f"{location}#{fragment}"
        return result
    if isinstance(node, list):
        return [_rebase(v, target) for v in node]
    return node


def schema_types(schema: dict[str, Any], is_31: bool) -> frozenset[str] | None:
    """The JSON types a schema admits, ``null`` included; None when it does not restrict them.

    OpenAPI 3.0 says ``nullable: true``, 3.1 says ``type: [string, 'null']``; both become
    ``{"string", "null"}``. ``integer`` stays distinct from ``number``.
    """
    raw = schema.get("type")
    types: set[str] | None
    if isinstance(raw, str):
        types = {raw}
    elif isinstance(raw, list):
        types = {str(t) for t in raw}
    else:
        types = None
    if types is not None and schema.get("nullable") is True and not is_31:
        types.add("null")
    if types is None and "const" in schema:
        types = {_json_type(schema["const"])}
    if types is not None and "enum" in schema and None in (schema.get("enum") or []):
        types.add("null")
    return frozenset(types) if types is not None else None


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return "string"


class _Unreachable(LoadError):
    """The host did not answer at all (refused, timed out): no other path on it will."""


def _fetch(url: str) -> tuple[str, str]:
    try:
        response = httpx.get(url, timeout=15.0, follow_redirects=True)
    except (httpx.ConnectError, httpx.TimeoutException) as exc:
        raise _Unreachable(f"{url}: cannot fetch: {exc}") from exc
    except httpx.HTTPError as exc:
        raise LoadError(f"{url}: cannot fetch: {exc}") from exc
    if response.status_code >= 400:
        raise LoadError(f"{url}: HTTP {response.status_code}")
    if urlsplit(str(response.url)).scheme not in ("http", "https"):
        raise LoadError(f"{url}: redirected to {response.url}, which is not http(s)")
    return response.text, str(response.url)


def probe_urls(source: str) -> list[str]:
    """The URLs tried for ``source``: itself, then `WELL_KNOWN` under its path, then at its root."""
    parts = urlsplit(source)
    path = parts.path if parts.path.endswith("/") else parts.path + "/"
    root = f"{parts.scheme}://{parts.netloc}/"
    under = f"{parts.scheme}://{parts.netloc}{path}"
    urls = [source] + [under + p for p in WELL_KNOWN] + [root + p for p in WELL_KNOWN]
    return list(dict.fromkeys(urls))


def _why(exc: LoadError, url: str) -> str:
    """A failed attempt in a few words: ``HTTP 404``, ``not YAML or JSON`` ..."""
    text = str(exc)
    return text[len(url) + 2 :] if text.startswith(url + ": ") else text


def _read_file(source: str) -> Any:
    path = Path(source)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise LoadError(f"{source}: cannot read: {exc}") from exc
    return parse_text(text, source)


def _load_any(source: str, *, allow_probe: bool, fragment: bool = False) -> Document:
    """Load a document; ``fragment`` accepts any data (the target of an external `$ref`)."""
    if "://" in source and urlsplit(source).scheme not in ("http", "https"):
        raise LoadError(f"{source}: only http(s) URLs and local files are read")
    if urlsplit(source).scheme in ("http", "https"):
        if not allow_probe:
            text, final = _fetch(source)
            data = parse_text(text, source)
            kind = KIND_FRAGMENT if fragment else _kind_of(data, source)
            if kind is None:
                raise LoadError(f"{source}: neither an OpenAPI document nor DAN metadata")
            return Document(final, data, kind)
        tried: list[str] = []
        for url in probe_urls(source):
            try:
                text, final = _fetch(url)
                data = parse_text(text, url)
                kind = _kind_of(data, url)
            except _Unreachable as exc:
                tried.append(f"{url} ({_why(exc, url)})")
                break
            except LoadError as exc:
                tried.append(f"{url} ({_why(exc, url)})")
                continue
            if kind is not None:
                return Document(final, data, kind)
            tried.append(f"{url} (HTTP 200, neither an OpenAPI document nor DAN metadata)")
        raise LoadError(
            f"{source}: no OpenAPI description or DAN metadata found; tried {'; '.join(tried)}"
        )
    data = _read_file(source)
    kind = KIND_FRAGMENT if fragment else _kind_of(data, source)
    if kind is None:
        raise LoadError(
            f"{source}: neither an OpenAPI document nor a DAN metadata snapshot "
            "(evidencecodes, errorcodes, statuscodes)"
        )
    return Document(str(Path(source)), data, kind)


def load_document(source: str) -> Document:
    """Load ``source``: a file path, an http(s) URL of a document, or a running provider's base URL.

    For a base URL that does not itself answer with a document, the usual publication paths are
    tried under its path and then at its host's root (`WELL_KNOWN`: ``openapi.json``,
    ``openapi.yaml``, ``.well-known/openapi.json``, ``v3/api-docs``, ``swagger.json``, DAN's
    ``public/metadata/oas/json``); when none answers with a document, the `LoadError` lists every
    URL tried with what it answered. Only http(s) is followed, redirects included.
    """
    return _load_any(source, allow_probe=True)

"""Reading what FastAPI cannot type on its own: styled query parameters and non-JSON bodies.

OpenAPI lets a query parameter carry an object or an array in one of several styles (`form`
with or without `explode`, `deepObject`, `pipeDelimited`, `spaceDelimited`); FastAPI only knows
repeated keys. `QueryParam` reads the raw query per the declared style into JSON-like values and
validates them into the parameter's type, so a handler gets the typed model. `BodyReader` does
the same for request bodies declared in several media types (JSON, form, multipart, octet-stream,
text): it parses the one the request carries and validates it into that media type's model.

Failures are raised as FastAPI's `RequestValidationError` with the usual locations
(`("query", name, ...)`, `("body", ...)`), so the app's validation handler answers them with the
document's invalid-parameter / invalid-body codes like any other.
"""

import json
from collections.abc import Hashable, Mapping, Sequence
from functools import lru_cache
from typing import Any, cast
from urllib.parse import parse_qsl

import pydantic
from fastapi.exceptions import RequestValidationError
from starlette.datastructures import UploadFile
from starlette.requests import Request

from kontrakt.runtime.server.negotiation import Reply, Unchecked

__all__ = ["BodyReader", "InvalidResult", "QueryParam", "check_result", "split_styled"]

_DELIMITERS = {"form": ",", "spaceDelimited": " ", "pipeDelimited": "|"}


@lru_cache(maxsize=512)
def _adapter(tp: Hashable) -> pydantic.TypeAdapter[Any]:
    return pydantic.TypeAdapter(cast(Any, tp))


def _errors(exc: pydantic.ValidationError, *prefix: Any) -> list[dict[str, Any]]:
    return [
        {"type": e["type"], "loc": (*prefix, *e["loc"]), "msg": e["msg"]}
        for e in exc.errors(include_url=False, include_input=False)
    ]


def _pairs(values: Sequence[str]) -> dict[str, Any]:
    """`k1,v1,k2,v2` read as an object (an odd count leaves the last key empty)."""
    members = list(values)
    if len(members) % 2:
        members.append("")
    return dict(zip(members[::2], members[1::2], strict=True))


def _gather(items: Sequence[tuple[str, str]]) -> dict[str, Any]:
    """Repeated keys become lists (an array member sent exploded)."""
    found: dict[str, Any] = {}
    for key, value in items:
        if key in found:
            previous = found[key]
            found[key] = [*previous, value] if isinstance(previous, list) else [previous, value]
        else:
            found[key] = value
    return found


def split_styled(
    items: Sequence[tuple[str, str]],
    name: str,
    *,
    kind: str,
    style: str = "form",
    explode: bool = True,
    declared: Sequence[str] = (),
) -> Any:
    """The raw value of query parameter `name` from the query's (key, value) pairs, or None.

    `kind` is `object` or `array`; `declared` names the query's other parameters, which an
    exploded form object does not own.
    """
    if kind == "object" and style == "deepObject":
        prefix = f"{name}["
        members = [
            (key[len(prefix) : -1], value)
            for key, value in items
            if key.startswith(prefix) and key.endswith("]")
        ]
        return _gather(members) if members else None
    if kind == "object" and style == "form" and explode:
        others = set(declared)
        members = [
            (key, value)
            for key, value in items
            if key != name and key not in others and key.split("[", 1)[0] not in others
        ]
        return _gather(members) if members else None
    values = [value for key, value in items if key == name]
    if not values:
        return None
    if not explode:
        delimiter = _DELIMITERS.get(style, ",")
        values = [part for value in values for part in value.split(delimiter)]
    return _pairs(values) if kind == "object" else values


class QueryParam:
    """A FastAPI dependency reading one styled query parameter into its declared type."""

    def __init__(
        self,
        name: str,
        annotation: Any,
        *,
        kind: str,
        style: str = "form",
        explode: bool = True,
        required: bool = False,
        declared: Sequence[str] = (),
    ) -> None:
        self.name = name
        self.kind = kind
        self.style = style
        self.explode = explode
        self.required = required
        self.declared = tuple(declared)
        self._adapter = _adapter(annotation)

    async def __call__(self, request: Request) -> Any:
        raw = split_styled(
            request.query_params.multi_items(),
            self.name,
            kind=self.kind,
            style=self.style,
            explode=self.explode,
            declared=self.declared,
        )
        if raw is None:
            if self.required:
                raise RequestValidationError(
                    [{"type": "missing", "loc": ("query", self.name), "msg": "Field required"}]
                )
            return None
        try:
            return self._adapter.validate_python(raw)
        except pydantic.ValidationError as exc:
            raise RequestValidationError(_errors(exc, "query", self.name)) from None


def _essence(content_type: str) -> str:
    return content_type.split(";", 1)[0].strip().lower()


def _is_json(essence: str) -> bool:
    return essence == "application/json" or (
        essence.startswith("application/") and essence.endswith("+json")
    )


class BodyReader:
    """A FastAPI dependency parsing a request body by its Content-Type into that media type's type.

    `types` maps each declared media type (document spelling) to its annotation; `ContentTypeGuard`
    has already refused any other media type. A form or multipart body is gathered into a mapping
    (repeated fields become lists, uploaded files their bytes) and validated like JSON would be.
    """

    def __init__(self, types: Mapping[str, Any], *, required: bool = True) -> None:
        self.types = {_essence(media): _adapter(tp) for media, tp in types.items()}
        self.required = required

    def _pick(self, essence: str) -> tuple[str, pydantic.TypeAdapter[Any]] | None:
        if essence in self.types:
            return essence, self.types[essence]
        for media, adapter in self.types.items():
            major, _, minor = media.partition("/")
            if (minor == "*" and essence.startswith(f"{major}/")) or media == "*/*":
                return media, adapter
        if _is_json(essence):
            return next(((m, a) for m, a in self.types.items() if _is_json(m)), None)
        return None

    async def __call__(self, request: Request) -> Any:
        essence = _essence(request.headers.get("content-type", ""))
        body = await request.body()
        if not body:  # no body, whatever the Content-Type says: absent, as FastAPI reads JSON
            if self.required:
                raise RequestValidationError(
                    [{"type": "missing", "loc": ("body",), "msg": "Field required"}]
                )
            return None
        picked = self._pick(essence) or next(iter(self.types.items()))
        media, adapter = picked
        raw: Any
        if _is_json(media) or (media == "*/*" and _is_json(essence)):
            try:
                raw = json.loads(body)
            except ValueError:
                raise RequestValidationError(
                    [{"type": "json_invalid", "loc": ("body", 0), "msg": "JSON decode error"}],
                    body=body,
                ) from None
        elif media == "application/x-www-form-urlencoded":
            raw = _gather(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
        elif media.startswith("multipart/"):
            form = await request.form()
            items: list[tuple[str, Any]] = []
            for key, value in form.multi_items():
                items.append((key, await value.read() if isinstance(value, UploadFile) else value))
            raw = _gather(items)
        elif media.startswith("text/"):
            raw = body.decode("utf-8", "replace")
        else:
            raw = body
        try:
            return adapter.validate_python(raw)
        except pydantic.ValidationError as exc:
            raise RequestValidationError(_errors(exc, "body"), body=raw) from None


class InvalidResult(Exception):
    """A handler returned something the document does not declare for the response.

    The message names the operation and where the value fails (never the values, which may be
    personal data); `ServerErrorMiddleware` answers the client with the API's server-error code.
    """


def check_result(result: Any, annotation: Any, *, operation_id: str) -> Any:
    """`result` unchanged when its body (a `Reply`'s body too) validates as `annotation`.

    An `Unchecked` result is the handler's explicit word that the document allows it.

    Plain data (a dict a handler built) is checked as the client will read it; a model instance
    of the declared class passes as it is. Raises `InvalidResult` otherwise.
    """
    body = result.body if isinstance(result, Reply) else result
    if isinstance(body, Unchecked):
        return result
    try:
        _adapter(annotation).validate_python(body)
    except pydantic.ValidationError as exc:
        where = [
            "/".join(str(part) for part in error["loc"]) or "(root)"
            for error in exc.errors(include_url=False, include_input=False)[:3]
        ]
        raise InvalidResult(
            f"{operation_id}: the handler's result does not match the declared response "
            f"({exc.error_count()} error(s) at {', '.join(where)})"
        ) from None
    return result

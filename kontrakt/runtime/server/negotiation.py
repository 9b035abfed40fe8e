"""Media types: choosing the response representation (406), checking the request's (415), and
serialising a success body in the declared media type, with the response headers a handler sets
through `Reply`."""

import json
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from fastapi.encoders import jsonable_encoder
from starlette.requests import Request
from starlette.responses import Response

from kontrakt.runtime.server._guard import Guard
from kontrakt.runtime.server.errors import ApiProblem

__all__ = [
    "ContentTypeGuard",
    "Encoder",
    "Negotiator",
    "Reply",
    "Unchecked",
    "choose_media_type",
    "empty_response",
    "is_json_media_type",
    "media_type_of",
    "serialize",
]

logger = logging.getLogger("kontrakt.runtime.server")

T = TypeVar("T")


@dataclass(frozen=True)
class Reply(Generic[T]):
    """A handler's result with the response headers the document declares for it.

    A handler of an operation whose success response declares headers may return
    `Reply(body, headers={"Location": url})` instead of the bare body (Sdir v1's 201, DAN's
    accreditation). The generated route serialises `body` as it would the bare result and adds
    `headers`. A header the document marks `required` that a reply lacks is a server bug: the
    runtime logs it (the header names, never values) at error level and still answers, because the
    handler has already done its work (a create is stored) and a 500 would invite a retry.
    """

    body: T
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Unchecked(Generic[T]):
    """A handler's result sent as it is, without the check against the declared response.

    For answers the document itself lets depart from the response schema (DAN's `query`
    parameter: the answer is the JMESPath projection of the accreditation, not an accreditation).
    """

    value: T


def _unwrap(
    content: Any, headers: Mapping[str, str] | None, required: Sequence[str], status_code: int
) -> tuple[Any, dict[str, str] | None]:
    merged = dict(headers or {})
    if isinstance(content, Reply):
        merged.update({str(name): str(value) for name, value in content.headers.items()})
        content = content.body
    if isinstance(content, Unchecked):
        content = content.value
    if required:
        present = {name.casefold() for name in merged}
        missing = [name for name in required if name.casefold() not in present]
        if missing:
            logger.error(
                "the handler's %d answer lacks the required response header(s) %s "
                "(return kontrakt.runtime.server.Reply(body, headers={...}))",
                status_code,
                ", ".join(missing),
            )
    return content, merged or None


def media_type_of(value: str) -> str:
    """`application/json; charset=utf-8` -> `application/json`."""
    return value.split(";", 1)[0].strip().lower()


def is_json_media_type(media_type: str) -> bool:
    """`application/json` and every `+json` suffix type (problem+json, vnd.x+json)."""
    essence = media_type_of(media_type)
    return essence == "application/json" or (
        essence.startswith("application/") and essence.endswith("+json")
    )


def _ranges(accept: str) -> list[tuple[str, float]]:
    ranges: list[tuple[str, float]] = []
    for part in accept.split(","):
        if not part.strip():
            continue
        media, *params = part.split(";")
        media = media.strip().lower()
        if "/" not in media:
            continue
        quality = 1.0
        for param in params:
            key, _, value = param.partition("=")
            if key.strip().lower() == "q":
                try:
                    quality = float(value.strip())
                except ValueError:
                    quality = -1.0
        if 0.0 <= quality <= 1.0:
            ranges.append((media, quality))
    return ranges


def choose_media_type(accept: str | None, offered: Sequence[str]) -> str | None:
    """The offered media type the client prefers (RFC 9110 12.5.1), or None when none is acceptable.

    Each offered type takes the quality of the most specific range matching it (`type/sub` over
    `type/*` over `*/*`); `q=0` excludes it. Equal qualities go to the server's order in `offered`.
    No (or an empty) Accept header accepts the first offered type.
    """
    if not offered:
        return None
    if accept is None or not accept.strip():
        return offered[0]
    ranges = _ranges(accept)
    best: tuple[float, str] | None = None
    for candidate in offered:
        essence = media_type_of(candidate)
        kind = essence.split("/", 1)[0]
        specificity, quality = -1, 0.0
        for media, q in ranges:
            if media == essence:
                rank = 2
            elif media == f"{kind}/*":
                rank = 1
            elif media == "*/*":
                rank = 0
            else:
                continue
            if rank > specificity:
                specificity, quality = rank, q
        if specificity >= 0 and quality > 0 and (best is None or quality > best[0]):
            best = (quality, candidate)
    return best[1] if best else None


class Negotiator(Guard[str]):
    """Dependency choosing among the success response's declared media types, else 406.

    Pass the types in the server's order of preference, and only those the environment serves:
    DSOP offers `application/jose` everywhere and plain `application/json` only in test.
    """

    priority = 10

    def __init__(self, *offered: str) -> None:
        if not offered:
            raise ValueError("a negotiator needs at least one media type")
        self.offered = offered

    async def run(self, request: Request) -> str:
        chosen = choose_media_type(request.headers.get("accept"), self.offered)
        if chosen is None:
            raise ApiProblem.from_trigger(
                "not-acceptable",
                f"The Accept header names no available representation ({', '.join(self.offered)}).",
                parameter="Accept",
            )
        return chosen


class ContentTypeGuard(Guard[str | None]):
    """Dependency refusing a request body whose Content-Type the operation does not declare (415).

    A request without a body passes (a missing required body is the body validation's 400); a body
    without a Content-Type is refused. Returns the request's media type, or None without a body.
    """

    priority = 20

    def __init__(self, *accepted: str) -> None:
        if not accepted:
            raise ValueError("a content-type guard needs at least one media type")
        self.accepted = tuple(media_type_of(media) for media in accepted)

    async def run(self, request: Request) -> str | None:
        content_type = request.headers.get("content-type")
        has_body = "transfer-encoding" in request.headers or request.headers.get(
            "content-length", "0"
        ).strip() not in ("", "0")
        if content_type is None:
            if not has_body:
                return None
            raise ApiProblem.from_trigger(
                "unsupported-media-type",
                f"A request body needs a Content-Type ({', '.join(self.accepted)}).",
                parameter="Content-Type",
            )
        essence = media_type_of(content_type)
        if essence not in self.accepted:
            raise ApiProblem.from_trigger(
                "unsupported-media-type",
                f"The request body must be sent as {', '.join(self.accepted)}.",
                parameter="Content-Type",
            )
        return essence


Encoder = Callable[[Any], bytes]
"""Turns a handler's result into the body bytes of one media type (DSOP: JWE for application/jose)."""


def serialize(
    content: Any,
    media_type: str,
    *,
    status_code: int = 200,
    headers: Mapping[str, str] | None = None,
    encoders: Mapping[str, Encoder] | None = None,
    exclude_none: bool = True,
    required_headers: Sequence[str] = (),
) -> Response:
    """A success response in `media_type`.

    JSON types are encoded from pydantic models (by alias) or plain data; other types need an
    encoder for that media type (DSOP's JWE encryption for `application/jose`) unless the content
    already is `bytes` or `str`. A `Reply` is unwrapped: its body is encoded and its headers are
    added; `required_headers` (the document's `required: true` response headers) missing from
    the result are logged (see `Reply`).
    """
    content, headers = _unwrap(content, headers, required_headers, status_code)
    encoder = (encoders or {}).get(media_type_of(media_type))
    if encoder is not None:
        body = encoder(content)
    elif is_json_media_type(media_type):
        data = jsonable_encoder(content, by_alias=True, exclude_none=exclude_none)
        body = json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    elif isinstance(content, bytes):
        body = content
    elif isinstance(content, str):
        body = content.encode("utf-8")
    else:
        raise TypeError(f"no encoder for {media_type} and the content is not bytes or str")
    return Response(body, status_code=status_code, media_type=media_type, headers=headers)


def empty_response(
    result: Any = None,
    *,
    status_code: int = 204,
    headers: Mapping[str, str] | None = None,
    required_headers: Sequence[str] = (),
) -> Response:
    """A success response without a body, with the headers of a `Reply` the handler returned."""
    _, merged = _unwrap(result, headers, required_headers, status_code)
    return Response(status_code=status_code, headers=merged)

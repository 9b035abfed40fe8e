"""Base classes that generated `Client` and `AsyncClient` classes subclass.

A generated operation method only states what the spec says: method, path template, which
arguments go to path, query, headers and body, and which statuses are success with which model.
Everything else is here: URL building with percent-encoded path parameters, parameter
serialisation (booleans as `true`/`false`, `None` left out, arrays repeated), JSON bodies from
pydantic models, the retrying transport, and turning an undeclared status into an `ApiError`
carrying the domain code at the spec's `code-pointer`.

The subclass sets two class attributes from `x-kontrakt-error-catalogue`:
`_error_code_pointer` (`/code`, `/error/code`, `/errors/*/code`) and `_error_code_type`.
"""

from __future__ import annotations

import datetime as dt
import enum
import functools
import json as _json
import re
import uuid
from collections.abc import AsyncIterator, Callable, Hashable, Iterator, Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Any, ClassVar, Literal, Self, TypeVar, cast, overload
from urllib.parse import quote, urlencode

import httpx
import pydantic
import pydantic_core

from kontrakt.runtime.client.errors import (
    ApiError,
    ClientError,
    CodeType,
    InvalidResponse,
    TransportError,
)
from kontrakt.runtime.client.pagination import Decode, aiter_link_pages, iter_link_pages
from kontrakt.runtime.client.retry import (
    DEFAULT_RETRY,
    AsyncRetryTransport,
    RetryPolicy,
    RetryTransport,
)

__all__ = [
    "DEFAULT_TIMEOUT",
    "AsyncBaseClient",
    "BaseClient",
    "Expected",
    "Styled",
    "encode_body",
    "no_content",
    "parse_json",
    "parse_json_as",
    "raw_response",
    "styled",
]

T = TypeVar("T")

Expected = Mapping[int | str, Callable[[httpx.Response], T]]
"""Success statuses (200, or "2XX" as OpenAPI writes ranges) and the parser of each."""

DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=10.0)

_PLACEHOLDER = re.compile(r"\{([^{}/]+)\}")


# -- response parsers -----------------------------------------------------------------------------


@functools.lru_cache(maxsize=512)
def _adapter(tp: Hashable) -> pydantic.TypeAdapter[Any]:
    return pydantic.TypeAdapter(cast(Any, tp))


@overload
def parse_json(
    tp: type[T], *, nullable: Literal[False] = False
) -> Callable[[httpx.Response], T]: ...


@overload
def parse_json(tp: type[T], *, nullable: Literal[True]) -> Callable[[httpx.Response], T | None]: ...


def parse_json(tp: type[T], *, nullable: bool = False) -> Callable[[httpx.Response], T | None]:
    """A parser validating a JSON body into `tp` (a pydantic model, `list[Model]`, ...).

    With `nullable`, a JSON `null` body is also accepted (as None): type checkers take a class
    for `tp`, not a union such as `Thing | None`.
    """
    adapter = _adapter(cast(Hashable, tp | None if nullable else tp))

    def parse(response: httpx.Response) -> T | None:
        value: T | None = adapter.validate_json(response.content)
        return value

    return parse


def parse_json_as(tp: Any) -> Callable[[httpx.Response], Any]:
    """A parser validating a JSON body into a type that is no class (`Literal["x"]`, `A | B`).

    Type checkers cannot carry such a type through `type[T]`; generated code casts the result.
    """
    adapter = _adapter(cast(Hashable, tp))

    def parse(response: httpx.Response) -> Any:
        return adapter.validate_json(response.content)

    return parse


def no_content(response: httpx.Response) -> None:
    """The parser for responses without a body (204, or a 202 whose body is ignored)."""
    return None


def raw_response(response: httpx.Response) -> httpx.Response:
    """The parser that hands back the (read) response: files, JWE bodies, anything not JSON."""
    return response


# -- request building -----------------------------------------------------------------------------


def _text(value: Any) -> str:
    """One parameter value as text (OpenAPI `simple`/`form` style for primitives)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, enum.Enum):
        return _text(value.value)
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, uuid.UUID | int | float | str):
        return str(value)
    raise TypeError(f"cannot send a {type(value).__name__} as a parameter value")


def _path(template: str, params: Mapping[str, Any] | None) -> str:
    params = dict(params or {})
    used: set[str] = set()

    def substitute(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in params or params[name] is None:
            raise ValueError(f"path parameter {name!r} is required")
        text = _text(params[name])
        # "." and ".." would be removed as dot-segments (RFC 3986 5.2.4), reaching another path.
        if text in ("", ".", ".."):
            raise ValueError(f"path parameter {name!r} must not be {text!r}")
        used.add(name)
        return quote(text, safe="")

    path = _PLACEHOLDER.sub(substitute, template)
    unused = set(params) - used
    if unused:
        raise ValueError(f"path parameters not in {template!r}: {sorted(unused)}")
    return path


_QueryPairs = list[tuple[str, str | int | float | bool | None]]  # what httpx's `params` accepts


@dataclass(frozen=True)
class Styled:
    """A query value with its OpenAPI `style` and `explode` (see `styled`)."""

    value: Any
    style: str = "form"
    explode: bool = True


def styled(value: Any, style: str = "form", explode: bool = True) -> Styled | None:
    """`value` to be sent in `style`/`explode` (None stays out of the query)."""
    return None if value is None else Styled(value, style, explode)


_DELIMITERS = {"form": ",", "spaceDelimited": " ", "pipeDelimited": "|"}


def _member_text(value: Any) -> str:
    """A member of an object or array parameter; nested structures go as JSON."""
    if isinstance(value, dict | list):
        return _json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    return _text(value)


def _styled_pairs(name: str, item: Styled) -> _QueryPairs:
    """One parameter's query pairs per OpenAPI 3 `style`/`explode` (form, deepObject, pipe- and
    space-delimited); an object's members are read as JSON values (a model by its aliases)."""
    value = _jsonable(item.value)
    delimiter = _DELIMITERS.get(item.style, ",")
    pairs: _QueryPairs = []
    if isinstance(value, dict):
        members = [(str(k), v) for k, v in value.items() if v is not None]
        if item.style == "deepObject":
            for key, member in members:
                for part in member if isinstance(member, list) else [member]:
                    pairs.append((f"{name}[{key}]", _member_text(part)))
        elif item.explode:
            for key, member in members:
                for part in member if isinstance(member, list) else [member]:
                    pairs.append((key, _member_text(part)))
        elif members:
            flat = [text for key, v in members for text in (key, _member_text(v))]
            pairs.append((name, delimiter.join(flat)))
    elif isinstance(value, list):
        parts = [_member_text(part) for part in value if part is not None]
        if item.explode:
            pairs.extend((name, part) for part in parts)
        elif parts:
            pairs.append((name, delimiter.join(parts)))
    elif value is not None:
        pairs.append((name, _member_text(value)))
    return pairs


def _query(query: Mapping[str, Any] | None) -> _QueryPairs:
    pairs: _QueryPairs = []
    for name, value in (query or {}).items():
        if value is None:
            continue
        if isinstance(value, Styled):
            pairs.extend(_styled_pairs(name, value))
            continue
        if isinstance(value, list | tuple | set | frozenset):
            # form style, explode=true (the OpenAPI default): ?id=1&id=2
            pairs.extend((name, _text(item)) for item in value if item is not None)
        else:
            pairs.append((name, _text(value)))
    return pairs


def _headers(headers: Mapping[str, Any] | None) -> dict[str, str]:
    result: dict[str, str] = {}
    for name, value in (headers or {}).items():
        if value is None:
            continue
        if isinstance(value, list | tuple):
            result[name] = ",".join(_text(item) for item in value)  # simple style
        else:
            result[name] = _text(value)
    return result


def _jsonable(value: Any) -> Any:
    if isinstance(value, pydantic.BaseModel):
        # Unset fields stay out, so a server's documented default applies; explicit None stays.
        return value.model_dump(mode="json", by_alias=True, exclude_unset=True)
    if isinstance(value, list | tuple):
        return [_jsonable(item) for item in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    return pydantic_core.to_jsonable_python(value)


def _json_body(value: Any) -> bytes:
    text = _json.dumps(_jsonable(value), ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return text.encode("utf-8")


def _essence(content_type: str) -> str:
    return content_type.split(";", 1)[0].strip().lower()


def _is_json(essence: str) -> bool:
    return essence == "application/json" or (
        essence.startswith("application/") and essence.endswith("+json")
    )


def _fields(value: Any) -> dict[str, Any]:
    """A form body's members: a model by its aliases (unset fields left out), or a mapping."""
    if isinstance(value, pydantic.BaseModel):
        dumped: dict[str, Any] = value.model_dump(by_alias=True, exclude_unset=True)
        return dumped
    if isinstance(value, Mapping):
        return {str(k): v for k, v in value.items()}
    raise TypeError(f"cannot send a {type(value).__name__} as a form")


def _form_text(value: Any) -> str:
    if isinstance(value, pydantic.BaseModel | dict | list | tuple):
        return _json.dumps(_jsonable(value), separators=(",", ":"), ensure_ascii=False)
    return _text(value)


def encode_body(value: Any, content_type: str) -> tuple[bytes, str]:
    """`value` as the bytes of a `content_type` body, and the Content-Type header to send.

    JSON from models and plain values; `application/x-www-form-urlencoded` and
    `multipart/form-data` from a model or mapping (arrays repeated, `bytes` members sent as
    files in multipart); `text/*` from a string; anything else from bytes (or a string as UTF-8).
    """
    essence = _essence(content_type)
    if _is_json(essence):
        return _json_body(value), content_type
    if essence == "application/x-www-form-urlencoded":
        pairs = [
            (key, _form_text(part))
            for key, member in _fields(value).items()
            if member is not None
            for part in (member if isinstance(member, list | tuple) else [member])
            if part is not None
        ]
        return urlencode(pairs).encode("ascii"), content_type
    if essence.startswith("multipart/"):
        data: list[tuple[str, str]] = []
        files: list[tuple[str, tuple[str, bytes]]] = []
        for key, member in _fields(value).items():
            for part in member if isinstance(member, list | tuple) else [member]:
                if part is None:
                    continue
                if isinstance(part, bytes | bytearray):
                    files.append((key, (key, bytes(part))))
                else:
                    data.append((key, _form_text(part)))
        built = httpx.Request("POST", "http://localhost/", data=dict(data), files=files or None)
        if not files:  # httpx sends a field-only body as urlencoded; multipart was declared
            built = httpx.Request(
                "POST", "http://localhost/", files=[(k, (None, v)) for k, v in data]
            )
        return built.read(), built.headers["Content-Type"]
    if isinstance(value, str):
        return value.encode("utf-8"), content_type
    if isinstance(value, bytes | bytearray):
        return bytes(value), content_type
    if isinstance(value, pydantic.BaseModel):
        return _json_body(value), content_type
    raise TypeError(f"cannot send a {type(value).__name__} as {essence}")


def _check_base_url(base_url: str | httpx.URL) -> httpx.URL:
    url = httpx.URL(str(base_url))
    if url.scheme not in ("http", "https") or not url.host:
        raise ValueError(f"base_url must be an absolute http(s) URL, got {str(base_url)!r}")
    if url.query or url.fragment:
        raise ValueError("base_url must not have a query or fragment")
    return url


def _describe(error: Exception) -> str:
    if isinstance(error, pydantic.ValidationError):
        # Locations only: pydantic's full text repeats input values, which may be personal data.
        locations = ["/".join(str(p) for p in e["loc"]) or "(root)" for e in error.errors()[:3]]
        more = "" if error.error_count() <= 3 else f" and {error.error_count() - 3} more"
        return f"{error.error_count()} validation error(s) at {', '.join(locations)}{more}"
    return type(error).__name__


class _Common:
    """What the sync and async clients share: building requests and reading responses."""

    _error_code_pointer: ClassVar[str | None] = "/code"
    _error_code_type: ClassVar[CodeType | None] = None

    _http: httpx.Client | httpx.AsyncClient

    @property
    def base_url(self) -> httpx.URL:
        return self._http.base_url

    def _build_request(
        self,
        method: str,
        path: str,
        *,
        path_params: Mapping[str, Any] | None = None,
        query: Mapping[str, Any] | None = None,
        headers: Mapping[str, Any] | None = None,
        json: Any = None,
        content: bytes | None = None,
        content_type: str | None = None,
        payload: Any = None,
    ) -> httpx.Request:
        if sum(x is not None for x in (json, content, payload)) > 1:
            raise ValueError("pass one of json, content or payload")
        request_headers = _headers(headers)
        body: bytes | None = content
        if json is not None:
            body = _json_body(json)
            content_type = content_type or "application/json"
        if payload is not None:
            body, content_type = encode_body(payload, content_type or "application/json")
        if content_type is not None:
            request_headers["Content-Type"] = content_type
        return self._http.build_request(
            method.upper(),
            _path(path, path_params),
            params=_query(query),
            headers=request_headers,
            content=body,
        )

    def _handle(self, response: httpx.Response, expected: Expected[T]) -> T:
        status = response.status_code
        parser = expected.get(status) or expected.get(f"{status // 100}XX")
        if parser is None:
            raise ApiError.from_response(response, self._error_code_pointer, self._error_code_type)
        try:
            return parser(response)
        except ClientError:
            raise
        except (ValueError, TypeError) as exc:  # pydantic.ValidationError is a ValueError
            request = response.request
            raise InvalidResponse(
                f"{request.method} {request.url.path}: HTTP {status} body does not match the "
                f"declared schema: {_describe(exc)}",
                status=status,
                response=response,
            ) from exc

    def __repr__(self) -> str:
        return f"{type(self).__name__}(base_url={str(self.base_url)!r})"


def _transport_error(request: httpx.Request | None, exc: httpx.RequestError) -> TransportError:
    if request is None:
        return TransportError(f"{type(exc).__name__}: {exc}")
    where = request.url.copy_with(query=None)  # an API key may sit in the query
    return TransportError(
        f"{request.method} {where} failed: {type(exc).__name__}",
        method=request.method,
        url=str(where),
    )


class BaseClient(_Common):
    """Base of generated sync clients: an `httpx.Client` with auth, retries and typed errors.

    `transport` replaces the network (`httpx.MockTransport`, `httpx.HTTPTransport(verify=...)`);
    without one, httpx's own transport and the proxies named by the environment are used. Either
    way they are wrapped in a `RetryTransport`, unless `retry` is None or it already is one.
    """

    _http: httpx.Client

    def __init__(
        self,
        base_url: str | httpx.URL,
        *,
        auth: httpx.Auth | None = None,
        retry: RetryPolicy | None = DEFAULT_RETRY,
        timeout: float | httpx.Timeout = DEFAULT_TIMEOUT,
        headers: Mapping[str, str] | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        url = _check_base_url(base_url)
        self._http = httpx.Client(
            base_url=url,
            auth=auth,
            timeout=timeout,
            headers=headers,
            transport=transport,
            follow_redirects=False,
        )
        if retry is not None:
            _wrap_transports(self._http, lambda t: RetryTransport(t, retry), RetryTransport)

    def _send(self, request: httpx.Request) -> httpx.Response:
        try:
            return self._http.send(request)
        except httpx.RequestError as exc:
            raise _transport_error(request, exc) from exc

    def _request(
        self,
        method: str,
        path: str,
        *,
        expected: Expected[T],
        path_params: Mapping[str, Any] | None = None,
        query: Mapping[str, Any] | None = None,
        headers: Mapping[str, Any] | None = None,
        json: Any = None,
        content: bytes | None = None,
        content_type: str | None = None,
        payload: Any = None,
    ) -> T:
        """Send one operation's request and parse the answer; raise `ApiError` otherwise."""
        request = self._build_request(
            method,
            path,
            path_params=path_params,
            query=query,
            headers=headers,
            json=json,
            content=content,
            content_type=content_type,
            payload=payload,
        )
        return self._handle(self._send(request), expected)

    def _iter_pages(
        self,
        path: str,
        *,
        expected: Expected[T],
        path_params: Mapping[str, Any] | None = None,
        query: Mapping[str, Any] | None = None,
        headers: Mapping[str, Any] | None = None,
        links_pointer: str = "/links",
        rel: str = "next",
        max_pages: int = 1000,
        prepare: Callable[[httpx.Request], None] | None = None,
        decode: Decode | None = None,
    ) -> Iterator[T]:
        """GET a `links`-paginated list and yield every page parsed (see `iter_link_pages`)."""
        request = self._build_request(
            "GET", path, path_params=path_params, query=query, headers=headers
        )
        pages = iter_link_pages(
            self._http,
            request,
            links_pointer=links_pointer,
            rel=rel,
            base_url=self.base_url,
            max_pages=max_pages,
            prepare=prepare,
            decode=decode,
        )
        try:
            while True:
                try:
                    page = next(pages)
                except StopIteration:
                    return
                except httpx.RequestError as exc:
                    raise _transport_error(exc.request if _has_request(exc) else None, exc) from exc
                yield self._handle(page, expected)
        finally:
            pages.close()

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class AsyncBaseClient(_Common):
    """Base of generated async clients: the `httpx.AsyncClient` twin of `BaseClient`."""

    _http: httpx.AsyncClient

    def __init__(
        self,
        base_url: str | httpx.URL,
        *,
        auth: httpx.Auth | None = None,
        retry: RetryPolicy | None = DEFAULT_RETRY,
        timeout: float | httpx.Timeout = DEFAULT_TIMEOUT,
        headers: Mapping[str, str] | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        url = _check_base_url(base_url)
        self._http = httpx.AsyncClient(
            base_url=url,
            auth=auth,
            timeout=timeout,
            headers=headers,
            transport=transport,
            follow_redirects=False,
        )
        if retry is not None:
            _wrap_transports(
                self._http, lambda t: AsyncRetryTransport(t, retry), AsyncRetryTransport
            )

    async def _send(self, request: httpx.Request) -> httpx.Response:
        try:
            return await self._http.send(request)
        except httpx.RequestError as exc:
            raise _transport_error(request, exc) from exc

    async def _request(
        self,
        method: str,
        path: str,
        *,
        expected: Expected[T],
        path_params: Mapping[str, Any] | None = None,
        query: Mapping[str, Any] | None = None,
        headers: Mapping[str, Any] | None = None,
        json: Any = None,
        content: bytes | None = None,
        content_type: str | None = None,
        payload: Any = None,
    ) -> T:
        """Send one operation's request and parse the answer; raise `ApiError` otherwise."""
        request = self._build_request(
            method,
            path,
            path_params=path_params,
            query=query,
            headers=headers,
            json=json,
            content=content,
            content_type=content_type,
            payload=payload,
        )
        return self._handle(await self._send(request), expected)

    async def _iter_pages(
        self,
        path: str,
        *,
        expected: Expected[T],
        path_params: Mapping[str, Any] | None = None,
        query: Mapping[str, Any] | None = None,
        headers: Mapping[str, Any] | None = None,
        links_pointer: str = "/links",
        rel: str = "next",
        max_pages: int = 1000,
        prepare: Callable[[httpx.Request], None] | None = None,
        decode: Decode | None = None,
    ) -> AsyncIterator[T]:
        """GET a `links`-paginated list and yield every page parsed (see `aiter_link_pages`)."""
        request = self._build_request(
            "GET", path, path_params=path_params, query=query, headers=headers
        )
        pages = aiter_link_pages(
            self._http,
            request,
            links_pointer=links_pointer,
            rel=rel,
            base_url=self.base_url,
            max_pages=max_pages,
            prepare=prepare,
            decode=decode,
        )
        try:
            while True:
                try:
                    page = await pages.__anext__()
                except StopAsyncIteration:
                    return
                except httpx.RequestError as exc:
                    raise _transport_error(exc.request if _has_request(exc) else None, exc) from exc
                yield self._handle(page, expected)
        finally:
            await pages.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()


def _wrap_transports(client: Any, wrap: Callable[[Any], Any], kind: type) -> None:
    """Put the retrying transport around the client's transport and its proxy mounts.

    httpx (0.28) sets up the proxies named by HTTP(S)_PROXY/ALL_PROXY only when it builds the
    transport itself, so the client is built first and what it built is wrapped afterwards;
    passing a ready `RetryTransport` would silently drop the environment's proxies.
    """
    if not isinstance(client._transport, kind):
        client._transport = wrap(client._transport)
    client._mounts = {
        pattern: mounted if mounted is None or isinstance(mounted, kind) else wrap(mounted)
        for pattern, mounted in client._mounts.items()
    }


def _has_request(exc: httpx.RequestError) -> bool:
    try:
        exc.request  # noqa: B018 - the property raises when no request is attached
    except RuntimeError:
        return False
    return True

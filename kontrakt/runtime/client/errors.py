"""What the client runtime raises: one base class, and a typed error per kind of failure.

`ApiError` is the one users meet most: the API answered with a status the operation does not
declare as success. It carries the HTTP status and the *domain* code found in the body at the
pointer the spec's `x-kontrakt-error-catalogue` names (`code-pointer`), so callers can write
`except ApiError as e: if e.code == "ACC-011": ...`. Error bodies are read defensively: a gateway's
HTML page or a truncated body gives an `ApiError` with `code=None`, never a second exception.

Secrets never appear in `str()` or `repr()` of these errors: the request (with its Authorization
header) is reachable through `ApiError.response` for debugging, but is not part of the text.
"""

from __future__ import annotations

import json
from typing import Any, Literal, Self

import httpx

from kontrakt.runtime.client import _pointer

__all__ = [
    "ApiError",
    "ClientError",
    "CodeType",
    "InvalidResponse",
    "PaginationError",
    "PollTimeout",
    "TokenError",
    "TransportError",
]

CodeType = Literal["string", "integer"]
"""`x-kontrakt-error-catalogue.code-type`: DSOP, DPS and Sdir use strings, DAN integers."""

_MESSAGE_KEYS = ("message", "description", "detail", "title", "error_description")
_MAX_TEXT = 200


def _shorten(text: str, limit: int = _MAX_TEXT) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


class ClientError(Exception):
    """Base class of every error the client runtime raises."""


class ApiError(ClientError):
    """The API answered with a status the operation does not expect (typically 4xx/5xx)."""

    status: int
    code: str | int | None
    message: str | None
    body: Any
    response: httpx.Response | None

    def __init__(
        self,
        status: int,
        code: str | int | None = None,
        message: str | None = None,
        *,
        body: Any = None,
        response: httpx.Response | None = None,
    ) -> None:
        self.status = status
        self.code = code
        self.message = message
        self.body = body
        self.response = response
        super().__init__(status, code, message)

    @classmethod
    def from_response(
        cls,
        response: httpx.Response,
        code_pointer: str | None = "/code",
        code_type: CodeType | None = None,
    ) -> Self:
        """Build the error from a response whose body may be JSON, text, HTML or nothing.

        `code_pointer` is the catalogue's `code-pointer` (`/code`, `/error/code`,
        `/errors/*/code`; `*` takes the first array item that has a code). `code_type` coerces
        what is found ("1002" -> 1002 for `integer`); a value that cannot be coerced is kept.
        """
        body = _parse_body(response)
        code: str | int | None = None
        message: str | None = None
        if code_pointer is not None and isinstance(body, dict | list):
            code, holder = _find_code(body, code_pointer)
            code = _coerce(code, code_type)
            message = _find_message(holder) or _find_message(body)
        elif isinstance(body, dict):
            message = _find_message(body)
        if message is None and isinstance(body, str) and body.strip():
            # Keep a short, whitespace-folded excerpt of a non-JSON body (a proxy's HTML page).
            message = _shorten(body)
        return cls(response.status_code, code, message, body=body, response=response)

    def __str__(self) -> str:
        text = f"HTTP {self.status}"
        if self.code is not None:
            text += f" {self.code}"
        if self.message:
            text += f": {_shorten(self.message)}"
        return text

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(status={self.status!r}, code={self.code!r}, "
            f"message={self.message!r})"
        )


class TransportError(ClientError):
    """No usable HTTP answer: connection refused, timeout, protocol error (after retries).

    The underlying httpx exception is the `__cause__`.
    """

    def __init__(self, message: str, *, method: str | None = None, url: str | None = None) -> None:
        self.method = method
        self.url = url
        super().__init__(message)


class TokenError(ClientError):
    """The token endpoint refused or answered something unusable (RFC 6749 section 5.2).

    `error` is the OAuth error code (`invalid_client`, `invalid_grant`, ...). The client secret,
    private key and assertion are never part of the text, even when a server echoes them.
    """

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        error: str | None = None,
        error_description: str | None = None,
    ) -> None:
        self.status = status
        self.error = error
        self.error_description = error_description
        super().__init__(message)

    def __repr__(self) -> str:
        return f"TokenError(status={self.status!r}, error={self.error!r}, message={str(self)!r})"


class InvalidResponse(ClientError):
    """An expected status arrived, but its body does not parse into the declared model.

    The parsing error (for example a pydantic `ValidationError`) is the `__cause__`.
    """

    def __init__(self, message: str, *, status: int, response: httpx.Response | None = None):
        self.status = status
        self.response = response
        super().__init__(message)

    def __repr__(self) -> str:
        return f"InvalidResponse(status={self.status!r}, message={str(self)!r})"


class PaginationError(ClientError):
    """Following `next` links went wrong: a loop, too many pages, or a link off the API."""


class PollTimeout(ClientError):
    """Polling gave up before the resource reached a terminal state.

    `state` is the last state seen (possibly one no document lists), `last` the last object.
    """

    def __init__(self, message: str, *, state: str | None, last: Any, elapsed: float) -> None:
        self.state = state
        self.last = last
        self.elapsed = elapsed
        super().__init__(message)

    def __repr__(self) -> str:
        return f"PollTimeout(state={self.state!r}, elapsed={self.elapsed!r})"


def _parse_body(response: httpx.Response) -> Any:
    """JSON when the body is JSON, else its text, else None; never raises."""
    try:
        content = response.content
    except httpx.ResponseNotRead:
        return None
    if not content.strip():
        return None
    try:
        return json.loads(content)
    except (ValueError, RecursionError):
        pass
    try:
        return response.text
    except (LookupError, ValueError):
        return content.decode("utf-8", errors="replace")


def _find_code(body: Any, pointer: str) -> tuple[str | int | None, Any]:
    """The first usable code at the pointer and the object that holds it."""
    try:
        _pointer.split(pointer)
    except ValueError:
        return None, None
    parent = _pointer.parent_pointer(pointer)
    last = pointer[len(parent) :]  # "/code" (still escaped), or "" for the whole document
    for holder in _pointer.find_all(body, parent):
        value = _pointer.find_first(holder, last) if last else holder
        if isinstance(value, bool):
            continue
        if isinstance(value, str | int):
            return value, holder
        if isinstance(value, float) and value.is_integer():
            return int(value), holder
    return None, None


def _coerce(code: str | int | None, code_type: CodeType | None) -> str | int | None:
    if code is None or code_type is None:
        return code
    if code_type == "string":
        return str(code)
    if isinstance(code, str):
        stripped = code.strip()
        if stripped.lstrip("-").isdigit() and stripped.lstrip("-").isascii():
            return int(stripped)
    return code


def _find_message(holder: Any) -> str | None:
    if not isinstance(holder, dict):
        return None
    for key in _MESSAGE_KEYS:
        value = holder.get(key)
        if isinstance(value, str) and value.strip():
            return value
    return None

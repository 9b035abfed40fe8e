"""Error bodies in each API's own shape, derived from its error catalogue's code pointer.

The four families answer errors differently: DSOP `{"code", "message"}`, DPS
`{"error": {"code", "message", "details"}}`, DAN `{"code": <int>, "description"}` and Sdir RFC 9457
problem details with an `errors` list. One generic builder covers them all: the catalogue's
`code-pointer` (`/code`, `/error/code`, `/errors/*/code`) says where the code sits, and the members
around it are nested the same way.
"""

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any, Literal

from starlette.responses import Response

__all__ = [
    "PROBLEM_JSON",
    "TRIGGER_STATUS",
    "ApiProblem",
    "Code",
    "ErrorItem",
    "ErrorStyle",
    "coerce_code",
    "error_body",
    "render_error",
    "render_errors",
]

Code = str | int
"""A domain error code: `ACC-001`, `VALIDATION_ERROR`, or DAN's integer `1023`."""

PROBLEM_JSON = "application/problem+json"

# The HTTP status a trigger implies when no catalogue entry names one (see specs/README.md).
TRIGGER_STATUS: Mapping[str, int] = {
    "missing-parameter": 400,
    "invalid-parameter": 400,
    "invalid-body": 400,
    "invalid-combination": 400,
    "business-rule": 400,
    "service-not-allowed": 400,
    "unauthenticated": 401,
    "forbidden": 403,
    "not-found": 404,
    "method-not-allowed": 405,
    "not-acceptable": 406,
    "conflict": 409,
    "invalid-state": 409,
    "payload-too-large": 413,
    "unsupported-media-type": 415,
    "unprocessable": 422,
    "rate-limited": 429,
    "server-error": 500,
    "upstream-error": 502,
    "unavailable": 503,
    "other": 400,
}


@dataclass(frozen=True)
class ErrorItem:
    """One error to report: its code, a message, and where it points (member, batch index)."""

    code: Code | None
    message: str
    field: str | None = None
    index: int | None = None
    details: str | None = None


@dataclass(frozen=True)
class ErrorStyle:
    """The shape of one API's error body, built from `x-kontrakt-error-catalogue` and its schema.

    `code_pointer` is the catalogue's `code-pointer`; a `*` segment marks a list whose items each
    carry a code (Sdir's `errors[]`, with `index_field` and `field_field` beside the code).
    `details_field` names a free-text member for the offending field (DPS `details`).
    A `media_type` of `application/problem+json` wraps the body in RFC 9457 members.
    """

    code_pointer: str = "/code"
    code_type: Literal["string", "integer"] = "string"
    message_field: str = "message"
    details_field: str | None = None
    media_type: str = "application/json"
    index_field: str = "index"
    field_field: str = "field"

    def __post_init__(self) -> None:
        segments = self.segments
        if not self.code_pointer.startswith("/") or not all(segments):
            raise ValueError(f"code pointer {self.code_pointer!r} is not a JSON pointer")
        if segments[0] == "*" or segments[-1] == "*" or segments.count("*") > 1:
            raise ValueError(
                f"code pointer {self.code_pointer!r}: '*' may mark one list below the top level"
            )
        if self.code_type not in ("string", "integer"):
            raise ValueError(f"code type must be 'string' or 'integer', not {self.code_type!r}")

    @property
    def segments(self) -> tuple[str, ...]:
        """The pointer's unescaped segments (RFC 6901), the last one naming the code member."""
        raw = self.code_pointer.split("/")[1:]
        return tuple(part.replace("~1", "/").replace("~0", "~") for part in raw)

    @property
    def lists_items(self) -> bool:
        """Whether the body carries a list of errors, each with its own code."""
        return "*" in self.segments

    @property
    def is_problem(self) -> bool:
        return self.media_type.split(";")[0].strip().lower() == PROBLEM_JSON

    @classmethod
    def from_catalogue(
        cls,
        catalogue: Mapping[str, Any],
        *,
        message_field: str = "message",
        details_field: str | None = None,
        media_type: str = "application/json",
    ) -> "ErrorStyle":
        """The style for a document's `x-kontrakt-error-catalogue` value."""
        code_type = catalogue.get("code-type", "string")
        if code_type not in ("string", "integer"):
            raise ValueError(f"code-type must be 'string' or 'integer', not {code_type!r}")
        return cls(
            code_pointer=str(catalogue.get("code-pointer", "/code")),
            code_type=code_type,
            message_field=message_field,
            details_field=details_field,
            media_type=media_type,
        )


def coerce_code(style: ErrorStyle, code: Code) -> Code:
    """The code as the body carries it: DAN's catalogue keys are strings, its bodies integers."""
    if style.code_type == "integer":
        if isinstance(code, bool):
            raise ValueError(f"error code {code!r} is not an integer")
        return int(code)
    return str(code)


def _member(style: ErrorStyle, item: ErrorItem, code_member: str) -> dict[str, Any]:
    body: dict[str, Any] = {}
    if style.lists_items:
        if item.index is not None:
            body[style.index_field] = item.index
        if item.field is not None:
            body[style.field_field] = item.field
    if item.code is not None:
        body[code_member] = coerce_code(style, item.code)
    body[style.message_field] = item.message
    if style.details_field is not None:
        details = item.details if item.details is not None else item.field
        if details is not None:
            body[style.details_field] = details
    return body


def _nest(segments: Sequence[str], value: Any) -> Any:
    for segment in reversed(segments):
        value = {segment: value}
    return value


def error_body(
    style: ErrorStyle,
    status: int,
    items: Sequence[ErrorItem],
    *,
    message: str | None = None,
) -> dict[str, Any]:
    """The JSON error body for `items` (only the first one unless the style lists errors)."""
    if not items:
        raise ValueError("an error body needs at least one item")
    *prefix, code_member = style.segments
    if style.lists_items:
        star = prefix.index("*")
        outer, inner = prefix[:star], prefix[star + 1 :]
        listed = [_nest(inner, _member(style, item, code_member)) for item in items]
        body: dict[str, Any] = _nest(outer, listed)
    else:
        body = _nest(prefix, _member(style, items[0], code_member))
    if style.is_problem:
        try:
            title = HTTPStatus(status).phrase
        except ValueError:
            title = "Error"
        problem: dict[str, Any] = {
            "type": "about:blank",
            "title": title,
            "status": status,
            "detail": message if message is not None else items[0].message,
        }
        problem.update(body)
        return problem
    return body


def render_errors(
    style: ErrorStyle,
    status: int,
    items: Sequence[ErrorItem],
    *,
    message: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> Response:
    """An error response in the API's own body shape and error media type."""
    body = error_body(style, status, items, message=message)
    content = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return Response(content, status_code=status, media_type=style.media_type, headers=headers)


def render_error(
    style: ErrorStyle,
    status: int,
    code: Code | None,
    message: str,
    *,
    field: str | None = None,
    index: int | None = None,
    details: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> Response:
    """One error as a response: DSOP `{"code","message"}`, DPS `{"error":{...}}`, and so on.

    `code=None` leaves the code member out; it is used only where the document names no code for
    the situation (an unknown path in an API without a general not-found code).
    """
    item = ErrorItem(code, message, field=field, index=index, details=details)
    return render_errors(style, status, [item], headers=headers)


class ApiProblem(Exception):
    """An error a handler raises; the installed exception handler renders it in the API's style.

    Either name the `status` and `code` directly, or use `ApiProblem.from_trigger` and let the
    server find the code the document maps to that trigger (and parameter) for the operation.
    """

    def __init__(
        self,
        status: int,
        code: Code | None,
        message: str,
        *,
        field: str | None = None,
        index: int | None = None,
        details: str | None = None,
        headers: Mapping[str, str] | None = None,
        items: Sequence[ErrorItem] = (),
    ) -> None:
        super().__init__(message)
        self.status: int | None = status
        self.code = code
        self.message = message
        self.field = field
        self.index = index
        self.details = details
        self.headers: dict[str, str] = dict(headers or {})
        self.items: tuple[ErrorItem, ...] = tuple(items)
        self.trigger: str | None = None
        self.parameter: str | None = None
        self.situation: str | None = None
        # With a trigger: the response status is fixed, only error uses of it count.
        self.trigger_status: int | None = None

    @classmethod
    def from_trigger(
        cls,
        trigger: str,
        message: str,
        *,
        parameter: str | None = None,
        situation: str | None = None,
        field: str | None = None,
        index: int | None = None,
        details: str | None = None,
        headers: Mapping[str, str] | None = None,
        status: int | None = None,
    ) -> "ApiProblem":
        """A problem whose status and code come from the document's error uses for `trigger`.

        With `status`, only error uses of that status count (x-kontrakt-batch's
        too-large-status).
        """
        if trigger not in TRIGGER_STATUS:
            raise ValueError(f"unknown trigger {trigger!r}")
        problem = cls(
            status or TRIGGER_STATUS[trigger],
            None,
            message,
            field=field,
            index=index,
            details=details,
            headers=headers,
        )
        problem.status = None
        problem.trigger = trigger
        problem.parameter = parameter
        problem.situation = situation
        problem.trigger_status = status
        return problem

    def error_items(self, code: Code | None) -> tuple[ErrorItem, ...]:
        """The items to render: the explicit list, or one item from the problem's own fields."""
        if self.items:
            return self.items
        return (ErrorItem(code, self.message, self.field, self.index, self.details),)

    def __repr__(self) -> str:
        where = f"trigger={self.trigger!r}" if self.trigger else f"status={self.status}"
        return f"ApiProblem({where}, code={self.code!r}, message={self.message!r})"

"""ApiError: the domain code read from each publisher's error body, and garbage tolerated."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from kontrakt.runtime.client import ApiError
from kontrakt.runtime.client._pointer import MISSING, find_first

# (body, code-pointer, code-type, code, message): one per error shape the specs declare.
SHAPES = [
    pytest.param(
        {"code": "ACC-011", "message": "Legal-Mandate is not valid"},
        "/code",
        "string",
        "ACC-011",
        "Legal-Mandate is not valid",
        id="dsop",
    ),
    pytest.param(
        {"error": {"code": "INVALID_STATE", "message": "not REGISTERED", "details": "x"}},
        "/error/code",
        "string",
        "INVALID_STATE",
        "not REGISTERED",
        id="dps",
    ),
    pytest.param(
        {"code": 1002, "description": "Missing consent"},
        "/code",
        "integer",
        1002,
        "Missing consent",
        id="dan",
    ),
    pytest.param(
        {
            "type": "about:blank",
            "title": "Validation failed",
            "status": 400,
            "errors": [
                {"index": 3, "code": "SDIR-COMPETENCE-UNKNOWN", "message": "unknown code"},
                {"index": 5, "code": "SDIR-DATE-FUTURE"},
            ],
        },
        "/errors/*/code",
        "string",
        "SDIR-COMPETENCE-UNKNOWN",
        "unknown code",
        id="sdir",
    ),
]


def _response(
    status: int, content: bytes, content_type: str = "application/json"
) -> httpx.Response:
    request = httpx.Request(
        "GET", "https://api.test/x", headers={"Authorization": "Bearer SECRET-TOKEN"}
    )
    return httpx.Response(
        status, content=content, headers={"Content-Type": content_type}, request=request
    )


@pytest.mark.parametrize(("body", "pointer", "code_type", "code", "message"), SHAPES)
def test_code_and_message_from_each_shape(
    body: Any, pointer: str, code_type: Any, code: Any, message: str
) -> None:
    error = ApiError.from_response(_response(400, json.dumps(body).encode()), pointer, code_type)
    assert (error.status, error.code, error.message) == (400, code, message)
    assert error.body == body
    assert str(error) == f"HTTP 400 {code}: {message}"


def test_wildcard_skips_items_without_a_code() -> None:
    body = {"title": "Bad", "errors": [{"index": 0}, {"index": 1, "code": "SDIR-X"}]}
    error = ApiError.from_response(_response(422, json.dumps(body).encode()), "/errors/*/code")
    assert error.code == "SDIR-X"


@pytest.mark.parametrize(
    ("raw", "code_type", "expected"),
    [
        ("1002", "integer", 1002),
        (" 1002 ", "integer", 1002),
        ("ACC-1", "integer", "ACC-1"),  # not coercible: kept as sent
        (1002, "string", "1002"),
        (1002, None, 1002),
        (1002.0, "integer", 1002),
        (True, "string", None),  # a boolean is not a code
        ({"nested": 1}, "string", None),
    ],
)
def test_code_type_coercion(raw: Any, code_type: Any, expected: Any) -> None:
    content = json.dumps({"code": raw}).encode()
    assert ApiError.from_response(_response(400, content), "/code", code_type).code == expected


@pytest.mark.parametrize(
    ("content", "content_type"),
    [
        (b"<html><body><h1>502 Bad Gateway</h1>\n<p>nginx</p></body></html>", "text/html"),
        (b"", "application/json"),
        (b"   ", "application/json"),
        (b'{"code": "ACC-', "application/json"),  # truncated
        (b"\xff\xfe\x00garbage\x80", "application/json"),  # not even UTF-8
        (b"[1, 2, 3]", "application/json"),
        (b'"just a string"', "application/json"),
        (b"null", "application/json"),
        (b"[" * 5000 + b"]" * 5000, "application/json"),  # deeply nested
    ],
)
def test_garbage_bodies_give_an_error_without_code(content: bytes, content_type: str) -> None:
    error = ApiError.from_response(_response(502, content, content_type), "/error/code")
    assert error.status == 502
    assert error.code is None
    assert str(error).startswith("HTTP 502")


def test_html_body_becomes_a_short_message() -> None:
    html = b"<html><body>" + b"x" * 5000 + b"</body></html>"
    error = ApiError.from_response(_response(503, html, "text/html"), "/code")
    assert error.message is not None and error.message.startswith("<html><body>x")
    assert len(str(error)) < 250
    assert isinstance(error.body, str) and len(error.body) == len(html)


def test_no_pointer_still_finds_a_message() -> None:
    body = json.dumps({"title": "Forbidden", "detail": "role missing"}).encode()
    error = ApiError.from_response(_response(403, body), None)
    assert error.code is None and error.message == "role missing"


def test_malformed_pointer_is_no_code() -> None:
    assert ApiError.from_response(_response(400, b'{"code": "X"}'), "code").code is None


def test_repr_and_str_leave_the_request_out() -> None:
    error = ApiError.from_response(_response(401, b'{"code": "ACC-009"}'), "/code")
    assert error.response is not None
    assert error.response.request.headers["Authorization"] == "Bearer SECRET-TOKEN"
    for text in (str(error), repr(error), str(error.args)):
        assert "SECRET" not in text
    assert repr(error) == "ApiError(status=401, code='ACC-009', message=None)"


# -- properties -----------------------------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=5), children, max_size=4)
    ),
    max_leaves=20,
)
codes = st.one_of(st.text(min_size=1, max_size=12), st.integers(min_value=0, max_value=10**6))
keys = st.text(alphabet="abcxyz~/*", min_size=1, max_size=4)


@given(st.binary(max_size=300), st.sampled_from(["/code", "/error/code", "/errors/*/code", ""]))
def test_any_bytes_never_raise(content: bytes, pointer: str) -> None:
    error = ApiError.from_response(_response(500, content), pointer, "integer")
    assert error.code is None or isinstance(error.code, str | int)


@given(json_values, st.sampled_from(["/code", "/error/code", "/errors/*/code"]))
def test_any_json_never_raises(body: Any, pointer: str) -> None:
    ApiError.from_response(_response(500, json.dumps(body).encode()), pointer, "string")


@given(st.lists(keys, min_size=1, max_size=4), codes, json_values)
def test_code_placed_at_a_path_is_found(path: list[str], code: Any, filler: Any) -> None:
    # Build {"k1": {"k2": [{"k3": code}]}}-like bodies: every "*" becomes a one-item array after
    # an item without the key, so the wildcard has to skip.
    body: Any = code
    pointer_tokens: list[str] = []
    for key in reversed(path):
        if key == "*":
            body = [{"other": filler}, body] if isinstance(body, dict) else [body]
        else:
            body = {key: body}
        pointer_tokens.insert(0, key.replace("~", "~0").replace("/", "~1"))
    pointer = "/" + "/".join(pointer_tokens)
    found = find_first(body, pointer)
    assert found is not MISSING
    error = ApiError.from_response(_response(400, json.dumps(body).encode()), pointer)
    assert error.code == code

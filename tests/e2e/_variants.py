"""ASGI plumbing the known-bad variant modules (tests/e2e/*_bad_variants.py) share.

Reading a request header of a scope and replacing it, reading the whole request body, calling
the wrapped app with its response buffered, and sending a buffered response. What a variant
module's rewrite does with the call stays in that module.
"""

from __future__ import annotations

from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["buffered", "header", "read_body", "send_response", "with_header"]

Headers = list[tuple[bytes, bytes]]


def header(scope: Scope, name: str) -> str | None:
    """The request header `name` (any case) of `scope`, or None."""
    wanted = name.lower().encode("latin-1")
    for key, value in scope.get("headers", ()):
        if key.lower() == wanted:
            return str(value.decode("latin-1"))
    return None


def with_header(scope: Scope, name: str, value: str | None) -> Scope:
    """`scope` with the request header `name` replaced by `value` (None removes it)."""
    wanted = name.lower().encode("latin-1")
    headers = [(k, v) for k, v in scope.get("headers", ()) if k.lower() != wanted]
    if value is not None:
        headers.append((wanted, value.encode("latin-1")))
    return {**scope, "headers": headers}


async def read_body(receive: Receive) -> bytes:
    """The whole request body, over every `http.request` message."""
    chunks: list[bytes] = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


async def buffered(app: ASGIApp, scope: Scope, receive: Receive) -> tuple[int, Headers, bytes]:
    """Call `app`; its response's status (500 if it sent none), raw headers and whole body."""
    start: dict[str, Any] = {}
    chunks: list[bytes] = []

    async def capture(message: Message) -> None:
        if message["type"] == "http.response.start":
            start.update(message)
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await app(scope, receive, capture)
    headers = [(bytes(k), bytes(v)) for k, v in start.get("headers", ())]
    return int(start.get("status", 500)), headers, b"".join(chunks)


async def send_response(send: Send, status: int, headers: Headers, body: bytes) -> None:
    """Send a whole response (the headers as given: content-length is the caller's)."""
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})

"""Small Starlette providers for the harness tests: a good one, a bad twin, a misbehaving one."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

TOKEN = "good-token-0123456789"
METHODS = ["GET", "POST", "PUT", "DELETE", "PATCH"]


def tiny_app(*, bad: bool = False) -> Starlette:
    """The tiny API; `bad=True` breaks the 200 schema, the 405 rule and the header rule."""

    async def items(request: Request) -> Response:
        if request.headers.get("authorization") != f"Bearer {TOKEN}":
            return JSONResponse({"code": "T-001", "message": "no token"}, status_code=400)
        if request.method != "GET":
            if bad:
                return JSONResponse({"ok": True})
            return JSONResponse({"code": "T-405", "message": "GET only"}, status_code=405)
        if "x-case" not in request.headers and not bad:
            return JSONResponse({"code": "T-001", "message": "X-Case missing"}, status_code=400)
        if bad:
            return JSONResponse({"items": [{"id": "one", "name": "a"}]})
        return JSONResponse({"items": [{"id": 1, "name": "a"}]})

    return Starlette(routes=[Route("/items", items, methods=METHODS)])


async def _reset(scope: Scope, receive: Receive, send: Send) -> None:
    await send(
        {"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"1000")]}
    )
    await send({"type": "http.response.body", "body": b'{"items": [', "more_body": True})
    raise RuntimeError("connection dropped on purpose")


def misbehaving_app() -> ASGIApp:
    calls = {"limited": 0}

    async def slow(request: Request) -> Response:
        await asyncio.sleep(3)
        return JSONResponse({"items": []})

    async def garbage(request: Request) -> Response:
        return Response(b"{not json at all", media_type="application/json")

    async def html(request: Request) -> Response:
        return Response(b"<html>oops</html>", media_type="text/html")

    async def big(request: Request) -> Response:
        async def chunks() -> AsyncIterator[bytes]:
            block = b" " * (1024 * 1024)
            for _ in range(50):
                yield block

        return StreamingResponse(chunks(), media_type="application/json")

    async def limited(request: Request) -> Response:
        calls["limited"] += 1
        if calls["limited"] % 2 == 1:
            return PlainTextResponse("slow down", status_code=429, headers={"Retry-After": "0"})
        return JSONResponse({"items": []})

    async def always_429(request: Request) -> Response:
        return PlainTextResponse("no", status_code=429, headers={"Retry-After": "120"})

    async def ok(request: Request) -> Response:
        return JSONResponse({"items": [{"id": 1, "name": "a"}]})

    app = Starlette(
        routes=[
            Route("/slow", slow),
            Route("/garbage", garbage),
            Route("/html", html),
            Route("/big", big),
            Route("/limited", limited),
            Route("/always429", always_429),
            Route("/items", ok),
        ]
    )

    async def dispatch(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] == "/reset":
            await _reset(scope, receive, send)
            return
        await app(scope, receive, send)

    return dispatch

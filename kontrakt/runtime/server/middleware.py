"""ASGI middleware: a request body cap (413) and a last-resort 500 without a traceback."""

import logging

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from kontrakt.runtime.server.config import ServerConfig

__all__ = ["BodyLimitMiddleware", "ServerErrorMiddleware"]

logger = logging.getLogger("kontrakt.runtime.server")


class BodyLimitMiddleware:
    """Refuses a request body larger than the configured size with the `payload-too-large` code.

    A declared Content-Length above the cap is refused before anything is read; otherwise the
    body is read up to the cap and handed on intact, so chunked uploads cannot slip past it.
    """

    def __init__(self, app: ASGIApp, config: ServerConfig) -> None:
        if config.max_body_size is None or config.max_body_size < 0:
            raise ValueError("BodyLimitMiddleware needs a non-negative max_body_size")
        self.app = app
        self.config = config
        self.limit: int = config.max_body_size

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.limit:
            await self._refuse(scope, receive, send)
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                # The client went away; nothing to answer.
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.limit:
                await self._refuse(scope, receive, send)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": b"".join(chunks), "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = self.config.render_trigger(
            "payload-too-large",
            f"The request body exceeds {self.limit} bytes.",
            headers={"Connection": "close"},
        )
        await response(scope, receive, send)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


class ServerErrorMiddleware:
    """Turns an unhandled exception into the API's `server-error` code, with no traceback.

    The exception is logged (type and traceback, server side only) and not re-raised, so neither
    the client nor an in-process test client sees it. If the response had already started, the
    exception propagates and the server closes the connection.
    """

    def __init__(self, app: ASGIApp, config: ServerConfig) -> None:
        self.app = app
        self.config = config

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception:
            logger.exception("unhandled error in %s %s", scope.get("method"), scope.get("path"))
            if started:
                raise
            response = self.config.render_trigger(
                "server-error", "The server failed to process the request."
            )
            await response(scope, receive, send)

"""Wiring the sandbox register: the generated Customer Relation Overview app under its base path.

`build_app(handlers, context)` serves any object implementing the generated `Handlers` Protocol
(normally `KundeforholdRegister`, or a test's known-bad subclass); `create_app(context, **options)`
is what `kontrakt serve dsop-customer-relation` calls. Only `application/json` is served (the
contract has no JWE body for this API).
"""

from __future__ import annotations

import datetime
import json
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Mount
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from kontrakt.generated.dsop_customer_relation_v2 import create_app as generated_app
from kontrakt.generated.dsop_customer_relation_v2.server import Handlers
from kontrakt.runtime import server as rt
from kontrakt.sandbox.dsop_control.data import FIXTURE, Fixture
from kontrakt.sandbox.dsop_control.services import ServiceCatalogue
from kontrakt.sandbox.dsop_customer_relation.handlers import KundeforholdRegister
from kontrakt.sandbox.dsop_customer_relation.register import REGISTER, Register
from kontrakt.sandbox.launch import PROVIDERS, SandboxContext

__all__ = ["NAME", "build_app", "build_register", "create_app"]

NAME = "dsop-customer-relation"


class ErrorTimestamp:
    """Adds `timestamp` (now, UTC, ISO 8601) to every JSON error body that lacks one.

    ASSUMPTION (A-CRO error body): v2.0 keeps the 1.1.2 body {errorCode, errorMessage, timestamp};
    the generated runtime writes the first two, this wrapper the third.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        flags = parse_qs(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
        if any(v not in ("true", "false") for v in flags.get("onlyPrimaryOwner", ())):
            # CRO-OPO-BOOLEAN: only true/false; the generated route's bool would also take yes/1/on.
            now = datetime.datetime.now(datetime.UTC).replace(microsecond=0)
            problem = {
                "errorCode": "UNDOCUMENTED",
                "errorMessage": "onlyPrimaryOwner must be true or false.",
                "timestamp": now.isoformat().replace("+00:00", "Z"),
            }
            await JSONResponse(problem, status_code=400)(scope, receive, send)
            return
        start: dict[str, Any] = {}
        chunks: list[bytes] = []

        async def capture(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] >= 400:
                start.update(message)
                return
            if start and message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
                if message.get("more_body"):
                    return
                await finish()
                return
            await send(message)

        async def finish() -> None:
            body = b"".join(chunks)
            headers = [(k, v) for k, v in start["headers"] if k.lower() != b"content-length"]
            kind = dict(start["headers"]).get(b"content-type", b"")
            if b"json" in kind:
                try:
                    data = json.loads(body)
                except ValueError:
                    data = None
                if isinstance(data, dict) and "timestamp" not in data:
                    now = datetime.datetime.now(datetime.UTC).replace(microsecond=0)
                    data["timestamp"] = now.isoformat().replace("+00:00", "Z")
                    body = json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()
            headers.append((b"content-length", str(len(body)).encode("ascii")))
            await send({**start, "headers": headers})
            await send({"type": "http.response.body", "body": body})

        await self.app(scope, receive, capture)


def build_app(
    handlers: Handlers, context: SandboxContext, *, base_path: str | None = None
) -> ASGIApp:
    """The served app over any `Handlers` implementation (the reference register or a twin)."""
    scheme = rt.BearerScheme(context.verifier(NAME))
    app = generated_app(handlers, {"maskinporten": scheme})
    path = base_path if base_path is not None else PROVIDERS[NAME].base_path
    return Starlette(routes=[Mount(path, app=ErrorTimestamp(app))])


def build_register(
    *, register: str | Path | None = None, today: datetime.date | str | None = None
) -> KundeforholdRegister:
    """The reference register (the same data at every start; dates relative to `today`)."""
    day = datetime.date.fromisoformat(today) if isinstance(today, str) else today
    loaded = Register.load(Path(register) if register else REGISTER, today=day)
    consumers = Fixture.load(FIXTURE).service_consumers
    return KundeforholdRegister(loaded, ServiceCatalogue.from_spec(), consumers, today=day)


def create_app(
    context: SandboxContext,
    *,
    today: datetime.date | str | None = None,
    register: str | None = None,
    **unknown: Any,
) -> ASGIApp:
    """`kontrakt serve dsop-customer-relation [--set dsop-customer-relation.OPTION=VALUE ...]`.

    Options: `today` (YYYY-MM-DD: freeze the register's date), `register` (another
    dsop-register.yaml).
    """
    if unknown:
        raise TypeError(f"unknown dsop-customer-relation option(s): {', '.join(sorted(unknown))}")
    return build_app(build_register(register=register, today=today), context)

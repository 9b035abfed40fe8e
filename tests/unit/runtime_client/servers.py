"""A small authorization server plus API, served in-process (ASGI) or on 127.0.0.1 (uvicorn).

The token endpoint implements the two grants the client runtime speaks: client credentials
(RFC 6749 4.4, secret in the form or HTTP Basic) and the JWT bearer grant (RFC 7523 2.1), whose
assertion it verifies with PyJWT against the public key registered for the client, as Maskinporten
does: signature, `aud` = our issuer, `iss` = the client, lifetime at most 120 s, unique `jti`.
"""

from __future__ import annotations

import base64
import contextlib
import itertools
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, unquote

import anyio
import jwt
import uvicorn
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey, RSAPublicKey
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

ISSUER = "https://auth.test/"
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"


@dataclass
class JwtClient:
    public_key: RSAPublicKey
    scope: str
    key_id: str | None = None


@dataclass
class AuthServer:
    """Registered clients, issued tokens and counters; tests change the knobs per test."""

    secrets: dict[str, str] = field(default_factory=dict)
    jwt_clients: dict[str, JwtClient] = field(default_factory=dict)
    expires_in: Any = 120
    token_type: str = "Bearer"
    echo_secret: bool = False  # a badly behaved server that repeats credentials in its error
    token_delay: float = 0.0
    token_requests: int = 0
    issued: dict[str, dict[str, Any]] = field(default_factory=dict)
    revoked: set[str] = field(default_factory=set)
    always_401: bool = False
    api_calls: list[dict[str, Any]] = field(default_factory=list)
    assertions: list[dict[str, Any]] = field(default_factory=list)
    seen_jti: set[str] = field(default_factory=set)
    _counter: itertools.count[int] = field(default_factory=itertools.count)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _error(self, status: int, error: str, description: str) -> JSONResponse:
        return JSONResponse({"error": error, "error_description": description}, status_code=status)

    async def token(self, request: Request) -> Response:
        with self._lock:
            self.token_requests += 1
        if self.token_delay:
            await anyio.sleep(self.token_delay)  # widen the window for concurrent callers
        form = {k: v[0] for k, v in parse_qs((await request.body()).decode()).items()}
        grant = form.get("grant_type")
        if grant == "client_credentials":
            client_id, secret = form.get("client_id"), form.get("client_secret")
            basic = request.headers.get("authorization", "")
            if basic.startswith("Basic "):
                pair = base64.b64decode(basic[6:]).decode()
                client_id, _, secret = (unquote(p) for p in pair.partition(":"))
            if client_id not in self.secrets or self.secrets[client_id] != secret:
                description = "bad client credentials"
                if self.echo_secret:
                    description += f" (got {secret})"
                return self._error(401, "invalid_client", description)
            claims = {"client_id": client_id, "scope": form.get("scope")}
        elif grant == JWT_BEARER:
            try:
                claims = self._verify_assertion(form.get("assertion", ""))
            except jwt.PyJWTError as exc:
                return self._error(400, "invalid_grant", f"assertion rejected: {exc}")
        else:
            return self._error(400, "unsupported_grant_type", str(grant))
        with self._lock:
            token = f"at-{next(self._counter)}"
            self.issued[token] = claims
        body: dict[str, Any] = {"access_token": token, "token_type": self.token_type}
        if self.expires_in is not None:
            body["expires_in"] = self.expires_in
        return JSONResponse(body)

    def _verify_assertion(self, assertion: str) -> dict[str, Any]:
        unverified = jwt.decode(assertion, options={"verify_signature": False})
        client = self.jwt_clients.get(unverified.get("iss", ""))
        if client is None:
            raise jwt.InvalidIssuerError("unknown client")
        header = jwt.get_unverified_header(assertion)
        if client.key_id is not None and header.get("kid") != client.key_id:
            raise jwt.InvalidKeyError("unknown kid")
        claims: dict[str, Any] = jwt.decode(
            assertion,
            client.public_key,
            algorithms=["RS256"],
            audience=ISSUER,
            options={"require": ["iss", "aud", "iat", "exp", "jti"]},
        )
        if claims["exp"] - claims["iat"] > 120:
            raise jwt.InvalidTokenError("assertion lifetime above 120 s")
        if claims["jti"] in self.seen_jti:
            raise jwt.InvalidTokenError("jti replayed")
        self.seen_jti.add(claims["jti"])
        if claims.get("scope") != client.scope:
            raise jwt.InvalidTokenError("scope not granted")
        self.assertions.append({"header": header, "claims": claims})
        return claims

    async def hello(self, request: Request) -> Response:
        auth = request.headers.get("authorization", "")
        token = auth.removeprefix("Bearer ")
        self.api_calls.append(
            {"token": token, "key": request.headers.get("ocp-apim-subscription-key")}
        )
        if self.always_401 or token not in self.issued or token in self.revoked:
            return JSONResponse({"code": "UNAUTHORIZED", "message": "token refused"}, 401)
        return JSONResponse({"hello": "world", "token": token})


def make_app(server: AuthServer) -> Starlette:
    return Starlette(
        routes=[
            Route("/token", server.token, methods=["POST"]),
            Route("/api/hello", server.hello, methods=["GET", "POST"]),
        ]
    )


class Holder:
    """Lets one long-running uvicorn server serve a fresh `AuthServer` in every test."""

    def __init__(self) -> None:
        self.server = AuthServer()

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await make_app(self.server)(scope, receive, send)


@contextlib.contextmanager
def serve(app: Any) -> Iterator[str]:
    """Run `app` with uvicorn on 127.0.0.1 on a free port; yield its base URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, log_level="warning", lifespan="off", access_log=False)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


def public_key_of(key: RSAPrivateKey) -> RSAPublicKey:
    return key.public_key()

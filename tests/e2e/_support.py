"""Plumbing the end-to-end tests share: an RS256 token issuer with its JWKS, a real uvicorn
server on a free port of 127.0.0.1, and the example bodies the documents carry."""

from __future__ import annotations

import json
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import Any

import jwt
import uvicorn
import yaml
from cryptography.hazmat.primitives.asymmetric import rsa
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.types import ASGIApp

from kontrakt.runtime import server as rt

REPO = Path(__file__).resolve().parents[2]


@cache
def _private_key() -> rsa.RSAPrivateKey:
    # One key per test session: 2048-bit generation is the slow part of issuing tokens.
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@cache
def _other_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


class Issuer:
    """Issues RS256 access tokens for one issuer and audience, and publishes the JWKS."""

    kid = "e2e-signing-key"

    def __init__(self, issuer: str, audience: str) -> None:
        self.issuer = issuer
        self.audience = audience

    @property
    def jwks(self) -> dict[str, Any]:
        jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(_private_key().public_key()))
        jwk.update(kid=self.kid, alg="RS256", use="sig")
        return {"keys": [jwk]}

    def token(self, *, forged: bool = False, **claims: Any) -> str:
        """A token with sensible claims; pass a claim as None to leave it out."""
        now = int(time.time())
        payload: dict[str, Any] = {
            "iss": self.issuer,
            "aud": self.audience,
            "iat": now,
            "exp": now + 120,
            "jti": str(uuid.uuid4()),
        }
        payload.update(claims)
        payload = {name: value for name, value in payload.items() if value is not None}
        key = _other_key() if forged else _private_key()
        return jwt.encode(payload, key, algorithm="RS256", headers={"kid": self.kid})

    def verifier(self, jwks_url: str | None = None) -> rt.JwtVerifier:
        """A verifier reading the keys from `jwks_url`, or from the JWKS itself (in-process)."""
        cache = rt.JwksCache(jwks_url) if jwks_url else rt.JwksCache(jwks=self.jwks)
        return rt.JwtVerifier(cache, self.issuer, self.audience)

    def jwks_app(self) -> Starlette:
        """A tiny JWKS endpoint, as an identity provider would publish it."""

        async def keys(request: Request) -> JSONResponse:
            return JSONResponse(self.jwks)

        return Starlette(routes=[Route("/jwks", keys)])


@contextmanager
def serve(app: ASGIApp) -> Iterator[str]:
    """Serve `app` with uvicorn on a free port of 127.0.0.1 in a thread; yield its base URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # see kontrakt/sandbox/launch.py
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


@cache
def _document(spec: str) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((REPO / "specs" / spec / "openapi.yaml").read_text())
    return data


def _resolve(document: dict[str, Any], value: Any) -> Any:
    while isinstance(value, dict) and "$ref" in value:
        node: Any = document
        for part in value["$ref"].removeprefix("#/").split("/"):
            node = node[part.replace("~1", "/").replace("~0", "~")]
        value = node
    return value


def example(spec: str, operation_id: str, status: str | None = None) -> Any:
    """A fresh copy of the first JSON example of an operation's response (or request body)."""
    document = _document(spec)
    for item in document["paths"].values():
        for operation in item.values():
            if not isinstance(operation, dict) or operation.get("operationId") != operation_id:
                continue
            if status is None:
                holder = _resolve(document, operation["requestBody"])
            else:
                holder = _resolve(document, operation["responses"][status])
            media = holder["content"]["application/json"]
            if "example" in media:
                value = media["example"]
            else:
                value = _resolve(document, next(iter(media["examples"].values())))["value"]
            return json.loads(json.dumps(value))
    raise KeyError(operation_id)

"""A tiny Maskinporten-like token issuer for the independent DSOP provider's tests.

It serves `POST /token` (OAuth 2.0 client credentials: client_id and client_secret in the form
or as HTTP Basic, `scope`, optional `resource`) and `GET /jwks`. Tokens are RS256 JWTs with the
claims the DSOP documents list: iss, aud (the `resource`, else the client's default audience),
iat, exp (120 s), scope, consumer {authority, ID "0192:<orgno>"}, client_id and jti. Written
without kontrakt's sandbox issuer so the provider's token check meets a stranger's tokens.
"""

from __future__ import annotations

import base64
import json
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route


@dataclass
class Client:
    secret: str
    org: str
    scopes: frozenset[str]


class TinyIssuer:
    kid = "tiny-mp-1"

    def __init__(self, key: rsa.RSAPrivateKey, clients: dict[str, Client]) -> None:
        self.key = key
        self.clients = clients
        self.issuer = ""  # set once the server's URL is known
        self.default_audience = ""

    def write_key(self, path: Path) -> Path:
        path.write_bytes(
            self.key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        return path

    def jwks(self) -> dict[str, Any]:
        jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key()))
        jwk.update(kid=self.kid, alg="RS256", use="sig")
        return {"keys": [jwk]}

    def mint(self, client_id: str, scopes: list[str], audience: str, **extra: Any) -> str:
        now = int(time.time())
        client = self.clients[client_id]
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "aud": audience,
            "iat": now,
            "exp": now + 120,
            "scope": " ".join(scopes),
            "consumer": {"authority": "iso6523-actorid-upis", "ID": f"0192:{client.org}"},
            "client_id": client_id,
            "jti": str(uuid.uuid4()),
        }
        claims.update(extra)
        return jwt.encode(claims, self.key, algorithm="RS256", headers={"kid": self.kid})

    def app(self) -> Starlette:
        async def token(request: Request) -> JSONResponse:
            form = await request.form()
            client_id = str(form.get("client_id", ""))
            secret = str(form.get("client_secret", ""))
            basic = request.headers.get("authorization", "")
            if basic.lower().startswith("basic "):
                decoded = base64.b64decode(basic[6:]).decode()
                client_id, _, secret = decoded.partition(":")
            client = self.clients.get(client_id)
            if client is None or client.secret != secret:
                return JSONResponse({"error": "invalid_client"}, status_code=401)
            wanted = str(form.get("scope", "")).split()
            if not wanted or not set(wanted) <= client.scopes:
                return JSONResponse({"error": "invalid_scope"}, status_code=400)
            audience = str(form.get("resource") or self.default_audience)
            access = self.mint(client_id, wanted, audience)
            return JSONResponse({"access_token": access, "token_type": "Bearer", "expires_in": 120})

        async def keys(request: Request) -> JSONResponse:
            return JSONResponse(self.jwks())

        return Starlette(routes=[Route("/token", token, methods=["POST"]), Route("/jwks", keys)])

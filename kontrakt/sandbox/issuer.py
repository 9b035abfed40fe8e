"""A local token issuer that behaves like Maskinporten, for the sandbox providers and tests.

`POST /token` grants RS256 access tokens two ways: `client_credentials` (client id and secret,
in the form or HTTP Basic) and the JWT-bearer grant of RFC 7523, where the client signs an
assertion with its private key and the issuer checks it against the registered public key, as
Maskinporten does. Tokens carry `iss`, `aud` (the `resource` asked for, RFC 8707), `exp` (120 s,
as in DSOP), `iat`, `jti`, `scope`, `client_id` and the `consumer` organisation claim, plus the
client's registered extra claims (DPS realm roles). `GET /jwks` publishes the signing key;
providers verify tokens through it, never through a shared secret.

Errors follow RFC 6749 §5.2 (`{"error": ..., "error_description": ...}`) and never echo a secret
or an assertion.
"""

from __future__ import annotations

import base64
import binascii
import json
import time
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi import FastAPI, Form, Request
from fastapi.responses import JSONResponse

from kontrakt.sandbox.clients import Client, Registry, load_private_key
from kontrakt.sandbox.keys import keys_dir

__all__ = ["JWT_BEARER", "TOKEN_LIFETIME", "TokenIssuer", "create_issuer_app"]

JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
TOKEN_LIFETIME = 120  # DSOP: "token lifetime is 120 s in this solution"
MAX_ASSERTION_LIFETIME = 120  # Maskinporten refuses assertions valid for longer
CLOCK_SKEW = 10


class GrantError(Exception):
    """A refused token request: an RFC 6749 error code, a safe description and a status."""

    def __init__(self, error: str, description: str, status: int = 400) -> None:
        super().__init__(description)
        self.error = error
        self.description = description
        self.status = status


@dataclass
class TokenIssuer:
    """Signs access tokens for registered clients; the audiences it may issue for are known."""

    registry: Registry
    issuer_url: str
    audiences: dict[str, str] = field(default_factory=dict)  # API name -> base URL (its `aud`)
    signing_key: rsa.RSAPrivateKey = field(
        default_factory=lambda: load_private_key(keys_dir() / "issuer.pem")
    )
    kid: str = "kontrakt-sandbox-1"
    lifetime: int = TOKEN_LIFETIME
    _seen_jti: dict[str, float] = field(default_factory=dict)

    @property
    def token_url(self) -> str:
        return self.issuer_url.rstrip("/") + "/token"

    @property
    def jwks_url(self) -> str:
        return self.issuer_url.rstrip("/") + "/jwks"

    @property
    def jwks(self) -> dict[str, Any]:
        jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.signing_key.public_key()))
        jwk.update(kid=self.kid, alg="RS256", use="sig")
        return {"keys": [jwk]}

    # --- issuing ------------------------------------------------------------------------------

    def mint(
        self,
        client: Client,
        scopes: Iterable[str],
        audience: str,
        *,
        now: float | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> tuple[str, dict[str, Any]]:
        """A signed access token for `client` and its claims (no checks: callers decide)."""
        issued = int(time.time() if now is None else now)
        claims: dict[str, Any] = {
            "iss": self.issuer_url,
            "aud": audience,
            "iat": issued,
            "nbf": issued,
            "exp": issued + self.lifetime,
            "jti": str(uuid.uuid4()),
            "scope": " ".join(scopes),
            "client_id": client.client_id,
            "token_type": "Bearer",
            "consumer": {
                "authority": "iso6523-actorid-upis",
                "ID": f"0192:{client.organisation}",
            },
        }
        claims.update(client.claims)
        claims.update(extra or {})
        token = jwt.encode(claims, self.signing_key, algorithm="RS256", headers={"kid": self.kid})
        return token, claims

    def grant(self, form: Mapping[str, str], authorization: str | None) -> dict[str, Any]:
        """Handle one token request's form; the RFC 6749 §5.1 response body, or GrantError."""
        grant_type = form.get("grant_type", "")
        if grant_type == "client_credentials":
            client, requested, resource = self._client_credentials(form, authorization)
        elif grant_type == JWT_BEARER:
            client, requested, resource = self._jwt_bearer(form)
        else:
            raise GrantError(
                "unsupported_grant_type",
                "grant_type must be client_credentials or " + JWT_BEARER,
            )
        scopes = self._scopes(client, requested)
        audience = self._audience(resource)
        token, claims = self.mint(client, scopes, audience)
        return {
            "access_token": token,
            "token_type": "Bearer",
            "expires_in": claims["exp"] - claims["iat"],
            "scope": claims["scope"],
        }

    def _client_credentials(
        self, form: Mapping[str, str], authorization: str | None
    ) -> tuple[Client, str | None, str | None]:
        client_id, secret = form.get("client_id"), form.get("client_secret")
        if authorization and authorization.lower().startswith("basic "):
            try:
                decoded = base64.b64decode(authorization[6:], validate=True).decode("utf-8")
            except (binascii.Error, UnicodeDecodeError):
                raise GrantError("invalid_client", "malformed Basic credentials", 401) from None
            client_id, _, secret = decoded.partition(":")
        if not client_id or not secret:
            raise GrantError("invalid_client", "client authentication is missing", 401)
        client = self.registry.get(client_id)
        if client is None or not client.secret_matches(secret):
            raise GrantError("invalid_client", "unknown client or wrong secret", 401)
        return client, form.get("scope"), form.get("resource") or form.get("audience")

    def _jwt_bearer(self, form: Mapping[str, str]) -> tuple[Client, str | None, str | None]:
        assertion = form.get("assertion")
        if not assertion:
            raise GrantError("invalid_request", "the JWT-bearer grant needs an assertion")
        try:
            unverified = jwt.decode(assertion, options={"verify_signature": False})
            header = jwt.get_unverified_header(assertion)
        except jwt.PyJWTError:
            raise GrantError("invalid_grant", "the assertion is not a JWT") from None
        if header.get("alg") not in ("RS256", "RS384", "RS512", "PS256"):
            raise GrantError("invalid_grant", "the assertion must be signed with RSA")
        client_id = unverified.get("iss")
        client = self.registry.get(client_id) if isinstance(client_id, str) else None
        key = client.rsa_public_key() if client else None
        if client is None or key is None:
            raise GrantError("invalid_client", "unknown client or no registered key", 401)
        try:
            claims = jwt.decode(
                assertion,
                key,
                algorithms=[header["alg"]],
                audience=[self.issuer_url, self.issuer_url.rstrip("/"), self.token_url],
                issuer=client.client_id,
                leeway=CLOCK_SKEW,
                options={"require": ["iss", "aud", "iat", "exp", "jti"]},
            )
        except jwt.ExpiredSignatureError:
            raise GrantError("invalid_grant", "the assertion has expired") from None
        except jwt.InvalidAudienceError:
            raise GrantError("invalid_grant", "the assertion's aud is not this issuer") from None
        except jwt.PyJWTError as exc:
            raise GrantError(
                "invalid_grant", f"the assertion was refused: {type(exc).__name__}"
            ) from None
        if claims["exp"] - claims["iat"] > MAX_ASSERTION_LIFETIME:
            raise GrantError("invalid_grant", "the assertion may be valid for at most 120 s")
        self._remember(str(claims["jti"]), float(claims["exp"]))
        return client, claims.get("scope"), claims.get("resource") or form.get("resource")

    def _remember(self, jti: str, expires: float) -> None:
        now = time.time()
        for old in [j for j, exp in self._seen_jti.items() if exp + CLOCK_SKEW < now]:
            del self._seen_jti[old]
        if jti in self._seen_jti:
            raise GrantError("invalid_grant", "the assertion's jti was already used")
        self._seen_jti[jti] = expires

    def _scopes(self, client: Client, requested: str | None) -> list[str]:
        wanted = requested.split() if requested else sorted(client.scopes)
        refused = [s for s in wanted if s not in client.scopes]
        if refused:
            raise GrantError("invalid_scope", f"scope not granted to this client: {refused[0]}")
        return wanted

    def _audience(self, resource: str | None) -> str:
        known = set(self.audiences.values())
        if resource is None:
            raise GrantError(
                "invalid_target",
                "name the API as resource (one of: " + ", ".join(sorted(known)) + ")",
            )
        if resource in self.audiences:  # an API name: `resource=dsop-control`
            return self.audiences[resource]
        if known and resource not in known:
            raise GrantError("invalid_target", "resource is not an API of this sandbox")
        return resource

    # --- assertions (the client side, for tests, curl recipes and conformance) ---------------

    def assertion(
        self,
        client_id: str,
        private_key: rsa.RSAPrivateKey,
        *,
        scope: str,
        resource: str | None = None,
    ) -> str:
        """A Maskinporten-style grant assertion signed by `private_key`."""
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": client_id,
            "aud": self.issuer_url,
            "iat": now,
            "exp": now + 100,
            "jti": str(uuid.uuid4()),
            "scope": scope,
        }
        if resource:
            claims["resource"] = resource
        return jwt.encode(claims, private_key, algorithm="RS256")


def create_issuer_app(issuer: TokenIssuer) -> FastAPI:
    """The issuer's HTTP face: POST /token, GET /jwks and the RFC 8414 metadata document."""
    app = FastAPI(title="kontrakt sandbox token issuer", docs_url=None, redoc_url=None)

    @app.post("/token")
    async def token(
        request: Request,
        grant_type: Annotated[str, Form()] = "",
        client_id: Annotated[str | None, Form()] = None,
        client_secret: Annotated[str | None, Form()] = None,
        scope: Annotated[str | None, Form()] = None,
        resource: Annotated[str | None, Form()] = None,
        audience: Annotated[str | None, Form()] = None,
        assertion: Annotated[str | None, Form()] = None,
    ) -> JSONResponse:
        form = {
            key: value
            for key, value in {
                "grant_type": grant_type,
                "client_id": client_id,
                "client_secret": client_secret,
                "scope": scope,
                "resource": resource,
                "audience": audience,
                "assertion": assertion,
            }.items()
            if value is not None
        }
        headers = {"Cache-Control": "no-store", "Pragma": "no-cache"}
        try:
            body = issuer.grant(form, request.headers.get("authorization"))
        except GrantError as exc:
            error = {"error": exc.error, "error_description": exc.description}
            if exc.status == 401:
                headers["WWW-Authenticate"] = 'Basic realm="kontrakt-sandbox"'
            return JSONResponse(error, status_code=exc.status, headers=headers)
        return JSONResponse(body, headers=headers)

    @app.get("/jwks")
    @app.get("/.well-known/jwks.json")
    async def jwks() -> JSONResponse:
        return JSONResponse(issuer.jwks)

    @app.get("/.well-known/oauth-authorization-server")
    async def metadata() -> JSONResponse:
        return JSONResponse(
            {
                "issuer": issuer.issuer_url,
                "token_endpoint": issuer.token_url,
                "jwks_uri": issuer.jwks_url,
                "grant_types_supported": ["client_credentials", JWT_BEARER],
                "token_endpoint_auth_methods_supported": [
                    "client_secret_basic",
                    "client_secret_post",
                    "private_key_jwt",
                ],
                "token_endpoint_auth_signing_alg_values_supported": ["RS256"],
            }
        )

    return app


def default_issuer(
    issuer_url: str, audiences: dict[str, str], keys: Path | None = None
) -> TokenIssuer:
    """The sandbox issuer with the committed test signing key and the fixture clients."""
    return TokenIssuer(
        Registry.load(),
        issuer_url,
        audiences,
        signing_key=load_private_key((keys or keys_dir()) / "issuer.pem"),
    )

"""Credentials for certify runs: the manifest's auth as request headers, plus bad tokens on purpose.

The token flows themselves (client credentials, RFC 7523 JWT bearer with a Maskinporten-style
assertion, caching until shortly before expiry) are the generated clients' ones from
`kontrakt.runtime.client`; `Credentials` drives them outside a request so that the probe can put
the header on explicitly, and rules can take the raw token apart for the 401 tests. A probe never
retries on a 401: a negative test must see the provider's first answer.

Tampering needs no key (`altered_signature`, `alg_none`, `edited_claims`, `truncated`); with
`negative_auth.signing_key` (test identity providers only) a `Minter` signs correct tokens that
are expired or name a wrong audience or issuer, from the claims of a real token.
"""

from __future__ import annotations

import base64
import json
import time
import uuid
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import httpx
import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ec import EllipticCurvePrivateKey
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

from kontrakt.conformance.bounded import (
    ACCEPT_ENCODING,
    BodyTooLarge,
    Deadline,
    EncodingRefused,
    decoded,
)
from kontrakt.conformance.manifest import (
    ApiKeyAuth,
    AuthConfig,
    BearerAuth,
    ClientCredentialsAuth,
    JwtBearerAuth,
    Manifest,
)
from kontrakt.conformance.redact import Redactor
from kontrakt.runtime.client import (
    ApiKey,
    BearerToken,
    ClientCredentials,
    JwtBearerGrant,
    TokenError,
)

__all__ = [
    "WRONG_AUDIENCE",
    "WRONG_ISSUER",
    "AuthUnavailable",
    "Credentials",
    "Minter",
    "alg_none",
    "altered_signature",
    "claims_of",
    "edited_claims",
    "header_of",
    "truncated",
]

WRONG_AUDIENCE = "https://wrong-audience.kontrakt.invalid/"
WRONG_ISSUER = "https://wrong-issuer.kontrakt.invalid/"


TOKEN_BODY_CAP = 1_000_000  # decoded bytes: a token answer is a few kilobytes


class AuthUnavailable(Exception):
    """No token could be had (no token auth configured, or the token endpoint refused)."""


# -- compact JWS surgery (no key needed) ----------------------------------------------------------


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(segment: str) -> bytes:
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


def _segments(token: str) -> list[str]:
    parts = token.split(".")
    if len(parts) != 3:
        raise ValueError("not a compact JWS (three dot-separated parts)")
    return parts


def header_of(token: str) -> dict[str, Any]:
    """The JOSE header of a compact JWS, unverified."""
    value = json.loads(_unb64(_segments(token)[0]))
    if not isinstance(value, dict):
        raise ValueError("the JWS header is not an object")
    return value


def claims_of(token: str) -> dict[str, Any]:
    """The claims of a compact JWS, unverified."""
    value = json.loads(_unb64(_segments(token)[1]))
    if not isinstance(value, dict):
        raise ValueError("the JWS payload is not an object")
    return value


def altered_signature(token: str) -> str:
    """The token with one bit of its signature flipped (still canonical base64url)."""
    head, payload, signature = _segments(token)
    raw = bytearray(_unb64(signature) or b"\x00")
    raw[len(raw) // 2] ^= 0x01
    return f"{head}.{payload}.{_b64(bytes(raw))}"


def alg_none(token: str) -> str:
    """The token's claims under `alg: none` with an empty signature (RFC 7519 section 6)."""
    header = {k: v for k, v in header_of(token).items() if k != "kid"}
    header["alg"] = "none"
    payload = _segments(token)[1]
    return f"{_b64(json.dumps(header, separators=(',', ':')).encode())}.{payload}."


def edited_claims(token: str, changes: Mapping[str, Any] | None = None) -> str:
    """The token with edited claims and its original signature.

    Default edit: a lifetime extended by a day and a scope widened, which a provider that does not
    verify signatures would happily accept. A value of None removes the claim.
    """
    head, _, signature = _segments(token)
    claims = claims_of(token)
    if changes is None:
        changes = {"exp": int(claims.get("exp", time.time())) + 86_400}
        if "scope" in claims:
            changes = {**changes, "scope": f"{claims['scope']} admin"}
    for name, value in changes.items():
        if value is None:
            claims.pop(name, None)
        else:
            claims[name] = value
    payload = _b64(json.dumps(claims, separators=(",", ":")).encode())
    return f"{head}.{payload}.{signature}"


def truncated(token: str) -> str:
    """The token cut in its signature: a transmission error or a copy-paste accident."""
    head, payload, signature = _segments(token)
    return f"{head}.{payload}.{signature[: max(1, len(signature) // 2)]}"


# -- correctly signed bad tokens (needs the test IdP's key) ---------------------------------------


PrivateKey = RSAPrivateKey | EllipticCurvePrivateKey


class Minter:
    """Signs tokens like the provider's identity provider would, for test environments only."""

    def __init__(
        self,
        key: PrivateKey,
        *,
        kid: str | None = None,
        issuer: str | None = None,
        audience: str | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._key = key
        self.kid = kid
        self.issuer = issuer
        self.audience = audience
        self._clock = clock
        self.algorithm = "RS256" if isinstance(key, RSAPrivateKey) else "ES256"

    @classmethod
    def from_file(cls, path: Path, **kwargs: Any) -> Minter:
        loaded = serialization.load_pem_private_key(path.read_bytes(), password=None)
        if not isinstance(loaded, RSAPrivateKey | EllipticCurvePrivateKey):
            raise ValueError(f"{path}: not an RSA or EC private key")
        return cls(loaded, **kwargs)

    def mint(self, claims: Mapping[str, Any], *, kid: str | None = None) -> str:
        """Sign `claims` (fresh `jti`) with the configured key."""
        payload = {**claims, "jti": str(uuid.uuid4())}
        key_id = kid or self.kid
        headers = {"kid": key_id} if key_id else None
        return jwt.encode(payload, self._key, algorithm=self.algorithm, headers=headers)

    def _base(self, template: str | None) -> tuple[dict[str, Any], str | None]:
        now = int(self._clock())
        claims: dict[str, Any] = {}
        kid = None
        if template is not None:
            claims = claims_of(template)
            kid = header_of(template).get("kid")
        if self.issuer:
            claims["iss"] = self.issuer
        if self.audience:
            claims["aud"] = self.audience
        claims.update(iat=now, exp=now + 120)
        return claims, kid

    def valid(self, template: str | None = None) -> str:
        """A token that should be accepted (proves the key is the provider's)."""
        claims, kid = self._base(template)
        return self.mint(claims, kid=kid)

    def expired(self, template: str | None = None, *, by: int = 3600) -> str:
        """A token that expired `by` seconds ago: past any clock-skew leeway a provider may allow
        (ASP.NET's default is 5 minutes; with a clock a little behind, 300 s past is not enough)."""
        claims, kid = self._base(template)
        now = int(self._clock())
        claims.update(iat=now - by - 120, exp=now - by)
        if "nbf" in claims:
            claims["nbf"] = now - by - 120
        return self.mint(claims, kid=kid)

    def wrong_audience(self, template: str | None = None) -> str:
        claims, kid = self._base(template)
        claims["aud"] = WRONG_AUDIENCE
        return self.mint(claims, kid=kid)

    def wrong_issuer(self, template: str | None = None) -> str:
        claims, kid = self._base(template)
        claims["iss"] = WRONG_ISSUER
        return self.mint(claims, kid=kid)


# -- the manifest's credentials -------------------------------------------------------------------


def _adapter(config: AuthConfig, scope: str | None = None) -> httpx.Auth:
    if isinstance(config, BearerAuth):
        return BearerToken(config.token.get_secret_value())
    if isinstance(config, ApiKeyAuth):
        return ApiKey(config.value.get_secret_value(), name=config.header)
    if isinstance(config, ClientCredentialsAuth):
        return ClientCredentials(
            config.token_url,
            config.client_id,
            config.client_secret.get_secret_value(),
            scope=scope or config.scope,
            audience=config.audience,
            resource=config.resource,
            auth_method=config.auth_method,
        )
    return JwtBearerGrant(
        config.token_url,
        config.client_id,
        audience=config.audience or config.issuer or config.token_url,
        private_key=config.key_file.read_bytes(),
        key_id=config.kid,
        scope=scope or config.scope,
        resource=config.resource,
        algorithm=config.algorithm,
    )


class Credentials:
    """The manifest's auth entries as headers for one request, and the raw token for tampering.

    Token flows run through the runtime client's auth objects (their cache and leeway), with the
    token request sent by a client of its own: token calls are not provider calls and are never
    recorded as evidence. Every token obtained is registered with the redactor.
    """

    def __init__(
        self,
        manifest: Manifest,
        redactor: Redactor,
        *,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.manifest = manifest
        self.redactor = redactor
        self._configs = list(manifest.auth)
        self._auths = [_adapter(c) for c in self._configs]
        self._scoped: dict[str, httpx.Auth] = {}
        self._named: dict[str, list[httpx.Auth]] = {}
        self._client = httpx.Client(
            timeout=manifest.limits.timeout_seconds,
            transport=transport,
            follow_redirects=False,
            headers={"Accept-Encoding": ACCEPT_ENCODING},
        )
        for config in self._configs:
            if isinstance(config, ApiKeyAuth):
                redactor.add_header(config.header)
        for secret in manifest.secrets():
            redactor.add(secret)
        negative = manifest.negative_auth
        self.minter: Minter | None = None
        if negative.signing_key is not None:
            self.minter = Minter.from_file(
                negative.signing_key,
                kid=negative.kid,
                issuer=negative.issuer,
                audience=negative.audience,
            )

    def close(self) -> None:
        self._client.close()

    @property
    def has_token(self) -> bool:
        """Whether a bearer token is part of the credentials (the 401/403 rules need one)."""
        return any(not isinstance(c, ApiKeyAuth) for c in self._configs)

    def _run(self, auth: httpx.Auth, request: httpx.Request) -> httpx.Request:
        flow = auth.sync_auth_flow(request)
        try:
            outgoing = next(flow)
            while outgoing is not request:
                outgoing = flow.send(self._token_response(outgoing))
        except TokenError as exc:
            raise AuthUnavailable(self.redactor.text(str(exc))) from None
        finally:
            flow.close()
        return request

    def _token_response(self, outgoing: httpx.Request) -> httpx.Response:
        """The token endpoint's answer, read within `TOKEN_BODY_CAP` decoded bytes and one overall
        deadline (`limits.timeout_seconds`), as a response the auth flow can read."""
        endpoint = outgoing.url.copy_with(query=None)
        deadline = Deadline()
        deadline.start(self.manifest.limits.timeout_seconds)
        try:
            outgoing.extensions = {**outgoing.extensions, "trace": deadline.trace}
            response = self._client.send(outgoing, stream=True)
            try:
                body = b"".join(
                    decoded(
                        response.iter_raw(),
                        response.headers.get("content-encoding", ""),
                        TOKEN_BODY_CAP,
                    )
                )
            finally:
                response.close()
        except httpx.HTTPError as exc:
            why = "no answer in time" if deadline.expired else type(exc).__name__
            raise AuthUnavailable(f"token endpoint {endpoint} unreachable: {why}") from None
        except BodyTooLarge:
            raise AuthUnavailable(
                f"token endpoint {endpoint} answered more than {TOKEN_BODY_CAP} bytes"
            ) from None
        except EncodingRefused as exc:
            raise AuthUnavailable(f"token endpoint {endpoint}: {exc}") from None
        finally:
            deadline.stop()
        headers = [
            (k, v)
            for k, v in response.headers.multi_items()
            if k.lower() not in ("content-encoding", "content-length", "transfer-encoding")
        ]
        return httpx.Response(response.status_code, headers=headers, content=body, request=outgoing)

    def headers(self, *, scope: str | None = None) -> dict[str, str]:
        """Every credential header for one request (`scope` overrides the token flows' scope)."""
        request = httpx.Request("GET", self.manifest.base_url)
        for config, auth in zip(self._configs, self._auths, strict=True):
            if scope is not None and isinstance(config, ClientCredentialsAuth | JwtBearerAuth):
                auth = self._scoped.setdefault(scope, _adapter(config, scope))
            self._run(auth, request)
        found = {k: v for k, v in request.headers.items() if k.lower() != "host"}
        bearer = found.get("authorization", "")
        if bearer.lower().startswith("bearer "):
            self.redactor.add(bearer[7:])
        return found

    def token(self, *, scope: str | None = None) -> str:
        """The current access token (fetched or cached), or AuthUnavailable."""
        value = self.headers(scope=scope).get("authorization", "")
        if not value.lower().startswith("bearer "):
            raise AuthUnavailable("the manifest configures no bearer token or token flow")
        return value[7:]

    def named_token(self, name: str) -> str:
        """The bearer token of the manifest's named credential `name` (`credentials.<name>`).

        AuthUnavailable when the manifest names no such credential or it yields no bearer token.
        """
        configs = self.manifest.credentials.get(name)
        if not configs:
            raise AuthUnavailable(f"the manifest names no credentials.{name}")
        auths = self._named.get(name)
        if auths is None:
            auths = self._named[name] = [_adapter(c) for c in configs]
        request = httpx.Request("GET", self.manifest.base_url)
        for auth in auths:
            self._run(auth, request)
        value = str(request.headers.get("authorization", ""))
        if not value.lower().startswith("bearer "):
            raise AuthUnavailable(f"credentials.{name} yields no bearer token")
        self.redactor.add(value[7:])
        return value[7:]

    def named_headers(self, name: str) -> dict[str, str]:
        """Every credential header of the named credential `credentials.<name>` (its own
        subscription key as well as its token), or AuthUnavailable."""
        configs = self.manifest.credentials.get(name)
        if not configs:
            raise AuthUnavailable(f"the manifest names no credentials.{name}")
        auths = self._named.get(name)
        if auths is None:
            auths = self._named[name] = [_adapter(c) for c in configs]
        request = httpx.Request("GET", self.manifest.base_url)
        for auth in auths:
            self._run(auth, request)
        found = {k: v for k, v in request.headers.items() if k.lower() != "host"}
        for config in configs:
            if isinstance(config, ApiKeyAuth):
                self.redactor.add_header(config.header)
        bearer = found.get("authorization", "")
        if bearer.lower().startswith("bearer "):
            self.redactor.add(bearer[7:])
        return found

    def wrong_scope_token(self) -> str:
        """A token lacking the scope the profile needs: the token of `credentials.wrong_scope`
        (a client of its own) when the manifest names one, else a token of the main client
        issued for `negative_auth.wrong_scope.scope`; AuthUnavailable without either."""
        if self.manifest.credentials.get("wrong_scope"):
            return self.named_token("wrong_scope")
        wrong = self.manifest.negative_auth.wrong_scope
        if wrong is None:
            raise AuthUnavailable(
                "the manifest names neither credentials.wrong_scope (a client without the "
                "scope) nor negative_auth.wrong_scope (a scope the main client may ask for)"
            )
        if not any(isinstance(c, ClientCredentialsAuth | JwtBearerAuth) for c in self._configs):
            raise AuthUnavailable("a wrong-scope token needs a token flow in auth")
        return self.token(scope=wrong.scope)

    def require_minter(self) -> Minter:
        if self.minter is None:
            raise AuthUnavailable("the manifest sets no negative_auth.signing_key")
        return self.minter

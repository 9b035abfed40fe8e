"""Authentication for generated clients, as `httpx.Auth` objects that work sync and async.

* `BearerToken` and `ApiKey` set a header (or query parameter) and nothing else.
* `ClientCredentials` (RFC 6749 section 4.4; DPS uses it against Keycloak) and `JwtBearerGrant`
  (RFC 7523 section 2.1, the way Maskinporten issues tokens for DSOP and DAN) fetch an access
  token from a token endpoint, keep it until `expires_in` minus a leeway, fetch a new one before
  it runs out, and on a 401 from the API fetch a new one and send the request again, once.
* `MultiAuth` combines them (Sdir and DAN want an API-gateway key next to the Maskinporten token).

Token requests go through the same client and transport as the API calls (the httpx auth-flow
protocol), so a test can serve the token endpoint and the API from one in-process app.

Secrets (tokens, client secrets, private keys, assertions) never appear in `repr()`, in error text
or in log lines.
"""

from __future__ import annotations

import base64
import threading
import time
import uuid
from collections.abc import AsyncGenerator, Callable, Generator, Mapping, Sequence
from typing import Any, Literal
from urllib.parse import quote

import anyio
import httpx
import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ec import EllipticCurvePrivateKey
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

from kontrakt.runtime.client.errors import TokenError

__all__ = [
    "JWT_BEARER_GRANT_TYPE",
    "ApiKey",
    "BearerToken",
    "ClientCredentials",
    "JwtBearerGrant",
    "MultiAuth",
]

JWT_BEARER_GRANT_TYPE = "urn:ietf:params:oauth:grant-type:jwt-bearer"  # RFC 7523 section 2.1
_MASK = "***"

PrivateKey = RSAPrivateKey | EllipticCurvePrivateKey


def _scope_text(scope: str | Sequence[str] | None) -> str | None:
    if scope is None or isinstance(scope, str):
        return scope
    return " ".join(scope)


def _absolute(url: str) -> str:
    parsed = httpx.URL(url)
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise ValueError(f"token_url must be an absolute http(s) URL, got {url!r}")
    return str(parsed)


def _replayable(request: httpx.Request) -> bool:
    return isinstance(request.stream, httpx.ByteStream)


# -- static credentials ---------------------------------------------------------------------------


class _StaticAuth(httpx.Auth):
    """Auth that only decorates the request and never sends requests of its own."""

    def apply(self, request: httpx.Request) -> None:
        raise NotImplementedError

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        self.apply(request)
        yield request


class BearerToken(_StaticAuth):
    """A fixed bearer token (`Authorization: Bearer <token>`), e.g. one issued out of band."""

    def __init__(self, token: str) -> None:
        if not token:
            raise ValueError("token must not be empty")
        self._token = token

    def apply(self, request: httpx.Request) -> None:
        request.headers["Authorization"] = f"Bearer {self._token}"

    def __repr__(self) -> str:
        return f"BearerToken(token={_MASK!r})"


class ApiKey(_StaticAuth):
    """An API key in a header or query parameter, as an OpenAPI `apiKey` scheme (`name`, `in`).

    The default is Azure API Management's `Ocp-Apim-Subscription-Key` header, which DAN and Sdir
    put in front of their APIs.
    """

    def __init__(
        self,
        value: str,
        *,
        name: str = "Ocp-Apim-Subscription-Key",
        location: Literal["header", "query"] = "header",
    ) -> None:
        if not value:
            raise ValueError("value must not be empty")
        if location not in ("header", "query"):
            raise ValueError(f"location must be 'header' or 'query', got {location!r}")
        self.name = name
        self.location = location
        self._value = value

    def apply(self, request: httpx.Request) -> None:
        if self.location == "header":
            request.headers[self.name] = self._value
        else:
            request.url = request.url.copy_merge_params({self.name: self._value})

    def __repr__(self) -> str:
        return f"ApiKey(name={self.name!r}, location={self.location!r}, value={_MASK!r})"


# -- tokens from a token endpoint -----------------------------------------------------------------


class _Token:
    __slots__ = ("expires_at", "value")

    def __init__(self, value: str, expires_at: float | None) -> None:
        self.value = value
        self.expires_at = expires_at

    def __repr__(self) -> str:
        return f"_Token(value={_MASK!r}, expires_at={self.expires_at!r})"


class _TokenAuth(httpx.Auth):
    """Shared machinery: cache, single-flight refresh under a lock, refresh-once on 401."""

    def __init__(
        self,
        token_url: str,
        *,
        leeway: float,
        clock: Callable[[], float],
    ) -> None:
        if leeway < 0:
            raise ValueError("leeway must not be negative")
        self.token_url = _absolute(token_url)
        self.leeway = leeway
        self._clock = clock
        self._token: _Token | None = None
        # One lock per world: a thread lock for sync clients, an anyio lock for async ones. The
        # check-then-fetch runs under the lock so N concurrent calls cause one token request.
        self._sync_lock = threading.RLock()
        self._async_lock = anyio.Lock()

    # What subclasses provide: the form of a token request, and the values to keep out of errors.
    def _token_form(self) -> tuple[dict[str, str], dict[str, str], tuple[str, ...]]:
        raise NotImplementedError

    def _current(self) -> _Token | None:
        token = self._token
        if token is None:
            return None
        if token.expires_at is not None and self._clock() >= token.expires_at:
            return None
        return token

    def _token_request(self, api_request: httpx.Request) -> tuple[httpx.Request, tuple[str, ...]]:
        form, headers, secrets = self._token_form()
        request = httpx.Request(
            "POST",
            self.token_url,
            data=form,
            headers={"Accept": "application/json", **headers},
        )
        # Requests built here bypass Client.build_request; give them the API call's timeouts.
        timeout = api_request.extensions.get("timeout")
        if timeout is not None:
            request.extensions["timeout"] = timeout
        return request, secrets

    def _store(self, response: httpx.Response, started: float, secrets: tuple[str, ...]) -> _Token:
        token = _parse_token_response(response, self.token_url, started, self.leeway, secrets)
        self._token = token
        return token

    def _after_401(self, used: _Token) -> bool:
        """Forget the token that was refused; True when the caller must fetch a new one."""
        current = self._current()
        if current is None or current is used:
            self._token = None
            return True
        return False  # another caller already refreshed it

    def sync_auth_flow(
        self, request: httpx.Request
    ) -> Generator[httpx.Request, httpx.Response, None]:
        with self._sync_lock:
            token = self._current()
            if token is None:
                token = yield from self._fetch_sync(request)
        request.headers["Authorization"] = f"Bearer {token.value}"
        response = yield request
        if response.status_code != 401:
            return
        with self._sync_lock:
            fresh = self._current()
            if self._after_401(token):
                if not _replayable(request):
                    return
                fresh = yield from self._fetch_sync(request)
        if fresh is None or not _replayable(request):
            return
        request.headers["Authorization"] = f"Bearer {fresh.value}"
        yield request

    def _fetch_sync(
        self, api_request: httpx.Request
    ) -> Generator[httpx.Request, httpx.Response, _Token]:
        token_request, secrets = self._token_request(api_request)
        started = self._clock()
        response = yield token_request
        response.read()
        return self._store(response, started, secrets)

    async def async_auth_flow(
        self, request: httpx.Request
    ) -> AsyncGenerator[httpx.Request, httpx.Response]:
        async with self._async_lock:
            token = self._current()
            if token is None:
                token_request, secrets = self._token_request(request)
                started = self._clock()
                token_response = yield token_request
                await token_response.aread()
                token = self._store(token_response, started, secrets)
        request.headers["Authorization"] = f"Bearer {token.value}"
        response = yield request
        if response.status_code != 401:
            return
        async with self._async_lock:
            fresh = self._current()
            if self._after_401(token):
                if not _replayable(request):
                    return
                token_request, secrets = self._token_request(request)
                started = self._clock()
                token_response = yield token_request
                await token_response.aread()
                fresh = self._store(token_response, started, secrets)
        if fresh is None or not _replayable(request):
            return
        request.headers["Authorization"] = f"Bearer {fresh.value}"
        yield request


def _parse_token_response(
    response: httpx.Response,
    token_url: str,
    started: float,
    leeway: float,
    secrets: tuple[str, ...],
) -> _Token:
    def scrub(text: str) -> str:
        for secret in secrets:
            if secret:
                text = text.replace(secret, _MASK)
        return text

    try:
        payload: Any = response.json()
    except ValueError:
        payload = None
    status = response.status_code
    if not response.is_success:
        error = description = None
        if isinstance(payload, dict):
            if isinstance(payload.get("error"), str):
                error = scrub(payload["error"])
            if isinstance(payload.get("error_description"), str):
                description = scrub(payload["error_description"])
        text = f"token endpoint {token_url} answered HTTP {status}"
        if error:
            text += f" {error}"
        if description:
            text += f": {description}"
        raise TokenError(text, status=status, error=error, error_description=description)
    if not isinstance(payload, dict) or not isinstance(payload.get("access_token"), str):
        raise TokenError(
            f"token endpoint {token_url} answered HTTP {status} without an access_token",
            status=status,
        )
    token_type = payload.get("token_type", "Bearer")
    if not isinstance(token_type, str) or token_type.lower() != "bearer":
        raise TokenError(
            f"token endpoint {token_url} issued an unsupported token_type {token_type!r}",
            status=status,
        )
    access_token: str = payload["access_token"]
    if not access_token:
        raise TokenError(f"token endpoint {token_url} issued an empty access_token", status=status)
    lifetime = _seconds(payload.get("expires_in"))
    if lifetime is None:
        # RFC 6749 makes expires_in optional: keep the token until the API answers 401.
        return _Token(access_token, None)
    # A leeway larger than half the lifetime would make a short-lived token look expired at once.
    return _Token(access_token, started + lifetime - min(leeway, lifetime / 2))


def _seconds(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        seconds = float(value)
    elif isinstance(value, str):
        try:
            seconds = float(value)
        except ValueError:
            return None
    else:
        return None
    if seconds != seconds or seconds < 0 or seconds == float("inf"):
        return None
    return seconds


class ClientCredentials(_TokenAuth):
    """OAuth 2.0 client credentials grant (RFC 6749 section 4.4).

    `auth_method` is how the client authenticates at the token endpoint: `client_secret_post`
    (id and secret in the form, as DPS documents for its Keycloak realm) or `client_secret_basic`
    (HTTP Basic, RFC 6749 section 2.3.1). `audience` (Auth0 style) and `resource` (RFC 8707) are
    sent when given.
    """

    def __init__(
        self,
        token_url: str,
        client_id: str,
        client_secret: str,
        *,
        scope: str | Sequence[str] | None = None,
        audience: str | None = None,
        resource: str | None = None,
        auth_method: Literal["client_secret_post", "client_secret_basic"] = "client_secret_post",
        leeway: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(token_url, leeway=leeway, clock=clock)
        if auth_method not in ("client_secret_post", "client_secret_basic"):
            raise ValueError(f"unsupported auth_method {auth_method!r}")
        self.client_id = client_id
        self._client_secret = client_secret
        self.scope = _scope_text(scope)
        self.audience = audience
        self.resource = resource
        self.auth_method = auth_method

    def _token_form(self) -> tuple[dict[str, str], dict[str, str], tuple[str, ...]]:
        form = {"grant_type": "client_credentials"}
        headers: dict[str, str] = {}
        if self.auth_method == "client_secret_post":
            form["client_id"] = self.client_id
            form["client_secret"] = self._client_secret
        else:
            pair = f"{quote(self.client_id, safe='')}:{quote(self._client_secret, safe='')}"
            headers["Authorization"] = "Basic " + base64.b64encode(pair.encode()).decode("ascii")
        if self.scope:
            form["scope"] = self.scope
        if self.audience:
            form["audience"] = self.audience
        if self.resource:
            form["resource"] = self.resource
        return form, headers, (self._client_secret,)

    def __repr__(self) -> str:
        return (
            f"ClientCredentials(token_url={self.token_url!r}, client_id={self.client_id!r}, "
            f"client_secret={_MASK!r}, scope={self.scope!r})"
        )


class JwtBearerGrant(_TokenAuth):
    """JWT bearer grant (RFC 7523 section 2.1) with a signed client assertion, Maskinporten style.

    Each token request carries a fresh assertion signed with `private_key` (`algorithm`, RS256 by
    default) holding `iss` = `client_id`, `aud` = `audience` (the authorization server's issuer
    identifier, e.g. `https://test.maskinporten.no/`), `scope`, `iat`, `exp` = `iat` +
    `assertion_lifetime` (Maskinporten accepts at most 120 s), a unique `jti`, and `resource` when
    given (the audience of the access token: for DSOP, the bank's registered base URL). The JWT
    header names the key by `key_id` (`kid`) or carries a certificate chain `x5c` (business
    certificate). `subject` sets `sub`, which RFC 7523 requires but Maskinporten does not use.
    """

    def __init__(
        self,
        token_url: str,
        client_id: str,
        *,
        audience: str,
        private_key: str | bytes | PrivateKey,
        private_key_password: bytes | None = None,
        key_id: str | None = None,
        x5c: Sequence[str] | None = None,
        scope: str | Sequence[str] | None = None,
        resource: str | Sequence[str] | None = None,
        subject: str | None = None,
        extra_claims: Mapping[str, Any] | None = None,
        algorithm: str = "RS256",
        assertion_lifetime: float = 120.0,
        leeway: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(token_url, leeway=leeway, clock=clock)
        if assertion_lifetime <= 0:
            raise ValueError("assertion_lifetime must be positive")
        self.client_id = client_id
        self.audience = audience
        self.key_id = key_id
        self.x5c = list(x5c) if x5c is not None else None
        self.scope = _scope_text(scope)
        self.resource = (
            resource if resource is None or isinstance(resource, str) else list(resource)
        )
        self.subject = subject
        self.extra_claims = dict(extra_claims or {})
        self.algorithm = algorithm
        self.assertion_lifetime = assertion_lifetime
        self._key = _load_private_key(private_key, private_key_password)

    def assertion(self, now: float | None = None) -> str:
        """A freshly signed client assertion (a compact JWS)."""
        issued = int(time.time() if now is None else now)
        claims: dict[str, Any] = {
            **self.extra_claims,
            "iss": self.client_id,
            "aud": self.audience,
            "iat": issued,
            "exp": issued + int(self.assertion_lifetime),
            "jti": str(uuid.uuid4()),
        }
        if self.scope:
            claims["scope"] = self.scope
        if self.resource:
            claims["resource"] = self.resource
        if self.subject:
            claims["sub"] = self.subject
        headers: dict[str, Any] = {}
        if self.key_id:
            headers["kid"] = self.key_id
        if self.x5c:
            headers["x5c"] = self.x5c
        return jwt.encode(claims, self._key, algorithm=self.algorithm, headers=headers or None)

    def _token_form(self) -> tuple[dict[str, str], dict[str, str], tuple[str, ...]]:
        assertion = self.assertion()
        form = {"grant_type": JWT_BEARER_GRANT_TYPE, "assertion": assertion}
        return form, {}, (assertion,)

    def __repr__(self) -> str:
        return (
            f"JwtBearerGrant(token_url={self.token_url!r}, client_id={self.client_id!r}, "
            f"audience={self.audience!r}, key_id={self.key_id!r}, scope={self.scope!r}, "
            f"private_key={_MASK!r})"
        )


def _load_private_key(key: str | bytes | PrivateKey, password: bytes | None) -> PrivateKey:
    if isinstance(key, RSAPrivateKey | EllipticCurvePrivateKey):
        return key
    data = key.encode() if isinstance(key, str) else key
    try:
        loaded = serialization.load_pem_private_key(data, password=password)
    except (ValueError, TypeError) as exc:
        kind = type(exc).__name__
        raise ValueError(f"private_key is not a readable PEM private key ({kind})") from None
    if not isinstance(loaded, RSAPrivateKey | EllipticCurvePrivateKey):
        raise TypeError(f"private_key must be an RSA or EC key, got {type(loaded).__name__}")
    return loaded


# -- combining ------------------------------------------------------------------------------------


class MultiAuth(httpx.Auth):
    """Several credentials on one request: any number of static ones plus at most one token flow.

    Example: `MultiAuth(ApiKey(key), JwtBearerGrant(...))` for an API behind a gateway key that
    also wants a Maskinporten token.
    """

    def __init__(self, *auths: httpx.Auth) -> None:
        if not auths:
            raise ValueError("MultiAuth needs at least one auth")
        self._static = [a for a in auths if isinstance(a, _StaticAuth)]
        flows = [a for a in auths if not isinstance(a, _StaticAuth)]
        if len(flows) > 1:
            raise ValueError("MultiAuth combines at most one auth that sends requests of its own")
        self._flow = flows[0] if flows else None
        self.auths = tuple(auths)

    def sync_auth_flow(
        self, request: httpx.Request
    ) -> Generator[httpx.Request, httpx.Response, None]:
        for auth in self._static:
            auth.apply(request)
        if self._flow is None:
            yield request
            return
        yield from self._flow.sync_auth_flow(request)

    async def async_auth_flow(
        self, request: httpx.Request
    ) -> AsyncGenerator[httpx.Request, httpx.Response]:
        for auth in self._static:
            auth.apply(request)
        if self._flow is None:
            yield request
            return
        flow = self._flow.async_auth_flow(request)
        try:
            outgoing = await flow.__anext__()
            while True:
                response = yield outgoing
                outgoing = await flow.asend(response)
        except StopAsyncIteration:
            return
        finally:
            await flow.aclose()

    def __repr__(self) -> str:
        return f"MultiAuth({', '.join(repr(a) for a in self.auths)})"

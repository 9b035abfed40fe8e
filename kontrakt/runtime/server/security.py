"""Credential checks: JWT bearer tokens against a JWKS, API keys, scopes and templated roles.

Nothing here ever puts a token or key into an exception message or a log line: a refusal says
which check failed (`TokenError.reason`), never what was presented.
"""

import asyncio
import base64
import binascii
import hashlib
import hmac
import json
import logging
import re
import time
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import httpx
import jwt

__all__ = [
    "ASYMMETRIC_ALGORITHMS",
    "ApiKeyVerifier",
    "JwksCache",
    "JwtVerifier",
    "RoleRequirement",
    "TokenError",
    "claim_at",
    "expand_roles",
    "has_any_role",
    "has_scopes",
    "token_roles",
    "token_scopes",
]

logger = logging.getLogger("kontrakt.runtime.server.security")

ASYMMETRIC_ALGORITHMS: frozenset[str] = frozenset(
    {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}
)
"""The only algorithms a verifier may accept: a JWKS publishes public keys, so `none` and the
HMAC family (which would turn a public key into a shared secret) are never allowed."""

_SEGMENT = re.compile(r"^[A-Za-z0-9_-]+$")


class TokenError(Exception):
    """A bearer token was refused. `reason` names the failed check; the message is safe to show.

    Reasons: `malformed`, `algorithm`, `unknown-key`, `keys-unavailable`, `signature`,
    `expired`, `not-yet-valid`, `issuer`, `audience`, `claims`.
    """

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


# --- JWKS -------------------------------------------------------------------------------------


class JwksCache:
    """Public signing keys by `kid`, from a JWKS URL (fetched with httpx) or a fixed JWKS dict.

    A URL is fetched on first use and again after `max_age` seconds; a token naming an unknown
    `kid` triggers a refetch (key rotation), but at most once per `min_refresh_interval` seconds so
    that tokens with invented kids cannot make the server hammer the issuer.
    """

    def __init__(
        self,
        url: str | None = None,
        *,
        jwks: Mapping[str, Any] | None = None,
        client: httpx.AsyncClient | None = None,
        min_refresh_interval: float = 30.0,
        max_age: float = 3600.0,
        timeout: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if (url is None) == (jwks is None):
            raise ValueError("give either a JWKS url or a static jwks mapping")
        self.url = url
        self._client = client
        self._min_refresh_interval = min_refresh_interval
        self._max_age = max_age
        self._timeout = timeout
        self._clock = clock
        self._keys: dict[str, dict[str, Any]] = {}
        self._unnamed: list[dict[str, Any]] = []
        self._fetched_at: float | None = None
        self._attempted_at: float | None = None
        self._inflight: asyncio.Future[None] | None = None
        self.fetch_count = 0
        if jwks is not None:
            self._load(jwks)

    @property
    def kids(self) -> frozenset[str]:
        return frozenset(self._keys)

    async def key(self, kid: str | None) -> dict[str, Any]:
        """The JWK for `kid` (a kid-less token needs a JWKS of exactly one key).

        Single flight: requests arriving while a fetch is under way wait for that fetch (at most
        about `timeout`) instead of starting another or giving up, so the first burst of
        requests on a fresh server is not refused.
        """
        if self.url is not None:
            stale = self._fetched_at is None or self._clock() - self._fetched_at >= self._max_age
            if stale and (self._refreshing() or self._may_refetch()):
                await self._refresh()
        found = self._lookup(kid)
        if found is None and self.url is not None and (self._refreshing() or self._may_refetch()):
            await self._refresh()
            found = self._lookup(kid)
        if found is None:
            if self.url is not None and self._fetched_at is None:
                raise TokenError("keys-unavailable", "The signing keys could not be fetched.")
            raise TokenError("unknown-key", "The token's signing key is not known.")
        return found

    def _lookup(self, kid: str | None) -> dict[str, Any] | None:
        if kid is not None:
            return self._keys.get(kid)
        every = [*self._keys.values(), *self._unnamed]
        return every[0] if len(every) == 1 else None

    def _may_refetch(self) -> bool:
        if self._attempted_at is None:
            return True
        return self._clock() - self._attempted_at >= self._min_refresh_interval

    def _refreshing(self) -> bool:
        return self._inflight is not None and not self._inflight.done()

    async def _refresh(self) -> None:
        """Fetch the key set, or join the fetch already under way (bounded wait)."""
        if not self._refreshing():
            if not self._may_refetch():
                return
            self._attempted_at = self._clock()
            self._inflight = asyncio.ensure_future(self._fetch_and_load())
        assert self._inflight is not None
        try:
            # shield: a waiter that times out or is cancelled does not cancel the shared fetch.
            await asyncio.wait_for(asyncio.shield(self._inflight), self._timeout + 1.0)
        except TimeoutError:
            logger.warning("JWKS fetch from %s is taking longer than %ss", self.url, self._timeout)

    async def _fetch_and_load(self) -> None:
        attempted = self._attempted_at
        try:
            document = await self._fetch()
            self._load(document)
        except (httpx.HTTPError, ValueError, TypeError) as exc:
            logger.warning("JWKS fetch from %s failed: %s", self.url, type(exc).__name__)
            return
        self._fetched_at = attempted

    async def _fetch(self) -> Any:
        assert self.url is not None
        self.fetch_count += 1
        if self._client is not None:
            response = await self._client.get(self.url, timeout=self._timeout)
        else:
            async with httpx.AsyncClient(timeout=self._timeout) as client:
                response = await client.get(self.url)
        response.raise_for_status()
        return response.json()

    def _load(self, document: Any) -> None:
        if not isinstance(document, Mapping) or not isinstance(document.get("keys"), list):
            raise ValueError("a JWKS is an object with a 'keys' list")
        keys: dict[str, dict[str, Any]] = {}
        unnamed: list[dict[str, Any]] = []
        for jwk_data in document["keys"]:
            if not isinstance(jwk_data, Mapping):
                continue
            # Symmetric keys have no place in a public key set; encryption keys sign nothing.
            if jwk_data.get("kty") not in ("RSA", "EC", "OKP"):
                continue
            if jwk_data.get("use", "sig") != "sig":
                continue
            kid = jwk_data.get("kid")
            if isinstance(kid, str):
                keys[kid] = dict(jwk_data)
            else:
                unnamed.append(dict(jwk_data))
        self._keys, self._unnamed = keys, unnamed


# --- JWT --------------------------------------------------------------------------------------


def _b64decode(segment: str) -> bytes:
    """Strict base64url: only the URL alphabet, no padding, and the canonical encoding only.

    The standard decoder skips foreign characters and ignores the spare bits of the last one, so
    two different strings could carry the same token; refusing both keeps "any change to the token
    is refused" true.
    """
    if not _SEGMENT.match(segment):
        raise TokenError("malformed", "The token is not a compact JWS.")
    try:
        decoded = base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
    except (binascii.Error, ValueError):
        raise TokenError("malformed", "The token is not a compact JWS.") from None
    if base64.urlsafe_b64encode(decoded).rstrip(b"=").decode("ascii") != segment:
        raise TokenError("malformed", "The token is not a compact JWS.")
    return decoded


class JwtVerifier:
    """Verifies a bearer JWT: signature via the JWKS, algorithm, `iss`, `aud`, `exp`, `nbf`, `iat`.

    `issuer` and `audience` may each be one value or several accepted ones. `leeway` (0-30 s)
    absorbs clock skew. `required_claims` must be present in every token.
    """

    def __init__(
        self,
        jwks: JwksCache,
        issuer: str | Sequence[str],
        audience: str | Sequence[str],
        *,
        algorithms: Sequence[str] = ("RS256",),
        leeway: float = 0.0,
        required_claims: Sequence[str] = ("exp", "iat", "iss", "aud"),
        max_token_length: int = 16_384,
    ) -> None:
        refused = [alg for alg in algorithms if alg not in ASYMMETRIC_ALGORITHMS]
        if refused or not algorithms:
            raise ValueError(f"only asymmetric algorithms may be accepted, not {refused or '[]'}")
        if not 0 <= leeway <= 30:
            raise ValueError("leeway must lie between 0 and 30 seconds")
        if not issuer or not audience:
            raise ValueError("a verifier needs an issuer and an audience")
        self.jwks = jwks
        self.issuer: str | tuple[str, ...] = issuer if isinstance(issuer, str) else tuple(issuer)
        self.audience: str | tuple[str, ...] = (
            audience if isinstance(audience, str) else tuple(audience)
        )
        self.algorithms = tuple(algorithms)
        self.leeway = leeway
        self.required_claims = tuple(required_claims)
        self.max_token_length = max_token_length

    async def verify(self, token: str) -> dict[str, Any]:
        """The token's claims, or `TokenError` saying which check failed."""
        if not token or len(token) > self.max_token_length:
            raise TokenError("malformed", "The token is empty or too long.")
        segments = token.split(".")
        if len(segments) != 3:
            raise TokenError("malformed", "The token is not a compact JWS.")
        for segment in segments:
            _b64decode(segment)
        try:
            header = json.loads(_b64decode(segments[0]))
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise TokenError("malformed", "The token header is not JSON.") from None
        if not isinstance(header, dict):
            raise TokenError("malformed", "The token header is not a JSON object.")
        algorithm = header.get("alg")
        if not isinstance(algorithm, str) or algorithm not in self.algorithms:
            raise TokenError("algorithm", "The token's signing algorithm is not accepted.")
        if "crit" in header:
            # RFC 7515 4.1.11: extensions the recipient does not understand make the token invalid.
            raise TokenError("malformed", "The token names critical header extensions.")
        kid = header.get("kid")
        if kid is not None and not isinstance(kid, str):
            raise TokenError("malformed", "The token's key id is not a string.")
        jwk_data = await self.jwks.key(kid)
        if jwk_data.get("alg", algorithm) != algorithm:
            raise TokenError("algorithm", "The token's algorithm does not match its key.")
        try:
            key = jwt.PyJWK(jwk_data, algorithm=algorithm)
        except jwt.PyJWTError:
            raise TokenError("algorithm", "The token's algorithm does not match its key.") from None
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key=key,
                algorithms=[algorithm],
                audience=self.audience,
                issuer=self.issuer,
                leeway=self.leeway,
                options={
                    "verify_signature": True,
                    "verify_exp": True,
                    "verify_nbf": True,
                    "verify_iat": True,
                    "verify_iss": True,
                    "verify_aud": True,
                    "require": list(self.required_claims),
                },
            )
        except jwt.PyJWTError as exc:
            raise _token_error(exc) from None
        return claims


def _token_error(exc: jwt.PyJWTError) -> TokenError:
    # Order matters: the specific PyJWT errors subclass DecodeError/InvalidTokenError.
    table: tuple[tuple[type[jwt.PyJWTError], str, str], ...] = (
        (jwt.InvalidSignatureError, "signature", "The token's signature does not verify."),
        (jwt.ExpiredSignatureError, "expired", "The token has expired."),
        (jwt.ImmatureSignatureError, "not-yet-valid", "The token is not valid yet."),
        (jwt.InvalidAudienceError, "audience", "The token is meant for another audience."),
        (jwt.InvalidIssuerError, "issuer", "The token comes from an issuer not trusted here."),
        (jwt.MissingRequiredClaimError, "claims", "The token lacks a required claim."),
        (jwt.InvalidIssuedAtError, "claims", "The token's iat claim is not a number."),
        (jwt.InvalidAlgorithmError, "algorithm", "The token's signing algorithm is not accepted."),
    )
    for kind, reason, message in table:
        if isinstance(exc, kind):
            return TokenError(reason, message)
    return TokenError("malformed", "The token could not be decoded.")


# --- scopes and roles -------------------------------------------------------------------------


def _names(value: Any) -> frozenset[str]:
    if isinstance(value, str):
        return frozenset(value.split())
    if isinstance(value, list | tuple):
        return frozenset(item for item in value if isinstance(item, str))
    return frozenset()


def token_scopes(claims: Mapping[str, Any]) -> frozenset[str]:
    """The scopes a token grants: space-separated `scope` (RFC 8693/9068) and/or a list `scp`."""
    return _names(claims.get("scope")) | _names(claims.get("scp"))


def has_scopes(claims: Mapping[str, Any], required: Iterable[str]) -> bool:
    """Whether the token grants every scope in `required`."""
    return set(required) <= token_scopes(claims)


def claim_at(claims: Mapping[str, Any], path: str) -> Any:
    """The value at a dotted claim path (`realm_access.roles`), or None when absent."""
    value: Any = claims
    for part in path.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return None
        value = value[part]
    return value


def token_roles(claims: Mapping[str, Any], claim: str = "roles") -> frozenset[str]:
    """The role names at `claim` (a list, or a space-separated string)."""
    return _names(claim_at(claims, claim))


_PLACEHOLDER = re.compile(r"\{([^{}]+)\}")


def expand_roles(templates: Iterable[str], path_params: Mapping[str, str]) -> tuple[str, ...]:
    """Role names with path parameters substituted: `{contractId}_W` -> `a1f3_W`."""

    def substitute(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in path_params:
            raise ValueError(f"role template names {{{name}}}, which is no path parameter here")
        return str(path_params[name])

    return tuple(_PLACEHOLDER.sub(substitute, template) for template in templates)


def has_any_role(
    claims: Mapping[str, Any],
    any_of: Iterable[str],
    *,
    claim: str = "roles",
    path_params: Mapping[str, str] | None = None,
) -> bool:
    """Whether the token holds at least one of the (templated) roles."""
    wanted = expand_roles(any_of, path_params or {})
    held = token_roles(claims, claim)
    return any(role in held for role in wanted)


def _shape(template: str, path_params: Mapping[str, str]) -> re.Pattern[str]:
    """A template as a pattern: bound variables literal, an unbound one any non-empty text."""
    parts: list[str] = []
    position = 0
    for match in _PLACEHOLDER.finditer(template):
        parts.append(re.escape(template[position : match.start()]))
        name = match.group(1)
        parts.append(re.escape(str(path_params[name])) if name in path_params else ".+")
        position = match.end()
    parts.append(re.escape(template[position:]))
    return re.compile("".join(parts))


@dataclass(frozen=True)
class RoleRequirement:
    """An operation's `x-kontrakt-roles`: the token must hold one of `any_of` at `claim`.

    Templates name path parameters (`{contractId}_W` on `/v1/contracts/{contractId}/...`), which
    the route substitutes. A template may also name a variable the route cannot know: DPS's
    dissemination operations require `{contractId}_R` of the contract that owns the package behind
    the `archiveId` in the body, which only the provider can look up. For such an unbound variable
    `satisfied_by` checks only that the token holds SOME role of the template's shape (any
    `*_R`), so a token without any such role is refused (403) before the handler runs; the
    handler completes the check once it knows the value, with
    `AuthContext.require_roles(contractId=...)`, which raises the operation's `forbidden` problem.
    """

    any_of: tuple[str, ...]
    claim: str = "roles"

    def unbound(self, path_params: Mapping[str, str]) -> tuple[str, ...]:
        """The template variables `path_params` does not bind, in template order, each once."""
        names = (m.group(1) for t in self.any_of for m in _PLACEHOLDER.finditer(t))
        return tuple(dict.fromkeys(name for name in names if name not in path_params))

    def satisfied_by(self, claims: Mapping[str, Any], path_params: Mapping[str, str]) -> bool:
        """Whether a held role fits a template; an unbound variable matches any value."""
        if not self.unbound(path_params):  # every variable bound: plain names, no pattern
            return self.held_by(claims, path_params)
        held = token_roles(claims, self.claim)
        shapes = [_shape(template, path_params) for template in self.any_of]
        return any(shape.fullmatch(role) for shape in shapes for role in held)

    def held_by(self, claims: Mapping[str, Any], values: Mapping[str, str]) -> bool:
        """Whether the token holds one of the roles with every variable bound by `values`.

        Raises `ValueError` when `values` leaves a variable unbound: a provider bug, not a
        caller's fault.
        """
        return has_any_role(claims, self.any_of, claim=self.claim, path_params=values)


# --- API keys ---------------------------------------------------------------------------------


def _digest(value: str) -> bytes:
    return hashlib.sha256(value.encode("utf-8")).digest()


class ApiKeyVerifier:
    """Checks an API key header (e.g. `Ocp-Apim-Subscription-Key`) against the valid keys.

    A collection of keys is compared in constant time: every stored key's SHA-256 digest is
    compared with the presented one's, without stopping at the first match, so neither the
    position nor the length of a valid key leaks through timing. A callable decides by itself.
    """

    def __init__(
        self, header_name: str, valid_keys: Collection[str] | Callable[[str], bool]
    ) -> None:
        if not header_name:
            raise ValueError("an API key needs a header name")
        self.header_name = header_name
        if callable(valid_keys):
            self._check: Callable[[str], bool] | None = valid_keys
            self._digests: tuple[bytes, ...] = ()
        else:
            if isinstance(valid_keys, str):
                raise TypeError("valid_keys must be a collection of keys, not one string")
            self._check = None
            self._digests = tuple(_digest(key) for key in valid_keys if key)

    def verify(self, presented: str | None) -> bool:
        """Whether `presented` is a valid key (an absent or empty key never is)."""
        if not presented:
            return False
        if self._check is not None:
            return bool(self._check(presented))
        digest = _digest(presented)
        matched = False
        for known in self._digests:
            matched |= hmac.compare_digest(digest, known)
        return matched

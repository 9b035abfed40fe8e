"""The HTTP probe client rules use: every exchange recorded as redacted evidence, never a traceback.

`Probe.request` sends one request to the provider under test with the manifest's headers and
credentials, within `limits`: a per-request timeout (also over the whole body), a body size cap
(the body is streamed and reading stops at the cap), `max_requests` (then `BudgetExhausted`),
`requests_per_second` pacing, and bounded back-off on 429 honouring `Retry-After`. Transport
trouble (refused connection, timeout, reset, a body over the cap) and bodies that are not the JSON
they claim to be raise `ProbeError` carrying the exchange; the runner turns it into a failure of
the rule being checked, with that exchange as evidence. Each exchange also has a `curl` line that
reproduces it, each redacted secret a `${KONTRAKT_...}` variable (`conformance.reproduce`).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import httpx

from kontrakt.conformance.auth import AuthUnavailable, Credentials
from kontrakt.conformance.bounded import (
    ACCEPT_ENCODING,
    BodyTooLarge,
    Deadline,
    EncodingRefused,
    decoded,
)
from kontrakt.conformance.manifest import Limits
from kontrakt.conformance.redact import Redactor
from kontrakt.conformance.reproduce import TEST_TOKEN, TOKEN, curl_line
from kontrakt.runtime.client import parse_retry_after

__all__ = [
    "BudgetExhausted",
    "Exchange",
    "Probe",
    "ProbeError",
    "ProbeResponse",
    "ProviderUnreachable",
    "ReadOnlyViolation",
    "jwe_decrypter",
]

EXCERPT_BYTES = 2048
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
MAX_429_RETRIES = 2
MAX_429_WAIT = 10.0  # seconds per request, all retries together
MAX_TRANSPORT_FAILURES = 5  # requests in a row without an answer: the provider is unreachable

ProbeErrorKind = Literal[
    "timeout",
    "connection",
    "reset",
    "too-large",
    "invalid-json",
    "auth",
    "protocol",
    "budget",
    "unreachable",
]


@dataclass
class Exchange:
    """One request and what came back (or what went wrong), already redacted."""

    method: str
    url: str
    request_headers: list[list[str]]
    request_body: str | None
    curl: str
    status: int | None = None
    response_headers: list[list[str]] = field(default_factory=list)
    response_body: str | None = None
    elapsed_ms: float = 0.0
    error: str | None = None
    truncated: bool = False
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "request": {
                "method": self.method,
                "url": self.url,
                "headers": self.request_headers,
                "body": self.request_body,
            },
            "response": None
            if self.status is None
            else {
                "status": self.status,
                "headers": self.response_headers,
                "body": self.response_body,
                "truncated": self.truncated,
            },
            "elapsed_ms": round(self.elapsed_ms, 1),
            "error": self.error,
            "notes": list(self.notes),
            "curl": self.curl,
        }


class ProbeError(Exception):
    """The request could not be completed, or the body is not what it claims to be."""

    def __init__(self, kind: ProbeErrorKind, message: str, exchange: Exchange | None) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.exchange = exchange


class BudgetExhausted(ProbeError):
    """`limits.max_requests` is used up: no rule may send anything any more."""


class ProviderUnreachable(BudgetExhausted):
    """`MAX_TRANSPORT_FAILURES` requests in a row got no answer: the run stops early."""


class ReadOnlyViolation(Exception):
    """A rule tried an unsafe method under `limits.read_only` without saying it expects refusal."""


def _excerpt(data: bytes, redactor: Redactor) -> str:
    # Redact before cutting, over a margin past the cut, so that a secret or an identity number
    # straddling the cut leaves no prefix behind.
    window = data[: EXCERPT_BYTES + 4096].decode("utf-8", errors="replace")
    text = redactor.text(window)[:EXCERPT_BYTES]
    suffix = f"... ({len(data)} bytes)" if len(data) > EXCERPT_BYTES else ""
    return text + suffix


class ProbeResponse:
    """A complete response (body read, within the cap) and its recorded exchange."""

    def __init__(
        self,
        status: int,
        headers: httpx.Headers,
        content: bytes,
        exchange: Exchange,
        elapsed: float,
        decrypt: Callable[[bytes], bytes] | None = None,
    ) -> None:
        self.status = status
        self.headers = headers
        self.content = content
        self.exchange = exchange
        self.elapsed = elapsed
        self._decrypt = decrypt

    @property
    def content_type(self) -> str:
        """The media type without parameters, lower case (`application/json`)."""
        return str(self.headers.get("content-type", "")).split(";")[0].strip().lower()

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", errors="replace")

    def json(self) -> Any:
        """The body parsed as JSON (a compact JWE is decrypted first, given a decryption key)."""
        content = self.content
        if self.content_type == "application/jose":
            if self._decrypt is None:
                raise ProbeError(
                    "invalid-json",
                    "the body is a JWE (application/jose) and the manifest has no decryption_key",
                    self.exchange,
                )
            try:
                content = self._decrypt(content)
            except Exception as exc:
                raise ProbeError(
                    "invalid-json",
                    f"the JWE body cannot be decrypted ({type(exc).__name__})",
                    self.exchange,
                ) from None
        try:
            return json.loads(content)
        except (ValueError, UnicodeDecodeError) as exc:
            raise ProbeError(
                "invalid-json",
                f"HTTP {self.status} body is not valid JSON ({type(exc).__name__}: {exc})"[:300],
                self.exchange,
            ) from None

    def header(self, name: str) -> str | None:
        value = self.headers.get(name)
        return None if value is None else str(value)

    def __repr__(self) -> str:
        return f"ProbeResponse({self.exchange.method} {self.exchange.url} -> {self.status})"


# Key management and content encryption algorithms a JWE body may use (RFC 7518 sections 4, 5).
JWE_ALGORITHMS = [
    "RSA-OAEP",
    "RSA-OAEP-256",
    "A128CBC-HS256",
    "A192CBC-HS384",
    "A256CBC-HS512",
    "A128GCM",
    "A192GCM",
    "A256GCM",
]


def jwe_decrypter(path: Any, *others: Any) -> Callable[[bytes], bytes]:
    """Decrypts a compact JWE with the key at `path`, else with the first of `others` that can
    (further consumers' keys: each consumer's answers are encrypted to its own certificate)."""
    from joserfc import jwe
    from joserfc.errors import JoseError
    from joserfc.jwe import JWERegistry
    from joserfc.jwk import RSAKey

    keys = [RSAKey.import_key(Path(item).read_bytes()) for item in (path, *others)]
    # joserfc accepts only its "recommended" algorithms unless told otherwise; RSA-OAEP-256
    # with A128CBC-HS256 (what DSOP consumers use) is not among them. Its default ciphertext
    # cap (64 KiB) would refuse a page of 1000 transactions, which the publishers ask for; the
    # body was already bounded when it was read, so the cap here is that bound.
    registry = JWERegistry(algorithms=JWE_ALGORITHMS)
    registry.max_ciphertext_length = 1 << 30

    def decrypt(data: bytes) -> bytes:
        # One key, not a key set: a provider may name the consumer's certificate in the JWE
        # header's kid (its own CertPub identifier); the manifest's PEM file carries no kid.
        for key in keys[:-1]:
            try:
                result = jwe.decrypt_compact(data.strip(), key, registry=registry)
                break
            except (JoseError, ValueError):
                continue
        else:
            result = jwe.decrypt_compact(data.strip(), keys[-1], registry=registry)
        plaintext = result.plaintext
        if plaintext is None:
            raise ValueError("empty JWE")
        return plaintext

    return decrypt


_jwe_decrypter = jwe_decrypter  # the earlier private name


class Probe:
    """Sends requests to the provider under test and keeps the evidence of each."""

    def __init__(
        self,
        base_url: str,
        *,
        credentials: Credentials | None = None,
        headers: Mapping[str, str] | None = None,
        limits: Limits | None = None,
        redactor: Redactor | None = None,
        transport: httpx.BaseTransport | None = None,
        decryption_key: Any = None,
        decryption_keys: Sequence[Any] = (),
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.credentials = credentials
        self.headers = dict(headers or {})
        self.limits = limits or Limits()
        self.redactor = redactor or Redactor()
        self._sleep = sleep
        self._clock = clock
        self._client = httpx.Client(
            transport=transport,
            follow_redirects=False,
            timeout=self.limits.timeout_seconds,
            headers={"Accept-Encoding": ACCEPT_ENCODING},
        )
        self._deadline = Deadline()
        self.failures_in_a_row = 0
        keys = [key for key in (decryption_key, *decryption_keys) if key is not None]
        self._decrypt = jwe_decrypter(*keys) if keys else None
        self.sent = 0
        self._last_start: float | None = None
        self.exchanges: list[Exchange] = []

    def close(self) -> None:
        self._client.close()

    # -- evidence -------------------------------------------------------------------------------

    def take_exchanges(self) -> list[Exchange]:
        """The exchanges since the last call (the runner calls it once per rule)."""
        taken, self.exchanges = self.exchanges, []
        return taken

    def url(self, path: str) -> str:
        """An absolute URL: `path` is relative to the base URL unless it is absolute already."""
        if path.startswith(("http://", "https://")):
            return path
        return self.base_url + "/" + path.lstrip("/") if path else self.base_url

    def curl(self, request: httpx.Request) -> str:
        """A curl line reproducing `request`: each redacted secret a `${KONTRAKT_...}` variable."""
        body = request.content
        return curl_line(
            request.method,
            str(request.url),
            [
                (name, value)
                for name, value in request.headers.multi_items()
                if name.lower() not in ("host", "content-length", "accept-encoding", "connection")
            ],
            _excerpt(body, self.redactor) if body else None,
            self.redactor,
            token_variable=request.extensions.get("kontrakt_token_variable", TOKEN),
            chosen_headers=request.extensions.get("kontrakt_rule_headers", frozenset()),
        )

    # -- sending --------------------------------------------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        *,
        headers: Mapping[str, str | None] | None = None,
        params: Mapping[str, Any] | None = None,
        json_body: Any = None,
        content: bytes | str | None = None,
        auth: bool | str = True,
        scope: str | None = None,
        expect_rejection: bool = False,
        retry_429: bool = True,
    ) -> ProbeResponse:
        """Send one request; the answer is always a `ProbeResponse` or a `ProbeError`.

        `headers` are added after the manifest's; a value of None removes a header (to provoke a
        missing-header error). `auth=False` sends no credentials, `auth="<token>"` that bearer
        token instead of the real one (the API-key headers stay). `expect_rejection=True` allows
        an unsafe method under `limits.read_only`: the contract does not declare it, the provider
        must refuse it. `retry_429=False` returns a 429 as it is (for the rate-limit rules).
        """
        method = method.upper()
        if self.limits.read_only and method not in SAFE_METHODS and not expect_rejection:
            raise ReadOnlyViolation(
                f"{method} {path}: limits.read_only forbids unsafe methods the contract declares"
            )
        merged: dict[str, str] = dict(self.headers)
        if auth is not False and self.credentials is not None:
            try:
                credential_headers = self.credentials.headers(scope=scope)
            except AuthUnavailable as exc:
                raise ProbeError("auth", f"no credentials: {exc}", None) from None
            if isinstance(auth, str):
                credential_headers["authorization"] = f"Bearer {auth}"
            merged.update(credential_headers)
        elif isinstance(auth, str):
            merged["authorization"] = f"Bearer {auth}"
        if isinstance(auth, str):
            self.redactor.add(auth)
        sent = {k.lower(): v for k, v in merged.items()}
        # Credential headers the rule sets itself (an unknown or revoked key): their curl
        # variable must not suggest the manifest's value.
        chosen = {
            name.lower()
            for name, value in (headers or {}).items()
            if value is not None
            and self.redactor.is_sensitive_header(name)
            and sent.get(name.lower()) != value
        }
        for name, value in (headers or {}).items():
            for existing in [k for k in merged if k.lower() == name.lower()]:
                del merged[existing]
            if value is not None:
                merged[name] = value
        body: bytes | None
        if json_body is not None:
            body = json.dumps(json_body).encode()
            if not any(k.lower() == "content-type" for k in merged):
                merged["Content-Type"] = "application/json"
        else:
            body = content.encode() if isinstance(content, str) else content
        request = self._client.build_request(
            method, self.url(path), headers=merged, params=params, content=body
        )
        if isinstance(auth, str):
            # A bad token of the rule's own: its curl line must not suggest the manifest's token.
            request.extensions["kontrakt_token_variable"] = TEST_TOKEN
        if chosen:
            request.extensions["kontrakt_rule_headers"] = frozenset(chosen)
        waited = 0.0
        attempt = 0
        while True:
            response = self._send(request)
            if response.status != 429 or not retry_429 or attempt >= MAX_429_RETRIES:
                return response
            retry_after = response.header("retry-after")
            delay = parse_retry_after(retry_after) if retry_after else None
            delay = 1.0 if delay is None else delay
            if waited + delay > MAX_429_WAIT:
                response.exchange.notes.append(
                    f"429 with Retry-After {delay:g}s: over the back-off bound of {MAX_429_WAIT:g}s"
                )
                return response
            response.exchange.notes.append(f"429: backing off {delay:g}s (Retry-After)")
            self._sleep(delay)
            waited += delay
            attempt += 1

    def get(self, path: str, **kwargs: Any) -> ProbeResponse:
        return self.request("GET", path, **kwargs)

    def _pace(self) -> None:
        rate = self.limits.requests_per_second
        if rate and self._last_start is not None:
            gap = 1.0 / rate - (self._clock() - self._last_start)
            if gap > 0:
                self._sleep(gap)
        self._last_start = self._clock()

    def _record(self, request: httpx.Request) -> Exchange:
        body = request.content
        exchange = Exchange(
            method=request.method,
            url=self.redactor.text(str(request.url)),
            request_headers=self.redactor.headers(
                [(k, v) for k, v in request.headers.multi_items() if k.lower() != "host"]
            ),
            request_body=_excerpt(body, self.redactor) if body else None,
            curl=self.curl(request),
        )
        self.exchanges.append(exchange)
        return exchange

    def _send(self, request: httpx.Request) -> ProbeResponse:
        limit = self.limits.max_requests
        if limit is not None and self.sent >= limit:
            raise BudgetExhausted(
                "budget", f"the request budget (limits.max_requests = {limit}) is used up", None
            )
        self._pace()
        exchange = self._record(request)
        self.sent += 1
        timeout = self.limits.timeout_seconds
        cap = self.limits.max_body_bytes
        started = self._clock()
        deadline = self._deadline
        deadline.start(timeout)
        headers: httpx.Headers = httpx.Headers()
        try:
            with self._client.stream(
                request.method,
                request.url,
                headers=request.headers,
                content=request.content,
                extensions={"trace": deadline.trace},
            ) as response:
                exchange.status = response.status_code
                exchange.response_headers = self.redactor.headers(response.headers.multi_items())
                headers = response.headers
                chunks: list[bytes] = []
                # Decoded bytes count against the cap as they are inflated: a gzip bomb, or a
                # stack of encodings, never gets past it.
                try:
                    for chunk in decoded(
                        response.iter_raw(), headers.get("content-encoding", ""), cap
                    ):
                        chunks.append(chunk)
                        if self._clock() - started > timeout:
                            exchange.response_body = _excerpt(b"".join(chunks), self.redactor)
                            raise self._error(
                                exchange,
                                started,
                                "timeout",
                                f"the response body did not arrive within {timeout:g}s",
                            )
                except BodyTooLarge:
                    exchange.truncated = True
                    exchange.response_body = _excerpt(b"".join(chunks), self.redactor)
                    raise self._error(
                        exchange,
                        started,
                        "too-large",
                        f"the response body exceeds limits.max_body_bytes ({cap} bytes); "
                        "reading stopped",
                    ) from None
                except EncodingRefused as exc:
                    exchange.response_body = _excerpt(b"".join(chunks), self.redactor)
                    raise self._error(exchange, started, "protocol", str(exc)) from None
                content = b"".join(chunks)
        except ProbeError as exc:
            self._transport_outcome(failed=exc.kind == "timeout")
            raise
        except httpx.HTTPError as exc:
            error = self._transport_error(exc, exchange, started, timeout, deadline.expired)
            self._transport_outcome(failed=error.kind in ("timeout", "connection", "reset"))
            raise error from None
        except ValueError as exc:
            self._transport_outcome(failed=False)
            raise self._error(
                exchange, started, "protocol", f"{type(exc).__name__}: {_reason(exc)}"
            ) from None
        finally:
            deadline.stop()
        self._transport_outcome(failed=False)
        elapsed = self._clock() - started
        exchange.elapsed_ms = elapsed * 1000
        exchange.response_body = _excerpt(content, self.redactor) if content else None
        return ProbeResponse(
            exchange.status or 0, headers, content, exchange, elapsed, decrypt=self._decrypt
        )

    def _transport_error(
        self,
        exc: httpx.HTTPError,
        exchange: Exchange,
        started: float,
        timeout: float,
        expired: bool,
    ) -> ProbeError:
        if expired or isinstance(exc, httpx.TimeoutException):
            return self._error(
                exchange,
                started,
                "timeout",
                f"no complete answer within {timeout:g}s ({type(exc).__name__})",
            )
        if isinstance(exc, httpx.ConnectError):
            return self._error(exchange, started, "connection", f"cannot connect: {_reason(exc)}")
        if isinstance(exc, httpx.RemoteProtocolError | httpx.ReadError | httpx.WriteError):
            return self._error(
                exchange,
                started,
                "reset",
                f"the connection broke off ({type(exc).__name__}: {_reason(exc)})",
            )
        return self._error(exchange, started, "protocol", f"{type(exc).__name__}: {_reason(exc)}")

    def _transport_outcome(self, *, failed: bool) -> None:
        """Count transport failures in a row; too many and the provider is unreachable."""
        if not failed:
            self.failures_in_a_row = 0
            return
        self.failures_in_a_row += 1
        if self.failures_in_a_row >= MAX_TRANSPORT_FAILURES:
            raise ProviderUnreachable(
                "unreachable",
                f"the provider did not answer {self.failures_in_a_row} requests in a row "
                "(timeouts, refused or broken connections); the run stops here",
                None,
            )

    def _error(
        self, exchange: Exchange, started: float, kind: ProbeErrorKind, message: str
    ) -> ProbeError:
        exchange.elapsed_ms = (self._clock() - started) * 1000
        exchange.error = self.redactor.text(message)
        return ProbeError(kind, exchange.error, exchange)


def _reason(exc: Exception) -> str:
    return str(exc)[:200] or type(exc).__name__

"""Retries with exponential backoff, as an httpx transport that wraps another transport.

Retrying below the client (at the transport) keeps it invisible to the auth flow and to the
generated code: a 503 that succeeds on the second attempt is just a 200 to everything above.

What is retried:

* a response whose status is in `RetryPolicy.statuses` (429 and 503 by default: the server says
  it did not act and when to come back), for methods in `RetryPolicy.methods` (the idempotent
  ones of RFC 9110 section 9.2.2; POST and PATCH are not retried unless a caller adds them).
  `Retry-After` (delta-seconds or an HTTP-date, RFC 9110 section 10.2.3) sets the wait, capped
  at `backoff_max`. A 500 is not retried by default: the handler ran and failed, and running it
  again (three times) rarely helps and may repeat a side effect; add it to `statuses` to opt in;
* a connection that could not be made (`ConnectError`, `ConnectTimeout`, `PoolTimeout`), for any
  method, because nothing was sent;
* other transport failures (read timeout, dropped connection) only with `retry_sent_errors`, and
  then for idempotent methods only, because the server may have acted on the request.

A request whose body is a one-shot stream is never retried (it cannot be sent again).
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC
from email.utils import parsedate_to_datetime

import anyio
import httpx

__all__ = [
    "DEFAULT_RETRY",
    "AsyncRetryTransport",
    "RetryPolicy",
    "RetryTransport",
    "parse_retry_after",
]

logger = logging.getLogger("kontrakt.runtime.client")

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE"})
RETRY_STATUSES = frozenset({429, 503})
# Failures before anything reached the server: safe to retry whatever the method.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


@dataclass(frozen=True)
class RetryPolicy:
    """When to try a request again and how long to wait in between.

    `max_attempts` counts the first attempt (3 = at most two retries). Attempt n waits
    `backoff_initial * 2**(n-1)` seconds, capped at `backoff_max`; with `jitter` the wait is drawn
    from [half, all] of that ("equal jitter"), using `rng` (pass `random.Random(seed).random` for
    reproducible runs).
    """

    max_attempts: int = 3
    backoff_initial: float = 0.5
    backoff_max: float = 30.0
    jitter: bool = True
    statuses: frozenset[int] = RETRY_STATUSES
    methods: frozenset[str] = IDEMPOTENT_METHODS
    retry_sent_errors: bool = False
    rng: Callable[[], float] = field(default=random.random, compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if self.backoff_initial < 0 or self.backoff_max < 0:
            raise ValueError("backoff times must not be negative")
        object.__setattr__(self, "methods", frozenset(m.upper() for m in self.methods))
        object.__setattr__(self, "statuses", frozenset(self.statuses))

    def backoff(self, attempt: int) -> float:
        """Seconds to wait after failed attempt number `attempt` (1-based)."""
        delay = min(self.backoff_max, self.backoff_initial * 2.0 ** max(attempt - 1, 0))
        if self.jitter:
            delay *= 0.5 + 0.5 * self.rng()
        return delay

    def delay(self, attempt: int, response: httpx.Response | None = None) -> float:
        """The wait before the next attempt: the server's `Retry-After` if usable, else backoff."""
        if response is not None:
            header = response.headers.get("Retry-After")
            if header is not None:
                seconds = parse_retry_after(header)
                if seconds is not None:
                    return min(seconds, self.backoff_max)
        return self.backoff(attempt)

    def retries_status(self, request: httpx.Request, status: int) -> bool:
        return status in self.statuses and request.method in self.methods

    def retries_error(self, request: httpx.Request, exc: Exception) -> bool:
        if not isinstance(exc, httpx.TransportError):
            return False
        if isinstance(exc, _NOT_SENT):
            return True
        return self.retry_sent_errors and request.method in self.methods


DEFAULT_RETRY = RetryPolicy()


def parse_retry_after(value: str, *, now: float | None = None) -> float | None:
    """Seconds to wait from a `Retry-After` value, or None when it is unusable.

    Accepts delta-seconds (`120`; a decimal such as `1.5` is tolerated) and an HTTP-date (a date
    in the past means "now", 0). `now` is the current POSIX time (for tests).
    """
    text = value.strip()
    if not text:
        return None
    try:
        seconds = float(text)
    except ValueError:
        pass
    else:
        if seconds != seconds or seconds in (float("inf"), float("-inf")) or seconds < 0:
            return None
        return seconds
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:  # "-0000" parses naive; HTTP-dates are UTC (RFC 9110 5.6.7)
        when = when.replace(tzinfo=UTC)
    current = time.time() if now is None else now
    return max(0.0, when.timestamp() - current)


def _replayable(request: httpx.Request) -> bool:
    return isinstance(request.stream, httpx.ByteStream)


def _where(request: httpx.Request) -> str:
    # Log without the query string: an API key may sit there.
    return f"{request.method} {request.url.copy_with(query=None)}"


class RetryTransport(httpx.BaseTransport):
    """A sync transport that retries on the wrapped transport according to a `RetryPolicy`."""

    def __init__(
        self,
        transport: httpx.BaseTransport | None = None,
        policy: RetryPolicy = DEFAULT_RETRY,
        *,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.transport = transport if transport is not None else httpx.HTTPTransport()
        self.policy = policy
        self._sleep = sleep

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        policy = self.policy
        attempt = 1
        while True:
            last = attempt >= policy.max_attempts or not _replayable(request)
            try:
                response = self.transport.handle_request(request)
            except httpx.TransportError as exc:
                if last or not policy.retries_error(request, exc):
                    raise
                wait = policy.delay(attempt)
                logger.info(
                    "retrying %s after %s in %.2fs", _where(request), type(exc).__name__, wait
                )
            else:
                if last or not policy.retries_status(request, response.status_code):
                    return response
                wait = policy.delay(attempt, response)
                logger.info(
                    "retrying %s after HTTP %d in %.2fs (attempt %d of %d)",
                    _where(request),
                    response.status_code,
                    wait,
                    attempt + 1,
                    policy.max_attempts,
                )
                try:
                    response.read()  # so the connection can be reused
                finally:
                    response.close()
            self._sleep(wait)
            attempt += 1

    def close(self) -> None:
        self.transport.close()


class AsyncRetryTransport(httpx.AsyncBaseTransport):
    """The async twin of `RetryTransport`; `sleep` defaults to `anyio.sleep`."""

    def __init__(
        self,
        transport: httpx.AsyncBaseTransport | None = None,
        policy: RetryPolicy = DEFAULT_RETRY,
        *,
        sleep: Callable[[float], Awaitable[None]] = anyio.sleep,
    ) -> None:
        self.transport = transport if transport is not None else httpx.AsyncHTTPTransport()
        self.policy = policy
        self._sleep = sleep

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        policy = self.policy
        attempt = 1
        while True:
            last = attempt >= policy.max_attempts or not _replayable(request)
            try:
                response = await self.transport.handle_async_request(request)
            except httpx.TransportError as exc:
                if last or not policy.retries_error(request, exc):
                    raise
                wait = policy.delay(attempt)
                logger.info(
                    "retrying %s after %s in %.2fs", _where(request), type(exc).__name__, wait
                )
            else:
                if last or not policy.retries_status(request, response.status_code):
                    return response
                wait = policy.delay(attempt, response)
                logger.info(
                    "retrying %s after HTTP %d in %.2fs (attempt %d of %d)",
                    _where(request),
                    response.status_code,
                    wait,
                    attempt + 1,
                    policy.max_attempts,
                )
                try:
                    await response.aread()
                finally:
                    await response.aclose()
            await self._sleep(wait)
            attempt += 1

    async def aclose(self) -> None:
        await self.transport.aclose()

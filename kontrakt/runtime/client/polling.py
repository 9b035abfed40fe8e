"""Polling a resource until its status reaches a terminal state (`x-kontrakt-lifecycles`).

Only the states listed as terminal end the wait; every other string, including ones no document
lists, means "still in progress". That is the `unknown-states: non-terminal` rule of the DPS
lifecycle: live DPS data has shown `PROCESSING`, which none of its documents mentions, so a
client that rejected unknown states would break on real traffic.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Collection
from typing import TypeVar

import anyio

from kontrakt.runtime.client.errors import PollTimeout

__all__ = ["apoll", "poll"]

logger = logging.getLogger("kontrakt.runtime.client")

T = TypeVar("T")


class _Schedule:
    def __init__(
        self,
        terminal: Collection[str],
        known: Collection[str] | None,
        interval: float,
        backoff: float,
        max_interval: float,
        timeout: float,
        clock: Callable[[], float],
    ) -> None:
        if isinstance(terminal, str):
            raise TypeError("terminal is a collection of states, not one string")
        if not terminal:
            raise ValueError("terminal must name at least one state")
        if interval <= 0 or max_interval <= 0:
            raise ValueError("interval and max_interval must be positive")
        if backoff < 1:
            raise ValueError("backoff must be at least 1")
        if timeout < 0:
            raise ValueError("timeout must not be negative")
        self.terminal = frozenset(terminal)
        self.known = None if known is None else frozenset(known) | self.terminal
        self.warned: set[str] = set()
        self.delay = min(interval, max_interval)
        self.backoff = backoff
        self.max_interval = max_interval
        self.timeout = timeout
        self.clock = clock
        self.started = clock()

    def done(self, state: str) -> bool:
        if self.known is not None and state not in self.known and state not in self.warned:
            self.warned.add(state)
            logger.warning("undocumented state %r, treated as not terminal", state)
        return state in self.terminal

    def next_wait(self, state: str, last: object) -> float:
        """Seconds to sleep before the next fetch; raises `PollTimeout` when time is up."""
        elapsed = self.clock() - self.started
        remaining = self.timeout - elapsed
        if remaining <= 0:
            raise PollTimeout(
                f"still {state!r} after {elapsed:.1f}s", state=state, last=last, elapsed=elapsed
            )
        wait = min(self.delay, remaining)  # the last fetch happens at the deadline
        self.delay = min(self.delay * self.backoff, self.max_interval)
        return wait


def poll(
    fetch: Callable[[], T],
    state_of: Callable[[T], str],
    terminal: Collection[str],
    *,
    known: Collection[str] | None = None,
    interval: float = 1.0,
    backoff: float = 1.5,
    max_interval: float = 30.0,
    timeout: float = 600.0,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> T:
    """Call `fetch` until `state_of` its result is in `terminal`; return that result.

    Waits `interval` seconds, growing by `backoff` up to `max_interval`. After `timeout` seconds
    raises `PollTimeout` with the last state and object. A state outside `known` (when given) is
    logged once as a warning and, like any state outside `terminal`, means "keep waiting".
    """
    schedule = _Schedule(terminal, known, interval, backoff, max_interval, timeout, clock)
    while True:
        last = fetch()
        state = state_of(last)
        if schedule.done(state):
            return last
        sleep(schedule.next_wait(state, last))


async def apoll(
    fetch: Callable[[], Awaitable[T]],
    state_of: Callable[[T], str],
    terminal: Collection[str],
    *,
    known: Collection[str] | None = None,
    interval: float = 1.0,
    backoff: float = 1.5,
    max_interval: float = 30.0,
    timeout: float = 600.0,
    sleep: Callable[[float], Awaitable[None]] = anyio.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> T:
    """The async twin of `poll`."""
    schedule = _Schedule(terminal, known, interval, backoff, max_interval, timeout, clock)
    while True:
        last = await fetch()
        state = state_of(last)
        if schedule.done(state):
            return last
        await sleep(schedule.next_wait(state, last))

"""The status poller: unknown states keep it waiting, terminal ones end it, time runs out."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from pydantic import BaseModel

from kontrakt.runtime.client import BaseClient, PollTimeout, apoll, parse_json, poll
from tests.unit.runtime_client.conftest import FakeClock, Sleeps

# The DPS lifecycle as its spec states it (x-kontrakt-lifecycles, unknown-states: non-terminal).
TERMINAL = frozenset({"PRESERVED", "REJECTED"})
KNOWN = frozenset({"REGISTERED", "UPLOAD_COMPLETED", "TRANSFERRING", "VALIDATING", "ARCHIVING"})


def script(*states: str) -> Callable[[], dict[str, str]]:
    remaining = list(states)

    def fetch() -> dict[str, str]:
        state = remaining.pop(0) if len(remaining) > 1 else remaining[0]
        return {"status": state}

    return fetch


def status(obj: dict[str, str]) -> str:
    return obj["status"]


def test_unknown_state_in_the_middle_is_not_terminal(caplog: pytest.LogCaptureFixture) -> None:
    clock = FakeClock()
    sleeps = Sleeps(clock)
    fetch = script("UPLOAD_COMPLETED", "PROCESSING", "PROCESSING", "VALIDATING", "PRESERVED")
    with caplog.at_level(logging.WARNING, logger="kontrakt.runtime.client"):
        final = poll(fetch, status, TERMINAL, known=KNOWN, sleep=sleeps, clock=clock)
    assert final == {"status": "PRESERVED"}
    assert sleeps.calls == [1.0, 1.5, 2.25, 3.375]
    assert caplog.text.count("undocumented state 'PROCESSING'") == 1  # warned once


def test_rejected_is_terminal_too() -> None:
    assert poll(script("REJECTED"), status, TERMINAL, sleep=Sleeps())["status"] == "REJECTED"


def test_timeout_carries_the_last_state() -> None:
    clock = FakeClock()
    sleeps = Sleeps(clock)
    with pytest.raises(PollTimeout) as caught:
        poll(
            script("REGISTERED", "PROCESSING"),
            status,
            TERMINAL,
            timeout=10,
            sleep=sleeps,
            clock=clock,
        )
    error = caught.value
    assert error.state == "PROCESSING" and error.last == {"status": "PROCESSING"}
    assert error.elapsed == pytest.approx(10)
    assert sum(sleeps.calls) == pytest.approx(10)  # the last sleep is shortened to the deadline
    assert sleeps.calls == pytest.approx([1, 1.5, 2.25, 3.375, 10 - 8.125])
    assert "PROCESSING" in str(error) and "PROCESSING" in repr(error)


def test_interval_grows_to_max_interval() -> None:
    clock = FakeClock()
    sleeps = Sleeps(clock)
    with pytest.raises(PollTimeout):
        poll(
            script("VALIDATING"),
            status,
            TERMINAL,
            interval=2,
            backoff=3,
            max_interval=10,
            timeout=40,
            sleep=sleeps,
            clock=clock,
        )
    assert sleeps.calls[:4] == [2, 6, 10, 10]


def test_timeout_zero_fetches_once() -> None:
    calls: list[int] = []

    def fetch() -> dict[str, str]:
        calls.append(1)
        return {"status": "REGISTERED"}

    with pytest.raises(PollTimeout):
        poll(fetch, status, TERMINAL, timeout=0, sleep=Sleeps())
    assert calls == [1]


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"terminal": "PRESERVED"}, TypeError),  # a string is not a set of states
        ({"terminal": []}, ValueError),
        ({"interval": 0}, ValueError),
        ({"backoff": 0.5}, ValueError),
        ({"timeout": -1}, ValueError),
    ],
)
def test_argument_checks(kwargs: dict[str, Any], error: type[Exception]) -> None:
    arguments: dict[str, Any] = {"terminal": TERMINAL, **kwargs}
    with pytest.raises(error):
        poll(script("PRESERVED"), status, **arguments)


class Submission(BaseModel):
    id: str
    status: str  # an open set: a plain string, not an Enum that would reject PROCESSING


class Dps(BaseClient):
    _error_code_pointer = "/error/code"

    def get_submission(self, submission_id: str) -> Submission:
        return self._request(
            "GET",
            "/v1/submissions/{id}",
            path_params={"id": submission_id},
            expected={200: parse_json(Submission)},
        )


def test_polling_a_client_operation() -> None:
    states = iter(["UPLOAD_COMPLETED", "PROCESSING", "ARCHIVING", "PRESERVED"])

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"id": "s-1", "status": next(states), "new": "ignored"})

    with Dps("https://dps.test/dps-submission", transport=httpx.MockTransport(handler)) as dps:
        final = poll(
            lambda: dps.get_submission("s-1"),
            lambda s: s.status,
            TERMINAL,
            sleep=Sleeps(),
        )
    assert final == Submission(id="s-1", status="PRESERVED")


@pytest.mark.anyio
async def test_async_poll() -> None:
    clock = FakeClock()
    sleeps = Sleeps(clock)
    fetch = script("REGISTERED", "PROCESSING", "REJECTED")

    async def afetch() -> dict[str, str]:
        return fetch()

    final = await apoll(afetch, status, TERMINAL, sleep=sleeps.async_, clock=clock)
    assert final["status"] == "REJECTED" and sleeps.calls == [1.0, 1.5]

    async def never() -> dict[str, str]:
        return {"status": "PROCESSING"}

    with pytest.raises(PollTimeout) as caught:
        await apoll(never, status, TERMINAL, timeout=5, sleep=sleeps.async_, clock=clock)
    assert caught.value.state == "PROCESSING"

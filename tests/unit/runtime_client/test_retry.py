"""RetryTransport: which failures are retried, how long it waits, and what it leaves alone."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable, Iterator
from email.utils import format_datetime

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from kontrakt.runtime.client import (
    AsyncRetryTransport,
    RetryPolicy,
    RetryTransport,
    parse_retry_after,
)
from tests.unit.runtime_client.conftest import Sleeps

NO_JITTER = RetryPolicy(jitter=False)
NOW = 1_700_000_000.0


def scripted(
    *steps: int | tuple[int, dict[str, str]] | Exception,
) -> tuple[httpx.MockTransport, list[str]]:
    """A transport answering with the given statuses (or raising) in turn; records methods."""
    queue = list(steps)
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.method)
        request.read()
        step = queue.pop(0) if len(queue) > 1 else queue[0]
        if isinstance(step, Exception):
            raise step
        status, headers = step if isinstance(step, tuple) else (step, {})
        return httpx.Response(status, headers=headers, json={"n": len(seen)})

    return httpx.MockTransport(handler), seen


def client(transport: httpx.BaseTransport, policy: RetryPolicy, sleeps: Sleeps) -> httpx.Client:
    return httpx.Client(
        base_url="https://api.test", transport=RetryTransport(transport, policy, sleep=sleeps)
    )


# -- Retry-After ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("0", 0.0),
        ("120", 120.0),
        (" 7 ", 7.0),
        ("1.5", 1.5),
        ("-1", None),
        ("soon", None),
        ("", None),
        ("nan", None),
        ("inf", None),
        ("Tue, 14 Nov 2023 22:13:40 GMT", 20.0),  # NOW + 20 s
        ("Tue, 14 Nov 2023 22:13:40 -0000", 20.0),
        ("Mon, 13 Nov 2023 22:13:20 GMT", 0.0),  # in the past
        ("Tue, 99 Nov 2023 22:13:40 GMT", None),
    ],
)
def test_parse_retry_after(value: str, expected: float | None) -> None:
    assert parse_retry_after(value, now=NOW) == expected


@given(st.integers(min_value=0, max_value=10**9))
def test_delta_seconds_round_trip(seconds: int) -> None:
    assert parse_retry_after(str(seconds), now=NOW) == seconds


@given(st.integers(min_value=-(10**6), max_value=10**8))
def test_http_date_round_trip(offset: int) -> None:
    when = dt.datetime.fromtimestamp(NOW + offset, tz=dt.UTC)
    assert parse_retry_after(format_datetime(when, usegmt=True), now=NOW) == max(0, offset)


@given(st.text(max_size=40))
def test_any_text_is_a_wait_or_none(value: str) -> None:
    result = parse_retry_after(value, now=NOW)
    assert result is None or result >= 0


# -- statuses -------------------------------------------------------------------------------------


def test_retry_after_seconds_is_honoured(sleeps: Sleeps) -> None:
    transport, seen = scripted((503, {"Retry-After": "2"}), 200)
    response = client(transport, NO_JITTER, sleeps).get("/x")
    assert response.status_code == 200
    assert sleeps.calls == [2.0] and seen == ["GET", "GET"]


def test_retry_after_date_on_429_is_honoured(
    sleeps: Sleeps, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("kontrakt.runtime.client.retry.time.time", lambda: NOW)
    date = format_datetime(dt.datetime.fromtimestamp(NOW + 5, tz=dt.UTC), usegmt=True)
    transport, _ = scripted((429, {"Retry-After": date}), 200)
    assert client(transport, NO_JITTER, sleeps).get("/x").status_code == 200
    assert sleeps.calls == [5.0]


def test_retry_after_is_capped_by_backoff_max(sleeps: Sleeps) -> None:
    transport, _ = scripted((503, {"Retry-After": "3600"}), 200)
    client(transport, RetryPolicy(jitter=False, backoff_max=10), sleeps).get("/x")
    assert sleeps.calls == [10.0]


def test_unusable_retry_after_falls_back_to_backoff(sleeps: Sleeps) -> None:
    transport, _ = scripted((503, {"Retry-After": "later"}), 200)
    client(transport, NO_JITTER, sleeps).get("/x")
    assert sleeps.calls == [0.5]


def test_exponential_backoff_on_503_then_gives_up(sleeps: Sleeps) -> None:
    transport, seen = scripted(503, 429, 503, 503)
    policy = RetryPolicy(max_attempts=4, jitter=False)
    response = client(transport, policy, sleeps).get("/x")
    assert response.status_code == 503  # the last answer is handed back, not an exception
    assert response.json() == {"n": 4}
    assert sleeps.calls == [0.5, 1.0, 2.0] and len(seen) == 4


@pytest.mark.parametrize("status", [500, 502, 504])
def test_server_errors_are_not_retried_unless_asked(status: int, sleeps: Sleeps) -> None:
    # A 500 means the handler ran: sending the GET again would run it again.
    transport, seen = scripted(status, 200)
    assert client(transport, NO_JITTER, sleeps).get("/x").status_code == status
    assert len(seen) == 1
    transport, seen = scripted(status, 200)
    opted = RetryPolicy(jitter=False, statuses=frozenset({status, 503}))
    assert client(transport, opted, sleeps).get("/x").status_code == 200
    assert len(seen) == 2


def test_backoff_is_capped(sleeps: Sleeps) -> None:
    policy = RetryPolicy(max_attempts=10, backoff_initial=1, backoff_max=5, jitter=False)
    assert [policy.backoff(n) for n in range(1, 7)] == [1, 2, 4, 5, 5, 5]


def test_jitter_is_seedable_and_bounded() -> None:
    first = RetryPolicy(rng=random.Random(7).random)
    again = RetryPolicy(rng=random.Random(7).random)
    waits = [first.backoff(n) for n in range(1, 6)]
    assert waits == [again.backoff(n) for n in range(1, 6)]
    for n, wait in enumerate(waits, start=1):
        full = min(30.0, 0.5 * 2 ** (n - 1))
        assert full / 2 <= wait <= full


@pytest.mark.parametrize("status", [200, 201, 400, 401, 404, 409, 501])
def test_other_statuses_are_not_retried(status: int, sleeps: Sleeps) -> None:
    transport, seen = scripted(status)
    assert client(transport, NO_JITTER, sleeps).get("/x").status_code == status
    assert seen == ["GET"] and sleeps.calls == []


def test_post_is_not_retried_by_default(sleeps: Sleeps) -> None:
    transport, seen = scripted((503, {"Retry-After": "1"}), 200)
    response = client(transport, NO_JITTER, sleeps).post("/x", json={"a": 1})
    assert response.status_code == 503 and seen == ["POST"] and sleeps.calls == []


def test_post_is_retried_when_the_policy_says_so(sleeps: Sleeps) -> None:
    transport, seen = scripted(503, 201)
    policy = RetryPolicy(jitter=False, methods=frozenset({"post"}))
    assert client(transport, policy, sleeps).post("/x", json={"a": 1}).status_code == 201
    assert seen == ["POST", "POST"]


def test_a_one_shot_stream_body_is_not_retried(sleeps: Sleeps) -> None:
    transport, seen = scripted(503, 200)

    def body() -> Iterator[bytes]:
        yield b"chunk"

    response = client(transport, NO_JITTER, sleeps).put("/x", content=body())
    assert response.status_code == 503 and seen == ["PUT"]


# -- transport errors -----------------------------------------------------------------------------


def test_connect_error_is_retried_even_for_post(sleeps: Sleeps) -> None:
    transport, seen = scripted(httpx.ConnectError("refused"), 201)
    assert client(transport, NO_JITTER, sleeps).post("/x").status_code == 201
    assert seen == ["POST", "POST"] and sleeps.calls == [0.5]


def test_read_timeout_is_retried_only_when_asked_and_for_get_only(sleeps: Sleeps) -> None:
    transport, seen = scripted(httpx.ReadTimeout("slow"), 200)
    with pytest.raises(httpx.ReadTimeout):
        client(transport, NO_JITTER, sleeps).get("/x")
    assert seen == ["GET"]
    opted = RetryPolicy(jitter=False, retry_sent_errors=True)
    transport, seen = scripted(httpx.ReadTimeout("slow"), 200)
    assert client(transport, opted, sleeps).get("/x").status_code == 200
    transport, seen = scripted(httpx.ReadTimeout("slow"), 200)
    with pytest.raises(httpx.ReadTimeout):
        client(transport, opted, sleeps).post("/x")
    assert seen == ["POST"]


def test_persistent_connect_error_is_raised_after_max_attempts(sleeps: Sleeps) -> None:
    transport, seen = scripted(httpx.ConnectError("refused"))
    with pytest.raises(httpx.ConnectError):
        client(transport, NO_JITTER, sleeps).get("/x")
    assert len(seen) == 3 and sleeps.calls == [0.5, 1.0]


def test_max_attempts_one_means_no_retry(sleeps: Sleeps) -> None:
    transport, seen = scripted(503, 200)
    assert client(transport, RetryPolicy(max_attempts=1), sleeps).get("/x").status_code == 503
    assert len(seen) == 1


@pytest.mark.parametrize(
    "make",
    [
        lambda: RetryPolicy(max_attempts=0),
        lambda: RetryPolicy(backoff_initial=-1),
        lambda: RetryPolicy(backoff_max=-1),
    ],
)
def test_policy_validation(make: Callable[[], RetryPolicy]) -> None:
    with pytest.raises(ValueError):
        make()


def test_retry_log_lines_leave_the_query_out(
    sleeps: Sleeps, caplog: pytest.LogCaptureFixture
) -> None:
    transport, _ = scripted(503, 200)
    with caplog.at_level("INFO", logger="kontrakt.runtime.client"):
        client(transport, NO_JITTER, sleeps).get("/x", params={"api_key": "KEY-IN-QUERY"})
    assert "retrying GET https://api.test/x after HTTP 503" in caplog.text
    assert "KEY-IN-QUERY" not in caplog.text


# -- async ----------------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_async_retry_honours_retry_after(sleeps: Sleeps) -> None:
    transport, seen = scripted((429, {"Retry-After": "3"}), 503, 200)
    retrying = AsyncRetryTransport(transport, NO_JITTER, sleep=sleeps.async_)
    async with httpx.AsyncClient(base_url="https://api.test", transport=retrying) as http:
        response = await http.get("/x")
        assert response.status_code == 200
        assert sleeps.calls == [3.0, 1.0] and len(seen) == 3
        post = await http.post("/x")
    assert post.status_code == 200  # the scripted transport now answers 200


@pytest.mark.anyio
async def test_async_connect_error_then_success(sleeps: Sleeps) -> None:
    transport, seen = scripted(httpx.ConnectTimeout("slow"), 200)
    retrying = AsyncRetryTransport(transport, NO_JITTER, sleep=sleeps.async_)
    async with httpx.AsyncClient(transport=retrying) as http:
        assert (await http.delete("https://api.test/x")).status_code == 200
    assert seen == ["DELETE", "DELETE"]

"""The probe against a hostile provider: every limit holds on decoded bytes and on overall time.

A body gzipped twice is refused before it is inflated; a gzip bomb stops at the cap; headers
dripped byte by byte end at the request's deadline; a provider that never answers stops the run
after a few requests in a row (`provider-unreachable`) instead of costing requests x timeout.
Peak memory of these cases is measured in `bench/hostile.py`, not asserted here.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from kontrakt.conformance.auth import AuthUnavailable, Credentials
from kontrakt.conformance.manifest import Limits, Manifest
from kontrakt.conformance.probe import (
    MAX_TRANSPORT_FAILURES,
    Probe,
    ProbeError,
    ProviderUnreachable,
)
from kontrakt.conformance.redact import Redactor
from tests.e2e.hostile_provider import hostile_provider


@pytest.fixture(scope="module")
def hostile() -> Iterator[str]:
    with hostile_provider() as url:
        yield url


def _probe(url: str, **limits: float | int) -> Probe:
    return Probe(url, limits=Limits(**limits))  # type: ignore[arg-type]


def test_stacked_encodings_are_refused_unread(hostile: str) -> None:
    with pytest.raises(ProbeError) as caught:
        _probe(hostile).get("/gzip-gzip")
    assert caught.value.kind == "protocol" and "stacked" in caught.value.message


def test_a_gzip_bomb_stops_at_the_cap(hostile: str) -> None:
    with pytest.raises(ProbeError) as caught:
        _probe(hostile, max_body_bytes=1_000_000).get("/gzip-bomb")
    assert caught.value.kind == "too-large"
    assert caught.value.exchange is not None and caught.value.exchange.truncated


def test_a_raw_deflate_body_is_read(hostile: str) -> None:
    answer = _probe(hostile).get("/deflate-raw")
    assert answer.json() == {"items": [1, 2, 3]}


def test_dripped_headers_end_at_the_deadline(hostile: str) -> None:
    started = time.monotonic()
    with pytest.raises(ProbeError) as caught:
        _probe(hostile, timeout_seconds=1.5).get("/drip")
    assert caught.value.kind == "timeout"
    assert time.monotonic() - started < 6
    # The connection pool recovers: the next request works.
    assert _probe(hostile).get("/ok").status == 200


def test_a_provider_that_never_answers_stops_the_run_early(hostile: str) -> None:
    probe = _probe(hostile, timeout_seconds=0.5)
    kinds = []
    with pytest.raises(ProviderUnreachable):
        for _ in range(MAX_TRANSPORT_FAILURES + 3):
            try:
                probe.get("/silent")
            except ProviderUnreachable:
                raise
            except ProbeError as exc:
                kinds.append(exc.kind)
    assert kinds == ["timeout"] * (MAX_TRANSPORT_FAILURES - 1)
    assert probe.sent == MAX_TRANSPORT_FAILURES


@pytest.mark.parametrize(
    ("path", "expected"),
    [("/gzip-gzip", "stacked"), ("/gzip-bomb", "more than"), ("/drip", "no answer in time")],
)
def test_the_token_endpoint_is_read_within_the_same_bounds(
    hostile: str, path: str, expected: str
) -> None:
    manifest = Manifest.model_validate(
        {
            "profile": "dps/v1",
            "base_url": f"{hostile}/ok",
            "auth": {
                "type": "oauth2-client-credentials",
                "token_url": f"{hostile}{path}",
                "client_id": "c",
                "client_secret": "s3cret",
            },
            "limits": {"timeout_seconds": 1.5},
        }
    )
    credentials = Credentials(manifest, Redactor())
    started = time.monotonic()
    with pytest.raises(AuthUnavailable) as caught:
        credentials.token()
    assert expected in str(caught.value)
    assert time.monotonic() - started < 8

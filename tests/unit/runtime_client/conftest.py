"""Fixtures for the client runtime: keys, fake clocks, recorded sleeps, the token server."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

from tests.unit.runtime_client.servers import AuthServer, Holder, serve


class FakeClock:
    """A monotonic clock the test moves by hand."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class Sleeps:
    """Records requested sleeps instead of sleeping (optionally moving a fake clock)."""

    def __init__(self, clock: FakeClock | None = None) -> None:
        self.calls: list[float] = []
        self.clock = clock

    def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)
        if self.clock is not None:
            self.clock.advance(seconds)

    async def async_(self, seconds: float) -> None:
        self(seconds)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture(scope="session")
def rsa_key() -> RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="session")
def other_rsa_key() -> RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="session")
def _uvicorn() -> Iterator[tuple[Holder, str]]:
    holder = Holder()
    with serve(holder) as url:
        yield holder, url


@pytest.fixture
def live(_uvicorn: tuple[Holder, str]) -> tuple[AuthServer, str]:
    """A fresh `AuthServer` behind a real socket on 127.0.0.1, and its base URL."""
    holder, url = _uvicorn
    holder.server = AuthServer()
    return holder.server, url

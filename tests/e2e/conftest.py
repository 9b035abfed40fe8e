"""End-to-end tests run their async cases on asyncio."""

import pytest


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"

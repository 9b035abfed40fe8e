"""RSA keys generated once per session (2048-bit generation is the slow part of these tests)."""

from __future__ import annotations

import pytest

from tests.unit.runtime_server.helpers import Keys, new_keys


@pytest.fixture(scope="session")
def keys() -> Keys:
    return new_keys()

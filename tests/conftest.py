"""Shared test fixtures: where the publishers' documents (../shared) are, and a generate cache of
each test's own (so that no test reads what another stored, and nothing lands in ~/.cache)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("KONTRAKT_SHARED", REPO.parent / "shared"))


def require_shared() -> Path:
    """``../shared`` (or $KONTRAKT_SHARED); a failure under CI, a skip elsewhere, when missing."""
    if not SHARED.is_dir():
        message = f"the publishers' documents are expected in {SHARED} (set KONTRAKT_SHARED)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return SHARED


@pytest.fixture
def shared() -> Path:
    return require_shared()


@pytest.fixture(autouse=True)
def _own_generate_cache(
    monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """`kontrakt generate` (in process or as a subprocess) caches into a folder of this test's own."""
    monkeypatch.setenv("KONTRAKT_CACHE_DIR", str(tmp_path_factory.mktemp("generate-cache")))
    monkeypatch.delenv("KONTRAKT_NO_CACHE", raising=False)

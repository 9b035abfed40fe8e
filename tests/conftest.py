"""Shared test fixtures: where the publishers' documents (../shared) are."""

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

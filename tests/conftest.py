"""Shared fixtures."""

from __future__ import annotations

from pathlib import Path

import pytest

# The real data lives beside the repository, never in it (absent on a user's machine).
SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.fixture
def shared_data() -> Path:
    """Path to /work/shared/data (beside the repo); skips the test when it is absent."""
    if not SHARED_DATA.exists():
        pytest.skip(f"shared data not found at {SHARED_DATA}")
    return SHARED_DATA

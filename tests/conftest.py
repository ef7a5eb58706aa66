"""Shared fixtures: where the real reference data lives, and skip rules."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

#: ../shared/data relative to the repository root (see ../shared/data/README.md).
SHARED_DATA = Path(os.environ.get("TIANSHAN_SHARED_DATA",
                                  Path(__file__).resolve().parents[1].parent / "shared" / "data"))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """Path of the shared real reference data; skips the test when it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real reference data not found at {SHARED_DATA} "
                    "(set TIANSHAN_SHARED_DATA to the shared/data folder)")
    return SHARED_DATA

"""Fixtures of the fdsnws tests: the helper modules they share, as fixtures (the functions of a
conftest are not importable under ``--import-mode=importlib``).

``ff``: ``tests/services/fdsn_fixtures.py`` (event stores, PostgreSQL schemas, the live server,
HTTP requests); ``bench``: ``benchmarks/bench_fdsn_store.py`` (the synthetic catalogue and its
bulk loader). Each is loaded once, under the module name the other fdsnws tests use for it.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]


def _load(name: str, path: Path):
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


@pytest.fixture(scope="session")
def ff():
    """The module ``tests/services/fdsn_fixtures.py``."""
    return _load("tianshan_fdsn_test_fixtures", Path(__file__).parents[1] / "fdsn_fixtures.py")


@pytest.fixture(scope="session")
def bench():
    """The module ``benchmarks/bench_fdsn_store.py``."""
    return _load("tianshan_bench_fdsn_store", ROOT / "benchmarks" / "bench_fdsn_store.py")

"""Fixtures of the stage tests: the simulated Mw 4.5 event of ``mag_scenario.py``.

Functions of a conftest are not importable under ``--import-mode=importlib``: the helper module
itself comes as the ``scn`` fixture (loaded once, shared by the test modules).
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest


def _helper(name: str):
    """The module ``tests/stages/<name>.py`` (loaded once per session)."""
    key = f"tianshan_stages_{name}"
    if key not in sys.modules:
        spec = importlib.util.spec_from_file_location(key, Path(__file__).with_name(f"{name}.py"))
        module = importlib.util.module_from_spec(spec)
        sys.modules[key] = module
        spec.loader.exec_module(module)
    return sys.modules[key]


@pytest.fixture(scope="session")
def scn():
    """The ``mag_scenario`` helper module (constants, ``build``, ``packets``)."""
    return _helper("mag_scenario")


@pytest.fixture(scope="module")
def sc(scn):
    """The simulated Mw 4.5 event, its records, network and batch magnitudes (``mag_scenario.build()``),
    built once per test module."""
    return scn.build()

"""Fixtures of the alert-service tests: example alerts, a key, the real MQTT broker.

MQTT: ``$TIANSHAN_TEST_MQTT`` (``host:port``), else 127.0.0.1:1883. When no broker answers the
MQTT tests skip, except under ``CI=true`` where they fail (as in tests/stream/test_mqtt_source.py).
"""

from __future__ import annotations

import os
import socket
from datetime import datetime, timedelta, timezone

import pytest

T0 = datetime(2024, 6, 1, 8, 0, 0, tzinfo=timezone.utc)


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() == "true"


@pytest.fixture(scope="module")
def mqtt_broker() -> tuple[str, int]:
    """``(host, port)`` of a reachable MQTT broker (skip, or fail under CI=true, if none)."""
    host, _, port = os.environ.get("TIANSHAN_TEST_MQTT", "127.0.0.1:1883").rpartition(":")
    try:
        with socket.create_connection((host, int(port)), timeout=2.0):
            pass
    except OSError as err:
        msg = f"MQTT broker {host}:{port} not reachable ({err}); set TIANSHAN_TEST_MQTT=host:port"
        if _in_ci():
            pytest.fail(f"CI=true: MQTT tests must run, but {msg}")
        pytest.skip(msg)
    return host, int(port)


def make_alert(sequence: int = 1, event_id: str = "ev-1", lat: float = 41.9, lon: float = 84.3, mag: float = 6.5,
               cancelled: bool = False, issued_s: float = 6.0, targets=None, level: str = "warning"):
    from tianshan.core.alert import Alert, AlertLevel, AlertTarget

    if targets is None:
        targets = (AlertTarget("Luntai", 41.78, 84.25, 7.6, 3.0), AlertTarget("Kuqa", 41.72, 82.96, 6.4, 26.0),
                   AlertTarget("Korla", 41.73, 86.17, 5.8, 44.0))
    return Alert(event_id, sequence, T0, lat, lon, 12_000.0, mag, AlertLevel(level), () if cancelled else targets,
                 cancelled=cancelled, magnitude_uncertainty=0.3, issued_at=T0 + timedelta(seconds=issued_s))


@pytest.fixture
def alert_factory():
    return make_alert

"""Lossless JSON round trip of domain objects (``decode(encode(x)) == x``)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import numpy as np
import pytest

from tianshan.bus import codec
from tianshan.core import (Amplitude, Arrival, ErrorEllipse, Event, EventType, Magnitude, Origin, Pick,
                           Polarity, QCKind, QCRecord, StationMagnitude, StreamID)
from tianshan.core.errors import InputError

T0 = datetime(2024, 1, 22, 18, 9, 4, 123456, tzinfo=timezone.utc)


def _objects(rng):
    sid = StreamID("XJ", "AKS", "00", "BHZ")
    t = T0 + timedelta(microseconds=int(rng.integers(0, 10**6)))
    pick = Pick(sid, t, "P", float(rng.uniform(0.01, 0.5)), Polarity.NEGATIVE, "stalta-aic",
                float(rng.uniform(0, 1)))
    amp = Amplitude(sid, "AML", float(rng.uniform(1e-7, 1e-3)), "m", t, 0.8, 12.5, pick.id, "wa")
    origin = Origin(t - timedelta(seconds=9.87), float(rng.uniform(35, 49)), float(rng.uniform(73, 96)),
                    float(rng.uniform(0, 40e3)), 0.3, 2500.0, 4000.0, ErrorEllipse(3000.1, 1200.7, 271.3, 0.9),
                    0.41, 87.5, 12, 9, 0.12, "grid", "xj1d", False,
                    arrivals=(Arrival(pick.id, "P", 0.5, 33.0, 120.0, -0.07, 1.0), Arrival("smi:x/p/2", "S")),
                    version=3)
    mag = Magnitude("ML", float(rng.uniform(1, 6)), origin.id, 0.21, 9, "gb17740",
                    station_magnitudes=(StationMagnitude(sid, "ML", 4.4, amp.id, 0.1, 1.0),), version=2)
    event = Event(EventType.QUARRY_BLAST, "suspected", (origin,), (mag,), (pick,), (amp,), origin.id, mag.id,
                  "Luntai, Xinjiang")
    qc = QCRecord(sid, t, t + timedelta(seconds=1.5), QCKind.GAP, 1.5, "gap of 150 samples")
    return [pick, amp, origin, mag, event, qc]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_round_trip_is_lossless(seed):
    for obj in _objects(np.random.default_rng(seed)):
        data = codec.encode(obj, event_id="smi:org.tianshan/event/1")
        back, meta = codec.decode_with_meta(data)
        assert back == obj and type(back) is type(obj)
        assert meta == {"event_id": "smi:org.tianshan/event/1"}
        assert codec.decode(data.decode("utf-8")) == obj
        assert codec.from_dict(codec.to_dict(obj)) == obj


def test_times_are_iso_utc_with_microseconds():
    pick = _objects(np.random.default_rng(0))[0]
    msg = json.loads(codec.encode(pick))
    assert msg["type"] == "pick" and msg["v"] == codec.VERSION
    assert msg["data"]["time"] == pick.time.isoformat(timespec="microseconds")
    assert msg["data"]["time"].endswith("+00:00") and len(msg["data"]["time"]) == 32
    assert msg["data"]["stream_id"] == "XJ.AKS.00.BHZ"
    exact = Pick(pick.stream_id, datetime(2024, 1, 1, tzinfo=timezone.utc), "S")
    assert json.loads(codec.encode(exact))["data"]["time"] == "2024-01-01T00:00:00.000000+00:00"


@pytest.mark.parametrize("payload, field", [
    (b"\xff", None), (b"[1, 2]", None), (b'{"type": "x", "v": 1, "data": {}}', "type"),
    (b'{"type": "pick", "v": 99, "data": {}}', "v"), (b'{"type": "pick", "v": 1}', "data"),
    (b'{"type": "pick", "v": 1, "data": {"phase": "P"}}', "pick"),
    (b'{"type": "pick", "v": 1, "data": {"stream_id": "XJ.AKS", "time": "2024-01-01T00:00:00Z", "phase": "P"}}',
     "pick.stream_id"),
    (b'{"type": "pick", "v": 1, "data": {"stream_id": "XJ.AKS..BHZ", "time": "yesterday", "phase": "P"}}',
     "pick.time"),
    (b'{"type": "pick", "v": 1, "data": {"stream_id": "XJ.AKS..BHZ", "time": "2024-01-01T00:00:00Z", '
     b'"phase": "P", "probability": "high"}}', "pick.probability"),
    (b'{"type": "pick", "v": 1, "data": {"stream_id": "XJ.AKS..BHZ", "time": "2024-01-01T00:00:00Z", '
     b'"phase": "P", "colour": 1}}', "pick"),
    (b'{"type": "origin", "v": 1, "data": {"time": "2024-01-01T00:00:00Z", "latitude_deg": 95, '
     b'"longitude_deg": 80, "depth_m": 1000}}', "origin"),
])
def test_bad_payloads_raise_input_error_naming_the_field(payload, field):
    with pytest.raises(InputError) as err:
        codec.decode(payload)
    assert err.value.source == "bus payload"
    if field is not None:
        assert err.value.field == field


def test_encode_refuses_unknown_objects_and_reserved_meta():
    with pytest.raises(TypeError):
        codec.encode({"a": 1})
    pick = _objects(np.random.default_rng(0))[0]
    with pytest.raises(ValueError):
        codec.encode(pick, data=1)

"""Waveform discrimination features on synthetic traces with known ratios."""

from __future__ import annotations

import math
from datetime import datetime, timezone

import numpy as np
import pytest

from tianshan.core import Event, Magnitude, Origin, Pick, StreamID
from tianshan.events.classify import classify_event
from tianshan.events.classify.waveform import station_ratios, waveform_features

T0 = datetime(2024, 5, 15, 8, 0, tzinfo=timezone.utc)


def _burst(t, t_on, freq, amp, dur=3.0):
    env = np.where((t >= t_on) & (t < t_on + dur), np.sin(np.pi * np.clip((t - t_on) / dur, 0, 1)), 0.0)
    return amp * env * np.sin(2 * np.pi * freq * t)


def _stream(sp_ratio, hi_lo, stations=("AAA", "BBB"), fs=100.0):
    from obspy import Stream, Trace, UTCDateTime

    t = np.arange(0, 60, 1 / fs)
    rng = np.random.default_rng(1)
    traces = []
    for sta in stations:
        # P at 20 s: 7 Hz (amplitude 1) for the S/P band plus 2 Hz / 9 Hz components for the spectral ratio;
        # S at 30 s: 7 Hz with amplitude sp_ratio.
        p = _burst(t, 20.0, 7.0, 1.0) + _burst(t, 20.0, 2.0, 1.0) + _burst(t, 20.0, 9.0, hi_lo)
        s = _burst(t, 30.0, 7.0, sp_ratio, dur=4.0)
        data = p + s + 1e-4 * rng.standard_normal(t.size)
        traces.append(Trace(data, {"network": "XJ", "station": sta, "channel": "HHZ", "sampling_rate": fs,
                                   "starttime": UTCDateTime(T0)}))
    return Stream(traces)


def _picks(stations=("AAA", "BBB")):
    out = []
    for sta in stations:
        out.append(Pick(StreamID("XJ", sta, "", "HHZ"), T0.timestamp() + 20.0, "P"))
        out.append(Pick(StreamID("XJ", sta, "", "HHE"), T0.timestamp() + 30.0, "S"))
    return out


def test_sp_and_spectral_ratio_recover_known_values():
    st = _stream(sp_ratio=5.0, hi_lo=0.5)
    ratios = station_ratios(st, _picks())
    assert [r.stream for r in ratios] == ["XJ.AAA..HHZ", "XJ.BBB..HHZ"]
    for r in ratios:
        assert r.sp_amplitude_log10 == pytest.approx(math.log10(5.0), abs=0.05)
        # RMS over the P window: 9 Hz burst (amp 0.5) in 6-12 Hz vs 2 Hz burst (amp 1) in 1-3 Hz, and the
        # 7 Hz burst (amp 1) also in the high band: rms ratio sqrt(0.5**2 + 1) / 1.
        assert r.spectral_ratio_log10 == pytest.approx(math.log10(math.sqrt(1.25)), abs=0.08)
    wf = waveform_features(st, _picks())
    assert wf["station_count"] == 2 and wf["sp_amplitude_log10"] == pytest.approx(math.log10(5.0), abs=0.05)


def test_stations_without_s_or_trace_are_skipped():
    st = _stream(2.0, 1.0, stations=("AAA",))
    picks = _picks(("AAA", "BBB")) + [Pick(StreamID("XJ", "CCC", "", "HHZ"), T0, "P")]
    assert [r.stream for r in station_ratios(st, picks)] == ["XJ.AAA..HHZ"]
    assert waveform_features(st, [])["sp_amplitude_log10"] is None


def test_classify_with_stream_carries_waveform_features():
    ev = Event(picks=tuple(_picks())).with_origin(Origin(T0, 41.8, 84.3, 10_000.0)).with_magnitude(
        Magnitude("ML", 2.0))
    c = classify_event(ev, stream=_stream(3.0, 1.0))
    assert c.features.sp_amplitude_log10 == pytest.approx(math.log10(3.0), abs=0.05)
    assert c.features.station_count == 2 and c.features.local_hour == 14.0

"""The classical picker's re-trigger guard (SeisComP scautopick's dead time / minimum amplitude offset)."""

from __future__ import annotations

import numpy as np
import pytest

FS = 100.0
T_START = 1_704_067_200.0  # 2024-01-01T00:00:00Z


def _stream(seed: int, second_p_s: float | None = None):
    """120 s of noise, a strong P at 30 s with a decaying coda, and a coda burst 12 s after the P
    (vertical only, 12 x the coda level: the kind of later arrival that re-triggers STA/LTA);
    optionally a second, independent event's P at ``second_p_s``."""
    from obspy import Stream, Trace, UTCDateTime

    rng = np.random.default_rng(seed)
    n = int(120 * FS)
    t = np.arange(n) / FS
    env = np.where(t >= 30.0, 200.0 * np.exp(-(t - 30.0) / 12.0), 0.0)
    env += np.where(t >= 42.0, 12 * 120.0 * np.exp(-(t - 42.0) / 2.0) * np.exp(-1.0), 0.0)
    if second_p_s is not None:
        env += np.where(t >= second_p_s, 200.0 * np.exp(-(t - second_p_s) / 12.0), 0.0)
    z = rng.normal(0, 1.0, n) + env * rng.normal(0, 1.0, n)
    st = Stream()
    for comp, x in (("Z", z), ("N", rng.normal(0, 1.0, n) + 0.3 * env * rng.normal(0, 1, n)),
                    ("E", rng.normal(0, 1.0, n) + 0.3 * env * rng.normal(0, 1, n))):
        st += Trace(x.astype(np.float32), header={"network": "XX", "station": "AAA", "channel": "HH" + comp,
                                                   "sampling_rate": FS, "starttime": UTCDateTime(T_START)})
    return st


def _p_times(picks):
    return [round(p.time.timestamp() - T_START, 1) for p in picks if p.phase == "P"]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_coda_burst_does_not_make_a_second_p(seed):
    from tianshan.picks.stalta import ClassicPicker

    st = _stream(seed)
    assert _p_times(ClassicPicker(p_dead_time_s=0.0).pick(st)) == [30.0, pytest.approx(42.0, abs=0.2)]
    assert _p_times(ClassicPicker().pick(st)) == [30.0]


def test_a_later_event_is_still_picked():
    from tianshan.picks.stalta import ClassicPicker

    times = _p_times(ClassicPicker().pick(_stream(0, second_p_s=95.0)))
    assert times[0] == 30.0 and times[-1] == pytest.approx(95.0, abs=0.2) and len(times) == 2

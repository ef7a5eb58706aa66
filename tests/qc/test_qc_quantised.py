"""No false clipping/spike/flat findings on quantised, real-looking data; clipping still found.

Simulated records: :func:`tianshan.sim.scenario.simulate_scenario` (Peterson noise, demo
stations, integer counts: HH broadband channels of a few hundred counts and HN
accelerometers of a few counts). Real records: II.KAPI (ISPAQ test data) and the Oklahoma
2013-06-16 recording, which contain no clipping (their largest values are far below the
24-bit full scale and are not held; the old run-length rule reported 9 and 11 there).
"""

from __future__ import annotations

from datetime import datetime, timezone

import numpy as np
import pytest

from tianshan.core import QCKind
from tianshan.qc import QCConfig, check_stream
from tianshan.qc.base import quantum, range_steps
from tianshan.qc.clipping import clip_levels
from tianshan.sim import faults

T0 = datetime(2024, 6, 1, tzinfo=timezone.utc)


def _kinds(res, kind):
    return [r for r in res.records if r.kind is kind]


@pytest.fixture(scope="module")
def noise_hour():
    """One hour of simulated noise at 4 demo stations (HH? and HN?, int32 counts)."""
    from tianshan.regions.demo import demo_region
    from tianshan.sim.scenario import simulate_scenario
    from tianshan.sim.source import Source

    region = demo_region()
    stations = region.stations[:4]
    # a tiny event far outside the network: the records are noise
    src = Source(30.0, 100.0, 10_000.0, 2.0, T0)
    res = simulate_scenario(src, stations, region.velocity_model, start=T0, duration_s=3600.0, rng=11)
    return res.stream


def test_an_hour_of_simulated_noise_has_no_clipping_spikes_or_flat_stretches(noise_hour):
    from obspy import UTCDateTime

    assert {tr.stats.channel[:2] for tr in noise_hour} == {"HH", "HN"}
    # what makes it hard: small integer counts, extremes held for several samples
    hh = [tr for tr in noise_hour if tr.stats.channel.startswith("HH")]
    assert all(np.abs(tr.data).max() < 5000 for tr in hh)
    assert max(np.diff(np.flatnonzero(np.diff(tr.data) != 0)).max() for tr in hh) >= 3
    t0 = UTCDateTime(T0.replace(tzinfo=None))
    res = check_stream(noise_hour, t0, t0 + 3600)
    assert res.counts["clipping"] == 0
    assert res.counts["spike"] == 0
    # only channels that never change (noise below one count) are flat: dead, as a whole
    for r in _kinds(res, QCKind.FLAT):
        tr = noise_hour.select(id=str(r.stream_id))[0]
        assert np.ptp(tr.data) == 0 and r.detail.startswith("dead channel")
    assert res.counts["gap"] == 0 and res.counts["time_tear"] == 0


@pytest.mark.parametrize("frac", [0.3, 0.7, 0.9])
def test_clipping_injected_into_simulated_noise_is_found(noise_hour, frac):
    from obspy import Stream, UTCDateTime

    tr = noise_hour.select(channel="HHZ")[0]
    clipped, fault = faults.clip_trace(tr, frac * np.abs(tr.data).max())
    t0 = UTCDateTime(T0.replace(tzinfo=None))
    res = check_stream(Stream([clipped]), t0, t0 + 3600)
    clips = _kinds(res, QCKind.CLIPPING)
    assert clips and {abs(r.value) for r in clips} <= {fault.details["level"]}
    found = sum(int(r.detail.split()[0]) for r in clips)
    assert found >= 0.9 * fault.details["n_samples"]


def test_smooth_quantised_crests_are_not_clipping_but_a_cut_is():
    rng = np.random.default_rng(21)
    t = np.arange(360_000) / 100.0
    # microseism-like swell (6 s period) of 300 counts, small high-frequency noise, rounded to counts
    x = 300 * np.sin(2 * np.pi * t / 6.0 + rng.uniform(0, 6)) * (1 + 0.3 * np.sin(2 * np.pi * t / 700.0))
    x = np.rint(x + rng.normal(scale=0.3, size=t.size))
    held = np.diff(np.flatnonzero(np.diff(x) != 0))
    assert held.max() >= 5  # crests hold their value for several samples: the old rule's false alarms
    assert clip_levels(x) == []
    cut = np.clip(x, -320, 320)
    assert clip_levels(cut) == [-320.0, 320.0]
    # a slope that stalls for a few samples inside the record's range (seen in simulated
    # event records: 29466 29438 29438 29438 29398 on a 30,000-count swing) is not a clip level
    y = x.copy()
    k = np.arange(-300, 301)
    y[100_000 - 300:100_301] += np.rint(30_000 * np.exp(-(k / 60.0) ** 2))  # a large arrival
    i = 100_000 - 60  # on its rising flank, about 11,000 counts
    y[i:i + 3] = y[i]  # the slope stalls for 3 samples
    v = y[i]
    n_at = np.count_nonzero(y == v)
    band = max(np.count_nonzero((y >= v - 10) & (y < v)), np.count_nonzero((y > v) & (y <= v + 10))) / 10
    assert n_at >= 10 * band  # the histogram alone (rule 3) would call it a clip level ...
    assert v not in clip_levels(y)  # ... but the signal exceeds it (rule 4)


def test_coarse_quantisation_is_resolution_not_a_fault():
    from obspy import Stream, Trace, UTCDateTime

    rng = np.random.default_rng(22)
    x = np.rint(rng.normal(scale=0.45, size=360_000)).astype(np.int32)  # -2..2 counts, mostly 0
    assert range_steps(x) < QCConfig().clip_min_steps
    tr = Trace(x, header=dict(network="XJ", station="ACC", channel="HNZ", sampling_rate=100.0,
                              starttime=UTCDateTime(2024, 1, 1)))
    res = check_stream(Stream([tr]), tr.stats.starttime, tr.stats.starttime + 3600)
    assert [r.kind for r in res.records] == [QCKind.AVAILABILITY]
    # ... but a glitch many steps off is still a spike, and a constant channel is dead
    y = x.copy()
    y[1000] = 40
    res = check_stream(Stream([Trace(y, header=tr.stats)]), tr.stats.starttime, tr.stats.starttime + 3600)
    assert [r.start for r in _kinds(res, QCKind.SPIKE)] == [T0.replace(year=2024, month=1, day=1, second=10)]
    dead = Trace(np.zeros(360_000, dtype=np.int32), header=tr.stats)
    res = check_stream(Stream([dead]), tr.stats.starttime, tr.stats.starttime + 3600)
    (flat,) = _kinds(res, QCKind.FLAT)
    assert flat.detail == "dead channel: constant 0"


def test_quantum():
    assert quantum(np.array([0, 4, 12, -8, 4], dtype=np.int32)) == 4.0
    assert quantum(np.array([0.0, 3.0, 4.0, 4.0])) == 1.0
    assert quantum(np.array([0.25, 0.5, 1.25])) == 0.25
    assert quantum(np.full(5, 7.0)) == 0.0
    x = np.arange(100_000) * 2  # the whole record's gcd, beyond the first 65,536 samples
    x[-1] += 1
    assert quantum(x) == 1.0 and quantum(x[:-1]) == 2.0


@pytest.mark.parametrize("fs", [100.0, 200.0, 40.0, 20.0])
@pytest.mark.parametrize("phase", [0.0, 0.003, 0.007, 0.4999, 0.9999])
def test_window_edges_between_samples_are_not_gaps(fs, phase):
    """A chunk edge that falls between two samples is not a gap (initial or final)."""
    from obspy import Stream, Trace, UTCDateTime

    rng = np.random.default_rng(23)
    t0 = UTCDateTime(2024, 6, 1)
    tr = Trace((rng.normal(size=int(fs * 300)) * 100).astype(np.int32),
               header=dict(network="XJ", station="A", channel="HHZ", sampling_rate=fs,
                           starttime=t0 - 100 + phase / fs))
    for a, b in ((0.0, 100.0), (0.3, 100.3), (1.2345, 60.0077), (7.0071, 199.9)):
        res = check_stream(Stream([tr]), t0 + a, t0 + b)
        assert [r.kind for r in res.records] == [QCKind.AVAILABILITY], (a, b)
        assert res.records[0].value == 100.0
    # data starting at most one sample interval after the window start: no gap either;
    # later, a gap
    res = check_stream(Stream([tr.slice(t0 + 10 + 0.5 / fs)]), t0 + 10, t0 + 20)
    assert res.counts["gap"] == 0
    res = check_stream(Stream([tr.slice(t0 + 10 + 1.5 / fs)]), t0 + 10, t0 + 20)
    assert res.counts["gap"] == 1


def test_real_records_have_no_clipping(shared_data):
    import glob

    import obspy

    for doy in (5, 6, 7):
        st = obspy.read(str(shared_data / f"qc/ispaq_kapi/II.KAPI.00.BHZ.2013.{doy:03d}.M"))
        t0 = obspy.UTCDateTime(2013, 1, doy)
        res = check_stream(st, t0, t0 + 86400)
        assert res.counts["clipping"] == 0 and res.counts["spike"] == 0 and res.counts["flat"] == 0
    st = obspy.Stream()
    for f in sorted(glob.glob(str(shared_data / "waveforms/ok_2013-06-16/*.msd"))):
        st += obspy.read(f)
    t0 = obspy.UTCDateTime("2013-06-16T15:37:50")
    res = check_stream(st, t0, t0 + 360)
    assert res.counts["clipping"] == 0 and res.counts["spike"] == 0 and res.counts["flat"] == 0

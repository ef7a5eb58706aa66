"""Continuous multi-event records (tianshan.sim.sequence): equal to the scenario for one event, seamless, additive."""

from datetime import timedelta

import numpy as np
import pytest
from pyproj import Geod

from tianshan.core import Channel, InstrumentKind, Station, StreamID
from tianshan.core.errors import InputError
from tianshan.core.velocity import VelocityModel
from tianshan.sim.scenario import simulate_scenario
from tianshan.sim.sequence import simulate_sequence, write_sequence
from tianshan.sim.source import Source

GEOD = Geod(a=6_371_000.0, b=6_371_000.0)
MODEL = VelocityModel.from_vp("xj-test", [0.0, 26e3, 54e3], [6100.0, 6700.0, 8200.0], moho_m=54e3)
A = Source(41.78, 84.27, 10e3, 4.5, "2024-03-01T08:00:20")
B = Source(41.90, 84.50, 15e3, 3.5, "2024-03-01T08:01:40")
START = A.origin_time - timedelta(seconds=20.0)


def _stations(distances_m=(15e3, 60e3, 140e3)):
    out = []
    for i, d in enumerate(distances_m):
        lon, lat, _ = GEOD.fwd(A.longitude_deg, A.latitude_deg, 100.0 * i + 30.0, d)
        code = f"SQ{i}"
        chans = tuple(Channel(StreamID("XX", code, "00", "HH" + comp), lat, lon, 1000.0, 100.0,
                              azimuth_deg=az, dip_deg=dip, kind=InstrumentKind.BROADBAND)
                      for comp, az, dip in (("Z", 0.0, -90.0), ("N", 0.0, 0.0), ("E", 90.0, 0.0)))
        out.append(Station("XX", code, lat, lon, 1000.0, channels=chans))
    return out


def _by_id(stream):
    return {tr.id: tr for tr in stream}


def test_one_source_equals_scenario():
    stations = _stations()
    seq = simulate_sequence([A], stations, MODEL, START, 120.0, rng=5)
    ref = simulate_scenario(A, stations, MODEL, START, duration_s=120.0, rng=5)
    got, want = _by_id(seq.stream), _by_id(ref.stream)
    assert set(got) == set(want) and len(got) == 9
    for key, tr in want.items():
        assert got[key].stats.starttime == tr.stats.starttime and got[key].stats.npts == tr.stats.npts == 12000
        # Same random draws; only float rounding of the local window's time axis differs (<= 1 count).
        assert np.max(np.abs(got[key].data.astype(np.int64) - tr.data)) <= 1
        assert np.max(np.abs(tr.data)) > 1000  # the check compares real signal, not silence
    for t_seq, t_ref in zip(seq.truth[0], ref.truth):
        assert t_seq.has_signal == t_ref.has_signal and t_seq.p_time == t_ref.p_time
        assert t_seq.pga_m_s2 == pytest.approx(t_ref.pga_m_s2, rel=1e-9)
    assert seq.stations == ref.stations and set(seq.responses) == set(ref.responses)


def test_two_sources_add_and_nothing_comes_before_the_second():
    """(A, B) minus (A alone), without noise: B's signal only, silent before B's P, present after."""
    stations = _stations()
    both = _by_id(simulate_sequence([A, B], stations, MODEL, START, 240.0, rng=9, noise=False).stream)
    only_a = _by_id(simulate_sequence([A], stations, MODEL, START, 240.0, rng=9, noise=False).stream)
    seq = simulate_sequence([B], stations, MODEL, START, 240.0, rng=9, noise=False)
    for truth in seq.truth[0]:
        tr = both[f"XX.{truth.station}.00.HHZ"]
        diff = tr.data.astype(np.int64) - only_a[tr.id].data
        i_p = int((truth.p_time - START).total_seconds() * 100.0)
        peak = np.max(np.abs(diff[i_p:i_p + 2000]))
        assert peak > 100
        # Before B's P only rounding and the response's circular-convolution leak (the
        # scenario's PAD_S; measured 2.6e-5 of B's peak at 15 km) remain.
        assert np.max(np.abs(diff[:i_p - 50])) <= 1 + 1e-4 * peak


def test_continuous_noise_has_no_seam():
    """One trace per channel over the whole span; noise statistics are the same in every minute."""
    stations = _stations((30e3,))
    far = Source(30.0, 100.0, 10e3, 3.0, START + timedelta(seconds=100))  # > 1,500 km: no signal
    res = simulate_sequence([far], stations, MODEL, START, 600.0, rng=3)
    assert not res.truth[0][0].has_signal
    assert len(res.stream) == 3 and all(tr.stats.npts == 60_000 for tr in res.stream)
    tr = res.stream.select(channel="HHZ")[0].copy()
    tr.data = tr.data.astype(float)
    tr.filter("bandpass", freqmin=1.0, freqmax=10.0, zerophase=True)
    rms = np.array([np.sqrt(np.mean(tr.data[k * 6000 + 300:(k + 1) * 6000 - 300] ** 2)) for k in range(10)])
    assert rms.min() > 0 and rms.max() / rms.min() < 1.5
    # No step anywhere: the largest sample-to-sample jump is within the noise's own range.
    d = np.diff(tr.data[300:-300])  # away from the filter's edge transients
    assert np.abs(d).max() < 8 * np.std(d)


def test_write_sequence_round_trip(tmp_path):
    from tianshan.io.sds import read_sds

    stations = _stations((20e3, 80e3))
    calls = []
    paths = write_sequence([B, A], stations, MODEL, START, 180.0, tmp_path, rng=2,
                           progress=lambda d, t: calls.append((d, t)))
    assert calls[-1] == (2, 2)
    assert len(paths["result"].stream) == 0 and len(paths["result"].truth) == 2
    st = read_sds(paths["sds_root"], "XX.*.*.*", START, START + timedelta(seconds=180))
    assert len(st) == 6 and all(tr.stats.npts == 18_000 for tr in st)
    assert paths["stationxml"].is_file()
    lines = paths["sources_csv"].read_text().splitlines()
    assert lines[0].startswith("origin_time") and len(lines) == 3 and "3.500" in lines[1]


def test_bad_input():
    stations = _stations((20e3,))
    with pytest.raises(InputError) as err:
        simulate_sequence([], stations, MODEL, START, 60.0)
    assert err.value.field == "sources"
    for bad in (0.0, -5.0, float("nan"), "x", 3 * 86_400.0):
        with pytest.raises(InputError):
            simulate_sequence([A], stations, MODEL, START, bad)

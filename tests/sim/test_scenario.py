"""End-to-end scenario: simulate 5 stations for 60 s, write, re-read and check against the truth."""

from datetime import timedelta

import numpy as np
import pytest
from pyproj import Geod

from tianshan.core import Channel, InstrumentKind, Station, StreamID
from tianshan.core.velocity import VelocityModel
from tianshan.sim.faults import FaultKind, FaultPlan
from tianshan.sim.scenario import _rotd_candidates, simulate_scenario
from tianshan.sim.source import Source

GEOD = Geod(a=6_371_000.0, b=6_371_000.0)
MODEL = VelocityModel.from_vp("xj-test", [0.0, 26e3, 54e3], [6100.0, 6700.0, 8200.0], moho_m=54e3)
SOURCE = Source(41.78, 84.27, 10e3, 5.5, "2024-03-01T08:00:00")
START = SOURCE.origin_time - timedelta(seconds=10.0)
DISTANCES_M = (12e3, 40e3, 90e3, 160e3, 2_000e3)  # the last one is beyond the signal distance


def _stations():
    out = []
    for i, d in enumerate(DISTANCES_M):
        lon, lat, _ = GEOD.fwd(SOURCE.longitude_deg, SOURCE.latitude_deg, 70.0 * i, d)
        code = f"ST{i}"
        chans = []
        for band, kind in (("HH", InstrumentKind.BROADBAND), ("HN", InstrumentKind.STRONG_MOTION)):
            for comp, az, dip in (("Z", 0.0, -90.0), ("N", 0.0, 0.0), ("E", 90.0, 0.0)):
                chans.append(Channel(StreamID("XX", code, "00", band + comp), lat, lon, 1200.0, 100.0,
                                     azimuth_deg=az, dip_deg=dip, kind=kind))
        out.append(Station("XX", code, lat, lon, 1200.0, channels=tuple(chans)))
    return out


@pytest.fixture(scope="module")
def scenario(tmp_path_factory):
    from tianshan.sim.writer import write_scenario

    calls = []
    res = simulate_scenario(SOURCE, _stations(), MODEL, START, duration_s=60.0, rng=11,
                            progress=lambda done, total: calls.append((done, total)))
    out = tmp_path_factory.mktemp("scenario")
    return res, write_scenario(res, out), calls


def test_records_and_truth(scenario):
    res, _, calls = scenario
    assert calls[-1] == (5, 5)
    assert len(res.stream) == 30
    assert all(tr.stats.npts == 6000 and tr.data.dtype == np.int32 for tr in res.stream)
    assert [t.has_signal for t in res.truth] == [True, True, True, True, False]
    near, far = res.truth[0], res.truth[-1]
    assert near.p_phase == "Pg" and near.s_time > near.p_time
    assert far.pga_m_s2 == 0.0 and far.p_time is not None
    pgas = [t.pga_m_s2 for t in res.truth[:4]]
    assert pgas == sorted(pgas, reverse=True)  # attenuation with distance
    # Every channel got the nominal gain of its kind, and a full response.
    for st in res.stations:
        for ch in st.channels:
            assert ch.gain is not None and ch.stream_id in res.responses
            assert ch.gain.input_units == ("M/S" if ch.kind is InstrumentKind.BROADBAND else "M/S**2")


def test_written_files_round_trip(scenario):
    from obspy import read_inventory

    from tianshan.io.quakeml import read_quakeml
    from tianshan.io.sds import read_sds
    from tianshan.sim.writer import read_truth_arrivals

    res, paths, _ = scenario
    st = read_sds(paths.sds_root, ["XX.*.00.*"], res.start, res.start.timestamp() + 60.0)
    assert sorted(tr.id for tr in st) == sorted(tr.id for tr in res.stream)
    by_id = {tr.id: tr for tr in res.stream}
    for tr in st:
        assert tr.stats.npts == 6000
        np.testing.assert_array_equal(tr.data, by_id[tr.id].data)
    inv = read_inventory(str(paths.stationxml))
    assert len(inv.get_contents()["channels"]) == 30
    resp = inv.get_response("XX.ST0.00.HHZ", st[0].stats.starttime)
    assert len(resp.response_stages) == 2 and resp.instrument_sensitivity.input_units == "M/S"
    (event,) = read_quakeml(paths.quakeml)
    origin = event.preferred_origin
    assert origin.method == "scenario" and origin.evaluation_mode.value == "manual"
    assert origin.latitude_deg == pytest.approx(SOURCE.latitude_deg) and origin.depth_m == pytest.approx(10e3)
    assert origin.time == SOURCE.origin_time
    assert event.preferred_magnitude.type == "Mw" and event.preferred_magnitude.value == pytest.approx(5.5)
    assert all(p.method == "theoretical" for p in event.picks)
    p_picks = {p.stream_id.station: p for p in event.picks if p.phase.startswith("P")}
    assert set(p_picks) == {"ST0", "ST1", "ST2", "ST3"}
    assert p_picks["ST0"].time == res.truth[0].p_time.replace(microsecond=p_picks["ST0"].time.microsecond)
    assert abs((p_picks["ST0"].time - res.truth[0].p_time).total_seconds()) < 1e-3
    rows = read_truth_arrivals(paths.arrivals_csv)
    assert [r["station"] for r in rows] == [f"ST{i}" for i in range(5)]
    assert rows[-1]["has_signal"] == "false" and float(rows[0]["pga_m_s2"]) == pytest.approx(res.truth[0].pga_m_s2,
                                                                                          rel=1e-5)


def test_p_arrival_visible_near_theoretical_time(scenario):
    from obspy.signal.trigger import recursive_sta_lta, trigger_onset

    res, _, _ = scenario
    truth = res.truth[1]  # 40 km
    tr = res.stream.select(station="ST1", channel="HHZ")[0].copy()
    tr.detrend("demean").filter("bandpass", freqmin=1.0, freqmax=15.0)
    fs = tr.stats.sampling_rate
    cft = recursive_sta_lta(tr.data.astype(float), int(0.5 * fs), int(10 * fs))
    onsets = trigger_onset(cft, 4.0, 1.0)
    assert len(onsets) >= 1
    t_on = tr.stats.starttime + onsets[0][0] / fs
    assert abs(t_on.timestamp - truth.p_time.timestamp()) < 1.0


def test_remove_response_gives_true_pga(scenario):
    """Accelerometer records -> remove_response -> RotD50 PGA within a factor 1.5 of the truth."""
    from tianshan.sim.peaks import rotd50

    res, _, _ = scenario
    for i in (0, 1, 2):
        st = res.stream.select(station=f"ST{i}", channel="HN?").copy()
        for tr in st:
            tr.stats.response = res.responses[StreamID("XX", f"ST{i}", "00", tr.stats.channel)]
        st.remove_response(output="ACC", pre_filt=(0.05, 0.1, 30.0, 45.0), water_level=None)
        n = st.select(channel="HNN")[0].data
        e = st.select(channel="HNE")[0].data
        pga = rotd50(n, e)
        assert pga == pytest.approx(res.truth[i].pga_m_s2, rel=0.5)


def test_determinism():
    sts = _stations()[:2]
    a = simulate_scenario(SOURCE, sts, MODEL, START, duration_s=20.0, rng=3)
    b = simulate_scenario(SOURCE, sts, MODEL, START, duration_s=20.0, rng=3)
    c = simulate_scenario(SOURCE, sts, MODEL, START, duration_s=20.0, rng=4)
    assert all(np.array_equal(x.data, y.data) for x, y in zip(a.stream, b.stream))
    assert a.truth == b.truth
    assert not all(np.array_equal(x.data, y.data) for x, y in zip(a.stream, c.stream))


def test_noise_only_and_faults(tmp_path):
    from tianshan.sim.writer import write_scenario

    sts = _stations()[:3]
    quiet = simulate_scenario(SOURCE, sts, MODEL, START, duration_s=20.0, rng=1, noise=False)
    hn = quiet.stream.select(station="ST2", channel="HNZ")[0]
    assert np.all(hn.data[:int(10.0 * 100)] == 0)  # before P nothing at all without noise
    plan = FaultPlan(gap_probability=0.5, spike_probability=0.5, clip_probability=0.3, tear_probability=0.5,
                     dead_probability=0.2)
    res = simulate_scenario(SOURCE, sts, MODEL, START, duration_s=30.0, rng=5, faults=plan)
    assert len(res.faults) > 3 and {f.kind for f in res.faults} >= {FaultKind.GAP, FaultKind.SPIKE}
    paths = write_scenario(res, tmp_path)
    assert paths.faults_csv is not None and len(paths.faults_csv.read_text().splitlines()) == len(res.faults) + 1


def test_rotd_candidates_exact():
    from tianshan.sim.peaks import rotd50

    rng = np.random.default_rng(0)
    for _ in range(5):
        h = rng.standard_normal((2, 20000)) * np.exp(-np.linspace(0, 5, 20000))
        idx = _rotd_candidates(h[0], h[1])
        assert idx.size < 5000
        assert rotd50(h[0, idx], h[1, idx]) == rotd50(h[0], h[1])

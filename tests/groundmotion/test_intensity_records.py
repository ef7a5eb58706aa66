"""Station ground motion from three-component ObsPy streams: GB/T 17742 peaks, horizontals, refusals.

Real components: simulated ground acceleration (tianshan.sim.stochastic) recorded
through the nominal instrument chains (tianshan.sim.response) to counts, and
ObsPy's response removal. Tolerances are stated per test.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from obspy import Stream, Trace, UTCDateTime
from obspy.core.inventory import Channel, Inventory, Network, Station

from tianshan.core.errors import InputError
from tianshan.groundmotion.intensity import gbt17742, records
from tianshan.groundmotion.intensity.records import RecordConfig, RecordRefused
from tianshan.sim.response import SensorModel, ground_to_counts, nominal_response
from tianshan.sim.stochastic import simulate_components

T0 = UTCDateTime(2024, 3, 1, 12, 0, 0)


def _stream(data, fs, net="XJ", sta="ABC", loc="", bi="HN", comps="ZNE", start=T0):
    return Stream([Trace(np.asarray(d), header=dict(network=net, station=sta, location=loc, channel=bi + c,
                                                    sampling_rate=fs, starttime=start))
                   for d, c in zip(data, comps)])


def _inventory(fs, sensor, net="XJ", sta="ABC", loc="", bi="HN"):
    chans = [Channel(bi + c, loc, 43.0, 87.0, 900.0, 0.0, azimuth=az, dip=dip, sample_rate=fs,
                     response=nominal_response(sensor, fs))
             for c, az, dip in (("Z", 0.0, -90.0), ("N", 0.0, 0.0), ("E", 90.0, 0.0))]
    return Inventory([Network(net, [Station(sta, 43.0, 87.0, 900.0, channels=chans)])], source="test")


def _circular(fs=100.0, dur=60.0, amp=0.8, f=1.0, amp_z=0.2, fz=2.0):
    t = np.arange(int(dur * fs)) / fs
    w, wz = 2 * math.pi * f, 2 * math.pi * fz
    return np.vstack([amp_z * np.sin(wz * t), amp * np.sin(w * t), amp * np.cos(w * t)])


def test_vector_sum_is_taken_sample_by_sample():
    # Circular horizontal motion: |a_h(t)| = A at every sample, so the vector-sum PGA is
    # sqrt(A^2 + A_z^2), not sqrt(2 A^2 + A_z^2) (the combination of component peaks).
    # Tolerances: PGA 0.2 % (filter gain at 1-2 Hz); PGV 2 % (velocity offset of the 5 s taper).
    fs, amp, amp_z = 100.0, 0.8, 0.2
    m = records.station_motion(_stream(_circular(fs, amp=amp, amp_z=amp_z), fs), units="m/s**2")
    assert m.usable and m.flags == ()
    assert m.pga_vector_m_s2 == pytest.approx(math.hypot(amp, amp_z), rel=2e-3)
    pgv = math.hypot(amp / (2 * math.pi * 1.0), amp_z / (2 * math.pi * 2.0))
    assert m.pgv_vector_m_s == pytest.approx(pgv, rel=2e-2)
    assert m.intensity == gbt17742.instrumental_intensity(m.pga_vector_m_s2, m.pgv_vector_m_s)
    assert m.intensity_a == pytest.approx(gbt17742.intensity_from_pga(m.pga_vector_m_s2), abs=1e-12)
    assert m.degree == gbt17742.degree(m.intensity)
    # horizontals: each component peaks at A; every rotation of a circle peaks at A (RotD50 = A)
    assert m.pga_max_h_m_s2 == pytest.approx(amp, rel=2e-3)
    assert m.pga_rotd50_m_s2 == pytest.approx(amp, rel=2e-3)
    # 1 Hz forcing of the 1.0 s, 5 % oscillator: resonance, PSA = A / (2 zeta) (1 %)
    assert m.periods_s == (0.3, 1.0, 3.0)
    assert m.psa_max_h_m_s2[1] == pytest.approx(amp / 0.1, rel=1e-2)
    assert m.psa_rotd50_m_s2[1] == pytest.approx(amp / 0.1, rel=1e-2)
    assert (m.start, m.channels) == (T0.datetime.replace(tzinfo=m.start.tzinfo), ("HNZ", "HNN", "HNE"))


def test_band_limits_are_applied():
    # 25 Hz is outside 0.1-10 Hz: the GB/T PGA drops; 0.02 Hz likewise
    fs = 100.0
    t = np.arange(int(60 * fs)) / fs
    hi = np.vstack([0.1 * np.sin(2 * math.pi * 25 * t)] * 3)
    cfg = RecordConfig()
    pga, _, lowpass = records.gbt17742_peaks(hi, fs, cfg)
    assert lowpass and pga < 0.01 * math.sqrt(3) * 0.1
    inband = np.vstack([0.1 * np.sin(2 * math.pi * 3 * t)] * 3)
    assert records.gbt17742_peaks(inband, fs, cfg)[0] == pytest.approx(math.sqrt(3) * 0.1, rel=2e-3)


def _simulated(mw=5.5, dist_m=25e3, fs=100.0, seed=4, dur=100.0, peak_m_s2=None):
    """Simulated (3, n) ground acceleration Z, N, E (m/s^2), optionally scaled to a peak."""
    rng = np.random.default_rng(seed)
    acc = simulate_components(mw, dist_m, 3.0, 6.0, int(dur * fs), fs, rng)
    return acc if peak_m_s2 is None else acc * (peak_m_s2 / np.max(np.abs(acc)))


@pytest.mark.parametrize("sensor,bi,peak,rel", [(SensorModel.EPISENSOR_2G, "HN", 1.0, 0.02),
                                               (SensorModel.STS2, "HH", 0.05, 0.03)])
def test_counts_with_inventory_match_ground_truth(sensor, bi, peak, rel):
    """Raw counts + StationXML response -> the same motion as the true acceleration (2 %/3 %, 0.1 intensity).

    The broadband record is kept weak (0.05 m/s^2): stronger motion saturates an STS-2 (refused as clipped).
    """
    fs = 100.0
    acc = _simulated(fs=fs, peak_m_s2=peak)
    truth = records.station_motion(_stream(acc, fs, bi=bi), units="m/s**2")
    counts = ground_to_counts(acc, sensor, fs)
    assert counts.dtype == np.int32
    st = _stream(counts, fs, bi=bi)
    got = records.station_motion(st, _inventory(fs, sensor, bi=bi))
    assert got.usable
    assert got.pga_vector_m_s2 == pytest.approx(truth.pga_vector_m_s2, rel=rel)
    assert got.pgv_vector_m_s == pytest.approx(truth.pgv_vector_m_s, rel=rel)
    assert abs(got.intensity - truth.intensity) <= 0.1 + 1e-9
    assert got.psa_rotd50_m_s2[0] == pytest.approx(truth.psa_rotd50_m_s2[0], rel=rel)
    # declared units in gal give the same as m/s^2
    gal = records.station_motion(_stream(acc * 100.0, fs, bi=bi), units="gal")
    assert gal.pga_vector_m_s2 == pytest.approx(truth.pga_vector_m_s2, rel=1e-12)


def test_causal_filter_option_and_low_sample_rate_note():
    fs = 100.0
    acc = _simulated(fs=fs)
    zp = records.station_motion(_stream(acc, fs), units="m/s**2")
    causal = records.station_motion(_stream(acc, fs), units="m/s**2", config=RecordConfig(zero_phase=False))
    assert causal.pga_vector_m_s2 == pytest.approx(zp.pga_vector_m_s2, rel=0.2)
    low = records.station_motion(_stream(acc[:, ::5], 20.0), units="m/s**2")
    assert low.usable and any("low-pass not applied" in n for n in low.notes)


def _refusal(stream, **kw):
    with pytest.raises(RecordRefused) as err:
        records.station_motion(stream, **kw)
    assert isinstance(err.value, InputError)
    return err.value.flag


def test_refusals():
    fs = 100.0
    acc = _simulated(fs=fs, peak_m_s2=1.0)
    good = _stream(acc, fs)
    assert _refusal(Stream(good[:2]), units="m/s**2") == "missing_component"
    assert _refusal(Stream([good[1], good[2]]), units="m/s**2") == "missing_component"
    assert _refusal(good) == "unknown_units"
    assert _refusal(good, units="furlong/fortnight") == "unknown_units"
    counts = ground_to_counts(acc, SensorModel.EPISENSOR_2G, fs)
    assert _refusal(_stream(counts, fs), units="m/s**2") == "wrong_units"
    assert _refusal(_stream(acc * 100.0, fs), units="m/s**2") == "absurd_amplitude"   # gal declared as m/s^2
    assert _refusal(_stream(acc[:, :500], fs), units="m/s**2") == "too_short"
    dead = acc.copy()
    dead[0] = 0.0
    assert _refusal(_stream(dead, fs), units="m/s**2") == "dead_channel"
    nan = acc.copy()
    nan[2, 100] = np.nan
    assert _refusal(_stream(nan, fs), units="m/s**2") == "non_finite"
    two = good + _stream(acc, fs, sta="XYZ")
    assert _refusal(two, units="m/s**2") == "ambiguous"
    # no response for this station in the inventory
    inv = _inventory(fs, SensorModel.EPISENSOR_2G)
    assert _refusal(_stream(counts, fs, sta="NOPE"), inventory=inv) == "no_response"
    # a response whose input is neither acceleration nor velocity (a pressure sensor, say)
    for cha in inv[0][0]:
        cha.response.instrument_sensitivity.input_units = "PA"
    assert _refusal(_stream(counts, fs), inventory=inv) == "wrong_units"


def test_gap_and_sample_rate_mismatch():
    fs = 100.0
    acc = _simulated(fs=fs)
    st = _stream(acc, fs)
    n = acc.shape[1]
    # split N into two pieces with a 2 s gap
    head = dict(network="XJ", station="ABC", location="", channel="HNN", sampling_rate=fs)
    first = Trace(acc[1, : n // 2].copy(), header=dict(head, starttime=T0))
    second = Trace(acc[1, n // 2 + 200:].copy(), header=dict(head, starttime=T0 + (n // 2 + 200) / fs))
    gapped = Stream([st[0], first, second, st[2]])
    assert _refusal(gapped, units="m/s**2") == "gap"
    # the same channel twice: identical samples merge, different samples are refused
    assert records.station_motion(st + Stream([st[1].copy()]), units="m/s**2").usable
    conflicting = st[1].copy()
    conflicting.data = conflicting.data * 1.5
    assert _refusal(st + Stream([conflicting]), units="m/s**2") == "gap"
    other = st.copy()
    other[2].stats.sampling_rate = 50.0
    assert _refusal(other, units="m/s**2") == "sample_rate_mismatch"


def test_clipped_record_is_refused():
    # A near-field record of ~2.5 g saturates the 2 g EpiSensor: flat-topped counts.
    fs = 100.0
    acc = _simulated(mw=7.0, dist_m=8e3, fs=fs, seed=1)
    acc *= 25.0 / np.max(np.abs(acc))
    counts = ground_to_counts(acc, SensorModel.EPISENSOR_2G, fs)
    inv = _inventory(fs, SensorModel.EPISENSOR_2G)
    assert _refusal(_stream(counts, fs), inventory=inv) == "clipped"
    # and the same station recorded within range is accepted
    ok = ground_to_counts(acc * 0.5, SensorModel.EPISENSOR_2G, fs)
    assert records.station_motion(_stream(ok, fs), inv).usable


def test_stream_motions_flags_bad_stations_and_duplicates():
    fs = 100.0
    acc = _simulated(fs=fs, peak_m_s2=1.0)
    st = (_stream(acc, fs, sta="AAA")                                       # good
          + Stream(_stream(acc, fs, sta="BBB")[:2])                          # missing E
          + _stream(acc * 100.0, fs, sta="CCC")                              # absurd (gal as m/s^2)
          + _stream(acc, fs, sta="DDD", bi="HH")                             # seismometer ...
          + _stream(acc * 1.01, fs, sta="DDD", bi="HN")                      # ... and accelerometer: HN kept
          + _stream(acc, fs, sta="EEE", loc="10")                            # two location codes: 00 kept
          + _stream(acc, fs, sta="EEE", loc="00"))
    out = records.stream_motions(st, units="m/s**2")
    by = {(m.station, m.location, m.channels[0][:2]): m for m in out}
    assert len(out) == 7
    assert by[("AAA", "", "HN")].usable
    bbb = by[("BBB", "", "HN")]
    assert bbb.flags == ("missing_component",) and math.isnan(bbb.intensity) and bbb.degree is None
    assert len(bbb.psa_max_h_m_s2) == 3 and all(math.isnan(v) for v in bbb.psa_max_h_m_s2)
    assert by[("CCC", "", "HN")].flags == ("absurd_amplitude",)
    assert by[("DDD", "", "HN")].usable
    ddd_hh = by[("DDD", "", "HH")]
    assert ddd_hh.flags == ("duplicate",) and "XJ.DDD..HN" in ddd_hh.notes[-1]
    assert not math.isnan(ddd_hh.intensity)   # computed, kept for inspection, flagged
    assert by[("EEE", "00", "HN")].usable and by[("EEE", "10", "HN")].flags == ("duplicate",)
    assert [m.usable for m in out].count(True) == 3
    with pytest.raises(InputError):
        RecordConfig(band_hz=(10.0, 0.1))

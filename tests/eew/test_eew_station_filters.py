"""Per-packet station processing: ground units, recursive integration, measurements, bad packets."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tianshan.core.ids import StreamID
from tianshan.core.station import Channel, InstrumentKind, Station, StationGain
from tianshan.eew.config import EEWConfig
from tianshan.eew.station import StationBank, design_filters, mems_station

T0 = 1_700_000_000 * 10**9
RATE = 100.0


def _station(kind: InstrumentKind, gain: float, units: str, band: str = "HH") -> Station:
    g = StationGain(gain, 1.0, units)
    chans = tuple(Channel(StreamID("XX", "AAA", "00", band + c), 40.0, 80.0, 0.0, RATE,
                          azimuth_deg={"N": 0.0, "E": 90.0}.get(c, 0.0), dip_deg=-90.0 if c == "Z" else 0.0,
                          kind=kind, gain=g) for c in "ZNE")
    return Station("XX", "AAA", 40.0, 80.0, 0.0, channels=chans)


def _filter_run(filters, x, name):
    from scipy.signal import lfilter

    f = filters
    b, a = {"hp": (f.b_hp, f.a_hp), "hpi": (f.b_hpi, f.a_hpi)}[name]
    return lfilter(b, a, x)


@pytest.mark.parametrize("freq", [0.5, 1.0, 5.0])
def test_highpass_integrator_gives_velocity_and_displacement_amplitudes(freq):
    """(H I) a of a sinusoidal acceleration: velocity amplitude 1/(2 pi f), displacement 1/(2 pi f)^2."""
    f = design_filters(RATE, 0.075, 2, 3.0, 1.0, 1.0)
    t = np.arange(int(120 * RATE)) / RATE
    acc = np.sin(2 * math.pi * freq * t)
    vel = _filter_run(f, acc, "hpi")
    disp = _filter_run(f, vel, "hpi")
    tail = slice(int(60 * RATE), None)  # past the 0.075 Hz transient
    w = 2 * math.pi * freq
    assert np.max(np.abs(vel[tail])) == pytest.approx(1 / w, rel=0.01)
    assert np.max(np.abs(disp[tail])) == pytest.approx(1 / w**2, rel=0.02)
    # a constant offset (DC in counts) leaves no drift: the pole at z = 1 is cancelled
    dc = _filter_run(f, np.full(t.size, 5.0) + acc, "hpi")
    assert abs(np.mean(dc[tail])) < 0.01 / w


def test_packetwise_processing_equals_one_shot():
    """State carried between packets: 1-s packets give exactly what one long packet gives."""
    st = _station(InstrumentKind.STRONG_MOTION, 4.27e5, "M/S**2", "HN")
    rng = np.random.default_rng(3)
    x = np.cumsum(rng.normal(0, 50, int(30 * RATE))) + 1234.0
    sid = StreamID("XX", "AAA", "00", "HNZ")
    one = StationBank([st])
    one.process(sid, T0, RATE, x)
    many = StationBank([st])
    for k in range(30):
        many.process(sid, T0 + k * 10**9, RATE, x[k * 100:(k + 1) * 100])
    a = one.sensors["XX.AAA.00.HN"].z
    b = many.sensors["XX.AAA.00.HN"].z
    assert a.n == b.n == x.size
    # filters (raw, acc, vel, disp, 3 Hz velocity, trigger band): identical to rounding
    np.testing.assert_allclose(a.hist[:6, -500:], b.hist[:6, -500:], rtol=1e-9, atol=1e-15)
    # STA/LTA: the LTA starts from the first packet's level, a difference that decays in lta_s
    np.testing.assert_allclose(a.hist[6:, -100:], b.hist[6:, -100:], rtol=0.01)


def _wave_velocity(freq: float, d0: float, n: int, onset: int, ramp_s: float = 0.5) -> np.ndarray:
    """Velocity of ``d(t) = d0 sin(w t) r(t)`` from ``onset`` on, ``r`` a Hann ramp over ``ramp_s``
    (a wave with no net displacement, so Pd is ``d0``)."""
    t = (np.arange(n) - onset) / RATE
    w = 2 * math.pi * freq
    tc = np.clip(t, 0.0, ramp_s)
    r = np.where(t < ramp_s, 0.5 * (1 - np.cos(math.pi * tc / ramp_s)), 1.0)
    dr = np.where(t < ramp_s, 0.5 * math.pi / ramp_s * np.sin(math.pi * tc / ramp_s), 0.0)
    v = d0 * (w * np.cos(w * t) * r + np.sin(w * t) * dr)
    v[t < 0] = 0.0
    return v


def test_measurements_of_a_sinusoidal_p_wave_on_a_broadband_sensor():
    """Velocity sensor (counts / gain): Pd, tau_c, tau_p_max, PGV, PGA of a 2 Hz wave of known size."""
    gain = 6.29e8
    st = _station(InstrumentKind.BROADBAND, gain, "M/S")
    bank = StationBank([st])
    n, onset, freq, d0 = int(60 * RATE), int(40 * RATE), 2.0, 1e-5  # 10 um
    rng = np.random.default_rng(1)
    trig = []
    for comp, amp in (("Z", d0), ("N", 2 * d0), ("E", 0.5 * d0)):
        counts = np.round((_wave_velocity(freq, amp, n, onset) + rng.normal(0, 1e-8, n)) * gain)
        for k in range(60):
            trig += bank.process(StreamID("XX", "AAA", "00", "HH" + comp), T0 + k * 10**9, RATE,
                                 counts[k * 100:(k + 1) * 100])
    assert len(trig) == 1
    onset_s = (trig[0].time_ns - T0) / 1e9
    assert abs(onset_s - onset / RATE) <= 0.05
    m = bank.best_measurement("XX.AAA", 3.0)
    w = 2 * math.pi * freq
    assert m.window_s == pytest.approx(3.0, abs=0.02)
    assert m.pd_m == pytest.approx(d0, rel=0.1)               # displacement of the vertical
    assert m.pgv_m_s == pytest.approx(2 * d0 * w, rel=0.1)    # the larger horizontal
    assert m.pga_m_s2 == pytest.approx(2 * d0 * w * w, rel=0.1)
    assert m.tau_c_s == pytest.approx(1 / freq, rel=0.1)       # 2 pi sqrt(u^2/u'^2) = period
    assert m.tau_p_max_s == pytest.approx(1 / freq, rel=0.2)
    assert not m.clipped
    assert bank.best_measurement("XX.AAA", 1.0).pd_m <= m.pd_m  # Pd grows with the window


def test_mems_station_data_in_si_units_and_openeew_rate():
    """31.25 Hz MEMS data already in m/s^2 (gain 1): the LTA floor follows the data's own step."""
    st = mems_station("OE", "006", 16.68, -98.4, 31.25)
    bank = StationBank([st])
    fs = 31.25
    n = int(90 * fs)
    rng = np.random.default_rng(5)
    z = rng.normal(0, 6e-4, n)  # ~0.06 gal noise
    t = (np.arange(n) - int(60 * fs)) / fs
    z = np.round(z + np.where(t >= 0, 0.05 * np.sin(2 * math.pi * 4 * t) * np.exp(-np.clip(t, 0, None) / 5), 0.0), 5)
    got = []
    step = 32
    for i in range(0, n, step):
        got += bank.process("OE.006..HNZ", T0 + round(i * 1e9 / fs), fs, z[i:i + step])
    assert len(got) == 1
    assert abs((got[0].time_ns - T0) / 1e9 - 60.0) <= 0.1
    sp = bank.sensors["OE.006..HN"]
    assert sp.z.quantum == pytest.approx(1e-5, rel=1e-3)


def test_bad_packets_are_counted_never_raised():
    st = _station(InstrumentKind.BROADBAND, 6.29e8, "M/S")
    bank = StationBank([st])
    sid = StreamID("XX", "AAA", "00", "HHZ")
    x = np.zeros(100)
    assert bank.process("XX.BBB.00.HHZ", T0, RATE, x) == []          # not configured
    assert bank.process("not a stream id", T0, RATE, x) == []
    assert bank.process(sid, T0, RATE, [1.0, float("nan")]) == []     # non-finite
    assert bank.process(sid, T0, float("nan"), x) == []               # bad rate
    bank.process(sid, T0, RATE, x)
    bank.process(sid, T0, RATE, x)                                    # the same packet again
    bank.process(sid, T0 + 50 * 10**7, RATE, np.zeros(100))          # half overlapping
    bank.process(sid, T0 + 5 * 10**9, RATE, x)                        # a 3.5 s gap: restart
    bank.process(sid, T0 + 6 * 10**9, 50.0, x)                        # rate change
    c = bank.counters
    assert (c.unknown_stream, c.bad_packets, c.duplicates, c.overlaps, c.gaps, c.rate_changes) == (2, 2, 1, 1, 1, 1)
    assert bank.sensors["XX.AAA.00.HH"].z.rate_hz == 50.0


def test_channels_without_gain_are_skipped_and_counted():
    chans = (Channel(StreamID("XX", "CCC", "", "HHZ"), 40.0, 80.0, 0.0, RATE),)
    bank = StationBank([Station("XX", "CCC", 40.0, 80.0, 0.0, channels=chans)])
    assert bank.counters.no_gain == 1
    assert bank.process("XX.CCC..HHZ", T0, RATE, np.zeros(100)) == []
    assert bank.counters.unknown_stream == 1


def test_config_rejects_bad_values():
    from tianshan.core.errors import InputError
    from tianshan.eew.config import TriggerConfig

    with pytest.raises(InputError, match="ratio_off"):
        TriggerConfig(ratio_on=2.0, ratio_off=3.0)
    with pytest.raises(InputError, match="sta_s"):
        TriggerConfig(sta_s=-1.0)
    with pytest.raises(InputError, match="unknown"):
        EEWConfig.from_dict({"trigger": {"nonsense": 1}})
    cfg = EEWConfig.from_dict({"event": {"min_stations": 3}, "locate": {"depths_m": [5000.0, 10000.0]}})
    assert cfg.event.min_stations == 3 and cfg.locate.depths_m == (5000.0, 10000.0)

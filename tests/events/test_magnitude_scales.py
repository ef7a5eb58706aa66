"""Magnitude scales: instrument simulation, ML (GB 17740 formula + calibration), Ms_BB, Mw, averaging."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tianshan.core.errors import InputError
from tianshan.events.magnitude import instrument, ml_gb17740, ms_bb, mw_spectral, network


# ---------------------------------------------------------------- instrument

def test_pendulum_poles_reproduce_obspy_wood_anderson():
    """ObsPy's WOODANDERSON paz (T0 0.8 s, h 0.8, Richter's variant) from our pendulum builder."""
    from obspy.signal.invsim import WOODANDERSON

    inst = instrument.pendulum_instrument("wa-obspy", 0.8, 0.8, 2080.0)
    got = sorted(inst.poles, key=lambda p: p.imag)
    want = sorted(WOODANDERSON["poles"], key=lambda p: p.imag)
    assert np.allclose(got, want, atol=1e-3)
    assert len(inst.zeros) == len(WOODANDERSON["zeros"]) == 1


def test_analytic_gain_matches_obspy_paz_response():
    from obspy.signal.invsim import WOODANDERSON, paz_2_amplitude_value_of_freq_resp

    for f in (0.2, 1.0, 1.25, 5.0, 20.0):
        ref = 2 * math.pi * f * paz_2_amplitude_value_of_freq_resp(WOODANDERSON, f)
        assert instrument.pendulum_displacement_gain(f, 0.8, 0.8) == pytest.approx(ref, rel=1e-3)


@pytest.mark.parametrize("freq_hz", [0.5, 1.25, 5.0])
def test_wood_anderson_simulation_of_a_sinusoid(freq_hz):
    """Steady-state WA amplitude of a ground-velocity sinusoid = V/(2 pi f) |H_d(f)| (Uhrhammer & Collins)."""
    from obspy import Trace

    fs, v0 = 100.0, 1e-4
    t = np.arange(int(120 * fs)) / fs
    tr = Trace(v0 * np.sin(2 * np.pi * freq_hz * t))
    tr.stats.sampling_rate = fs
    out = instrument.simulate(tr, instrument.WOOD_ANDERSON)
    mid = np.abs(out.data[int(40 * fs):int(80 * fs)]).max()
    want = v0 / (2 * np.pi * freq_hz) * instrument.pendulum_displacement_gain(freq_hz, 0.8, 0.7)
    assert mid == pytest.approx(want, rel=0.01)


# ---------------------------------------------------------------- ML

def test_hutton_boore_anchor_and_richter_200km():
    # Richter's anchor: -log A0(100 km) = 3.0; + log10(2.080) for ground micrometres
    assert ml_gb17740.hutton_boore_1987_r(100.0) == pytest.approx(3.0 + math.log10(2.08), abs=1e-12)
    # Richter (1958) table: -log A0(200 km) = 3.5; HB87 gives 3.52
    assert ml_gb17740.hutton_boore_1987_r(200.0, magnification=1000.0) == pytest.approx(3.5, abs=0.05)


def test_default_table_is_the_documented_formula():
    table = ml_gb17740.load_calibration()
    assert table.distance == "hypocentral"
    assert table.range_km == (5.0, 1000.0)
    d = np.asarray(table.distances_km)
    assert np.allclose(table.values, ml_gb17740.hutton_boore_1987_r(d), atol=6e-5)
    assert table.r(1001.0) is None and table.r(4.0) is None
    assert table.r(102.5) == pytest.approx(0.5 * (table.r(100.0) + table.r(105.0)))


def test_ml_formula_one():
    table = ml_gb17740.CalibrationTable((0.0, 100.0, 200.0), (2.0, 3.5, 4.0))
    # ML = lg((AN + AE)/2) + R(Δ); (1 + 3)/2 = 2 um at 150 km: R = 3.75
    assert ml_gb17740.ml_station(1.0, 3.0, 150.0, table) == pytest.approx(math.log10(2.0) + 3.75)
    assert ml_gb17740.ml_station(1.0, 3.0, 250.0, table) is None
    with pytest.raises(InputError):
        ml_gb17740.ml_station(0.0, 0.0, 50.0, table)


def test_custom_table_file(tmp_path):
    p = tmp_path / "r.csv"
    p.write_text("# source: my region\n# distance: epicentral\ndistance_km,r\n0,1.8\n100,3.5\n")
    t = ml_gb17740.load_calibration(p)
    assert (t.source, t.distance, t.r(50.0)) == ("my region", "epicentral", pytest.approx(2.65))


@pytest.mark.parametrize("text, line", [
    ("distance,r\n0,1\n10,2\n", 1),
    ("distance_km,r\n0,1\n10,x\n", 3),
    ("distance_km,r\n0,1\n0,2\n", 3),
    ("distance_km,r\n0,1,2\n", 2),
])
def test_bad_table_names_file_and_line(tmp_path, text, line):
    p = tmp_path / "bad.csv"
    p.write_text(text)
    with pytest.raises(InputError) as err:
        ml_gb17740.load_calibration(p)
    assert err.value.source == str(p) and err.value.line == line


def test_missing_table_file(tmp_path):
    with pytest.raises(InputError, match="cannot read"):
        ml_gb17740.load_calibration(tmp_path / "nope.csv")


# ---------------------------------------------------------------- network averaging

#: SeisComP automatic solution ga2017qxlpiu (shared data, origin ...094054): mb station
#: magnitudes (EIDS, INKA, KDU, OOD, QIS, QLP, RMQ) and its "trimmed mean(25)" network mb.
SC_MB = (4.201287725, 5.130890101, 4.074444742, 4.789717181, 4.028437653, 4.376555634, 4.201744988)
SC_WEIGHTS = (1, 0.125, 1, 1, 0.125, 1, 1)


def test_trimmed_mean_reproduces_seiscomp():
    nv = network.network_magnitude(SC_MB)
    assert nv.method == "trimmed mean(25)"
    assert nv.value == pytest.approx(4.340698331, abs=1e-6)
    assert nv.uncertainty == pytest.approx(0.3078489761, abs=1e-6)
    assert nv.weights == pytest.approx(SC_WEIGHTS)


def test_seiscomp_solution_file_agrees(shared_data):
    """The literal values above are the ones in the shared SCML file."""
    text = (shared_data / "waveforms/ga2017qxlpiu/ga2017qxlpiu.scml.xml").read_text()
    for v in SC_MB:
        assert f"{v:.9f}".rstrip("0")[:10] in text
    assert "4.340698331" in text and "trimmed mean(25)" in text


def test_mean_below_four_and_median():
    nv = network.network_magnitude([3.0, 3.2, 3.4])
    assert nv.method == "mean" and nv.value == pytest.approx(3.2) and nv.uncertainty == pytest.approx(0.2)
    one = network.network_magnitude([2.5])
    assert one.uncertainty is None and one.station_count == 1
    med = network.network_magnitude([1.0, 2.0, 10.0], method="median")
    assert med.value == 2.0 and med.uncertainty == pytest.approx(1.4826)
    with pytest.raises(InputError):
        network.network_magnitude([])
    with pytest.raises(InputError):
        network.network_magnitude([1.0], method="mode")


# ---------------------------------------------------------------- Ms_BB

def test_ms_bb_formula_and_ranges():
    # log10(2 pi 1000 / 2 pi) + 1.66 log10(10) + 0.3 = 3 + 1.66 + 0.3
    assert ms_bb.ms_bb(2 * math.pi * 1000.0, 10.0) == pytest.approx(4.96)
    assert ms_bb.ms_bb(1000.0, 1.9) is None
    assert ms_bb.ms_bb(1000.0, 160.5) is None
    assert ms_bb.ms_bb(1000.0, 30.0, depth_m=70_000.0) is None


def test_ms_bb_vmax_of_a_20s_wave():
    from obspy import Trace, UTCDateTime

    fs, dist = 1.0, 20.0
    t0 = UTCDateTime(2020, 1, 1)
    start, end = ms_bb.surface_wave_window_s(dist)
    t = np.arange(int(1.2 * end))
    env = np.exp(-0.5 * ((t - 0.5 * (start + end)) / 60.0) ** 2)
    tr = Trace(2e-6 * env * np.sin(2 * np.pi * t / 20.0))
    tr.stats.sampling_rate, tr.stats.starttime = fs, t0
    vmax, _ = ms_bb.measure_vmax(tr, t0, dist)
    assert vmax == pytest.approx(2e-6, rel=0.05)


# ---------------------------------------------------------------- Mw (Brune)

def test_moment_magnitude_iaspei():
    assert mw_spectral.moment_magnitude(10 ** (1.5 * 5.0 + 9.1)) == pytest.approx(5.0)
    with pytest.raises(InputError):
        mw_spectral.moment_magnitude(0.0)


def test_brune_fit_recovers_synthetic_spectrum():
    p = mw_spectral.DEFAULT_PARAMS
    f = 10 ** np.linspace(-1, 1.2, 40)
    omega0, fc, r = 3e-5, 1.7, 60_000.0
    u = omega0 / (1 + (f / fc) ** 2) * mw_spectral.path_site_factor(f, r, p)
    got_o, got_fc, rms = mw_spectral.fit_brune(f, u / mw_spectral.path_site_factor(f, r, p))
    assert got_o == pytest.approx(omega0, rel=0.02) and got_fc == pytest.approx(fc, rel=0.03) and rms < 0.01


@pytest.mark.parametrize("mw, r_km", [(4.0, 30.0), (5.0, 80.0), (6.0, 150.0)])
def test_mw_from_simulator_spectrum(mw, r_km):
    """The simulator's Brune S spectrum (Boore 2003 model, vector sum of 2 horizontals) -> Mw within 0.15."""
    from tianshan.sim import stochastic

    params = stochastic.BRUNE_100BAR
    f = 10 ** np.linspace(-1.3, 1.3, 200)
    acc = stochastic.fourier_amplitude(f, mw, r_km * 1000.0, "S", params)   # one horizontal
    disp = math.sqrt(2.0) * acc / (2 * np.pi * f) ** 2
    corr = disp / mw_spectral.path_site_factor(f, r_km * 1000.0) / stochastic.crustal_amplification(f, params)
    omega0, fc, _ = mw_spectral.fit_brune(f, corr)
    got = mw_spectral.moment_magnitude(mw_spectral.moment_from_omega0(omega0, r_km * 1000.0))
    # 9.05 (simulator, Hanks & Kanamori) vs 9.1 (IASPEI) shifts Mw by -0.033
    assert got == pytest.approx(mw - 0.033, abs=0.15)
    assert fc == pytest.approx(stochastic.corner_frequency_hz(mw, params.stress_pa, 3500.0), rel=0.25)


def test_spreading_matches_simulator():
    from tianshan.sim import stochastic

    for r in (5e3, 40e3, 100e3, 500e3):
        assert mw_spectral.geometric_spreading(r) == pytest.approx(stochastic.geometric_spreading(r))

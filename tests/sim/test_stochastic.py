"""Tests of the stochastic ground-motion model (tianshan.sim.stochastic) against published numbers."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tianshan.core.errors import InputError
from tianshan.sim import stochastic as st

#: Idealised medium for spectrum-shape checks: no anelastic loss, no kappa, no amplification.
FLAT = st.StochasticParams(source=st.SourceModel.BRUNE, kappa0_s=0.0, q0=1e15,
                           amplification_freq_hz=(0.01, 100.0), amplification=(1.0, 1.0),
                           source_duration_factor=1.0)


def test_seismic_moment_hanks_kanamori():
    # Hanks & Kanamori (1979): log10 M0[dyne cm] = 1.5 Mw + 16.05 -> N m = dyne cm * 1e-7.
    for mw in (2.0, 4.5, 6.0, 7.3):
        assert st.seismic_moment_nm(mw) == pytest.approx(10 ** (1.5 * mw + 16.05) * 1e-7, rel=1e-12)
    assert st.seismic_moment_nm(6.0) == pytest.approx(1.122e18, rel=1e-3)
    assert st.seismic_moment_nm(7.0) == pytest.approx(3.548e19, rel=1e-3)


def test_corner_frequency_matches_boore_eq4_in_cgs_units():
    # Boore (2003) eq. 4: fc = 4.906e6 beta[km/s] (dsigma[bar] / M0[dyne cm])^(1/3)
    for mw, bars in ((4.0, 30.0), (5.0, 100.0), (7.0, 50.0)):
        m0_dyne = 10 ** (1.5 * mw + 16.05)
        expected = 4.906e6 * 3.5 * (bars / m0_dyne) ** (1 / 3)
        assert st.corner_frequency_hz(mw, bars * 1e5, 3500.0) == pytest.approx(expected, rel=1e-9)
    # Hand value: M5, 100 bar, 3.5 km/s -> 1.1256 Hz.
    assert st.corner_frequency_hz(5.0, 100e5, 3500.0) == pytest.approx(1.1256, abs=2e-3)


def test_corner_frequency_equals_brune_circular_crack():
    # Brune (1970): fc = 2.34 beta / (2 pi r), with dsigma = 7 M0 / (16 r^3).
    mw, stress, beta = 6.0, 5e6, 3500.0
    r = (7 * st.seismic_moment_nm(mw) / (16 * stress)) ** (1 / 3)
    assert st.corner_frequency_hz(mw, stress, beta) == pytest.approx(2.34 * beta / (2 * math.pi * r),
                                                                    rel=1e-3)


def test_atkinson_silva_2000_corners():
    # log10 fa = 2.181 - 0.496 M, log10 fb = 2.41 - 0.408 M, log10 eps = 0.605 - 0.255 M; M6 by hand.
    fa, fb, eps = st.source_corners_hz(6.0, "S")
    assert (fa, fb, eps) == pytest.approx((0.1603, 0.9162, 0.1189), rel=2e-3)
    fa_p, fb_p, eps_p = st.source_corners_hz(6.0, "P")
    assert (fa_p, fb_p, eps_p) == pytest.approx((1.5 * fa, 1.5 * fb, eps), rel=1e-12)
    fc = st.corner_frequency_hz(6.0, 100e5, 3500.0)
    assert st.source_corners_hz(6.0, "S", st.BRUNE_100BAR) == pytest.approx((fc, fc, 0.0))


def test_pseudo_depth_and_effective_distance_yenier_atkinson():
    # Yenier & Atkinson (2015) eq. 5: h(M6) = 10^(-0.405 + 1.41) km = 10.116 km.
    assert st.pseudo_depth_m(6.0) == pytest.approx(10116.0, rel=1e-3)
    assert st.effective_distance_m(6.0, 0.0) == pytest.approx(st.pseudo_depth_m(6.0))
    assert st.effective_distance_m(4.0, 30e3) == pytest.approx(math.hypot(30e3, 3428.0), rel=1e-3)
    with pytest.raises(InputError, match="distance_m"):
        st.effective_distance_m(5.0, -1.0)


def test_geometric_spreading_bilinear():
    assert st.geometric_spreading(20e3) == pytest.approx(1 / 20)
    assert st.geometric_spreading(40e3) == pytest.approx(1 / 40)
    assert st.geometric_spreading(160e3) == pytest.approx(1 / 80)     # (1/40) (40/160)^0.5
    assert st.geometric_spreading(500.0) == 1.0                      # clamped at R0
    trilinear = st.StochasticParams(spreading_hinges_m=(70e3, 130e3), spreading_exponents=(1.0, 0.0, 0.5))
    assert st.geometric_spreading(100e3, trilinear) == pytest.approx(1 / 70)
    assert st.geometric_spreading(520e3, trilinear) == pytest.approx(1 / 70 * 0.5)


def test_crustal_amplification_table_points():
    f = np.array(st.BJ97_GENERIC_ROCK_FREQ_HZ)
    assert st.crustal_amplification(f) == pytest.approx(np.array(st.BJ97_GENERIC_ROCK_AMP))
    assert st.crustal_amplification(np.array([0.001, 100.0])) == pytest.approx([1.0, 4.0])


def test_spectrum_asymptotes_and_plateau_scaling():
    """Low f: A -> C M0 (2 pi f)^2 G; high f: plateau C M0 (2 pi fc)^2 G, i.e. proportional to M0 fc^2."""
    mw, r = 5.5, 30e3
    fc = st.corner_frequency_hz(mw, FLAT.stress_pa, FLAT.shear_velocity_m_s)
    c = 0.55 / math.sqrt(2) * 2 / (4 * math.pi * 2800 * 3500.0 ** 3 * 1000)
    g = st.geometric_spreading(st.effective_distance_m(mw, r))
    m0 = st.seismic_moment_nm(mw)
    low, high = st.fourier_amplitude(np.array([fc / 1000, 1000 * fc]), mw, r, "S", FLAT)
    assert low == pytest.approx(c * m0 * (2 * math.pi * fc / 1000) ** 2 * g, rel=1e-5)
    assert high == pytest.approx(c * m0 * (2 * math.pi * fc) ** 2 * g, rel=1e-5)
    # Plateau ~ M0 fc^2 ~ M0^(1/3) dsigma^(2/3): 8x the stress -> 4x the plateau.
    hi8 = st.fourier_amplitude(np.array([1000 * fc * 2]), mw, r, "S",
                               st.StochasticParams(**{**FLAT.__dict__, "stress_pa": 8 * FLAT.stress_pa}))
    hi1 = st.fourier_amplitude(np.array([1000 * fc * 2]), mw, r, "S", FLAT)
    assert hi8[0] / hi1[0] == pytest.approx(4.0, rel=1e-4)


def test_spectrum_attenuation_terms():
    mw, r, f = 5.0, 80e3, np.array([2.0, 10.0])
    base = st.StochasticParams(**{**FLAT.__dict__})
    with_kappa = st.StochasticParams(**{**FLAT.__dict__, "kappa0_s": 0.04})
    with_q = st.StochasticParams(**{**FLAT.__dict__, "q0": 180.0})
    a0 = st.fourier_amplitude(f, mw, r, "S", base)
    assert st.fourier_amplitude(f, mw, r, "S", with_kappa) / a0 == pytest.approx(np.exp(-np.pi * 0.04 * f))
    r_eff = st.effective_distance_m(mw, r)
    expected_q = np.exp(-np.pi * f * r_eff / (180 * f ** 0.45 * 3500.0))
    assert st.fourier_amplitude(f, mw, r, "S", with_q) / a0 == pytest.approx(expected_q)


def test_p_spectrum_constants():
    # High-frequency P/S ratio = (R_P / (R_S V)) (beta/alpha)^3 (fc_P/fc_S)^2 for the flat medium
    # (amplification 1 for both).
    mw, r = 5.0, 20e3
    fc = st.corner_frequency_hz(mw, FLAT.stress_pa, 3500.0)
    f = np.array([500 * fc])
    ratio = st.fourier_amplitude(f, mw, r, "P", FLAT) / st.fourier_amplitude(f, mw, r, "S", FLAT)
    expected = 0.52 / (0.55 / math.sqrt(2)) * (3500 / 6000) ** 3 * 1.5 ** 2
    assert ratio[0] == pytest.approx(expected, rel=1e-4)


def test_duration():
    r = 50e3
    r_eff = st.effective_distance_m(6.0, r)
    fc = st.corner_frequency_hz(6.0, 100e5, 3500.0)
    assert st.duration_s(6.0, r, st.BRUNE_100BAR) == pytest.approx(1 / fc + 0.05 * r_eff / 1000)
    fa = st.source_corners_hz(6.0)[0]
    assert st.duration_s(6.0, r) == pytest.approx(0.5 / fa + 0.05 * r_eff / 1000)
    assert st.duration_s(6.0, r, wave="P") < st.duration_s(6.0, r, wave="S")


def test_saragoni_hart_window_shape():
    duration = 7.0
    t_eta = 2.0 * duration
    t = np.linspace(-1.0, 3 * t_eta, 200001)
    w = st.saragoni_hart_window(t, duration)
    assert np.all(w[t <= 0] == 0.0)
    assert w.max() == pytest.approx(1.0, abs=1e-9)
    assert t[np.argmax(w)] == pytest.approx(0.2 * t_eta, abs=1e-3)        # peak at epsilon t_eta
    assert st.saragoni_hart_window(np.array([t_eta]), duration)[0] == pytest.approx(0.05, rel=1e-9)
    assert np.all(np.diff(w[(t > 0.2 * t_eta + 1e-3)]) < 0)


def test_simulated_window_energy_matches_spectrum_parseval():
    """Mean energy sum(a^2) dt over realisations equals 2 * integral of A(f)^2 df (one-sided)."""
    fs, n = 100.0, 8000
    rng = np.random.default_rng(11)
    mw, r = 5.0, 30e3
    r_eff = st.effective_distance_m(mw, r)
    acc = st.simulate_window(mw, r_eff, "S", 2.0, n, fs, rng, n_series=64)
    energy = np.mean(np.sum(acc ** 2, axis=1) / fs)
    f = np.linspace(0.0, fs / 2, 200001)
    expected = 2 * np.trapz(st.fourier_amplitude(f, mw, r) ** 2, f)
    assert energy == pytest.approx(expected, rel=0.05)
    # ... and band by band: the average periodogram follows A(f)^2.
    spec = np.mean(np.abs(np.fft.rfft(acc, axis=1) / fs) ** 2, axis=0)
    freq = np.fft.rfftfreq(n, 1 / fs)
    for lo, hi in ((0.5, 1.0), (2.0, 4.0), (8.0, 12.0)):
        band = (freq >= lo) & (freq < hi)
        target = np.mean(st.fourier_amplitude(freq[band], mw, r) ** 2)
        assert np.mean(spec[band]) == pytest.approx(target, rel=0.25)


def test_simulate_components_layout_and_onsets():
    fs, n = 100.0, 6000
    p_delay, s_delay = 5.005, 12.0
    acc = st.simulate_components(5.0, 40e3, p_delay, s_delay, n, fs, np.random.default_rng(3),
                                 back_azimuth_deg=0.0)
    assert acc.shape == (3, n)
    assert np.all(acc[:, :501] == 0.0)          # nothing before the P onset (t = 5.005 s)
    assert np.any(acc[0, 501:520] != 0.0)
    # Back azimuth 0 (source due north): radial is N, so before the S window P moves Z and N only.
    before_s = slice(501, 1200)
    assert np.all(acc[2, before_s] == 0.0)
    assert np.any(acc[1, before_s] != 0.0)
    # P particle motion is linear: N = -tan(incidence) Z during P.
    assert acc[1, before_s] == pytest.approx(-math.tan(math.radians(20.0)) * acc[0, before_s])
    # S dominates the horizontals.
    assert np.max(np.abs(acc[1:, 1200:])) > 3 * np.max(np.abs(acc[1:, before_s]))


def test_simulate_components_back_azimuth_east():
    acc = st.simulate_components(4.0, 20e3, 2.0, 10.0, 2000, 100.0, np.random.default_rng(5),
                                 back_azimuth_deg=90.0)
    p = slice(200, 1000)
    assert np.max(np.abs(acc[1, p])) < 1e-12 * np.max(np.abs(acc[2, p]))


def test_simulate_components_seeded_and_scaling():
    args = (6.0, 30e3, 1.0, 4.0, 8000, 100.0)
    a = st.simulate_components(*args, np.random.default_rng(7))
    b = st.simulate_components(*args, np.random.default_rng(7))
    c = st.simulate_components(*args, np.random.default_rng(8))
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    # Larger magnitude, closer: stronger (median over a few seeds).
    def med_pga(mw, r):
        return np.median([st.pga_m_s2(st.simulate_components(mw, r, 1.0, 4.0, 8000, 100.0,
                                                              np.random.default_rng(s)))
                          for s in range(5)])
    assert med_pga(6.0, 30e3) > 3 * med_pga(4.5, 30e3)
    assert med_pga(5.0, 20e3) > 2 * med_pga(5.0, 100e3)


def test_simulate_components_windows_outside_record():
    rng = np.random.default_rng(1)
    acc = st.simulate_components(5.0, 50e3, 100.0, 150.0, 1000, 100.0, rng)   # both after the end
    assert np.all(acc == 0.0)
    acc = st.simulate_components(5.0, 50e3, -3.0, -1.0, 1000, 100.0, rng)    # began before sample 0
    assert np.all(np.isfinite(acc)) and np.any(acc[:, 0] != 0.0)


@pytest.mark.parametrize("kwargs, field", [
    ({"mw": float("nan")}, "mw"),
    ({"hypocentral_distance_m": -5.0}, "distance_m"),
    ({"n_samples": 0}, "n_samples"),
    ({"sample_rate_hz": 0.0}, "sample_rate_hz"),
    ({"p_delay_s": float("inf")}, "p_delay_s"),
])
def test_simulate_components_bad_input(kwargs, field):
    args = {"mw": 5.0, "hypocentral_distance_m": 10e3, "p_delay_s": 1.0, "s_delay_s": 2.0,
            "n_samples": 100, "sample_rate_hz": 100.0, "rng": np.random.default_rng(0)}
    args.update(kwargs)
    with pytest.raises(InputError) as err:
        st.simulate_components(**args)
    assert err.value.field == field


def test_params_validation_and_wave_name():
    with pytest.raises(InputError, match="stress_pa"):
        st.StochasticParams(stress_pa=-1.0)
    with pytest.raises(InputError, match="spreading_exponents"):
        st.StochasticParams(spreading_exponents=(1.0,))
    with pytest.raises(InputError, match="wave"):
        st.fourier_amplitude(np.array([1.0]), 5.0, 10e3, wave="Love")
    assert st.fourier_amplitude(np.array([1.0]), 5.0, 10e3, wave="s")[0] > 0

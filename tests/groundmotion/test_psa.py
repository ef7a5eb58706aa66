"""Nigam & Jennings (1969) oscillator response and PSA; RotD50.

References used: the matrix exponential of the first-order-hold discretisation
(scipy.linalg.expm), scipy.signal.lsim (linear interpolation of the input, the
same assumption as Nigam & Jennings), the analytic harmonic steady state and
the analytic step response. Tolerances are stated per test.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from tianshan.core.errors import InputError
from tianshan.groundmotion import spectra


def _foh_matrices(period_s, damping, dt):
    """Exact discretisation for linearly varying input (augmented matrix exponential)."""
    from scipy.linalg import expm

    w = 2 * math.pi / period_s
    m = np.zeros((4, 4))
    m[:2, :2] = np.array([[0.0, 1.0], [-w * w, -2 * damping * w]]) * dt
    m[:2, 2] = np.array([0.0, -1.0]) * dt
    m[2, 3] = 1.0
    e = expm(m)
    return e[:2, :2], np.column_stack([e[:2, 2] - e[:2, 3], e[:2, 3]])


@pytest.mark.parametrize("period_s,damping,dt", [(0.3, 0.05, 0.01), (1.0, 0.05, 0.005), (3.0, 0.02, 0.02),
                                                 (0.05, 0.05, 0.01), (0.3, 0.0, 0.01), (2.0, 0.3, 0.01)])
def test_matrices_equal_matrix_exponential(period_s, damping, dt):
    a, b = spectra.nigam_jennings_matrices(period_s, damping, dt)
    fa, fb = _foh_matrices(period_s, damping, dt)
    assert np.allclose(a, fa, rtol=0, atol=1e-13)
    assert np.allclose(b, fb, rtol=0, atol=1e-9 * np.max(np.abs(fb)))


@pytest.mark.parametrize("period_s", [0.05, 0.3, 1.0, 3.0])
def test_fast_equals_reference_and_lsim(period_s):
    from scipy.signal import lsim

    rng = np.random.default_rng(11)
    fs = 100.0
    x = rng.normal(size=3000)          # x[0] != 0: exercises the at-rest start
    u = spectra.oscillator_displacement(x, fs, period_s, 0.05)
    r = spectra.oscillator_displacement_reference(x, fs, period_s, 0.05)
    scale = np.max(np.abs(r))
    assert np.max(np.abs(u - r)) <= 1e-10 * scale
    w = 2 * math.pi / period_s
    _, y, _ = lsim(([-1.0], [1.0, 2 * 0.05 * w, w * w]), x, np.arange(x.size) / fs)
    assert np.max(np.abs(y - r)) <= 1e-9 * scale
    # leading axes: components at once
    both = spectra.oscillator_displacement(np.vstack([x, 2 * x]), fs, period_s, 0.05)
    assert np.allclose(both[0], u, rtol=0, atol=1e-12 * scale) and np.allclose(both[1], 2 * u, atol=1e-12 * scale)


def test_step_response_is_analytic():
    # Constant acceleration a0 from t = 0 is piecewise linear: the recurrence is exact.
    fs, period, z, a0 = 50.0, 0.7, 0.05, 2.0
    t = np.arange(2000) / fs
    u = spectra.oscillator_displacement(np.full(t.size, a0), fs, period, z)
    w = 2 * math.pi / period
    wd = w * math.sqrt(1 - z * z)
    exact = -(a0 / w ** 2) * (1 - np.exp(-z * w * t) * (np.cos(wd * t) + z / math.sqrt(1 - z * z) * np.sin(wd * t)))
    assert np.max(np.abs(u - exact)) <= 1e-12 * a0 / w ** 2


@pytest.mark.parametrize("period_s,forcing_hz", [(1.0, 1.0), (1.0, 2.5), (0.3, 1.0), (3.0, 0.5)])
def test_harmonic_steady_state(period_s, forcing_hz):
    # u_ss amplitude = A / sqrt((w^2 - W^2)^2 + (2 z w W)^2); tolerance 1e-3 relative
    # (linear interpolation of a sine at 200 samples/s).
    fs, z, amp = 200.0, 0.05, 1.5
    t = np.arange(int(150 * fs)) / fs
    x = amp * np.sin(2 * math.pi * forcing_hz * t)
    u = spectra.oscillator_displacement(x, fs, period_s, z)
    w, wf = 2 * math.pi / period_s, 2 * math.pi * forcing_hz
    expected = amp / math.sqrt((w * w - wf * wf) ** 2 + (2 * z * w * wf) ** 2)
    tail = u[-int(30 * fs):]
    assert np.max(np.abs(tail)) == pytest.approx(expected, rel=1e-3)
    if forcing_hz == 1.0 / period_s:   # resonance: PSA -> A / (2 zeta)
        assert w * w * np.max(np.abs(tail)) == pytest.approx(amp / (2 * z), rel=1e-3)
        assert spectra.psa(x, fs, [period_s], z)[0] == pytest.approx(amp / (2 * z), rel=1e-3)


def test_psa_shape_and_definition():
    rng = np.random.default_rng(5)
    x = rng.normal(size=(3, 4000))
    periods = [0.3, 1.0, 3.0]
    p = spectra.psa(x, 100.0, periods, 0.05)
    assert p.shape == (3, 3)
    for i, period in enumerate(periods):
        u = spectra.oscillator_displacement_reference(x[1], 100.0, period, 0.05)
        assert p[1, i] == pytest.approx((2 * math.pi / period) ** 2 * np.max(np.abs(u)), rel=1e-9)


def _rotd_brute(h1, h2, percentile):
    theta = np.deg2rad(np.arange(0.0, 180.0, 1.0))
    peaks = [np.max(np.abs(np.cos(t) * h1 + np.sin(t) * h2)) for t in theta]
    return float(np.percentile(peaks, percentile))


def test_rotd_equals_brute_force_and_project_reference():
    from tianshan.sim.peaks import rotd_percentile_reference

    rng = np.random.default_rng(2)
    n = 6000
    env = np.exp(-((np.arange(n) - 2500) / 700.0) ** 2)
    for _ in range(3):
        h1, h2 = rng.normal(size=n) * env, rng.normal(size=n) * env * 0.6
        for pct in (0.0, 50.0, 100.0):
            v = spectra.rotd_percentile(h1, h2, pct)
            assert v == pytest.approx(_rotd_brute(h1, h2, pct), rel=1e-12)
        assert spectra.rotd_percentile(h1, h2) == pytest.approx(rotd_percentile_reference(h1, h2), rel=1e-12)
    x = rng.normal(size=n)
    assert spectra.rotd_percentile(x, np.zeros(n), 100.0) == pytest.approx(np.max(np.abs(x)), rel=1e-12)


def test_psa_rotd_of_linearly_polarised_motion():
    # h = x (cos phi, sin phi): RotD100 = PSA(x); RotD50 = PSA(x) * median |cos| over 1-deg angles
    rng = np.random.default_rng(9)
    x = rng.normal(size=5000) * np.hanning(5000)
    phi = math.radians(30.0)
    p = spectra.psa(x, 100.0, [0.3, 1.0])
    r100 = spectra.psa_rotd(x * math.cos(phi), x * math.sin(phi), 100.0, [0.3, 1.0], percentile=100.0)
    r50 = spectra.psa_rotd(x * math.cos(phi), x * math.sin(phi), 100.0, [0.3, 1.0])
    assert np.allclose(r100, p, rtol=1e-9)
    med = np.percentile(np.abs(np.cos(np.deg2rad(np.arange(180.0)) - phi)), 50.0)
    assert np.allclose(r50, p * med, rtol=1e-9)


def test_bad_input():
    x = np.ones(100)
    with pytest.raises(InputError):
        spectra.psa(x, 100.0, [0.0])
    with pytest.raises(InputError):
        spectra.oscillator_displacement(x, 100.0, -1.0)
    with pytest.raises(InputError):
        spectra.psa(x, 100.0, [1.0], damping=1.0)
    with pytest.raises(InputError):
        spectra.psa(np.array([1.0, math.nan, 2.0]), 100.0, [1.0])
    with pytest.raises(InputError):
        spectra.psa(x, 0.0, [1.0])
    with pytest.raises(InputError):
        spectra.rotd_percentile(x, np.ones(99))

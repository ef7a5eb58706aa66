"""S-transform (Stockwell et al. 1996): amplitude of a sinusoid, invertibility, options."""

from __future__ import annotations

import numpy as np
import pytest

from tianshan.analysis.precursor.stransform import detrend_and_taper, hanning, stransform
from tianshan.core.errors import InputError


def test_sinusoid_amplitude_and_localisation():
    n, k0, amp = 1024, 40, 2.5
    t = np.arange(n)
    x = amp * np.cos(2 * np.pi * k0 * t / n + 0.3)
    S, f = stransform(x, 30, 50, width_factor=3.0)
    assert S.shape == (21, n) and f[0] == 30 / n and f[-1] == 50 / n
    row = np.abs(S[k0 - 30])
    np.testing.assert_allclose(row, amp, rtol=1e-9)          # analytic signal: |S| = amplitude
    # At frequency index n the voice n0 leaks through the Gaussian G(m, n) = exp(-2 pi^2 m^2 k / n^2).
    for n_voice in (30, 38, 45):
        g = np.exp(-2 * np.pi ** 2 * (k0 - n_voice) ** 2 * 3.0 / n_voice ** 2)
        np.testing.assert_allclose(np.abs(S[n_voice - 30]), amp * g, rtol=1e-6, atol=1e-12)
    # Absolute phase (Stockwell et al. 1996): the phase of the voice at t = 0, at every time.
    np.testing.assert_allclose(np.angle(S[k0 - 30]), 0.3, atol=1e-9)


def test_time_sum_gives_the_fourier_spectrum():
    rng = np.random.default_rng(2)
    x = rng.normal(size=500)
    S, _ = stransform(x, 0, 250, analytic=False)
    H = np.fft.fft(x)[:251]
    np.testing.assert_allclose(S.sum(axis=1), H, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(S[0], x.mean())


def test_time_localisation_of_a_burst():
    n = 2000
    t = np.arange(n)
    x = np.where((t > 1200) & (t < 1500), np.sin(2 * np.pi * t / 50), 0.0)
    S, f = stransform(x, 30, 50)
    row = np.abs(S[int(round(n / 50)) - 30])
    assert row[1350] > 10 * row[400]


def test_hanning_taper_and_errors():
    np.testing.assert_allclose(hanning(3), [0.5, 1.0, 0.5])
    y = detrend_and_taper(np.arange(100.0) ** 2)
    assert np.abs(y).max() < 1e-8
    with pytest.raises(InputError):
        stransform(np.array([1.0, np.nan, 2.0]))
    with pytest.raises(InputError):
        stransform(np.zeros(10), 3, 8)
    with pytest.raises(InputError):
        stransform(np.zeros(10), width_factor=0)

"""Tests of RotD50 PGA / PGV (tianshan.sim.peaks) against hand cases and the brute-force reference."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tianshan.core.errors import InputError
from tianshan.sim import peaks


def test_rotd50_single_axis_sinusoid_is_sin45():
    # Rotated peaks are A |cos(theta)|, theta = 0..179 deg; their median is A sin(45 deg).
    t = np.linspace(0, 1, 1001)
    h1 = 3.0 * np.sin(2 * np.pi * 2.0 * t + 0.3)
    amp = np.max(np.abs(h1))
    assert peaks.rotd50(h1, np.zeros_like(h1)) == pytest.approx(amp * math.sin(math.radians(45)),
                                                                rel=1e-12)
    assert peaks.rotd_percentile(h1, np.zeros_like(h1), 100.0) == pytest.approx(amp)


def test_rotd50_circular_motion_equals_radius():
    t = np.linspace(0, 1, 20001)
    h1, h2 = 2.0 * np.cos(2 * np.pi * t), 2.0 * np.sin(2 * np.pi * t)
    assert peaks.rotd50(h1, h2) == pytest.approx(2.0, rel=1e-6)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_fast_rotd_equals_reference(seed):
    rng = np.random.default_rng(seed)
    h1 = np.cumsum(rng.standard_normal(5000))
    h2 = 0.5 * h1 + rng.standard_normal(5000) * 10
    for pct in (0.0, 50.0, 100.0):
        assert peaks.rotd_percentile(h1, h2, pct) == pytest.approx(
            peaks.rotd_percentile_reference(h1, h2, pct), rel=1e-12)


def test_rotd_degenerate_inputs():
    z = np.zeros(10)
    assert peaks.rotd50(z, z) == 0.0
    line = np.arange(10.0)
    assert peaks.rotd50(line, line) == pytest.approx(peaks.rotd_percentile_reference(line, line))
    with pytest.raises(InputError):
        peaks.rotd50(np.zeros(3), np.zeros(4))


def test_pga_conventions():
    rng = np.random.default_rng(4)
    zne = rng.standard_normal((3, 500))
    assert peaks.pga_m_s2(zne) == pytest.approx(peaks.rotd50(zne[1], zne[2]))
    assert peaks.pga_m_s2(zne[1:]) == pytest.approx(peaks.rotd50(zne[1], zne[2]))
    assert peaks.pga_m_s2(zne[0]) == pytest.approx(np.max(np.abs(zne[0])))
    with pytest.raises(InputError, match="acc"):
        peaks.pga_m_s2(np.zeros((4, 10)))


def test_pgv_of_sine_acceleration():
    # a = A sin(w t) from rest -> v = (A/w)(1 - cos w t), peak 2 A / w.
    fs, a0, f0 = 1000.0, 0.7, 1.5
    t = np.arange(0, 2.0 / f0, 1 / fs)
    acc = a0 * np.sin(2 * np.pi * f0 * t)
    assert peaks.pgv_m_s(acc, fs) == pytest.approx(2 * a0 / (2 * np.pi * f0), rel=1e-4)
    with pytest.raises(InputError, match="sample_rate_hz"):
        peaks.pgv_m_s(acc, 0.0)


def test_velocity_is_trapezoidal_integral():
    rng = np.random.default_rng(9)
    acc = rng.standard_normal((3, 300))
    v = peaks.acceleration_to_velocity(acc, 50.0)
    assert v[:, 0] == pytest.approx(0.0)
    assert v[:, -1] == pytest.approx(np.trapz(acc, dx=1 / 50.0, axis=-1))

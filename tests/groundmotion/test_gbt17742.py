"""GB/T 17742-2020 Appendix A instrumental intensity: formulas, switch rule, clipping, rounding, bands.

Tolerances: the reported intensity (one decimal) is compared exactly; unrounded
values to 1e-9 (formula arithmetic) unless stated.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from tianshan.core.errors import InputError
from tianshan.groundmotion.intensity import gbt17742 as g


def test_issue_boundary_check_pga_0457_pgv_00381_gives_5_5():
    # Issue 6 "Must show": PGA 0.457 m/s^2 with PGV 0.0381 m/s gives 5.5 (lower edge of VI).
    assert g.instrumental_intensity(0.457, 0.0381) == 5.5
    i_a, i_v = g.intensity_from_pga(0.457), g.intensity_from_pgv(0.0381)
    assert i_a == pytest.approx(3.17 * math.log10(0.457) + 6.59, abs=1e-12)
    assert i_a == pytest.approx(5.5119, abs=1e-4) and i_v == pytest.approx(5.5128, abs=1e-4)
    assert g.instrumental_intensity(0.457, 0.0381, rounded=False) == pytest.approx((i_a + i_v) / 2, abs=1e-12)
    assert g.degree(g.instrumental_intensity(0.457, 0.0381)) == 6


def test_formula_anchor_values():
    assert g.intensity_from_pga(1.0) == pytest.approx(6.59, abs=1e-12)
    assert g.intensity_from_pga(10.0) == pytest.approx(9.76, abs=1e-12)
    assert g.intensity_from_pgv(1.0) == pytest.approx(9.77, abs=1e-12)
    assert g.intensity_from_pgv(0.1) == pytest.approx(6.77, abs=1e-12)


def test_switch_uses_iv_only_when_both_reach_six():
    # both >= 6: I = I_V
    pga, pgv = 1.0, 0.1                          # I_A 6.59, I_V 6.77
    assert g.instrumental_intensity(pga, pgv, rounded=False) == pytest.approx(6.77, abs=1e-12)
    # I_A >= 6 but I_V < 6: the mean
    pgv_low = 0.05                               # I_V = 5.8669
    iv = 3.0 * math.log10(0.05) + 9.77
    assert g.instrumental_intensity(pga, pgv_low, rounded=False) == pytest.approx((6.59 + iv) / 2, abs=1e-12)
    # I_V >= 6 but I_A < 6: the mean, not I_V
    assert g.instrumental_intensity(0.3, 0.1, rounded=False) == pytest.approx(
        (3.17 * math.log10(0.3) + 6.59 + 6.77) / 2, abs=1e-12)
    # exactly at the switch: I_A = I_V = 6.0 on both sides gives 6.0
    assert g.combine(6.0, 6.0) == 6.0
    assert g.combine(6.0, 7.0) == 7.0
    assert g.combine(5.999, 7.0) == pytest.approx(6.4995, abs=1e-12)


def test_clipping_to_1_and_12():
    assert g.instrumental_intensity(0.0, 0.0) == 1.0
    assert g.instrumental_intensity(1e-6, 1e-7) == 1.0
    assert g.instrumental_intensity(1000.0, 100.0) == 12.0


def test_rounding_half_up_to_one_decimal():
    assert g.round_intensity(5.45) == 5.5
    assert g.round_intensity(5.25) == 5.3
    assert g.round_intensity(5.449999) == 5.4
    assert g.round_intensity(6.05) == 6.1
    x = np.array([5.45, 5.25, 5.449999, 6.05, 1.0, 12.0])
    assert np.array_equal(g.round_intensity(x), [5.5, 5.3, 5.4, 6.1, 1.0, 12.0])


def test_arrays_match_scalars():
    rng = np.random.default_rng(7)
    pga = 10.0 ** rng.uniform(-3, 1.5, 500)
    pgv = 10.0 ** rng.uniform(-4, 0.5, 500)
    arr = g.instrumental_intensity(pga, pgv)
    assert arr.shape == (500,)
    assert all(arr[i] == g.instrumental_intensity(float(pga[i]), float(pgv[i])) for i in range(500))


def test_inverses():
    for i in (1.0, 3.3, 5.5, 6.0, 9.9, 12.0):
        assert g.intensity_from_pga(g.pga_for_intensity(i)) == pytest.approx(i, abs=1e-9)
        assert g.intensity_from_pgv(g.pgv_for_intensity(i)) == pytest.approx(i, abs=1e-9)


def test_degree_edges_and_roman():
    assert g.degree(5.4) == 5 and g.degree(5.5) == 6 and g.degree(6.4) == 6 and g.degree(6.5) == 7
    assert g.degree(5.46) == 5 and g.degree(g.round_intensity(5.46)) == 6   # unrounded vs reported
    assert g.degree(0.3) == 1 and g.degree(13.0) == 12
    assert g.degree(1.0) == 1 and g.degree(11.5) == 12 and g.degree(12.0) == 12
    assert [g.roman(n) for n in (1, 4, 6, 9, 12)] == ["I", "IV", "VI", "IX", "XII"]
    with pytest.raises(InputError):
        g.roman(13)


def test_band_vi_values():
    b = g.band(6)
    assert b.name == "VI"
    assert (b.intensity_min, b.intensity_max) == (5.5, 6.5)
    # 3 significant digits
    assert b.pga_min_m_s2 == pytest.approx(0.453, rel=2e-3) and b.pga_max_m_s2 == pytest.approx(0.937, rel=2e-3)
    assert b.pgv_min_m_s == pytest.approx(0.0377, rel=2e-3) and b.pgv_max_m_s == pytest.approx(0.0813, rel=2e-3)
    # the issue's boundary point lies inside VI for both motions
    assert b.contains_pga(0.457) and b.contains_pgv(0.0381)


def _unrounded_degree(pga, pgv):
    return g.degree(g.instrumental_intensity(pga, pgv, rounded=False))


@pytest.mark.parametrize("n", range(1, 13))
def test_band_edges_map_to_their_degree(n):
    # Edges of the unrounded intensity. Tolerance: relative 1e-9 on the motion at an edge.
    b = g.BANDS[n - 1]
    assert b.degree == n
    if n > 1:
        assert _unrounded_degree(b.pga_min_m_s2, b.pgv_min_m_s) == n
        assert _unrounded_degree(b.pga_min_m_s2 * (1 - 1e-9), b.pgv_min_m_s * (1 - 1e-9)) == n - 1
        assert g.BANDS[n - 2].pga_max_m_s2 == b.pga_min_m_s2 and g.BANDS[n - 2].pgv_max_m_s == b.pgv_min_m_s
    else:
        assert b.pga_min_m_s2 == 0.0 and b.pgv_min_m_s == 0.0
        assert _unrounded_degree(1e-9, 1e-9) == 1
    if n < 12:
        assert _unrounded_degree(b.pga_max_m_s2 * (1 - 1e-9), b.pgv_max_m_s * (1 - 1e-9)) == n
        assert _unrounded_degree(b.pga_max_m_s2, b.pgv_max_m_s) == n + 1
    else:
        assert math.isinf(b.pga_max_m_s2) and math.isinf(b.pgv_max_m_s)
        assert _unrounded_degree(1e3, 1e2) == 12
    # the geometric middle of the band is inside the degree, also as reported
    if 1 < n < 12:
        mid_a = math.sqrt(b.pga_min_m_s2 * b.pga_max_m_s2)
        mid_v = math.sqrt(b.pgv_min_m_s * b.pgv_max_m_s)
        assert g.degree(g.instrumental_intensity(mid_a, mid_v)) == n


def test_package_import_is_light():
    import subprocess
    import sys

    code = ("import sys, tianshan.groundmotion.intensity, tianshan.groundmotion.intensity.mmi; "
            "print(','.join(m for m in ('numpy', 'scipy', 'obspy') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_bad_input_is_refused():
    for bad in (-0.1, math.nan, math.inf):
        with pytest.raises(InputError):
            g.intensity_from_pga(bad)
        with pytest.raises(InputError):
            g.intensity_from_pgv(bad)
    with pytest.raises(InputError):
        g.instrumental_intensity(np.array([0.1, -1.0]), np.array([0.01, 0.01]))
    with pytest.raises(InputError):
        g.pga_for_intensity(math.nan)

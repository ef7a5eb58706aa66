"""Worden et al. (2012) MMI <-> ground motion, and the Chinese scale <-> MMI conversion.

Tolerances: formula values 1e-9 (arithmetic); the bilinear fit's breaks are
continuous to 0.01 MMI (the paper's rounded coefficients); the Wenchuan
ShakeMap station intensities are reproduced to the file's one-decimal rounding
(0.05) plus 0.01 for 99 % of the stations.
"""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET

import numpy as np
import pytest

from tianshan.core.errors import InputError
from tianshan.groundmotion.intensity import gbt17742, mmi

# Worden et al. (2012) Table 1 (c1, c2, c3, c4, c5, c6, c7, t1, t2), typed from the paper's
# table as reproduced in USGS ShakeMap (shakelib/gmice/wgrw12.py).
TABLE_1 = {
    "pga": (1.78, 1.55, -1.60, 3.70, -0.91, 1.02, -0.17, 1.57, 4.22),
    "pgv": (3.78, 1.47, 2.89, 3.16, 0.90, 0.00, -0.18, 0.53, 4.56),
    "psa0.3": (1.26, 1.69, -4.15, 4.14, -1.05, 0.60, 0.00, 2.21, 4.99),
    "psa1.0": (2.50, 1.51, 0.20, 2.90, 2.27, -0.49, -0.29, 1.65, 4.98),
    "psa3.0": (3.81, 1.17, 1.99, 3.01, 1.91, -0.57, -0.21, 0.99, 4.96),
}


def test_coefficients_are_table_1():
    for imt, row in TABLE_1.items():
        c = mmi.WORDEN_2012[imt]
        assert (c.c1, c.c2, c.c3, c.c4, c.c5, c.c6, c.c7, c.t1, c.t2) == row


def test_hand_computed_points():
    # PGA at the break, log10(37.15 cm/s^2) = 1.57: lower line 1.78 + 1.55 * 1.57
    assert mmi.mmi_from_pga(10 ** 1.57 / 100) == pytest.approx(1.78 + 1.55 * 1.57, abs=1e-9)
    # PGV 10 cm/s: upper line 2.89 + 3.16
    assert mmi.mmi_from_pgv(0.1) == pytest.approx(6.05, abs=1e-9)
    # PSA(1.0 s) 100 cm/s^2: upper line 0.20 + 2.90 * 2
    assert mmi.mmi_from_psa(1.0, 1.0) == pytest.approx(6.0, abs=1e-9)
    # PSA(0.3 s) 10 cm/s^2: lower line 1.26 + 1.69
    assert mmi.mmi_from_psa(0.1, 0.3) == pytest.approx(2.95, abs=1e-9)
    # with the distance/magnitude terms: PGV 10 cm/s, 50 km, M6: + 0.90 + 0 * log10(50) - 0.18 * 6
    assert mmi.mmi_from_pgv(0.1, rrup_m=50e3, magnitude=6.0) == pytest.approx(6.05 + 0.90 - 1.08, abs=1e-9)
    # PGA with terms: 100 cm/s^2, 20 km, M5
    expected = -1.60 + 3.70 * 2.0 - 0.91 + 1.02 * math.log10(20.0) - 0.17 * 5.0
    assert mmi.mmi_from_pga(1.0, rrup_m=20e3, magnitude=5.0) == pytest.approx(expected, abs=1e-9)


def test_distance_and_magnitude_are_clipped_like_shakemap():
    near = mmi.mmi_from_pga(1.0, rrup_m=2e3, magnitude=8.0)
    assert near == pytest.approx(mmi.mmi_from_pga(1.0, rrup_m=10e3, magnitude=7.3), abs=1e-12)
    far = mmi.mmi_from_pga(1.0, rrup_m=900e3, magnitude=2.0)
    assert far == pytest.approx(mmi.mmi_from_pga(1.0, rrup_m=300e3, magnitude=3.0), abs=1e-12)
    with pytest.raises(InputError):
        mmi.mmi_from_pga(1.0, rrup_m=20e3)   # magnitude missing


@pytest.mark.parametrize("imt", mmi.IMTS)
def test_bilinear_break_is_continuous_and_t2_is_the_mmi_there(imt):
    c = mmi.WORDEN_2012[imt]
    lower = c.c1 + c.c2 * c.t1
    upper = c.c3 + c.c4 * c.t1
    assert abs(lower - upper) < 0.01
    assert abs(c.t2 - 0.5 * (lower + upper)) < 0.02


@pytest.mark.parametrize("imt", mmi.IMTS)
def test_round_trip_off_the_break(imt):
    c = mmi.WORDEN_2012[imt]
    ly = np.concatenate([np.linspace(c.t1 - 1.5, c.t1 - 0.1, 20), np.linspace(c.t1 + 0.1, c.t1 + 1.2, 20)])
    y = 10.0 ** ly / 100.0
    x = mmi.mmi_from_motion(y, imt, clip=False)
    assert np.allclose(mmi.motion_from_mmi(x, imt), y, rtol=1e-12)
    xr = mmi.mmi_from_motion(y, imt, rrup_m=40e3, magnitude=6.2, clip=False)
    assert np.allclose(mmi.motion_from_mmi(xr, imt, rrup_m=40e3, magnitude=6.2), y, rtol=1e-12)


def test_clip_and_low_segment():
    assert mmi.mmi_from_pgv(1e-5) == 1.0
    assert mmi.mmi_from_pgv(1e-5, clip=False) < 1.0
    assert mmi.mmi_from_pga(100.0) == 10.0
    # ShakeMap's MMI < 2 line: PGV 0.01 cm/s -> log10 = -2 < -1.21: 4.62 + 2.17 * (-2)
    v = mmi.mmi_from_motion(1e-4, "pgv", clip=False, shakemap_low_segment=True)
    assert v == pytest.approx(4.62 - 4.34, abs=1e-9)
    assert mmi.motion_from_mmi(v, "pgv", shakemap_low_segment=True) == pytest.approx(1e-4, rel=1e-12)


def test_sigmas_and_bad_input():
    assert mmi.sigma_mmi("pgv") == 0.63
    assert mmi.sigma_ln_motion("pga") == pytest.approx(0.35 * math.log(10), abs=1e-12)
    with pytest.raises(InputError):
        mmi.mmi_from_motion(1.0, "sa(2.0)")
    with pytest.raises(InputError):
        mmi.mmi_from_psa(1.0, 2.0)
    with pytest.raises(InputError):
        mmi.mmi_from_pga(0.0)
    with pytest.raises(InputError):
        mmi.mmi_from_pgv(np.array([0.1, math.nan]))


def test_chinese_scale_via_pgv_is_exact_above_six_and_invertible():
    # For I_CN >= 6 the GB/T intensity is I_V, so I_CN -> PGV is exact.
    for i_cn in (6.0, 7.3, 8.0, 9.5):
        pgv = gbt17742.pgv_for_intensity(i_cn)
        assert mmi.mmi_from_cn(i_cn) == pytest.approx(mmi.mmi_from_pgv(pgv), abs=1e-12)
    # inverse pair (away from Worden's PGV break at MMI 4.56 and inside MMI 1-10)
    i = np.array([5.0, 6.0, 7.0, 8.0, 9.0, 10.0])
    back = mmi.cn_from_mmi(mmi.mmi_from_cn(i))
    assert np.allclose(back, i, atol=1e-9)
    back_a = mmi.cn_from_mmi(mmi.mmi_from_cn(i, via="pga"), via="pga")
    assert np.allclose(back_a, i, atol=1e-9)


def test_chinese_scale_reference_values():
    # CN VIII (PGV 0.2567 m/s = 25.67 cm/s) -> MMI 2.89 + 3.16 log10(25.67)
    assert mmi.mmi_from_cn(8.0) == pytest.approx(2.89 + 3.16 * (8.0 - 9.77) / 3.0 + 3.16 * 2.0, abs=1e-9)
    # MMI VII -> PGV 10^((7 - 2.89) / 3.16) cm/s -> I_V
    pgv = 10 ** ((7.0 - 2.89) / 3.16) / 100.0
    assert mmi.cn_from_mmi(7.0) == pytest.approx(3.0 * math.log10(pgv) + 9.77, abs=1e-9)
    assert mmi.cn_from_mmi(7.0, rounded=True) == gbt17742.round_intensity(3.0 * math.log10(pgv) + 9.77)
    # "both": the full GB/T rule on the two motions implied by the MMI
    pga = mmi.motion_from_mmi(5.0, "pga")
    pgv5 = mmi.motion_from_mmi(5.0, "pgv")
    assert mmi.cn_from_mmi(5.0, via="both") == pytest.approx(
        gbt17742.instrumental_intensity(pga, pgv5, rounded=False), abs=1e-12)
    # a larger vector-sum/horizontal ratio raises the CN equivalent of a given MMI
    assert mmi.cn_from_mmi(6.0, vector_to_horizontal=1.2) > mmi.cn_from_mmi(6.0)
    with pytest.raises(InputError):
        mmi.mmi_from_cn(13.0)
    with pytest.raises(InputError):
        mmi.cn_from_mmi(6.0, vector_to_horizontal=0.5)
    with pytest.raises(InputError):
        mmi.cn_from_mmi(6.0, via="pgd")


def _wenchuan_stations(shared_data):
    root = ET.parse(shared_data / "shakemap" / "wenchuan" / "stationlist.xml").getroot()
    out = []
    for st in root.iter("station"):
        if st.get("intensity") is None or st.get("netid") in ("DYFI", "INTENSITY"):
            continue
        comps = st.findall("comp")
        pgv = [float(c.find("pgv").get("value")) for c in comps if c.find("pgv") is not None]
        pga = [float(c.find("pga").get("value")) for c in comps if c.find("pga") is not None]
        out.append((float(st.get("intensity")), max(pga) if pga else None, max(pgv) if pgv else None,
                    float(st.get("dist"))))
    return out


def test_reproduces_wenchuan_shakemap_station_intensities(shared_data):
    """ShakeMap's station MMI of the 2008 Wenchuan Mw 7.9 (stationlist.xml) from Worden et al. (2012)
    with the distance/magnitude terms: PGV (cm/s) where present, else PGA (%g); one-decimal values."""
    rows = _wenchuan_stations(shared_data)
    res = []
    for i_file, pga_pct_g, pgv_cm_s, dist_km in rows:
        if pgv_cm_s is not None:
            m = mmi.mmi_from_pgv(pgv_cm_s / 100.0, rrup_m=dist_km * 1e3, magnitude=7.9)
        else:
            m = mmi.mmi_from_pga(pga_pct_g / 100.0 * 9.81, rrup_m=dist_km * 1e3, magnitude=7.9)
        res.append(i_file - m)
    res = np.abs(np.array(res))
    assert len(res) == 421   # the instrumental stations of the file
    assert np.median(res) <= 0.03
    assert np.mean(res <= 0.06) >= 0.99
    assert res.max() <= 0.16
    # and not without the distance/magnitude terms (the test can fail)
    res0 = np.abs(np.array([i - mmi.mmi_from_pgv(v / 100.0) for i, _, v, _ in rows if v is not None]))
    assert np.median(res0) > 0.2

"""Completeness magnitude and b-value estimators, checked against SeismoStats' published examples.

SeismoStats cannot be installed beside NumPy 1.26 (see tianshan.analysis.stats), so the
reference numbers are the outputs SeismoStats documents: the docstring example of
``ClassicBValueEstimator`` (1.114920128810535) and the user-guide examples of ``estimate_b``
(0.169 classic, 0.845 b-positive, given to 3 decimals).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from tianshan.analysis import stats as st
from tianshan.core.errors import InputError

#: SeismoStats ClassicBValueEstimator docstring example (mc=2.0, delta_m=0.1) -> 1.114920128810535.
SS_DOCSTRING_MAGS = [2.0, 2.5, 2.1, 2.2, 2.5, 2.2, 2.6, 2.3, 2.7, 2.2, 2.4, 2.0, 2.7, 2.2, 2.3, 2.1,
                     2.4, 2.6, 2.2, 2.2, 2.7, 2.4, 2.2, 2.5]
#: SeismoStats user guide "Estimate b-value", section 2.2 (mc=1, delta_m=1): 0.169 and b-positive 0.845.
SS_GUIDE_MAGS = [0, 0, 1, 1, 1, 2, 3, 2, 3, 5, 6, 7]


def gr_sample(n: int, b: float, mc: float, delta_m: float = 0.1, seed: int = 1) -> np.ndarray:
    """Binned G-R magnitudes >= mc: continuous exponential from mc - delta_m/2, rounded to bins."""
    rng = np.random.default_rng(seed)
    return st.bin_magnitudes(mc - delta_m / 2 + rng.exponential(1 / (b * math.log(10)), n), delta_m)


def test_seismostats_documented_examples():
    assert st.b_value(SS_DOCSTRING_MAGS, 2.0, 0.1).b == pytest.approx(1.114920128810535, abs=1e-12)
    assert st.b_value(SS_GUIDE_MAGS, 1.0, 1.0).b == pytest.approx(0.169, abs=5e-4)
    assert st.b_positive(SS_GUIDE_MAGS, None, 1.0, 1.0).b == pytest.approx(0.845, abs=5e-4)


def test_shi_bolt_and_aki_uncertainties_by_hand():
    m = np.array([2.0, 2.1, 2.1, 2.4, 3.0])
    bv = st.b_value(m, 2.0, 0.1)
    mean = m.mean()
    expect_b = math.log(1 + 0.1 / (mean - 2.0)) / 0.1 / math.log(10)  # Tinti & Mulargia 1987
    assert bv.b == pytest.approx(expect_b, rel=1e-12)
    expect_std = 2.302585093 * expect_b ** 2 * math.sqrt(((m - mean) ** 2).sum() / (5 * 4))  # Shi & Bolt 1982
    assert bv.std == pytest.approx(expect_std, rel=1e-9)
    assert bv.std_aki == pytest.approx(expect_b / math.sqrt(5))
    utsu = st.b_value(m, 2.0, 0.1, "utsu").b
    assert utsu == pytest.approx(math.log10(math.e) / (mean - 1.95), rel=1e-12)
    assert st.b_value(m, 2.0, 0.0, "aki").b == pytest.approx(math.log10(math.e) / (mean - 2.0))


def test_estimators_recover_b_of_synthetic_gr():
    m = gr_sample(20000, 1.2, 2.0)
    for method in ("tinti", "utsu"):
        bv = st.b_value(m, 2.0, 0.1, method)
        assert abs(bv.b - 1.2) < 3 * bv.std + (0.01 if method == "utsu" else 0.0)
    bp = st.b_positive(m, None, 2.0, 0.1)
    assert abs(bp.b - 1.2) < 3 * bp.std


def test_b_positive_is_robust_to_varying_completeness_classic_is_not():
    """Blocks of events with completeness 2.0-3.5 (van der Elst 2021's setting): b+ stays at b."""
    rng = np.random.default_rng(3)
    parts = []
    for c in rng.choice([2.0, 2.5, 3.0, 3.5], size=80):
        m = gr_sample(400, 1.0, 2.0, seed=int(rng.integers(1 << 30)))
        parts.append(m[m >= c - 0.05])
    mags = np.concatenate(parts)
    classic = st.b_value(mags, 2.0, 0.1)
    bp = st.b_positive(mags, np.arange(mags.size), 2.0, 0.1)
    assert classic.b < 0.8  # biased by the missing small events
    assert abs(bp.b - 1.0) < 3 * bp.std


def incomplete_sample(mc: float = 2.0, seed: int = 5) -> np.ndarray:
    """G-R (b = 1) from 1.0, complete above mc, detection falling by 10^-1 per 0.5 units below it."""
    m = gr_sample(60000, 1.0, 1.0, seed=seed)
    rng = np.random.default_rng(seed + 1)
    keep = (m >= mc - 0.05) | (rng.uniform(size=m.size) < 10.0 ** (2.0 * (m - mc)))
    return m[keep]


def test_mc_methods_on_a_catalog_complete_above_2():
    m = incomplete_sample()
    assert st.mc_maxc(m, 0.1, correction=0.0).mc == pytest.approx(2.0)
    assert st.mc_maxc(m, 0.1).mc == pytest.approx(2.2)  # + 0.2 (Woessner & Wiemer 2005)
    gft = st.mc_gft(m, 0.1)
    assert 1.9 <= gft.mc <= 2.2 and gft.details["level"] == 95.0
    assert st.gft_residual(m, gft.mc) >= 95.0 and st.gft_residual(m, 1.5) < 90.0
    stab = st.mc_b_stability(m, 0.1)
    assert 1.9 <= stab.mc <= 2.4 and abs(stab.b.b - 1.0) < 3 * stab.b.std
    boot = st.mc_bootstrap(m, 0.1, "maxc", n_boot=30, seed=1)
    assert boot.n == 30 and boot.mc_mean == pytest.approx(2.2, abs=0.05) and boot.b_std > 0


def test_b_stability_follows_the_published_rule_by_hand():
    """Woessner & Wiemer 2005: pass when |mean(b(Mc..Mc+0.4)) - b(Mc)| <= Shi-Bolt std."""
    m = incomplete_sample(seed=9)
    res = st.mc_b_stability(m, 0.1)
    for mc, diff in zip(res.details["trial_mc"], res.details["diff_over_std"]):
        b0 = st.b_value(m, mc, 0.1)
        avg = np.mean([st.b_value(m, mc + k * 0.1, 0.1).b for k in range(5)])
        assert diff == pytest.approx(abs(avg - b0.b) / b0.std, rel=1e-9)
    assert res.details["diff_over_std"][-1] <= 1.0 and all(d > 1.0 for d in res.details["diff_over_std"][:-1])


def test_errors_for_too_little_data():
    with pytest.raises(InputError):
        st.b_value([2.0], 2.0, 0.1)
    with pytest.raises(InputError):
        st.b_value([2.0, 2.0, 2.0], 2.0, 0.1)  # mean equals mc
    with pytest.raises(InputError):
        st.b_positive([3.0, 2.0, 1.0], None, 1.0, 0.1)  # no positive difference
    with pytest.raises(InputError):
        st.estimate_mc([1.0, 2.0], 0.1, "nope")


def test_series_detects_a_b_change_and_map_separates_regions():
    early, late = gr_sample(1500, 1.0, 2.0, seed=11), gr_sample(1500, 1.5, 2.0, seed=12)
    m = np.concatenate([early, late])
    t = np.arange(m.size, dtype=float)
    s = st.b_value_series(t, m, 2.0, 0.1, window=300, step=100)
    assert s.b[0] == pytest.approx(1.0, abs=0.15) and s.b[-1] == pytest.approx(1.5, abs=0.2)
    sp = st.b_value_series(t, m, 2.0, 0.1, window=300, step=100, method="positive")
    assert sp.b[-1] > sp.b[0] + 0.2
    rng = np.random.default_rng(2)
    lon = np.concatenate([rng.uniform(80, 81, early.size), rng.uniform(84, 85, late.size)])
    lat = rng.uniform(40, 41, m.size)
    bm = st.b_value_map(lon, lat, m, 2.0, 0.1, bbox=(80.0, 40.0, 85.0, 41.0), spacing_deg=0.5, radius_km=60,
                        min_events=100)
    assert bm.b.shape == (3, 11)
    assert np.nanmean(bm.b[:, :2]) == pytest.approx(1.0, abs=0.15)
    assert np.nanmean(bm.b[:, -2:]) == pytest.approx(1.5, abs=0.2)
    assert np.isnan(bm.b[:, 5]).all() and (bm.n[:, 5] == 0).all()  # no events near 82.5E


def test_gr_plot_is_written(tmp_path):
    m = gr_sample(500, 1.0, 2.0)
    out = st.write_gr_plot(m, tmp_path / "gr.png", 0.1, 2.0, st.b_value(m, 2.0))
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_xinjiang_mc_and_b_values(shared_data):
    """Xinjiang box (73-97E, 34-50N) of china_mw_1900_2016.csv since 1970: the figures of the closing note."""
    from tianshan.analysis.catalog import XINJIANG_BOX, read_catalog, select

    cat = select(read_catalog(shared_data / "catalogs" / "china_mw_1900_2016.csv"), bbox=XINJIANG_BOX,
                 start="1970-01-01").sorted()
    m = cat.magnitude
    assert st.mc_maxc(m).mc == pytest.approx(4.2)
    assert st.mc_gft(m).mc == pytest.approx(4.6)
    assert st.mc_b_stability(m).mc == pytest.approx(4.8)
    bv = st.b_value(m, 4.2, 0.1)
    assert (bv.n, round(bv.b, 3), round(bv.std, 3)) == (4918, 0.880, 0.010)
    bp = st.b_positive(m, cat.time_s, 4.2, 0.1)
    assert (round(bp.b, 3), round(bp.std, 3)) == (1.174, 0.025)

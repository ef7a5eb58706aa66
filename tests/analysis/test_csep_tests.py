"""pyCSEP tests on gridded forecasts made by this system (N, M, S, L, CL, T, W and the simulated N-test)."""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import datetime, timedelta, timezone

import numpy as np
import pytest
from scipy import stats

from tianshan.analysis import csep as cs
from tianshan.analysis.catalog import SeismicCatalog
from tianshan.analysis.etas import EtasParams, fit_etas, make_catalog, read_etas_csv
from tianshan.analysis.etas.forecast import ForecastGrid, background_per_cell, etas_forecast, forecast_grid
from tianshan.core.errors import InputError

UTC = timezone.utc
START = datetime(2008, 6, 1, tzinfo=UTC)
END = START + timedelta(days=30)


def _grid(expected: np.ndarray, beta=math.log(10) * 1.0, m0=3.95, west=50.0, south=30.0, step=0.5) -> ForecastGrid:
    ny, nx = expected.shape
    return ForecastGrid(west_deg=west, south_deg=south, step_deg=step, nx=nx, ny=ny, expected=expected,
                        magnitudes=(), probability=np.zeros((0, ny, nx)), mag_threshold=m0, beta=beta, mmax=None,
                        n_sims=1, start=START, end=END)


def _catalog(lon, lat, mag, t=None) -> SeismicCatalog:
    n = len(lon)
    t = np.full(n, START.timestamp() + 86400.0) if t is None else np.asarray(t, float)
    return SeismicCatalog(time_s=t, latitude_deg=np.asarray(lat, float), longitude_deg=np.asarray(lon, float),
                          depth_km=np.full(n, 10.0), magnitude=np.asarray(mag, float),
                          magnitude_type=np.array(["Mw"] * n, object), event_id=np.array([str(i) for i in range(n)], object),
                          line=np.zeros(n, np.int64))


def test_bin_probabilities_and_forecast_layout():
    bins = cs.magnitude_bins(4.0, 6.0, 0.1)
    assert bins.size == 21 and bins[0] == 4.0 and bins[-1] == 6.0
    beta = math.log(10)
    p = cs.bin_probabilities(bins, beta, 3.95, delta_m=0.1)
    assert p.sum() == pytest.approx(1.0)  # m0 = 4.0 - delta/2: the bins cover all magnitudes >= m0
    assert p[0] == pytest.approx(1 - 10 ** -0.1)
    assert p[-1] == pytest.approx(10 ** -(5.95 - 3.95))  # last bin open-ended
    exp = np.arange(1, 13, dtype=float).reshape(3, 4)
    f = cs.to_csep_forecast(_grid(exp), bins, delta_m=0.1)
    assert f.data.shape == (12, 21)
    assert f.event_count == pytest.approx(exp.sum())
    # Cell k of the grid is polygon k of the region: an event in cell (row 2, col 1) maps to index 9.
    idx = f.region.get_index_of(np.array([50.7]), np.array([31.2]))
    assert int(idx[0]) == 2 * 4 + 1
    assert f.spatial_counts()[9] == pytest.approx(exp[2, 1])


def test_number_test_matches_poisson_by_hand():
    bins = cs.magnitude_bins(4.0, 6.0, 0.1)
    f = cs.to_csep_forecast(_grid(np.full((3, 4), 0.5)), bins, delta_m=0.1)  # 6 expected
    cat = cs.observed_catalog(_catalog([50.2, 50.3, 51.1, 51.9], [30.1, 30.2, 31.0, 31.4], [4.0, 4.3, 5.1, 4.6]),
                              f.region, START, END)
    assert cat.event_count == 4
    (n,) = cs.consistency_tests(f, cat, tests=("N",))
    assert n.quantile[0] == pytest.approx(1 - stats.poisson.cdf(3, 6.0), abs=1e-5)
    assert n.quantile[1] == pytest.approx(stats.poisson.cdf(4, 6.0), abs=1e-5)
    assert n.passed is True and n.observed_statistic == 4
    # 20 observed against 6 forecast: rejected, too few forecast.
    many = cs.observed_catalog(_catalog(np.full(20, 50.2), np.full(20, 30.2), np.full(20, 4.1)), f.region, START, END)
    (n2,) = cs.consistency_tests(f, many, tests=("N",))
    assert n2.passed is False and n2.verdict == "too few forecast"


def test_observed_catalog_filters_time_region_and_magnitude():
    bins = cs.magnitude_bins(4.0, 6.0, 0.1)
    f = cs.to_csep_forecast(_grid(np.ones((2, 2))), bins)
    t_in = START.timestamp() + 3600
    cat = _catalog([50.2, 55.0, 50.2, 50.2, 50.6], [30.2, 30.2, 30.2, 30.2, 30.7], [4.5, 4.5, 3.9, 4.5, 7.2],
                   t=[t_in, t_in, t_in, END.timestamp() + 1, t_in])
    oc = cs.observed_catalog(cat, f.region, START, END)
    assert oc.event_count == 2  # outside the grid, below 4.0, after the end are dropped
    assert sorted(oc.get_magnitudes()) == [4.5, 7.2]


def test_likelihood_tests_reject_a_misplaced_forecast():
    """All events in one corner cell; a forecast concentrated elsewhere fails S and L, a matching one passes."""
    bins = cs.magnitude_bins(4.0, 6.0, 0.1)
    good = np.full((4, 4), 0.01)
    good[0, 0] = 8.0
    bad = np.full((4, 4), 0.01)
    bad[3, 3] = 8.0
    rng = np.random.default_rng(0)
    m = 3.95 + rng.exponential(1 / math.log(10), 8)
    cat = _catalog(50.1 + 0.3 * rng.random(8), 30.1 + 0.3 * rng.random(8), np.round(m, 1))
    res = {}
    for name, exp in (("good", good), ("bad", bad)):
        f = cs.to_csep_forecast(_grid(exp), bins, name=name, delta_m=0.1)
        oc = cs.observed_catalog(cat, f.region, START, END)
        res[name] = {r.test: r for r in cs.consistency_tests(f, oc, num_simulations=500, seed=1)}
    assert res["good"]["S"].passed and res["good"]["L"].passed and res["good"]["CL"].passed
    assert res["good"]["M"].passed and res["good"]["N"].passed
    assert not res["bad"]["S"].passed and not res["bad"]["L"].passed and not res["bad"]["CL"].passed
    # Comparison: the good forecast gains information over the bad one.
    fg = cs.to_csep_forecast(_grid(good), bins, name="good", delta_m=0.1)
    fb = cs.to_csep_forecast(_grid(bad), bins, name="bad", delta_m=0.1, region=fg.region)
    oc = cs.observed_catalog(cat, fg.region, START, END)
    t, w = cs.comparison_tests(fg, fb, oc)
    assert t.verdict == "better than benchmark" and t.detail["ig_lower"] > 0
    assert t.observed_statistic == pytest.approx(np.mean(np.log(8.0 / 0.01)) - (8.15 - 8.15) / 8, rel=1e-6)
    assert w.quantile[0] < 0.05
    assert "pass" in cs.format_results(res["good"].values())


def test_no_observed_events_and_unknown_test():
    bins = cs.magnitude_bins(4.0, 5.0, 0.1)
    f = cs.to_csep_forecast(_grid(np.full((2, 2), 0.1)), bins)
    oc = cs.observed_catalog(_catalog([], [], []), f.region, START, END)
    res = {r.test: r for r in cs.consistency_tests(f, oc, num_simulations=100, seed=1)}
    assert res["N"].passed is True and res["M"].passed is None and res["S"].passed is None
    assert res["L"].passed is not None
    t, w = cs.comparison_tests(f, f, oc)
    assert t.passed is None and "not applicable" in t.verdict
    with pytest.raises(InputError):
        cs.consistency_tests(f, oc, tests=("Q",))
    assert res["M"].as_dict()["observed_statistic"] is None


def test_simulated_number_test():
    counts = np.array([0] * 50 + [1] * 30 + [2] * 15 + [10] * 5)
    r = cs.simulated_number_test(counts, 10)
    assert r.quantile == (pytest.approx(0.05), pytest.approx(1.0))
    assert r.passed is True
    r2 = cs.simulated_number_test(counts, 11)
    assert r2.quantile[0] == 0.0 and r2.passed is False and r2.verdict == "too few forecast"


def test_pycsep_on_an_etas_forecast_of_this_system(small_catalog_csv, small_polygon):
    """End to end: fit, simulate 30 days, grid, pyCSEP N/S/L against the simulated catalogue's own events."""
    from tianshan.analysis.catalog import read_csv_catalog

    cat = make_catalog(read_etas_csv(small_catalog_csv), study_start="2001-01-01", study_end=START,
                       mag_threshold=3.0, polygon=small_polygon)
    fit = fit_etas(cat, EtasParams(0.5, 0.2, 0.05, 1.0, 1.3, 0.01, 2.0, 0.5), max_iter=3)
    fc, sims = etas_forecast(fit, START, 30, n_sims=2000, seed=5)
    grid = forecast_grid(sims, fit, (50.5, 30.5, 53.5, 33.5), 0.5)
    bins = cs.magnitude_bins(3.0, 6.0, 0.1)
    f = cs.to_csep_forecast(grid, bins, name="ETAS")
    assert f.event_count == pytest.approx(grid.expected.sum())
    obs = cs.observed_catalog(read_csv_catalog(small_catalog_csv), f.region, START, END)
    res = {r.test: r for r in cs.consistency_tests(f, obs, tests=("N", "S", "L"), num_simulations=300, seed=2)}
    assert res["N"].observed_statistic == obs.event_count
    assert res["N"].detail["forecast_count"] == pytest.approx(grid.expected.sum())
    for r in res.values():
        assert all(0.0 <= q <= 1.0 for q in r.quantile if math.isfinite(q))
    # Against the background-only forecast of the same fit.
    bg = replace(grid, expected=background_per_cell(fit, 50.5, 30.5, 0.5, 6, 6, 30.0))
    fb = cs.to_csep_forecast(bg, bins, name="background", region=f.region)
    assert fb.event_count < f.event_count
    t, _ = cs.comparison_tests(f, fb, obs)
    assert (t.passed is None) and (math.isfinite(t.observed_statistic) or obs.event_count < 2)

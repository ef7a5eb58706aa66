"""Generic detectors: PELT change points, robust exceedances, threshold runs."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pytest

from tianshan.analysis.precursor.detect import (anomaly_list, change_points, exceedances, robust_sigma,
                                                running_median, threshold_runs, trend_changes)
from tianshan.core.errors import InputError


def _piecewise(seed: int = 0):
    t = np.arange(900.0)
    base = np.where(t < 300, 0.01 * t, np.where(t < 600, 3 - 0.02 * (t - 300), -3 + 0.005 * (t - 600)))
    return base + np.random.default_rng(seed).normal(0, 0.1, t.size)


def test_trend_changes_found_near_truth():
    y = _piecewise()
    cps = change_points(y)
    assert len(cps) == 2 and abs(cps[0] - 300) <= 10 and abs(cps[1] - 600) <= 10
    days = [date(2020, 1, 1) + timedelta(days=i) for i in range(y.size)]
    an = trend_changes(y, times=days)
    assert [a.kind for a in an] == ["trend_change"] * 2
    assert an[0].start == days[cps[0]]
    # score = |slope change| / noise sigma (0.1): 0.03 / 0.1 and 0.025 / 0.1.
    assert an[0].score == pytest.approx(0.3, abs=0.05) and an[1].score == pytest.approx(0.25, abs=0.05)
    assert "slope change -0.0" in an[0].detail and "slope change 0.02" in an[1].detail


def test_mean_shift_and_no_change():
    rng = np.random.default_rng(4)
    y = np.r_[np.zeros(200), np.full(200, 2.0)] + rng.normal(0, 0.5, 400)
    assert change_points(y, model="mean") == [200]
    assert change_points(rng.normal(0, 1, 500), model="mean") == []
    an = trend_changes(y, model="mean")
    assert an[0].kind == "level_change" and an[0].amplitude == pytest.approx(2.0, abs=0.2)
    with pytest.raises(InputError):
        change_points(np.array([1.0, np.nan, 2.0] * 10))
    with pytest.raises(InputError):
        change_points(y, model="quadratic")


def test_robust_exceedances():
    rng = np.random.default_rng(7)
    z = rng.normal(0, 1, 500)
    z[100:105] += 9.0
    z[300] -= 12.0
    z[400] = np.nan
    found = exceedances(z, k=4.0)
    assert [(a.kind, a.start_index, a.end_index) for a in found] == [("high", 100, 104), ("low", 300, 300)]
    assert found[1].amplitude < -10 and found[0].score > 4
    assert robust_sigma(z) == pytest.approx(1.0, abs=0.1)
    # Merge and minimum duration; a running-median baseline removes a trend.
    assert len(exceedances(z, k=4.0, min_samples=2)) == 1
    trend = z + 0.05 * np.arange(500)
    assert [a.start_index for a in exceedances(trend, k=4.0, window=31)] == [100, 300]
    assert np.allclose(running_median(np.arange(5.0), 3), [0.5, 1, 2, 3, 3.5])


def test_threshold_runs_and_merge():
    x = np.array([0, 0, 2, 3, 0, -2, np.nan, 0, 2, 0])
    runs = threshold_runs(x, -1, 1)
    assert [(a.kind, a.start_index, a.end_index) for a in runs] == [("above", 2, 3), ("below", 5, 5), ("above", 8, 8)]
    assert runs[0].amplitude == 2.0 and runs[0].peak_index == 3
    merged = anomaly_list(runs, exceedances(x, k=1.0))
    assert [a.start_index for a in merged] == sorted(a.start_index for a in merged)
    with pytest.raises(InputError):
        threshold_runs(x, 1, -1)

"""Pre-processing: logged, reversible corrections; tidal harmonic analysis; barometric regression."""

from __future__ import annotations

import math
from datetime import datetime, timedelta

import numpy as np
import pytest

from tianshan.analysis.precursor.environment import (MAIN_CONSTITUENTS, constituent_speed, fit_tides,
                                                     regression_deconvolution, resolvable)
from tianshan.analysis.precursor.preprocess import (Correction, CorrectionLog, clean, fill_gaps,
                                                    remove_calibration_jumps, remove_spikes, remove_steps)
from tianshan.analysis.precursor.series import read_csv_series
from tianshan.core.errors import InputError


def test_fill_gaps_nearest_and_linear_reversible():
    x = np.array([1.0, np.nan, np.nan, 4.0, np.nan, 6.0, np.nan])
    y, log = fill_gaps(x)
    # nearest: index 1 -> left (1), 2 -> right (4), 4 -> tie -> later sample (6), 6 -> end value.
    np.testing.assert_array_equal(y, [1, 1, 4, 4, 6, 6, 6])
    assert log.counts() == {"gap_fill": 3}
    back = log.revert(y)
    np.testing.assert_array_equal(np.isnan(back), np.isnan(x))
    y2, _ = fill_gaps(x, "linear")
    np.testing.assert_allclose(y2, [1, 2, 3, 4, 5, 6, 6])
    with pytest.raises(InputError):
        fill_gaps(x, "cubic")


def _hourly(n_days: int, start=datetime(2019, 12, 30)):
    t = [start + timedelta(hours=i) for i in range(24 * n_days)]
    rng = np.random.default_rng(3)
    x = np.cumsum(rng.normal(0.0, 0.05, len(t))) + 0.5 * np.sin(2 * np.pi * np.arange(len(t)) / 24)
    return t, x


def test_steps_at_month_start_spikes_and_revert():
    t, truth = _hourly(40)
    x = truth.copy()
    jan1 = t.index(datetime(2020, 1, 1))
    x[jan1:] += 25.0                       # instrument reset at a month start
    mid = t.index(datetime(2020, 1, 10, 13))
    x[mid:] += 30.0                        # a step not at a month start: kept by the network rule
    x[200] += 40.0                         # a spike
    x[300:305] = np.nan                    # a gap with a level change inside
    x[305:] += 15.0
    res = clean(x, t)
    counts = res.log.counts()
    assert counts["gap_fill"] == 1 and counts["refill"] == 1 and counts["spike"] >= 1 and counts["step"] >= 2
    y = res.values
    assert abs((y[jan1] - y[jan1 - 1]) - (truth[jan1] - truth[jan1 - 1])) < 1.0
    assert abs((y[305] - y[299])) < 2.0                     # gap jump removed
    assert abs(y[mid] - y[mid - 1]) > 25.0                  # mid-month step left in place
    assert abs(y[200] - y[199]) < 2.0 and abs(y[201] - y[200]) < 2.0
    np.testing.assert_array_equal(res.missing, np.isnan(x))
    back = res.log.revert(y)
    ok = ~np.isnan(x)
    np.testing.assert_allclose(back[ok], x[ok], atol=1e-9)
    assert np.isnan(back[~ok]).all()
    # Without the month rule every isolated step goes.
    y_all = clean(x, None, steps_at_month_start_only=False).values
    assert abs(y_all[mid] - y_all[mid - 1]) < 2.0


def test_spike_interpolation_and_calibration_jump():
    rng = np.random.default_rng(5)
    x = np.cumsum(rng.normal(0, 0.1, 500))
    x[100] += 20
    y, log = remove_spikes(x, mode="interpolate")
    assert log.counts() == {"spike": 1} and log.corrections[0].index == 100
    assert y[100] == pytest.approx(0.5 * (x[99] + x[101]))
    np.testing.assert_array_equal(np.delete(y, 100), np.delete(x, 100))
    np.testing.assert_array_equal(log.revert(y), x)
    z = x.copy()
    z[300:] += 7.0
    z2, log2 = remove_calibration_jumps(z, [300], window=12)
    assert log2.corrections[0].kind == "calibration" and abs(log2.corrections[0].offset - 7.0) < 1.0
    np.testing.assert_allclose(log2.revert(z2), z)
    with pytest.raises(InputError):
        remove_calibration_jumps(z, [600])


def test_remove_steps_allowed_mask_and_correction_checks():
    x = np.r_[np.zeros(50), np.full(50, 10.0)] + np.linspace(0, 1, 100)
    y, log = remove_steps(x, allowed=np.zeros(99, dtype=bool))
    assert len(log) == 0
    y, log = remove_steps(x)
    assert len(log) == 1 and log.corrections[0].index == 50 and log.corrections[0].offset == pytest.approx(10 + 1 / 99)
    with pytest.raises(InputError):
        Correction("nonsense", 0)
    assert CorrectionLog().apply([1.0]).tolist() == [1.0]


def test_doodson_speeds():
    # Schureman (1958) table of speeds, degrees per mean solar hour.
    for name, speed in {"M2": 28.9841042, "S2": 30.0, "N2": 28.4397295, "K2": 30.0821373, "K1": 15.0410686,
                        "O1": 13.9430356, "P1": 14.9589314, "Q1": 13.3986609, "Mf": 1.0980331,
                        "Mm": 0.5443747}.items():
        assert constituent_speed(name) == pytest.approx(speed, abs=2e-7), name
    kept, dropped = resolvable(MAIN_CONSTITUENTS, 24 * 10)   # 10 days: K1/P1, S2/K2, ... inseparable
    assert "P1" in dropped and "K2" in dropped and "M2" in kept and "K1" in kept


def test_fit_tides_recovers_synthetic_constituents():
    t = np.arange(24 * 60, dtype=float)
    truth = {"M2": (3.0, 40.0), "K1": (2.0, 300.0), "O1": (1.5, 120.0), "S2": (0.7, 10.0)}
    y = 5.0 + 0.001 * t
    for name, (a, ph) in truth.items():
        w = math.radians(constituent_speed(name))
        y = y + a * np.cos(w * t - math.radians(ph))
    y[100:130] = np.nan
    fit = fit_tides(t, y, ("M2", "K1", "O1", "S2", "N2"))
    got = dict(zip(fit.names, zip(fit.amplitudes, fit.phases_deg)))
    for name, (a, ph) in truth.items():
        assert got[name][0] == pytest.approx(a, abs=1e-6)
        assert got[name][1] == pytest.approx(ph, abs=1e-4)
    assert got["N2"][0] < 1e-6 and fit.explained_variance > 0.999999
    resid = y - fit.tide(t)
    assert np.nanstd(resid - (5.0 + 0.001 * t)) < 1e-6


def test_regression_deconvolution_synthetic_brf():
    rng = np.random.default_rng(11)
    n = 4000
    baro = np.cumsum(rng.normal(0, 0.01, n))
    impulse = np.array([-0.3, -0.1, -0.05, -0.05])        # long-term BE 0.5
    dlevel = np.convolve(np.r_[0, np.diff(baro)], impulse)[:n] + rng.normal(0, 1e-4, n)
    level = 10.0 + np.cumsum(dlevel)
    fit = regression_deconvolution(level, baro, n_lags=6)
    np.testing.assert_allclose(fit.baro_impulse[:4], impulse, atol=5e-3)
    assert fit.be_instantaneous == pytest.approx(0.3, abs=5e-3)
    assert fit.be_long_term == pytest.approx(0.5, abs=1e-2)
    assert fit.r2_differences > 0.99 and fit.explained_levels["all"] > 0.99
    with pytest.raises(InputError):
        regression_deconvolution(level[:10], baro[:10], n_lags=6)


def test_rainfall_response_is_recovered_and_removed():
    rng = np.random.default_rng(12)
    n = 3000
    baro = np.cumsum(rng.normal(0, 0.01, n))
    rain = np.where(rng.random(n) < 0.02, rng.exponential(5.0, n), 0.0)
    rain_kernel = 0.002 * np.exp(-np.arange(24) / 6.0)          # level rise per mm, spread over a day
    dlevel = -0.4 * np.r_[0, np.diff(baro)] + np.convolve(rain, rain_kernel)[:n] + rng.normal(0, 1e-4, n)
    level = np.cumsum(dlevel)
    fit = regression_deconvolution(level, baro, n_lags=2, rain=rain, rain_lags=30)
    np.testing.assert_allclose(fit.rain_impulse[:24], rain_kernel, atol=2e-4)
    assert fit.rain_impulse.sum() == pytest.approx(rain_kernel.sum(), rel=0.05)
    assert fit.be_long_term == pytest.approx(0.4, abs=0.01)
    assert fit.explained_differences["rain"] > 0.3 and fit.explained_differences["all"] > 0.95
    resid = fit.corrected - np.mean(fit.corrected)
    assert np.std(np.diff(resid)) < 3e-4


def test_wipp30_pressure_and_tide_removal(shared_data):
    cols = read_csv_series(shared_data / "precursor" / "wipp30_waterlevel_pressure_tide.csv")
    wl, baro, et = cols["wl"].values, cols["baro"].values, cols["et"].values
    assert wl.size == 13413 and not np.isnan(wl).any()
    baro_only = regression_deconvolution(wl, baro, n_lags=48, t0_h=20.0)
    full = regression_deconvolution(wl, baro, n_lags=48, t0_h=20.0, harmonics=MAIN_CONSTITUENTS)
    # Barometric efficiency: lag-free 0.24, rising to ~0.68 after a day (delayed response).
    assert 0.2 < full.be_ols < 0.3 and 0.1 < full.be_instantaneous < 0.2 and 0.6 < full.be_long_term < 0.75
    assert np.all(np.diff(full.baro_step[:12]) < 0)          # the BRF builds up over the first hours
    # Explained variance of the levels (about a 10-day moving average) and of the hourly changes.
    assert baro_only.explained_levels["all"] > 0.9 and full.explained_levels["all"] > 0.97
    assert full.explained_differences["all"] > 0.6 > baro_only.explained_differences["all"]
    assert full.harmonics["M2"][0] > 0.005 and full.harmonics["K1"][0] > 0.005
    # The theoretical Earth tide is explained by the same harmonic constituents.
    assert fit_tides(np.arange(wl.size) + 20.0, et).explained_variance > 0.99

"""ANA/ONA extraction: synthetic behaviour and EQSuite-EVA's reference outputs for station 65015."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import numpy as np
import pytest

from tianshan.analysis.precursor.annual import (AnnualParams, annual_ratio, decimate_daily, extract_annual,
                                                trimmed_normalise)
from tianshan.analysis.precursor.series import ObservationSeries, read_dat
from tianshan.core.errors import InputError


def _daily_series(values, start=date(2010, 1, 1)) -> ObservationSeries:
    t0 = datetime(start.year, start.month, start.day, tzinfo=timezone.utc) - timedelta(hours=8)
    return ObservationSeries(start=t0, step_s=86400, values=values)


def test_annual_amplitude_change_shows_in_ana_and_burst_in_ona():
    n = 365 * 8
    t = np.arange(n)
    amp = np.where(t < n // 2, 1.0, 2.0)
    x = amp * np.sin(2 * np.pi * t / 365.25) + 0.002 * t
    x[1500:1560] += 0.8 * np.sin(2 * np.pi * np.arange(60) / 30)  # a 30-day disturbance
    rng = np.random.default_rng(0)
    x += rng.normal(0, 0.02, n)
    res = extract_annual(_daily_series(x))
    assert res.ratio > 5 and len(res.days) == n and not res.missing.any()
    ana, ona = res.ana, res.ona
    assert ana[600:900].mean() < 0 < ana[2100:2400].mean()       # larger annual amplitude -> larger ANA
    assert ona[1500:1560].mean() > ona[400:1200].mean() + 1.0     # the burst dominates ONA
    assert res.periods_days[res.annual_rows[0]] == pytest.approx(500, rel=0.05)
    assert res.periods_days[res.annual_rows[1]] == pytest.approx(250, rel=0.05)


def test_screening_rules():
    short = _daily_series(np.sin(np.arange(500) * 2 * np.pi / 365))
    with pytest.raises(InputError, match="at least 2 years"):
        extract_annual(short)
    rng = np.random.default_rng(1)
    noise = _daily_series(rng.normal(size=1000))
    with pytest.raises(InputError, match="no clear annual variation"):
        extract_annual(noise, preprocess=False)
    assert extract_annual(noise, require_annual=False, preprocess=False).ratio < 1
    with pytest.raises(InputError):
        AnnualParams(annual_band_days=(250, 600))


def test_helpers():
    np.testing.assert_allclose(trimmed_normalise(np.array([1.0, 2.0, 3.0, 100.0]), 1), [-0.6, -0.2, 0.2, 39.0])
    x = np.sin(2 * np.pi * np.arange(1500) / 365.25)
    assert annual_ratio(x) > 10
    t0 = datetime(2020, 1, 1, tzinfo=timezone.utc) - timedelta(hours=8) + timedelta(hours=21)  # 21:00 local
    s = ObservationSeries(start=t0, step_s=3600, values=np.arange(24 * 3, dtype=float))
    days, vals, idx = decimate_daily(s)
    assert days == [date(2020, 1, 2), date(2020, 1, 3), date(2020, 1, 4)] and vals.tolist() == [3.0, 27.0, 51.0]


def test_station_65015_against_eqsuite_reference(shared_data):
    pre = shared_data / "precursor"
    series = read_dat(pre / "65015_2_2211.Dat")
    assert series.report.n_absent == 120 and series.report.n_missing_marker == 717
    res = extract_annual(series)
    assert res.ratio == pytest.approx(2.02, abs=0.005)          # "幅值比为2.02" in the technical description
    ref_a = read_dat(pre / "reference" / "65015_2_2211_ST_ANA.txt")
    ref_o = read_dat(pre / "reference" / "65015_2_2211_ST_ONA.txt")
    assert ref_a.local_dates() == list(res.days) and len(res.days) == 5167
    for ours, ref, rms_max in ((res.ana_reported(), ref_a.values, 1e-5), (res.ona_reported(), ref_o.values, 2e-3)):
        np.testing.assert_array_equal(np.isnan(ours), np.isnan(ref))     # the 19 days missing at 00:00
        ok = ~np.isnan(ref)
        corr = np.corrcoef(ours[ok], ref[ok])[0, 1]
        rms = float(np.sqrt(np.mean((ours[ok] - ref[ok]) ** 2)))
        assert corr >= 0.99999 and rms < rms_max, (corr, rms)

"""Alarms vs target earthquakes: hand-checked coverage, the vectorised threshold scan against
brute force, and the full search against EQSuite-EVA's results for station 65015."""

from __future__ import annotations

import math
from datetime import date, datetime, timedelta, timezone

import numpy as np
import pytest

from tianshan.analysis.efficacy.alarms import (CatalogEvent, ThresholdScan, alarm_mask, candidate_targets,
                                               covered_days, evaluate_alarms, read_catalog, search_best_index,
                                               select_targets)
from tianshan.core.errors import InputError

UTC = timezone.utc


def test_coverage_and_score_by_hand():
    index = np.array([0, 0, 5, 0, 0, 0, 0, -5, 0, np.nan, 0], dtype=float)
    alarm = alarm_mask(index, -1, 1)
    assert np.flatnonzero(alarm).tolist() == [2, 7]                 # NaN never alarms
    cov = covered_days(alarm, 2)
    assert np.flatnonzero(cov).tolist() == [3, 4, 8, 9]             # 1..2 days after each alarm day
    first = date(2020, 1, 1)
    evs = [CatalogEvent(datetime(2020, 1, 1, 16, tzinfo=UTC) + timedelta(days=d), 41.8, 86.2, 5.5)
           for d in (3, 5, 8)]                                        # local (UTC+8) days 4, 6, 9
    targets = candidate_targets(evs, 41.8, 86.2, first, index.size)
    assert [t.day_index for t in targets] == [4, 6, 9]
    ev = evaluate_alarms(index, targets, -1, 1, 2)
    assert ev.hit == (True, False, True) and ev.covered_days == 4 and ev.alarm_days == 2
    s = ev.score
    assert s.alarm_fraction == pytest.approx(0.4)                    # 4 covered of 10 day-steps
    assert s.r == pytest.approx(2 / 3 - 0.4)
    assert s.significance == pytest.approx(3 * 0.16 * 0.6 + 0.064)  # P(X >= 2 | 3, 0.4)
    with pytest.raises(InputError):
        evaluate_alarms(index, targets, 1, -1, 2)


def test_target_selection_rules():
    first = date(2020, 1, 1)
    evs = [CatalogEvent(datetime(2020, 1, 10, tzinfo=UTC), 41.8, 86.2 + dlon, m) for dlon, m in
           ((0.0, 5.0), (1.0, 6.2), (3.0, 5.9), (0.5, 4.9))]
    evs.append(CatalogEvent(datetime(2019, 12, 31, 15, tzinfo=UTC), 41.8, 86.2, 6.0))   # local 2019-12-31 23:00
    evs.append(CatalogEvent(datetime(2019, 12, 31, 16, tzinfo=UTC), 41.8, 86.2, 6.0))   # local 2020-01-01: day 0
    pool = candidate_targets(evs, 41.8, 86.2, first, 100)
    assert len(pool) == 4                          # the first day itself is excluded, as in EQSuite-EVA
    d = {round(t.distance_km) for t in pool}
    assert d == {0, 42, 83, 249}                   # 1 deg of longitude at 41.8 N is ~83 km
    assert [t.magnitude for t in select_targets(pool, 5.0, 6.0, 0, 100)] == [5.0]
    assert sorted(t.magnitude for t in select_targets(pool, 5.0, math.inf, 50, 300)) == [5.9, 6.2]


def test_threshold_scan_matches_brute_force():
    rng = np.random.default_rng(9)
    x = np.cumsum(rng.normal(size=300))
    x[50:55] = np.nan
    days = [20, 77, 150, 151, 260]
    windows = [3, 10, 30]
    scan = ThresholdScan(x, windows, days, n_thresholds=12)
    T = scan.thresholds
    assert T[0] == np.nanmax(x) and T[-1] == np.nanmin(x) and scan.low_index.size == 12 * 11 // 2
    pairs = [(i, j) for i in range(12) for j in range(i)]
    assert list(zip(scan.low_index.tolist(), scan.high_index.tolist())) == pairs
    for w_pos, w in enumerate(windows):
        hits = scan.hits(days, w)
        for p, (i, j) in enumerate(pairs):
            cov = covered_days(alarm_mask(x, T[i], T[j]), w)
            assert scan.alarm_fraction[p, w_pos] == pytest.approx(cov.sum() / (x.size - 1))
            assert hits[p] == sum(cov[d] for d in days)
    curve = scan.curve([20, 150, 151], 10)
    brute = {}
    for p, (i, j) in enumerate(pairs):
        cov = covered_days(alarm_mask(x, T[i], T[j]), 10)
        h = int(cov[[20, 150, 151]].sum())
        if h:
            brute[h] = min(brute.get(h, 2.0), cov.sum() / (x.size - 1))
    assert {p.hits: p.alarm_fraction for p in curve.points} == pytest.approx(brute)
    with pytest.raises(InputError):
        scan.hits([21], 10)


def test_search_on_a_synthetic_precursor():
    # An index that rises above 2 five days before each of four M5+ events near the station.
    n = 1500
    x = np.zeros(n)
    quake_days = [200, 500, 900, 1300]
    for d in quake_days:
        x[d - 5:d - 2] = 3.0
    first = date(2015, 1, 1)
    evs = [CatalogEvent(datetime.combine(first + timedelta(days=d), datetime.min.time(), UTC), 41.9, 86.3, 5.5)
           for d in quake_days]
    evs.append(CatalogEvent(datetime(2016, 6, 1, tzinfo=UTC), 45.0, 90.0, 6.5))   # far away
    res = search_best_index(x, first, evs, 41.8, 86.2, magnitudes=[5.0, 6.0], radii_km=[50, 100],
                            windows_days=[7, 30], n_thresholds=20)
    best = res.best[5.0]
    assert best.cell.max_radius_km == 50 and best.cell.window_days == 7
    assert best.cell.score.hits == 4 and best.hit == (True,) * 4
    assert best.cell.score.alarm_fraction == pytest.approx(4 * 9 / (n - 1))
    assert best.cell.score.significant and best.cell.point.threshold_high < 3.0
    assert res.best[6.0] is None
    assert res.grid["targets"].shape == (2, 2, 2) and res.grid["targets"][0, 0, 0] == 4
    d = res.as_dict()
    assert d["best"]["M>=5"]["hits"] == 4 and d["best"]["M>=6"] is None


def test_read_catalog_csv(tmp_path):
    p = tmp_path / "cat.csv"
    p.write_text("2012,1,8,1,2,3.5,42.1,87.5,5.0,7,0\n2012,1,9,x,0,0,1,1,1\n2013,3,29,0,0,0,43.4,86.8,5.6,-1,0\n")
    cat = read_catalog(p)
    assert len(cat) == 2 and cat.skipped[0][0] == 2
    assert cat.events[0].time == datetime(2012, 1, 8, 1, 2, 3, 500000, tzinfo=UTC)
    assert cat.events[0].local_date(8.0) == date(2012, 1, 8)
    p.write_text("nonsense\n")
    with pytest.raises(InputError, match="no catalog event"):
        read_catalog(p)


def _reference(shared_data):
    import scipy.io as sio

    ref = shared_data / "precursor" / "reference"
    return (sio.loadmat(ref / "65015_2_2211_Eval_ann.mat"), sio.loadmat(ref / "65015_2_2211_Eval_other.mat"),
            sio.loadmat(ref / "65015_2_2211_BestIndex.mat"))


FIELDS = (("hits", "BestHits", 0), ("alarm_fraction", "BestCoverrate", 1e-12), ("R", "BestRR", 1e-12),
          ("threshold_low", "BestThreshold1", 1e-9), ("threshold_high", "BestThreshold2", 1e-9),
          ("area", "BestAreaM", 1e-12), ("targets", "BestEnum", 0),
          # EQSuite-EVA bisects R0 and the normal-approximation significance to 1e-5.
          ("R0", "BestR0", 1e-4), ("significance", "BestSig", 1e-4))


def _compare_grid(res, mat, threshold_tol=1e-9):
    evaluated = ~np.isnan(mat["BestEnum"])   # cells EQSuite-EVA evaluated (it skips repeated target sets)
    assert evaluated.sum() == 380
    for ours, theirs, tol in FIELDS:
        tol = max(tol, threshold_tol) if ours.startswith("threshold") else tol
        diff = np.abs(res.grid[ours][evaluated] - mat[theirs][evaluated])
        assert np.nanmax(diff) <= tol, (ours, np.nanmax(diff))


def _compare_best(res, zhibiao, r_tol):
    for row, m in ((0, 5.0), (1, 6.0)):
        z = zhibiao[row]
        c = res.best[m].cell
        assert (c.window_days, c.max_radius_km, c.score.n_targets, c.score.hits) == (z[4], z[6], z[8], z[8] * z[9])
        assert c.score.r == pytest.approx(z[7], abs=r_tol)
        assert c.score.r0 == pytest.approx(z[12], abs=1e-4)


def test_station_65015_efficacy_against_eqsuite(shared_data):
    """Our ANA and the reference ONA give EQSuite-EVA's 380 evaluated cells and best indices."""
    from tianshan.analysis.precursor.annual import extract_annual
    from tianshan.analysis.precursor.series import read_dat

    eval_ann, eval_other, best = _reference(shared_data)
    cat = read_catalog(shared_data / "catalogs" / "cenc_national_ms5.eqt")
    res = extract_annual(read_dat(shared_data / "precursor" / "65015_2_2211.Dat"))
    first = res.days[0]
    ana = search_best_index(res.ana_reported(), first, cat.events, 41.8, 86.2, method="eqsuite")
    _compare_grid(ana, eval_ann)
    _compare_best(ana, best["ZhiBiao2"], 1e-12)
    assert [t.day.isoformat() for t in ana.best[5.0].targets] == [
        "2012-01-08", "2012-06-15", "2013-03-29", "2015-06-25", "2016-01-14"]
    assert [t.magnitude for t in ana.best[6.0].targets] == [6.6, 6.2] and all(ana.best[6.0].hit)
    # The reference ONA (the MATLAB run's own index) reproduces the ONA evaluation exactly ...
    ref_ona = read_dat(shared_data / "precursor" / "reference" / "65015_2_2211_ST_ONA.txt").values
    ona_ref = search_best_index(ref_ona, first, cat.events, 41.8, 86.2, method="eqsuite")
    _compare_grid(ona_ref, eval_other, threshold_tol=1e-5)   # the file's index is rounded to 1e-5
    _compare_best(ona_ref, best["ZhiBiao1"], 1e-12)
    # ... and our ONA (RMS 8e-4 from it) picks the same best windows and radii.
    ona = search_best_index(res.ona_reported(), first, cat.events, 41.8, 86.2, method="eqsuite")
    _compare_best(ona, best["ZhiBiao1"], 2e-3)

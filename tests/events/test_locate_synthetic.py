"""locate() on synthetic picks: recovery, ellipse coverage, robustness, skipped picks."""

from __future__ import annotations

import math
from datetime import datetime, timedelta, timezone

import numpy as np
import pytest

from tianshan.core import Pick, Station, StreamID, VelocityModel
from tianshan.events.locate import Likelihood, LocateConfig, LocationError, locate
from tianshan.events.locate.geometry import aeqd_forward, aeqd_inverse, great_circle_m
from tianshan.events.locate.uncertainty import chi2_scale
from tianshan.traveltime.layered import LayeredTravelTime

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=timezone.utc)
LAT0, LON0 = 41.8, 84.0
MODEL = VelocityModel.from_vp("test3", [0.0, 12_000.0, 30_000.0], [5800.0, 6300.0, 8000.0], vp_vs=1.73,
                              moho_m=30_000.0)
# Small tables and a light oct-tree keep the suite fast; accuracy is tested elsewhere.
FAST = dict(depth_max_m=40_000.0, half_width_m=80_000.0, table_depth_step_m=2000.0, max_evaluations=2500,
            min_cell_m=100.0, initial_cells=(8, 8, 4))


def _stations(rng: np.random.Generator, n: int = 12) -> list[Station]:
    xs, ys = rng.uniform(-70e3, 70e3, n), rng.uniform(-70e3, 70e3, n)
    lat, lon = aeqd_inverse(LAT0, LON0, xs, ys)
    elev = rng.uniform(200.0, 2500.0, n)
    return [Station("XJ", f"S{i:02d}", float(a), float(o), float(e)) for i, (a, o, e) in enumerate(zip(lat, lon, elev))]


def _exact_picks(stations, lat, lon, depth_m, rng, sigma_s, with_s=True) -> list[Pick]:
    """First-arrival picks from the exact solver (receiver at its elevation), plus Gaussian noise."""
    datum = 3000.0
    from tianshan.events.locate.traveltimes import shift_model

    solver = LayeredTravelTime(shift_model(MODEL, datum))
    picks = []
    for st in stations:
        d = float(great_circle_m(lat, lon, st.latitude_deg, st.longitude_deg))
        for ph, cha in (("P", "BHZ"), ("S", "BHN")) if with_s else (("P", "BHZ"),):
            t = solver.first_arrivals(ph, depth_m + datum, [d], receiver_depth_m=datum - st.elevation_m).time_s[0]
            t += rng.normal(0.0, sigma_s)
            picks.append(Pick(StreamID("XJ", st.code, "", cha), T0 + timedelta(seconds=float(t)), ph,
                              time_uncertainty_s=sigma_s))
    return picks


def _mahalanobis2(res, lat, lon) -> float:
    """Squared Mahalanobis distance of the true epicentre from the posterior mean (horizontal)."""
    x, y = aeqd_forward(res.expected[0], res.expected[1], lat, lon)
    c = res.covariance_m2[:2, :2]
    v = np.array([float(x), float(y)])
    return float(v @ np.linalg.solve(c, v))


def test_exact_picks_recover_source_and_origin_time():
    rng = np.random.default_rng(1)
    stations = _stations(rng)
    lat, lon = aeqd_inverse(LAT0, LON0, 12e3, -8e3)
    picks = _exact_picks(stations, float(lat), float(lon), 14_000.0, rng, sigma_s=0.0)
    cfg = LocateConfig(**{**FAST, "max_evaluations": 6000, "min_cell_m": 20.0}, default_pick_uncertainty_s=0.05,
                       model_error_s=0.0)
    res = locate([p for p in picks], stations, MODEL, cfg)
    o = res.origin
    assert great_circle_m(o.latitude_deg, o.longitude_deg, float(lat), float(lon)) < 300.0
    assert abs(o.depth_m - 14_000.0) < 500.0
    assert abs((o.time - T0).total_seconds()) < 0.05
    assert o.rms_s < 0.03 and o.phase_count == 24 and o.station_count == 12
    assert len(o.arrivals) == 24 and all(abs(a.time_residual_s) < 0.08 for a in o.arrivals)
    assert res.quality in "AB" and o.azimuthal_gap_deg < 180
    assert o.method == "tianshan-octree-edt" and o.earth_model == "test3"


def _coverage(likelihood, seed: int, n: int = 40) -> float:
    rng = np.random.default_rng(seed)
    stations = _stations(rng)
    k2 = chi2_scale(0.68, 2) ** 2
    cfg = LocateConfig(**FAST, likelihood=likelihood, model_error_s=0.0)
    inside = 0
    for _ in range(n):
        x, y = rng.uniform(-40e3, 40e3, 2)
        lat, lon = (float(v) for v in aeqd_inverse(LAT0, LON0, x, y))
        picks = _exact_picks(stations, lat, lon, float(rng.uniform(6e3, 25e3)), rng, sigma_s=0.25, with_s=False)
        res = locate(picks, stations, MODEL, cfg)
        inside += _mahalanobis2(res, lat, lon) <= k2
    return inside / n


def test_l2_ellipse_coverage_about_68_percent():
    """Random sources, exact picks + N(0, sigma) noise, L2 likelihood with the true sigma: the
    true epicentre lies inside the 68 % horizontal ellipse about 68 % of the time (binomial
    n=40, sd 0.074: accept 0.45-0.88, about 3 sd)."""
    assert 0.45 <= _coverage(Likelihood.L2, 20240501) <= 0.88


def test_edt_ellipse_is_not_overconfident():
    """The EDT posterior is broader than the Gaussian one (its log-sum-exp of pair terms
    flattens the peak): coverage of the 68 % ellipse is higher, measured ~0.85-0.9, never
    below nominal."""
    assert 0.6 <= _coverage(Likelihood.EDT, 20240502) <= 0.99


def test_edt_is_robust_to_an_outlier_and_downweights_it():
    rng = np.random.default_rng(7)
    stations = _stations(rng)
    lat, lon = (float(v) for v in aeqd_inverse(LAT0, LON0, -5e3, 10e3))
    picks = _exact_picks(stations, lat, lon, 10_000.0, rng, sigma_s=0.05)
    bad = picks[4]
    picks[4] = Pick(bad.stream_id, bad.time + timedelta(seconds=4.0), bad.phase, time_uncertainty_s=0.05)
    res = locate(picks, stations, MODEL, LocateConfig(**FAST, model_error_s=0.0))
    o = res.origin
    assert great_circle_m(o.latitude_deg, o.longitude_deg, lat, lon) < 1500.0
    weights = {a.pick_id: a.time_weight for a in o.arrivals}
    assert weights[picks[4].id] < 0.05 < min(w for pid, w in weights.items() if pid != picks[4].id)
    resid = {a.pick_id: a.time_residual_s for a in o.arrivals}
    assert resid[picks[4].id] == pytest.approx(4.0, abs=0.3)


def test_skipped_picks_are_counted_and_too_few_phases_raise():
    rng = np.random.default_rng(3)
    stations = _stations(rng, 6)
    lat, lon = (float(v) for v in aeqd_inverse(LAT0, LON0, 0.0, 0.0))
    picks = _exact_picks(stations, lat, lon, 8000.0, rng, sigma_s=0.05, with_s=False)
    extra = [Pick(StreamID("XJ", "NOPE", "", "BHZ"), T0, "P"),               # unknown station
             Pick(picks[0].stream_id, picks[0].time + timedelta(seconds=9), "P"),  # duplicate P
             Pick(picks[1].stream_id, T0 + timedelta(seconds=30), "Lg")]      # not a first arrival
    res = locate(picks + extra, stations, MODEL, LocateConfig(**FAST))
    assert res.skipped == {"unknown_station": 1, "duplicate": 1, "unsupported_phase": 1}
    assert res.origin.phase_count == 6
    with pytest.raises(LocationError, match="at least 4"):
        locate(picks[:3], stations, MODEL, LocateConfig(**FAST))
    with pytest.raises(LocationError, match="no usable"):
        locate(extra[:1], stations, MODEL)


def test_scatter_is_seeded_and_near_the_solution():
    rng = np.random.default_rng(11)
    stations = _stations(rng)
    lat, lon = (float(v) for v in aeqd_inverse(LAT0, LON0, 20e3, 20e3))
    picks = _exact_picks(stations, lat, lon, 12_000.0, rng, sigma_s=0.1)
    cfg = LocateConfig(**FAST, scatter_samples=300, seed=5)
    a, b = locate(picks, stations, MODEL, cfg), locate(picks, stations, MODEL, cfg)
    assert a.scatter.shape == (300, 3) and np.array_equal(a.scatter, b.scatter)
    assert np.median(great_circle_m(a.scatter[:, 0], a.scatter[:, 1], lat, lon)) < 5000.0
    assert math.isclose(a.expected[2], float(np.mean(a.scatter[:, 2])), abs_tol=1500.0)

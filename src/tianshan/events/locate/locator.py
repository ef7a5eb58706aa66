"""``locate``: non-linear probabilistic hypocentre from P and S picks in a layered 1-D model.

In the spirit of NonLinLoc (Lomax et al. 2000, "Probabilistic earthquake location in 3D
and layered models", in Thurber & Rabinowitz (eds), *Advances in Seismic Event Location*,
101-134; Lomax et al. 2009, *Encyclopedia of Complexity and Systems Science*, 2449-2473):

1. the posterior density of the hypocentre (uniform prior over a search box) is the
   EDT or L2 likelihood of the arrival times (:mod:`.likelihood`), with travel times of
   the first P / S arrival from :mod:`tianshan.traveltime` in the layered model, station
   elevations included (:mod:`.traveltimes`);
2. it is sampled by oct-tree division (:mod:`.octree`, Lomax & Curtis 2001);
3. the **maximum-likelihood** hypocentre is the leaf of highest density, the
   **expected** hypocentre and the covariance are posterior moments over the leaves; the
   68 % horizontal ellipse and 3-D ellipsoid follow from the covariance (:mod:`.uncertainty`);
4. at the maximum-likelihood point: origin time (L2: the weighted mean of observed minus
   travel times; EDT: their EDT-weighted mode, :func:`.likelihood.origin_time_mode`),
   residuals, weighted RMS, azimuthal gap, nearest station and the HYPO71 quality class.

The returned :class:`~tianshan.core.origin.Origin` is the maximum-likelihood solution
with its arrivals (residual, weight, distance, azimuth, take-off angle).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np

from tianshan.core.errors import DomainError
from tianshan.core.origin import Arrival, ErrorEllipse, Origin
from tianshan.core.pick import Pick
from tianshan.core.station import Station
from tianshan.core.velocity import VelocityModel
from tianshan.events.locate import geometry as geo
from tianshan.events.locate.config import Likelihood, LocateConfig
from tianshan.events.locate.likelihood import (edt_loglike, edt_ot_loglike, edt_weights, l2_loglike,
                                               origin_time_mode, origin_times)
from tianshan.events.locate.octree import octree_search
from tianshan.events.locate.traveltimes import StationTravelTimes, shift_model
from tianshan.events.locate.uncertainty import Ellipsoid, ellipsoid, horizontal_ellipse, quality_class

__all__ = ["LocationError", "LocationResult", "locate", "phase_family"]

_KM_PER_DEG = geo.EARTH_RADIUS_M * math.pi / 180.0


class LocationError(DomainError):
    """The picks cannot be located (too few usable phases, no station known...)."""


@dataclass(frozen=True, eq=False)
class LocationResult:
    """The outcome of :func:`locate`.

    ``origin``: maximum-likelihood solution (core Origin with arrivals and uncertainties);
    ``expected``: posterior mean ``(latitude_deg, longitude_deg, depth_m)``; ``quality``:
    HYPO71 class A-D; ``covariance_m2``: posterior covariance (x east, y north, z down);
    ``ellipsoid``: its 3-D confidence ellipsoid; ``erh_m`` / ``erz_m``: 1-sigma horizontal and
    vertical errors; ``picks``: the picks used, in arrival order; ``skipped``: picks not used,
    counted by reason; ``scatter``: posterior samples (K, 3) ``latitude, longitude, depth_m``
    (empty unless asked for).
    """

    origin: Origin
    expected: tuple[float, float, float]
    quality: str
    covariance_m2: np.ndarray
    ellipsoid: Ellipsoid
    erh_m: float
    erz_m: float
    secondary_gap_deg: float
    picks: tuple[Pick, ...]
    skipped: dict[str, int] = field(default_factory=dict)
    n_evaluations: int = 0
    scatter: np.ndarray = field(default_factory=lambda: np.empty((0, 3)))


def phase_family(phase: str) -> str | None:
    """"P" or "S" for first-arrival phase names (P, p, Pg, Pn, Pb, P*...; alike for S), else None."""
    name = phase.strip()
    if name.upper() in ("P", "PG", "PN", "PB", "P*") or name == "p":
        return "P"
    if name.upper() in ("S", "SG", "SN", "SB", "S*") or name == "s":
        return "S"
    return None


@dataclass(frozen=True)
class _Obs:
    picks: tuple[Pick, ...]
    reference: datetime
    times_s: np.ndarray       # relative to reference
    is_s: np.ndarray
    pick_sigma_s: np.ndarray
    lat: np.ndarray
    lon: np.ndarray
    elev: np.ndarray
    station_ids: tuple[str, ...]


def _select(picks: Sequence[Pick], stations: Sequence[Station], cfg: LocateConfig,
            skipped: Counter) -> tuple[list[tuple[Pick, str, Station]], dict[str, Station]]:
    by_id = {st.station_id: st for st in stations}
    chosen: list[tuple[Pick, str, Station]] = []
    seen: set[tuple[str, str]] = set()
    for pk in sorted(picks, key=lambda p: p.time):
        fam = phase_family(pk.phase)
        if fam is None:
            skipped["unsupported_phase"] += 1
            continue
        st = by_id.get(pk.stream_id.station_id)
        if st is None:
            skipped["unknown_station"] += 1
            continue
        key = (st.station_id, fam)
        if key in seen:
            skipped["duplicate"] += 1
            continue
        seen.add(key)
        chosen.append((pk, fam, st))
    return chosen, by_id


def _observations(chosen, cfg: LocateConfig) -> _Obs:
    ref = min(pk.time for pk, _, _ in chosen)
    return _Obs(
        picks=tuple(pk for pk, _, _ in chosen), reference=ref,
        times_s=np.array([(pk.time - ref).total_seconds() for pk, _, _ in chosen]),
        is_s=np.array([fam == "S" for _, fam, _ in chosen]),
        pick_sigma_s=np.array([pk.time_uncertainty_s if pk.time_uncertainty_s else cfg.default_pick_uncertainty_s
                               for pk, _, _ in chosen]),
        lat=np.array([st.latitude_deg for _, _, st in chosen]),
        lon=np.array([st.longitude_deg for _, _, st in chosen]),
        elev=np.array([st.elevation_m for _, _, st in chosen]),
        station_ids=tuple(st.station_id for _, _, st in chosen))


class _Problem:
    """Travel times, errors and likelihood of one set of observations on the search frame."""

    def __init__(self, obs: _Obs, model: VelocityModel, cfg: LocateConfig, center: tuple[float, float],
                 datum_m: float, max_distance_m: float) -> None:
        self.obs, self.cfg, self.center = obs, cfg, center
        self.tt = StationTravelTimes(model, datum_m, cfg.depth_max_m, max_distance_m, cfg.earth_radius_m,
                                     cfg.table_depth_step_m, cfg.table_distance_step_m)
        self.like = {Likelihood.EDT: edt_loglike, Likelihood.EDT_OT: edt_ot_loglike,
                     Likelihood.L2: l2_loglike}[cfg.likelihood]

    def latlon(self, xy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return geo.aeqd_inverse(self.center[0], self.center[1], xy[:, 0], xy[:, 1])

    def travel(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Travel times (M, A) and epicentral distances (M, A) at points (M, 3) (x, y, depth)."""
        lat, lon = self.latlon(points)
        o = self.obs
        dist = geo.great_circle_m(lat[:, None], lon[:, None], o.lat[None, :], o.lon[None, :])
        t = np.empty(dist.shape)
        z = points[:, 2:3]
        for fam, cols in (("P", ~o.is_s), ("S", o.is_s)):
            if cols.any():
                t[:, cols] = self.tt.times(fam, z, dist[:, cols], o.elev[cols][None, :])
        return t, dist

    def sigma(self, travel_s: np.ndarray) -> np.ndarray:
        c = self.cfg
        if c.model_error_fraction is None:
            model = np.full(travel_s.shape, c.model_error_s)
        else:
            model = np.clip(c.model_error_fraction * np.abs(travel_s), c.model_error_min_s, c.model_error_max_s)
        return np.sqrt(self.obs.pick_sigma_s[None, :] ** 2 + model**2)

    def log_pdf(self, points: np.ndarray) -> np.ndarray:
        t, _ = self.travel(points)
        bad = ~np.isfinite(t).all(axis=1)
        t = np.where(np.isfinite(t), t, 0.0)
        out = self.like(self.obs.times_s, t, self.sigma(t))
        out[bad] = -np.inf
        return out


def _center(obs: _Obs, cfg: LocateConfig) -> tuple[float, float]:
    if cfg.center_lat_deg is not None:
        return float(cfg.center_lat_deg), float(cfg.center_lon_deg)
    first = int(np.argmin(obs.times_s))
    return float(obs.lat[first]), float(obs.lon[first])


def locate(picks: Sequence[Pick], stations: Sequence[Station], model: VelocityModel,
           config: LocateConfig | None = None) -> LocationResult:
    """Locate one event from its P/S ``picks`` (any order) recorded at ``stations``.

    Picks of unknown stations, of phases other than first P/S arrivals and repeated
    (station, P/S) picks (the earliest is kept) are skipped and counted in
    ``result.skipped``. Raises :class:`LocationError` with fewer than ``config.min_phases``
    usable phases. See the module docstring for the method.
    """
    cfg = config or LocateConfig()
    skipped: Counter = Counter()
    chosen, by_id = _select(picks, stations, cfg, skipped)
    if not chosen:
        raise LocationError(f"no usable phases among {len(picks)} picks ({dict(skipped)})")
    obs = _observations(chosen, cfg)
    center = _center(obs, cfg)
    d_center = geo.great_circle_m(center[0], center[1], obs.lat, obs.lon)
    if cfg.max_station_distance_m is not None:
        keep = d_center <= cfg.max_station_distance_m
        skipped["too_far"] += int((~keep).sum())
        chosen = [c for c, k in zip(chosen, keep) if k]
        if not chosen:
            raise LocationError("no station within max_station_distance_m of the search centre")
        obs = _observations(chosen, cfg)
        d_center = d_center[keep]
    if len(chosen) < cfg.min_phases:
        raise LocationError(f"need at least {cfg.min_phases} usable phases, got {len(chosen)}"
                            + (f" (skipped: {dict(skipped)})" if skipped else ""))
    half = cfg.half_width_m or float(np.clip(d_center.max(), 50_000.0, 500_000.0))
    all_elev = [st.elevation_m for st in stations] or [0.0]
    datum = cfg.datum_m if cfg.datum_m is not None else max(0.0, math.ceil(max(all_elev) / 500.0) * 500.0)
    datum = max(datum, float(obs.elev.max()))
    zmin = -datum if cfg.depth_min_m is None else float(cfg.depth_min_m)
    if zmin < -datum:
        datum = -zmin
    max_dist = float(d_center.max()) + half * math.sqrt(2.0) + 10_000.0
    prob = _Problem(obs, model, cfg, center, datum, max_dist)
    lower = np.array([-half, -half, zmin])
    upper = np.array([half, half, cfg.depth_max_m])
    tree = octree_search(prob.log_pdf, lower, upper, cfg.initial_cells, cfg.max_evaluations, cfg.min_cell_m,
                         cfg.batch)
    if not np.isfinite(tree.log_pdf).any():
        raise LocationError("the likelihood is zero everywhere in the search box (stations beyond the tables?)")
    return _result(prob, tree, model, cfg, datum, dict(skipped))


def _result(prob: _Problem, tree, model: VelocityModel, cfg: LocateConfig, datum: float,
            skipped: dict) -> LocationResult:
    obs = prob.obs
    best = tree.centres[tree.maximum()]
    mean, cov = tree.moments()
    t, dist = prob.travel(best[None, :])
    sig = prob.sigma(t)
    if cfg.likelihood is not Likelihood.L2:
        w = edt_weights(obs.times_s, t, sig)[0]
        ot = origin_time_mode(obs.times_s, t[0], sig[0], w)
    else:
        w = np.ones(t.shape[1])
        ot = float(origin_times(obs.times_s, t, sig)[0])
    res = obs.times_s - t[0] - ot
    rms = float(math.sqrt(np.sum(w * res**2) / np.sum(w)))
    lat, lon = prob.latlon(best[None, :])
    lat, lon, depth = float(lat[0]), float(lon[0]), float(best[2])
    elat, elon = prob.latlon(mean[None, :])
    az = geo.azimuth_deg(lat, lon, obs.lat, obs.lon)
    gap, gap2 = geo.azimuthal_gaps(az)
    d = dist[0]
    takeoff = _takeoff(model, datum, cfg, depth, d, obs.is_s)
    a, b, az_ell = horizontal_ellipse(cov[:2, :2], cfg.confidence)
    ell3 = ellipsoid(cov, cfg.confidence)
    erh, erz = math.sqrt(cov[0, 0] + cov[1, 1]), math.sqrt(cov[2, 2])
    ot_sigma = _origin_time_sigma(prob, tree, w)
    arrivals = tuple(Arrival(pick_id=pk.id, phase=pk.phase, distance_deg=float(d[i] / _KM_PER_DEG),
                             azimuth_deg=float(az[i]), takeoff_angle_deg=_finite(takeoff[i]),
                             time_residual_s=float(res[i]), time_weight=float(w[i]))
                     for i, pk in enumerate(obs.picks))
    n_sta = len(set(obs.station_ids))
    origin = Origin(time=obs.reference + timedelta(seconds=ot), latitude_deg=lat, longitude_deg=lon,
                    depth_m=depth, time_uncertainty_s=ot_sigma, horizontal_uncertainty_m=a,
                    depth_uncertainty_m=erz, ellipse=ErrorEllipse(a, b, az_ell, cfg.confidence), rms_s=rms,
                    azimuthal_gap_deg=gap, phase_count=len(obs.picks), station_count=n_sta,
                    minimum_distance_deg=float(d.min() / _KM_PER_DEG),
                    method=f"tianshan-octree-{cfg.likelihood.value}", earth_model=model.name, arrivals=arrivals)
    quality = quality_class(rms, erh, erz, len(obs.picks), gap, float(d.min()), depth)
    scatter = np.empty((0, 3))
    if cfg.scatter_samples > 0:
        pts = tree.sample(int(cfg.scatter_samples), np.random.default_rng(cfg.seed))
        slat, slon = prob.latlon(pts)
        scatter = np.column_stack([slat, slon, pts[:, 2]])
    return LocationResult(origin=origin, expected=(float(elat[0]), float(elon[0]), float(mean[2])),
                          quality=quality, covariance_m2=cov, ellipsoid=ell3, erh_m=erh, erz_m=erz,
                          secondary_gap_deg=gap2, picks=obs.picks, skipped=skipped,
                          n_evaluations=tree.n_evaluations, scatter=scatter)


def _finite(x: float) -> float | None:
    return float(x) if np.isfinite(x) else None


def _origin_time_sigma(prob: _Problem, tree, w: np.ndarray) -> float:
    """Posterior standard deviation of the origin time over the leaves holding 99 % of the mass."""
    pw = tree.weights()
    order = np.argsort(pw)[::-1]
    n = int(np.searchsorted(np.cumsum(pw[order]), 0.99)) + 1
    idx = order[: max(n, 1)][:2000]
    t, _ = prob.travel(tree.centres[idx])
    ok = np.isfinite(t).all(axis=1)
    if not ok.any():
        return 0.0
    ots = origin_times(prob.obs.times_s, t[ok], prob.sigma(t[ok]), w[None, :])
    ww = pw[idx][ok] / pw[idx][ok].sum()
    m = float(ww @ ots)
    return float(math.sqrt(max(ww @ (ots - m) ** 2, 0.0)))


def _takeoff(model: VelocityModel, datum: float, cfg: LocateConfig, depth_m: float, dist_m: np.ndarray,
             is_s: np.ndarray) -> np.ndarray:
    """Take-off angles (deg from down) at the source, for a receiver on the datum."""
    from tianshan.traveltime.layered import LayeredTravelTime

    solver = LayeredTravelTime(shift_model(model, datum), cfg.earth_radius_m)
    out = np.full(dist_m.shape, np.nan)
    z = max(depth_m + datum, 0.0)
    for fam, cols in (("P", ~is_s), ("S", is_s)):
        if cols.any():
            out[cols] = solver.takeoff_angle(fam, z, dist_m[cols])
    return out

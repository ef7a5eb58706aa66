"""Evolutionary real-time location with not-yet-arrived stations (Satriano, Lomax & Zollo 2008).

Method (Satriano, C., A. Lomax & A. Zollo 2008, "Real-time evolutionary earthquake location
for seismic early warning", BSSA 98(3), 1482-1494; the RTLoc idea after Horiuchi et al. 2005
and the Voronoi-cell argument of Rydelek & Pujol 2004)
----------------------------------------------------------------------------------------
At every update the hypocentre probability density is evaluated on a grid:

* **Triggered stations** ``a`` (onset ``t_a``) enter through the *equal differential time*
  (EDT) likelihood, which compares observed and predicted arrival-time *differences* and so
  needs no origin time (Zhou 1994; Font et al. 2004, GJI 158; Lomax 2005, BSSA 95; the form
  NonLinLoc uses)::

      L_EDT(x) = [ sum_{a<b} exp( -((t_a - t_b) - (T_a(x) - T_b(x)))^2 / (sigma_a^2 + sigma_b^2) ) ]^N

  ``T(x)``: first-P travel time from node ``x``; ``N``: number of triggered stations; the
  sum (not a product) keeps one wrong trigger from vetoing the true hypocentre.
* **Not-yet-arrived stations** ``n`` -- operating stations with data up to ``t_n`` and no
  trigger -- say the P has not reached them by ``t_n``. With the origin time implied at the
  node, ``t0(x) = mean_a(t_a - T_a(x))``, each contributes the factor::

      f_n(x) = floor + (1 - floor) * Phi( (t0(x) + T_n(x) - t_n) / sigma_nya )

  (``Phi`` the normal CDF: a soft Heaviside). With one triggered station this is the
  Voronoi cell of that station, which shrinks as time passes without further triggers; each
  new trigger or each second of silence sharpens the density ("evolutionary"). ``floor``
  (a choice) bounds what a station that failed to trigger (a dead or noisy sensor, a weak
  signal) can do: it never multiplies the density by less than ``floor``.

Grid
----
A local grid (``half_width_m`` around the first triggered station, ``coarse_step_m``,
``depths_m``) is made once per event (:meth:`EvolutionaryLocator.grid`); each station's P
times to all its nodes are computed once on first use and cached. The maximum of the
density is refined on a ``fine_step_m`` grid of ``fine_half_width_m`` around the best coarse
node. Travel times come from :class:`~tianshan.traveltime.table.TravelTimeTable` built once
from the region's 1-D model (:class:`~tianshan.traveltime.layered.LayeredTravelTime`).

Reported: the maximum-likelihood node, its origin time and rms, and uncertainties as the
standard deviations of the normalised coarse-grid density (horizontal: sqrt(var_x + var_y)).
With fewer than three triggered stations the density is a plateau (one station: the Voronoi
cell) or a band (two: a hyperbola cut by the waiting stations), so its mean is reported
instead of an arbitrary node of the plateau. The coarse search uses a pick sigma widened by
the grid's discretisation error (half a node diagonal at 6 km/s), and the fine search runs
around the best three separated coarse maxima (the EDT density can be multi-modal on a
coarse grid: a node fitting four of five stations can beat the node next to the truth).
Node coordinates use a local tangent plane (equirectangular about the grid centre; error
below 0.1 % within 150 km); station distances are great-circle (haversine, R = 6371 km).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Sequence

import numpy as np

from tianshan.core.errors import InputError
from tianshan.core.velocity import VelocityModel
from tianshan.eew.config import LocateConfig

EARTH_RADIUS_M = 6_371_000.0
#: P speed used to turn grid spacing into a time error (upper-crust Vp).
GRID_SPEED_M_S = 6_000.0
#: Coarse maxima refined on the fine grid (the coarse density can be multi-modal).
N_REFINE = 3


@dataclass(frozen=True, slots=True)
class Arrival:
    """A triggered station: coordinates and onset (POSIX seconds)."""

    station_id: str
    latitude_deg: float
    longitude_deg: float
    time_s: float


@dataclass(frozen=True, slots=True)
class Waiting:
    """A not-yet-arrived station: no P onset up to ``until_s`` (POSIX seconds)."""

    station_id: str
    latitude_deg: float
    longitude_deg: float
    until_s: float


@dataclass(frozen=True, slots=True)
class Hypocentre:
    """Result of one evolutionary location."""

    latitude_deg: float
    longitude_deg: float
    depth_m: float
    origin_time_s: float
    horizontal_uncertainty_m: float
    depth_uncertainty_m: float
    origin_time_uncertainty_s: float
    rms_s: float
    n_arrivals: int
    n_waiting: int
    residuals_s: dict = field(default_factory=dict)

    @property
    def origin_time(self) -> datetime:
        return datetime.fromtimestamp(self.origin_time_s, tz=timezone.utc)


def haversine_m(lat1, lon1, lat2, lon2) -> np.ndarray:
    """Great-circle distance (m) on a sphere of 6371 km (broadcasting)."""
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dp = p2 - p1
    dl = np.radians(np.asarray(lon2) - np.asarray(lon1))
    h = np.sin(dp / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.clip(h, 0.0, 1.0)))


def _phi(z: np.ndarray) -> np.ndarray:
    from scipy.special import ndtr

    return ndtr(z)


class LocalGrid:
    """Nodes (depth x horizontal) around a centre, with per-station P-time caches."""

    def __init__(self, lat0: float, lon0: float, half_width_m: float, step_m: float, depths_m: Sequence[float],
                 tables) -> None:
        self.lat0, self.lon0 = float(lat0), float(lon0)
        n = int(round(half_width_m / step_m))
        ax = np.arange(-n, n + 1) * step_m
        xx, yy = np.meshgrid(ax, ax)
        self.x = xx.ravel()
        self.y = yy.ravel()
        self.lat = self.lat0 + np.degrees(self.y / EARTH_RADIUS_M)
        self.lon = self.lon0 + np.degrees(self.x / (EARTH_RADIUS_M * math.cos(math.radians(self.lat0))))
        self.depths = np.asarray(depths_m, dtype=float)
        self._tables = tables
        self._cache: dict[tuple[str, str], np.ndarray] = {}

    def times(self, phase: str, station_id: str, lat: float, lon: float) -> np.ndarray:
        """Travel times (depths x nodes) of ``phase`` from every node to the station (cached)."""
        key = (phase, station_id)
        got = self._cache.get(key)
        if got is None:
            d = haversine_m(self.lat, self.lon, lat, lon)
            table = self._tables[phase]
            got = table(self.depths[:, None], d[None, :])
            self._cache[key] = got
        return got


class EvolutionaryLocator:
    """Grid-search locator of Satriano et al. (2008) on a 1-D model (see the module docstring).

    The P and S travel-time tables are built once here (about 0.2 s for the defaults).
    """

    def __init__(self, model: VelocityModel, config: LocateConfig | None = None) -> None:
        from tianshan.traveltime.layered import LayeredTravelTime

        self.config = config or LocateConfig()
        c = self.config
        solver = LayeredTravelTime(model)
        depths = sorted(set(c.depths_m) | {0.0})
        self.tables = {ph: solver.table(ph, depths, c.max_distance_m, 1000.0) for ph in ("P", "S")}

    def travel_time(self, phase: str, depth_m: float, distance_m) -> np.ndarray:
        """First ``phase`` travel time(s) (s) at epicentral ``distance_m`` from a source at ``depth_m``."""
        return self.tables[phase](depth_m, distance_m)

    def grid(self, lat0: float, lon0: float) -> LocalGrid:
        """The coarse grid of an event centred at ``(lat0, lon0)`` (the first triggered station)."""
        c = self.config
        return LocalGrid(lat0, lon0, c.half_width_m, c.coarse_step_m, c.depths_m, self.tables)

    # -- likelihood -------------------------------------------------------------------------
    def _sigma(self, step_m: float) -> float:
        """Pick sigma plus the grid's discretisation error (half a node diagonal at 6 km/s)."""
        return math.hypot(self.config.pick_sigma_s, 0.5 * math.sqrt(2.0) * step_m / GRID_SPEED_M_S)

    def _loglik(self, g: LocalGrid, arrivals: Sequence[Arrival], waiting: Sequence[Waiting],
                sigma_s: float) -> tuple[np.ndarray, np.ndarray]:
        """Log density and implied origin time on every node of ``g`` (shape depths x nodes)."""
        c = self.config
        times = [g.times("P", a.station_id, a.latitude_deg, a.longitude_deg) for a in arrivals]
        t_ref = arrivals[0].time_s
        obs = np.array([a.time_s - t_ref for a in arrivals])
        tt = np.stack(times)                                   # (N, depths, nodes)
        valid = np.all(np.isfinite(tt), axis=0)
        tt = np.where(np.isfinite(tt), tt, 1e6)
        t0 = np.mean(obs[:, None, None] - tt, axis=0)          # origin time (relative) implied at each node
        n = len(arrivals)
        logl = np.zeros(t0.shape)
        if n >= 2:
            s = np.zeros(t0.shape)
            two_var = 2.0 * sigma_s ** 2                       # sigma_a^2 + sigma_b^2
            for i in range(n - 1):
                d_obs = obs[i] - obs[i + 1:]
                r = d_obs[:, None, None] - (tt[i][None] - tt[i + 1:])
                s += np.exp(-(r * r) / two_var).sum(axis=0)
            logl += n * np.log(s / (n * (n - 1) / 2) + 1e-300)
        floor = c.nya_floor
        for w in waiting:
            tn = g.times("P", w.station_id, w.latitude_deg, w.longitude_deg)
            arrive = t0 + np.where(np.isfinite(tn), tn, 1e6)
            z = (arrive - (w.until_s - t_ref)) / c.nya_sigma_s
            logl += np.log(floor + (1.0 - floor) * _phi(z))
        logl = np.where(valid, logl, -np.inf)
        return logl, t0 + t_ref

    def locate(self, g: LocalGrid, arrivals: Sequence[Arrival], waiting: Sequence[Waiting] = ()) -> Hypocentre:
        """Maximum-likelihood hypocentre from ``arrivals`` (at least one) and ``waiting`` stations."""
        if not arrivals:
            raise InputError("need at least one triggered station", field="arrivals")
        arrivals = sorted(arrivals, key=lambda a: a.time_s)
        c = self.config
        logl, t0 = self._loglik(g, arrivals, waiting, self._sigma(c.coarse_step_m))
        if not np.isfinite(logl).any():
            raise InputError("no grid node has travel times to the triggered stations", field="arrivals")
        p = np.exp(logl - np.max(logl))
        p /= p.sum()
        pz = p.sum(axis=1)
        ph = p.sum(axis=0)
        mx, my = float(ph @ g.x), float(ph @ g.y)
        sx = float(ph @ (g.x - mx) ** 2)
        sy = float(ph @ (g.y - my) ** 2)
        mz = float(pz @ g.depths)
        sz = math.sqrt(float(pz @ (g.depths - mz) ** 2))
        st = math.sqrt(float(np.sum(p * (t0 - float(np.sum(p * t0))) ** 2)))
        if len(arrivals) < 3:  # the density is a plateau (Voronoi cell): report its mean
            lat = g.lat0 + math.degrees(my / EARTH_RADIUS_M)
            lon = g.lon0 + math.degrees(mx / (EARTH_RADIUS_M * math.cos(math.radians(g.lat0))))
            depth = float(g.depths[int(np.argmin(np.abs(g.depths - mz)))])
            d = float(haversine_m(lat, lon, arrivals[0].latitude_deg, arrivals[0].longitude_deg))
            ot = arrivals[0].time_s - float(self.tables["P"](depth, d))
            res = {a.station_id: 0.0 for a in arrivals}
            return Hypocentre(lat, lon, depth, ot, math.sqrt(sx + sy), sz, st, 0.0, len(arrivals), len(waiting), res)
        # refine around the best few separated coarse maxima; keep the best fine node
        best = None
        node_ll = np.max(logl, axis=0)
        taken: list[int] = []
        for ih in np.argsort(node_ll)[::-1]:
            if len(taken) == N_REFINE or not np.isfinite(node_ll[ih]):
                break
            if any(math.hypot(g.x[ih] - g.x[j], g.y[ih] - g.y[j]) <= 2.5 * c.coarse_step_m for j in taken):
                continue
            taken.append(int(ih))
            fine = LocalGrid(float(g.lat[ih]), float(g.lon[ih]), c.fine_half_width_m, c.fine_step_m, g.depths,
                             self.tables)
            flog, ft0 = self._loglik(fine, arrivals, waiting, self._sigma(c.fine_step_m))
            k = np.unravel_index(int(np.argmax(flog)), flog.shape)
            if best is None or flog[k] > best[0]:
                best = (float(flog[k]), fine, k, ft0)
        _, fine, (fz, fh), ft0 = best
        lat, lon, depth, ot = float(fine.lat[fh]), float(fine.lon[fh]), float(fine.depths[fz]), float(ft0[fz, fh])
        res = {}
        for a in arrivals:
            d = float(haversine_m(lat, lon, a.latitude_deg, a.longitude_deg))
            res[a.station_id] = a.time_s - (ot + float(self.tables["P"](depth, d)))
        rms = math.sqrt(sum(r * r for r in res.values()) / len(res)) if len(res) > 1 else 0.0
        return Hypocentre(lat, lon, depth, ot, math.sqrt(sx + sy), sz, st, rms, len(arrivals), len(waiting), res)

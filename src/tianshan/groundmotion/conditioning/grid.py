"""Mean and standard-deviation grids of a conditioned ground-motion map, computed in tiles.

Grid (:class:`GridSpec`): a regular longitude/latitude grid, north-up (row 0 is the northern
row), values at cell centres: ``lon_j = west + (j + 1/2) dlon``, ``lat_i = north - (i + 1/2) dlat``
-- the layout of GeoTIFF/ShakeMap ``grid.xml`` rasters. ``GridSpec.around`` centres a grid of a
given size in km on a point (ShakeMap's 30 arc-second default spacing).

Method (:func:`condition_grid`): the grid is processed in bands of rows; the model
(``model(lat, lon) -> (mean, tau, phi)``, e.g. a GMPE through
:class:`tianshan.groundmotion.conditioning.pipeline.EventModel`) is evaluated once per band,
then each band is split into tiles of ``tile`` x ``tile`` cells. For a tile only the
observations within the correlation model's cut-off distance (``cutoff_km(eps)``, beyond
which every correlation is below ``eps``) of some cell of the tile enter the within-event
terms; the event terms use all observations. With that set ``A`` the Engler et al. (2022)
moments (:class:`.mvn.Conditioner`) need the sub-blocks ``W_DD^-1[A, A]``, ``alpha[A]``,
``(W^-1 T_D)[A]`` of the full-data solution -- exact for the correlations kept, because the
dropped cross-covariances are below ``eps phi^2``. Tiles with no observation in range get the
model plus the event term, with the within-event sd ``phi`` and the between-event sd
``tau sqrt(Sigma_H|y)``.

Cost: per tile ``O(P m + P m^2)`` for P cells and m observations in range (the quadratic form
is one BLAS matrix product); memory: one band of model values and one tile of cross-covariances
at a time, plus the output grids (float32). Distances inside a tile use the chord of unit
vectors (exact great-circle distances, one matrix product).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from tianshan.core.errors import InputError

__all__ = ["GridSpec", "GridResult", "condition_grid", "DEFAULT_SPACING_DEG"]

#: ShakeMap's default grid spacing, 30 arc seconds.
DEFAULT_SPACING_DEG = 30.0 / 3600.0
_R_KM = 6371.0088


@dataclass(frozen=True, slots=True)
class GridSpec:
    """A north-up regular lon/lat grid (module docstring). ``nx`` columns, ``ny`` rows."""

    west_deg: float
    north_deg: float
    dlon_deg: float
    dlat_deg: float
    nx: int
    ny: int

    def __post_init__(self) -> None:
        for name in ("west_deg", "north_deg", "dlon_deg", "dlat_deg"):
            if not math.isfinite(float(getattr(self, name))):
                raise InputError(f"must be finite, got {getattr(self, name)!r}", field=name)
        if not (self.dlon_deg > 0 and self.dlat_deg > 0):
            raise InputError("grid spacing must be > 0", field="dlon_deg, dlat_deg")
        if not (int(self.nx) >= 1 and int(self.ny) >= 1):
            raise InputError("grid needs at least one row and one column", field="nx, ny")
        if self.north_deg > 90 or self.north_deg - self.ny * self.dlat_deg < -90:
            raise InputError("grid extends beyond a pole", field="north_deg")

    @classmethod
    def around(cls, latitude_deg: float, longitude_deg: float, width_km: float, height_km: float | None = None,
               spacing_deg: float = DEFAULT_SPACING_DEG) -> "GridSpec":
        """A grid of ``width_km`` x ``height_km`` centred on a point, ``spacing_deg`` in both directions."""
        height_km = width_km if height_km is None else height_km
        if not (width_km > 0 and height_km > 0 and spacing_deg > 0):
            raise InputError("grid size and spacing must be > 0", field="width_km, height_km, spacing_deg")
        dlat_span = math.degrees(height_km / _R_KM)
        dlon_span = math.degrees(width_km / (_R_KM * math.cos(math.radians(latitude_deg))))
        ny = max(1, int(round(dlat_span / spacing_deg)))
        nx = max(1, int(round(dlon_span / spacing_deg)))
        return cls(west_deg=longitude_deg - nx * spacing_deg / 2.0, north_deg=latitude_deg + ny * spacing_deg / 2.0,
                   dlon_deg=spacing_deg, dlat_deg=spacing_deg, nx=nx, ny=ny)

    @property
    def size(self) -> int:
        return int(self.nx) * int(self.ny)

    def longitudes(self):
        import numpy as np

        return self.west_deg + (np.arange(self.nx) + 0.5) * self.dlon_deg

    def latitudes(self):
        import numpy as np

        return self.north_deg - (np.arange(self.ny) + 0.5) * self.dlat_deg


@dataclass(frozen=True, slots=True)
class GridResult:
    """Conditioned grids (float32, shape (ny, nx)), the grid, and counters of the computation."""

    spec: GridSpec
    imt: str
    mean: object
    sd: object
    sd_between: object
    sd_within: object
    prior_mean: object
    prior_sd: object
    tiles: int
    tiles_with_data: int
    pairs: int


def _unit(lat, lon):
    import numpy as np

    p, lam = np.radians(lat), np.radians(lon)
    return np.stack([np.cos(p) * np.cos(lam), np.cos(p) * np.sin(lam), np.sin(p)], axis=-1)


def _chord_km(p_unit, q_unit, max_km: float):
    """Great-circle distances (km) between unit vectors, P x Q, from their chord ``c``.

    ``h = 2R asin(c/2)``; below 600 km the series ``R (c + c^3/24 + 3c^5/640)`` is used (relative
    error < 1e-8 there), which is cheaper than ``arcsin``.
    """
    import numpy as np

    d = p_unit @ q_unit.T
    d *= -2.0
    d += 2.0
    np.maximum(d, 0.0, out=d)                 # c^2
    if max_km < 600.0:
        c = np.sqrt(d)
        d *= 3.0 / 640.0
        d += 1.0 / 24.0
        d *= c * c
        d += 1.0
        c *= d
        c *= _R_KM
        return c
    return 2.0 * _R_KM * np.arcsin(np.minimum(1.0, np.sqrt(d) / 2.0))


def condition_grid(spec: GridSpec, conditioner, model, eps: float = 1e-5, tile: int = 64,
                   band_rows: int | None = None) -> GridResult:
    """Conditioned mean and sd grids of ``conditioner.target_imt`` (module docstring).

    ``conditioner``: a :class:`.mvn.Conditioner`; ``model(lat, lon)``: arrays -> ``(mean, tau, phi)``
    of the target IMT; ``eps``: correlation below which a station-cell pair is dropped.
    """
    import numpy as np

    if not (0 < eps < 1):
        raise InputError(f"must lie in (0, 1), got {eps!r}", field="eps")
    tile = max(4, int(tile))
    band_rows = tile if band_rows is None else max(tile, (int(band_rows) // tile) * tile)
    obs = conditioner.observations
    n_obs = len(obs)
    shape = (spec.ny, spec.nx)
    out = {k: np.empty(shape, dtype=np.float32) for k in ("mean", "sd", "sdb", "sdw", "pmean", "psd")}
    lons_all = spec.longitudes()
    lats_all = spec.latitudes()
    periods = set(float(p) for p in obs.period_s) | {float(conditioner.target_period_s)}
    cutoff = float(conditioner.correlation.cutoff_km(eps, periods)) if n_obs else 0.0
    obs_u = _unit(obs.latitude_deg, obs.longitude_deg) if n_obs else np.zeros((0, 3))
    tiles = tiles_data = pairs = 0
    for r0 in range(0, spec.ny, band_rows):
        r1 = min(spec.ny, r0 + band_rows)
        blat = np.repeat(lats_all[r0:r1], spec.nx)
        blon = np.tile(lons_all, r1 - r0)
        mean, tau, phi = (np.broadcast_to(np.asarray(v, dtype=np.float64), blat.shape).reshape(r1 - r0, spec.nx)
                          for v in model(blat, blon))
        out["pmean"][r0:r1] = mean
        out["psd"][r0:r1] = np.sqrt(tau ** 2 + phi ** 2)
        for t0 in range(r0, r1, tile):
            t1 = min(r1, t0 + tile)
            for c0 in range(0, spec.nx, tile):
                c1 = min(spec.nx, c0 + tile)
                tiles += 1
                lat = np.repeat(lats_all[t0:t1], c1 - c0)
                lon = np.tile(lons_all[c0:c1], t1 - t0)
                mu = mean[t0 - r0:t1 - r0, c0:c1].ravel()
                ta = tau[t0 - r0:t1 - r0, c0:c1].ravel()
                ph = phi[t0 - r0:t1 - r0, c0:c1].ravel()
                active = np.zeros(0, dtype=np.int64)
                if n_obs:
                    cu = _unit(0.5 * (lats_all[t0] + lats_all[t1 - 1]), 0.5 * (lons_all[c0] + lons_all[c1 - 1]))
                    corner = _unit(lats_all[t0], lons_all[c0]), _unit(lats_all[t1 - 1], lons_all[c1 - 1]), \
                        _unit(lats_all[t0], lons_all[c1 - 1]), _unit(lats_all[t1 - 1], lons_all[c0])
                    radius = max(2 * _R_KM * math.asin(min(1.0, float(np.linalg.norm(c - cu)) / 2)) for c in corner)
                    chord = np.linalg.norm(obs_u - cu, axis=1)
                    d = 2 * _R_KM * np.arcsin(np.minimum(1.0, chord / 2))
                    active = np.flatnonzero(d <= cutoff + radius)
                if active.size:
                    tiles_data += 1
                    pairs += active.size * lat.size
                    h = _chord_km(_unit(lat, lon), obs_u[active], cutoff + 2 * radius)
                    rho = conditioner.correlation.rho(h, conditioner.periods[0], obs.period_s[active][None, :])
                    w = ph[:, None] * rho * obs.phi[active][None, :]
                    res = conditioner.moments(w, mu, ta, ph, w_inv=conditioner.w_inv[np.ix_(active, active)],
                                              alpha=conditioner.alpha[active], g=conditioner.g[active])
                else:
                    res = conditioner.moments(np.zeros((lat.size, 0)), mu, ta, ph, w_inv=np.zeros((0, 0)),
                                              alpha=np.zeros(0), g=np.zeros((0, len(conditioner.imts))))
                sl = (slice(t0, t1), slice(c0, c1))
                tshape = (t1 - t0, c1 - c0)
                out["mean"][sl] = res.mean.reshape(tshape)
                out["sd"][sl] = res.sd.reshape(tshape)
                out["sdb"][sl] = res.sd_between.reshape(tshape)
                out["sdw"][sl] = res.sd_within.reshape(tshape)
    return GridResult(spec=spec, imt=conditioner.target_imt, mean=out["mean"], sd=out["sd"], sd_between=out["sdb"],
                      sd_within=out["sdw"], prior_mean=out["pmean"], prior_sd=out["psd"], tiles=tiles,
                      tiles_with_data=tiles_data, pairs=pairs)

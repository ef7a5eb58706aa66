"""The intensity field the loss chain starts from, and how it is read at exposure locations.

The loss modules never predict ground motion themselves: they take an intensity field as
input, so any source can feed them -- a ShakeMap-style conditioned grid, a prediction, a
field built from macroseismic survey points. Two shapes are accepted:

:class:`ShakingGrid`
    MMI mean (and its standard deviation) on a regular longitude/latitude grid: 1-D
    ``latitudes_deg`` (ny, ascending or descending) and ``longitudes_deg`` (nx, ascending),
    2-D ``mmi`` and ``sigma_mmi`` of shape (ny, nx) (``sigma_mmi`` may be one number).
    NaN in ``mmi`` means *no value there*. Read with bilinear interpolation
    (:class:`scipy.interpolate.RegularGridInterpolator`); outside the grid the value is NaN.
:class:`ShakingPoints`
    MMI at scattered points; a location takes the value of the nearest point when that point
    is within ``max_distance_km``, else NaN (nearest neighbour on the unit sphere, chord
    distance converted to the great-circle distance).

A location where the field gives NaN is *not exposed* (below MMI I or outside the mapped
area) and the exposure step counts it.

MMI is the Modified Mercalli intensity as USGS ShakeMap/PAGER use it (Worden et al. 2012
conversions in :mod:`tianshan.groundmotion.intensity.mmi`); the PAGER loss models are
calibrated on it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from tianshan.core.errors import InputError
from tianshan.regions.model import EARTH_RADIUS_M

EARTH_RADIUS_KM = EARTH_RADIUS_M / 1000.0


def great_circle_km(lat0_deg: float, lon0_deg: float, lat_deg, lon_deg):
    """Haversine distance (km) from one point to many (Sinnott 1984, Sky & Telescope 68(2):159),
    on the sphere of radius :data:`tianshan.regions.model.EARTH_RADIUS_M`."""
    import numpy as np

    p1 = math.radians(lat0_deg)
    p2 = np.radians(np.asarray(lat_deg, dtype=np.float64))
    dl = np.radians(np.asarray(lon_deg, dtype=np.float64) - lon0_deg)
    a = np.sin((p2 - p1) / 2) ** 2 + math.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.minimum(1.0, np.sqrt(a)))


def _unit_xyz(lat_deg, lon_deg):
    import numpy as np

    la = np.radians(np.asarray(lat_deg, dtype=np.float64))
    lo = np.radians(np.asarray(lon_deg, dtype=np.float64))
    return np.column_stack([np.cos(la) * np.cos(lo), np.cos(la) * np.sin(lo), np.sin(la)])


def _as_1d(name: str, values):
    import numpy as np

    arr = np.asarray(values, dtype=np.float64).ravel()
    if arr.size == 0:
        raise InputError("must not be empty", field=name)
    return arr


@dataclass(frozen=True, slots=True, eq=False)
class ShakingGrid:
    """MMI mean and standard deviation on a regular lon/lat grid (module docstring)."""

    latitudes_deg: object
    longitudes_deg: object
    mmi: object
    sigma_mmi: object = 0.0
    source: str = ""

    def __post_init__(self) -> None:
        import numpy as np

        lat = _as_1d("latitudes_deg", self.latitudes_deg)
        lon = _as_1d("longitudes_deg", self.longitudes_deg)
        if not (np.all(np.isfinite(lat)) and np.all(np.isfinite(lon))):
            raise InputError("grid coordinates must be finite", field="latitudes_deg, longitudes_deg")
        if np.any(np.abs(lat) > 90) or np.any(np.abs(lon) > 180):
            raise InputError("grid coordinates outside [-90, 90] / [-180, 180]", field="latitudes_deg, longitudes_deg")
        if lat.size < 2 or lon.size < 2:
            raise InputError(f"a grid needs at least 2 latitudes and 2 longitudes, got {lat.size} x {lon.size} "
                             "(use ShakingPoints for single points)", field="latitudes_deg, longitudes_deg")
        dlat = np.diff(lat)
        if not (np.all(dlat > 0) or np.all(dlat < 0)):
            raise InputError("latitudes must be strictly increasing or decreasing", field="latitudes_deg")
        if not np.all(np.diff(lon) > 0):
            raise InputError("longitudes must be strictly increasing", field="longitudes_deg")
        mmi = np.asarray(self.mmi, dtype=np.float64)
        if mmi.shape != (lat.size, lon.size):
            raise InputError(f"mmi must have shape (ny, nx) = ({lat.size}, {lon.size}), got {mmi.shape}",
                             field="mmi")
        if np.any(np.isinf(mmi)):
            raise InputError("mmi must be finite (NaN = no value)", field="mmi")
        sig = np.broadcast_to(np.asarray(self.sigma_mmi, dtype=np.float64), mmi.shape).copy()
        if np.any(~np.isfinite(sig) & np.isfinite(mmi)) or np.any(sig[np.isfinite(sig)] < 0):
            raise InputError("sigma_mmi must be finite and >= 0 where mmi has a value", field="sigma_mmi")
        object.__setattr__(self, "latitudes_deg", lat)
        object.__setattr__(self, "longitudes_deg", lon)
        object.__setattr__(self, "mmi", mmi)
        object.__setattr__(self, "sigma_mmi", sig)

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """(west, south, east, north) of the grid nodes, degrees."""
        lat, lon = self.latitudes_deg, self.longitudes_deg
        return (float(lon.min()), float(lat.min()), float(lon.max()), float(lat.max()))

    @property
    def max_mmi(self) -> float:
        import numpy as np

        return float(np.nanmax(self.mmi)) if np.any(np.isfinite(self.mmi)) else float("nan")

    def sample(self, latitude_deg, longitude_deg):
        """(mmi, sigma) at the locations, bilinear; NaN outside the grid or where the grid has none."""
        import numpy as np
        from scipy.interpolate import RegularGridInterpolator

        lat = np.asarray(latitude_deg, dtype=np.float64).ravel()
        lon = np.asarray(longitude_deg, dtype=np.float64).ravel()
        glat, mmi, sig = self.latitudes_deg, self.mmi, self.sigma_mmi
        if glat.size > 1 and glat[0] > glat[-1]:
            glat, mmi, sig = glat[::-1], mmi[::-1], sig[::-1]
        pts = np.column_stack([lat, lon])
        kw = {"method": "linear", "bounds_error": False, "fill_value": np.nan}
        m = RegularGridInterpolator((glat, self.longitudes_deg), mmi, **kw)(pts)
        s = RegularGridInterpolator((glat, self.longitudes_deg), sig, **kw)(pts)
        s = np.where(np.isfinite(m), s, np.nan)
        return m, s


@dataclass(frozen=True, slots=True, eq=False)
class ShakingPoints:
    """MMI at scattered points, read by nearest neighbour within ``max_distance_km`` (module docstring)."""

    latitudes_deg: object
    longitudes_deg: object
    mmi: object
    sigma_mmi: object = 0.0
    max_distance_km: float = 10.0
    source: str = ""

    def __post_init__(self) -> None:
        import numpy as np

        lat = _as_1d("latitudes_deg", self.latitudes_deg)
        lon = _as_1d("longitudes_deg", self.longitudes_deg)
        mmi = np.asarray(self.mmi, dtype=np.float64).ravel()
        if not (lat.size == lon.size == mmi.size):
            raise InputError(f"latitudes, longitudes and mmi must have the same length, got "
                             f"{lat.size}, {lon.size}, {mmi.size}", field="mmi")
        if not (np.all(np.isfinite(lat)) and np.all(np.isfinite(lon))) or np.any(np.abs(lat) > 90) \
                or np.any(np.abs(lon) > 180):
            raise InputError("point coordinates must be finite and within [-90, 90] / [-180, 180]",
                             field="latitudes_deg, longitudes_deg")
        if np.any(np.isinf(mmi)):
            raise InputError("mmi must be finite (NaN = no value)", field="mmi")
        sig = np.broadcast_to(np.asarray(self.sigma_mmi, dtype=np.float64), mmi.shape).copy()
        if np.any(~np.isfinite(sig) & np.isfinite(mmi)) or np.any(sig[np.isfinite(sig)] < 0):
            raise InputError("sigma_mmi must be finite and >= 0 where mmi has a value", field="sigma_mmi")
        if not (math.isfinite(self.max_distance_km) and self.max_distance_km > 0):
            raise InputError(f"must be > 0 km, got {self.max_distance_km!r}", field="max_distance_km")
        object.__setattr__(self, "latitudes_deg", lat)
        object.__setattr__(self, "longitudes_deg", lon)
        object.__setattr__(self, "mmi", mmi)
        object.__setattr__(self, "sigma_mmi", sig)

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        lat, lon = self.latitudes_deg, self.longitudes_deg
        return (float(lon.min()), float(lat.min()), float(lon.max()), float(lat.max()))

    @property
    def max_mmi(self) -> float:
        import numpy as np

        return float(np.nanmax(self.mmi)) if np.any(np.isfinite(self.mmi)) else float("nan")

    def sample(self, latitude_deg, longitude_deg):
        """(mmi, sigma) of the nearest point within ``max_distance_km``; NaN otherwise."""
        import numpy as np
        from scipy.spatial import cKDTree

        lat = np.asarray(latitude_deg, dtype=np.float64).ravel()
        lon = np.asarray(longitude_deg, dtype=np.float64).ravel()
        if lat.size == 0:
            return np.empty(0), np.empty(0)
        tree = cKDTree(_unit_xyz(self.latitudes_deg, self.longitudes_deg))
        chord, idx = tree.query(_unit_xyz(lat, lon))
        dist_km = 2 * EARTH_RADIUS_KM * np.arcsin(np.minimum(1.0, chord / 2))
        ok = dist_km <= self.max_distance_km
        m = np.where(ok, self.mmi[idx], np.nan)
        s = np.where(ok & np.isfinite(m), self.sigma_mmi[idx], np.nan)
        return m, s


Shaking = ShakingGrid | ShakingPoints


def check_shaking(shaking) -> None:
    """Raise :class:`InputError` unless ``shaking`` is a :class:`ShakingGrid` or :class:`ShakingPoints`
    with at least one value."""
    import numpy as np

    if not isinstance(shaking, (ShakingGrid, ShakingPoints)):
        raise InputError(f"expected a ShakingGrid or ShakingPoints, got {type(shaking).__name__}", field="shaking")
    if not np.any(np.isfinite(shaking.mmi)):
        raise InputError("the intensity field has no value (all NaN)", field="shaking")

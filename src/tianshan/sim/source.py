"""Scenario earthquake sources: a hypocentre with Mw, optionally a finite planar rupture.

Rupture dimensions default to Wells & Coppersmith (1994, BSSA 84(4), 974-1002),
Table 2A: subsurface rupture length ``log10 RLD[km] = a + b M`` and down-dip
rupture width ``log10 RW[km] = a + b M`` per slip type:

=========== ============== ==============
slip type   RLD  a,  b     RW   a,  b
=========== ============== ==============
strike-slip -2.57, 0.62    -0.76, 0.27
reverse     -2.42, 0.58    -1.61, 0.41
normal      -1.88, 0.50    -1.14, 0.35
=========== ============== ==============

The slip type follows the rake as in OpenQuake hazardlib's ``WC1994``
(strike-slip within 45 deg of 0 or 180, reverse for 45 < rake < 135, normal for
-135 < rake < -45). The width is capped so the rupture fits in the seismogenic
layer (surface to ``lower_seismogenic_depth_m``); the length then grows to keep
the area ``RLD x RW``, as OpenQuake does for ruptures of area sources.

Placement: the hypocentre is at the middle of the rupture along strike and
down dip, shifted down (or up) when that would put the top above the surface
(or the bottom below the seismogenic layer). Dip follows the right-hand rule
(dips to strike + 90 deg).

Distances to the rupture (Rrup, Rjb) are computed by OpenQuake hazardlib's
``PlanarSurface`` (spherical Earth, R = 6371 km); a point source uses the
hypocentral and epicentral distances instead. Epicentral distances, azimuths
and back azimuths are great-circle values on the same sphere (pyproj ``Geod``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from datetime import datetime

import numpy as np

from tianshan.core.errors import InputError
from tianshan.core.timeutil import as_utc
from tianshan.core._check import finite

#: Earth radius used for distances (m): the sphere of hazardlib and of the travel-time solver.
EARTH_RADIUS_M = 6_371_000.0
#: Default lower seismogenic depth for rupture widths (m).
LOWER_SEISMOGENIC_DEPTH_M = 25_000.0

#: Wells & Coppersmith (1994) Table 2A: slip type -> (RLD a, b), (RW a, b); km.
WC94_TABLE_2A: dict[str, tuple[tuple[float, float], tuple[float, float]]] = {
    "SS": ((-2.57, 0.62), (-0.76, 0.27)),
    "R": ((-2.42, 0.58), (-1.61, 0.41)),
    "N": ((-1.88, 0.50), (-1.14, 0.35)),
}


def slip_type(rake_deg: float) -> str:
    """``"SS"``, ``"R"`` or ``"N"`` from the rake (hazardlib WC1994 convention)."""
    r = ((float(rake_deg) + 180.0) % 360.0) - 180.0
    if -45.0 <= r <= 45.0 or r >= 135.0 or r <= -135.0:
        return "SS"
    return "R" if r > 0 else "N"


def wells_coppersmith_dimensions_m(mw: float, rake_deg: float) -> tuple[float, float]:
    """Median (subsurface length, down-dip width) in metres, Wells & Coppersmith (1994) Table 2A."""
    (la, lb), (wa, wb) = WC94_TABLE_2A[slip_type(rake_deg)]
    return 10 ** (la + lb * mw) * 1000.0, 10 ** (wa + wb * mw) * 1000.0


def _angle(name: str, value: float, lo: float, hi: float) -> float:
    try:
        v = finite(name, value)
    except ValueError as err:
        raise InputError(str(err), field=name) from None
    if not lo <= v <= hi:
        raise InputError(f"{value!r} deg is outside [{lo}, {hi}]", field=name)
    return v


@dataclass(frozen=True, slots=True)
class FiniteFault:
    """A planar rupture: strike/dip/rake (deg, Aki & Richards convention), length and width (m).

    ``length_m``/``width_m`` left ``None`` are filled by :class:`Source` from
    Wells & Coppersmith (1994) for its Mw.
    """

    strike_deg: float
    dip_deg: float
    rake_deg: float
    length_m: float | None = None
    width_m: float | None = None
    lower_seismogenic_depth_m: float = LOWER_SEISMOGENIC_DEPTH_M

    def __post_init__(self) -> None:
        object.__setattr__(self, "strike_deg", _angle("strike", self.strike_deg, 0.0, 360.0) % 360.0)
        object.__setattr__(self, "dip_deg", _angle("dip", self.dip_deg, 1.0, 90.0))
        object.__setattr__(self, "rake_deg", _angle("rake", self.rake_deg, -180.0, 180.0))
        for name in ("length_m", "width_m"):
            v = getattr(self, name)
            if v is not None and not (math.isfinite(float(v)) and float(v) > 0):
                raise InputError(f"must be > 0 m, got {v!r}", field=name)
        if not (math.isfinite(self.lower_seismogenic_depth_m) and self.lower_seismogenic_depth_m > 0):
            raise InputError("must be > 0 m", field="lower_seismogenic_depth_m")


@dataclass(frozen=True, slots=True)
class Source:
    """A scenario earthquake: hypocentre (deg, m below sea level), Mw, origin time, optional rupture."""

    latitude_deg: float
    longitude_deg: float
    depth_m: float
    mw: float
    origin_time: datetime
    finite: FiniteFault | None = None

    def __post_init__(self) -> None:
        for name, lo, hi in (("latitude_deg", -90.0, 90.0), ("longitude_deg", -180.0, 180.0),
                             ("depth_m", 0.0, 700_000.0), ("mw", 1.0, 9.5)):
            v = getattr(self, name)
            try:
                fv = float(v)
            except (TypeError, ValueError):
                raise InputError(f"not a number: {v!r}", field=name) from None
            if not (math.isfinite(fv) and lo <= fv <= hi):
                raise InputError(f"{v!r} is outside [{lo}, {hi}]", field=name)
            object.__setattr__(self, name, fv)
        try:
            object.__setattr__(self, "origin_time", as_utc(self.origin_time, "origin_time"))
        except ValueError as err:
            raise InputError(str(err), field="origin_time") from None
        ff = self.finite
        if ff is not None and (ff.length_m is None or ff.width_m is None):
            length, width = wells_coppersmith_dimensions_m(self.mw, ff.rake_deg)
            length = ff.length_m if ff.length_m is not None else length
            width = ff.width_m if ff.width_m is not None else width
            lower = max(ff.lower_seismogenic_depth_m, self.depth_m)
            max_width = lower / math.sin(math.radians(ff.dip_deg))
            if ff.width_m is None and width > max_width:  # keep the area (as OpenQuake does)
                length = length * width / max_width if ff.length_m is None else length
                width = max_width
            ff = replace(ff, length_m=length, width_m=width)
            object.__setattr__(self, "finite", ff)

    def rupture_corners(self) -> np.ndarray:
        """Corners (top-left, top-right, bottom-right, bottom-left) as rows (lon_deg, lat_deg, depth_m).

        Only for finite sources. See the module docstring for the placement.
        """
        ff = self.finite
        if ff is None:
            raise InputError("a point source has no rupture plane", field="finite")
        from pyproj import Geod

        geod = Geod(a=EARTH_RADIUS_M, b=EARTH_RADIUS_M)
        dip = math.radians(ff.dip_deg)
        w_vert = ff.width_m * math.sin(dip)
        lower = max(ff.lower_seismogenic_depth_m, self.depth_m)
        z_top = self.depth_m - 0.5 * w_vert
        z_top = min(max(z_top, 0.0), max(lower - w_vert, 0.0))
        z_top = min(z_top, self.depth_m)
        up_dip_h = (self.depth_m - z_top) / math.tan(dip) if ff.dip_deg < 90.0 else 0.0
        strike = ff.strike_deg
        lon_c, lat_c, _ = geod.fwd(self.longitude_deg, self.latitude_deg, (strike + 270.0) % 360.0, up_dip_h)
        half = 0.5 * ff.length_m
        tl = geod.fwd(lon_c, lat_c, (strike + 180.0) % 360.0, half)[:2]
        tr = geod.fwd(lon_c, lat_c, strike, half)[:2]
        w_h = ff.width_m * math.cos(dip)
        br = geod.fwd(tr[0], tr[1], (strike + 90.0) % 360.0, w_h)[:2] if w_h > 0 else tr
        bl = geod.fwd(tl[0], tl[1], (strike + 90.0) % 360.0, w_h)[:2] if w_h > 0 else tl
        z_bot = z_top + w_vert
        return np.array([[tl[0], tl[1], z_top], [tr[0], tr[1], z_top],
                         [br[0], br[1], z_bot], [bl[0], bl[1], z_bot]], dtype=float)


@dataclass(frozen=True, slots=True)
class StationGeometry:
    """Source-station geometry for arrays of stations (metres, degrees)."""

    epicentral_m: np.ndarray
    hypocentral_m: np.ndarray
    rupture_m: np.ndarray        # Rrup (closest distance to the rupture; hypocentral for a point source)
    joyner_boore_m: np.ndarray   # Rjb (epicentral for a point source)
    azimuth_deg: np.ndarray      # source -> station, clockwise from north
    back_azimuth_deg: np.ndarray  # station -> source


def station_geometry(source: Source, latitudes_deg, longitudes_deg) -> StationGeometry:
    """Distances and azimuths from ``source`` to stations (at the surface)."""
    from pyproj import Geod

    lat = np.atleast_1d(np.asarray(latitudes_deg, dtype=float))
    lon = np.atleast_1d(np.asarray(longitudes_deg, dtype=float))
    geod = Geod(a=EARTH_RADIUS_M, b=EARTH_RADIUS_M)
    n = lat.size
    if n == 1:  # pyproj treats 1-element arrays as scalars
        az, baz, dist = geod.inv(source.longitude_deg, source.latitude_deg, float(lon[0]), float(lat[0]))
    else:
        az, baz, dist = geod.inv(np.full(n, source.longitude_deg), np.full(n, source.latitude_deg), lon, lat)
    az, baz, dist = (np.atleast_1d(np.asarray(x, dtype=float)) for x in (az, baz, dist))
    az = np.where(dist > 0, az % 360.0, 0.0)
    baz = np.where(dist > 0, baz % 360.0, 0.0)
    hypo = np.hypot(dist, source.depth_m)
    if source.finite is None:
        rrup, rjb = hypo, dist.copy()
    else:
        rrup, rjb = rupture_distances_m(source, lat, lon)
    return StationGeometry(dist, hypo, rrup, rjb, az, baz)


def rupture_distances_m(source: Source, latitudes_deg, longitudes_deg) -> tuple[np.ndarray, np.ndarray]:
    """(Rrup, Rjb) in metres from the finite rupture of ``source`` to surface sites (hazardlib PlanarSurface)."""
    from openquake.hazardlib.geo import Mesh, PlanarSurface, Point

    corners = source.rupture_corners()
    pts = [Point(float(lo), float(la), float(z) / 1000.0) for lo, la, z in corners]
    surface = PlanarSurface.from_corner_points(*pts)
    lat = np.atleast_1d(np.asarray(latitudes_deg, dtype=float))
    lon = np.atleast_1d(np.asarray(longitudes_deg, dtype=float))
    mesh = Mesh(lon, lat, np.zeros_like(lon))
    rrup = np.asarray(surface.get_min_distance(mesh), dtype=float) * 1000.0
    rjb = np.asarray(surface.get_joyner_boore_distance(mesh), dtype=float) * 1000.0
    return rrup, rjb

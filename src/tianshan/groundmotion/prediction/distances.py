"""Source-to-site distances for ground-motion models: finite-fault Rrup, Rjb, Rx, Ry0, and point-source ones.

Geometry
--------
Sites and the rupture are mapped to a local Cartesian frame (x east, y north, z down, km) by
the **azimuthal equidistant projection on a sphere** centred on the hypocentre (Snyder 1987,
*Map Projections -- A Working Manual*, USGS PP 1395, eqs. 25-2, 25-3 with the spherical
forms), radius :data:`tianshan.regions.model.EARTH_RADIUS_M`. Distances from the centre are
exact; others are stretched at most by ``(r/R)^2/6`` (0.2 % at 700 km), which is far below
the resolution of any ground-motion model.

A rupture is a set of quadrilaterals (:class:`Quad`), as in ShakeMap fault files: two
vertices on the top edge and two on the bottom edge. Each quad is split into two triangles,
so slightly non-planar quads are handled exactly.

* ``rrup``: shortest 3-D distance from the site (at the surface, z = 0) to the rupture
  surface (Abrahamson & Shedlock 1997, SRL 68(1), definitions).
* ``rjb``: shortest horizontal distance to the surface projection of the rupture
  (Joyner & Boore 1981, BSSA 71(6)); 0 above the rupture.
* ``rx``: horizontal distance from the top edge's line (extended to infinity along strike),
  positive on the hanging-wall side, and ``ry0``: horizontal distance beyond the ends of the
  top edge along strike (Chiou & Youngs 2014, Earthq. Spectra 30(3), 1117-1153, their
  definitions). For several quads both are taken from the quad with the smallest Rjb to the
  site -- a simplification of the generalized coordinates (GC2) of Spudich & Chiou (2015,
  USGS OFR 2015-1028), adequate for the few-segment ruptures of ShakeMap fault files.

Point source (no quads): ``rjb = repi`` and ``rrup = rhypo`` (the site-to-hypocentre
distance), ``rx = -repi`` (every site on the footwall: no hanging-wall term) and
``ry0 = repi``. This overestimates near-source distances of large ruptures; ShakeMap's
Thompson & Worden (2018) point-source corrections are not implemented.

``azimuth_deg``: azimuth from the epicentre to the site, clockwise from north.

Each distance is returned in metres (SI); :func:`site_distances` works in chunks so that a
grid of millions of sites needs only a few arrays of its size.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from tianshan.core.errors import InputError

__all__ = ["Quad", "Rupture", "Distances", "site_distances", "project", "azimuth_deg"]

_R_KM = 6371.0088   # tianshan.regions.model.EARTH_RADIUS_M / 1000 (kept numeric: no import of regions here)


def project(lat0_deg: float, lon0_deg: float, lat_deg, lon_deg):
    """Spherical azimuthal equidistant projection about (lat0, lon0): ``(x_east_km, y_north_km)`` arrays."""
    import numpy as np

    p0, l0 = math.radians(lat0_deg), math.radians(lon0_deg)
    p = np.radians(np.asarray(lat_deg, dtype=np.float64))
    dl = np.radians(np.asarray(lon_deg, dtype=np.float64)) - l0
    sp, cp = np.sin(p), np.cos(p)
    # haversine central angle (well conditioned at small distances)
    a = np.sin((p - p0) / 2.0) ** 2 + math.cos(p0) * cp * np.sin(dl / 2.0) ** 2
    c = 2.0 * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))
    az = np.arctan2(np.sin(dl) * cp, math.cos(p0) * sp - math.sin(p0) * cp * np.cos(dl))
    r = _R_KM * c
    return r * np.sin(az), r * np.cos(az)


def azimuth_deg(lat0_deg: float, lon0_deg: float, lat_deg, lon_deg):
    """Azimuth (deg clockwise from north, 0-360) from (lat0, lon0) to each site, on a sphere."""
    import numpy as np

    x, y = project(lat0_deg, lon0_deg, lat_deg, lon_deg)
    return np.degrees(np.arctan2(x, y)) % 360.0


@dataclass(frozen=True, slots=True)
class Quad:
    """A planar(ish) fault quadrilateral: ``corners`` are four ``(longitude_deg, latitude_deg, depth_m)``.

    Order as in ShakeMap fault files: two top-edge vertices, then the two bottom-edge
    vertices in reverse (a closed ring without its closing vertex). The top edge is the
    pair with the smaller depths; the dip direction is found from the geometry, so either
    winding is accepted.
    """

    corners: tuple[tuple[float, float, float], ...]

    def __post_init__(self) -> None:
        c = tuple(tuple(float(v) for v in p) for p in self.corners)
        if len(c) == 5 and c[0] == c[4]:
            c = c[:4]
        if len(c) != 4:
            raise InputError(f"a fault quad needs 4 corners, got {len(c)}", field="corners")
        for lon, lat, d in c:
            if not (math.isfinite(lon) and math.isfinite(lat) and math.isfinite(d)):
                raise InputError("quad corners must be finite", field="corners")
            if not (-90.0 <= lat <= 90.0 and -180.0 <= lon <= 180.0 and d >= 0.0):
                raise InputError(f"quad corner {lon}, {lat}, {d} m is not a location with depth >= 0",
                                 field="corners")
        object.__setattr__(self, "corners", c)


@dataclass(frozen=True, slots=True)
class Rupture:
    """An earthquake rupture: hypocentre, moment magnitude, mechanism and (optional) fault quads.

    ``rake_deg`` (Aki & Richards) defaults to 0 (strike-slip) when unknown; ``dip_deg`` and
    ``strike_deg`` are taken from the quads when there are any, else from the arguments (90
    and None). ``ztor_m`` is the top of the rupture (the hypocentral depth for a point source).
    """

    magnitude: float
    latitude_deg: float
    longitude_deg: float
    depth_m: float
    rake_deg: float = 0.0
    quads: tuple[Quad, ...] = ()
    point_dip_deg: float = 90.0
    point_strike_deg: float | None = None
    _frame: dict = field(default_factory=dict, init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        for name in ("magnitude", "latitude_deg", "longitude_deg", "depth_m", "rake_deg", "point_dip_deg"):
            if not math.isfinite(float(getattr(self, name))):
                raise InputError(f"must be finite, got {getattr(self, name)!r}", field=name)
        if not (-90 <= self.latitude_deg <= 90 and -180 <= self.longitude_deg <= 180):
            raise InputError(f"hypocentre {self.latitude_deg}, {self.longitude_deg} is not a coordinate",
                             field="latitude_deg, longitude_deg")
        if self.depth_m < 0:
            raise InputError(f"must be >= 0 m, got {self.depth_m!r}", field="depth_m")
        if not 0.0 < float(self.point_dip_deg) <= 90.0:
            raise InputError(f"must lie in (0, 90], got {self.point_dip_deg!r}", field="point_dip_deg")
        object.__setattr__(self, "quads", tuple(q if isinstance(q, Quad) else Quad(q) for q in self.quads))

    @classmethod
    def from_polygons(cls, magnitude: float, latitude_deg: float, longitude_deg: float, depth_m: float,
                      polygons, rake_deg: float = 0.0) -> "Rupture":
        """A rupture from polygons of ``(lon, lat, depth_m)`` (e.g. :class:`~tianshan.io.shakemap_xml.FaultModel`)."""
        return cls(magnitude=magnitude, latitude_deg=latitude_deg, longitude_deg=longitude_deg, depth_m=depth_m,
                   rake_deg=rake_deg, quads=tuple(Quad(tuple(p)) for p in polygons))

    @property
    def is_point(self) -> bool:
        return not self.quads

    def _local(self):
        """Per-quad local geometry (cached): corners xyz (km), top-edge unit strike, dip direction, length."""
        if "quads" in self._frame:
            return self._frame["quads"]
        import numpy as np

        out = []
        for q in self.quads:
            lon = [c[0] for c in q.corners]
            lat = [c[1] for c in q.corners]
            x, y = project(self.latitude_deg, self.longitude_deg, lat, lon)
            z = np.array([c[2] / 1000.0 for c in q.corners])
            xyz = np.column_stack([x, y, z])
            order = np.argsort(z, kind="stable")
            top = sorted(order[:2])
            # top edge as consecutive ring vertices a -> b, bottom the other two
            a, b = (top[0], top[1]) if (top[1] - top[0]) % 4 == 1 else (top[1], top[0])
            s = xyz[b, :2] - xyz[a, :2]
            length = float(np.hypot(*s))
            if length <= 0:
                raise InputError("a fault quad has a zero-length top edge", field="quads")
            u = s / length
            normal = np.array([u[1], -u[0]])            # right of strike
            bottom_mid = xyz[[i for i in range(4) if i not in (a, b)], :2].mean(axis=0)
            side = float(np.dot(bottom_mid - xyz[a, :2], normal))
            if side < 0:                                 # dips to the left: reverse the top edge
                a, b, u, normal = b, a, -u, -normal
            out.append({"xyz": xyz, "a": xyz[a], "b": xyz[b], "u": u, "n": normal, "length": length})
        self._frame["quads"] = out
        return out

    @property
    def strike_deg(self) -> float | None:
        """Strike (deg from north, dip to the right) of the longest quad's top edge, or ``point_strike_deg``."""
        if self.is_point:
            return self.point_strike_deg
        q = max(self._local(), key=lambda d: d["length"])
        return math.degrees(math.atan2(q["u"][0], q["u"][1])) % 360.0

    @property
    def dip_deg(self) -> float:
        """Area-weighted mean dip of the quads (``point_dip_deg`` for a point source)."""
        if self.is_point:
            return float(self.point_dip_deg)
        import numpy as np

        dips, weights = [], []
        for q in self._local():
            xyz = q["xyz"]
            bottom = [p for p in xyz if not (np.allclose(p, q["a"]) or np.allclose(p, q["b"]))]
            bm = np.mean(bottom, axis=0)
            horiz = abs(float(np.dot(bm[:2] - q["a"][:2], q["n"])))
            vert = float(bm[2] - (q["a"][2] + q["b"][2]) / 2.0)
            dips.append(math.degrees(math.atan2(vert, horiz)) if (horiz > 0 or vert > 0) else 90.0)
            weights.append(q["length"] * math.hypot(horiz, vert))
        return float(np.average(dips, weights=weights)) if sum(weights) > 0 else 90.0

    @property
    def ztor_m(self) -> float:
        """Depth of the top of the rupture (hypocentral depth for a point source)."""
        if self.is_point:
            return float(self.depth_m)
        return 1000.0 * min(float(q["xyz"][:, 2].min()) for q in self._local())

    @property
    def width_m(self) -> float:
        """Down-dip width of the widest quad (0 for a point source)."""
        if self.is_point:
            return 0.0
        best = 0.0
        for q in self._local():
            xyz = q["xyz"]
            zmin, zmax = xyz[:, 2].min(), xyz[:, 2].max()
            dip = math.radians(max(self.dip_deg, 1e-3))
            best = max(best, float((zmax - zmin) / math.sin(dip)) if zmax > zmin else 0.0)
        return 1000.0 * best

    @property
    def trace(self) -> tuple[tuple[float, float], ...]:
        """``(longitude_deg, latitude_deg)`` of each quad's top-edge ends (hypocentre for a point)."""
        if self.is_point:
            return ((self.longitude_deg, self.latitude_deg),)
        pts = []
        for q in self.quads:
            corners = sorted(q.corners, key=lambda c: c[2])[:2]
            pts.extend((c[0], c[1]) for c in corners)
        return tuple(pts)


@dataclass(frozen=True, slots=True)
class Distances:
    """Distances of a set of sites (numpy arrays, metres; azimuth in degrees)."""

    rrup_m: object
    rjb_m: object
    rx_m: object
    ry0_m: object
    repi_m: object
    rhypo_m: object
    azimuth_deg: object


def _seg_dist2(px, py, pz, a, b):
    """Squared distance from points to segment a-b in 3-D (a, b length-3 arrays); ``pz`` None means z = 0."""
    import numpy as np

    d = b - a
    dd = float(np.dot(d, d))
    wx, wy = px - a[0], py - a[1]
    wz = -a[2] if pz is None else pz - a[2]
    if dd <= 0:
        return wx * wx + wy * wy + wz * wz
    t = (wx * d[0] + wy * d[1] + wz * d[2]) * (1.0 / dd)
    np.clip(t, 0.0, 1.0, out=t)
    ex, ey, ez = wx - t * d[0], wy - t * d[1], wz - t * d[2]
    return ex * ex + ey * ey + ez * ez


def _plane_inside(px, py, p0, p1, p2):
    """(inside mask, signed plane distance) of surface points (z = 0) projected onto triangle p0 p1 p2.

    Barycentric coordinates of the projection (Ericson 2005, *Real-Time Collision Detection*,
    section 3.4); a degenerate triangle (e.g. a vertical quad seen from above) has no inside.
    """
    import numpy as np

    e1, e2 = p1 - p0, p2 - p0
    n = np.cross(e1, e2)
    area2 = float(np.linalg.norm(n))
    if area2 <= 1e-12 * max(float(np.dot(e1, e1)), float(np.dot(e2, e2)), 1e-30):
        return None, None
    n = n / area2
    wx, wy, wz = px - p0[0], py - p0[1], -p0[2]
    h = wx * n[0] + wy * n[1] + wz * n[2]
    qx, qy, qz = wx - h * n[0], wy - h * n[1], wz - h * n[2]
    d00, d01, d11 = float(np.dot(e1, e1)), float(np.dot(e1, e2)), float(np.dot(e2, e2))
    d20 = qx * e1[0] + qy * e1[1] + qz * e1[2]
    d21 = qx * e2[0] + qy * e2[1] + qz * e2[2]
    den = d00 * d11 - d01 * d01
    v = (d11 * d20 - d01 * d21) / den
    w = (d00 * d21 - d01 * d20) / den
    return (v >= 0) & (w >= 0) & (v + w <= 1), h


def _quad_dist(px, py, xyz):
    """Distance from surface points to a quad (4 ring-ordered vertices; two triangles).

    The nearest point is on the quad's boundary (4 edges) unless the point projects inside one
    of the two triangles, where the plane distance applies.
    """
    import numpy as np

    d2 = _seg_dist2(px, py, None, xyz[0], xyz[1])
    for i in (1, 2, 3):
        np.minimum(d2, _seg_dist2(px, py, None, xyz[i], xyz[(i + 1) % 4]), out=d2)
    out = np.sqrt(d2)
    for tri in ((0, 1, 2), (0, 2, 3)):
        inside, h = _plane_inside(px, py, xyz[tri[0]], xyz[tri[1]], xyz[tri[2]])
        if inside is not None:
            out = np.where(inside, np.minimum(out, np.abs(h)), out)
    return out


def site_distances(rupture: Rupture, latitude_deg, longitude_deg, chunk: int = 65_536) -> Distances:
    """Distances of sites (at the surface) to ``rupture`` (module docstring); arrays in metres."""
    import numpy as np

    lat = np.atleast_1d(np.asarray(latitude_deg, dtype=np.float64)).ravel()
    lon = np.atleast_1d(np.asarray(longitude_deg, dtype=np.float64)).ravel()
    if lat.shape != lon.shape:
        raise InputError("latitude and longitude arrays differ in size", field="latitude_deg, longitude_deg")
    if not (np.all(np.isfinite(lat)) and np.all(np.isfinite(lon))):
        raise InputError("site coordinates must be finite", field="latitude_deg, longitude_deg")
    n = lat.size
    res = {k: np.empty(n) for k in ("rrup", "rjb", "rx", "ry0", "repi", "rhypo", "az")}
    quads = rupture._local() if not rupture.is_point else []
    hz = rupture.depth_m / 1000.0
    for s in range(0, n, max(1, int(chunk))):
        e = min(n, s + chunk)
        x, y = project(rupture.latitude_deg, rupture.longitude_deg, lat[s:e], lon[s:e])
        repi = np.hypot(x, y)
        res["repi"][s:e] = repi
        res["rhypo"][s:e] = np.hypot(repi, hz)
        res["az"][s:e] = np.degrees(np.arctan2(x, y)) % 360.0
        if not quads:
            res["rrup"][s:e] = res["rhypo"][s:e]
            res["rjb"][s:e] = repi
            res["rx"][s:e] = -repi
            res["ry0"][s:e] = repi
            continue
        rrup = np.full(x.shape, np.inf)
        rjb = np.full(x.shape, np.inf)
        rx = np.zeros_like(x)
        ry0 = np.zeros_like(x)
        for q in quads:
            xyz = q["xyz"]
            rrup = np.minimum(rrup, _quad_dist(x, y, xyz))
            flat = xyz.copy()
            flat[:, 2] = 0.0
            d_jb = _quad_dist(x, y, flat)
            # Rx, Ry0 of the quad nearest in Rjb
            ux, uy = q["u"]
            nx, ny = q["n"]
            wx, wy = x - q["a"][0], y - q["a"][1]
            along = wx * ux + wy * uy
            across = wx * nx + wy * ny
            ry = np.maximum(0.0, np.maximum(-along, along - q["length"]))
            better = d_jb < rjb
            rx = np.where(better, across, rx)
            ry0 = np.where(better, ry, ry0)
            rjb = np.minimum(rjb, d_jb)
        res["rrup"][s:e] = rrup
        res["rjb"][s:e] = rjb
        res["rx"][s:e] = rx
        res["ry0"][s:e] = ry0
    k = 1000.0
    return Distances(rrup_m=res["rrup"] * k, rjb_m=res["rjb"] * k, rx_m=res["rx"] * k, ry0_m=res["ry0"] * k,
                     repi_m=res["repi"] * k, rhypo_m=res["rhypo"] * k, azimuth_deg=res["az"])

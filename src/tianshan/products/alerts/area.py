"""Affected areas of an alert and receivers' region filters.

An alert's :class:`AlertArea` is a set of circles and polygons (CAP 1.2 ``<area>``
semantics: WGS84 degrees, the shapes' union). A receiver subscribes with a
:class:`BBox` or a :class:`Circle`; it is sent an alert when its filter intersects the
alert's area (:func:`intersects`).

Geometry rules (documented approximations; the region is a few hundred km across and
the answer only decides *who is notified*, so a few km of error are harmless):

* distances are great-circle distances on a sphere (haversine, see
  :func:`tianshan.regions.model.haversine_m`);
* circle-bbox: the distance from the circle's centre to the nearest point of the
  box found by clamping latitude and longitude into the box;
* polygon tests are planar in (longitude, latitude); circle-polygon distances use an
  equirectangular projection centred on the circle (x = R cos(lat0) dlon, y = R dlat;
  Snyder 1987, *Map Projections: A Working Manual*, USGS PP 1395, p. 90), accurate to
  well under 1 % within a few hundred km;
* boxes do not cross the antimeridian (west <= east is required).

:func:`area_from_alert` derives the default area of an alert: one circle on the
epicentre reaching every target whose predicted intensity is at least
``min_intensity`` (plus a margin), never smaller than ``min_radius_m``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterable, Union

from tianshan.core._check import finite, latitude, longitude
from tianshan.core.errors import DomainError
from tianshan.regions.model import EARTH_RADIUS_M, haversine_m

_M_PER_DEG = math.pi * EARTH_RADIUS_M / 180.0


@dataclass(frozen=True, slots=True)
class Circle:
    """A circle on the Earth: centre (degrees) and radius (metres)."""

    latitude_deg: float
    longitude_deg: float
    radius_m: float

    def __post_init__(self) -> None:
        latitude("circle latitude", self.latitude_deg)
        longitude("circle longitude", self.longitude_deg)
        r = finite("circle radius_m", self.radius_m)
        if not 0.0 <= r <= 20_000_000.0:
            raise DomainError(f"circle radius_m: {self.radius_m!r} is outside [0, 2e7] m")

    def bbox(self) -> "BBox":
        dlat = self.radius_m / _M_PER_DEG
        coslat = math.cos(math.radians(self.latitude_deg))
        s, n = max(-90.0, self.latitude_deg - dlat), min(90.0, self.latitude_deg + dlat)
        if coslat < 1e-6 or n >= 90.0 or s <= -90.0:
            return BBox(-180.0, s, 180.0, n)
        dlon = self.radius_m / (_M_PER_DEG * coslat)
        if dlon >= 180.0:
            return BBox(-180.0, s, 180.0, n)
        return BBox(max(-180.0, self.longitude_deg - dlon), s, min(180.0, self.longitude_deg + dlon), n)


@dataclass(frozen=True, slots=True)
class BBox:
    """A longitude/latitude box, GeoJSON order (west, south, east, north), degrees."""

    west_deg: float
    south_deg: float
    east_deg: float
    north_deg: float

    def __post_init__(self) -> None:
        longitude("bbox west", self.west_deg)
        longitude("bbox east", self.east_deg)
        latitude("bbox south", self.south_deg)
        latitude("bbox north", self.north_deg)
        if self.west_deg > self.east_deg:
            raise DomainError(f"bbox: west {self.west_deg} > east {self.east_deg} (antimeridian boxes unsupported)")
        if self.south_deg > self.north_deg:
            raise DomainError(f"bbox: south {self.south_deg} > north {self.north_deg}")

    def bbox(self) -> "BBox":
        return self

    def overlaps(self, other: "BBox") -> bool:
        return not (other.west_deg > self.east_deg or other.east_deg < self.west_deg
                    or other.south_deg > self.north_deg or other.north_deg < self.south_deg)

    def contains(self, lat: float, lon: float) -> bool:
        return self.south_deg <= lat <= self.north_deg and self.west_deg <= lon <= self.east_deg


@dataclass(frozen=True, slots=True)
class Polygon:
    """A closed ring of (latitude, longitude) points in degrees (CAP order); first == last."""

    points: tuple[tuple[float, float], ...]

    def __post_init__(self) -> None:
        pts = tuple((float(p[0]), float(p[1])) for p in self.points)
        for lat, lon in pts:
            latitude("polygon latitude", lat)
            longitude("polygon longitude", lon)
        if len(pts) >= 1 and pts[0] != pts[-1]:
            pts = pts + (pts[0],)
        if len(pts) < 4:  # CAP 1.2: at least four pairs, first and last the same
            raise DomainError(f"polygon: needs at least 3 distinct points, got {len(pts) - 1}")
        object.__setattr__(self, "points", pts)

    def bbox(self) -> BBox:
        lats = [p[0] for p in self.points]
        lons = [p[1] for p in self.points]
        return BBox(min(lons), min(lats), max(lons), max(lats))

    def contains(self, lat: float, lon: float) -> bool:
        """Even-odd ray casting in the (lon, lat) plane (Shimrat 1962, CACM 5(8):434)."""
        inside = False
        pts = self.points
        for (lat1, lon1), (lat2, lon2) in zip(pts, pts[1:]):
            if (lat1 > lat) != (lat2 > lat):
                x = lon1 + (lat - lat1) * (lon2 - lon1) / (lat2 - lat1)
                if lon < x:
                    inside = not inside
        return inside


Shape = Union[Circle, Polygon]
Filter = Union[BBox, Circle]


@dataclass(frozen=True, slots=True)
class AlertArea:
    """The area an alert concerns: the union of ``circles`` and ``polygons``."""

    circles: tuple[Circle, ...] = ()
    polygons: tuple[Polygon, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "circles", tuple(self.circles))
        object.__setattr__(self, "polygons", tuple(self.polygons))
        if not self.circles and not self.polygons:
            raise DomainError("alert area: needs at least one circle or polygon")

    @property
    def shapes(self) -> tuple[Shape, ...]:
        return self.circles + self.polygons

    def bbox(self) -> BBox:
        boxes = [s.bbox() for s in self.shapes]
        return BBox(min(b.west_deg for b in boxes), min(b.south_deg for b in boxes),
                    max(b.east_deg for b in boxes), max(b.north_deg for b in boxes))

    def to_dict(self) -> dict:
        return {"circles": [{"latitude_deg": c.latitude_deg, "longitude_deg": c.longitude_deg,
                             "radius_m": c.radius_m} for c in self.circles],
                "polygons": [{"points": [[lat, lon] for lat, lon in p.points]} for p in self.polygons]}

    @classmethod
    def from_dict(cls, data: dict) -> "AlertArea":
        return cls(tuple(Circle(c["latitude_deg"], c["longitude_deg"], c["radius_m"]) for c in data.get("circles", ())),
                   tuple(Polygon(tuple(tuple(p) for p in poly["points"])) for poly in data.get("polygons", ())))


# --------------------------------------------------------------------------- intersection

def _local_xy(lat0: float, lon0: float, lat: float, lon: float) -> tuple[float, float]:
    """Equirectangular projection centred on (lat0, lon0), metres (Snyder 1987, p. 90)."""
    return ((lon - lon0) * _M_PER_DEG * math.cos(math.radians(lat0)), (lat - lat0) * _M_PER_DEG)


def _segment_distance(px: float, py: float, ax: float, ay: float, bx: float, by: float) -> float:
    dx, dy = bx - ax, by - ay
    den = dx * dx + dy * dy
    t = 0.0 if den == 0.0 else max(0.0, min(1.0, ((px - ax) * dx + (py - ay) * dy) / den))
    return math.hypot(px - (ax + t * dx), py - (ay + t * dy))


def _circle_polygon(c: Circle, p: Polygon) -> bool:
    if p.contains(c.latitude_deg, c.longitude_deg):
        return True
    xy = [_local_xy(c.latitude_deg, c.longitude_deg, lat, lon) for lat, lon in p.points]
    return any(_segment_distance(0.0, 0.0, a[0], a[1], b[0], b[1]) <= c.radius_m for a, b in zip(xy, xy[1:]))


def _segments_cross(a: tuple[float, float], b: tuple[float, float], c: tuple[float, float],
                    d: tuple[float, float]) -> bool:
    def orient(p, q, r):
        v = (q[0] - p[0]) * (r[1] - p[1]) - (q[1] - p[1]) * (r[0] - p[0])
        return (v > 0) - (v < 0)

    o1, o2, o3, o4 = orient(a, b, c), orient(a, b, d), orient(c, d, a), orient(c, d, b)
    return o1 != o2 and o3 != o4


def _bbox_polygon(b: BBox, p: Polygon) -> bool:
    if not b.overlaps(p.bbox()):
        return False
    if any(b.contains(lat, lon) for lat, lon in p.points):
        return True
    corners = [(b.south_deg, b.west_deg), (b.south_deg, b.east_deg), (b.north_deg, b.east_deg),
               (b.north_deg, b.west_deg)]
    if any(p.contains(lat, lon) for lat, lon in corners):
        return True
    edges = list(zip(corners, corners[1:] + corners[:1]))
    return any(_segments_cross(e0, e1, q0, q1) for e0, e1 in edges for q0, q1 in zip(p.points, p.points[1:]))


def _circle_bbox(c: Circle, b: BBox) -> bool:
    lat = min(max(c.latitude_deg, b.south_deg), b.north_deg)
    lon = min(max(c.longitude_deg, b.west_deg), b.east_deg)
    return haversine_m(c.latitude_deg, c.longitude_deg, lat, lon) <= c.radius_m


def shape_intersects(flt: Filter, shape: Shape) -> bool:
    """True when a receiver filter (box or circle) and one area shape intersect."""
    if isinstance(flt, BBox):
        if isinstance(shape, Circle):
            return flt.overlaps(shape.bbox()) and _circle_bbox(shape, flt)
        return _bbox_polygon(flt, shape)
    if isinstance(shape, Circle):
        return (haversine_m(flt.latitude_deg, flt.longitude_deg, shape.latitude_deg, shape.longitude_deg)
                <= flt.radius_m + shape.radius_m)
    return flt.bbox().overlaps(shape.bbox()) and _circle_polygon(flt, shape)


def intersects(flt: Filter | None, area: AlertArea) -> bool:
    """True when filter ``flt`` intersects ``area``; no filter (``None``) matches everything."""
    if flt is None:
        return True
    return any(shape_intersects(flt, s) for s in area.shapes)


# --------------------------------------------------------------------------- derivation

def area_from_alert(alert, min_intensity: float = 4.0, margin_m: float = 20_000.0,
                    min_radius_m: float = 50_000.0) -> AlertArea:
    """Default area of a :class:`tianshan.core.alert.Alert`: one circle on the epicentre.

    Its radius reaches the farthest target with predicted intensity >= ``min_intensity``
    (GB/T 17742-2020 IV: felt indoors by most, the lowest level an alert is useful for)
    plus ``margin_m``, and is at least ``min_radius_m``.
    """
    r = min_radius_m
    for t in alert.targets:
        if t.intensity >= min_intensity:
            d = haversine_m(alert.latitude_deg, alert.longitude_deg, t.latitude_deg, t.longitude_deg)
            r = max(r, d + margin_m)
    return AlertArea(circles=(Circle(alert.latitude_deg, alert.longitude_deg, r),))


def merge_areas(areas: Iterable[AlertArea], max_circles: int = 4) -> AlertArea:
    """Union of areas (used so that updates and cancels reach everyone alerted before).

    Identical circles collapse; when more than ``max_circles`` remain they are replaced by one
    circle on their mean centre reaching every circle's far edge (it encloses them all).
    """
    circles: list[Circle] = []
    polygons: list[Polygon] = []
    for a in areas:
        for c in a.circles:
            if c not in circles:
                circles.append(c)
        for p in a.polygons:
            if p not in polygons:
                polygons.append(p)
    # drop circles inside another one
    circles = [c for c in circles if not any(
        o is not c and o.radius_m >= c.radius_m
        and haversine_m(o.latitude_deg, o.longitude_deg, c.latitude_deg, c.longitude_deg) + c.radius_m <= o.radius_m
        and (o.radius_m > c.radius_m or circles.index(o) < circles.index(c))
        for o in circles)]
    if len(circles) > max_circles:
        lat0 = sum(c.latitude_deg for c in circles) / len(circles)
        lon0 = sum(c.longitude_deg for c in circles) / len(circles)
        r = max(haversine_m(lat0, lon0, c.latitude_deg, c.longitude_deg) + c.radius_m for c in circles)
        circles = [Circle(lat0, lon0, r)]
    return AlertArea(tuple(circles), tuple(polygons))


def parse_filter(data) -> Filter | None:
    """A receiver filter from its JSON form.

    ``{"bbox": [west, south, east, north]}`` or ``{"circle": [lat, lon, radius_km]}`` (or
    ``{"circle": {"latitude_deg", "longitude_deg", "radius_m"}}``); ``{"all": true}`` or an
    empty object: no filter. Raises :class:`DomainError` on anything else.
    """
    if not isinstance(data, dict):
        raise DomainError("filter: must be an object")
    keys = set(data) & {"bbox", "circle", "all"}
    if len(keys) > 1:
        raise DomainError("filter: give only one of bbox, circle, all")
    if "bbox" in data:
        b = data["bbox"]
        if not isinstance(b, (list, tuple)) or len(b) != 4 or not all(_is_num(v) for v in b):
            raise DomainError("filter bbox: must be [west, south, east, north] in degrees")
        return BBox(*map(float, b))
    if "circle" in data:
        c = data["circle"]
        if isinstance(c, dict):
            vals = [c.get("latitude_deg"), c.get("longitude_deg"), c.get("radius_m")]
            if not all(_is_num(v) for v in vals):
                raise DomainError("filter circle: needs numeric latitude_deg, longitude_deg, radius_m")
            return Circle(*map(float, vals))
        if not isinstance(c, (list, tuple)) or len(c) != 3 or not all(_is_num(v) for v in c):
            raise DomainError("filter circle: must be [latitude, longitude, radius_km]")
        return Circle(float(c[0]), float(c[1]), float(c[2]) * 1000.0)
    if data.get("all", True) is not True:
        raise DomainError("filter all: must be true")
    return None


def _is_num(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def region_cells(area: AlertArea, cell_deg: float = 1.0) -> list[str]:
    """Names of the ``cell_deg`` grid cells whose box intersects ``area`` (MQTT topics per region).

    A cell is named by its south-west corner, e.g. ``N41E084`` for 41-42 N, 84-85 E with 1-degree
    cells (``cell_deg`` must divide 1 or be a whole number of degrees; 0.5 gives ``N41.5E084.5``).
    """
    if not cell_deg > 0:
        raise DomainError(f"cell_deg: must be > 0, got {cell_deg}")
    b = area.bbox()
    out = []
    i0, i1 = math.floor(b.south_deg / cell_deg), math.floor(b.north_deg / cell_deg)
    j0, j1 = math.floor(b.west_deg / cell_deg), math.floor(b.east_deg / cell_deg)
    for i in range(i0, i1 + 1):
        for j in range(j0, j1 + 1):
            s, w = i * cell_deg, j * cell_deg
            if s >= 90.0 or w >= 180.0:
                continue
            box = BBox(w, max(-90.0, s), min(180.0, w + cell_deg), min(90.0, s + cell_deg))
            if intersects(box, area):
                out.append(cell_name(s, w, cell_deg))
    return out


def cell_name(lat_deg: float, lon_deg: float, cell_deg: float = 1.0) -> str:
    """Name of the grid cell containing (lat_deg, lon_deg) (see :func:`region_cells`)."""
    s = math.floor(lat_deg / cell_deg) * cell_deg
    w = math.floor(lon_deg / cell_deg) * cell_deg

    def fmt(v: float, width: int) -> str:
        v = abs(v)
        return f"{int(v):0{width}d}" if float(v).is_integer() else f"{v:0{width + 2}.1f}"

    return f"{'N' if s >= 0 else 'S'}{fmt(s, 2)}{'E' if w >= 0 else 'W'}{fmt(w, 3)}"

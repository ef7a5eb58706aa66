"""Geographic selections of the FDSN services: boxes (antimeridian-aware) and great-circle radius.

The spec gives radii as great-circle distances in degrees on a sphere. Distances use
the haversine formula, stable for small angles (R. W. Sinnott, "Virtues of the
Haversine", Sky and Telescope 68(2), 1984, p. 159):
``hav(d) = hav(dphi) + cos(phi1) cos(phi2) hav(dlambda)``, ``d = 2 asin(sqrt(hav(d)))``.

A database pre-selects candidates of a radius search with the bounding box of the
spherical cap (J. P. Matuschek, "Finding Points Within a Distance of a
Latitude/Longitude Using Bounding Coordinates", 2010, sections 3.1-3.4): latitudes
``phi0 +- r``; when the cap contains no pole, longitudes ``lambda0 +- dlambda`` with
``dlambda = asin(sin r / cos phi0)``; otherwise every longitude.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


def distance_deg(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance (degrees) between two points on a sphere (haversine; see module doc)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp = p2 - p1
    dl = math.radians(lon2 - lon1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return math.degrees(2.0 * math.asin(min(1.0, math.sqrt(h))))


@dataclass(frozen=True)
class Area:
    """A box (``west > east`` crosses the antimeridian) and optionally a ring around a centre."""

    south: float = -90.0
    north: float = 90.0
    west: float = -180.0
    east: float = 180.0
    latitude: float | None = None
    longitude: float | None = None
    min_radius: float = 0.0
    max_radius: float = 180.0

    @property
    def has_box(self) -> bool:
        return (self.south, self.north, self.west, self.east) != (-90.0, 90.0, -180.0, 180.0)

    @property
    def has_radius(self) -> bool:
        return self.latitude is not None

    def contains(self, lat: float | None, lon: float | None) -> bool:
        """Whether a point lies in the box and the ring (edges included)."""
        if lat is None or lon is None:
            return not (self.has_box or self.has_radius)
        if not self.south <= lat <= self.north:
            return False
        if self.west <= self.east:
            if not self.west <= lon <= self.east:
                return False
        elif not (lon >= self.west or lon <= self.east):
            return False
        if self.has_radius:
            d = distance_deg(self.latitude, self.longitude, lat, lon)
            return self.min_radius <= d <= self.max_radius
        return True

    def radius_box(self) -> tuple[float, float, float, float] | None:
        """``(south, north, west, east)`` enclosing the ring's outer circle (see module doc); None if no radius.

        ``west > east`` when the box crosses the antimeridian; (-180, 180) when it spans every longitude.
        """
        if not self.has_radius:
            return None
        r = self.max_radius
        south, north = self.latitude - r, self.latitude + r
        if r >= 90.0 or south <= -90.0 or north >= 90.0:
            return max(south, -90.0), min(north, 90.0), -180.0, 180.0
        dlon = math.degrees(math.asin(math.sin(math.radians(r)) / math.cos(math.radians(self.latitude))))
        west, east = self.longitude - dlon, self.longitude + dlon
        if west < -180.0:
            west += 360.0
        if east > 180.0:
            east -= 360.0
        return south, north, west, east


def area_from_query(q) -> Area:
    """The :class:`Area` of a validated query (box parameters; radius when any radius parameter is given)."""
    radius = q.has("latitude", "longitude", "minradius", "maxradius")
    return Area(q["minlatitude"], q["maxlatitude"], q["minlongitude"], q["maxlongitude"],
                q["latitude"] if radius else None, q["longitude"] if radius else None,
                q["minradius"], q["maxradius"])

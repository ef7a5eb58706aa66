"""The region the server was started with, as map layers and a city list for the dashboard.

The basemap is a GeoJSON FeatureCollection built from the region profile only (no
outside data): ``properties.layer`` is ``station`` (points), ``town`` (cities, towns,
villages: points), ``county`` (county, prefecture and district places: points at
their representative location — the profiles hold no boundaries) or ``fault``
(line strings). Coordinates are rounded to 1e-4 degree (about 11 m) and fault traces
simplified with the Douglas–Peucker algorithm (shapely ``simplify``, tolerance
:data:`SIMPLIFY_DEG`) so that the document stays under :data:`MAX_BYTES`; if it does
not, the least-populated towns are dropped until it does.
"""

from __future__ import annotations

import json
import threading

#: Douglas-Peucker tolerance of fault traces, degrees (~500 m).
SIMPLIFY_DEG = 0.005
#: Largest basemap document, bytes.
MAX_BYTES = 2_000_000
_TOWN_KINDS = ("city", "town", "village")
_COUNTY_KINDS = ("county", "prefecture", "district")


def _r(x: float) -> float:
    return round(float(x), 4)


def _point(lon: float, lat: float, props: dict) -> dict:
    return {"type": "Feature", "geometry": {"type": "Point", "coordinates": [_r(lon), _r(lat)]}, "properties": props}


def _fault_line(fault) -> list[list[float]]:
    """The trace simplified (Douglas-Peucker keeps both end points) and rounded."""
    from shapely.geometry import LineString

    line = LineString(fault.coordinates).simplify(SIMPLIFY_DEG, preserve_topology=False)
    return [[_r(x), _r(y)] for x, y in line.coords]


def basemap(profile) -> dict:
    """The FeatureCollection of ``profile`` (a :class:`~tianshan.regions.RegionProfile`)."""
    feats: list[dict] = []
    for f in profile.faults:
        feats.append({"type": "Feature", "geometry": {"type": "LineString", "coordinates": _fault_line(f)},
                      "properties": {"layer": "fault", "name": f.name, "name_zh": "", "slip_type": f.slip_type}})
    for p in profile.places:
        if p.kind in _COUNTY_KINDS:
            feats.append(_point(p.longitude_deg, p.latitude_deg, {"layer": "county", "name": p.name,
                                                                  "name_zh": p.name_zh, "population": p.population}))
    towns = sorted((p for p in profile.places if p.kind in _TOWN_KINDS), key=lambda p: -(p.population or 0))
    town_feats = [_point(p.longitude_deg, p.latitude_deg, {"layer": "town", "name": p.name, "name_zh": p.name_zh,
                                                           "population": p.population, "kind": p.kind})
                  for p in towns]
    for s in profile.stations:
        feats.append(_point(s.longitude_deg, s.latitude_deg, {"layer": "station", "name": f"{s.network}.{s.code}",
                                                              "name_zh": "", "network": s.network,
                                                              "station": s.code, "site": s.name}))
    doc = {"type": "FeatureCollection", "features": feats + town_feats}
    size = len(json.dumps(doc, ensure_ascii=False).encode())
    while size > MAX_BYTES and town_feats:
        drop = max(1, len(town_feats) // 10)
        town_feats = town_feats[:-drop]
        doc = {"type": "FeatureCollection", "features": feats + town_feats}
        size = len(json.dumps(doc, ensure_ascii=False).encode())
    b = profile.bounds
    if b is not None:
        doc["bbox"] = [b.west_deg, b.south_deg, b.east_deg, b.north_deg]
    doc["name"] = profile.name
    return doc


def cities(profile) -> list[dict]:
    """Populated places of the profile, most populous first (unknown populations last)."""
    places = sorted(profile.places, key=lambda p: (p.population is None, -(p.population or 0), p.name))
    return [{"name": p.name, "name_zh": p.name_zh, "latitude": p.latitude_deg, "longitude": p.longitude_deg,
             "population": p.population, "kind": p.kind} for p in places]


class RegionSource:
    """The region profile behind the map endpoints, loaded once on first use (a folder or ``demo``)."""

    def __init__(self, spec) -> None:
        self.spec = spec
        self._lock = threading.Lock()
        self._profile = None
        self._basemap: dict | None = None

    @property
    def profile(self):
        if self.spec is None:
            return None
        with self._lock:
            if self._profile is None:
                if hasattr(self.spec, "stations") and hasattr(self.spec, "places"):
                    self._profile = self.spec
                else:
                    from tianshan.regions.demo import resolve_region

                    self._profile = resolve_region(self.spec)
            return self._profile

    def basemap(self) -> dict:
        profile = self.profile
        if profile is None:
            return {"type": "FeatureCollection", "features": []}
        with self._lock:
            if self._basemap is None:
                self._basemap = basemap(profile)
            return self._basemap

    def cities(self) -> list[dict]:
        profile = self.profile
        return [] if profile is None else cities(profile)

    def stations(self):
        profile = self.profile
        return None if profile is None else profile.stations

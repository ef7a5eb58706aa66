"""Region profile: the facts about one network's region (stations, 1-D model, places, faults).

All objects are frozen dataclasses; coordinates are WGS84 degrees, populations
are head counts, depths and elevations are metres (via the core objects).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tianshan.core._check import finite, latitude, longitude
from tianshan.core.errors import DomainError
from tianshan.core.station import Station, check_unique_streams
from tianshan.core.velocity import VelocityModel

#: Kinds of place a profile may list. ``county`` places come from census
#: tables and partition the region (their populations add up to the region's);
#: ``city``/``town``/``village`` are populated points that overlap counties.
PLACE_KINDS = ("city", "town", "village", "county", "prefecture", "district")


@dataclass(frozen=True, slots=True)
class Place:
    """A populated place: a town (point) or an administrative unit at its representative point.

    ``population`` is ``None`` when unknown. ``admin`` is the parent unit
    (e.g. prefecture), ``code`` an identifier in the source (census adcode,
    GeoNames id).
    """

    name: str
    latitude_deg: float
    longitude_deg: float
    population: int | None
    kind: str = "city"
    admin: str = ""
    name_zh: str = ""
    code: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.strip():
            raise DomainError("place name: must not be empty")
        object.__setattr__(self, "latitude_deg", latitude(f"place {self.name} latitude", self.latitude_deg))
        object.__setattr__(self, "longitude_deg", longitude(f"place {self.name} longitude", self.longitude_deg))
        if self.population is not None:
            if isinstance(self.population, bool) or not isinstance(self.population, int) or self.population < 0:
                raise DomainError(f"place {self.name} population: must be an integer >= 0, got {self.population!r}")
        if self.kind not in PLACE_KINDS:
            raise DomainError(f"place {self.name} kind: {self.kind!r} is not one of {', '.join(PLACE_KINDS)}")


@dataclass(frozen=True, slots=True)
class Fault:
    """An active fault trace (GEM Global Active Faults conventions).

    ``coordinates`` are ``(longitude_deg, latitude_deg)`` pairs along the
    trace (GeoJSON order); ``dip_deg`` in [0, 90] and ``rake_deg`` in
    [-180, 360] (Aki & Richards convention; some catalogs use 0-360) when known.
    """

    name: str
    slip_type: str
    coordinates: tuple[tuple[float, float], ...]
    dip_deg: float | None = None
    rake_deg: float | None = None

    def __post_init__(self) -> None:
        label = f"fault {self.name or '(unnamed)'}"
        coords = tuple((longitude(f"{label} longitude", lon), latitude(f"{label} latitude", lat))
                       for lon, lat in self.coordinates)
        if len(coords) < 2:
            raise DomainError(f"{label}: a trace needs at least 2 points, got {len(coords)}")
        object.__setattr__(self, "coordinates", coords)
        if self.dip_deg is not None:
            dip = finite(f"{label} dip_deg", self.dip_deg)
            if not 0.0 <= dip <= 90.0:
                raise DomainError(f"{label} dip_deg: {dip!r} is outside [0, 90]")
            object.__setattr__(self, "dip_deg", dip)
        if self.rake_deg is not None:
            rake = finite(f"{label} rake_deg", self.rake_deg)
            if not -180.0 <= rake <= 360.0:
                raise DomainError(f"{label} rake_deg: {rake!r} is outside [-180, 360]")
            object.__setattr__(self, "rake_deg", rake)


@dataclass(frozen=True, slots=True)
class Bounds:
    """A geographic box in degrees (west/east longitudes, south/north latitudes)."""

    west_deg: float
    south_deg: float
    east_deg: float
    north_deg: float

    def __post_init__(self) -> None:
        longitude("bounds west_deg", self.west_deg)
        longitude("bounds east_deg", self.east_deg)
        latitude("bounds south_deg", self.south_deg)
        latitude("bounds north_deg", self.north_deg)
        if self.west_deg > self.east_deg or self.south_deg > self.north_deg:
            raise DomainError(f"bounds: west/south must not exceed east/north, got {self.as_tuple()}")

    def as_tuple(self) -> tuple[float, float, float, float]:
        return (self.west_deg, self.south_deg, self.east_deg, self.north_deg)

    def contains(self, latitude_deg: float, longitude_deg: float) -> bool:
        return self.south_deg <= latitude_deg <= self.north_deg and self.west_deg <= longitude_deg <= self.east_deg

    @classmethod
    def around(cls, points: "list[tuple[float, float]]") -> "Bounds | None":
        """Smallest box holding ``(longitude_deg, latitude_deg)`` points; ``None`` for no points."""
        if not points:
            return None
        lons = [p[0] for p in points]
        lats = [p[1] for p in points]
        return cls(min(lons), min(lats), max(lons), max(lats))


@dataclass(frozen=True, slots=True)
class RegionProfile:
    """Everything Tianshan knows about a region.

    ``source`` says where it came from (a folder, ``builtin:demo``) and
    ``skipped`` counts corrupt optional records left out while reading
    (e.g. ``(("faults", 2),)``); neither takes part in equality.
    ``bounds`` defaults to the box around stations, places and faults.
    """

    name: str
    stations: tuple[Station, ...]
    velocity_model: VelocityModel
    places: tuple[Place, ...] = ()
    faults: tuple[Fault, ...] = ()
    vs30_path: Path | None = None
    exposure_path: Path | None = None
    source: str = field(default="", compare=False)
    bounds: Bounds | None = None
    skipped: tuple[tuple[str, int], ...] = field(default=(), compare=False)

    def __post_init__(self) -> None:
        if not self.name:
            raise DomainError("region name: must not be empty")
        for name in ("stations", "places", "faults", "skipped"):
            object.__setattr__(self, name, tuple(getattr(self, name)))
        if not self.stations:
            raise DomainError(f"region {self.name!r}: no stations")
        check_unique_streams(self.stations)
        for name in ("vs30_path", "exposure_path"):
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, Path(value))
        if self.bounds is None:
            pts = [(s.longitude_deg, s.latitude_deg) for s in self.stations]
            pts += [(p.longitude_deg, p.latitude_deg) for p in self.places]
            pts += [c for f in self.faults for c in f.coordinates]
            object.__setattr__(self, "bounds", Bounds.around(pts))

    @property
    def channel_count(self) -> int:
        return sum(len(s.channels) for s in self.stations)

    def population_by_kind(self) -> dict[str, int]:
        """Sum of known populations per place kind."""
        out: dict[str, int] = {}
        for p in self.places:
            if p.population is not None:
                out[p.kind] = out.get(p.kind, 0) + p.population
        return out

    @property
    def total_population(self) -> int:
        """Population of the region: the sum over ``county`` places when there are any
        (they partition the region), else the sum over all places with a known population
        (which then may overlap, so it is a rough figure)."""
        by_kind = self.population_by_kind()
        if any(p.kind == "county" for p in self.places):
            return by_kind.get("county", 0)
        return sum(by_kind.values())

    def summary(self) -> dict[str, Any]:
        """Counts and extents, JSON-serialisable (used by ``tianshan region check``)."""
        kinds: dict[str, int] = {}
        for p in self.places:
            kinds[p.kind] = kinds.get(p.kind, 0) + 1
        networks = sorted({s.network for s in self.stations})
        vm = self.velocity_model
        b = self.bounds
        return {
            "name": self.name,
            "source": self.source,
            "stations": len(self.stations),
            "simulated_stations": sum(1 for s in self.stations if s.simulated),
            "networks": networks,
            "channels": self.channel_count,
            "channels_with_gain": sum(1 for s in self.stations for c in s.channels if c.gain is not None),
            "velocity_model": vm.name,
            "velocity_layers": len(vm.layers),
            "moho_km": None if vm.moho_m is None else vm.moho_m / 1000.0,
            "places": len(self.places),
            "places_by_kind": kinds,
            "places_with_population": sum(1 for p in self.places if p.population is not None),
            "population_by_kind": self.population_by_kind(),
            "total_population": self.total_population,
            "faults": len(self.faults),
            "fault_length_km": round(sum(_trace_length_km(f.coordinates) for f in self.faults), 1),
            "vs30_path": None if self.vs30_path is None else str(self.vs30_path),
            "exposure_path": None if self.exposure_path is None else str(self.exposure_path),
            "bbox": None if b is None else list(b.as_tuple()),
            "skipped": dict(self.skipped),
        }


#: Mean Earth radius (IUGG, Moritz 2000), metres.
EARTH_RADIUS_M = 6_371_008.8


def haversine_m(lat1_deg: float, lon1_deg: float, lat2_deg: float, lon2_deg: float) -> float:
    """Great-circle distance on a sphere of radius :data:`EARTH_RADIUS_M` (haversine formula,
    Sinnott 1984, Sky & Telescope 68(2):159), metres. Tested against pyproj's ellipsoidal
    distance to 0.5 %."""
    p1, p2 = math.radians(lat1_deg), math.radians(lat2_deg)
    dp = p2 - p1
    dl = math.radians(lon2_deg - lon1_deg)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))


def _trace_length_km(coords: tuple[tuple[float, float], ...]) -> float:
    return sum(haversine_m(a[1], a[0], b[1], b[0]) for a, b in zip(coords, coords[1:])) / 1000.0

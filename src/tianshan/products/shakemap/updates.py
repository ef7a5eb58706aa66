"""Dynamic updates of an intensity map: when is a new map version due?

ShakeMap re-runs an event's map whenever its inputs change; most changes (a pick revision, one
more distant station) do not move the map. :class:`MapVersioner` keeps what the last
*published* version was built from (:class:`MapBasis`) and says a new version is due
(:class:`VersionDecision`) when any of these holds (:class:`VersionRules`, defaults):

* **no version yet** -- the first origin gives version 1 (the model-only map);
* **origin moved**: the hypocentre moved more than ``origin_shift_km`` (5 km), measured as the
  straight-line distance between the two hypocentres (great-circle epicentral distance on the
  6371.0088 km sphere combined with the depth change) -- about the grid's resolution of
  30 arc seconds scaled to the near-source gradient of a M 5-6 map;
* **magnitude changed** by ``magnitude_change`` (0.2) or more: a 0.2 change moves the median
  motion of the ground-motion models by 15-30 % near the source;
* **new records**: at least ``new_records`` (5) station records whose station was not in the
  basis of the last version (a station already used whose record is revised does not count:
  its identity is the key).

The decision is pure (:meth:`MapVersioner.decide` does not change the state);
:meth:`MapVersioner.published` records that a version was built (the caller builds it, e.g.
with :func:`.build.build_map`, and stores its products). Subscribing to the real-time bus is
not part of this module.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterable

from tianshan.core.errors import InputError

__all__ = ["VersionRules", "MapBasis", "VersionDecision", "MapVersioner"]

_R_KM = 6371.0088


@dataclass(frozen=True, slots=True)
class VersionRules:
    """Thresholds of a new map version (module docstring)."""

    origin_shift_km: float = 5.0
    magnitude_change: float = 0.2
    new_records: int = 5

    def __post_init__(self) -> None:
        if not (self.origin_shift_km > 0 and self.magnitude_change > 0 and int(self.new_records) >= 1):
            raise InputError("thresholds must be > 0 (new_records >= 1)", field="VersionRules")


@dataclass(frozen=True, slots=True)
class MapBasis:
    """What a map version is built from: hypocentre, magnitude and the stations with records."""

    latitude_deg: float
    longitude_deg: float
    depth_m: float
    magnitude: float
    station_ids: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        for name in ("latitude_deg", "longitude_deg", "depth_m", "magnitude"):
            if not math.isfinite(float(getattr(self, name))):
                raise InputError(f"must be finite, got {getattr(self, name)!r}", field=name)
        object.__setattr__(self, "station_ids", frozenset(str(s).upper() for s in self.station_ids))

    def distance_km(self, other: "MapBasis") -> float:
        """Hypocentre-to-hypocentre distance (km; module docstring)."""
        p1, p2 = math.radians(self.latitude_deg), math.radians(other.latitude_deg)
        dp, dl = p2 - p1, math.radians(other.longitude_deg - self.longitude_deg)
        a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
        epi = 2 * _R_KM * math.asin(min(1.0, math.sqrt(a)))
        return math.hypot(epi, (other.depth_m - self.depth_m) / 1000.0)


@dataclass(frozen=True, slots=True)
class VersionDecision:
    """``due``: build a new version, numbered ``version``; ``reasons``: why (empty when not due)."""

    due: bool
    version: int
    reasons: tuple[str, ...] = ()


class MapVersioner:
    """Decides when an event's map needs a new version (module docstring)."""

    def __init__(self, rules: VersionRules = VersionRules()) -> None:
        self.rules = rules
        self.history: list[MapBasis] = []

    @property
    def version(self) -> int:
        """The last published version (0 before the first)."""
        return len(self.history)

    def decide(self, basis: MapBasis) -> VersionDecision:
        """Whether ``basis`` calls for a new version (does not change the state)."""
        if not self.history:
            return VersionDecision(True, 1, ("first version",))
        last = self.history[-1]
        r = self.rules
        reasons = []
        moved = last.distance_km(basis)
        if moved > r.origin_shift_km:
            reasons.append(f"origin moved {moved:.1f} km (> {r.origin_shift_km:g} km)")
        dm = abs(basis.magnitude - last.magnitude)
        if dm >= r.magnitude_change - 1e-9:
            reasons.append(f"magnitude changed by {dm:.2f} (>= {r.magnitude_change:g})")
        new = len(basis.station_ids - last.station_ids)
        if new >= r.new_records:
            reasons.append(f"{new} new station records (>= {r.new_records})")
        if reasons:
            return VersionDecision(True, self.version + 1, tuple(reasons))
        return VersionDecision(False, self.version)

    def published(self, basis: MapBasis) -> int:
        """Record that a version was built from ``basis``; returns its number."""
        self.history.append(basis)
        return self.version

    def offer(self, latitude_deg: float, longitude_deg: float, depth_m: float, magnitude: float,
              station_ids: Iterable[str] = ()) -> VersionDecision:
        """:meth:`decide` on the given inputs and, when due, :meth:`published` (for callers that
        build the version right away)."""
        basis = MapBasis(latitude_deg, longitude_deg, depth_m, magnitude, frozenset(station_ids))
        d = self.decide(basis)
        if d.due:
            self.published(basis)
        return d

"""Predicted arrivals at the network's stations, for the event tracker.

Three uses of one idea -- where and when a known hypocentre's P and S waves reach the stations:

* :class:`ArrivalFitter` tells which new picks fit an open event's latest origin (the
  ``scautoloc`` way of handling an incoming pick: try it against the known origins first,
  SeisComP documentation, https://www.seiscomp.de/doc/apps/scautoloc.html). Travel times come from
  the locator's tables (:class:`tianshan.events.locate.traveltimes.StationTravelTimes`: first
  arrivals in the layered model, station elevation included) on a 2-km grid.
* :func:`nearest_fraction`: which share of the stations nearest an epicentre picked its P wave.
* :func:`warm_up_tables`: builds the tables location and association will need before the first
  event (they take about a second each to build).

Distances are great circles on a 6371-km sphere (haversine formula; R. W. Sinnott, "Virtues of the
haversine", Sky and Telescope 68(2), 159, 1984), as in the locator.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Iterable, Mapping, Sequence

from tianshan.core.origin import Origin
from tianshan.core.pick import Pick
from tianshan.core.station import Station
from tianshan.core.velocity import VelocityModel

EARTH_RADIUS_M = 6_371_000.0


def haversine_m(lat0: float, lon0: float, lat, lon):
    """Great-circle distances (m) from one point to arrays of points (haversine formula)."""
    import numpy as np

    p1, p2 = np.radians(lat0), np.radians(np.asarray(lat, dtype=float))
    dlon = np.radians(np.asarray(lon, dtype=float) - lon0)
    a = np.sin((p2 - p1) / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dlon / 2) ** 2
    return 2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))


def phase_family(phase: str) -> str | None:
    """``"P"`` / ``"S"`` / ``None``: the associator's reading of a phase name."""
    from tianshan.events.associate import phase_family as family

    return family(phase)


@dataclass(frozen=True)
class Candidate:
    """An open event as the fitter sees it: its latest origin and the (station, P/S) it already has."""

    key: str
    rank: int                         # ties go to the smaller rank (the older event)
    origin: Origin
    have: frozenset


class ArrivalFitter:
    """Which picks fit which origins (see the module docstring).

    ``stations``: the network (``NET.STA`` -> station); ``tolerance_s``: largest |observed -
    predicted| arrival time; ``reach_m``: farthest station from the epicentre (``None``: any);
    ``depth_max_m``: deepest source tabulated.
    """

    def __init__(self, stations: Mapping[str, Station], model: VelocityModel, tolerance_s: float,
                 reach_m: float | None, depth_max_m: float) -> None:
        self.stations = stations
        self.model = model
        self.tolerance_s = float(tolerance_s)
        self.reach_m = reach_m
        self.depth_max_m = float(depth_max_m)
        self._tt = None

    @property
    def tables(self):
        if self._tt is None:
            from tianshan.events.locate.traveltimes import StationTravelTimes

            datum = max(0.0, max(st.elevation_m for st in self.stations.values()))
            extent = (self.reach_m or 1_000_000.0) + 50_000.0
            self._tt = StationTravelTimes(self.model, datum, self.depth_max_m, extent,
                                          depth_step_m=2_000.0, distance_step_m=2_000.0)
        return self._tt

    def best(self, picks: Sequence[Pick], candidates: Iterable[Candidate]) -> dict[str, list[int]]:
        """Candidate key -> indexes of the ``picks`` it takes.

        Each pick goes to the candidate it fits best (smallest |residual|, ties: smaller rank); a
        candidate takes at most one pick per station and phase family (the best fitting), none of a
        station and family it already has.
        """
        import numpy as np

        if not picks:
            return {}
        tt = self.tables
        fams = [phase_family(p.phase) for p in picks]
        sts = [self.stations[p.stream_id.station_id] for p in picks]
        lat = np.array([s.latitude_deg for s in sts])
        lon = np.array([s.longitude_deg for s in sts])
        elev = np.array([s.elevation_m for s in sts])
        best: dict[int, tuple[float, int, str]] = {}
        for c in candidates:
            o = c.origin
            dist = haversine_m(o.latitude_deg, o.longitude_deg, lat, lon)
            depth = min(max(o.depth_m, -tt.datum_m), self.depth_max_m)
            for fam in ("P", "S"):
                idx = [i for i, f in enumerate(fams) if f == fam and (self.reach_m is None or dist[i] <= self.reach_m)
                       and (picks[i].stream_id.station_id, fam) not in c.have]
                if not idx:
                    continue
                pred = tt.times(fam, depth, dist[idx], elev[idx])
                for i, t in zip(idx, pred):
                    r = abs((picks[i].time - o.time).total_seconds() - float(t))
                    if np.isfinite(r) and r <= self.tolerance_s and (i not in best or (r, c.rank) < best[i][:2]):
                        best[i] = (r, c.rank, c.key)
        slots: dict[str, dict[tuple[str, str], tuple[float, int]]] = {}
        for i, (r, _, key) in best.items():
            slot = slots.setdefault(key, {})
            k = (picks[i].stream_id.station_id, fams[i])
            if k not in slot or r < slot[k][0]:
                slot[k] = (r, i)
        return {key: sorted(i for _, i in slot.values()) for key, slot in slots.items()}


def nearest_fraction(origin: Origin, p_stations: set[str], stations: Mapping[str, Station]) -> float:
    """Share of the ``n`` stations nearest the epicentre that are in ``p_stations`` (``n`` = its size)."""
    import numpy as np

    n = len(p_stations)
    if n == 0:
        return 0.0
    ids = list(stations)
    dist = haversine_m(origin.latitude_deg, origin.longitude_deg, [stations[s].latitude_deg for s in ids],
                       [stations[s].longitude_deg for s in ids])
    nearest = [ids[k] for k in np.argsort(dist, kind="stable")[:n]]
    return sum(1 for s in nearest if s in p_stations) / n


def warm_up_tables(stations: Sequence[Station], model: VelocityModel, reach_m: float | None, locate_config,
                   associator_config, fitter: ArrivalFitter | None = None,
                   max_table_distance_m: float | None = None) -> None:
    """Build the tables the locator, the fitter and PyOcto will need (see the tracker's ``warm_up``).

    The locator tabulates travel times per search extent, rounded up to 100 km
    (:class:`tianshan.events.locate.traveltimes.StationTravelTimes`): the distance from its search
    centre (the first-picked station) to the farthest picked station, plus the box half-width (that
    distance clamped to 50-500 km) times sqrt(2), plus 10 km (:func:`tianshan.events.locate.locate`).
    Declarations have a few stations within R = ``reach_m`` of the source, so extents up to
    ``R + sqrt(2) min(R, 500 km) + 10 km`` (734 km for R = 300 km; 800 km without R;
    ``max_table_distance_m`` overrides it) are built, smallest first, with the locator's datum and
    depth range; the larger extents of big events (up to ``2R + sqrt(2) min(2R, 500 km)``) are built
    when first needed. PyOcto's table is written by one association of a few synthetic picks.
    """
    from tianshan.core.ids import StreamID
    from tianshan.events.associate import associate_picks
    from tianshan.events.locate import LocateConfig
    from tianshan.events.locate.traveltimes import StationTravelTimes

    cfg = locate_config or LocateConfig()
    top = max(st.elevation_m for st in stations)
    datum = cfg.datum_m if cfg.datum_m is not None else max(0.0, math.ceil(top / 500.0) * 500.0)
    if max_table_distance_m is None:
        max_table_distance_m = (800_000.0 if reach_m is None
                                else reach_m + math.sqrt(2.0) * min(reach_m, 500_000.0) + 10_000.0)
    t0 = datetime(2000, 1, 1, tzinfo=timezone.utc)
    picks = [Pick(StreamID(st.network, st.code, "", "HHZ"), t0 + timedelta(seconds=k), "P", id=f"warm-up/{k}")
             for k, st in enumerate(list(stations)[:6])]
    associate_picks(picks, stations, model, associator_config)
    x = 100_000.0
    while x < max_table_distance_m + 100_000.0:
        tt = StationTravelTimes(model, datum, cfg.depth_max_m, x - 1.0, cfg.earth_radius_m,
                                cfg.table_depth_step_m, cfg.table_distance_step_m)
        tt.table("P")
        tt.table("S")
        x += 100_000.0
    if fitter is not None:
        fitter.tables.table("P")
        fitter.tables.table("S")

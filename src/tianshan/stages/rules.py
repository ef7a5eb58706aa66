"""Rules of the real-time event tracker: when picks become an event, change it, and close it.

The rules follow SeisComP's real-time chain, where ``scautoloc`` forms origins from picks and
``scevent`` groups origins into events (SeisComP documentation, https://www.seiscomp.de/doc/apps/
scautoloc.html and https://www.seiscomp.de/doc/apps/scevent.html):

* ``scautoloc`` publishes an origin only when it has enough phases (``autoloc.minPhaseCount``;
  the SeisComP3 FAQ "How to set the minimum number of phases required to perform an automatic
  location?" gives 8 as the configured default and 6 as the hard-coded floor, for networks of
  P-only pickers) and passes its quality control (``autoloc.maxRMS``, ``autoloc.maxDepth``);
  incoming picks are tried against the known origins first, and picks that fit a larger origin's
  phases are not used to form a new one. Here a denser network and a 2-s first-origin target ask
  for fewer phases: :attr:`EventRules.min_stations` (5) stations with a P pick, the other gates
  being those of the batch screen (:mod:`tianshan.events.screen`), with the same defaults.
* ``scevent`` associates an origin with an event when they share picks (by id,
  ``eventAssociation.minimumMatchingArrivals``) and keeps one event id for all origins of one
  earthquake. Here the same pick-id matching links each new association to the open events.

Every rule in one place (:class:`EventRules`):

**Declaration.** An association (PyOcto, :func:`tianshan.events.associate.associate_picks`, run
with P-only thresholds: ``min_s_picks = min_p_and_s_stations = 0`` by default, stations within
``max_station_distance_m`` (300 km) of a candidate source -- scautoloc's per-region "maximum
station distance" of its nucleation grid -- and PyOcto's ``min_pick_fraction`` = 0.5) becomes an
event when

* it has at least ``min_stations`` stations with a P pick;
* its location (:func:`tianshan.events.locate.locate`) succeeds with RMS <= ``max_rms_s``,
  semi-major axis of the 68 % ellipse <= ``max_semi_major_m`` and depth <= ``max_depth_m``;
* of the ``n`` network stations nearest its epicentre (``n`` = its P stations), at least
  ``min_nearest_fraction`` (0.6) have a P pick in it: a real event is picked first where it is
  closest, picks fitting a hypocentre by chance are scattered (measured on a 200-station
  network with 1.7 false picks/s: without this check noise made an event with 8 picks, RMS
  0.08 s and a 14-km ellipse within the first minute; with it, none);
* at most ``max_explained_fraction`` of its picks (the screen's setting) lie in the wave train
  of a larger open or recently finalised event (:func:`tianshan.events.screen.explained_fraction`;
  ``explain=False`` turns this off).

**Update.** An open event whose association gained picks (a new station or phase) takes the
association's picks and is relocated; the new origin becomes its next version (at most one per
update) when it passes the quality gates. Picks the associator leaves out in a later pass stay
with the event unless another association holds them, so an event's versions never flap between
two pick sets; the final pass gives it exactly its association's picks.

An update relocates with the picks of at most ``update_max_stations`` (40) stations, those
nearest the event's latest epicentre (the event keeps all its picks): the relocation of a
190-station event costs 2-5 s of CPU (EDT pair terms grow with the square of the picks) and
holds back the declaration of any other event meanwhile (200-station benchmark,
``benchmarks/RESULTS.md``), while the nearest 40 stations already fix the epicentre; the final
pass locates with every pick.

**Merge / split.** An association holding picks of several open events keeps the oldest
(earliest declared) event's id; the others are ``merged`` (type "not existing"). When an open
event's picks fall into several associations, the one holding most of them keeps the id; the
others are new events if they pass the declaration rule (kind ``split``).

**Final.** ``final_after_s`` (240 s) of data time after the origin time, and no new pick for
``quiet_s`` (30 s) of data time, the event is relocated once more with all its picks and judged
by the batch screen (:func:`tianshan.events.screen.screen_events`): it is ``final`` or
``cancelled``. 240 s covers the S wave across 800 km (the S-P time grows ~0.12 s/km in the
Xinjiang model), so regional stations have had their say.

**Pick pool.** Picks of the last ``pool_s`` (600 s) data seconds before the clock take part;
older ones are dropped (an open event keeps its own). New picks are associated together with
the pool picks within ``window_s`` (120 s) of them (and the whole of every open event reaching
into that window), which bounds the work per update on a large network. Picks timed more than
``max_future_s`` (60 s) after the wall time they were received are dropped (clock errors).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields

from tianshan.core.errors import InputError


@dataclass(frozen=True, slots=True)
class EventRules:
    """Thresholds and windows of :class:`tianshan.stages.tracker.EventTracker` (module docstring)."""

    min_stations: int = 5
    max_rms_s: float | None = 1.5
    max_semi_major_m: float | None = 50_000.0
    max_depth_m: float | None = 300_000.0
    explain: bool = True
    min_s_picks: int = 0
    min_p_and_s_stations: int = 0
    max_station_distance_m: float | None = 300_000.0
    min_pick_fraction: float = 0.5
    min_nearest_fraction: float = 0.6
    final_after_s: float = 240.0
    quiet_s: float = 30.0
    pool_s: float = 600.0
    window_s: float = 120.0
    max_future_s: float = 60.0
    update_max_stations: int | None = 40

    def __post_init__(self) -> None:
        for name in ("min_stations", "min_s_picks", "min_p_and_s_stations"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 0:
                raise InputError(f"must be a non-negative integer, got {v!r}", field=name)
        if self.min_stations < 3:
            raise InputError(f"must be >= 3 (a hypocentre and origin time need 4 phases), got {self.min_stations}",
                             field="min_stations")
        if not isinstance(self.explain, bool):
            raise InputError(f"must be true or false, got {self.explain!r}", field="explain")
        if self.update_max_stations is not None and (
                isinstance(self.update_max_stations, bool) or not isinstance(self.update_max_stations, int)
                or self.update_max_stations < self.min_stations):
            raise InputError(f"must be an integer >= min_stations ({self.min_stations}) or None (no limit), "
                             f"got {self.update_max_stations!r}", field="update_max_stations")
        optional = ("max_rms_s", "max_semi_major_m", "max_depth_m", "max_station_distance_m", "update_max_stations")
        for f in fields(self):
            if f.name in ("min_stations", "min_s_picks", "min_p_and_s_stations", "explain"):
                continue
            v = getattr(self, f.name)
            if v is None and f.name in optional:
                continue
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v < 0:
                raise InputError(f"must be a finite number >= 0, got {v!r}", field=f.name)
        for name in ("min_pick_fraction", "min_nearest_fraction"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise InputError(f"must be within [0, 1], got {getattr(self, name)!r}", field=name)
        if self.max_station_distance_m is not None and self.max_station_distance_m <= 0:
            raise InputError("must be > 0 (or None: no limit)", field="max_station_distance_m")
        if self.window_s <= 0:
            raise InputError("must be > 0", field="window_s")
        if self.pool_s < self.final_after_s + self.quiet_s:
            raise InputError(f"must be >= final_after_s + quiet_s ({self.final_after_s + self.quiet_s:g} s) so an "
                             f"open event's picks are still pooled when it closes, got {self.pool_s:g}",
                             field="pool_s")

"""Settings of the phase associator (PyOcto, Münchmeyer 2024), SI units."""

from __future__ import annotations

import math
from dataclasses import dataclass

from tianshan.core.errors import InputError


@dataclass(frozen=True, slots=True)
class AssociatorConfig:
    """How picks are grouped into events.

    Thresholds an event must meet (PyOcto's ``n_picks``, ``n_p_picks``, ``n_s_picks``,
    ``n_p_and_s_picks``, plus ``min_stations`` applied after association):

    * ``min_picks`` (6): picks of any phase;
    * ``min_p_picks`` (3) / ``min_s_picks`` (2): P and S picks;
    * ``min_p_and_s_stations`` (1): stations with both a P and an S pick;
    * ``min_stations`` (4): distinct stations (events below it are dropped and their
      picks reported as unassociated).

    Search volume: the stations' bounding box (in an azimuthal equidistant projection
    centred on it) widened by ``margin_m`` (100 km) on each side, from 0 m (sea level)
    down to ``max_depth_m`` (80 km). Travel times come from the region's 1-D model on a
    ``table_spacing_m`` grid (``None``: 1 km, or coarser so the table has at most 3000
    distance nodes).

    Search and matching (PyOcto's parameters, Münchmeyer 2024, sec. 2):

    * ``tolerance_s`` (2.0): slack added on both sides of a node's travel-time window; it
      absorbs model errors and the projection's distance distortion (< 0.5 % within
      1000 km of the centre);
    * ``pick_match_tolerance_s`` (1.5): largest |observed - predicted| for a pick to join
      an event in the refinement step;
    * ``min_node_size_m`` (10 km) / ``min_node_size_location_m`` (1.5 km): smallest
      octree cell for association / location;
    * ``min_interevent_time_s`` (3.0): two events closer in time are merged;
    * ``max_pick_overlap`` (4): picks two events may share (only at time-slice seams);
    * ``min_pick_fraction`` (0.25): picks at a station are dropped when fewer than this
      fraction of the closer stations picked the event (guards large networks against
      spurious far-away groups);
    * ``refinement_iterations`` (3);
    * ``location_split_depth`` (6) / ``location_split_return`` (4): PyOcto's location search depth; the
      defaults are PyOcto's. On the 20-event XJ test catalogue 10 / 6 removed the one 170-km mislocation of
      an event outside the network (3.5 x the run time); the locator refines every origin anyway;
    * ``max_distance_m`` (``None``: no limit): only stations within this distance of a
      candidate cell take part in the association;
    * ``time_before_s`` (``None``: the S travel time across the volume's diagonal, capped by
      ``max_distance_m``) and ``time_slicing_s`` (1200 s, raised to 3 x ``time_before_s``
      if smaller): PyOcto processes the picks in overlapping time blocks;
    * ``merge_window_s`` (5 s) / ``merge_distance_m`` (100 km): two events closer than both, with no
      station-phase in common, are one event that PyOcto split (:mod:`tianshan.events.associate.merge`);
      ``merge_window_s = 0`` turns merging off;
    * ``n_threads`` (1): PyOcto worker threads (one by default: the catalogue builder
      parallelises over chunks, and results do not depend on thread scheduling).
    """

    min_picks: int = 6
    min_p_picks: int = 3
    min_s_picks: int = 2
    min_p_and_s_stations: int = 1
    min_stations: int = 4
    margin_m: float = 100_000.0
    max_depth_m: float = 80_000.0
    table_spacing_m: float | None = None
    tolerance_s: float = 2.0
    pick_match_tolerance_s: float = 1.5
    min_node_size_m: float = 10_000.0
    min_node_size_location_m: float = 1_500.0
    min_interevent_time_s: float = 3.0
    max_pick_overlap: int = 4
    min_pick_fraction: float = 0.25
    refinement_iterations: int = 3
    location_split_depth: int = 6
    location_split_return: int = 4
    max_distance_m: float | None = None
    time_before_s: float | None = None
    time_slicing_s: float = 1200.0
    merge_window_s: float = 5.0
    merge_distance_m: float = 100_000.0
    n_threads: int = 1

    def __post_init__(self) -> None:
        for name in ("min_picks", "min_p_picks", "min_s_picks", "min_p_and_s_stations", "min_stations",
                     "max_pick_overlap", "refinement_iterations", "n_threads", "location_split_depth",
                     "location_split_return"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 0:
                raise InputError(f"must be a non-negative integer, got {v!r}", field=name)
        if self.n_threads < 1 or self.refinement_iterations < 1:
            raise InputError("n_threads and refinement_iterations must be >= 1", field="n_threads")
        positive = ("max_depth_m", "tolerance_s", "pick_match_tolerance_s", "min_node_size_m",
                    "min_node_size_location_m", "time_slicing_s")
        optional_positive = ("table_spacing_m", "max_distance_m", "time_before_s")
        for name in positive + optional_positive:
            v = getattr(self, name)
            if v is None and name in optional_positive:
                continue
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v <= 0:
                raise InputError(f"must be a finite number > 0, got {v!r}", field=name)
        for name in ("margin_m", "min_interevent_time_s", "merge_window_s", "merge_distance_m"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v < 0:
                raise InputError(f"must be a finite number >= 0, got {v!r}", field=name)
        if self.location_split_return >= self.location_split_depth:
            raise InputError("must be smaller than location_split_depth", field="location_split_return")
        if not 0.0 <= self.min_pick_fraction <= 1.0:
            raise InputError(f"must be within [0, 1], got {self.min_pick_fraction!r}", field="min_pick_fraction")
        if self.min_node_size_location_m > self.min_node_size_m:
            raise InputError("must not exceed min_node_size_m", field="min_node_size_location_m")

"""Settings of the probabilistic locator (all SI: metres, seconds)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import Enum

from tianshan.core.errors import InputError

__all__ = ["Likelihood", "LocateConfig"]


class Likelihood(str, Enum):
    """Likelihood function of the arrival times (see :mod:`tianshan.events.locate.likelihood`)."""

    EDT = "edt"     # equal differential time (robust; NonLinLoc LOCMETH EDT)
    EDT_OT = "edt_ot"   # EDT with origin-time weighting (NonLinLoc LOCMETH EDT_OT_WT)
    L2 = "l2"       # Gaussian, origin time integrated out (NonLinLoc LOCMETH GAU_ANALYTIC)


@dataclass(frozen=True, slots=True)
class LocateConfig:
    """How :func:`tianshan.events.locate.locate` searches.

    Errors. Each arrival's standard deviation is ``sqrt(pick^2 + model^2)``: ``pick`` is the
    pick's ``time_uncertainty_s`` (``default_pick_uncertainty_s`` when absent); ``model`` is
    ``model_error_s``, or, when ``model_error_fraction`` is set, that fraction of the travel
    time clipped to ``[model_error_min_s, model_error_max_s]`` (NonLinLoc ``LOCGAU`` and
    ``LOCGAU2``).

    Search box. Centred on (``center_lat_deg``, ``center_lon_deg``), default the station of
    the earliest pick; ``half_width_m`` east-west and north-south, default the distance to the
    farthest picked station clamped to 50-500 km; depths ``depth_min_m`` (default: minus the
    datum, i.e. the top of the highest station) to ``depth_max_m`` below sea level.
    ``max_station_distance_m`` drops stations farther than that from the box centre
    (NonLinLoc's ``maxDistStaGrid``).

    Oct-tree: ``initial_cells`` (x, y, z), ``max_evaluations``, ``min_cell_m``, ``batch``
    (:mod:`tianshan.events.locate.octree`).

    Travel times: ``earth_radius_m`` (``math.inf`` for a flat Earth, as NonLinLoc's
    Cartesian grids), table steps, ``datum_m`` (default: the highest station elevation
    rounded up to 500 m; see :mod:`tianshan.events.locate.traveltimes`).

    ``confidence`` of the ellipse and ellipsoid; ``scatter_samples`` posterior points drawn
    (seeded by ``seed``) into ``LocationResult.scatter``.
    """

    likelihood: Likelihood = Likelihood.EDT
    default_pick_uncertainty_s: float = 0.1
    model_error_s: float = 0.1
    model_error_fraction: float | None = None
    model_error_min_s: float = 0.05
    model_error_max_s: float = 2.0
    min_phases: int = 4
    center_lat_deg: float | None = None
    center_lon_deg: float | None = None
    half_width_m: float | None = None
    depth_min_m: float | None = None
    depth_max_m: float = 100_000.0
    max_station_distance_m: float | None = None
    initial_cells: tuple[int, int, int] = (10, 10, 6)
    max_evaluations: int = 6000
    min_cell_m: float = 50.0
    batch: int = 16
    earth_radius_m: float = 6_371_000.0
    table_depth_step_m: float = 1000.0
    table_distance_step_m: float = 1000.0
    datum_m: float | None = None
    confidence: float = 0.68
    scatter_samples: int = 0
    seed: int = 0

    def __post_init__(self) -> None:
        object.__setattr__(self, "likelihood", Likelihood(self.likelihood))
        positive = ("default_pick_uncertainty_s", "depth_max_m", "min_cell_m", "table_depth_step_m",
                    "table_distance_step_m", "earth_radius_m")
        for name in positive:
            v = getattr(self, name)
            if not (v > 0) or math.isnan(v):
                raise InputError(f"must be > 0, got {v!r}", field=name)
        for name in ("model_error_s", "model_error_min_s", "model_error_max_s"):
            if not getattr(self, name) >= 0:
                raise InputError(f"must be >= 0, got {getattr(self, name)!r}", field=name)
        if self.model_error_fraction is not None and not 0 <= self.model_error_fraction <= 1:
            raise InputError(f"must be within [0, 1], got {self.model_error_fraction!r}",
                             field="model_error_fraction")
        if (self.center_lat_deg is None) != (self.center_lon_deg is None):
            raise InputError("give both center_lat_deg and center_lon_deg, or neither", field="center")
        if self.half_width_m is not None and not self.half_width_m > 0:
            raise InputError(f"must be > 0, got {self.half_width_m!r}", field="half_width_m")
        if self.depth_min_m is not None and not self.depth_min_m < self.depth_max_m:
            raise InputError("must be below depth_max_m", field="depth_min_m")
        if int(self.min_phases) < 3:
            raise InputError(f"must be >= 3, got {self.min_phases!r}", field="min_phases")
        if len(self.initial_cells) != 3 or min(self.initial_cells) < 1:
            raise InputError(f"need three counts >= 1, got {self.initial_cells!r}", field="initial_cells")
        if int(self.max_evaluations) < 1 or int(self.batch) < 1:
            raise InputError("max_evaluations and batch must be >= 1", field="max_evaluations")
        if not 0 < self.confidence < 1:
            raise InputError(f"must be within (0, 1), got {self.confidence!r}", field="confidence")


def config_from_nlloc(control, **overrides) -> LocateConfig:
    """A :class:`LocateConfig` following a parsed NonLinLoc control file
    (:class:`tianshan.io.nlloc.NllocControl`), with keyword ``overrides``.

    * ``LOCMETH`` ``GAU_ANALYTIC`` -> L2, ``EDT`` -> EDT, ``EDT_OT_WT*`` -> EDT with
      origin-time weighting; ``maxDistStaGrid`` and ``minNumberPhases`` as given;
    * ``LOCGAU SigmaTime`` -> ``model_error_s``; ``LOCGAU2`` (travel-time dependent) ->
      ``model_error_fraction/min/max``, which then replaces ``LOCGAU`` as NonLinLoc does;
    * ``TRANS`` other than ``GLOBAL`` -> flat Earth (NonLinLoc's rectangular grids); the
      first ``LOCGRID`` -> the search box, centred on the grid centre;
    * ``LOCSEARCH OCT`` -> initial cells, ``min_cell_m`` and ``max_evaluations``.
    """
    kw: dict = {}
    if control.method:
        m = control.method
        kw["likelihood"] = (Likelihood.L2 if m.startswith("GAU") else
                            Likelihood.EDT_OT if m.startswith("EDT_OT") else Likelihood.EDT)
    if control.max_dist_sta_grid_m is not None and control.max_dist_sta_grid_m > 0:
        kw["max_station_distance_m"] = control.max_dist_sta_grid_m
    if control.min_phases is not None and control.min_phases >= 3:
        kw["min_phases"] = control.min_phases
    if control.gau_sigma_s is not None:
        kw["model_error_s"] = control.gau_sigma_s
    if control.gau2 is not None:
        kw["model_error_fraction"], kw["model_error_min_s"], kw["model_error_max_s"] = control.gau2
    if control.trans and not control.is_global:
        kw["earth_radius_m"] = math.inf
    if control.grid_lower_m is not None and control.origin_lat_deg is not None:
        from tianshan.events.locate.geometry import aeqd_inverse

        lo, hi = control.grid_lower_m, control.grid_upper_m
        cx, cy = 0.5 * (lo[0] + hi[0]), 0.5 * (lo[1] + hi[1])
        lat, lon = aeqd_inverse(control.origin_lat_deg, control.origin_lon_deg, cx, cy)
        kw["center_lat_deg"], kw["center_lon_deg"] = float(lat), float(lon)
        kw["half_width_m"] = 0.5 * max(hi[0] - lo[0], hi[1] - lo[1])
        kw["depth_min_m"], kw["depth_max_m"] = lo[2], hi[2]
    if control.octree is not None:
        nx, ny, nz, min_node_km, max_nodes = control.octree
        kw["initial_cells"] = (max(int(nx), 1), max(int(ny), 1), max(int(nz), 1))
        kw["min_cell_m"] = max(min_node_km * 1000.0, 1.0)
        kw["max_evaluations"] = max(int(max_nodes), 1)
    kw.update(overrides)
    return LocateConfig(**kw)


def nlloc_grid_stations(stations, control) -> tuple:
    """The stations NonLinLoc can use with 2-D travel-time grids: those whose grid (reach
    ``control.grid2d_reach_m``) covers every corner of the ``LOCGRID`` search box; NonLinLoc
    finds no travel time for the others and drops their phases. Distances are taken in the
    azimuthal-equidistant frame about the ``TRANS`` origin (NonLinLoc's own projection, e.g.
    LAMBERT, differs from it by < 0.1 % within a few hundred km). All stations are returned
    when the control file has no such grids.
    """
    reach = control.grid2d_reach_m
    if reach is None or control.grid_lower_m is None or control.origin_lat_deg is None:
        return tuple(stations)
    from tianshan.events.locate.geometry import aeqd_forward

    lo, hi = control.grid_lower_m, control.grid_upper_m
    keep = []
    for st in stations:
        x, y = aeqd_forward(control.origin_lat_deg, control.origin_lon_deg, st.latitude_deg, st.longitude_deg)
        far = math.hypot(max(abs(float(x) - lo[0]), abs(float(x) - hi[0])),
                         max(abs(float(y) - lo[1]), abs(float(y) - hi[1])))
        if far <= reach:
            keep.append(st)
    return tuple(keep)

"""Phase association with PyOcto (Münchmeyer 2024) in a region's 1-D velocity model.

Method
------
PyOcto (J. Münchmeyer, "PyOcto: A high-throughput seismic phase associator",
Seismica 3(1), 2024, doi:10.26443/seismica.v3i1.1130) partitions space-time into an
octree of cells; a pick is consistent with a cell when its time lies between the earliest
and latest arrival from anywhere in the cell (plus a tolerance). Cells are split while they
hold enough consistent picks; at the minimum cell size a candidate event is located by an
EDT-like grid refinement and the picks within ``pick_match_tolerance`` of its predicted
times are assigned to it (sec. 2.1-2.2 of the paper). Travel times are PyOcto's
``VelocityModel1D`` tables, filled here by Tianshan's layered-model solver
(:mod:`tianshan.events.associate.tables`); station elevations enter through PyOcto's
elevation correction ``-z_station / v_surface`` with the model's top-layer Vp and Vs.

Coordinates: stations are projected with an azimuthal equidistant projection on the
travel-time sphere (R = 6371 km) centred on the stations' bounding box, so distances
from the centre are exact and other distances are stretched by < 0.5 % within 1000 km of
it (Snyder 1987, "Map projections: a working manual", USGS PP 1395, eq. 25-2 and p. 195);
the volume is that box plus ``AssociatorConfig.margin_m`` on each side.

The locations returned are PyOcto's preliminary ones (``Origin.method == "pyocto"``); the
locator (:mod:`tianshan.events.locate`) refines them.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from typing import Mapping, Sequence

import numpy as np

from tianshan.core.errors import InputError
from tianshan.core.origin import Arrival, Origin
from tianshan.core.pick import Pick
from tianshan.core.station import Station
from tianshan.core.timeutil import as_utc
from tianshan.core.velocity import VelocityModel
from tianshan.events.associate.config import AssociatorConfig
from tianshan.events.associate.geometry import azimuthal_gap_deg, sphere_dist_az
from tianshan.events.associate.merge import Candidate, merge_splits

#: Radius of the sphere the projection and the travel times use (m).
EARTH_RADIUS_M = 6_371_000.0
METHOD = "pyocto"


@dataclass(frozen=True, slots=True)
class Association:
    """One event found by the associator: its picks (sorted by time) and a preliminary origin."""

    picks: tuple[Pick, ...]
    origin: Origin


@dataclass(frozen=True)
class AssociationResult:
    """Everything :func:`associate_picks` produced.

    ``unassociated`` holds every input pick that belongs to no association (including the
    skipped ones); ``skipped`` counts the picks that could not take part at all, by reason
    (``"unknown_station"``: no such station in the list; ``"phase"``: neither P nor S).
    """

    associations: tuple[Association, ...]
    unassociated: tuple[Pick, ...]
    skipped: Mapping[str, int] = field(default_factory=dict)

    @property
    def n_associated_picks(self) -> int:
        return sum(len(a.picks) for a in self.associations)


def phase_family(phase: str) -> str | None:
    """``"P"`` or ``"S"`` for a pick's phase name (``Pg``, ``Pn``, ``p``, ``Sg``...), ``None`` otherwise."""
    text = phase.strip()
    if not text:
        return None
    first = text[0].upper()
    return first if first in ("P", "S") else None


@dataclass(frozen=True)
class _Geometry:
    """The projection and the search volume (km, as PyOcto wants)."""

    lat0: float
    lon0: float
    xlim_km: tuple[float, float]
    ylim_km: tuple[float, float]
    diagonal_m: float

    def transformer(self):
        from pyproj import CRS, Transformer

        crs = CRS.from_proj4(f"+proj=aeqd +lat_0={self.lat0} +lon_0={self.lon0} "
                             f"+R={EARTH_RADIUS_M:.0f} +units=km +no_defs")
        return Transformer.from_crs(CRS.from_epsg(4326), crs, always_xy=True)


def _geometry(stations: Sequence[Station], margin_m: float) -> _Geometry:
    lats = np.array([s.latitude_deg for s in stations])
    lons = np.array([s.longitude_deg for s in stations])
    lat0 = float((lats.min() + lats.max()) / 2)
    lon0 = float((lons.min() + lons.max()) / 2)
    g = _Geometry(lat0, lon0, (0.0, 0.0), (0.0, 0.0), 0.0)
    x, y = g.transformer().transform(lons, lats)
    m = margin_m / 1000.0
    xlim = (float(np.min(x)) - m, float(np.max(x)) + m)
    ylim = (float(np.min(y)) - m, float(np.max(y)) + m)
    diag = math.hypot(xlim[1] - xlim[0], ylim[1] - ylim[0]) * 1000.0
    return _Geometry(lat0, lon0, xlim, ylim, diag)


def _station_table(stations: Sequence[Station]) -> dict[str, Station]:
    """One entry per ``NET.STA`` (the first listed epoch)."""
    out: dict[str, Station] = {}
    for st in stations:
        out.setdefault(st.station_id, st)
    return out


def _spacing_m(config: AssociatorConfig, diagonal_m: float) -> float:
    if config.table_spacing_m is not None:
        return float(config.table_spacing_m)
    return max(1000.0, math.ceil(diagonal_m / 3000.0 / 500.0) * 500.0)


def _time_before_s(config: AssociatorConfig, model: VelocityModel, diagonal_m: float) -> float:
    """S travel time across the volume (or to ``max_distance_m``), from the surface and from the bottom."""
    if config.time_before_s is not None:
        return float(config.time_before_s)
    from tianshan.traveltime.layered import LayeredTravelTime

    solver = LayeredTravelTime(model, EARTH_RADIUS_M)
    dist = diagonal_m if config.max_distance_m is None else min(diagonal_m, config.max_distance_m)
    t = max(float(solver.first_arrival("S", z, [dist])[0][0]) for z in (0.0, config.max_depth_m))
    return t + config.tolerance_s


def _build_associator(config: AssociatorConfig, model: VelocityModel, geom: _Geometry, cache_dir):
    import pyocto

    from tianshan.events.associate.tables import pyocto_table

    spacing = _spacing_m(config, geom.diagonal_m)
    table = pyocto_table(model, geom.diagonal_m + 2 * spacing, config.max_depth_m + 2 * spacing, spacing,
                         cache_dir=cache_dir)
    top = model.layers[0]
    vm = pyocto.VelocityModel1D(
        str(table), tolerance=config.tolerance_s,
        association_cutoff_distance=None if config.max_distance_m is None else config.max_distance_m / 1000.0,
        surface_p_velocity=top.vp_m_s / 1000.0, surface_s_velocity=top.vs_m_s / 1000.0)
    time_before = _time_before_s(config, model, geom.diagonal_m)
    return pyocto.OctoAssociator(
        xlim=geom.xlim_km, ylim=geom.ylim_km, zlim=(0.0, config.max_depth_m / 1000.0), velocity_model=vm,
        time_before=time_before, min_node_size=config.min_node_size_m / 1000.0,
        min_node_size_location=config.min_node_size_location_m / 1000.0,
        pick_match_tolerance=config.pick_match_tolerance_s, min_interevent_time=config.min_interevent_time_s,
        max_pick_overlap=config.max_pick_overlap,
        n_picks=max(config.min_picks, config.min_p_picks + config.min_s_picks, 2 * config.min_p_and_s_stations),
        n_p_picks=max(config.min_p_picks, config.min_p_and_s_stations),
        n_s_picks=max(config.min_s_picks, config.min_p_and_s_stations),
        n_p_and_s_picks=config.min_p_and_s_stations, refinement_iterations=config.refinement_iterations,
        location_split_depth=config.location_split_depth, location_split_return=config.location_split_return,
        time_slicing=max(config.time_slicing_s, 3.0 * time_before), min_pick_fraction=config.min_pick_fraction,
        n_threads=config.n_threads)


def _origin(c: Candidate, picks: list[Pick], residuals: list[float], table: dict[str, Station],
            model: VelocityModel) -> Origin:
    st_lat = np.array([table[p.stream_id.station_id].latitude_deg for p in picks])
    st_lon = np.array([table[p.stream_id.station_id].longitude_deg for p in picks])
    dist, az = sphere_dist_az(c.latitude_deg, c.longitude_deg, st_lat, st_lon)
    arrivals = tuple(Arrival(pick_id=p.id, phase=p.phase, distance_deg=float(d), azimuth_deg=float(a),
                             time_residual_s=float(r), time_weight=1.0)
                     for p, d, a, r in zip(picks, dist, az, residuals))
    res = np.asarray(residuals, dtype=float)
    station_az = {p.stream_id.station_id: a for p, a in zip(picks, az)}
    return Origin(time=as_utc(c.time_s), latitude_deg=c.latitude_deg, longitude_deg=c.longitude_deg,
                  depth_m=c.depth_m, method=METHOD, earth_model=model.name,
                  arrivals=arrivals, rms_s=float(np.sqrt(np.mean(res**2))) if res.size else None,
                  azimuthal_gap_deg=azimuthal_gap_deg(list(station_az.values())),
                  phase_count=len(picks), station_count=len(station_az),
                  minimum_distance_deg=float(dist.min()) if dist.size else None)


def _resolve_shared(groups: dict[int, list[tuple[int, float]]]) -> dict[int, list[tuple[int, float]]]:
    """A pick assigned to several events (PyOcto allows a few at time-slice seams) stays only with the
    event that has the most picks (ties: the earlier event index)."""
    owner: dict[int, int] = {}
    for ev in sorted(groups, key=lambda e: (-len(groups[e]), e)):
        for pick_idx, _ in groups[ev]:
            owner.setdefault(pick_idx, ev)
    return {ev: [(i, r) for i, r in items if owner[i] == ev] for ev, items in groups.items()}


def _meets(config: AssociatorConfig, picks: list[Pick]) -> bool:
    fams = [phase_family(p.phase) for p in picks]
    stations = {p.stream_id.station_id for p in picks}
    p_st = {p.stream_id.station_id for p, f in zip(picks, fams) if f == "P"}
    s_st = {p.stream_id.station_id for p, f in zip(picks, fams) if f == "S"}
    return (len(picks) >= config.min_picks and fams.count("P") >= config.min_p_picks
            and fams.count("S") >= config.min_s_picks and len(p_st & s_st) >= config.min_p_and_s_stations
            and len(stations) >= config.min_stations)


def associate_picks(picks: Sequence[Pick], stations: Sequence[Station], model: VelocityModel,
                    config: AssociatorConfig | None = None, cache_dir=None) -> AssociationResult:
    """Group ``picks`` into events with PyOcto; see the module docstring for the method.

    ``stations``: where each pick's ``NET.STA`` is (latitude, longitude, elevation in m);
    ``model``: the region's 1-D velocity model (layer tops below sea level); ``config``: thresholds
    and search settings (:class:`AssociatorConfig`); ``cache_dir``: where travel-time tables are
    kept (default :func:`tianshan.events.associate.tables.default_cache_dir`).
    Returns associations sorted by origin time (picks in each sorted by time), the unassociated
    picks (input order) and counts of skipped picks. A pick is never in two associations.
    """
    import pandas as pd

    config = config or AssociatorConfig()
    picks = list(picks)
    table = _station_table(stations)
    if not table:
        raise InputError("no stations given", field="stations")
    skipped: Counter[str] = Counter()
    usable: list[int] = []
    fams: list[str] = []
    for i, p in enumerate(picks):
        fam = phase_family(p.phase)
        if p.stream_id.station_id not in table:
            skipped["unknown_station"] += 1
        elif fam is None:
            skipped["phase"] += 1
        else:
            usable.append(i)
            fams.append(fam)
    if not usable:
        return AssociationResult((), tuple(picks), dict(skipped))

    geom = _geometry(list(table.values()), config.margin_m)
    transformer = geom.transformer()
    used_ids = sorted({picks[i].stream_id.station_id for i in usable})
    sx, sy = transformer.transform([table[s].longitude_deg for s in used_ids],
                                   [table[s].latitude_deg for s in used_ids])
    station_df = pd.DataFrame({"id": used_ids, "x": np.asarray(sx, float), "y": np.asarray(sy, float),
                               "z": [-table[s].elevation_m / 1000.0 for s in used_ids]})
    order = sorted(range(len(usable)), key=lambda k: picks[usable[k]].time)
    pick_df = pd.DataFrame({"station": [picks[usable[k]].stream_id.station_id for k in order],
                            "time": [picks[usable[k]].time.timestamp() for k in order],
                            "phase": [fams[k] for k in order]})
    index_of = [usable[k] for k in order]           # row of pick_df -> index into picks

    associator = _build_associator(config, model, geom, cache_dir)
    events, assignments = associator.associate(pick_df, station_df)

    groups: dict[int, list[tuple[int, float]]] = {}
    if len(events):
        for ev, row, res in zip(assignments["event_idx"], assignments["pick_idx"], assignments["residual"]):
            groups.setdefault(int(ev), []).append((index_of[int(row)], float(res)))
    groups = _resolve_shared(groups)

    ev_rows = {int(r["idx"]): r for _, r in events.iterrows()} if len(events) else {}
    cands = []
    for ev in sorted(groups):
        if not groups[ev]:
            continue
        row = ev_rows[ev]
        lon, lat = transformer.transform(float(row["x"]), float(row["y"]), direction="INVERSE")
        cands.append(Candidate(float(row["time"]), float(np.clip(lat, -90.0, 90.0)),
                               float((lon + 180.0) % 360.0 - 180.0), max(float(row["z"]) * 1000.0, 0.0),
                               list(groups[ev])))
    cands = merge_splits(cands, picks, table, model, config.merge_window_s, config.merge_distance_m,
                         config.pick_match_tolerance_s)

    associations: list[Association] = []
    taken: set[int] = set()
    for c in cands:
        items = sorted(c.items, key=lambda ir: picks[ir[0]].time)
        ev_picks = [picks[i] for i, _ in items]
        if not _meets(config, ev_picks):
            continue
        origin = _origin(c, ev_picks, [r for _, r in items], table, model)
        associations.append(Association(tuple(ev_picks), origin))
        taken.update(i for i, _ in items)
    associations.sort(key=lambda a: a.origin.time)
    unassociated = tuple(p for i, p in enumerate(picks) if i not in taken)
    return AssociationResult(tuple(associations), unassociated, dict(skipped))


def associate(picks: Sequence[Pick], stations: Sequence[Station], model: VelocityModel,
              config: AssociatorConfig | None = None) -> list[Association]:
    """The events found in ``picks`` (see :func:`associate_picks`, which also returns the leftovers)."""
    return list(associate_picks(picks, stations, model, config).associations)

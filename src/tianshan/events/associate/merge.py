"""Merge events that PyOcto split in two.

PyOcto sometimes returns one earthquake as two candidate events a few seconds apart (each
located at a different depth, each holding part of the picks), when the first candidate's
coarse location leaves some of the picks outside ``pick_match_tolerance``. Two candidates
are the same event when their origin times differ by at most ``merge_window_s``, their
epicentres by at most ``merge_distance_m``, and they share no station-phase (two real
events that close would both be picked at the same stations). The candidate with more
picks is kept; each pick of the other joins it if its residual against the kept hypocentre,
computed with the same 1-D travel times PyOcto used (:mod:`tianshan.traveltime.layered`
plus the station-elevation term ``elevation / v_surface``), is within
``pick_match_tolerance_s``; the others become unassociated.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tianshan.core.pick import Pick
from tianshan.core.station import Station
from tianshan.core.velocity import VelocityModel
from tianshan.events.associate.geometry import sphere_dist_az

EARTH_RADIUS_M = 6_371_000.0


@dataclass
class Candidate:
    """A candidate event: hypocentre, origin time (POSIX s) and its picks as ``(index, residual_s)``."""

    time_s: float
    latitude_deg: float
    longitude_deg: float
    depth_m: float
    items: list[tuple[int, float]]


def _family(phase: str) -> str:
    return phase.strip()[0].upper()


def _station_phases(c: Candidate, picks: list[Pick]) -> set[tuple[str, str]]:
    return {(picks[i].stream_id.station_id, _family(picks[i].phase)) for i, _ in c.items}


def residuals_s(c: Candidate, pick_indices: list[int], picks: list[Pick], stations: dict[str, Station],
                model: VelocityModel, solver) -> np.ndarray:
    """Observed minus predicted time (s) of ``picks[pick_indices]`` for the hypocentre of ``c``."""
    out = np.empty(len(pick_indices))
    top = model.layers[0]
    for n, i in enumerate(pick_indices):
        p = picks[i]
        st = stations[p.stream_id.station_id]
        fam = _family(p.phase)
        dist_deg = float(sphere_dist_az(c.latitude_deg, c.longitude_deg, st.latitude_deg, st.longitude_deg)[0])
        tt = float(solver.first_arrival(fam, max(c.depth_m, 0.0), [np.radians(dist_deg) * EARTH_RADIUS_M])[0][0])
        tt += st.elevation_m / (top.vp_m_s if fam == "P" else top.vs_m_s)
        out[n] = p.time.timestamp() - (c.time_s + tt)
    return out


def merge_splits(cands: list[Candidate], picks: list[Pick], stations: dict[str, Station], model: VelocityModel,
                 window_s: float, distance_m: float, match_tolerance_s: float) -> list[Candidate]:
    """Merge split candidates (see the module docstring); returns the surviving candidates by time."""
    if window_s <= 0 or len(cands) < 2:
        return sorted(cands, key=lambda c: c.time_s)
    solver = None
    cands = sorted(cands, key=lambda c: c.time_s)
    merged = True
    while merged:
        merged = False
        for a_i, a in enumerate(cands):
            for b in cands[a_i + 1:]:
                if b.time_s - a.time_s > window_s:
                    break
                d_m = float(sphere_dist_az(a.latitude_deg, a.longitude_deg, b.latitude_deg,
                                            b.longitude_deg)[0]) * np.pi / 180.0 * EARTH_RADIUS_M
                if d_m > distance_m or _station_phases(a, picks) & _station_phases(b, picks):
                    continue
                keep, drop = (a, b) if len(a.items) >= len(b.items) else (b, a)
                if solver is None:
                    from tianshan.traveltime.layered import LayeredTravelTime

                    solver = LayeredTravelTime(model, EARTH_RADIUS_M)
                idx = [i for i, _ in drop.items]
                res = residuals_s(keep, idx, picks, stations, model, solver)
                keep.items.extend((i, float(r)) for i, r in zip(idx, res) if abs(r) <= match_tolerance_s)
                cands.remove(drop)
                merged = True
                break
            if merged:
                break
    return cands

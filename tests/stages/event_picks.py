"""Synthetic picks on the demo region for the event tracker and stage tests.

Theoretical first P and S arrivals (:class:`~tianshan.traveltime.layered.LayeredTravelTime` in the
region's model; the demo stations are at 0 m elevation) with Gaussian errors, at the stations within
``max_distance_m`` of the source; random false picks; and the order in which a streaming picker
delivers them (P ``p_delay_s``, S ``s_delay_s`` after the onset, as the streaming picker holds S
picks back until 20 s of data follow them).
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta, timezone

import numpy as np

from tianshan.core import Pick, StreamID
from tianshan.regions.demo import demo_region

T0 = datetime(2024, 5, 1, 12, 0, 0, tzinfo=timezone.utc)
WALL = datetime(2026, 1, 1, tzinfo=timezone.utc)
#: Sources with good station coverage in the demo's dense zone (Luntai-Korla): lat, lon, depth (m).
EAST = (41.8, 86.0, 10_000.0)
NORTH = (42.0, 85.5, 12_000.0)
WEST = (41.7, 84.6, 8_000.0)


def region():
    r = demo_region()
    return r.stations, r.velocity_model


def distance_m(lat1, lon1, lat2, lon2):
    """Haversine distance on a 6371-km sphere."""
    p1, p2 = np.radians(lat1), np.radians(lat2)
    a = np.sin((p2 - p1) / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(np.radians(np.asarray(lon2) - lon1) / 2) ** 2
    return 2 * 6_371_000.0 * np.arcsin(np.sqrt(a))


def event_picks(source, origin_time, rng, *, phases="PS", max_distance_m=250_000.0, noise_s=0.1, tag="ev"):
    """P/S picks of ``source`` = (lat, lon, depth_m) at ``origin_time``; ids ``<tag>:<station>:<phase>``."""
    from tianshan.traveltime.layered import LayeredTravelTime

    stations, model = region()
    lat, lon, depth = source
    d = distance_m(lat, lon, np.array([s.latitude_deg for s in stations]),
                   np.array([s.longitude_deg for s in stations]))
    near = np.flatnonzero(d <= max_distance_m)
    solver = LayeredTravelTime(model)
    out = []
    for phase in phases:
        tt = solver.first_arrival(phase, depth, d[near])[0]
        for i, t in zip(near, tt):
            st = stations[i]
            when = origin_time + timedelta(seconds=float(t + rng.normal(0.0, noise_s)))
            out.append(Pick(StreamID(st.network, st.code, "00", "HHZ" if phase == "P" else "HHN"), when, phase,
                            time_uncertainty_s=noise_s, method="synthetic", id=f"{tag}:{st.code}:{phase}"))
    return out


def noise_picks(rng, start, span_s, n, tag="noise"):
    """``n`` false picks at random stations and times in ``[start, start + span_s)`` (60 % P)."""
    stations, _ = region()
    out = []
    for k in range(n):
        st = stations[int(rng.integers(len(stations)))]
        phase = "P" if rng.random() < 0.6 else "S"
        when = start + timedelta(seconds=float(rng.uniform(0.0, span_s)))
        out.append(Pick(StreamID(st.network, st.code, "00", "HHZ"), when, phase, method="synthetic",
                        id=f"{tag}:{k}"))
    return out


def arrival_time(pick, p_delay_s=3.0, s_delay_s=20.0):
    return pick.time + timedelta(seconds=p_delay_s if pick.phase.upper().startswith("P") else s_delay_s)


def in_arrival_order(picks):
    return sorted(picks, key=lambda p: (arrival_time(p), p.id))


def feed(tracker, picks, batch=1, clock=arrival_time):
    """Add ``picks`` in the order given, ``batch`` at a time, updating with the data clock after each
    batch (the latest arrival time so far); returns every change."""
    changes = []
    now = None
    for i in range(0, len(picks), batch):
        chunk = picks[i:i + batch]
        t = max(clock(p) for p in chunk)
        now = t if now is None else max(now, t)
        tracker.add_picks(chunk, WALL)
        changes += tracker.update(now)
    return changes


def epicentre_error_m(origin, source):
    return float(distance_m(source[0], source[1], origin.latitude_deg, origin.longitude_deg))


def p_stations(picks):
    return {p.stream_id.station for p in picks if p.phase == "P"}


def isclose_s(a, b, tol_s):
    return math.isclose((a - b).total_seconds(), 0.0, abs_tol=tol_s)

"""A simulated Mw 4.5 event for the product-stage tests (loaded by the test modules with importlib).

Six demo-region stations nearest the epicentre, 240 s of 3-component records (broadband and
accelerometer) in counts, the event of the batch chain (classic picks, association, location
as :func:`tianshan.events.build.pipeline._locate_one`) and the batch magnitudes on the whole record.
"""

from __future__ import annotations

import math
from collections import Counter
from datetime import datetime, timezone
from types import SimpleNamespace

LAT, LON, DEPTH_M, MW = 41.8, 84.3, 10_000.0, 4.5
ORIGIN_TIME = datetime(2024, 5, 1, 3, 0, 0, tzinfo=timezone.utc)


def build(n_stations: int = 6, duration_s: float = 240.0, seed: int = 1) -> SimpleNamespace:
    """``result`` (the ScenarioResult: stream in counts), ``network`` (pipeline.Network), ``event``
    (located, two origins, picks, no magnitudes), ``batch`` (compute_magnitudes on the whole record)."""
    from tianshan.events.build.pipeline import Network, _associate, _locate_one
    from tianshan.events.magnitude import compute_magnitudes
    from tianshan.io.stationxml import stations_to_inventory
    from tianshan.picks.stalta import ClassicPicker
    from tianshan.regions.demo import demo_region
    from tianshan.sim.scenario import simulate_scenario
    from tianshan.sim.source import Source

    region = demo_region()

    def dist(s):
        return math.hypot(s.latitude_deg - LAT, (s.longitude_deg - LON) * math.cos(math.radians(LAT)))

    stations = sorted(region.stations, key=dist)[:n_stations]
    src = Source(LAT, LON, DEPTH_M, MW, ORIGIN_TIME)
    res = simulate_scenario(src, stations, region.velocity_model, duration_s=duration_s, rng=seed)
    network = Network(tuple(res.stations), stations_to_inventory(res.stations, res.responses),
                      region.velocity_model, tuple(region.places))
    picks = ClassicPicker().pick(res.stream)
    assocs = _associate(picks, network, None)
    assert len(assocs) == 1, assocs
    event = _locate_one(assocs[0], network, {}, Counter())
    batch = compute_magnitudes(event.preferred_origin, event.picks, res.stream, network.inventory, network.stations)
    return SimpleNamespace(result=res, network=network, event=event, batch=batch)


def packets(stream, packet_s: float = 1.0):
    """``packet_s`` slices of every trace, time-interleaved across channels (as a SeedLink feed delivers them)."""
    t0 = min(tr.stats.starttime for tr in stream)
    t1 = max(tr.stats.endtime for tr in stream)
    out = []
    k = 0
    while t0 + k * packet_s <= t1:
        a = t0 + k * packet_s
        for tr in stream:
            piece = tr.slice(a, a + packet_s - tr.stats.delta / 2, nearest_sample=False)
            if piece.stats.npts:
                out.append(piece)
        k += 1
    return out

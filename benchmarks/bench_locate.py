"""Locator speed: one event with ~50 phases (25 stations, P + S) in the Xinjiang 1-D model.

Reports the one-off travel-time tabulation (cached per model/network) and the per-event time
of :func:`tianshan.events.locate.locate` with the default configuration.

    .venv/bin/python benchmarks/bench_locate.py
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone

import numpy as np


def main() -> None:
    from tianshan.core import Pick, Station, StreamID
    from tianshan.events.locate import LocateConfig, locate
    from tianshan.events.locate.geometry import aeqd_inverse, great_circle_m
    from tianshan.regions.demo import xinjiang_velocity_model
    from tianshan.traveltime.layered import LayeredTravelTime

    model = xinjiang_velocity_model()
    rng = np.random.default_rng(0)
    lat, lon = aeqd_inverse(42.0, 84.0, rng.uniform(-150e3, 150e3, 25), rng.uniform(-150e3, 150e3, 25))
    stations = [Station("XJ", f"B{i:02d}", float(a), float(o), 0.0) for i, (a, o) in enumerate(zip(lat, lon))]
    solver = LayeredTravelTime(model)
    t0 = datetime(2024, 1, 1, tzinfo=timezone.utc)
    picks = []
    for st in stations:
        d = float(great_circle_m(42.1, 84.2, st.latitude_deg, st.longitude_deg))
        for ph, ch in (("P", "BHZ"), ("S", "BHN")):
            t = float(solver.first_arrival(ph, 15_000.0, [d])[0][0]) + rng.normal(0, 0.1)
            picks.append(Pick(StreamID("XJ", st.code, "", ch), t0 + timedelta(seconds=t), ph, time_uncertainty_s=0.1))
    cfg = LocateConfig()
    a = time.perf_counter()
    res = locate(picks, stations, model, cfg)
    b = time.perf_counter()
    times = []
    for _ in range(5):
        c = time.perf_counter()
        res = locate(picks, stations, model, cfg)
        times.append(time.perf_counter() - c)
    o = res.origin
    err_km = great_circle_m(o.latitude_deg, o.longitude_deg, 42.1, 84.2) / 1000
    print(f"phases {o.phase_count}; first call (with tables) {b - a:.2f} s; per event {np.median(times):.3f} s "
          f"(median of 5, {res.n_evaluations} evaluations); error {err_km:.2f} km, depth {o.depth_m / 1000:.1f} km")


if __name__ == "__main__":
    main()

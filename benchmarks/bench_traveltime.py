"""Time 70 stations x (P, S) first arrivals: LayeredTravelTime vs ObsPy TauP vs TravelTimeTable.

Plain script (no assertions): ``.venv/bin/python benchmarks/bench_traveltime.py``.
Xinjiang 2018 model, one source at 12 km depth, 70 random distances 5-1000 km.
"""

from __future__ import annotations

import math
import tempfile
import time

import numpy as np

from tianshan.core.velocity import VelocityModel
from tianshan.traveltime.layered import LayeredTravelTime
from tianshan.traveltime.taup import taup_first_arrivals, taup_model

R_M = 6_371_000.0


def _best(fn, repeat: int) -> float:
    best = math.inf
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def main() -> None:
    model = VelocityModel.from_vp("xinjiang2018", [0, 26000, 54000], [6100, 6700, 8200], vp_vs=1.73,
                                  moho_m=54000)
    x_m = np.random.default_rng(0).uniform(5e3, 1e6, 70)
    deg = x_m / R_M * 180.0 / math.pi
    depth = 12_000.0
    solver = LayeredTravelTime(model)
    with tempfile.TemporaryDirectory() as cache:
        t0 = time.perf_counter()
        taup = taup_model(model, cache)
        build = time.perf_counter() - t0

        def run_taup():
            for ph in "PS":
                taup_first_arrivals(taup, depth, deg, ph)

        def run_solver():
            for ph in "PS":
                solver.first_arrival(ph, depth, x_m)

        t_taup = _best(run_taup, 2)
        t_solver = _best(run_solver, 20)
        t0 = time.perf_counter()
        tables = {ph: solver.table(ph, np.arange(0, 40_001.0, 1000.0), 1e6, 1000.0) for ph in "PS"}
        t_build_tab = time.perf_counter() - t0
        t_tab = _best(lambda: [tables[ph](depth, x_m) for ph in "PS"], 200)
        diff = max(float(np.max(np.abs(solver.first_arrival(ph, depth, x_m)[0]
                                       - taup_first_arrivals(taup, depth, deg, ph)[0]))) for ph in "PS")
    print(f"TauP model build (once, then cached):     {build:8.3f} s")
    print(f"TauP, 70 stations x (P, S):               {t_taup * 1e3:8.1f} ms")
    print(f"LayeredTravelTime, 70 stations x (P, S):  {t_solver * 1e3:8.2f} ms  ({t_taup / t_solver:,.0f}x faster)")
    print(f"TravelTimeTable build, 0-40 km x 0-1000 km, 1 km steps, P+S: {t_build_tab:6.2f} s")
    print(f"TravelTimeTable, 70 stations x (P, S):    {t_tab * 1e3:8.3f} ms  ({t_taup / t_tab:,.0f}x faster)")
    print(f"max |LayeredTravelTime - TauP| here:      {diff * 1e6:8.2f} us")


if __name__ == "__main__":
    main()

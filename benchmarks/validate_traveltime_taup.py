"""Arrival-time validation table: LayeredTravelTime vs ObsPy TauP on the Xinjiang 1-D model.

Plain script: ``.venv/bin/python benchmarks/validate_traveltime_taup.py`` prints a markdown table
of first P and S times (s) from both and their largest difference per depth, for the simulator's
and the locator's range (depth 0-40 km, epicentral distance 5-1000 km). Requirement (issue 2):
within 0.01 s.
"""

from __future__ import annotations

import math
import tempfile

import numpy as np

from tianshan.core.velocity import VelocityModel
from tianshan.traveltime.layered import LayeredTravelTime
from tianshan.traveltime.taup import taup_first_arrivals, taup_model

R_M = 6_371_000.0
DEPTHS_KM = (0.0, 5.0, 12.0, 25.9, 26.0, 40.0)
DIST_KM = (5.0, 20.0, 50.0, 100.0, 150.0, 200.0, 300.0, 500.0, 700.0, 1000.0)


def main() -> None:
    model = VelocityModel.from_vp("xinjiang2018", [0, 26000, 54000], [6100, 6700, 8200], vp_vs=1.73,
                                  moho_m=54000, reference="Xinjiang 1-D model (2018)")
    solver = LayeredTravelTime(model)
    x_m = np.array(DIST_KM) * 1000.0
    deg = x_m / R_M * 180.0 / math.pi
    worst = 0.0
    print("| depth (km) | phase | " + " | ".join(f"{d:g} km" for d in DIST_KM) + " | max abs diff (s) |")
    print("|---|---|" + "---|" * len(DIST_KM) + "---|")
    with tempfile.TemporaryDirectory() as cache:
        taup = taup_model(model, cache)
        for z in DEPTHS_KM:
            for phase in ("P", "S"):
                ours, names = solver.first_arrival(phase, z * 1000.0, x_m)
                ref, _ = taup_first_arrivals(taup, z * 1000.0, deg, phase=phase)
                diff = float(np.max(np.abs(ours - ref)))
                worst = max(worst, diff)
                cells = " | ".join(f"{t:.3f} {n}" for t, n in zip(ours, names))
                print(f"| {z:g} | {phase} | {cells} | {diff:.2e} |")
    print(f"\nworst |LayeredTravelTime - TauP| = {worst:.2e} s over {len(DEPTHS_KM) * len(DIST_KM) * 2} cases "
          f"(requirement 0.01 s): {'met' if worst <= 0.01 else 'NOT met'}")


if __name__ == "__main__":
    main()

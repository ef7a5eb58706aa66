"""Conditioned ShakeMap grid speed (issue 6 benchmark): 1000 km x 1000 km at 30 arc-seconds on 400 stations.

Real stations and rupture: the 2008 Wenchuan Mw 7.9 ShakeMap input
(``../shared/data/shakemap/wenchuan/``: station list, Hartzell fault), the 400 usable seismic
stations nearest the epicentre (out to ~1000 km, where BSSA14 is far outside its range: the outlier
rule is switched off here so that all 400 enter the conditioning -- this times the method, not the
model), BSSA14 through hazardlib, Vs30 760 m/s,
Loth & Baker (2013) correlation (ShakeMap's default; JB09 with ``--correlation jb``).
The grid (~1.36 M cells) is centred on the epicentre. Timed: building the conditioning
(station predictions, outliers, the data covariance and its pseudo-inverse) and the grid
(model on every cell -- distances to the fault and BSSA14 -- plus the conditioned mean and
the total, between- and within-event sds). hazardlib's import (several seconds, once per
process) is reported separately. Peak RSS is the process's high-water mark
(``resource.getrusage``), imports included.

    .venv/bin/python benchmarks/bench_shakemap_grid.py [--imt pga] [--correlation lb|jb] [--stations 400]
"""

from __future__ import annotations

import argparse
import math
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "shakemap" / "wenchuan"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--imt", default="pga")
    ap.add_argument("--correlation", choices=("lb", "jb"), default="lb")
    ap.add_argument("--stations", type=int, default=400)
    ap.add_argument("--size-km", type=float, default=1000.0)
    ap.add_argument("--eps", type=float, default=1e-5)
    args = ap.parse_args(argv)
    if not DATA.is_dir():
        print(f"shared data not found at {DATA}", file=sys.stderr)
        return 2

    t0 = time.perf_counter()
    import numpy as np
    import openquake.hazardlib.gsim  # noqa: F401 - the slow import, timed on its own
    t_import = time.perf_counter() - t0

    from tianshan.groundmotion.conditioning.correlation import JayaramBaker2009, LothBaker2013
    from tianshan.groundmotion.conditioning.grid import GridSpec
    from tianshan.groundmotion.conditioning.mvn import great_circle_km
    from tianshan.groundmotion.conditioning.pipeline import ConditionedEvent, EventModel, Settings
    from tianshan.groundmotion.conditioning.stations import prepare_stations
    from tianshan.groundmotion.prediction.distances import Rupture
    from tianshan.groundmotion.prediction.gmpe import GroundMotionModel
    from tianshan.io.shakemap_xml import read_event_xml, read_fault_text, read_stationlist

    ev = read_event_xml(DATA / "event.xml")
    fault = read_fault_text(DATA / "Hartzell11_fault.txt")
    rup = Rupture.from_polygons(ev.magnitude, ev.latitude_deg, ev.longitude_deg, ev.depth_m, fault.polygons,
                                rake_deg=90.0)
    stations = [s for s in prepare_stations(read_stationlist(DATA / "stationlist.xml").stations)
                if s.kind == "seismic" and s.usable]
    d = great_circle_km(ev.latitude_deg, ev.longitude_deg, [s.latitude_deg for s in stations],
                        [s.longitude_deg for s in stations])
    chosen = [stations[i] for i in np.argsort(d)[: args.stations]]
    corr = LothBaker2013() if args.correlation == "lb" else JayaramBaker2009()
    spec = GridSpec.around(ev.latitude_deg, ev.longitude_deg, args.size_km)

    t1 = time.perf_counter()
    event = ConditionedEvent(EventModel(rup, GroundMotionModel("BooreEtAl2014"), vs30=760.0), chosen,
                             Settings(correlation=corr, outlier_max_deviation=math.inf))
    cond = event.conditioner(args.imt)
    t_cond = time.perf_counter() - t1
    t2 = time.perf_counter()
    res = event.grid(spec, args.imt, eps=args.eps)
    t_grid = time.perf_counter() - t2
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0

    total = t_cond + t_grid
    ok_t = "met" if total < 10.0 else "NOT met"
    ok_m = "met" if rss_mb < 4096 else "NOT met"
    print(f"grid: {spec.nx} x {spec.ny} = {spec.size:,} cells at {spec.dlat_deg * 3600:.0f}\" "
          f"({args.size_km:.0f} km square about {ev.latitude_deg:.2f}N {ev.longitude_deg:.2f}E)")
    print(f"stations: {len(chosen)} seismic, {len(cond.observations)} observations for {args.imt}; "
          f"correlation {corr!r}; outliers flagged: {sum(len(v) for v in event.outliers.values())}")
    print(f"hazardlib import (once per process): {t_import:.2f} s")
    print(f"conditioning set-up (station predictions, covariance, pseudo-inverse): {t_cond:.2f} s")
    print(f"grid (distances, BSSA14, conditioned mean and sds): {t_grid:.2f} s "
          f"[{res.tiles} tiles, {res.tiles_with_data} with data, {res.pairs:,} cell-station pairs]")
    print(f"total wall time: {total:.2f} s (target < 10 s: {ok_t})")
    print(f"peak RSS: {rss_mb:.0f} MB (target < 4096 MB: {ok_m})")
    tau = float(np.mean(event.pred[args.imt].tau))
    print(f"event term {cond.event_term * tau:+.3f} ({'ln' if args.imt != 'mmi' else 'MMI'}; large: the far "
          f"stations' residuals are kept here); median sd prior {float(np.median(res.prior_sd)):.3f} -> "
          f"conditioned {float(np.median(res.sd)):.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

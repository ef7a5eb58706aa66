"""Relocate the NonLinLoc Anchorage sample and compare with NonLinLoc's own hypocentres.

Data: ``../shared/data/location/nonlinloc_anchorage/`` (7 aftershocks of the 2018 Mww 7.0
Anchorage earthquake: ``obs/*.obs`` picks, ``obs/station_coordinates.txt``,
``run/nlloc_sample.in`` control file with the layered model, ``original_output/*.hyp``).

Runs :func:`tianshan.events.locate.locate` with the control file's model and location
settings (:func:`tianshan.events.locate.config.config_from_nlloc`) and prints, per event,
the distance of our maximum-likelihood hypocentre from NonLinLoc's (horizontal and depth).
The acceptance rule of issue 3 is < 1 km horizontally and < 3 km in depth.

    .venv/bin/python benchmarks/validate_locate_anchorage.py [DATA_DIR] [--json]
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT = ROOT.parent / "shared" / "data" / "location" / "nonlinloc_anchorage"


def compare(data_dir: Path, **overrides) -> list[dict]:
    """One row per event: ours vs NonLinLoc's maximum-likelihood hypocentre."""
    from tianshan.events.locate import locate
    from tianshan.events.locate.config import config_from_nlloc, nlloc_grid_stations
    from tianshan.events.locate.geometry import great_circle_m
    from tianshan.io.nlloc import (read_nlloc_control, read_nlloc_hyp, read_nlloc_model, read_nlloc_obs,
                                   read_nlloc_stations)

    control = data_dir / "run" / "nlloc_sample.in"
    model = read_nlloc_model(control)
    ctl = read_nlloc_control(control)
    cfg = config_from_nlloc(ctl, **overrides)
    # NonLinLoc's 2-D grids (VGGRID, 400 km) cover the search box only for some stations;
    # use the same stations so both locate from the same phases.
    stations = nlloc_grid_stations(read_nlloc_stations(data_dir / "obs" / "station_coordinates.txt"), ctl)
    obs = read_nlloc_obs(data_dir / "obs" / "2018-11-30-mww70-southern-alaska.obs")
    refs = []
    for hyp in sorted((data_dir / "original_output").glob("alaska.2018*.grid0.loc.hyp")):
        refs.extend(read_nlloc_hyp(hyp))
    rows = []
    for picks in obs.events:
        t0 = time.perf_counter()
        res = locate(picks, stations, model, cfg)
        dt = time.perf_counter() - t0
        o = res.origin
        ref = min(refs, key=lambda r: abs((r.time - o.time).total_seconds()))
        dh = float(great_circle_m(o.latitude_deg, o.longitude_deg, ref.latitude_deg, ref.longitude_deg))
        rows.append({
            "nlloc_time": ref.time.isoformat(), "time": o.time.isoformat(),
            "dt_s": (o.time - ref.time).total_seconds(),
            "nlloc_lat": ref.latitude_deg, "nlloc_lon": ref.longitude_deg, "nlloc_depth_km": ref.depth_m / 1000,
            "lat": o.latitude_deg, "lon": o.longitude_deg, "depth_km": o.depth_m / 1000,
            "dh_km": dh / 1000, "dz_km": (o.depth_m - ref.depth_m) / 1000,
            "rms_s": o.rms_s, "nlloc_rms_s": ref.rms_s, "n_phases": o.phase_count, "nlloc_n_phases": ref.n_phases,
            "gap_deg": o.azimuthal_gap_deg, "nlloc_gap_deg": ref.gap_deg, "quality": res.quality,
            "ellipse_km": [o.ellipse.semi_major_m / 1000, o.ellipse.semi_minor_m / 1000, o.ellipse.azimuth_deg],
            "seconds": dt, "evaluations": res.n_evaluations,
        })
    return rows


def main(argv: list[str]) -> int:
    data = Path(argv[0]) if argv and not argv[0].startswith("--") else DEFAULT
    t0 = time.perf_counter()
    rows = compare(data)
    total = time.perf_counter() - t0
    if "--json" in argv:
        print(json.dumps(rows, indent=1))
        return 0
    print(f"{'NonLinLoc origin time':26s} {'NLL lat':>9s} {'NLL lon':>10s} {'NLL z':>6s} | "
          f"{'lat':>9s} {'lon':>10s} {'z':>6s} | {'dH km':>6s} {'dZ km':>6s} {'rms':>5s} {'nph':>4s} "
          f"{'gap':>4s} Q {'s':>5s}")
    for r in rows:
        print(f"{r['nlloc_time'][:26]:26s} {r['nlloc_lat']:9.4f} {r['nlloc_lon']:10.4f} {r['nlloc_depth_km']:6.2f} | "
              f"{r['lat']:9.4f} {r['lon']:10.4f} {r['depth_km']:6.2f} | {r['dh_km']:6.2f} {r['dz_km']:6.2f} "
              f"{r['rms_s']:5.2f} {r['n_phases']:4d} {r['gap_deg']:4.0f} {r['quality']} {r['seconds']:5.2f}")
    ok = all(r["dh_km"] < 1.0 and abs(r["dz_km"]) < 3.0 for r in rows)
    print(f"max dH {max(r['dh_km'] for r in rows):.2f} km, max |dZ| {max(abs(r['dz_km']) for r in rows):.2f} km; "
          f"all within 1 km / 3 km: {ok}; total {total:.1f} s (incl. travel-time tables)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""End to end on simulated data with the real 69-station XJ network.

The network: ``../shared/data/xinjiang/stations_xj.csv`` (69 stations, HH? 100 Hz) and the
Xinjiang 1-D model ``velocity_1d_xinjiang_2018.csv``, loaded as a region profile
(:func:`tianshan.regions.loader.load_region`). ``N`` events (default 20), Mw uniform in
[2.5, 6.0], each within 80 km of a randomly drawn XJ station (seismicity sits where the
network was built; the Taklimakan interior has neither), depth 5-25 km, are simulated with
:func:`tianshan.sim.scenario.simulate_scenario` in consecutive ``--window`` second records
(one event 60 s into each), written into one SDS archive: a continuous recording of
``N x window`` seconds. Then ``build_catalog`` runs on it, and the catalog is matched to
the truth (|dt| <= 10 s and epicentral distance <= 100 km).

Reports: detection rate, median epicentral error, median |M - Mw| of the preferred
magnitude, false events per simulated day. Targets: >= 95 %, <= 5 km, <= 0.3, <= 1.

Run: ``.venv/bin/python benchmarks/e2e_xj_simulated.py [--events 20] [--window 240] [--seed 1]
[--scheduler serial|dask] [--keep DIR]``.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
XJ = ROOT.parent / "shared" / "data" / "xinjiang"
T0 = datetime(2024, 6, 1, 0, 0, tzinfo=timezone.utc)


def xj_region(folder: Path):
    from tianshan.regions.loader import load_region

    folder.mkdir(parents=True, exist_ok=True)
    for name in ("stations_xj.csv", "velocity_1d_xinjiang_2018.csv"):
        shutil.copy(XJ / name, folder / name)
    return load_region(folder)


def draw_sources(region, n: int, rng: np.random.Generator, window_s: float, start: datetime = T0):
    from pyproj import Geod

    from tianshan.sim.source import Source

    geod = Geod(ellps="WGS84")
    out = []
    for k in range(n):
        st = region.stations[int(rng.integers(len(region.stations)))]
        lon, lat, _ = geod.fwd(st.longitude_deg, st.latitude_deg, float(rng.uniform(0, 360)),
                               float(80_000.0 * np.sqrt(rng.uniform())))
        out.append(Source(float(lat), float(lon), float(rng.uniform(5_000, 25_000)), float(rng.uniform(2.5, 6.0)),
                          start + timedelta(seconds=k * window_s + 60.0)))
    return out


def simulate_archive(out: Path, sources, region, window_s: float, seed: int, start: datetime = T0) -> Path:
    """One SDS archive under ``out/sds`` with one event per window; returns the StationXML path."""
    from tianshan.io.sds import write_sds
    from tianshan.io.stationxml import write_stationxml
    from tianshan.sim.scenario import simulate_scenario

    xml = None
    for k, src in enumerate(sources):
        res = simulate_scenario(src, region.stations, region.velocity_model,
                                start=start + timedelta(seconds=k * window_s), duration_s=window_s, rng=seed + k)
        write_sds(res.stream, out / "sds")
        if xml is None:
            xml = write_stationxml(res.stations, out / "stations.xml", res.responses)
        print(f"simulated event {k + 1}/{len(sources)} Mw {src.mw:.2f}", file=sys.stderr, flush=True)
    return Path(xml)


def match(events, sources, max_dt_s: float = 10.0, max_km: float = 100.0):
    from tianshan.regions.model import haversine_m

    rows, used = [], set()
    for src in sources:
        best = None
        for ev in events:
            o = ev.preferred_origin
            if ev.id in used or o is None:
                continue
            dt = abs((o.time - src.origin_time).total_seconds())
            km = haversine_m(o.latitude_deg, o.longitude_deg, src.latitude_deg, src.longitude_deg) / 1000.0
            if dt <= max_dt_s and km <= max_km and (best is None or km < best[1]):
                best = (ev, km, dt)
        row = {"time": src.origin_time.isoformat(), "mw": round(src.mw, 2), "lat": round(src.latitude_deg, 3),
               "lon": round(src.longitude_deg, 3), "depth_km": round(src.depth_m / 1000, 1), "found": best is not None}
        if best is not None:
            ev, km, dt = best
            used.add(ev.id)
            m = ev.preferred_magnitude
            o = ev.preferred_origin
            row.update({"epicentral_error_km": round(km, 2), "dt_s": round(dt, 2),
                        "depth_error_km": round((o.depth_m - src.depth_m) / 1000, 1),
                        "m": None if m is None else round(m.value, 2), "m_type": None if m is None else m.type,
                        "n_picks": len(ev.picks), "method": o.method})
        rows.append(row)
    false = [ev.id for ev in events if ev.id not in used]
    return rows, false


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, default=20)
    ap.add_argument("--window", type=float, default=240.0)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--scheduler", default="dask")
    ap.add_argument("--picker", default="classic")
    ap.add_argument("--model", default=None)
    ap.add_argument("--keep", type=Path, help="keep the archive and store in this folder")
    args = ap.parse_args(argv)
    from tianshan.events.build import build_catalog
    from tianshan.store import EventStore

    work = args.keep or Path(tempfile.mkdtemp(prefix="xj_sim_"))
    region = xj_region(work / "region")
    sources = draw_sources(region, args.events, np.random.default_rng(args.seed), args.window)
    t = time.perf_counter()
    xml = work / "stations.xml"
    if not (work / "sds").is_dir():
        xml = simulate_archive(work, sources, region, args.window, args.seed)
    sim_s = time.perf_counter() - t
    end = T0 + timedelta(seconds=args.events * args.window)
    with EventStore.open(data_dir=work / "store") as store:
        summary = build_catalog(work / "sds", xml, T0, end, store, picker=args.picker, model=args.model,
                                scheduler=None if args.scheduler == "dask" else args.scheduler,
                                velocity_model=region.velocity_model)
        events = [store.get_event(i) for i in summary.event_ids]
    rows, false = match(events, sources)
    found = [r for r in rows if r["found"]]
    errs = [r["epicentral_error_km"] for r in found]
    dm = [abs(r["m"] - r["mw"]) for r in found if r["m"] is not None]
    days = args.events * args.window / 86_400.0
    report = {
        "events": args.events, "detected": len(found), "detection_rate": len(found) / args.events,
        "median_epicentral_error_km": statistics.median(errs) if errs else None,
        "median_abs_m_minus_mw": statistics.median(dm) if dm else None,
        "false_events": len(false), "simulated_days": days, "false_per_day": len(false) / days,
        "simulation_s": round(sim_s, 1), "build_s": round(summary.wall_s, 1), "summary": summary.as_dict(),
        "table": rows}
    print(json.dumps(report, indent=1))
    if args.keep is None:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Benchmark: simulate 70 stations x 3 components x 10 min at 100 Hz, then write the SDS archive.

Plain script (not a timed test)::

    .venv/bin/python benchmarks/bench_simulate.py [--stations 70] [--duration 600] [--out DIR]

Uses the demo region's stations (HH? broadband channels only) when the demo
region is available, else a generated 70-station set around Luntai
(41.78 N, 84.27 E). Prints wall times (simulation; SDS writing separately),
peak RSS (``resource.getrusage``) and samples per second.
Target on the 2-core development machine: < 20 s and < 2 GB.
"""

from __future__ import annotations

import argparse
import dataclasses
import resource
import sys
import tempfile
import time
from pathlib import Path

LUNTAI = (41.78, 84.27)


def _stations(n: int):
    from tianshan.core import Channel, InstrumentKind, Station, StreamID

    try:
        from tianshan.regions.demo import demo_region

        region = demo_region()
        stations = [dataclasses.replace(s, channels=tuple(c for c in s.channels if c.stream_id.channel[:2] == "HH"))
                    for s in region.stations]
        if len(stations) >= n:
            return stations[:n], region.velocity_model, "demo region"
    except Exception as err:  # noqa: BLE001 - the demo region is optional for the benchmark
        print(f"(demo region unavailable: {err}; using generated stations)", file=sys.stderr)
    import numpy as np
    from pyproj import Geod

    from tianshan.core.velocity import VelocityModel

    rng = np.random.default_rng(0)
    geod = Geod(a=6_371_000.0, b=6_371_000.0)
    stations = []
    for i in range(n):
        lon, lat, _ = geod.fwd(LUNTAI[1], LUNTAI[0], rng.uniform(0, 360), rng.uniform(5e3, 600e3))
        code = f"B{i:03d}"
        chans = tuple(Channel(StreamID("XX", code, "", "HH" + c), lat, lon, 1000.0, 100.0, azimuth_deg=az,
                              dip_deg=dip, kind=InstrumentKind.BROADBAND)
                      for c, az, dip in (("Z", 0.0, -90.0), ("N", 0.0, 0.0), ("E", 90.0, 0.0)))
        stations.append(Station("XX", code, lat, lon, 1000.0, channels=chans))
    model = VelocityModel.from_vp("xinjiang-2018", [0.0, 26e3, 54e3], [6100.0, 6700.0, 8200.0], moho_m=54e3)
    return stations, model, "generated"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--stations", type=int, default=70)
    ap.add_argument("--duration", type=float, default=600.0)
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args(argv)

    t_import = time.perf_counter()
    from tianshan.sim.scenario import simulate_scenario
    from tianshan.sim.source import Source
    from tianshan.sim.writer import write_scenario

    stations, model, origin = _stations(args.stations)
    t_setup = time.perf_counter()
    source = Source(LUNTAI[0], LUNTAI[1], 10_000.0, 6.5, "2024-06-01T12:00:00")
    # Warm-up of lazy imports (ObsPy, SciPy, travel-time solver) on one station, not timed.
    simulate_scenario(source, stations[:1], model, duration_s=10.0, rng=0)
    t0 = time.perf_counter()
    result = simulate_scenario(source, stations, model, duration_s=args.duration, rng=1)
    t_sim = time.perf_counter() - t0
    n_samples = sum(tr.stats.npts for tr in result.stream)
    with tempfile.TemporaryDirectory() as tmp:
        out = args.out or Path(tmp)
        t0 = time.perf_counter()
        paths = write_scenario(result, out)
        t_write_all = time.perf_counter() - t0
        sds_bytes = sum(p.stat().st_size for p in paths.sds_files)
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    print(f"stations: {len(stations)} ({origin}), traces: {len(result.stream)}, samples: {n_samples:,}")
    print(f"imports+setup: {t_setup - t_import:.2f} s (not counted)")
    print(f"simulate: {t_sim:.2f} s  ({n_samples / t_sim:,.0f} samples/s)")
    print(f"write (SDS + StationXML + QuakeML + CSV): {t_write_all:.2f} s, SDS {sds_bytes / 1e6:.1f} MB "
          f"in {len(paths.sds_files)} files")
    print(f"total: {t_sim + t_write_all:.2f} s, peak RSS: {rss_mb:.0f} MB")
    ok = t_sim + t_write_all < 20.0 and rss_mb < 2048
    print("target (< 20 s, < 2 GB):", "met" if ok else "NOT met")
    return 0


if __name__ == "__main__":
    sys.exit(main())

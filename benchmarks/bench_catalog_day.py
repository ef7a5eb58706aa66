"""Benchmark: the classical cataloging chain on continuous data of the 69-station XJ network.

Data: 69 stations x 3 components (HHZ/HHN/HHE) x 100 Hz, simulated hour by hour with
:func:`tianshan.sim.scenario.simulate_scenario` (Peterson noise + one random Mw 2.5-6 event
per hour near an XJ station, see ``e2e_xj_simulated.py``), in an SDS archive. The archive is
made once (``--keep DIR`` reuses it); only ``build_catalog`` is timed: reading, QC, classical
picking (parallel Dask chunks), association, location, magnitudes, type, storage.

Peak memory: the largest sum of resident set sizes of this process and all its descendants
(the Dask nannies and workers), sampled every 0.5 s with psutil.

Run: ``.venv/bin/python benchmarks/bench_catalog_day.py [--hours 24] [--keep DIR]
[--scheduler dask|serial] [--picker classic]``; prints JSON (wall time, x real time,
extrapolation to one day when ``--hours`` < 24).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import threading
import time
from datetime import timedelta
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from e2e_xj_simulated import T0, draw_sources, simulate_archive, xj_region  # noqa: E402


class PeakRSS:
    """Peak of the summed RSS of this process tree, sampled in a thread."""

    def __init__(self, period_s: float = 0.5) -> None:
        import psutil

        self._proc = psutil.Process(os.getpid())
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(period_s,), daemon=True)

    def _sample(self) -> int:
        total = 0
        for p in [self._proc, *self._proc.children(recursive=True)]:
            try:
                total += p.memory_info().rss
            except Exception:  # noqa: BLE001 - a process that just ended
                pass
        return total

    def _run(self, period_s: float) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self._sample())
            self._stop.wait(period_s)

    def __enter__(self) -> "PeakRSS":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--hours", type=int, default=24)
    ap.add_argument("--seed", type=int, default=3)
    ap.add_argument("--scheduler", default="dask")
    ap.add_argument("--picker", default="classic")
    ap.add_argument("--model", default=None)
    ap.add_argument("--chunk", type=float, default=3600.0)
    ap.add_argument("--keep", type=Path, help="keep (and reuse) the archive in this folder")
    args = ap.parse_args(argv)
    from tianshan.events.build import build_catalog
    from tianshan.store import EventStore

    work = args.keep or Path(tempfile.mkdtemp(prefix="xj_day_"))
    region = xj_region(work / "region")
    span = args.hours * 3600.0  # one continuous archive, one event per hour on average
    sources = draw_sources(region, args.hours, np.random.default_rng(args.seed), span)
    t = time.perf_counter()
    xml = work / "stations.xml"
    if not (work / "sds").is_dir():
        xml = simulate_archive(work, sources, region, span, args.seed)
    sim_s = time.perf_counter() - t
    end = T0 + timedelta(hours=args.hours)
    store_dir = Path(tempfile.mkdtemp(prefix="store_", dir=work))
    with EventStore.open(data_dir=store_dir) as store, PeakRSS() as mem:
        summary = build_catalog(work / "sds", xml, T0, end, store, picker=args.picker, model=args.model,
                                chunk_s=args.chunk, scheduler=None if args.scheduler == "dask" else args.scheduler,
                                velocity_model=region.velocity_model)
    seconds = args.hours * 3600.0
    channels = sum(len(s.channels) for s in region.stations)
    report = {
        "hours": args.hours, "stations": len(region.stations), "channels": channels, "cores": os.cpu_count(),
        "picker": args.picker, "scheduler": summary.scheduler, "simulation_s": round(sim_s, 1),
        "build_wall_s": round(summary.wall_s, 1), "x_real_time": round(seconds / summary.wall_s, 1),
        "x_real_time_per_channel_per_core": round(seconds * channels / summary.wall_s / (os.cpu_count() or 1), 1),
        "extrapolated_day_wall_s": round(summary.wall_s * 24.0 / args.hours, 1),
        "peak_rss_mib": round(mem.peak / 2**20), "events": summary.events_stored, "picks": summary.picks,
        "summary": summary.as_dict()}
    print(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())

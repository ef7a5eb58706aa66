"""False alerts of the EEW chain on 24 hours of noise with spikes, gaps, clock jumps and teleseisms.

Network: the real XJ station layout of ``../shared/data/xinjiang`` (region profile,
:func:`tianshan.regions.loader.load_region`; 69 stations, ``HH?`` at 100 Hz with the simulator's
nominal STS-2/Q330 gains), the Xinjiang 1-D model, the region's places as targets and its faults.
``--stations N`` keeps N of them: four elements of the HTTZ array at Hotan (so the site rule is
exercised) and N - 4 others evenly spread through the station list; ``--components Z`` (default)
simulates and replays the vertical channels only -- the engine triggers on verticals, the
horizontals add PGA/PGV after a trigger -- which is what fits a 24-h run in ~10 min of one core.

Data: :func:`tianshan.eew.soak.soak` -- Peterson noise recorded through the nominal instruments,
single-sample spikes and 2-5-sample bursts (alone and at the same instant at 3-6 stations),
offset steps, gaps of 1-120 s, clock jumps of 0.2-3 s either way, and ``--teleseisms`` (5)
teleseismic P arrivals (mb 6-7 at 30-90 deg, iasp91 TauP arrival times at every station,
t* = 1 s, amplitude from the mb definition; see the module docstring for exactly how).
Replay: the same engine and policy as ``tianshan eew replay`` (1-s slices, ``update()`` after each).

Printed (JSON): false alerts (every alert: there is no local earthquake), declared EEW events,
triggers per station-hour (all / near faults / near teleseismic P), per-teleseism triggers, CPU of
the engine (process time of the replay loop, simulation excluded) per packet, and the counters.

Run: ``.venv/bin/python benchmarks/bench_eew_noise24h.py [--stations 30] [--hours 24] [--seed 1]
[--components Z] [--amplitude-factor 1] [--json FILE]``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
XJ = ROOT.parent / "shared" / "data" / "xinjiang"
T0 = datetime(2024, 6, 1, tzinfo=timezone.utc)


def pick_stations(stations, n: int):
    """Four HTTZ array elements and ``n - 4`` other stations evenly spread through the list."""
    stations = sorted(stations, key=lambda s: s.code)
    array = [s for s in stations if s.code.startswith("HTTZ")][:4]
    rest = [s for s in stations if not s.code.startswith("HTTZ")]
    k = max(0, min(len(rest), n - len(array)))
    step = len(rest) / k if k else 1
    return array + [rest[int(i * step)] for i in range(k)]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--stations", type=int, default=30)
    ap.add_argument("--hours", type=float, default=24.0)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--teleseisms", type=int, default=5)
    ap.add_argument("--components", default="Z")
    ap.add_argument("--amplitude-factor", type=float, default=1.0)
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args(argv)
    if not XJ.is_dir():
        print(f"XJ data not found at {XJ}", file=sys.stderr)
        return 2
    from rich.progress import Progress

    from tianshan.eew.soak import soak
    from tianshan.eew.targets import targets_from_places
    from tianshan.regions.loader import load_region

    region = load_region(XJ)
    stations = pick_stations(region.stations, args.stations)
    t = time.perf_counter()
    with Progress(transient=True) as bar:
        task = bar.add_task("simulating + replaying (hours)", total=int(args.hours + 0.999))
        rep = soak(stations, region.velocity_model, start=T0, hours=args.hours, seed=args.seed,
                   n_teleseisms=args.teleseisms, components=args.components,
                   amplitude_factor=args.amplitude_factor, targets=targets_from_places(region.places),
                   faults_geo=region.faults, progress=lambda done, total: bar.update(task, completed=done))
    doc = {k: v for k, v in vars(rep).items()}
    doc["cpu_per_packet_us"] = round(rep.cpu_per_packet_us, 1)
    doc["wall_s"] = round(time.perf_counter() - t, 1)
    doc["station_codes"] = [s.code for s in stations]
    text = json.dumps(doc, ensure_ascii=False, indent=1, default=str)
    print(text)
    print(f"误报 / false alerts: {rep.alerts}; EEW events declared: {rep.declared_events}; triggers per "
          f"station-hour: {rep.triggers_per_station_hour:.3f}; engine CPU {rep.engine_cpu_s:.0f} s "
          f"({rep.cpu_per_packet_us:.0f} us per packet, {rep.packets} packets)", file=sys.stderr)
    if args.json is not None:
        from tianshan.io.atomic import atomic_write_text

        atomic_write_text(args.json, text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

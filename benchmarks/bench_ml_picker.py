"""Benchmark: SeisBench PhaseNet picking speed on continuous 3-component 100 Hz data.

Plain script (not a timed test)::

    .venv/bin/python benchmarks/bench_ml_picker.py [--model PATH_OR_NAME] [--stations 3]
        [--hours 1] [--threads 1] [--device cpu] [--batch-size 256] [--sensors-per-call 4]

Data: ``--stations`` sensors x 3 components (HHZ/HHN/HHE) x ``--hours`` at 100 Hz of
seeded Gaussian noise with a synthetic local event (P then S wavelet) every 5 min,
so the picker does real work converting picks. The model defaults to the USTC
Xinjiang PhaseNet in ../shared/data (50 Hz: SeisBench resamples, which is part of the
cost). torch is limited to ``--threads`` intra-op threads (default 1: the figure is
"x real time per core"). Prints wall time of ``SeisBenchPicker.pick`` (model load
excluded), x real time per core, picks found and peak RSS (``resource.getrusage``).
"""

from __future__ import annotations

import argparse
import resource
import time
from pathlib import Path

DEFAULT_MODEL = (Path(__file__).resolve().parents[1].parent / "shared" / "data" / "models"
                 / "ustc_pickers" / "seisbench" / "phasenet_xinjiang")


def synthetic_stream(n_stations: int, hours: float, rate_hz: float = 100.0, seed: int = 0):
    """Seeded noise with a P/S wavelet pair every 300 s on every station (counts)."""
    import numpy as np
    from obspy import Stream, Trace, UTCDateTime

    rng = np.random.default_rng(seed)
    n = int(round(hours * 3600.0 * rate_hz))
    t = np.arange(400) / rate_hz
    wavelet = np.sin(2 * np.pi * 5.0 * t) * np.exp(-t / 0.8)
    t0 = UTCDateTime("2024-05-01T00:00:00")
    st = Stream()
    for i in range(n_stations):
        data = rng.normal(0.0, 100.0, (3, n))
        for k, onset_s in enumerate(np.arange(60.0, hours * 3600.0 - 60.0, 300.0)):
            ts_p = int((onset_s + 2.0 * i) * rate_hz)
            ts_s = ts_p + int(8.0 * rate_hz)
            amp = 3000.0 * (1 + k % 3)
            data[0, ts_p:ts_p + t.size] += amp * wavelet
            data[1:, ts_s:ts_s + t.size] += 2.0 * amp * wavelet
        for comp, row in zip("ZNE", data):
            st.append(Trace(row.astype(np.int32), header={
                "network": "XJ", "station": f"B{i:03d}", "location": "", "channel": f"HH{comp}",
                "sampling_rate": rate_hz, "starttime": t0}))
    return st


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default=str(DEFAULT_MODEL))
    ap.add_argument("--stations", type=int, default=3)
    ap.add_argument("--hours", type=float, default=1.0)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--batch-size", type=int, default=256)
    ap.add_argument("--sensors-per-call", type=int, default=4)
    args = ap.parse_args()

    import torch

    torch.set_num_threads(args.threads)
    from tianshan.picks.ml import SeisBenchPicker

    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    st = synthetic_stream(args.stations, args.hours)
    picker = SeisBenchPicker(args.model, device=args.device, batch_size=args.batch_size,
                             sensors_per_call=args.sensors_per_call)
    rss1 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    picker.pick(st.slice(st[0].stats.starttime, st[0].stats.starttime + 120))  # warm-up
    t = time.perf_counter()
    picks = picker.pick(st)
    wall = time.perf_counter() - t
    rss2 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    data_s = args.stations * args.hours * 3600.0
    n_events = len(range(60, int(args.hours * 3600) - 60, 300))
    print(f"model {picker.name} ({type(picker.model).__name__}, {picker.sampling_rate_hz} Hz) "
          f"on {args.device}, torch threads {torch.get_num_threads()}, batch {args.batch_size}, "
          f"{args.sensors_per_call} sensors per call")
    print(f"data: {args.stations} stations x 3 comp x {args.hours:g} h at 100 Hz "
          f"({data_s / 3600:g} station-hours, {3 * data_s * 100 / 1e6:.1f} M samples)")
    print(f"pick(): {wall:.2f} s wall -> {data_s / wall:.0f} x real time "
          f"({data_s / wall / max(args.threads, 1):.0f} x real time per core)")
    n_p = sum(p.phase == "P" for p in picks)
    n_s = sum(p.phase == "S" for p in picks)
    print(f"picks: {n_p} P, {n_s} S (synthetic wavelets, not real earthquakes: "
          f"{n_events} P and {n_events} S per station)")
    print(f"peak RSS: {rss2:.0f} MB (after imports {rss0:.0f} MB, after data + model {rss1:.0f} MB)")


if __name__ == "__main__":
    main()

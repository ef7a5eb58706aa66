"""CPU share of the ring buffers (and the live archive) for 200 stations x 3 components x 100 Hz.

Plain script (no assertions): ``.venv/bin/python benchmarks/bench_buffers.py [--seconds 120]``.

Feeds ``--seconds`` of simulated real time through a :class:`BufferSet` as fast as possible,
measures process CPU time, and prints CPU share = CPU seconds / data seconds (1 core = 100 %).
Three feeds: float arrays (ingest_array, 1 s packets as SeedLink clients deliver after decoding),
raw 512-byte STEIM2 records (decode included; ~6 % of packets arrive twice, 2 % out of order),
and the same records appended to a :class:`LiveArchive` in a temporary folder (default fsync
policy, its sweep interval measured on the data clock so the fsync rate is the real-time one).
A listener that only counts samples is attached (the streaming picker's hook).
"""

from __future__ import annotations

import argparse
import io
import tempfile
import time

import numpy as np

from tianshan.core.ids import StreamID
from tianshan.stream.archive import LiveArchive
from tianshan.stream.buffers import BufferSet

T0_NS = 1_700_000_000 * 10**9
RATE = 100.0


def stream_ids(n_sta: int) -> list[StreamID]:
    return [StreamID("XJ", f"S{i:03d}", "00", f"HH{c}") for i in range(n_sta) for c in "ZNE"]


def bench_arrays(n_sta: int, seconds: int, packet_s: int = 1) -> tuple[float, dict]:
    rng = np.random.default_rng(0)
    sids = stream_ids(n_sta)
    noise = rng.normal(0, 100, int(RATE * packet_s)).astype(np.float32)
    clock = [T0_NS / 1e9]
    bs = BufferSet(300.0, clock=lambda: clock[0])
    count = [0]
    bs.add_listener(lambda seg: count.__setitem__(0, count[0] + len(seg.data)))
    bufs = [bs.add_channel(s, RATE) for s in sids]
    step = int(RATE * packet_s) * 10_000_000
    cpu0 = time.process_time()
    for p in range(seconds // packet_s):
        clock[0] = (T0_NS + (p + 1) * step) / 1e9
        t = T0_NS + p * step
        for b in bufs:
            b.ingest_array(t, noise, RATE)
    cpu = time.process_time() - cpu0
    assert count[0] == len(sids) * seconds * RATE
    return cpu / seconds, bs.totals()


def make_records(sids, seconds: int, seed: int = 1) -> list[tuple[int, bytes]]:
    """(time of the record end in ns, record) for every stream, STEIM2, 512 bytes."""
    from obspy import Trace, UTCDateTime

    rng = np.random.default_rng(seed)
    out = []
    for s in sids:
        # band-limited noise compresses like real broadband data (~350-450 samples/record)
        data = np.cumsum(rng.integers(-40, 41, int(seconds * RATE))).astype(np.int32)
        tr = Trace(data, header={"network": s.network, "station": s.station, "location": s.location,
                                 "channel": s.channel, "sampling_rate": RATE,
                                 "starttime": UTCDateTime(ns=T0_NS)})
        b = io.BytesIO()
        tr.write(b, format="MSEED", reclen=512, encoding="STEIM2")
        blob = b.getvalue()
        from tianshan.stream.archive import parse_record_header
        for i in range(0, len(blob), 512):
            rec = blob[i:i + 512]
            out.append((parse_record_header(rec).end_ns, rec))
    out.sort(key=lambda x: x[0])
    # disorder: 6 % duplicates, 2 % swapped with the next record
    recs = []
    for i, (t, r) in enumerate(out):
        recs.append((t, r))
        if rng.random() < 0.06:
            recs.append((t, r))
    for i in range(len(recs) - 1):
        if rng.random() < 0.02:
            recs[i], recs[i + 1] = recs[i + 1], recs[i]
    return recs


def bench_records(recs, seconds: int) -> tuple[float, dict]:
    clock = [T0_NS / 1e9]
    bs = BufferSet(300.0, clock=lambda: clock[0] + 1.0)
    bs.add_listener(lambda seg: None)
    cpu0 = time.process_time()
    for t, r in recs:
        clock[0] = t / 1e9
        bs.ingest_record(r)
    return (time.process_time() - cpu0) / seconds, bs.totals()


def bench_archive(recs, seconds: int) -> tuple[float, float, dict]:
    with tempfile.TemporaryDirectory() as tmp:
        clock = [0.0]
        arc = LiveArchive(tmp, monotonic=lambda: clock[0])  # fsync sweeps on the data clock
        cpu0 = time.process_time()
        w0 = time.perf_counter()
        for t, r in recs:
            clock[0] = t / 1e9
            arc.write(r)
        arc.close()
        cpu = time.process_time() - cpu0
        wall = time.perf_counter() - w0
        return cpu / seconds, wall / seconds, vars(arc.stats)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--stations", type=int, default=200)
    ap.add_argument("--seconds", type=int, default=120)
    args = ap.parse_args()
    n_ch = args.stations * 3
    print(f"{args.stations} stations x 3 components x {RATE:g} Hz = {n_ch} channels, "
          f"{args.seconds} s of data")
    share, tot = bench_arrays(args.stations, args.seconds)
    print(f"float arrays, 1 s packets : CPU share {100 * share:.2f} % of one core "
          f"({tot['samples_new']} samples)")
    recs = make_records(stream_ids(args.stations), args.seconds)
    n_unique = len({r for _, r in recs})
    print(f"records: {len(recs)} ({n_unique} unique, {len(recs) / args.seconds:.0f}/s, "
          f"{n_ch * args.seconds * RATE / n_unique:.0f} samples/record)")
    share, tot = bench_records(recs, args.seconds)
    print(f"512-byte STEIM2 records   : CPU share {100 * share:.2f} % of one core "
          f"(duplicates {tot['duplicates']}, backfilled {tot['backfilled_samples']}, "
          f"corrupt {tot['corrupt']}, gaps {tot['gaps']})")
    share, wall, st = bench_archive(recs, args.seconds)
    print(f"live archive (fsync 100 rec or 10 s sweep): CPU share {100 * share:.2f} %, wall share {100 * wall:.2f} % "
          f"(written {st['records_written']}, duplicates {st['duplicates']}, fsyncs {st['fsyncs']})")


if __name__ == "__main__":
    main()

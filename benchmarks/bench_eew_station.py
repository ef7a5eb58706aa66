"""Per-packet EEW computation time: 200 stations x 3 channels, 1-s packets at 100 Hz.

Plain script (no assertions): ``.venv/bin/python benchmarks/bench_eew_station.py [--stations 200]
[--seconds 120] [--rate 100]``.

Part 1 -- station processing (:class:`tianshan.eew.station.StationBank`): every second of data
time, one packet per channel (counts: band-limited noise, broadband velocity sensors with the
demo region's nominal gain) is processed: unit conversion, 0.075 Hz high-pass integration to
velocity and displacement, 3 Hz low-pass, trigger filter and STA/LTA. Every ``--event-every``
seconds a burst (an earthquake-like 5 Hz wave packet) is added to all vertical channels so
triggers, the rejection tests and captures are exercised too. Printed: wall time per round
(all ``stations x 3`` packets of one second) p50 / p99 / max, the same in CPU (thread) time
(what matters on a shared machine), and per channel packet.

Part 2 -- the whole engine (:class:`tianshan.eew.event.EEWEngine`) on a simulated Mw 5.5 of
the demo region (16 stations, 1-s packets): wall time of each round of packets plus
``update()`` (association, evolutionary location, magnitudes), p50 / p99 / max.
"""

from __future__ import annotations

import argparse
import math
import time

import numpy as np

T0_NS = 1_700_000_000 * 10**9


def _stations(n: int, rate: float):
    from tianshan.core.ids import StreamID
    from tianshan.core.station import Channel, InstrumentKind, Station
    from tianshan.regions.demo import BROADBAND_GAIN

    out = []
    for i in range(n):
        lat, lon = 40.0 + (i // 20) * 0.3, 80.0 + (i % 20) * 0.4
        code = f"S{i:03d}"
        chans = tuple(Channel(StreamID("XJ", code, "00", "HH" + c), lat, lon, 0.0, rate,
                              azimuth_deg={"N": 0.0, "E": 90.0}.get(c, 0.0), dip_deg=-90.0 if c == "Z" else 0.0,
                              kind=InstrumentKind.BROADBAND, gain=BROADBAND_GAIN) for c in "ZNE")
        out.append(Station("XJ", code, lat, lon, 0.0, channels=chans))
    return out


def bench_stations(n_sta: int, seconds: int, rate: float, event_every: int) -> None:
    from scipy.signal import lfilter

    from tianshan.eew.station import StationBank

    rng = np.random.default_rng(0)
    stations = _stations(n_sta, rate)
    bank = StationBank(stations)
    npk = int(rate)
    # band-limited noise (~3000 counts rms, like the simulated broadband records)
    noise = lfilter([1.0], [1.0, -0.95], rng.normal(0, 1000, (3 * n_sta, seconds * npk)), axis=1)
    t = np.arange(npk) / rate
    burst = (2e5 * np.sin(2 * math.pi * 5 * t) * np.exp(-t)).astype(float)
    ids = [ch.stream_id for st in stations for ch in st.channels]
    rounds, cpus = [], []
    for k in range(seconds):
        start = T0_NS + k * 1_000_000_000
        c0, u0 = time.perf_counter(), time.thread_time()
        for j, sid in enumerate(ids):
            block = noise[j, k * npk:(k + 1) * npk]
            if event_every and k % event_every == event_every - 1 and sid.channel.endswith("Z"):
                block = block + burst
            bank.process(sid, start, rate, block)
        rounds.append(time.perf_counter() - c0)
        cpus.append(time.thread_time() - u0)
    r = np.array(rounds[10:])  # after the filters' first-use warm-up
    u = np.array(cpus[10:])
    c = bank.counters
    print(f"station processing: {n_sta} stations x 3 channels, {rate:g} Hz, 1-s packets, {seconds} s")
    print(f"  per round (all {3 * n_sta} packets): p50 {1e3 * np.percentile(r, 50):.1f} ms, "
          f"p99 {1e3 * np.percentile(r, 99):.1f} ms, max {1e3 * r.max():.1f} ms "
          f"(= {100 * np.percentile(r, 50):.1f} % of one core at p50)")
    print(f"  CPU per round (thread time, robust to a busy machine): p50 {1e3 * np.percentile(u, 50):.1f} ms, "
          f"p99 {1e3 * np.percentile(u, 99):.1f} ms")
    per = r / (3 * n_sta)
    print(f"  per channel packet: p50 {1e6 * np.percentile(per, 50):.0f} us, p99 {1e6 * np.percentile(per, 99):.0f} us")
    print(f"  triggers {c.triggers}, rejected spike/step/sustain/period "
          f"{c.rejected_spike}/{c.rejected_step}/{c.rejected_sustain}/{c.rejected_period}")


def bench_engine(seed: int = 7) -> None:
    from datetime import datetime, timezone

    from tianshan.eew.event import EEWEngine
    from tianshan.eew.locate import haversine_m
    from tianshan.regions.demo import demo_region
    from tianshan.sim.scenario import simulate_scenario
    from tianshan.sim.source import Source

    region = demo_region()
    lat, lon = 42.05, 86.35
    stations = sorted(region.stations, key=lambda s: float(haversine_m(s.latitude_deg, s.longitude_deg, lat, lon)))[:16]
    src = Source(lat, lon, 10_000.0, 5.5, datetime(2024, 5, 1, 3, 0, 0, tzinfo=timezone.utc))
    res = simulate_scenario(src, stations, region.velocity_model, duration_s=100.0, rng=seed)
    c0 = time.perf_counter()
    eng = EEWEngine(res.stations, res.model)
    build = time.perf_counter() - c0
    rounds, updates, cpu_updates = [], [], []
    for k in range(int(res.duration_s)):
        c0 = time.perf_counter()
        for tr in res.stream:
            i0 = k * 100
            eng.process(tr.id, tr.stats.starttime._ns + i0 * 10_000_000, 100.0, tr.data[i0:i0 + 100])
        c1, u1 = time.perf_counter(), time.thread_time()
        eng.update()
        c2 = time.perf_counter()
        cpu_updates.append(time.thread_time() - u1)
        rounds.append(c2 - c0)
        updates.append(c2 - c1)
    r, u, cu = np.array(rounds), np.array(updates), np.array(cpu_updates)
    first = eng.history[0] if eng.history else None
    print(f"engine on a simulated Mw 5.5 (16 stations x 6 channels, 100 s; tables built in {build:.2f} s):")
    print(f"  per round (packets + update): p50 {1e3 * np.percentile(r, 50):.1f} ms, "
          f"p99 {1e3 * np.percentile(r, 99):.1f} ms, max {1e3 * r.max():.1f} ms")
    print(f"  update alone: p50 {1e3 * np.percentile(u, 50):.2f} ms, p99 {1e3 * np.percentile(u, 99):.1f} ms, "
          f"max {1e3 * u.max():.1f} ms (CPU p99 {1e3 * np.percentile(cu, 99):.1f} ms, "
          f"max {1e3 * cu.max():.1f} ms); versions {len(eng.history)}")
    if first is not None:
        print(f"  first version at data time origin + {(first.data_time - src.origin_time).total_seconds():.1f} s, "
              f"M {first.magnitude:.2f}, {first.n_stations} stations")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--stations", type=int, default=200)
    ap.add_argument("--seconds", type=int, default=120)
    ap.add_argument("--rate", type=float, default=100.0)
    ap.add_argument("--event-every", type=int, default=30)
    ap.add_argument("--skip-engine", action="store_true")
    a = ap.parse_args()
    bench_stations(a.stations, a.seconds, a.rate, a.event_every)
    if not a.skip_engine:
        bench_engine()


if __name__ == "__main__":
    main()

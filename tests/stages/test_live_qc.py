"""Live QC (:class:`tianshan.stages.qc.LiveQC`) on packets fed through a real BufferSet, and the
streaming picker leaving the channels it excludes out of its windows.

Faults are injected into otherwise clean band-limited noise: a flat (dead) channel, a burst of
spikes, a long gap, a stream that stops, a station far behind the network; a clean channel must
never be excluded. The wall clock is injected so that latency and stalls are deterministic.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timezone

import numpy as np
import pytest
from obspy import Trace, UTCDateTime

from tianshan.bus.codec import decode
from tianshan.bus.memory import InProcessBus
from tianshan.core.ids import StreamID
from tianshan.core.qc import QCKind
from tianshan.stages.qc import LiveQC, LiveQCConfig
from tianshan.stream.buffers import BufferSet

T0 = UTCDateTime(2024, 5, 1, 12, 0, 0)
RATE = 100.0
CLEAN = StreamID("XJ", "GOOD", "00", "HHZ")


class Clock:
    def __init__(self, t: float) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


def _noise(n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = np.cumsum(rng.normal(0.0, 50.0, n))
    return x - np.convolve(x, np.ones(101) / 101, mode="same")  # band-limited: no trend, no flat runs


def _feed(buffers: BufferSet, clock: Clock, series: dict[StreamID, np.ndarray], start: UTCDateTime,
          seconds: int, lag_s: dict | None = None, skip: dict | None = None, offset_s: float = 2.0) -> None:
    """1 s packets of each series, interleaved; at wall step ``k`` (clock = data second ``k`` + 1 +
    ``offset_s``) a stream with lag ``L`` delivers data second ``k - L``; ``skip``: steps left out."""
    lag_s = lag_s or {}
    for k in range(seconds):
        clock.t = float(start + k + 1) + offset_s
        for sid, x in series.items():
            if skip and sid in skip and skip[sid][0] <= k < skip[sid][1]:
                continue
            j = k - int(lag_s.get(sid, 0))
            if j < 0:
                continue
            t = start + j
            i = int(round((t - T0) * RATE))
            if i + 100 > len(x):
                continue
            tr = Trace(x[i:i + 100].astype(np.float32),
                       header={"network": sid.network, "station": sid.station, "location": sid.location,
                               "channel": sid.channel, "sampling_rate": RATE, "starttime": t})
            buffers.ingest_trace(tr)


def _setup(config=None, bus=None):
    clock = Clock(float(T0))
    qc = LiveQC(config or LiveQCConfig(window_s=120.0, recover_s=30.0, max_flat_s=20.0, max_spikes=10), bus, clock=clock)
    buffers = BufferSet(capacity_s=300.0, clock=clock)
    qc.attach(buffers)
    return qc, buffers, clock


def test_flat_channel_is_excluded_then_included_again():
    dead = StreamID("XJ", "DEAD", "00", "HHZ")
    x = _noise(300 * 100, 1)
    y = _noise(300 * 100, 2)
    y[60 * 100:100 * 100] = 1234.0  # 40 s stuck at one value, from t0 + 60 s
    qc, buffers, clock = _setup()
    _feed(buffers, clock, {CLEAN: x, dead: y}, T0, 300)
    assert qc.excluded(CLEAN, T0 + 200) == ()
    assert qc.counters.excluded == 1 and qc.counters.included == 1
    before, during, after = qc.excluded(dead, T0 + 70), qc.excluded(dead, T0 + 90), qc.excluded(dead, T0 + 200)
    assert before == () and after == ()
    assert len(during) == 1 and during[0].startswith("flat (dead) channel")
    # excluded from when the run reached 20 s (t0 + 80 s) until 30 s of clean data after it ended (t0 + 130 s)
    assert qc.excluded(dead, T0 + 79.5) == () and qc.excluded(dead, T0 + 80.5)
    assert qc.excluded(dead, T0 + 129) and not qc.excluded(dead, T0 + 131)
    assert qc.counters.listener_errors == 0


def test_spikes_and_gaps_exclude_only_the_faulty_channels():
    spiky = StreamID("XJ", "SPKY", "00", "HHZ")
    holey = StreamID("XJ", "HOLE", "00", "HHZ")
    x, y, z = _noise(200 * 100, 3), _noise(200 * 100, 4), _noise(200 * 100, 5)
    y[50 * 100:60 * 100:50] += 1e6  # 20 isolated spikes in 10 s
    qc, buffers, clock = _setup()
    _feed(buffers, clock, {CLEAN: x, spiky: y, holey: z}, T0, 200, skip={holey: (40, 110)})  # 70 s missing
    m = qc.metrics(spiky)
    assert qc.counters.spikes >= 20
    reasons = qc.excluded(spiky, T0 + 61)
    assert reasons and reasons[0].startswith("spikes: ")
    assert qc.excluded(spiky, T0 + 49) == ()
    hole = qc.excluded(holey, T0 + 111)
    assert hole and hole[0].startswith("low availability")
    assert qc.metrics(holey)["gaps"] == 1
    assert qc.excluded(CLEAN, T0 + 150) == () and qc.metrics(CLEAN)["availability_pct"] == pytest.approx(100.0)
    assert m["flat_s"] < 1.0


def test_latency_and_stall_use_the_network_and_the_wall_clock():
    late = StreamID("XJ", "LATE", "00", "HHZ")
    stop = StreamID("XJ", "STOP", "00", "HHZ")
    other = StreamID("XJ", "OTHR", "00", "HHZ")
    series = {CLEAN: _noise(200 * 100, 6), other: _noise(200 * 100, 7), late: _noise(200 * 100, 8),
              stop: _noise(200 * 100, 9)}
    qc, buffers, clock = _setup(LiveQCConfig(window_s=120.0, max_latency_s=60.0, max_stall_s=30.0))
    # a replay: every stream 10 days late -> nothing is excluded for latency
    _feed(buffers, clock, {CLEAN: series[CLEAN], other: series[other]}, T0, 30, offset_s=864000.0)
    assert qc.excluded_now() == {} and qc.metrics(CLEAN)["latency_s"] == pytest.approx(864000.0)
    qc2, buffers2, clock2 = _setup(LiveQCConfig(window_s=120.0, max_latency_s=60.0, max_stall_s=30.0))
    _feed(buffers2, clock2, series, T0, 150, lag_s={late: 80}, skip={stop: (40, 200)})
    assert qc2.excluded(late, T0 + 69)[0].startswith("latency: ")  # 80 s behind the others
    assert qc2.excluded(CLEAN, T0 + 149) == () and qc2.excluded(other, T0 + 149) == ()
    qc2.check()  # STOP has sent nothing for 110 s of wall time while the others kept delivering
    reasons = qc2.excluded_now()[stop]
    assert reasons[0].startswith("stalled: ")
    assert qc2.excluded(stop, T0 + 40.5) and not qc2.excluded(stop, T0 + 39.5)  # from the end of its data


def test_exclusion_is_published_as_a_qc_record():
    dead = StreamID("XJ", "DEAD", "00", "HHZ")
    y = _noise(100 * 100, 10)
    y[10 * 100:] = 0.0

    async def main():
        bus = InProcessBus()
        got = []

        async def handler(msg):
            got.append(decode(msg.data))

        await bus.subscribe("tianshan.test.qc", handler)
        clock = Clock(float(T0))
        qc = LiveQC(LiveQCConfig(max_flat_s=20.0), bus, subject="tianshan.test.qc", clock=clock)
        buffers = BufferSet(capacity_s=300.0, clock=clock)
        qc.attach(buffers)
        await qc.start()
        _feed(buffers, clock, {dead: y}, T0, 100)
        await qc.flush()
        async with asyncio.timeout(5):
            while not got:
                await asyncio.sleep(0.01)
        await qc.close()
        await bus.close()
        return got

    got = [r for r in asyncio.run(main()) if r.kind is not QCKind.LATENCY]  # latency snapshots: test_live_qc_store
    assert len(got) == 1
    rec = got[0]
    assert rec.stream_id == dead and rec.kind is QCKind.FLAT and rec.value >= 20.0
    assert rec.detail.startswith("excluded from processing: flat (dead) channel")


def test_streaming_picker_leaves_excluded_channels_out():
    """A simulated Mw 4 at two stations; the live QC excludes one (stuck channel): no pick from it."""
    from datetime import timedelta

    from tianshan.picks.stalta import ClassicPicker
    from tianshan.regions.demo import demo_region
    from tianshan.sim.scenario import simulate_scenario
    from tianshan.sim.source import Source
    from tianshan.stages.picking import StreamingPicker

    region = demo_region()
    lat, lon = 41.95, 84.30
    stations = sorted(region.stations, key=lambda s: (s.latitude_deg - lat) ** 2 + (s.longitude_deg - lon) ** 2)[:2]
    origin = datetime(2024, 5, 1, 12, 0, 0, tzinfo=timezone.utc)
    scen = simulate_scenario(Source(lat, lon, 10_000.0, 4.0, origin), stations, region.velocity_model,
                             duration_s=120.0, rng=7)
    stream = scen.stream.select(channel="HH?")
    bad = stations[0].code
    for tr in stream.select(station=bad):
        tr.data = np.zeros_like(tr.data)  # stuck from the start
    t0 = min(tr.stats.starttime for tr in stream)

    async def main():
        bus = InProcessBus()
        got = []

        async def handler(msg):
            got.append(decode(msg.data))

        await bus.subscribe("tianshan.test.picks", handler)
        qc = LiveQC(LiveQCConfig(max_flat_s=10.0), None)
        buffers = BufferSet(capacity_s=300.0)
        qc.attach(buffers)
        sp = StreamingPicker(ClassicPicker(), bus, subject="tianshan.test.picks", clock_subject=None,
                             exclusions=[qc])
        sp.attach(buffers)
        await sp.start()
        k = 0
        while t0 + k <= max(tr.stats.endtime for tr in stream):
            for tr in stream:
                piece = tr.slice(t0 + k, t0 + k + 1 - tr.stats.delta / 2)
                if piece.stats.npts:
                    buffers.ingest_trace(piece)
            await asyncio.sleep(0)
            k += 1
        await sp.flush()
        async with asyncio.timeout(5):
            while len(got) < sp.counters.picks_published:
                await asyncio.sleep(0.01)
        await sp.close()
        await bus.close()
        return qc, sp, got

    qc, sp, got = asyncio.run(main())
    assert set(s.station for s in qc.excluded_now()) == {bad}
    assert sp.counters.excluded_channel_windows > 0
    stations_picked = {p.stream_id.station for p in got}
    assert bad not in stations_picked
    assert stations_picked == {stations[1].code}  # the other one still picks the event
    assert all(p.time > origin + timedelta(seconds=1) for p in got)


def test_daemon_settings_build_or_disable_the_live_qc():
    from types import SimpleNamespace

    from tianshan.stages.qc import live_qc_from_settings

    default = live_qc_from_settings(None)
    assert default is not None and default.config == LiveQCConfig()
    assert live_qc_from_settings(SimpleNamespace(enabled=False)) is None
    custom = live_qc_from_settings(SimpleNamespace(enabled=True, max_flat_s=30.0, max_spikes=None, other=1))
    assert custom.config.max_flat_s == 30.0 and custom.config.max_spikes is None
    from tianshan.core.errors import InputError

    with pytest.raises(InputError):
        LiveQCConfig(window_s=0.0)

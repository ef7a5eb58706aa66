"""StreamingPicker on a simulated Mw 4 event fed to a BufferSet in 1 s packets."""

from __future__ import annotations

import asyncio
import math
from datetime import datetime, timezone

import pytest

from tianshan.bus.codec import decode
from tianshan.bus.memory import InProcessBus
from tianshan.picks.stalta import ClassicPicker
from tianshan.regions.demo import demo_region
from tianshan.sim.scenario import simulate_scenario
from tianshan.sim.source import Source
from tianshan.stages.picking import StreamingPicker
from tianshan.stream.buffers import BufferSet

SUBJECT = "tianshan.test.picks"


def _dist(st, lat, lon):
    return math.hypot(st.latitude_deg - lat, (st.longitude_deg - lon) * math.cos(math.radians(lat)))


@pytest.fixture(scope="module")
def scenario():
    region = demo_region()
    lat, lon = 41.95, 84.30
    stations = sorted(region.stations, key=lambda s: _dist(s, lat, lon))[:3]
    src = Source(lat, lon, 10_000.0, 4.0, datetime(2024, 5, 1, 12, 0, 0, tzinfo=timezone.utc))
    return simulate_scenario(src, stations, region.velocity_model, duration_s=120.0, rng=7)


def _packets(stream, packet_s=1.0):
    """1 s slices of every trace, time-interleaved across channels (as a SeedLink feed delivers them)."""
    t0 = min(tr.stats.starttime for tr in stream)
    t1 = max(tr.stats.endtime for tr in stream)
    out = []
    k = 0
    while t0 + k * packet_s <= t1:
        a = t0 + k * packet_s
        for tr in stream:
            piece = tr.slice(a, a + packet_s - tr.stats.delta / 2)
            if piece.stats.npts:
                out.append(piece)
        k += 1
    return out


def test_stable_key_is_deterministic_and_sub_second():
    from datetime import timedelta

    from tianshan.core.ids import StreamID
    from tianshan.core.pick import Pick
    from tianshan.stages.picking import stable_pick_key

    t = datetime(2024, 5, 1, 12, 0, 3, 540000, tzinfo=timezone.utc)
    sid = StreamID("TS", "LUNT", "00", "HHZ")
    a, b = Pick(sid, t, "P"), Pick(sid, t, "P")
    assert a.id != b.id and stable_pick_key(a) == stable_pick_key(b) == "pick:TS.LUNT.00.HHZ:P:1714564803540"
    assert stable_pick_key(Pick(sid, t + timedelta(milliseconds=10), "P")) != stable_pick_key(a)


class _BadPicker:
    name = "bad"

    def pick(self, stream):
        raise ValueError("boom")


def test_streaming_picks_match_batch_and_are_published_once(scenario):
    stream = scenario.stream
    batch_all = ClassicPicker().pick(stream)
    batch = [p for p in batch_all if p.phase.upper() == "P"]
    assert len(batch) >= 3  # the Mw 4 P onset at each of the three stations

    async def main():
        bus = InProcessBus()
        got = []

        async def handler(msg):
            got.append((msg, decode(msg.data)))

        await bus.subscribe(SUBJECT, handler)
        sp = StreamingPicker(ClassicPicker(), bus, subject=SUBJECT)
        buffers = BufferSet(capacity_s=300.0)
        sp.attach(buffers)
        await sp.start()
        for pkt in _packets(stream):
            buffers.ingest_trace(pkt)
            await asyncio.sleep(0)
        await sp.flush()
        async with asyncio.timeout(5):  # let the bus deliver what was published
            while len(got) < sp.counters.picks_published:
                await asyncio.sleep(0.01)
        await sp.close()
        await bus.close()
        return sp, got

    sp, got = asyncio.run(main())
    picks = [p for _, p in got]
    assert sp.counters.picker_errors == 0 and sp.counters.publish_errors == 0
    assert sp.counters.listener_errors == 0
    assert sp.counters.windows >= 3 * 10
    assert sp.counters.picks_published == len(picks)
    assert sp.counters.duplicates_suppressed > 0  # every onset is seen by several windows
    # no pick twice: distinct keys, and no two of one station/phase within 1 s
    keys = [p.id for p in picks]  # the stable bus key
    assert len(set(keys)) == len(keys)
    for i, a in enumerate(picks):
        for b in picks[i + 1:]:
            if a.stream_id.station_id == b.stream_id.station_id and a.phase == b.phase:
                assert abs((a.time - b.time).total_seconds()) > 1.0, (a, b)
    for bp in batch_all:  # P (the brief) and S (held back until the S search has its data)
        near = [p for p in picks if p.phase.upper() == bp.phase.upper() and p.stream_id.station_id == bp.stream_id.station_id
                and abs((p.time - bp.time).total_seconds()) <= 0.2]
        assert len(near) == 1, (bp, [(p.stream_id, p.time) for p in picks])


def test_picker_errors_are_counted_not_raised(scenario):
    async def main():
        bus = InProcessBus()
        sp = StreamingPicker(_BadPicker(), bus, subject=SUBJECT)
        buffers = BufferSet(capacity_s=300.0)
        sp.attach(buffers)
        await sp.start()
        for pkt in _packets(scenario.stream.select(station=scenario.stream[0].stats.station))[:90]:
            buffers.ingest_trace(pkt)  # must not raise
        await sp.drain()
        await sp.close()
        await bus.close()
        return sp, buffers

    sp, buffers = asyncio.run(main())
    assert sp.counters.windows > 0
    assert sp.counters.picker_errors == sp.counters.windows
    assert sp.counters.picks_published == 0
    assert buffers.totals()["listener_errors"] == 0

"""StreamingPicker on a simulated Mw 4 event fed to a BufferSet in 1 s packets.

The streaming picker must publish the picks the batch picker makes on the whole record, and
no others: before the window-independent flat-span rule and the window-start rule it
published 6 noise picks on this scenario (one quiet accelerometer, XINH.HN?).
"""

from __future__ import annotations

import asyncio
import json
import math
from datetime import datetime, timedelta, timezone

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
CLOCK = "tianshan.test.clock"


def _near(pick, picks, tol_s=0.2):
    return [p for p in picks if p.phase.upper() == pick.phase.upper()
            and p.stream_id.station_id == pick.stream_id.station_id
            and abs((p.time - pick.time).total_seconds()) <= tol_s]


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
        assert len(_near(bp, picks)) == 1, (bp, [(p.stream_id, p.time) for p in picks])
    # ... and nothing else: no noise picks at the quiet accelerometer's flat runs (6 before)
    extra = [(str(p.stream_id), p.phase, p.time.isoformat()) for p in picks if not _near(p, batch_all)]
    assert extra == []
    assert len(picks) == len(batch_all)


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


async def _replay(stream, sp, *, capacity_s=300.0, now=None, lag_s=0.25, delay_s=None, step=True):
    """Feed ``stream`` in 1 s packets in order of arrival: packet end + ``lag_s`` (+ ``delay_s[station]``).

    ``now[0]`` (the picker's clock) is set to each packet's arrival time; ``step``: wait for the
    picker after each packet (deterministic windows, as in real time).
    """
    delay_s = delay_s or {}
    buffers = BufferSet(capacity_s=capacity_s)
    sp.attach(buffers)
    await sp.start()
    arrivals = sorted(((pkt.stats.endtime.timestamp + lag_s + delay_s.get(pkt.stats.station, 0.0), i, pkt)
                       for i, pkt in enumerate(_packets(stream))), key=lambda a: a[:2])
    for arrival, _, pkt in arrivals:
        if now is not None:
            now[0] = arrival
        buffers.ingest_trace(pkt)
        if step:
            await sp.drain()
        else:
            await asyncio.sleep(0)
    await sp.flush()
    return buffers


async def _settle(got, n):
    async with asyncio.timeout(5):  # let the bus deliver what was published
        while len(got) < n:
            await asyncio.sleep(0.01)


def test_latency_clock_heartbeat_and_frontier(scenario):
    stream = scenario.stream
    now = [0.0]
    seen = []

    async def main():
        bus = InProcessBus()
        got = []  # (subject, payload) in delivery order: one subscription, so publish order

        async def handler(msg):
            got.append((msg.subject, decode(msg.data) if msg.subject == SUBJECT else json.loads(msg.data)))

        await bus.subscribe("tianshan.test.>", handler)
        sp = StreamingPicker(ClassicPicker(), bus, subject=SUBJECT, clock_subject=CLOCK, clock=lambda: now[0],
                             on_published=lambda pick, latency: seen.append((pick, latency)))
        # LUNT (the first P and S) comes 15 s late: the clock must wait for its windows (live: < stale_s)
        await _replay(stream, sp, now=now, delay_s={"LUNT": 15.0})
        await _settle(got, sp.counters.picks_published + sp.counters.clock_published)
        health = sp.health()
        await sp.close()
        await bus.close()
        return sp, got, health

    sp, got, health = asyncio.run(main())
    c = sp.counters
    picks = [p for subject, p in got if subject == SUBJECT]
    clocks = [(i, datetime.fromisoformat(m["data_time"])) for i, (subject, m) in enumerate(got) if subject == CLOCK]
    assert c.picks_published == len(picks) >= 6 and c.callback_errors == 0 and c.clock_errors == 0
    # packet-to-pick latency (data time here: the injected clock is the packets' arrival time)
    lat = sp.latencies_s()
    assert len(lat) == c.latencies_measured == c.picks_published and c.latency_unknown == 0
    assert [la for _, la in seen] == lat and [p.id for p, _ in seen] == [p.id for p in picks]
    for pick, latency in seen:
        if pick.phase == "P":  # published between edge_s and edge_s + step_s + a packet after the onset
            assert sp.edge_s - 1.0 <= latency <= sp.edge_s + sp.step_s + 1.0, (pick, latency)
        else:
            assert latency >= sp.s_edge_s - 1.0 or pick.time > sp.data_frontier() - timedelta(seconds=sp.s_edge_s)
    # data-time clock: on the bus every heartbeat_s of data, after the picks it covers
    end = max(tr.stats.endtime for tr in stream).datetime.replace(tzinfo=timezone.utc)
    assert sp.data_frontier() == end
    assert c.clock_published == len(clocks) >= 5
    assert all(m["source"] == "picker" for s, m in got if s == CLOCK)
    times = [t for _, t in clocks]
    assert times == sorted(set(times)) and times[-1] == end  # flush: the whole record picked
    assert all((b - a).total_seconds() >= sp.heartbeat_s for a, b in zip(times[:-2], times[1:-1]))
    for i, t in clocks:
        due = [p.id for p in picks if p.time <= t - timedelta(seconds=sp.settle_s + 1.0)]  # + a packet
        before = {p.id for s, p in got[:i] if s == SUBJECT}
        assert set(due) <= before, (t, due, before)
    assert health["ok"] and health["pending"] == 0 and health["data_frontier"] == end.isoformat()


def test_bus_outage_and_callback_failures_are_counted_not_raised(scenario):
    station = scenario.stream.select(station="LUNT")

    def boom(pick, latency):
        raise RuntimeError("consumer broke")

    async def main():
        down = InProcessBus()
        await down.close()  # the bus is down: every publish fails
        sp_down = StreamingPicker(ClassicPicker(), down, subject=SUBJECT, clock_subject=CLOCK)
        await _replay(station, sp_down)
        await sp_down.close()
        bus = InProcessBus()
        sp = StreamingPicker(ClassicPicker(), bus, subject=SUBJECT, clock_subject=CLOCK, on_published=boom)
        await _replay(station, sp)
        await sp.close()
        await bus.close()
        return sp_down, sp

    sp_down, sp = asyncio.run(main())
    d = sp_down.counters
    assert d.windows > 5 and d.picks_published == 0 and d.clock_published == 0
    assert d.publish_errors >= 1 and d.clock_errors >= 5
    assert sp.counters.picks_published >= 2 and sp.counters.callback_errors == sp.counters.picks_published
    assert sp.counters.clock_published >= 5 and sp.counters.picker_errors == 0


def test_gaps_and_window_starts_give_no_extra_picks():
    """A gap after the ring buffer wrapped, and windows starting in the event's coda."""
    from obspy import UTCDateTime

    region = demo_region()
    lat, lon = 41.95, 84.30
    station = sorted(region.stations, key=lambda s: _dist(s, lat, lon))[:1]
    src = Source(lat, lon, 10_000.0, 4.0, datetime(2024, 5, 1, 12, 0, 0, tzinfo=timezone.utc))
    stream = simulate_scenario(src, station, region.velocity_model, duration_s=200.0, rng=7).stream
    # 8 s missing on the broadband 80 s after the S: the ring slots still hold the S (capacity 80 s)
    g0, g1 = UTCDateTime(2024, 5, 1, 12, 1, 25), UTCDateTime(2024, 5, 1, 12, 1, 33)
    gapped = stream.copy()
    for tr in gapped.select(channel="HH?"):
        gapped.remove(tr)
        gapped.append(tr.slice(tr.stats.starttime, g0 - tr.stats.delta))
        gapped.append(tr.slice(g1, tr.stats.endtime))
    batch = ClassicPicker().pick(gapped)
    assert {p.phase for p in batch} == {"P", "S"}

    async def main():
        bus = InProcessBus()
        got = []

        async def handler(msg):
            got.append(decode(msg.data))

        await bus.subscribe(SUBJECT, handler)
        sp = StreamingPicker(ClassicPicker(), bus, subject=SUBJECT)
        buffers = await _replay(gapped, sp, capacity_s=80.0)
        await _settle(got, sp.counters.picks_published)
        await sp.close()
        await bus.close()
        return sp, got, buffers

    sp, picks, buffers = asyncio.run(main())
    assert buffers.totals()["gaps"] == 3 and sp.counters.picker_errors == 0
    assert sp.counters.start_deferred > 0  # windows starting in the coda picked it as a P (before the rule)
    assert [(p.stream_id.station_id, p.phase) for p in picks] == [(p.stream_id.station_id, p.phase) for p in batch]
    for bp in batch:
        assert len(_near(bp, picks)) == 1, (bp, picks)

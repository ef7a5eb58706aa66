"""MagnitudeStage on a simulated Mw 4.5 event: ring buffers and the SDS archive, debounce, cancel, bad input."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import timedelta

import pytest

from tianshan.bus import codec, subjects
from tianshan.bus.memory import InProcessBus
from tianshan.core.errors import InputError
from tianshan.core.ids import new_resource_id
from tianshan.stages.magnitudes import MagnitudeStage, event_window
from tianshan.stages.waveforms import ArchiveWaveforms, BufferWaveforms
from tianshan.store import EventStore
from tianshan.stream.buffers import BufferSet


@pytest.fixture(scope="module")
def pkts(scn, sc):
    return scn.packets(sc.result.stream)


def _latest(magnitudes):
    """The newest stored magnitude of each type."""
    out = {}
    for m in magnitudes:
        if m.type not in out or m.version > out[m.type].version:
            out[m.type] = m
    return out


async def _until(cond, timeout_s=60.0):
    async with asyncio.timeout(timeout_s):
        while not cond():
            await asyncio.sleep(0.02)


async def _collect(bus, subject, into):
    async def handler(msg):
        into.append((msg.headers.get("Nats-Msg-Id"), *codec.decode_with_meta(msg.data)))

    await bus.subscribe(subject, handler)


def _buffers(pkts, until=None) -> BufferSet:
    buffers = BufferSet(capacity_s=900.0)
    _feed(buffers, pkts, until=until)
    return buffers


def _feed(buffers, pkts, start=None, until=None):
    for p in pkts:
        if (start is None or p.stats.starttime >= start) and (until is None or p.stats.starttime < until):
            buffers.ingest_trace(p)


@pytest.mark.parametrize("kind", ["buffers", "archive", "archive-process", "buffers-process"])
def test_declared_then_final_matches_batch(tmp_path, sc, pkts, kind):
    from obspy import UTCDateTime

    from tianshan.io.sds import write_sds

    event = sc.event
    eid = event.id
    first_pick = min(p.time for p in event.picks)
    cut = UTCDateTime(first_pick + timedelta(seconds=20))  # data so far when the event is declared
    stream = sc.result.stream
    processes = 1 if kind.endswith("-process") else 0  # computations in a worker process
    if kind.startswith("buffers"):
        buffers = _buffers(pkts, until=cut)
        source = BufferWaveforms(buffers)
    else:
        write_sds(stream.slice(endtime=cut), tmp_path / "sds")
        source = ArchiveWaveforms(tmp_path / "sds")
    timeline, published = [], []

    async def main():
        bus = InProcessBus()
        store = EventStore.open(data_dir=tmp_path)
        store.save_event(event)  # the associator stores the event before publishing it
        await _collect(bus, subjects.MAGNITUDES, published)
        stage = MagnitudeStage(bus, store, source, sc.network, on_timeline=lambda *a: timeline.append(a),
                               processes=processes)
        await stage.start()
        await bus.publish(subjects.EVENTS, codec.encode(event, change="declared"), key=f"{eid}:declared:0")
        await _until(lambda: stage.counters.computations == 1 and stage.health()["pending"] == 0)
        early = store.get_event(eid)
        if kind.startswith("buffers"):
            _feed(buffers, pkts, start=cut)
        else:
            write_sds(stream, tmp_path / "sds")  # the rest of the record arrives
        await bus.publish(subjects.EVENTS, codec.encode(event, change="final"), key=f"{eid}:final:1")
        await _until(lambda: stage.counters.finals == 1)
        await _until(lambda: len(published) >= stage.counters.published)
        health = stage.health()
        await stage.close()
        await bus.close()
        final = store.get_event(eid)
        store.close()
        return stage, early, final, health

    stage, early, final, health = asyncio.run(main())
    c = stage.counters
    assert c.compute_errors == 0 and c.store_errors == 0 and c.final_timeouts == 0 and c.bad_payloads == 0
    assert c.pool_failures == 0 and (stage._pool is None)  # closed
    assert health["ok"] and health["pending"] == 0
    # declared: magnitudes from the data available so far (the near station's S only)
    assert early.magnitudes and early.preferred_magnitude is not None
    # final: the batch chain's values on the whole record (same window, same computation)
    latest = _latest(final.magnitudes)
    for m in sc.batch.magnitudes:
        assert m.type in latest and abs(latest[m.type].value - m.value) <= 0.3, (m, latest.get(m.type))
        assert latest[m.type].station_count == m.station_count
    assert final.preferred_magnitude.type == sc.batch.preferred.type == "Mw"
    assert abs(final.preferred_magnitude.value - 4.5) <= 0.3
    # amplitudes of the stored station magnitudes are linked to the event
    amp_ids = {a.id for a in final.amplitudes}
    assert all(sm.amplitude_id in amp_ids for m in final.magnitudes for sm in m.station_magnitudes)
    # every stored magnitude published once, with its event id, stable key and flags
    keys = [k for k, *_ in published]
    assert len(set(keys)) == len(keys) == len(final.magnitudes) == c.magnitudes_stored
    assert {(m.id, m.version) for _, m, _ in published} == {(m.id, m.version) for m in final.magnitudes}
    assert all(meta["event_id"] == eid for *_, meta in published)
    assert any(meta["final"] and meta["preferred"] for *_, meta in published)
    assert all(k == f"mag:{eid}:{m.type}:{m.version}" for k, m, _ in published)
    # timeline: one first_magnitude, its data time the end of the data the declared computation had
    assert [a[1] for a in timeline] == ["first_magnitude"]
    assert timeline[0][0] == eid
    assert timeline[0][2] <= (cut + 1.0).datetime.replace(tzinfo=first_pick.tzinfo)  # + the 1 s packet under way


def test_debounce_keeps_one_computation_and_the_newest_origin_wins(tmp_path, sc, pkts):
    event = sc.event
    eid = event.id
    source = BufferWaveforms(_buffers(pkts))
    now = [1000.0]  # wall clock frozen: the debounce interval never passes

    async def main():
        bus = InProcessBus()
        store = EventStore.open(data_dir=tmp_path)
        store.save_event(event)
        stage = MagnitudeStage(bus, store, source, sc.network, min_interval_s=60.0, clock=lambda: now[0])
        await stage.start()
        await bus.publish(subjects.EVENTS, codec.encode(event, change="declared"))
        await _until(lambda: stage.counters.computations == 1)
        ev = event
        for k in range(3):  # three relocations in quick succession
            o = replace(ev.preferred_origin, id=new_resource_id("origin"),  # moved 0.15 deg north each time
                        latitude_deg=ev.preferred_origin.latitude_deg + 0.15)
            store.update_event(eid, origin=o)
            ev = ev.with_origin(o)
            await bus.publish(subjects.EVENTS, codec.encode(ev, change="updated"))
        await _until(lambda: stage.counters.events_received == 4)
        await asyncio.sleep(0.3)
        held = (stage.counters.computations, stage.health()["pending"])
        await bus.publish(subjects.EVENTS, codec.encode(ev, change="final"))
        await _until(lambda: stage.counters.finals == 1)
        await stage.close()
        await bus.close()
        stored = store.get_event(eid)
        store.close()
        return stage, held, ev, stored

    stage, held, ev, stored = asyncio.run(main())
    assert held == (1, 1)                     # the relocations wait for the interval...
    assert stage.counters.coalesced == 2      # ... and replace each other: only the newest is kept
    assert stage.counters.computations == 2   # the final one does not wait for the interval
    # measured: the declared origin, then the newest relocation (50 km away: ML moved); none in between
    assert {m.origin_id for m in stored.magnitudes} == {event.preferred_origin.id, ev.preferred_origin.id}
    assert _latest(stored.magnitudes)["ML"].origin_id == ev.preferred_origin.id


def test_cancelled_and_merged_events_stop_being_processed(tmp_path, sc, pkts):
    event = sc.event
    other = replace(event, id="smi:org.tianshan/event/other")
    source = BufferWaveforms(_buffers(pkts))
    now = [1000.0]

    async def main():
        bus = InProcessBus()
        store = EventStore.open(data_dir=tmp_path)
        store.save_event(event)
        stage = MagnitudeStage(bus, store, source, sc.network, min_interval_s=60.0, clock=lambda: now[0])
        await stage.start()
        await bus.publish(subjects.EVENTS, codec.encode(other, change="cancelled"))
        await bus.publish(subjects.EVENTS, codec.encode(other, change="declared"))
        await bus.publish(subjects.EVENTS, codec.encode(other, change="final"))
        await bus.publish(subjects.EVENTS, codec.encode(event, change="declared"))
        await _until(lambda: stage.counters.computations == 1)
        o = replace(event.preferred_origin, id=new_resource_id("origin"))
        store.update_event(event.id, origin=o)
        await bus.publish(subjects.EVENTS, codec.encode(event.with_origin(o), change="updated"))  # held back
        await bus.publish(subjects.EVENTS, codec.encode(event, change="merged"))
        await bus.publish(subjects.EVENTS, codec.encode(event, change="final"))
        await _until(lambda: stage.counters.events_received == 7)
        await stage.flush()  # nothing pending any more
        await stage.close()
        await bus.close()
        n = len(store.get_event(event.id).magnitudes)
        store.close()
        return stage, n

    stage, n = asyncio.run(main())
    c = stage.counters
    assert c.computations == 1 and c.finals == 0
    assert c.events_stopped == 2 and c.events_ignored == 3
    assert stage.health()["pending"] == 0 and n == c.magnitudes_stored


class _FailingOnce(BufferWaveforms):
    """Real buffers whose first read fails (a disk or decoding error on one event)."""

    def __init__(self, buffers):
        super().__init__(buffers)
        self.calls = 0

    def window(self, stream_ids, start, end):
        self.calls += 1
        if self.calls == 1:
            raise RuntimeError("read failed")
        return super().window(stream_ids, start, end)


def test_bad_payloads_and_failures_are_counted_and_the_stage_goes_on(tmp_path, sc, pkts):
    from tianshan.core import Pick

    event = sc.event
    pick = event.picks[0]
    assert isinstance(pick, Pick)
    source = _FailingOnce(_buffers(pkts))

    async def main():
        bus = InProcessBus()
        store = EventStore.open(data_dir=tmp_path)
        store.save_event(event)
        stage = MagnitudeStage(bus, store, source, sc.network, min_interval_s=0.0)
        await stage.start()
        for garbage in (b"\xff not json", codec.encode(pick), codec.encode(event),
                        codec.encode(event, change="exploded"), b'{"type": "event", "v": 1, "data": {"x": 1}}'):
            await bus.publish(subjects.EVENTS, garbage)
        await bus.publish(subjects.EVENTS, codec.encode(event, change="declared"))
        await _until(lambda: stage.counters.compute_errors == 1)
        await bus.publish(subjects.EVENTS, codec.encode(event, change="final"))
        await _until(lambda: stage.counters.finals == 1)
        bad = bus.counters.bad_payloads
        await stage.close()
        await bus.close()
        stored = store.get_event(event.id)
        store.close()
        return stage, bad, stored

    stage, bad, stored = asyncio.run(main())
    assert stage.counters.bad_payloads == bad == 5
    assert stage.counters.compute_errors == 1 and stage.counters.computations == 1
    assert stored.preferred_magnitude is not None and stage.health()["ok"] is False  # closed


def test_event_window_is_the_batch_window(sc):
    from tianshan.events.build.pipeline import MAGNITUDE_POST_S, MAGNITUDE_PRE_S

    ids, t0, t1 = event_window(sc.event, sc.network.stations)
    picks = sc.event.picks
    assert t0 == min(p.time for p in picks) - timedelta(seconds=MAGNITUDE_PRE_S)
    assert t1 == max(p.time for p in picks) + timedelta(seconds=MAGNITUDE_POST_S)
    stations = {p.stream_id.station_id for p in picks}
    assert {".".join(i.split(".")[:2]) for i in ids} == stations
    assert len(ids) == sum(len(s.channels) for s in sc.network.stations if s.station_id in stations)


class _FlakyStore(EventStore):
    """A real SQLite store whose first ``add_magnitude`` fails (a database outage)."""

    failures = 1

    def add_magnitude(self, event_id, magnitude, preferred=True):
        if self.failures:
            self.failures -= 1
            raise ConnectionError("database went away")
        return super().add_magnitude(event_id, magnitude, preferred=preferred)


def test_store_failure_is_counted_and_retried(tmp_path, sc, pkts):
    event = sc.event
    source = BufferWaveforms(_buffers(pkts))

    async def main():
        bus = InProcessBus()
        store = _FlakyStore.open(data_dir=tmp_path)
        store.save_event(event)
        stage = MagnitudeStage(bus, store, source, sc.network, min_interval_s=0.0)
        await stage.start()
        await bus.publish(subjects.EVENTS, codec.encode(event, change="declared"))
        await _until(lambda: stage.counters.magnitudes_stored > 0 and stage.health()["pending"] == 0)
        await stage.close()
        await bus.close()
        stored = store.get_event(event.id)
        store.close()
        return stage, stored

    stage, stored = asyncio.run(main())
    assert stage.counters.store_errors == 1 and stage.counters.computations == 2
    assert {m.type for m in stored.magnitudes} == {m.type for m in sc.batch.magnitudes}
    assert len(stored.magnitudes) == stage.counters.magnitudes_stored


def test_updates_measure_the_nearest_stations_and_the_final_all(tmp_path, sc, pkts):
    """An update reads only the update_max_stations nearest stations; the final one every station."""
    from tianshan.regions.model import haversine_m
    from tianshan.stages.magnitudes import nearest_station_ids

    event = sc.event
    n_all = len({p.stream_id.station_id for p in event.picks})
    assert n_all >= 3
    near = nearest_station_ids(event, sc.network.stations, 2)
    o = event.preferred_origin
    dist = sorted(haversine_m(o.latitude_deg, o.longitude_deg, s.latitude_deg, s.longitude_deg)
                  for s in sc.network.stations if s.station_id in {p.stream_id.station_id for p in event.picks})
    assert len(near) == 2 and max(haversine_m(o.latitude_deg, o.longitude_deg, s.latitude_deg, s.longitude_deg)
                                  for s in sc.network.stations if s.station_id in near) == dist[1]
    assert nearest_station_ids(event, sc.network.stations, n_all) is None  # few stations: all of them
    ids, t0, t1 = event_window(event, sc.network.stations, near)
    assert {".".join(i.split(".")[:2]) for i in ids} == {str(s) for s in near}
    source = BufferWaveforms(_buffers(pkts))
    timeline = []

    async def main():
        bus = InProcessBus()
        store = EventStore.open(data_dir=tmp_path)
        store.save_event(event)
        stage = MagnitudeStage(bus, store, source, sc.network, update_max_stations=2,
                               on_timeline=lambda *a: timeline.append(a))
        await stage.start()
        await bus.publish(subjects.EVENTS, codec.encode(event, change="declared"))
        await _until(lambda: stage.counters.computations == 1 and stage.health()["pending"] == 0)
        early = store.get_event(event.id)
        await bus.publish(subjects.EVENTS, codec.encode(event, change="final"))
        await _until(lambda: stage.counters.finals == 1)
        await stage.close()
        await bus.close()
        final = store.get_event(event.id)
        store.close()
        return stage, early, final

    stage, early, final = asyncio.run(main())
    assert stage.counters.updates_reduced == 1
    assert early.magnitudes and all((m.station_count or 0) <= 2 for m in early.magnitudes)
    latest = _latest(final.magnitudes)
    for m in sc.batch.magnitudes:  # the final computation is the batch chain's, on every station
        assert latest[m.type].station_count == m.station_count
        assert abs(latest[m.type].value - m.value) <= 0.3


def test_debounce_interval_grows_with_the_updates_of_an_event():
    from tianshan.stages.magnitudes import _Tracked

    stage = MagnitudeStage(None, None, None, None, min_interval_s=2.0, max_interval_s=15.0)
    t = _Tracked(event=None)
    got = []
    for runs in range(1, 7):
        t.runs = runs
        got.append(stage._interval(t))
    assert got == [2.0, 4.0, 8.0, 15.0, 15.0, 15.0]
    with pytest.raises(InputError):
        MagnitudeStage(None, None, None, None, update_max_stations=-1)

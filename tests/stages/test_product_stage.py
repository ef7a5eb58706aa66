"""ProductStage: quick reports as magnitudes come and change, event type at final, cancel, bad input, restart."""

from __future__ import annotations

import asyncio
import hashlib
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest

from tianshan.bus import codec, subjects
from tianshan.bus.memory import InProcessBus
from tianshan.core import Event, EventType, Magnitude
from tianshan.stages.magnitudes import MagnitudeStage
from tianshan.stages.products import QUICK_REPORT, ProductStage
from tianshan.stages.waveforms import BufferWaveforms
from tianshan.store import EventStore
from tianshan.stream.buffers import BufferSet


async def _until(cond, timeout_s=60.0):
    async with asyncio.timeout(timeout_s):
        while not cond():
            await asyncio.sleep(0.02)


def test_reports_follow_the_magnitude_stage_and_final_sets_the_type(tmp_path, scn, sc):
    from obspy import UTCDateTime

    event = sc.event
    eid = event.id
    pkts = scn.packets(sc.result.stream)
    cut = UTCDateTime(min(p.time for p in event.picks) + timedelta(seconds=20))
    buffers = BufferSet(capacity_s=900.0)
    for p in pkts:
        if p.stats.starttime < cut:
            buffers.ingest_trace(p)
    timeline = []

    async def main():
        bus = InProcessBus()
        store = EventStore.open(data_dir=tmp_path)
        store.save_event(event)
        mags = MagnitudeStage(bus, store, BufferWaveforms(buffers), sc.network,
                              on_timeline=lambda *a: timeline.append(a))
        prods = ProductStage(bus, store, sc.network, folder=tmp_path / "reports",
                             on_timeline=lambda *a: timeline.append(a))
        await mags.start()
        await prods.start()
        await bus.publish(subjects.EVENTS, codec.encode(event, change="declared"))
        await _until(lambda: prods.counters.reports == 1)
        first = store.get_event(eid)
        for p in pkts:
            if p.stats.starttime >= cut:
                buffers.ingest_trace(p)
        await bus.publish(subjects.EVENTS, codec.encode(event, change="final"))
        await _until(lambda: prods.counters.finals == 1)
        health = prods.health()
        await mags.close()
        await prods.close()
        await bus.close()
        final = store.get_event(eid)
        products = store.products(eid, QUICK_REPORT)
        store.close()
        return prods, first, final, products, health

    prods, first, final, products, health = asyncio.run(main())
    c = prods.counters
    assert c.report_errors == 0 and c.classification_errors == 0 and c.final_timeouts == 0 and c.bad_payloads == 0
    assert health["ok"] and health["pending"] == 0
    # v1 on the first magnitude (ML of the near station), the last one at final (Mw of the whole window)
    assert [p.version for p in products] == list(range(1, len(products) + 1)) and len(products) >= 2
    assert products[0].properties["magnitude"] == pytest.approx(first.preferred_magnitude.value)
    assert products[0].properties["final"] is False and products[-1].properties["final"] is True
    assert products[-1].properties["magnitude_type"] == final.preferred_magnitude.type == "Mw"
    assert products[-1].properties["magnitude"] == pytest.approx(final.preferred_magnitude.value)
    assert len({p.id for p in products}) == len(products)
    # the file holds the newest report
    path = Path(products[-1].uri)
    text = path.read_text(encoding="utf-8")
    assert hashlib.sha256(text.encode("utf-8")).hexdigest() == products[-1].sha256
    assert f"{round(final.preferred_magnitude.value + 1e-9, 1):.1f}" in text
    # the event header: type classified at final, region name from the report
    assert final.type is not None and final.type_certainty == "suspected"
    assert final.region_name and final.region_name == products[-1].properties["place_en"]
    assert sorted(step for _, step, *_ in timeline) == ["first_magnitude", "first_product"]


def _mag(value: float, origin_id: str, n: int = 4) -> Magnitude:
    return Magnitude("ML", value, origin_id=origin_id, station_count=n)


def test_reissue_rule_cancel_bad_input_final_timeout_and_restart(tmp_path, sc):
    event = sc.event
    eid = event.id
    o2 = replace(event.preferred_origin, id="smi:org.tianshan/origin/cancelled-one")
    other = Event(id="smi:org.tianshan/event/cancelled-one", origins=(o2,), preferred_origin_id=o2.id)
    o3 = replace(o2, id="smi:org.tianshan/origin/merged-one")
    gone = Event(id="smi:org.tianshan/event/merged-one", origins=(o3,), preferred_origin_id=o3.id,
                 type=EventType.NOT_EXISTING)
    oid = event.preferred_origin.id
    now = [1000.0]

    async def publish_mag(bus, store, value, event_id=eid):
        m = store.add_magnitude(event_id, _mag(value, oid))
        await bus.publish(subjects.MAGNITUDES, codec.encode(m, event_id=event_id, preferred=True, final=False))

    async def main():
        bus = InProcessBus()
        store = EventStore.open(data_dir=tmp_path)
        store.save_event(event)
        store.save_event(other)
        store.save_event(gone)
        prods = ProductStage(bus, store, sc.network, folder=tmp_path / "reports", final_wait_s=30.0,
                             poll_s=0.05, clock=lambda: now[0])
        await prods.start()
        await publish_mag(bus, store, 4.0)
        await _until(lambda: prods.counters.reports == 1)
        await publish_mag(bus, store, 4.2)            # moved 0.2: no new report
        await _until(lambda: prods.counters.magnitudes_received == 2)
        await publish_mag(bus, store, 4.35)           # moved 0.35 from the reported 4.0: re-issued
        await _until(lambda: prods.counters.reports == 2)
        # a cancelled event gets no report
        await bus.publish(subjects.EVENTS, codec.encode(other, change="cancelled"))
        await _until(lambda: prods.counters.events_stopped == 1)
        await publish_mag(bus, store, 4.0, event_id=other.id)
        await publish_mag(bus, store, 4.0, event_id=gone.id)  # its cancellation message not seen: the store tells
        await _until(lambda: prods.counters.events_stopped == 2)
        # garbage on both subjects
        for subject, payload in ((subjects.MAGNITUDES, b"\x00garbage"),
                                 (subjects.MAGNITUDES, codec.encode(_mag(4.0, oid))),       # no event_id
                                 (subjects.MAGNITUDES, codec.encode(event, change="final")),  # not a magnitude
                                 (subjects.EVENTS, codec.encode(event))):                   # no change
            await bus.publish(subject, payload)
        await _until(lambda: prods.counters.bad_payloads == 4 and prods.counters.events_ignored == 1)
        # final without a final magnitude message: finalised when final_wait_s has passed
        await bus.publish(subjects.EVENTS, codec.encode(event, change="final"))
        await _until(lambda: prods.health()["pending"] == 1)
        assert prods.counters.finals == 0
        now[0] += 31.0
        await _until(lambda: prods.counters.finals == 1)
        await publish_mag(bus, store, 5.5)            # after final: ignored
        await _until(lambda: prods.counters.events_ignored == 2)
        bad = bus.counters.bad_payloads
        await prods.close()
        # a restarted stage reads the reports back: the event is final, nothing more is issued
        again = ProductStage(bus, store, sc.network, folder=tmp_path / "reports", durable="products2")
        await again.start()
        await publish_mag(bus, store, 6.0)
        await _until(lambda: again.counters.magnitudes_received == 1)
        await again.close()
        await bus.close()
        stored = store.get_event(eid)
        products = store.products(eid, QUICK_REPORT)
        assert store.products(other.id) == [] and store.products(gone.id) == []
        store.close()
        return prods, again, stored, products, bad

    prods, again, stored, products, bad = asyncio.run(main())
    assert bad == 4 == prods.counters.bad_payloads
    assert [p.version for p in products] == [1, 2, 3]
    assert [p.properties["magnitude"] for p in products] == [4.0, 4.35, 4.35]  # final: the stored preferred
    assert [p.properties["final"] for p in products] == [False, False, True]
    assert prods.counters.final_timeouts == 1 and prods.counters.reports == 3
    assert again.counters.reports == 0
    assert stored.type is not None and stored.type_certainty == "suspected" and stored.region_name

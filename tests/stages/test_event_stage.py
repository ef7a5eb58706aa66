"""EventStage end to end: picks on an in-process bus -> events in a SQLite EventStore and on the bus;
restart from the store; bad payloads."""

from __future__ import annotations

import asyncio
import importlib.util
from datetime import timedelta
from pathlib import Path

import numpy as np

from tianshan.bus import codec, subjects
from tianshan.bus.memory import InProcessBus
from tianshan.core.event import EventType
from tianshan.core.origin import EvaluationStatus, Origin
from tianshan.core.timeline import TimelineEntry
from tianshan.stages.events import EventStage
from tianshan.stages.rules import EventRules
from tianshan.stages.tracker import EventTracker
from tianshan.store import EventStore


def _helper(name):
    spec = importlib.util.spec_from_file_location(f"tianshan_stages_{name}", Path(__file__).with_name(f"{name}.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


ep = _helper("event_picks")


def _tracker():
    stations, model = ep.region()
    return EventTracker(stations, model, EventRules())


class _Recorder:
    """Every message on the events and origins subjects, decoded."""

    def __init__(self) -> None:
        self.events: list = []    # (Event, meta)
        self.origins: list = []   # (Origin, meta)

    async def __call__(self, msg) -> None:
        obj, meta = codec.decode_with_meta(msg.data)
        (self.events if msg.subject == subjects.EVENTS else self.origins).append((obj, meta))


def _store_sink(store, seen):
    async def on_timeline(event_id, step, data_time, wall_time, detail=""):
        seen.append((event_id, step, data_time, wall_time, detail))
        await asyncio.to_thread(store.record_timeline, [TimelineEntry(event_id, step, wall_time, data_time, detail)])
    return on_timeline


async def _publish(bus, stage, picks, groups):
    """Publish ``picks`` in ``groups`` successive bursts, each followed by the picker's clock, waiting
    for the stage to finish each burst."""
    n0 = stage.counters.picks_received
    for k, chunk in enumerate(np.array_split(np.arange(len(picks)), groups)):
        for i in chunk:
            p = picks[int(i)]
            await bus.publish(subjects.PICKS, codec.encode(p), key=p.id)
        last = picks[int(chunk[-1])]
        await bus.publish(subjects.CLOCK, {"source": "picker", "data_time": ep.arrival_time(last).isoformat()})
        for _ in range(500):
            if stage.counters.picks_received >= n0 + int(chunk[-1]) + 1:
                break
            await asyncio.sleep(0.01)
        await stage.drain(timeout_s=120)


def test_stage_stores_and_publishes_every_version(tmp_path):
    picks = ep.in_arrival_order(ep.event_picks(ep.EAST, ep.T0, np.random.default_rng(11)))

    async def main():
        bus = InProcessBus()
        store = EventStore.open(data_dir=tmp_path)
        seen: list = []
        rec = _Recorder()
        await bus.subscribe(subjects.EVENTS, rec)
        await bus.subscribe(subjects.ORIGINS, rec)
        stage = EventStage(bus, store, _tracker(), debounce_s=0.05, on_timeline=_store_sink(store, seen),
                           warm_up=False)
        await stage.start()
        await _publish(bus, stage, picks, groups=6)
        await stage.flush()
        await stage.close()
        health = stage.health()
        await bus.close()
        return store, seen, rec, stage, health

    store, seen, rec, stage, health = asyncio.run(main())
    try:
        kinds = [meta["change"] for _, meta in rec.events]
        assert kinds[0] == "declared" and kinds[-1] == "final" and set(kinds[1:-1]) == {"updated"}
        event_id = rec.events[0][0].id
        assert {ev.id for ev, _ in rec.events} == {event_id}
        # every origin on the bus, in version order, naming its event
        versions = [o.version for o, meta in rec.origins]
        assert versions == list(range(1, len(kinds) + 1)) and len(versions) >= 3
        assert all(meta["event_id"] == event_id for _, meta in rec.origins)
        # the store has the same history, the final origin preferred, and every pick
        stored = store.get_event(event_id)
        assert [o.version for o in stored.origins] == versions
        assert [o.id for o in stored.origins] == [o.id for o, _ in rec.origins]
        assert stored.preferred_origin.evaluation_status is EvaluationStatus.FINAL
        assert {p.id for p in stored.picks} == {p.id for p in picks}
        assert ep.epicentre_error_m(stored.preferred_origin, ep.EAST) < 3_000.0
        assert stored.type is EventType.EARTHQUAKE
        # timeline: the associator's steps, recorded in the store
        steps = [e.step for e in store.timeline(event_id)]
        assert steps == ["origin_time", "first_pick", "locatable_pick", "first_origin", "final"]
        by_step = {s: (dt, wt) for _, s, dt, wt, _ in seen}
        assert by_step["first_pick"][0] == min(p.time for p in stored.picks)
        assert by_step["origin_time"][0] == rec.origins[0][0].time
        assert by_step["locatable_pick"][1] <= by_step["first_origin"][1]
        assert len(stage.declaration_latency_s) == 1 and stage.declaration_latency_s[0] >= 0.0
        c = stage.counters.as_dict()
        assert c["picks_received"] == len(picks) and c["declared"] == 1 and c["final"] == 1
        assert c["store_errors"] == c["publish_errors"] == c["tracker_errors"] == 0
        assert health["pending"] == 0 and health["outbox"] == 0 and health["open_events"] == 0
    finally:
        store.close()


def test_restart_restores_open_events_from_the_store(tmp_path):
    picks = ep.in_arrival_order(ep.event_picks(ep.NORTH, ep.T0, np.random.default_rng(12)))
    half = len(picks) // 2

    async def first_run():
        bus = InProcessBus()
        store = EventStore.open(data_dir=tmp_path)
        stage = EventStage(bus, store, _tracker(), debounce_s=0.05, warm_up=False)
        await stage.start()
        await _publish(bus, stage, picks[:half], groups=2)
        await stage.close()          # "crash": no flush, the event stays open
        await bus.close()
        return store, stage

    async def second_run(store):
        bus = InProcessBus()
        rec = _Recorder()
        await bus.subscribe(subjects.EVENTS, rec)
        stage = EventStage(bus, store, _tracker(), debounce_s=0.05, warm_up=False)
        restored = await stage.restore_from_store(ep.T0 - timedelta(minutes=10))
        await stage.start()
        await _publish(bus, stage, picks, groups=3)     # the picker re-sends everything after a restart
        await stage.flush()
        await stage.close()
        await bus.close()
        return restored, rec, stage

    store, stage1 = asyncio.run(first_run())
    try:
        assert stage1.counters.as_dict()["declared"] == 1
        (open_event,) = store.events()
        n_origins = len(open_event.origins)
        restored, rec, stage2 = asyncio.run(second_run(store))
        assert restored == 1
        c = stage2.counters.as_dict()
        assert c["duplicates"] == len(open_event.picks) and c["declared"] == 0
        assert rec.events[-1][1]["change"] == "final" and rec.events[-1][0].id == open_event.id
        (final,) = store.events()
        assert final.id == open_event.id and len(final.origins) > n_origins
        assert [o.version for o in final.origins] == list(range(1, len(final.origins) + 1))
        assert final.preferred_origin.evaluation_status is EvaluationStatus.FINAL
        assert {p.id for p in final.picks} == {p.id for p in picks}
        # a finalised event is not restored again
        stage3 = EventStage(InProcessBus(), store, _tracker(), warm_up=False)
        assert asyncio.run(stage3.restore_from_store(ep.T0 - timedelta(minutes=10))) == 0
    finally:
        store.close()


def test_bad_payloads_are_dropped_and_counted():
    async def main():
        bus = InProcessBus()
        stations, model = ep.region()

        class Network:                 # what the daemon passes: anything with stations and model
            pass

        net = Network()
        net.stations, net.model = stations, model
        stage = EventStage(bus, None, net, rules=EventRules(min_stations=6), debounce_s=0.0, warm_up=False)
        assert stage.tracker.rules.min_stations == 6
        await stage.start()
        pick = ep.event_picks(ep.EAST, ep.T0, np.random.default_rng(1))[0]
        origin = Origin(time=ep.T0, latitude_deg=41.8, longitude_deg=86.0, depth_m=10_000.0)
        await bus.publish(subjects.PICKS, b"\xff not json")
        await bus.publish(subjects.PICKS, b'{"type": "pick"}')
        await bus.publish(subjects.PICKS, codec.encode(origin))
        await bus.publish(subjects.CLOCK, {"source": "picker"})
        await bus.publish(subjects.CLOCK, {"source": "picker", "data_time": "yesterday"})
        await bus.publish(subjects.CLOCK, {"source": "picker", "data_time": "2999-01-01T00:00:00Z"})
        await bus.publish(subjects.PICKS, codec.encode(pick))
        for _ in range(500):
            if bus.counters.delivered >= 7:
                break
            await asyncio.sleep(0.01)
        await stage.drain(timeout_s=60)
        health = stage.health()
        await stage.close()
        await bus.close()
        return bus, stage, health

    bus, stage, health = asyncio.run(main())
    assert bus.counters.bad_payloads == 6
    assert stage.counters.picks_received == 1 and stage.counters.clock_messages == 0
    assert health["ok"] and health["pending"] == 0 and health["pool"] == 1
    assert stage.counters.tracker_errors == 0

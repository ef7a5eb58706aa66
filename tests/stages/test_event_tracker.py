"""EventTracker on synthetic picks of the demo region: declaration, updates, final, merge, split, noise,
order independence, restore and bad picks."""

from __future__ import annotations

import importlib.util
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest

from tianshan.core import InputError, Pick, StreamID
from tianshan.core.event import Event, EventType
from tianshan.core.origin import EvaluationStatus
from tianshan.stages.rules import EventRules
from tianshan.stages.tracker import EventTracker


def _helper(name):
    spec = importlib.util.spec_from_file_location(f"tianshan_stages_{name}", Path(__file__).with_name(f"{name}.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


ep = _helper("event_picks")


def _tracker(**rules):
    stations, model = ep.region()
    return EventTracker(stations, model, EventRules(**rules))


@pytest.fixture(scope="module")
def one_event():
    """EAST event (P and S) fed pick by pick in arrival order, then the clock moved past finalisation."""
    picks = ep.event_picks(ep.EAST, ep.T0, np.random.default_rng(1))
    order = ep.in_arrival_order(picks)
    tr = _tracker()
    fed, seen_p, steps = [], set(), []
    for p in order:
        fed.append(p)
        if p.phase == "P":
            seen_p.add(p.stream_id.station)
        tr.add_picks([p], ep.WALL)
        for ch in tr.update(ep.arrival_time(p)):
            steps.append((ch, len(seen_p), p))
    associations = tr.counters.associations
    idle = tr.update(ep.arrival_time(order[-1]) + timedelta(seconds=1))
    idle_associations = tr.counters.associations
    final = tr.update(ep.T0 + timedelta(seconds=300))
    return {"picks": picks, "tracker": tr, "steps": steps, "final": final, "idle": idle,
            "associations": (associations, idle_associations)}


def test_rules_are_validated():
    with pytest.raises(InputError, match="min_stations"):
        EventRules(min_stations=2)
    with pytest.raises(InputError, match="pool_s"):
        EventRules(pool_s=100.0)
    with pytest.raises(InputError, match="max_rms_s"):
        EventRules(max_rms_s=-1.0)
    with pytest.raises(InputError, match="min_pick_fraction"):
        EventRules(min_pick_fraction=1.5)
    with pytest.raises(InputError, match="explain"):
        EventRules(explain="yes")
    assert EventRules(max_rms_s=None, max_station_distance_m=None).max_rms_s is None


def test_declared_at_fifth_p_station_then_updated(one_event):
    steps = one_event["steps"]
    first, n_p, last_fed = steps[0]
    assert first.kind == "declared"
    assert 5 <= n_p <= 6            # the rule's 5 P stations; the EAST source is well covered
    ev = first.event
    assert len(ep.p_stations(ev.picks)) >= 5
    assert [o.version for o in ev.origins] == [1] and ev.preferred_origin_id == first.origin.id
    assert first.locatable_pick == last_fed          # the newest pick made it declarable
    assert ep.epicentre_error_m(first.origin, ep.EAST) < 10_000.0
    from tianshan.events.build.pipeline import event_id_for

    assert ev.id == event_id_for(ev.picks)
    updates = [ch for ch, _, _ in steps[1:]]
    assert updates and all(ch.kind == "updated" and ch.event.id == ev.id for ch in updates)
    versions = [ch.event.origins[-1].version for ch in updates]
    assert versions == list(range(2, 2 + len(updates)))
    assert all(ch.origin is ch.event.origins[-1] for ch in updates)
    assert any(p.phase == "S" for p in updates[-1].event.picks)


def test_no_work_on_idle_ticks(one_event):
    before, after = one_event["associations"]
    assert one_event["idle"] == [] and after == before


def test_final_after_quiet_period(one_event):
    final = one_event["final"]
    assert [ch.kind for ch in final] == ["final"]
    ev = final[0].event
    o = final[0].origin
    assert o is ev.origins[-1] and ev.preferred_origin_id == o.id
    assert o.evaluation_status is EvaluationStatus.FINAL
    assert {p.id for p in ev.picks} == {p.id for p in one_event["picks"]}
    assert ep.epicentre_error_m(o, ep.EAST) < 3_000.0
    assert ep.isclose_s(o.time, ep.T0, 0.3)
    tr = one_event["tracker"]
    assert tr.open_events() == [] and tr.counters.final == 1
    # picks of a closed event are owned: re-sent, they are duplicates and make nothing new
    n = tr.counters.duplicates
    tr.add_picks(one_event["picks"], ep.WALL)
    assert tr.counters.duplicates == n + len(one_event["picks"])
    assert tr.update(ep.T0 + timedelta(seconds=301)) == []


def test_p_only_event_is_cancelled_by_the_screen():
    picks = ep.event_picks(ep.NORTH, ep.T0, np.random.default_rng(2), phases="P")
    tr = _tracker()
    changes = ep.feed(tr, ep.in_arrival_order(picks), batch=4)
    assert changes and changes[0].kind == "declared"
    changes = tr.update(ep.T0 + timedelta(seconds=400))
    assert [ch.kind for ch in changes] == ["cancelled"]
    ch = changes[0]
    assert ch.detail == "quality:p_and_s_stations" and ch.event.type is EventType.NOT_EXISTING
    assert ch.origin.evaluation_status is EvaluationStatus.REJECTED
    assert ch.event.preferred_origin_id != ch.origin.id
    assert tr.counters.cancelled == 1 and tr.open_events() == []


def test_noise_makes_no_event():
    rng = np.random.default_rng(3)
    picks = sorted(ep.noise_picks(rng, ep.T0, 600.0, 150), key=lambda p: p.time)
    tr = _tracker()
    changes = ep.feed(tr, picks, batch=5, clock=lambda p: p.time)
    changes += tr.flush()
    assert [ch for ch in changes if ch.kind in ("declared", "split", "final")] == []
    assert tr.counters.picks_added == 150 and tr.counters.associations > 0


def _final_catalogue(changes):
    return sorted((ch for ch in changes if ch.kind == "final"), key=lambda ch: ch.origin.time)


def test_shuffled_arrivals_give_the_same_catalogue():
    rng = np.random.default_rng(4)
    picks = (ep.event_picks(ep.EAST, ep.T0, rng, tag="a")
             + ep.event_picks(ep.WEST, ep.T0 + timedelta(seconds=40), rng, tag="b")
             + ep.noise_picks(rng, ep.T0 - timedelta(seconds=20), 200.0, 30))
    reference = None
    for run in range(3):
        tr = _tracker()
        if run == 0:
            order, batch = ep.in_arrival_order(picks), 1
        else:
            order = [picks[i] for i in rng.permutation(len(picks))]
            batch = int(rng.integers(3, 15))
        changes = ep.feed(tr, order, batch=batch) + tr.flush()
        cat = _final_catalogue(changes)
        if reference is None:
            reference = cat
            assert len(cat) == 2
            assert {p.id.split(":")[0] for p in cat[0].event.picks} == {"a"}
            assert {p.id.split(":")[0] for p in cat[1].event.picks} == {"b"}
            continue
        assert len(cat) == len(reference), f"run {run} (batch {batch})"
        for got, want in zip(cat, reference):
            assert {p.id for p in got.event.picks} == {p.id for p in want.event.picks}
            assert ep.isclose_s(got.origin.time, want.origin.time, 0.05)
            assert ep.distance_m(want.origin.latitude_deg, want.origin.longitude_deg,
                                 got.origin.latitude_deg, got.origin.longitude_deg) < 1_000.0


def _stored_event(picks, event_id):
    """An open event as the store would give it back: its picks and a located origin."""
    from tianshan.events.locate import locate

    stations, model = ep.region()
    origin = locate(picks, stations, model).origin
    return Event(id=event_id, picks=tuple(picks), origins=(origin,), preferred_origin_id=origin.id)


def test_merge_keeps_the_older_event():
    picks = ep.event_picks(ep.EAST, ep.T0, np.random.default_rng(5), max_distance_m=300_000.0)
    p_picks = sorted((p for p in picks if p.phase == "P"), key=lambda p: p.time)
    s_picks = sorted((p for p in picks if p.phase == "S"), key=lambda p: p.time)
    old = _stored_event(p_picks[0::2], "smi:test/event/older")
    new = _stored_event(p_picks[1::2], "smi:test/event/newer")
    new = replace(new, created_at=old.created_at + timedelta(seconds=5))
    tr = _tracker()
    assert tr.restore([new, old]) == 2
    assert [e.id for e in tr.open_events()] == [old.id, new.id]
    # the S pick fits the open events (attached without association); the false pick fits none and
    # makes the tracker associate the window, which holds both events' picks
    trigger = ep.noise_picks(np.random.default_rng(50), ep.T0 + timedelta(seconds=30), 1.0, 1)
    tr.add_picks(s_picks[:1] + trigger, ep.WALL)
    changes = tr.update(ep.arrival_time(s_picks[0]))
    kinds = {ch.kind: ch for ch in changes}
    assert set(kinds) == {"merged", "updated"}
    merged, kept = kinds["merged"], kinds["updated"]
    assert merged.event.id == new.id and merged.detail == f"merged into {old.id}"
    assert merged.event.type is EventType.NOT_EXISTING and merged.origin is None
    assert kept.event.id == old.id and f"merged {new.id}" in kept.detail
    ids = {p.id for p in kept.event.picks}
    assert {p.id for p in p_picks} <= ids and s_picks[0].id in ids
    assert [o.version for o in kept.event.origins] == [1, 2]
    assert [e.id for e in tr.open_events()] == [old.id] and tr.counters.merged == 1


def test_split_gives_a_new_event():
    rng = np.random.default_rng(6)
    east = ep.event_picks(ep.EAST, ep.T0, rng, tag="e")
    west = [p for p in ep.event_picks(ep.WEST, ep.T0 + timedelta(seconds=60), rng, tag="w") if p.phase == "P"]
    stored = _stored_event(sorted(east, key=lambda p: p.time)[:-1], "smi:test/event/both")
    stored = replace(stored, picks=stored.picks + tuple(west))      # an event that wrongly holds both
    tr = _tracker()
    tr.restore([stored])
    last = max(east, key=lambda p: p.time)
    trigger = ep.noise_picks(np.random.default_rng(60), ep.T0 + timedelta(seconds=30), 1.0, 1)
    tr.add_picks([last] + trigger, ep.WALL)
    changes = tr.update(ep.arrival_time(last))
    kinds = {ch.kind: ch for ch in changes}
    assert set(kinds) == {"updated", "split"}
    kept, split = kinds["updated"], kinds["split"]
    assert kept.event.id == stored.id                                # most of its picks stay with it
    assert {p.id for p in kept.event.picks} == {p.id for p in east}
    assert split.detail == f"split from {stored.id}" and split.event.id != stored.id
    assert {p.id for p in split.event.picks} <= {p.id for p in west}
    assert len(ep.p_stations(split.event.picks)) >= 5 and split.event.origins[0].version == 1
    assert ep.epicentre_error_m(split.origin, ep.WEST) < 10_000.0
    assert tr.counters.split == 1 and len(tr.open_events()) == 2


def test_restore_takes_back_open_events_and_their_picks():
    picks = ep.event_picks(ep.NORTH, ep.T0, np.random.default_rng(7))
    stored = _stored_event(picks, "smi:test/event/stored")
    cancelled = replace(_stored_event(picks[:6], "smi:test/event/gone"), type=EventType.NOT_EXISTING)
    tr = _tracker()
    assert tr.restore([stored, cancelled]) == 1
    assert [e.id for e in tr.open_events()] == [stored.id] and tr.pool_size == len(picks)
    assert tr.add_picks(picks, ep.WALL) == 0 and tr.counters.duplicates == len(picks)
    assert tr.update() == []           # nothing new, nothing due yet
    changes = tr.flush(ep.T0 + timedelta(seconds=400))
    assert [(ch.kind, ch.event.id) for ch in changes] == [("final", stored.id)]
    assert [o.version for o in changes[0].event.origins] == [1, 2]


def test_bad_picks_are_counted_and_ignored():
    stations, _ = ep.region()
    st = stations[0]
    tr = _tracker()
    bad = [Pick(StreamID("XX", "NOPE", "", "HHZ"), ep.T0, "P"),
           Pick(StreamID(st.network, st.code, "00", "HHZ"), ep.T0, "AML"),
           Pick(StreamID(st.network, st.code, "00", "HHZ"), ep.WALL + timedelta(hours=1), "P")]
    assert tr.add_picks(bad, ep.WALL) == 0
    c = tr.counters
    assert (c.unknown_station, c.unknown_phase, c.future) == (1, 1, 1)
    tr.add_picks([Pick(StreamID(st.network, st.code, "00", "HHZ"), ep.T0, "P", id="p1")], ep.WALL)
    tr.update(ep.T0 + timedelta(seconds=1000))
    tr.add_picks([Pick(StreamID(st.network, st.code, "00", "HHZ"), ep.T0, "P", id="p2")], ep.WALL)
    assert c.too_old == 1 and c.pruned == 1 and tr.pool_size == 0
    with pytest.raises(InputError):
        tr.add_picks(["not a pick"], ep.WALL)


def test_updates_relocate_with_the_nearest_stations_and_final_with_all():
    """``update_max_stations``: updates locate with the picks of the nearest stations only (the
    event keeps every pick); the final pass locates with all of them."""
    with pytest.raises(InputError):
        EventRules(update_max_stations=3)
    picks = ep.event_picks(ep.EAST, ep.T0, np.random.default_rng(1))
    tr = _tracker(update_max_stations=6)
    updates = []
    for p in ep.in_arrival_order(picks):
        tr.add_picks([p], ep.WALL)
        updates += [ch for ch in tr.update(ep.arrival_time(p)) if ch.kind == "updated"]
    assert updates and tr.counters.bounded_updates > 0
    last = updates[-1]
    assert {p.id for p in last.event.picks} == {p.id for p in picks}       # the event keeps all picks
    used = {a.pick_id for a in last.origin.arrivals}
    assert len({p.stream_id.station_id for p in picks if p.id in used}) <= 6
    assert ep.epicentre_error_m(last.origin, ep.EAST) < 10_000.0
    final = tr.update(ep.T0 + timedelta(seconds=300))
    assert [ch.kind for ch in final] == ["final"]
    o = final[0].origin
    assert {a.pick_id for a in o.arrivals} == {p.id for p in picks}
    assert ep.epicentre_error_m(o, ep.EAST) < 3_000.0

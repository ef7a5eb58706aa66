"""Insert-only history: versions, preferred solutions, refusal to overwrite."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timezone

import numpy as np
import pytest
from sqlalchemy import select

from tianshan.core import Event, EventType, Magnitude, Origin
from tianshan.store import EventNotFoundError, ImmutableRecordError, VersionConflictError
from tianshan.store.schema import OriginRow

T0 = datetime(2024, 1, 22, 18, 9, 4, 123457, tzinfo=timezone.utc)  # the builders' reference time


def test_add_origin_appends_versions_and_moves_preferred(store, objects):
    rng = np.random.default_rng(3)
    ev = objects.rich_event(rng, n_origins=1)
    store.save_event(ev)
    picks = list(ev.picks)
    o2 = store.add_origin(ev.id, replace(objects.rich_origin(rng, picks), version=7))
    assert o2.version == 2  # assigned by the store, not the caller
    o3 = store.add_origin(ev.id, objects.rich_origin(rng, picks), preferred=False)
    assert o3.version == 3
    got = store.get_event(ev.id)
    assert [o.version for o in got.origins] == [1, 2, 3]
    assert got.origins[0] == ev.origins[0] and got.origins[1:] == (o2, o3)
    assert got.preferred_origin_id == o2.id and got.preferred_origin == o2
    # the catalogue query columns follow the preferred origin
    assert store.events(start=o2.time, end=o2.time.replace(microsecond=0) + (o2.time - o2.time.replace(
        microsecond=0)) * 2 + (T0 - T0.replace(microsecond=0)))[0].id == ev.id


def test_add_magnitude_versions_count_per_type(store):
    ev = Event(created_at=T0).with_origin(Origin(T0, 41.0, 84.0, 10_000.0))
    store.save_event(ev)
    m = [store.add_magnitude(ev.id, Magnitude("ML", 4.1 + i / 10)) for i in range(3)]
    mw = store.add_magnitude(ev.id, Magnitude("Mw", 4.3), preferred=False)
    assert [x.version for x in m] == [1, 2, 3] and mw.version == 1
    got = store.get_event(ev.id)
    assert got.magnitudes == (*m, mw)
    assert got.preferred_magnitude == m[2]
    assert [e.id for e in store.events(min_magnitude=4.3)] == [ev.id]  # preferred ML 4.3, not Mw
    assert store.events(min_magnitude=4.31) == []


def test_history_matches_event_with_origin(store, objects):
    """The store's versioning agrees with Event.with_origin / with_magnitude."""
    rng = np.random.default_rng(4)
    ev = objects.rich_event(rng, n_origins=2)
    store.save_event(ev)
    o = objects.rich_origin(rng, list(ev.picks))
    stored = store.add_origin(ev.id, o)
    assert store.get_event(ev.id) == ev.with_origin(o)
    assert stored == ev.with_origin(o).origins[-1]


def test_save_event_again_updates_only_the_header(store, objects):
    rng = np.random.default_rng(5)
    ev = objects.rich_event(rng, n_origins=2)
    store.save_event(ev)
    store.save_event(ev)  # idempotent
    assert store.get_event(ev.id) == ev
    edited = replace(ev, type=EventType.QUARRY_BLAST, type_certainty="suspected", region_name="Kuqa",
                     preferred_origin_id=ev.origins[0].id, preferred_magnitude_id=ev.magnitudes[0].id)
    store.save_event(edited)
    assert store.get_event(ev.id) == edited
    # a newer writer's history is extended, an older snapshot never truncates it
    newer = edited.with_origin(objects.rich_origin(rng, list(ev.picks)))
    store.save_event(newer)
    store.save_event(edited)
    got = store.get_event(ev.id)
    assert [o.id for o in got.origins] == [o.id for o in newer.origins]


def test_stored_origins_cannot_be_overwritten(store, objects):
    rng = np.random.default_rng(6)
    ev = objects.rich_event(rng, n_origins=2)
    store.save_event(ev)
    o0 = ev.origins[0]
    tampered = replace(ev, origins=(replace(o0, depth_m=o0.depth_m + 1.0),) + ev.origins[1:])
    with pytest.raises(ImmutableRecordError, match="stored with other values"):
        store.save_event(tampered)
    m0 = ev.magnitudes[0]
    with pytest.raises(ImmutableRecordError):
        store.save_event(replace(ev, magnitudes=(replace(m0, value=m0.value + 0.1),) + ev.magnitudes[1:]))
    p0 = ev.picks[0]
    with pytest.raises(ImmutableRecordError):
        store.save_event(replace(ev, picks=(replace(p0, phase="S"),) + ev.picks[1:]))
    with pytest.raises(ImmutableRecordError, match="already stored"):
        store.add_origin(ev.id, o0)
    with pytest.raises(ImmutableRecordError, match="already stored"):
        store.add_magnitude(ev.id, m0)
    assert store.get_event(ev.id) == ev  # nothing changed


def test_new_origin_with_taken_version_is_a_conflict(store):
    ev = Event().with_origin(Origin(T0, 41.0, 84.0, 10_000.0))
    store.save_event(ev)
    rival = Event(id=ev.id, created_at=ev.created_at).with_origin(Origin(T0, 41.5, 84.0, 10_000.0))
    assert rival.origins[0].version == 1
    with pytest.raises(VersionConflictError, match="version 1"):
        store.save_event(rival)
    assert store.get_event(ev.id) == ev


def test_origin_of_another_event_is_refused(store):
    ev = Event().with_origin(Origin(T0, 41.0, 84.0, 10_000.0))
    store.save_event(ev)
    thief = Event(origins=ev.origins)
    with pytest.raises(ImmutableRecordError, match="belongs to event"):
        store.save_event(thief)


def test_picks_are_shared_between_events(store, objects):
    rng = np.random.default_rng(7)
    picks = tuple(objects.rich_picks(rng, 4))
    a, b = Event(picks=picks[:3]), Event(picks=picks[1:][::-1])
    store.save_event(a)
    store.save_event(b)
    assert store.get_event(a.id) == a and store.get_event(b.id) == b


def test_missing_event_is_a_clear_key_error(store):
    with pytest.raises(KeyError) as info:
        store.get_event("smi:org.tianshan/event/none")
    assert isinstance(info.value, EventNotFoundError)
    assert str(info.value) == "event 'smi:org.tianshan/event/none' is not in the store"
    with pytest.raises(EventNotFoundError):
        store.add_origin("smi:org.tianshan/event/none", Origin(T0, 41.0, 84.0, 10_000.0))
    with pytest.raises(EventNotFoundError):
        store.add_magnitude("smi:org.tianshan/event/none", Magnitude("ML", 3.0))


def test_the_session_refuses_updates_and_deletes_of_history_rows(store):
    ev = Event().with_origin(Origin(T0, 41.0, 84.0, 10_000.0))
    store.save_event(ev)
    with store._write_sessions() as s:
        row = s.scalars(select(OriginRow)).one()
        row.depth_m = 0.0
        with pytest.raises(ImmutableRecordError, match="never updated"):
            s.flush()
        s.rollback()
        s.delete(s.scalars(select(OriginRow)).one())
        with pytest.raises(ImmutableRecordError, match="never deleted"):
            s.flush()
        s.rollback()
    assert store.get_event(ev.id) == ev

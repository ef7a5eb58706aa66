"""EventStore.update_event: the incremental update of the real-time associator (both backends)."""

from __future__ import annotations

import threading
from dataclasses import replace
from datetime import datetime, timedelta, timezone

import numpy as np
import pytest
from sqlalchemy import select

from tianshan.core import Event, EventType, Magnitude, Origin, Pick, StreamID
from tianshan.core.errors import InputError
from tianshan.store import UNSET, EventNotFoundError, EventStore, ImmutableRecordError
from tianshan.store.schema import EventRow

T0 = datetime(2024, 1, 22, 18, 9, 4, 123457, tzinfo=timezone.utc)


def _pref_columns(store: EventStore, event_id: str) -> tuple:
    with store.engine.connect() as conn:
        return conn.execute(select(EventRow.pref_time, EventRow.pref_latitude_deg, EventRow.pref_depth_m,
                                   EventRow.pref_magnitude, EventRow.pref_magnitude_type)
                            .where(EventRow.id == event_id)).one()


def _pick(i: int, seconds: float = 5.0) -> Pick:
    return Pick(StreamID("XJ", f"P{i:02d}", "", "HHZ"), T0 + timedelta(seconds=seconds + i / 10), "P",
                id=f"smi:org.tianshan/pick/test-{i}", created_at=T0)


def test_update_links_picks_appends_the_origin_and_returns_the_stored_event(store, objects):
    rng = np.random.default_rng(11)
    ev = objects.rich_event(rng, n_origins=2)
    store.save_event(ev)
    new_picks = [_pick(i) for i in range(3)]
    origin = replace(objects.rich_origin(rng, list(ev.picks[:2]) + new_picks), version=9)
    amp = objects.rich_amplitudes(rng, new_picks[:1])[0]
    got = store.update_event(ev.id, origin=origin, picks=[ev.picks[0], *new_picks], amplitudes=[amp])
    assert got == store.get_event(ev.id)
    assert got.picks == ev.picks + tuple(new_picks)  # already linked ones kept in place, new ones after
    assert got.amplitudes == ev.amplitudes + (amp,)
    assert got.origins[:2] == ev.origins and got.origins[2] == replace(origin, version=3)
    assert got.preferred_origin_id == origin.id
    assert got.magnitudes == ev.magnitudes and got.preferred_magnitude_id == ev.preferred_magnitude_id
    pref = _pref_columns(store, ev.id)
    assert pref[:3] == (origin.time, origin.latitude_deg, origin.depth_m)
    assert pref[3:] == (ev.preferred_magnitude.value, ev.preferred_magnitude.type)
    assert got.created_at == ev.created_at and got.region_name == ev.region_name and got.type == ev.type


def test_non_preferred_origin_and_a_retried_update(store):
    o1 = Origin(T0, 41.0, 84.0, 10_000.0)
    ev = Event(created_at=T0).with_origin(o1)
    store.save_event(ev)
    o2 = Origin(T0 + timedelta(seconds=1), 41.2, 84.2, 12_000.0)
    got = store.update_event(ev.id, origin=o2, preferred_origin=False)
    assert [o.version for o in got.origins] == [1, 2] and got.preferred_origin_id == o1.id
    assert _pref_columns(store, ev.id)[0] == T0
    again = store.update_event(ev.id, origin=o2)  # same origin again (a retry): no new version, now preferred
    assert [o.id for o in again.origins] == [o1.id, o2.id] and again.preferred_origin_id == o2.id
    assert _pref_columns(store, ev.id)[0] == o2.time
    assert store.update_event(ev.id, picks=[_pick(0)], origin=replace(o2, version=5)) == store.get_event(ev.id)
    assert len(store.get_event(ev.id).origins) == 2


def test_stored_records_must_match(store):
    o1 = Origin(T0, 41.0, 84.0, 10_000.0)
    ev = Event(created_at=T0, picks=(_pick(0),)).with_origin(o1)
    store.save_event(ev)
    other = Event(created_at=T0).with_origin(Origin(T0, 42.0, 85.0, 5_000.0))
    store.save_event(other)
    with pytest.raises(ImmutableRecordError, match="stored with other values"):
        store.update_event(ev.id, picks=[replace(_pick(0), phase="S")], type=EventType.EXPLOSION)
    with pytest.raises(ImmutableRecordError, match="stored with other values"):
        store.update_event(ev.id, origin=replace(o1, depth_m=11_000.0))
    with pytest.raises(ImmutableRecordError, match=f"belongs to event {other.id}"):
        store.update_event(ev.id, origin=other.origins[0])
    with pytest.raises(ImmutableRecordError, match="given twice with different values"):
        store.update_event(ev.id, picks=[_pick(1), replace(_pick(1), phase="S")])
    assert store.get_event(ev.id) == ev  # each failed update rolled back as a whole
    got = store.update_event(ev.id, picks=[_pick(1), _pick(0), _pick(1)])  # repeats are harmless
    assert got.picks == (_pick(0), _pick(1))


def test_header_fields_set_clear_or_keep(store):
    ev = Event(created_at=T0, type_certainty="known", region_name="拜城 Baicheng").with_origin(
        Origin(T0, 41.0, 84.0, 10_000.0))
    store.save_event(ev)
    got = store.update_event(ev.id, type="quarry blast", type_certainty="suspected")
    assert (got.type, got.type_certainty, got.region_name) == (EventType.QUARRY_BLAST, "suspected", "拜城 Baicheng")
    got = store.update_event(ev.id, type=None, region_name="库车 Kuqa")
    assert (got.type, got.type_certainty, got.region_name) == (None, "suspected", "库车 Kuqa")
    got = store.update_event(ev.id, type=EventType.EARTHQUAKE, type_certainty=None, region_name=UNSET)
    assert (got.type, got.type_certainty, got.region_name) == (EventType.EARTHQUAKE, None, "库车 Kuqa")
    assert got.origins == ev.origins and store.get_event(ev.id) == got
    assert repr(UNSET) == "UNSET"


def test_bad_arguments_and_unknown_event(store):
    ev = Event(created_at=T0).with_origin(Origin(T0, 41.0, 84.0, 10_000.0))
    store.save_event(ev)
    with pytest.raises(InputError, match="type: unknown event type 'volcano'"):
        store.update_event(ev.id, type="volcano")
    with pytest.raises(InputError, match="type_certainty"):
        store.update_event(ev.id, type_certainty="sure")
    with pytest.raises(InputError, match="region_name"):
        store.update_event(ev.id, region_name=None)
    with pytest.raises(InputError, match="picks: expected Pick objects, got Origin"):
        store.update_event(ev.id, picks=[ev.origins[0]])
    with pytest.raises(InputError, match="origin: expected an Origin"):
        store.update_event(ev.id, origin=_pick(0))
    with pytest.raises(EventNotFoundError, match="'nope' is not in the store"):
        store.update_event("nope", origin=Origin(T0, 41.0, 84.0, 10_000.0), picks=[_pick(1)])
    assert store.counts()["picks"] == 0 and store.counts()["origins"] == 1
    assert store.get_event(ev.id) == ev


def test_update_from_a_stale_view_keeps_a_newer_magnitude(store):
    """The associator's view predates the magnitude; its update must not undo it (save_event would)."""
    ev = Event(created_at=T0).with_origin(Origin(T0, 41.0, 84.0, 10_000.0))
    store.save_event(ev)
    stale = store.get_event(ev.id)
    m = store.add_magnitude(ev.id, Magnitude("ML", 4.4))
    got = store.update_event(stale.id, origin=Origin(T0, 41.1, 84.1, 9_000.0), picks=[_pick(0)],
                             type=EventType.EARTHQUAKE)
    assert got.magnitudes == (m,) and got.preferred_magnitude_id == m.id
    assert _pref_columns(store, ev.id)[3:] == (4.4, "ML")


def test_concurrent_update_event_and_add_magnitude_lose_nothing(store, store_url):
    ev = Event(created_at=T0).with_origin(Origin(T0, 41.0, 84.0, 10_000.0))
    store.save_event(ev)
    n = 8
    errors: list[BaseException] = []
    added: list[Magnitude] = []
    barrier = threading.Barrier(2)

    def associator() -> None:
        with EventStore.open(store_url, upgrade=False) as own:
            barrier.wait(timeout=30)
            for k in range(n):
                own.update_event(ev.id, origin=Origin(T0 + timedelta(seconds=k / 10), 41.0 + k / 100, 84.0, 10_000.0),
                                 picks=[_pick(k)], region_name=f"update {k}")

    def magnitudes() -> None:
        with EventStore.open(store_url, upgrade=False) as own:
            barrier.wait(timeout=30)
            for k in range(n):
                added.append(own.add_magnitude(ev.id, Magnitude("ML", 3.0 + k / 10)))

    def run(target) -> None:
        try:
            target()
        except BaseException as err:  # noqa: BLE001 - reported by the test
            errors.append(err)

    threads = [threading.Thread(target=run, args=(t,)) for t in (associator, magnitudes)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "writer threads hung"
    assert errors == []
    got = store.get_event(ev.id)
    assert got.magnitudes == tuple(added) and got.preferred_magnitude_id == added[-1].id
    assert [o.version for o in got.origins] == list(range(1, n + 2))
    assert got.preferred_origin_id == got.origins[-1].id and got.region_name == f"update {n - 1}"
    assert [p.id for p in got.picks] == [_pick(k).id for k in range(n)]
    pref = _pref_columns(store, ev.id)
    assert pref[0] == got.origins[-1].time and pref[3] == added[-1].value

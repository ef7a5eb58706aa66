"""Concurrent writers: no duplicate versions, no lost appends (threads, both backends)."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from tianshan.core import Event, Magnitude, Origin
from tianshan.store import EventStore
from tianshan.store.convert import origin_to_row
from tianshan.store.schema import OriginRow

T0 = datetime(2024, 1, 22, 18, 9, 4, 123457, tzinfo=timezone.utc)  # the builders' reference time

N_THREADS = 4
PER_THREAD = 5


def _run_threads(target, n: int = N_THREADS) -> list[BaseException]:
    errors: list[BaseException] = []
    barrier = threading.Barrier(n)

    def wrapped(i: int) -> None:
        try:
            barrier.wait(timeout=30)
            target(i)
        except BaseException as err:  # noqa: BLE001 - reported by the test
            errors.append(err)

    threads = [threading.Thread(target=wrapped, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "writer threads hung"
    return errors


def test_concurrent_add_origin_and_magnitude_give_unique_consecutive_versions(store, store_url):
    ev = Event(created_at=T0).with_origin(Origin(T0, 41.0, 84.0, 10_000.0))
    store.save_event(ev)
    results: dict[int, list] = {}

    def writer(i: int) -> None:
        with EventStore.open(store_url, upgrade=False) as own:  # one store (engine) per writer, as processes
            out = []
            for k in range(PER_THREAD):
                o = Origin(T0 + timedelta(seconds=k), 41.0 + i / 100, 84.0 + k / 100, 10_000.0)
                out.append(own.add_origin(ev.id, o))
                out.append(own.add_magnitude(ev.id, Magnitude("ML", 3.0 + k / 10 + i / 100)))
            results[i] = out

    assert _run_threads(writer) == []
    got = store.get_event(ev.id)
    n = 1 + N_THREADS * PER_THREAD
    assert sorted(o.version for o in got.origins) == list(range(1, n + 1))
    assert sorted(m.version for m in got.magnitudes) == list(range(1, n))
    returned = {x.id: x for out in results.values() for x in out}
    assert all(returned[o.id] == o for o in got.origins[1:])  # what each writer was told is what is stored
    assert all(returned[m.id] == m for m in got.magnitudes)
    for out in results.values():  # each writer saw its own versions increase
        vs = [x.version for x in out if isinstance(x, Origin)]
        assert vs == sorted(vs)


def test_concurrent_saves_of_the_same_new_event_store_it_once(store, store_url):
    ev = Event(created_at=T0).with_origin(Origin(T0, 41.0, 84.0, 10_000.0))

    def writer(i: int) -> None:
        with EventStore.open(store_url, upgrade=False) as own:
            own.save_event(ev)

    assert _run_threads(writer) == []
    assert store.get_event(ev.id) == ev
    assert [e.id for e in store.events()] == [ev.id]


def test_shared_store_object_is_thread_safe(store):
    ev = Event(created_at=T0)
    store.save_event(ev)

    def writer(i: int) -> None:
        for k in range(3):
            store.add_origin(ev.id, Origin(T0, 40.0 + i / 10, 80.0 + k / 10, 5_000.0))

    assert _run_threads(writer) == []
    assert sorted(o.version for o in store.get_event(ev.id).origins) == list(range(1, N_THREADS * 3 + 1))


def test_database_itself_rejects_a_duplicate_origin_version(store):
    """The unique constraint holds even for a writer that bypasses the repository's locking."""
    ev = Event(created_at=T0).with_origin(Origin(T0, 41.0, 84.0, 10_000.0))
    store.save_event(ev)
    dup = Origin(T0, 42.0, 84.0, 10_000.0, version=1)
    with store._write_sessions() as s:
        with pytest.raises(IntegrityError):
            with s.begin():
                s.add(origin_to_row(dup, ev.id, seq=2))
    with store._read_sessions() as s:
        assert len(s.scalars(select(OriginRow)).all()) == 1

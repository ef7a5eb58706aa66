"""Event timeline in the store: first record of a step wins, steps in order, concurrent writers (both backends)."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import insert

from tianshan.core import Event, Origin, TimelineEntry
from tianshan.core.errors import InputError
from tianshan.core.timeline import STEPS
from tianshan.store import EventStore
from tianshan.store.schema import TimelineRow

T0 = datetime(2024, 1, 22, 18, 9, 4, 123457, tzinfo=timezone.utc)


def _at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def test_record_and_read_back_in_step_order(store):
    ev = Event(created_at=T0).with_origin(Origin(T0, 41.0, 84.0, 10_000.0))
    store.save_event(ev)
    entries = [TimelineEntry(ev.id, step, _at(10 + i + 1e-6 * i), data_time=_at(i) if i % 2 else None,
                             detail=f"第 {i} 步 step {i}")
               for i, step in enumerate(STEPS)]
    assert store.record_timeline(reversed(entries)) == len(STEPS)  # any order in, step order out
    assert store.timeline(ev.id) == entries  # times exact to the microsecond, None kept
    assert store.timeline("no-such-event") == []
    assert store.record_timeline([]) == 0


def test_first_record_of_a_step_wins(store):
    first = TimelineEntry("ev-a", "first_pick", _at(5), data_time=_at(3), detail="XJ.S01 P")
    assert store.record_timeline([first]) == 1
    later = TimelineEntry("ev-a", "first_pick", _at(4), data_time=_at(2), detail="XJ.S02 P")
    origin = TimelineEntry("ev-a", "first_origin", _at(8))
    assert store.record_timeline([later, origin]) == 1  # only the new step counts
    assert store.timeline("ev-a") == [first, origin]
    # within one call the first of a step wins too
    a = TimelineEntry("ev-b", "final", _at(100), detail="a")
    b = TimelineEntry("ev-b", "final", _at(90), detail="b")
    assert store.record_timeline([a, b]) == 1
    assert store.timeline("ev-b") == [a]


def test_timeline_may_precede_its_event(store):
    """No foreign key: the associator records the first pick before the event row is committed."""
    ev = Event(created_at=T0).with_origin(Origin(T0, 41.0, 84.0, 10_000.0))
    pick_step = TimelineEntry(ev.id, "first_pick", _at(5), data_time=_at(3))
    assert store.record_timeline([pick_step]) == 1
    store.save_event(ev)
    assert store.get_event(ev.id) == ev and store.timeline(ev.id) == [pick_step]


def test_events_keep_their_own_timelines_and_many_rows_go_in_one_call(store):
    entries = [TimelineEntry(f"ev-{k:03d}", step, _at(k + i)) for k in range(150) for i, step in enumerate(STEPS)]
    assert store.record_timeline(entries) == len(entries)  # more rows than one INSERT statement takes
    assert store.timeline("ev-007") == [e for e in entries if e.event_id == "ev-007"]
    assert store.record_timeline(entries) == 0


def test_unknown_steps_in_the_database_are_left_out(store):
    with store.engine.begin() as conn:  # a row written by a newer version with another step
        conn.execute(insert(TimelineRow.__table__).values(event_id="ev", step="first_siren", wall_time=_at(1),
                                                          data_time=None, detail=""))
    final = TimelineEntry("ev", "final", _at(2))
    store.record_timeline([final])
    assert store.timeline("ev") == [final]


def test_record_refuses_other_objects(store):
    with pytest.raises(InputError, match="expected TimelineEntry objects, got dict"):
        store.record_timeline([{"event_id": "ev", "step": "final", "wall_time": T0}])
    assert store.timeline("ev") == []


N_WRITERS = 4
N_EVENTS = 12


def test_concurrent_writers_store_each_step_once(store, store_url):
    """Writers with their own engines (as separate processes) race to record the same steps."""
    counts: dict[int, int] = {}
    errors: list[BaseException] = []
    barrier = threading.Barrier(N_WRITERS)

    def writer(w: int) -> None:
        try:
            with EventStore.open(store_url, upgrade=False) as own:
                barrier.wait(timeout=30)
                n = 0
                for k in range(N_EVENTS):
                    for i, step in enumerate(STEPS):  # one transaction per step: maximal interleaving
                        n += own.record_timeline([TimelineEntry(f"ev-{k}", step, _at(k + i + w / 1000),
                                                                detail=f"writer {w}")])
                counts[w] = n
        except BaseException as err:  # noqa: BLE001 - reported by the test
            errors.append(err)

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(N_WRITERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "writer threads hung"
    assert errors == []
    assert sum(counts.values()) == N_EVENTS * len(STEPS)  # every step inserted by exactly one writer
    for k in range(N_EVENTS):
        got = store.timeline(f"ev-{k}")
        assert [e.step for e in got] == list(STEPS)
        for i, e in enumerate(got):  # each stored row is one writer's entry, whole
            w = int(e.detail.split()[1])
            assert e.wall_time == _at(k + i + w / 1000)



def test_migration_0003_adds_and_drops_the_timeline_table(empty_url):
    from sqlalchemy import inspect
    from sqlalchemy.orm import Session

    from tianshan.core import QCKind, QCRecord, StreamID
    from tianshan.store import convert, migrate
    from tianshan.store.database import make_engine

    rec = QCRecord(StreamID("XJ", "S01", "", "HHZ"), T0, _at(1), QCKind.GAP, 1.0)
    engine = make_engine(empty_url)
    try:
        migrate.upgrade(engine, "0002")
        assert "event_timeline" not in inspect(engine).get_table_names()
        with pytest.raises(InputError, match="tianshan db upgrade"):
            EventStore.open(empty_url, upgrade=False)
        with Session(engine) as s, s.begin():  # data written before the upgrade survives it
            s.add(convert.qc_record_to_row(rec))
        assert migrate.upgrade(engine) == migrate.head_revision()
        assert "event_timeline" in inspect(engine).get_table_names()
        assert migrate.schema_diffs(engine) == []
        with EventStore.open(empty_url, upgrade=False) as store:
            assert store.qc_records() == [rec]
            entry = TimelineEntry("ev", "final", _at(2))
            assert store.record_timeline([entry]) == 1 and store.timeline("ev") == [entry]
        assert migrate.downgrade(engine, "0002") == "0002"
        assert "event_timeline" not in inspect(engine).get_table_names()
    finally:
        engine.dispose()

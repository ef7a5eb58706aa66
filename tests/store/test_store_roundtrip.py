"""Round trips: every domain object comes back equal, on SQLite and PostgreSQL."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta, timezone

import numpy as np
import pytest

from tianshan.core import Event, Origin
from tianshan.core.errors import DomainError
from tianshan.store import ImmutableRecordError, VersionConflictError

T0 = datetime(2024, 1, 22, 18, 9, 4, 123457, tzinfo=timezone.utc)  # the builders' reference time

UTC = timezone.utc


def test_rich_event_round_trip_is_exact(store, objects):
    ev = objects.rich_event(np.random.default_rng(1), n_origins=3)
    assert len(ev.origins) == 3 and len(ev.magnitudes) == 6 and ev.preferred_origin_id == ev.origins[1].id
    store.save_event(ev)
    got = store.get_event(ev.id)
    assert got == ev
    # spot checks that == really looked at the details
    assert got.origins[2].arrivals[-1].distance_deg is None
    assert got.origins[0].time.microsecond == ev.origins[0].time.microsecond
    assert got.origins[0].time.tzinfo is not None and got.origins[0].time.utcoffset() == timedelta(0)
    assert [m.version for m in got.magnitudes] == [1, 1, 2, 2, 3, 3]
    assert got.region_name.startswith("新疆")


def test_minimal_events_round_trip(store):
    bare = Event(type=None, created_at=T0)
    one = Event(region_name="").with_origin(Origin(T0, 40.0, 80.0, 10_000.0))
    for ev in (bare, one):
        store.save_event(ev)
        assert store.get_event(ev.id) == ev


@pytest.mark.parametrize("when", [
    datetime(1906, 12, 23, 2, 21, 0, 999999, tzinfo=UTC),   # Manas earthquake era: before 1970
    datetime(1970, 1, 1, tzinfo=UTC),
    datetime(1969, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
    datetime(2099, 12, 31, 23, 59, 59, 1, tzinfo=UTC),
])
def test_times_survive_to_the_microsecond(store, when):
    ev = Event().with_origin(Origin(when, 44.0, 85.0, 20_000.0))
    store.save_event(ev)
    assert store.get_event(ev.id).origins[0].time == when


def test_naive_and_offset_times_are_stored_as_utc(store):
    tz8 = timezone(timedelta(hours=8))
    o = Origin(datetime(2024, 1, 23, 2, 9, 4, 5, tzinfo=tz8), 41.0, 78.6, 22_000.0)
    ev = Event().with_origin(o)
    store.save_event(ev)
    got = store.get_event(ev.id).origins[0].time
    assert got == datetime(2024, 1, 22, 18, 9, 4, 5, tzinfo=UTC) and got.utcoffset() == timedelta(0)


def test_stations_round_trip_and_replace(store, objects):
    stations = objects.rich_stations()
    assert store.save_stations(stations) == 2
    assert store.stations() == stations
    moved = replace(stations[0], name="renamed", channels=stations[0].channels[:1])
    assert store.save_stations([moved]) == 1
    assert store.stations() == [moved, stations[1]]
    assert store.stations()[0].channels[0].gain == stations[0].channels[0].gain


def test_duplicate_streams_are_refused(store, objects):
    st = objects.rich_stations()[0]
    with pytest.raises(DomainError, match="duplicate"):
        store.save_stations([st, st])
    assert store.stations() == []


def test_products_round_trip_filter_and_are_insert_only(store, objects):
    ev = objects.rich_event(np.random.default_rng(2), n_origins=1)
    store.save_event(ev)
    p1, p2 = objects.rich_product(ev.id, version=1), objects.rich_product(ev.id, version=2)
    q = replace(objects.rich_product(None, kind="bulletin"), created_at=T0 + timedelta(hours=1))
    for p in (p2, q, p1):
        store.save_product(p)
    store.save_product(p1)  # identical again: no-op
    store.save_product(replace(p1, properties={**p1.properties, "cities": ("Aksu", "库车")}))  # same as JSON
    assert store.products() == [p1, p2, q]
    assert store.products(event_id=ev.id) == [p1, p2]
    assert store.products(kind="bulletin") == [q]
    assert store.products(event_id=ev.id, kind="bulletin") == []
    assert dict(store.products(kind="bulletin")[0].properties) == {"max_intensity": 8.5, "cities": ["Aksu", "库车"],
                                                                   "nested": {"n": 3}}
    with pytest.raises(ImmutableRecordError):
        store.save_product(replace(p1, uri="elsewhere.json"))
    assert store.products(event_id=ev.id)[0].uri == p1.uri


def test_alerts_round_trip_and_sequence_is_unique(store, objects):
    a0, a1 = objects.rich_alert("ev-1", 0), objects.rich_alert("ev-1", 1)
    b0 = replace(objects.rich_alert("ev-2", 0), targets=(), magnitude_uncertainty=None, issued_at=T0)
    for a in (a1, a0, b0):
        store.save_alert(a)
    store.save_alert(a0)  # identical: no-op
    assert store.alerts() == [b0, a0, a1]
    assert store.alerts("ev-1") == [a0, a1] and store.alerts("nope") == []
    with pytest.raises(VersionConflictError, match="sequence 1"):
        store.save_alert(objects.rich_alert("ev-1", 1))  # new id, same sequence
    with pytest.raises(ImmutableRecordError):
        store.save_alert(replace(a0, cancelled=True))
    assert store.alerts("ev-1") == [a0, a1]

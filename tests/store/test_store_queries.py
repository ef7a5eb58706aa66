"""Catalogue queries: time window, magnitude, box, limit, order."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from tianshan.core import Event, Magnitude, Origin
from tianshan.core.errors import InputError

T0 = datetime(2024, 1, 22, 18, 9, 4, 123457, tzinfo=timezone.utc)  # the builders' reference time


def _ev(hours: float, lat: float, lon: float, mag: float | None) -> Event:
    ev = Event(created_at=T0).with_origin(Origin(T0 + timedelta(hours=hours), lat, lon, 10_000.0))
    return ev if mag is None else ev.with_magnitude(Magnitude("ML", mag))


@pytest.fixture
def catalog(store):
    evs = {
        "a": _ev(0, 41.0, 84.0, 3.0),
        "b": _ev(1, 43.8, 87.6, 5.5),
        "c": _ev(2, 39.5, 75.9, 4.0),
        "d": _ev(-1, 52.0, 179.5, 6.0),   # east of the antimeridian box edge
        "e": _ev(3, 52.0, -179.5, None),  # no magnitude
        "f": Event(created_at=T0),        # no origin at all
    }
    for ev in evs.values():
        store.save_event(ev)
    return store, {k: v.id for k, v in evs.items()}


def _names(events, ids) -> list[str]:
    inv = {v: k for k, v in ids.items()}
    return [inv[e.id] for e in events]


def test_all_events_in_time_order_without_origin_last(catalog):
    store, ids = catalog
    assert _names(store.events(), ids) == ["d", "a", "b", "c", "e", "f"]
    assert _names(store.events(limit=2), ids) == ["d", "a"]


def test_time_window_is_half_open(catalog):
    store, ids = catalog
    assert _names(store.events(start=T0, end=T0 + timedelta(hours=2)), ids) == ["a", "b"]
    assert _names(store.events(start=T0 + timedelta(microseconds=1)), ids) == ["b", "c", "e"]
    # naive datetimes and ISO strings are UTC
    assert _names(store.events(start=T0.replace(tzinfo=None), end=(T0 + timedelta(hours=1)).isoformat()),
                  ids) == ["a"]


def test_min_magnitude(catalog):
    store, ids = catalog
    assert _names(store.events(min_magnitude=4.0), ids) == ["d", "b", "c"]
    assert _names(store.events(min_magnitude=5.5, start=T0), ids) == ["b"]


def test_bbox_including_antimeridian(catalog):
    store, ids = catalog
    assert _names(store.events(bbox=(73.0, 34.0, 97.0, 49.0)), ids) == ["a", "b", "c"]
    assert _names(store.events(bbox=(84.0, 41.0, 87.6, 43.8)), ids) == ["a", "b"]  # edges included
    assert _names(store.events(bbox=(179.0, 50.0, -179.0, 53.0)), ids) == ["d", "e"]


@pytest.mark.parametrize("kwargs, field", [
    ({"bbox": (1, 2, 3)}, "bbox"), ({"bbox": (0, 50, 10, 40)}, "bbox"), ({"bbox": (0, 0, 200, 10)}, "bbox"),
    ({"min_magnitude": "big"}, "min_magnitude"), ({"limit": -1}, "limit"),
])
def test_bad_query_arguments_are_input_errors(store, kwargs, field):
    with pytest.raises(InputError) as info:
        store.events(**kwargs)
    assert info.value.field == field

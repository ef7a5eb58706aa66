"""fdsnws-event QuakeML written as strings equals what ObsPy's writer made from the same events.

Both outputs of the same domain events are read back with ObsPy (``read_events``) and
compared: the ObsPy catalogues are equal, the events read back into domain events
(:func:`tianshan.io.quakeml.catalog_from_obspy`) are equal, and the direct output passes
ObsPy's QuakeML 1.2 schema validation. The events carry every field the event store
keeps (uncertainties, error ellipse, quality, method and earth-model labels, fixed depth,
type certainty, several versions) and XML special characters in texts and ids.
"""

from __future__ import annotations

import io
from datetime import datetime, timedelta, timezone

import pytest

UTC = timezone.utc


def _rich_event():
    """An event using every stored origin/magnitude field, with texts that need escaping."""
    from tianshan.core import ErrorEllipse, Event, EventType, Magnitude, Origin

    t = datetime(2024, 7, 3, 4, 5, 6, 789012, tzinfo=UTC)
    ev = Event(type=EventType("earthquake"), type_certainty="suspected", region_name="Hotan <Pishan> & \"Yecheng\"",
               created_at=t + timedelta(seconds=30), id="my event & id <1>")
    for k in range(2):
        o = Origin(t + timedelta(seconds=0.01 * k), 37.5 + 0.001 * k, 78.25, 12_345.6, time_uncertainty_s=0.21,
                   horizontal_uncertainty_m=1800.0, depth_uncertainty_m=3200.5,
                   ellipse=ErrorEllipse(2500.0, 1200.0, 35.0, 0.68), rms_s=0.37, azimuthal_gap_deg=97.5,
                   phase_count=23, station_count=11, minimum_distance_deg=0.12, method="octree EDT",
                   earth_model="xj-1d & crust", depth_fixed=bool(k), agency="XJ",
                   created_at=t + timedelta(minutes=1 + k))
        ev = ev.with_origin(o)
        ev = ev.with_magnitude(Magnitude("ML", 5.1 + 0.1 * k, o.id, uncertainty=0.25, station_count=9,
                                         method="GB 17740", agency="XJ", created_at=t + timedelta(minutes=1 + k)))
    return ev


@pytest.fixture(scope="module")
def service(ff, tmp_path_factory):
    from tianshan.services.fdsn.event import EventService
    from tianshan.store import EventStore

    url, events = ff.build_store(tmp_path_factory.mktemp("store"))
    with EventStore.open(url) as store:
        store.save_event(_rich_event())
    svc = EventService(url)
    yield svc
    svc.close()


def _events(service, **params):
    """The domain events the service puts in a QuakeML answer to ``params``."""
    from tianshan.services.fdsn.params import parse_items
    from tianshan.services.fdsn.spec import EVENT

    q = parse_items(EVENT, [(k, str(v)) for k, v in params.items()])
    with service._sessions() as s:
        rows = service._select(s, q, skip=0, want=100)
        return service._load(s, rows, q["includeallorigins"], q["includeallmagnitudes"], q["includearrivals"])


def _via_obspy(events) -> bytes:
    from tianshan.io._obspy import NSMAP
    from tianshan.io.quakeml import catalog_to_obspy

    buf = io.BytesIO()
    catalog_to_obspy(events).write(buf, format="QUAKEML", nsmap=dict(NSMAP))
    return buf.getvalue()


@pytest.mark.parametrize("params", [{}, {"includeallorigins": "true"}, {"includeallmagnitudes": "true"},
                                    {"includeallorigins": "true", "includeallmagnitudes": "true"}])
def test_direct_quakeml_reads_back_as_the_obspy_written_one(service, params):
    from obspy import read_events
    from obspy.io.quakeml.core import _validate

    from tianshan.io.quakeml import catalog_from_obspy
    from tianshan.services.fdsn.event import _quakeml_direct

    events = _events(service, **params)
    assert len(events) == 5 and not any(ev.picks for ev in events)
    direct, reference = _quakeml_direct(events), _via_obspy(events)
    assert _validate(io.BytesIO(direct))
    new, old = read_events(io.BytesIO(direct)), read_events(io.BytesIO(reference))
    new.resource_id = old.resource_id  # a fresh random catalogue id each time
    assert new == old
    assert [e.resource_id.id for e in new] == [e.resource_id.id for e in old]
    for a, b in zip(new, old):
        assert [(o.time, o.latitude, o.longitude, o.depth) for o in a.origins] == \
            [(o.time, o.latitude, o.longitude, o.depth) for o in b.origins]
        assert [(m.mag, m.magnitude_type) for m in a.magnitudes] == [(m.mag, m.magnitude_type) for m in b.magnitudes]
    assert catalog_from_obspy(new) == catalog_from_obspy(old) == events


def test_service_answers_with_the_direct_writer_and_obspy_for_arrivals(service):
    from obspy import read_events

    from tianshan.services.fdsn.params import parse_items
    from tianshan.services.fdsn.spec import EVENT

    body, media = service.query(parse_items(EVENT, [("limit", "10")]))
    assert media == "application/xml" and b"<q:quakeml" in body
    cat = read_events(io.BytesIO(body))
    rich = [e for e in cat if e.event_descriptions and "Pishan" in e.event_descriptions[0].text][0]
    assert rich.event_descriptions[0].text == "Hotan <Pishan> & \"Yecheng\""
    assert rich.preferred_origin().origin_uncertainty.confidence_level == 68.0
    assert rich.preferred_origin().extra["depthFixed"]["value"] == "true"
    # with arrivals: picks, amplitudes, arrivals, station magnitudes through ObsPy's writer
    body, _ = service.query(parse_items(EVENT, [("limit", "10"), ("includearrivals", "true")]))
    cat = read_events(io.BytesIO(body))
    assert sum(len(e.picks) for e in cat) == 12 and sum(len(e.station_magnitudes) for e in cat) > 0

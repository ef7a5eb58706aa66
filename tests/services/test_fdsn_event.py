"""fdsnws-event 1.2 against real event stores (SQLite and PostgreSQL), driven by ObsPy's FDSN client over HTTP.

Expected answers are computed from the domain events (``Event.preferred_origin`` /
``preferred_magnitude``) with plain Python filters, independently of the SQL selection.
"""

from __future__ import annotations

import importlib.util
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest


def _load_fixtures():
    name = "tianshan_fdsn_test_fixtures"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, Path(__file__).with_name("fdsn_fixtures.py"))
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


ff = _load_fixtures()
UTC = timezone.utc


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def store(request, tmp_path_factory):
    """(URL, stored events) on each backend; the PostgreSQL one skips when no server answers (fails in CI)."""
    if request.param == "sqlite":
        yield ff.build_store(tmp_path_factory.mktemp("event-store"))
        return
    with ff.PgSchema(ff.pg_server_url()) as schema:
        yield ff.build_store(url=schema.url)


@pytest.fixture(scope="module")
def server(store):
    from tianshan.services.fdsn.app import create_app

    app = create_app(store[0], max_events=100, rate_limit_per_s=None)
    with ff.LiveServer(app) as srv:
        yield srv


@pytest.fixture(scope="module")
def client(server):
    from obspy.clients.fdsn import Client

    return Client(server.url)


def _ids(cat) -> list[str]:
    from tianshan.io._obspy import id_from_uri

    return [id_from_uri(e.resource_id) for e in cat]


def _expected(events, *, start=None, end=None, min_mag=None, where=lambda e: True, order="time"):
    sel = [e for e in events if (start is None or e.preferred_origin.time >= start)
           and (end is None or e.preferred_origin.time <= end)
           and (min_mag is None or e.preferred_magnitude.value >= min_mag) and where(e)]
    if order == "time":
        sel.sort(key=lambda e: e.preferred_origin.time, reverse=True)
    elif order == "magnitude-asc":
        sel.sort(key=lambda e: e.preferred_magnitude.value)
    return [e.id for e in sel]


def test_obspy_client_discovers_the_service(client):
    assert "event" in client.services
    assert client.services["available_event_catalogs"] == {"TIANSHAN"}
    assert client.services["available_event_contributors"] == {"CENC", "XJ"}
    assert client.get_webservice_version("event") == [1, 2, 0]


def test_all_events_newest_first_with_preferred_values(client, store):
    _, events = store
    cat = client.get_events()
    assert _ids(cat) == _expected(events)
    by_id = {e.id: e for e in events}
    for qe, qid in zip(cat, _ids(cat)):
        ev = by_id[qid]
        assert len(qe.origins) == 1 and len(qe.magnitudes) == 1 and not qe.picks and not qe.amplitudes
        o, m = qe.preferred_origin(), qe.preferred_magnitude()
        assert o.time.datetime.replace(tzinfo=UTC) == ev.preferred_origin.time
        assert o.latitude == pytest.approx(ev.preferred_origin.latitude_deg)
        assert o.depth == pytest.approx(ev.preferred_origin.depth_m)
        assert m.mag == pytest.approx(ev.preferred_magnitude.value) and m.magnitude_type == ev.preferred_magnitude.type
        assert not o.arrivals and not qe.station_magnitudes


@pytest.mark.parametrize("kwargs, where", [
    ({"minmagnitude": 3.0}, lambda e: e.preferred_magnitude.value >= 3.0),
    ({"maxmagnitude": 3.1}, lambda e: e.preferred_magnitude.value <= 3.1),
    ({"mindepth": 9.0, "maxdepth": 20.0}, lambda e: 9000 <= e.preferred_origin.depth_m <= 20000),
    ({"minlatitude": 41.0, "maxlatitude": 43.0, "minlongitude": 84.0, "maxlongitude": 87.0},
     lambda e: 41 <= e.preferred_origin.latitude_deg <= 43 and 84 <= e.preferred_origin.longitude_deg <= 87),
    ({"latitude": 41.95, "longitude": 84.3, "maxradius": 2.0}, "radius"),
    ({"latitude": 41.95, "longitude": 84.3, "minradius": 0.5, "maxradius": 10.0}, "ring"),
    ({"eventtype": "quarry blast"}, lambda e: e.type is not None and e.type.value == "quarry blast"),
    ({"eventtype": "unknown,earth*"}, lambda e: e.type is None or e.type.value == "earthquake"),
    ({"contributor": "CENC"}, lambda e: e.preferred_origin.agency == "CENC"),
    ({"magnitudetype": "ML", "minmagnitude": 3.0},
     lambda e: any(m.type == "ML" and m.value >= 3.0 and m.version == max(
         x.version for x in e.magnitudes if x.type == "ML") for m in e.magnitudes)),
])
def test_selections_match_a_python_filter_of_the_domain_events(client, store, kwargs, where):
    from tianshan.services.fdsn.geo import distance_deg

    _, events = store
    if where == "radius":
        def where(e):
            return distance_deg(41.95, 84.3, e.preferred_origin.latitude_deg, e.preferred_origin.longitude_deg) <= 2
    elif where == "ring":
        def where(e):
            d = distance_deg(41.95, 84.3, e.preferred_origin.latitude_deg, e.preferred_origin.longitude_deg)
            return 0.5 <= d <= 10
    expected = _expected(events, where=where)
    assert expected, "the selection must keep some events to be a test"
    assert len(expected) < len(events), "the selection must drop some events to be a test"
    assert _ids(client.get_events(**kwargs)) == expected


def test_time_window_order_limit_offset(client, store):
    from obspy import UTCDateTime

    _, events = store
    t0 = ff.ORIGIN_TIME
    cat = client.get_events(starttime=UTCDateTime(t0 - timedelta(seconds=1)),
                            endtime=UTCDateTime(t0 + timedelta(days=1, seconds=1)))
    assert _ids(cat) == _expected(events, start=t0 - timedelta(seconds=1), end=t0 + timedelta(days=1, seconds=1))
    asc = _expected(events, order="magnitude-asc")
    assert _ids(client.get_events(orderby="magnitude-asc")) == asc
    assert _ids(client.get_events(orderby="magnitude")) == asc[::-1]
    assert _ids(client.get_events(orderby="time-asc")) == _expected(events)[::-1]
    assert _ids(client.get_events(limit=2)) == _expected(events)[:2]
    assert _ids(client.get_events(limit=2, offset=3)) == _expected(events)[2:4]
    assert _ids(client.get_events(latitude=41.95, longitude=84.3, maxradius=30, limit=1, offset=2)) == \
        _expected(events)[1:2]


def test_histories_arrivals_and_one_event_by_id(client, store):
    _, events = store
    ev = max(events, key=lambda e: len(e.origins))
    cat = client.get_events(eventid=ev.id, includeallorigins=True, includeallmagnitudes=True, includearrivals=True)
    assert _ids(cat) == [ev.id]
    qe = cat[0]
    assert len(qe.origins) == len(ev.origins) == 3 and len(qe.magnitudes) == len(ev.magnitudes)
    assert len(qe.picks) == len(ev.picks) and len(qe.amplitudes) == len(ev.amplitudes)
    assert [len(o.arrivals) for o in qe.origins] == [len(o.arrivals) for o in ev.origins]
    assert len(qe.station_magnitudes) > 0
    from tianshan.io._obspy import id_from_uri

    assert id_from_uri(qe.preferred_origin_id) == ev.preferred_origin_id
    short = ev.id.rsplit("/", 1)[1]
    assert _ids(client.get_events(eventid=short)) == [ev.id]
    only_origins = client.get_events(eventid=ev.id, includeallorigins=True)[0]
    assert len(only_origins.origins) == 3 and len(only_origins.magnitudes) == 1


def test_updatedafter(client, store):
    from obspy.clients.fdsn.header import FDSNNoDataException

    _, events = store
    assert len(client.get_events(updatedafter="2000-01-01")) == len(events)
    with pytest.raises(FDSNNoDataException):
        client.get_events(updatedafter=datetime.now(UTC) + timedelta(days=1))


def test_text_format_follows_the_spec_columns(server, store):
    _, events = store
    reply = ff.http(server.url + "/fdsnws/event/1/query?format=text&orderby=time-asc")
    assert reply.status == 200 and reply.headers["content-type"].startswith("text/plain")
    lines = reply.text.splitlines()
    assert lines[0] == ("#EventID|Time|Latitude|Longitude|Depth/km|Author|Catalog|Contributor|ContributorID|"
                        "MagType|Magnitude|MagAuthor|EventLocationName|EventType")
    assert len(lines) == 1 + len(events)
    rows = [line.split("|") for line in lines[1:]]
    assert all(len(r) == 14 for r in rows)
    for row, ev in zip(rows, sorted(events, key=lambda e: e.preferred_origin.time)):
        o, m = ev.preferred_origin, ev.preferred_magnitude
        assert row[0] == ev.id and row[8] == ev.id and row[6] == "TIANSHAN"
        assert datetime.fromisoformat(row[1]).replace(tzinfo=UTC) == o.time
        assert float(row[2]) == pytest.approx(o.latitude_deg, abs=1e-6)
        assert float(row[4]) == pytest.approx(o.depth_m / 1000.0, abs=1e-4)
        assert row[5] == row[7] == o.agency and row[11] == m.agency
        assert row[9] == m.type and float(row[10]) == pytest.approx(m.value, abs=0.005)
        assert row[12] == ev.region_name.replace("|", "/")
        assert row[13] == ("" if ev.type is None else ev.type.value)


def test_no_data_is_204_or_404_as_asked(server, client):
    from obspy.clients.fdsn.header import FDSNNoDataException

    empty = server.url + "/fdsnws/event/1/query?minmagnitude=9"
    reply = ff.http(empty)
    assert reply.status == 204 and reply.body == b""
    detail = ff.check_error_body(ff.http(empty + "&nodata=404"), 404, "1.2.0")
    assert "No data" in detail
    with pytest.raises(FDSNNoDataException):
        client.get_events(minmagnitude=9)
    assert ff.http(server.url + "/fdsnws/event/1/query?catalog=OTHER").status == 204


def test_bad_requests_get_the_spec_error_body(server):
    base = server.url + "/fdsnws/event/1/query?"
    for query, words in (("minlat=100", "minlatitude"), ("starttime=yesterday", "not a time"),
                         ("bogus=1", "unknown parameter"), ("eventtype=meteor", "unknown QuakeML"),
                         ("format=text&format=xml", "more than once"),
                         ("eventid=%27%3B%20DROP%20TABLE%20events%3B--&nodata=404", "No data")):
        reply = ff.http(base + query)
        code = 404 if "nodata=404" in query else 400
        assert words in ff.check_error_body(reply, code, "1.2.0"), query
    assert ff.http(server.url + "/fdsnws/event/1/query?limit=5").status == 200  # the store survived
    assert ff.http(server.url + "/fdsnws/event/1/version").text == "1.2.0"
    page = ff.http(server.url + "/fdsnws/event/1/")
    assert page.status == 200 and "includeallorigins" in page.text
    ff.check_error_body(ff.http(server.url + "/fdsnws/event/1/nothing"), 404, "")


def test_request_too_large_and_rate_limit(store):
    from obspy.clients.fdsn import Client
    from obspy.clients.fdsn.header import FDSNRequestTooLargeException

    from tianshan.services.fdsn.app import create_app

    app = create_app(store[0], max_events=2, rate_limit_per_s=0.001, rate_burst=3)
    with ff.LiveServer(app) as srv:
        client = Client(srv.url)  # discovery (WADL, catalogs...) is not rate limited; queries are
        with pytest.raises(FDSNRequestTooLargeException):
            client.get_events()
        assert len(client.get_events(limit=2)) == 2
        ff.check_error_body(ff.http(srv.url + "/fdsnws/event/1/query?limit=3"), 413, "1.2.0")
        reply = ff.http(srv.url + "/fdsnws/event/1/query?limit=1")
        assert "too many requests" in ff.check_error_body(reply, 429, "1.2.0")
        assert int(reply.headers["retry-after"]) >= 1
        assert app.state.fdsn.counts[429] == 1 and app.state.fdsn.counts[413] == 2


def test_database_failure_is_503_and_the_server_survives():
    from tianshan.services.fdsn.app import create_app

    schema = ff.PgSchema(ff.pg_server_url())
    with schema:
        url, _ = ff.build_store(url=schema.url)
        app = create_app(url, rate_limit_per_s=None)
        with ff.LiveServer(app) as srv:
            assert ff.http(srv.url + "/fdsnws/event/1/query?format=text").status == 200
            schema._run(f'DROP SCHEMA "{schema.name}" CASCADE')  # the database loses the catalogue under it
            reply = ff.http(srv.url + "/fdsnws/event/1/query?format=text")
            assert "cannot be reached" in ff.check_error_body(reply, 503, "1.2.0")
            assert ff.http(srv.url + "/fdsnws/event/1/version").text == "1.2.0"
            assert app.state.fdsn.counts[503] == 1

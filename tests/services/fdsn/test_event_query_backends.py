"""fdsnws-event selection on a 10,000-event synthetic catalogue: SQLite and PostgreSQL answer alike,
and both equal a brute-force selection of the catalogue (numpy filters and sorts, ObsPy distances).

The catalogue and its bulk loader are those of ``benchmarks/bench_fdsn_store.py`` (rows built by the
store's converters, tables made by the migrations). The queries cover both plans of
:meth:`tianshan.services.fdsn.event.EventService._select` on SQLite: a magnitude range matching few
events (searched through ``ix_events_mag_time``) and one matching many (time index).
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import numpy as np
import pytest

UTC = timezone.utc
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
N_EVENTS = 10_000


@pytest.fixture(scope="module")
def catalog(bench):
    return bench.synthetic_catalog(N_EVENTS, seed=42)


@pytest.fixture(scope="module")
def services(ff, bench, catalog, tmp_path_factory):
    """EventService on SQLite and PostgreSQL stores holding the same catalogue (PostgreSQL: skip or fail in CI)."""
    from tianshan.services.fdsn.event import EventService

    url = f"sqlite:///{tmp_path_factory.mktemp('bench-store') / 'events.sqlite'}"
    bench.load_store(url, catalog)
    out = {"sqlite": EventService(url)}
    with ff.PgSchema(ff.pg_server_url()) as schema:
        bench.load_store(schema.url, catalog)
        out["postgresql"] = EventService(schema.url)
        yield out
        for svc in out.values():
            svc.close()


def _iso(us: int) -> str:
    return (EPOCH + timedelta(microseconds=int(us))).strftime("%Y-%m-%dT%H:%M:%S.%f")


def _expected(cat: dict, p: dict) -> list[str]:
    """Event ids the query ``p`` must return, by brute force over the catalogue arrays."""
    from obspy.geodetics import locations2degrees

    t, lat, lon, mag, dep = cat["time_us"], cat["lat"], cat["lon"], cat["mag"], cat["depth_m"]
    ok = np.ones(len(t), dtype=bool)
    to_us = lambda s: (datetime.fromisoformat(s).replace(tzinfo=UTC) - EPOCH) // timedelta(microseconds=1)  # noqa: E731
    if "starttime" in p:
        ok &= t >= to_us(p["starttime"])
    if "endtime" in p:
        ok &= t <= to_us(p["endtime"])
    for key, arr, op in (("minlatitude", lat, np.greater_equal), ("maxlatitude", lat, np.less_equal),
                         ("minlongitude", lon, np.greater_equal), ("maxlongitude", lon, np.less_equal),
                         ("minmagnitude", mag, np.greater_equal), ("maxmagnitude", mag, np.less_equal)):
        if key in p:
            ok &= op(arr, float(p[key]))
    if "maxdepth" in p:
        ok &= dep <= float(p["maxdepth"]) * 1000.0
    if "maxradius" in p:
        ok &= locations2degrees(float(p["latitude"]), float(p["longitude"]), lat, lon) <= float(p["maxradius"])
    idx = np.flatnonzero(ok)
    order = p.get("orderby", "time")
    # ties on time are broken by id (ascending), i.e. by catalogue index: ids are b<index>
    if order == "time":
        idx = idx[np.lexsort((idx, -t[idx]))]
    elif order == "time-asc":
        idx = idx[np.lexsort((idx, t[idx]))]
    elif order == "magnitude":
        idx = idx[np.lexsort((idx, -t[idx], -mag[idx]))]
    else:
        idx = idx[np.lexsort((idx, t[idx], mag[idx]))]
    skip = int(p.get("offset", 1)) - 1
    idx = idx[skip:skip + int(p.get("limit", 10**9))]
    return [f"smi:org.tianshan/event/b{i:08d}" for i in idx]


QUERIES = [
    {"minmagnitude": 3.5, "limit": 100},                                        # few: (magnitude, time) index
    {"minmagnitude": 3.5, "orderby": "time-asc", "limit": 50},
    {"minmagnitude": 2.0, "maxmagnitude": 2.5, "limit": 100, "offset": 11},    # few (< 5000) again
    {"minmagnitude": 1.0, "limit": 100},                                        # many: time index
    {"starttime": "2010-01-01T00:00:00", "endtime": "2012-06-30T12:00:00", "minlatitude": 40.0,
     "maxlatitude": 44.0, "minlongitude": 76.0, "maxlongitude": 86.0, "minmagnitude": 1.5, "limit": 100},
    {"starttime": "2015-03-01T00:00:00", "endtime": "2016-03-01T00:00:00", "minmagnitude": 1.2,
     "orderby": "magnitude", "limit": 40},
    {"minmagnitude": 1.0, "orderby": "magnitude-asc", "limit": 30, "maxdepth": 15},
    {"starttime": "2008-01-01T00:00:00", "endtime": "2020-01-01T00:00:00", "latitude": 42.0, "longitude": 80.0,
     "maxradius": 1.5, "minmagnitude": 1.8, "limit": 60},
]


@pytest.mark.parametrize("params", QUERIES, ids=[f"q{i}" for i in range(len(QUERIES))])
def test_sqlite_and_postgresql_select_the_brute_force_events(services, catalog, params):
    from tianshan.services.fdsn.params import parse_items
    from tianshan.services.fdsn.spec import EVENT

    q = parse_items(EVENT, [(k, str(v)) for k, v in {**params, "format": "text"}.items()])
    expected = _expected(catalog, params)
    assert expected, "a query of this test must select something"
    bodies = {}
    for name, svc in services.items():
        body, media = svc.query(q)
        assert media.startswith("text/plain")
        lines = body.decode().splitlines()
        assert lines[0].startswith("#EventID|Time|")
        ids = [ln.split("|")[0] for ln in lines[1:]]
        assert ids == expected, name
        bodies[name] = body
    assert bodies["sqlite"] == bodies["postgresql"]  # same text, field for field


def test_text_lines_carry_the_catalogue_values(services, catalog):
    from tianshan.services.fdsn.params import parse_items
    from tianshan.services.fdsn.spec import EVENT

    body, _ = services["sqlite"].query(parse_items(EVENT, [("minmagnitude", "3.5"), ("format", "text")]))
    for line in body.decode().splitlines()[1:]:
        f = line.split("|")
        i = int(f[0].rsplit("b", 1)[1])
        assert f[1] == _iso(catalog["time_us"][i])
        assert float(f[2]) == pytest.approx(catalog["lat"][i], abs=1e-6)
        assert float(f[3]) == pytest.approx(catalog["lon"][i], abs=1e-6)
        assert float(f[4]) == pytest.approx(catalog["depth_m"][i] / 1000.0, abs=1e-4)
        assert float(f[10]) == pytest.approx(catalog["mag"][i], abs=0.005)


def test_few_by_magnitude_threshold(services):
    svc = services["sqlite"]
    with svc._sessions() as s:
        assert svc._few_by_magnitude(s, 3.5, None)
        assert not svc._few_by_magnitude(s, 1.0, None)  # all 10,000 events are M >= 1

"""Shared builders of the FDSN service tests: a small event store, inventories, archives, a live server.

Test modules load this file with ``importlib`` (pytest runs with ``--import-mode=importlib``,
so a sibling module cannot be imported by name) -- see ``load_fixtures`` at the top of each
``test_fdsn_*.py``.

* :func:`build_events` -- four events made from ``tianshan.core`` objects (origin and
  magnitude histories, picks, amplitudes, arrivals, station magnitudes), different times,
  places, depths, magnitudes, types and agencies;
* :func:`build_store` -- those events saved in an event store (SQLite, or PostgreSQL in a
  throw-away schema: :func:`pg_server_url`, :class:`PgSchema`);
* :func:`demo_inventory` -- the demo region's inventory (``resolve_network("demo")``), one
  station optionally marked ``restrictedStatus="closed"`` and one given an epoch that
  ended in 2020, written as StationXML;
* :func:`simulated_archive` -- an SDS archive of a small simulated scenario;
* :class:`LiveServer` -- the ASGI app under uvicorn in a thread on an ephemeral port;
* :func:`http` -- one raw HTTP request (status, headers, body), errors included.
"""

from __future__ import annotations

import math
import os
import threading
import uuid
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

UTC = timezone.utc
ORIGIN_TIME = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)
LAT, LON = 41.95, 84.30


# --------------------------------------------------------------------------- events

def _event(time: datetime, lat: float, lon: float, depth_km: float, mags: list[tuple[str, float]], *,
           etype: str | None = "earthquake", agency: str = "XJ", relocations: int = 0, region: str = ""):
    from tianshan.core import (Amplitude, Arrival, Event, EventType, Magnitude, Origin, Pick, StationMagnitude,
                               StreamID)

    picks = tuple(Pick(StreamID("TS", sta, "00", "HHZ"), time + timedelta(seconds=5 + i), phase)
                  for i, (sta, phase) in enumerate((("LUNT", "P"), ("XINH", "P"), ("XINC", "S"))))
    amps = tuple(Amplitude(p.stream_id.with_channel("HHN"), "AML", 1e-6 * (i + 1), "m", pick_id=p.id)
                 for i, p in enumerate(picks))
    ev = Event(type=None if etype is None else EventType(etype), picks=picks, amplitudes=amps, region_name=region,
               created_at=time + timedelta(minutes=1))
    for k in range(relocations + 1):
        o = Origin(time + timedelta(seconds=0.1 * k), lat + 0.01 * k, lon, depth_km * 1000.0 + 100.0 * k,
                   arrivals=tuple(Arrival(p.id, p.phase, 0.2 + i, 30.0 * i) for i, p in enumerate(picks)),
                   agency=agency, created_at=time + timedelta(minutes=2 + k))
        ev = ev.with_origin(o)
        for mtype, value in mags:
            sm = tuple(StationMagnitude(a.stream_id, mtype, value + 0.1 * i, a.id) for i, a in enumerate(amps))
            ev = ev.with_magnitude(Magnitude(mtype, value + 0.05 * k, o.id, station_magnitudes=sm, agency=agency,
                                             created_at=time + timedelta(minutes=2 + k)))
    return ev


def build_events() -> list:
    """Four events (see the module doc), oldest first."""
    return [
        _event(datetime(2023, 12, 31, 23, 0, tzinfo=UTC), 43.80, 87.60, 8.0, [("ML", 2.0)], agency="XJ",
               region="Urumqi"),
        _event(ORIGIN_TIME, LAT, LON, 10.0, [("ML", 4.0), ("Ms", 3.6)], agency="XJ", relocations=2,
               region="Luntai | Xinjiang"),
        _event(ORIGIN_TIME + timedelta(days=1), 42.50, 86.00, 25.0, [("ML", 3.1)], etype="quarry blast",
               agency="XJ", region="Korla"),
        _event(ORIGIN_TIME + timedelta(days=2), 40.00, 78.00, 5.0, [("mb", 5.2)], agency="CENC", etype=None,
               region="Kashgar"),
    ]


def build_store(folder: Path | None = None, url: str | None = None) -> tuple[str, list]:
    """An event store holding :func:`build_events` (SQLite in ``folder``, or at ``url``); (URL, events)."""
    from tianshan.store import EventStore

    url = url or f"sqlite:///{Path(folder) / 'tianshan.sqlite'}"
    events = build_events()
    with EventStore.open(url) as store:
        for ev in events:
            store.save_event(ev)
        stored = [store.get_event(ev.id) for ev in events]
    return url, stored


# PostgreSQL, as in tests/store/conftest.py: $TIANSHAN_TEST_PG_URL or the local test database; skip when
# no server answers, except under CI=true where the tests must run.
PG_CANDIDATES = ("postgresql+psycopg://postgres@127.0.0.1:5432/test",
                 "postgresql+psycopg://root@127.0.0.1:5432/test")


def pg_server_url() -> str:
    """URL of a reachable PostgreSQL test database (pytest skip, or fail under CI=true, if none)."""
    import pytest
    from sqlalchemy import create_engine, text

    override = os.environ.get("TIANSHAN_TEST_PG_URL")
    errors = []
    for url in (override,) if override else PG_CANDIDATES:
        engine = create_engine(url, connect_args={"connect_timeout": 5})
        try:
            with engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            return url
        except Exception as err:  # noqa: BLE001 - any failure means "not usable"
            errors.append(f"{url}: {str(err).strip().splitlines()[0]}")
        finally:
            engine.dispose()
    msg = f"PostgreSQL not reachable ({'; '.join(errors)}); set TIANSHAN_TEST_PG_URL"
    if os.environ.get("CI", "").strip().lower() == "true":
        pytest.fail(f"CI=true: PostgreSQL FDSN tests must run, but {msg}")
    pytest.skip(msg)


class PgSchema:
    """A throw-away schema in the test database (dropped on exit); ``url`` selects it."""

    def __init__(self, server_url: str) -> None:
        from sqlalchemy.engine import make_url

        self.server_url = server_url
        self.name = f"tianshan_fdsn_{uuid.uuid4().hex[:12]}"
        self.url = make_url(server_url).update_query_dict(
            {"options": f"-csearch_path={self.name}"}).render_as_string(hide_password=False)

    def __enter__(self) -> "PgSchema":
        self._run(f'CREATE SCHEMA "{self.name}"')
        return self

    def __exit__(self, *exc) -> None:
        self._run(f'DROP SCHEMA IF EXISTS "{self.name}" CASCADE')

    def _run(self, sql: str) -> None:
        from sqlalchemy import create_engine, text

        engine = create_engine(self.server_url)
        try:
            with engine.begin() as conn:
                conn.execute(text(sql))
        finally:
            engine.dispose()


# --------------------------------------------------------------------------- stations and waveforms

def demo_inventory(path: Path, restricted: str | None = None, ended: str | None = None) -> Path:
    """The demo region's inventory as StationXML at ``path``.

    ``restricted`` names a station made ``restrictedStatus="closed"``; ``ended`` one whose
    station and channel epochs run 2010-01-01 .. 2020-01-01. Others keep open epochs.
    """
    from obspy import UTCDateTime

    from tianshan.events.build.pipeline import resolve_network

    inv = resolve_network(inventory="demo").inventory.copy()
    codes = {s.code for n in inv for s in n}
    for code in (restricted, ended):
        if code is not None and code not in codes:
            raise ValueError(f"no station {code} in the demo inventory")
    for net in inv:
        for sta in net:
            if sta.code == restricted:
                sta.restricted_status = "closed"
            if sta.code == ended:
                sta.start_date, sta.end_date = UTCDateTime(2010, 1, 1), UTCDateTime(2020, 1, 1)
                for ch in sta:
                    ch.start_date, ch.end_date = UTCDateTime(2010, 1, 1), UTCDateTime(2020, 1, 1)
    inv.write(str(path), format="STATIONXML")
    return Path(path)


def nearest_demo_stations(n: int, lat: float = LAT, lon: float = LON) -> list:
    from tianshan.regions.demo import demo_region

    def dist(s):
        return math.hypot(s.latitude_deg - lat, (s.longitude_deg - lon) * math.cos(math.radians(lat)))

    return sorted(demo_region().stations, key=dist)[:n]


@dataclass
class Archive:
    root: Path
    stream: object          # the simulated ObsPy stream written to the archive
    stations: tuple[str, ...]
    start: datetime
    end: datetime


def simulated_archive(folder: Path, n_stations: int = 3, duration_s: float = 60.0, seed: int = 7) -> Archive:
    """SDS archive of an Mw 4 scenario near Luntai recorded by the ``n_stations`` nearest demo stations."""
    from tianshan.io.sds import write_sds
    from tianshan.regions.demo import demo_region
    from tianshan.sim.scenario import simulate_scenario
    from tianshan.sim.source import Source

    stations = nearest_demo_stations(n_stations)
    res = simulate_scenario(Source(LAT, LON, 10_000.0, 4.0, ORIGIN_TIME), stations, demo_region().velocity_model,
                            duration_s=duration_s, rng=seed)
    root = Path(folder) / "sds"
    write_sds(res.stream, root)
    start = min(tr.stats.starttime for tr in res.stream).datetime.replace(tzinfo=UTC)
    end = max(tr.stats.endtime for tr in res.stream).datetime.replace(tzinfo=UTC)
    return Archive(root, res.stream, tuple(s.code for s in stations), start, end)


# --------------------------------------------------------------------------- server and HTTP

class LiveServer:
    """``app`` served by uvicorn in a background thread on 127.0.0.1 (ephemeral port)."""

    def __init__(self, app) -> None:
        import uvicorn

        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning",
                                                    lifespan="on"))
        self.thread = threading.Thread(target=self.server.run, name="fdsn-test-server", daemon=True)
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> "LiveServer":
        self.thread.start()
        deadline = time.monotonic() + 60.0
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the test server did not start")
            time.sleep(0.02)
        self.port = self.server.servers[0].sockets[0].getsockname()[1]
        return self

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        self.thread.join(30.0)


@dataclass
class Reply:
    status: int
    headers: dict
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8")


def http(url: str, data: bytes | None = None, headers: dict | None = None, method: str | None = None) -> Reply:
    """One HTTP request; error statuses are returned, not raised."""
    req = urllib.request.Request(url, data=data, headers=headers or {}, method=method)
    try:
        with urllib.request.urlopen(req, timeout=60) as resp:
            return Reply(resp.status, {k.lower(): v for k, v in resp.headers.items()}, resp.read())
    except urllib.error.HTTPError as err:
        return Reply(err.code, {k.lower(): v for k, v in err.headers.items()}, err.read())


def check_error_body(reply: Reply, code: int, version: str) -> str:
    """Assert ``reply`` is the FDSN error body of ``code`` for a service of ``version``; return the detail."""
    assert reply.status == code, (reply.status, reply.body[:500])
    text = reply.text
    lines = text.splitlines()
    assert lines[0].startswith(f"Error {code}: "), text
    for label in ("Request:", "Request Submitted:", "Service version:"):
        assert label in lines, text
    assert lines[lines.index("Service version:") + 1] == version
    submitted = lines[lines.index("Request Submitted:") + 1]
    datetime.strptime(submitted, "%Y-%m-%dT%H:%M:%S.%fZ")
    assert "Usage details are available from " in text
    return lines[2]

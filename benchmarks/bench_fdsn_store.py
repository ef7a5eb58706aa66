"""Data-centre benchmark: fdsnws-event on a store of 1,000,000 events (SQLite and PostgreSQL), dataselect MB/s.

What it does
------------
1. **Synthetic catalogue** (:func:`synthetic_catalog`): ``--events`` events over 20 years
   (2006-2025) in Xinjiang. Magnitudes follow Gutenberg-Richter, ``M = Mc - log10(U) / b``
   with ``b = 1``, ``Mc = 1.0`` (Gutenberg & Richter 1944; the inverse-CDF draw of the
   exponential distribution of Aki 1965), capped at 8.0. 85 % of the epicentres scatter
   (Gaussian, sigma 0.25-0.6 deg) around 40 cluster centres drawn along the Tian Shan,
   Pamir-Kunlun and Altai belts, 15 % are uniform over the region box (34-50 N, 73-96 E);
   30 % of events are aftershocks placed after larger events of the same cluster with
   Omori-Utsu waiting times (p = 1.1). Depths: gamma (shape 2, scale 6 km) + 1 km.
2. **Bulk load** into the store's real tables (created by the store's Alembic migrations,
   :meth:`tianshan.store.EventStore.open`): one ``events`` row (with its ``pref_*`` query
   columns), one ``origins`` row and one ``magnitudes`` row per event, the rows built by
   :mod:`tianshan.store.convert` from real domain objects and then varied per event.
   SQLite: ``executemany`` in one transaction per 50,000 events; PostgreSQL: ``COPY``
   into a database created for the run (``tianshan_bench_<pid>``), dropped at the end.
3. **Queries through the real service**: the FDSN ASGI app (:func:`tianshan.services.fdsn.app.create_app`,
   no rate limit) under uvicorn in a child process; latency p50/p99 per query kind over
   ``--repeat`` sequential requests (keep-alive client), then requests/s sustained by
   ``--concurrency`` concurrent clients for ``--seconds`` seconds.
4. **Dataselect**: an SDS archive of one day of 100 Hz data for ``--channels`` channels
   (Steim-2, 4096-byte records; band-limited noise), each channel-day requested whole
   through fdsnws-dataselect; MB/s of miniSEED served (sequential and concurrent).

Run: ``.venv/bin/python benchmarks/bench_fdsn_store.py [--events 1000000] [--backends sqlite,postgresql]
[--only events|dataselect]``.
Everything is written under a temporary folder (``--workdir`` to keep it).
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np

UTC = timezone.utc
T0 = datetime(2006, 1, 1, tzinfo=UTC)
T1 = datetime(2026, 1, 1, tzinfo=UTC)
BOX = (34.0, 50.0, 73.0, 96.0)  # south, north, west, east (deg)
PG_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
BATCH = 50_000


# --------------------------------------------------------------------------- synthetic catalogue

def synthetic_catalog(n: int, seed: int = 2006) -> dict[str, np.ndarray]:
    """``n`` events (see the module docstring), sorted by time: arrays ``time_us``, ``lat``, ``lon``, ``depth_m``, ``mag``."""
    rng = np.random.default_rng(seed)
    span_us = int((T1 - T0).total_seconds() * 1e6)
    t0_us = int((T0 - datetime(1970, 1, 1, tzinfo=UTC)).total_seconds() * 1e6)
    # cluster centres along the main belts (lat, lon of belt end points)
    belts = [((41.0, 74.0), (43.5, 88.0)), ((43.5, 80.0), (44.5, 91.0)), ((38.5, 73.5), (40.0, 78.5)),
             ((36.0, 76.0), (37.5, 88.0)), ((46.0, 85.0), (48.5, 91.0)), ((41.5, 83.0), (42.5, 87.0))]
    centres = []
    for _ in range(40):
        (a_lat, a_lon), (b_lat, b_lon) = belts[rng.integers(len(belts))]
        f = rng.random()
        centres.append((a_lat + f * (b_lat - a_lat), a_lon + f * (b_lon - a_lon), rng.uniform(0.25, 0.6)))
    centres = np.array(centres)
    mag = 1.0 - np.log10(rng.random(n)) / 1.0
    mag = np.minimum(np.round(mag, 1), 8.0)
    n_after = int(0.30 * n)
    n_main = n - n_after
    t_main = rng.integers(0, span_us, n_main)
    cluster = rng.integers(len(centres), size=n)
    background = rng.random(n) < 0.15
    # aftershocks: after a random earlier event (weighted to the larger ones), same cluster
    weights = 10.0 ** mag[:n_main]
    parents = rng.choice(n_main, size=n_after, p=weights / weights.sum())
    c = 60.0  # s, Omori-Utsu c
    p = 1.1
    u = rng.random(n_after)
    tmax = 365.25 * 86400.0
    # inverse CDF of the truncated Omori-Utsu density (t + c)^-p on [0, tmax]
    a = c ** (1 - p)
    b = (tmax + c) ** (1 - p)
    wait_s = (a + u * (b - a)) ** (1.0 / (1 - p)) - c
    t_after = (t_main[parents] + (wait_s * 1e6).astype(np.int64)) % span_us  # wrap: no pile-up at the end
    cluster[n_main:] = cluster[parents]
    background[n_main:] = False
    time_us = np.concatenate([t_main, t_after]) + t0_us
    lat = centres[cluster, 0] + rng.normal(0.0, 1.0, n) * centres[cluster, 2]
    lon = centres[cluster, 1] + rng.normal(0.0, 1.0, n) * centres[cluster, 2] / math.cos(math.radians(42))
    s, nn, w, e = BOX
    lat[background] = rng.uniform(s, nn, background.sum())
    lon[background] = rng.uniform(w, e, background.sum())
    lat = np.round(np.clip(lat, s, nn), 4)
    lon = np.round(np.clip(lon, w, e), 4)
    depth_m = np.round((rng.gamma(2.0, 6.0, n) + 1.0) * 1000.0, 0)
    order = np.argsort(time_us, kind="stable")
    return {"time_us": time_us[order], "lat": lat[order], "lon": lon[order], "depth_m": depth_m[order],
            "mag": mag[order]}


def _templates() -> tuple[dict, dict, dict]:
    """Column dicts of one real event header, origin and magnitude (built by the store's converters)."""
    from tianshan.core import Event, Magnitude, Origin
    from tianshan.core.event import EventType
    from tianshan.store import convert
    from tianshan.store.schema import EventRow, MagnitudeRow, OriginRow

    t = datetime(2020, 1, 1, tzinfo=UTC)
    o = Origin(t, 42.0, 84.0, 10_000.0, agency="XJ", created_at=t, time_uncertainty_s=0.3,
               horizontal_uncertainty_m=2500.0, depth_uncertainty_m=4000.0, rms_s=0.4, azimuthal_gap_deg=80.0,
               phase_count=12, station_count=8)
    m = Magnitude("ML", 3.0, o.id, agency="XJ", created_at=t, uncertainty=0.2, station_count=6)
    ev = Event(type=EventType("earthquake"), created_at=t).with_origin(o).with_magnitude(m)

    def cols(row, table) -> dict:
        return {c.key: getattr(row, c.key) for c in table.__table__.columns}

    head = EventRow(id=ev.id, created_at=t, updated_at=t, **convert.event_header(ev))
    return (cols(head, EventRow), cols(convert.origin_to_row(o, ev.id, 1), OriginRow),
            cols(convert.magnitude_to_row(m, ev.id, 1), MagnitudeRow))


def _ids(i: int) -> tuple[str, str, str]:
    return (f"smi:org.tianshan/event/b{i:08d}", f"smi:org.tianshan/origin/b{i:08d}",
            f"smi:org.tianshan/magnitude/b{i:08d}")


def _rows(cat: dict, i0: int, i1: int, as_time):
    """(events, origins, magnitudes) column-dict lists of events ``[i0, i1)``; ``as_time(us)`` converts times."""
    ev_t, or_t, mg_t = _templates()
    evs, ors, mgs = [], [], []
    for i in range(i0, i1):
        eid, oid, mid = _ids(i)
        t = as_time(int(cat["time_us"][i]))
        lat, lon = float(cat["lat"][i]), float(cat["lon"][i])
        depth, mag = float(cat["depth_m"][i]), float(cat["mag"][i])
        mtype = "Ms" if mag >= 6.0 else "ML"
        evs.append({**ev_t, "id": eid, "preferred_origin_id": oid, "preferred_magnitude_id": mid,
                    "created_at": t, "updated_at": t, "pref_time": t, "pref_latitude_deg": lat,
                    "pref_longitude_deg": lon, "pref_depth_m": depth, "pref_magnitude": mag,
                    "pref_magnitude_type": mtype, "type": "earthquake" if i % 50 else "quarry blast"})
        ors.append({**or_t, "id": oid, "event_id": eid, "time": t, "latitude_deg": lat, "longitude_deg": lon,
                    "depth_m": depth, "created_at": t})
        mgs.append({**mg_t, "id": mid, "event_id": eid, "value": mag, "type": mtype, "origin_id": oid,
                    "created_at": t})
    return evs, ors, mgs


# --------------------------------------------------------------------------- bulk load

def load_store(url: str, cat: dict, progress=None) -> float:
    """Migrate the store at ``url`` and bulk-insert ``cat``; return the seconds spent inserting."""
    from tianshan.store import EventStore
    from tianshan.store.schema import EventRow, MagnitudeRow, OriginRow

    store = EventStore.open(url, upgrade=True)
    engine = store.engine
    n = len(cat["time_us"])
    tables = [EventRow.__table__, OriginRow.__table__, MagnitudeRow.__table__]
    t = time.perf_counter()
    raw = engine.raw_connection()
    try:
        if engine.dialect.name == "sqlite":
            cur = raw.cursor()
            cur.execute("PRAGMA synchronous=OFF")
            for i0 in range(0, n, BATCH):
                i1 = min(n, i0 + BATCH)
                parts = _rows(cat, i0, i1, lambda us: us)
                cur.execute("BEGIN")
                for table, rows in zip(tables, parts):
                    names = [c.name for c in table.columns]
                    sql = (f'INSERT INTO {table.name} ({", ".join(chr(34) + c + chr(34) for c in names)}) '
                           f'VALUES ({", ".join("?" for _ in names)})')
                    cur.executemany(sql, [tuple(_sqlite_value(r[c]) for c in names) for r in rows])
                cur.execute("COMMIT")
                if progress:
                    progress(i1, n)
            cur.execute("ANALYZE")
        else:
            epoch = datetime(1970, 1, 1, tzinfo=UTC)
            conv = lambda us: epoch + timedelta(microseconds=us)  # noqa: E731
            with raw.driver_connection.cursor() as cur:
                for i0 in range(0, n, BATCH):
                    i1 = min(n, i0 + BATCH)
                    parts = _rows(cat, i0, i1, conv)
                    for table, rows in zip(tables, parts):
                        names = [c.name for c in table.columns]
                        cols = ", ".join(f'"{c}"' for c in names)
                        with cur.copy(f"COPY {table.name} ({cols}) FROM STDIN") as cp:
                            for r in rows:
                                cp.write_row(tuple(_pg_value(r[c]) for c in names))
                    raw.driver_connection.commit()
                    if progress:
                        progress(i1, n)
                cur.execute("ANALYZE events; ANALYZE origins; ANALYZE magnitudes")
                raw.driver_connection.commit()
    finally:
        raw.close()
        store.close()
    return time.perf_counter() - t


def _sqlite_value(v):
    if isinstance(v, datetime):
        from tianshan.store.types import to_microseconds

        return to_microseconds(v)
    if isinstance(v, bool):
        return int(v)
    if isinstance(v, (dict, list)):
        import json

        return json.dumps(v)
    return v


def _pg_value(v):
    if isinstance(v, (dict, list)):
        import json

        return json.dumps(v)
    return v


class PgDatabase:
    """A database created on the PostgreSQL server for one run and dropped afterwards."""

    def __init__(self, server_url: str = PG_SERVER) -> None:
        from sqlalchemy.engine import make_url

        self.server = make_url(server_url)
        self.name = f"tianshan_bench_{os.getpid()}"
        self.url = self.server.set(database=self.name).render_as_string(hide_password=False)

    def _admin(self):
        import psycopg

        u = self.server
        return psycopg.connect(host=u.host or "127.0.0.1", port=u.port or 5432, user=u.username or "postgres",
                               password=u.password, dbname=u.database or "postgres", autocommit=True)

    def __enter__(self) -> "PgDatabase":
        with self._admin() as c:
            c.execute(f'DROP DATABASE IF EXISTS "{self.name}"')
            c.execute(f'CREATE DATABASE "{self.name}"')
        return self

    def __exit__(self, *exc) -> None:
        with self._admin() as c:
            c.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')


def pg_reachable(server_url: str = PG_SERVER) -> bool:
    try:
        with PgDatabase(server_url)._admin():
            return True
    except Exception:  # noqa: BLE001 - any failure means: no server to use
        return False


# --------------------------------------------------------------------------- queries

def query_mix(rng: np.random.Generator) -> list[tuple[str, dict]]:
    """One request of each typical kind, parameters drawn at random (fdsnws-event query parameters)."""
    span_days = (T1 - T0).days

    def day(k: float) -> str:
        return (T0 + timedelta(days=float(k))).strftime("%Y-%m-%dT%H:%M:%S")

    d0 = rng.uniform(0, span_days - 400)
    lat0, lon0 = rng.uniform(37, 46), rng.uniform(75, 92)
    return [
        ("month+box+M2 text", {"starttime": day(d0), "endtime": day(d0 + 30), "minlatitude": lat0 - 1.5,
                               "maxlatitude": lat0 + 1.5, "minlongitude": lon0 - 2, "maxlongitude": lon0 + 2,
                               "minmagnitude": 2.0, "limit": 100, "format": "text"}),
        ("year+box+M3 quakeml", {"starttime": day(d0), "endtime": day(d0 + 365), "minlatitude": lat0 - 2,
                                 "maxlatitude": lat0 + 2, "minlongitude": lon0 - 3, "maxlongitude": lon0 + 3,
                                 "minmagnitude": 3.0, "limit": 100}),
        ("year+box+M2 by magnitude", {"starttime": day(d0), "endtime": day(d0 + 365), "minlatitude": lat0 - 2,
                                      "maxlatitude": lat0 + 2, "minlongitude": lon0 - 3, "maxlongitude": lon0 + 3,
                                      "minmagnitude": 2.0, "orderby": "magnitude", "limit": 100, "format": "text"}),
        ("year+radius 1deg+M2.5 text", {"starttime": day(d0), "endtime": day(d0 + 365), "latitude": lat0,
                                        "longitude": lon0, "maxradius": 1.0, "minmagnitude": 2.5, "limit": 100,
                                        "format": "text"}),
        ("20 yr+M5 text", {"minmagnitude": 5.0, "limit": 100, "format": "text"}),
        ("eventid", {"eventid": f"b{int(rng.integers(0, 1000)):08d}", "format": "text"}),
    ]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """The FDSN app (:func:`create_app`, no rate limit) under uvicorn in a child process."""

    def __init__(self, store_url: str | None = None, archive: str | None = None) -> None:
        self.port = _free_port()
        code = ("import uvicorn\nfrom tianshan.services.fdsn.app import create_app\n"
                f"app = create_app(store_url={store_url!r}, archive={archive!r}, rate_limit_per_s=None, "
                "max_events=20000)\n"
                f"uvicorn.run(app, host='127.0.0.1', port={self.port}, log_level='warning', access_log=False)\n")
        self.proc = subprocess.Popen([sys.executable, "-c", code])
        self.base = f"http://127.0.0.1:{self.port}"
        import httpx

        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(self.base + "/fdsnws/", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.2)
        self.close()
        raise RuntimeError("the FDSN server did not start")

    def close(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def _pct(values: list[float], q: float) -> float:
    v = sorted(values)
    return v[min(len(v) - 1, max(0, math.ceil(q / 100.0 * len(v)) - 1))]


def time_queries(base: str, repeat: int, seed: int = 7) -> tuple[dict[str, list[float]], dict[str, list[int]]]:
    """Sequential latency (s) and result sizes (events) per query kind."""
    import httpx

    rng = np.random.default_rng(seed)
    lat: dict[str, list[float]] = {}
    sizes: dict[str, list[int]] = {}
    with httpx.Client(base_url=base, timeout=120) as client:
        for name, params in query_mix(rng):  # warm-up
            client.get("/fdsnws/event/1/query", params=params)
        for _ in range(repeat):
            for name, params in query_mix(rng):
                t = time.perf_counter()
                r = client.get("/fdsnws/event/1/query", params=params)
                lat.setdefault(name, []).append(time.perf_counter() - t)
                if r.status_code not in (200, 204):
                    raise RuntimeError(f"{name}: HTTP {r.status_code}: {r.text[:300]}")
                n = 0 if r.status_code == 204 else (r.text.count("\n") - 1 if params.get("format") == "text"
                                                    else r.text.count("<event "))
                sizes.setdefault(name, []).append(n)
    return lat, sizes


async def _sustained(base: str, path: str, make_params, concurrency: int, seconds: float,
                     max_requests: int) -> tuple[int, int, float, list[float]]:
    import httpx

    done = 0
    nbytes = 0
    lat: list[float] = []
    stop = time.perf_counter() + seconds
    rng = np.random.default_rng(11)

    async def client_loop() -> None:
        nonlocal done, nbytes
        async with httpx.AsyncClient(base_url=base, timeout=300) as c:
            while time.perf_counter() < stop and done < max_requests:
                params = make_params(rng)
                t = time.perf_counter()
                r = await c.get(path, params=params)
                lat.append(time.perf_counter() - t)
                if r.status_code not in (200, 204):
                    raise RuntimeError(f"HTTP {r.status_code}: {r.text[:300]}")
                done += 1
                nbytes += len(r.content)

    t0 = time.perf_counter()
    await asyncio.gather(*(client_loop() for _ in range(concurrency)))
    return done, nbytes, time.perf_counter() - t0, lat


def sustained_queries(base: str, concurrency: int, seconds: float) -> tuple[float, float, float]:
    """(requests/s, p50 s, p99 s) of the query mix with ``concurrency`` clients for ``seconds``."""
    def params(rng):
        mix = query_mix(rng)
        return mix[int(rng.integers(len(mix)))][1]

    n, _, wall, lat = asyncio.run(_sustained(base, "/fdsnws/event/1/query", params, concurrency, seconds, 100_000))
    return n / wall, _pct(lat, 50), _pct(lat, 99)


# --------------------------------------------------------------------------- dataselect

def make_archive(root: Path, channels: int, day=datetime(2024, 5, 1, tzinfo=UTC), seed: int = 3) -> list[str]:
    """One day of 100 Hz band-limited noise (int32 counts, Steim-2) for ``channels`` channels in SDS."""
    from obspy import Stream, Trace, UTCDateTime
    from scipy.signal import lfilter

    from tianshan.core import StreamID
    from tianshan.io.sds import sds_path, write_sds

    rng = np.random.default_rng(seed)
    ids = []
    n = 86400 * 100
    for k in range(channels):
        sta, comp = f"B{k // 3:03d}", "ZNE"[k % 3]
        if sds_path(root, StreamID("XJ", sta, "00", f"HH{comp}"), day.date()).is_file():  # kept by --workdir
            rng.normal(0.0, 300.0, n)  # same draws as when written
            ids.append(f"XJ.{sta}.00.HH{comp}")
            continue
        x = lfilter([1.0], [1.0, -0.95], rng.normal(0.0, 300.0, n))  # red noise: realistic Steim-2 ratios
        tr = Trace(np.round(x).astype(np.int32), header={"network": "XJ", "station": sta, "location": "00",
                                                         "channel": f"HH{comp}", "sampling_rate": 100.0,
                                                         "starttime": UTCDateTime(day.replace(tzinfo=None))})
        write_sds(Stream([tr]), root, encoding="STEIM2", record_length=4096)
        ids.append(tr.id)
    return ids


def dataselect_throughput(base: str, ids: list[str], concurrency: int, day=datetime(2024, 5, 1, tzinfo=UTC)):
    """((MB/s, s per channel-day) sequential, MB/s with ``concurrency`` clients) for whole channel-days."""
    import httpx

    start, end = day.strftime("%Y-%m-%dT00:00:00"), (day + timedelta(days=1)).strftime("%Y-%m-%dT00:00:00")

    def params_of(sid: str) -> dict:
        net, sta, loc, cha = sid.split(".")
        return {"network": net, "station": sta, "location": loc, "channel": cha, "starttime": start,
                "endtime": end}

    nbytes, t = 0, time.perf_counter()
    with httpx.Client(base_url=base, timeout=600) as c:
        for sid in ids:
            r = c.get("/fdsnws/dataselect/1/query", params=params_of(sid))
            if r.status_code != 200:
                raise RuntimeError(f"dataselect {sid}: HTTP {r.status_code}: {r.text[:300]}")
            nbytes += len(r.content)
    wall = time.perf_counter() - t
    seq = (nbytes / 1e6 / wall, wall / len(ids))
    order = iter(range(10**9))
    n, conc_bytes, conc_wall, _ = asyncio.run(_sustained(
        base, "/fdsnws/dataselect/1/query", lambda rng: params_of(ids[next(order) % len(ids)]), concurrency,
        1e9, 4 * len(ids)))  # four rounds over the channels
    return seq, conc_bytes / 1e6 / conc_wall, nbytes / len(ids) / 1e6


# --------------------------------------------------------------------------- main

def _progress(label: str):
    t = time.perf_counter()

    def show(done: int, total: int) -> None:
        rate = done / max(1e-9, time.perf_counter() - t)
        print(f"\r  {label}: {done:,}/{total:,} events ({rate:,.0f}/s)", end="", flush=True)
        if done >= total:
            print()
    return show


def bench_backend(name: str, url: str, cat: dict, repeat: int, concurrency: int, seconds: float) -> dict:
    print(f"== {name}: loading {len(cat['time_us']):,} events")
    load_s = load_store(url, cat, _progress(name))
    print(f"  load: {load_s:.1f} s ({len(cat['time_us']) / load_s:,.0f} events/s)")
    server = Server(store_url=url)
    try:
        lat, sizes = time_queries(server.base, repeat)
        print(f"  {'query':32s} {'p50 ms':>8s} {'p99 ms':>8s} {'events (median)':>16s}")
        every: list[float] = []
        for q, values in lat.items():
            every += values
            print(f"  {q:32s} {_pct(values, 50) * 1e3:8.1f} {_pct(values, 99) * 1e3:8.1f} "
                  f"{statistics.median(sizes[q]):16.0f}")
        print(f"  {'all (sequential)':32s} {_pct(every, 50) * 1e3:8.1f} {_pct(every, 99) * 1e3:8.1f}")
        rps, p50, p99 = sustained_queries(server.base, concurrency, seconds)
        print(f"  sustained, {concurrency} clients, {seconds:.0f} s: {rps:.1f} requests/s "
              f"(p50 {p50 * 1e3:.0f} ms, p99 {p99 * 1e3:.0f} ms)")
    finally:
        server.close()
    return {"load_s": load_s, "rps": rps}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--events", type=int, default=1_000_000)
    ap.add_argument("--backends", default="sqlite,postgresql")
    ap.add_argument("--pg-server", default=PG_SERVER, help="server URL (a database is created and dropped)")
    ap.add_argument("--repeat", type=int, default=30, help="sequential repetitions of each query kind")
    ap.add_argument("--concurrency", type=int, default=8)
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--channels", type=int, default=6, help="channel-days for dataselect (0: skip)")
    ap.add_argument("--workdir", default=None, help="keep the files here (default: a temporary folder)")
    ap.add_argument("--only", choices=("events", "dataselect"), default=None,
                    help="run one part only (dataselect: no catalogue load, a minute instead of ten)")
    args = ap.parse_args(argv)
    if args.only == "dataselect":
        args.backends = ""
    elif args.only == "events":
        args.channels = 0
    work = Path(args.workdir) if args.workdir else Path(tempfile.mkdtemp(prefix="bench_fdsn_"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        backends = [b.strip() for b in args.backends.split(",") if b.strip()]
        if backends:
            t = time.perf_counter()
            cat = synthetic_catalog(args.events)
            print(f"catalogue: {args.events:,} events in {time.perf_counter() - t:.1f} s; M>=3: "
                  f"{(cat['mag'] >= 3).sum():,}, M>=5: {(cat['mag'] >= 5).sum():,}, max M {cat['mag'].max():.1f}")
        for backend in backends:
            if backend == "sqlite":
                db = work / "bench.sqlite"
                for p in work.glob("bench.sqlite*"):
                    p.unlink()
                bench_backend("SQLite", f"sqlite:///{db}", cat, args.repeat, args.concurrency, args.seconds)
                print(f"  file size: {db.stat().st_size / 1e6:.0f} MB")
            elif backend == "postgresql":
                if not pg_reachable(args.pg_server):
                    print("== PostgreSQL: no server answers; skipped")
                    continue
                with PgDatabase(args.pg_server) as pg:
                    bench_backend("PostgreSQL", pg.url, cat, args.repeat, args.concurrency, args.seconds)
            else:
                ap.error(f"unknown backend {backend!r}")
        if args.channels > 0:
            print(f"== dataselect: {args.channels} channel-days of 100 Hz data")
            t = time.perf_counter()
            ids = make_archive(work / "sds", args.channels)
            size = sum(p.stat().st_size for p in (work / "sds").rglob("*") if p.is_file())
            print(f"  archive written in {time.perf_counter() - t:.1f} s ({size / 1e6:.1f} MB)")
            server = Server(archive=str(work / "sds"))
            try:
                (mbs, per), conc, mb_each = dataselect_throughput(server.base, ids, min(args.concurrency, 4))
            finally:
                server.close()
            print(f"  whole channel-day ({mb_each:.1f} MB miniSEED, 8.64 M samples): {per:.2f} s each, "
                  f"{mbs:.1f} MB/s sequential; {conc:.1f} MB/s with {min(args.concurrency, 4)} clients")
    finally:
        if not args.workdir:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

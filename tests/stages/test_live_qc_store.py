"""Live station status outside the daemon: :class:`~tianshan.stages.qc.LiveQC` publishes exclusions,
inclusions and latency snapshots on the bus, :class:`~tianshan.stages.qc.QCRecorder` stores them, and
the REST API (its station list and its live feed's poller) reads them from the store.

Real components throughout: the in-process bus, a BufferSet fed 1-s packets, a SQLite event store
with the demo region's stations, the FastAPI application under Starlette's TestClient. The wall clock
of the live QC is injected (a few minutes before now, so that the snapshots are fresh for the API).
"""

from __future__ import annotations

import asyncio
import time
from datetime import datetime, timedelta, timezone

import numpy as np
import pytest
from obspy import Trace, UTCDateTime

from tianshan.bus.memory import InProcessBus
from tianshan.core.qc import QCKind
from tianshan.stages.qc import (EXCLUDED, INCLUDED, LATENCY_CLASSES_S, LATENCY_MIN_CHANGE_S, LiveQC, LiveQCConfig,
                                QCRecorder)
from tianshan.stream.buffers import BufferSet

RATE = 100.0
SECONDS = 200
OFFSET_S = 2.0   # wall clock = end of the newest data second + OFFSET_S (the latency of a healthy station)
LAG_S = 30       # the late station delivers data second k - LAG_S at wall step k


class Clock:
    def __init__(self, t: float) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


def _noise(n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = np.cumsum(rng.normal(0.0, 50.0, n))
    return x - np.convolve(x, np.ones(101) / 101, mode="same")


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    """Run the scenario once: five demo stations, live QC -> bus -> recorder -> store."""
    from tianshan.regions.demo import demo_region
    from tianshan.store.repository import EventStore

    profile = demo_region()
    codes = [s.code for s in profile.stations[:6]]
    good, dead, dead2, late, stall, quiet = codes
    series = {}
    for i, code in enumerate((good, dead, dead2, late, stall)):
        x = _noise(SECONDS * 100, i)
        if code == dead:
            x[20 * 100:80 * 100] = 777.0    # flat 60 s, then clean again: excluded, then included
        if code == dead2:
            x[120 * 100:] = -55.0           # flat from 120 s to the end: still excluded
        series[code] = x
    net = profile.stations[0].network
    t0 = UTCDateTime(int(time.time()) - SECONDS - 60)
    folder = tmp_path_factory.mktemp("liveqc")
    url = f"sqlite:///{folder / 'store.sqlite'}"
    with EventStore.open(url) as store:
        store.save_stations(profile.stations)

    async def main():
        bus = InProcessBus()
        clock = Clock(float(t0))
        with EventStore.open(url) as store:
            recorder = QCRecorder(bus, store, flush_s=3600.0)
            await recorder.start()
            qc = LiveQC(LiveQCConfig(window_s=120.0, recover_s=30.0, max_flat_s=20.0, latency_snapshot_s=30.0,
                                     check_interval_s=5.0), bus, clock=clock)
            buffers = BufferSet(capacity_s=300.0, clock=clock)
            qc.attach(buffers)
            for k in range(SECONDS):
                clock.t = float(t0 + k + 1) + OFFSET_S
                for code, x in series.items():
                    j = k - LAG_S if code == late else k
                    if j < 0 or (code == stall and k >= 150):
                        continue
                    tr = Trace(x[j * 100:(j + 1) * 100].astype(np.float32),
                               header={"network": net, "station": code, "location": "00", "channel": "HHZ",
                                       "sampling_rate": RATE, "starttime": t0 + j})
                    buffers.ingest_trace(tr)
                if k % 5 == 4:
                    qc.check()   # what LiveQC.start's task does every check_interval_s
            await qc.flush()
            await qc.close()
            async with asyncio.timeout(10):   # the in-process bus delivers from its own tasks
                while recorder.counters.received < bus.counters.published:
                    await asyncio.sleep(0.01)
            await recorder.close()
            await bus.close()
            return qc, recorder, clock.t

    qc, recorder, wall_end = asyncio.run(main())
    return {"url": url, "net": net, "codes": dict(good=good, dead=dead, dead2=dead2, late=late, stall=stall,
                                                  quiet=quiet), "qc": qc, "recorder": recorder,
            "wall_end": wall_end}


def test_exclusions_inclusions_and_latency_snapshots_are_stored(recorded):
    from tianshan.store.repository import EventStore

    c, net = recorded["codes"], recorded["net"]
    rec = recorded["recorder"]
    assert rec.counters.bad_payloads == rec.counters.store_errors == rec.counters.dropped == 0
    with EventStore.open(recorded["url"]) as store:
        records = store.qc_records()
    assert rec.counters.saved == len(records) == rec.counters.received
    by = {}
    for r in records:
        by.setdefault((r.stream_id.station, r.kind), []).append(r)
    # the channel flat from 20 s: excluded once its run reached 20 s, included after 30 s of clean data
    (excl,) = [r for r in by[(c["dead"], QCKind.FLAT)] if r.detail.startswith(EXCLUDED)]
    (incl,) = [r for r in by[(c["dead"], QCKind.FLAT)] if r.detail.startswith(INCLUDED)]
    t0 = datetime.fromtimestamp(recorded["wall_end"] - SECONDS - OFFSET_S, timezone.utc)
    assert (excl.end - t0).total_seconds() == pytest.approx(40.0, abs=1.0)
    assert incl.start == excl.end and 110.0 <= (incl.end - t0).total_seconds() <= 112.0
    # the channel flat from 120 s: excluded, never included
    assert [r.detail.startswith(EXCLUDED) for r in by[(c["dead2"], QCKind.FLAT)]] == [True]
    # latency: a healthy station's stays at OFFSET_S and is written once (no change, heartbeat 300 s)
    (good,) = by[(c["good"], QCKind.LATENCY)]
    assert good.value == pytest.approx(OFFSET_S, abs=0.01)
    assert good.value == pytest.approx((good.end - good.start).total_seconds(), abs=1e-6)
    (late,) = by[(c["late"], QCKind.LATENCY)]
    assert late.value == pytest.approx(OFFSET_S + LAG_S, abs=0.01)
    # the station that stopped at 150 s: its growing latency is written again only when it crossed a class
    # bound (10 s, 60 s) or grew by half (and by 2 s)
    stall = [r.value for r in by[(c["stall"], QCKind.LATENCY)]]
    assert stall[0] == pytest.approx(OFFSET_S, abs=0.01) and len(stall) >= 3 and stall == sorted(stall)
    assert any(a < LATENCY_CLASSES_S[0] <= b for a, b in zip(stall, stall[1:]))
    for a, b in zip(stall, stall[1:]):
        crossed = any(a < bound <= b for bound in LATENCY_CLASSES_S)
        assert crossed or b - a >= max(LATENCY_MIN_CHANGE_S, 0.5 * a)
    assert stall[-1] <= SECONDS - 150 + OFFSET_S + 0.01
    assert not any(s == c["quiet"] for s, _ in by)


def test_the_api_station_list_reads_the_stored_status(recorded):
    from fastapi.testclient import TestClient

    from tianshan.services.api import create_app
    from tianshan.services.api.queries import station_live
    from tianshan.store.repository import EventStore

    c, net = recorded["codes"], recorded["net"]
    with EventStore.open(recorded["url"]) as store:
        latest = {}
        for r in store.qc_records(kind="latency"):
            latest[r.stream_id.station] = r   # ordered by start: the newest sample last
    app = create_app(recorded["url"], rate_limit_per_s=None, poll_s=None)
    with TestClient(app) as client:
        rows = {r["station"]: r for r in client.get("/api/v1/stations").json()["stations"] if r["network"] == net}
    for key in ("good", "late", "stall"):
        row = rows[c[key]]
        assert row["latency_s"] == pytest.approx(latest[c[key]].value, abs=1e-3)
        assert row["qc"] == "ok" and row["excluded"] is False
    assert rows[c["dead"]]["qc"] == "warn" and rows[c["dead"]]["excluded"] is False   # recovered
    assert rows[c["dead2"]]["qc"] == "fail" and rows[c["dead2"]]["excluded"] is True  # still flat
    assert rows[c["quiet"]]["latency_s"] is None and rows[c["quiet"]]["qc"] is None
    # a snapshot older than LATENCY_STALE: the latency is the age of the newest sample it saw
    stall = latest[c["stall"]]
    later = stall.end + timedelta(minutes=20)
    with EventStore.open(recorded["url"]) as store:
        live = station_live(store, later)
    assert live[(net, c["stall"])]["latency_s"] == pytest.approx((later - stall.start).total_seconds(), abs=1e-3)
    assert live[(net, c["dead2"])]["excluded"] and "flat (dead) channel" in live[(net, c["dead2"])]["reasons"][0]


def test_the_live_feed_pushes_changed_station_rows(tmp_path, recorded):
    """The store poller of ``WS /api/v1/live`` sends a station row when its stored status changes."""
    import shutil

    from tianshan.core.qc import QCRecord
    from tianshan.services.api import create_app
    from tianshan.services.api.auth import Principal
    from tianshan.services.api.live import StorePoller
    from tianshan.store.repository import EventStore

    c, net = recorded["codes"], recorded["net"]
    path = tmp_path / "copy.sqlite"
    shutil.copy(recorded["url"].removeprefix("sqlite:///"), path)
    with EventStore.open(f"sqlite:///{path}") as store:
        app = create_app(store=store, rate_limit_per_s=None, poll_s=None)
        state = app.state.api
        poller = StorePoller(store, state.hub, lambda: set(), 1.0, station_every=1,
                             station_rows=lambda: state.station_rows(Principal("t", "admin")))
        poller.start_state()
        assert poller.poll_once() == []   # nothing changed
        good = next(r for r in store.qc_records(kind="latency") if r.stream_id.station == c["good"])
        end = good.end + timedelta(seconds=60)
        store.save_qc_records([QCRecord(good.stream_id, end - timedelta(seconds=45), end, QCKind.LATENCY, 45.0,
                                        "data latency 45.0 s")])
        msgs = poller.poll_once()
    assert [(k, d["station"], d["latency_s"]) for k, d, _ in msgs] == [("station", c["good"], 45.0)]
    assert msgs[0][1]["network"] == net and msgs[0][2] is False


def _fdsn_fixtures():
    """tests/services/fdsn_fixtures.py (PostgreSQL server and throw-away schema), loaded as the API tests do."""
    import importlib.util
    import sys
    from pathlib import Path

    name = "tianshan_fdsn_test_fixtures"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, Path(__file__).parents[1] / "services" / "fdsn_fixtures.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


@pytest.mark.service
def test_postgresql_reads_the_same_status(recorded):
    """The station status queries give the same answer on PostgreSQL (a throw-away schema) as on SQLite."""
    from tianshan.services.api.queries import qc_status, station_live
    from tianshan.store.repository import EventStore

    ff = _fdsn_fixtures()
    now = datetime.now(timezone.utc)
    with EventStore.open(recorded["url"]) as store:
        records, expected = store.qc_records(), (qc_status(store), station_live(store, now))
    with ff.PgSchema(ff.pg_server_url()) as schema, EventStore.open(schema.url) as pg:
        assert pg.save_qc_records(records) == len(records)
        got = (qc_status(pg), station_live(pg, now))
    assert got == expected
    assert expected[1][(recorded["net"], recorded["codes"]["dead2"])]["excluded"] is True


def test_recorder_drops_what_is_not_a_qc_record(tmp_path):
    """A message on the QC subject that is not an encoded QC record is counted and dropped; a real one is saved."""
    from tianshan.bus import codec
    from tianshan.core.ids import StreamID
    from tianshan.core.qc import QCRecord
    from tianshan.store.repository import EventStore

    end = datetime(2026, 7, 15, 8, 30, tzinfo=timezone.utc)
    rec = QCRecord(StreamID("TS", "LUNT", "00", "HHZ"), end - timedelta(seconds=3), end, QCKind.LATENCY, 3.0)

    async def main(store):
        bus = InProcessBus()
        recorder = QCRecorder(bus, store, subject="tianshan.test.qc", flush_s=3600.0)
        await recorder.start()
        await bus.publish("tianshan.test.qc", b"not json")
        await bus.publish("tianshan.test.qc", {"type": "something else"})
        await bus.publish("tianshan.test.qc", codec.encode(rec))
        async with asyncio.timeout(10):
            while recorder.counters.received < 3:
                await asyncio.sleep(0.01)
        await recorder.close()
        await bus.close()
        return recorder

    with EventStore.open(f"sqlite:///{tmp_path / 's.sqlite'}") as store:
        recorder = asyncio.run(main(store))
        assert store.qc_records() == [rec]
    assert recorder.counters.bad_payloads == 2 and recorder.counters.saved == 1

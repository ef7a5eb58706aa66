"""``tianshan run`` end to end against a real SeedLink server replaying a simulated Mw 4 (5 demo stations).

* in-process, every role on the in-process bus, ``--until-idle``: every record archived
  byte for byte, picks published and associated, one event stored with its timeline, the
  SeedLink state saved, the archive closed cleanly;
* as a subprocess (``python -m tianshan.cli.main run``): health and metrics while data flow,
  SIGTERM -> exit 0, archive a gap-free prefix of the feed per stream, resume state matching it.
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from datetime import datetime, timezone
from pathlib import Path

import pytest

from tianshan.stream.mseed_header import parse_record_header

LAT, LON, MW = 41.95, 84.30, 4.0
ORIGIN = datetime(2024, 5, 1, 12, 0, 0, tzinfo=timezone.utc)
N_STATIONS = 5


@pytest.fixture(scope="module")
def scenario(tmp_path_factory):
    """SDS archive of the scenario and its records by stream (time order)."""
    from tianshan.io.sds import write_sds
    from tianshan.regions.demo import demo_region
    from tianshan.sim.scenario import simulate_scenario
    from tianshan.sim.source import Source

    region = demo_region()

    def dist(s):
        return math.hypot(s.latitude_deg - LAT, (s.longitude_deg - LON) * math.cos(math.radians(LAT)))

    stations = sorted(region.stations, key=dist)[:N_STATIONS]
    res = simulate_scenario(Source(LAT, LON, 10_000.0, MW, ORIGIN), stations, region.velocity_model,
                            duration_s=120.0, rng=7)
    root = tmp_path_factory.mktemp("scenario") / "sds"
    write_sds(res.stream, root)
    by_stream = _archive_records(root)
    begin = min(tr.stats.starttime for tr in res.stream).datetime.replace(tzinfo=timezone.utc)
    return root, by_stream, begin, [s.code for s in stations]


def _archive_records(root: Path) -> dict[str, list[bytes]]:
    out: dict[str, list[bytes]] = {}
    for path in sorted(Path(root).rglob("*.D.*")):
        blob = path.read_bytes()
        for i in range(0, len(blob), 512):
            rec = blob[i:i + 512]
            out.setdefault(str(parse_record_header(rec).stream_id), []).append(rec)
    for recs in out.values():
        recs.sort(key=lambda r: parse_record_header(r).start_ns)
    return out


def _config(tmp_path: Path, port: int, begin: datetime) -> Path:
    cfg = tmp_path / "tianshan.toml"
    cfg.write_text(f"""
data_dir = "data"
region = "demo"
[run]
archive = "archive"
log_format = "json"
[run.events]
min_stations = 3
max_semi_major_m = 500000.0
[[run.seedlink]]
host = "127.0.0.1"
port = {port}
selectors = ["TS_*"]
begin_time = {begin.strftime("%Y-%m-%dT%H:%M:%SZ")}
[run.http]
port = 0
""", encoding="utf-8")
    return cfg


def _state(tmp_path: Path, port: int) -> dict:
    return json.loads((tmp_path / "data" / "run" / "state" / f"seedlink-127.0.0.1-{port}.json").read_text())


def test_all_roles_in_process_until_idle(tmp_path, scenario):
    from tianshan.runtime.config import load_run_config
    from tianshan.runtime.daemon import Daemon
    from tianshan.store import EventStore
    from tianshan.stream.seedlink_server import SeedLinkServer

    sds, source, begin, codes = scenario

    async def main():
        server = await SeedLinkServer("127.0.0.1", 0).start()
        try:
            server.replay_sds(sds, speed=20.0)
            cfg = load_run_config(_config(tmp_path, server.port, begin), env={})
            daemon = Daemon(cfg)
            rc = await asyncio.wait_for(daemon.run(until_idle_s=2.0, install_signals=False), 120)
        finally:
            await server.close()
        return rc, daemon, cfg, server.port

    rc, daemon, cfg, port = asyncio.run(main())
    s = daemon.summary()
    n_records = sum(len(v) for v in source.values())
    assert rc == 0
    # acquisition: every record received, none dropped, archived byte for byte
    assert s["gate"]["accepted"] == s["gate"]["received"] == n_records
    assert s["acquisition"]["archive_records_written"] == n_records
    assert _archive_records(cfg.archive_root) == source
    assert (cfg.archive_root / ".tianshan-live-archive.touched").read_text() == ""  # closed cleanly
    assert s["buffers"]["gaps"] == 0 and s["buffers"]["packets"] == n_records
    # picker: picks published, all of them received by the associator
    published = s["picker"]["picks_published"]
    assert published >= N_STATIONS and s["picker"]["picker_errors"] == 0
    assert s["associator"]["event_stage_picks_received"] == published
    # associator: the event, its picks and timeline in the store
    with EventStore.open(cfg.store_url) as store:
        events = store.events()
        assert len(events) == 1
        ev = events[0]
        p_stations = {p.stream_id.station for p in ev.picks if p.phase == "P"}
        assert len(p_stations) >= 3 and p_stations <= set(codes)
        assert abs((ev.origins[0].time - ORIGIN).total_seconds()) < 10.0
        steps = [e.step for e in store.timeline(ev.id)]
    assert steps[:4] == ["origin_time", "first_pick", "locatable_pick", "first_origin"] and steps[-1] == "final"
    assert s["products"]["magnitude_stage_events_received"] >= 2  # declared, final/cancelled
    # resume state saved for every station
    assert set(_state(tmp_path, port)["stations"]) == {f"TS_{c}" for c in codes}


class _ServerThread:
    """A SeedLinkServer replaying in its own event loop on a background thread."""

    def __init__(self, sds: Path, speed: float) -> None:
        from tianshan.stream.seedlink_server import SeedLinkServer

        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

        async def make():
            srv = await SeedLinkServer("127.0.0.1", 0).start()
            srv.replay_sds(sds, speed=speed)
            return srv

        self.server = asyncio.run_coroutine_threadsafe(make(), self.loop).result(30)

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self.server.close(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


def _get_json(url: str):
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()


def test_subprocess_health_metrics_and_sigterm(tmp_path, scenario):
    sds, source, begin, codes = scenario
    srv = _ServerThread(sds, speed=2.0)  # 120 s of data over 60 s: still flowing at the SIGTERM
    proc = None
    try:
        cfg = _config(tmp_path, srv.server.port, begin)
        env = {**os.environ, "TIANSHAN_CONFIG": ""}
        proc = subprocess.Popen([sys.executable, "-m", "tianshan.cli.main", "run", "--config", str(cfg),
                                 "--role", "acquisition,picker"], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, env=env)
        info_path = tmp_path / "data" / "run" / "http-acquisition-picker.json"
        deadline = time.monotonic() + 60
        health = None
        while time.monotonic() < deadline and proc.poll() is None:
            if info_path.exists():
                status, body = _get_json(json.loads(info_path.read_text())["url"] + "/health")
                health = json.loads(body)
                if health["last_packet_age_s"] is not None and status == 200:
                    break
            time.sleep(0.2)
        assert proc.poll() is None, proc.communicate()[1][-3000:]
        assert health is not None and health["status"] == "ok", health
        assert health["components"]["acquisition"]["sources"][0]["connected"] is True
        time.sleep(1.0)
        status, metrics = _get_json(json.loads(info_path.read_text())["url"] + "/metrics")
        text = metrics.decode()
        assert status == 200
        assert 'tianshan_seedlink_latency_seconds{server="127.0.0.1:%d",stream="TS.%s.00.HHZ"}' % (
            srv.server.port, codes[0]) in text
        assert 'tianshan_records_total{outcome="accepted"}' in text
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.communicate()
        srv.stop()
    assert proc.returncode == 0, err[-3000:]
    logs = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
    assert any(r["msg"].startswith("signal SIGTERM") for r in logs)
    assert logs[-1]["msg"].startswith("stopped in") and logs[-1]["logger"] == "tianshan.runtime"
    assert not info_path.exists()
    archive = tmp_path / "archive"
    assert (archive / ".tianshan-live-archive.touched").read_text() == ""
    got = _archive_records(archive)
    total = sum(len(v) for v in source.values())
    assert 0 < sum(len(v) for v in got.values()) < total  # stopped while data were flowing
    state = _state(tmp_path, srv.server.port)
    for sid, recs in got.items():  # each stream: a gap-free prefix of the feed, the state right after it
        assert recs == source[sid][:len(recs)], sid
        assert state["streams"][sid]["next_start_ns"] == parse_record_header(recs[-1]).next_start_ns
    # every station that delivered data has its resume state (under load a station whose first
    # record had not come yet at the SIGTERM has none, and nothing to resume)
    with_data = {"{}_{}".format(*sid.split(".")[:2]) for sid, recs in got.items() if recs}
    assert with_data and set(state["stations"]) == with_data <= {f"TS_{c}" for c in codes}

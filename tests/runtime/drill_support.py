"""Shared helpers of the fault drills (issue 4, "Must show"): real processes, real servers, real files.

The drills run ``tianshan run`` the way an operator does: a simulated scenario written as SDS is
replayed by ``tianshan seedlink serve`` in a subprocess (so it outlives the daemon it feeds), the
daemon runs in one or several subprocesses (``python -m tianshan.cli.main run --config ...``)
and is killed, restarted and stopped with signals; a private ``nats-server`` (own port, own
JetStream folder) carries the bus between role processes, isolated from any shared server on
4222. Everything is then checked from the outside: the SDS archive (records parsed, decoded and
compared with the served archive), the SQLite event store (read alongside the daemon, and
``PRAGMA integrity_check``), the HTTP endpoints (``/health``, ``/metrics``) and the JSON logs
(the last line of a graceful stop carries the daemon's counters).

Waits are generous and never asserted on (a loaded 2-core machine): :func:`wait_until` polls a
condition and fails with the logs of the processes involved when it times out or one of them
died. Every process is ended by the test's clean-up (SIGTERM, then SIGKILL); as a safety net
against a test run that is itself killed, the replay server stops after :data:`SERVER_LIFETIME_S`.
Imported by the drill tests with ``importlib`` (pytest runs with ``--import-mode=importlib``).
"""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

#: Longest wait for anything in a drill (seconds); conditions are polled, never timed.
WAIT_S = 90.0
#: ``tianshan seedlink serve --duration``: an orphaned replay server goes away by itself.
SERVER_LIFETIME_S = 600.0
NATS_SERVER = "/usr/sbin/nats-server"
ORIGIN = datetime(2024, 5, 1, 12, 0, 0, tzinfo=timezone.utc)
#: Epicentre among the demo network's densest group (SISH, KORL, HEJI, TEWU...: 6 stations in ~100 km).
LAT, LON = 42.05, 86.35


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() == "true"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    try:
        with socket.create_connection((host, port), timeout=1.0):
            return True
    except OSError:
        return False


def nats_server_binary() -> str:
    """Path of the ``nats-server`` binary; skips the test when absent (fails under ``CI=true``)."""
    path = NATS_SERVER if os.access(NATS_SERVER, os.X_OK) else shutil.which("nats-server")
    if path is None:
        msg = f"nats-server binary not found ({NATS_SERVER} or on PATH): apt-get install nats-server"
        if in_ci():
            pytest.fail(f"CI=true: the NATS drills must run, but {msg}")
        pytest.skip(msg)
    return path


# --------------------------------------------------------------------------- scenario

@dataclass(frozen=True)
class Scenario:
    """A simulated earthquake written as SDS: what the replay server serves."""

    sds: Path
    stationxml: Path                  # the stations with their full responses (magnitudes need them)
    records: dict[str, list[bytes]]   # stream id -> its 512-byte records in time order
    begin: datetime                   # first sample
    origin: datetime
    stations: tuple[str, ...]         # station codes (network TS)

    @property
    def n_records(self) -> int:
        return sum(len(v) for v in self.records.values())


def simulate(folder: Path, *, n_stations: int = 6, mw: float = 4.5, duration_s: float = 120.0, seed: int = 7,
             lat: float = LAT, lon: float = LON) -> Scenario:
    """Mw ``mw`` at (``lat``, ``lon``), 10 km deep, at :data:`ORIGIN`, recorded by the ``n_stations``
    nearest demo stations from 60 s before the origin for ``duration_s`` seconds."""
    from tianshan.io.sds import write_sds
    from tianshan.io.stationxml import write_stationxml
    from tianshan.regions.demo import demo_region
    from tianshan.sim.scenario import simulate_scenario
    from tianshan.sim.source import Source

    region = demo_region()

    def dist(s):
        return math.hypot(s.latitude_deg - lat, (s.longitude_deg - lon) * math.cos(math.radians(lat)))

    stations = sorted(region.stations, key=dist)[:n_stations]
    res = simulate_scenario(Source(lat, lon, 10_000.0, mw, ORIGIN), stations, region.velocity_model,
                            duration_s=duration_s, rng=seed)
    root = Path(folder) / "sds"
    write_sds(res.stream, root)
    xml = Path(write_stationxml(res.stations, Path(folder) / "stations.xml", res.responses))
    begin = min(tr.stats.starttime for tr in res.stream).datetime.replace(tzinfo=timezone.utc)
    return Scenario(root, xml, archive_records(root), begin, ORIGIN, tuple(s.code for s in stations))


def archive_records(root: Path) -> dict[str, list[bytes]]:
    """Every 512-byte record under the SDS ``root`` by stream id, sorted by start time (duplicates kept)."""
    from tianshan.stream.mseed_header import parse_record_header

    out: dict[str, list[bytes]] = {}
    for path in sorted(Path(root).rglob("*.D.*")):
        blob = path.read_bytes()
        assert len(blob) % 512 == 0, f"{path}: {len(blob)} bytes, not whole 512-byte records"
        for i in range(0, len(blob), 512):
            rec = blob[i:i + 512]
            out.setdefault(str(parse_record_header(rec).stream_id), []).append(rec)
    for recs in out.values():
        recs.sort(key=lambda r: parse_record_header(r).start_ns)
    return out


def verify_archive(archive: Path, scenario: Scenario) -> dict:
    """Check the daemon's archive against the served one; returns figures.

    Every file is whole records; every record's header parses and ObsPy decodes every file;
    per stream, no record twice (start time), none missing, each byte-identical to the served
    one; the decoded samples equal the served SDS's sample arrays (no gap, no overlap).
    """
    from obspy import read

    from tianshan.stream.mseed_header import parse_record_header

    got = archive_records(archive)
    assert sorted(got) == sorted(scenario.records), (sorted(got), sorted(scenario.records))
    for sid, recs in got.items():
        starts = [parse_record_header(r).start_ns for r in recs]
        dup = len(starts) - len(set(starts))
        src = scenario.records[sid]
        assert dup == 0, f"{sid}: {dup} duplicated records in the archive"
        missing = len(src) - len(recs)
        assert missing == 0, f"{sid}: {missing} records missing ({len(recs)} archived, {len(src)} served)"
        assert recs == src, f"{sid}: archived records differ from the served ones"
    served = {tr.id: tr for tr in _decode(scenario.sds)}
    decoded = {tr.id: tr for tr in _decode(archive)}
    assert sorted(decoded) == sorted(served)
    for sid, tr in served.items():
        a = decoded[sid]
        assert a.stats.starttime == tr.stats.starttime and a.stats.npts == tr.stats.npts, (sid, a, tr)
        assert (a.data == tr.data).all(), f"{sid}: decoded samples differ"
    files = [p for p in archive.rglob("*.D.*")]
    for p in files:
        read(str(p), format="MSEED")  # every archived file decodes
    return {"records": sum(len(v) for v in got.values()), "streams": len(got), "files": len(files)}


def archive_frontier(root: Path, scenario: Scenario) -> datetime | None:
    """Newest record end in the live archive over the scenario's streams (None: nothing yet)."""
    from tianshan.core.ids import StreamID
    from tianshan.runtime.recovery import archive_frontier_ns

    ns = archive_frontier_ns(root, [StreamID.parse(s) for s in scenario.records])
    return None if ns is None else datetime.fromtimestamp(ns / 1e9, tz=timezone.utc)


def archived_records(root: Path) -> int:
    """Records in the live archive now (file sizes / 512)."""
    return sum(p.stat().st_size // 512 for p in Path(root).rglob("*.D.*")) if Path(root).is_dir() else 0


def _decode(root: Path):
    """Per stream one trace (gaps or overlaps fail: the files must be contiguous)."""
    from obspy import Stream, read

    st = Stream()
    for p in sorted(Path(root).rglob("*.D.*")):
        st += read(str(p), format="MSEED")
    st.sort()
    gaps = st.get_gaps()
    assert not gaps, f"gaps/overlaps in {root}: {gaps[:3]}"
    st.merge(method=-1)
    return st


# --------------------------------------------------------------------------- configuration

def write_config(folder: Path, scenario: Scenario, *, seedlink_port: int, selectors, bus: str = "memory",
                 events: dict | None = None, data_dir: str = "data", archive: str = "archive") -> Path:
    """A ``tianshan.toml`` for the drills: the scenario's StationXML (the demo velocity model is
    the built-in one), SQLite store and archive in ``folder``, one SeedLink source from the
    scenario's first sample, HTTP on any free port, JSON logs. Event rules: 4 stations, 100 km
    ellipse (the demo network is sparse), the rest default."""
    rules = {"min_stations": 4, "max_semi_major_m": 100000.0, **(events or {})}
    rule_lines = "\n".join(f"{k} = {json.dumps(v)}" for k, v in rules.items())
    sel = ", ".join(json.dumps(s) for s in selectors)
    cfg = Path(folder) / "tianshan.toml"
    cfg.write_text(f"""
data_dir = "{data_dir}"
[run]
inventory = "{scenario.stationxml}"
archive = "{archive}"
log_format = "json"
bus = "{bus}"
[run.events]
{rule_lines}
[[run.seedlink]]
host = "127.0.0.1"
port = {seedlink_port}
selectors = [{sel}]
begin_time = {scenario.begin.strftime("%Y-%m-%dT%H:%M:%SZ")}
[run.http]
port = 0
""", encoding="utf-8")
    return cfg


def run_config(cfg: Path, roles=None):
    from tianshan.runtime.config import load_run_config

    return load_run_config(cfg, roles=roles, env={})


# --------------------------------------------------------------------------- processes

def _env() -> dict:
    env = dict(os.environ, TIANSHAN_CONFIG="", PYTHONUNBUFFERED="1")
    env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)
    return env


class Proc:
    """A subprocess whose stdout and stderr go to files (a full pipe would block it)."""

    def __init__(self, name: str, args: list[str], log_dir: Path) -> None:
        self.name = name
        self.args = args
        log_dir.mkdir(parents=True, exist_ok=True)
        n = len(list(log_dir.glob(f"{name}.*.err")))
        self.err_path = log_dir / f"{name}.{n}.err"
        self.out_path = log_dir / f"{name}.{n}.out"
        self._out = open(self.out_path, "wb")
        self._err = open(self.err_path, "wb")
        self.started_wall = time.time()
        self.started_mono = time.monotonic()
        self.popen = subprocess.Popen(args, stdout=self._out, stderr=self._err, env=_env(),
                                      start_new_session=True)

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def signal(self, sig: int) -> None:
        if self.alive():
            self.popen.send_signal(sig)

    def kill9(self) -> None:
        self.signal(signal.SIGKILL)
        self.popen.wait(30)

    def wait(self, timeout: float = WAIT_S) -> int:
        try:
            return self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            pytest.fail(f"{self.name} did not exit within {timeout:.0f} s\n{self.tail()}")

    def stop(self) -> None:
        """End the process if it still runs (test clean-up): SIGTERM, then SIGKILL."""
        if self.alive():
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(20)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(10)
        for fh in (self._out, self._err):
            fh.close()

    def stderr(self) -> str:
        return self.err_path.read_text(encoding="utf-8", errors="replace")

    def tail(self, n: int = 4000) -> str:
        return f"--- {self.name} (pid {self.pid}, rc {self.popen.poll()}) stderr tail:\n{self.stderr()[-n:]}"

    def logs(self) -> list[dict]:
        """The JSON log records written so far."""
        out = []
        for line in self.stderr().splitlines():
            if line.startswith("{"):
                try:
                    out.append(json.loads(line))
                except json.JSONDecodeError:
                    pass
        return out

    def summary(self) -> dict:
        """The counters logged by a graceful stop (``stopped in ...``), else {}."""
        for rec in reversed(self.logs()):
            if rec.get("msg", "").startswith("stopped in"):
                return {k: v for k, v in rec.items() if k not in ("ts", "level", "logger", "msg")}
        return {}


    def _ready(self, cond, what: str) -> None:
        """Wait for ``cond``; on failure end the process before failing (it is nobody's to clean up yet)."""
        try:
            wait_until(cond, 60, what, [self])
        except BaseException:
            self.stop()
            raise


class Replay(Proc):
    """``tianshan seedlink serve`` replaying ``sds`` on ``port`` (fixed: a restart keeps it)."""

    def __init__(self, sds: Path, port: int, log_dir: Path, *, speed: float, start: datetime | None = None) -> None:
        args = [sys.executable, "-m", "tianshan.cli.main", "seedlink", "serve", "--archive", str(sds),
                "--port", str(port), "--speed", f"{speed:g}", "--duration", f"{SERVER_LIFETIME_S:g}", "--json"]
        if start is not None:
            args += ["--start", start.strftime("%Y-%m-%dT%H:%M:%S.%fZ")]
        super().__init__("seedlink", args, log_dir)
        self.port = port
        self.speed = speed
        self._ready(lambda: port_open(port), "SeedLink replay server listening")


class NatsServer(Proc):
    """A private ``nats-server`` with JetStream (``-js -sd store``) on its own port."""

    def __init__(self, binary: str, port: int, store: Path, log_dir: Path) -> None:
        store.mkdir(parents=True, exist_ok=True)
        super().__init__("nats", [binary, "-js", "-sd", str(store), "-p", str(port), "-a", "127.0.0.1"], log_dir)
        self.port = port
        self.binary, self.store = binary, store
        self._ready(lambda: port_open(port), "nats-server listening")

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def restarted(self, log_dir: Path) -> "NatsServer":
        return NatsServer(self.binary, self.port, self.store, log_dir)


class Daemon(Proc):
    """``tianshan run --config cfg`` with some roles (default all)."""

    def __init__(self, cfg: Path, log_dir: Path, *, roles: str | None = None, until_idle: float | None = None,
                 name: str | None = None) -> None:
        self.config = run_config(cfg, roles=[roles] if roles else None)
        args = [sys.executable, "-m", "tianshan.cli.main", "run", "--config", str(cfg)]
        if roles:
            args += ["--role", roles]
        if until_idle is not None:
            args += ["--until-idle", f"{until_idle:g}"]
        super().__init__(name or ("run-" + (roles or "all").replace(",", "-")), args, log_dir)

    def http_url(self) -> str | None:
        try:
            return json.loads(self.config.http_json.read_text())["url"]
        except (OSError, ValueError, KeyError):
            return None

    def wait_http(self, timeout: float = WAIT_S) -> str:
        """Wait until the HTTP endpoint is up (the daemon has started every role); its URL."""
        wait_until(lambda: self.http_url() is not None and get(self.http_url() + "/health")[0] in (200, 503),
                   timeout, f"{self.name}: HTTP endpoint", [self])
        return self.http_url()

    def health(self) -> dict:
        url = self.http_url()
        if url is None:
            return {}
        status, body = get(url + "/health")
        try:
            return json.loads(body)
        except ValueError:
            return {}

    def metrics(self) -> str:
        url = self.http_url()
        return "" if url is None else get(url + "/metrics")[1]


#: Role processes in start order: the consumers first (a durable JetStream consumer created
#: after a message was published does not get it), acquisition last.
ROLES = ("associator", "products", "picker", "acquisition")


def start_roles(cfg: Path, log_dir: Path, procs: list, *, idle: dict | None = None) -> dict:
    """One ``tianshan run --role R`` process per role (``idle``: role -> ``--until-idle`` seconds);
    the stages are up (HTTP answering) before acquisition starts. Each is appended to ``procs``."""
    idle = idle or {}
    out = {}
    for role in ROLES[:3]:
        out[role] = Daemon(cfg, log_dir, roles=role, until_idle=idle.get(role))
        procs.append(out[role])
    for role in ROLES[:3]:
        out[role].wait_http()
    out["acquisition"] = Daemon(cfg, log_dir, roles="acquisition", until_idle=idle.get("acquisition"))
    procs.append(out["acquisition"])
    out["acquisition"].wait_http()
    return out


def get(url: str, timeout: float = 10.0) -> tuple[int, str]:
    """GET ``url``: (status, body); (0, "") when nothing answers."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode()
    except (OSError, ValueError):
        return 0, ""


def metric(text: str, name: str, **labels) -> float | None:
    """The value of sample ``name{labels}`` in a Prometheus text page (labels matched as given)."""
    for line in text.splitlines():
        if not line.startswith(name):
            continue
        m = re.match(rf"^{re.escape(name)}(\{{[^}}]*\}})? (\S+)$", line)
        if m is None:
            continue
        have = dict(re.findall(r'(\w+)="([^"]*)"', m.group(1) or ""))
        if all(have.get(k) == v for k, v in labels.items()):
            return float(m.group(2))
    return None


def metric_sum(text: str, name: str) -> float | None:
    """Sum of every sample of ``name`` (any labels) in a Prometheus text page; None if absent."""
    values = [float(m.group(1)) for m in re.finditer(rf"^{re.escape(name)}(?:\{{[^}}]*\}})? (\S+)$", text, re.M)]
    return sum(values) if values else None


def wait_until(cond, timeout: float, what: str, procs=(), poll_s: float = 0.25):
    """Poll ``cond()`` until it returns a true value (returned); fail when ``timeout`` passes or
    one of ``procs`` exits, with their log tails."""
    end = time.monotonic() + timeout
    while True:
        value = cond()
        if value:
            return value
        dead = [p for p in procs if not p.alive()]
        if dead or time.monotonic() > end:
            why = f"{', '.join(p.name for p in dead)} exited" if dead else f"timed out after {timeout:.0f} s"
            pytest.fail(f"waiting for {what}: {why}\n" + "\n".join(p.tail() for p in procs))
        time.sleep(poll_s)


# --------------------------------------------------------------------------- store

@dataclass
class StoreSnapshot:
    """Events of the store, with their picks and origins by id, and timeline steps."""

    events: dict = field(default_factory=dict)      # event id -> Event
    timelines: dict = field(default_factory=dict)   # event id -> [step, ...]

    @property
    def picks(self) -> dict:
        return {p.id: p for ev in self.events.values() for p in ev.picks}

    @property
    def origins(self) -> dict:
        return {o.id: o for ev in self.events.values() for o in ev.origins}

    def final(self, event_id: str) -> bool:
        return "final" in self.timelines.get(event_id, [])


def store_snapshot(url: str) -> StoreSnapshot:
    """Read every event of the store at ``url`` (opened without migrating: the daemon owns the schema)."""
    from tianshan.store import EventStore

    snap = StoreSnapshot()
    try:
        store = EventStore.open(url, upgrade=False)
    except Exception:  # noqa: BLE001 - not created yet (the daemon migrates it at start)
        return snap
    try:
        for ev in store.events():
            snap.events[ev.id] = ev
            snap.timelines[ev.id] = [e.step for e in store.timeline(ev.id)]
    finally:
        store.close()
    return snap


def sqlite_path(url: str) -> Path:
    assert url.startswith("sqlite:///"), url
    return Path(url[len("sqlite:///"):])


def integrity_check(url: str) -> str:
    """``PRAGMA integrity_check`` of the SQLite store ("ok" when sound)."""
    con = sqlite3.connect(str(sqlite_path(url)))
    try:
        return ";".join(r[0] for r in con.execute("PRAGMA integrity_check"))
    finally:
        con.close()


def catalogue(url: str) -> list[dict]:
    """The final catalogue of a store, comparable across runs: per event (origin time order) the
    preferred origin's time and epicentre, the pick set (stream, phase, time in ms) and the
    preferred magnitude."""
    snap = store_snapshot(url)
    out = []
    for ev in snap.events.values():
        o = ev.preferred_origin
        m = ev.preferred_magnitude
        out.append({"id": ev.id, "type": None if ev.type is None else ev.type.value,
                    "time": None if o is None else o.time,
                    "lat": None if o is None else o.latitude_deg, "lon": None if o is None else o.longitude_deg,
                    "depth_m": None if o is None else o.depth_m,
                    "picks": sorted((str(p.stream_id), p.phase, round(p.time.timestamp() * 1000))
                                    for p in ev.picks),
                    "mag": None if m is None else (m.type, round(m.value, 3)),
                    "origins": len(ev.origins), "final": snap.final(ev.id)})
    out.sort(key=lambda e: (e["time"] is None, e["time"] or datetime.min.replace(tzinfo=timezone.utc)))
    return out


def epicentral_km(a: dict, b: dict) -> float:
    """Great-circle distance between two catalogue entries' epicentres (haversine, R = 6371 km)."""
    la1, lo1, la2, lo2 = map(math.radians, (a["lat"], a["lon"], b["lat"], b["lon"]))
    h = math.sin((la2 - la1) / 2) ** 2 + math.cos(la1) * math.cos(la2) * math.sin((lo2 - lo1) / 2) ** 2
    return 2 * 6371.0 * math.asin(math.sqrt(h))


def seconds(a: datetime, b: datetime) -> float:
    return abs((a - b) / timedelta(seconds=1))


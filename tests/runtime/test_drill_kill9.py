"""Fault drills of issue 4 on one ``tianshan run`` process: kill -9 during an event, SeedLink server restart.

Both drills replay a simulated Mw 4.5 recorded by 6 demo stations (90 s after the origin) with
``tianshan seedlink serve`` in its own process, into ``tianshan run --config`` (every role, in-process
bus, SQLite store, live archive, SeedLink resume state), and check the result from the outside:

* **kill -9 during an event**: SIGKILL as soon as the event's first origin and picks are stored
  (data still flowing, the event open), restart with the same configuration, let the replay
  finish (``--until-idle``). Every archive record is valid, none duplicated or missing against the
  served archive (bytes and decoded samples); every pick and origin stored before the kill is
  still stored, identical; the event completes (final or cancelled) with origins made after the
  restart; no second event; ``PRAGMA integrity_check`` is ok.
* **SeedLink server restart**: SIGKILL the replay server mid-stream, start it again on the same
  port from about where it was; the daemon (wildcard request: resume by time) reconnects and its
  archive ends up with no gap and no duplicate.

Figures (records, picks, origins, restart times) are printed (``pytest -s``).
"""

from __future__ import annotations

import importlib.util
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest


def _support():
    name = "tianshan_tests_runtime_drill_support"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, Path(__file__).with_name("drill_support.py"))
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


ds = _support()
SPEED = 4.0


@pytest.fixture(scope="module")
def scenario(tmp_path_factory):
    return ds.simulate(tmp_path_factory.mktemp("drill-scenario"), duration_s=150.0)


@pytest.fixture
def procs():
    started: list = []
    yield started
    for p in reversed(started):
        p.stop()


def _declared(url: str):
    snap = ds.store_snapshot(url)
    ready = [e for e, ev in snap.events.items() if ev.picks and ev.origins and "first_origin" in snap.timelines[e]]
    return snap if ready else None


def test_kill9_during_event_then_restart(tmp_path, scenario, procs):
    logs = tmp_path / "logs"
    port = ds.free_port()
    procs.append(ds.Replay(scenario.sds, port, logs, speed=SPEED))
    cfg = ds.write_config(tmp_path, scenario, seedlink_port=port,
                          selectors=[f"TS_{c}" for c in scenario.stations])
    first = ds.Daemon(cfg, logs, until_idle=4.0, name="run-first")
    procs.append(first)
    url, archive = first.config.store_url, first.config.archive_root
    ds.wait_until(lambda: _declared(url), ds.WAIT_S, "the event's first origin and picks in the store",
                  [first, procs[0]])
    first.kill9()
    killed = time.monotonic()
    at_kill = ds.store_snapshot(url)  # what was stored when the process died
    archived_at_kill = ds.archived_records(archive)
    assert first.popen.returncode == -9
    assert archived_at_kill < scenario.n_records, "the kill came after the whole replay: nothing left to resume"
    assert len(at_kill.events) == 1, at_kill.timelines
    (event_id, ev_at_kill), = at_kill.events.items()
    assert not at_kill.final(event_id), "the event was final before the kill"

    second = ds.Daemon(cfg, logs, until_idle=4.0, name="run-second")
    procs.append(second)
    second.wait_http()
    restart_s = time.monotonic() - killed
    recovery = second.health().get("recovery", {})
    assert second.wait(ds.WAIT_S) == 0, second.tail()

    # archive: every record valid, none duplicated or missing, samples equal to the served ones
    figures = ds.verify_archive(archive, scenario)
    assert figures["records"] == scenario.n_records
    # store: sound, and everything stored before the kill still there, identical
    assert ds.integrity_check(url) == "ok"
    end = ds.store_snapshot(url)
    for pid, pick in at_kill.picks.items():
        assert end.picks.get(pid) == pick, pid
    for oid, origin in at_kill.origins.items():
        assert end.origins.get(oid) == origin, oid
    # the event completes, with origins made after the restart, and no second event appeared
    ev = end.events[event_id]
    assert end.final(event_id), end.timelines[event_id]
    assert [e for e in end.events if e != event_id] == []
    new_origins = [o for o in ev.origins if o.id not in at_kill.origins]
    assert new_origins and min(o.version for o in new_origins) > max(o.version for o in ev_at_kill.origins)
    assert all(o.created_at >= datetime.fromtimestamp(second.started_wall, tz=timezone.utc) - timedelta(seconds=1)
               for o in new_origins)
    keys = [(str(p.stream_id), p.phase, p.time) for p in ev.picks]
    assert len(keys) == len(set(keys)), "the same onset stored twice"
    s = second.summary()
    assert s["associator"]["event_stage_restored"] == 1
    print(f"\nDRILL kill-9: records served {scenario.n_records}, archived at kill {archived_at_kill}, "
          f"after restart {figures['records']} in {figures['files']} files; archive duplicates dropped at restart "
          f"{s['acquisition']['archive_duplicates']}, truncated {s['acquisition']['archive_truncated_records']}; "
          f"picks/origins at kill {len(at_kill.picks)}/{len(at_kill.origins)}, at end {len(ev.picks)}/"
          f"{len(ev.origins)} (preferred status {ev.preferred_origin.evaluation_status.value}, magnitudes "
          f"{len(ev.magnitudes)}); restart to HTTP up {restart_s:.1f} s; recovery re-read {recovery.get('records')} "
          f"records; picks re-published and dropped as duplicates {s['associator']['event_stage_duplicates']}")


def test_seedlink_server_restart_mid_stream(tmp_path, scenario, procs):
    logs = tmp_path / "logs"
    port = ds.free_port()
    server = ds.Replay(scenario.sds, port, logs, speed=2 * SPEED)
    procs.append(server)
    cfg = ds.write_config(tmp_path, scenario, seedlink_port=port, selectors=["TS_*"])
    daemon = ds.Daemon(cfg, logs, until_idle=4.0)
    procs.append(daemon)
    archive = daemon.config.archive_root
    n = scenario.n_records
    ds.wait_until(lambda: ds.archived_records(archive) >= 0.4 * n, ds.WAIT_S, "40 % of the records archived",
                  [daemon, server])
    server.kill9()
    at_kill = ds.archived_records(archive)
    assert at_kill < n

    def reconnecting():
        v = ds.metric(daemon.metrics(), "tianshan_seedlink_reconnects_total")
        return v is not None and v >= 1

    ds.wait_until(reconnecting, ds.WAIT_S, "the client noticing the lost server", [daemon])
    # the new server starts where the archive ends (earlier records are history it can resume from)
    from tianshan.stream.mseed_header import parse_record_header

    ends = [max(parse_record_header(r).end_ns for r in recs) for recs in ds.archive_records(archive).values()]
    start = datetime.fromtimestamp(min(ends) // 10**9 - 2, tz=timezone.utc)
    t0 = time.monotonic()
    procs.append(ds.Replay(scenario.sds, port, logs, speed=2 * SPEED, start=start))
    ds.wait_until(lambda: ds.archived_records(archive) > at_kill, ds.WAIT_S, "data after the server restart", [daemon])
    resumed_s = time.monotonic() - t0
    assert daemon.wait(ds.WAIT_S) == 0, daemon.tail()
    figures = ds.verify_archive(archive, scenario)
    assert figures["records"] == n
    s = daemon.summary()
    assert s["acquisition"]["archive_records_written"] == n  # nothing reached the archive twice
    reconnect_logs = [r for r in daemon.logs() if "reconnecting in" in r.get("msg", "")]
    assert reconnect_logs
    print(f"\nDRILL seedlink restart: records {n}, archived when the server died {at_kill}, "
          f"server restarted from {start.isoformat()}, first new record archived {resumed_s:.1f} s after the "
          f"restart, reconnect attempts {len(reconnect_logs)}, "
          f"archive duplicates {s['acquisition']['archive_duplicates']}, "
          f"final archive {figures['records']} records, no gap, no duplicate")

"""Issue 4 fault drill: NATS server restart under the multi-process daemon -> the stages resume.

A private ``nats-server`` (JetStream in a temporary folder, own port: isolated from any shared
server on 4222) carries the bus between four ``tianshan run --role ...`` processes (acquisition,
picker, associator, products) fed by a ``tianshan seedlink serve`` replay of a simulated Mw 4.5
at 6 demo stations. Shortly before the P waves reach the stations (data time), nats-server is
killed with SIGKILL, left down for 12 s (longer than the acquisition's publish retries: its
SeedLink source fails and restarts from its resume state) and started again on the same port
and JetStream folder. Then:

* no role process exited; each one's NATS client reconnected (``tianshan_bus_messages_total
  {counter="reconnects"}`` >= 1 on every ``/metrics``);
* the picker published picks after the restart, and the associator declared the event after it;
* every record the acquisition archived reached the picker through JetStream (none lost in the
  outage: acquisition retries its publishes, JetStream keeps the stored messages);
* every process then stops gracefully on SIGTERM (exit 0).

Needs ``/usr/sbin/nats-server`` (skips without it, fails under CI=true). Figures printed (``-s``).
"""

from __future__ import annotations

import importlib.util
import signal
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
SPEED = 3.0
#: Wall seconds nats-server stays down: longer than the acquisition's publish retry time (NatsBus
#: ``publish_timeout_s``, 10 s), so the SeedLink source also fails, restarts and resumes.
OUTAGE_S = 12.0


@pytest.fixture
def procs():
    started: list = []
    yield started
    for p in reversed(started):
        p.stop()


def _bus_connected(daemon) -> bool:
    return bool(daemon.health().get("bus", {}).get("connected"))


def test_nats_server_kill9_and_restart_stages_resume(tmp_path, procs):
    binary = ds.nats_server_binary()
    scenario = ds.simulate(tmp_path / "scenario", duration_s=150.0)
    logs = tmp_path / "logs"
    nats = ds.NatsServer(binary, ds.free_port(), tmp_path / "jetstream", logs)
    procs.append(nats)
    port = ds.free_port()
    procs.append(ds.Replay(scenario.sds, port, logs, speed=SPEED))
    cfg = ds.write_config(tmp_path, scenario, seedlink_port=port, selectors=["TS_*"], bus=nats.url)
    # --until-idle far beyond the drill (nothing may stop during the outage): only a safety net
    roles = ds.start_roles(cfg, logs, procs, idle=dict.fromkeys(ds.ROLES, 300.0))
    stages = list(roles.values())
    url = roles["associator"].config.store_url
    archive = roles["acquisition"].config.archive_root

    # kill nats-server shortly before the first P onsets (data time)
    kill_at = scenario.origin - timedelta(seconds=20)
    ds.wait_until(lambda: (ds.archive_frontier(archive, scenario) or kill_at - timedelta(1)) >= kill_at,
                  ds.WAIT_S, "data up to 20 s before the origin", stages)
    picks_before = ds.metric(roles["picker"].metrics(), "tianshan_picks_published_total") or 0
    assert not ds.store_snapshot(url).events, "the event was declared before the outage"
    nats.kill9()
    down = time.monotonic()
    ds.wait_until(lambda: not any(_bus_connected(p) for p in stages), ds.WAIT_S,
                  "every process noticing the lost bus", stages)
    noticed_s = time.monotonic() - down
    time.sleep(max(0.0, OUTAGE_S - (time.monotonic() - down)))
    nats = nats.restarted(logs)
    procs.append(nats)
    restarted_wall = datetime.now(timezone.utc)
    up = time.monotonic()
    ds.wait_until(lambda: all(_bus_connected(p) for p in stages), ds.WAIT_S, "every process reconnected", stages)
    reconnect_s = time.monotonic() - up

    # the stages resume: picks and the event after the restart
    def declared():
        snap = ds.store_snapshot(url)
        return snap if any("first_origin" in t for t in snap.timelines.values()) else None

    snap = ds.wait_until(declared, ds.WAIT_S, "the event declared after the restart", stages)
    declared_s = time.monotonic() - up
    ds.wait_until(lambda: (ds.metric(roles["picker"].metrics(), "tianshan_records_total", outcome="accepted") or 0)
                  >= scenario.n_records, ds.WAIT_S, "every record at the picker", stages)
    metrics = {role: p.metrics() for role, p in roles.items()}
    assert all(p.alive() for p in stages), "\n".join(p.tail() for p in stages if not p.alive())
    reconnects = {role: ds.metric(m, "tianshan_bus_messages_total", counter="reconnects")
                  for role, m in metrics.items()}
    assert all(v is not None and v >= 1 for v in reconnects.values()), reconnects
    picks_after = ds.metric(metrics["picker"], "tianshan_picks_published_total")
    assert picks_after > picks_before
    (event_id, event), = snap.events.items()
    assert ds.store_snapshot(url).events[event_id].picks
    first_origin = event.origins[0].created_at
    assert first_origin > restarted_wall, (first_origin, restarted_wall)

    for p in stages:
        p.signal(signal.SIGTERM)
    rcs = {p.name: p.wait(ds.WAIT_S) for p in stages}
    assert set(rcs.values()) == {0}, (rcs, "\n".join(p.tail() for p in stages))
    acq = roles["acquisition"].summary()["acquisition"]
    intake = roles["picker"].summary()["intake"]
    assert acq["archive_records_written"] == scenario.n_records
    assert intake["accepted"] == scenario.n_records  # nothing lost in the outage
    assert acq["source_failures"] >= 1  # the publish retries ran out: the source restarted and resumed
    print(f"\nDRILL nats restart: records {scenario.n_records} archived and {intake['accepted']} received by the "
          f"picker over JetStream; processes noticed the outage within {noticed_s:.1f} s and reconnected "
          f"{reconnect_s:.1f} s after nats-server was back; bus reconnects {reconnects}; acquisition source "
          f"restarts {acq['source_failures']}; picks published before/after the outage {picks_before:g}/"
          f"{picks_after:g}; event declared {declared_s:.1f} s after the restart with {len(event.picks)} picks")

"""Early warning inside the daemon: the EEW stage on live miniSEED records, with the real alert server.

A simulated demo-region Mw 5.5 (42.05 N 86.35 E, 10 km; the 10 nearest stations, 14-150 km) is
cut into 512-byte Steim2 records and fed in time order to a BufferSet (as the acquisition does)
with the stage attached. Delivery is for real: the in-process bus, the alert server (hub with
inline WebSocket fan-out) over loopback with an HMAC key from a key file, a WebSocket receiver,
JSON + CAP files, and a SQLite event store for the timeline. The first alert's data time is
compared with ``tianshan eew replay`` (:func:`tianshan.eew.replay.replay_stream`, 1-s packets) on
the same records.

The daemon test runs ``tianshan run`` in process (roles acquisition + picker, region ``demo``,
``[run.eew]`` publishing to the server) and hands the records to the acquisition role.
"""

from __future__ import annotations

import asyncio
import io
import json
import math
import xml.etree.ElementTree as ET
from datetime import datetime, timezone

import pytest

LAT, LON, DEPTH, MW = 42.05, 86.35, 10_000.0, 5.5
ORIGIN = datetime(2024, 5, 1, 3, 0, 0, tzinfo=timezone.utc)
N_STATIONS = 10
NEAR = "?bbox=84,40,89,44"


@pytest.fixture(scope="module")
def scenario():
    return make_scenario()


def make_scenario():
    """(region, scenario result, records in time order, replay report of the same stream)."""
    from obspy import Stream

    from tianshan.eew.locate import haversine_m
    from tianshan.eew.replay import replay_stream
    from tianshan.eew.targets import targets_from_places
    from tianshan.regions.demo import demo_region
    from tianshan.sim.scenario import simulate_scenario
    from tianshan.sim.source import Source
    from tianshan.stream.mseed_header import parse_record_header

    region = demo_region()
    stations = sorted(region.stations,
                      key=lambda s: float(haversine_m(s.latitude_deg, s.longitude_deg, LAT, LON)))[:N_STATIONS]
    res = simulate_scenario(Source(LAT, LON, DEPTH, MW, ORIGIN), stations, region.velocity_model,
                            duration_s=55.0, start=ORIGIN.replace(second=0) - _td(15), rng=5)
    records = []
    for tr in res.stream:
        b = io.BytesIO()
        Stream([tr]).write(b, format="MSEED", reclen=512, encoding="STEIM2")
        blob = b.getvalue()
        records += [blob[i:i + 512] for i in range(0, len(blob), 512)]
    ends = {}
    for r in records:
        h = parse_record_header(r)
        ends[r] = h.start_ns + round((h.n_samples - 1) * 1e9 / h.sample_rate_hz)
    records.sort(key=lambda r: ends[r])   # a record is sent when its last sample exists
    rep = replay_stream(res.stream, res.stations, res.model, targets=targets_from_places(region.places),
                        faults=region.faults)
    return region, res, records, rep


def _td(s: float):
    from datetime import timedelta

    return timedelta(seconds=s)


def _key_file(tmp_path):
    from tianshan.services.alerts.auth import generate_key, write_keys

    key = generate_key("eew-daemon")
    return key, write_keys(tmp_path / "keys.json", [key])


class Inbox:
    def __init__(self) -> None:
        self.all: list[dict] = []

    def __call__(self, payload: bytes, t: float) -> None:
        self.all.append(json.loads(payload))

    @property
    def alerts(self) -> list[dict]:
        return [m for m in self.all if m.get("format") == "tianshan-eew-alert/1"]


async def _wait(pred, what: str, timeout: float = 15.0) -> None:
    end = asyncio.get_running_loop().time() + timeout
    while not pred():
        if asyncio.get_running_loop().time() > end:
            pytest.fail(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


def test_stage_alerts_on_live_records_to_bus_server_files_and_timeline(scenario, tmp_path):
    from tianshan.bus import subjects
    from tianshan.bus.memory import InProcessBus
    from tianshan.core.timeline import TimelineEntry, latencies
    from tianshan.eew.policy import PolicyConfig
    from tianshan.eew.targets import targets_from_places
    from tianshan.products.alerts import message_from_json
    from tianshan.services.alerts.auth import PublishVerifier
    from tianshan.services.alerts.client import connect_receiver
    from tianshan.services.alerts.server import AlertServer, ServerConfig
    from tianshan.stages.eew import EEWStage, load_publisher
    from tianshan.store import EventStore
    from tianshan.stream.buffers import BufferSet

    region, res, records, rep = scenario
    key, key_path = _key_file(tmp_path)
    store = EventStore.open(f"sqlite:///{tmp_path / 'store.sqlite'}")

    async def on_timeline(event_id, step, data_time, wall_time, detail=""):
        await asyncio.to_thread(store.record_timeline, [TimelineEntry(event_id, step, wall_time, data_time, detail)])

    async def main():
        server = AlertServer(PublishVerifier([key]), ServerConfig(port=0, publish_port=0, workers=0))
        await server.start()
        bus = InProcessBus()
        on_bus: list[bytes] = []

        async def got(msg):
            on_bus.append(msg.data)

        await bus.subscribe(subjects.ALERTS, got)
        inbox = Inbox()
        receiver = await connect_receiver(server.ws_url + NEAR, inbox)
        publisher = load_publisher(server.publish_url, key_path)
        stage = EEWStage(res.stations, res.model, bus, targets=targets_from_places(region.places),
                         faults=region.faults, policy_config=PolicyConfig(test=True), publisher=publisher,
                         folder=tmp_path / "eew", on_timeline=on_timeline)
        buffers = BufferSet(600.0)
        stage.attach(buffers)
        await stage.start()
        try:
            for rec in records:
                buffers.ingest_record(rec)
                await asyncio.sleep(0)
            await stage.flush()
            await _wait(lambda: len(inbox.alerts) >= len(stage.deliveries), "the receiver's messages")
            stats = await server.collect_stats()
        finally:
            await stage.close()
            receiver.close()
            await bus.close()
            await server.close()
        return stage, on_bus, inbox, stats

    stage, on_bus, inbox, stats = asyncio.run(asyncio.wait_for(main(), 120))
    c = stage.counters
    assert c.listener_errors == 0 and c.round_errors == 0 and c.packets >= len(records) * 0.9
    assert c.alerts == 1 and stage.deliveries and stage.deliveries[0].msg_type == "alert"
    # every message reached the bus, the server (202) and the receiver, in sequence order
    msgs = [message_from_json(b) for b in on_bus]
    seqs = [m.sequence for m in msgs]
    assert seqs == list(range(1, len(msgs) + 1)) and len(msgs) == len(stage.deliveries)
    assert msgs[0].msg_type.value == "alert" and all(m.msg_type.value == "update" for m in msgs[1:])
    assert all(m.alert.test for m in msgs)
    assert [d.http_status for d in stage.deliveries] == [202] * len(msgs) and c.published_http == len(msgs)
    assert [m["sequence"] for m in inbox.alerts] == seqs
    assert stats["hub"]["published"] == len(msgs)
    # the alert is the real event: near the epicentre, magnitude in range
    a = msgs[0].alert
    from tianshan.eew.locate import haversine_m

    assert float(haversine_m(a.latitude_deg, a.longitude_deg, LAT, LON)) < 15_000.0 and 4.8 <= a.magnitude <= 6.5
    # files: JSON equal to the bus payload, CAP 1.2 XML
    ev_dir = tmp_path / "eew" / msgs[0].event_id
    assert (ev_dir / "001-alert.json").read_bytes() == on_bus[0]
    root = ET.fromstring((ev_dir / "001-alert.xml").read_bytes())
    assert root.tag == "{urn:oasis:names:tc:emergency:cap:1.2}alert"
    assert c.files_written == 2 * len(msgs)
    # timeline: origin time and first alert, under the EEW event id
    entries = store.timeline(msgs[0].event_id)
    store.close()
    assert [e.step for e in entries] == ["origin_time", "first_alert"]
    first = entries[1]
    assert first.data_time == stage.deliveries[0].data_time
    assert "origin_time_to_first_alert_s" in latencies(entries)
    # the same first alert as `tianshan eew replay` on the same records (data time; the replay rounds
    # every 1-s packet, the stage every trigger and every 0.5 s of data)
    t_stage = (stage.deliveries[0].data_time - ORIGIN).total_seconds()
    assert rep.first_alert_s is not None
    assert abs(t_stage - rep.first_alert_s) <= 1.5, (t_stage, rep.first_alert_s)
    assert c.packet_cpu_s > 0 and c.max_packet_cpu_s < c.packet_cpu_s


def test_alert_server_down_is_retried_counted_and_unhealthy(scenario, tmp_path):
    import socket

    from tianshan.bus.memory import InProcessBus
    from tianshan.eew.policy import PolicyConfig
    from tianshan.eew.targets import targets_from_places
    from tianshan.stages.eew import EEWStage, load_publisher
    from tianshan.stream.buffers import BufferSet

    region, res, records, _ = scenario
    _, key_path = _key_file(tmp_path)
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]

    async def main():
        bus = InProcessBus()
        stage = EEWStage(res.stations, res.model, bus, targets=targets_from_places(region.places),
                         faults=region.faults, policy_config=PolicyConfig(test=True),
                         publisher=load_publisher(f"http://127.0.0.1:{port}/v1/alerts", key_path, timeout_s=1.0))
        buffers = BufferSet(600.0)
        stage.attach(buffers)
        await stage.start()
        try:
            for rec in records:
                buffers.ingest_record(rec)
                await asyncio.sleep(0)
            stage._round()
            await _wait(lambda: stage.counters.http_errors >= 1, "the first failed delivery", 30.0)
            health = stage.health()
        finally:
            stage._closing = True
            for t in stage._tasks:
                t.cancel()
            await asyncio.gather(*stage._tasks, return_exceptions=True)
            await bus.close()
        return stage, health

    stage, health = asyncio.run(asyncio.wait_for(main(), 120))
    c = stage.counters
    assert c.published_bus >= 1 and c.http_retries >= 4 and c.http_errors >= 1 and c.published_http == 0
    assert health["ok"] is False and health["alert_server"] == {"last_ok": False}
    assert stage.deliveries[0].bus is True and stage.deliveries[0].http_status is None


def test_daemon_picker_role_runs_early_warning(scenario, tmp_path):
    import urllib.request

    from tianshan.runtime.config import load_run_config
    from tianshan.runtime.daemon import Daemon
    from tianshan.services.alerts.auth import PublishVerifier
    from tianshan.services.alerts.server import AlertServer, ServerConfig

    _, _, records, rep = scenario
    key, key_path = _key_file(tmp_path)

    async def main():
        server = AlertServer(PublishVerifier([key]), ServerConfig(port=0, publish_port=0, workers=0))
        await server.start()
        cfg_path = tmp_path / "tianshan.toml"
        cfg_path.write_text(f"""
data_dir = "data"
region = "demo"
[run]
log_format = "text"
[run.http]
port = 0
[run.eew]
enabled = true
publish_url = "{server.publish_url}"
key_file = "keys.json"
test = true
""", encoding="utf-8")
        cfg = load_run_config(cfg_path, roles=["acquisition", "picker"], env={})
        assert cfg.eew.key_file == key_path
        d = Daemon(cfg)
        await d.start()
        try:
            acq = d.roles["acquisition"]
            for rec in records:
                await acq.handle_record(rec)
                await asyncio.sleep(0)
            picker = d.roles["picker"]
            await picker.eew.flush()
            base = f"http://127.0.0.1:{d.http_port}"
            health = json.loads(await asyncio.to_thread(lambda: urllib.request.urlopen(base + "/health").read()))
            metrics = (await asyncio.to_thread(lambda: urllib.request.urlopen(base + "/metrics").read())).decode()
            stats = await server.collect_stats()
        finally:
            await d.shutdown()
            await server.close()
        return d, health, metrics, stats

    d, health, metrics, stats = asyncio.run(asyncio.wait_for(main(), 120))
    eew = d.roles["picker"].eew
    assert eew.counters.alerts == 1 and eew.counters.published_http >= 1 and stats["hub"]["published"] >= 1
    assert health["components"]["picker"]["eew"]["ok"] is True
    import re

    assert re.search(r'^tianshan_stage_total\{(?=.*counter="eew_alerts")(?=.*role="picker").*\} 1\.0$', metrics, re.M)
    # messages written under <data_dir>/products/eew
    files = sorted((tmp_path / "data" / "products" / "eew").rglob("001-alert.*"))
    assert [f.suffix for f in files] == [".json", ".xml"]
    # the daemon's first alert in data time, against `tianshan eew replay` of the same records
    t_daemon = (eew.deliveries[0].data_time - ORIGIN).total_seconds()
    assert abs(t_daemon - rep.first_alert_s) <= 1.5, (t_daemon, rep.first_alert_s)
    assert math.isfinite(t_daemon)


def test_eew_settings_are_validated(tmp_path):
    from tianshan.core.errors import InputError
    from tianshan.runtime.config import load_run_config

    cfg = tmp_path / "tianshan.toml"
    cfg.write_text('[run.eew]\nenabled = true\npublish_url = "http://127.0.0.1:1/v1/alerts"\n', encoding="utf-8")
    with pytest.raises(InputError, match="key_file"):
        load_run_config(cfg, env={})
    cfg.write_text('[run.eew]\npolicy = {min_magnitud = 4.0}\n', encoding="utf-8")
    with pytest.raises(InputError, match="min_magnitud"):
        load_run_config(cfg, env={})
    cfg.write_text('[run.eew]\npublish_url = "ftp://x"\nkey_file = "k.json"\n', encoding="utf-8")
    with pytest.raises(InputError, match="publish_url"):
        load_run_config(cfg, env={})
    cfg.write_text("", encoding="utf-8")
    assert load_run_config(cfg, env={}).eew.enabled is False

"""Fan-out latency of one alert to many receivers: WebSocket (our server) and MQTT (Mosquitto).

Plain script (no assertions)::

    .venv/bin/python benchmarks/bench_alert_fanout.py --ws-clients 10000 --mqtt-clients 10000

WebSocket: an :class:`~tianshan.services.alerts.server.AlertServer` (hub in this process,
``--workers`` fan-out worker processes sharing the port with SO_REUSEPORT) and
``--client-procs`` client processes, each holding its share of the connections (this
package's asyncio receiver protocol; every client subscribes with a box around the event,
so the region filter runs for every client). When all are connected, ``--alerts`` alerts are
published one after another (``--gap-s`` apart) through the signed HTTP endpoint. Latency per
receipt = wall-clock time at which the client read the frame's last byte minus the time just
before the publish request was sent (signing, HTTP, verification, schema validation,
encoding, the hub->worker channel, the fan-out writes and the client's read all included;
one machine, one clock). One warm-up alert outside every client's filter goes first (not measured).

MQTT: ``--mqtt-clients`` subscribers (a minimal asyncio MQTT 3.1.1 client in the client
processes: CONNECT, SUBSCRIBE QoS 1, PUBACK) on one region-cell topic of the broker at
``--mqtt``; the alert is published with :class:`~tianshan.services.alerts.mqtt.MqttAlertPublisher`
(QoS 1). Latency = receipt minus the time just before ``deliver``.

File descriptors: every process raises RLIMIT_NOFILE to its hard limit; connections per
process are kept below it. Prints one JSON object per part and a table.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import os
import resource
import struct
import sys
import time
import uuid

EVENT = dict(lat=41.9, lon=84.3)
BBOX = "83,41,86,43"


def raise_nofile() -> int:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def rss_kib(pid: int | None) -> int:
    """Resident set size of a process (Linux /proc), KiB; 0 if unknown."""
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


def pct(values: list[float], q: float) -> float:
    v = sorted(values)
    if not v:
        return float("nan")
    k = min(len(v) - 1, max(0, int(round(q / 100.0 * (len(v) - 1)))))
    return v[k]


# --------------------------------------------------------------------------- WebSocket clients

def ws_client_proc(url: str, n: int, n_alerts: int, conn, timeout_s: float) -> None:
    raise_nofile()

    async def main():
        from tianshan.services.alerts.client import connect_receiver

        times: list[list[float]] = []
        sem = asyncio.Semaphore(200)
        failed = 0

        async def one(i: int):
            nonlocal failed
            mine: list[float] = []
            times.append(mine)

            def on_message(payload: bytes, t: float, mine=mine) -> None:
                if b'"format"' in payload[:40]:
                    mine.append(t)

            async with sem:
                for attempt in range(5):
                    try:
                        return await connect_receiver(url, on_message, timeout_s=30.0)
                    except (OSError, asyncio.TimeoutError, ConnectionError):
                        await asyncio.sleep(0.2 * (attempt + 1))
                failed += 1
                return None

        protos = await asyncio.gather(*(one(i) for i in range(n)))
        conn.send(("ready", n - failed))
        end = time.monotonic() + timeout_s
        while time.monotonic() < end:
            if conn.poll():
                if conn.recv() == "stop":
                    break
            await asyncio.sleep(0.05)
        conn.send(("times", times))
        for p in protos:
            if p is not None:
                p.close()
        await asyncio.sleep(0.5)

    asyncio.run(main())


def bench_ws(args) -> dict:
    from tianshan.core.alert import Alert, AlertLevel, AlertTarget
    from tianshan.core.timeutil import utc_now
    from tianshan.products.alerts.message import AlertIssuer
    from tianshan.services.alerts.auth import PublishVerifier, generate_key
    from tianshan.services.alerts.client import Publisher
    from tianshan.services.alerts.server import AlertServer, ServerConfig
    from tianshan.services.alerts.worker import FanoutOptions

    key = generate_key("bench")
    cfg = ServerConfig(port=0, publish_port=0, workers=args.workers,
                       fanout=FanoutOptions(ping_interval_s=600.0, handshake_timeout_s=120.0))
    ctx = mp.get_context("spawn")
    result: dict = {"part": "websocket", "clients": args.ws_clients, "client_procs": args.client_procs,
                    "workers": args.workers}

    async def main():
        server = AlertServer(PublishVerifier([key]), cfg)
        await server.start()
        try:
            url = f"{server.ws_url}?bbox={BBOX}"
            per = [args.ws_clients // args.client_procs + (1 if i < args.ws_clients % args.client_procs else 0)
                   for i in range(args.client_procs)]
            pipes, procs = [], []
            idle_rss = [round(rss_kib(pid) / 1024, 1) for pid in server.worker_pids]
            t_conn = time.monotonic()
            for n in per:
                a, b = ctx.Pipe()
                p = ctx.Process(target=ws_client_proc, args=(url, n, args.alerts, b, 600.0), daemon=True)
                p.start()
                pipes.append(a)
                procs.append(p)
            connected = 0
            for a in pipes:
                kind, n = await asyncio.to_thread(a.recv)
                connected += n
            result["connected"] = connected
            result["connect_s"] = round(time.monotonic() - t_conn, 1)
            await asyncio.sleep(1.0)
            stats = await server.collect_stats()
            result["clients_per_worker"] = [w["clients"] for w in stats["per_worker"]]
            result["worker_rss_mib"] = [round(rss_kib(pid) / 1024, 1) for pid in server.worker_pids]
            result["worker_rss_mib_idle"] = idle_rss
            iss = AlertIssuer("bench")
            targets = (AlertTarget("Luntai", 41.78, 84.25, 7.6, 3.0), AlertTarget("Kuqa", 41.72, 82.96, 6.4, 26.0),
                       AlertTarget("Korla", 41.73, 86.17, 5.8, 44.0))
            t0s, rtts, server_side = [], [], []
            pub = Publisher(server.publish_url, key)
            # warm-up (not measured): one alert far away that no client's filter matches, so the
            # hub's first-use costs (schema load, imports, connection) are not in the figures
            now = utc_now()
            warm = iss.issue(Alert("warm-up", 1, now, 25.0, 105.0, 10_000.0, 5.0, AlertLevel.INFO, (),
                                   issued_at=now)).to_json()
            assert (await asyncio.to_thread(pub.publish, warm))[0] == 202
            await asyncio.sleep(0.5)
            for seq in range(1, args.alerts + 1):
                now = utc_now()
                body = iss.issue(Alert("bench-ev", seq, now, EVENT["lat"], EVENT["lon"], 10_000.0, 6.0 + 0.1 * seq,
                                       AlertLevel.WARNING, targets, issued_at=now)).to_json()
                t0 = time.time()
                status, reply = await asyncio.to_thread(pub.publish, body)
                rtts.append(time.time() - t0)
                assert status == 202, reply
                t0s.append(t0)
                await asyncio.sleep(args.gap_s)
                st = await server.collect_stats()
                server_side.append([{"channel_ms": w["last_channel_ms"], "fanout_ms": w["last_fanout_ms"]}
                                    for w in st["per_worker"]])
            pub.close()
            result["frame_bytes"] = reply["bytes"]
            for a in pipes:
                a.send("stop")
            times = []
            for a in pipes:
                kind, t = await asyncio.to_thread(a.recv)
                times.extend(t)
            for p in procs:
                await asyncio.to_thread(p.join, 30)
            stats = await server.collect_stats()
            result["dropped_slow"] = stats["fanout"]["dropped_slow"]
            per_alert = []
            all_lat = []
            for k, t0 in enumerate(t0s):
                lat = [(ts[k] - t0) * 1000.0 for ts in times if len(ts) > k]
                all_lat.extend(lat)
                per_alert.append({"received": len(lat), "p50_ms": round(pct(lat, 50), 1),
                                  "p99_ms": round(pct(lat, 99), 1), "max_ms": round(max(lat), 1) if lat else None})
            result["publish_rtt_ms"] = [round(r * 1000, 1) for r in rtts]
            result["worker_timings"] = server_side
            result["per_alert"] = per_alert
            result["p50_ms"] = round(pct(all_lat, 50), 1)
            result["p90_ms"] = round(pct(all_lat, 90), 1)
            result["p99_ms"] = round(pct(all_lat, 99), 1)
            result["max_ms"] = round(max(all_lat), 1)
            result["received"] = len(all_lat)
            result["expected"] = args.ws_clients * args.alerts
        finally:
            await server.close()

    asyncio.run(main())
    return result


# --------------------------------------------------------------------------- MQTT clients

def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        b, n = n % 128, n // 128
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _str(s: str) -> bytes:
    b = s.encode()
    return struct.pack("!H", len(b)) + b


class MqttSub(asyncio.Protocol):
    """Minimal MQTT 3.1.1 subscriber (OASIS MQTT 3.1.1, sections 3.1-3.4, 3.8-3.9): clean session,
    one QoS-1 subscription, PUBACK for every QoS-1 PUBLISH; records receipt times."""

    def __init__(self, client_id: str, topic: str, times: list[float]) -> None:
        self.client_id, self.topic, self.times = client_id, topic, times
        self.buf = bytearray()
        loop = asyncio.get_running_loop()
        self.subscribed = loop.create_future()
        self.transport = None

    def connection_made(self, transport) -> None:
        self.transport = transport
        var = _str("MQTT") + bytes([4, 0x02]) + struct.pack("!H", 900)
        payload = _str(self.client_id)
        transport.write(b"\x10" + _varint(len(var) + len(payload)) + var + payload)

    def connection_lost(self, exc) -> None:
        if not self.subscribed.done():
            self.subscribed.set_exception(ConnectionError(str(exc)))

    def data_received(self, data: bytes) -> None:
        t = time.time()
        self.buf += data
        while True:
            if len(self.buf) < 2:
                return
            mult, n, i = 1, 0, 1
            while True:
                if i >= len(self.buf):
                    return
                b = self.buf[i]
                n += (b & 127) * mult
                mult *= 128
                i += 1
                if not b & 128:
                    break
            if len(self.buf) < i + n:
                return
            kind, body = self.buf[0], bytes(self.buf[i:i + n])
            del self.buf[:i + n]
            typ = kind >> 4
            if typ == 2:  # CONNACK
                sub = struct.pack("!H", 1) + _str(self.topic) + b"\x01"
                self.transport.write(b"\x82" + _varint(len(sub)) + sub)
            elif typ == 9:  # SUBACK
                if not self.subscribed.done():
                    self.subscribed.set_result(True)
            elif typ == 3:  # PUBLISH
                qos = (kind >> 1) & 3
                tl = struct.unpack_from("!H", body)[0]
                if qos:
                    pid = body[2 + tl:4 + tl]
                    self.transport.write(b"\x40\x02" + pid)
                self.times.append(t)


def mqtt_client_proc(host: str, port: int, topic: str, n: int, conn, timeout_s: float) -> None:
    raise_nofile()

    async def main():
        loop = asyncio.get_running_loop()
        sem = asyncio.Semaphore(50)
        times: list[list[float]] = []
        transports = []
        failed = 0

        async def one(i: int):
            nonlocal failed
            mine: list[float] = []
            times.append(mine)
            async with sem:
                for attempt in range(5):
                    try:
                        tr, proto = await asyncio.wait_for(loop.create_connection(
                            lambda: MqttSub(f"bench-{uuid.uuid4().hex[:12]}", topic, mine), host, port), 30)
                        await asyncio.wait_for(proto.subscribed, 30)
                        transports.append(tr)
                        return
                    except (OSError, asyncio.TimeoutError, ConnectionError):
                        await asyncio.sleep(0.2 * (attempt + 1))
                failed += 1

        await asyncio.gather(*(one(i) for i in range(n)))
        conn.send(("ready", n - failed))
        end = time.monotonic() + timeout_s
        while time.monotonic() < end:
            if conn.poll() and conn.recv() == "stop":
                break
            await asyncio.sleep(0.05)
        conn.send(("times", times))
        for tr in transports:
            tr.write(b"\xe0\x00")  # DISCONNECT
            tr.close()
        await asyncio.sleep(0.5)

    asyncio.run(main())


def bench_mqtt(args) -> dict:
    from tianshan.core.alert import Alert, AlertLevel
    from tianshan.core.timeutil import utc_now
    from tianshan.products.alerts.message import AlertIssuer
    from tianshan.services.alerts.mqtt import MqttAlertPublisher, topic_for_point

    host, _, port = args.mqtt.rpartition(":")
    port = int(port)
    root = f"tianshan-bench/{uuid.uuid4().hex[:8]}/alerts"
    topic = topic_for_point(EVENT["lat"], EVENT["lon"], root)
    ctx = mp.get_context("spawn")
    per = [args.mqtt_clients // args.client_procs + (1 if i < args.mqtt_clients % args.client_procs else 0)
           for i in range(args.client_procs)]
    result: dict = {"part": "mqtt", "clients": args.mqtt_clients, "client_procs": args.client_procs,
                    "broker": args.mqtt}
    pipes, procs = [], []
    t_conn = time.monotonic()
    for n in per:
        a, b = ctx.Pipe()
        p = ctx.Process(target=mqtt_client_proc, args=(host, port, topic, n, b, 600.0), daemon=True)
        p.start()
        pipes.append(a)
        procs.append(p)
    result["connected"] = sum(a.recv()[1] for a in pipes)
    result["connect_s"] = round(time.monotonic() - t_conn, 1)
    time.sleep(1.0)
    t0s = []
    with MqttAlertPublisher(host, port, topic_root=root) as pub:
        iss = AlertIssuer("bench")
        for seq in range(1, args.alerts + 1):
            now = utc_now()
            msg = iss.issue(Alert("bench-ev", seq, now, EVENT["lat"], EVENT["lon"], 10_000.0, 6.0 + 0.1 * seq,
                                  AlertLevel.WARNING, (), issued_at=now))
            payload = msg.to_json()
            t0 = time.time()
            pub.deliver(msg, payload)
            t0s.append(t0)
            time.sleep(args.gap_s)
        pub.wait_acked(10)
    for a in pipes:
        a.send("stop")
    times = []
    for a in pipes:
        times.extend(a.recv()[1])
    for p in procs:
        p.join(30)
    all_lat, per_alert = [], []
    for k, t0 in enumerate(t0s):
        lat = [(ts[k] - t0) * 1000.0 for ts in times if len(ts) > k]
        all_lat.extend(lat)
        per_alert.append({"received": len(lat), "p50_ms": round(pct(lat, 50), 1), "p99_ms": round(pct(lat, 99), 1),
                          "max_ms": round(max(lat), 1) if lat else None})
    result.update(per_alert=per_alert, received=len(all_lat), expected=result["connected"] * args.alerts,
                  p50_ms=round(pct(all_lat, 50), 1), p90_ms=round(pct(all_lat, 90), 1),
                  p99_ms=round(pct(all_lat, 99), 1), max_ms=round(max(all_lat), 1) if all_lat else None)
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--ws-clients", type=int, default=1000)
    ap.add_argument("--mqtt-clients", type=int, default=0, help="0: skip the MQTT part")
    ap.add_argument("--client-procs", type=int, default=4)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--alerts", type=int, default=3)
    ap.add_argument("--gap-s", type=float, default=2.0)
    ap.add_argument("--mqtt", default="127.0.0.1:1883")
    args = ap.parse_args()
    nofile = raise_nofile()
    print(f"# RLIMIT_NOFILE {nofile}; {os.cpu_count()} CPUs; python {sys.version.split()[0]}", file=sys.stderr)
    results = []
    if args.ws_clients > 0:
        results.append(bench_ws(args))
        print(json.dumps(results[-1]), flush=True)
    if args.mqtt_clients > 0:
        if args.ws_clients > 0:
            time.sleep(2.0)
        results.append(bench_mqtt(args))
        print(json.dumps(results[-1]), flush=True)
    print(f"\n{'part':10} {'clients':>8} {'received':>9} {'p50 ms':>8} {'p90 ms':>8} {'p99 ms':>8} {'max ms':>8}")
    for r in results:
        print(f"{r['part']:10} {r['connected']:>8} {r['received']:>9} {r['p50_ms']:>8} {r['p90_ms']:>8} "
              f"{r['p99_ms']:>8} {r['max_ms']:>8}")


if __name__ == "__main__":
    main()

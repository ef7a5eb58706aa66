"""Fan-out latency of one alert to many receivers: WebSocket (our server) and MQTT (Mosquitto).

Plain script (no assertions; it prints one JSON object per part and a table)::

    .venv/bin/python benchmarks/bench_alert_fanout.py --ws-clients 10000 --mqtt-clients 10000

WebSocket: an :class:`~tianshan.services.alerts.server.AlertServer` (hub in this process,
``--workers`` fan-out worker processes sharing the port with SO_REUSEPORT) and
``--client-procs`` receiver processes holding the connections. Every receiver subscribes with
a box around the event, so the region filter runs for every client. When all are connected,
one warm-up alert outside every filter goes first (not measured), then ``--alerts`` alerts
are published ``--gap-s`` apart through the signed HTTP endpoint, the publisher timestamping
``t0`` just before it signs and sends (so signing, HTTP, verification, schema validation,
encoding, the hub->worker channel and the fan-out writes are all in the figure).

What "receipt" means (one machine, one clock: ``time.time()`` / CLOCK_REALTIME everywhere):

* ``read`` -- the wall-clock time at which a receiver process's ``recv`` returned the first
  bytes of the alert frame. With ``--client epoll`` (default) the receivers are raw
  non-blocking sockets under one ``select.epoll`` per process, a loop that reads each ready
  socket, stamps the time before the read and only walks the frame headers (the way a C
  client library would: no per-socket Python objects beyond a slot record, no asyncio).
  With ``--client asyncio`` they are this package's :class:`ReceiverProtocol` (asyncio, full
  RFC 6455 parsing in Python), stamped when the frame's last byte is read: an application-level
  figure that also measures the receivers' own Python (on this 2-core machine those
  processes compete with the server for the same cores; on real networks every receiver is
  its own device).
* ``kernel`` (epoll client only) -- the software receive timestamp the kernel put on the
  segment that carried the frame's first bytes (``SO_TIMESTAMPNS``, returned with
  ``recvmsg``): the moment the frame entered the receiver's TCP socket. On loopback that is
  the moment the server's ``send`` delivered it, so this figure is the server's side alone,
  whatever the receiver processes were doing.

MQTT: ``--mqtt-clients`` subscribers (raw epoll MQTT 3.1.1 subscribers: CONNECT with a clean
session, one SUBSCRIBE at ``--mqtt-sub-qos``, PUBACK for each QoS-1 PUBLISH) on one
region-cell topic of the broker at ``--mqtt``; the alert is published with
:class:`~tianshan.services.alerts.mqtt.MqttAlertPublisher` (QoS ``--mqtt-pub-qos``), ``t0`` just
before ``deliver``. The broker delivers at min(publish QoS, subscription QoS) (MQTT 3.1.1
section 3.8.4), so ``--mqtt-sub-qos 0`` measures the QoS-0 broadcast (no PUBACKs).

Every figure is printed with the 1-minute load average (``os.getloadavg``) at the publish:
the machine is shared, and figures are only comparable at similar load. File descriptors:
every process raises RLIMIT_NOFILE to its hard limit.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import multiprocessing as mp
import os
import resource
import select
import socket
import struct
import sys
import time
import uuid

EVENT = dict(lat=41.9, lon=84.3)
BBOX = "83,41,86,43"
# Linux <asm-generic/socket.h>: SO_TIMESTAMPNS_OLD = SCM_TIMESTAMPNS = 35 (struct timespec, 64-bit)
SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35)
ALERT_MARK = b'"format"'


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
    v = sorted(x for x in values if not math.isnan(x))
    if not v:
        return float("nan")
    k = min(len(v) - 1, max(0, int(round(q / 100.0 * (len(v) - 1)))))
    return v[k]


def summary(lat: list[float]) -> dict:
    ok = [x for x in lat if not math.isnan(x)]
    return {"n": len(ok), "p50_ms": round(pct(ok, 50), 1), "p90_ms": round(pct(ok, 90), 1),
            "p99_ms": round(pct(ok, 99), 1), "max_ms": round(max(ok), 1) if ok else None}


# --------------------------------------------------------------------------- raw epoll receivers

class _Slot:
    """One raw receiver connection: handshake buffer, frame/packet walking state, receipt times."""

    __slots__ = ("sock", "ready", "buf", "skip", "carry", "carry_t", "times", "step")

    def __init__(self, sock: socket.socket) -> None:
        self.sock, self.ready, self.buf = sock, False, b""
        self.skip, self.carry, self.carry_t = 0, b"", None
        self.times: list[tuple[float, float]] = []
        self.step = 0


def _kernel_ts(anc) -> float:
    for level, kind, data in anc:
        if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS and len(data) >= 16:
            sec, nsec = struct.unpack_from("qq", data)
            return sec + nsec * 1e-9
    return float("nan")


def _ws_unit(data: bytes, pos: int) -> tuple[int, bool] | None:
    """(length, is_alert) of the WebSocket frame at ``pos``, or None if too little is there to tell."""
    avail = len(data) - pos
    if avail < 2:
        return None
    b1 = data[pos + 1] & 0x7F
    hl = 2 + (2 if b1 == 126 else 8 if b1 == 127 else 0)
    if avail < hl:
        return None
    n = b1 if b1 < 126 else int.from_bytes(data[pos + 2:pos + hl], "big")
    peek = min(n, 40)
    if avail < hl + peek:
        return None
    return hl + n, (data[pos] & 0x0F) == 1 and ALERT_MARK in data[pos + hl:pos + hl + peek]


def _mqtt_unit(data: bytes, pos: int) -> tuple[int, bool] | None:
    """(length, is PUBLISH) of the MQTT packet at ``pos`` (fixed header, remaining-length varint)."""
    n, mult, i = 0, 1, pos + 1
    while True:
        if i >= len(data) or i - pos > 4:
            return None
        b = data[i]
        n += (b & 127) * mult
        mult *= 128
        i += 1
        if not b & 128:
            break
    return i - pos + n, data[pos] >> 4 == 3


def _mqtt_acks(data: bytes, pos: int, end: int) -> bytes:
    """PUBACKs for the QoS-1 PUBLISH packets wholly inside data[pos:end]."""
    out = b""
    while pos < end:
        unit = _mqtt_unit(data, pos)
        if unit is None or pos + unit[0] > end:
            break
        if unit[1] and (data[pos] >> 1) & 3:
            i = pos + 1
            while data[i] & 128:
                i += 1
            tl = struct.unpack_from("!H", data, i + 1)[0]
            out += b"\x40\x02" + data[i + 3 + tl:i + 5 + tl]
        pos += unit[0]
    return out


def _scan(slot: _Slot, data: bytes, t: tuple[float, float], unit_fn) -> None:
    """Walk the frames/packets of one read; stamp each alert with the time of its first bytes."""
    if slot.carry:
        data, t0 = slot.carry + data, slot.carry_t
        slot.carry = b""
    else:
        t0 = t
    pos = slot.skip
    if pos >= len(data):
        slot.skip = pos - len(data)
        return
    first = True
    while pos < len(data):
        unit = _ws_unit(data, pos) if unit_fn == "ws" else _mqtt_unit(data, pos)
        if unit is None:
            slot.carry, slot.carry_t = data[pos:], (t0 if first and pos == 0 else t)
            slot.skip = 0
            return
        if unit[1]:
            slot.times.append(t0 if first and pos == 0 else t)
        first = False
        pos += unit[0]
    slot.skip = pos - len(data)


def raw_client_proc(kind: str, host: str, port: int, target: str, n: int, opts: dict, conn, timeout_s: float) -> None:
    """Receiver process: ``n`` raw sockets under one epoll (``kind`` "ws" or "mqtt"); see the docstring."""
    raise_nofile()
    from tianshan.services.alerts import protocol as wsp

    ep = select.epoll()
    slots: dict[int, _Slot] = {}
    failed = 0
    sub_qos = int(opts.get("sub_qos", 1))
    topic = opts.get("topic", "")

    def mqtt_str(s: str) -> bytes:
        b = s.encode()
        return struct.pack("!H", len(b)) + b

    def varint(x: int) -> bytes:
        out = bytearray()
        while True:
            b, x = x % 128, x // 128
            out.append(b | (0x80 if x else 0))
            if not x:
                return bytes(out)

    def opening(slot: _Slot) -> None:
        if kind == "ws":
            req, slot.buf = wsp.client_handshake(f"{host}:{port}", target)
            slot.buf = slot.buf.encode()
            slot.sock.sendall(req)
        else:
            var = mqtt_str("MQTT") + bytes([4, 0x02]) + struct.pack("!H", 900)
            payload = mqtt_str(f"bench-{uuid.uuid4().hex[:12]}")
            slot.sock.sendall(b"\x10" + varint(len(var) + len(payload)) + var + payload)
            slot.buf = b""

    def handshake(slot: _Slot, data: bytes) -> None:
        """Consume handshake bytes; set slot.ready and feed what follows to the scanner."""
        if kind == "ws":
            acc = slot.buf
            slot.carry += data
            end = slot.carry.find(b"\r\n\r\n")
            if end < 0:
                return
            head, rest = slot.carry[:end], slot.carry[end + 4:]
            slot.carry = b""
            if b" 101 " not in head.split(b"\r\n", 1)[0] + b" " or acc not in head:
                raise ConnectionError(f"handshake refused: {head[:60]!r}")
            slot.ready, slot.buf = True, b""
            if rest:
                _scan(slot, rest, (math.nan, math.nan), "ws")
                slot.times.clear()
            return
        slot.buf += data
        while len(slot.buf) >= 2:
            unit = _mqtt_unit(slot.buf, 0)
            if unit is None or len(slot.buf) < unit[0]:
                return
            typ, slot.buf = slot.buf[0] >> 4, slot.buf[unit[0]:]
            if typ == 2:  # CONNACK -> SUBSCRIBE
                sub = struct.pack("!H", 1) + mqtt_str(topic) + bytes([sub_qos])
                slot.sock.sendall(b"\x82" + varint(len(sub)) + sub)
            elif typ == 9:  # SUBACK
                slot.ready = True
                slot.buf = b""
                return

    # connect in batches (the listen backlog is finite), then wait for each batch's handshakes
    batch = 250
    anc_size = socket.CMSG_SPACE(16)
    rbuf = bytearray(65536)  # one receive buffer, reused (no per-read allocation)
    rview = memoryview(rbuf)
    for start in range(0, n, batch):
        pending: dict[int, _Slot] = {}
        for _ in range(min(batch, n - start)):
            for attempt in range(5):
                s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                try:
                    s.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
                    s.settimeout(30.0)
                    s.connect((host, port))
                    slot = _Slot(s)
                    opening(slot)
                    s.setblocking(False)
                    pending[s.fileno()] = slot
                    ep.register(s.fileno(), select.EPOLLIN)
                    break
                except OSError:
                    s.close()
                    time.sleep(0.2 * (attempt + 1))
            else:
                failed += 1
        end = time.monotonic() + 60.0
        while pending and time.monotonic() < end:
            for fd, _ in ep.poll(1.0):
                slot = pending.get(fd)
                if slot is None:
                    continue
                try:
                    data = slot.sock.recv(65536)
                    if not data:
                        raise ConnectionError("closed during handshake")
                    handshake(slot, data)
                except (OSError, ConnectionError):
                    ep.unregister(fd)
                    slot.sock.close()
                    del pending[fd]
                    failed += 1
                    continue
                if slot.ready:
                    del pending[fd]
                    slots[fd] = slot
        for fd, slot in pending.items():
            ep.unregister(fd)
            slot.sock.close()
            failed += 1
    conn.send(("ready", len(slots)))
    deadline = time.monotonic() + timeout_s
    mqtt_ack = kind == "mqtt" and sub_qos > 0
    stop = False
    while not stop and time.monotonic() < deadline:
        events = ep.poll(0.05)
        for fd, _ in events:
            slot = slots.get(fd)
            if slot is None:
                continue
            tu = time.time()
            try:
                nbytes, anc, _, _ = slot.sock.recvmsg_into((rview,), anc_size)
            except BlockingIOError:
                continue
            except OSError:
                nbytes, anc = 0, []
            data = rbuf[:nbytes] if nbytes else b""
            if not data:
                ep.unregister(fd)
                slot.sock.close()
                del slots[fd]
                continue
            before = len(slot.times)
            _scan(slot, data, (_kernel_ts(anc), tu), kind)
            if mqtt_ack and len(slot.times) > before:
                acks = _mqtt_acks(data, 0, len(data)) if not slot.carry else b""
                if acks:
                    try:
                        slot.sock.send(acks)
                    except OSError:
                        pass
        if not events and conn.poll():
            stop = conn.recv() == "stop"
    conn.send(("times", [s.times for s in slots.values()]))
    for s in slots.values():
        s.sock.close()


# --------------------------------------------------------------------------- asyncio WebSocket receivers

def ws_asyncio_proc(url: str, n: int, conn, timeout_s: float) -> None:
    """Receiver process built on this package's asyncio ReceiverProtocol (stamped at the frame's last byte)."""
    raise_nofile()

    async def main():
        from tianshan.services.alerts.client import connect_receiver

        times: list[list[tuple[float, float]]] = []
        sem = asyncio.Semaphore(200)
        failed = 0

        async def one(i: int):
            nonlocal failed
            mine: list[tuple[float, float]] = []
            times.append(mine)

            def on_message(payload: bytes, t: float, mine=mine) -> None:
                if ALERT_MARK in payload[:40]:
                    mine.append((math.nan, t))

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
            if conn.poll() and conn.recv() == "stop":
                break
            await asyncio.sleep(0.05)
        conn.send(("times", times))
        for p in protos:
            if p is not None:
                p.close()
        await asyncio.sleep(0.5)

    asyncio.run(main())


def _spread(total: int, parts: int) -> list[int]:
    return [total // parts + (1 if i < total % parts else 0) for i in range(parts)]


def _latencies(times: list[list[tuple[float, float]]], t0s: list[float], loads: list[float]) -> dict:
    """Per alert and pooled latency summaries from the receivers' (kernel, read) times."""
    per_alert, pooled_k, pooled_r = [], [], []
    for k, t0 in enumerate(t0s):
        lk = [(ts[k][0] - t0) * 1000.0 for ts in times if len(ts) > k]
        lr = [(ts[k][1] - t0) * 1000.0 for ts in times if len(ts) > k]
        pooled_k += lk
        pooled_r += lr
        per_alert.append({"load1": round(loads[k], 2), "read": summary(lr), "kernel": summary(lk)})
    return {"per_alert": per_alert, "read": summary(pooled_r), "kernel": summary(pooled_k),
            "received": sum(min(len(ts), len(t0s)) for ts in times)}


# --------------------------------------------------------------------------- WebSocket part

def bench_ws(args, nice: int = 0) -> dict:
    from tianshan.core.alert import Alert, AlertLevel, AlertTarget
    from tianshan.core.timeutil import utc_now
    from tianshan.products.alerts.message import AlertIssuer
    from tianshan.services.alerts.auth import PublishVerifier, generate_key
    from tianshan.services.alerts.client import Publisher
    from tianshan.services.alerts.server import AlertServer, ServerConfig
    from tianshan.services.alerts.worker import FanoutOptions

    key = generate_key("bench")
    cfg = ServerConfig(port=0, publish_port=0, workers=args.workers,
                       fanout=FanoutOptions(ping_interval_s=600.0, handshake_timeout_s=120.0,
                                            **({"nice": nice} if nice else {})))
    ctx = mp.get_context("spawn")
    result: dict = {"part": f"ws-nice{nice}" if nice else "websocket", "clients": args.ws_clients,
                    "client": args.client, "client_procs": args.client_procs, "workers": args.workers,
                    "worker_nice": nice}

    async def main():
        server = AlertServer(PublishVerifier([key]), cfg)
        await server.start()
        try:
            pipes, procs = [], []
            idle_rss = [round(rss_kib(pid) / 1024, 1) for pid in server.worker_pids]
            t_conn = time.monotonic()
            for n in _spread(args.ws_clients, args.client_procs):
                a, b = ctx.Pipe()
                if args.client == "epoll":
                    target = f"/alerts?bbox={BBOX}"
                    p = ctx.Process(target=raw_client_proc, args=("ws", server.config.host, server.port, target, n,
                                                                  {}, b, 900.0), daemon=True)
                else:
                    p = ctx.Process(target=ws_asyncio_proc, args=(f"{server.ws_url}?bbox={BBOX}", n, b, 900.0),
                                    daemon=True)
                p.start()
                pipes.append(a)
                procs.append(p)
            connected = 0
            for a in pipes:
                _, n = await asyncio.to_thread(a.recv)
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
            t0s, loads, rtts, server_side = [], [], [], []
            pub = Publisher(server.publish_url, key)
            # warm-up (not measured): one alert far away that no client's filter matches
            now = utc_now()
            warm = iss.issue(Alert("warm-up", 1, now, 25.0, 105.0, 10_000.0, 5.0, AlertLevel.INFO, (),
                                   issued_at=now)).to_json()
            assert (await asyncio.to_thread(pub.publish, warm))[0] == 202
            await asyncio.sleep(0.5)
            for seq in range(1, args.alerts + 1):
                now = utc_now()
                body = iss.issue(Alert("bench-ev", seq, now, EVENT["lat"], EVENT["lon"], 10_000.0, 6.0 + 0.01 * seq,
                                       AlertLevel.WARNING, targets, issued_at=now)).to_json()
                loads.append(os.getloadavg()[0])
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
                _, t = await asyncio.to_thread(a.recv)
                times.extend(t)
            for p in procs:
                await asyncio.to_thread(p.join, 30)
            stats = await server.collect_stats()
            result["dropped_slow"] = stats["fanout"]["dropped_slow"]
            result["publish_rtt_ms"] = [round(r * 1000, 1) for r in rtts]
            result["worker_timings"] = server_side
            result.update(_latencies(times, t0s, loads))
            result["expected"] = args.ws_clients * args.alerts
        finally:
            await server.close()

    asyncio.run(main())
    return result


# --------------------------------------------------------------------------- MQTT part

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
    result: dict = {"part": f"mqtt-q{args.mqtt_pub_qos}{args.mqtt_sub_qos}", "clients": args.mqtt_clients,
                    "client_procs": args.client_procs, "broker": args.mqtt, "pub_qos": args.mqtt_pub_qos,
                    "sub_qos": args.mqtt_sub_qos}
    pipes, procs = [], []
    t_conn = time.monotonic()
    for n in _spread(args.mqtt_clients, args.client_procs):
        a, b = ctx.Pipe()
        p = ctx.Process(target=raw_client_proc, args=("mqtt", host, port, "", n,
                                                      {"topic": topic, "sub_qos": args.mqtt_sub_qos}, b, 900.0),
                        daemon=True)
        p.start()
        pipes.append(a)
        procs.append(p)
    result["connected"] = sum(a.recv()[1] for a in pipes)
    result["connect_s"] = round(time.monotonic() - t_conn, 1)
    time.sleep(1.0)
    t0s, loads = [], []
    with MqttAlertPublisher(host, port, topic_root=root, qos=args.mqtt_pub_qos) as pub:
        iss = AlertIssuer("bench")
        for seq in range(1, args.alerts + 1):
            now = utc_now()
            msg = iss.issue(Alert("bench-ev", seq, now, EVENT["lat"], EVENT["lon"], 10_000.0, 6.0 + 0.01 * seq,
                                  AlertLevel.WARNING, (), issued_at=now))
            payload = msg.to_json()
            loads.append(os.getloadavg()[0])
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
    result.update(_latencies(times, t0s, loads))
    result["expected"] = result["connected"] * args.alerts
    return result


def bench_index(n: int, reps: int = 3) -> dict:
    """Region-filter cost per alert when every receiver has its own filter (a 20 km circle at a
    random point of Xinjiang, 34-49 N 73-96 E) and the alert is a 150 km circle at Luntai:
    the previous full scan (one exact test per client) against the per-cell index."""
    import random

    from tianshan.products.alerts.area import AlertArea, Circle, intersects
    from tianshan.services.alerts.index import SubscriberIndex

    rng = random.Random(1)
    flts = [Circle(rng.uniform(34, 49), rng.uniform(73, 96), 20_000.0) for _ in range(n)]
    area = AlertArea((Circle(EVENT["lat"], EVENT["lon"], 150_000.0),))
    idx = SubscriberIndex(1.0)
    for k, f in enumerate(flts):
        idx.add(k, f)
    full, indexed = [], []
    for _ in range(reps):
        t0 = time.perf_counter()
        memo: dict = {}
        bb = area.bbox()
        m1 = 0
        for f in flts:  # the worker's loop before the index: memo per filter, box test, exact test
            ok = memo.get(f)
            if ok is None:
                ok = memo[f] = f.bbox().overlaps(bb) and intersects(f, area)
            m1 += ok
        t1 = time.perf_counter()
        cands = list(idx.candidates(area))
        m2 = sum(1 for k in cands if intersects(flts[k], area))
        t2 = time.perf_counter()
        assert m1 == m2
        full.append((t1 - t0) * 1000.0)
        indexed.append((t2 - t1) * 1000.0)
    return {"part": "index", "clients": n, "matched": m1, "candidates": len(cands), "load1": os.getloadavg()[0],
            "full_scan_ms": round(min(full), 2), "index_ms": round(min(indexed), 2)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--ws-clients", type=int, default=1000)
    ap.add_argument("--client", choices=("epoll", "asyncio"), default="epoll",
                    help="WebSocket receivers: raw epoll sockets (default) or the package's asyncio receiver")
    ap.add_argument("--mqtt-clients", type=int, default=0, help="0: skip the MQTT part")
    ap.add_argument("--mqtt-pub-qos", type=int, choices=(0, 1), default=1)
    ap.add_argument("--mqtt-sub-qos", type=int, choices=(0, 1), default=1)
    ap.add_argument("--client-procs", type=int, default=2)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--worker-nice", type=int, nargs="+", default=[0],
                    help="worker priority (FanoutOptions.nice); several values: A/B runs, one after another")
    ap.add_argument("--rounds", type=int, default=1, help="repeat the WebSocket runs (A/B/A/B...)")
    ap.add_argument("--alerts", type=int, default=5)
    ap.add_argument("--gap-s", type=float, default=1.5)
    ap.add_argument("--mqtt", default="127.0.0.1:1883")
    ap.add_argument("--index-bench", type=int, default=0, metavar="N",
                    help="also time the region filter for N receivers with distinct filters (full scan vs index)")
    args = ap.parse_args()
    nofile = raise_nofile()
    print(f"# RLIMIT_NOFILE {nofile}; {os.cpu_count()} CPUs; python {sys.version.split()[0]}; "
          f"load {os.getloadavg()}", file=sys.stderr)
    results = []
    for _ in range(args.rounds if args.ws_clients > 0 else 0):
        for nice in args.worker_nice:
            results.append(bench_ws(args, nice))
            print(json.dumps(results[-1]), flush=True)
    if args.mqtt_clients > 0:
        if args.ws_clients > 0:
            time.sleep(2.0)
        results.append(bench_mqtt(args))
        print(json.dumps(results[-1]), flush=True)
    if args.index_bench:
        r = bench_index(args.index_bench)
        print(json.dumps(r), flush=True)
        print(f"index: {r['clients']} distinct filters, {r['matched']} match: full scan {r['full_scan_ms']} ms, "
              f"index {r['index_ms']} ms ({r['candidates']} candidates), load1 {r['load1']:.2f}")
    print(f"\n{'part':12} {'receipt':8} {'clients':>8} {'received':>9} {'p50 ms':>8} {'p90 ms':>8} {'p99 ms':>8} "
          f"{'max ms':>8}  load1 at each publish")
    for r in results:
        loads = " ".join(f"{a['load1']:.2f}" for a in r["per_alert"])
        for kind in ("read", "kernel"):
            s = r[kind]
            if s["n"]:
                print(f"{r['part']:12} {kind:8} {r['connected']:>8} {s['n']:>9} {s['p50_ms']:>8} {s['p90_ms']:>8} "
                      f"{s['p99_ms']:>8} {s['max_ms']:>8}  {loads}")
        fan = [max(w["fanout_ms"] for w in t) for t in r.get("worker_timings", [])]
        if fan:
            print(f"  worker write loop (slowest worker) per alert, ms: {fan}")
        for k, a in enumerate(r["per_alert"]):
            print(f"  alert {k + 1}: load1 {a['load1']:.2f}  read p50/p99/max {a['read']['p50_ms']}/"
                  f"{a['read']['p99_ms']}/{a['read']['max_ms']} ms (n {a['read']['n']})  kernel p50/p99/max "
                  f"{a['kernel']['p50_ms']}/{a['kernel']['p99_ms']}/{a['kernel']['max_ms']} ms")


if __name__ == "__main__":
    main()

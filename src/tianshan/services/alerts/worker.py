"""One fan-out worker: a WebSocket server that writes each alert frame to its subscribers.

Design (what makes one alert reach thousands of sockets quickly):

* The frame arrives **already encoded** (the hub encodes it once, :mod:`.server`); the worker
  writes the same ``bytes`` object to every matching client's transport -- no per-client
  JSON, framing or copying in Python. ``transport.write`` on an idle socket sends at once.
* **Bounded per-client queues.** Each transport has a write-buffer high-water mark
  (``write_limit_bytes``). Above it asyncio calls ``pause_writing`` and further frames go to
  a per-client deque of at most ``queue_max`` frames (references to the shared bytes, no
  copies). A client whose deque is full is **dropped** (connection aborted) and counted in
  ``dropped_slow``: a receiver that cannot keep up must not hold memory or delay others.
* **Region filters.** A client subscribes (URL query ``?bbox=w,s,e,n`` / ``?circle=lat,lon,km``
  or a ``{"type": "subscribe", ...}`` message) and is sent only alerts whose area intersects
  its filter (:func:`tianshan.products.alerts.area.intersects`). Clients are kept in a
  per-cell index (:class:`~tianshan.services.alerts.index.SubscriberIndex`, ``cell_deg``
  cells): an alert visits only the unfiltered clients and those of the cells its area covers,
  and the exact test runs once per distinct filter among them (memoised per alert). Clients
  far from the area cost nothing; 10,000 clients with a few distinct filters cost a few
  geometry tests.
* **The write loop** is one ``transport.write`` of the shared frame per matching client; on
  an idle socket asyncio sends it at once with one ``send`` call. Measured against a bare
  ``os.write`` loop over the same 5,000 loopback sockets (benchmarks/bench_alert_fanout.py,
  docs/eew_distribution.md) the Python around the system call costs < 1-2 us of the 10-30 us
  per client, so the loop is left on asyncio's transports (which keep the bounded queues and
  partial writes correct) rather than bypassing them.
* **Priority.** ``nice`` (default 0) sets the worker processes' scheduling priority at start
  (``setpriority``; negative values need CAP_SYS_NICE, refused ones are logged and ignored):
  on a host that also runs batch work, a fan-out worker at e.g. -10 is not time-sliced with
  it during the ~100 ms of an alert's write loop.
* **Hostile subscribers.** Bad JSON or filters, and messages beyond ``max_messages_per_s``,
  get an ``{"type": "error"}`` reply and are counted (``malformed_messages``); after
  ``max_malformed`` of them the client is closed (1008). Broken framing (unmasked frames, bad opcodes, oversize messages, non-UTF-8 text)
  closes only that connection (``protocol_errors``). Nothing a client sends can raise out of
  its protocol object, so other clients are never disturbed.
* **Liveness.** One ping frame (encoded once) goes to all clients every ``ping_interval_s``;
  a client silent for two intervals is closed. Connections that do not finish the opening
  handshake within ``handshake_timeout_s`` are closed.

Subscriber messages (JSON text frames): ``{"type": "subscribe", "bbox": [w, s, e, n]}``,
``{"type": "subscribe", "circle": [lat, lon, radius_km]}``, ``{"type": "subscribe", "all": true}``,
``{"type": "ping"}``. Server messages: ``hello``, ``subscribed``, ``pong``, ``error`` and the alert
messages themselves (``alert.schema.json``, recognisable by their ``format`` field).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import socket
import struct
import time
from collections import deque
from dataclasses import asdict, dataclass
from urllib.parse import parse_qs, urlsplit

from tianshan.core.errors import DomainError
from tianshan.products.alerts.area import AlertArea, BBox, Circle, intersects, parse_filter
from tianshan.services.alerts import protocol as wsp
from tianshan.services.alerts.index import SubscriberIndex

log = logging.getLogger(__name__)


@dataclass
class FanoutStats:
    """Counters of one worker (plain counters, summed over workers by the hub)."""

    connections: int = 0        # TCP connections accepted
    clients: int = 0            # WebSocket clients open now
    handshake_failed: int = 0   # bad or timed-out opening handshakes
    subscriptions: int = 0      # filters set (URL or message)
    malformed_messages: int = 0  # unusable subscriber messages (connection kept)
    protocol_errors: int = 0    # framing errors (connection closed)
    alerts_in: int = 0          # alert frames handed to this worker
    frames_sent: int = 0        # alert frames written or queued to clients
    filtered_out: int = 0       # (alert, client) pairs skipped by the region filter
    dropped_slow: int = 0       # clients dropped because their queue was full
    timed_out: int = 0          # clients closed for silence
    closed: int = 0             # client connections ended, for any reason
    last_channel_ms: float = 0.0  # hub send -> worker receipt of the last alert (same clock)
    last_fanout_ms: float = 0.0   # time to write/queue the last alert to all matching clients
    max_fanout_ms: float = 0.0

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class FanoutOptions:
    """Tunables of a worker (see the module docstring)."""

    queue_max: int = 32
    write_limit_bytes: int = 256 * 1024
    max_message_bytes: int = 4096
    max_malformed: int = 50
    max_messages_per_s: int = 20
    ping_interval_s: float = 20.0
    handshake_timeout_s: float = 10.0
    sndbuf_bytes: int | None = None
    backlog: int = 4096
    cell_deg: float = 1.0
    nice: int = 0


def filter_from_query(target: str):
    """Region filter from the request target's query (``?bbox=w,s,e,n`` or ``?circle=lat,lon,km``)."""
    q = parse_qs(urlsplit(target).query)
    data: dict = {}
    for name in ("bbox", "circle"):
        if name in q:
            try:
                data[name] = [float(v) for v in q[name][-1].split(",")]
            except ValueError:
                raise DomainError(f"filter {name}: not numbers: {q[name][-1][:80]!r}") from None
    return parse_filter(data)


def _filter_json(flt) -> dict:
    if isinstance(flt, BBox):
        return {"bbox": [flt.west_deg, flt.south_deg, flt.east_deg, flt.north_deg]}
    if isinstance(flt, Circle):
        return {"circle": [flt.latitude_deg, flt.longitude_deg, flt.radius_m / 1000.0]}
    return {"all": True}


def _text(obj: dict) -> bytes:
    return wsp.encode_frame(wsp.OP_TEXT, json.dumps(obj, separators=(",", ":")).encode())


class _Client(asyncio.Protocol):
    """One connection: opening handshake, then frames in and (mostly) alert frames out."""

    def __init__(self, worker: "FanoutWorker") -> None:
        self.worker = worker
        self.transport: asyncio.Transport | None = None
        self.open = False
        self.closing = False
        self.paused = False
        self.queue: deque[bytes] = deque()
        self.filter = None
        self.malformed = 0
        self.window = (0, 0)  # (second, messages in it): subscriber message rate limit
        self.buf = bytearray()
        self.parser = wsp.FrameParser(expect_masked=True, max_message_bytes=worker.options.max_message_bytes)
        self.since = self.last_seen = time.monotonic()

    # ---------------------------------------------------------------- asyncio callbacks
    def connection_made(self, transport) -> None:
        self.transport = transport
        opts = self.worker.options
        transport.set_write_buffer_limits(high=opts.write_limit_bytes)
        if opts.sndbuf_bytes:
            sock = transport.get_extra_info("socket")
            if sock is not None:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, opts.sndbuf_bytes)
        self.worker._connected(self)

    def connection_lost(self, exc) -> None:
        self.closing = True
        self.queue.clear()
        self.worker._disconnected(self)

    def pause_writing(self) -> None:
        self.paused = True

    def resume_writing(self) -> None:
        self.paused = False
        while self.queue and not self.paused and not self.closing:
            self.transport.write(self.queue.popleft())

    def data_received(self, data: bytes) -> None:
        if self.closing:
            return
        self.last_seen = time.monotonic()
        try:
            if not self.open:
                self._handshake(data)
            else:
                self._frames(data)
        except wsp.ProtocolError as err:
            self._protocol_error(err)
        except Exception:  # a bug must not take the worker down with it
            log.exception("unexpected error handling a subscriber; closing that connection")
            self.abort()

    # ---------------------------------------------------------------- incoming
    def _handshake(self, data: bytes) -> None:
        self.buf += data
        parsed = wsp.split_head(self.buf)
        if parsed is None:
            return
        head, used = parsed
        rest = bytes(self.buf[used:])
        self.buf = bytearray()
        try:
            key = wsp.check_upgrade(head)
            flt = filter_from_query(head.first[1])
        except (wsp.ProtocolError, DomainError) as err:
            self.worker.stats.handshake_failed += 1
            body = json.dumps({"error": str(err)}).encode()
            self.transport.write(wsp.http_response(400, "Bad Request", body, keep_alive=False))
            self.close_transport()
            return
        self.transport.write(wsp.upgrade_response(key))
        self.open = True
        self.filter = flt
        if flt is not None:
            self.worker.stats.subscriptions += 1
        self.worker._opened(self)
        self.send_control(_text({"type": "hello", "server": "tianshan-alerts", "worker": self.worker.index,
                                 "filter": _filter_json(flt)}))
        if rest:
            self._frames(rest)

    def _frames(self, data: bytes) -> None:
        for opcode, payload in self.parser.feed(data):
            if self.closing:
                return
            if opcode == wsp.OP_TEXT:
                self._message(payload)
            elif opcode == wsp.OP_BINARY:
                self._malformed("binary messages are not understood; send JSON text")
            elif opcode == wsp.OP_PING:
                self.send_control(wsp.encode_frame(wsp.OP_PONG, payload))
            elif opcode == wsp.OP_CLOSE:
                code, _ = wsp.parse_close(payload)
                self.send_control(wsp.close_frame(wsp.CLOSE_NORMAL if code in (1005, 1006) else code))
                self.close_transport()
                return
            # OP_PONG: last_seen already updated

    def _message(self, payload: bytes) -> None:
        sec = int(self.last_seen)
        n = self.window[1] + 1 if self.window[0] == sec else 1
        self.window = (sec, n)
        if n > self.worker.options.max_messages_per_s:
            self._malformed(f"more than {self.worker.options.max_messages_per_s} messages per second")
            return
        try:
            msg = json.loads(payload)
        except ValueError:
            self._malformed("not JSON")
            return
        kind = msg.get("type") if isinstance(msg, dict) else None
        if kind == "subscribe":
            try:
                flt = parse_filter({k: v for k, v in msg.items() if k != "type"})
            except (DomainError, TypeError, ValueError) as err:
                self._malformed(f"bad filter: {err}")
                return
            self.filter = flt
            self.worker.stats.subscriptions += 1
            self.worker._refilter(self)
            self.send_control(_text({"type": "subscribed", "filter": _filter_json(flt)}))
        elif kind == "ping":
            self.send_control(_text({"type": "pong"}))
        else:
            self._malformed("unknown message type; use subscribe or ping")

    def _malformed(self, why: str) -> None:
        self.worker.stats.malformed_messages += 1
        self.malformed += 1
        if self.malformed > self.worker.options.max_malformed:
            self.send_control(wsp.close_frame(wsp.CLOSE_POLICY, "too many malformed messages"))
            self.close_transport()
        else:
            self.send_control(_text({"type": "error", "error": why}))

    def _protocol_error(self, err: wsp.ProtocolError) -> None:
        if self.open:
            self.worker.stats.protocol_errors += 1
            self.send_control(wsp.close_frame(err.code, str(err)[:100]))
        else:
            self.worker.stats.handshake_failed += 1
            self.transport.write(wsp.http_response(400, "Bad Request", keep_alive=False))
        self.close_transport()

    # ---------------------------------------------------------------- outgoing
    def send(self, frame: bytes) -> bool:
        """Queue or write one shared frame; False if the client is gone or was just dropped."""
        if self.closing:
            return False
        if self.paused or self.queue:
            if len(self.queue) >= self.worker.options.queue_max:
                self.worker.stats.dropped_slow += 1
                self.abort()
                return False
            self.queue.append(frame)
            return True
        self.transport.write(frame)
        return True

    def send_control(self, frame: bytes) -> None:
        """Replies to this client go through the same bounded path as alerts."""
        self.send(frame)

    def close_transport(self) -> None:
        if not self.closing:
            self.closing = True
            self.transport.close()

    def abort(self) -> None:
        self.closing = True
        self.queue.clear()
        if self.transport is not None:
            self.transport.abort()


class FanoutWorker:
    """A WebSocket listener and its clients; :meth:`deliver` fans one encoded frame out.

    ``reuse_port``: bind with ``SO_REUSEPORT`` so several worker processes share one port
    (the kernel spreads new connections over them by a hash of the 4-tuple).
    """

    def __init__(self, options: FanoutOptions | None = None, index: int = 0) -> None:
        self.options = options or FanoutOptions()
        self.index = index
        self.stats = FanoutStats()
        self._conns: set[_Client] = set()
        self._open: set[_Client] = set()
        self._index = SubscriberIndex(self.options.cell_deg)
        self._server: asyncio.base_events.Server | None = None
        self._sweeper: asyncio.Task | None = None
        self.port: int | None = None
        self._ping = wsp.encode_frame(wsp.OP_PING, b"")

    async def start(self, host: str, port: int, reuse_port: bool = False) -> int:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if reuse_port:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            sock.bind((host, port))
            sock.listen(self.options.backlog)
            sock.setblocking(False)
        except OSError:
            sock.close()
            raise
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(lambda: _Client(self), sock=sock)
        self.port = sock.getsockname()[1]
        self._sweeper = asyncio.create_task(self._sweep())
        return self.port

    async def close(self) -> None:
        if self._sweeper is not None:
            self._sweeper.cancel()
        if self._server is not None:
            self._server.close()
        bye = wsp.close_frame(wsp.CLOSE_GOING_AWAY, "server shutting down")
        for c in list(self._conns):
            if c.open:
                c.send(bye)
            c.close_transport()
        for _ in range(50):
            if not self._conns:
                break
            await asyncio.sleep(0.02)
        for c in list(self._conns):
            c.abort()
        if self._server is not None:
            await self._server.wait_closed()

    # ---------------------------------------------------------------- bookkeeping
    def _connected(self, c: _Client) -> None:
        self.stats.connections += 1
        self._conns.add(c)

    def _opened(self, c: _Client) -> None:
        self._open.add(c)
        self._index.add(c, c.filter)
        self.stats.clients = len(self._open)

    def _refilter(self, c: _Client) -> None:
        if c in self._open:
            self._index.add(c, c.filter)

    def _disconnected(self, c: _Client) -> None:
        self._conns.discard(c)
        self._open.discard(c)
        self._index.remove(c)
        self.stats.clients = len(self._open)
        self.stats.closed += 1

    @property
    def client_count(self) -> int:
        return len(self._open)

    # ---------------------------------------------------------------- fan-out
    def deliver(self, frame: bytes, area: AlertArea | None) -> int:
        """Write ``frame`` to every open client whose filter intersects ``area``; return how many.

        Visits only the index's candidates for ``area`` (see :mod:`.index`); the exact test
        runs once per distinct filter among them.
        """
        st = self.stats
        st.alerts_in += 1
        t0 = time.perf_counter()
        n_open = len(self._open)
        memo: dict = {}
        sent = matched = 0
        for c in list(self._index.candidates(area)):
            f = c.filter
            if f is not None and area is not None:
                ok = memo.get(f)
                if ok is None:
                    ok = memo[f] = intersects(f, area)
                if not ok:
                    continue
            matched += 1
            if c.send(frame):
                sent += 1
        st.frames_sent += sent
        st.filtered_out += n_open - matched
        st.last_fanout_ms = round((time.perf_counter() - t0) * 1000.0, 3)
        st.max_fanout_ms = max(st.max_fanout_ms, st.last_fanout_ms)
        return sent

    async def _sweep(self) -> None:
        opts = self.options
        period = max(0.05, min(opts.ping_interval_s, opts.handshake_timeout_s) / 2)
        next_ping = time.monotonic() + opts.ping_interval_s
        while True:
            await asyncio.sleep(period)
            now = time.monotonic()
            ping = now >= next_ping
            if ping:
                next_ping = now + opts.ping_interval_s
            for c in list(self._conns):
                if not c.open:
                    if now - c.since > opts.handshake_timeout_s:
                        self.stats.handshake_failed += 1
                        c.abort()
                elif now - c.last_seen > 2 * opts.ping_interval_s:
                    self.stats.timed_out += 1
                    c.abort()
                elif ping:
                    c.send(self._ping)


# --------------------------------------------------------------------------- worker process

def pack_channel(kind: bytes, payload: bytes) -> bytes:
    """One hub<->worker channel message: 4-byte big-endian length, kind byte, payload."""
    return struct.pack("!I", len(payload) + 1) + kind + payload


async def read_channel(reader: asyncio.StreamReader) -> tuple[bytes, bytes]:
    n = struct.unpack("!I", await reader.readexactly(4))[0]
    data = await reader.readexactly(n)
    return data[:1], data[1:]


async def run_worker_process(index: int, host: str, port: int, hub_path: str, options: FanoutOptions) -> None:
    """Body of a worker process: listen (SO_REUSEPORT), say hello to the hub, fan out what it sends.

    Channel kinds: ``M`` alert (hub send time as a double, 4-byte area-JSON length, area JSON,
    frame), ``S`` stats request
    (4-byte id; answered with the id and the counters as JSON), ``H`` hello (worker to hub).
    The worker exits when the hub closes the channel.
    """
    if options.nice:
        try:
            os.setpriority(os.PRIO_PROCESS, 0, options.nice)
        except OSError as err:
            log.warning("alert worker %d: cannot set nice %d (%s); running at the default priority",
                        index, options.nice, err)
    worker = FanoutWorker(options, index=index)
    await worker.start(host, port, reuse_port=True)
    reader, writer = await asyncio.open_unix_connection(hub_path)
    writer.write(pack_channel(b"H", json.dumps({"index": index, "pid": os.getpid(),
                                                "port": worker.port}).encode()))
    try:
        while True:
            kind, payload = await read_channel(reader)
            if kind == b"M":
                sent_at, n = struct.unpack_from("!dI", payload)
                worker.stats.last_channel_ms = round((time.time() - sent_at) * 1000.0, 3)
                area_json, frame = payload[12:12 + n], payload[12 + n:]
                area = AlertArea.from_dict(json.loads(area_json)) if n else None
                worker.deliver(frame, area)
            elif kind == b"S":
                writer.write(pack_channel(b"S", payload[:4] + json.dumps(worker.stats.as_dict()).encode()))
    except (asyncio.IncompleteReadError, ConnectionError):
        pass  # hub gone: shut down
    finally:
        await worker.close()
        writer.close()


def main(argv: list[str] | None = None) -> int:
    """``python -m tianshan.services.alerts.worker --hub PATH --index I --host H --port P --options JSON``."""
    import argparse
    import contextlib
    import signal

    ap = argparse.ArgumentParser(prog="tianshan-alerts-worker")
    ap.add_argument("--hub", required=True)
    ap.add_argument("--index", type=int, required=True)
    ap.add_argument("--host", required=True)
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--options", default="{}")
    ap.add_argument("--log-level", type=int, default=logging.WARNING)
    a = ap.parse_args(argv)
    logging.basicConfig(level=a.log_level, format=f"%(asctime)s alerts-worker{a.index} %(levelname)s %(message)s")
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C goes to the whole group; the hub stops us
    options = FanoutOptions(**json.loads(a.options))
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run_worker_process(a.index, a.host, a.port, a.hub, options))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""The alert server: an authenticated publish endpoint (the hub) feeding WebSocket fan-out workers.

Processes and channels::

    publisher --HTTP POST /v1/alerts (HMAC-signed)--> hub --Unix socket--> worker 0 --> clients
                                                          --Unix socket--> worker 1 --> clients
                                                          --> MQTT broker, webhooks (sinks)

* **Hub** (the process that runs :class:`AlertServer`): verifies the publisher's signature,
  timestamp and nonce (:class:`~tianshan.services.alerts.auth.PublishVerifier`), validates
  the message against the schema, refuses a stale sequence (409), re-encodes the message
  canonically and builds the WebSocket frame **once**; it then writes that frame to each
  worker's channel, and hands the JSON payload to the sinks (MQTT, webhooks).
* **Workers** (:mod:`.worker`, one process each) all bind the WebSocket port with
  ``SO_REUSEPORT``; the kernel spreads incoming connections over them, so accept and write
  work scales with cores. Each writes the received frame to its matching clients.
* **Channel: one Unix stream socket per worker, the hub at the other end.** Chosen over a
  NATS subject because the last hop of an alert must not depend on another server being up,
  a local socket costs tens of microseconds, keeps order, and the hub sees at once when a
  worker dies (EOF) and starts a new one. A NATS (or any bus) subscriber can feed the hub in
  front (it is just another publisher), so the bus is still usable upstream.
  Message on the channel: 4-byte big-endian length, then one kind byte: ``M`` (the hub's
  send time as a double, 4-byte length of the area JSON, area JSON, frame), ``S`` (stats
  request / reply with a 4-byte id), ``H`` (worker hello: JSON).
* ``workers=0`` runs one fan-out worker inside the hub's event loop (tests, small sites).

Publish endpoint (HTTP/1.1, keep-alive): ``POST /v1/alerts`` with the message JSON as body;
answers 202 (accepted; JSON with identifier and counts), 400 (malformed message), 401
(authentication refused; JSON ``reason``), 409 (stale sequence), 413 (too large).
``GET /v1/stats`` returns the counters of the hub and all workers; ``GET /healthz`` liveness.
Every refusal is counted by reason; nothing a publisher sends can stop the server.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from typing import Protocol, Sequence

from tianshan.core.errors import InputError
from tianshan.products.alerts.message import AlertMessage, SequenceTracker, message_from_json
from tianshan.services.alerts import protocol as wsp
from tianshan.services.alerts.auth import AuthError, PublishVerifier
from tianshan.services.alerts.worker import FanoutOptions, FanoutWorker, pack_channel, read_channel

log = logging.getLogger(__name__)

PUBLISH_PATH = "/v1/alerts"
STATS_PATH = "/v1/stats"


class AlertSink(Protocol):
    """Something else the hub hands each accepted message to (MQTT, webhooks). Must not block."""

    def deliver(self, message: AlertMessage, payload: bytes) -> None: ...


@dataclass(frozen=True)
class ServerConfig:
    """Where the server listens and how many workers it runs (see the module docstring)."""

    host: str = "127.0.0.1"
    port: int = 8765
    publish_host: str = "127.0.0.1"
    publish_port: int = 8766
    workers: int = 2
    fanout: FanoutOptions = field(default_factory=FanoutOptions)
    max_publish_bytes: int = 256 * 1024
    start_timeout_s: float = 30.0
    restart_workers: bool = True


@dataclass
class HubStats:
    published: int = 0
    refused_auth: int = 0
    refused_malformed: int = 0
    refused_stale: int = 0
    refused_too_large: int = 0
    bad_requests: int = 0
    worker_restarts: int = 0
    sink_errors: int = 0


@dataclass
class _WorkerHandle:
    index: int
    process: subprocess.Popen | None = None
    writer: asyncio.StreamWriter | None = None
    pid: int | None = None
    ready: asyncio.Event = field(default_factory=asyncio.Event)
    restarts: list[float] = field(default_factory=list)  # monotonic times (at most 5 a minute)


# --------------------------------------------------------------------------- the server

class AlertServer:
    """Hub + workers. ``await start()``, then publishers POST to :attr:`publish_url`."""

    def __init__(self, verifier: PublishVerifier, config: ServerConfig | None = None,
                 sinks: Sequence[AlertSink] = ()) -> None:
        self.verifier = verifier
        self.config = config or ServerConfig()
        self.sinks = list(sinks)
        self.stats = HubStats()
        self.tracker = SequenceTracker()
        self.port: int | None = None
        self.publish_port: int | None = None
        self._inline: FanoutWorker | None = None
        self._workers: list[_WorkerHandle] = []
        self._tmpdir: str | None = None
        self._hub_server: asyncio.base_events.Server | None = None
        self._publish_server: asyncio.base_events.Server | None = None
        self._stats_waiters: dict[int, tuple[asyncio.Future, list, int]] = {}
        self._next_req = 0
        self._closing = False
        self._publish_writers: set[asyncio.StreamWriter] = set()

    # ---------------------------------------------------------------- lifecycle
    async def start(self) -> None:
        cfg = self.config
        if cfg.workers < 0:
            raise InputError(f"workers must be >= 0, got {cfg.workers}", field="workers")
        if cfg.workers == 0:
            self._inline = FanoutWorker(cfg.fanout)
            self.port = await self._inline.start(cfg.host, cfg.port)
        else:
            await self._start_workers()
        self._publish_server = await asyncio.start_server(self._publish_conn, cfg.publish_host, cfg.publish_port,
                                                          limit=wsp.MAX_HEAD_BYTES * 2)
        self.publish_port = self._publish_server.sockets[0].getsockname()[1]
        log.info("alert server: WebSocket %s:%s (%s), publish http://%s:%s%s", cfg.host, self.port,
                 f"{cfg.workers} workers" if cfg.workers else "inline", cfg.publish_host, self.publish_port,
                 PUBLISH_PATH)

    async def _start_workers(self) -> None:
        cfg = self.config
        # Reserve the port (port 0: pick one) with a bound, non-listening SO_REUSEPORT socket: workers
        # bind the same port; a socket that does not listen takes no connections.
        family = socket.AF_INET6 if ":" in cfg.host else socket.AF_INET
        holder = socket.socket(family, socket.SOCK_STREAM)
        holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        try:
            holder.bind((cfg.host, cfg.port))
            self.port = holder.getsockname()[1]
            self._tmpdir = tempfile.mkdtemp(prefix="tianshan-alerts-")
            path = os.path.join(self._tmpdir, "hub.sock")
            self._hub_server = await asyncio.start_unix_server(self._worker_conn, path)
            self._workers = [_WorkerHandle(i) for i in range(cfg.workers)]
            for w in self._workers:
                self._spawn(w)
            end = time.monotonic() + cfg.start_timeout_s
            while not all(w.ready.is_set() for w in self._workers):
                dead = [w for w in self._workers if w.process is not None and w.process.poll() is not None]
                if dead or time.monotonic() > end:
                    why = (f"worker {dead[0].index} exited with status {dead[0].process.returncode}" if dead
                           else f"workers did not start within {cfg.start_timeout_s:g} s")
                    await self.close()
                    raise InputError(f"alert server: {why} (is {cfg.host}:{self.port} in use by another program?)",
                                     field="port")
                await asyncio.sleep(0.05)
        finally:
            holder.close()

    def _spawn(self, w: _WorkerHandle) -> None:
        """Start worker ``w`` as ``python -m tianshan.services.alerts.worker`` (a fresh interpreter:
        nothing of the hub's state or threads is inherited, and no main-module re-import as with
        multiprocessing's spawn)."""
        path = os.path.join(self._tmpdir, "hub.sock")
        w.ready.clear()
        args = [sys.executable, "-m", "tianshan.services.alerts.worker", "--hub", path, "--index", str(w.index),
                "--host", self.config.host, "--port", str(self.port),
                "--options", json.dumps(asdict(self.config.fanout)),
                "--log-level", str(logging.getLogger().getEffectiveLevel())]
        w.process = subprocess.Popen(args, stdin=subprocess.DEVNULL, start_new_session=False)

    async def close(self) -> None:
        self._closing = True
        if self._publish_server is not None:
            self._publish_server.close()
            await self._publish_server.wait_closed()
        if self._inline is not None:
            await self._inline.close()
        for w in self._workers:
            if w.writer is not None:
                w.writer.close()
        for w in self._workers:
            if w.process is not None:
                try:
                    await asyncio.to_thread(w.process.wait, 5.0)
                except subprocess.TimeoutExpired:
                    w.process.kill()
                    await asyncio.to_thread(w.process.wait)
        for wr in list(self._publish_writers):
            wr.close()
        if self._hub_server is not None:
            self._hub_server.close()
        if self._tmpdir:
            shutil.rmtree(self._tmpdir, ignore_errors=True)

    async def __aenter__(self) -> "AlertServer":
        await self.start()
        return self

    async def __aexit__(self, *exc) -> None:
        await self.close()

    @property
    def worker_pids(self) -> list[int | None]:
        """Process ids of the fan-out workers (empty with ``workers=0``; None while one (re)starts)."""
        return [w.pid for w in self._workers]

    @property
    def publish_url(self) -> str:
        return f"http://{self.config.publish_host}:{self.publish_port}{PUBLISH_PATH}"

    @property
    def ws_url(self) -> str:
        return f"ws://{self.config.host}:{self.port}/alerts"

    # ---------------------------------------------------------------- worker channels
    async def _worker_conn(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        handle: _WorkerHandle | None = None
        try:
            kind, payload = await read_channel(reader)
            hello = json.loads(payload) if kind == b"H" else {}
            idx = hello.get("index")
            if not isinstance(idx, int) or not 0 <= idx < len(self._workers):
                writer.close()
                return
            handle = self._workers[idx]
            handle.writer, handle.pid = writer, hello.get("pid")
            handle.ready.set()
            while True:
                kind, payload = await read_channel(reader)
                if kind == b"S" and len(payload) >= 4:
                    req = struct.unpack_from("!I", payload)[0]
                    waiter = self._stats_waiters.get(req)
                    if waiter is not None:
                        waiter[1].append(json.loads(payload[4:]))
                        if len(waiter[1]) >= waiter[2] and not waiter[0].done():
                            waiter[0].set_result(None)
        except (asyncio.IncompleteReadError, ConnectionError, ValueError):
            pass
        finally:
            writer.close()
            if handle is not None and handle.writer is writer:
                handle.writer = None
                now = time.monotonic()
                handle.restarts = [t for t in handle.restarts if now - t < 60.0]
                if not self._closing and self.config.restart_workers and len(handle.restarts) < 5:
                    handle.restarts.append(now)
                    log.warning("alert worker %d (pid %s) lost; starting a new one", handle.index, handle.pid)
                    self.stats.worker_restarts += 1
                    if handle.process is not None:
                        with contextlib.suppress(subprocess.TimeoutExpired):
                            await asyncio.to_thread(handle.process.wait, 2.0)
                        if handle.process.poll() is None:  # channel lost but process alive: replace it
                            handle.process.kill()
                            await asyncio.to_thread(handle.process.wait)
                    handle.pid = None
                    self._spawn(handle)

    # ---------------------------------------------------------------- publishing
    def fan_out(self, msg: AlertMessage) -> dict:
        """Encode ``msg`` once and hand it to every worker and sink; counts for the reply."""
        payload = msg.to_json()
        frame = wsp.encode_frame(wsp.OP_TEXT, payload)
        result = {"identifier": msg.identifier, "event_id": msg.event_id, "sequence": msg.sequence,
                  "bytes": len(frame)}
        if self._inline is not None:
            result["clients"] = self._inline.deliver(frame, msg.area)
        else:
            area = json.dumps(msg.area.to_dict(), separators=(",", ":")).encode()
            packet = pack_channel(b"M", struct.pack("!dI", time.time(), len(area)) + area + frame)
            n = 0
            for w in self._workers:
                if w.writer is not None and not w.writer.is_closing():
                    w.writer.write(packet)
                    n += 1
            result["workers"] = n
        for sink in self.sinks:
            try:
                sink.deliver(msg, payload)
            except Exception:  # a sink must not stop the others or the WebSocket path
                self.stats.sink_errors += 1
                log.exception("alert sink %r failed", sink)
        self.stats.published += 1
        return result

    def handle_publish(self, method: str, path: str, headers: dict, body: bytes) -> tuple[int, dict]:
        """Authenticate, validate and fan out one publish request: ``(HTTP status, JSON reply)``."""
        try:
            self.verifier.verify(method, path, headers, body)
        except AuthError as err:
            self.stats.refused_auth += 1
            log.warning("publish refused: %s", err)
            return 401, {"accepted": False, "reason": err.reason, "error": str(err)}
        try:
            msg = message_from_json(body, source="publish request")
        except InputError as err:
            self.stats.refused_malformed += 1
            return 400, {"accepted": False, "reason": "malformed", "error": str(err)[:500]}
        if not self.tracker.accept_message(msg):
            self.stats.refused_stale += 1
            return 409, {"accepted": False, "reason": "stale-sequence",
                         "error": f"event {msg.event_id}: sequence {msg.sequence} is not above "
                                  f"{self.tracker.last(msg.event_id)}"}
        result = self.fan_out(msg)
        return 202, {"accepted": True, **result}

    async def collect_stats(self, timeout_s: float = 2.0) -> dict:
        """Counters of the hub, the verifier and every worker (summed under ``fanout``)."""
        workers: list[dict] = []
        if self._inline is not None:
            workers = [self._inline.stats.as_dict()]
        else:
            live = [w for w in self._workers if w.writer is not None and not w.writer.is_closing()]
            if live:
                self._next_req = (self._next_req + 1) % (1 << 32)
                req = self._next_req
                fut = asyncio.get_running_loop().create_future()
                self._stats_waiters[req] = (fut, workers, len(live))
                for w in live:
                    w.writer.write(pack_channel(b"S", struct.pack("!I", req)))
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(fut, timeout_s)
                self._stats_waiters.pop(req, None)
        total: dict[str, float] = {}
        for s in workers:  # counters add up; timings (floats, *_ms) take the worst worker
            for k, v in s.items():
                total[k] = max(total.get(k, 0.0), v) if isinstance(v, float) else total.get(k, 0) + v
        return {"hub": asdict(self.stats), "auth": {"accepted": self.verifier.accepted,
                                                    "refused": dict(self.verifier.refused)},
                "workers": len(workers), "fanout": total, "per_worker": workers,
                "stale_dropped": self.tracker.stale}

    async def _publish_conn(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """HTTP/1.1 keep-alive loop for publishers (bounded heads and bodies, idle timeout)."""
        self._publish_writers.add(writer)
        try:
            while True:
                try:
                    raw = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 60.0)
                except (asyncio.IncompleteReadError, asyncio.TimeoutError):
                    return
                except asyncio.LimitOverrunError:
                    self.stats.bad_requests += 1
                    writer.write(wsp.http_response(431, "Request Header Fields Too Large", keep_alive=False))
                    return
                try:
                    head, _ = wsp.split_head(raw)
                    length = int(head.header("content-length", "0") or "0")
                    if length < 0 or head.header("transfer-encoding"):
                        raise ValueError("chunked or negative bodies are not accepted")
                except (wsp.ProtocolError, ValueError, TypeError) as err:
                    self.stats.bad_requests += 1
                    writer.write(wsp.http_response(400, "Bad Request", json.dumps({"error": str(err)}).encode(),
                                                   keep_alive=False))
                    return
                if length > self.config.max_publish_bytes:
                    self.stats.refused_too_large += 1
                    writer.write(wsp.http_response(413, "Payload Too Large", keep_alive=False))
                    return
                body = await asyncio.wait_for(reader.readexactly(length), 30.0)
                method, target, _ = head.first
                path = target.split("?", 1)[0]
                keep = head.header("connection").lower() != "close"
                if path == PUBLISH_PATH and method == "POST":
                    status, reply = self.handle_publish(method, target, head.headers, body)
                elif path == STATS_PATH and method == "GET":
                    status, reply = 200, await self.collect_stats()
                elif path == "/healthz" and method == "GET":
                    status, reply = 200, {"ok": True, "port": self.port, "time": time.time()}
                else:
                    self.stats.bad_requests += 1
                    status, reply = 404, {"error": f"no route {method} {path[:100]}"}
                reason = {200: "OK", 202: "Accepted", 400: "Bad Request", 401: "Unauthorized", 404: "Not Found",
                          409: "Conflict"}[status]
                writer.write(wsp.http_response(status, reason, json.dumps(reply, ensure_ascii=False).encode(),
                                               keep_alive=keep))
                await writer.drain()
                if not keep:
                    return
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.TimeoutError):
            pass
        except asyncio.CancelledError:
            pass  # server closing
        except Exception:
            log.exception("publish connection failed")
        finally:
            self._publish_writers.discard(writer)
            writer.close()

"""Low-cost MEMS sensors over MQTT: OpenEEW JSON packets → ObsPy traces, live.

:class:`MqttSource` subscribes to a topic on an MQTT broker with paho-mqtt 2.x (callback API
version 2). paho runs its network loop in its own thread (``loop_start``) and reconnects by
itself with exponential back-off (``reconnect_delay_set``); the subscription is renewed in
``on_connect`` so it survives reconnects. Each message is handed to the asyncio loop with
``loop.call_soon_threadsafe`` into a bounded queue (a full queue drops the message and counts
it: the MQTT thread never blocks); an asyncio task parses it with
:func:`tianshan.stream.openeew.parse_openeew_packet` and calls ``on_trace`` for each of the
three traces (a plain or an ``async`` callable). Malformed packets are skipped and counted.

:func:`publish_openeew_replay` replays archived OpenEEW ``*.jsonl`` files to a broker in
time order (by ``cloud_t``, as the OpenEEW README advises, since file order is not
guaranteed), in real time or accelerated, sending each line's JSON text unchanged.
:func:`write_traces_sds` files received traces into an SDS archive.

The packet format, time convention, unit conversion and SEED id mapping are documented in
:mod:`tianshan.stream.openeew`.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import logging
import os
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping

from tianshan.core.errors import InputError
from tianshan.stream.openeew import MalformedPacket, PacketCounters, parse_openeew_packet

log = logging.getLogger(__name__)

__all__ = ["MqttSource", "MqttSourceStats", "ReplayReport", "publish_openeew_replay", "write_traces_sds"]


@dataclass
class MqttSourceStats:
    """Counters of one :class:`MqttSource` (read them from the asyncio thread)."""

    messages: int = 0
    traces: int = 0
    dropped_queue_full: int = 0
    handler_errors: int = 0
    connects: int = 0
    disconnects: int = 0
    packets: PacketCounters = field(default_factory=PacketCounters)

    @property
    def malformed(self) -> int:
        return self.packets.malformed

    def as_dict(self) -> dict[str, Any]:
        return {"messages": self.messages, "traces": self.traces, "malformed": self.malformed,
                "dropped_queue_full": self.dropped_queue_full, "handler_errors": self.handler_errors,
                "connects": self.connects, "disconnects": self.disconnects, "packets": self.packets.as_dict()}


def _new_client(client_id: str, *, username: str | None = None, password: str | None = None):
    import paho.mqtt.client as mqtt

    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv311,
                         clean_session=True)
    if username is not None:
        client.username_pw_set(username, password)
    return client


class MqttSource:
    """Receive OpenEEW packets from ``topic`` on ``host:port`` and emit ObsPy traces.

    ``on_trace(trace)`` is called in the asyncio loop that ran :meth:`start` (awaited when it
    returns an awaitable). ``parse_options`` go to :func:`parse_openeew_packet` (``network``,
    ``axis_map``, ``time_field``...). Use as ``async with MqttSource(...) as src:`` or call
    :meth:`start` / :meth:`stop`.
    """

    def __init__(self, host: str, port: int, topic: str, on_trace: Callable[[Any], Any], *, qos: int = 1,
                 client_id: str | None = None, keepalive_s: int = 30, reconnect_min_s: float = 0.5,
                 reconnect_max_s: float = 30.0, queue_size: int = 10_000, username: str | None = None,
                 password: str | None = None, parse_options: Mapping[str, Any] | None = None) -> None:
        if qos not in (0, 1, 2):
            raise InputError(f"MQTT qos must be 0, 1 or 2, got {qos}", field="qos")
        if not 0 < int(port) < 65536:
            raise InputError(f"MQTT port must be 1-65535, got {port}", field="port")
        if queue_size < 1:
            raise InputError("queue_size must be >= 1", field="queue_size")
        self.host, self.port, self.topic, self.qos = host, int(port), topic, qos
        self.on_trace = on_trace
        self.client_id = client_id or f"tianshan-mqtt-{uuid.uuid4().hex[:12]}"
        self.keepalive_s = int(keepalive_s)
        self.reconnect_min_s, self.reconnect_max_s = reconnect_min_s, reconnect_max_s
        self.queue_size = queue_size
        self.parse_options = dict(parse_options or {})
        self._auth = (username, password)
        self.stats = MqttSourceStats()
        self._client = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._queue: asyncio.Queue | None = None
        self._task: asyncio.Task | None = None
        self._connected = threading.Event()
        self._subscribed: asyncio.Event | None = None

    # ------------------------------------------------------------ paho thread callbacks
    def _on_connect(self, client, userdata, flags, reason_code, properties) -> None:
        if reason_code.is_failure:
            log.warning("MQTT connect to %s:%s refused: %s", self.host, self.port, reason_code)
            return
        self._connected.set()
        client.subscribe(self.topic, qos=self.qos)
        self._loop.call_soon_threadsafe(self._count_connect)

    def _on_subscribe(self, client, userdata, mid, reason_codes, properties) -> None:
        if all(not rc.is_failure for rc in reason_codes):
            self._loop.call_soon_threadsafe(self._subscribed.set)
        else:
            log.warning("MQTT subscribe to %r refused: %s", self.topic, reason_codes)

    def _on_disconnect(self, client, userdata, flags, reason_code, properties) -> None:
        self._connected.clear()
        loop = self._loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(self._count_disconnect)

    def _on_message(self, client, userdata, msg) -> None:
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        try:
            loop.call_soon_threadsafe(self._enqueue, bytes(msg.payload))
        except RuntimeError:  # loop closed between the check and the call
            pass

    # ------------------------------------------------------------ asyncio side
    def _count_connect(self) -> None:
        self.stats.connects += 1

    def _count_disconnect(self) -> None:
        self.stats.disconnects += 1
        if self._subscribed is not None:
            self._subscribed.clear()

    def _enqueue(self, payload: bytes) -> None:
        self.stats.messages += 1
        try:
            self._queue.put_nowait(payload)
        except asyncio.QueueFull:
            self.stats.dropped_queue_full += 1

    async def _consume(self) -> None:
        while True:
            payload = await self._queue.get()
            try:
                traces = parse_openeew_packet(payload, counters=self.stats.packets, **self.parse_options)
            except MalformedPacket as err:
                log.debug("MQTT %s: malformed OpenEEW packet skipped: %s", self.topic, err)
                continue
            for tr in traces:
                try:
                    result = self.on_trace(tr)
                    if inspect.isawaitable(result):
                        await result
                except asyncio.CancelledError:
                    raise
                except Exception:  # noqa: BLE001 - a faulty consumer must not stop acquisition
                    self.stats.handler_errors += 1
                    log.exception("on_trace failed for %s", tr.id)
                else:
                    self.stats.traces += 1

    async def start(self) -> None:
        """Connect (asynchronously; the broker may come later) and start receiving."""
        if self._client is not None:
            return
        self._loop = asyncio.get_running_loop()
        self._queue = asyncio.Queue(maxsize=self.queue_size)
        self._subscribed = asyncio.Event()
        client = _new_client(self.client_id, username=self._auth[0], password=self._auth[1])
        client.on_connect = self._on_connect
        client.on_subscribe = self._on_subscribe
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        client.reconnect_delay_set(min_delay=max(1, round(self.reconnect_min_s)),
                                   max_delay=max(1, round(self.reconnect_max_s)))
        self._client = client
        self._task = asyncio.create_task(self._consume(), name=f"mqtt-source:{self.topic}")
        client.connect_async(self.host, self.port, keepalive=self.keepalive_s)
        client.loop_start()

    async def wait_ready(self, timeout_s: float = 10.0) -> bool:
        """Wait until connected and subscribed; ``False`` after ``timeout_s``."""
        if self._subscribed is None:
            raise RuntimeError("MqttSource.start() was not called")
        try:
            await asyncio.wait_for(self._subscribed.wait(), timeout_s)
        except asyncio.TimeoutError:
            return False
        return True

    async def drain(self, timeout_s: float = 5.0) -> None:
        """Wait until every message received so far has been handled (bounded by ``timeout_s``)."""
        deadline = time.monotonic() + timeout_s
        while self._queue is not None and not self._queue.empty() and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        await asyncio.sleep(0)

    async def stop(self) -> None:
        """Disconnect, stop the network thread and the consumer task."""
        client, self._client = self._client, None
        if client is not None:
            client.disconnect()
            await asyncio.to_thread(client.loop_stop)
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            self._task = None

    async def __aenter__(self) -> "MqttSource":
        await self.start()
        return self

    async def __aexit__(self, *exc) -> None:
        await self.stop()


# --------------------------------------------------------------------------- replay

@dataclass(frozen=True)
class ReplayReport:
    """What :func:`publish_openeew_replay` sent."""

    published: int
    skipped: int
    duration_s: float


def _replay_lines(files: Iterable[str | os.PathLike]) -> tuple[list[tuple[float, float, str]], int]:
    rows, skipped = [], 0
    for path in files:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as err:
            raise InputError(f"cannot read OpenEEW file ({err})", source=str(path)) from None
        for line in text.splitlines():
            line = line.strip()
            if not line:
                continue
            try:
                obj = json.loads(line)
                t = float(obj.get("cloud_t", obj.get("device_t")))
                t_dev = float(obj.get("device_t", t))
            except (ValueError, TypeError, AttributeError):
                skipped += 1
                continue
            rows.append((t, t_dev, line))
    rows.sort(key=lambda r: (r[0], r[1]))
    return rows, skipped


def publish_openeew_replay(files: Iterable[str | os.PathLike] | str | os.PathLike, host: str, port: int,
                           topic: str, speed: float | None = 1.0, *, qos: int = 1, limit: int | None = None,
                           timeout_s: float = 10.0, client_id: str | None = None) -> ReplayReport:
    """Publish archived OpenEEW ``*.jsonl`` packets to ``topic`` on ``host:port``.

    Packets go out in ``cloud_t`` order (then ``device_t``), each as its original JSON line,
    paced so that packet ``k`` leaves ``(cloud_t_k - cloud_t_0) / speed`` seconds after the
    first (``speed=10``: ten times faster than real time; ``None``: as fast as possible).
    Lines that are not JSON objects with a time are skipped and counted. ``limit`` stops
    after that many packets. Blocks until every packet is acknowledged by the broker (qos ≥ 1)
    or raises :class:`InputError` when the broker does not answer within ``timeout_s``.
    """
    if isinstance(files, (str, os.PathLike)):
        files = [files]
    if speed is not None and not speed > 0:
        raise InputError(f"speed must be > 0 (or None for as fast as possible), got {speed}", field="speed")
    rows, skipped = _replay_lines(files)
    if limit is not None:
        rows = rows[:max(0, int(limit))]
    client = _new_client(client_id or f"tianshan-replay-{uuid.uuid4().hex[:12]}")
    connected = threading.Event()
    client.on_connect = lambda c, u, f, rc, p: connected.set() if not rc.is_failure else None
    try:
        client.connect(host, int(port), keepalive=30)
    except OSError as err:
        raise InputError(f"MQTT broker {host}:{port} unreachable ({err})", field="host") from None
    client.loop_start()
    t_begin = time.monotonic()
    try:
        if not connected.wait(timeout_s):
            raise InputError(f"MQTT broker {host}:{port} did not accept the connection in {timeout_s} s",
                             field="host")
        pending = []
        t0 = rows[0][0] if rows else 0.0
        for t, _, line in rows:
            if speed is not None:
                delay = (t - t0) / speed - (time.monotonic() - t_begin)
                if delay > 0:
                    time.sleep(delay)
            pending.append(client.publish(topic, line.encode("utf-8"), qos=qos))
        deadline = time.monotonic() + timeout_s
        for info in pending:
            info.wait_for_publish(max(0.0, deadline - time.monotonic()))
            if not info.is_published():
                raise InputError(f"MQTT broker {host}:{port} did not acknowledge the replay in {timeout_s} s",
                                 field="host")
    finally:
        client.disconnect()
        client.loop_stop()
    return ReplayReport(published=len(rows), skipped=skipped, duration_s=time.monotonic() - t_begin)


# --------------------------------------------------------------------------- archive

def write_traces_sds(traces: Iterable, root: str | os.PathLike, *, encoding: str | None = "FLOAT32",
                     record_length: int = 512) -> list[Path]:
    """Write received traces (m/s²) into the SDS archive under ``root``; returns the day files.

    Thin wrapper over :func:`tianshan.io.sds.write_sds` (atomic, merges with what is stored).
    ``FLOAT32`` by default: the OpenEEW values have three decimals in gal (1e-5 m/s²), far
    above float32's ~7 significant digits of resolution.
    """
    from obspy import Stream

    from tianshan.io.sds import write_sds

    return write_sds(Stream(list(traces)), root, encoding=encoding, record_length=record_length)

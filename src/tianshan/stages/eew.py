"""Earthquake early warning inside the real-time daemon: packets -> EEW engine -> policy -> messages.

Design
------
:class:`EEWStage` attaches to the process's :class:`~tianshan.stream.buffers.BufferSet` (the
one the acquisition fills and the picker reads) with ``add_listener``. The listener is called
synchronously inside ``BufferSet.ingest`` for every new contiguous segment of every channel
and hands it to :meth:`tianshan.eew.event.EEWEngine.process_segment`: the same per-station
processing as ``tianshan eew replay`` (ground units, recursive filters, STA/LTA trigger,
rejection tests, P-wave captures), a few vectorised filter calls per packet. Its thread CPU
time is measured per packet (``packet_cpu_s``, ``max_packet_cpu_s``).

A worker task (:meth:`EEWStage.start`) runs the engine's ``update()`` -- association,
declaration, evolutionary location, magnitudes -- whenever the listener confirmed a new
trigger, and otherwise each time the data clock has advanced by ``round_s`` (0.5 s: twice the
rate of the replay's 1-s slices) since the last round. Every new event version goes through
the :class:`~tianshan.eew.policy.AlertPolicy` (``evaluate_engine``: onsets, tau_c, onsite
intensities, network support from the engine) exactly as the replay does; each decision with a
message (``alert``, ``update``, ``cancel``, sequence numbers from the policy's
:class:`~tianshan.products.alerts.AlertIssuer`) is queued for delivery. The engine runs on the
event loop, never in a thread: it is not thread-safe and the listener feeds it from the loop.

Delivery (one sender task, messages in the order issued, so sequences arrive in order):

1. the bus: ``tianshan.alerts`` (:data:`tianshan.bus.subjects.ALERTS`), payload the message's
   ``tianshan-eew-alert/1`` JSON (:meth:`~tianshan.products.alerts.AlertMessage.to_json`), key
   ``alert:<identifier>`` (a re-publish is dropped by the bus's key dedupe);
2. the alert distribution server, when a ``publisher`` is given
   (:class:`~tianshan.services.alerts.client.Publisher`: HMAC-signed POST to its publish
   endpoint, kept-alive connection, in a thread): a refused connection or a 5xx is tried
   again after 0.2, 0.5, 1 and 2 s (``http_retries``), then counted (``http_errors``) and left;
   401/400 are counted without retry; 409 (the server already has this sequence) counts as
   delivered (``http_duplicates``);
3. files, when ``folder`` is given: ``<folder>/<event id>/<sequence>-<type>.json`` and the CAP
   1.2 XML (:func:`tianshan.products.alerts.cap.to_cap_xml`) next to it, written atomically;
4. the event timeline (``on_timeline``, the daemon's store sink): ``origin_time`` (the EEW
   estimate's) and ``first_alert`` (wall time of the first bus delivery of the event's first
   ``alert``, data time = the engine's data clock when it was decided), under the EEW event id.

Restart: the daemon re-feeds the last archived data to the buffers at start (recovery). An EEW
event declared from data up to the archive frontier before the restart (``recovered_until_ns``)
was handled by the previous process: its decisions are not delivered again
(``suppressed_recovered``).

Memory: the engine keeps every trigger and version; the stage prunes them after each round
(:meth:`tianshan.eew.event.EEWEngine.prune`), keeping two event lifetimes of triggers.
"""

from __future__ import annotations

import asyncio
import dataclasses
import http.client
import logging
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

from tianshan.bus import subjects
from tianshan.core.errors import InputError

log = logging.getLogger(__name__)

_NS = 1_000_000_000
#: Waits before the HTTP publish is tried again (s).
HTTP_BACKOFF_S = (0.2, 0.5, 1.0, 2.0)


@dataclass
class EEWStageCounters:
    """Counts of the stage's work (engine and station counts: ``EEWStage.engine.counters``)."""

    packets: int = 0
    packet_cpu_s: float = 0.0
    max_packet_cpu_s: float = 0.0
    listener_errors: int = 0
    triggers: int = 0
    rounds: int = 0
    round_cpu_s: float = 0.0
    max_round_cpu_s: float = 0.0
    round_errors: int = 0
    versions: int = 0
    alerts: int = 0
    updates: int = 0
    cancels: int = 0
    suppressed_recovered: int = 0
    published_bus: int = 0
    bus_errors: int = 0
    published_http: int = 0
    http_duplicates: int = 0
    http_retries: int = 0
    http_errors: int = 0
    files_written: int = 0
    file_errors: int = 0
    timeline_errors: int = 0

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class Delivery:
    """One message delivered (or not) by the stage: what a test or the health page looks at."""

    event_id: str
    sequence: int
    msg_type: str
    data_time: datetime
    wall_time: datetime
    bus: bool
    http_status: int | None


class EEWStage:
    """Early warning on live packets (module docstring).

    ``stations`` / ``model``: the network and its 1-D velocity model; ``targets``
    (:class:`~tianshan.eew.targets.Target`) and ``faults``: what the policy predicts at;
    ``eew_config`` / ``policy_config``: engine and policy settings; ``publisher``: an object with
    ``publish(body: bytes) -> (status, reply)`` and ``close()`` (the alert server's
    :class:`~tianshan.services.alerts.client.Publisher`) or None; ``folder``: where messages are
    written (None: not written); ``on_timeline(event_id, step, data_time, wall_time, detail)``
    (coroutine function) or None; ``clock``: wall clock (POSIX s).
    """

    def __init__(self, stations, model, bus, *, targets=(), faults=(), eew_config=None, policy_config=None,
                 target_config=None, publisher=None, folder: str | Path | None = None,
                 on_timeline: Callable | None = None, subject: str = subjects.ALERTS, round_s: float = 0.5,
                 recovered_until_ns: int | None = None, clock: Callable[[], float] = time.time,
                 max_deliveries: int = 1000) -> None:
        from tianshan.eew.event import EEWEngine
        from tianshan.eew.policy import AlertPolicy, PolicyConfig
        from tianshan.eew.targets import TargetPredictor
        from tianshan.products.alerts import AlertIssuer

        if not round_s > 0:
            raise InputError(f"round_s must be > 0, got {round_s!r}", field="round_s")
        subjects.check_subject(subject)
        self.engine = EEWEngine(stations, model, eew_config, clock=clock)
        self.predictor = TargetPredictor(targets, model, faults, target_config)
        pc = policy_config or PolicyConfig()
        self.policy = AlertPolicy(self.predictor, pc, AlertIssuer(min_intensity=pc.alert_degree - 0.5))
        self.bus = bus
        self.subject = subject
        self.publisher = publisher
        self.folder = None if folder is None else Path(folder)
        self.on_timeline = on_timeline
        self.round_ns = int(round(round_s * _NS))
        self.recovered_until_ns = recovered_until_ns
        self.clock = clock
        self.counters = EEWStageCounters()
        self.deliveries: list[Delivery] = []
        self.max_deliveries = int(max_deliveries)
        self.decisions: list = []           # decisions with a message (the last max_deliveries)
        self._last_round_ns: int | None = None
        self._pending_triggers = 0
        self._queue: asyncio.Queue | None = None
        self._wake: asyncio.Event | None = None
        self._idle: asyncio.Event | None = None
        self._tasks: list[asyncio.Task] = []
        self._first_alert: set[str] = set()
        self._http_ok: bool | None = None
        self._closing = False

    # ------------------------------------------------------------------ wiring

    def attach(self, buffers) -> None:
        """Listen to every channel of ``buffers`` (a :class:`~tianshan.stream.buffers.BufferSet`)."""
        buffers.add_listener(self.on_segment)

    def on_segment(self, seg) -> None:
        """BufferSet listener: one packet through the station processing (never raises)."""
        if self._closing:
            return
        t0 = time.thread_time()
        try:
            got = self.engine.process_segment(seg)
        except Exception:  # noqa: BLE001 - acquisition must go on whatever one packet does
            self.counters.listener_errors += 1
            log.exception("EEW: packet of %s failed", seg.stream_id)
            return
        dt = time.thread_time() - t0
        c = self.counters
        c.packets += 1
        c.packet_cpu_s += dt
        c.max_packet_cpu_s = max(c.max_packet_cpu_s, dt)
        if got:
            c.triggers += len(got)
            self._pending_triggers += len(got)
        if self._wake is not None and self._due():
            self._wake.set()

    def _due(self) -> bool:
        f = self.engine.frontier_ns
        return self._pending_triggers > 0 or (f is not None and (
            self._last_round_ns is None or f - self._last_round_ns >= self.round_ns))

    async def start(self) -> None:
        """Start the worker and sender tasks on the running loop."""
        if self._tasks:
            return
        self._queue = asyncio.Queue()
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        if self._due():
            self._wake.set()
        self._tasks = [asyncio.create_task(self._worker(), name="eew-worker"),
                       asyncio.create_task(self._sender(), name="eew-sender")]

    async def flush(self) -> None:
        """End of a replay: one last round over everything processed, then wait for every delivery."""
        if not self._tasks:
            raise RuntimeError("EEWStage not started")
        self._round()
        await self.drain()

    async def drain(self) -> None:
        """Wait until the worker has nothing due and every queued message is delivered."""
        if not self._tasks:
            return
        await asyncio.sleep(0)
        while (self._wake.is_set() or not self._queue.empty() or not self._idle.is_set()) and \
                all(not t.done() for t in self._tasks):
            await asyncio.sleep(0.01)

    async def close(self, timeout_s: float = 10.0) -> None:
        """Stop taking packets, deliver what is queued (up to ``timeout_s``), stop the tasks."""
        self._closing = True
        if self._tasks:
            try:
                await asyncio.wait_for(self.drain(), timeout_s)
            except TimeoutError:
                log.warning("EEW: %d messages not delivered at close", self._queue.qsize())
            for t in self._tasks:
                t.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)
            self._tasks = []
        if self.publisher is not None:
            try:
                await asyncio.to_thread(self.publisher.close)
            except Exception:  # noqa: BLE001
                log.exception("EEW: closing the alert publisher failed")

    # ------------------------------------------------------------------ rounds

    async def _worker(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            self._round()
            await asyncio.sleep(0)  # let packets in between rounds

    def _round(self) -> list:
        """``update()`` + policy on every new version; queue the messages. Never raises."""
        eng = self.engine
        if eng.frontier_ns is None:
            return []
        t0 = time.thread_time()
        self._pending_triggers = 0
        self._last_round_ns = eng.frontier_ns
        out = []
        try:
            versions = eng.update()
            for ev in versions:
                self.counters.versions += 1
                d = self.policy.evaluate_engine(eng, ev)
                if d.message is None:
                    continue
                if (self.recovered_until_ns is not None
                        and ev.declared_data_time.timestamp() * _NS <= self.recovered_until_ns):
                    self.counters.suppressed_recovered += 1
                    continue
                kind = d.action
                if kind == "alert":
                    self.counters.alerts += 1
                elif kind == "update":
                    self.counters.updates += 1
                elif kind == "cancel":
                    self.counters.cancels += 1
                out.append(d)
                self._queue.put_nowait((ev, d))
                self._idle.clear()
            eng.prune()
        except Exception:  # noqa: BLE001 - one bad round must not stop early warning
            self.counters.round_errors += 1
            log.exception("EEW round failed")
        dt = time.thread_time() - t0
        c = self.counters
        c.rounds += 1
        c.round_cpu_s += dt
        c.max_round_cpu_s = max(c.max_round_cpu_s, dt)
        if out:
            self.decisions = (self.decisions + out)[-self.max_deliveries:]
        return out

    # ------------------------------------------------------------------ delivery

    async def _sender(self) -> None:
        while True:
            ev, d = await self._queue.get()
            try:
                await self._deliver(ev, d)
            except Exception:  # noqa: BLE001
                log.exception("EEW delivery of %s failed", d.event_id)
            finally:
                self._queue.task_done()
                if self._queue.empty():
                    self._idle.set()

    async def _deliver(self, ev, d) -> None:
        msg = d.message
        body = msg.to_json()
        ok_bus = False
        try:
            await self.bus.publish(self.subject, body, key=f"alert:{msg.identifier}")
            ok_bus = True
            self.counters.published_bus += 1
        except Exception as err:  # noqa: BLE001 - the server and the files still get it
            self.counters.bus_errors += 1
            log.error("EEW: bus publish of %s failed: %s", msg.identifier, err)
        wall = datetime.fromtimestamp(self.clock(), tz=timezone.utc)
        log.info("EEW %s %s seq %d M%.1f %.3f %.3f, %d stations", d.action, msg.event_id, msg.sequence,
                 msg.alert.magnitude, msg.alert.latitude_deg, msg.alert.longitude_deg, ev.n_stations,
                 extra={"event_id": msg.event_id, "sequence": msg.sequence, "msg_type": d.action})
        if d.action == "alert" and msg.event_id not in self._first_alert:
            self._first_alert.add(msg.event_id)
            await self._timeline(msg.event_id, "origin_time", ev.origin_time, wall, "EEW estimate")
            await self._timeline(msg.event_id, "first_alert", ev.data_time, wall,
                                 f"M {msg.alert.magnitude:.1f}, {ev.n_stations} stations, seq {msg.sequence}")
        status = await self._http(body, msg.identifier) if self.publisher is not None else None
        if self.folder is not None:
            await self._write(msg, d.action)
        self.deliveries.append(Delivery(msg.event_id, msg.sequence, d.action, ev.data_time, wall, ok_bus, status))
        del self.deliveries[:-self.max_deliveries]

    async def _http(self, body: bytes, identifier: str) -> int | None:
        c = self.counters
        for attempt in range(len(HTTP_BACKOFF_S) + 1):
            try:
                status, reply = await asyncio.to_thread(self.publisher.publish, body)
            except (OSError, http.client.HTTPException) as err:  # refused, reset, timeout, bad reply
                status, reply = None, {"error": f"{type(err).__name__}: {err}"}
                try:  # the kept-alive connection is in an unknown state: the next attempt reconnects
                    await asyncio.to_thread(self.publisher.close)
                except Exception:  # noqa: BLE001
                    pass
            if status is not None and 200 <= status < 300:
                c.published_http += 1
                self._http_ok = True
                return status
            if status == 409:  # the server has this sequence already: delivered before
                c.http_duplicates += 1
                self._http_ok = True
                return status
            if status in (400, 401, 403, 413):
                break
            if attempt < len(HTTP_BACKOFF_S):
                c.http_retries += 1
                await asyncio.sleep(HTTP_BACKOFF_S[attempt])
        c.http_errors += 1
        self._http_ok = False
        log.error("EEW: alert server refused or unreachable for %s: %s %s", identifier, status, reply)
        return status

    async def _write(self, msg, action: str) -> None:
        from tianshan.io.atomic import atomic_write_bytes
        from tianshan.products.alerts.cap import to_cap_xml

        base = self.folder / _safe_name(msg.event_id) / f"{msg.sequence:03d}-{action}"

        def go() -> None:
            atomic_write_bytes(base.with_suffix(".json"), msg.to_json())
            atomic_write_bytes(base.with_suffix(".xml"), to_cap_xml(msg))

        try:
            await asyncio.to_thread(go)
            self.counters.files_written += 2
        except OSError as err:
            self.counters.file_errors += 1
            log.error("EEW: cannot write %s: %s", base, err)

    async def _timeline(self, event_id: str, step: str, data_time, wall_time, detail: str) -> None:
        if self.on_timeline is None:
            return
        try:
            await self.on_timeline(event_id, step, data_time, wall_time, detail)
        except Exception:  # noqa: BLE001 - the timeline is a record, not the alert
            self.counters.timeline_errors += 1
            log.exception("EEW: timeline %s %s failed", event_id, step)

    # ------------------------------------------------------------------ observation

    def health(self) -> dict:
        alive = bool(self._tasks) and all(not t.done() for t in self._tasks)
        f = self.engine.frontier_ns
        doc = {"ok": alive and self._http_ok is not False, "running": alive,
               "data_time": None if f is None else datetime.fromtimestamp(f / _NS, tz=timezone.utc).isoformat(),
               "open_events": len(self.engine.open_events), "queued_messages": 0 if self._queue is None
               else self._queue.qsize(), "alert_server": None if self.publisher is None else
               {"last_ok": self._http_ok}}
        return doc


def _safe_name(text: str) -> str:
    import re

    return re.sub(r"[^A-Za-z0-9_.-]", "_", text) or "_"


def load_publisher(url: str, key_file: str | Path, key_id: str | None = None, timeout_s: float = 5.0):
    """The alert server :class:`~tianshan.services.alerts.client.Publisher` for ``url`` with the key
    ``key_id`` of ``key_file`` (its only key when None); :class:`InputError` naming the file otherwise."""
    from tianshan.services.alerts.auth import load_keys
    from tianshan.services.alerts.client import Publisher

    keys = load_keys(key_file)
    if key_id is None:
        if len(keys) != 1:
            raise InputError(f"the key file holds {len(keys)} keys: set run.eew.key_id", source=str(key_file))
        key = keys[0]
    else:
        key = next((k for k in keys if k.key_id == key_id), None)
        if key is None:
            raise InputError(f"no key {key_id!r} in the key file", source=str(key_file), field="key_id")
    return Publisher(url, key, timeout_s=timeout_s)


def build_eew_stage(config, bus, network, *, on_timeline=None, recovered_until_ns: int | None = None) -> EEWStage:
    """The stage of ``[run.eew]`` (:class:`tianshan.config.settings.EEWRunSettings`) for a daemon
    process: the network's stations and model, its places (county seats, cities) as targets; a
    network without places (a bare StationXML inventory) warns its station sites instead, as the
    OpenEEW replay does (without targets the policy could never alert)."""
    from tianshan.eew.policy import PolicyConfig
    from tianshan.eew.targets import Target, targets_from_places

    e = config.eew
    publisher = None if e.publish_url is None else load_publisher(e.publish_url, e.key_file, e.key_id)
    policy = PolicyConfig(**{"test": e.test, **e.policy})
    targets = ()
    if network.places:
        try:
            targets = targets_from_places(network.places)
        except InputError as err:
            log.warning("EEW: places of the network unusable as targets (%s); using the stations", err)
    if not targets:
        targets = tuple(Target(st.station_id, st.latitude_deg, st.longitude_deg, kind="city")
                        for st in network.stations)
    return EEWStage(network.stations, network.model, bus, targets=targets, policy_config=policy,
                    publisher=publisher, folder=config.eew_folder, on_timeline=on_timeline,
                    recovered_until_ns=recovered_until_ns)

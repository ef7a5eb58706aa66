"""The ``tianshan run`` daemon: one process running some or all roles of the real-time engine.

Start-up order (each step needs the one before):

1. the bus (NATS: connected and its stream set up; unreachable -> :class:`InputError`, exit 2),
   the event store (roles associator/products), the live archive (acquisition: its open
   repairs any torn tail left by a crash), the ring buffers (picker, or products without an
   archive; one BufferSet shared by every role of the process);
2. the associator restores its open events from the store
   (``EventStage.restore_from_store(since)``, ``since`` = the archive's data frontier minus the
   event rules' pool window, else the wall clock minus it) and subscribes -- before any pick
   can be re-published; the products stages subscribe (magnitude waveforms from the archive
   when one is configured, shared, else from the ring buffers; reports under
   ``<data_dir>/products``);
3. the picker starts, then **recovery**: the last ``prime_s`` of archived data are fed to the
   buffers (:mod:`tianshan.runtime.recovery`) -- re-picked, re-published under the same keys,
   dropped as duplicates downstream;
4. packet intake from the bus (processes without acquisition), then the sources connect
   (SeedLink resumes from its state file);
5. the HTTP endpoint (``/health``, ``/metrics``, ``/events/<id>/timeline``); its address is
   logged and written to ``<data_dir>/run/http.json`` (:class:`~tianshan.runtime.config.RunConfig`).

Graceful shutdown (SIGTERM/SIGINT, or ``--until-idle`` seconds without packets): sources stop;
packet intake stops; the picker picks the windows already queued (``--until-idle``: flushes,
i.e. picks every sensor's newest data to its end, the end of a replay); the bus is drained
stage by stage (each stage's ``flush`` too with ``--until-idle``: open events finalised,
magnitudes and reports computed); stages close; the archive is fsynced and closed; the
SeedLink state saved once more (after the fsync: the state never runs ahead of durable data);
bus, store and HTTP close; exit 0. A second signal exits at once with 128 + signal number
(130 SIGINT, 143 SIGTERM).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

from tianshan.bus.base import BusError
from tianshan.core.errors import InputError
from tianshan.runtime.http import HttpServer, Response
from tianshan.runtime.metrics import DaemonCollector, LATENCY_BUCKETS, PickRate
from tianshan.runtime.packets import PacketIntake, RecordGate
from tianshan.runtime.roles import AcquisitionRole, PickerRole, StageRole
from tianshan.runtime.wiring import Activity, TrackingBus

log = logging.getLogger("tianshan.runtime")

_NS = 1_000_000_000


def _network(config):
    from tianshan.events.build.pipeline import resolve_network

    run = config.run
    if run.inventory is not None:
        return resolve_network(inventory=run.inventory, velocity_model=run.velocity_model)
    return resolve_network(region=run.region or config.settings.region, velocity_model=run.velocity_model)


def known_streams(network) -> dict:
    """Stream id -> sample rate (Hz) of every channel of the inventory (first epoch wins)."""
    out: dict = {}
    for st in network.stations:
        for ch in st.channels:
            out.setdefault(ch.stream_id, float(ch.sample_rate_hz))
    return out


class Daemon:
    """One ``tianshan run`` process (see the module docstring). ``network``: a resolved
    :class:`~tianshan.events.build.pipeline.Network` (default: from the settings)."""

    def __init__(self, config, *, network=None) -> None:
        self.config = config
        self.network = network
        self.activity = Activity()
        self.roles: dict = {}
        self.bus: TrackingBus | None = None
        self.store = None
        self.archive = None
        self.buffers = None
        self.gate: RecordGate | None = None
        self.intake: PacketIntake | None = None
        self.http: HttpServer | None = None
        self.registry = None
        self.latency_histogram = None
        self.pick_rate = PickRate()
        self.bus_lag: dict = {}
        self.prime = None
        self.started_mono: float | None = None
        self.stopping = False
        self._stop: asyncio.Event | None = None
        self._flush_on_stop = False
        self._tasks: list[asyncio.Task] = []
        self._intake_sub = None
        self._signals = 0

    # ------------------------------------------------------------------ info

    def uptime_s(self) -> float:
        return 0.0 if self.started_mono is None else time.monotonic() - self.started_mono

    @property
    def http_port(self) -> int | None:
        return None if self.http is None else self.http.port

    # ------------------------------------------------------------------ start

    async def start(self) -> None:
        cfg = self.config
        run = cfg.run
        roles = set(cfg.roles)
        self._stop = asyncio.Event()
        self.started_mono = time.monotonic()
        if self.network is None:
            self.network = await asyncio.to_thread(_network, cfg)
        known = known_streams(self.network)
        from prometheus_client import CollectorRegistry, Histogram

        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(DaemonCollector(self))
        self.latency_histogram = Histogram("tianshan_packet_to_pick_latency_seconds",
                                           "wall time from the arrival of the data of a pick's onset to its "
                                           "publication", buckets=LATENCY_BUCKETS, registry=self.registry)
        from tianshan.bus import make_bus

        inner = make_bus(cfg.bus_url)
        if cfg.bus_url is not None:
            try:
                await inner.connect()
            except BusError as err:
                raise InputError(str(err), field="run.bus") from None
        self.bus = TrackingBus(inner)
        if roles & {"associator", "products"}:
            from tianshan.store import EventStore

            self.store = await asyncio.to_thread(EventStore.open, cfg.store_url)
        root = cfg.archive_root
        if "acquisition" in roles and root is not None:
            from tianshan.stream.archive import LiveArchive

            self.archive = await asyncio.to_thread(LiveArchive, root)
        b = run.buffer
        self.gate = RecordGate(set(known), max_future_s=b.max_future_s, max_past_s=b.max_past_s)
        use_archive_waveforms = root is not None
        if "picker" in roles or ("products" in roles and not use_archive_waveforms):
            from tianshan.stream.buffers import BufferSet

            self.buffers = BufferSet(b.capacity_s, known=known, auto_create=False, max_future_s=b.max_future_s,
                                     max_past_s=b.max_past_s, reorder_wait_s=b.reorder_wait_s)
            if "acquisition" not in roles:
                self.intake = PacketIntake(self.buffers, self.gate, on_packet=self.activity.packet)
        await self._start_stages(roles, known, use_archive_waveforms)
        if "acquisition" in roles:
            acq = AcquisitionRole(cfg, self.bus, self.gate, self.activity, archive=self.archive,
                                  buffers=self.buffers, publish=cfg.publish_packets, registry=self.registry)
            self.roles = {"acquisition": acq, **self.roles}
            await acq.start()
        if run.http.enabled:
            await self._start_http()
        self._tasks.append(asyncio.create_task(self._ticker(), name="daemon-ticker"))
        self.activity.started_mono = time.monotonic()  # idleness counts from here, not from the imports
        log.info("tianshan run started: roles %s, bus %s, %d streams", ",".join(cfg.roles), self.bus.kind, len(known),
                 extra={"roles": list(cfg.roles), "http_port": self.http_port})

    def _timeline_sink(self):
        store = self.store
        if store is None:
            return None
        from tianshan.core.timeline import TimelineEntry

        async def on_timeline(event_id, step, data_time, wall_time, detail="") -> None:
            entry = TimelineEntry(event_id, step, wall_time, data_time, detail or "")
            await asyncio.to_thread(store.record_timeline, [entry])
            log.info("timeline %s %s", event_id, step, extra={"event_id": event_id, "step": step})

        return on_timeline

    async def _start_stages(self, roles: set, known: dict, use_archive_waveforms: bool) -> None:
        cfg = self.config
        on_timeline = self._timeline_sink()
        frontier_ns = None
        if cfg.archive_root is not None and (self.buffers is not None or "associator" in roles):
            from tianshan.runtime.recovery import archive_frontier_ns

            frontier_ns = await asyncio.to_thread(archive_frontier_ns, cfg.archive_root, list(known))
        if "associator" in roles:
            role = build_associator(cfg, self.bus, self.store, self.network, on_timeline)
            await restore_events(role, cfg, frontier_ns)
            await role.start()
            self.roles["associator"] = role
        if "products" in roles:
            role = build_products(cfg, self.bus, self.store, self.network, self.buffers, on_timeline,
                                  use_archive_waveforms)
            await role.start()
            self.roles["products"] = role
        if "picker" in roles:
            picker = PickerRole(cfg, self.bus, self.buffers, on_published=self._on_pick, network=self.network,
                                on_timeline=on_timeline, recovered_until_ns=frontier_ns)
            await picker.start()
            self.roles = {"picker": picker, **self.roles}
        if self.buffers is not None and cfg.archive_root is not None:
            from tianshan.runtime.recovery import prime_buffers

            self.prime = prime_buffers(self.buffers, cfg.archive_root, list(known), cfg.run.effective_prime_s)
        if self.intake is not None:
            durable = PickerRole.DURABLE if "picker" in roles else "products-packets"
            from tianshan.bus import subjects

            self._intake_sub = await self.bus.subscribe(f"{subjects.PACKETS}.>", self.intake, durable=durable)

    def _on_pick(self, pick, latency_s) -> None:
        if latency_s is not None and self.latency_histogram is not None:
            self.latency_histogram.observe(latency_s)
        if log.isEnabledFor(logging.DEBUG):
            log.debug("pick %s %s %s", pick.stream_id, pick.phase, pick.time.isoformat(),
                      extra={"stream": str(pick.stream_id), "phase": pick.phase, "pick_id": pick.id,
                             "latency_s": latency_s})

    async def _start_http(self) -> None:
        from tianshan.io.atomic import atomic_write_text

        h = self.config.run.http
        self.http = HttpServer(h.host, self.config.http_port)
        self.http.add("/health", self._health_route)
        self.http.add("/metrics", self._metrics_route)
        self.http.add_prefix("/events/", self._timeline_route)
        try:
            port = await self.http.start()
        except OSError as err:
            raise InputError(f"cannot listen on {h.host}:{self.config.http_port} ({err.strerror or err})",
                             field="run.http.port") from None
        doc = {"host": h.host, "port": port, "pid": os.getpid(), "roles": list(self.config.roles),
               "url": f"http://{h.host}:{port}"}
        path = self.config.http_json
        await asyncio.to_thread(atomic_write_text, path, json.dumps(doc) + "\n")
        log.info("http endpoint on http://%s:%d", h.host, port, extra={"http_port": port, "http_json": str(path)})

    async def _ticker(self) -> None:
        while True:
            await asyncio.sleep(5.0)
            picker = self.roles.get("picker")
            if picker is not None:
                self.pick_rate.sample(picker.stage.counters.picks_published)

    # ------------------------------------------------------------------ HTTP routes

    def health(self) -> tuple[int, dict]:
        components = {}
        ok = True
        for name, role in self.roles.items():
            try:
                h = dict(role.health())
            except Exception as err:  # noqa: BLE001 - a broken component is reported, not raised
                h = {"ok": False, "error": f"{type(err).__name__}: {err}"}
            ok = ok and bool(h.get("ok", True))
            components[name] = h
        connected = self.bus is not None and self.bus.connected
        age = self.activity.packet_age_s()
        doc = {"status": "ok" if ok and connected and not self.stopping else "degraded",
               "role": list(self.config.roles), "uptime_s": round(self.uptime_s(), 3),
               "last_packet_age_s": None if age is None else round(age, 3),
               "bus": {"kind": None if self.bus is None else self.bus.kind, "connected": connected},
               "stopping": self.stopping, "components": components}
        if self.prime is not None:
            doc["recovery"] = self.prime.as_dict()
        return (200 if doc["status"] == "ok" else 503), doc

    async def _health_route(self) -> Response:
        status, doc = self.health()
        return Response.json(doc, status)

    async def _metrics_route(self) -> Response:
        from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

        if self.bus is not None:
            self.bus_lag = await self.bus.lags()
        return Response(200, generate_latest(self.registry), CONTENT_TYPE_LATEST)

    async def _timeline_route(self, rest: str) -> Response | None:
        parts = rest.split("/")
        if len(parts) != 2 or parts[1] != "timeline" or not parts[0]:
            return None
        if self.store is None:
            return Response.json({"error": "no event store in this process (roles: "
                                  + ",".join(self.config.roles) + ")"}, 404)
        from tianshan.core.timeline import latencies

        event_id = parts[0]
        entries = await asyncio.to_thread(self.store.timeline, event_id)
        if not entries:
            return Response.json({"error": f"no timeline for event {event_id!r}"}, 404)
        return Response.json({"event_id": event_id, "steps": [e.as_dict() for e in entries],
                              "latencies_s": latencies(entries)})

    # ------------------------------------------------------------------ running

    def request_stop(self, *, flush: bool = False) -> None:
        """Ask :meth:`run` to shut down gracefully (``flush``: end of a replay, flush every stage)."""
        self._flush_on_stop = self._flush_on_stop or flush
        if self._stop is not None:
            self._stop.set()

    def _on_signal(self, signum: int) -> None:
        self._signals += 1
        if self._signals > 1:
            log.warning("second signal %s: exiting now", signal.Signals(signum).name)
            logging.shutdown()
            os._exit(128 + signum)
        log.info("signal %s: shutting down gracefully", signal.Signals(signum).name)
        self.request_stop()

    async def _idle_watch(self, idle_s: float) -> None:
        packets = "acquisition" in self.config.roles or self.intake is not None
        while True:
            await asyncio.sleep(min(0.2, idle_s / 4))
            also = None if packets else (self.bus.last_handled_mono if self.bus else None)
            if self.activity.idle_s(also) >= idle_s:
                log.info("no packets for %.1f s: finishing", idle_s)
                self.request_stop(flush=True)
                return

    async def run(self, *, until_idle_s: float | None = None, install_signals: bool = True) -> int:
        """Start, serve until a signal, :meth:`request_stop` or ``until_idle_s`` of idleness; shut down."""
        loop = asyncio.get_running_loop()
        sigs = (signal.SIGINT, signal.SIGTERM)
        if install_signals:
            for sig in sigs:
                loop.add_signal_handler(sig, self._on_signal, sig)
        try:
            try:
                await self.start()
                if until_idle_s is not None:
                    self._tasks.append(asyncio.create_task(self._idle_watch(until_idle_s), name="idle-watch"))
                await self._stop.wait()
            finally:
                await self.shutdown(flush=self._flush_on_stop)
        finally:
            if install_signals:
                for sig in sigs:
                    loop.remove_signal_handler(sig)
                # a second signal during the last steps of the shutdown still exits at once
        return 0

    # ------------------------------------------------------------------ shutdown

    async def shutdown(self, *, flush: bool = False) -> None:
        """Graceful stop (see the module docstring); safe to call on a partly started daemon."""
        if self.stopping:
            return
        self.stopping = True
        t0 = time.monotonic()
        log.info("shutting down (%s)", "flush" if flush else "drain")
        for t in self._tasks:
            t.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        acq = self.roles.get("acquisition")
        if acq is not None:
            await _safe("stop sources", acq.stop())
        if self._intake_sub is not None:
            await _safe("stop packet intake", self._intake_sub.unsubscribe())
        picker = self.roles.get("picker")
        if picker is not None:
            await _safe("picker", picker.flush() if flush else picker.drain())
        if self.bus is not None:
            await _safe("drain bus", self.bus.quiesce())
        for name in ("associator", "products"):
            role = self.roles.get(name)
            if role is None or not flush:
                continue
            for stage in role.stages:
                await _safe(f"flush {type(stage).__name__}", stage.flush())
                await _safe("drain bus", self.bus.quiesce())
        for name in ("picker", "associator", "products"):
            role = self.roles.get(name)
            if role is not None:
                await _safe(f"close {name}", role.close())
        if self.archive is not None:
            try:
                self.archive.flush()
                self.archive.close()
            except OSError as err:
                log.error("archive close failed: %s", err)
        if acq is not None:
            acq.save_state()  # after the fsync: the resume state never runs ahead of durable data
        if self.bus is not None:
            await _safe("close bus", self.bus.close())
        if self.store is not None:
            await _safe("close store", asyncio.to_thread(self.store.close))
        if self.http is not None:
            await _safe("close http", self.http.close())
            try:
                self.config.http_json.unlink()
            except OSError:
                pass
        log.info("stopped in %.1f s", time.monotonic() - t0, extra=self.summary())

    def summary(self) -> dict:
        """Counters of every role (logged at shutdown, returned to tests)."""
        out = {"gate": self.gate.counters.as_dict() if self.gate else {}}
        if self.intake is not None:
            out["intake"] = self.intake.counters.as_dict()
        for name, role in self.roles.items():
            out[name] = role.counters()
        if self.buffers is not None:
            out["buffers"] = self.buffers.totals()
        return out


async def _safe(what: str, aw) -> None:
    t0 = time.monotonic()
    try:
        await aw
    except asyncio.CancelledError:
        raise
    except Exception:  # noqa: BLE001 - shutdown goes on whatever one step does
        log.exception("shutdown: %s failed", what)
    log.debug("shutdown: %s took %.2f s", what, time.monotonic() - t0)


# --------------------------------------------------------------------------- stage wiring

def build_associator(config, bus, store, network, on_timeline) -> StageRole:
    """The associator role: an EventStage with the configured event rules, and the QC recorder (the live
    QC's exclusions, inclusions and latency snapshots into the store's ``qc_records``)."""
    from tianshan.stages.events import EventStage
    from tianshan.stages.qc import QCRecorder
    from tianshan.stages.rules import EventRules

    rules = EventRules(**config.run.events)  # validated with the settings
    stage = EventStage(bus, store, network, rules=rules, on_timeline=on_timeline)
    return StageRole("associator", [stage, QCRecorder(bus, store)])


async def restore_events(role, config, frontier_ns: int | None) -> None:
    """Re-open the events the store says were open (the associator's state before a crash)."""
    stage = role.stages[0]
    ref = (datetime.fromtimestamp(frontier_ns / _NS, tz=timezone.utc) if frontier_ns is not None
           else datetime.now(timezone.utc))
    since = ref - timedelta(seconds=stage.tracker.rules.pool_s)
    n = await stage.restore_from_store(since)
    log.info("associator: %d open events restored from the store (origin time since %s)", n, since.isoformat(),
             extra={"restored": n})


#: Worker processes of the magnitude stage (niced: the picker of this process gets the CPU
#: first; see :mod:`tianshan.stages.magnitudes`).
MAGNITUDE_PROCESSES = 1


def build_products(config, bus, store, network, buffers, on_timeline, use_archive: bool) -> StageRole:
    """The products role (MagnitudeStage + ProductStage + ShakeMapStage unless ``[run.shakemap]
    enabled = false``) on archive or buffer waveforms.

    Magnitudes are computed in :data:`MAGNITUDE_PROCESSES` niced worker process(es), not in a
    thread of the daemon: measured on the 200-station benchmark, the computations were half
    the daemon's CPU and, sharing its GIL, held back the picker (queue of 266 windows,
    packet-to-pick p50 20 s)."""
    from tianshan.stages.magnitudes import MagnitudeStage
    from tianshan.stages.products import ProductStage
    from tianshan.stages.waveforms import ArchiveWaveforms, BufferWaveforms

    source = ArchiveWaveforms(config.archive_root) if use_archive else BufferWaveforms(buffers)
    mags = MagnitudeStage(bus, store, source, network, on_timeline=on_timeline, processes=MAGNITUDE_PROCESSES)
    products = ProductStage(bus, store, network, folder=Path(config.data_dir) / "products", on_timeline=on_timeline)
    stages = [mags, products]
    sm = config.run.shakemap
    if sm.enabled:  # intensity maps and loss reports, in a niced worker process started at the first big event
        from tianshan.stages.shakemap import ShakeMapStage

        stages.append(ShakeMapStage(bus, store, source, network, folder=Path(config.data_dir) / "products",
                                    region=str(config.run.region or config.settings.region),
                                    min_magnitude=sm.min_magnitude, grid_step_deg=sm.grid_step_deg,
                                    half_width_deg=sm.half_width_deg, layers=sm.layers, gmm=sm.gmm, vs30=sm.vs30,
                                    loss=sm.loss, report_formats=sm.report_formats, final_wait_s=sm.final_wait_s,
                                    processes=1, on_timeline=on_timeline))
    return StageRole("products", stages)

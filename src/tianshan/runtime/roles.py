"""The roles of ``tianshan run``: the same stage classes, wired for one process or many.

============  ===========================================================================
role          wiring
============  ===========================================================================
acquisition   SeedLink / MQTT sources -> :class:`~tianshan.runtime.packets.RecordGate` ->
              :class:`~tianshan.stream.archive.LiveArchive` (when configured) -> the shared
              BufferSet (when picker or products run in this process) and/or the bus
              (``tianshan.packets.<net>.<sta>``, raw records; when other processes need them)
picker        BufferSet (shared, or filled from the bus: durable ``picker-packets``) ->
              :class:`~tianshan.stages.picking.StreamingPicker` -> ``tianshan.picks``;
              data-time heartbeat on ``tianshan.clock``
associator    ``tianshan.picks`` + ``tianshan.clock`` -> EventStage (store, ``tianshan.events``)
products      ``tianshan.events`` -> MagnitudeStage (waveforms from the BufferSet, shared or
              filled from the bus: durable ``products-packets``) -> ProductStage;
              ``tianshan.events`` + ``tianshan.magnitudes`` -> ShakeMapStage (intensity-map
              versions, loss reports; ``tianshan.products``; ``[run.shakemap]``)
============  ===========================================================================

Every role object has ``start()``, ``flush()`` (end of a replay: process everything pending),
``close()`` (graceful), ``health() -> dict`` (``ok`` plus details) and ``counters() -> dict``.

Acquisition rules (issue 4, "no data loss"): a record is written to the archive *before* the
SeedLink client commits it (the client advances its resume state only after ``on_record``
returned), so a crash re-delivers at worst the last records, never skips one; the archive
drops the re-delivered duplicates. An archive write failure (disk full) raises out of
``on_record``: the client does not commit the record, reconnects and asks for it again. A bus
publish failure (NATS down beyond its retry time) stops the client the same way; it is
restarted after a back-off and resumes from its state. Bad records never raise: the gate
drops and counts them.
"""

from __future__ import annotations

import asyncio
import logging
import time

from tianshan.bus import subjects
from tianshan.core.errors import InputError
from tianshan.runtime.packets import RecordGate, packet_key, trace_records
from tianshan.runtime.wiring import Activity

log = logging.getLogger(__name__)



# --------------------------------------------------------------------------- acquisition

class AcquisitionRole:
    """Sources -> gate -> archive -> buffers / bus (see the module docstring)."""

    name = "acquisition"

    def __init__(self, config, bus, gate: RecordGate, activity: Activity, *, archive=None, buffers=None,
                 publish: bool = False, registry=None, restart_delay_s: float = 2.0) -> None:
        self.config = config
        self.bus = bus
        self.gate = gate
        self.activity = activity
        self.archive = archive
        self.buffers = buffers
        self.publish = publish
        self.registry = registry
        self.restart_delay_s = restart_delay_s
        self.seedlink: dict[int, object] = {}      # index -> current SeedLinkSource
        self.mqtt: list = []
        self.published = 0
        self.source_failures = 0
        self._tasks: list[asyncio.Task] = []
        self._stopping = False

    async def handle_record(self, record: bytes, *_ignored) -> None:
        """One raw record from any source: gate, archive, buffers, bus. Raises only for I/O failures."""
        h = self.gate.check(bytes(record))
        if h is None:
            return
        if self.archive is not None:
            self.archive.write(record)  # OSError: the source does not commit the record
        if self.buffers is not None:
            self.buffers.ingest_record(record)
        if self.publish:
            await self.bus.publish(subjects.packets(h.stream_id.network, h.stream_id.station), record,
                                   key=packet_key(h))
            self.published += 1
        self.activity.packet()

    async def _handle_trace(self, trace) -> None:
        for rec in trace_records(trace):
            await self.handle_record(rec)

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        run = self.config.run
        for i, spec in enumerate(run.seedlink):
            self._tasks.append(asyncio.create_task(self._seedlink_loop(i, spec), name=f"seedlink:{spec.host}:{spec.port}"))
        for spec in run.mqtt:
            from tianshan.stream.mqtt_source import MqttSource

            src = MqttSource(spec.host, spec.port, spec.topic, self._handle_trace,
                             parse_options={"network": spec.network})
            await src.start()
            self.mqtt.append(src)
        if not run.seedlink and not run.mqtt:
            log.warning("acquisition role without sources: add [[run.seedlink]] or [[run.mqtt]] to the settings")

    def _new_seedlink(self, spec):
        from tianshan.stream.seedlink_client import SeedLinkSource

        state = self.config.seedlink_state_file(spec)
        state.parent.mkdir(parents=True, exist_ok=True)
        kwargs = dict(on_record=self.handle_record, state_file=state, registry=self.registry,
                      begin_time=spec.begin_time, stop_on_end=spec.stop_on_end)
        try:
            return SeedLinkSource(spec.host, spec.port, list(spec.selectors), **kwargs)
        except InputError as err:  # unreadable state file: keep it for inspection, start without it
            aside = state.with_name(state.name + f".bad-{int(time.time())}")
            state.replace(aside)
            log.error("SeedLink state file unusable (%s); moved to %s, starting without resume state", err, aside)
            return SeedLinkSource(spec.host, spec.port, list(spec.selectors), **kwargs)

    async def _seedlink_loop(self, index: int, spec) -> None:
        """Run one SeedLink source until stopped; a run that fails (bus outage beyond the bus's own
        retries) is started again after ``restart_delay_s``: same source, same in-memory resume
        state, same metrics."""
        src = self._new_seedlink(spec)
        self.seedlink[index] = src
        while not self._stopping:
            try:
                await src.run()
                return  # stopped
            except asyncio.CancelledError:
                src.stop()
                raise
            except Exception as err:  # noqa: BLE001 - the source resumes where it stopped
                self.source_failures += 1
                log.error("SeedLink source %s:%s failed (%s: %s); restarting in %.0f s", spec.host, spec.port,
                          type(err).__name__, err, self.restart_delay_s)
            await asyncio.sleep(self.restart_delay_s)

    async def stop(self) -> None:
        """Stop every source; SeedLink sources save their resume state."""
        self._stopping = True
        for src in self.seedlink.values():
            src.stop()
        for src in self.mqtt:
            await src.stop()
        if self._tasks:
            done, pending = await asyncio.wait(self._tasks, timeout=15.0)
            for t in pending:
                t.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)

    def save_state(self) -> None:
        for src in self.seedlink.values():
            try:
                src.save_state()
            except OSError as err:
                log.error("cannot save SeedLink state: %s", err)

    async def flush(self) -> None:
        if self.archive is not None:
            self.archive.flush()

    async def close(self) -> None:
        await self.stop()

    def health(self) -> dict:
        sources = []
        for src in self.seedlink.values():
            sources.append({"kind": "seedlink", "server": src.server, "connected": bool(src.connected),
                            "reconnects": src.reconnects})
        for src in self.mqtt:
            sources.append({"kind": "mqtt", "server": f"{src.host}:{src.port}", "topic": src.topic,
                            "connected": src.stats.connects > src.stats.disconnects})
        ok = all(s["connected"] for s in sources) if sources else True
        return {"ok": ok, "sources": sources, "source_failures": self.source_failures}

    def counters(self) -> dict:
        out = {f"gate_{k}": v for k, v in self.gate.counters.as_dict().items()}
        out["published"] = self.published
        out["source_failures"] = self.source_failures
        for src in self.seedlink.values():
            out["seedlink_bad_packets"] = out.get("seedlink_bad_packets", 0) + src.bad_packets
            out["seedlink_unknown_station_packets"] = (out.get("seedlink_unknown_station_packets", 0)
                                                       + src.unknown_station_packets)
        for src in self.mqtt:
            st = src.stats
            out["mqtt_messages"] = out.get("mqtt_messages", 0) + st.messages
            out["mqtt_malformed"] = out.get("mqtt_malformed", 0) + st.malformed
            out["mqtt_dropped_queue_full"] = out.get("mqtt_dropped_queue_full", 0) + st.dropped_queue_full
        if self.archive is not None:
            a = self.archive.stats
            out.update(archive_records_written=a.records_written, archive_duplicates=a.duplicates,
                       archive_rejected=a.rejected, archive_truncated_records=a.truncated_records,
                       archive_fsyncs=a.fsyncs)
        return out


# --------------------------------------------------------------------------- picker

class PickerRole:
    """BufferSet -> StreamingPicker -> ``tianshan.picks`` (and its data-time clock on ``tianshan.clock``).

    ``buffers`` is the process's BufferSet, filled by the acquisition of this process or by the
    packet intake from the bus (durable :data:`DURABLE`). ``on_published``: ``(pick, latency_s)``
    callback of the streaming picker (metrics).

    With ``[run.eew] enabled`` the role also runs early warning on the same buffers
    (:class:`~tianshan.stages.eew.EEWStage`, every packet as it arrives; ``network``: the
    resolved network, ``on_timeline``: the daemon's timeline sink, ``recovered_until_ns``: the
    archive frontier before this start); its health is under ``eew`` and its counters are
    prefixed ``eew_``.
    """

    name = "picker"
    DURABLE = "picker-packets"

    def __init__(self, config, bus, buffers, *, on_published=None, network=None, on_timeline=None,
                 recovered_until_ns: int | None = None) -> None:
        from tianshan.picks import make_picker
        from tianshan.stages.picking import StreamingPicker

        p = config.run.picker
        self.eew = None
        if config.run.eew.enabled:  # first: a packet must reach early warning before the picker's bookkeeping
            from tianshan.stages.eew import build_eew_stage

            if network is None:
                raise InputError("early warning needs the resolved network", field="run.eew")
            self.eew = build_eew_stage(config, bus, network, on_timeline=on_timeline,
                                       recovered_until_ns=recovered_until_ns)
            self.eew.attach(buffers)
        from tianshan.stages.qc import live_qc_from_settings

        # live QC before the picker: channels failing it are left out of the picking windows
        self.qc = live_qc_from_settings(getattr(config.run, "qc", None), bus)
        if self.qc is not None:
            self.qc.attach(buffers)
        self.stage = StreamingPicker(make_picker(p.kind, p.model), bus, window_s=p.window_s, step_s=p.step_s,
                                     edge_s=p.edge_s, s_edge_s=p.s_edge_s, on_published=on_published,
                                     exclusions=[self.qc] if self.qc is not None else [])
        self.stage.attach(buffers)
        self.stages = [self.stage] + ([self.eew] if self.eew is not None else [])

    async def start(self) -> None:
        if self.eew is not None:
            await self.eew.start()
        if self.qc is not None:
            await self.qc.start()
        await self.stage.start()

    async def drain(self) -> None:
        """Pick every window queued now (graceful stop: nothing queued is lost); deliver queued alerts."""
        await self.stage.drain()
        if self.eew is not None:
            await self.eew.drain()

    async def flush(self) -> None:
        """End of a replay: pick the newest data of every sensor up to its end, publish the clock."""
        if self.eew is not None:
            await self.eew.flush()
        if self.qc is not None:
            await self.qc.flush()
        await self.stage.flush()

    async def close(self) -> None:
        await self.stage.close()
        if self.qc is not None:
            await self.qc.close()
        if self.eew is not None:
            await self.eew.close()

    def health(self) -> dict:
        h = self.stage.health()
        if self.eew is not None:
            e = self.eew.health()
            h = {**h, "ok": bool(h.get("ok", True)) and bool(e["ok"]), "eew": e}
        if self.qc is not None:
            h = {**h, "qc": self.qc.health()}
        return h

    def counters(self) -> dict:
        out = self.stage.counters.as_dict()
        if self.eew is not None:
            out.update({f"eew_{k}": v for k, v in self.eew.counters.as_dict().items()})
            out.update({f"eew_engine_{k}": v for k, v in self.eew.engine.counters.as_dict().items()})
        if self.qc is not None:
            out.update({f"qc_{k}": v for k, v in self.qc.counters.as_dict().items()})
            out["qc_excluded_now"] = len(self.qc.excluded_now())
        return out


class StageRole:
    """A role made of stage objects of the common shape (start, flush, close, health, counters)."""

    def __init__(self, name: str, stages: list) -> None:
        self.name = name
        self.stages = list(stages)

    async def start(self) -> None:
        for st in self.stages:
            await st.start()

    async def flush(self) -> None:
        for st in self.stages:
            await st.flush()

    async def close(self) -> None:
        for st in self.stages:
            try:
                await st.close()
            except Exception:  # noqa: BLE001 - closing the others matters more
                log.exception("%s: closing %s failed", self.name, type(st).__name__)

    def health(self) -> dict:
        parts = {}
        ok = True
        for st in self.stages:
            try:
                h = dict(st.health())
            except Exception as err:  # noqa: BLE001
                h = {"ok": False, "error": str(err)}
            ok = ok and bool(h.get("ok", True))
            parts[type(st).__name__] = h
        return {"ok": ok, "stages": parts}

    def counters(self) -> dict:
        out: dict = {}
        for st in self.stages:
            c = getattr(st, "counters", None)
            values = c.as_dict() if hasattr(c, "as_dict") else {}
            prefix = _snake(type(st).__name__)
            out.update({f"{prefix}_{k}": v for k, v in values.items() if isinstance(v, (int, float))})
        return out


def _snake(name: str) -> str:
    import re

    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()

"""Streaming intensity-map stage: event and magnitude messages -> intensity-map versions -> loss reports.

Design
------
:class:`ShakeMapStage` (issue 6 item 4, issue 7 item 4) subscribes ``tianshan.events`` (event
versions, meta ``change``; the intake rule shared with the magnitude and product stages,
:func:`tianshan.stages.magnitudes.accept_event_message`) and ``tianshan.magnitudes`` (stored
magnitudes, meta ``event_id``, ``final``). Handlers only mark the event *dirty*; one worker task
does the work, one event at a time, reading the event as stored
(:meth:`~tianshan.store.EventStore.get_event`: preferred origin and magnitude, whatever order the
messages came in). An event is mapped once its preferred magnitude reaches ``min_magnitude``
(default M 3.5); after its first map it is followed whatever its magnitude does.

Station records
---------------
The stations of the map's box (below) that hold data, each over its own window
(:func:`tianshan.stages.shakemap_build.station_windows`: P arrival - 20 s to the S arrival plus
the coda, Boore 2003 durations). A station is measured once its data reach the
end of its window (``available_until``), every channel group of the station
(:func:`tianshan.groundmotion.intensity.records.stream_motions`: GB/T 17742-2020 Appendix A
peaks and intensity, larger-horizontal PGA/PGV/PSA; accelerometers preferred, a clipped, dead,
gapped... record flagged). A measurement is kept while the window moves less than
``WINDOW_TOLERANCE_S``. Usable stations enter the map as ShakeMap-style records (one
non-directional ``H`` component: larger horizontal PGA, PGV, PSA 0.3/1/3 s); a refused station
enters with its flag (``problems``), so it stays in ``stations.geojson``, flagged and unused.

When a version is due
---------------------
:class:`tianshan.products.shakemap.updates.MapVersioner` (its rules, :class:`VersionRules`:
first version; hypocentre moved > 5 km; magnitude changed >= 0.2; >= 5 new stations with
records), plus two rules of this stage: the number of stations with usable records grew by at
least ``record_growth`` (25 %) of the last version's count (so the first records after a
model-only map give a version), and the **final** version once the event is final (its final
magnitude arrived and every station holding data has its whole window, or ``final_wait_s``
wall seconds after the final event version). Then the event is done; later messages are ignored.
Between messages, an event with stations still waiting for their window is looked at again
every ``records_poll_s``.

Each version ``N``
------------------
* the map (:func:`tianshan.products.shakemap.build.build_map`) in
  ``<folder>/<event>/shakemap/v<N>/`` (``<event>``: the last segment of the event id): GeoTIFF
  grids, NetCDF, GB/T and MMI contours, ``stations.geojson``, ``grid.xml``, ``summary.json``,
  ``map.png``/``map.svg``, and ``station_motions.json`` (every station measured: GB/T 17742
  vector PGA/PGV and intensity, larger-horizontal values, flags, window); the grid is
  ``half_width_deg`` (2 deg) around the epicentre at ``grid_step_deg`` (0.02 deg: a version takes
  seconds; the layers ``layers``, default MMI, PGA, PGV);
* one product row per file (kind ``intensity_map``, version ``N``; properties: the file's name,
  role and size, and the version's basis -- magnitude, origin, records used, reasons, ``final``;
  the summary's row lists the station ids): the store keeps every version (history);
* the loss chain (:func:`tianshan.products.loss.scenario.assess`) on the map's MMI field with
  the region's exposure (:func:`tianshan.products.loss.scenario.load_context`; the demo region:
  its towns): ``<folder>/<event>/report/v<N>/loss.json`` (kind ``loss_estimate``) and the loss
  report of :func:`tianshan.products.reports.loss.write_loss_report` (kind ``loss_report``;
  skipped with a log line when that module is not installed);
* a message on ``tianshan.products`` (a JSON object: ``kind`` ``intensity_map`` or
  ``loss_report``, event id, version, final, folder, figures; key ``map:<event>:<N>`` /
  ``loss:<event>:<N>``);
* timeline step ``first_intensity_map`` with version 1.

Measured (demo scenario: Mw 6.5 near Luntai, 8 stations in the map's box, 200 x 200 cells,
MMI/PGA/PGV, 2 shared cores): a version takes about 1 s of map, 0.01 s of loss chain and 1-1.6 s
of HTML+PDF report; the first one 8 s after its event message including the worker's start
(imports, exposure) and the measurement of the 8 stations.

Where the work runs (``processes``): 0 in a thread (tests); >= 1 (``tianshan run``) in a
spawn-started worker process at nice +``worker_nice``, started at the first event that needs a
map (so that daemons seeing only small events never pay its imports), which exits when the
daemon dies. The loop only reads the ring buffers (a window copy) and the store.

Failures: a bad payload raises :class:`~tianshan.core.errors.InputError` (the bus drops and
counts it); a failing measurement, map, loss or report is counted and logged and the stage goes
on (a failed map is tried again at the next look, at most ``max_attempts`` times per version).
A restarted stage reads the event's stored map products and goes on with the next version.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import math
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

from tianshan.bus import subjects
from tianshan.core.errors import InputError
from tianshan.stages.following import FollowingStage, call_source
from tianshan.stages.magnitudes import accept_event_message, emit_timeline
from tianshan.stages.shakemap_build import (LOSS_KIND, MAP_KIND, REPORT_KIND, BuildJob, build_version,
                                            event_folder_name, map_grid, measure, motion_doc, motion_record,
                                            new_pool, remote, station_windows)

__all__ = ["ShakeMapStage", "ShakeMapStageCounters", "MAP_KIND", "LOSS_KIND", "REPORT_KIND", "event_folder_name",
           "map_grid", "station_windows"]

log = logging.getLogger(__name__)

#: A station's measurement is reused while its window moves less than this (s).
WINDOW_TOLERANCE_S = 5.0


@dataclass
class ShakeMapStageCounters:
    """Counts of everything :class:`ShakeMapStage` handled, skipped and failed."""

    events_received: int = 0
    magnitudes_received: int = 0
    events_ignored: int = 0       #: messages about stopped or finished events
    events_stopped: int = 0       #: cancelled / merged
    bad_payloads: int = 0
    below_threshold: int = 0      #: looks at events without a magnitude >= min_magnitude
    looks: int = 0                #: jobs run (decisions made)
    stations_measured: int = 0
    stations_flagged: int = 0
    measure_errors: int = 0
    versions: int = 0             #: map versions stored
    unchanged: int = 0            #: looks that found no meaningful change
    build_errors: int = 0
    store_errors: int = 0
    losses: int = 0
    loss_errors: int = 0
    reports: int = 0
    reports_skipped: int = 0      #: report module missing
    report_errors: int = 0
    published: int = 0
    publish_errors: int = 0
    timeline_errors: int = 0
    finals: int = 0
    final_timeouts: int = 0       #: final versions made after final_wait_s without complete records
    expired: int = 0
    pool_failures: int = 0

    def as_dict(self) -> dict[str, int]:
        return dataclasses.asdict(self)


@dataclass
class _Tracked:
    dirty: bool = True
    final_seen: float | None = None      # wall clock of the final event version
    final_magnitude: bool = False        # a magnitude message marked final arrived
    last_run: float | None = None
    pending: int = 0                     # stations with data whose window is not complete yet
    seen: float = 0.0
    versioner: Any = None                # MapVersioner (None: not read back from the store yet)
    last_count: int = 0                  # usable records of the last version
    motions: dict = field(default_factory=dict)   # station id -> (t0, t1, StationMotion)
    attempts: int = 0


class ShakeMapStage(FollowingStage):
    """Intensity maps and loss reports of events as they change (see the module docstring).

    ``source``: a :class:`~tianshan.stages.waveforms.WaveformSource`; ``network``: a
    :class:`tianshan.events.build.pipeline.Network` (stations, inventory with responses, velocity
    model ``model``); ``store``: an :class:`~tianshan.store.EventStore`; ``folder``: the products folder;
    ``region``: the region spec of the exposure (``"demo"`` or a region folder; None: no loss).
    """

    task_name = "shakemap-stage"

    def __init__(self, bus, store, source, network, *, folder, region: str | None = "demo",
                 events_subject: str = subjects.EVENTS, magnitudes_subject: str = subjects.MAGNITUDES,
                 products_subject: str = subjects.PRODUCTS, durable: str | None = "shakemap",
                 min_magnitude: float = 3.5, grid_step_deg: float = 0.02, half_width_deg: float = 2.0,
                 layers: tuple[str, ...] = ("mmi", "pga", "pgv"), gmm: str = "BooreEtAl2014", vs30: float = 760.0,
                 rules=None, record_growth: float = 0.25, min_interval_s: float = 2.0, records_poll_s: float = 10.0,
                 final_wait_s: float = 120.0, poll_s: float = 1.0, expire_s: float = 3600.0, max_attempts: int = 3,
                 loss: bool = True, report_formats: tuple[str, ...] = ("html", "pdf"), processes: int = 0,
                 worker_nice: int = 10, on_timeline=None, clock: Callable[[], float] = time.time) -> None:
        from tianshan.products.shakemap.updates import VersionRules

        if store is None:
            raise InputError("the intensity-map stage needs an event store", field="store")
        for name, value in (("min_magnitude", min_magnitude), ("grid_step_deg", grid_step_deg),
                            ("half_width_deg", half_width_deg), ("record_growth", record_growth),
                            ("records_poll_s", records_poll_s), ("poll_s", poll_s), ("expire_s", expire_s),
                            ("vs30", vs30)):
            if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
                raise InputError(f"{name} must be a number > 0, got {value!r}", field=name)
        for name, value in (("min_interval_s", min_interval_s), ("final_wait_s", final_wait_s)):
            if not (isinstance(value, (int, float)) and math.isfinite(value) and value >= 0):
                raise InputError(f"{name} must be a number >= 0, got {value!r}", field=name)
        if grid_step_deg >= half_width_deg:
            raise InputError(f"grid_step_deg ({grid_step_deg}) must be below half_width_deg ({half_width_deg})",
                             field="grid_step_deg")
        if loss and "mmi" not in layers:
            raise InputError("the loss chain needs the mmi layer", field="layers")
        if not (isinstance(processes, int) and processes >= 0 and max_attempts >= 1):
            raise InputError("processes must be an integer >= 0 and max_attempts >= 1", field="processes")
        self.bus, self.store, self.source, self.network = bus, store, source, network
        self.folder = Path(folder)
        self.region = region
        self.events_subject, self.magnitudes_subject = events_subject, magnitudes_subject
        self.products_subject = products_subject
        self.durable = durable
        self.min_magnitude = float(min_magnitude)
        self.grid_step_deg, self.half_width_deg = float(grid_step_deg), float(half_width_deg)
        self.layers, self.gmm, self.vs30 = tuple(layers), gmm, float(vs30)
        self.rules = rules if rules is not None else VersionRules()
        self.record_growth = float(record_growth)
        self.min_interval_s, self.records_poll_s = float(min_interval_s), float(records_poll_s)
        self.final_wait_s, self.poll_s, self.expire_s = float(final_wait_s), float(poll_s), float(expire_s)
        self.max_attempts = int(max_attempts)
        self.loss = bool(loss)
        self.report_formats = tuple(report_formats)
        self.processes, self.worker_nice = processes, worker_nice
        self.on_timeline = on_timeline
        self.clock = clock
        self.counters = ShakeMapStageCounters()
        self.timings: list[dict] = []      # per version: seconds of measure / map / loss / report
        self._tracked: dict[str, _Tracked] = {}
        self._tt = None
        super().__init__()

    # ------------------------------------------------------------------ life cycle (FollowingStage)

    def _subscriptions(self) -> list:
        return [(self.events_subject, self._on_event, self._durable_name("events")),
                (self.magnitudes_subject, self._on_magnitude, self._durable_name("magnitudes"))]

    async def flush(self) -> None:
        """End of a replay: look at every tracked event now; final events get their final version."""
        await self._flush_begins()
        for eid in list(self._tracked):
            t = self._tracked.get(eid)
            if t is not None:
                await self._run(eid, force_final=t.final_seen is not None)

    def health(self) -> dict[str, Any]:
        pending = sum(1 for t in self._tracked.values() if t.dirty or t.final_seen is not None) + int(self._busy)
        return self._health(pending, len(self._tracked), worker_process=self._pool is not None)

    # ------------------------------------------------------------------ handlers (bookkeeping only)

    def _track(self, eid: str) -> _Tracked:
        t = self._tracked.get(eid)
        if t is None:
            t = self._tracked[eid] = _Tracked()
        t.seen = self.clock()
        return t

    async def _on_event(self, msg) -> None:
        accepted = accept_event_message(self, msg, self._tracked)
        if accepted is None:
            return
        event, change = accepted
        t = self._track(event.id)
        t.dirty = True
        if change == "final" and t.final_seen is None:
            t.final_seen = self.clock()
        self._wake.set()

    async def _on_magnitude(self, msg) -> None:
        accepted = self._accept_magnitude(msg)
        if accepted is None:
            return
        eid, meta = accepted
        t = self._track(eid)
        t.dirty = True
        if meta.get("final") is True:
            t.final_magnitude = True
        self._wake.set()

    # ------------------------------------------------------------------ scheduling

    def _due(self, t: _Tracked, now: float) -> bool:
        if t.last_run is not None and now - t.last_run < self.min_interval_s:
            return False
        if t.final_seen is not None and (now - t.final_seen >= self.final_wait_s
                                         or (t.final_magnitude and t.dirty)):
            return True
        if t.dirty:
            return True
        return t.pending > 0 and t.last_run is not None and now - t.last_run >= self.records_poll_s

    async def _loop(self) -> None:
        """The worker task: one look at a due event at a time."""
        while not self._closing:
            now = self.clock()
            for eid in [e for e, t in self._tracked.items()
                        if t.final_seen is None and now - t.seen > self.expire_s and not t.dirty]:
                del self._tracked[eid]
                self.counters.expired += 1
            due = [eid for eid, t in self._tracked.items() if self._due(t, now)]
            due.sort(key=lambda e: (self._tracked[e].versioner is not None, self._tracked[e].last_run or 0.0))
            if due:
                try:
                    await self._run(due[0], force_final=False)
                except asyncio.CancelledError:
                    raise
                except Exception:  # noqa: BLE001 - the worker must outlive any one failure
                    log.exception("shakemap stage: event %s failed", due[0])
                continue
            await self._sleep(self.poll_s)

    # ------------------------------------------------------------------ one look at an event

    async def _job(self, eid: str, t: _Tracked, force_final: bool) -> None:
        from tianshan.core.event import EventType
        from tianshan.store.errors import EventNotFoundError

        now = self.clock()
        t.dirty = False
        t.last_run = now
        self.counters.looks += 1
        try:
            event = await asyncio.to_thread(self.store.get_event, eid)
        except EventNotFoundError:
            return  # the associator's row is not committed yet: the next message brings it
        if event.type is EventType.NOT_EXISTING:
            self._stop(eid, "not existing")
            return
        if t.versioner is None:
            if await asyncio.to_thread(self._seed, eid, t):
                self._stop(eid, "final")
                return
        origin, pm = event.preferred_origin, event.preferred_magnitude
        final_due = t.final_seen is not None and (force_final or now - t.final_seen >= self.final_wait_s
                                                  or t.final_magnitude)
        if origin is None or pm is None or (t.versioner.version == 0 and pm.value < self.min_magnitude):
            self.counters.below_threshold += 1
            if final_due:
                self._stop(eid, "final")
            return
        spec = map_grid(origin.latitude_deg, origin.longitude_deg, self.half_width_deg, self.grid_step_deg)
        t_meas = time.perf_counter()
        records, motion_docs, usable_ids = await self._records(t, origin, pm.value, spec)
        measure_s = time.perf_counter() - t_meas
        if final_due and t.pending and not (force_final or now - t.final_seen >= self.final_wait_s):
            return  # the final version waits for the windows still coming in (at most final_wait_s)
        from tianshan.products.shakemap.updates import MapBasis

        basis = MapBasis(origin.latitude_deg, origin.longitude_deg, max(0.0, origin.depth_m), pm.value,
                         frozenset(usable_ids))
        decision = t.versioner.decide(basis)
        reasons = list(decision.reasons)
        if t.versioner.version and len(usable_ids) > t.last_count \
                and len(usable_ids) - t.last_count >= self.record_growth * t.last_count:
            reasons.append(f"stations with records {t.last_count} -> {len(usable_ids)} "
                           f"(>= {100 * self.record_growth:g} %)")
        if t.versioner.version == 0 and not reasons:
            reasons.append("first version")
        if final_due:
            reasons.append("final")
        if not reasons:
            self.counters.unchanged += 1
            return
        version = t.versioner.version + 1
        ok = await self._version(eid, t, event, basis, version, final_due, tuple(dict.fromkeys(reasons)), spec,
                                 records, motion_docs, measure_s)
        if final_due and (ok or t.attempts >= self.max_attempts):
            self.counters.finals += 1
            if t.pending:
                self.counters.final_timeouts += 1
            self._stop(eid, "final")

    def _stop(self, eid: str, why: str) -> None:
        self._tracked.pop(eid, None)
        self._finish(eid, why)
        if why != "final":
            self.counters.events_stopped += 1

    def _seed(self, eid: str, t: _Tracked) -> bool:
        """Read the event's stored map versions (restart); True when its final version is stored."""
        from tianshan.products.shakemap.updates import MapBasis, MapVersioner

        t.versioner = MapVersioner(self.rules)
        best = {}
        for p in self.store.products(eid, MAP_KIND):
            if p.properties.get("name") == "summary.json":
                best[p.version] = p
        for v in sorted(best):
            props = best[v].properties
            try:
                basis = MapBasis(float(props["latitude_deg"]), float(props["longitude_deg"]), float(props["depth_m"]),
                                 float(props["magnitude"]), frozenset(props.get("station_ids") or ()))
            except (KeyError, TypeError, ValueError, InputError):
                log.warning("shakemap stage: event %s: map v%d has no readable basis", eid, v)
                continue
            while t.versioner.version < v - 1:  # a version without basis: keep the numbering
                t.versioner.published(basis)
            t.versioner.published(basis)
            t.last_count = len(basis.station_ids)
            if props.get("final") is True:
                return True
        return False

    async def _records(self, t: _Tracked, origin, magnitude: float, spec):
        """Measure the stations whose windows are complete; ``(records, motion documents, usable ids)``."""
        if self._tt is None:
            from tianshan.traveltime.layered import LayeredTravelTime

            self._tt = LayeredTravelTime(self.network.model)
        windows = await asyncio.to_thread(station_windows, origin, magnitude, self.network.stations, spec, self._tt)
        todo = []
        pending = 0
        for sid, (ids, t0, t1, _) in windows.items():
            cached = t.motions.get(sid)
            if cached is not None and abs((cached[0] - t0).total_seconds()) < WINDOW_TOLERANCE_S \
                    and abs((cached[1] - t1).total_seconds()) < WINDOW_TOLERANCE_S:
                continue
            until = await call_source(self.source, self.source.available_until, ids)
            if until is None:
                continue  # no data from this station at all
            if until < t1:
                pending += 1
                continue
            todo.append(sid)
        t.pending = pending
        if todo:
            from obspy import Stream

            stream = Stream()
            for sid in todo:
                ids, t0, t1, _ = windows[sid]
                stream += await call_source(self.source, self.source.window, ids, t0, t1)
            try:
                motions = await self._call(measure, stream)
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - measured again at the next look
                self.counters.measure_errors += 1
                log.exception("shakemap stage: measuring %d stations failed", len(todo))
                motions = []
            by_station: dict[str, list] = {}
            for m in motions:
                by_station.setdefault(f"{m.network}.{m.station}", []).append(m)
            for sid in todo:
                got = by_station.get(sid)
                if not got:
                    continue
                chosen = next((m for m in got if m.usable), got[0])
                t.motions[sid] = (windows[sid][1], windows[sid][2], chosen)
                self.counters.stations_measured += 1
                if not chosen.usable:
                    self.counters.stations_flagged += 1
        stations = {s.station_id: s for s in self.network.stations}
        records, docs, usable = [], [], []
        for sid in sorted(t.motions):
            t0, t1, m = t.motions[sid]
            if sid not in stations:
                continue
            records.append(motion_record(m, stations[sid]))
            docs.append(motion_doc(m, (t0, t1)))
            if m.usable:
                usable.append(sid)
        return records, docs, usable

    # ------------------------------------------------------------------ one version

    async def _version(self, eid, t: _Tracked, event, basis, version: int, final: bool, reasons: tuple, spec,
                       records, motion_docs, measure_s: float) -> bool:
        """Build, store, publish version ``version``; True when it was stored."""
        from tianshan.products.shakemap.build import MapEvent, MapSettings

        base = self.folder / event_folder_name(eid)
        pm, origin = event.preferred_magnitude, event.preferred_origin
        label = (f"{origin.time:%Y-%m-%d %H:%M:%S} UTC {pm.type} {pm.value:.1f} "
                 f"{event.region_name or f'{origin.latitude_deg:.2f}N {origin.longitude_deg:.2f}E'}")
        job = BuildJob(event=MapEvent.from_event(event), records=tuple(records), motions=tuple(motion_docs),
                       map_dir=str(base / "shakemap" / f"v{version}"), report_dir=str(base / "report" / f"v{version}"),
                       version=version, final=final,
                       settings=MapSettings(gmm=self.gmm, vs30=self.vs30, grid=spec, layers=self.layers),
                       region=self.region if self.loss else None, report_formats=self.report_formats,
                       event_label=label)
        try:
            out = await self._call(build_version, job)
        except asyncio.CancelledError:
            raise
        except Exception:  # noqa: BLE001 - tried again at the next look
            self.counters.build_errors += 1
            t.attempts += 1
            t.dirty = t.attempts < self.max_attempts
            log.exception("shakemap stage: event %s: map v%d failed (attempt %d)", eid, version, t.attempts)
            return False
        basis_props = {"version": version, "final": final, "magnitude": pm.value, "magnitude_type": pm.type,
                       "origin_id": origin.id, "latitude_deg": basis.latitude_deg, "longitude_deg": basis.longitude_deg,
                       "depth_m": basis.depth_m, "records_used": len(basis.station_ids),
                       "records_flagged": sum(1 for d in motion_docs if not d["usable"]), "reasons": list(reasons)}
        products = _products(eid, version, out, basis_props, sorted(basis.station_ids))
        try:
            await asyncio.to_thread(lambda: [self.store.save_product(p) for p in products])
        except Exception:  # noqa: BLE001 - store down: the version is built again at the next look
            self.counters.store_errors += 1
            t.attempts += 1
            t.dirty = t.attempts < self.max_attempts
            log.exception("shakemap stage: event %s: storing map v%d failed", eid, version)
            return False
        t.attempts = 0
        t.versioner.published(basis)
        t.last_count = len(basis.station_ids)
        self.counters.versions += 1
        self._count_loss(out)
        out["timings"]["measure"] = measure_s
        self.timings.append({"event_id": eid, "version": version, **{k: round(v, 3) for k, v in out["timings"].items()}})
        log.info("shakemap stage: event %s: intensity map v%d (%s)%s", eid, version, "; ".join(reasons),
                 "" if out.get("loss") is None else f", loss report {out['loss'].get('pager_alert')}",
                 extra={"event_id": eid, "version": version, "timings": out["timings"]})
        await self._publish(eid, version, final, reasons, out, basis_props)
        if version == 1:
            cn = out["summary"].get("max_intensity_cn")
            ok = await emit_timeline(self.on_timeline, eid, "first_intensity_map", None,
                                     datetime.fromtimestamp(self.clock(), timezone.utc),
                                     f"intensity map v1, {pm.type} {pm.value:.1f}, {len(basis.station_ids)} records"
                                     + ("" if cn is None else f", max {cn}"))
            if not ok:
                self.counters.timeline_errors += 1
        return True

    def _count_loss(self, out: dict) -> None:
        if out.get("loss") is not None:
            self.counters.losses += 1
        if out.get("loss_error"):
            self.counters.loss_errors += 1
        if out.get("report_files"):
            self.counters.reports += 1
        if out.get("report_skipped"):
            self.counters.reports_skipped += 1
        if out.get("report_error"):
            self.counters.report_errors += 1

    async def _publish(self, eid: str, version: int, final: bool, reasons: tuple, out: dict, props: dict) -> None:
        messages = [({"kind": MAP_KIND, "event_id": eid, "version": version, "final": final, "reasons": list(reasons),
                      "folder": out["map_dir"], "files": sorted(out["files"]), "magnitude": props["magnitude"],
                      "records_used": props["records_used"], **out["summary"]}, f"map:{eid}:{version}")]
        if out.get("loss") is not None:
            messages.append(({"kind": REPORT_KIND, "event_id": eid, "version": version, "final": final,
                              "folder": out["report_dir"], "files": sorted(out.get("report_files") or ()),
                              **out["loss"]}, f"loss:{eid}:{version}"))
        for payload, key in messages:
            try:
                await self.bus.publish(self.products_subject, payload, key=key)
                self.counters.published += 1
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - stored already; readers can use the store
                self.counters.publish_errors += 1
                log.exception("shakemap stage: publish %s failed", key)

    # ------------------------------------------------------------------ thread or worker process

    async def _call(self, fn, arg):
        """``fn(arg, inventory)`` in the worker process (``processes`` >= 1) or a thread."""
        if self.processes:
            from concurrent.futures.process import BrokenProcessPool

            if self._pool is None:
                self._pool = new_pool(self.processes, self.network, self.worker_nice)
                self._pool.submit(remote, "_warm_up", self.region if self.loss else None)
            pool = self._pool
            try:
                return await asyncio.wrap_future(pool.submit(remote, fn.__name__, arg))
            except BrokenProcessPool:
                self.counters.pool_failures += 1
                log.error("shakemap stage: worker process died; new pool, this computation in a thread")
                if self._pool is pool:
                    self._pool = None
                pool.shutdown(wait=False, cancel_futures=True)
        return await asyncio.to_thread(fn, arg, self.network.inventory)


def _products(eid: str, version: int, out: dict, basis_props: dict, station_ids: list) -> list:
    from tianshan.core.product import Product

    products = []
    for d in out["products"]:
        props = {**d["properties"], **basis_props}
        if d["kind"] == MAP_KIND and props.get("name") == "summary.json":
            props["station_ids"] = station_ids
        if d["kind"] != MAP_KIND:
            props.update(out.get("loss") or {})
        products.append(Product(kind=d["kind"], uri=d["uri"], content_type=d["content_type"], event_id=eid,
                                version=version, sha256=d["sha256"], properties=props))
    return products

"""Streaming magnitude stage: event versions from the bus -> magnitudes in the store and on the bus.

Design
------
:class:`MagnitudeStage` subscribes the events subject (``tianshan.events``: an
:class:`~tianshan.core.Event` per new version, meta ``change`` = ``declared | updated |
split | merged | final | cancelled``, see :mod:`tianshan.stages.events`). The handler does
bookkeeping only: per event it keeps the newest version received, and marks work:

* **declared / split / updated** with a preferred origin not measured yet: an *update* is
  due. Updates of one event are debounced, the interval growing with the event's age: the
  first update runs at once, the next one ``min_interval_s`` (2 s) after it, then, once the
  event has a magnitude, each interval doubles up to ``max_interval_s`` (15 s) -- a new event gets its first magnitude
  within seconds of its first origin, while an event relocated every few seconds for minutes
  costs a computation per 15 s. Versions arriving meanwhile replace the pending one (the
  latest wins, counted in ``coalesced``), so a burst of relocations costs one computation,
  with the newest origin. An update measures only the ``update_max_stations`` (20) stations
  with picks nearest to the current origin (epicentral distance; the window then spans their
  picks only): a magnitude of a 200-station event from its 20 nearest stations is what an
  early report needs, at a tenth of the cost (measured on the 200-station benchmark archive:
  see ``benchmarks/RESULTS.md``, issue 4).
* **final**: one last computation once the whole window the batch chain uses is there
  (``available_until`` of the waveform source reaches the last pick +
  :data:`~tianshan.events.build.pipeline.MAGNITUDE_POST_S`), or ``settle_s`` of wall time
  after the final version arrived, whichever is first (``final_timeouts`` counts the
  latter); the debounce does not hold it back. It measures **every** station with picks
  over the whole window (as the batch chain does: the final catalogue equals the batch
  chain's). After it the event is done: later messages about it are ignored.
* **cancelled / merged**: the event stops being processed (pending work dropped, later
  messages ignored).

One worker task runs the due computations, one at a time: events never measured first (the
first magnitude is the latency that matters), then oldest event first. A computation reads
the window of the batch chain (:func:`event_window`: the streams of the stations with picks,
from the first pick - ``MAGNITUDE_PRE_S`` to the last pick + ``MAGNITUDE_POST_S``) from the
:class:`~tianshan.stages.waveforms.WaveformSource` -- whatever part of it is available so
far -- and runs :func:`tianshan.events.magnitude.compute_magnitudes`. An exception is
counted (``compute_errors``) and logged; the stage goes on.

Where it runs (``processes``): 0 (default) in a thread of this process
(``asyncio.to_thread``: the loop never waits on it, but the computation -- seconds of CPU for
a large final one, much of it Python code holding the GIL -- competes with the picker and
the associator of the same process). ``processes >= 1`` (what ``tianshan run`` uses): in a
pool of that many worker processes (:class:`concurrent.futures.ProcessPoolExecutor`, spawn
start method; started with the stage and warmed up at once, so the first event does not
pay the imports), each at ``nice`` +``worker_nice`` (10): the picker's windows get the CPU
first whenever both want it (the kernel's priority, not a heuristic of this stage), and the
computation no longer takes the daemon's GIL. The worker receives the station list and the
inventory once (initializer), then per computation the origin, picks and either the window
as a Stream (arrays; ring-buffer source) or the archive's root (an
:class:`~tianshan.stages.waveforms.ArchiveWaveforms` source: the worker reads the files
itself, keeping its own incremental index). A worker exits when its parent dies (``kill -9``
of the daemon leaves no orphan); a broken pool is replaced and the computation done in a
thread (``pool_failures``).

What is stored and published
----------------------------
A network magnitude is stored (``store.add_magnitude``, a new version of its type) when it is
the first of its type for the event, when its value moved by at least ``min_change`` (0.05)
-- by any amount in the final computation, so that an event's final magnitude does not
depend on which earlier versions happened to be measured (the same replay gives the same
catalogue in one process or several) -- or its station count changed since the last one
stored of its type, or when it becomes the preferred one while the stored preferred
magnitude is of another type. It is stored as
preferred when it is the computation's preferred magnitude (Mw >= 4 from 2 stations, else
ML...: the rule of ``compute_magnitudes``). The amplitudes its station magnitudes refer to
are linked to the event first (``store.update_event(event_id, amplitudes=...)``). The last
stored magnitude of each type is read back from the store the first time an event is seen,
so a restarted stage does not store unchanged values again. Store failures are counted
(``store_errors``) and the computation is retried after ``min_interval_s`` (at most
``max_attempts`` times per event version).

Every stored magnitude is published on ``tianshan.magnitudes`` as
``codec.encode(magnitude, event_id=..., preferred=bool, final=bool)`` with the stable key
``mag:<event id>:<type>:<version>``. The final computation marks its messages ``final=True``;
when it stores nothing new it republishes the stored preferred magnitude with ``final=True``
(key ``mag:<event id>:final``), so the product stage learns that magnitudes are final.

Timeline: ``first_magnitude`` when the first magnitude of an event is stored (data time = the
end of the data the computation had; wall time = when it was stored).

Buffer size: with :class:`~tianshan.stages.waveforms.BufferWaveforms`, the final computation
reads from the first pick - 30 s while the event is finalised some minutes after its origin
(the associator's ``final_after_s`` + ``quiet_s``): the products' buffers must hold at least
``MAGNITUDE_PRE_S + final_after_s + quiet_s + settle_s`` (600 s is safe with the defaults).
"""

from __future__ import annotations

import asyncio
import dataclasses
import inspect
import logging
import math
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Sequence

from tianshan.bus import subjects
from tianshan.core.errors import InputError
from tianshan.core.event import Event
from tianshan.stages.following import FollowingStage, call_source, niced_pool

log = logging.getLogger(__name__)

#: Kinds of change an events message may carry (meta ``change``).
EVENT_CHANGES = frozenset({"declared", "updated", "split", "merged", "final", "cancelled"})
#: Changes after which an event is no longer processed.
STOP_CHANGES = frozenset({"cancelled", "merged"})


def decode_event_message(msg) -> tuple[Event, str, dict]:
    """``(event, change, meta)`` of an events message; :class:`InputError` for anything else."""
    from tianshan.bus import codec

    obj, meta = codec.decode_with_meta(msg.data)
    if not isinstance(obj, Event):
        raise InputError(f"expected an event, got a {type(obj).__name__}", source=f"bus subject {msg.subject}",
                         field="type")
    change = meta.get("change")
    if change not in EVENT_CHANGES:
        raise InputError(f"unknown or missing change {change!r} (known: {', '.join(sorted(EVENT_CHANGES))})",
                         source=f"bus subject {msg.subject}", field="change")
    return obj, change, meta


def accept_event_message(stage, msg, states: dict) -> tuple[Event, str] | None:
    """The intake rules the magnitude and product stages share, for one events message.

    Decodes ``msg`` (a bad payload is counted in ``stage.counters.bad_payloads`` and its
    :class:`InputError` re-raised for the bus to drop), counts it, stamps
    ``stage._last_activity``; an event the stage has finished is ignored, and a stop change
    (cancelled, merged) drops the event from ``states`` and finishes it. Returns
    ``(event, change)`` when the stage has work to do, else ``None``.
    """
    try:
        event, change, _meta = decode_event_message(msg)
    except InputError:
        stage.counters.bad_payloads += 1
        raise
    stage.counters.events_received += 1
    stage._last_activity = stage.clock()
    if event.id in stage._finished:
        stage.counters.events_ignored += 1
        return None
    if change in STOP_CHANGES:
        states.pop(event.id, None)
        stage._finish(event.id, change)
        stage.counters.events_stopped += 1
        return None
    return event, change


async def emit_timeline(callback, event_id: str, step: str, data_time: datetime | None, wall_time: datetime,
                        detail: str = "") -> bool:
    """Call ``callback(event_id, step, data_time, wall_time, detail)`` (sync or async); False if it failed."""
    if callback is None:
        return True
    try:
        got = callback(event_id, step, data_time, wall_time, detail)
        if inspect.isawaitable(got):
            await got
        return True
    except asyncio.CancelledError:
        raise
    except Exception:  # noqa: BLE001 - a timeline sink never stops a stage
        log.exception("timeline callback failed for %s %s", event_id, step)
        return False


def event_window(event: Event, stations: Sequence, only: set | None = None) -> tuple[list[str], datetime, datetime]:
    """Stream ids and ``[start, end]`` of the magnitude window of ``event`` (as the batch chain reads it).

    From the first pick - ``MAGNITUDE_PRE_S`` to the last pick + ``MAGNITUDE_POST_S``
    (:mod:`tianshan.events.build.pipeline`), the channels (epochs overlapping the window)
    of the stations with picks. ``only``: station ids to restrict it to (their picks set
    the window).
    """
    from tianshan.events.build.pipeline import MAGNITUDE_POST_S, MAGNITUDE_PRE_S

    picks = [p for p in event.picks if only is None or p.stream_id.station_id in only]
    if not picks:
        raise InputError(f"event {event.id} has no picks", field="picks")
    t0 = min(p.time for p in picks) - timedelta(seconds=MAGNITUDE_PRE_S)
    t1 = max(p.time for p in picks) + timedelta(seconds=MAGNITUDE_POST_S)
    with_picks = {p.stream_id.station_id for p in picks}
    ids: list[str] = []
    for st in stations:
        if st.station_id not in with_picks:
            continue
        for ch in st.channels:
            if (ch.start is None or ch.start <= t1) and (ch.end is None or ch.end >= t0):
                sid = str(ch.stream_id)
                if sid not in ids:
                    ids.append(sid)
    return ids, t0, t1


def nearest_station_ids(event: Event, stations: Sequence, n: int) -> set | None:
    """Station ids of the ``n`` stations with picks nearest to the preferred origin (epicentral
    distance, haversine on the sphere: :func:`tianshan.regions.model.haversine_m`); None when the
    event has at most ``n`` stations with picks (all of them are used)."""
    from tianshan.regions.model import haversine_m

    with_picks = {p.stream_id.station_id for p in event.picks}
    if len(with_picks) <= n:
        return None
    o = event.preferred_origin
    dist = {}
    for st in stations:
        if st.station_id in with_picks and st.station_id not in dist:
            dist[st.station_id] = haversine_m(o.latitude_deg, o.longitude_deg, st.latitude_deg, st.longitude_deg)
    return set(sorted(dist, key=lambda sid: (dist[sid], sid))[:n])


@dataclass
class MagnitudeStageCounters:
    """Counts of everything :class:`MagnitudeStage` handled, skipped and failed."""

    events_received: int = 0
    events_ignored: int = 0      #: messages about stopped or done events
    events_stopped: int = 0      #: cancelled / merged
    no_origin: int = 0           #: versions without a preferred origin (nothing to measure)
    bad_payloads: int = 0
    coalesced: int = 0           #: versions replaced by a newer one before being measured
    computations: int = 0
    compute_errors: int = 0
    no_data: int = 0             #: computations that found no waveforms at all
    magnitudes_stored: int = 0
    magnitudes_unchanged: int = 0
    store_errors: int = 0
    published: int = 0
    publish_errors: int = 0
    finals: int = 0              #: final computations done
    final_timeouts: int = 0      #: ... of which ran before the whole window was available
    timeline_errors: int = 0
    expired: int = 0             #: open events forgotten after expire_s without news
    worker_errors: int = 0
    updates_reduced: int = 0     #: updates measured on the nearest update_max_stations only
    pool_failures: int = 0       #: computations whose worker process failed (redone in a thread)

    def as_dict(self) -> dict[str, int]:
        return dataclasses.asdict(self)


@dataclass
class _Tracked:
    event: Event
    dirty: bool = False                   # a computation with the newest origin is due
    measured_origin_id: str | None = None
    last_run: float | None = None         # wall clock of the last computation
    runs: int = 0                         # updates done since the first magnitude (debounce growth)
    final_wall: float | None = None       # wall clock when the final version arrived
    attempts: int = 0                     # failed store attempts for the current version
    last_stored: dict | None = None       # magnitude type -> last stored Magnitude (None: not read yet)
    preferred_type: str | None = None     # type of the stored preferred magnitude
    first_done: bool = False              # first_magnitude reported
    seen: float = 0.0                     # wall clock of the last message about the event

    @property
    def final(self) -> bool:
        return self.final_wall is not None


@dataclass
class _Outcome:
    stored: list = field(default_factory=list)   # (Magnitude as stored, preferred)
    data_end: datetime | None = None
    stations: int = 0                             # stations whose waveforms were read


class MagnitudeStage(FollowingStage):
    """Magnitudes of events as they are declared, relocated and finalised (see the module docstring).

    ``source``: a :class:`~tianshan.stages.waveforms.WaveformSource`; ``network``: a
    :class:`tianshan.events.build.pipeline.Network` (stations and the ObsPy inventory with
    responses). ``store``: an :class:`~tianshan.store.EventStore` or None (magnitudes are then
    published only, versions counted here). ``settle_s``: wall seconds a final event waits for
    its window; ``poll_s``: how often a waiting final event checks the source; ``expire_s``:
    wall seconds after which an open event without news and without pending work is
    forgotten (its final never came); ``config``: a
    :class:`~tianshan.events.magnitude.MagnitudeConfig`; ``clock``: wall time in POSIX
    seconds (debounce, timeouts, timeline). ``min_interval_s`` / ``max_interval_s``: the
    growing debounce of updates; ``update_max_stations``: stations an update measures (0: all);
    ``processes`` / ``worker_nice``: where computations run (see the module docstring).
    """

    task_name = "magnitude-stage"

    def __init__(self, bus, store, source, network, *, events_subject: str = subjects.EVENTS,
                 magnitudes_subject: str = subjects.MAGNITUDES, durable: str | None = "products",
                 min_interval_s: float = 2.0, settle_s: float = 30.0, poll_s: float = 1.0,
                 min_change: float = 0.05, max_attempts: int = 3, expire_s: float = 3600.0, config=None,
                 on_timeline=None, clock: Callable[[], float] = time.time, max_interval_s: float = 15.0,
                 update_max_stations: int = 20, processes: int = 0, worker_nice: int = 10) -> None:
        for name, value in (("min_interval_s", min_interval_s), ("settle_s", settle_s), ("min_change", min_change),
                            ("expire_s", expire_s), ("max_interval_s", max_interval_s)):
            if not (isinstance(value, (int, float)) and math.isfinite(value) and value >= 0):
                raise InputError(f"{name} must be a number >= 0, got {value!r}", field=name)
        if not poll_s > 0 or max_attempts < 1:
            raise InputError("poll_s must be > 0 and max_attempts >= 1", field="poll_s")
        for name, value in (("update_max_stations", update_max_stations), ("processes", processes),
                            ("worker_nice", worker_nice)):
            if not (isinstance(value, int) and value >= 0):
                raise InputError(f"{name} must be an integer >= 0, got {value!r}", field=name)
        self.bus = bus
        self.store = store
        self.source = source
        self.network = network
        self.events_subject = events_subject
        self.magnitudes_subject = magnitudes_subject
        self.durable = durable
        self.min_interval_s = float(min_interval_s)
        self.max_interval_s = max(float(max_interval_s), self.min_interval_s)
        self.update_max_stations = update_max_stations
        self.processes = processes
        self.worker_nice = worker_nice
        self.settle_s = float(settle_s)
        self.poll_s = float(poll_s)
        self.min_change = float(min_change)
        self.max_attempts = int(max_attempts)
        self.expire_s = float(expire_s)
        self.config = config
        self.on_timeline = on_timeline
        self.clock = clock
        self.counters = MagnitudeStageCounters()
        self._tracked: dict[str, _Tracked] = {}
        super().__init__()

    # ------------------------------------------------------------------ life cycle (FollowingStage)

    def _subscriptions(self) -> list:
        return [(self.events_subject, self._on_event, self.durable)]

    def _on_start(self) -> None:
        if self.processes and self._pool is None:
            self._pool = _new_pool(self.processes, self.network, self.worker_nice)
            self._pool.submit(_warm_up)  # spawn + imports now, not at the first event

    async def flush(self) -> None:
        """Compute everything pending now (debounce and window waits ignored): end of a replay."""
        await self._flush_begins()
        while True:
            job = await self._due_job(force=True)
            if job is None:
                return
            await self._run(*job)

    def health(self) -> dict[str, Any]:
        return self._health(self._pending(), len(self._tracked))

    def _pending(self) -> int:
        """Events with a computation due or under way."""
        return sum(1 for t in self._tracked.values() if t.dirty or t.final) + (1 if self._busy else 0)

    # ------------------------------------------------------------------ handler (bookkeeping only)

    async def _on_event(self, msg) -> None:
        accepted = accept_event_message(self, msg, self._tracked)
        if accepted is None:
            return
        event, change = accepted
        eid = event.id
        t = self._tracked.get(eid)
        if t is None:
            t = self._tracked[eid] = _Tracked(event)
        before = t.event.preferred_origin
        t.event = event
        t.seen = self._last_activity
        if event.preferred_origin is None or not event.picks:
            self.counters.no_origin += 1
            if change == "final":
                self._tracked.pop(eid, None)
                self._finish(eid, "final")
            return
        if change == "final" and t.final_wall is None:
            t.final_wall = self.clock()
        if event.preferred_origin.id != t.measured_origin_id:
            if t.dirty and (before is None or before.id != event.preferred_origin.id):
                self.counters.coalesced += 1
            t.dirty = True
            t.attempts = 0
        self._wake.set()

    # ------------------------------------------------------------------ worker

    async def _loop(self) -> None:
        while not self._closing:
            try:
                self._expire()
                job = await self._due_job(force=False)
                if job is not None:
                    await self._run(*job)
                    continue
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - the worker must outlive any one failure
                self.counters.worker_errors += 1
                log.exception("magnitude stage: worker step failed")
            await self._sleep(self._next_wait())

    def _expire(self) -> None:
        """Forget open events not heard of for ``expire_s`` with nothing pending (their final never came)."""
        now = self.clock()
        for eid in [e for e, t in self._tracked.items()
                    if not (t.dirty or t.final) and now - t.seen > self.expire_s]:
            del self._tracked[eid]
            self.counters.expired += 1

    def _next_wait(self) -> float | None:
        """Wall seconds until something may become due (None: only a message can make it so)."""
        now = self.clock()
        waits = []
        for t in self._tracked.values():
            if t.final:
                waits.append(self.poll_s)
            elif t.dirty:
                due = -math.inf if t.last_run is None else t.last_run + self._interval(t)
                waits.append(max(0.0, min(due - now, self.poll_s * 60)))
        return min(waits) if waits else None

    def _interval(self, t: _Tracked) -> float:
        """Debounce after ``t.runs`` updates: ``min_interval_s`` doubled per earlier update, at most
        ``max_interval_s`` (2, 4, 8, 15, 15... s with the defaults). ``runs`` counts only the
        updates after the event's first stored magnitude: while the S waves are not in yet
        (nothing measurable), each new origin is tried again after ``min_interval_s``."""
        return min(self.max_interval_s, self.min_interval_s * 2.0 ** max(0, min(t.runs - 1, 30)))

    async def _due_job(self, force: bool) -> tuple[str, bool] | None:
        """The next ``(event id, final)`` to compute -- events never measured first, then oldest
        event first; None when nothing is due."""
        now = self.clock()
        items = list(self._tracked.items())
        items.sort(key=lambda kv: kv[1].last_run is not None)  # stable: oldest first within each group
        for eid, t in items:
            if t.final:
                if t.attempts and not force and now - t.last_run < self.min_interval_s:
                    continue  # a failed store is retried after min_interval_s
                if force or now - t.final_wall >= self.settle_s:
                    return eid, True
                if await self._window_ready(t):
                    return eid, True
            elif t.dirty and (force or t.last_run is None or now - t.last_run >= self._interval(t)):
                return eid, False
        return None

    async def _window_ready(self, t: _Tracked) -> bool:
        ids, _, t1 = event_window(t.event, self.network.stations)
        try:
            until = await call_source(self.source, self.source.available_until, ids)
        except Exception:  # noqa: BLE001 - a failing source only delays the final computation
            log.exception("magnitude stage: available_until failed")
            return False
        return until is not None and until >= t1

    def _runnable(self, t: _Tracked) -> bool:
        return t.final or t.dirty  # else done by flush meanwhile

    async def _job(self, eid: str, t: _Tracked, final: bool) -> None:
        """One computation of ``t``'s newest version: measure, store, publish; the final one ends the event."""
        event = t.event
        complete = True
        if final:
            complete = self.clock() - t.final_wall < self.settle_s and await self._window_ready(t)
        t.dirty = False
        t.last_run = self.clock()
        t.measured_origin_id = event.preferred_origin.id
        if not final and t.first_done:
            t.runs += 1  # the debounce grows only once the event has a magnitude
        out = None
        try:
            only = None if final or not self.update_max_stations else \
                nearest_station_ids(event, self.network.stations, self.update_max_stations)
            if only is not None:
                self.counters.updates_reduced += 1
            ids, t0, t1 = event_window(event, self.network.stations, only)
            stream = None
            archive = self._archive_spec()
            if archive is None:
                stream = await call_source(self.source, self.source.window, ids, t0, t1)
            if stream is None or len(stream):
                out = await asyncio.to_thread(self._compute_and_store, t, event, stream, t1, final,
                                              archive, ids, t0, only)
            if out is None:
                self.counters.no_data += 1
            else:
                self.counters.computations += 1
        except _StoreFailed:
            self.counters.computations += 1
            self.counters.store_errors += 1
            t.attempts += 1
            if t.attempts < self.max_attempts:
                t.dirty = True  # retried after min_interval_s (a final one too)
                t.measured_origin_id = None
                return
            log.error("magnitude stage: event %s: giving up storing after %d attempts", eid, t.attempts)
        except asyncio.CancelledError:
            raise
        except Exception:  # noqa: BLE001 - one event's failure never stops the stage
            self.counters.compute_errors += 1
            log.exception("magnitude stage: event %s: magnitudes failed", eid)
        if out is not None:
            await self._publish(eid, t, out, final)
        if final:
            self.counters.finals += 1
            if not complete:
                self.counters.final_timeouts += 1
            self._tracked.pop(eid, None)
            self._finish(eid, "final")

    # ------------------------------------------------------------------ computation (worker thread)

    def _archive_spec(self) -> tuple[str, str] | None:
        """``(root, quality)`` when worker processes may read the waveforms themselves (archive source)."""
        from tianshan.stages.waveforms import ArchiveWaveforms

        if self._pool is not None and isinstance(self.source, ArchiveWaveforms):
            return str(self.source.root), self.source.quality
        return None

    def _compute_and_store(self, t: _Tracked, event: Event, stream, t1: datetime, final: bool = False,
                           archive=None, ids=(), t0=None, only=None) -> _Outcome | None:
        """Measure (in the pool when there is one) and store; None when no waveform was found."""
        stations = self.network.stations if only is None else [s for s in self.network.stations
                                                                if s.station_id in only]
        picks = event.picks if only is None else tuple(p for p in event.picks if p.stream_id.station_id in only)
        got = None
        pool = self._pool
        if pool is not None:
            from concurrent.futures.process import BrokenProcessPool

            try:
                got = pool.submit(_remote_measure, event.preferred_origin, picks, [s.station_id for s in stations],
                                  self.config, t1, stream, archive, list(ids), t0).result()
            except BrokenProcessPool:
                self.counters.pool_failures += 1
                log.error("magnitude stage: worker process died; new pool, this computation in a thread")
                if self._pool is pool:
                    self._pool = _new_pool(self.processes, self.network, self.worker_nice)
                pool.shutdown(wait=False, cancel_futures=True)
        if got is None:
            if stream is None:
                stream = self.source.window(ids, t0, t1)
            got = _measure(event.preferred_origin, picks, stream, self.network.inventory, stations, self.config, t1)
        res, data_end, n_stations = got
        if res is None:
            return None
        try:
            stored = self._store(event.id, t, res, final)
        except Exception as err:  # noqa: BLE001 - store down, lock timeout...: retried
            log.warning("magnitude stage: event %s: storing magnitudes failed: %s", event.id, err)
            raise _StoreFailed(str(err)) from err
        return _Outcome(stored, data_end, n_stations)

    def _seed(self, eid: str, t: _Tracked) -> None:
        """Read the magnitudes stored for the event (a restarted stage goes on from them)."""
        t.last_stored = {}
        if self.store is None:
            return
        from tianshan.store.errors import EventNotFoundError

        try:
            stored = self.store.get_event(eid)
        except EventNotFoundError:
            return
        for m in stored.magnitudes:  # oldest first: the newest of each type wins
            t.last_stored[m.type] = m
        if stored.preferred_magnitude_id is not None:
            t.preferred_type = stored.preferred_magnitude.type
        t.first_done = bool(stored.magnitudes)

    def _store(self, eid: str, t: _Tracked, res, final: bool = False) -> list:
        if t.last_stored is None:
            self._seed(eid, t)
        pref_id = None if res.preferred is None else res.preferred.id
        todo = []
        for m in res.magnitudes:
            last = t.last_stored.get(m.type)
            is_pref = m.id == pref_id
            moved = None if last is None else abs(m.value - last.value)
            changed = (last is None or (moved > 0.0 if final else moved >= self.min_change)
                       or m.station_count != last.station_count)
            if changed or (is_pref and t.preferred_type != m.type):
                todo.append((m, is_pref))
            else:
                self.counters.magnitudes_unchanged += 1
        if not todo:
            return []
        out = []
        if self.store is not None:
            refs = {sm.amplitude_id for m, _ in todo for sm in m.station_magnitudes if sm.amplitude_id}
            amps = [a for a in res.amplitudes if a.id in refs]
            if amps:
                self.store.update_event(eid, amplitudes=amps)
        for m, is_pref in todo:
            if self.store is not None:
                new = self.store.add_magnitude(eid, m, preferred=is_pref)
            else:
                last = t.last_stored.get(m.type)
                new = dataclasses.replace(m, version=1 if last is None else last.version + 1)
            t.last_stored[new.type] = new
            if is_pref:
                t.preferred_type = new.type
            self.counters.magnitudes_stored += 1
            out.append((new, is_pref))
        return out

    # ------------------------------------------------------------------ publishing

    async def _publish(self, eid: str, t: _Tracked, out: _Outcome, final: bool) -> None:
        from tianshan.bus import codec

        messages = [(m, pref, f"mag:{eid}:{m.type}:{m.version}") for m, pref in out.stored]
        if final and not messages and t.last_stored and t.preferred_type in t.last_stored:
            messages.append((t.last_stored[t.preferred_type], True, f"mag:{eid}:final"))
        for m, pref, key in messages:
            try:
                await self.bus.publish(self.magnitudes_subject,
                                       codec.encode(m, event_id=eid, preferred=pref, final=final), key=key)
                self.counters.published += 1
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - stored already; the product stage reads the store
                self.counters.publish_errors += 1
                log.exception("magnitude stage: publish %s failed", key)
        if out.stored and not t.first_done:
            t.first_done = True
            m = next((m for m, pref in out.stored if pref), out.stored[0][0])
            ok = await emit_timeline(self.on_timeline, eid, "first_magnitude", out.data_end,
                                     datetime.fromtimestamp(self.clock(), timezone.utc),
                                     f"{m.type} {m.value:.2f} ({m.station_count or 0} stations)")
            if not ok:
                self.counters.timeline_errors += 1


class _StoreFailed(RuntimeError):
    """Storing the magnitudes of a computation failed (retried)."""


# --------------------------------------------------------------------------- computation (any process)

def _measure(origin, picks, stream, inventory, stations, config, t1: datetime):
    """``(MagnitudeResult or None, data end, stations read)`` of one computation; None: no waveforms."""
    from tianshan.events.magnitude import compute_magnitudes

    if not len(stream):
        return None, None, 0
    ends = [tr.stats.endtime.datetime.replace(tzinfo=timezone.utc) for tr in stream]
    data_end = min(max(ends), t1)
    res = compute_magnitudes(origin, picks, stream, inventory, stations, config)
    return res, data_end, len({(tr.stats.network, tr.stats.station) for tr in stream})


#: State of a worker process: inventory, stations by id, archive readers by root.
_WORKER: dict = {}


def _new_pool(processes: int, network, nice: int):
    """The worker process pool (:func:`~tianshan.stages.following.niced_pool`); its workers hold the
    network (sent once)."""
    return niced_pool(processes, nice, _set_worker_state, (network.inventory, list(network.stations)))


def _set_worker_state(state) -> None:
    inventory, stations = state
    _WORKER.update(inventory=inventory, stations={s.station_id: s for s in stations}, archives={})


def _warm_up() -> bool:
    import tianshan.events.magnitude  # noqa: F401 - obspy, scipy and the calibration tables
    from tianshan.stages.waveforms import ArchiveWaveforms  # noqa: F401

    return True


def _remote_measure(origin, picks, station_ids, config, t1, stream, archive, ids, t0):
    """:func:`_measure` in a worker: the window given, or read from the archive ``(root, quality)``."""
    if stream is None:
        from tianshan.stages.waveforms import ArchiveWaveforms

        root, quality = archive
        reader = _WORKER["archives"].get((root, quality))
        if reader is None:
            reader = _WORKER["archives"][(root, quality)] = ArchiveWaveforms(root, quality=quality)
        stream = reader.window(ids, t0, t1)
    stations = [_WORKER["stations"][sid] for sid in station_ids if sid in _WORKER["stations"]]
    return _measure(origin, picks, stream, _WORKER["inventory"], stations, config, t1)

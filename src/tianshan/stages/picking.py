"""Streaming picker: the batch :class:`~tianshan.picks.base.Picker` run on sliding windows of live data.

Design
------
:class:`StreamingPicker` attaches to a :class:`~tianshan.stream.buffers.BufferSet` with
``add_listener``. The listener is called synchronously, inside ``BufferSet.ingest``, so it does
only bookkeeping: per sensor (``NET.STA.LOC`` + band/instrument code, e.g. ``XJ.KSH..HH``) it
tracks the end time of the contiguous data delivered on each component. When every
component of the sensor has advanced by ``step_s`` since the last run, a job
``(sensor, window start, window end)`` is appended to a bounded queue (``max_pending``; the
oldest job is dropped and counted when full) and the worker task is woken. The worker (an
asyncio task started by :meth:`StreamingPicker.start`) cuts the last ``window_s`` seconds from
the buffers (``BufferSet.window``; gaps come back masked and the window is split there: the
masked samples hold stale ring-buffer values, never picked), runs
``picker.pick`` in a thread (``asyncio.to_thread``: the event loop and packet intake never wait
on picking), and publishes new picks. A picker exception is counted (``picker_errors``) and
logged, never raised to the buffer or the loop.

A component whose data stop (dead channel) would stall its sensor; components lagging the
sensor's newest component by more than ``stale_s`` are therefore left out of the "all
components advanced" test (and out of the window, having no data in it).

Which picks are published
-------------------------
Every onset lies in ``window_s / step_s`` successive windows; a pick close to a window's end
was made with truncated data (refinement windows, S search), so only picks at least
``edge_s`` before the window end are published; the next windows see the onset with full
context (requires ``step_s <= window_s - max(edge_s, s_edge_s)``). S picks need more: the
classic picker searches the S up to ``max_sp_s`` (30 s) after the P, so in a window ending
soon after the P it takes the largest energy so far for the S (seen on the test scenario: a
false S 1.7 s after the P, the true one 14 s after). S picks are therefore published only
from windows ending at least ``s_edge_s`` (20 s) after them, and at least ``s_search_s``
after the latest P of their station before them in the same window (default: the picker's
``settings.max_sp_s`` when it has one, else 0: a false S 0.6 s after the P passed the first
rule in a window ending 21 s after the P, with the true S 21.5 s after the P). An S whose P
in the window was not accepted (held back by the window-start rule below, and not published
before) is not published either: the S was searched after a doubtful P. An S more than
about ``window_s - s_edge_s - step_s`` after its P is published only by :meth:`flush`.
:meth:`flush` runs a final window over the newest data of every sensor and publishes all its
picks up to the data's end (end of a replay; the window-start rule still applies).

The start of a window needs the same care: a window that starts in the coda of an event
does not see the event's P, so the picker's re-trigger guard (and the LTA) cannot tell the
coda from an onset (seen on the scenarios: a false P 7 s after the true one, from the window
starting 4 s after the S; an S taken for a P by a window starting 5 s before the P, too
early for the picker to find that P). Picks less than ``lead_s`` (40 s: the classic
picker's LTA, 10 s, plus the longest S-P time it considers, 30 s) after the start of a window
cut from longer data are therefore not published (``start_deferred``); windows that start
earlier see them with their context. A window starting at the sensor's first data has
nothing before it (the batch run starts there too) and publishes from its start. For P
picks ``lead_s`` is reduced to ``window_s - step_s - edge_s``, for S picks to ``window_s -
step_s - s_edge_s`` when larger (30 s with the defaults), so that every onset is still
published by some window.

A pick is new unless a pick of the same station (``NET.STA``) and phase was published within
``dedup_tolerance_s`` (1 s) -- the rule of :func:`tianshan.picks.base.deduplicate_picks`
applied against the history of published picks (kept for ``window_s + step_s``). A new pick is
published on ``subject`` as :func:`tianshan.bus.codec.encode` bytes with a stable ``key``
``pick:<stream id>:<phase>:<time in ms>`` (also used as the pick's ``id``), so a re-publish
after a crash or a redelivery is dropped by the bus's key dedupe.

Latency and throughput knobs
----------------------------
A P onset at data time ``t`` is published by the first window ending at or after
``t + edge_s``; windows end every ``step_s`` of data, when the last packet covering that end
has arrived. So, in data time, a P pick is published between ``edge_s`` and
``edge_s + step_s + packet length`` after its onset (S: the same from
``max(s_edge_s, s_search_s - (S - P))``), plus the picker's run time and the queue wait.
Defaults (``window_s`` 60, ``step_s`` 10, ``edge_s`` 5, ``s_edge_s`` 20) give 5-15 s
(+ a packet) for P. ``lead_s`` costs no latency (it picks which window publishes, not
when). A smaller ``step_s`` lowers
the latency but multiplies the picking work (each sample is picked ``window_s / step_s``
times); a smaller ``edge_s`` publishes from windows that end closer to the onset (less
refinement context, more picks changing between windows). The benchmark helper measures the
resulting figures.

**Packet-to-pick latency.** For every stream the listener keeps a short list of
``(segment end, wall time)`` (the data frontier of that stream and when it was reached; wall
time from the injectable ``clock``, :func:`time.time` by default). When a pick is published,
its latency is the publish wall time minus the wall time at which data covering the pick's
onset first reached its stream (the first list entry ending at or after the onset). The last
10,000 are kept (:meth:`StreamingPicker.latencies_s`); ``on_published(pick, latency_s)`` is
called (in the worker: keep it quick) for each published pick (``latency_s`` None when the arrival of its data is no longer
known, counted in ``latency_unknown``); an exception from it is counted
(``callback_errors``), never raised.

**Data-time clock.** After each window the worker computes the frontier of processed data:
the smallest, over the live sensors (newest data within ``stale_s`` of the newest data of
any sensor: a dead sensor never stalls the clock), of the end of the sensor's last picked
window (the start of its data before its first window). Every window up to that time has
been picked and its picks published. A pick is published by the first window ending at
least ``edge_s`` (P), ``s_edge_s`` and ``s_search_s`` after its P (S) after it, and windows
end every ``step_s`` (+ up to a packet), so a consumer that has seen ``{"source": "picker",
"data_time": T}`` on ``clock_subject`` (:data:`tianshan.bus.subjects.CLOCK`) has seen every
pick the picker will publish with time <= ``T - settle_s`` (:attr:`StreamingPicker.settle_s`
= ``max(edge_s, s_edge_s, s_search_s) + step_s``, 40 s with the defaults and the classic
picker; add one packet length). The clock is published when it has
advanced by ``heartbeat_s`` (data time; default ``step_s``) since the last one, and once more
by :meth:`StreamingPicker.flush` whenever it advanced. A failed publish is counted
(``clock_errors``) and tried again after the next window.

Counters (:attr:`StreamingPicker.counters`): ``windows`` run, ``picks_published``,
``duplicates_suppressed``, ``edge_deferred`` (picks held back near a window end, or an S
before its search ends), ``start_deferred`` (held back near a window start),
``picker_errors``, ``listener_errors``, ``publish_errors``, ``jobs_dropped``,
``latencies_measured``, ``latency_unknown``, ``callback_errors``, ``clock_published``,
``clock_errors``, ``excluded_channel_windows`` (a channel left out of a window, below).

Excluded channels
-----------------
``exclusions``: sources answering ``excluded(stream_id, time) -> reasons`` -- the live QC
(:class:`tianshan.stages.qc.LiveQC`) and/or a QC exclusion list of ``tianshan qc run``
(:class:`tianshan.qc.metrics.exclusion.ExclusionList`). A channel excluded at the end of a
window is left out of that window (counted in ``excluded_channel_windows``; the reasons are
logged when they change).
"""

from __future__ import annotations

import asyncio
import bisect
import collections
import dataclasses
import inspect
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from tianshan.bus import subjects
from tianshan.core.errors import InputError
from tianshan.core.ids import StreamID

log = logging.getLogger(__name__)

_NS = 1_000_000_000


@dataclass
class StreamingPickerCounters:
    windows: int = 0
    picks_published: int = 0
    duplicates_suppressed: int = 0
    edge_deferred: int = 0
    start_deferred: int = 0
    picker_errors: int = 0
    listener_errors: int = 0
    publish_errors: int = 0
    jobs_dropped: int = 0
    latencies_measured: int = 0
    latency_unknown: int = 0
    callback_errors: int = 0
    clock_published: int = 0
    clock_errors: int = 0
    excluded_channel_windows: int = 0

    def as_dict(self) -> dict[str, int]:
        return dataclasses.asdict(self)


@dataclass
class _Sensor:
    ends: dict[str, int] = field(default_factory=dict)       # channel code -> end ns of delivered data
    streams: dict[str, StreamID] = field(default_factory=dict)
    first_ns: int | None = None                              # first sample ever delivered
    last_run_ns: int | None = None                           # end of the last window queued
    done_ns: int | None = None                               # end of the last window picked


@dataclass
class _Arrivals:
    """When the data of one stream reached each end: ``(end ns, wall s)``, ends increasing."""

    entries: collections.deque = field(default_factory=collections.deque)
    dropped_end_ns: int | None = None                        # end of the newest entry dropped


#: Packet-to-pick latencies kept (:meth:`StreamingPicker.latencies_s`).
MAX_LATENCIES = 10_000
#: At most this many (segment end, wall time) entries are kept per stream.
MAX_ARRIVALS = 4096


def _sensor_key(sid: StreamID) -> tuple[str, str, str, str]:
    return (sid.network, sid.station, sid.location, sid.channel[:2])


def stable_pick_key(pick) -> str:
    """``pick:<stream id>:<phase>:<time in ms since the epoch>``: the same onset gives the same key."""
    ms = round(_pick_ns(pick) / 1_000_000)
    return f"pick:{pick.stream_id}:{pick.phase}:{ms}"


class StreamingPicker:
    """Run ``picker`` on the last ``window_s`` seconds of each sensor every ``step_s`` seconds of data.

    See the module docstring for the design. Use::

        sp = StreamingPicker(ClassicPicker(), bus)
        sp.attach(buffers)
        await sp.start()
        ...                      # buffers.ingest(...) from the acquisition
        await sp.drain()         # (tests/replays) wait until queued windows are picked
        await sp.close()

    ``clock`` (wall time, POSIX seconds; :func:`time.time`) is injectable for tests;
    ``on_published(pick, latency_s)`` (a function or coroutine function) is called for every
    published pick; ``heartbeat_s`` (data seconds, default ``step_s``) spaces the data-time
    clock published on ``clock_subject`` (None: no clock messages). ``lead_s`` and
    ``s_search_s`` are the window-start and S-search rules of the module docstring;
    :meth:`close` waits up to ``close_timeout_s`` for the window being picked.
    """

    def __init__(self, picker, bus, *, window_s: float = 60.0, step_s: float = 10.0,
                 subject: str = subjects.PICKS, edge_s: float = 5.0, s_edge_s: float = 20.0, stale_s: float = 30.0,
                 dedup_tolerance_s: float = 1.0, max_pending: int = 1000,
                 clock: Callable[[], float] = time.time,
                 on_published: Callable[..., object] | None = None,
                 heartbeat_s: float | None = None, clock_subject: str | None = subjects.CLOCK,
                 lead_s: float = 40.0, s_search_s: float | None = None,
                 close_timeout_s: float = 30.0, exclusions=()) -> None:
        if not window_s > 0:
            raise InputError(f"window must be > 0 s, got {window_s}", field="window_s")
        if not 0 < step_s <= window_s - max(edge_s, s_edge_s):
            raise InputError(f"need 0 < step_s <= window_s - max(edge_s, s_edge_s), got step {step_s} s, "
                             f"window {window_s} s, edges {edge_s} s, {s_edge_s} s", field="step_s")
        if (edge_s < 0 or s_edge_s < 0 or lead_s < 0 or (s_search_s is not None and s_search_s < 0)
                or stale_s <= 0 or dedup_tolerance_s < 0 or max_pending < 1):
            raise InputError("edge_s, s_edge_s, lead_s, s_search_s, dedup_tolerance_s must be >= 0, "
                             "stale_s > 0, max_pending >= 1", field="edge_s")
        heartbeat_s = step_s if heartbeat_s is None else heartbeat_s
        if not heartbeat_s >= 0:
            raise InputError(f"heartbeat_s must be >= 0, got {heartbeat_s}", field="heartbeat_s")
        self.picker = picker
        self.bus = bus
        self.window_s = float(window_s)
        self.step_s = float(step_s)
        self.subject = subject
        self.edge_s = float(edge_s)
        self.s_edge_s = float(s_edge_s)
        self.lead_s = float(lead_s)
        self._p_lead_ns = round(min(lead_s, window_s - step_s - edge_s) * _NS)
        self._s_lead_ns = round(min(lead_s, window_s - step_s - s_edge_s) * _NS)
        if s_search_s is None:
            s_search_s = float(getattr(getattr(picker, "settings", None), "max_sp_s", 0.0) or 0.0)
        self.s_search_s = float(s_search_s)
        self.stale_s = float(stale_s)
        self.dedup_tolerance_s = float(dedup_tolerance_s)
        self.max_pending = int(max_pending)
        self.clock = clock
        self.on_published = on_published
        self.heartbeat_s = float(heartbeat_s)
        self.clock_subject = clock_subject
        self.close_timeout_s = float(close_timeout_s)
        self.counters = StreamingPickerCounters()
        self.exclusions = (() if exclusions is None else tuple(exclusions) if isinstance(exclusions, (list, tuple))
                           else (exclusions,))
        self._excluded_logged: dict[StreamID, tuple[str, ...]] = {}
        self._arrivals: dict[StreamID, _Arrivals] = {}
        self._max_done_ns: int | None = None       # newest window end picked
        self._latencies: collections.deque = collections.deque(maxlen=MAX_LATENCIES)
        self._clock_ns: int | None = None          # data time of the last clock published
        self._last_activity: float | None = None   # wall time of the last window picked
        self._closing = False
        self._buffers = None
        self._sensors: dict[tuple[str, str, str, str], _Sensor] = {}
        self._jobs: collections.deque = collections.deque()
        self._published: dict[str, list[tuple[str, int]]] = collections.defaultdict(list)  # station -> (phase, ns)
        self._wake: asyncio.Event | None = None
        self._idle: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task | None = None

    # ------------------------------------------------------------------ wiring

    def attach(self, buffers) -> None:
        """Listen to ``buffers`` (a :class:`~tianshan.stream.buffers.BufferSet`)."""
        self._buffers = buffers
        buffers.add_listener(self.on_segment)

    async def start(self) -> None:
        """Start the worker task on the running loop."""
        if self._task is not None:
            return
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()
        if self._jobs:
            self._wake.set()
        else:
            self._idle.set()
        self._task = asyncio.create_task(self._worker(), name="streaming-picker")

    async def drain(self) -> None:
        """Wait until every queued window has been picked and published."""
        if self._task is None:
            raise RuntimeError("StreamingPicker not started")
        await asyncio.sleep(0)
        while self._jobs or not self._idle.is_set():
            if self._task is None or self._task.done():
                return  # closed: nothing will pick the rest
            await self._idle.wait()
            await asyncio.sleep(0)

    async def flush(self) -> None:
        """Pick the newest ``window_s`` of every sensor once more, publishing picks up to the data's end."""
        for key, sensor in self._sensors.items():
            end = self._common_end(sensor)
            if end is not None:
                self._enqueue((key, max(sensor.first_ns, end - round(self.window_s * _NS)), end, True))
        await self.drain()
        await self._heartbeat(force=True)

    async def close(self) -> None:
        """Stop the worker after the window it is picking (queued windows are discarded).

        Waits up to ``close_timeout_s`` for the current window, then cancels.
        """
        self._closing = True  # the listener ignores new data from now on
        if self._task is None:
            return
        self._wake.set()
        task, self._task = self._task, None
        try:
            await asyncio.wait_for(asyncio.shield(task), self.close_timeout_s)
        except TimeoutError:
            task.cancel()
            try:
                await task
            except asyncio.CancelledError:
                pass

    # ------------------------------------------------------------------ observation

    @property
    def settle_s(self) -> float:
        """Seconds behind the data-time clock after which every pick is published (+ a packet)."""
        return max(self.edge_s, self.s_edge_s, self.s_search_s) + self.step_s

    def latencies_s(self) -> list[float]:
        """The last (up to 10,000) packet-to-pick latencies, seconds, oldest first."""
        return list(self._latencies)

    def data_frontier(self) -> datetime | None:
        """Newest data end (time of the last sample) delivered on any stream; None before any data."""
        ends = [e for sensor in self._sensors.values() for e in sensor.ends.values()]
        return _ns_datetime(max(ends)) if ends else None

    def processed_frontier(self) -> datetime | None:
        """The data-time clock (see the module docstring): every window up to it was picked."""
        ns = self._processed_ns()
        return None if ns is None else _ns_datetime(ns)

    def health(self) -> dict:
        """``ok`` (worker running), ``pending`` windows, ``last_activity`` (wall, ISO), frontiers."""
        running = self._task is not None and not self._task.done() and not self._closing
        frontier = self.data_frontier()
        clock = self.processed_frontier()
        return {"ok": running, "pending": len(self._jobs),
                "last_activity": None if self._last_activity is None
                else datetime.fromtimestamp(self._last_activity, timezone.utc).isoformat(),
                "data_frontier": None if frontier is None else frontier.isoformat(),
                "processed_frontier": None if clock is None else clock.isoformat()}

    # ------------------------------------------------------------------ listener (synchronous)

    def _common_end(self, sensor: _Sensor) -> int | None:
        if not sensor.ends:
            return None
        newest = max(sensor.ends.values())
        live = [e for e in sensor.ends.values() if newest - e <= self.stale_s * _NS]
        return min(live)

    def on_segment(self, seg) -> None:
        """BufferSet listener: bookkeeping only; queues a window when one is due (never raises)."""
        if self._closing:
            return
        try:
            sid = seg.stream_id
            key = _sensor_key(sid)
            sensor = self._sensors.get(key)
            if sensor is None:
                sensor = self._sensors[key] = _Sensor()
            sensor.streams[sid.channel] = sid
            if sensor.first_ns is None or seg.start_ns < sensor.first_ns:
                sensor.first_ns = seg.start_ns
            previous = sensor.ends.get(sid.channel)
            if previous is None or seg.end_ns > previous:
                self._arrived(sid, seg.end_ns, sensor)
                sensor.ends[sid.channel] = seg.end_ns
            end = self._common_end(sensor)
            since = sensor.first_ns if sensor.last_run_ns is None else sensor.last_run_ns
            if end is not None and end - since >= round(self.step_s * _NS):
                sensor.last_run_ns = end
                start = max(sensor.first_ns, end - round(self.window_s * _NS))
                self._enqueue((key, start, end, False))
        except Exception:  # noqa: BLE001 - a listener must never break packet intake
            self.counters.listener_errors += 1
            log.exception("streaming picker: listener failed")

    def _arrived(self, sid: StreamID, end_ns: int, sensor: _Sensor) -> None:
        """Remember when the data of ``sid`` first reached ``end_ns``.

        Entries older than any window still to be picked (the sensor's last picked window end
        minus ``window_s + step_s``) are dropped, and at most :data:`MAX_ARRIVALS` are kept.
        """
        arrivals = self._arrivals.get(sid)
        if arrivals is None:
            arrivals = self._arrivals[sid] = _Arrivals()
        entries = arrivals.entries
        entries.append((end_ns, self.clock()))
        done = sensor.done_ns if sensor.done_ns is not None else sensor.first_ns
        horizon = done - round((self.window_s + self.step_s) * _NS)
        while len(entries) > 1 and (entries[0][0] < horizon or len(entries) > MAX_ARRIVALS):
            arrivals.dropped_end_ns = entries.popleft()[0]

    def _arrival_wall(self, sid: StreamID, t_ns: int) -> float | None:
        """Wall time at which data covering ``t_ns`` first reached ``sid`` (None: not known)."""
        arrivals = self._arrivals.get(sid)
        if arrivals is None or (arrivals.dropped_end_ns is not None and arrivals.dropped_end_ns >= t_ns):
            return None  # the entry that first covered t_ns was dropped
        entries = arrivals.entries
        i = bisect.bisect_left(entries, t_ns, key=lambda e: e[0])
        return entries[i][1] if i < len(entries) else None

    def _enqueue(self, job) -> None:
        if len(self._jobs) >= self.max_pending:
            self._jobs.popleft()
            self.counters.jobs_dropped += 1
        self._jobs.append(job)
        if self._wake is None:
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is self._loop:
            self._signal()
        else:  # called from another thread
            self._loop.call_soon_threadsafe(self._signal)

    def _signal(self) -> None:
        self._idle.clear()
        self._wake.set()

    # ------------------------------------------------------------------ worker

    async def _worker(self) -> None:
        while not self._closing:
            if not self._jobs:
                self._idle.set()
                await self._wake.wait()
                self._wake.clear()
                continue
            self._idle.clear()
            job = self._jobs.popleft()
            try:
                await self._run(*job)
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - one bad window never stops the stage
                self.counters.picker_errors += 1
                log.exception("streaming picker: window %s failed", ".".join(job[0]))
            sensor = self._sensors.get(job[0])
            if sensor is not None:
                sensor.done_ns = job[2] if sensor.done_ns is None else max(sensor.done_ns, job[2])
                self._max_done_ns = max(job[2], self._max_done_ns or job[2])
            self._last_activity = self.clock()
            await self._heartbeat(force=False)
        self._idle.set()

    def _processed_ns(self) -> int | None:
        ends = [max(s.ends.values()) for s in self._sensors.values() if s.ends]
        if not ends:
            return None
        live_after = max(ends) - round(self.stale_s * _NS)
        marks = [s.done_ns if s.done_ns is not None else s.first_ns
                 for s in self._sensors.values() if s.ends and max(s.ends.values()) >= live_after]
        return min(marks) if marks else None

    async def _heartbeat(self, *, force: bool) -> None:
        """Publish the data-time clock when it advanced by ``heartbeat_s`` (any advance if ``force``)."""
        if self.clock_subject is None:
            return
        heartbeat_ns = round(self.heartbeat_s * _NS)
        if (not force and self._clock_ns is not None and self._max_done_ns is not None
                and self._max_done_ns - self._clock_ns < heartbeat_ns):
            return  # cannot be due yet (the clock is at most the newest window end)
        ns = self._processed_ns()
        if ns is None or (self._clock_ns is not None and ns <= self._clock_ns):
            return
        if not force and self._clock_ns is not None and ns - self._clock_ns < heartbeat_ns:
            return
        iso = _ns_datetime(ns).isoformat().replace("+00:00", "Z")
        try:
            await self.bus.publish(self.clock_subject, {"source": "picker", "data_time": iso},
                                   key=f"clock:picker:{ns}")
        except asyncio.CancelledError:
            raise
        except Exception:  # noqa: BLE001 - a missed heartbeat is counted; the next window tries again
            self.counters.clock_errors += 1
            log.exception("streaming picker: clock publish failed")
            return
        self._clock_ns = ns
        self.counters.clock_published += 1

    def _cut(self, key, start_ns: int, end_ns: int):
        import numpy as np
        from obspy import Stream, UTCDateTime

        sensor = self._sensors[key]
        st = Stream()
        t0, t1 = UTCDateTime(ns=start_ns), UTCDateTime(ns=end_ns)
        for sid in sensor.streams.values():
            if self._is_excluded(sid, t1):
                continue
            tr = self._buffers.window(sid, t0, t1)
            if tr is not None:
                # gaps come back masked: pick the contiguous pieces, never the masked fill
                st.extend(tr.split() if isinstance(tr.data, np.ma.MaskedArray) else [tr])
        return st

    def _is_excluded(self, sid: StreamID, t) -> bool:
        """Whether a QC source excludes ``sid`` at ``t`` (counted; reasons logged when they change)."""
        reasons: tuple[str, ...] = ()
        for source in self.exclusions:
            reasons += tuple(source.excluded(sid, t))
        if reasons != self._excluded_logged.get(sid, ()):
            if reasons:
                log.warning("streaming picker: %s excluded by QC: %s", sid, "; ".join(reasons))
            else:
                log.info("streaming picker: %s back in the windows", sid)
            self._excluded_logged[sid] = reasons
        if reasons:
            self.counters.excluded_channel_windows += 1
        return bool(reasons)

    async def _run(self, key, start_ns: int, end_ns: int, final: bool) -> None:
        stream = self._cut(key, start_ns, end_ns)
        if not len(stream):
            return
        self.counters.windows += 1
        try:
            picks = await asyncio.to_thread(self.picker.pick, stream)
        except asyncio.CancelledError:
            raise
        except Exception:  # noqa: BLE001 - picker failures are counted, never raised
            self.counters.picker_errors += 1
            log.exception("streaming picker: picker %r failed on %s", self.picker, ".".join(key))
            return
        p_limit = end_ns if final else end_ns - round(self.edge_s * _NS)
        s_limit = end_ns if final else end_ns - round(self.s_edge_s * _NS)
        search_ns = round(self.s_search_s * _NS)
        cut = start_ns > self._sensors[key].first_ns  # the window starts after the sensor's first data
        last_p: dict[str, tuple[int, bool]] = {}  # station -> (latest P in this window, accepted?)
        for pick in sorted(picks, key=lambda p: p.time):
            t_ns = _pick_ns(pick)
            station = pick.stream_id.station_id
            if pick.phase.upper().startswith("S"):
                p = last_p.get(station)
                if t_ns > s_limit or (p is not None and not final and p[0] + search_ns > end_ns):
                    self.counters.edge_deferred += 1
                elif (not p[1]) if p is not None else (cut and t_ns < start_ns + self._s_lead_ns):
                    self.counters.start_deferred += 1  # its P was not accepted / too close to the start
                else:
                    await self._publish(pick, t_ns, start_ns)
                continue
            if t_ns > p_limit:
                self.counters.edge_deferred += 1
                last_p[station] = (t_ns, False)
            elif self._seen(station, pick.phase, t_ns, start_ns):
                self.counters.duplicates_suppressed += 1
                last_p[station] = (t_ns, True)
            elif cut and t_ns < start_ns + self._p_lead_ns:
                self.counters.start_deferred += 1
                last_p[station] = (t_ns, False)
            else:
                last_p[station] = (t_ns, await self._publish(pick, t_ns, start_ns))

    def _seen(self, station: str, phase: str, t_ns: int, window_start_ns: int) -> bool:
        """Whether a pick of ``station`` and ``phase`` was published within ``dedup_tolerance_s`` of ``t_ns``."""
        history = self._published[station]
        horizon = window_start_ns - round((self.window_s + self.step_s) * _NS)
        history[:] = [h for h in history if h[1] >= horizon]
        tol = round(self.dedup_tolerance_s * _NS)
        phase = phase.upper()
        return any(ph == phase and abs(t - t_ns) <= tol for ph, t in history)

    async def _publish(self, pick, t_ns: int, window_start_ns: int) -> bool:
        """Publish ``pick`` unless already published; True when it is on the bus (now or before)."""
        from tianshan.bus import codec

        station = pick.stream_id.station_id
        phase = pick.phase.upper()
        if self._seen(station, phase, t_ns, window_start_ns):
            self.counters.duplicates_suppressed += 1
            return True
        key = stable_pick_key(pick)
        pick = dataclasses.replace(pick, id=key)
        try:
            await self.bus.publish(self.subject, codec.encode(pick), key=key)
        except asyncio.CancelledError:
            raise
        except Exception:  # noqa: BLE001 - a bus outage is counted; the pick may come again next window
            self.counters.publish_errors += 1
            log.exception("streaming picker: publish of %s failed", key)
            return False
        published_at = self.clock()
        self._published[station].append((phase, t_ns))
        self.counters.picks_published += 1
        arrived = self._arrival_wall(pick.stream_id, t_ns)
        latency = None
        if arrived is None:
            self.counters.latency_unknown += 1
        else:
            latency = max(0.0, published_at - arrived)
            self._latencies.append(latency)
            self.counters.latencies_measured += 1
        if self.on_published is not None:
            try:
                result = self.on_published(pick, latency)
                if inspect.isawaitable(result):
                    await result
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - a consumer's callback never breaks the stage
                self.counters.callback_errors += 1
                log.exception("streaming picker: on_published callback failed for %s", key)
        return True


_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def _pick_ns(pick) -> int:
    return ((pick.time - _EPOCH) // timedelta(microseconds=1)) * 1000


def _ns_datetime(ns: int) -> datetime:
    return _EPOCH + timedelta(microseconds=ns // 1000)

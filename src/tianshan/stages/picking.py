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
the buffers (``BufferSet.window``; gaps come back masked and the picker skips them), runs
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
from windows ending at least ``s_edge_s`` (20 s) after them; an S more than about
``window_s - s_edge_s - step_s`` after its P is published only by :meth:`flush`. :meth:`flush` runs a final window over the
newest data of every sensor and publishes all its picks (end of a replay).

A pick is new unless a pick of the same station (``NET.STA``) and phase was published within
``dedup_tolerance_s`` (1 s) -- the rule of :func:`tianshan.picks.base.deduplicate_picks`
applied against the history of published picks (kept for ``window_s + step_s``). A new pick is
published on ``subject`` as :func:`tianshan.bus.codec.encode` bytes with a stable ``key``
``pick:<stream id>:<phase>:<time in ms>`` (also used as the pick's ``id``), so a re-publish
after a crash or a redelivery is dropped by the bus's key dedupe.

Counters (:attr:`StreamingPicker.counters`): ``windows`` run, ``picks_published``,
``duplicates_suppressed``, ``edge_deferred`` (picks held back near a window end),
``picker_errors``, ``listener_errors``, ``publish_errors``, ``jobs_dropped``.
"""

from __future__ import annotations

import asyncio
import collections
import dataclasses
import logging
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
    picker_errors: int = 0
    listener_errors: int = 0
    publish_errors: int = 0
    jobs_dropped: int = 0

    def as_dict(self) -> dict[str, int]:
        return dataclasses.asdict(self)


@dataclass
class _Sensor:
    ends: dict[str, int] = field(default_factory=dict)       # channel code -> end ns of delivered data
    streams: dict[str, StreamID] = field(default_factory=dict)
    first_ns: int | None = None                              # first sample ever delivered
    last_run_ns: int | None = None                           # end of the last window queued


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
    """

    def __init__(self, picker, bus, *, window_s: float = 60.0, step_s: float = 10.0,
                 subject: str = subjects.PICKS, edge_s: float = 5.0, s_edge_s: float = 20.0, stale_s: float = 30.0,
                 dedup_tolerance_s: float = 1.0, max_pending: int = 1000) -> None:
        if not window_s > 0:
            raise InputError(f"window must be > 0 s, got {window_s}", field="window_s")
        if not 0 < step_s <= window_s - max(edge_s, s_edge_s):
            raise InputError(f"need 0 < step_s <= window_s - max(edge_s, s_edge_s), got step {step_s} s, "
                             f"window {window_s} s, edges {edge_s} s, {s_edge_s} s", field="step_s")
        if edge_s < 0 or s_edge_s < 0 or stale_s <= 0 or dedup_tolerance_s < 0 or max_pending < 1:
            raise InputError("edge_s, dedup_tolerance_s must be >= 0, stale_s > 0, max_pending >= 1",
                             field="edge_s")
        self.picker = picker
        self.bus = bus
        self.window_s = float(window_s)
        self.step_s = float(step_s)
        self.subject = subject
        self.edge_s = float(edge_s)
        self.s_edge_s = float(s_edge_s)
        self.stale_s = float(stale_s)
        self.dedup_tolerance_s = float(dedup_tolerance_s)
        self.max_pending = int(max_pending)
        self.counters = StreamingPickerCounters()
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
            await self._idle.wait()
            await asyncio.sleep(0)

    async def flush(self) -> None:
        """Pick the newest ``window_s`` of every sensor once more, publishing picks up to the data's end."""
        for key, sensor in self._sensors.items():
            end = self._common_end(sensor)
            if end is not None:
                self._enqueue((key, max(sensor.first_ns, end - round(self.window_s * _NS)), end, True))
        await self.drain()

    async def close(self) -> None:
        """Stop the worker (queued windows not yet picked are discarded)."""
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            self._task = None

    # ------------------------------------------------------------------ listener (synchronous)

    def _common_end(self, sensor: _Sensor) -> int | None:
        if not sensor.ends:
            return None
        newest = max(sensor.ends.values())
        live = [e for e in sensor.ends.values() if newest - e <= self.stale_s * _NS]
        return min(live)

    def on_segment(self, seg) -> None:
        """BufferSet listener: bookkeeping only; queues a window when one is due (never raises)."""
        try:
            sid = seg.stream_id
            key = _sensor_key(sid)
            sensor = self._sensors.get(key)
            if sensor is None:
                sensor = self._sensors[key] = _Sensor()
            sensor.streams[sid.channel] = sid
            sensor.ends[sid.channel] = max(sensor.ends.get(sid.channel, seg.end_ns), seg.end_ns)
            if sensor.first_ns is None or seg.start_ns < sensor.first_ns:
                sensor.first_ns = seg.start_ns
            end = self._common_end(sensor)
            since = sensor.first_ns if sensor.last_run_ns is None else sensor.last_run_ns
            if end is not None and end - since >= round(self.step_s * _NS):
                sensor.last_run_ns = end
                start = max(sensor.first_ns, end - round(self.window_s * _NS))
                self._enqueue((key, start, end, False))
        except Exception:  # noqa: BLE001 - a listener must never break packet intake
            self.counters.listener_errors += 1
            log.exception("streaming picker: listener failed")

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
        while True:
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

    def _cut(self, key, start_ns: int, end_ns: int):
        from obspy import Stream, UTCDateTime

        sensor = self._sensors[key]
        st = Stream()
        t0, t1 = UTCDateTime(ns=start_ns), UTCDateTime(ns=end_ns)
        for sid in sensor.streams.values():
            tr = self._buffers.window(sid, t0, t1)
            if tr is not None:
                st.append(tr)
        return st

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
        for pick in sorted(picks, key=lambda p: p.time):
            t_ns = _pick_ns(pick)
            if t_ns > (s_limit if pick.phase.upper().startswith("S") else p_limit):
                self.counters.edge_deferred += 1
                continue
            await self._publish(pick, t_ns, start_ns)

    async def _publish(self, pick, t_ns: int, window_start_ns: int) -> None:
        from tianshan.bus import codec

        station = pick.stream_id.station_id
        phase = pick.phase.upper()
        history = self._published[station]
        horizon = window_start_ns - round((self.window_s + self.step_s) * _NS)
        history[:] = [h for h in history if h[1] >= horizon]
        tol = round(self.dedup_tolerance_s * _NS)
        if any(ph == phase and abs(t - t_ns) <= tol for ph, t in history):
            self.counters.duplicates_suppressed += 1
            return
        key = stable_pick_key(pick)
        pick = dataclasses.replace(pick, id=key)
        try:
            await self.bus.publish(self.subject, codec.encode(pick), key=key)
        except asyncio.CancelledError:
            raise
        except Exception:  # noqa: BLE001 - a bus outage is counted; the pick may come again next window
            self.counters.publish_errors += 1
            log.exception("streaming picker: publish of %s failed", key)
            return
        history.append((phase, t_ns))
        self.counters.picks_published += 1


_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def _pick_ns(pick) -> int:
    return ((pick.time - _EPOCH) // timedelta(microseconds=1)) * 1000

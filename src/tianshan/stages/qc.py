"""Live QC: rolling per-channel metrics on the incoming data; failing channels are excluded from picking.

:class:`LiveQC` listens to a :class:`~tianshan.stream.buffers.BufferSet` (``add_listener``;
called synchronously inside ``BufferSet.ingest``, so the per-segment work is a few numpy
operations on the new samples) and keeps, per stream, over the last ``window_s`` seconds of
data:

* **availability** -- samples received / samples expected, percent (MUSTANG
  ``percent_availability`` over the rolling window; while less than ``window_s`` of data has
  come since the stream's first sample, over that shorter span) and the number of gaps;
* **spikes** -- MUSTANG ``num_spikes``: runs of Hampel outliers, window 41 samples, threshold
  10 scaled MADs (:func:`tianshan.qc.metrics.daily.hampel_outliers`; the last 40 samples of the
  previous contiguous segment are carried over, so every sample is tested once with a full
  window);
* **flat (dead) channel** -- the length of the current run of identical samples (MUSTANG
  ``sample_rms == 0`` over that run: "RMS values that abruptly drop to zero ... can indicate a
  broken channel or sensor");
* **latency** -- arrival wall time minus the time of the newest sample, compared with the
  median over the streams seen in the last minute, so that a replay of old data (every stream
  equally late) excludes nothing while one station lagging the network is caught;
* **stalled** -- no data for ``max_stall_s`` of wall time while other streams keep delivering
  (checked every ``check_interval_s`` by :meth:`LiveQC.check`, which :meth:`LiveQC.start`
  runs as a task).

Rules (:class:`LiveQCConfig`; a rule with threshold ``None`` is off). The spike rule is **off by
default** (spikes are still counted and shown in the health document): on quiet, quantised
channels the Hampel MAD collapses towards zero and ordinary noise steps and impulsive P onsets
count as spikes -- on the 200-station real-time benchmark (600 clean simulated channels, three
earthquakes, 10 min) a threshold of 10 spikes per 5 min counted 12,188 "spikes" and excluded
102 healthy channels, which held back event declaration (``benchmarks/RESULTS.md``). Turn it on
(``max_spikes``) only for networks whose channels are known to be well above the digitiser's
resolution. The rules: availability below
``min_availability_pct`` (50 %, the batch rule of :data:`tianshan.qc.metrics.exclusion.DEFAULT_RULES`),
more than ``max_spikes`` spikes in the window, a flat run of ``max_flat_s`` or more, latency
more than ``max_latency_s`` above the network median, stalled. A stream is **excluded** as
soon as one rule fires and **included** again once no rule has fired for ``recover_s`` of its
data (hysteresis: a flapping channel stays out). Each change is logged (warning with the
reasons / info) and counted, and published as a :class:`~tianshan.core.qc.QCRecord` on
``subject`` (:data:`tianshan.bus.subjects.QC`): an exclusion with the kind of its first reason,
span = the rolling window up to the exclusion, detail :data:`EXCLUDED` + reasons; an inclusion
with the same kind, span = the whole exclusion, the metric's value at inclusion, detail
:data:`INCLUDED` + the reasons it had.

**Latency snapshots** (for station status outside the daemon: ``tianshan serve`` reads them from
the store): every ``latency_snapshot_s`` of wall time, per station, the data latency -- wall time
minus the newest sample of any of its streams (grows while a station is stalled) -- is published as
a QC record of kind ``latency`` (start = newest sample, end = now, value = latency in s; detail: the
arrival delay of that packet and the number of streams) when it is the station's first, when it
crossed a class bound of :data:`LATENCY_CLASSES_S` (the dashboard's colours), changed by at least
half (and :data:`LATENCY_MIN_CHANGE_S`), or ``latency_heartbeat_s`` has passed since the station's
last one: a steady network writes one row per station per heartbeat, not one per snapshot.

:class:`QCRecorder` (a stage of the process that holds the event store) subscribes to ``subject``
and saves these records in the store's ``qc_records`` table, in batches.

:meth:`LiveQC.excluded` (stream, time) answers like
:meth:`tianshan.qc.metrics.exclusion.ExclusionList.excluded`: the reasons the stream is
excluded at that data time (empty when it is not), from the exclusion intervals kept for
``history_s``. The streaming picker takes any such source (``exclusions=``) and leaves the
excluded channels out of its windows.
"""

from __future__ import annotations

import asyncio
import collections
import dataclasses
import logging
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

import numpy as np

from tianshan.bus import subjects
from tianshan.core.errors import InputError
from tianshan.core.ids import StreamID
from tianshan.qc.metrics.daily import SPIKE_THRESHOLD, SPIKE_WINDOW, hampel_outliers

log = logging.getLogger(__name__)

_NS = 1_000_000_000
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)

#: Detail prefixes of the live exclusion / inclusion records (readers tell them from batch findings).
EXCLUDED = "excluded from processing: "
INCLUDED = "included in processing again: "
#: Class bounds of a station's data latency (s): the dashboard's ok < 10 <= slow <= 60 < late.
LATENCY_CLASSES_S = (10.0, 60.0)
#: A station's latency snapshot is written when it changed by at least this much (s) and by half.
LATENCY_MIN_CHANGE_S = 2.0


@dataclass(frozen=True)
class LiveQCConfig:
    """Thresholds of the live rules (module docstring); ``None`` turns a rule off."""

    window_s: float = 300.0
    min_availability_pct: float | None = 50.0
    max_spikes: int | None = None
    max_flat_s: float | None = 60.0
    max_latency_s: float | None = 120.0
    max_stall_s: float | None = 120.0
    recover_s: float = 120.0
    check_interval_s: float = 5.0
    history_s: float = 3600.0
    latency_snapshot_s: float | None = 30.0
    latency_heartbeat_s: float = 300.0

    def __post_init__(self) -> None:
        if not (self.window_s > 0 and self.recover_s >= 0 and self.check_interval_s > 0 and self.history_s > 0):
            raise InputError("live QC: window_s, check_interval_s and history_s must be > 0, recover_s >= 0",
                             field="window_s")
        if self.latency_snapshot_s is not None and not self.latency_snapshot_s > 0:
            raise InputError(f"live QC: latency_snapshot_s must be > 0 or None, got {self.latency_snapshot_s!r}",
                             field="latency_snapshot_s")
        if not self.latency_heartbeat_s > 0:
            raise InputError(f"live QC: latency_heartbeat_s must be > 0, got {self.latency_heartbeat_s!r}",
                             field="latency_heartbeat_s")
        for name in ("min_availability_pct", "max_spikes", "max_flat_s", "max_latency_s", "max_stall_s"):
            v = getattr(self, name)
            if v is not None and not v >= 0:
                raise InputError(f"live QC: {name} must be >= 0 or None, got {v!r}", field=name)


@dataclass
class LiveQCCounters:
    segments: int = 0
    excluded: int = 0          # include -> exclude transitions
    included: int = 0          # exclude -> include transitions
    spikes: int = 0
    gaps: int = 0
    listener_errors: int = 0
    publish_errors: int = 0
    latency_records: int = 0   # latency snapshots queued for publication

    def as_dict(self) -> dict[str, int]:
        return dataclasses.asdict(self)


@dataclass
class _Track:
    rate: float
    first_ns: int
    segs: collections.deque = field(default_factory=collections.deque)     # (start ns, end ns excl., samples)
    spikes: collections.deque = field(default_factory=collections.deque)   # (time ns, count)
    gaps: collections.deque = field(default_factory=collections.deque)     # time ns of each gap
    tail: np.ndarray | None = None       # last SPIKE_WINDOW - 1 samples (contiguous with the next segment)
    last_value: float | None = None
    flat_samples: int = 0
    end_ns: int = 0                      # end (exclusive) of the newest data
    arrival_wall: float = 0.0            # wall time the newest data arrived
    latency_s: float = 0.0               # arrival wall time - newest sample time
    reasons: tuple[str, ...] = ()        # current reasons (empty: included)
    clean_since_ns: int | None = None
    intervals: list = field(default_factory=list)  # [start ns, end ns or None, reasons]


class LiveQC:
    """Rolling QC of live streams; excludes channels that fail (see the module docstring).

    ``clock`` (wall time, POSIX s) is injectable for tests; ``bus`` (optional) receives a
    :class:`~tianshan.core.qc.QCRecord` on ``subject`` for each exclusion.
    """

    def __init__(self, config: LiveQCConfig | None = None, bus=None, *, subject: str | None = subjects.QC,
                 clock: Callable[[], float] = time.time) -> None:
        self.config = config or LiveQCConfig()
        self.bus = bus
        self.subject = subject
        self.clock = clock
        self.counters = LiveQCCounters()
        self._tracks: dict[StreamID, _Track] = {}
        self._pending: list = []   # (QC record, key tag) waiting to be published
        self._last_snapshot: float | None = None
        self._latency_written: dict[tuple[str, str], tuple[float, float]] = {}  # station -> (wall, value)
        self._task: asyncio.Task | None = None
        self._closing = False

    # ------------------------------------------------------------------ wiring

    def attach(self, buffers) -> None:
        """Listen to ``buffers`` (attach before the picker so its windows see the current state)."""
        buffers.add_listener(self.on_segment)

    async def start(self) -> None:
        if self._task is None:
            self._closing = False
            self._task = asyncio.create_task(self._loop(), name="live-qc")

    async def _loop(self) -> None:
        while not self._closing:
            await asyncio.sleep(self.config.check_interval_s)
            self.check()
            await self.publish_pending()

    async def flush(self) -> None:
        self.check()
        self.snapshot_latency()
        await self.publish_pending()

    async def close(self) -> None:
        self._closing = True
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        await self.publish_pending()

    def health(self) -> dict:
        return {"ok": True, "streams": len(self._tracks), "excluded": sorted(str(s) for s in self.excluded_now())}

    # ------------------------------------------------------------------ queries

    def excluded_now(self) -> dict[StreamID, tuple[str, ...]]:
        """Streams excluded now, with their reasons."""
        return {sid: tr.reasons for sid, tr in self._tracks.items() if tr.reasons}

    def excluded(self, stream_id: StreamID | str, t) -> tuple[str, ...]:
        """Reasons ``stream_id`` is excluded at data time ``t`` (datetime, ISO text, ObsPy time or ns)."""
        sid = stream_id if isinstance(stream_id, StreamID) else StreamID.parse(str(stream_id))
        tr = self._tracks.get(sid)
        if tr is None or not tr.intervals:
            return ()
        t_ns = t if isinstance(t, int) else _to_ns(t)
        for start, end, reasons in reversed(tr.intervals):
            if start <= t_ns and (end is None or t_ns < end):
                return reasons
        return ()

    def metrics(self, stream_id: StreamID | str) -> dict | None:
        """Current rolling metrics of a stream (None if never seen)."""
        sid = stream_id if isinstance(stream_id, StreamID) else StreamID.parse(str(stream_id))
        tr = self._tracks.get(sid)
        if tr is None:
            return None
        return {"availability_pct": self._availability(tr), "gaps": len(tr.gaps),
                "spikes": sum(c for _, c in tr.spikes), "flat_s": tr.flat_samples / tr.rate,
                "latency_s": tr.latency_s, "excluded": list(tr.reasons)}

    # ------------------------------------------------------------------ listener

    def on_segment(self, seg) -> None:
        """BufferSet listener: update the stream's metrics and state (never raises)."""
        try:
            self._segment(seg)
        except Exception:  # noqa: BLE001 - QC must never break packet intake
            self.counters.listener_errors += 1
            log.exception("live QC: listener failed")

    def _segment(self, seg) -> None:
        sid = seg.stream_id
        n = len(seg.data)
        if n == 0:
            return
        rate = float(seg.sample_rate_hz)
        tr = self._tracks.get(sid)
        if tr is None or tr.rate != rate:
            tr = self._tracks[sid] = _Track(rate=rate, first_ns=seg.start_ns)
        self.counters.segments += 1
        now = self.clock()
        end_ns = seg.start_ns + round(n * _NS / rate)
        contiguous = tr.end_ns and not seg.gap_before and abs(seg.start_ns - tr.end_ns) * rate < 0.5 * _NS
        if tr.end_ns and not contiguous:
            tr.gaps.append(seg.start_ns)
            self.counters.gaps += 1
            tr.tail = None
        tr.segs.append((seg.start_ns, end_ns, n))
        x = np.asarray(seg.data, dtype=np.float64)
        # spikes (MUSTANG num_spikes) with the previous segment's last samples as context; only while
        # the spike rule is on (the Hampel filter, ~0.2 ms per 512-byte record, is most of this
        # listener's CPU)
        if self.config.max_spikes is not None:
            full = x if tr.tail is None else np.concatenate([tr.tail, x])
            idx = hampel_outliers(full, SPIKE_WINDOW, SPIKE_THRESHOLD) if full.size >= SPIKE_WINDOW else ()
            if len(idx):
                runs = int(np.count_nonzero(np.diff(idx) > 1) + 1)
                tr.spikes.append((end_ns, runs))
                self.counters.spikes += runs
            tr.tail = full[-(SPIKE_WINDOW - 1):].copy()
        # run of identical samples (flat / dead channel)
        prev = tr.last_value if contiguous else None
        changes = np.flatnonzero(x[1:] != x[:-1])
        if changes.size:
            tr.flat_samples = n - 1 - int(changes[-1])
        elif prev is not None and x[0] == prev:
            tr.flat_samples += n
        else:
            tr.flat_samples = n
        tr.last_value = float(x[-1])
        tr.end_ns = max(tr.end_ns, end_ns)
        tr.arrival_wall = now
        tr.latency_s = now - tr.end_ns / _NS
        self._trim(tr)
        self._decide(sid, tr, self._reasons(tr, now, stall=False), tr.end_ns)

    def _trim(self, tr: _Track) -> None:
        horizon = tr.end_ns - round(self.config.window_s * _NS)
        while tr.segs and tr.segs[0][1] <= horizon:
            tr.segs.popleft()
        while tr.spikes and tr.spikes[0][0] < horizon:
            tr.spikes.popleft()
        while tr.gaps and tr.gaps[0] < horizon:
            tr.gaps.popleft()
        old = tr.end_ns - round(self.config.history_s * _NS)
        while tr.intervals and tr.intervals[0][1] is not None and tr.intervals[0][1] < old:
            tr.intervals.pop(0)

    def _availability(self, tr: _Track) -> float:
        w0 = max(tr.first_ns, tr.end_ns - round(self.config.window_s * _NS))
        span = (tr.end_ns - w0) / _NS
        if span <= 0:
            return 100.0
        got = 0.0
        for a, b, n in tr.segs:
            lo, hi = max(a, w0), min(b, tr.end_ns)
            if hi > lo:
                got += n * (hi - lo) / (b - a)
        return min(100.0, 100.0 * got / (span * tr.rate))

    def _network_latency(self, now: float) -> float | None:
        recent = [t.latency_s for t in self._tracks.values() if now - t.arrival_wall <= 60.0]
        return statistics.median(recent) if recent else None

    def _reasons(self, tr: _Track, now: float, stall: bool) -> list[str]:
        cfg = self.config
        out = []
        if cfg.min_availability_pct is not None:
            pct = self._availability(tr)
            if pct < cfg.min_availability_pct:
                out.append(f"low availability: {pct:.0f} % < {cfg.min_availability_pct:g} % over {cfg.window_s:g} s "
                           f"({len(tr.gaps)} gaps)")
        if cfg.max_spikes is not None:
            k = sum(c for _, c in tr.spikes)
            if k > cfg.max_spikes:
                out.append(f"spikes: {k} > {cfg.max_spikes} in {cfg.window_s:g} s")
        if cfg.max_flat_s is not None and tr.flat_samples / tr.rate >= cfg.max_flat_s:
            out.append(f"flat (dead) channel: constant for {tr.flat_samples / tr.rate:.0f} s >= {cfg.max_flat_s:g} s")
        if cfg.max_latency_s is not None:
            net = self._network_latency(now)
            if net is not None and tr.latency_s - net > cfg.max_latency_s:
                out.append(f"latency: {tr.latency_s - net:.0f} s behind the network > {cfg.max_latency_s:g} s")
        if stall:
            out.append(f"stalled: no data for {now - tr.arrival_wall:.0f} s > {cfg.max_stall_s:g} s")
        return out

    def check(self) -> None:
        """Wall-clock rules (stalled streams; latency of streams that stopped); called every ``check_interval_s``."""
        cfg = self.config
        now = self.clock()
        alive = [t.arrival_wall for t in self._tracks.values()]
        if not alive:
            return
        if cfg.latency_snapshot_s is not None and (self._last_snapshot is None
                                                   or now - self._last_snapshot >= cfg.latency_snapshot_s):
            self.snapshot_latency(now)
        newest = max(alive)
        for sid, tr in self._tracks.items():
            stall = (cfg.max_stall_s is not None and now - tr.arrival_wall > cfg.max_stall_s
                     and newest - tr.arrival_wall > cfg.max_stall_s)
            if stall or tr.reasons:
                self._decide(sid, tr, self._reasons(tr, now, stall), tr.end_ns, from_check=True)

    # ------------------------------------------------------------------ state

    def _decide(self, sid: StreamID, tr: _Track, reasons: list[str], t_ns: int, from_check: bool = False) -> None:
        if reasons:
            tr.clean_since_ns = None
            if not tr.reasons:
                tr.reasons = tuple(reasons)
                tr.intervals.append([t_ns, None, tr.reasons])
                self.counters.excluded += 1
                log.warning("live QC: %s excluded from processing (%s) / 通道被排除: %s", sid, "; ".join(reasons),
                            "; ".join(reasons))
                self._queue_record(sid, tr, t_ns)
            elif tuple(reasons) != tr.reasons and not from_check:
                tr.reasons = tuple(reasons)
                tr.intervals[-1][2] = tr.reasons
            return
        if not tr.reasons or from_check:
            return
        if tr.clean_since_ns is None:
            tr.clean_since_ns = t_ns
        if t_ns - tr.clean_since_ns >= round(self.config.recover_s * _NS):
            self._queue_record(sid, tr, t_ns, included_since_ns=tr.intervals[-1][0])
            tr.reasons = ()
            tr.intervals[-1][1] = t_ns
            tr.clean_since_ns = None
            self.counters.included += 1
            log.info("live QC: %s included again after %.0f s of clean data / 通道恢复使用", sid,
                     self.config.recover_s)

    def _queue_record(self, sid: StreamID, tr: _Track, t_ns: int, included_since_ns: int | None = None) -> None:
        """Queue the exclusion record of ``sid`` (or, with ``included_since_ns``, its inclusion record)."""
        if self.bus is None or self.subject is None:
            return
        from tianshan.core.qc import QCKind, QCRecord

        first = tr.reasons[0]
        kind, value = QCKind.GAP, 0.0
        if first.startswith("low availability"):
            kind, value = QCKind.AVAILABILITY, self._availability(tr)
        elif first.startswith("spikes"):
            kind, value = QCKind.SPIKE, float(sum(c for _, c in tr.spikes))
        elif first.startswith("flat"):
            kind, value = QCKind.FLAT, tr.flat_samples / tr.rate
        elif first.startswith(("latency", "stalled")):
            kind, value = QCKind.GAP, max(0.0, self.clock() - tr.arrival_wall)
        if included_since_ns is None:
            start = _ns_datetime(max(tr.first_ns, t_ns - round(self.config.window_s * _NS)))
            rec = QCRecord(sid, start, _ns_datetime(t_ns), kind, value, EXCLUDED + "; ".join(tr.reasons))
            self._queue(rec, "excluded")
        else:
            rec = QCRecord(sid, _ns_datetime(min(included_since_ns, t_ns)), _ns_datetime(t_ns), kind, value,
                           INCLUDED + f"after {self.config.recover_s:g} s of clean data; was excluded for "
                                      f"{(t_ns - included_since_ns) / _NS:.0f} s: " + "; ".join(tr.reasons))
            self._queue(rec, "included")

    def _queue(self, rec, tag: str, schedule: bool = True) -> None:
        """Queue ``rec`` for publication; ``schedule``: publish now (else at the next check or flush)."""
        self._pending.append((rec, tag))
        if schedule and self._task is not None:
            try:
                asyncio.get_running_loop().create_task(self.publish_pending())
            except RuntimeError:
                pass  # not on the loop: the next check publishes

    def snapshot_latency(self, now: float | None = None) -> int:
        """Queue the stations' latency records that are due (module docstring); returns how many."""
        now = self.clock() if now is None else now
        self._last_snapshot = now
        if self.bus is None or self.subject is None or not self._tracks:
            return 0
        from tianshan.core.qc import QCKind, QCRecord

        newest: dict[tuple[str, str], tuple[StreamID, _Track, int]] = {}
        for sid, tr in self._tracks.items():
            key = (sid.network, sid.station)
            cur = newest.get(key)
            n = 1 if cur is None else cur[2] + 1
            newest[key] = (sid, tr, n) if cur is None or tr.end_ns > cur[1].end_ns else (cur[0], cur[1], n)
        end = datetime.fromtimestamp(now, timezone.utc)
        queued = 0
        for key, (sid, tr, n) in sorted(newest.items()):
            start = min(_ns_datetime(tr.end_ns), end)  # a clock ahead of ours: latency 0
            latency = (end - start).total_seconds()
            if not self._latency_due(key, now, latency):
                continue
            self._latency_written[key] = (now, latency)
            self._queue(QCRecord(sid, start, end, QCKind.LATENCY, latency,
                                 f"data latency {latency:.1f} s; arrival delay of the newest packet "
                                 f"{tr.latency_s:.1f} s; {n} streams"), "latency", schedule=False)
            queued += 1
        self.counters.latency_records += queued
        return queued

    def _latency_due(self, key: tuple[str, str], now: float, latency: float) -> bool:
        last = self._latency_written.get(key)
        if last is None:
            return True
        wall, value = last
        if now - wall >= self.config.latency_heartbeat_s:
            return True
        if sum(latency >= b for b in LATENCY_CLASSES_S) != sum(value >= b for b in LATENCY_CLASSES_S):
            return True
        return abs(latency - value) >= max(LATENCY_MIN_CHANGE_S, 0.5 * value)

    async def publish_pending(self) -> None:
        if self.bus is None or self.subject is None:
            self._pending.clear()
            return
        from tianshan.bus import codec

        while self._pending:
            rec, tag = self._pending.pop(0)
            try:
                await self.bus.publish(self.subject, codec.encode(rec),
                                       key=f"qc:{rec.stream_id}:{tag}:{int(rec.end.timestamp() * 1000)}")
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - a bus outage is counted; the exclusion itself holds
                self.counters.publish_errors += 1
                log.exception("live QC: publish failed")


@dataclass
class QCRecorderCounters:
    received: int = 0
    saved: int = 0             # new rows
    bad_payloads: int = 0
    store_errors: int = 0
    dropped: int = 0           # records given up (queue full while the store is down, or refused)

    def as_dict(self) -> dict[str, int]:
        return dataclasses.asdict(self)


class QCRecorder:
    """Saves the QC records published on ``subject`` (live exclusions, inclusions, latency snapshots)
    in the event store's ``qc_records`` table, so that processes without the daemon's memory
    (``tianshan serve``: the API's station list) see the live station status.

    Handlers only queue; one task saves the queue in one transaction every ``flush_s`` (a store
    outage: logged, counted, retried at the next round; at most ``max_queue`` records are kept).
    A record the store refuses (same key, other values) is dropped with a log line. A stage of
    the common shape (start, flush, close, health, counters) for a role of the process that
    holds the store.
    """

    def __init__(self, bus, store, *, subject: str = subjects.QC, durable: str | None = "qc-recorder",
                 flush_s: float = 1.0, max_queue: int = 100_000) -> None:
        if store is None:
            raise InputError("the QC recorder needs an event store", field="store")
        if not flush_s > 0:
            raise InputError(f"flush_s must be > 0, got {flush_s!r}", field="flush_s")
        self.bus, self.store, self.subject, self.durable = bus, store, subject, durable
        self.flush_s, self.max_queue = float(flush_s), int(max_queue)
        self.counters = QCRecorderCounters()
        self._queue: list = []
        self._sub = None
        self._task: asyncio.Task | None = None
        self._lock: asyncio.Lock | None = None

    async def start(self) -> None:
        if self._task is not None:
            return
        self._lock = asyncio.Lock()
        self._sub = await self.bus.subscribe(self.subject, self._on_message, durable=self.durable)
        self._task = asyncio.create_task(self._loop(), name="qc-recorder")

    async def _on_message(self, msg) -> None:
        from tianshan.bus import codec
        from tianshan.core.qc import QCRecord

        self.counters.received += 1
        try:
            rec = codec.decode(msg.data)
        except Exception as err:  # noqa: BLE001 - the codec's errors are many; the message is dropped
            self.counters.bad_payloads += 1
            raise InputError(f"undecodable QC record: {err}", source=f"bus subject {msg.subject}",
                             field="payload") from None
        if not isinstance(rec, QCRecord):
            self.counters.bad_payloads += 1
            raise InputError(f"expected a QC record, got {type(rec).__name__}", source=f"bus subject {msg.subject}",
                             field="payload")
        if len(self._queue) >= self.max_queue:
            self._queue.pop(0)
            self.counters.dropped += 1
        self._queue.append(rec)

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self.flush_s)
            await self.flush()

    async def flush(self) -> None:
        """Save everything queued now."""
        if self._lock is None:
            return
        async with self._lock:
            batch, self._queue = self._queue, []
            if not batch:
                return
            try:
                self.counters.saved += await asyncio.to_thread(self._save, batch)
            except asyncio.CancelledError:
                self._queue[:0] = batch
                raise
            except Exception:  # noqa: BLE001 - store down: kept and retried at the next round
                self.counters.store_errors += 1
                log.exception("QC recorder: saving %d QC records failed; retried at the next round", len(batch))
                self._queue[:0] = batch[-self.max_queue:]

    def _save(self, batch: list) -> int:
        from tianshan.store.errors import ImmutableRecordError

        try:
            return self.store.save_qc_records(batch)
        except ImmutableRecordError:
            added = 0
            for rec in batch:  # one refused record must not cost the others
                try:
                    added += self.store.save_qc_records([rec])
                except ImmutableRecordError as err:
                    self.counters.dropped += 1
                    log.warning("QC recorder: %s", err)
            return added

    async def close(self) -> None:
        if self._sub is not None:
            await self._sub.unsubscribe()
            self._sub = None
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        await self.flush()

    def health(self) -> dict:
        return {"ok": self._task is not None and not self._task.done(), "queued": len(self._queue)}


def live_qc_from_settings(settings, bus=None) -> LiveQC | None:
    """The daemon's live QC from ``[run.qc]`` settings (any object with :class:`LiveQCConfig` field names
    and ``enabled``; ``None``: the defaults, enabled); ``None`` when disabled."""
    if settings is None:
        return LiveQC(LiveQCConfig(), bus)
    if not getattr(settings, "enabled", True):
        return None
    names = {f.name for f in dataclasses.fields(LiveQCConfig)}
    values = settings.model_dump() if hasattr(settings, "model_dump") else dict(vars(settings))
    return LiveQC(LiveQCConfig(**{k: v for k, v in values.items() if k in names}), bus)


def _to_ns(t) -> int:
    if hasattr(t, "ns") and not isinstance(t, datetime):
        return int(t.ns)  # ObsPy UTCDateTime
    from tianshan.core.timeutil import as_utc

    return ((as_utc(t, "time") - _EPOCH) // timedelta(microseconds=1)) * 1000


def _ns_datetime(ns: int) -> datetime:
    return _EPOCH + timedelta(microseconds=ns // 1000)

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
reasons / info) and counted; an exclusion is also published as a
:class:`~tianshan.core.qc.QCRecord` on ``subject`` (:data:`tianshan.bus.subjects.QC`; detail
``excluded from processing: ...``).

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

    def __post_init__(self) -> None:
        if not (self.window_s > 0 and self.recover_s >= 0 and self.check_interval_s > 0 and self.history_s > 0):
            raise InputError("live QC: window_s, check_interval_s and history_s must be > 0, recover_s >= 0",
                             field="window_s")
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
        self._pending: list = []   # QC records waiting to be published
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
        # spikes (MUSTANG num_spikes) with the previous segment's last samples as context
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
            tr.reasons = ()
            tr.intervals[-1][1] = t_ns
            tr.clean_since_ns = None
            self.counters.included += 1
            log.info("live QC: %s included again after %.0f s of clean data / 通道恢复使用", sid,
                     self.config.recover_s)

    def _queue_record(self, sid: StreamID, tr: _Track, t_ns: int) -> None:
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
        start = _ns_datetime(max(tr.first_ns, t_ns - round(self.config.window_s * _NS)))
        self._pending.append(QCRecord(sid, start, _ns_datetime(t_ns), kind, value,
                                      "excluded from processing: " + "; ".join(tr.reasons)))
        if self._task is not None:
            try:
                asyncio.get_running_loop().create_task(self.publish_pending())
            except RuntimeError:
                pass  # not on the loop: the next check publishes

    async def publish_pending(self) -> None:
        if self.bus is None or self.subject is None:
            self._pending.clear()
            return
        from tianshan.bus import codec

        while self._pending:
            rec = self._pending.pop(0)
            try:
                await self.bus.publish(self.subject, codec.encode(rec),
                                       key=f"qc:{rec.stream_id}:excluded:{int(rec.end.timestamp() * 1000)}")
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - a bus outage is counted; the exclusion itself holds
                self.counters.publish_errors += 1
                log.exception("live QC: publish failed")


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

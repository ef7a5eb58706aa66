"""Per-channel ring buffers for live waveform packets: ordering, gaps, overlaps, duplicates, clock checks.

Each :class:`ChannelBuffer` keeps the last ``capacity_s`` seconds of one stream on a fixed
sample grid: a float32 ring of samples and a boolean validity mask. Sample ``k`` of the grid
is at ``anchor + k / rate`` (exact integer nanosecond arithmetic with the rate as a
fraction), the anchor being the first sample ever received. Packets (ObsPy traces, or raw
miniSEED 2 records decoded here) may arrive out of order or more than once.

Rules (applied per packet, in this order; every outcome is counted in :class:`ChannelStats`)
-----------------------------------------------------------------------------------------
1. **Sample-rate change** (relative difference > 1e-6): the channel restarts at the new rate;
   the old contents are dropped (``rate_changes``). A digitizer that changed its rate will
   not come back, so keeping the old grid would reject all new data.
2. **Clock checks** against an injectable clock (``clock()`` -> POSIX seconds): a packet whose
   last sample is more than ``max_future_s`` ahead of the clock is rejected
   (``rejected_future``); with ``max_past_s`` set, one whose last sample is older than
   ``clock() - max_past_s`` is rejected (``rejected_past``). Wrong station clocks and clock
   jumps end up here.
3. **Older than the buffer**: a packet that ends before the oldest sample the ring holds is
   rejected (``rejected_past``); one that starts before it is clipped.
4. **Timing**: the packet start is snapped to the nearest grid sample; an offset of more than
   ``snap_tolerance`` samples is counted (``time_snaps``).
5. **Overlap with stored samples**: where the ring holds no sample yet (a gap), the packet
   fills it (``backfilled_samples``; out-of-order packets). Where it holds an identical
   sample the packet's sample is a duplicate (``duplicate_samples``; a packet with nothing
   new is a ``duplicates`` packet). Where it holds a *different* value the stored value is
   kept -- **first arrival wins** -- and the conflict is counted (``overlaps``,
   ``overlap_samples``): data already handed to pickers never changes under them.
6. **New data** beyond the newest sample: a jump forward opens a gap (``gaps``, ``gap_samples``),
   whose slots stay invalid until (unless) a late packet fills them.

New contiguous data are handed to listeners as :class:`Segment` objects in time order.
With ``reorder_wait_s = 0`` delivery is immediate and a gap is skipped at once
(``gap_before=True`` on the next segment); with ``reorder_wait_s > 0`` delivery stops at a gap
until that much data has arrived after it, giving late packets the chance to fill it.
Samples filled after delivery passed them are counted as ``late_samples`` (stored, visible
through :meth:`ChannelBuffer.window`, not re-delivered).

Cost: per packet a few slice copies and comparisons (no per-sample Python); see
``benchmarks/bench_buffers.py``.
"""

from __future__ import annotations

import dataclasses
import enum
import logging
import math
import sys
import time
from dataclasses import dataclass
from fractions import Fraction
from typing import Callable, Iterable

import numpy as np

from tianshan.core.errors import DomainError, InputError
from tianshan.core.ids import StreamID
from tianshan.stream.mseed_header import RecordError, RecordHeader, parse_record_header

_NS = 1_000_000_000
log = logging.getLogger(__name__)


class Status(enum.Enum):
    """Outcome of ingesting one packet."""

    ACCEPTED = "accepted"              #: at least one new sample stored
    DUPLICATE = "duplicate"            #: nothing new; all samples identical to stored ones
    OVERLAP = "overlap"                #: nothing new; some samples conflict with stored ones (kept)
    EMPTY = "empty"                    #: no samples
    REJECTED_FUTURE = "rejected_future"
    REJECTED_PAST = "rejected_past"
    CORRUPT = "corrupt"                #: undecodable record / invalid stream id
    UNKNOWN_STREAM = "unknown_stream"  #: stream not configured (BufferSet without auto_create)


@dataclass(frozen=True, slots=True)
class IngestResult:
    status: Status
    new_samples: int = 0
    duplicate_samples: int = 0
    overlap_samples: int = 0
    stream_id: StreamID | None = None


@dataclass(frozen=True, slots=True)
class Segment:
    """New contiguous samples of one stream, delivered to listeners in time order."""

    stream_id: StreamID
    start_ns: int               #: time of data[0], ns since the epoch
    sample_rate_hz: float
    data: np.ndarray            #: float32 samples (a copy; listeners may keep it)
    gap_before: bool            #: samples were missing between the previous segment and this one

    @property
    def end_ns(self) -> int:
        return self.start_ns + round((len(self.data) - 1) * _NS / self.sample_rate_hz)


@dataclass
class ChannelStats:
    """Counters of one channel buffer (see the module docstring for the rules)."""

    packets: int = 0
    samples_new: int = 0
    duplicates: int = 0
    duplicate_samples: int = 0
    overlaps: int = 0
    overlap_samples: int = 0
    gaps: int = 0
    gap_samples: int = 0
    backfilled_samples: int = 0
    late_samples: int = 0
    clipped_samples: int = 0
    rejected_future: int = 0
    rejected_past: int = 0
    rate_changes: int = 0
    time_snaps: int = 0
    listener_errors: int = 0
    last_latency_s: float | None = None   #: clock() - time of the newest sample, at the last new packet

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)


def _rate_fraction(rate_hz: float) -> Fraction:
    return Fraction(rate_hz).limit_denominator(1_000_000)


class ChannelBuffer:
    """Ring buffer of one stream (see the module docstring).

    ``sample_rate_hz``: nominal rate; ``capacity_s``: seconds kept; ``max_future_s``/``max_past_s``:
    clock checks (seconds; ``max_past_s=None`` disables the absolute past check);
    ``reorder_wait_s``: seconds of data to wait at a gap before delivering past it;
    ``snap_tolerance``: timing offset (in samples) counted as a time snap;
    ``clock``: callable returning the current POSIX time in seconds (inject for replays/tests).
    """

    def __init__(self, stream_id: StreamID, sample_rate_hz: float, capacity_s: float, *,
                 max_future_s: float = 60.0, max_past_s: float | None = None, reorder_wait_s: float = 0.0,
                 snap_tolerance: float = 0.25, clock: Callable[[], float] = time.time) -> None:
        if not isinstance(stream_id, StreamID):
            stream_id = StreamID.parse(str(stream_id))
        if not (sample_rate_hz > 0 and math.isfinite(sample_rate_hz)):
            raise InputError(f"sample rate must be > 0 Hz, got {sample_rate_hz}", source=str(stream_id),
                             field="sample_rate_hz")
        if not capacity_s > 0:
            raise InputError(f"buffer capacity must be > 0 s, got {capacity_s}", field="capacity_s")
        self.stream_id = stream_id
        self.capacity_s = float(capacity_s)
        self.max_future_s = float(max_future_s)
        self.max_past_s = None if max_past_s is None else float(max_past_s)
        self.reorder_wait_s = float(reorder_wait_s)
        self.snap_tolerance = float(snap_tolerance)
        self.clock = clock
        self.stats = ChannelStats()
        self._listeners: list[Callable[[Segment], None]] = []
        self._init_grid(sample_rate_hz)

    def _init_grid(self, rate_hz: float) -> None:
        self.sample_rate_hz = float(rate_hz)
        r = _rate_fraction(rate_hz)
        self._num, self._den = r.numerator, r.denominator
        self.n = max(1, math.ceil(self.capacity_s * rate_hz))
        self._data = np.zeros(self.n, dtype=np.float32)
        self._valid = np.zeros(self.n, dtype=bool)
        self._anchor_ns: int | None = None
        self._head = 0        # grid index one past the newest sample
        self._delivered = 0   # grid index up to which listeners have been served
        self._first = 0       # lowest grid index ever stored

    # ------------------------------------------------------------------ grid arithmetic

    def _time_ns(self, k: int) -> int:
        """Time of grid sample ``k`` (ns)."""
        return self._anchor_ns + (k * _NS * self._den) // self._num

    def _index(self, t_ns: int) -> Fraction:
        return Fraction((t_ns - self._anchor_ns) * self._num, _NS * self._den)

    def _spans(self, k0: int, k1: int):
        """Ring slices covering grid indices [k0, k1) (k1 - k0 <= n): (ring_lo, ring_hi, out_lo)."""
        p0 = k0 % self.n
        length = k1 - k0
        if p0 + length <= self.n:
            return ((p0, p0 + length, 0),)
        first = self.n - p0
        return ((p0, self.n, 0), (0, length - first, first))

    def _get(self, k0: int, k1: int) -> tuple[np.ndarray, np.ndarray]:
        sp = self._spans(k0, k1)
        if len(sp) == 1:
            a, b, _ = sp[0]
            return self._data[a:b].copy(), self._valid[a:b].copy()
        return (np.concatenate([self._data[a:b] for a, b, _ in sp]),
                np.concatenate([self._valid[a:b] for a, b, _ in sp]))

    def _put(self, k0: int, values: np.ndarray) -> None:
        for a, b, o in self._spans(k0, k0 + len(values)):
            self._data[a:b] = values[o:o + b - a]
            self._valid[a:b] = True

    def _invalidate(self, k0: int, k1: int) -> None:
        k0 = max(k0, k1 - self.n)
        if k1 > k0:
            for a, b, _ in self._spans(k0, k1):
                self._valid[a:b] = False

    # ------------------------------------------------------------------ properties

    @property
    def oldest_index(self) -> int:
        return self._head - self.n

    @property
    def start_ns(self) -> int | None:
        """Time of the oldest slot the ring covers (None before the first packet)."""
        return None if self._anchor_ns is None else self._time_ns(max(self.oldest_index, self._first))

    @property
    def end_ns(self) -> int | None:
        """Time of the newest sample (None before the first packet)."""
        return None if self._anchor_ns is None else self._time_ns(self._head - 1)

    def add_listener(self, callback: Callable[[Segment], None]) -> None:
        """Call ``callback(segment)`` for every new contiguous run of samples, in time order."""
        self._listeners.append(callback)

    # ------------------------------------------------------------------ ingest

    def ingest_array(self, start_ns: int, data, sample_rate_hz: float | None = None) -> IngestResult:
        """Ingest samples starting at ``start_ns`` (int ns since the epoch) at ``sample_rate_hz``."""
        st = self.stats
        st.packets += 1
        data = np.asarray(data, dtype=np.float32).ravel()
        nsamp = len(data)
        if nsamp == 0:
            return IngestResult(Status.EMPTY, stream_id=self.stream_id)
        if sample_rate_hz is not None and abs(sample_rate_hz - self.sample_rate_hz) > 1e-6 * self.sample_rate_hz:
            if not (sample_rate_hz > 0 and math.isfinite(sample_rate_hz)):
                return IngestResult(Status.CORRUPT, stream_id=self.stream_id)
            st.rate_changes += 1
            log.warning("%s: sample rate changed %.6g -> %.6g Hz; buffer restarted", self.stream_id,
                        self.sample_rate_hz, sample_rate_hz)
            self._init_grid(sample_rate_hz)
        start_ns = int(start_ns)
        end_ns = start_ns + ((nsamp - 1) * _NS * self._den) // self._num
        now_ns = int(self.clock() * _NS)
        if end_ns > now_ns + self.max_future_s * _NS:
            st.rejected_future += 1
            return IngestResult(Status.REJECTED_FUTURE, stream_id=self.stream_id)
        if self.max_past_s is not None and end_ns < now_ns - self.max_past_s * _NS:
            st.rejected_past += 1
            return IngestResult(Status.REJECTED_PAST, stream_id=self.stream_id)
        if self._anchor_ns is None:
            self._anchor_ns = start_ns
            self._head = self._delivered = self._first = 0
            k0 = 0
        else:
            f = self._index(start_ns)
            k0 = round(f)
            if abs(f - k0) > self.snap_tolerance:
                st.time_snaps += 1
        k1 = k0 + nsamp
        oldest = self._head - self.n
        if k1 <= oldest:
            st.rejected_past += 1
            return IngestResult(Status.REJECTED_PAST, stream_id=self.stream_id)
        if k0 < oldest:
            st.clipped_samples += oldest - k0
            data = data[oldest - k0:]
            k0 = oldest
        new = dup = conflict = 0
        head = self._head
        if k0 < head:  # part of the packet lies in the span already covered
            a1 = min(k1, head)
            seg = data[:a1 - k0]
            old, valid = self._get(k0, a1)
            same = valid & (old == seg)
            dup = int(np.count_nonzero(same))
            conflict = int(np.count_nonzero(valid)) - dup
            fill = ~valid
            nfill = int(np.count_nonzero(fill))
            if nfill:
                self._put(k0, np.where(valid, old, seg))
                st.backfilled_samples += nfill
                if k0 < self._delivered:
                    late = fill[:min(a1, self._delivered) - k0]
                    st.late_samples += int(np.count_nonzero(late))
                new += nfill
            self._first = min(self._first, k0)
        if k1 > head:  # new data beyond the newest sample
            b0 = max(k0, head)
            if b0 > head:
                st.gaps += 1
                st.gap_samples += b0 - head
                self._invalidate(head, b0)
            tail = data[b0 - k0:]
            if len(tail) > self.n:
                tail = tail[-self.n:]
            self._put(k1 - len(tail), tail)
            new += k1 - b0
            self._head = k1
            st.last_latency_s = (now_ns - end_ns) / _NS
        st.duplicate_samples += dup
        st.samples_new += new
        if conflict:
            st.overlap_samples += conflict
        if new:
            status = Status.ACCEPTED
            if conflict:
                st.overlaps += 1
        elif conflict:
            st.overlaps += 1
            status = Status.OVERLAP
        else:
            st.duplicates += 1
            status = Status.DUPLICATE
        if new:
            self._deliver()
        return IngestResult(status, new, dup, conflict, self.stream_id)

    def ingest_trace(self, trace) -> list[IngestResult]:
        """Ingest an ObsPy trace (masked gaps are split into pieces); one result per piece."""
        pieces = trace.split() if np.ma.isMaskedArray(trace.data) else [trace]
        return [self.ingest_array(int(p.stats.starttime._ns), p.data, float(p.stats.sampling_rate))
                for p in pieces]

    def _deliver(self) -> None:
        if not self._listeners:
            self._delivered = self._head
            return
        lo = self._delivered
        gap_before = False
        if lo < self._head - self.n:
            lo, gap_before = self._head - self.n, True
        wait = math.ceil(self.reorder_wait_s * self.sample_rate_hz)
        while lo < self._head:
            data, valid = self._get(lo, self._head)
            if valid[0]:
                bad = np.flatnonzero(~valid)
                run = int(bad[0]) if len(bad) else len(valid)
                seg = Segment(self.stream_id, self._time_ns(lo), self.sample_rate_hz, data[:run], gap_before)
                lo += run
                gap_before = False
                self._delivered = lo
                for cb in self._listeners:
                    try:
                        cb(seg)
                    except Exception:  # a faulty consumer must not stop acquisition
                        self.stats.listener_errors += 1
                        log.exception("%s: buffer listener failed", self.stream_id)
            else:
                nxt = int(np.flatnonzero(valid)[0])  # the newest sample is always valid
                if self._head - (lo + nxt) < wait:
                    break
                lo += nxt
                gap_before = True
        self._delivered = lo

    # ------------------------------------------------------------------ reading

    def window_array(self, start_ns: int, end_ns: int) -> tuple[int, np.ndarray, np.ndarray] | None:
        """Samples with times in [start_ns, end_ns]: (time of the first, float32 data, validity mask).

        None when the buffer holds no valid sample in the window.
        """
        if self._anchor_ns is None or end_ns < start_ns:
            return None
        k_lo = math.ceil(self._index(int(start_ns)))
        k_hi = math.floor(self._index(int(end_ns)))
        k_lo = max(k_lo, self._head - self.n, self._first)
        k_hi = min(k_hi, self._head - 1)
        if k_hi < k_lo:
            return None
        data, valid = self._get(k_lo, k_hi + 1)
        if not valid.any():
            return None
        return self._time_ns(k_lo), data, valid

    def window(self, start, end):
        """ObsPy ``Trace`` of the samples in [start, end] (datetimes, ObsPy times or POSIX seconds).

        Missing samples are masked (a numpy masked array, ObsPy's convention for gaps).
        None when no valid sample lies in the window.
        """
        got = self.window_array(_to_ns(start), _to_ns(end))
        return None if got is None else self._trace(*got)

    def latest(self, seconds: float):
        """Trace of the newest ``seconds`` of data (None when empty)."""
        if self._anchor_ns is None:
            return None
        end = self._time_ns(self._head - 1)
        got = self.window_array(end - round(seconds * _NS) + 1, end)
        return None if got is None else self._trace(*got)

    def _trace(self, t0_ns: int, data: np.ndarray, valid: np.ndarray):
        from obspy import Trace, UTCDateTime

        arr = data if valid.all() else np.ma.masked_array(data, mask=~valid)
        s = self.stream_id
        return Trace(data=arr, header={"network": s.network, "station": s.station, "location": s.location,
                                       "channel": s.channel, "sampling_rate": self.sample_rate_hz,
                                       "starttime": UTCDateTime(ns=t0_ns)})


def _to_ns(t) -> int:
    ns = getattr(t, "_ns", None)  # ObsPy UTCDateTime
    if isinstance(ns, int):
        return ns
    from tianshan.core.timeutil import as_utc

    dt = as_utc(t)
    return (int(dt.timestamp()) * 1_000_000 + dt.microsecond) * 1000


# --------------------------------------------------------------------------- record decoding

_SIMPLE = {1: "i2", 3: "i4", 4: "f4", 5: "f8"}  # SEED 2.4 ch. 8 data encoding codes


def decode_record(rec: bytes) -> tuple[RecordHeader, np.ndarray]:
    """Header and samples of one miniSEED 2 record.

    STEIM1/STEIM2 are decoded with ObsPy's libmseed (``msr_decode_steim1/2``), INT16/INT32/
    FLOAT32/FLOAT64 with numpy; any other encoding through ObsPy's reader. Raises
    :class:`~tianshan.stream.mseed_header.RecordError` for anything undecodable.
    """
    h = parse_record_header(rec)
    if h.record_length_bytes != len(rec):
        raise RecordError(f"record length {h.record_length_bytes} in blockette 1000 but {len(rec)} bytes given")
    if h.n_samples == 0:
        return h, np.zeros(0, dtype=np.float32)
    payload = rec[h.data_offset:]
    if not h.data_offset or h.data_offset < 48:
        raise RecordError("record has samples but no data offset")
    try:
        if h.encoding in (10, 11):
            from obspy.io.mseed.util import _unpack_steim_1, _unpack_steim_2

            swap = 1 if (h.data_byte_order == ">") == (sys.byteorder == "little") else 0
            fn = _unpack_steim_2 if h.encoding == 11 else _unpack_steim_1
            return h, fn(np.frombuffer(payload, dtype=np.uint8).copy(), h.n_samples, swap)
        if h.encoding in _SIMPLE:
            dt = np.dtype(h.data_byte_order + _SIMPLE[h.encoding])
            if h.n_samples * dt.itemsize > len(payload):
                raise RecordError("more samples than the data section holds")
            return h, np.frombuffer(payload, dtype=dt, count=h.n_samples)
        import io

        from obspy.io.mseed.core import _read_mseed

        st = _read_mseed(io.BytesIO(rec))
        return h, np.concatenate([np.asarray(t.data) for t in st])
    except RecordError:
        raise
    except Exception as err:  # libmseed/ObsPy failures on garbage payloads
        raise RecordError(f"cannot decode record data: {err}") from None


# --------------------------------------------------------------------------- buffer set

class BufferSet:
    """Ring buffers of many channels; the entry point for packets from any source.

    ``known``: optional mapping stream id -> sample rate (Hz) of the configured channels;
    with ``auto_create=False`` packets of other streams are counted (``unknown_stream``) and
    dropped, with ``auto_create=True`` (default) a buffer is created on first sight at the
    packet's rate. Other keyword arguments are passed to every :class:`ChannelBuffer`.
    """

    def __init__(self, capacity_s: float = 300.0, *, known: dict | None = None, auto_create: bool = True,
                 **channel_kwargs) -> None:
        self.capacity_s = capacity_s
        self.auto_create = auto_create
        self._kw = channel_kwargs
        self._channels: dict[StreamID, ChannelBuffer] = {}
        self._listeners: list[Callable[[Segment], None]] = []
        self.corrupt = 0
        self.unknown_stream = 0
        for sid, rate in (known or {}).items():
            self.add_channel(sid, rate)

    def add_channel(self, stream_id: StreamID | str, sample_rate_hz: float) -> ChannelBuffer:
        sid = stream_id if isinstance(stream_id, StreamID) else StreamID.parse(str(stream_id))
        buf = ChannelBuffer(sid, sample_rate_hz, self.capacity_s, **self._kw)
        for cb in self._listeners:
            buf.add_listener(cb)
        self._channels[sid] = buf
        return buf

    def add_listener(self, callback: Callable[[Segment], None]) -> None:
        """Listen to new contiguous data of every channel (present and future)."""
        self._listeners.append(callback)
        for buf in self._channels.values():
            buf.add_listener(callback)

    def _channel(self, sid: StreamID, rate: float) -> ChannelBuffer | None:
        buf = self._channels.get(sid)
        if buf is None:
            if not self.auto_create:
                self.unknown_stream += 1
                return None
            if not (rate > 0 and math.isfinite(rate)):
                self.corrupt += 1
                return None
            buf = self.add_channel(sid, rate)
        return buf

    def ingest(self, item) -> list[IngestResult]:
        """Ingest an ObsPy ``Trace``/``Stream`` or the bytes of one or more concatenated miniSEED records."""
        if isinstance(item, (bytes, bytearray, memoryview)):
            return self.ingest_records(bytes(item))
        if hasattr(item, "traces"):
            return [r for tr in item for r in self.ingest(tr)]
        return self.ingest_trace(item)

    def ingest_trace(self, trace) -> list[IngestResult]:
        s = trace.stats
        try:
            sid = StreamID(s.network, s.station, s.location, s.channel)
        except DomainError:
            self.corrupt += 1
            return [IngestResult(Status.CORRUPT)]
        buf = self._channel(sid, float(s.sampling_rate))
        if buf is None:
            return [IngestResult(Status.UNKNOWN_STREAM if not self.auto_create else Status.CORRUPT, stream_id=sid)]
        return buf.ingest_trace(trace)

    def ingest_record(self, rec: bytes) -> IngestResult:
        """Ingest one miniSEED 2 record (its length given by blockette 1000)."""
        try:
            h, data = decode_record(rec)
        except RecordError as err:
            self.corrupt += 1
            log.debug("corrupt record dropped: %s", err)
            return IngestResult(Status.CORRUPT)
        buf = self._channel(h.stream_id, h.sample_rate_hz)
        if buf is None:
            return IngestResult(Status.UNKNOWN_STREAM if not self.auto_create else Status.CORRUPT,
                                stream_id=h.stream_id)
        return buf.ingest_array(h.start_ns, data, h.sample_rate_hz)

    def ingest_records(self, blob: bytes, record_length: int = 512) -> list[IngestResult]:
        """Ingest concatenated fixed-length records; a trailing partial record counts as corrupt."""
        out = [self.ingest_record(blob[i:i + record_length])
               for i in range(0, len(blob) - record_length + 1, record_length)]
        if len(blob) % record_length:
            self.corrupt += 1
            out.append(IngestResult(Status.CORRUPT))
        return out

    def get(self, stream_id: StreamID | str) -> ChannelBuffer | None:
        sid = stream_id if isinstance(stream_id, StreamID) else StreamID.parse(str(stream_id))
        return self._channels.get(sid)

    def __getitem__(self, stream_id) -> ChannelBuffer:
        buf = self.get(stream_id)
        if buf is None:
            raise KeyError(str(stream_id))
        return buf

    def __contains__(self, stream_id) -> bool:
        return self.get(stream_id) is not None

    def __len__(self) -> int:
        return len(self._channels)

    def __iter__(self):
        return iter(self._channels.values())

    @property
    def stream_ids(self) -> list[StreamID]:
        return sorted(self._channels)

    def totals(self) -> dict[str, int]:
        """All channel counters summed, plus set-level ``corrupt`` and ``unknown_stream``."""
        out: dict[str, int] = {}
        for buf in self._channels.values():
            for k, v in buf.stats.as_dict().items():
                if k != "last_latency_s":
                    out[k] = out.get(k, 0) + v
        out["corrupt"] = self.corrupt
        out["unknown_stream"] = self.unknown_stream
        return out

    def window(self, stream_id, start, end):
        buf = self.get(stream_id)
        return None if buf is None else buf.window(start, end)

    def ingest_many(self, items: Iterable) -> list[IngestResult]:
        return [r for it in items for r in self.ingest(it)]

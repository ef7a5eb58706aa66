"""Waveform sources of the streaming product stages: raw counts of a time window, and how far data reach.

The magnitude stage (:class:`tianshan.stages.magnitudes.MagnitudeStage`) needs, for an event,
the raw counts of the stations with picks from before the first pick to after the last one
(the window of the batch chain, :data:`tianshan.events.build.pipeline.MAGNITUDE_PRE_S` /
``POST_S``), and to know whether that window is complete yet. :class:`WaveformSource` is that
contract; two implementations:

* :class:`BufferWaveforms`: the in-process ring buffers of the daemon
  (:class:`~tianshan.stream.buffers.BufferSet`). Cheap; holds only the last ``capacity_s``
  seconds, so the products' buffer set must be sized for the window plus the time an event
  stays open (see :class:`~tianshan.stages.magnitudes.MagnitudeStage`).
* :class:`ArchiveWaveforms`: the live SDS archive written by the acquisition
  (:class:`~tianshan.stream.archive.LiveArchive`; any SDS archive of miniSEED 2 records). The
  files grow while they are read, records are appended in arrival order (not necessarily
  time order) and the newest record of a file may be half written: each day file is
  indexed record by record from its record headers
  (:func:`~tianshan.stream.mseed_header.parse_record_header`, SEED 2.4 ch. 8), only the bytes
  added since the last look are parsed, a file replaced or shortened (the archiver's tail
  repair after a crash, an SDS rewrite) is indexed again from the start, a trailing partial
  record is left for the next look and counted (``partial_records``, once per file offset),
  an undecodable header or data section is skipped and counted (``corrupt_records``).

Conventions of both
-------------------
``thread_safe`` (class attribute) tells a caller whether the source may be read from a worker
thread (the archive: file I/O, better off the loop) or only from the loop (the buffers).

``window(stream_ids, start, end)`` returns an ObsPy ``Stream`` of the samples whose times lie
in ``[start, end]``, in counts (as recorded; the buffers' float32 samples as float64). A gap
leaves separate traces (never masked or filled); a stream without data in the window is
absent; a stream id that is not ``NET.STA.LOC.CHA`` raises
:class:`~tianshan.core.errors.InputError`.

``available_until(stream_ids)`` is the time up to which the given streams hold data: the
earliest of their newest sample times, over the streams that hold any data at all (a
stream that never delivered would otherwise hold every window back for ever; the stage's
wall-time timeout covers a stream that stopped). ``None`` when none holds data.
"""

from __future__ import annotations

import array
import collections
import logging
import os
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Protocol, Sequence, runtime_checkable

from tianshan.core.errors import DomainError, InputError
from tianshan.core.ids import StreamID

log = logging.getLogger(__name__)

_NS = 1_000_000_000
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
#: Records are filed under the day of their first sample; a window starting this soon after
#: midnight also looks at the previous day's file (a 512-byte record of a 1 Hz channel spans
#: about 15 minutes).
_DAY_MARGIN = timedelta(hours=1)
#: Bytes handed to the header parser (the fixed header and blockettes 100/1000/1001 lie in them).
_HEADER_PROBE = 256


@runtime_checkable
class WaveformSource(Protocol):
    """Raw waveforms of a time window and the newest data time (see the module docstring)."""

    def window(self, stream_ids: Sequence[str], start: datetime, end: datetime):
        """ObsPy ``Stream`` of ``[start, end]`` of ``stream_ids`` in counts; gaps split traces."""

    def available_until(self, stream_ids: Sequence[str]) -> datetime | None:
        """The earliest newest-sample time of the streams that hold data; None when none does."""


def _stream_id(sid) -> StreamID:
    if isinstance(sid, StreamID):
        return sid
    try:
        return StreamID.parse(str(sid))
    except (DomainError, ValueError) as err:
        raise InputError(f"not a stream id NET.STA.LOC.CHA: {sid!r} ({err})", field="stream_ids") from None


def datetime_from_ns(ns: int) -> datetime:
    """POSIX nanoseconds -> aware UTC datetime (to the microsecond)."""
    return _EPOCH + timedelta(microseconds=ns // 1000)


def _ns(t: datetime) -> int:
    from tianshan.core.timeutil import as_utc

    delta = as_utc(t) - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * _NS + delta.microseconds * 1000


# --------------------------------------------------------------------------- ring buffers

class BufferWaveforms:
    """:class:`WaveformSource` over a :class:`~tianshan.stream.buffers.BufferSet` (the daemon's buffers).

    Not thread-safe (``thread_safe = False``): call it from the thread that ingests into the
    buffers (the event loop); a window is a few slice copies.
    """

    thread_safe = False

    def __init__(self, buffers) -> None:
        self.buffers = buffers

    def window(self, stream_ids: Sequence[str], start: datetime, end: datetime):
        import numpy as np
        from obspy import Stream

        out = Stream()
        for sid in stream_ids:
            buf = self.buffers.get(_stream_id(sid))
            tr = None if buf is None else buf.window(start, end)
            if tr is None:
                continue
            pieces = tr.split() if np.ma.isMaskedArray(tr.data) else [tr]
            for piece in pieces:
                piece.data = np.asarray(piece.data, dtype=np.float64)
                out.append(piece)
        return out

    def available_until(self, stream_ids: Sequence[str]) -> datetime | None:
        ends = []
        for sid in stream_ids:
            buf = self.buffers.get(_stream_id(sid))
            if buf is not None and buf.end_ns is not None:
                ends.append(buf.end_ns)
        return datetime_from_ns(min(ends)) if ends else None


# --------------------------------------------------------------------------- live SDS archive

@dataclass
class ArchiveWaveformCounters:
    """What :class:`ArchiveWaveforms` met while indexing and reading files."""

    files_indexed: int = 0       #: day files indexed (again after a replacement)
    files_reindexed: int = 0     #: files found replaced or shortened, indexed from the start
    records_indexed: int = 0
    partial_records: int = 0     #: trailing partial records seen (left for the next look)
    corrupt_records: int = 0     #: undecodable headers or data sections, skipped
    windows: int = 0

    def as_dict(self) -> dict[str, int]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


class _FileIndex:
    """The records of one day file seen so far: start/end times, byte offsets and lengths."""

    __slots__ = ("identity", "scanned", "starts", "ends", "offsets", "lengths", "partial_at", "reclen", "newest")

    def __init__(self, identity) -> None:
        self.identity = identity
        self.scanned = 0                     # bytes indexed (offset of the first byte not looked at)
        self.starts = array.array("q")
        self.ends = array.array("q")
        self.offsets = array.array("q")
        self.lengths = array.array("l")
        self.partial_at = -1                 # offset of the partial record last counted
        self.reclen = 512                    # record length to skip over an undecodable header
        self.newest: int | None = None       # the largest end time indexed (ns)


class ArchiveWaveforms:
    """:class:`WaveformSource` over a live SDS archive under ``sds_root`` (see the module docstring).

    ``quality``: the SDS type letter of the files (``D``). ``max_files``: day-file indexes kept
    (least recently used ones beyond are dropped and rebuilt when needed; an index costs 28
    bytes per record, about 0.3 MB for a day of 100 Hz data). Thread-safe
    (``thread_safe = True``: the magnitude stage reads it from a worker thread).
    ``listing_ttl_s``: how long the list of a stream's newest day files is reused by
    :meth:`available_until` (polled every second for every stream of an event waiting for its
    final window; the newest end time of a file is kept while indexing, not recomputed).
    """

    thread_safe = True

    def __init__(self, sds_root: str | os.PathLike, *, quality: str = "D", max_files: int = 2048,
                 listing_ttl_s: float = 30.0) -> None:
        if not (isinstance(quality, str) and len(quality) == 1 and quality.isalnum()):
            raise InputError(f"SDS type must be one letter, got {quality!r}", field="quality")
        if max_files < 1:
            raise InputError(f"max_files must be >= 1, got {max_files}", field="max_files")
        self.root = Path(sds_root)
        self.quality = quality
        self.max_files = int(max_files)
        self.counters = ArchiveWaveformCounters()
        self._files: collections.OrderedDict[str, _FileIndex] = collections.OrderedDict()
        self._lock = threading.Lock()
        self.listing_ttl_s = float(listing_ttl_s)
        self._listings: dict = {}

    # ------------------------------------------------------------------ files

    def _day_path(self, sid: StreamID, day) -> Path:
        from tianshan.io.sds import sds_path

        return sds_path(self.root, sid, day, self.quality)

    def _newest_paths(self, sid: StreamID, n: int = 2) -> list[Path]:
        """The ``n`` newest day files of ``sid`` (by year and day of year in the name).

        Listing the folders costs a glob per stream; the answer is kept for ``listing_ttl_s``
        (a new day file shows up that much later at worst: the stage's final wait covers it;
        a stream without any file is listed again on every call).
        """
        import time

        now = time.monotonic()
        got = self._listings.get((sid, n))
        if got is not None and now - got[0] < self.listing_ttl_s:
            return got[1]
        paths = self._list_newest(sid, n)
        if paths:  # a stream without files yet is looked for again next time
            self._listings[(sid, n)] = (now, paths)
        return paths

    def _list_newest(self, sid: StreamID, n: int) -> list[Path]:
        name = f"{sid.network}.{sid.station}.{sid.location}.{sid.channel}.{self.quality}."
        found = []
        for year_dir in self.root.glob(f"[0-9][0-9][0-9][0-9]/{sid.network}/{sid.station}/"
                                       f"{sid.channel}.{self.quality}"):
            for p in year_dir.iterdir():
                if p.name.startswith(name):
                    found.append(p)
        return sorted(found, key=lambda p: p.name[len(name):])[-n:]

    def _index(self, path: Path) -> _FileIndex | None:
        """The up-to-date index of ``path`` (None when the file does not exist)."""
        key = str(path)
        try:
            st = path.stat()
        except FileNotFoundError:
            self._files.pop(key, None)
            return None
        identity = (st.st_dev, st.st_ino)
        idx = self._files.get(key)
        if idx is not None and (idx.identity != identity or st.st_size < idx.scanned):
            self.counters.files_reindexed += 1
            idx = None
        if idx is None:
            idx = _FileIndex(identity)
            self._files[key] = idx
            self.counters.files_indexed += 1
            while len(self._files) > self.max_files:
                self._files.popitem(last=False)
        else:
            self._files.move_to_end(key)
        if st.st_size > idx.scanned:
            self._scan(path, idx, st.st_size)
        return idx

    def _scan(self, path: Path, idx: _FileIndex, size: int) -> None:
        from tianshan.stream.mseed_header import RecordError, parse_record_header

        with open(path, "rb") as fh:
            fh.seek(idx.scanned)
            blob = fh.read(size - idx.scanned)
        off = 0
        n = len(blob)
        while off < n:
            try:
                h = parse_record_header(blob[off:off + _HEADER_PROBE])
            except RecordError:
                if n - off < idx.reclen:  # may be the start of a record being written
                    self._partial(idx, idx.scanned + off)
                    break
                self.counters.corrupt_records += 1
                off += idx.reclen
                continue
            length = h.record_length_bytes
            if off + length > n:
                self._partial(idx, idx.scanned + off)
                break
            idx.reclen = length
            if h.n_samples > 0 and h.sample_rate_hz > 0:
                idx.starts.append(h.start_ns)
                idx.ends.append(h.end_ns)
                idx.offsets.append(idx.scanned + off)
                idx.lengths.append(length)
                if idx.newest is None or h.end_ns > idx.newest:
                    idx.newest = h.end_ns
                self.counters.records_indexed += 1
            off += length
        idx.scanned += off

    def _partial(self, idx: _FileIndex, at: int) -> None:
        if idx.partial_at != at:
            idx.partial_at = at
            self.counters.partial_records += 1

    # ------------------------------------------------------------------ protocol

    def available_until(self, stream_ids: Sequence[str]) -> datetime | None:
        ends = []
        with self._lock:
            for sid in stream_ids:
                newest = None
                for path in self._newest_paths(_stream_id(sid)):
                    idx = self._index(path)
                    if idx is not None and idx.newest is not None:
                        e = idx.newest
                        newest = e if newest is None else max(newest, e)
                if newest is not None:
                    ends.append(newest)
        return datetime_from_ns(min(ends)) if ends else None

    def window(self, stream_ids: Sequence[str], start: datetime, end: datetime):
        from obspy import Stream

        a, b = _ns(start), _ns(end)
        out = Stream()
        if b < a:
            return out
        sids = [_stream_id(s) for s in stream_ids]
        with self._lock:
            self.counters.windows += 1
            for sid in sids:
                records = self._records(sid, a, b, start, end)
                for tr in _assemble(sid, records):
                    tr.trim(_utc(a), _utc(b), nearest_sample=False)
                    if tr.stats.npts:
                        out.append(tr)
        return out

    def _records(self, sid: StreamID, a: int, b: int, start: datetime, end: datetime) -> list:
        """Decoded records ``(header, samples)`` of ``sid`` overlapping ``[a, b]`` ns, by start time."""
        from tianshan.core.timeutil import as_utc
        from tianshan.stream.buffers import decode_record
        from tianshan.stream.mseed_header import RecordError

        day = (as_utc(start) - _DAY_MARGIN).date()
        last = as_utc(end).date()
        got = []
        while day <= last:
            path = self._day_path(sid, day)
            day += timedelta(days=1)
            idx = self._index(path)
            if idx is None or not len(idx.starts):
                continue
            hits = [i for i in range(len(idx.starts)) if idx.ends[i] >= a and idx.starts[i] <= b]
            if not hits:
                continue
            with open(path, "rb") as fh:
                for i in hits:
                    fh.seek(idx.offsets[i])
                    rec = fh.read(idx.lengths[i])
                    try:
                        h, data = decode_record(rec)
                    except RecordError:
                        self.counters.corrupt_records += 1
                        continue
                    if h.stream_id == sid and len(data):
                        got.append((h, data))
        got.sort(key=lambda r: r[0].start_ns)
        return got


def _utc(ns: int):
    from obspy import UTCDateTime

    return UTCDateTime(ns=ns)


def _assemble(sid: StreamID, records: list) -> list:
    """Join time-sorted records into contiguous traces.

    A record starting within half a sample of where the previous one ends continues it; a
    record overlapping what is already joined keeps only its new samples (first record
    wins, duplicates vanish); a later start or a rate change begins a new trace (a gap).
    """
    import numpy as np
    from obspy import Trace

    traces = []
    parts: list = []
    t0 = nxt = count = 0
    rate = 0.0

    def close():
        if parts:
            traces.append(Trace(data=np.concatenate(parts), header={
                "network": sid.network, "station": sid.station, "location": sid.location,
                "channel": sid.channel, "sampling_rate": rate, "starttime": _utc(t0)}))

    for h, data in records:
        step = _NS / h.sample_rate_hz
        if parts and abs(h.sample_rate_hz - rate) <= 1e-6 * rate and h.start_ns < nxt + step / 2:
            skip = max(0, round((nxt - h.start_ns) / step))
            if skip >= len(data):
                continue
            parts.append(data[skip:])
            count += len(data) - skip
            nxt = t0 + round(count * step)
            continue
        close()
        parts, t0, rate, count = [data], h.start_ns, h.sample_rate_hz, len(data)
        nxt = t0 + round(count * step)
    close()
    return traces

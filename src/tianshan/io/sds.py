"""SeisComP Data Structure (SDS) miniSEED archive: paths, writer (day files, merge), reader.

Layout (SeisComP documentation, "SDS archive", slarchive):
``<root>/YEAR/NET/STA/CHAN.TYPE/NET.STA.LOC.CHAN.TYPE.YEAR.DAY`` with ``TYPE`` one
character (``D`` for waveform data), ``DAY`` the 3-digit day of the year; each file
holds one stream for one UTC day.

The writer cuts traces at UTC midnight with sample-exact index arithmetic, merges
them with what a day file already holds (new samples replace old samples at the
same times, so rewriting is idempotent and never duplicates data), and replaces
the file atomically. Integer data are written as STEIM2 by default, floating point
as FLOAT32 / FLOAT64 (miniSEED 2.4, SEED manual ch. 8 data encodings).
"""

from __future__ import annotations

import datetime as _dt
import fnmatch
import math
import os
from fractions import Fraction
from pathlib import Path
from typing import Iterable

import numpy as np

from tianshan.core.errors import DomainError, InputError
from tianshan.core.ids import StreamID
from tianshan.io.atomic import atomic_path

_NS = 1_000_000_000
_DAY_NS = 86_400 * _NS

#: Encoding name -> numpy dtype it needs.
_ENCODING_DTYPE = {"STEIM1": np.int32, "STEIM2": np.int32, "INT32": np.int32, "INT16": np.int16,
                   "FLOAT32": np.float32, "FLOAT64": np.float64}


def sds_path(root: str | os.PathLike, stream_id: StreamID, day: _dt.date, quality: str = "D") -> Path:
    """Path of the SDS day file of ``stream_id`` for UTC ``day``.

    ``YEAR/NET/STA/CHAN.TYPE/NET.STA.LOC.CHAN.TYPE.YEAR.DAY`` (empty location stays empty).
    """
    if not (isinstance(quality, str) and len(quality) == 1 and quality.isalnum()):
        raise InputError(f"SDS type must be one letter, got {quality!r}", field="quality")
    if isinstance(day, _dt.datetime):
        day = day.date()
    s = stream_id
    year = f"{day.year:04d}"
    name = f"{s.network}.{s.station}.{s.location}.{s.channel}.{quality}.{year}.{day.timetuple().tm_yday:03d}"
    return Path(root) / year / s.network / s.station / f"{s.channel}.{quality}" / name


# --------------------------------------------------------------------------- sample arithmetic

def _ns(t) -> int:
    """An ObsPy UTCDateTime as integer nanoseconds since the epoch."""
    return int(t._ns)


def _rate(sampling_rate: float) -> Fraction:
    # Rates in miniSEED are small rationals (100, 40, 0.1, 31.25...): exact as a Fraction.
    return Fraction(sampling_rate).limit_denominator(1_000_000)


def _first_index_at_or_after(t0_ns: int, rate: Fraction, t_ns: int) -> int:
    """Index of the first sample of a trace starting at ``t0_ns`` whose time is >= ``t_ns``.

    Sample i is at t0 + i / rate; times are compared at nanosecond resolution (a sample
    within half a nanosecond of ``t_ns`` counts as at it).
    """
    x = (Fraction(t_ns - t0_ns) - Fraction(1, 2)) * rate / _NS
    return max(0, math.ceil(x))


def _sample_time_ns(t0_ns: int, rate: Fraction, i: int) -> int:
    return t0_ns + round(Fraction(i * _NS) / rate)


def _piece(tr, i0: int, i1: int):
    """Samples [i0, i1) of ``tr`` as a new trace (start time recomputed exactly)."""
    from obspy import Trace, UTCDateTime

    rate = _rate(tr.stats.sampling_rate)
    out = Trace(data=np.array(tr.data[i0:i1]), header={
        "network": tr.stats.network, "station": tr.stats.station, "location": tr.stats.location,
        "channel": tr.stats.channel, "sampling_rate": tr.stats.sampling_rate})
    out.stats.starttime = UTCDateTime(ns=_sample_time_ns(_ns(tr.stats.starttime), rate, i0))
    return out


def _split_days(tr) -> list[tuple[_dt.date, object]]:
    """Cut one (unmasked) trace at UTC midnights."""
    n = len(tr.data)
    if n == 0:
        return []
    rate = _rate(tr.stats.sampling_rate)
    t0 = _ns(tr.stats.starttime)
    out = []
    day_start = (t0 // _DAY_NS) * _DAY_NS
    i = 0
    while i < n:
        i_next = min(n, _first_index_at_or_after(t0, rate, day_start + _DAY_NS))
        if i_next > i:
            day = _dt.datetime.fromtimestamp(day_start // _NS, tz=_dt.timezone.utc).date()
            out.append((day, _piece(tr, i, i_next)))
        i = max(i, i_next)
        day_start += _DAY_NS
    return out


def _remove_span(tr, start_ns: int, end_ns: int) -> list:
    """``tr`` without the samples whose times lie in [start_ns, end_ns] (0, 1 or 2 traces)."""
    rate = _rate(tr.stats.sampling_rate)
    t0 = _ns(tr.stats.starttime)
    n = len(tr.data)
    i0 = min(n, _first_index_at_or_after(t0, rate, start_ns))
    i1 = min(n, _first_index_at_or_after(t0, rate, end_ns + 1))
    if i0 >= i1:
        return [tr]
    return [p for p in (_piece(tr, 0, i0) if i0 > 0 else None, _piece(tr, i1, n) if i1 < n else None)
            if p is not None]


def _overlay(old: list, new) -> list:
    """Traces of one stream with ``new`` laid over ``old`` (new samples win where times overlap)."""
    rate = _rate(new.stats.sampling_rate)
    start = _ns(new.stats.starttime)
    end = _sample_time_ns(start, rate, len(new.data) - 1)
    # Old samples closer than half a sample to the new span are replaced too.
    half = int(Fraction(_NS, 2) / rate)
    kept = []
    for tr in old:
        kept.extend(_remove_span(tr, start - half + 1, end + half - 1))
    return kept + [new]


# --------------------------------------------------------------------------- encoding

def _prepare(tr, encoding: str | None):
    """Give ``tr`` the dtype and ``stats.mseed.encoding`` it will be written with."""
    from obspy.core.util import AttribDict

    data = np.asarray(tr.data)
    if encoding is None:
        if np.issubdtype(data.dtype, np.integer):
            enc = "STEIM2"
        elif data.dtype == np.float32:
            enc = "FLOAT32"
        elif np.issubdtype(data.dtype, np.floating):
            enc = "FLOAT64"
        else:
            raise InputError(f"cannot write {data.dtype} samples as miniSEED", source=tr.id)
    else:
        enc = encoding.upper()
        if enc not in _ENCODING_DTYPE:
            raise InputError(f"unsupported miniSEED encoding {encoding!r} (expected one of "
                             f"{', '.join(_ENCODING_DTYPE)})", field="encoding")
    dtype = np.dtype(_ENCODING_DTYPE[enc])
    if data.dtype != dtype:
        if np.issubdtype(dtype, np.integer):
            if np.issubdtype(data.dtype, np.floating) and not np.all(np.isfinite(data) & (data == np.round(data))):
                raise InputError(f"{enc} needs integer samples; the data are not integral", source=tr.id)
            info = np.iinfo(dtype)
            if data.size and (data.min() < info.min or data.max() > info.max):
                raise InputError(f"samples exceed the {enc} range", source=tr.id)
        data = data.astype(dtype)
    tr.data = np.ascontiguousarray(data)
    if not hasattr(tr.stats, "mseed"):
        tr.stats.mseed = AttribDict()
    tr.stats.mseed.encoding = enc
    return tr


def _stream_id(tr) -> StreamID:
    s = tr.stats
    try:
        return StreamID(s.network, s.station, s.location, s.channel)
    except DomainError as err:
        raise InputError(str(err), source=tr.id, field="trace id") from None


# --------------------------------------------------------------------------- public API

def write_sds(stream, root: str | os.PathLike, encoding: str | None = None, record_length: int = 512) -> list[Path]:
    """Write an ObsPy ``Stream`` into the SDS archive under ``root``; returns the day files written.

    Traces are split at UTC day boundaries (masked gaps become separate pieces) and merged
    with the data already in each day file: samples of ``stream`` replace stored samples
    at the same times, no sample is stored twice, and contiguous pieces are joined.
    ``encoding`` forces one miniSEED encoding (STEIM1/2, INT16/32, FLOAT32/64);
    by default integers are STEIM2 and floats FLOAT32/FLOAT64. ``record_length`` is the
    miniSEED record length in bytes (a power of two, 256-8192).
    """
    from obspy import Stream, read

    if record_length not in (256, 512, 1024, 2048, 4096, 8192):
        raise InputError(f"record length must be a power of two in 256-8192, got {record_length}",
                         field="record_length")
    pieces: dict[Path, list] = {}
    for tr in stream.copy().split():
        if tr.stats.sampling_rate <= 0:
            raise InputError("sampling rate must be > 0", source=tr.id)
        sid = _stream_id(tr)
        for day, piece in _split_days(tr):
            pieces.setdefault(sds_path(root, sid, day), []).append(piece)
    written = []
    for path, new in sorted(pieces.items()):
        traces: list = []
        foreign: list = []  # other streams in the file (not SDS-conform, but never dropped)
        if path.exists():
            try:
                stored = list(read(str(path), format="MSEED"))
            except Exception as err:
                raise InputError(f"existing SDS file is not readable miniSEED ({err})", source=str(path)) from None
            traces = [t for t in stored if t.id == new[0].id]
            foreign = [t for t in stored if t.id != new[0].id]
            for t in traces:  # re-encode merged data by dtype (or ``encoding``), not the old record encoding
                t.stats.pop("mseed", None)
        for piece in new:
            traces = _overlay(traces, piece)
        st = Stream(traces)
        st.sort(keys=["starttime"])
        st.merge(method=-1)  # joins pieces that fit exactly; keeps real gaps as separate traces
        st.sort(keys=["starttime"])
        for t in st:
            _prepare(t, encoding)
        st.extend(foreign)
        with atomic_path(path) as tmp:
            st.write(str(tmp), format="MSEED", reclen=record_length)
        written.append(path)
    return written


def _patterns(stream_ids) -> list[tuple[str, str, str, str]]:
    if isinstance(stream_ids, (str, StreamID)):
        stream_ids = [stream_ids]
    out = []
    for s in stream_ids:
        if isinstance(s, StreamID):
            out.append((s.network, s.station, s.location, s.channel))
            continue
        parts = str(s).strip().split(".")
        if len(parts) != 4:
            raise InputError(f"expected NET.STA.LOC.CHA (wildcards * ?), got {s!r}", field="stream id")
        net, sta, loc, cha = parts
        out.append((net, sta, "" if loc == "--" else loc, cha))
    return out


def read_sds(root: str | os.PathLike, stream_ids: Iterable[StreamID | str] | StreamID | str, start, end):
    """Read ``[start, end]`` of the given streams from the SDS archive under ``root``.

    ``stream_ids`` are :class:`StreamID` objects or ``NET.STA.LOC.CHA`` patterns with
    ``*``/``?`` wildcards. ``start``/``end`` are datetimes (naive = UTC) or ObsPy times.
    Uses ObsPy's SDS filesystem client; contiguous data are merged into one trace.
    """
    from obspy import Stream, UTCDateTime
    from obspy.clients.filesystem.sds import Client

    from tianshan.core.timeutil import as_utc

    root = Path(root)
    if not root.is_dir():
        raise InputError("SDS archive folder not found", source=str(root))
    t1 = UTCDateTime(as_utc(start, "start").replace(tzinfo=None))
    t2 = UTCDateTime(as_utc(end, "end").replace(tzinfo=None))
    if t2 < t1:
        raise InputError("end is before start", field="end")
    client = Client(str(root))
    out = Stream()
    seen = set()
    for net, sta, loc, cha in _patterns(stream_ids):
        st = client.get_waveforms(net, sta, loc, cha, t1, t2)
        for tr in st:
            key = (tr.id, _ns(tr.stats.starttime), len(tr))
            if key not in seen and fnmatch.fnmatchcase(tr.id, f"{net}.{sta}.{loc}.{cha}"):
                seen.add(key)
                out.append(tr)
    out.sort()
    return out

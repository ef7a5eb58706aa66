"""Waveform archives for the batch pipeline: an index of files and a robust window reader.

Two layouts are understood:

* an SDS archive (SeisComP Data Structure, ``YEAR/NET/STA/CHAN.TYPE/NET.STA.LOC.CHAN.TYPE.YEAR.DAY``,
  see :mod:`tianshan.io.sds`): files are indexed by name, one stream and one UTC day each;
* any folder (searched recursively) or single file of miniSEED: each file's streams and time
  spans are read from its record headers (ObsPy ``headonly``).

:func:`read_window` reads a time window of some files. A file that libmseed cannot read as a
whole (a corrupt record stops ObsPy's reader) is read again record by record
(fixed record length taken from the first readable record's blockette 1000, SEED 2.4
manual ch. 8): corrupt records are skipped and counted, every readable record is kept.
"""

from __future__ import annotations

import io
import os
import re
import warnings
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

from tianshan.core.errors import InputError

_NS = 1_000_000_000
_DAY_NS = 86_400 * _NS
#: SDS day-file name: NET.STA.LOC.CHAN.TYPE.YEAR.DAY
_SDS_NAME = re.compile(r"^([A-Z0-9]{1,2})\.([A-Z0-9]{1,5})\.([A-Z0-9]{0,2})\.([A-Z0-9]{3})\.([A-Z])\.(\d{4})\.(\d{3})$")
#: Record length assumed when no record of a file can be read (bytes).
DEFAULT_RECORD_LENGTH = 512


@dataclass(frozen=True, slots=True)
class FileEntry:
    """One stream in one file: ``stream_id`` ``NET.STA.LOC.CHA``, span ``[start_ns, end_ns]`` (POSIX ns)."""

    path: str
    stream_id: str
    start_ns: int
    end_ns: int


@dataclass(frozen=True)
class ArchiveIndex:
    """The files of an archive, by stream and time span. ``kind`` is ``"sds"`` or ``"files"``.

    ``unreadable`` counts files that are not miniSEED at all (skipped).
    """

    root: str
    kind: str
    entries: tuple[FileEntry, ...]
    unreadable: int = 0

    @property
    def stream_ids(self) -> tuple[str, ...]:
        return tuple(sorted({e.stream_id for e in self.entries}))

    def files_for(self, start_ns: int, end_ns: int, stream_ids=None) -> tuple[str, ...]:
        """Paths holding data of ``stream_ids`` (all when None) overlapping ``[start_ns, end_ns]``."""
        wanted = None if stream_ids is None else set(stream_ids)
        out = {e.path for e in self.entries
               if e.end_ns >= start_ns and e.start_ns <= end_ns and (wanted is None or e.stream_id in wanted)}
        return tuple(sorted(out))


def _ns(t) -> int:
    return int(t._ns)


def datetime_ns(t: datetime) -> int:
    """Aware datetime -> POSIX nanoseconds (exact to the microsecond)."""
    delta = t.astimezone(timezone.utc) - datetime(1970, 1, 1, tzinfo=timezone.utc)
    return (delta.days * 86_400 + delta.seconds) * _NS + delta.microseconds * 1000


def is_sds(root: Path) -> bool:
    """Whether ``root`` looks like an SDS archive (a ``YEAR/NET/STA/CHA.T`` folder with day files)."""
    if not root.is_dir():
        return False
    for year in root.iterdir():
        if year.is_dir() and re.fullmatch(r"\d{4}", year.name):
            for path in year.glob("*/*/*.?/*"):
                if _SDS_NAME.match(path.name):
                    return True
    return False


def _scan_sds(root: Path, start: datetime, end: datetime) -> list[FileEntry]:
    entries = []
    day = (start - timedelta(days=1)).date()
    last = (end + timedelta(days=1)).date()
    years = {str(y) for y in range(day.year, last.year + 1)}
    for year in sorted(years):
        ydir = root / year
        if not ydir.is_dir():
            continue
        for path in sorted(ydir.glob("*/*/*.?/*")):
            m = _SDS_NAME.match(path.name)
            if not m or not path.is_file():
                continue
            net, sta, loc, cha, _typ, yr, doy = m.groups()
            d0 = datetime(int(yr), 1, 1, tzinfo=timezone.utc) + timedelta(days=int(doy) - 1)
            if not (day <= d0.date() <= last):
                continue
            s = datetime_ns(d0)
            entries.append(FileEntry(str(path), f"{net}.{sta}.{loc}.{cha}", s, s + _DAY_NS))
    return entries


def _scan_files(paths: list[Path]) -> tuple[list[FileEntry], int]:
    from obspy import read

    entries: list[FileEntry] = []
    unreadable = 0
    for path in paths:
        spans: dict[str, list[int]] = {}
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                st = read(str(path), format="MSEED", headonly=True)
        except Exception:  # noqa: BLE001 - a corrupt record fails the whole header read; go record by record
            st, bad = _read_records(path, None, None)
            if len(st) == 0:
                unreadable += 1
                continue
        for tr in st:
            a, b = _ns(tr.stats.starttime), _ns(tr.stats.endtime)
            lo_hi = spans.setdefault(tr.id, [a, b])
            lo_hi[0], lo_hi[1] = min(lo_hi[0], a), max(lo_hi[1], b)
        entries.extend(FileEntry(str(path), sid, a, b) for sid, (a, b) in sorted(spans.items()))
    return entries, unreadable


def scan_archive(archive: str | os.PathLike, start: datetime, end: datetime) -> ArchiveIndex:
    """Index the SDS archive, folder of miniSEED files or single file ``archive`` around ``[start, end)``."""
    root = Path(archive)
    if not root.exists():
        raise InputError("waveform archive not found", source=str(root))
    if root.is_file():
        entries, bad = _scan_files([root])
        return ArchiveIndex(str(root), "files", tuple(entries), bad)
    if is_sds(root):
        return ArchiveIndex(str(root), "sds", tuple(_scan_sds(root, start, end)))
    files = sorted(p for p in root.rglob("*") if p.is_file() and not p.name.startswith("."))
    entries, bad = _scan_files(files)
    if not entries:
        raise InputError("no miniSEED data found (neither an SDS archive nor miniSEED files)", source=str(root))
    return ArchiveIndex(str(root), "files", tuple(entries), bad)


def _record_length(data: bytes) -> int:
    from obspy.io.mseed.util import get_record_information

    for offset in range(0, min(len(data), 64 * 4096), 128):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # ObsPy warns about every undecodable header
                info = get_record_information(io.BytesIO(data), offset=offset)
        except Exception:  # noqa: BLE001 - not a record header at this offset
            continue
        n = int(info.get("record_length") or 0)
        if 128 <= n <= 65536 and n & (n - 1) == 0:
            return n
    return DEFAULT_RECORD_LENGTH


def _read_records(path, t0, t1):
    """Read ``path`` record by record; returns (Stream, number of corrupt records skipped)."""
    from obspy import Stream, read

    data = Path(path).read_bytes()
    reclen = _record_length(data)
    out = Stream()
    bad = 0
    for offset in range(0, len(data), reclen):
        chunk = data[offset:offset + reclen]
        if len(chunk) < reclen:
            bad += 1
            continue
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                st = read(io.BytesIO(chunk), format="MSEED")
            except Exception:  # noqa: BLE001 - garbled header or data: skip this record
                bad += 1
                continue
        if caught or len(st) != 1:
            bad += 1
            continue
        tr = st[0]
        if t0 is not None and (tr.stats.endtime < t0 or tr.stats.starttime > t1):
            continue
        out.append(tr)
    out.merge(method=-1)  # join the records of each stream (no filling, nothing dropped)
    return out, bad


def read_window(paths, start_ns: int, end_ns: int, stream_ids=None):
    """Read ``[start_ns, end_ns]`` of the given files; returns ``(Stream, Counter)``.

    The counter has ``corrupt_records`` (skipped records) and ``unreadable_files``.
    Traces of streams not in ``stream_ids`` (when given) are left out.
    """
    from obspy import Stream, UTCDateTime, read

    t0, t1 = UTCDateTime(ns=start_ns), UTCDateTime(ns=end_ns)
    wanted = None if stream_ids is None else set(stream_ids)
    out = Stream()
    counts: Counter = Counter()
    for path in paths:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                st = read(str(path), format="MSEED", starttime=t0, endtime=t1, nearest_sample=False)
                failed = False
            except Exception:  # noqa: BLE001 - libmseed stops at a corrupt record
                failed = True
        if failed or any("record" in str(w.message).lower() or "mseed" in w.category.__name__.lower()
                         for w in caught):
            st, bad = _read_records(path, t0, t1)
            counts["corrupt_records"] += bad
            if bad and len(st) == 0:
                counts["unreadable_files"] += 1
        st.trim(t0, t1, nearest_sample=False)
        for tr in st:
            if tr.stats.npts and (wanted is None or tr.id in wanted):
                out.append(tr)
    return out, counts

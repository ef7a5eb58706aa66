"""What the SDS archive holds for a channel: its day files, the extent of their data, their record headers.

Used by fdsnws-station for ``matchtimeseries`` (a channel matches when a day file of the
requested window exists: day granularity, gaps inside a day are not looked at) and
``includeavailability`` (first sample of the first day file to the last sample of the
last one, read from the miniSEED headers only). Paths follow the SDS layout written by
:func:`tianshan.io.sds.sds_path` (``YEAR/NET/STA/CHAN.D/NET.STA.LOC.CHAN.D.YEAR.DAY``).

fdsnws-dataselect reads the miniSEED record headers of the day files with
:func:`scan_records` (SEED 2.4 fixed header and blockettes 100/1000/1001, no sample
decoded) to pass whole records through unchanged.
"""

from __future__ import annotations

import datetime as _dt
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np


def day_files(root: Path, network: str, station: str, location: str, channel: str,
              quality: str = "D") -> list[tuple[_dt.date, Path]]:
    """The SDS day files of one channel, by day (empty when there are none)."""
    pattern = f"*/{network}/{station}/{channel}.{quality}/{network}.{station}.{location}.{channel}.{quality}.*.*"
    out = []
    for path in Path(root).glob(pattern):
        try:
            year, doy = int(path.name.split(".")[-2]), int(path.name.split(".")[-1])
            day = _dt.date(year, 1, 1) + _dt.timedelta(days=doy - 1)
        except ValueError:
            continue
        out.append((day, path))
    out.sort()
    return out


def has_data(root: Path, codes: tuple[str, str, str, str], start: _dt.datetime | None,
             end: _dt.datetime | None) -> bool:
    """Whether a day file of the channel falls in ``[start, end]`` (open ends allowed)."""
    first = None if start is None else start.date()
    last = None if end is None else end.date()
    for day, _ in day_files(root, *codes):
        if (first is None or day >= first) and (last is None or day <= last):
            return True
    return False


def extent(root: Path, codes: tuple[str, str, str, str]) -> tuple[_dt.datetime, _dt.datetime] | None:
    """First and last sample time of the channel's archived data (headers only), or None."""
    from obspy import read

    from tianshan.core.timeutil import as_utc

    files = day_files(root, *codes)
    if not files:
        return None
    try:
        head = read(str(files[0][1]), format="MSEED", headonly=True)
        tail = head if len(files) == 1 else read(str(files[-1][1]), format="MSEED", headonly=True)
    except Exception:  # noqa: BLE001 - an unreadable file only means no availability is reported
        return None
    if not len(head) or not len(tail):
        return None
    start = min(tr.stats.starttime for tr in head)
    end = max(tr.stats.endtime for tr in tail)
    return as_utc(start.datetime), as_utc(end.datetime)


def channels_in(root: Path, pattern: tuple[str, str, str, str], start: _dt.datetime, end: _dt.datetime,
                quality: str = "D") -> list[tuple[str, str, str, str]]:
    """Channels (NET, STA, LOC, CHA) with a day file in ``[start - 1 day, end]`` matching the code pattern.

    The pattern uses ``*``/``?`` wildcards (glob syntax, as FDSN codes do); the day before
    ``start`` is included because its file may hold records running past midnight.
    """
    net, sta, loc, cha = pattern
    first = (start - _dt.timedelta(days=1)).date()
    last = end.date()
    found: set[tuple[str, str, str, str]] = set()
    for year in range(first.year, last.year + 1):
        for path in Path(root).glob(f"{year}/{net}/{sta}/{cha}.{quality}/{net}.{sta}.{loc}.{cha}.{quality}.{year}.*"):
            parts = path.name.split(".")
            if len(parts) != 7:
                continue
            try:
                day = _dt.date(int(parts[5]), 1, 1) + _dt.timedelta(days=int(parts[6]) - 1)
            except ValueError:
                continue
            if first <= day <= last:
                found.add((parts[0], parts[1], parts[2], parts[3]))
    return sorted(found)


# --------------------------------------------------------------------------- miniSEED record headers

#: Smallest miniSEED 2 record (bytes): the step used to find the next header after a corrupt record.
MIN_RECORD_LENGTH = 256
_DAY_NS = 86_400_000_000_000
_SEQ_OK = np.zeros(256, dtype=bool)
_SEQ_OK[list(b"0123456789 \x00")] = True
_QUALITY_OK = np.zeros(256, dtype=bool)
_QUALITY_OK[list(b"DRQM")] = True


@dataclass(frozen=True)
class Records:
    """Headers of the miniSEED records of one file, one array element per record.

    ``offset``/``length`` (bytes) locate each record in the file; ``start_ns``/``end_ns``
    are the times of its first and last sample (ns since 1970, UTC, time correction and
    blockette 1001 microseconds applied); ``npts`` its number of samples, ``rate_hz`` its
    sample rate, ``quality`` the SEED data quality letter (D, R, Q, M). ``corrupt`` counts
    the stretches of the file where no record header could be read (skipped).
    """

    offset: np.ndarray
    length: np.ndarray
    start_ns: np.ndarray
    end_ns: np.ndarray
    npts: np.ndarray
    rate_hz: np.ndarray
    quality: np.ndarray
    corrupt: int = 0

    def __len__(self) -> int:
        return len(self.offset)

    def take(self, keep: np.ndarray) -> "Records":
        return Records(self.offset[keep], self.length[keep], self.start_ns[keep], self.end_ns[keep],
                       self.npts[keep], self.rate_hz[keep], self.quality[keep], self.corrupt)


def _rate_hz(factor, mult):
    """Sample rate from the SEED 2.4 fixed-header factor and multiplier (SEED manual ch. 8, fields 10-11)."""
    f = np.asarray(factor, dtype=np.float64)
    m = np.asarray(mult, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        rate = np.where(f > 0, np.where(m > 0, f * m, -f / m), np.where(m > 0, -m / f, 1.0 / (f * m)))
    return np.where((f == 0) | (m == 0), 0.0, rate)


def _end_ns(start_ns, npts, rate):
    """Time of the last sample: start + (npts - 1) / rate (the start itself for rate 0 or one sample)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        span = np.where(rate > 0, np.round((np.maximum(npts, 1) - 1) * 1e9 / np.where(rate > 0, rate, 1.0)), 0.0)
    return np.asarray(start_ns, dtype=np.int64) + span.astype(np.int64)


def _header_at(buf, pos: int):
    """(length, start_ns, npts, rate, quality, id12) of the record at ``pos``, or None if no valid header is there.

    The SEED 2.4 fixed section of the data header (48 bytes: sequence number, quality
    indicator, station/location/channel/network, BTIME start, sample count, rate
    factor/multiplier, activity flags, time correction, first-blockette offset) and the
    blockettes 1000 (record length 2^n), 1001 (extra microseconds) and 100 (actual rate)
    are read (SEED Reference Manual v2.4, ch. 8 "Fixed Section of Data Header", ch. 5
    blockettes 100, 1000, 1001). The byte order is the one giving a valid year/day.
    """
    size = len(buf)
    if pos + 48 > size:
        return None
    head = bytes(buf[pos:pos + 48])
    if head[:6].translate(None, b"0123456789 \x00") or head[6] not in b"DRQM":
        return None
    for endian in (">", "<"):
        year, doy, hh, mi, ss, _, frac = struct.unpack_from(endian + "HHBBBBH", head, 20)
        if 1900 <= year <= 2500 and 1 <= doy <= 366:
            break
    else:
        return None
    if hh > 23 or mi > 59 or ss > 60 or frac > 10_000:
        return None
    npts, factor, mult = struct.unpack_from(endian + "Hhh", head, 30)
    activity = head[36]
    (tcorr,) = struct.unpack_from(endian + "i", head, 40)
    (blk,) = struct.unpack_from(endian + "H", head, 46)
    length = None
    usec = 0
    if factor == 0 or mult == 0:
        rate = 0.0
    elif factor > 0:
        rate = factor * mult if mult > 0 else -factor / mult
    else:
        rate = -mult / factor if mult > 0 else 1.0 / (factor * mult)
    for _ in range(16):  # blockette chain (bounded: a loop in a corrupt chain never hangs)
        if blk == 0:
            break
        if blk < 48 or pos + blk + 8 > size:
            return None
        btype, nxt = struct.unpack_from(endian + "HH", buf, pos + blk)
        if btype == 1000:
            exp = buf[pos + blk + 6]
            if not 7 <= exp <= 16:
                return None
            length = 1 << exp
        elif btype == 1001:
            usec = struct.unpack_from("b", buf, pos + blk + 5)[0]
        elif btype == 100 and pos + blk + 8 <= size:
            rate = float(struct.unpack_from(endian + "f", buf, pos + blk + 4)[0])
        if nxt != 0 and nxt <= blk:
            return None
        blk = nxt
    if length is None or pos + length > size:
        return None
    days = _dt.date(year, 1, 1).toordinal() - _EPOCH_ORDINAL + doy - 1
    start = (days * _DAY_NS + ((hh * 60 + mi) * 60 + ss) * 1_000_000_000 + frac * 100_000 + usec * 1000
             + (0 if activity & 0x02 else tcorr * 100_000))
    return length, start, npts, rate, head[6], head[8:20]


_EPOCH_ORDINAL = _dt.date(1970, 1, 1).toordinal()


def _header_by_obspy(buf, pos: int):
    """The record at ``pos`` as ObsPy reads its header (a fallback for headers :func:`_header_at` rejects)."""
    import io
    import warnings

    from obspy.io.mseed.util import get_record_information

    chunk = bytes(buf[pos:pos + 65536])
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            info = get_record_information(io.BytesIO(chunk))
    except Exception:  # noqa: BLE001 - garbage: the caller counts it as corrupt
        return None
    length = info.get("record_length")
    start = info.get("starttime")
    if not length or start is None or pos + length > len(buf) or chunk[6:7] not in (b"D", b"R", b"Q", b"M"):
        return None
    rate = float(info.get("samp_rate") or 0.0)
    return int(length), int(start._ns), int(info.get("npts") or 0), rate, chunk[6], chunk[8:20]


def _walk(buf, id12: bytes | None) -> Records:
    """Record by record through ``buf`` (any record lengths); unreadable stretches are counted and skipped."""
    rows = []
    corrupt = 0
    in_garbage = False
    pos, size = 0, len(buf)
    while pos + 48 <= size:
        rec = _header_at(buf, pos)
        if rec is None and not in_garbage:  # at a record boundary: maybe a header only ObsPy reads
            rec = _header_by_obspy(buf, pos)
        if rec is None:
            if not in_garbage:
                corrupt += 1
                in_garbage = True
            pos += MIN_RECORD_LENGTH
            continue
        in_garbage = False
        length, start, npts, rate, quality, ident = rec
        if npts > 0 and rate > 0 and (id12 is None or ident == id12):
            rows.append((pos, length, start, npts, rate, quality))
        pos += length
    if pos < size and not in_garbage and any(buf[pos:size]):
        corrupt += 1  # a truncated last record
    if not rows:
        empty = np.zeros(0, dtype=np.int64)
        return Records(empty, empty, empty, empty, empty, np.zeros(0), np.zeros(0, dtype=np.uint8), corrupt)
    a = np.array(rows, dtype=np.float64)
    offset, length = a[:, 0].astype(np.int64), a[:, 1].astype(np.int64)
    start = np.array([r[2] for r in rows], dtype=np.int64)  # exact: ns do not fit a float64
    npts, rate = a[:, 3].astype(np.int64), a[:, 4]
    return Records(offset, length, start, _end_ns(start, npts, rate), npts, rate, a[:, 5].astype(np.uint8),
                   corrupt)


def _uniform(buf, id12: bytes | None) -> Records | None:
    """All headers at once when the file is records of one length with the same blockette layout, else None.

    The common case (files written by ObsPy/libmseed, slarchive, :func:`tianshan.io.sds.write_sds`):
    a blockette 1000 at the same offset in every record, maybe followed by a 1001.
    """
    first = _header_at(buf, 0)
    if first is None:
        return None
    length = first[0]
    size = len(buf)
    if size % length:
        return None
    n = size // length
    width = min(length, 128)
    h = np.frombuffer(buf, dtype=np.uint8, count=n * length).reshape(n, length)[:, :width]
    big = 1900 <= (int(h[0, 20]) << 8 | int(h[0, 21])) <= 2500

    def u16(col):
        a, b = h[:, col].astype(np.int64), h[:, col + 1].astype(np.int64)
        return (a << 8 | b) if big else (b << 8 | a)

    def i16(col):
        v = u16(col)
        return np.where(v >= 1 << 15, v - (1 << 16), v)

    def i32(col):
        a = u16(col) if big else u16(col + 2)
        b = u16(col + 2) if big else u16(col)
        v = a << 16 | b
        return np.where(v >= 1 << 31, v - (1 << 32), v)

    # the blockette chain of the first record (1000, maybe 1001, either order) must be every record's
    chain: dict[int, int] = {}  # blockette type -> offset
    pos = int(u16(46)[0])
    prev = np.full(n, 46)
    while pos:
        if pos < 48 or pos + 8 > width or len(chain) == 2 or np.any(u16(int(prev[0])) != pos):
            return None
        btype = int(u16(pos)[0])
        if btype not in (1000, 1001) or btype in chain or np.any(u16(pos) != btype):
            return None
        chain[btype] = pos
        prev = np.full(n, pos + 2)
        pos = int(u16(pos + 2)[0])
    if np.any(u16(int(prev[0])) != 0) or 1000 not in chain:
        return None
    b1000 = chain[1000]
    if np.any(h[:, b1000 + 6] != h[0, b1000 + 6]) or (1 << int(h[0, b1000 + 6])) != length:
        return None
    usec = np.zeros(n, dtype=np.int64)
    if 1001 in chain:
        usec = h[:, chain[1001] + 5].astype(np.int8).astype(np.int64)
    year, doy = u16(20), u16(22)
    hh, mi, ss, frac = (h[:, 24].astype(np.int64), h[:, 25].astype(np.int64), h[:, 26].astype(np.int64),
                        u16(28))
    ok = (_SEQ_OK[h[:, :6]].all(axis=1) & _QUALITY_OK[h[:, 6]] & (year >= 1900) & (year <= 2500) & (doy >= 1)
          & (doy <= 366) & (hh <= 23) & (mi <= 59) & (ss <= 60) & (frac <= 10_000))
    if not ok.all():
        return None
    days = ((year - 1970).astype("datetime64[Y]").astype("datetime64[D]").astype(np.int64) + doy - 1)
    tcorr = np.where(h[:, 36] & 0x02, 0, i32(40))
    start = (days * _DAY_NS + ((hh * 60 + mi) * 60 + ss) * 1_000_000_000 + frac * 100_000 + usec * 1000
             + tcorr * 100_000)
    npts = u16(30)
    rate = _rate_hz(i16(32), i16(34))
    keep = (npts > 0) & (rate > 0)
    if id12 is not None:
        keep &= (h[:, 8:20] == np.frombuffer(id12, dtype=np.uint8)).all(axis=1)
    offset = np.arange(n, dtype=np.int64) * length
    recs = Records(offset, np.full(n, length, dtype=np.int64), start, _end_ns(start, npts, rate), npts, rate,
                   h[:, 6].copy())
    return recs if keep.all() else recs.take(keep)


def header_id(codes: tuple[str, str, str, str]) -> bytes:
    """Station, location, channel, network as the 12 bytes of a miniSEED header (space-padded)."""
    net, sta, loc, cha = codes
    return (sta.ljust(5) + loc.ljust(2) + cha.ljust(3) + net.ljust(2)).encode("ascii")


def scan_records(buf, codes: tuple[str, str, str, str] | None = None) -> Records:
    """Headers of the miniSEED records in ``buf`` (a file's bytes), without decoding any sample.

    ``codes`` (NET, STA, LOC, CHA) keeps only that channel's records (an SDS day file may
    hold stray records of another stream). Records without samples (log, event records)
    are left out. Files of equal-length records are read in one vectorised pass; others
    record by record, where a header this parser rejects is handed to ObsPy's
    ``get_record_information`` and, if that fails too, the stretch is skipped and counted
    in ``Records.corrupt`` (the next header is looked for every 256 bytes).
    """
    id12 = None if codes is None else header_id(codes)
    return _uniform(buf, id12) or _walk(buf, id12)


def channel_day_files(root: Path, codes: tuple[str, str, str, str], start: _dt.datetime, end: _dt.datetime,
                      quality: str = "D") -> list[Path]:
    """The channel's SDS day files from the day before ``start`` to the day of ``end``, oldest first."""
    net, sta, loc, cha = codes
    day = (start - _dt.timedelta(days=1)).date()
    out = []
    while day <= end.date():
        name = f"{net}.{sta}.{loc}.{cha}.{quality}.{day.year:04d}.{day.timetuple().tm_yday:03d}"
        path = Path(root) / f"{day.year:04d}" / net / sta / f"{cha}.{quality}" / name
        if path.is_file():
            out.append(path)
        day += _dt.timedelta(days=1)
    return out

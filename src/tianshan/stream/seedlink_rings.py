"""Packet rings of the SeedLink server and the SDS archive source that fills them.

Each station has one ring of recent packets with SeedLink sequence numbers
(per station, 24 bit, as in SeisComP's seedlink), so a client that reconnects
with ``DATA <seq>`` resumes exactly after the last packet it received.

Archive packets get *stable* sequence numbers: the ``i``-th record of a
station's day (all its channels, ordered by end time, location, channel,
start time) has ``seq = (day_number mod 128) * 2**17 + i``. The same archive
therefore always yields the same numbers, whatever ``--start`` is and across
server restarts, and a client can resume after a server restart with no gap
and no duplicate. (At most 131072 records per station and day: 512-byte
records of 3 x 200 Hz STEIM2 channels need about 15000.)
"""

from __future__ import annotations

import io
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from tianshan.core.errors import InputError
from tianshan.stream.mseed_header import RecordError, RecordHeader, parse_record_header
from tianshan.stream.seedlink_proto import RECORD_BYTES, SEQ_MODULO

_NS = 1_000_000_000
_DAY_BITS = 17
_DAYS = SEQ_MODULO >> _DAY_BITS  # 128
_SDS_NAME = re.compile(r"^([A-Z0-9]{1,2})\.([A-Z0-9]{1,5})\.([A-Z0-9]{0,2})\.([A-Z0-9]{3})\.([A-Z])\.(\d{4})\.(\d{3})$")


@dataclass(frozen=True, slots=True)
class Packet:
    """One SeedLink data packet: sequence number, stream, time span (ns) and 512-byte record."""

    seq: int
    location: str
    channel: str
    type: str
    start_ns: int
    end_ns: int
    record: bytes


@dataclass
class StationRing:
    """Recent packets of one station, indexed by an absolute position that never decreases.

    ``stable`` is true when the sequence numbers come from the archive (the
    same after a restart), false for live-fed rings (numbered from 0 at start).
    """

    network: str
    station: str
    capacity: int = 100_000
    stable: bool = False
    next_seq: int = 0
    finished: bool = False
    _items: list[Packet] = field(default_factory=list)
    _base: int = 0  # absolute position of _items[0]
    streams: dict[tuple[str, str, str], list[int]] = field(default_factory=dict)  # -> [first_ns, last_ns]

    @property
    def total(self) -> int:
        """Absolute position after the newest packet (number ever appended)."""
        return self._base + len(self._items)

    @property
    def first(self) -> int:
        """Absolute position of the oldest packet still held."""
        return self._base

    def get(self, pos: int) -> Packet:
        return self._items[pos - self._base]

    def append(self, pkt: Packet) -> None:
        self._items.append(pkt)
        self.next_seq = (pkt.seq + 1) % SEQ_MODULO
        span = self.streams.setdefault((pkt.location, pkt.channel, pkt.type), [pkt.start_ns, pkt.end_ns])
        span[0], span[1] = min(span[0], pkt.start_ns), max(span[1], pkt.end_ns)
        if len(self._items) > 2 * self.capacity:  # amortised trim keeps get() O(1)
            drop = len(self._items) - self.capacity
            del self._items[:drop]
            self._base += drop

    def find_seq(self, seq: int) -> int | None:
        """Absolute position of the newest packet with sequence number ``seq``, or None."""
        for i in range(len(self._items) - 1, -1, -1):
            if self._items[i].seq == seq:
                return self._base + i
        return None

    def first_at_or_after(self, t_ns: int) -> int:
        """Absolute position of the first packet whose last sample is at or after ``t_ns``."""
        for i, p in enumerate(self._items):
            if p.end_ns >= t_ns:
                return self._base + i
        return self.total

    @property
    def begin_seq(self) -> int:
        return self._items[0].seq if self._items else 0

    @property
    def end_seq(self) -> int:
        return self._items[-1].seq if self._items else 0


def seq_after_or_at(seq: int, ref: int) -> bool:
    """True when ``seq`` is ``ref`` or later in 24-bit modular order (half-range rule)."""
    return (seq - ref) % SEQ_MODULO < SEQ_MODULO // 2


def packet_type(hdr: RecordHeader) -> str:
    """SeedLink packet type letter: ``L`` for log channels, ``D`` for data (SeisComP convention)."""
    return "L" if hdr.stream_id.channel == "LOG" else "D"


def repack_512(data: bytes, source: str = "record") -> list[bytes]:
    """Re-write miniSEED of any record length as 512-byte records (ObsPy ``write(reclen=512)``).

    Samples and times are unchanged; the encoding is kept where ObsPy can write it.
    Raises :class:`RecordError` when ObsPy cannot read the bytes.
    """
    from obspy import read

    try:
        st = read(io.BytesIO(data), format="MSEED")
    except Exception as err:  # noqa: BLE001 - any decoder failure means a bad record
        raise RecordError(f"{source}: not readable miniSEED ({err})") from None
    buf = io.BytesIO()
    kwargs = {}
    encs = {getattr(tr.stats, "mseed", {}).get("encoding") for tr in st}
    if len(encs) == 1 and None not in encs:
        kwargs["encoding"] = encs.pop()
    try:
        st.write(buf, format="MSEED", reclen=RECORD_BYTES, **kwargs)
    except Exception:  # noqa: BLE001 - e.g. STEIM with float samples: let ObsPy choose
        buf = io.BytesIO()
        st.write(buf, format="MSEED", reclen=RECORD_BYTES)
    raw = buf.getvalue()
    return [raw[i:i + RECORD_BYTES] for i in range(0, len(raw), RECORD_BYTES)]


def split_records(data: bytes, source: str = "record") -> list[tuple[bytes, RecordHeader]]:
    """Split a miniSEED byte string into 512-byte records with their headers (re-packing others)."""
    out: list[tuple[bytes, RecordHeader]] = []
    off = 0
    while off < len(data):
        hdr = parse_record_header(data[off:off + 64])
        if hdr.record_length_bytes != RECORD_BYTES or off + RECORD_BYTES > len(data):
            # Other record lengths (or no blockette 1000): let ObsPy re-pack the rest.
            for rec in repack_512(data[off:], source):
                out.append((rec, parse_record_header(rec)))
            return out
        rec = bytes(data[off:off + RECORD_BYTES])
        out.append((rec, hdr))
        off += RECORD_BYTES
    return out


@dataclass(frozen=True, slots=True)
class ArchivePacket:
    """A packet of the archive source, with the station it belongs to."""

    network: str
    station: str
    packet: Packet


def _day_number(year: int, doy: int) -> int:
    import datetime as _dt

    return _dt.date(year, 1, 1).toordinal() + doy - 1


def load_sds(root: str | os.PathLike, start_ns: int | None = None, end_ns: int | None = None,
             stations: set[tuple[str, str]] | None = None) -> tuple[list[ArchivePacket], int]:
    """Read the SDS day files under ``root`` that overlap ``[start_ns, end_ns]``.

    Returns the packets (whole days, with stable sequence numbers; see the module
    docstring) sorted by end time, and the number of corrupt records skipped.
    Raises :class:`InputError` when ``root`` is not a folder.
    """
    root = Path(root)
    if not root.is_dir():
        raise InputError(f"SDS archive {root} is not a folder", source=str(root))
    per_day: dict[tuple[str, str, int], list[tuple[bytes, RecordHeader]]] = {}
    skipped = 0
    for path in sorted(root.glob("[0-9][0-9][0-9][0-9]/*/*/*.*/*")):
        m = _SDS_NAME.match(path.name)
        if m is None or not path.is_file():
            continue
        net, sta, year, doy = m.group(1), m.group(2), int(m.group(6)), int(m.group(7))
        if stations is not None and (net, sta) not in stations:
            continue
        day = _day_number(year, doy)
        day_start = (day - _day_number(1970, 1)) * 86400 * _NS
        if (start_ns is not None and day_start + 86400 * _NS <= start_ns) or (end_ns is not None and day_start > end_ns):
            continue
        recs = per_day.setdefault((net, sta, day), [])
        data = path.read_bytes()
        try:
            recs.extend(split_records(data, str(path)))
        except RecordError:
            # Fall back record by record: keep the good 512-byte records, count the rest.
            for off in range(0, len(data) - RECORD_BYTES + 1, RECORD_BYTES):
                chunk = data[off:off + RECORD_BYTES]
                try:
                    recs.append((chunk, parse_record_header(chunk)))
                except RecordError:
                    skipped += 1
    out: list[ArchivePacket] = []
    for (net, sta, day), recs in per_day.items():
        recs.sort(key=lambda r: (r[1].end_ns, r[1].stream_id.location, r[1].stream_id.channel, r[1].start_ns))
        if len(recs) > 1 << _DAY_BITS:
            raise InputError(f"SDS archive {root}: {net}.{sta} has {len(recs)} records in one day "
                             f"(at most {1 << _DAY_BITS} are numbered)", source=str(root))
        base = (day % _DAYS) << _DAY_BITS
        for i, (rec, hdr) in enumerate(recs):
            sid = hdr.stream_id
            out.append(ArchivePacket(net, sta, Packet(base + i, sid.location, sid.channel, packet_type(hdr),
                                                      hdr.start_ns, hdr.end_ns, rec)))
    out.sort(key=lambda a: (a.packet.end_ns, a.network, a.station, a.packet.seq))
    return out, skipped

"""Restart after a crash: re-read the newest archived data into the ring buffers before the sources connect.

After ``kill -9`` the ring buffers are gone, and with them the data the picker had not yet
finished with: the last window of every sensor (``window_s``), the picks held back near a
window end (``edge_s``/``s_edge_s``), and the windows still queued. The SeedLink client resumes
after the last record it *committed* (:mod:`tianshan.stream.seedlink_client`), and every
committed record is in the live archive (the daemon writes a record to the archive before
the client commits it), so the archive holds everything the buffers lost.

:func:`prime_buffers` finds the archive's data frontier (the newest record end over the
inventory's streams), reads the records of the last ``prime_s`` seconds before it (by
default picker window + step + 30 s, :attr:`tianshan.config.settings.RunSettings.effective_prime_s`)
and feeds them to the BufferSet in time order (interleaved across channels, as a live feed
delivers them). The picker, attached before, re-picks those windows; the picks it publishes
again carry the same stable keys/ids (:func:`tianshan.stages.picking.stable_pick_key`), so
the bus (key dedupe) and the event stage (duplicate picks) drop the ones already handled.
Then the live feed resumes exactly where the archive ends.

Reading is bounded: a day file is read backwards in blocks of :data:`BLOCK_RECORDS` records
until a whole block ends before the window (records are appended in arrival order, which
is time order up to small reordering); at most the two newest day files per stream are read.
Corrupt records (a torn tail is already truncated by :class:`~tianshan.stream.archive.LiveArchive`
at open) are skipped and counted.
"""

from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from tianshan.core.ids import StreamID
from tianshan.stream.mseed_header import RecordError, RecordHeader, parse_record_header

log = logging.getLogger(__name__)

_NS = 1_000_000_000
RECORD_BYTES = 512
BLOCK_RECORDS = 256
_DAY_FILE = re.compile(r"^(?P<name>.+)\.(?P<year>\d{4})\.(?P<doy>\d{3})$")


@dataclass(frozen=True)
class PrimeResult:
    """What :func:`prime_buffers` did: records fed, the window read (ns), corrupt records skipped."""

    records: int
    start_ns: int | None
    end_ns: int | None
    skipped: int
    streams: int

    def as_dict(self) -> dict:
        return {"records": self.records, "start_ns": self.start_ns, "end_ns": self.end_ns,
                "skipped": self.skipped, "streams": self.streams}


def _day_files(root: Path, sid: StreamID, quality: str = "D") -> list[Path]:
    """Day files of ``sid`` under the SDS ``root``, newest first (at most the two newest)."""
    name = f"{sid.network}.{sid.station}.{sid.location}.{sid.channel}.{quality}"
    found: list[tuple[int, int, Path]] = []
    try:
        years = sorted((p for p in root.iterdir() if p.name.isdigit() and len(p.name) == 4), reverse=True)
    except OSError:
        return []
    for ydir in years:
        folder = ydir / sid.network / sid.station / f"{sid.channel}.{quality}"
        if not folder.is_dir():
            continue
        for p in folder.iterdir():
            m = _DAY_FILE.match(p.name)
            if m and m.group("name") == name and p.is_file():
                found.append((int(m.group("year")), int(m.group("doy")), p))
        if len(found) >= 2:
            break
    found.sort(reverse=True)
    return [p for _, _, p in found[:2]]


def _read_back(path: Path, start_ns: int | None, counts: list[int]):
    """Yield (header, record) of ``path`` from the end backwards, block by block, until a
    whole block ends before ``start_ns`` (None: only the last block)."""
    try:
        size = path.stat().st_size
        fh = open(path, "rb")
    except OSError as err:
        log.warning("recovery: cannot read %s: %s", path, err)
        return
    with fh:
        pos = size - size % RECORD_BYTES
        while pos > 0:
            lo = max(0, pos - BLOCK_RECORDS * RECORD_BYTES)
            fh.seek(lo)
            blob = fh.read(pos - lo)
            newest_in_block = None
            for off in range(len(blob) - RECORD_BYTES, -1, -RECORD_BYTES):
                rec = blob[off:off + RECORD_BYTES]
                try:
                    h = parse_record_header(rec)
                except RecordError:
                    counts[0] += 1
                    continue
                newest_in_block = h.end_ns if newest_in_block is None else max(newest_in_block, h.end_ns)
                yield h, rec
            if start_ns is None or newest_in_block is None or newest_in_block < start_ns:
                return
            pos = lo


def archive_frontier_ns(root: str | os.PathLike, stream_ids: Iterable[StreamID]) -> int | None:
    """Newest record end (ns) in the SDS archive over ``stream_ids``; None when none is archived."""
    root = Path(root)
    if not root.is_dir():
        return None
    newest = None
    counts = [0]
    for sid in stream_ids:
        files = _day_files(root, sid)
        if not files:
            continue
        for h, _ in _read_back(files[0], None, counts):
            if h.stream_id == sid and (newest is None or h.end_ns > newest):
                newest = h.end_ns
    return newest


def recent_records(root: str | os.PathLike, stream_ids: Iterable[StreamID], start_ns: int,
                   end_ns: int) -> tuple[list[tuple[RecordHeader, bytes]], int]:
    """Archived records of ``stream_ids`` overlapping ``[start_ns, end_ns]``, in time order; and the
    number of corrupt records skipped."""
    root = Path(root)
    out: list[tuple[RecordHeader, bytes]] = []
    counts = [0]
    seen: set[tuple[StreamID, int]] = set()
    for sid in stream_ids:
        for path in _day_files(root, sid):
            for h, rec in _read_back(path, start_ns, counts):
                if h.stream_id != sid or h.end_ns < start_ns or h.start_ns > end_ns:
                    continue
                key = (sid, h.start_ns)
                if key not in seen:
                    seen.add(key)
                    out.append((h, rec))
    out.sort(key=lambda r: (r[0].end_ns, str(r[0].stream_id)))
    return out, counts[0]


def prime_buffers(buffers, root: str | os.PathLike | None, stream_ids: Iterable[StreamID],
                  prime_s: float) -> PrimeResult:
    """Feed the last ``prime_s`` seconds of archived data into ``buffers`` (see the module docstring)."""
    stream_ids = list(stream_ids)
    if root is None or prime_s <= 0 or not Path(root).is_dir():
        return PrimeResult(0, None, None, 0, 0)
    end = archive_frontier_ns(root, stream_ids)
    if end is None:
        return PrimeResult(0, None, None, 0, 0)
    start = end - int(prime_s * _NS)
    records, skipped = recent_records(root, stream_ids, start, end)
    for _, rec in records:
        buffers.ingest_record(rec)
    streams = len({h.stream_id for h, _ in records})
    log.info("recovery: %d archived records of %d streams re-read into the buffers (%.0f s)",
             len(records), streams, prime_s, extra={"records": len(records), "skipped": skipped})
    return PrimeResult(len(records), start, end, skipped, streams)

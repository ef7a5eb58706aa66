"""fdsnws-dataselect 1.1 over the SDS archive: the archived miniSEED records, passed through unchanged.

Record granularity. The answer is the archive's own miniSEED records whose time span
(first to last sample) overlaps the requested window, byte for byte: no sample is
decoded or re-encoded, so a window inside one record returns that whole record. The
FDSN specification lets a data centre answer at record granularity; data centres differ
(GeoNet returns whole records, see github.com/GeoNet/help/issues/41, where a user
reports data starting before and ending after the window; EarthScope/IRIS trims to
the sample: the example of ObsPy's ``Client.get_waveforms_bulk`` docstring shows 20
samples for 1 s of 20 Hz IU.ANMO.00.BHZ). ObsPy's ``Client.get_waveforms`` trims to
the window itself (``st.trim(starttime, endtime)``); ``get_waveforms_bulk`` does not.

Steps of one request (GET: one selection from the parameters, both ``starttime`` and
``endtime`` required; POST: one selection per line):

1. **Size check before reading.** With an inventory, the expected number of samples
   is the sum over matching channel epochs of rate x (window clipped to the epoch);
   above ``max_samples`` the request is refused with 413 without touching the archive.
2. **Channels** whose day files match each code combination (wildcards as in
   :func:`.archive.channels_in`); **restricted channels** (inventory
   ``restrictedStatus``, see :mod:`.station`) are kept only for an authenticated
   ``queryauth`` request; when nothing else matched, ``query`` answers 403.
3. **Record headers** of the channel's day files (the day before the window to its
   last day) are read with :func:`.archive.scan_records` (SEED 2.4 fixed header and
   blockettes 1000/1001/100; ObsPy's header reader for a record this parser rejects);
   a stretch of a file where no header can be read is skipped, logged and counted
   (``corrupt_records``, and ``unreadable`` files): one corrupt file never fails the
   request. Records of overlapping request lines are sent once.
4. ``quality`` (the record's SEED data quality letter; ``B`` = any), ``minimumlength``
   (segment length = its samples / rate, s) and ``longestonly`` (longest segment per
   channel), where a segment is a run of records each starting one sample period
   (+- half a period) after the previous one's last sample.
5. **Size check after selection** (samples counted from the headers), then the records
   are streamed, channel by channel in time order, from the files opened in step 3
   (an archive file replaced meanwhile does not change the answer).
"""

from __future__ import annotations

import itertools
import logging
import os
import threading
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from tianshan.services.fdsn.errors import BadRequest, FDSNError, NoData, TooLarge
from tianshan.services.fdsn.params import Query, Selection, get_selection
from tianshan.services.fdsn.station import InventoryIndex

log = logging.getLogger(__name__)

MSEED_MEDIA_TYPE = "application/vnd.fdsn.mseed"
#: Bytes per chunk of the streamed answer.
CHUNK_BYTES = 1 << 20
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def _seconds(start: datetime, end: datetime) -> float:
    return max(0.0, (end - start).total_seconds())


def _ns(t: datetime) -> int:
    if t.tzinfo is None:
        t = t.replace(tzinfo=timezone.utc)
    d = t - _EPOCH
    return (d.days * 86_400 + d.seconds) * 1_000_000_000 + d.microseconds * 1000


class MseedBody:
    """The answer: byte ranges of open archive files, iterated as chunks of at most :data:`CHUNK_BYTES`.

    ``nbytes``, ``nrecords`` and ``nsamples`` describe it. Iterating it once streams it and
    closes the files (also when abandoned: :meth:`close`, or garbage collection).
    """

    def __init__(self, files: list, ranges: list[tuple[int, int, int]], nrecords: int, nsamples: int) -> None:
        self._files = files
        self.ranges = ranges  # (file index, offset, length), adjacent records already joined
        self.nbytes = sum(r[2] for r in ranges)
        self.nrecords = nrecords
        self.nsamples = nsamples

    def __iter__(self):
        try:
            for k, offset, length in self.ranges:
                fd = self._files[k].fileno()
                end = offset + length
                while offset < end:
                    chunk = os.pread(fd, min(CHUNK_BYTES, end - offset), offset)
                    if not chunk:
                        raise OSError(f"{self._files[k].name}: file ended before byte {end}")
                    offset += len(chunk)
                    yield chunk
        finally:
            self.close()

    def read_all(self) -> bytes:
        return b"".join(self)

    def close(self) -> None:
        for f in self._files:
            f.close()
        self._files = []

    def __del__(self) -> None:
        self.close()


class DataselectService:
    """Answers fdsnws-dataselect requests from an SDS archive.

    ``index`` (the inventory) gives the restricted channels and the expected sample
    counts; without it nothing is restricted and only the after-selection size check applies.
    """

    def __init__(self, archive: str | Path, index: InventoryIndex | None = None,
                 max_samples: int = 20_000_000) -> None:
        if max_samples < 1:
            raise ValueError("max_samples must be >= 1")
        self.archive = Path(archive)
        self.index = index
        self.max_samples = int(max_samples)
        self.unreadable = 0  # day files with a stretch no record header could be read from
        self.corrupt_records = 0  # such stretches (each skipped)
        self._lock = threading.Lock()

    def estimate_samples(self, selections: list[Selection]) -> int:
        """Expected samples of ``selections`` from the inventory's rates and epochs (0 without one)."""
        if self.index is None:
            return 0
        total = 0.0
        for sel in selections:
            for ch in self.index.channels(sel):
                start = max(t for t in (sel.start, ch.start) if t is not None)
                end = min(t for t in (sel.end, ch.end) if t is not None)
                total += ch.sample_rate_hz * _seconds(start, end)
        return int(total)

    def query(self, q: Query, selections: list[Selection] | None, authorized: bool = False) -> MseedBody:
        """The miniSEED answer (records to stream); raises :class:`NoData`, 400, 403 or 413 errors."""
        if selections is None:
            if q.get("starttime") is None or q.get("endtime") is None:
                raise BadRequest("starttime and endtime are required")
            selections = [get_selection(q)]
        expected = self.estimate_samples(selections)
        if expected > self.max_samples:
            raise TooLarge(f"the request would return about {expected} samples, more than this service's "
                           f"limit of {self.max_samples}; split it into smaller windows")
        files: list = []
        try:
            chosen, withheld = self._select(selections, authorized, files)
            parts = []
            for codes in sorted(chosen):
                recs = _segments(chosen[codes], q)
                if len(recs["start"]):
                    parts.append(recs)
            if not parts:
                if withheld:
                    raise FDSNError(403, f"{withheld} matching channel(s) are restricted; request them from "
                                         "queryauth with credentials")
                raise NoData()
            total = int(sum(int(p["npts"].sum()) for p in parts))
            if total > self.max_samples:
                raise TooLarge(f"the request matches {total} samples, more than this service's limit of "
                               f"{self.max_samples}; split it into smaller windows")
            ranges: list[tuple[int, int, int]] = []
            for p in parts:
                for k, off, ln in zip(p["file"].tolist(), p["offset"].tolist(), p["length"].tolist()):
                    if ranges and ranges[-1][0] == k and ranges[-1][1] + ranges[-1][2] == off:
                        ranges[-1] = (k, ranges[-1][1], ranges[-1][2] + ln)
                    else:
                        ranges.append((k, off, ln))
            return MseedBody(files, ranges, sum(len(p["start"]) for p in parts), total)
        except BaseException:
            for f in files:
                f.close()
            raise

    def _select(self, selections: list[Selection], authorized: bool, files: list):
        """Per channel, the overlapping records of all selections (arrays), and the number of withheld channels."""
        from tianshan.services.fdsn.archive import channel_day_files, channels_in, scan_records

        scans: dict[Path, tuple[int, object]] = {}  # path -> (index in files, Records)
        by_file: dict[int, object] = {}  # index in files -> Records
        picked: dict[tuple, dict[tuple[int, int], tuple]] = {}
        restricted: dict[tuple, bool] = {}
        withheld: set[tuple] = set()
        for sel in selections:
            patterns = {tuple(c.upper() for c in combo)
                        for combo in itertools.product(sel.network, sel.station, sel.location, sel.channel)}
            found = sorted({ch for p in patterns for ch in channels_in(self.archive, p, sel.start, sel.end)})
            t1, t2 = _ns(sel.start), _ns(sel.end)
            for codes in found:
                if not authorized and self.index is not None:
                    if (codes, sel.start, sel.end) not in restricted:
                        restricted[(codes, sel.start, sel.end)] = self.index.is_restricted(codes, sel.start, sel.end)
                    if restricted[(codes, sel.start, sel.end)]:
                        withheld.add(codes)
                        continue
                for path in channel_day_files(self.archive, codes, sel.start, sel.end):
                    if path not in scans:
                        scans[path] = self._scan(path, codes, files, scan_records)
                    k, recs = scans[path]
                    if recs is None or not len(recs):
                        continue
                    by_file[k] = recs
                    hit = np.flatnonzero((recs.start_ns <= t2) & (recs.end_ns >= t1))
                    into = picked.setdefault(codes, {})
                    for i in hit.tolist():
                        into.setdefault((k, int(recs.offset[i])), (k, i))
        chosen = {}
        for codes, entries in picked.items():
            if not entries:
                continue
            k_arr = np.array([k for k, _ in entries.values()], dtype=np.int64)
            i_arr = np.array([i for _, i in entries.values()], dtype=np.int64)
            cols: dict[str, list] = {name: [] for name in ("file", "offset", "length", "start", "end", "npts",
                                                           "rate", "quality")}
            for k in np.unique(k_arr).tolist():
                recs = by_file[k]
                idx = i_arr[k_arr == k]
                cols["file"].append(np.full(len(idx), k, dtype=np.int64))
                cols["offset"].append(recs.offset[idx])
                cols["length"].append(recs.length[idx])
                cols["start"].append(recs.start_ns[idx])
                cols["end"].append(recs.end_ns[idx])
                cols["npts"].append(recs.npts[idx])
                cols["rate"].append(recs.rate_hz[idx])
                cols["quality"].append(recs.quality[idx])
            chosen[codes] = {name: np.concatenate(v) for name, v in cols.items()}
        return chosen, len(withheld)

    def _scan(self, path: Path, codes: tuple, files: list, scan_records):
        """(index of the opened file in ``files``, its Records), or (-1, None) when it cannot be read."""
        try:
            f = open(path, "rb")  # noqa: SIM115 - kept open until the answer is streamed
        except OSError as err:
            with self._lock:
                self.unreadable += 1
            log.warning("dataselect: skipped %s: %s", path, err)
            return -1, None
        files.append(f)
        try:
            recs = scan_records(f.read(), codes)
        except OSError as err:
            with self._lock:
                self.unreadable += 1
            log.warning("dataselect: skipped %s: %s", path, err)
            return -1, None
        if recs.corrupt:
            with self._lock:
                self.unreadable += 1
                self.corrupt_records += recs.corrupt
            log.warning("dataselect: %s: %d stretch(es) without a readable miniSEED header skipped (%d records "
                        "kept)", path, recs.corrupt, len(recs))
        return len(files) - 1, recs


def _segments(rec: dict, q: Query) -> dict:
    """The records of one channel kept by ``quality``, ``minimumlength`` and ``longestonly``, in time order."""
    quality = q["quality"]
    keep = np.ones(len(rec["start"]), dtype=bool)
    if quality != "B":
        keep &= rec["quality"] == ord(quality)
    order = np.flatnonzero(keep)
    order = order[np.lexsort((rec["offset"][order], rec["file"][order], rec["start"][order]))]
    rec = {name: v[order] for name, v in rec.items()}
    n = len(rec["start"])
    min_len = float(q["minimumlength"])
    if n == 0 or (min_len <= 0 and not q["longestonly"]):
        return rec
    period = 1e9 / rec["rate"]
    gap = rec["start"][1:] - (rec["end"][:-1] + period[:-1])
    breaks = (np.abs(gap) > 0.5 * period[:-1]) | (rec["rate"][1:] != rec["rate"][:-1])
    seg = np.concatenate([[0], np.cumsum(breaks)])
    seconds = np.bincount(seg, weights=rec["npts"] / rec["rate"])
    good = seconds >= min_len
    if q["longestonly"] and good.any():
        best = int(np.argmax(np.where(good, seconds, -1.0)))
        good = np.zeros_like(good)
        good[best] = True
    keep = good[seg]
    return {name: v[keep] for name, v in rec.items()}

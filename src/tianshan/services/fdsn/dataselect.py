"""fdsnws-dataselect 1.1 over the SDS archive: miniSEED cut to the requested windows.

Steps of one request (GET: one selection from the parameters, both ``starttime`` and
``endtime`` required; POST: one selection per line):

1. **Size check before reading.** With an inventory, the expected number of samples
   is the sum over matching channel epochs of rate x (window clipped to the epoch);
   above ``max_samples`` the request is refused with 413 without touching the archive.
2. **Read** the channels whose day files match each code combination, one channel at a
   time, with :func:`tianshan.io.sds.read_sds` (ObsPy's SDS client: cut to the window,
   contiguous records merged); repeated traces from overlapping lines are dropped. A
   channel whose files cannot be read is skipped, logged and counted
   (``unreadable``): one corrupt file never fails the whole request.
3. **Restricted channels** (inventory ``restrictedStatus``, see :mod:`.station`) are
   kept only for an authenticated ``queryauth`` request; when nothing else matched,
   ``query`` answers 403 (the FDSN code for access to restricted data refused).
4. ``quality`` (SEED data quality letter of the records; ``B`` = any), ``minimumlength``
   (segment length npts / rate, seconds) and ``longestonly`` (longest segment per channel).
5. **Size check after reading** (channels absent from the inventory are not in the
   estimate), then miniSEED out with each trace's archived encoding.
"""

from __future__ import annotations

import io
import itertools
import logging
from datetime import datetime
from pathlib import Path

from tianshan.services.fdsn.errors import BadRequest, FDSNError, NoData, TooLarge
from tianshan.services.fdsn.params import Query, Selection, get_selection
from tianshan.services.fdsn.station import InventoryIndex

log = logging.getLogger(__name__)

MSEED_MEDIA_TYPE = "application/vnd.fdsn.mseed"


def _seconds(start: datetime, end: datetime) -> float:
    return max(0.0, (end - start).total_seconds())


class DataselectService:
    """Answers fdsnws-dataselect requests from an SDS archive.

    ``index`` (the inventory) gives the restricted channels and the expected sample
    counts; without it nothing is restricted and only the after-read size check applies.
    """

    def __init__(self, archive: str | Path, index: InventoryIndex | None = None,
                 max_samples: int = 20_000_000) -> None:
        if max_samples < 1:
            raise ValueError("max_samples must be >= 1")
        self.archive = Path(archive)
        self.index = index
        self.max_samples = int(max_samples)
        self.unreadable = 0  # channels skipped because their archive files could not be read

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

    def query(self, q: Query, selections: list[Selection] | None, authorized: bool = False) -> bytes:
        """The miniSEED answer; raises :class:`NoData`, 400, 403 or 413 errors."""
        if selections is None:
            if q.get("starttime") is None or q.get("endtime") is None:
                raise BadRequest("starttime and endtime are required")
            selections = [get_selection(q)]
        expected = self.estimate_samples(selections)
        if expected > self.max_samples:
            raise TooLarge(f"the request would return about {expected} samples, more than this service's "
                           f"limit of {self.max_samples}; split it into smaller windows")
        stream, withheld = self._read(selections, authorized)
        stream = _select_segments(stream, q)
        if not len(stream):
            if withheld:
                raise FDSNError(403, f"{withheld} matching channel(s) are restricted; request them from "
                                     "queryauth with credentials")
            raise NoData()
        total = sum(len(tr.data) for tr in stream)
        if total > self.max_samples:
            raise TooLarge(f"the request matches {total} samples, more than this service's limit of "
                           f"{self.max_samples}; split it into smaller windows")
        buf = io.BytesIO()
        stream.write(buf, format="MSEED")
        return buf.getvalue()

    def _read(self, selections: list[Selection], authorized: bool):
        from obspy import Stream

        from tianshan.io.sds import read_sds
        from tianshan.services.fdsn.archive import channels_in

        out = Stream()
        seen: set[tuple] = set()
        restricted: dict[tuple, bool] = {}
        withheld: set[tuple] = set()
        for sel in selections:
            patterns = {tuple(c.upper() for c in combo)
                        for combo in itertools.product(sel.network, sel.station, sel.location, sel.channel)}
            found = sorted({ch for p in patterns for ch in channels_in(self.archive, p, sel.start, sel.end)})
            for codes in found:
                try:
                    traces = read_sds(self.archive, ".".join(codes), sel.start, sel.end)
                except Exception as err:  # noqa: BLE001 - corrupt files of one channel never fail the request
                    self.unreadable += 1
                    log.warning("dataselect: skipped %s: archive files not readable (%s: %s)", ".".join(codes),
                                type(err).__name__, err)
                    continue
                for tr in traces:
                    if not len(tr.data):
                        continue
                    key = (tr.id, tr.stats.starttime.ns, len(tr.data))
                    if key in seen:
                        continue
                    seen.add(key)
                    ids = (tr.stats.network, tr.stats.station, tr.stats.location, tr.stats.channel)
                    if not authorized and self.index is not None:
                        if ids not in restricted:
                            restricted[ids] = self.index.is_restricted(ids, sel.start, sel.end)
                        if restricted[ids]:
                            withheld.add(ids)
                            continue
                    out.append(tr)
        out.sort()
        return out, len(withheld)


def _select_segments(stream, q: Query):
    """``quality``, ``minimumlength`` and ``longestonly`` applied to the traces (segments) of ``stream``."""
    from obspy import Stream

    quality = q["quality"]
    min_len = float(q["minimumlength"])
    kept = []
    for tr in stream:
        if quality != "B":
            mseed = getattr(tr.stats, "mseed", None)
            if mseed is None or getattr(mseed, "dataquality", None) != quality:
                continue
        if len(tr.data) / tr.stats.sampling_rate < min_len:
            continue
        kept.append(tr)
    if q["longestonly"]:
        longest: dict[str, object] = {}
        for tr in kept:
            best = longest.get(tr.id)
            if best is None or len(tr.data) / tr.stats.sampling_rate > len(best.data) / best.stats.sampling_rate:
                longest[tr.id] = tr
        kept = [tr for tr in kept if longest.get(tr.id) is tr]
    return Stream(kept)

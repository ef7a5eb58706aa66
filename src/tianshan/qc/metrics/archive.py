"""Data-quality metrics over an SDS archive: every channel-day, its products and stored findings.

:func:`run_archive` finds the streams of an SDS archive (``YEAR/NET/STA/CHAN.D/``
day files, :func:`tianshan.io.sds.sds_path`) with data in the requested days,
reads each UTC day ``[00:00, 24:00)`` of each stream and computes
:func:`~tianshan.qc.metrics.daily.channel_day_metrics` (the day's miniSEED files,
and the previous day's, give the state-of-health flags: a record may start
before midnight). A stream seen on any day of the run is measured on every day,
so a day without data reads ``percent_availability = 0`` -- an outage is a
finding. A channel-day that cannot be read is skipped and counted
(``failed``), never fatal. Exclusions follow from
:mod:`tianshan.qc.metrics.exclusion`.

Products (:func:`write_products`, atomic writes):

* ``metrics.json``: every channel-day's metrics (:meth:`ArchiveRun.as_dict`);
* ``metrics.csv``: ISPAQ/MUSTANG measurement rows ``target,start,end,metric,value``;
* ``exclusions.json``: the excluded channel-days and why
  (:class:`~tianshan.qc.metrics.exclusion.ExclusionList`);
* ``psd/NET.STA.LOC.CHA_YYYY-MM-DD_PDF.txt``: the PDF in MUSTANG ``noise-pdf`` text
  form (``freq, power, hits``), and ``..._PSD.json``: percentiles, mode, mean and
  noise models per period.

Storage (:func:`store_records`): the QC findings of each channel-day (availability,
gaps, overlaps, clipping, flat stretches, time tears) as
:class:`~tianshan.core.qc.QCRecord` rows of the event store. Re-running is
idempotent; a finding stored earlier with another value (more data arrived since)
is kept and counted as a conflict.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import os
import time
import warnings
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Callable, Iterable, Sequence

from tianshan.core.errors import DomainError, InputError
from tianshan.core.ids import StreamID
from tianshan.core.qc import QCRecord
from tianshan.core.timeutil import UTC, as_utc
from tianshan.qc.metrics.daily import ChannelDayMetrics, channel_day_metrics
from tianshan.qc.metrics.exclusion import Exclusion, ExclusionConfig, ExclusionList, evaluate

log = logging.getLogger(__name__)

#: progress(done, total, label) -- called after each channel-day.
Progress = Callable[[int, int, str], None]


@dataclass(frozen=True, eq=False)
class ArchiveRun:
    """What :func:`run_archive` measured.

    ``counts``: ``streams``, ``days``, ``channel_days``, ``no_data`` (channel-days
    without samples), ``psd`` (with a PSD), ``psd_unavailable``, ``failed`` (channel-days
    that could not be read: ``failures`` says why), ``warnings`` (ObsPy's warnings
    while reading, e.g. bad header codes), ``excluded``.
    """

    start: datetime
    end: datetime
    metrics: tuple[ChannelDayMetrics, ...]
    exclusions: tuple[Exclusion, ...]
    records: tuple[QCRecord, ...]
    psds: tuple = ()
    counts: dict[str, int] = field(default_factory=dict)
    failures: tuple[str, ...] = ()
    wall_s: float = 0.0

    def as_dict(self) -> dict:
        return {
            "start": _iso(self.start), "end": _iso(self.end),
            "counts": dict(self.counts),
            "metrics": [m.as_dict() for m in self.metrics],
            "exclusions": [e.as_dict() for e in self.exclusions],
            "failures": list(self.failures),
        }

    def csv_text(self) -> str:
        """ISPAQ-style long CSV: ``target,start,end,metric,value`` (empty value: not computable)."""
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(["target", "start", "end", "metric", "value"])
        for m in self.metrics:
            for row in m.long_rows():
                w.writerow(["" if v is None else (repr(v) if isinstance(v, float) else v) for v in row])
        return buf.getvalue()


def _iso(t: datetime) -> str:
    return t.isoformat().replace("+00:00", "Z")


def day_range(start, end) -> list[date]:
    """The UTC days touched by ``[start, end)`` (``start`` floored, ``end`` ceiled to midnight)."""
    try:
        t0, t1 = as_utc(start, "start"), as_utc(end, "end")
    except DomainError as err:
        raise InputError(str(err)) from None
    if not t1 > t0:
        raise InputError(f"{_iso(t1)} is not after start {_iso(t0)}", field="end")
    d, last = t0.date(), t1.date()
    if datetime(last.year, last.month, last.day, tzinfo=UTC) == t1:
        last -= timedelta(days=1)
    days = []
    while d <= last:
        days.append(d)
        d += timedelta(days=1)
    return days


def stream_patterns(patterns: Sequence[str] | None) -> list[str]:
    """``NET.STA.LOC.CHA`` patterns (``*``/``?``; ``--`` for an empty location), checked; default all."""
    pats = [str(p).strip() for p in (patterns or ["*.*.*.*"])]
    bad = [p for p in pats if p.count(".") != 3]
    if bad:
        raise InputError(f"expected NET.STA.LOC.CHA patterns, got {', '.join(bad)}", field="--streams")
    return [".".join("" if i == 2 and part == "--" else part for i, part in enumerate(p.split("."))) for p in pats]


def archive_streams(root: str | Path, days: Sequence[date], patterns: Sequence[str] | None = None,
                    sds_type: str = "D") -> list[StreamID]:
    """Streams with an SDS day file on any of ``days`` (matching ``NET.STA.LOC.CHA`` patterns, ``*``/``?``)."""
    root = Path(root)
    if not root.is_dir():
        raise InputError("SDS archive folder not found", source=str(root))
    pats = stream_patterns(patterns)
    wanted = {(d.year, d.timetuple().tm_yday) for d in days}
    found: set[StreamID] = set()
    for year in sorted({y for y, _ in wanted}):
        ydir = root / f"{year:04d}"
        if not ydir.is_dir():
            continue
        for dirpath, _dirs, files in os.walk(ydir):
            for name in files:
                parts = name.split(".")
                if len(parts) != 7 or parts[4] != sds_type:
                    continue
                try:
                    key = (int(parts[5]), int(parts[6]))
                except ValueError:
                    continue
                if key not in wanted:
                    continue
                text = ".".join(parts[:4])
                if not any(fnmatchcase(text, p) for p in pats):
                    continue
                try:
                    found.add(StreamID(*parts[:4]))
                except DomainError:
                    continue  # a file name that is no SEED id: not ours to measure
    return sorted(found)


def load_inventory(paths: Iterable[str | Path]):
    """One ObsPy inventory from StationXML / RESP / SEED files (None when no path)."""
    from obspy import Inventory, read_inventory

    inv = None
    for p in paths:
        p = Path(p)
        if not p.is_file():
            raise InputError("inventory file not found", source=str(p))
        try:
            part = read_inventory(str(p))
        except Exception as err:  # noqa: BLE001 - ObsPy raises many types for unreadable metadata
            raise InputError(f"cannot read inventory: {err}", source=str(p)) from None
        inv = part if inv is None else Inventory(networks=inv.networks + part.networks, source=inv.source)
    return inv


def read_day(root: str | Path, sid: StreamID, day: date, sds_type: str = "D"):
    """``(stream, files)``: the samples of ``sid`` in UTC ``day`` from its SDS day file and the
    previous day's (a record may cross midnight), and the files read.

    The day's own file must be readable (its errors propagate); an unreadable previous-day
    file is left out with a warning. Contiguous records are merged (ObsPy ``merge(-1)``).
    """
    from obspy import Stream, UTCDateTime, read

    from tianshan.io.sds import sds_path

    t0 = UTCDateTime(day.year, day.month, day.day)
    t1 = t0 + 86400
    st, files = Stream(), []
    prev, cur = sds_path(root, sid, day - timedelta(days=1), sds_type), sds_path(root, sid, day, sds_type)
    for path in (prev, cur):
        if not path.is_file():
            continue
        try:
            part = read(str(path), format="MSEED", starttime=t0, endtime=t1)
        except Exception as err:  # noqa: BLE001 - ObsPy raises many types for a corrupt file
            if path == cur:
                raise
            warnings.warn(f"{path}: unreadable, left out: {type(err).__name__}: {err}", stacklevel=2)
            continue
        files.append(str(path))
        st += part.select(network=sid.network, station=sid.station, location=sid.location, channel=sid.channel)
    st.merge(-1)
    st.sort()
    return st, files


def run_archive(archive: str | Path, start, end, *, streams: Sequence[str] | None = None, inventory=None,
                psd: bool = True, exclusion: ExclusionConfig | None = None, psd_dir: str | Path | None = None,
                keep_psd: bool = False, progress: Progress | None = None) -> ArchiveRun:
    """Measure every channel-day of the archive between ``start`` and ``end`` (whole UTC days).

    ``streams``: ``NET.STA.LOC.CHA`` patterns (default all); ``inventory``: ObsPy
    inventory with responses for the PSD metrics (None: no PSD metrics);
    ``exclusion``: rules (default :data:`~tianshan.qc.metrics.exclusion.DEFAULT_RULES`).
    ``psd_dir``: write each channel-day's PDF/PSD products there as soon as computed;
    ``keep_psd``: keep the :class:`~tianshan.qc.metrics.psd.PSDResult` objects in
    :attr:`ArchiveRun.psds` (about 150 kB each: off for long runs).
    """
    from obspy import UTCDateTime

    t_wall = time.perf_counter()
    days = day_range(start, end)
    root = Path(archive)
    sids = archive_streams(root, days, streams)
    total = len(sids) * len(days)
    metrics: list[ChannelDayMetrics] = []
    records: list[QCRecord] = []
    psds = []
    failures: list[str] = []
    counts = dict(streams=len(sids), days=len(days), channel_days=0, no_data=0, psd=0, psd_unavailable=0, failed=0,
                  warnings=0)
    done = 0
    for sid in sids:
        for day in days:
            t0 = UTCDateTime(day.year, day.month, day.day)
            t1 = t0 + 86400
            label = f"{sid} {day.isoformat()}"
            try:
                with warnings.catch_warnings(record=True) as caught:
                    warnings.simplefilter("always")
                    st, files = read_day(root, sid, day)
                    res = channel_day_metrics(st, sid, t0, t1, flag_files=files, metadata=inventory,
                                              psd=psd and inventory is not None)
                counts["warnings"] += len(caught)
            except Exception as err:  # noqa: BLE001 - a corrupt file fails its channel-day, not the run
                counts["failed"] += 1
                failures.append(f"{label}: {type(err).__name__}: {err}")
                log.debug("qc %s failed", label, exc_info=True)
            else:
                counts["channel_days"] += 1
                metrics.append(res.metrics)
                records.extend(res.records)
                if res.metrics.values.get("num_samples") in (0, None):
                    counts["no_data"] += 1
                if res.psd is not None:
                    counts["psd"] += 1
                    if psd_dir is not None:
                        write_psd_products(res.psd, psd_dir)
                    if keep_psd:
                        psds.append(res.psd)
                elif psd and "psd" in res.metrics.notes:
                    counts["psd_unavailable"] += 1
            done += 1
            if progress is not None:
                progress(done, total, label)
    exclusions = evaluate(metrics, exclusion)
    counts["excluded"] = len(exclusions)
    return ArchiveRun(as_utc(datetime(days[0].year, days[0].month, days[0].day, tzinfo=UTC)),
                      as_utc(datetime(days[-1].year, days[-1].month, days[-1].day, tzinfo=UTC) + timedelta(days=1)),
                      tuple(metrics), tuple(exclusions), tuple(records), tuple(psds), counts, tuple(failures),
                      time.perf_counter() - t_wall)


def pdf_text(psd) -> str:
    """A PSD result's PDF as MUSTANG ``noise-pdf`` text (header comments, ``freq, power, hits`` lines)."""
    lines = ["#", f"# target: {psd.stream_id}", f"# start={_iso(psd.start)}", f"# end={_iso(psd.end)}", "#",
             "#freq(hz), power(db), hits"]
    lines += [f"{f:.6g}, {p}, {h}" for f, p, h in psd.pdf_rows()]
    return "\n".join(lines) + "\n"


def write_products(run: ArchiveRun, out_dir: str | Path) -> list[Path]:
    """Write the run's products under ``out_dir`` (module docstring; the PDFs of the PSD results
    kept in the run -- :func:`run_archive` writes them itself with ``psd_dir``); returns the paths."""
    from tianshan.io.atomic import atomic_write_text

    out = Path(out_dir)
    written = [atomic_write_text(out / "metrics.json", json.dumps(run.as_dict(), indent=1, ensure_ascii=False) + "\n"),
               atomic_write_text(out / "metrics.csv", run.csv_text()),
               ExclusionList(run.exclusions).save(out / "exclusions.json")]
    for p in run.psds:
        written.extend(write_psd_products(p, out / "psd"))
    return written


def write_psd_products(psd, folder: str | Path) -> list[Path]:
    """``NET.STA.LOC.CHA_YYYY-MM-DD_PDF.txt`` (MUSTANG noise-pdf text) and ``..._PSD.json`` in ``folder``."""
    from tianshan.io.atomic import atomic_write_text

    base = f"{psd.stream_id}_{psd.start.date().isoformat()}"
    folder = Path(folder)
    return [atomic_write_text(folder / f"{base}_PDF.txt", pdf_text(psd)),
            atomic_write_text(folder / f"{base}_PSD.json", json.dumps(psd.as_dict(), ensure_ascii=False) + "\n")]


def store_records(store, records: Iterable[QCRecord]) -> tuple[int, int]:
    """Save QC findings in the event store: ``(added, conflicts)``.

    One batch; when it meets a finding stored with another value
    (:class:`~tianshan.store.ImmutableRecordError`) the records are saved one by one
    and the conflicting ones counted, not saved.
    """
    from tianshan.store.errors import ImmutableRecordError

    recs = list(records)
    try:
        return store.save_qc_records(recs), 0
    except ImmutableRecordError:
        pass
    added = conflicts = 0
    for r in recs:
        try:
            added += store.save_qc_records([r])
        except ImmutableRecordError:
            conflicts += 1
    return added, conflicts

"""Chunks of a batch run and the per-chunk work (read -> QC -> pick) done on Dask workers.

A run ``[start, end)`` is cut on a grid of ``chunk_s`` seconds aligned to the POSIX epoch
(so runs over overlapping ranges share chunks, and a chunk's identity does not depend on
where a run starts). Each chunk *owns* its core span ``[core_start, core_end)`` and reads
``overlap_s`` more on both sides, so filters, STA/LTA and the ML windows are warmed up at
its edges; only picks whose time lies in the core are kept (each arrival belongs to
exactly one chunk), and :func:`tianshan.picks.base.deduplicate_picks` merges any pair of
picks of one station and phase that still straddle a core boundary.

:func:`process_chunk` is a pure function of its :class:`ChunkTask` (a picklable value):
the same task gives the same picks in any process, which is what makes a Dask run identical
to a serial one. Pick ids are derived from the pick's content (stream, phase, time, method),
so a re-run or another worker names the same pick the same way.
"""

from __future__ import annotations

import hashlib
import math
from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone

from tianshan.core.ids import AUTHORITY
from tianshan.core.pick import Pick
from tianshan.events.build.archive import datetime_ns, read_window

_NS = 1_000_000_000
#: Overlap read on each side of a chunk by default (s): above the 60 s window of
#: EQTransformer and PhaseNet's 30 s, and several STA/LTA long windows.
DEFAULT_OVERLAP_S = 60.0


@dataclass(frozen=True, slots=True)
class ChunkTask:
    """Everything a worker needs to process one chunk (plain values, picklable)."""

    index: int
    core_start_ns: int
    core_end_ns: int
    read_start_ns: int
    read_end_ns: int
    paths: tuple[str, ...]
    #: Known streams and their sample rates (Hz) from the inventory.
    expected: tuple[tuple[str, float], ...]
    picker: str = "classic"
    model: str | None = None
    picker_options: tuple[tuple[str, object], ...] = ()
    #: QC exclusions overlapping the read window (:meth:`ExclusionList.as_tuples`): not picked.
    exclusions: tuple = ()


@dataclass(frozen=True)
class ChunkResult:
    """Picks (core span only), reading/QC counts and QC records of one chunk."""

    index: int
    core_start_ns: int
    core_end_ns: int
    picks: tuple[Pick, ...]
    counts: dict = field(default_factory=dict)
    qc_counts: dict = field(default_factory=dict)
    qc_records: tuple = ()
    skipped_streams: tuple[str, ...] = ()


def plan_chunks(start: datetime, end: datetime, chunk_s: float, overlap_s: float) -> list[tuple[int, int, int, int]]:
    """``(core_start_ns, core_end_ns, read_start_ns, read_end_ns)`` of each chunk of ``[start, end)``."""
    s, e = datetime_ns(start), datetime_ns(end)
    step = int(round(chunk_s * _NS))
    pad = int(round(overlap_s * _NS))
    out = []
    grid = (s // step) * step
    while grid < e:
        a, b = max(grid, s), min(grid + step, e)
        if b > a:
            out.append((a, b, a - pad, b + pad))
        grid += step
    return out


def pick_id(p: Pick) -> str:
    """A content-derived QuakeML id: the same onset picked again gets the same id."""
    text = f"{p.stream_id}|{p.phase}|{p.time.isoformat()}|{p.method}"
    return f"smi:{AUTHORITY}/pick/{hashlib.sha1(text.encode()).hexdigest()[:32]}"


_PICKERS: dict = {}


def _picker(kind: str, model: str | None, options: tuple):
    """One picker per worker process and configuration (ML weights load once)."""
    key = (kind, model, options)
    if key not in _PICKERS:
        from tianshan.picks import make_picker

        _PICKERS[key] = make_picker(kind, model, **dict(options))
    return _PICKERS[key]


def _time(ns: int) -> datetime:
    return datetime.fromtimestamp(ns // _NS, tz=timezone.utc).replace(microsecond=(ns % _NS) // 1000)


def _overlaps(stream) -> int:
    """Number of traces that start before the previous trace of their stream ends."""
    n = 0
    by_id: dict[str, list] = {}
    for tr in stream:
        by_id.setdefault(tr.id, []).append((tr.stats.starttime, tr.stats.endtime))
    for spans in by_id.values():
        spans.sort()
        end = None
        for a, b in spans:
            if end is not None and a <= end:
                n += 1
            end = b if end is None else max(end, b)
    return n


def filter_known(stream, expected: dict[str, float]) -> tuple[object, Counter, set[str]]:
    """Keep traces of inventory streams at the inventory's sample rate.

    Counts ``trace_not_in_inventory`` and ``sample_rate_mismatch`` (traces) and returns
    the set of stream ids left out because the inventory does not have them.
    """
    from obspy import Stream

    counts: Counter = Counter()
    unknown: set[str] = set()
    out = Stream()
    for tr in stream:
        rate = expected.get(tr.id)
        if rate is None:
            counts["trace_not_in_inventory"] += 1
            unknown.add(tr.id)
        elif not math.isclose(float(tr.stats.sampling_rate), rate, rel_tol=1e-6):
            counts["sample_rate_mismatch"] += 1
        else:
            out.append(tr)
    return out, counts, unknown


def _qc(stream, start: datetime, end: datetime, expected: dict[str, float]):
    from tianshan.qc import check_stream

    return check_stream(stream, start, end, expected)


def process_chunk(task: ChunkTask) -> ChunkResult:
    """Read the chunk's window, QC it (bad spans removed), pick, keep the core's picks."""
    expected = dict(task.expected)
    stream, counts = read_window(task.paths, task.read_start_ns, task.read_end_ns)
    counts = Counter(counts)
    counts["overlapping_traces"] += _overlaps(stream)
    core0, core1 = _time(task.core_start_ns), _time(task.core_end_ns)
    # QC sees every inventory stream (wrong sample rates included, so they are recorded);
    # anything still at a rate other than the inventory's after QC is dropped before picking.
    known = stream.__class__([tr for tr in stream if tr.id in expected])
    qc_counts: dict = {}
    records: tuple = ()
    if len(known):
        # QC runs over the whole read window so the picker keeps the overlap as warm-up data
        # (cleaned like the rest); only findings that touch the core span belong to this chunk
        # (one spanning a chunk edge is found by both chunks with the same key and stored once).
        # QC counts (availability...) therefore describe the read window.
        qc = _qc(known, _time(task.read_start_ns), _time(task.read_end_ns), expected)
        qc_counts = dict(qc.counts)
        records = tuple(r for r in qc.records if _record_start(r) < core1 and _record_end(r) >= core0)
        known = qc.clean
    if task.exclusions and len(known):
        known = _exclude(known, task, counts)
    _, pre, unknown = filter_known(stream, expected)
    counts.update(pre)
    clean, _, _ = filter_known(known, expected)
    picks: list[Pick] = []
    if len(clean):
        picker = _picker(task.picker, task.model, task.picker_options)
        raw = picker.pick(clean)
        counts.update({f"picker_{k}": v for k, v in getattr(picker, "last_counts", {}).items()})
        picks = [replace(p, id=pick_id(p)) for p in raw if core0 <= p.time < core1]
    picks.sort(key=lambda p: (p.time, str(p.stream_id), p.phase))
    return ChunkResult(task.index, task.core_start_ns, task.core_end_ns, tuple(picks),
                       {k: int(v) for k, v in counts.items() if v}, qc_counts, records, tuple(sorted(unknown)))


def _exclude(stream, task: ChunkTask, counts: Counter):
    """``stream`` without the QC-excluded channel-days; counts ``qc_excluded_streams`` and logs the reasons."""
    import logging

    from tianshan.qc.metrics.exclusion import ExclusionList

    kept, hit = ExclusionList.from_tuples(task.exclusions).apply(stream, _time(task.read_start_ns),
                                                                 _time(task.read_end_ns))
    for sid, reasons in sorted(hit.items()):
        logging.getLogger(__name__).info("chunk %d: %s excluded by QC (%s)", task.index, sid, "; ".join(reasons))
    counts["qc_excluded_streams"] += len(hit)
    return kept


def _record_start(record) -> datetime:
    from tianshan.core.timeutil import as_utc

    return as_utc(record.start)


def _record_end(record) -> datetime:
    from tianshan.core.timeutil import as_utc

    return as_utc(record.end)

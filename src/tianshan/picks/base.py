"""The :class:`Picker` base class and the plumbing every picker shares.

A picker turns an ObsPy ``Stream`` (any number of stations and channels, raw
counts, possibly with gaps, overlaps or mixed sample rates) into a list of
:class:`tianshan.core.Pick`. The base class does the plumbing, subclasses
override one small hook (practice 3 of the architecture notes, as SeisBench's
``WaveformModel``):

1. :func:`prepare_stream` - per channel keep the dominant sample rate, merge
   overlaps, split at gaps, drop unusable traces (counted, never fatal);
2. :func:`group_by_station` - one group per sensor ``NET.STA.LOC.BI``
   (band + instrument code, so a broadband and a strong-motion sensor at the
   same site are picked separately);
3. :func:`component_segments` - cut a group into spans where the set of
   components present is continuous and constant, all components trimmed to
   the same samples (a gap on one component never blocks the others);
4. :meth:`Picker.pick_segment` - the subclass hook, on one segment;
5. :func:`deduplicate_picks` - one pick per station, phase and arrival
   (duplicates come from co-located sensors and overlapping chunks).

Components: ``Z`` is vertical; ``N``, ``E``, ``1``, ``2`` are horizontal
(SEED manual v2.4, appendix A, orientation codes).

ObsPy is imported inside functions only (no heavy import at ``import tianshan``).
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime

from tianshan.core.errors import DomainError
from tianshan.core.ids import StreamID
from tianshan.core.pick import Pick
from tianshan.core.timeutil import as_utc

log = logging.getLogger(__name__)

#: Orientation codes taken as vertical / horizontal.
VERTICAL = frozenset("Z")
HORIZONTAL = frozenset("NE12")

#: Two picks of one station and phase closer than this are one arrival (s).
DEFAULT_DEDUP_TOLERANCE_S = 1.0


def component_of(trace) -> str:
    """Orientation code (last channel letter) of an ObsPy trace, upper-case."""
    channel = trace.stats.channel or ""
    return channel[-1:].upper()


def is_vertical(trace) -> bool:
    return component_of(trace) in VERTICAL


def is_horizontal(trace) -> bool:
    return component_of(trace) in HORIZONTAL


def stream_id_of(trace) -> StreamID:
    """The :class:`StreamID` of an ObsPy trace (raises DomainError for invalid SEED codes)."""
    s = trace.stats
    return StreamID(s.network or "", s.station or "", s.location or "", s.channel or "")


def sample_time(trace, index: float) -> datetime:
    """Aware UTC time of (fractional) sample ``index`` of ``trace``."""
    t = trace.stats.starttime + float(index) * trace.stats.delta
    return as_utc(t.datetime)


#: A run of identical samples whose neighbourhood spans fewer quantisation steps than this is in
#: coarse data (a quiet accelerometer at a few counts): a short run there is resolution, not gap
#: fill (see tianshan.qc.flat).
FLAT_MIN_RANGE_STEPS = 32
#: Seconds of data either side of a run that judge it (:func:`flat_mask` ``context``).
FLAT_CONTEXT_S = 2.0
#: A run at least this long (s) is no data even in coarse data (:func:`flat_mask` ``coarse_run``).
FLAT_COARSE_RUN_S = 2.0


def flat_mask(data, min_run: int, min_range_steps: float = FLAT_MIN_RANGE_STEPS, *,
              context: int | None = None, coarse_run: int | None = None):
    """Boolean mask of runs of at least ``min_run`` identical consecutive samples that are no data.

    Dataloggers and archives often fill gaps with zeros or the last value; such spans carry no
    signal and their edges look like onsets to a picker. But identical neighbours are also what
    a digitiser records when the ground moves by less than its resolution (a quiet accelerometer
    at a few counts; Widrow & Kollar 2008, *Quantization Noise*, ch. 4): there they are
    resolution, and cutting the record at them would break it into pieces too short to pick.

    Each run of at least ``min_run`` samples is judged on its own, by the data around it:

    * the run together with ``context`` samples either side spans at least ``min_range_steps``
      quantisation steps (:func:`tianshan.qc.base.range_steps` with the step
      :func:`tianshan.qc.base.quantum` of ``data``): the signal there is resolved, a run of
      identical values is gap fill or a stuck channel -> masked;
    * otherwise the data are coarse: the run is masked only when it lasts at least
      ``coarse_run`` samples (quantised ground noise changes by a step within a fraction of a
      second; a value held for seconds is gap fill, a dead channel, or noise so far below one
      step that the stretch shows nothing and only its one-step blips would look like onsets);
    * a run spanning all of ``data`` (a constant record) is masked.

    With ``context`` and ``coarse_run`` given (:func:`prepare_stream` passes
    :data:`FLAT_CONTEXT_S` and :data:`FLAT_COARSE_RUN_S` in samples) the decision on a sample
    depends only on the data within ``coarse_run + context`` samples of it, not on where the
    array starts or ends: a 60 s window of a live stream and the whole day give the same mask
    away from the window's edges (the quantum is the same when the steps are the digitiser's
    counts). ``context=None`` judges every run by the whole array and ``coarse_run=None`` never
    masks in coarse data (the rule before the streaming picker: a quiet 60 s window and the
    whole record containing an event disagreed).
    """
    import numpy as np

    from tianshan.qc.base import quantum

    x = np.asarray(data)
    mask = np.zeros(x.size, dtype=bool)
    if min_run < 2 or x.size < min_run:
        return mask
    same = np.concatenate([[False], x[1:] == x[:-1]])
    # Run starts: a sample equal to its predecessor whose predecessor is not in a run.
    edges = np.diff(np.concatenate([[0], same.astype(np.int8), [0]]))
    starts = np.nonzero(edges == 1)[0] - 1   # the run is x[a:b]
    ends = np.nonzero(edges == -1)[0]
    long = ends - starts >= min_run
    starts, ends = starts[long], ends[long]
    if not starts.size:
        return mask
    q = quantum(x)
    for a, b in zip(starts.tolist(), ends.tolist()):
        if (a == 0 and b == x.size) or (coarse_run is not None and b - a >= coarse_run):
            mask[a:b] = True
            continue
        if not q > 0:
            continue
        near = x if context is None else x[max(0, a - context):b + context]
        if (np.nanmax(near) - np.nanmin(near)) / q >= min_range_steps:
            mask[a:b] = True
    return mask


def prepare_stream(stream, min_length_s: float = 0.0, flat_run_s: float = 0.5) -> tuple[object, Counter]:
    """A cleaned copy of ``stream`` ready for picking, and counts of what was dropped.

    Per channel (``NET.STA.LOC.CHA``): traces whose sample rate differs from the
    channel's dominant rate (most samples) are dropped (``mixed_sample_rate``);
    traces are cut at non-finite samples and at runs of identical samples longer
    than ``flat_run_s`` that are no data (gap fill, a dead channel, a stretch below
    one count, judged on the data around each run: :func:`flat_mask`, so a window
    of a record is cut where the whole record is; ``flat_span``; 0 disables);
    overlaps are merged (ObsPy
    ``Stream.merge(method=1)``: the later trace wins where the data disagree);
    gaps split the channel into separate contiguous traces. Traces shorter than
    ``min_length_s`` (``short_trace``), empty or with invalid SEED codes
    (``bad_code``) are dropped. The input stream is not modified.
    """
    import numpy as np
    from obspy import Stream

    counts: Counter = Counter()
    by_id: dict[str, list] = defaultdict(list)
    for tr in stream:
        if tr.stats.npts == 0 or not tr.stats.sampling_rate or tr.stats.sampling_rate <= 0:
            counts["empty_trace"] += 1
            continue
        try:
            stream_id_of(tr)
        except DomainError:
            counts["bad_code"] += 1
            continue
        by_id[tr.id].append(tr)

    out = Stream()
    for _, traces in sorted(by_id.items()):
        samples_at: Counter = Counter()
        for tr in traces:
            samples_at[float(tr.stats.sampling_rate)] += tr.stats.npts
        rate = max(samples_at, key=lambda r: (samples_at[r], r))
        kept = Stream()
        for tr in traces:
            if abs(float(tr.stats.sampling_rate) - rate) > 1e-6 * rate:
                counts["mixed_sample_rate"] += 1
                continue
            tr = tr.copy()
            tr.stats.sampling_rate = rate
            tr.data = np.asarray(tr.data, dtype=np.float64)
            bad = ~np.isfinite(tr.data)
            if bad.any():
                counts["nonfinite_samples"] += int(bad.sum())
            if flat_run_s > 0:
                flat = flat_mask(tr.data, int(round(flat_run_s * rate)), context=int(round(FLAT_CONTEXT_S * rate)),
                                 coarse_run=max(2, int(round(FLAT_COARSE_RUN_S * rate))))
                if flat.any():
                    counts["flat_span"] += 1
                    bad |= flat
            if bad.any():
                tr.data = np.ma.masked_array(np.where(bad, 0.0, tr.data), mask=bad)
                kept.extend(tr.split())
            else:
                kept.append(tr)
        if not kept:
            continue
        if len(kept) > 1:
            n_before = len(kept)
            kept.sort(keys=["starttime"])
            kept.merge(method=1, fill_value=None)
            kept = kept.split()
            if len(kept) > 1:
                counts["gap"] += len(kept) - 1
            elif n_before > 1:
                counts["merged"] += n_before - 1
        for tr in kept:
            if tr.stats.npts < 2 or tr.stats.npts * tr.stats.delta < min_length_s:
                counts["short_trace"] += 1
                continue
            out.append(tr)
    return out, counts


def group_by_station(stream) -> dict[tuple[str, str, str, str], object]:
    """Traces grouped by sensor: key ``(network, station, location, band+instrument code)``."""
    from obspy import Stream

    groups: dict[tuple[str, str, str, str], Stream] = {}
    for tr in stream:
        s = tr.stats
        key = (s.network, s.station, s.location, (s.channel or "")[:2])
        groups.setdefault(key, Stream()).append(tr)
    return dict(sorted(groups.items()))


def component_segments(stream, min_length_s: float = 0.0) -> list:
    """Split one sensor's traces into spans with a constant set of continuous components.

    Returns a list of ObsPy ``Stream``; in each, every trace covers exactly the
    same samples (same start, same ``npts``, one trace per component), so the
    component arrays can be stacked. Components with a sample rate other than the
    group's dominant rate are left out. Segments shorter than ``min_length_s`` are
    dropped.
    """
    from obspy import Stream

    if len(stream) == 0:
        return []
    samples_at: Counter = Counter()
    for tr in stream:
        samples_at[float(tr.stats.sampling_rate)] += tr.stats.npts
    rate = max(samples_at, key=lambda r: (samples_at[r], r))
    traces = [tr for tr in stream if abs(tr.stats.sampling_rate - rate) <= 1e-6 * rate]
    delta = 1.0 / rate
    t0 = min(tr.stats.starttime for tr in traces)
    # Work in integer sample indices relative to t0 (components may be offset by < 1 sample).
    spans = []
    for tr in traces:
        a = int(round((tr.stats.starttime - t0) / delta))
        spans.append((a, a + tr.stats.npts, tr))
    cuts = sorted({a for a, _, _ in spans} | {b for _, b, _ in spans})
    segments: list[tuple[int, int, tuple]] = []
    for a, b in zip(cuts[:-1], cuts[1:]):
        present = {}
        for sa, sb, tr in spans:
            if sa <= a and sb >= b:
                present.setdefault(tr.stats.channel, tr)
        if not present:
            continue
        key = tuple(sorted(present))
        if segments and segments[-1][1] == a and segments[-1][2] == key:
            segments[-1] = (segments[-1][0], b, key)
        else:
            segments.append((a, b, key))

    out = []
    min_n = max(2, int(round(min_length_s * rate)))
    for a, b, key in segments:
        if b - a < min_n:
            continue
        seg = Stream()
        for channel in key:
            for sa, sb, tr in spans:
                if tr.stats.channel == channel and sa <= a and sb >= b:
                    part = tr.copy()
                    i0 = a - sa
                    part.data = tr.data[i0:i0 + (b - a)].copy()
                    part.stats.starttime = tr.stats.starttime + i0 * delta
                    seg.append(part)
                    break
        out.append(seg)
    return out


def _rank(pick: Pick) -> tuple:
    """Sort key: best pick first (highest probability, then smallest uncertainty)."""
    prob = pick.probability if pick.probability is not None else -1.0
    unc = pick.time_uncertainty_s if pick.time_uncertainty_s is not None else float("inf")
    return (-prob, unc, str(pick.stream_id), pick.time)


def deduplicate_picks(picks: Iterable[Pick], tolerance_s: float = DEFAULT_DEDUP_TOLERANCE_S) -> list[Pick]:
    """One pick per station (``NET.STA``), phase and arrival.

    Picks of the same station and phase within ``tolerance_s`` of a better one are
    dropped; "better" is a higher ``probability``, then a smaller
    ``time_uncertainty_s``. The result is sorted by time, then stream id.
    """
    by_key: dict[tuple[str, str], list[Pick]] = defaultdict(list)
    for p in picks:
        by_key[(p.stream_id.station_id, p.phase.upper())].append(p)
    kept: list[Pick] = []
    for group in by_key.values():
        chosen: list[Pick] = []
        for p in sorted(group, key=_rank):
            if all(abs((p.time - q.time).total_seconds()) > tolerance_s for q in chosen):
                chosen.append(p)
        kept.extend(chosen)
    kept.sort(key=lambda p: (p.time, str(p.stream_id), p.phase))
    return kept


class Picker(ABC):
    """Base class of phase pickers.

    Subclasses set :attr:`name` and implement :meth:`pick_segment`; :meth:`pick`
    does the plumbing (cleaning, grouping by sensor, gap-free segments,
    de-duplication). A subclass that works better on whole streams (e.g. a
    SeisBench model) may override :meth:`pick` and reuse the module functions.
    After each :meth:`pick`, :attr:`last_counts` holds what was skipped
    (``gap``, ``mixed_sample_rate``, ``short_trace``, ...).
    """

    #: Picker name, used as ``Pick.method`` prefix and in reports.
    name: str = "picker"
    #: Segments shorter than this are not picked (s).
    min_segment_s: float = 10.0
    #: Picks of one station and phase closer than this are merged (s).
    dedup_tolerance_s: float = DEFAULT_DEDUP_TOLERANCE_S
    #: Runs of identical samples at least this long are treated as gaps (s; 0 disables).
    flat_run_s: float = 0.5

    def __init__(self) -> None:
        self.last_counts: Counter = Counter()

    def pick(self, stream) -> list[Pick]:
        """Pick all phases in ``stream`` (ObsPy Stream, raw counts; not modified)."""
        prepared, counts = prepare_stream(stream, min_length_s=self.min_segment_s,
                                           flat_run_s=self.flat_run_s)
        picks: list[Pick] = []
        for key, group in group_by_station(prepared).items():
            for segment in component_segments(group, min_length_s=self.min_segment_s):
                try:
                    picks.extend(self.pick_segment(segment))
                except (ValueError, ArithmeticError) as err:  # bad data on one sensor never stops a run
                    counts["segment_failed"] += 1
                    log.warning("picker %s: segment %s failed: %s", self.name, ".".join(key), err)
        self.last_counts = counts
        if counts:
            log.info("picker %s: skipped %s", self.name, dict(counts))
        return deduplicate_picks(picks, self.dedup_tolerance_s)

    @abstractmethod
    def pick_segment(self, segment) -> Sequence[Pick]:
        """Pick one gap-free segment of one sensor.

        ``segment`` is an ObsPy ``Stream`` with one trace per component present,
        all with the same start time, sample rate and number of samples.
        """

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r})"

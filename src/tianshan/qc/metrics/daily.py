"""Per channel-day data-quality metrics in the MUSTANG/ISPAQ definitions.

One :class:`ChannelDayMetrics` holds the values of one stream over one window
(normally a UTC day, ``[00:00, 24:00)``), named as MUSTANG names them, so that
a value can be compared with ``service.iris.edu/mustang/measurements`` or an
ISPAQ run. Each definition below cites its MUSTANG metric page
(``service.iris.edu/mustang/metrics/docs/1/desc/<name>/``, SAGE/EarthScope;
Casey et al. 2018, "An overview of MUSTANG", SRL 89(4):1512) and, where the
page is vague, the IRISMustangMetrics R source that MUSTANG and ISPAQ run.

Time-series metrics (from the samples inside the window, all records merged):

* ``percent_availability`` = 100 - 100 * (sum of gaps) / window length;
  ``num_gaps``, ``max_gap`` (s): gaps between records, ``start(b) - end(a) - 1/fs``
  when above half a sample, and the gaps from the window start to the first sample
  and from the last sample + 1/fs to the window end (MUSTANG counts any late first
  sample: ``edge_gap_min_s = 0``). Pages ``percent_availability``, ``num_gaps``,
  ``max_gap``; computed by :func:`tianshan.qc.gaps.gap_spans` (pre-pick QC, verified
  there against MUSTANG's figures for II.KAPI).
* ``num_overlaps``, ``max_overlap`` (s): records starting before the previous one
  ended (pages ``num_overlaps``, ``max_overlap``).
* ``sample_mean``, ``sample_median``, ``sample_min``, ``sample_max`` (counts) and
  ``sample_unique`` (number of distinct values): IRISMustangMetrics
  ``basicStatsMetric`` over the concatenated samples (pages ``sample_mean``...).
* ``sample_rms``: MUSTANG's "RMS variance", ``sqrt(sum((x_i - mean)^2) / N)`` -- the
  de-meaned population standard deviation, not the RMS amplitude (page
  ``sample_rms``: "RMS variance is identical to standard deviation").
* ``num_spikes``: Hampel outliers, ``|x_i - median(W_i)| > 10 * 1.4826 * MAD(W_i)``
  over the centred 41-sample window ``W_i``, adjacent outliers counted as one spike
  (page ``num_spikes``; IRISMustangMetrics ``spikesMetric(windowSize=41,
  thresholdMin=10)`` over the traces' samples concatenated, via
  ``seismicRoll::findOutliers``). :func:`mustang_num_spikes` is exact and fast
  (see there); :func:`tianshan.qc.spikes.mustang_spike_count` is the slow reference.

State-of-health metrics (from the miniSEED fixed-header flags and blockette 1001
of the records overlapping the window; pages ``amplifier_saturation``,
``digitizer_clipping``, ``spikes``, ``glitches``, ``missing_padded_data``,
``telemetry_sync_error``, ``digital_filter_charging``, ``suspect_time_tag``,
``calibration_signal``, ``timing_correction``, ``event_begin``, ``event_end``,
``event_in_progress``, ``clock_locked``): the number of records with the flag set
(SEED 2.4 manual, fixed header fields 12-14). Note that MUSTANG's ``spikes`` and
``digitizer_clipping`` are these *datalogger flags*; the spikes found in the
samples are ``num_spikes``. ``timing_quality``: the mean of the blockette-1001
timing-quality values (percent; page ``timing_quality``), ``None`` when no record
has a blockette 1001 (MUSTANG reports null then). Flags are read with ObsPy's
``obspy.io.mseed.util.get_flags``.

PSD metrics (``pct_above_nhnm``, ``pct_below_nlnm``, ``dead_channel_lin``,
``dead_channel_exp``, ``dead_channel_gsn``) come from :mod:`.psd` and need the
instrument response.

Tianshan additions, named so as not to be mistaken for MUSTANG's:
``num_samples``, ``clipping_spans``, ``flat_spans``, ``time_tears``,
``invalid_samples`` (counts of the pre-pick QC findings of :mod:`tianshan.qc`:
clipping seen in the samples, stuck/dead stretches, timing discontinuities).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime
from typing import Iterable, Mapping, Sequence

import numpy as np

from tianshan.core.errors import DomainError, InputError
from tianshan.core.ids import StreamID
from tianshan.core.qc import QCKind, QCRecord
from tianshan.core.timeutil import as_utc

#: MUSTANG simple (time-series) metrics, in output order.
SIMPLE_METRICS = ("percent_availability", "num_gaps", "max_gap", "num_overlaps", "max_overlap",
                  "sample_mean", "sample_median", "sample_min", "sample_max", "sample_rms", "sample_unique",
                  "num_spikes")

#: MUSTANG state-of-health metric -> (group of :func:`obspy.io.mseed.util.get_flags`, key there).
SOH_FLAGS: dict[str, tuple[str, str]] = {
    "amplifier_saturation": ("data_quality_flags_counts", "amplifier_saturation"),
    "digitizer_clipping": ("data_quality_flags_counts", "digitizer_clipping"),
    "spikes": ("data_quality_flags_counts", "spikes"),
    "glitches": ("data_quality_flags_counts", "glitches"),
    "missing_padded_data": ("data_quality_flags_counts", "missing_padded_data"),
    "telemetry_sync_error": ("data_quality_flags_counts", "telemetry_sync_error"),
    "digital_filter_charging": ("data_quality_flags_counts", "digital_filter_charging"),
    "suspect_time_tag": ("data_quality_flags_counts", "suspect_time_tag"),
    "calibration_signal": ("activity_flags_counts", "calibration_signal"),
    "timing_correction": ("activity_flags_counts", "time_correction_applied"),
    "event_begin": ("activity_flags_counts", "event_begin"),
    "event_end": ("activity_flags_counts", "event_end"),
    "event_in_progress": ("activity_flags_counts", "event_in_progress"),
    "clock_locked": ("io_and_clock_flags_counts", "clock_locked"),
}

#: State-of-health metrics in output order (flag counts, then timing quality).
SOH_METRICS = tuple(SOH_FLAGS) + ("timing_quality",)

#: PSD metrics (computed by :mod:`tianshan.qc.metrics.psd`).
PSD_METRICS = ("pct_above_nhnm", "pct_below_nlnm", "dead_channel_lin", "dead_channel_exp", "dead_channel_gsn")

#: Tianshan additions from the pre-pick QC (not MUSTANG metrics).
EXTRA_METRICS = ("num_samples", "clipping_spans", "flat_spans", "time_tears", "invalid_samples")

#: Every metric name, in output order.
ALL_METRICS = SIMPLE_METRICS + SOH_METRICS + PSD_METRICS + EXTRA_METRICS

#: MUSTANG ``spikesMetric`` defaults: window (samples) and Hampel threshold.
SPIKE_WINDOW = 41
SPIKE_THRESHOLD = 10.0
_MAD_TO_SD = 1.4826  # 1 / Phi^-1(3/4)


@dataclass(frozen=True, eq=False)
class ChannelDayMetrics:
    """The metric values of one stream over ``[start, end)`` (aware UTC).

    ``values`` maps metric names (:data:`ALL_METRICS`) to numbers; ``None`` means
    "not computable" (no samples, no blockette 1001, no instrument response...).
    ``notes`` says why a group is missing (e.g. ``{"psd": "no response"}``).
    """

    stream_id: StreamID
    start: datetime
    end: datetime
    values: Mapping[str, float | int | None]
    notes: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.stream_id, StreamID):
            raise DomainError(f"channel-day metrics: expected a StreamID, got {self.stream_id!r}")
        object.__setattr__(self, "start", as_utc(self.start, "metrics start"))
        object.__setattr__(self, "end", as_utc(self.end, "metrics end"))
        if not self.end > self.start:
            raise DomainError("channel-day metrics: end must be after start")
        unknown = [k for k in self.values if k not in ALL_METRICS]
        if unknown:
            raise DomainError(f"channel-day metrics: unknown metric(s) {', '.join(unknown)}")
        object.__setattr__(self, "values", dict(self.values))
        object.__setattr__(self, "notes", dict(self.notes))

    def __getitem__(self, name: str) -> float | int | None:
        if name not in ALL_METRICS:
            raise KeyError(name)
        return self.values.get(name)

    def as_dict(self) -> dict:
        """JSON-ready: ``stream_id``, ``start``, ``end`` (ISO 8601), every metric (null when missing), notes."""
        out: dict = {"stream_id": str(self.stream_id), "start": _iso(self.start), "end": _iso(self.end)}
        for name in ALL_METRICS:
            out[name] = _plain(self.values.get(name))
        if self.notes:
            out["notes"] = dict(self.notes)
        return out

    def long_rows(self) -> list[tuple[str, str, str, str, float | int | None]]:
        """ISPAQ/MUSTANG measurement rows ``(target, start, end, metric, value)``, one per metric."""
        target, a, b = str(self.stream_id), _iso(self.start), _iso(self.end)
        return [(target, a, b, name, _plain(self.values.get(name))) for name in ALL_METRICS]


def _iso(t: datetime) -> str:
    return t.isoformat().replace("+00:00", "Z")


def _plain(v):
    if v is None:
        return None
    if isinstance(v, (bool, np.bool_)):
        return int(v)
    if isinstance(v, (int, np.integer)):
        return int(v)
    v = float(v)
    return v if math.isfinite(v) else None


# --------------------------------------------------------------------------- sample statistics

def sample_statistics(x: np.ndarray) -> dict[str, float | int | None]:
    """MUSTANG ``sample_mean/median/min/max/rms/unique`` of the samples ``x`` (counts).

    ``sample_rms`` is the de-meaned population standard deviation
    ``sqrt(sum((x - mean)^2) / N)`` (MUSTANG page ``sample_rms``). Non-finite samples
    are left out. All ``None`` when there is no sample.
    """
    x = np.asarray(x)
    if np.issubdtype(x.dtype, np.floating):
        x = x[np.isfinite(x)]
    if x.size == 0:
        return {k: None for k in ("sample_mean", "sample_median", "sample_min", "sample_max", "sample_rms",
                                  "sample_unique")}
    xf = x.astype(np.float64)
    mean = float(xf.mean())
    return {
        "sample_mean": mean,
        "sample_median": float(np.median(xf)),
        "sample_min": float(xf.min()),
        "sample_max": float(xf.max()),
        "sample_rms": float(np.sqrt(np.mean((xf - mean) ** 2))),
        "sample_unique": int(np.unique(x).size),
    }


# --------------------------------------------------------------------------- spikes

def hampel_outliers(x: np.ndarray, window: int = SPIKE_WINDOW, threshold: float = SPIKE_THRESHOLD) -> np.ndarray:
    """Indices of the Hampel outliers of ``x`` among samples with a full centred window (exact).

    Same statistic as :func:`tianshan.qc.spikes.hampel_outliers_reference`
    (``|x_i - m_i| > t * 1.4826 * MAD_i``; MAD 0 makes any deviation an outlier, as
    in R), about ten times faster: the rolling median ``m_i`` and the 11th and 31st
    order statistics ``v_(h/2+1)``, ``v_(3h/2+1)`` (``h = window // 2``) come from
    :func:`scipy.ndimage.rank_filter`, and only samples with
    ``|x_i - m_i| > t * 1.4826 * L_i`` are tested exactly, where

        ``L_i = min(m_i - v_(h/2+1), v_(3h/2+1) - m_i) <= MAD_i``.

    Proof of the bound (window sorted ``v_1 <= ... <= v_n``, ``n = 2h + 1``, median
    ``m = v_(h+1)``): at least ``h + 1`` values lie within ``MAD`` of ``m``, and in
    sorted order they form a block ``v_k..v_l`` around ``h + 1`` with ``l - k >= h``;
    so ``h + 1 - k >= h/2`` or ``l - (h + 1) >= h/2``, i.e. ``v_(h/2+1)`` or
    ``v_(3h/2+1)`` lies within ``MAD`` of ``m``. A sample failing the test has
    ``|x_i - m_i| <= t * 1.4826 * L_i <= t * 1.4826 * MAD_i`` and is no outlier.
    """
    from scipy.ndimage import median_filter, rank_filter

    x = np.asarray(x, dtype=np.float64)
    h = window // 2
    if window < 3 or window % 2 == 0:
        raise InputError(f"Hampel window must be an odd number >= 3, got {window!r}", field="window")
    if x.size < window:
        return np.empty(0, dtype=np.int64)
    q = h // 2  # 0-based rank of v_(h/2+1)
    med = median_filter(x, size=window, mode="nearest")
    lo = rank_filter(x, q, size=window, mode="nearest")
    hi = rank_filter(x, window - 1 - q, size=window, mode="nearest")
    bound = np.minimum(med - lo, hi - med)
    dev = np.abs(x - med)
    with np.errstate(invalid="ignore"):
        cand = np.flatnonzero(dev > threshold * _MAD_TO_SD * bound)
    cand = cand[(cand >= h) & (cand < x.size - h)]
    if cand.size == 0:
        return cand.astype(np.int64)
    w = x[cand[:, None] + np.arange(-h, h + 1)[None, :]]
    m = np.median(w, axis=1)
    mad = np.median(np.abs(w - m[:, None]), axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        stat = np.abs(x[cand] - m) / (_MAD_TO_SD * mad)
    return cand[stat > threshold].astype(np.int64)


def mustang_num_spikes(x: np.ndarray, window: int = SPIKE_WINDOW, threshold: float = SPIKE_THRESHOLD) -> int:
    """MUSTANG ``num_spikes``: runs of adjacent Hampel outliers (each run one spike)."""
    idx = hampel_outliers(x, window, threshold)
    return 0 if idx.size == 0 else int(np.count_nonzero(np.diff(idx) > 1) + 1)


# --------------------------------------------------------------------------- state of health

def soh_metrics(files: Sequence[str], start, end) -> dict[str, float | int | None]:
    """MUSTANG state-of-health flag counts and ``timing_quality`` of the records of ``files``
    overlapping ``[start, end)`` (ObsPy ``get_flags``). Unreadable files are skipped;
    with no file every count is ``None``."""
    from obspy import UTCDateTime
    from obspy.io.mseed.util import get_flags

    t0 = start if isinstance(start, UTCDateTime) else UTCDateTime(as_utc(start).replace(tzinfo=None))
    t1 = end if isinstance(end, UTCDateTime) else UTCDateTime(as_utc(end).replace(tzinfo=None))
    out: dict[str, float | int | None] = {k: None for k in SOH_METRICS}
    counts = {k: 0 for k in SOH_FLAGS}
    tq_sum, tq_n, read_any = 0.0, 0, False
    for path in files:
        try:
            flags = get_flags(str(path), starttime=t0, endtime=t1, timing_quality=True)  # records starting < end
        except Exception:  # noqa: BLE001 - a corrupt file is a QC finding, not a crash
            continue
        read_any = True
        for name, (group, key) in SOH_FLAGS.items():
            counts[name] += int(flags.get(group, {}).get(key, 0))
        tq = flags.get("timing_quality") or {}
        values = tq.get("all_values")
        if values is not None and len(values):
            tq_sum += float(np.sum(values))
            tq_n += len(values)
    if read_any:
        out.update(counts)
        out["timing_quality"] = tq_sum / tq_n if tq_n else None
    return out


# --------------------------------------------------------------------------- one channel-day

def _utc(t, name: str):
    from obspy import UTCDateTime

    if isinstance(t, UTCDateTime):
        return t
    try:
        return UTCDateTime(as_utc(t, name).replace(tzinfo=None))
    except DomainError as err:
        raise InputError(str(err), field=name) from None


def _to_dt(t) -> datetime:
    return as_utc(t.datetime)


@dataclass(frozen=True, eq=False)
class ChannelDayResult:
    """:func:`channel_day_metrics` output: the metrics, the QC findings to store, the PSD (or None)."""

    metrics: ChannelDayMetrics
    records: tuple[QCRecord, ...]
    psd: object | None = None  # tianshan.qc.metrics.psd.PSDResult


#: Pre-pick QC metrics run by :func:`channel_day_metrics` (no masking; spikes counted the MUSTANG way).
_QC_METRICS = ("invalid", "sample_rate", "gaps", "time_tears", "clipping", "flat")


def channel_day_metrics(stream, stream_id: StreamID | str, start, end, *, flag_files: Iterable[str] = (),
                        metadata=None, psd: bool = True, psd_options: Mapping | None = None) -> ChannelDayResult:
    """Every metric of ``stream_id`` over ``[start, end)`` from the traces of ``stream``.

    ``stream``: ObsPy traces (others than ``stream_id`` are ignored). ``flag_files``:
    the miniSEED files the traces came from (state-of-health metrics; none: those are
    ``None``). ``metadata``: ObsPy inventory (or RESP path) with the instrument
    response, for the PSD metrics (``psd=False`` or no response: ``None``, with a
    note). ``psd_options``: keyword arguments of :func:`tianshan.qc.metrics.psd.compute_psd`.

    The gaps, overlaps, availability, clipping, flat stretches, timing tears and
    invalid samples are found by :func:`tianshan.qc.check_stream` (MUSTANG's gap
    convention, nothing masked); its records are returned for storage.
    """
    from obspy import Stream

    from tianshan.qc import QCConfig, check_stream

    sid = stream_id if isinstance(stream_id, StreamID) else _parse_sid(stream_id)
    t0, t1 = _utc(start, "start"), _utc(end, "end")
    if not t1 > t0:
        raise InputError(f"window end {t1} is not after start {t0}", field="end")
    mine = Stream([tr for tr in stream if _trace_sid(tr) == sid])
    values: dict[str, float | int | None] = {k: None for k in ALL_METRICS}
    notes: dict[str, str] = {}
    window_s = float(t1 - t0)

    result = check_stream(mine, t0, t1, config=QCConfig(edge_gap_min_s=0.0, metrics=_QC_METRICS, mask=frozenset()))
    records = [r for r in result.records if r.stream_id == sid]
    clean = [tr for tr in result.clean if _trace_sid(tr) == sid]
    if not records:  # no usable trace of this stream inside the window
        day0, day1 = _to_dt(t0), _to_dt(t1)
        records = [QCRecord(sid, day0, day1, QCKind.GAP, window_s, "no data"),
                   QCRecord(sid, day0, day1, QCKind.AVAILABILITY, 0.0)]
        notes["data"] = "no samples in the window"

    gaps = [r.value for r in records if r.kind is QCKind.GAP]
    overlaps = [r.value for r in records if r.kind is QCKind.OVERLAP]
    avail = [r.value for r in records if r.kind is QCKind.AVAILABILITY]
    values.update(percent_availability=avail[0] if avail else 0.0, num_gaps=len(gaps),
                  max_gap=max(gaps, default=0.0), num_overlaps=len(overlaps), max_overlap=max(overlaps, default=0.0))

    x = np.concatenate([np.asarray(tr.data) for tr in clean]) if clean else np.empty(0)
    values.update(sample_statistics(x))
    values["num_samples"] = int(x.size)
    values["num_spikes"] = mustang_num_spikes(x) if x.size >= SPIKE_WINDOW else (0 if x.size else None)
    values["clipping_spans"] = sum(1 for r in records if r.kind is QCKind.CLIPPING)
    values["flat_spans"] = sum(1 for r in records if r.kind is QCKind.FLAT)
    values["time_tears"] = sum(1 for r in records if r.kind is QCKind.TIME_TEAR)
    values["invalid_samples"] = int(sum(r.value for r in records if r.kind is QCKind.INVALID))

    files = list(flag_files)
    if files:
        values.update(soh_metrics(files, t0, t1))
    else:
        notes["soh"] = "no miniSEED files given"
    if values["timing_quality"] is None and files:
        notes["timing_quality"] = "no blockette 1001"

    psd_result = None
    if psd and clean:
        from tianshan.qc.metrics.psd import PSDUnavailable, compute_psd

        try:
            psd_result = compute_psd(Stream(clean), metadata, t0, t1, **dict(psd_options or {}))
        except PSDUnavailable as why:
            notes["psd"] = str(why)
        else:
            values.update(psd_result.metrics)
    elif psd:
        notes["psd"] = "no samples"
    metrics = ChannelDayMetrics(sid, _to_dt(t0), _to_dt(t1), values, notes)
    return ChannelDayResult(metrics, tuple(records), psd_result)


def _parse_sid(text: str) -> StreamID:
    try:
        return StreamID.parse(str(text))
    except DomainError as err:
        raise InputError(str(err), field="stream id") from None


def _trace_sid(tr) -> StreamID | None:
    s = tr.stats
    try:
        return StreamID(str(s.network), str(s.station), str(s.location), str(s.channel))
    except DomainError:
        return None

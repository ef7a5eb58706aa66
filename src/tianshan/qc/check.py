"""Pre-pick QC of a chunk of waveforms: run every metric per channel, mask the bad spans.

:func:`check_stream` is the stage's entry point. It never raises on bad
waveform data: traces it cannot use (no valid SEED id, no positive finite
sample rate, no numeric samples) are skipped and counted; channels expected
from the inventory but absent get a whole-window gap.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Mapping

import numpy as np

from tianshan.core.errors import DomainError, InputError
from tianshan.core.ids import StreamID
from tianshan.core.qc import QCKind, QCRecord
from tianshan.qc.base import ChannelData, QCConfig, make_metrics


@dataclass(frozen=True)
class QCResult:
    """What :func:`check_stream` found.

    ``records``: the findings, by start time and stream. ``clean``: the input
    inside the window with the masked spans (kinds in :attr:`QCConfig.mask`)
    cut out, the pieces as separate traces, samples in their original dtype.
    ``counts``: number of records per kind, plus ``channels``, ``traces_in``,
    ``traces_out``, ``masked_samples``, ``skipped_traces`` and
    ``skipped_<reason>`` for each reason a trace was skipped.
    """

    records: tuple[QCRecord, ...]
    clean: object  # obspy.Stream
    counts: dict[str, int] = field(default_factory=dict)


def _utc(value, name: str):
    from obspy import UTCDateTime

    from tianshan.core.timeutil import as_utc

    if isinstance(value, UTCDateTime):
        return value
    try:
        return UTCDateTime(as_utc(value, name).replace(tzinfo=None))
    except DomainError as err:
        raise InputError(str(err), field=name) from None


def _expected_map(expected) -> dict[StreamID, float]:
    out: dict[StreamID, float] = {}
    for key, rate in (expected or {}).items():
        try:
            sid = key if isinstance(key, StreamID) else StreamID.parse(str(key))
            r = float(rate)
        except (DomainError, TypeError, ValueError):
            raise InputError(f"expected sample rates: bad entry {key!r}: {rate!r}", field="expected") from None
        if not (math.isfinite(r) and r > 0):
            raise InputError(f"expected sample rates: {key}: rate must be > 0 Hz, got {rate!r}", field="expected")
        out[sid] = r
    return out


def _usable(tr, skipped: dict[str, int]):
    """``(StreamID, float64 samples)`` of a trace, or None (counted in ``skipped``) when unusable."""
    s = tr.stats
    try:
        sid = StreamID(str(s.network), str(s.station), str(s.location), str(s.channel))
    except DomainError:
        skipped["bad_id"] = skipped.get("bad_id", 0) + 1
        return None
    rate = float(s.sampling_rate) if isinstance(s.sampling_rate, (int, float)) else float("nan")
    if not (math.isfinite(rate) and rate > 0):
        skipped["bad_sample_rate"] = skipped.get("bad_sample_rate", 0) + 1
        return None
    data = np.asarray(tr.data)
    if data.ndim != 1 or not (np.issubdtype(data.dtype, np.integer) or np.issubdtype(data.dtype, np.floating)):
        skipped["bad_data"] = skipped.get("bad_data", 0) + 1
        return None
    if data.size == 0:
        skipped["empty"] = skipped.get("empty", 0) + 1
        return None
    return sid, data


def _trim(tr, data: np.ndarray, start, end):
    """The samples of ``tr`` with times in ``[start, end)`` as a float64 trace (None if none)."""
    from obspy import Trace

    fs = float(tr.stats.sampling_rate)
    t0 = tr.stats.starttime
    i0 = max(0, math.ceil(float(start - t0) * fs - 1e-6))
    i1 = min(data.size, math.ceil(float(end - t0) * fs - 1e-6))
    if i1 <= i0:
        return None
    out = Trace(data=data[i0:i1].astype(np.float64), header={
        "network": tr.stats.network, "station": tr.stats.station, "location": tr.stats.location,
        "channel": tr.stats.channel, "sampling_rate": fs})
    out.stats.starttime = t0 + i0 / fs
    return out


def _reference_rate(traces, expected: float | None) -> float:
    if expected is not None:
        return expected
    total: dict[float, int] = {}
    for tr in traces:
        total[float(tr.stats.sampling_rate)] = total.get(float(tr.stats.sampling_rate), 0) + tr.stats.npts
    return max(total, key=lambda r: (total[r], r))


def _keep_masks(ch: ChannelData, records: list[QCRecord], mask_kinds: frozenset[str]) -> list[np.ndarray]:
    """Per trace of ``ch``: which samples survive the mask."""
    from obspy import UTCDateTime

    keeps = [np.ones(tr.stats.npts, dtype=bool) for tr in ch.traces]
    fs = ch.sampling_rate_hz
    spans = [(UTCDateTime(r.start.replace(tzinfo=None)), UTCDateTime(r.end.replace(tzinfo=None)))
             for r in records if r.kind.value in mask_kinds and r.kind not in (QCKind.OVERLAP, QCKind.SAMPLE_RATE)]
    for tr, keep in zip(ch.traces, keeps):
        t0, n = tr.stats.starttime, tr.stats.npts
        for a, b in spans:
            i0 = max(0, int(round(float(a - t0) * fs)))
            i1 = min(n - 1, int(round(float(b - t0) * fs)))
            if i1 >= i0:
                keep[i0:i1 + 1] = False
    if "overlap" in mask_kinds:  # keep the first record's samples where records overlap
        covered_until = None
        for tr, keep in zip(ch.traces, keeps):
            t0, n = tr.stats.starttime, tr.stats.npts
            if covered_until is not None:
                k = min(n, max(0, math.ceil(float(covered_until - t0) * fs - 0.5)))
                keep[:k] = False
            end = t0 + n / fs
            covered_until = end if covered_until is None else max(covered_until, end)
    return keeps


def _pieces(tr, keep: np.ndarray, dtype) -> list:
    from obspy import Trace

    from tianshan.qc.base import runs

    out = []
    fs = tr.stats.sampling_rate
    n = keep.size
    cut = runs(~keep)  # masked runs are few: the kept runs lie between them
    starts = np.concatenate([[0], cut[:, 1] + 1])
    ends = np.concatenate([cut[:, 0] - 1, [n - 1]])
    for a, b in zip(starts, ends):
        if b < a:
            continue
        data = tr.data[a:b + 1]
        if np.issubdtype(dtype, np.integer):
            data = np.rint(data)
        piece = Trace(data=data.astype(dtype), header={
            "network": tr.stats.network, "station": tr.stats.station, "location": tr.stats.location,
            "channel": tr.stats.channel, "sampling_rate": fs})
        piece.stats.starttime = tr.stats.starttime + int(a) / fs
        out.append(piece)
    return out


def check_stream(stream, start, end, expected: Mapping[str, float] | None = None,
                 config: QCConfig | None = None) -> QCResult:
    """QC every channel of ``stream`` over the window ``[start, end)``.

    ``expected`` maps ``NET.STA.LOC.CHA`` (or :class:`StreamID`) to the
    inventory's sample rate in Hz: a channel at another rate is reported, and an
    expected channel with no data gets a whole-window gap. ``config`` sets the
    thresholds and which kinds are masked (default :class:`QCConfig`).
    Raises :class:`InputError` only for a bad window or ``expected`` mapping.
    """
    from obspy import Stream

    cfg = config or QCConfig()
    t_start, t_end = _utc(start, "start"), _utc(end, "end")
    if not t_end > t_start:
        raise InputError(f"window end {t_end} is not after start {t_start}", field="end")
    exp = _expected_map(expected)
    metrics = make_metrics(cfg, cfg.metrics)
    skipped: dict[str, int] = {}
    by_id: dict[StreamID, list] = {}
    dtypes: dict[StreamID, np.dtype] = {}
    n_in = 0
    for tr in stream:
        n_in += 1
        got = _usable(tr, skipped)
        if got is None:
            continue
        sid, data = got
        dtypes.setdefault(sid, data.dtype)
        piece = _trim(tr, data, t_start, t_end)
        if piece is not None:
            by_id.setdefault(sid, []).append(piece)
    for sid in exp:
        by_id.setdefault(sid, [])

    records: list[QCRecord] = []
    clean = Stream()
    masked = 0
    for sid in sorted(by_id):
        traces = by_id[sid]
        rate = _reference_rate(traces, exp.get(sid)) if traces else exp[sid]
        keep = [tr for tr in traces if abs(tr.stats.sampling_rate - rate) <= cfg.sample_rate_rtol * rate]
        rejected = [tr for tr in traces if tr not in keep]
        keep.sort(key=lambda tr: (tr.stats.starttime, -tr.stats.npts))
        ch = ChannelData(sid, t_start, t_end, rate, keep, rejected, exp.get(sid))
        found: list[QCRecord] = []
        for metric in metrics:
            found.extend(metric.measure(ch))
        records.extend(found)
        if "sample_rate" not in cfg.mask:
            for tr in rejected:
                clean.append(_pieces(tr, np.ones(tr.stats.npts, dtype=bool), dtypes[sid])[0])
        for tr, k in zip(ch.traces, _keep_masks(ch, found, cfg.mask)):
            masked += int(k.size - np.count_nonzero(k))
            clean.extend(_pieces(tr, k, dtypes[sid]))
        if "sample_rate" in cfg.mask:
            masked += sum(tr.stats.npts for tr in rejected)

    records.sort(key=lambda r: (r.start, r.stream_id, r.kind.value, r.end))
    counts = {k.value: 0 for k in QCKind}
    for r in records:
        counts[r.kind.value] += 1
    counts.update(channels=len(by_id), traces_in=n_in, traces_out=len(clean), masked_samples=masked,
                  skipped_traces=sum(skipped.values()))
    counts.update({f"skipped_{k}": v for k, v in skipped.items()})
    return QCResult(tuple(records), clean, counts)

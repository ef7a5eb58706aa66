"""Spikes: short glitches found with the Hampel filter (MUSTANG ``num_spikes``).

Hampel identifier (Hampel 1974, JASA 69:383; Pearson 2002, IEEE Trans.
Control Syst. Technol. 10:55, eq. 2): sample ``i`` is an outlier when

    |x_i - median(W_i)| > t * 1.4826 * median(|W_i - median(W_i)|)

over the centred window ``W_i`` of ``n`` samples (shifted inwards at the
ends of a record, so that a glitch on the first sample after a gap is found). MUSTANG's ``spikesMetric``
(IRISMustangMetrics, via ``seismicRoll::findOutliers``) uses ``n = 41`` and
``t = 10`` and counts runs of adjacent outliers; :func:`mustang_spike_count`
does the same with the exact filter over every sample.

For masking before picking a spike must also be *short*: the outliers within
``n // 2`` samples of each other form a cluster, and only a cluster spanning
at most :attr:`QCConfig.spike_max_samples` samples is a spike. An impulsive
earthquake onset makes a long cluster and is kept.

A window whose MAD is 0 (more than half of it one value: a clipped plateau,
a stuck stretch), where MUSTANG's statistic would be infinite for every other
sample, uses the median deviation of its samples off the plateau instead. Likewise a
cluster between the clip levels (:func:`tianshan.qc.clipping.clip_levels`)
with clipped samples in its window is part of a clipped stretch; one beyond
the clip levels is still a spike.

Quantisation floor: the robust standard deviation is taken as at least
``q / sqrt(12)``, the standard deviation of the rounding error of a digitiser
with step ``q`` (Widrow & Kollár 2008, *Quantization Noise*, eq. 4.8;
:func:`tianshan.qc.base.quantum`). Without it a channel recording a few counts
(MAD 0 in most windows) has "infinite" outliers one count off its median; with
it a spike must stand ``t * q / sqrt(12)`` (2.9 counts at ``t`` = 10) from the
median at least. :func:`hampel_outliers_reference` and
:func:`mustang_spike_count` stay MUSTANG's exact statistic, without the floor.

Speed: the exact filter costs a median over ``n`` samples per sample, so
:func:`spike_clusters` tests only candidates whose residual from the mean of
their two neighbours exceeds 4 robust standard deviations of that residual
(per block of ``50 n`` samples, from a subsample), then checks each short cluster's whole
neighbourhood with the exact filter. :func:`hampel_outliers_reference`, the
slow exact filter, is the reference the fast path is tested against.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from tianshan.core.qc import QCKind, QCRecord
from tianshan.qc.base import ChannelData, Metric, quantum, register_metric
from tianshan.qc.clipping import config_levels

MAD_TO_SD = 1.4826  # 1 / Phi^-1(3/4): MAD of a normal distribution in standard deviations
_PREFILTER_SD = 4.0
_CHUNK = 200_000


def _hampel_at(x: np.ndarray, idx: np.ndarray, window: int, zero_mad: bool = False,
               sd_floor: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """Deviation ``x_i - median`` and Hampel statistic at indices ``idx``.

    ``sd_floor``: lower bound of the robust standard deviation (the quantisation floor).

    The window is centred where it can be and shifted inwards within ``window // 2``
    samples of either end of the record (so the first and last samples are tested too).
    """
    h = window // 2
    first = np.clip(idx - h, 0, x.size - window)
    w = x[first[:, None] + np.arange(window)[None, :]]
    med = np.median(w, axis=1)
    absdev = np.abs(w - med[:, None])
    mad = np.median(absdev, axis=1)
    if not zero_mad:  # MAD 0: use the median deviation of the samples off the plateau instead
        rows = np.flatnonzero(mad == 0)
        if rows.size:
            s = np.sort(absdev[rows], axis=1)  # zeros first, then the off-plateau deviations
            n_off = window - np.count_nonzero(s == 0, axis=1)
            z = window - n_off
            lo = np.minimum(z + (n_off - 1) // 2, window - 1)
            hi = np.minimum(z + n_off // 2, window - 1)
            r = np.arange(rows.size)
            med_off = 0.5 * (s[r, lo] + s[r, hi])  # median of the n_off nonzero values
            mad[rows] = np.where(n_off > 1, med_off, 0.0)
    dev = x[idx] - med
    with np.errstate(divide="ignore", invalid="ignore"):
        stat = np.abs(dev) / np.maximum(MAD_TO_SD * mad, sd_floor)  # +inf: MAD 0, no floor (as in R)
    return dev, stat


def hampel_outliers_reference(x: np.ndarray, window: int = 41, threshold: float = 10.0) -> np.ndarray:
    """Indices of all Hampel outliers among samples with a full centred window (exact; slow reference)."""
    x = np.asarray(x, dtype=np.float64)
    h = window // 2
    out = []
    for c0 in range(h, x.size - h, _CHUNK):
        c1 = min(c0 + _CHUNK, x.size - h)
        w = sliding_window_view(x[c0 - h:c1 + h], window)
        med = np.median(w, axis=1)
        mad = np.median(np.abs(w - med[:, None]), axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            stat = np.abs(x[c0:c1] - med) / (MAD_TO_SD * mad)
        out.append(np.flatnonzero(stat > threshold) + c0)
    return np.concatenate(out) if out else np.empty(0, dtype=np.int64)


def mustang_spike_count(x: np.ndarray, window: int = 41, threshold: float = 10.0) -> int:
    """MUSTANG ``num_spikes``: runs of adjacent Hampel outliers (exact filter, slow)."""
    idx = hampel_outliers_reference(x, window, threshold)
    return 0 if idx.size == 0 else int(np.count_nonzero(np.diff(idx) > 1) + 1)


def _candidates(x: np.ndarray, window: int, sd_floor: float = 0.0) -> np.ndarray:
    """Samples whose residual from their neighbours' mean exceeds 4 robust sd of the residual.

    The scale is estimated per block of ``50 * window`` samples from at most
    256 of the block's residuals (a prefilter needs a scale, not an exact one).
    """
    r = x[:-2] + x[2:]
    r *= 0.5
    np.subtract(x[1:-1], r, out=r)
    np.abs(r, out=r)  # NaN residuals compare False below: never candidates
    block = 50 * window
    nb = r.size // block
    if nb == 0:
        scale = max(MAD_TO_SD * np.median(r), sd_floor) if r.size else sd_floor
        return np.flatnonzero(r > _PREFILTER_SD * scale) + 1
    step = max(1, block // 256)
    body = r[: nb * block].reshape(nb, block)
    scale = np.maximum(MAD_TO_SD * np.median(body[:, ::step], axis=1), sd_floor)
    hit = np.flatnonzero(body > (_PREFILTER_SD * scale)[:, None])
    tail = np.flatnonzero(r[nb * block:] > _PREFILTER_SD * scale[-1]) + nb * block
    return np.concatenate([hit, tail]) + 1


def _clusters(idx: np.ndarray, gap: int) -> list[np.ndarray]:
    if idx.size == 0:
        return []
    return np.split(idx, np.flatnonzero(np.diff(idx) > gap) + 1)


def spike_clusters(x: np.ndarray, window: int = 41, threshold: float = 10.0,
                   max_samples: int = 3, quantum_step: float = 0.0) -> list[tuple[int, int, int, float, float]]:
    """Short Hampel-outlier clusters: ``(first, last, peak index, deviation, statistic)``.

    ``quantum_step``: the record's quantisation step ``q``; the robust standard deviation
    is floored at ``q / sqrt(12)`` (0: no floor).
    """
    floor = float(quantum_step) / np.sqrt(12.0)
    x = np.asarray(x, dtype=np.float64)
    h = window // 2
    if x.size < window:
        return []
    edges = np.r_[0:h, x.size - h:x.size]
    cand = np.union1d(_candidates(x, window, floor), edges)
    if cand.size == 0:
        return []
    _, stat = _hampel_at(x, cand, window, sd_floor=floor)
    out_idx = cand[stat > threshold]
    found = []
    for cl in _clusters(out_idx, h):
        if cl[-1] - cl[0] + 1 > max_samples:
            continue
        # Check the whole neighbourhood exactly: an onset may hide outliers the prefilter skipped.
        lo, hi = max(0, cl[0] - h), min(x.size, cl[-1] + h + 1)
        near = np.arange(lo, hi)
        dev, st = _hampel_at(x, near, window, sd_floor=floor)
        exact = near[st > threshold]
        if exact.size == 0 or exact[-1] - exact[0] + 1 > max_samples:
            continue
        if (lo > 0 and exact[0] - lo < h) or (hi < x.size and hi - 1 - exact[-1] < h):
            # outliers too close to the checked edges: look wider once
            lo2, hi2 = max(0, exact[0] - h), min(x.size, exact[-1] + h + 1)
            near2 = np.arange(lo2, hi2)
            _, st2 = _hampel_at(x, near2, window, sd_floor=floor)
            if np.count_nonzero(st2 > threshold) != exact.size:
                continue
        k = int(np.argmax(st[np.searchsorted(near, exact)]))
        peak = int(exact[k])
        j = peak - lo
        found.append((int(exact[0]), int(exact[-1]), peak, float(dev[j]), float(st[j])))
    # clusters found twice (prefilter split one cluster) collapse to one
    unique = {}
    for f in found:
        unique.setdefault((f[0], f[1]), f)
    return sorted(unique.values())


@register_metric
class Spikes(Metric):
    name = "spikes"
    kinds = (QCKind.SPIKE,)

    def measure(self, ch: ChannelData) -> list[QCRecord]:
        cfg = self.config
        out = []
        h = cfg.spike_window // 2
        for tr in ch.traces:
            found = spike_clusters(tr.data, cfg.spike_window, cfg.spike_threshold, cfg.spike_max_samples,
                                   quantum(tr.data))
            levels = config_levels(tr.data, cfg) if found else []
            if levels:
                mid = float(np.nanmedian(tr.data))
                top = max(levels) if max(levels) >= mid else np.inf
                bottom = min(levels) if min(levels) < mid else -np.inf
            for first, last, peak, dev, stat in found:
                near = tr.data[max(0, first - h):last + h + 1]
                if (levels and bottom <= tr.data[peak] <= top
                        and np.count_nonzero(np.isin(near, levels)) >= cfg.clip_min_run):
                    continue  # a dip inside a clipped stretch: a clipping finding, not a spike
                n = last - first + 1
                detail = (f"{n} sample{'s' if n > 1 else ''}, "
                          + (f"{stat:.0f}" if np.isfinite(stat) else "inf")
                          + f" robust sd from the median of {cfg.spike_window}")
                out.append(ch.record(QCKind.SPIKE, ch.sample_time(tr, first), ch.sample_time(tr, last), dev, detail))
        return out

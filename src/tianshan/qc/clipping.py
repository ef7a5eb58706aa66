"""Clipping: samples flat-topped at a level (digitiser or amplifier saturation).

Rule (the amplitude-histogram approach of Kleckner et al. 2022, "Automated
detection of clipping in broadband earthquake records", SRL 93(2A):880-896,
their "histogram" algorithm, one of the two most accurate single methods
there; SourceSpec's kernel-density clipping check rests on the same idea):
clipping piles many samples *exactly* at one level while the values next to it
are sparse, so the amplitude histogram has an isolated spike at its edge. A
value ``L`` is a clip level when

1. it is held for at least :attr:`QCConfig.clip_min_run` consecutive samples and
   lies in the top or bottom 1 % of the record (a cheap pre-selection);
2. the record spans at least :attr:`QCConfig.clip_min_steps` quantisation steps
   ``q`` (:func:`tianshan.qc.base.quantum`): a channel recording a few counts of
   noise (an accelerometer at a quiet site) repeats its few values all the time,
   which is resolution, not saturation;
3. the count ``n_L`` of samples at ``L`` is at least :attr:`QCConfig.clip_ratio`
   (10) times the mean count per value of the :attr:`QCConfig.clip_band_steps`
   (``m`` = 10) values just below ``L`` *and* of the ``m`` values just above it
   (whichever side is denser);
4. it is the record's extreme but for glitches: fewer than ``n_L / clip_ratio``
   samples lie beyond it (a level the signal was cut off at cannot be exceeded,
   except by spikes). This rejects the values an unclipped signal holds for a few
   samples where it turns flatter than a parabola (a stalled slope, a broad crest)
   inside its range, as seen in simulated event records.

Why 3 separates clipping from smooth extrema: a quantised smooth crest
``x(t) = A - c t^2`` spends time ``2 sqrt(d / c)`` within ``d`` of its top, so
its top value gets at most ``m / (sqrt(m + 1) - 1)`` (4.35 for ``m`` = 10) times
the mean count of the ``m`` values below it, whatever its amplitude, period or
the digitiser's resolution (a trough in the top tail, likewise, on its upper
side). Low-frequency noise (microseism crests) holds its extreme values for
several samples, which a run-length rule alone calls clipping. A signal cut at
``L`` that would have reached ``L + D`` instead gets about ``2 D / q`` times the
band's mean count at ``L``: clipping by more than ``5 q`` is found.

With :attr:`QCConfig.full_scale_counts` set (e.g. ``2**23`` for a 24-bit
digitiser), samples at or beyond full scale are clipped too (MUSTANG
``digitizer_clipping``/``amplifier_saturation`` report the same from
state-of-health flags). Clipped samples less than :attr:`QCConfig.clip_merge_s`
apart form one span; the record's ``value`` is the clip level.
"""

from __future__ import annotations

import numpy as np

from tianshan.core.qc import QCKind, QCRecord
from tianshan.qc.base import ChannelData, Metric, QCConfig, quantum, register_metric, runs

_DEFAULT = QCConfig()


def clip_levels(x: np.ndarray, min_run: int = _DEFAULT.clip_min_run, ratio: float = _DEFAULT.clip_ratio,
                band_steps: int = _DEFAULT.clip_band_steps, min_steps: float = _DEFAULT.clip_min_steps) -> list[float]:
    """The clip levels of a record (rules 1-4 of the module docstring), in increasing order.

    (Not just the maximum: a spike on top of a clipped record is larger than the clip level.)
    """
    x = np.asarray(x, dtype=np.float64)
    if x.size < min_run:
        return []
    r = runs(x[1:] == x[:-1])  # NaN != NaN: never a run
    if r.size == 0:
        return []
    r = r[r[:, 1] - r[:, 0] + 2 >= min_run]
    if r.size == 0:
        return []
    finite = x[np.isfinite(x)]
    lo_q, hi_q = np.percentile(finite, [1.0, 99.0])
    lo, hi = float(finite.min()), float(finite.max())
    if hi == lo:
        return []  # a constant record is dead, not clipped
    vals = np.unique(x[r[:, 0]])
    vals = vals[(vals >= hi_q) | (vals <= lo_q)]
    if vals.size == 0:
        return []
    q = quantum(finite)
    if not q > 0 or (hi - lo) / q < min_steps:
        return []
    w = band_steps * q
    tail = np.sort(finite[(finite >= hi_q - w - 0.5 * q) | (finite <= lo_q + w + 0.5 * q)])
    half = 0.5 * q

    def count(a: np.ndarray, b: np.ndarray) -> np.ndarray:  # samples with a <= x < b
        return np.searchsorted(tail, b, "left") - np.searchsorted(tail, a, "left")

    at = count(vals - half, vals + half)
    below = count(vals - w - half, vals - half)
    above = count(vals + half, vals + w + half)
    dense = np.maximum(below, above) / band_steps
    top = vals >= hi_q
    beyond = np.where(top, tail.size - np.searchsorted(tail, vals + half, "left"),
                      np.searchsorted(tail, vals - half, "left"))
    keep = (at >= min_run) & (at >= ratio * dense) & (at >= ratio * beyond)
    return [float(v) for v in vals[keep]]


def config_levels(x: np.ndarray, cfg: QCConfig) -> list[float]:
    """:func:`clip_levels` with the thresholds of ``cfg``."""
    return clip_levels(x, cfg.clip_min_run, cfg.clip_ratio, cfg.clip_band_steps, cfg.clip_min_steps)


def clipped_samples(x: np.ndarray, min_run: int = _DEFAULT.clip_min_run, full_scale: float | None = None,
                    config: QCConfig | None = None) -> list[tuple[float, np.ndarray]]:
    """``(level, indices)`` of clipped samples, per clip level."""
    cfg = config or QCConfig(clip_min_run=min_run)
    out = [(level, np.flatnonzero(x == level)) for level in config_levels(x, cfg)]
    if full_scale is not None:
        finite = np.isfinite(x)
        over = np.flatnonzero(finite & (np.abs(np.where(finite, x, 0.0)) >= full_scale))
        seen = [lv for lv, _ in out]
        extra = over[~np.isin(x[over], seen)] if seen else over
        if extra.size:
            out.append((float(np.sign(x[extra[0]]) * full_scale), extra))
    return out


@register_metric
class Clipping(Metric):
    name = "clipping"
    kinds = (QCKind.CLIPPING,)

    def measure(self, ch: ChannelData) -> list[QCRecord]:
        cfg = self.config
        merge = max(1, int(round(cfg.clip_merge_s * ch.sampling_rate_hz)))
        out = []
        for tr in ch.traces:
            for level, idx in clipped_samples(tr.data, cfg.clip_min_run, cfg.full_scale_counts, cfg):
                for grp in np.split(idx, np.flatnonzero(np.diff(idx) > merge) + 1):
                    out.append(ch.record(QCKind.CLIPPING, ch.sample_time(tr, int(grp[0])),
                                         ch.sample_time(tr, int(grp[-1])), level,
                                         f"{grp.size} samples at {level:g}"))
        return out

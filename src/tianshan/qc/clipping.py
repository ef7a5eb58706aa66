"""Clipping: samples flat-topped at a level (digitiser or amplifier saturation).

A value in the top or bottom 1 % of a record that repeats in a run of at
least :attr:`QCConfig.clip_min_run` consecutive samples is a level the record
was cut off at: unclipped ground motion does not stay at its extremes for
several samples. With :attr:`QCConfig.full_scale_counts` set (e.g. ``2**23`` for a
24-bit digitiser), samples at or beyond full scale are clipped too (MUSTANG
``digitizer_clipping``/``amplifier_saturation`` report the same from
state-of-health flags). Clipped samples less than :attr:`QCConfig.clip_merge_s`
apart form one span; the record's ``value`` is the clip level.
"""

from __future__ import annotations

import numpy as np

from tianshan.core.qc import QCKind, QCRecord
from tianshan.qc.base import ChannelData, Metric, register_metric, runs


def clip_levels(x: np.ndarray, min_run: int = 3) -> list[float]:
    """Values held for ``min_run`` or more consecutive samples in the top or bottom 1 % of the record.

    (Not just the maximum: a spike on top of a clipped record is larger than the clip level.)
    """
    finite = np.isfinite(x)
    if x.size < min_run or not finite.any():
        return []
    r = runs(x[1:] == x[:-1])
    r = r[r[:, 1] - r[:, 0] + 2 >= min_run]
    if r.size == 0:
        return []
    lo_q, hi_q = np.percentile(x[finite], [1.0, 99.0])
    lo, hi = float(np.nanmin(x)), float(np.nanmax(x))
    if hi == lo:
        return []  # a constant record is dead, not clipped
    vals = np.unique(x[r[:, 0]])
    return [float(v) for v in vals if v >= hi_q or v <= lo_q]


def clipped_samples(x: np.ndarray, min_run: int = 3, full_scale: float | None = None) -> list[tuple[float, np.ndarray]]:
    """``(level, indices)`` of clipped samples, per clip level."""
    out = [(level, np.flatnonzero(x == level)) for level in clip_levels(x, min_run)]
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
            for level, idx in clipped_samples(tr.data, cfg.clip_min_run, cfg.full_scale_counts):
                for grp in np.split(idx, np.flatnonzero(np.diff(idx) > merge) + 1):
                    out.append(ch.record(QCKind.CLIPPING, ch.sample_time(tr, int(grp[0])),
                                         ch.sample_time(tr, int(grp[-1])), level,
                                         f"{grp.size} samples at {level:g}"))
        return out

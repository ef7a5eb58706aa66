"""Flat spans and dead channels: consecutive identical samples.

A working digitiser's least significant bits always move with ground noise;
a run of identical samples lasting :attr:`QCConfig.flat_min_s` (and at least
:attr:`QCConfig.flat_min_samples` samples) is a dead or stuck channel (or a
zero-filled stretch). Runs at a clip level
(:func:`tianshan.qc.clipping.clip_levels`) are left to the clipping metric.
A record constant throughout is reported as a dead channel (MUSTANG ``dead_channel_*`` find the same by PSD).
"""

from __future__ import annotations

import numpy as np

from tianshan.core.qc import QCKind, QCRecord
from tianshan.qc.base import ChannelData, Metric, register_metric, runs
from tianshan.qc.clipping import clip_levels


@register_metric
class Flat(Metric):
    name = "flat"
    kinds = (QCKind.FLAT,)

    def measure(self, ch: ChannelData) -> list[QCRecord]:
        cfg = self.config
        dt = ch.delta_s
        out = []
        for tr in ch.traces:
            x = tr.data
            if x.size < 2:
                continue
            if not np.isfinite(x).any():
                continue  # reported by the invalid-sample metric
            same = x[1:] == x[:-1]
            whole = bool(same.all())
            levels = set() if whole else set(clip_levels(x, cfg.clip_min_run))
            for a, b in runs(same):
                n = b - a + 2  # samples in the run
                if n < cfg.flat_min_samples or n * dt < cfg.flat_min_s:
                    continue
                v = x[a]
                if v in levels:
                    continue  # a plateau at a clip level: clipping
                detail = f"dead channel: constant {v:g}" if whole else f"constant {v:g}"
                out.append(ch.record(QCKind.FLAT, ch.sample_time(tr, a), ch.sample_time(tr, b + 1),
                                     n * dt, detail))
        return out

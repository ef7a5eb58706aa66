"""Flat spans and dead channels: consecutive identical samples.

A working digitiser's least significant bits always move with ground noise;
a run of identical samples lasting :attr:`QCConfig.flat_min_s` (and at least
:attr:`QCConfig.flat_min_samples` samples) is a dead or stuck channel (or a
zero-filled stretch). Runs at a clip level
(:func:`tianshan.qc.clipping.clip_levels`) are left to the clipping metric.
A record constant throughout is reported as a dead channel (MUSTANG ``dead_channel_*`` find the same by PSD).

A run inside a record that spans fewer than :attr:`QCConfig.flat_min_steps`
quantisation steps (:func:`tianshan.qc.base.quantum`) is not reported: when the
ground noise is below the digitiser's resolution (an accelerometer recording
-1, 0, +1 counts at a quiet site) the record holds a value for seconds while the
channel works (quantisation of a signal smaller than one step; Widrow & Kollár
2008, *Quantization Noise*, ch. 4). Such a record is reported as dead only when
it never changes.
"""

from __future__ import annotations

import numpy as np

from tianshan.core.qc import QCKind, QCRecord
from tianshan.qc.base import ChannelData, Metric, range_steps, register_metric, runs
from tianshan.qc.clipping import config_levels


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
            r = runs(same)
            n_run = r[:, 1] - r[:, 0] + 2  # samples in each run
            long_runs = r[(n_run >= cfg.flat_min_samples) & (n_run * dt >= cfg.flat_min_s)]
            if not long_runs.size or (not whole and range_steps(x) < cfg.flat_min_steps):
                continue
            levels = set() if whole else set(config_levels(x, cfg))
            for a, b in long_runs.tolist():
                n = b - a + 2  # samples in the run
                v = x[a]
                if v in levels:
                    continue  # a plateau at a clip level: clipping
                detail = f"dead channel: constant {v:g}" if whole else f"constant {v:g}"
                out.append(ch.record(QCKind.FLAT, ch.sample_time(tr, a), ch.sample_time(tr, b + 1),
                                     n * dt, detail))
        return out

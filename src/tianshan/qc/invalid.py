"""Invalid samples: NaN or infinite values (a corrupt decode or a bad float record).

They cannot be filtered or picked; each run is reported (value = number of
samples) and masked.
"""

from __future__ import annotations

import numpy as np

from tianshan.core.qc import QCKind, QCRecord
from tianshan.qc.base import ChannelData, Metric, register_metric, runs


@register_metric
class Invalid(Metric):
    name = "invalid"
    kinds = (QCKind.INVALID,)

    def measure(self, ch: ChannelData) -> list[QCRecord]:
        out = []
        for tr in ch.traces:
            bad = ~np.isfinite(tr.data)
            if not bad.any():
                continue
            for a, b in runs(bad):
                out.append(ch.record(QCKind.INVALID, ch.sample_time(tr, int(a)), ch.sample_time(tr, int(b)),
                                     float(b - a + 1), "samples not finite"))
        return out

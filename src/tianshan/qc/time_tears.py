"""Time tears: timing discontinuities between records that are not plain data loss.

A record that starts off the sample grid of the one before it (the jump is
not a whole number of sample intervals) carries a timing error: lost records
remove whole samples and keep the grid. A record that starts *earlier* than
continuous (an overlap) but whose samples differ from the ones already
recorded for those times is a clock jumping back, not a duplicated record.
(SEED manual v2.4 ch. 8, fixed header "time correction" and blockette 1001
timing quality; MUSTANG's ``timing_quality``/``clock_locked`` flags report the
same fault from state-of-health bits, which simulated and re-archived data
lack, so it is found from the data here.)

An on-grid positive jump cannot be told from a gap from the data alone and is
reported as a gap only.
"""

from __future__ import annotations

import numpy as np

from tianshan.core.qc import QCKind, QCRecord
from tianshan.qc.base import ChannelData, Metric, discontinuities, register_metric


def _overlap_differs(a, b, dt: float) -> bool:
    """Do the samples of ``b`` that fall on times ``a`` already covers differ from ``a``'s?"""
    offset = float(b.stats.starttime - a.stats.starttime) / dt  # index of b[0] in a
    i0 = int(round(offset))
    n = min(a.stats.npts - i0, b.stats.npts)
    if i0 < 0 or n <= 0:
        return True
    x, y = np.asarray(a.data[i0:i0 + n]), np.asarray(b.data[:n])
    ok = np.isfinite(x) & np.isfinite(y)
    scale = max(float(np.max(np.abs(x[ok]), initial=0.0)), 1e-300)
    return bool(np.any(np.abs(x[ok] - y[ok]) > 1e-6 * scale))


@register_metric
class TimeTears(Metric):
    """Off-grid record starts and overlaps whose data disagree."""

    name = "time_tears"
    kinds = (QCKind.TIME_TEAR,)

    def measure(self, ch: ChannelData) -> list[QCRecord]:
        cfg = self.config
        dt = ch.delta_s
        out = []
        for d in discontinuities(ch):
            a, b = ch.traces[d.index - 1], ch.traces[d.index]
            off_grid = d.misfit_samples > cfg.tear_tolerance_samples and d.misfit_samples * dt > cfg.tear_min_s
            if off_grid:
                detail = "record start off the sample grid"
            elif d.jump_s < -0.5 * dt and _overlap_differs(a, b, dt):
                detail = "overlapping record with different samples"
            else:
                continue
            t = b.stats.starttime
            out.append(ch.record(QCKind.TIME_TEAR, min(t, t - d.jump_s), max(t, t - d.jump_s), d.jump_s, detail))
        return out

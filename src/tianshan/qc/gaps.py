"""Gaps, overlaps and availability of a channel in a window (MUSTANG ``gapsMetric``).

Definition (IRISSeismic ``getGaps`` and IRISMustangMetrics ``gapsMetric``,
Callahan & Casey, EarthScope/Mazama Science; MUSTANG metric docs
``num_gaps``, ``num_overlaps``, ``percent_availability``):

* between consecutive records, ``jump = start(b) - (last sample of a + delta)``;
  a gap when ``jump > delta/2``, an overlap when ``jump < -delta/2``;
* an initial gap ``first sample - window start`` and a final gap
  ``window end - (last sample + delta)`` when longer than
  :attr:`QCConfig.edge_gap_min_s`;
* ``percent_availability = 100 - 100 * sum(gaps) / window length``, within [0, 100].

Verified against MUSTANG's figures for II.KAPI.00.BHZ 2013-01-05/06 in
``tests/qc/test_qc_real_data.py``.
"""

from __future__ import annotations

from tianshan.core.qc import QCKind, QCRecord
from tianshan.qc.base import ChannelData, Metric, discontinuities, register_metric


def gap_spans(ch: ChannelData, edge_gap_min_s: float | None = None) -> list[tuple[object, object, float]]:
    """``(start, end, duration_s)`` of every gap of ``ch`` (window edges included), in time order."""
    dt = ch.delta_s
    edge_min = dt if edge_gap_min_s is None else float(edge_gap_min_s)
    window_s = float(ch.end - ch.start)
    if not ch.traces:
        return [(ch.start, ch.end, window_s)]
    out = []
    first = ch.traces[0]
    initial = float(first.stats.starttime - ch.start)
    if initial > edge_min:
        out.append((ch.start, first.stats.starttime, initial))
    for d in discontinuities(ch):
        if d.jump_s > 0.5 * dt:
            b = ch.traces[d.index]
            out.append((b.stats.starttime - d.jump_s, b.stats.starttime, d.jump_s))
    last_end = max(tr.stats.starttime + tr.stats.npts * dt for tr in ch.traces)
    final = float(ch.end - last_end)
    if final > edge_min:
        out.append((last_end, ch.end, final))
    return out


def percent_availability(ch: ChannelData, edge_gap_min_s: float | None = None) -> float:
    """MUSTANG ``percent_availability`` of ``ch`` over its window (0-100)."""
    window_s = float(ch.end - ch.start)
    if window_s <= 0:
        return 0.0
    gap_s = sum(g for _, _, g in gap_spans(ch, edge_gap_min_s))
    return min(100.0, max(0.0, 100.0 - 100.0 * gap_s / window_s))


@register_metric
class Gaps(Metric):
    """Gaps (missing data) and overlaps (doubly covered time) between records, and availability."""

    name = "gaps"
    kinds = (QCKind.GAP, QCKind.OVERLAP, QCKind.AVAILABILITY)

    def measure(self, ch: ChannelData) -> list[QCRecord]:
        edge = self.config.edge_gap_min_s
        out = [ch.record(QCKind.GAP, t0, t1, dur, "no data" if not ch.traces else "")
               for t0, t1, dur in gap_spans(ch, edge)]
        dt = ch.delta_s
        for d in discontinuities(ch):
            if d.jump_s < -0.5 * dt:
                a, b = ch.traces[d.index - 1], ch.traces[d.index]
                a_last = a.stats.starttime + (a.stats.npts - 1) * dt
                b_last = b.stats.starttime + (b.stats.npts - 1) * dt
                out.append(ch.record(QCKind.OVERLAP, b.stats.starttime, min(a_last, b_last), -d.jump_s))
        out.append(ch.record(QCKind.AVAILABILITY, ch.start, ch.end, percent_availability(ch, edge)))
        return out

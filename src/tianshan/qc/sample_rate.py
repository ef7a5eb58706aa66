"""Wrong or changing sample rate (MUSTANG ``sample_rate_channel`` in spirit).

The channel's rate is the inventory's (``expected``) when known, else the
rate of most of the samples in the window. Records at another rate (relative
difference over :attr:`QCConfig.sample_rate_rtol`) are reported and left out
of the channel (``ChannelData.rejected``): a picker cannot use them with the
others.
"""

from __future__ import annotations

from tianshan.core.qc import QCKind, QCRecord
from tianshan.qc.base import ChannelData, Metric, register_metric


@register_metric
class SampleRate(Metric):
    name = "sample_rate"
    kinds = (QCKind.SAMPLE_RATE,)

    def measure(self, ch: ChannelData) -> list[QCRecord]:
        ref = "inventory" if ch.expected_rate_hz is not None else "channel"
        out = []
        for tr in ch.rejected:
            rate = float(tr.stats.sampling_rate)
            last = tr.stats.starttime + (tr.stats.npts - 1) / rate
            out.append(ch.record(QCKind.SAMPLE_RATE, tr.stats.starttime, last, rate,
                                 f"{rate:g} Hz, {ref} rate {ch.sampling_rate_hz:g} Hz"))
        return out

"""MUSTANG/ISPAQ-style data-quality metrics per channel-day, PSD/PDF, and exclusion of bad channels.

* :mod:`.daily`: the time-series and state-of-health metrics of one channel-day
  (:func:`channel_day_metrics`, :class:`ChannelDayMetrics`), MUSTANG definitions.
* :mod:`.psd`: PSDs and PDF (ObsPy PPSD, MUSTANG segmenting and frequency grid),
  percentiles, ``pct_above_nhnm``/``pct_below_nlnm``, ``dead_channel_*``.
* :mod:`.exclusion`: threshold rules -> channel-days excluded from processing.
* :mod:`.archive`: the metrics over an SDS archive, JSON/CSV/PDF products, storage
  of the findings as :class:`~tianshan.core.qc.QCRecord` (``tianshan qc run``).

The pre-pick QC of :mod:`tianshan.qc` finds the gaps, clipping and flat stretches
these metrics count. ObsPy and SciPy are imported only when metrics are computed.
"""

from tianshan.qc.metrics.daily import (ALL_METRICS, ChannelDayMetrics, ChannelDayResult, channel_day_metrics,
                                       mustang_num_spikes, sample_statistics, soh_metrics)
from tianshan.qc.metrics.exclusion import (DEFAULT_RULES, Condition, Exclusion, ExclusionConfig, ExclusionList, Rule,
                                           evaluate)
from tianshan.qc.metrics.psd import PSDResult, PSDUnavailable, compute_psd

__all__ = ["ALL_METRICS", "ChannelDayMetrics", "ChannelDayResult", "channel_day_metrics", "mustang_num_spikes",
           "sample_statistics", "soh_metrics", "DEFAULT_RULES", "Condition", "Exclusion", "ExclusionConfig",
           "ExclusionList", "Rule", "evaluate", "PSDResult", "PSDUnavailable", "compute_psd"]

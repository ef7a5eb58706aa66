"""Pre-pick waveform quality control (QC): one metric per module and a registry.

Per channel and chunk: gaps and overlaps with availability (:mod:`.gaps`),
time tears (:mod:`.time_tears`), wrong or changing sample rate
(:mod:`.sample_rate`), invalid samples (:mod:`.invalid`), spikes
(:mod:`.spikes`), clipping (:mod:`.clipping`) and flat/dead spans
(:mod:`.flat`), offsets such as a sensor's recovery after power-up
(:mod:`.offset`). :func:`check_stream` runs them, returns the findings as
:class:`~tianshan.core.qc.QCRecord` objects and the stream with the bad spans
cut out, ready for the pickers. ObsPy is imported only when QC runs.
"""

from tianshan.qc.base import METRICS, ChannelData, Metric, QCConfig, register_metric
from tianshan.qc import invalid as _invalid  # noqa: F401  (registration order = run order)
from tianshan.qc import sample_rate as _sample_rate  # noqa: F401
from tianshan.qc import gaps as _gaps  # noqa: F401
from tianshan.qc import time_tears as _time_tears  # noqa: F401
from tianshan.qc import spikes as _spikes  # noqa: F401
from tianshan.qc import clipping as _clipping  # noqa: F401
from tianshan.qc import flat as _flat  # noqa: F401
from tianshan.qc import offset as _offset  # noqa: F401
from tianshan.qc.check import QCResult, check_stream

__all__ = ["check_stream", "QCResult", "QCConfig", "Metric", "ChannelData", "METRICS", "register_metric"]

"""Plumbing of the QC metrics: settings, one channel's data, the metric base class and registry.

A metric is a small class with a ``name`` and a :meth:`Metric.measure` hook
that looks at one :class:`ChannelData` (the records of one stream inside the
chunk window, sorted, all at the channel's sample rate) and returns
:class:`~tianshan.core.qc.QCRecord` findings. :func:`register_metric` adds a
metric class to :data:`METRICS`; :func:`tianshan.qc.check.check_stream` runs
them all (or those named in :attr:`QCConfig.metrics`).

Times inside are ObsPy ``UTCDateTime`` (nanosecond resolution); records carry
aware UTC datetimes (microseconds).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from datetime import datetime
from typing import ClassVar, Iterable

import numpy as np

from tianshan.core.errors import DomainError
from tianshan.core.ids import StreamID
from tianshan.core.qc import QCKind, QCRecord
from tianshan.core.timeutil import as_utc


@dataclass(frozen=True, slots=True)
class QCConfig:
    """Thresholds of the QC metrics (SI units; sample counts where stated).

    Defaults follow MUSTANG where MUSTANG has the metric (Casey et al. 2018,
    SRL 89(4), "An overview of MUSTANG"; IRISMustangMetrics ``gapsMetric``,
    ``spikesMetric``): a gap or overlap is a discontinuity of more than half a
    sample interval; spikes are Hampel outliers over 41 samples at 10 robust
    standard deviations.

    ``edge_gap_min_s``: an initial/final gap at the window edges is counted
    when longer than this; ``None`` means one sample interval (a sample is
    missing; a record's sample phase alone never makes a gap). MUSTANG's published figures for the
    ISPAQ test data count any late first sample (even 0.0195 s at 20 Hz), which
    ``edge_gap_min_s=0.0`` reproduces.
    """

    edge_gap_min_s: float | None = None
    tear_tolerance_samples: float = 0.05  # off-grid misfit (in samples) that marks a time tear
    tear_min_s: float = 2e-4  # ... and at least this many seconds (miniSEED times have 0.1 ms steps)
    spike_window: int = 41
    spike_threshold: float = 10.0
    spike_max_samples: int = 3
    flat_min_s: float = 1.0
    flat_min_samples: int = 10
    clip_min_run: int = 3
    clip_merge_s: float = 1.0
    clip_ratio: float = 10.0  # samples at a clip level / mean count of the values next to it
    clip_band_steps: int = 10  # values (quantisation steps) on each side compared with the level
    clip_min_steps: float = 32.0  # a record spanning fewer quantisation steps gives no histogram evidence
    flat_min_steps: float = 8.0  # ... nor evidence of a stuck stretch (it is resolution, not a fault)
    full_scale_counts: float | None = None
    offset_block_s: float = 10.0
    offset_threshold: float = 30.0
    sample_rate_rtol: float = 1e-4
    mask: frozenset[str] = frozenset({"spike", "flat", "invalid", "sample_rate", "overlap"})
    metrics: tuple[str, ...] | None = None  # None: every registered metric

    def __post_init__(self) -> None:
        if self.spike_window < 5 or self.spike_window % 2 == 0:
            raise DomainError(f"qc spike_window: must be an odd number >= 5, got {self.spike_window!r}")
        for name in ("tear_tolerance_samples", "tear_min_s", "spike_threshold", "flat_min_s", "clip_merge_s",
                     "sample_rate_rtol", "offset_block_s", "offset_threshold", "clip_ratio", "clip_min_steps",
                     "flat_min_steps"):
            v = float(getattr(self, name))
            if not np.isfinite(v) or v < 0:
                raise DomainError(f"qc {name}: must be a finite number >= 0, got {v!r}")
        if self.edge_gap_min_s is not None and not float(self.edge_gap_min_s) >= 0:
            raise DomainError(f"qc edge_gap_min_s: must be >= 0 or None, got {self.edge_gap_min_s!r}")
        for name in ("spike_max_samples", "flat_min_samples", "clip_min_run", "clip_band_steps"):
            if int(getattr(self, name)) < 1:
                raise DomainError(f"qc {name}: must be >= 1")
        object.__setattr__(self, "mask", frozenset(QCKind(k).value for k in self.mask))
        if self.metrics is not None:
            unknown = [m for m in self.metrics if m not in METRICS]
            if unknown:
                raise DomainError(f"qc metrics: unknown {', '.join(unknown)} (known: {', '.join(METRICS)})")


@dataclass(slots=True)
class ChannelData:
    """The records of one stream inside the window ``[start, end]``.

    ``traces``: ObsPy traces sorted by start time, all at ``sampling_rate_hz``,
    their data as float64 arrays. ``rejected``: traces left out for another
    sample rate (reported by the sample-rate metric). ``expected_rate_hz``: the
    rate the inventory gives, if known.
    """

    stream_id: StreamID
    start: object  # UTCDateTime
    end: object  # UTCDateTime
    sampling_rate_hz: float
    traces: list = field(default_factory=list)
    rejected: list = field(default_factory=list)
    expected_rate_hz: float | None = None

    @property
    def delta_s(self) -> float:
        return 1.0 / self.sampling_rate_hz

    def record(self, kind: QCKind, t0, t1, value: float, detail: str = "") -> QCRecord:
        """A record on this stream, times clamped into the window."""
        t0 = min(max(t0, self.start), self.end)
        t1 = min(max(t1, t0), self.end)
        return QCRecord(self.stream_id, to_datetime(t0), to_datetime(t1), kind, float(value), detail)

    def sample_time(self, trace, index: int):
        return trace.stats.starttime + index * trace.stats.delta


def to_datetime(t) -> datetime:
    """An ObsPy UTCDateTime as an aware datetime (rounded to the microsecond)."""
    return as_utc(t.datetime)


@dataclass(frozen=True, slots=True)
class Discontinuity:
    """Between consecutive records ``a`` and ``b``: ``jump_s`` = start(b) - (end(a) + delta)."""

    index: int  # position of ``b`` in ChannelData.traces
    jump_s: float
    misfit_samples: float  # distance of the jump from a whole number of samples


def discontinuities(ch: ChannelData) -> list[Discontinuity]:
    """Timing discontinuities between consecutive records of a channel (every pair, even continuous)."""
    out = []
    dt = ch.delta_s
    for i in range(1, len(ch.traces)):
        a, b = ch.traces[i - 1], ch.traces[i]
        expected = a.stats.starttime + a.stats.npts * dt
        jump = float(b.stats.starttime - expected)
        frac = jump / dt
        out.append(Discontinuity(i, jump, abs(frac - round(frac))))
    return out


def runs(mask: np.ndarray) -> np.ndarray:
    """``(k, 2)`` array of [first, last] indices of the runs of True in a boolean array.

    Cost grows with the number of True values: pass the sparse side of a mask.
    """
    idx = np.flatnonzero(np.asarray(mask, dtype=bool))
    if idx.size == 0:
        return np.empty((0, 2), dtype=np.int64)
    brk = np.flatnonzero(np.diff(idx) > 1)
    starts = np.concatenate([idx[:1], idx[brk + 1]])
    ends = np.concatenate([idx[brk], idx[-1:]])
    return np.column_stack([starts, ends])


_QUANTUM_SAMPLE = 65_536


def quantum(x: np.ndarray) -> float:
    """The quantisation step of a record (its least significant bit, in the record's units).

    Integer-valued samples: the greatest common divisor of the differences between
    consecutive samples (1 count for a plain digitiser, larger for data stored
    with dropped low bits). Other samples: the smallest positive difference between
    distinct values among at most 65,536 samples. 0 when the record is constant.
    """
    x = np.asarray(x)
    finite = x[np.isfinite(x)] if np.issubdtype(x.dtype, np.floating) else x
    if finite.size < 2:
        return 0.0
    if np.issubdtype(finite.dtype, np.integer) or bool(np.all(finite == np.rint(finite))):
        # the whole record's gcd divides the gcd of any part: a part with gcd 1 settles it
        for part in (finite[:_QUANTUM_SAMPLE], finite):
            d = np.abs(np.diff(part.astype(np.int64)))
            d = d[d > 0]
            g = int(np.gcd.reduce(d)) if d.size else 0
            if g == 1:
                return 1.0
        return float(g)
    step = max(1, finite.size // _QUANTUM_SAMPLE)
    u = np.unique(finite[::step])
    d = np.diff(u)
    return float(d.min()) if d.size else 0.0


def range_steps(x: np.ndarray, q: float | None = None) -> float:
    """Peak-to-peak range of a record in quantisation steps (0 for a constant record)."""
    x = np.asarray(x)
    q = quantum(x) if q is None else q
    if not q > 0:
        return 0.0
    return float((np.nanmax(x) - np.nanmin(x)) / q)


class Metric(ABC):
    """A QC metric: looks at one channel, returns findings. Subclasses set ``name`` and ``kinds``."""

    name: ClassVar[str]
    kinds: ClassVar[tuple[QCKind, ...]]

    def __init__(self, config: QCConfig) -> None:
        self.config = config

    @abstractmethod
    def measure(self, ch: ChannelData) -> list[QCRecord]:
        """Findings on ``ch`` (records inside the window)."""


#: Registered metric classes by name, in registration (= run) order.
METRICS: dict[str, type[Metric]] = {}


def register_metric(cls: type[Metric]) -> type[Metric]:
    """Class decorator: add a metric to :data:`METRICS`."""
    if not getattr(cls, "name", None):
        raise TypeError(f"{cls.__name__}: a QC metric needs a name")
    METRICS[cls.name] = cls
    return cls


def make_metrics(config: QCConfig, names: Iterable[str] | None = None) -> list[Metric]:
    names = list(METRICS) if names is None else list(names)
    return [METRICS[n](config) for n in names]

"""Data faults on ObsPy traces: gaps, spikes, clipping, time tears, dead channels.

Each fault function takes a trace (not modified) and explicit parameters and
returns the new trace(s) plus an :class:`AppliedFault` saying exactly what it
did, so that QC tests can check what the QC stage finds against the truth.
:func:`apply_faults` draws faults at random (seeded ``numpy`` Generator) for a
whole stream following a :class:`FaultPlan`.

What each fault looks like in the data (the way real stations fail):

* gap: samples over a span are missing -> the trace is split in two; the
  second part starts at its true time.
* spike: single samples replaced by a large glitch value (telemetry bit errors).
* clipping: samples beyond +/-level are flat-topped at the level (a sensor or
  amplifier saturating below the digitiser's range).
* time tear: from a split point on, the record's start time jumps by
  ``shift_s`` (a timing error between records): positive -> an apparent gap,
  negative -> an overlap. The samples are untouched, only their time stamp.
* dead channel: the whole trace becomes a constant (0 or a DC offset).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from typing import Mapping

import numpy as np

from tianshan.core.errors import DomainError
from tianshan.core.ids import StreamID
from tianshan.core.timeutil import as_utc


class FaultKind(str, Enum):
    GAP = "gap"
    SPIKE = "spike"
    CLIPPING = "clipping"
    TIME_TEAR = "time_tear"
    DEAD = "dead"


@dataclass(frozen=True, slots=True)
class AppliedFault:
    """One fault applied to one stream.

    ``start``/``end`` are the affected span (for a spike the sample time; for
    a time tear the true time of the first shifted sample); ``details`` holds
    kind-specific numbers (``n_samples``, ``level_counts``, ``shift_s``,
    ``value``...).
    """

    kind: FaultKind
    stream_id: StreamID
    start: datetime
    end: datetime
    details: Mapping[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "kind", FaultKind(self.kind))
        object.__setattr__(self, "start", as_utc(self.start, "fault start"))
        object.__setattr__(self, "end", as_utc(self.end, "fault end"))
        object.__setattr__(self, "details", dict(self.details))


def _range(name: str, pair: tuple[float, float], lo: float = 0.0) -> tuple[float, float]:
    a, b = (float(x) for x in pair)
    if not (np.isfinite(a) and np.isfinite(b)) or a > b or a < lo:
        raise DomainError(f"fault plan {name}: expected a range (min <= max, >= {lo}), got {pair!r}")
    return a, b


@dataclass(frozen=True, slots=True)
class FaultPlan:
    """How often each fault kind happens, per channel, and its size ranges.

    Probabilities are per channel (trace) of the scenario; sizes are drawn
    uniformly from the ranges.
    """

    gap_probability: float = 0.05
    gap_duration_s: tuple[float, float] = (1.0, 30.0)
    spike_probability: float = 0.05
    spikes_per_trace: tuple[int, int] = (1, 5)
    spike_amplitude: tuple[float, float] = (20.0, 200.0)  # x the trace's robust std
    clip_probability: float = 0.03
    clip_fraction: tuple[float, float] = (0.2, 0.6)       # level / trace max |x|
    tear_probability: float = 0.03
    tear_shift_s: tuple[float, float] = (-2.0, 2.0)
    dead_probability: float = 0.02

    def __post_init__(self) -> None:
        for name in ("gap_probability", "spike_probability", "clip_probability", "tear_probability",
                     "dead_probability"):
            p = float(getattr(self, name))
            if not 0.0 <= p <= 1.0:
                raise DomainError(f"fault plan {name}: must be within [0, 1], got {p!r}")
        _range("gap_duration_s", self.gap_duration_s)
        _range("spikes_per_trace", self.spikes_per_trace, 1)
        _range("spike_amplitude", self.spike_amplitude)
        _range("clip_fraction", self.clip_fraction)
        _range("tear_shift_s", self.tear_shift_s, -np.inf)
        if self.clip_fraction[1] > 1.0:
            raise DomainError("fault plan clip_fraction: must be <= 1")

    @classmethod
    def none(cls) -> "FaultPlan":
        return cls(0.0, spike_probability=0.0, clip_probability=0.0, tear_probability=0.0,
                   dead_probability=0.0)


def _sid(tr) -> StreamID:
    s = tr.stats
    return StreamID(s.network, s.station, s.location, s.channel)


def _t(tr, index: float) -> datetime:
    return (tr.stats.starttime + index * tr.stats.delta).datetime


def add_gap(trace, start_s: float, duration_s: float):
    """Remove samples from ``start_s`` (after the trace start) for ``duration_s``.

    Returns ``(traces, fault)``: the one or two remaining pieces.
    """
    fs = trace.stats.sampling_rate
    n = trace.stats.npts
    i0 = int(round(start_s * fs))
    i1 = i0 + max(1, int(round(duration_s * fs)))
    if not 0 <= i0 < n:
        raise DomainError(f"gap: start {start_s} s is outside the trace {_sid(trace)}")
    i1 = min(i1, n)
    pieces = []
    if i0 > 0:
        a = trace.copy()
        a.data = trace.data[:i0].copy()
        pieces.append(a)
    if i1 < n:
        b = trace.copy()
        b.data = trace.data[i1:].copy()
        b.stats.starttime = trace.stats.starttime + i1 * trace.stats.delta
        pieces.append(b)
    fault = AppliedFault(FaultKind.GAP, _sid(trace), _t(trace, i0), _t(trace, i1),
                         {"n_samples": float(i1 - i0), "duration_s": (i1 - i0) / fs})
    return pieces, fault


def add_spikes(trace, indices, values):
    """Replace samples at ``indices`` by ``values`` (single-sample glitches)."""
    tr = trace.copy()
    idx = np.asarray(indices, dtype=int)
    vals = np.asarray(values, dtype=float)
    if idx.size and (idx.min() < 0 or idx.max() >= tr.stats.npts):
        raise DomainError(f"spikes: index outside the trace {_sid(trace)}")
    if np.issubdtype(tr.data.dtype, np.integer):
        info = np.iinfo(tr.data.dtype)
        vals = np.clip(np.rint(vals), info.min, info.max)
    tr.data[idx] = vals.astype(tr.data.dtype)
    faults = [AppliedFault(FaultKind.SPIKE, _sid(trace), _t(trace, i), _t(trace, i),
                           {"index": float(i), "value": float(v), "n_samples": 1.0})
              for i, v in zip(idx, tr.data[idx])]
    return tr, faults


def clip_trace(trace, level: float):
    """Flat-top the trace at +/-``level`` (in the trace's units) around zero."""
    level = abs(float(level))
    tr = trace.copy()
    over = np.abs(tr.data) > level
    lv = np.asarray(np.rint(level) if np.issubdtype(tr.data.dtype, np.integer) else level,
                    dtype=tr.data.dtype)
    np.clip(tr.data, -lv, lv, out=tr.data)
    idx = np.flatnonzero(over)
    first, last = (int(idx[0]), int(idx[-1])) if idx.size else (0, 0)
    fault = AppliedFault(FaultKind.CLIPPING, _sid(trace), _t(trace, first), _t(trace, last),
                         {"level": float(lv), "n_samples": float(idx.size)})
    return tr, fault


def add_time_tear(trace, at_s: float, shift_s: float):
    """Split at ``at_s`` and shift the second part's start time by ``shift_s``.

    Returns ``(traces, fault)``; the samples are unchanged.
    """
    fs = trace.stats.sampling_rate
    i = int(round(at_s * fs))
    if not 0 < i < trace.stats.npts:
        raise DomainError(f"time tear: split {at_s} s is outside the trace {_sid(trace)}")
    a = trace.copy()
    a.data = trace.data[:i].copy()
    b = trace.copy()
    b.data = trace.data[i:].copy()
    b.stats.starttime = trace.stats.starttime + i * trace.stats.delta + float(shift_s)
    fault = AppliedFault(FaultKind.TIME_TEAR, _sid(trace), _t(trace, i), _t(trace, trace.stats.npts - 1),
                         {"shift_s": float(shift_s), "index": float(i)})
    return [a, b], fault


def kill_trace(trace, value: float = 0.0):
    """A dead channel: every sample ``value`` (0 = flat zero, else a DC offset)."""
    tr = trace.copy()
    tr.data[:] = np.asarray(value).astype(tr.data.dtype)
    fault = AppliedFault(FaultKind.DEAD, _sid(trace), _t(trace, 0), _t(trace, trace.stats.npts - 1),
                         {"value": float(tr.data[0]) if tr.stats.npts else float(value)})
    return tr, fault


def _robust_std(x: np.ndarray) -> float:
    x = np.asarray(x, dtype=float)
    mad = np.median(np.abs(x - np.median(x)))
    return float(1.4826 * mad) or float(np.std(x)) or 1.0


def apply_faults(stream, plan: FaultPlan, rng: np.random.Generator):
    """Apply faults drawn from ``plan`` to every trace of ``stream`` (not modified).

    Order per trace: dead channel (then nothing else), clipping, spikes, then
    either a gap or a time tear (one split per trace at most, so that the
    record stays readable). Returns ``(new_stream, [AppliedFault...])``;
    traces without a fault are the input's Trace objects (not copied).
    """
    from obspy import Stream

    out = Stream()
    applied: list[AppliedFault] = []
    for trace in stream:
        n = trace.stats.npts
        fs = trace.stats.sampling_rate
        draws = rng.random(5)
        if n < 10:
            out.append(trace)
            continue
        if draws[0] < plan.dead_probability:
            value = 0.0 if rng.random() < 0.5 else float(np.median(trace.data))
            tr, f = kill_trace(trace, value)
            out.append(tr)
            applied.append(f)
            continue
        tr = trace
        if draws[1] < plan.clip_probability:
            peak = float(np.max(np.abs(tr.data)))
            level = peak * rng.uniform(*plan.clip_fraction)
            tr, f = clip_trace(tr, level)
            applied.append(f)
        if draws[2] < plan.spike_probability:
            lo, hi = int(plan.spikes_per_trace[0]), int(plan.spikes_per_trace[1])
            k = int(rng.integers(lo, hi + 1))
            idx = np.sort(rng.choice(n, size=min(k, n), replace=False))
            sd = _robust_std(tr.data)
            vals = (np.median(tr.data) + rng.choice([-1.0, 1.0], size=idx.size)
                    * rng.uniform(*plan.spike_amplitude, size=idx.size) * sd)
            tr, fs_ = add_spikes(tr, idx, vals)
            applied.extend(fs_)
        pieces = [tr]
        duration = (n - 1) / fs
        if draws[3] < plan.gap_probability:
            gap = rng.uniform(*plan.gap_duration_s)
            start = rng.uniform(0.1 * duration, max(0.1 * duration, 0.9 * duration - gap))
            pieces, f = add_gap(tr, start, gap)
            applied.append(f)
        elif draws[4] < plan.tear_probability:
            shift = rng.uniform(*plan.tear_shift_s)
            at = rng.uniform(0.1 * duration, 0.9 * duration)
            pieces, f = add_time_tear(tr, at, shift)
            applied.append(f)
        out.extend(pieces)  # an untouched trace is shared with the input, not copied
    return out, applied

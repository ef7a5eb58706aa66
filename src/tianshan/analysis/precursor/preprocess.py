"""Pre-processing of precursor series: gaps, steps, spikes, calibration jumps (logged, reversible).

Every change is a :class:`Correction` in a :class:`CorrectionLog`. A correction is
either an **offset** (``values[index:end] -= offset``: steps, calibration jumps, the
level shift left by a spike) or a **replacement** (``values[index:index+k]`` set from
``original`` to ``replacement``: filled gaps, interpolated spikes). Applying a log in
order and :func:`revert` in reverse order restore the input exactly (up to float
rounding of the offsets), so no correction is ever silent or irreversible.

Detection (the rules of the China precursor network's routine processing, as coded in
EQSuite-EVA's ``EraStep``/``EraDoubleS``, Liu Qi 2017-2022)
    The first differences ``d`` of the series are screened against robust statistics:
    the largest ``trim`` fraction (5 %) of ``d`` is set aside, the mean ``m`` and
    standard deviation ``s`` of the rest are taken, and ``|d - m| > k s`` (``k = 3``)
    marks an outlying difference (:func:`difference_outliers`).

    * an **isolated** outlying difference (no outlying neighbour) is a **step**; its
      difference is replaced by zero (:func:`remove_steps`). ``allowed`` restricts which
      steps are removed (the network resets instruments at the start of a month, so
      EQSuite-EVA only removes steps there; see :func:`month_start_mask`);
    * two **consecutive** outlying differences of **opposite sign** are a **spike**
      (:func:`remove_spikes`): ``mode="zero"`` sets both differences to zero (EQSuite-EVA:
      the spike sample takes its predecessor's value and the level change across the
      spike is removed as well), ``mode="interpolate"`` replaces the spike sample by the
      mean of its neighbours and changes nothing else;
    * a single outlying difference, when it is the only one, is replaced by the mean of
      its neighbours (EQSuite-EVA's ``EraDoubleS`` rule).

    Gaps (NaN) are bridged before differencing (:func:`fill_gaps`, nearest sample by
    default, as ``interp1(..., 'nearest')``) and the jump across each gap is zeroed as a
    step (``gap_steps=True``): a level change hidden in a gap cannot be told from an
    instrument reset.

    **Calibration jumps** happen at known times (the station's calibration log): the
    offset is the difference of the medians of ``window`` samples after and before
    (:func:`remove_calibration_jumps`).

Earth tides (harmonic analysis) and barometric/rainfall responses (regression
deconvolution) are in :mod:`.environment`; :func:`fit_tides`, :func:`remove_tides` and
:func:`regression_deconvolution` are importable from here too.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np

from tianshan.analysis.precursor.environment import (fit_tides, regression_deconvolution,  # noqa: F401
                                                     remove_tides)
from tianshan.core.errors import InputError

KINDS = ("gap_fill", "step", "spike", "calibration", "refill")


@dataclass(frozen=True, slots=True)
class Correction:
    """One logged change of a series (see the module docstring).

    ``index`` is the first sample changed; an offset applies to ``index`` up to ``end``
    (exclusive); a replacement covers ``len(original)`` samples from ``index``.
    """

    kind: str
    index: int
    end: int = 0
    offset: float = 0.0
    original: tuple[float, ...] = ()
    replacement: tuple[float, ...] = ()
    detail: str = ""

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise InputError(f"unknown correction kind {self.kind!r} (known: {KINDS})", field="kind")
        if len(self.original) != len(self.replacement):
            raise InputError("a replacement needs as many original as new values", field="replacement")

    def apply(self, values: np.ndarray) -> None:
        """Apply in place."""
        if self.replacement:
            values[self.index:self.index + len(self.replacement)] = self.replacement
        if self.offset:
            values[self.index:self.end] -= self.offset

    def undo(self, values: np.ndarray) -> None:
        """Undo in place (the inverse of :meth:`apply`)."""
        if self.offset:
            values[self.index:self.end] += self.offset
        if self.original:
            values[self.index:self.index + len(self.original)] = self.original

    def as_dict(self) -> dict:
        out = {"kind": self.kind, "index": self.index}
        if self.offset:
            out.update(end=self.end, offset=self.offset)
        if self.replacement:
            out["samples"] = len(self.replacement)
        if self.detail:
            out["detail"] = self.detail
        return out


@dataclass(frozen=True)
class CorrectionLog:
    """The corrections made to one series, in the order they were applied."""

    corrections: tuple[Correction, ...] = ()

    def __len__(self) -> int:
        return len(self.corrections)

    def __iter__(self):
        return iter(self.corrections)

    def __add__(self, other: CorrectionLog) -> CorrectionLog:
        return CorrectionLog(self.corrections + tuple(other.corrections))

    def counts(self) -> dict[str, int]:
        """Number of corrections of each kind."""
        return dict(Counter(c.kind for c in self.corrections))

    def apply(self, values) -> np.ndarray:
        """A corrected copy of ``values``."""
        out = np.array(values, dtype=np.float64)
        for c in self.corrections:
            c.apply(out)
        return out

    def revert(self, values) -> np.ndarray:
        """The original of corrected ``values`` (corrections undone in reverse order)."""
        out = np.array(values, dtype=np.float64)
        for c in reversed(self.corrections):
            c.undo(out)
        return out

    def as_dict(self, max_listed: int = 50) -> dict:
        return {"counts": self.counts(), "first": [c.as_dict() for c in self.corrections[:max_listed]]}


def revert(values, log: CorrectionLog) -> np.ndarray:
    """Undo ``log`` on corrected ``values`` (see :meth:`CorrectionLog.revert`)."""
    return log.revert(values)


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    m = np.r_[False, mask, False].astype(np.int8)
    d = np.diff(m)
    return list(zip(np.flatnonzero(d == 1).tolist(), np.flatnonzero(d == -1).tolist()))


def fill_gaps(values, method: str = "nearest", kind: str = "gap_fill") -> tuple[np.ndarray, CorrectionLog]:
    """Fill NaN samples; one replacement :class:`Correction` per run of missing samples.

    ``method``: ``"nearest"`` (the closer valid neighbour; at equal distance the later
    one, as MATLAB's ``interp1(..., 'nearest')``; beyond the ends the end value) or
    ``"linear"`` (linear between the neighbours, end values held)."""
    x = np.array(values, dtype=np.float64)
    bad = np.isnan(x)
    if not bad.any():
        return x, CorrectionLog()
    good = np.flatnonzero(~bad)
    if good.size == 0:
        raise InputError("every sample is missing, nothing to fill from")
    idx = np.flatnonzero(bad)
    if method == "nearest":
        pos = np.searchsorted(good, idx)
        left = good[np.clip(pos - 1, 0, good.size - 1)]
        right = good[np.clip(pos, 0, good.size - 1)]
        take_right = np.abs(right - idx) <= np.abs(idx - left)
        src = np.where(take_right, right, left)
        fill = x[src]
    elif method == "linear":
        fill = np.interp(idx, good, x[good])
    else:
        raise InputError(f"unknown gap-filling method {method!r} (nearest, linear)", field="method")
    new = x.copy()
    new[idx] = fill
    corr = [Correction(kind, s, original=tuple([math.nan] * (e - s)), replacement=tuple(new[s:e].tolist()),
                       detail=f"{e - s} missing samples, {method}")
            for s, e in _runs(bad)]
    return new, CorrectionLog(tuple(corr))


def difference_outliers(values, k: float = 3.0, trim: float = 0.05) -> tuple[np.ndarray, np.ndarray]:
    """Indices ``i`` of outlying first differences ``d[i] = x[i+1] - x[i]``, and ``d``.

    Robust screening of EQSuite-EVA (module docstring): drop the ``ceil(trim * n)``
    largest differences, take mean and standard deviation (``n - 1``) of the rest, flag
    ``|d - mean| > k * std``. ``values`` must not contain NaN (fill gaps first)."""
    x = np.asarray(values, dtype=np.float64)
    if np.isnan(x).any():
        raise InputError("fill the gaps before screening differences (NaN in the series)")
    d = np.diff(x)
    if d.size < 3:
        return np.zeros(0, dtype=int), d
    rest = np.sort(d)[::-1][int(math.ceil(d.size * trim)):]
    m = rest.mean()
    s = rest.std(ddof=1) if rest.size > 1 else 0.0
    # Floor at rounding level: a noiseless ramp must not flag its own rounding errors.
    s = max(s, 1e-9 * float(np.max(np.abs(d)) + abs(m)))
    return np.flatnonzero(np.abs(d - m) > k * s), d


def _isolated(outliers: np.ndarray) -> np.ndarray:
    """Outlying differences with no outlying neighbour (EQSuite-EVA's step rule)."""
    if outliers.size == 0:
        return outliers
    if outliers.size == 1:
        return outliers
    prev_gap = np.r_[2, np.diff(outliers)]
    next_gap = np.r_[np.diff(outliers), 2]
    return outliers[(prev_gap != 1) & (next_gap != 1)]


def zero_differences(values, diff_indices, kind: str = "step", detail: str = "") -> tuple[np.ndarray, CorrectionLog]:
    """Set the differences ``d[i]`` (``i`` in ``diff_indices``) to zero: each becomes an
    offset correction of ``d[i]`` applied from sample ``i + 1`` to the end."""
    x = np.array(values, dtype=np.float64)
    n = x.size
    d = np.diff(x)
    corr = []
    for i in sorted(set(int(i) for i in diff_indices)):
        if 0 <= i < d.size and d[i] != 0.0 and math.isfinite(d[i]):
            corr.append(Correction(kind, i + 1, n, offset=float(d[i]), detail=detail))
    log = CorrectionLog(tuple(corr))
    return log.apply(x), log


def month_start_mask(local_times: list[datetime]) -> np.ndarray:
    """Mask over differences: True where the later sample is the first of a month at 00:00
    local time (where the network resets instruments; EQSuite-EVA's ``lx = 3`` rule)."""
    flags = [t.day == 1 and t.hour == 0 and t.minute == 0 and t.second == 0 for t in local_times[1:]]
    return np.asarray(flags, dtype=bool)


def remove_steps(values, k: float = 3.0, trim: float = 0.05, allowed: np.ndarray | None = None,
                 gap_mask: np.ndarray | None = None) -> tuple[np.ndarray, CorrectionLog]:
    """Remove steps: isolated outlying differences (where ``allowed``, a mask over the
    differences, is True) and, when ``gap_mask`` (True at filled gap samples) is given,
    the differences into every gap sample. ``values`` must be gap-free."""
    x = np.asarray(values, dtype=np.float64)
    out, d = difference_outliers(x, k, trim)
    steps = _isolated(out)
    if allowed is not None:
        allowed = np.asarray(allowed, dtype=bool)
        if allowed.size != d.size:
            raise InputError(f"allowed mask has {allowed.size} entries for {d.size} differences")
        steps = steps[allowed[steps]]
    x1, log = zero_differences(x, steps, "step", "isolated outlying difference")
    if gap_mask is not None:
        gi = np.flatnonzero(np.asarray(gap_mask, dtype=bool)) - 1
        gi = gi[gi >= 0]
        # Only differences not already zeroed above.
        gi = np.setdiff1d(gi, steps)
        x1, log2 = zero_differences(x1, gi, "step", "level change across a gap")
        log = log + log2
    return x1, log


def remove_spikes(values, k: float = 3.0, trim: float = 0.05, mode: str = "zero"
                  ) -> tuple[np.ndarray, CorrectionLog]:
    """Remove spikes: consecutive outlying differences of opposite sign (module docstring).

    ``mode="zero"`` is EQSuite-EVA's rule (both differences set to zero; a lone outlying
    difference, when it is the only one, replaced by the mean of its neighbours);
    ``mode="interpolate"`` replaces each spike sample by the mean of its neighbours."""
    x = np.asarray(values, dtype=np.float64)
    out, d = difference_outliers(x, k, trim)
    if out.size == 0:
        return x.copy(), CorrectionLog()
    if out.size == 1 and mode == "zero":
        i = int(out[0])
        if i == 0 or i == d.size - 1:
            target = 0.0
        else:
            target = 0.5 * (d[i - 1] + d[i + 1])
        y = x.copy()
        c = Correction("spike", i + 1, x.size, offset=float(d[i] - target), detail="lone outlying difference")
        c.apply(y)
        return y, CorrectionLog((c,))
    a, b = out[:-1], out[1:]
    pairs = a[(a + 1 == b) & (d[a] * d[b] < 0)]
    if mode == "zero":
        idx = np.union1d(pairs, pairs + 1)
        return zero_differences(x, idx, "spike", "opposite-sign outlying differences")
    if mode != "interpolate":
        raise InputError(f"unknown spike mode {mode!r} (zero, interpolate)", field="mode")
    y = x.copy()
    corr = []
    for i in pairs:
        j = int(i) + 1  # the spike sample
        new = 0.5 * (y[j - 1] + y[j + 1])
        corr.append(Correction("spike", j, original=(float(y[j]),), replacement=(float(new),),
                               detail="opposite-sign outlying differences"))
        y[j] = new
    return y, CorrectionLog(tuple(corr))


def remove_calibration_jumps(values, indices, window: int = 24) -> tuple[np.ndarray, CorrectionLog]:
    """Remove the jumps at known calibration samples ``indices`` (first sample after the
    calibration): offset = median of the ``window`` valid samples from the index minus
    the median of the ``window`` valid samples before it; applied to the end."""
    x = np.array(values, dtype=np.float64)
    corr = []
    for i in sorted(int(i) for i in indices):
        if not 0 < i < x.size:
            raise InputError(f"calibration index {i} is outside the series (1..{x.size - 1})")
        before = x[max(0, i - window):i]
        after = x[i:i + window]
        before, after = before[~np.isnan(before)], after[~np.isnan(after)]
        if before.size == 0 or after.size == 0:
            continue
        off = float(np.median(after) - np.median(before))
        if off:
            c = Correction("calibration", i, x.size, offset=off, detail=f"median jump over {window} samples")
            c.apply(x)
            corr.append(c)
    return x, CorrectionLog(tuple(corr))


@dataclass(frozen=True)
class CleanResult:
    """Output of :func:`clean`: corrected values, the log, and the originally missing samples."""

    values: np.ndarray
    log: CorrectionLog
    missing: np.ndarray = field(repr=False)


def clean(values, local_times: list[datetime] | None = None, k: float = 3.0, trim: float = 0.05,
          steps_at_month_start_only: bool = True, spike_mode: str = "zero", fill: str = "nearest") -> CleanResult:
    """The network's routine clean-up (EQSuite-EVA ``Data_Prep_lq``): bridge gaps, remove
    steps (at gaps, and isolated ones at month starts when ``local_times`` is given and
    ``steps_at_month_start_only``; everywhere otherwise), remove spikes, then re-fill the
    originally missing samples from the corrected neighbours (``refill`` entries)."""
    x = np.asarray(values, dtype=np.float64)
    missing = np.isnan(x)
    x1, log = fill_gaps(x, fill)
    allowed = None
    if steps_at_month_start_only:
        if local_times is None:
            raise InputError("steps_at_month_start_only needs the local times of the samples")
        allowed = month_start_mask(local_times)
    x2, log_steps = remove_steps(x1, k, trim, allowed=allowed, gap_mask=missing)
    x3, log_spikes = remove_spikes(x2, k, trim, mode=spike_mode)
    log = log + log_steps + log_spikes
    if missing.any():
        tmp = x3.copy()
        tmp[missing] = np.nan
        x4, log_refill = fill_gaps(tmp, fill, kind="refill")
        # The refill replaces already-filled values: record what they were.
        log_refill = CorrectionLog(tuple(
            Correction("refill", c.index, original=tuple(x3[c.index:c.index + len(c.replacement)].tolist()),
                       replacement=c.replacement, detail=c.detail) for c in log_refill))
        log = log + log_refill
    else:
        x4 = x3
    return CleanResult(values=x4, log=log, missing=missing)


def step_times(series_start_local: datetime, step_s: int, log: CorrectionLog) -> list[tuple[datetime, float]]:
    """Local times and sizes of the offset corrections of ``log`` (for reports)."""
    return [(series_start_local + timedelta(seconds=c.index * step_s), c.offset)
            for c in log if c.offset]

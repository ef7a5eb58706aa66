"""Generic anomaly detectors: robust exceedances, change points (trend changes), threshold runs.

Every detector returns a list of :class:`Anomaly` (start, end, peak, amplitude, kind),
so the outputs of different methods can be merged into one anomaly list
(:func:`anomaly_list`).

Robust exceedances (:func:`exceedances`)
    The residual ``r = x - baseline`` (baseline: none, a given series such as a fitted
    annual model, or a centred running median of ``window`` samples) is compared with
    its median ``c`` and robust standard deviation ``s = 1.4826 MAD`` (median absolute
    deviation; Rousseeuw & Croux 1993, JASA 88, 1273-1283; the factor makes ``s`` the
    standard deviation for Gaussian noise). Samples with ``r - c > k s`` are ``high``,
    ``r - c < -k s`` ``low`` (``k = 3``: mean +- k sigma, robust to the anomalies
    themselves). Runs of flagged samples closer than ``merge_gap`` samples are merged and
    runs shorter than ``min_samples`` dropped; the amplitude is the residual at the peak.

Change points (:func:`change_points`, :func:`trend_changes`)
    PELT (Killick, Fearnhead & Eckley 2012, *Optimal detection of changepoints with a
    linear computational cost*, JASA 107, 1590-1598) minimises
    ``sum_segments C(segment) + beta (number of segments)`` exactly, pruning candidates
    that can never be optimal. ``C`` is the residual sum of squares divided by the noise
    variance ``sigma^2`` for a constant (``model="mean"``) or a straight line
    (``model="linear"``: trend changes, the 趋势转折 of the forecasters) in each segment;
    sums of ``t, t^2, y, t y, y^2`` give each cost in O(1). Defaults: ``sigma`` from the
    first differences (``1.4826 MAD(diff x) / sqrt 2``, white noise), ``beta = (p + 1)
    ln n`` (BIC; ``p`` = 1 or 2 parameters per segment). Serially correlated series
    (daily geophysical data usually are) need a larger ``penalty`` or ``sigma``: the
    white-noise default then finds too many changes.

Threshold runs (:func:`threshold_runs`)
    Runs of days with ``index < low`` or ``index > high`` -- the alarms of the efficacy
    evaluation (:mod:`tianshan.analysis.efficacy.alarms`) as anomalies.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from tianshan.core.errors import InputError

#: Gaussian consistency factor of the median absolute deviation.
MAD_TO_SIGMA = 1.482602218505602


@dataclass(frozen=True, slots=True)
class Anomaly:
    """One anomaly: samples ``start_index..end_index`` (inclusive) of a series.

    ``kind``: ``high``/``low`` (exceedance), ``above``/``below`` (threshold run),
    ``trend_change`` or ``level_change`` (change point; start = end = first sample of the
    new segment). ``amplitude`` is in the unit of the series (peak residual, or the jump
    of the fitted lines at a change point); ``score`` is dimensionless (peak residual in
    robust sigmas, or the change of slope in noise sigmas per sample). ``start``/``end``
    are the times of the samples when times were given.
    """

    kind: str
    start_index: int
    end_index: int
    peak_index: int
    amplitude: float
    score: float
    start: object = None
    end: object = None
    detail: str = ""

    @property
    def n_samples(self) -> int:
        return self.end_index - self.start_index + 1

    def as_dict(self) -> dict:
        def iso(t):
            return None if t is None else t.isoformat()

        return {"kind": self.kind, "start_index": self.start_index, "end_index": self.end_index,
                "peak_index": self.peak_index, "start": iso(self.start), "end": iso(self.end),
                "samples": self.n_samples, "amplitude": self.amplitude, "score": self.score,
                "detail": self.detail}


def robust_sigma(x) -> float:
    """``1.4826 * median(|x - median(x)|)`` over the finite values."""
    x = np.asarray(x, dtype=float)
    x = x[np.isfinite(x)]
    if x.size == 0:
        return math.nan
    return float(MAD_TO_SIGMA * np.median(np.abs(x - np.median(x))))


def running_median(x, window: int) -> np.ndarray:
    """Centred running median over ``window`` samples (odd), NaN ignored, shrinking at the ends."""
    x = np.asarray(x, dtype=float)
    if window < 1:
        raise InputError(f"window must be at least 1 sample, got {window}")
    half = window // 2
    padded = np.concatenate([np.full(half, np.nan), x, np.full(half, np.nan)])
    view = np.lib.stride_tricks.sliding_window_view(padded, 2 * half + 1)
    with np.errstate(all="ignore"):
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            return np.nanmedian(view, axis=1)


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    m = np.r_[False, mask, False].astype(np.int8)
    d = np.diff(m)
    return list(zip(np.flatnonzero(d == 1).tolist(), (np.flatnonzero(d == -1) - 1).tolist()))


def _merge(runs: list[tuple[int, int]], gap: int) -> list[tuple[int, int]]:
    out: list[list[int]] = []
    for s, e in runs:
        if out and s - out[-1][1] - 1 <= gap:
            out[-1][1] = e
        else:
            out.append([s, e])
    return [(a, b) for a, b in out]


def _time(times, i):
    return None if times is None else times[i]


def exceedances(values, k: float = 3.0, *, baseline=None, window: int | None = None, times=None,
                min_samples: int = 1, merge_gap: int = 0) -> list[Anomaly]:
    """Robust mean +- k sigma exceedances of the residuals (module docstring).

    ``baseline``: an array subtracted first; ``window``: a running-median baseline of that
    many samples (instead). NaN samples are never flagged."""
    x = np.asarray(values, dtype=float)
    if baseline is not None and window is not None:
        raise InputError("give a baseline series or a running-median window, not both")
    if baseline is not None:
        b = np.asarray(baseline, dtype=float)
        if b.shape != x.shape:
            raise InputError(f"baseline has {b.size} samples, the series {x.size}")
        r = x - b
    elif window is not None:
        r = x - running_median(x, window)
    else:
        r = x.copy()
    centre = float(np.nanmedian(r)) if np.isfinite(r).any() else math.nan
    s = robust_sigma(r)
    if not math.isfinite(s) or s == 0:
        return []
    z = (r - centre) / s
    out: list[Anomaly] = []
    for kind, mask in (("high", z > k), ("low", z < -k)):
        mask = np.where(np.isfinite(z), mask, False)
        for a, e in _merge(_runs(mask), merge_gap):
            if e - a + 1 < min_samples:
                continue
            seg = np.abs(z[a:e + 1])
            seg = np.where(np.isfinite(seg), seg, -np.inf)
            p = a + int(np.argmax(seg))
            out.append(Anomaly(kind, a, e, p, float(r[p] - centre), float(z[p]), _time(times, a),
                               _time(times, e), f"|residual| > {k:g} robust sigma ({s:.4g})"))
    out.sort(key=lambda an: an.start_index)
    return out


class _Sums:
    """Prefix sums for O(1) segment costs."""

    def __init__(self, y: np.ndarray) -> None:
        t = np.arange(y.size, dtype=float)
        t = t - t.mean()
        z = np.zeros(1)
        self.n = np.arange(y.size + 1, dtype=float)
        self.t = np.r_[z, np.cumsum(t)]
        self.tt = np.r_[z, np.cumsum(t * t)]
        self.y = np.r_[z, np.cumsum(y)]
        self.ty = np.r_[z, np.cumsum(t * y)]
        self.yy = np.r_[z, np.cumsum(y * y)]

    def cost(self, s: np.ndarray, e: int, model: str) -> np.ndarray:
        n = e - s
        sy = self.y[e] - self.y[s]
        syy = self.yy[e] - self.yy[s]
        if model == "mean":
            sse = syy - sy * sy / n
        else:
            st = self.t[e] - self.t[s]
            stt = self.tt[e] - self.tt[s]
            sty = self.ty[e] - self.ty[s]
            d = n * stt - st * st
            with np.errstate(invalid="ignore", divide="ignore"):
                b = np.where(d > 0, (n * sty - st * sy) / d, 0.0)
            a = (sy - b * st) / n
            sse = syy - a * sy - b * sty
        return np.maximum(sse, 0.0)

    def line(self, s: int, e: int) -> tuple[float, float]:
        """Intercept (at centred time 0) and slope of the LS line on [s, e)."""
        n = e - s
        st, stt = self.t[e] - self.t[s], self.tt[e] - self.tt[s]
        sy, sty = self.y[e] - self.y[s], self.ty[e] - self.ty[s]
        d = n * stt - st * st
        b = (n * sty - st * sy) / d if d > 0 else 0.0
        return (sy - b * st) / n, b


def change_points(values, *, model: str = "linear", penalty: float | None = None, sigma: float | None = None,
                  min_size: int | None = None) -> list[int]:
    """Optimal change points by PELT (module docstring): indices of the first sample of each
    new segment. ``values`` must be gap-free."""
    y = np.asarray(values, dtype=float)
    if model not in ("mean", "linear"):
        raise InputError(f"unknown change-point model {model!r} (mean, linear)")
    if not np.isfinite(y).all():
        raise InputError("change-point detection needs a gap-free series (fill NaN first)")
    n = y.size
    if min_size is None:
        min_size = 2 if model == "mean" else 3
    if min_size < (1 if model == "mean" else 3):
        raise InputError(f"min_size {min_size} is too small for the {model} model")
    if n < 2 * min_size:
        return []
    if sigma is None:
        sigma = robust_sigma(np.diff(y)) / math.sqrt(2.0)
        if not sigma > 0:
            sigma = float(np.std(y)) or 1.0
    if penalty is None:
        penalty = (2.0 if model == "mean" else 3.0) * math.log(n)
    sums = _Sums(y / sigma)
    F = np.full(n + 1, np.inf)
    F[0] = -penalty
    last = np.zeros(n + 1, dtype=np.int64)
    cand = np.array([0], dtype=np.int64)
    for t in range(min_size, n + 1):
        elig = cand[t - cand >= min_size]
        if elig.size:
            tot = F[elig] + sums.cost(elig, t, model) + penalty
            j = int(np.argmin(tot))
            F[t] = tot[j]
            last[t] = elig[j]
            keep = (t - cand < min_size) | np.isin(cand, elig[tot - penalty <= F[t]])
            cand = cand[keep]
        if np.isfinite(F[t]) and t <= n - min_size:
            cand = np.r_[cand, t]
    cps = []
    t = n
    while t > 0:
        s = int(last[t])
        if s > 0:
            cps.append(s)
        t = s
    return sorted(cps)


def trend_changes(values, *, times=None, model: str = "linear", penalty: float | None = None,
                  sigma: float | None = None, min_size: int | None = None) -> list[Anomaly]:
    """Change points as anomalies, with the slope change and the jump of the fitted lines.

    NaN samples are bridged linearly for the detection (they carry no information)."""
    y = np.asarray(values, dtype=float)
    ok = np.isfinite(y)
    if not ok.any():
        return []
    if not ok.all():
        idx = np.arange(y.size)
        y = np.interp(idx, idx[ok], y[ok])
    if sigma is None:
        sigma = robust_sigma(np.diff(y)) / math.sqrt(2.0)
        sigma = sigma if sigma > 0 else (float(np.std(y)) or 1.0)
    cps = change_points(y, model=model, penalty=penalty, sigma=sigma, min_size=min_size)
    bounds = [0] + cps + [y.size]
    sums = _Sums(y)
    tc = np.arange(y.size, dtype=float) - (y.size - 1) / 2.0
    out = []
    for k, cp in enumerate(cps):
        s0, s1, s2 = bounds[k], cp, bounds[k + 2]
        if model == "mean":
            m0 = float(np.mean(y[s0:s1]))
            m1 = float(np.mean(y[s1:s2]))
            jump, dslope = m1 - m0, 0.0
            kind = "level_change"
        else:
            a0, b0 = sums.line(s0, s1)
            a1, b1 = sums.line(s1, s2)
            jump = float((a1 + b1 * tc[cp]) - (a0 + b0 * tc[cp]))
            dslope = float(b1 - b0)
            kind = "trend_change"
        score = abs(dslope) / sigma if model == "linear" else abs(jump) / sigma
        out.append(Anomaly(kind, cp, cp, cp, jump, float(score), _time(times, cp), _time(times, cp),
                           f"slope change {dslope:.4g} per sample" if model == "linear" else "mean shift"))
    return out


def threshold_runs(index, low: float, high: float, *, times=None, merge_gap: int = 0) -> list[Anomaly]:
    """Runs of ``index < low`` (``below``) and ``index > high`` (``above``) as anomalies."""
    x = np.asarray(index, dtype=float)
    if not low < high:
        raise InputError(f"the low threshold {low} must be below the high one {high}")
    out = []
    with np.errstate(invalid="ignore"):
        masks = (("above", x > high, high), ("below", x < low, low))
    for kind, mask, thr in masks:
        for a, e in _merge(_runs(mask), merge_gap):
            seg = x[a:e + 1] - thr
            seg = np.where(np.isfinite(seg), seg, 0.0)
            p = a + int(np.argmax(np.abs(seg)))
            out.append(Anomaly(kind, a, e, p, float(x[p] - thr), float(abs(x[p] - thr)), _time(times, a),
                               _time(times, e), f"index {'>' if kind == 'above' else '<'} {thr:.5g}"))
    out.sort(key=lambda an: an.start_index)
    return out


def anomaly_list(*groups) -> list[Anomaly]:
    """Merge anomaly lists into one, ordered by start (then kind)."""
    merged = [a for g in groups for a in g]
    merged.sort(key=lambda an: (an.start_index, an.kind))
    return merged

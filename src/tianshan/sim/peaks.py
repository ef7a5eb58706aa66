"""Peak ground motion of simulated records: RotD50 PGA and PGV.

RotD50 (Boore 2010, BSSA 100(4), 1830-1835): rotate the two horizontal
components through the non-redundant angles 0-179 degrees (1 degree steps),
take the peak absolute value of each rotated series, and return the median
(50th percentile) of those peaks. This is the horizontal-component measure
of NGA-West2 GMPEs such as BSSA14.

Input convention for :func:`pga_m_s2` and :func:`pgv_m_s`: ``acc`` is either a
``(3, n)`` array ordered Z, N, E (as :func:`tianshan.sim.stochastic.simulate_components`
returns; RotD50 of N and E), a ``(2, n)`` array of two horizontals (RotD50), or a
1-D array (peak absolute value of that single component).
"""

from __future__ import annotations

import math

import numpy as np

from tianshan.core.errors import InputError

__all__ = ["rotd50", "rotd_percentile", "rotd_percentile_reference", "pga_m_s2", "pgv_m_s",
           "acceleration_to_velocity"]

_ANGLE_CHUNK = 30


def _check_pair(h1: np.ndarray, h2: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    a = np.asarray(h1, dtype=float)
    b = np.asarray(h2, dtype=float)
    if a.ndim != 1 or a.shape != b.shape or a.size == 0:
        raise InputError(f"need two 1-D series of equal length, got {a.shape} and {b.shape}",
                         field="acc")
    return a, b


def _rotated_peaks(a: np.ndarray, b: np.ndarray, theta: np.ndarray) -> np.ndarray:
    peaks = np.empty(theta.size)
    for i in range(0, theta.size, _ANGLE_CHUNK):
        th = theta[i:i + _ANGLE_CHUNK]
        rotated = np.cos(th)[:, None] * a[None, :] + np.sin(th)[:, None] * b[None, :]
        peaks[i:i + _ANGLE_CHUNK] = np.max(np.abs(rotated), axis=1)
    return peaks


def rotd_percentile_reference(h1: np.ndarray, h2: np.ndarray, percentile: float = 50.0,
                              step_deg: float = 1.0) -> float:
    """Slow, readable RotDnn: rotate every sample through every angle (Boore 2010)."""
    a, b = _check_pair(h1, h2)
    theta = np.deg2rad(np.arange(0.0, 180.0, step_deg))
    return float(np.percentile(_rotated_peaks(a, b, theta), percentile))


def rotd_percentile(h1: np.ndarray, h2: np.ndarray, percentile: float = 50.0,
                    step_deg: float = 1.0) -> float:
    """RotDnn of two orthogonal horizontal series (Boore 2010): the ``percentile`` of the
    peak absolute rotated amplitude over angles ``0 <= theta < 180`` deg in ``step_deg`` steps.
    Rotation: ``h1 cos(theta) + h2 sin(theta)``.

    Fast and exact: samples too short to be any rotated maximum are dropped first
    (bound in the code), then the maximum of the linear functional ``|u_theta . h(t)|`` over
    the samples is reached at a vertex of the convex hull of the points ``+-h(t)``,
    so only those (typically a few dozen) samples are rotated. Equal to
    :func:`rotd_percentile_reference` (tested).
    """
    from scipy.spatial import ConvexHull, QhullError

    a, b = _check_pair(h1, h2)
    theta = np.deg2rad(np.arange(0.0, 180.0, step_deg))
    # Exact pre-pruning: every rotated peak is at least the support of the parallelogram
    # with vertices +-p, +-q (any two samples), whose minimum over directions is the distance
    # from the origin to its nearest edge, L = |p x q| / max(|p - q|, |p + q|). A sample
    # with |h(t)| < L can never be a maximum. p: the longest sample; q: the one farthest
    # from the line of p.
    norm = np.hypot(a, b)
    k = int(np.argmax(norm))
    cross = np.abs(a * b[k] - b * a[k])
    j = int(np.argmax(cross))
    if cross[j] > 0:
        bound = cross[j] / max(math.hypot(a[k] - a[j], b[k] - b[j]),
                               math.hypot(a[k] + a[j], b[k] + b[j]))
        keep = norm >= bound * (1.0 - 1e-9)
        a, b = a[keep], b[keep]
    points = np.concatenate([np.column_stack([a, b]), -np.column_stack([a, b])])
    try:
        vertices = ConvexHull(points).vertices % a.size
        a, b = a[vertices], b[vertices]
    except (QhullError, ValueError):
        pass   # degenerate (all zero or collinear): rotate every sample
    return float(np.percentile(_rotated_peaks(a, b, theta), percentile))


def rotd50(h1: np.ndarray, h2: np.ndarray) -> float:
    """RotD50 of two orthogonal horizontal series (Boore 2010)."""
    return rotd_percentile(h1, h2, 50.0)


def _peak(x: np.ndarray) -> float:
    x = np.asarray(x, dtype=float)
    if x.ndim == 1:
        if x.size == 0:
            raise InputError("empty series", field="acc")
        return float(np.max(np.abs(x)))
    if x.ndim == 2 and x.shape[0] == 3:
        return rotd50(x[1], x[2])
    if x.ndim == 2 and x.shape[0] == 2:
        return rotd50(x[0], x[1])
    raise InputError(f"expected shape (n,), (2, n) or (3, n) [Z, N, E], got {x.shape}", field="acc")


def pga_m_s2(acc: np.ndarray) -> float:
    """Peak ground acceleration (m/s^2): RotD50 of the horizontals (see module docstring)."""
    return _peak(acc)


def acceleration_to_velocity(acc: np.ndarray, sample_rate_hz: float) -> np.ndarray:
    """Velocity (m/s) by trapezoidal integration along the last axis, starting at rest."""
    if not (np.isfinite(sample_rate_hz) and sample_rate_hz > 0):
        raise InputError(f"must be > 0, got {sample_rate_hz!r}", field="sample_rate_hz")
    a = np.asarray(acc, dtype=float)
    out = np.zeros_like(a)
    np.cumsum(0.5 * (a[..., 1:] + a[..., :-1]) / sample_rate_hz, axis=-1, out=out[..., 1:])
    return out


def pgv_m_s(acc: np.ndarray, sample_rate_hz: float) -> float:
    """Peak ground velocity (m/s): RotD50 of the horizontal velocities (trapezoidal integration
    of the acceleration, no filtering: simulated records have no baseline offset)."""
    return _peak(acceleration_to_velocity(acc, sample_rate_hz))

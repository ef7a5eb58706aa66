"""Pseudo-spectral acceleration (PSA) of a damped single-degree-of-freedom oscillator.

Oscillator (relative displacement ``u`` of a mass on a spring and dashpot whose base
moves with the ground acceleration ``a(t)``)::

    u'' + 2 zeta omega u' + omega^2 u = -a(t),     omega = 2 pi / T

and ``PSA(T, zeta) = omega^2 max_t |u(t)|`` (m/s^2 for ``a`` in m/s^2).

Method: Nigam, N. C. & Jennings, P. C. (1969), "Calculation of response spectra
from strong-motion earthquake records", BSSA 59(2), 909-922: the exact solution
of the equation above when ``a(t)`` varies linearly between samples, written as
the recurrence ``[u, u']_{k+1} = A [u, u']_k + B [a_k, a_{k+1}]`` with the 2x2
matrices of :func:`nigam_jennings_matrices` (closed forms of their paper; the
same as Chopra, *Dynamics of Structures*, "interpolation of excitation"). They
are checked in the tests against the matrix exponential of the first-order-hold
discretisation and against :func:`scipy.signal.lsim` (linear interpolation of
the input, the same assumption), and the response against the analytic
harmonic steady state and step response.

Speed: the recurrence is a linear time-invariant system, so its displacement
output is a second-order IIR filter of the input (coefficients derived from
``A`` and ``B`` in :func:`_displacement_filter`) run by :func:`scipy.signal.lfilter`
(compiled), for all components at once; one call per period.
:func:`oscillator_displacement_reference` is the slow, readable sample-by-sample
recurrence, tested equal.

Initial state: the oscillator is at rest at the first sample (``u_0 = u'_0 = 0``),
whatever ``a_0`` is (Nigam & Jennings). The IIR form alone would instead assume
``a = 0`` before the first sample; the difference, a free vibration from a known
state, is removed exactly (:func:`oscillator_displacement`).

Accuracy: exact for piecewise-linear input; for periods shorter than a few
sample intervals the linear interpolation of the record itself is the
limitation (Nigam & Jennings 1969, section "accuracy"), not the recurrence.

RotD50 (Boore 2010, BSSA 100(4), 1830-1835): the oscillator is linear, so the
response to the horizontal ground motion rotated by ``theta`` is the rotation of the
two horizontal responses; :func:`rotd_percentile` takes the ``percentile`` of the
peak absolute rotated amplitude over ``0 <= theta < 180`` deg. (The same measure as
:mod:`tianshan.sim.peaks`, which a processing stage must not import; tested equal.)
"""

from __future__ import annotations

import math

import numpy as np

from tianshan.core.errors import InputError

__all__ = ["nigam_jennings_matrices", "oscillator_displacement", "oscillator_displacement_reference",
           "psa", "psa_rotd", "rotd_percentile"]

_ANGLE_CHUNK = 30


def _check_oscillator(period_s: float, damping: float, dt_s: float) -> tuple[float, float, float]:
    period_s, damping, dt_s = float(period_s), float(damping), float(dt_s)
    if not (math.isfinite(period_s) and period_s > 0):
        raise InputError(f"must be > 0 s, got {period_s!r}", field="period_s")
    if not (math.isfinite(damping) and 0.0 <= damping < 1.0):
        raise InputError(f"must lie in [0, 1), got {damping!r}", field="damping")
    if not (math.isfinite(dt_s) and dt_s > 0):
        raise InputError(f"must be > 0 s, got {dt_s!r}", field="dt_s")
    return period_s, damping, dt_s


def nigam_jennings_matrices(period_s: float, damping: float, dt_s: float) -> tuple[np.ndarray, np.ndarray]:
    """``(A, B)`` of the Nigam & Jennings (1969) recurrence for ``u'' + 2 zeta omega u' + omega^2 u = -a``.

    ``[u_{k+1}, v_{k+1}] = A @ [u_k, v_k] + B @ [a_k, a_{k+1}]`` (``u`` m, ``v`` m/s,
    ``a`` m/s^2), exact for ``a`` linear over each step ``dt_s``. With
    ``omega_d = omega sqrt(1 - zeta^2)``, ``e = exp(-zeta omega dt)``,
    ``s = sin(omega_d dt)``, ``c = cos(omega_d dt)``, ``q = zeta / sqrt(1 - zeta^2)``,
    ``k1 = (2 zeta^2 - 1) / (omega^2 dt)``, ``k2 = 2 zeta / (omega^3 dt)``::

        A = [[e (q s + c),                 e s / omega_d],
             [-omega e s / sqrt(1-zeta^2),  e (c - q s)]]
        B00 = e ((k1 + zeta/omega) s/omega_d + (k2 + 1/omega^2) c) - k2
        B01 = -e (k1 s/omega_d + k2 c) - 1/omega^2 + k2
        B10 = e ((k1 + zeta/omega)(c - q s) - (k2 + 1/omega^2)(omega_d s + zeta omega c)) + 1/(omega^2 dt)
        B11 = -e (k1 (c - q s) - k2 (omega_d s + zeta omega c)) - 1/(omega^2 dt)
    """
    period_s, z, dt = _check_oscillator(period_s, damping, dt_s)
    w = 2.0 * math.pi / period_s
    sq = math.sqrt(1.0 - z * z)
    wd = w * sq
    e = math.exp(-z * w * dt)
    s = math.sin(wd * dt)
    c = math.cos(wd * dt)
    q = z / sq
    a = np.array([[e * (q * s + c), e * s / wd],
                  [-w / sq * e * s, e * (c - q * s)]])
    k1 = (2.0 * z * z - 1.0) / (w * w * dt)
    k2 = 2.0 * z / (w ** 3 * dt)
    b = np.empty((2, 2))
    b[0, 0] = e * ((k1 + z / w) * s / wd + (k2 + 1.0 / w ** 2) * c) - k2
    b[0, 1] = -e * (k1 * s / wd + k2 * c) - 1.0 / w ** 2 + k2
    b[1, 0] = e * ((k1 + z / w) * (c - q * s) - (k2 + 1.0 / w ** 2) * (wd * s + z * w * c)) + 1.0 / (w * w * dt)
    b[1, 1] = -e * (k1 * (c - q * s) - k2 * (wd * s + z * w * c)) - 1.0 / (w * w * dt)
    return a, b


def _displacement_filter(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """IIR coefficients ``(num, den)`` of ``u`` from ``a`` for the recurrence ``x' = A x + B0 a_k + B1 a_{k+1}``.

    z-transform: ``U(z) = [1, 0] adj(zI - A) (B0 + z B1) / det(zI - A)``, with
    ``adj(zI - A) = [[z - A11, A01], [A10, z - A00]]``; divided by ``z^2``.
    """
    b0, b1 = b[:, 0], b[:, 1]
    num = np.array([b1[0],
                    b0[0] - a[1, 1] * b1[0] + a[0, 1] * b1[1],
                    a[0, 1] * b0[1] - a[1, 1] * b0[0]])
    den = np.array([1.0, -(a[0, 0] + a[1, 1]), a[0, 0] * a[1, 1] - a[0, 1] * a[1, 0]])
    return num, den


def _as_records(acc_m_s2) -> np.ndarray:
    x = np.asarray(acc_m_s2, dtype=np.float64)
    if x.ndim == 0 or x.shape[-1] < 2:
        raise InputError(f"need at least 2 samples along the last axis, got shape {x.shape}", field="acc_m_s2")
    if not np.all(np.isfinite(x)):
        raise InputError("contains NaN or infinite samples", field="acc_m_s2")
    return x


def _check_rate(sample_rate_hz: float) -> float:
    fs = float(sample_rate_hz)
    if not (math.isfinite(fs) and fs > 0):
        raise InputError(f"must be > 0 Hz, got {sample_rate_hz!r}", field="sample_rate_hz")
    return fs


def oscillator_displacement(acc_m_s2, sample_rate_hz: float, period_s: float,
                            damping: float = 0.05) -> np.ndarray:
    """Relative displacement ``u`` (m) of the oscillator for every sample of ``acc_m_s2`` (m/s^2).

    ``acc_m_s2`` has time along the last axis (any leading shape: components,
    records). Starts at rest at the first sample (module docstring).
    """
    from scipy.signal import lfilter

    x = _as_records(acc_m_s2)
    fs = _check_rate(sample_rate_hz)
    dt = 1.0 / fs
    a, b = nigam_jennings_matrices(period_s, damping, dt)
    num, den = _displacement_filter(a, b)
    u = lfilter(num, den, x, axis=-1)
    # lfilter's state at k = 0 is B[:, 1] a_0 (as if a = 0 before the record); the
    # recurrence starts at rest. Remove the free vibration from that state, exactly.
    a0 = x[..., :1]
    if np.any(a0 != 0.0):
        s0, s1 = b[0, 1] * a0, b[1, 1] * a0
        t = np.arange(x.shape[-1]) * dt
        z = float(damping)
        w = 2.0 * math.pi / float(period_s)
        wd = w * math.sqrt(1.0 - z * z)
        env = np.exp(-z * w * t)
        u = u - env * (s0 * np.cos(wd * t) + (s1 + z * w * s0) / wd * np.sin(wd * t))
    return u


def oscillator_displacement_reference(acc_m_s2, sample_rate_hz: float, period_s: float,
                                      damping: float = 0.05) -> np.ndarray:
    """Slow, readable Nigam & Jennings recurrence, one sample at a time (1-D input); tests only."""
    x = _as_records(acc_m_s2)
    if x.ndim != 1:
        raise InputError(f"reference implementation takes a 1-D series, got shape {x.shape}", field="acc_m_s2")
    a, b = nigam_jennings_matrices(period_s, damping, 1.0 / _check_rate(sample_rate_hz))
    state = np.zeros(2)
    u = np.zeros(x.size)
    for k in range(x.size - 1):
        state = a @ state + b @ np.array([x[k], x[k + 1]])
        u[k + 1] = state[0]
    return u


def _periods(periods_s) -> np.ndarray:
    p = np.atleast_1d(np.asarray(periods_s, dtype=np.float64))
    if p.ndim != 1 or p.size == 0:
        raise InputError(f"need a non-empty list of periods, got {periods_s!r}", field="periods_s")
    if not np.all(np.isfinite(p) & (p > 0)):
        raise InputError(f"periods must be > 0 s, got {periods_s!r}", field="periods_s")
    return p


def psa(acc_m_s2, sample_rate_hz: float, periods_s, damping: float = 0.05) -> np.ndarray:
    """Pseudo-spectral acceleration (m/s^2), ``omega^2 max|u|``, shape ``acc.shape[:-1] + (len(periods_s),)``."""
    x = _as_records(acc_m_s2)
    p = _periods(periods_s)
    out = np.empty(x.shape[:-1] + (p.size,))
    for i, period in enumerate(p):
        w = 2.0 * math.pi / float(period)
        u = oscillator_displacement(x, sample_rate_hz, float(period), damping)
        out[..., i] = w * w * np.max(np.abs(u), axis=-1)
    return out


def rotd_percentile(h1, h2, percentile: float = 50.0, step_deg: float = 1.0) -> float:
    """RotDnn (Boore 2010): ``percentile`` of ``max_t |h1 cos(theta) + h2 sin(theta)|`` over ``0 <= theta < 180``.

    ``h1``, ``h2``: two orthogonal horizontal series of equal length (any unit;
    the result has the same unit). Angles in ``step_deg`` steps (1 deg as Boore 2010).
    Samples too short to be any rotated peak are dropped first (exact bound in the
    code), so typically only the strong part of a record is rotated.
    """
    a = np.asarray(h1, dtype=np.float64)
    b = np.asarray(h2, dtype=np.float64)
    if a.ndim != 1 or a.shape != b.shape or a.size == 0:
        raise InputError(f"need two 1-D series of equal length, got {a.shape} and {b.shape}", field="h1, h2")
    if not (0.0 <= float(percentile) <= 100.0):
        raise InputError(f"must lie in [0, 100], got {percentile!r}", field="percentile")
    theta = np.deg2rad(np.arange(0.0, 180.0, float(step_deg)))
    # Exact pruning: for any two samples p, q every rotated peak is at least the distance from
    # the origin to the nearest edge of the parallelogram +-p, +-q, |p x q| / max(|p - q|, |p + q|);
    # a sample shorter than that is never a peak. p: the longest sample, q: farthest from p's line.
    norm = np.hypot(a, b)
    k = int(np.argmax(norm))
    cross = np.abs(a * b[k] - b * a[k])
    j = int(np.argmax(cross))
    if cross[j] > 0:
        bound = cross[j] / max(math.hypot(a[k] - a[j], b[k] - b[j]), math.hypot(a[k] + a[j], b[k] + b[j]))
        keep = norm >= bound * (1.0 - 1e-9)
        a, b = a[keep], b[keep]
    peaks = np.empty(theta.size)
    for i in range(0, theta.size, _ANGLE_CHUNK):
        th = theta[i:i + _ANGLE_CHUNK]
        rotated = np.cos(th)[:, None] * a[None, :] + np.sin(th)[:, None] * b[None, :]
        peaks[i:i + _ANGLE_CHUNK] = np.max(np.abs(rotated), axis=1)
    return float(np.percentile(peaks, float(percentile)))


def psa_rotd(acc_h1_m_s2, acc_h2_m_s2, sample_rate_hz: float, periods_s, damping: float = 0.05,
             percentile: float = 50.0) -> np.ndarray:
    """RotDnn PSA (m/s^2) of two orthogonal horizontal accelerations, one value per period (Boore 2010)."""
    h1 = _as_records(acc_h1_m_s2)
    h2 = _as_records(acc_h2_m_s2)
    if h1.ndim != 1 or h1.shape != h2.shape:
        raise InputError(f"need two 1-D records of equal length, got {h1.shape} and {h2.shape}",
                         field="acc_h1_m_s2, acc_h2_m_s2")
    p = _periods(periods_s)
    out = np.empty(p.size)
    both = np.vstack([h1, h2])
    for i, period in enumerate(p):
        w = 2.0 * math.pi / float(period)
        u = oscillator_displacement(both, sample_rate_hz, float(period), damping)
        out[i] = w * w * rotd_percentile(u[0], u[1], percentile)
    return out

"""Long-term earthquake probabilities on a fault: Poisson, BPT and lognormal renewal models.

A fault's characteristic earthquakes recur with mean interval ``mean_recurrence`` (years, or any
unit used consistently) and aperiodicity ``alpha`` (coefficient of variation of the intervals);
``elapsed`` is the time since the last event. The probability of an event in the next
``duration``, given none during the elapsed time, is for a renewal model with CDF F

    P = (F(elapsed + duration) - F(elapsed)) / (1 - F(elapsed)),

computed from the survival functions ``1 - F`` directly so that long elapsed times keep their
precision.

Models:

* **Poisson** (time-independent): ``P = 1 - exp(-duration / mean_recurrence)``; elapsed time
  and alpha play no role.
* **BPT**, Brownian passage time (Matthews, Ellsworth & Reasenberg 2002, BSSA 92(6) 2233-2250):
  density
  ``f(t) = sqrt(mu / (2 pi alpha^2 t^3)) exp(-(t - mu)^2 / (2 mu alpha^2 t))`` and CDF
  ``F(t) = Phi(u1) + exp(2 / alpha^2) Phi(-u2)`` with
  ``u1 = (sqrt(t/mu) - sqrt(mu/t)) / alpha``, ``u2 = (sqrt(t/mu) + sqrt(mu/t)) / alpha``
  (the inverse Gaussian distribution, Chhikara & Folks 1989). The term
  ``exp(2/alpha^2) Phi(-u2)`` is evaluated as ``exp(2/alpha^2 + log Phi(-u2))`` so that small
  aperiodicities do not overflow. The hazard tends to ``1 / (2 alpha^2 mu)`` for ``t -> inf``
  (Matthews et al. 2002).
* **Lognormal** (Nishenko & Buland 1987, BSSA 77(4) 1382-1399) with the same mean and
  coefficient of variation: ``sigma^2 = ln(1 + alpha^2)``, median ``mu / sqrt(1 + alpha^2)``.

Checked against the WGCEP-2002 program's BPT probabilities (Working Group on California
Earthquake Probabilities 2003, USGS OFR 03-214; values as reproduced in OpenSHA's
``BPT_DistCalc`` test) in the tests.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

from tianshan.core.errors import InputError

MODELS = ("poisson", "bpt", "lognormal")


def _phi(x: float) -> float:
    """Standard normal CDF."""
    return 0.5 * math.erfc(-x / math.sqrt(2.0))


def _log_phi(x: float) -> float:
    """log of the standard normal CDF, accurate in the far left tail (scipy's log_ndtr)."""
    from scipy.special import log_ndtr

    return float(log_ndtr(x))


def _check(mean_recurrence: float, alpha: float | None = None) -> None:
    if not (math.isfinite(mean_recurrence) and mean_recurrence > 0):
        raise InputError(f"mean recurrence must be > 0, got {mean_recurrence!r}", field="mean_recurrence")
    if alpha is not None and not (math.isfinite(alpha) and alpha > 0):
        raise InputError(f"aperiodicity must be > 0, got {alpha!r}", field="alpha")


def bpt_pdf(t: float, mean_recurrence: float, alpha: float) -> float:
    """BPT density (Matthews et al. 2002)."""
    _check(mean_recurrence, alpha)
    if t <= 0:
        return 0.0
    mu = mean_recurrence
    scale = math.sqrt(mu / (2.0 * math.pi * alpha ** 2 * t ** 3))
    return scale * math.exp(-(t - mu) ** 2 / (2.0 * mu * alpha ** 2 * t))


def bpt_cdf(t: float, mean_recurrence: float, alpha: float) -> float:
    """BPT cumulative distribution (Matthews et al. 2002)."""
    _check(mean_recurrence, alpha)
    if t <= 0:
        return 0.0
    r = math.sqrt(t / mean_recurrence)
    u1 = (r - 1.0 / r) / alpha
    u2 = (r + 1.0 / r) / alpha
    second = math.exp(2.0 / alpha ** 2 + _log_phi(-u2))
    return min(1.0, _phi(u1) + second)


def bpt_survival(t: float, mean_recurrence: float, alpha: float) -> float:
    """``1 - F(t)`` of the BPT model, as ``Phi(-u1) - exp(2/alpha^2) Phi(-u2)`` (no cancellation against 1)."""
    _check(mean_recurrence, alpha)
    if t <= 0:
        return 1.0
    r = math.sqrt(t / mean_recurrence)
    u1 = (r - 1.0 / r) / alpha
    u2 = (r + 1.0 / r) / alpha
    return max(0.0, _phi(-u1) - math.exp(2.0 / alpha ** 2 + _log_phi(-u2)))


def lognormal_survival(t: float, mean_recurrence: float, alpha: float) -> float:
    """``1 - F(t)`` of the lognormal model."""
    _check(mean_recurrence, alpha)
    if t <= 0:
        return 1.0
    s2 = math.log(1.0 + alpha ** 2)
    m = math.log(mean_recurrence) - s2 / 2.0
    return _phi(-(math.log(t) - m) / math.sqrt(s2))


def lognormal_cdf(t: float, mean_recurrence: float, alpha: float) -> float:
    """Lognormal CDF with mean ``mean_recurrence`` and coefficient of variation ``alpha``."""
    _check(mean_recurrence, alpha)
    if t <= 0:
        return 0.0
    s2 = math.log(1.0 + alpha ** 2)
    m = math.log(mean_recurrence) - s2 / 2.0
    return _phi((math.log(t) - m) / math.sqrt(s2))


def poisson_probability(duration: float, mean_recurrence: float) -> float:
    """``1 - exp(-duration / mean_recurrence)``."""
    _check(mean_recurrence)
    if duration < 0:
        raise InputError("duration must be >= 0", field="duration")
    return -math.expm1(-duration / mean_recurrence)


def conditional_probability(model: str, mean_recurrence: float, elapsed: float, duration: float,
                            alpha: float | None = None) -> float:
    """Probability of the next event within ``duration`` after ``elapsed`` event-free time (module docstring).

    Raises :class:`InputError` for an unknown model, non-positive recurrence or aperiodicity,
    negative times, or an elapsed time so far in the tail that ``1 - F(elapsed)`` underflows.
    """
    if duration < 0 or elapsed < 0:
        raise InputError("elapsed time and duration must be >= 0", field="elapsed")
    if model == "poisson":
        return poisson_probability(duration, mean_recurrence)
    if model not in MODELS:
        raise InputError(f"unknown renewal model {model!r} ({', '.join(MODELS)})", field="model")
    if alpha is None:
        raise InputError(f"the {model} model needs an aperiodicity", field="alpha")
    surv = bpt_survival if model == "bpt" else lognormal_survival
    s0 = surv(elapsed, mean_recurrence, alpha)
    s1 = surv(elapsed + duration, mean_recurrence, alpha)
    if s0 <= 1e-300:
        raise InputError(f"elapsed time {elapsed:g} is too far beyond the mean recurrence {mean_recurrence:g} "
                         f"for the {model} model (survival {s0:.1e})", field="elapsed")
    return min(1.0, max(0.0, (s0 - s1) / s0))


@dataclass(frozen=True)
class FaultProbability:
    """Conditional probabilities of one fault under the three models (same inputs)."""

    mean_recurrence: float
    alpha: float
    elapsed: float
    duration: float
    poisson: float
    bpt: float
    lognormal: float

    def as_dict(self) -> dict:
        return asdict(self)


def fault_probabilities(mean_recurrence: float, alpha: float, elapsed: float, duration: float) -> FaultProbability:
    """Poisson, BPT and lognormal conditional probabilities for one fault."""
    return FaultProbability(
        mean_recurrence=mean_recurrence, alpha=alpha, elapsed=elapsed, duration=duration,
        poisson=conditional_probability("poisson", mean_recurrence, elapsed, duration),
        bpt=conditional_probability("bpt", mean_recurrence, elapsed, duration, alpha),
        lognormal=conditional_probability("lognormal", mean_recurrence, elapsed, duration, alpha))

"""R-score of a prediction and its 97.5 % significance threshold R0.

R-score (许绍燮 Xu Shaoxie 1989, 地震预报能力评估, in 国家地震局科技监测司编,
地震预报方法实用化研究文集·地震学专辑, 学术书刊出版社, 586-590; the form most used in
China's efficacy assessments and in EQSuite-EVA):

    R = h / N - tau,

``h`` target earthquakes predicted (inside an alarm) out of ``N``, ``tau`` the fraction
of the space-time under alarm (预报占时率). ``R = 0`` is no better than chance, ``R = 1``
a perfect prediction; with a single alarm region it is Hanssen-Kuipers' skill score.

Significance. Under the null hypothesis that alarms are unrelated to the earthquakes, each
target falls inside an alarm with probability ``tau``, independently, so the number of
hits is binomial ``B(N, tau)``; the significance level of an outcome is

    alpha(h; N, tau) = P(X >= h) = sum_{i=h}^{N} C(N, i) tau^i (1 - tau)^(N - i).

R0 (the R that a result must exceed to be significant at confidence ``1 - a``, a = 2.5 %):
the largest alarm fraction ``p*`` for which ``h`` hits would still be significant solves
``P(X >= h; N, p*) = a``, and ``R0 = h / N - p*``. With the identity between the binomial
upper tail and the beta distribution, ``p* = BetaInv(a; h, N - h + 1)`` exactly (the lower
Clopper-Pearson bound). ``h = 0`` gives ``R0 = 0``.

``method="binomial"`` (default) uses these exact expressions. ``method="eqsuite"``
reproduces EQSuite-EVA (``LQGetR00``, ``LQSignificanceLevelT``; Liu Qi 2022): exact
binomial for ``N < 20`` and, for ``N >= 20``, the normal approximation
``X = N/(N+1) (h - N p) / sqrt(N p (1 - p))`` with ``alpha = 1 - Phi(X)`` and ``p*`` from
``X = Phi^-1(1 - a)``.

Probability gain (Aki 1981, *A probabilistic synthesis of precursory phenomena*, in
Earthquake Prediction, AGU Maurice Ewing Ser. 4, 566-574): ``G = (h / N) / tau``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from tianshan.core.errors import InputError

METHODS = ("binomial", "eqsuite")
#: Number of targets from which EQSuite-EVA switches to the normal approximation.
EQSUITE_NORMAL_FROM = 20


def _check(hits: int, n_targets: int, alarm_fraction: float | None = None) -> None:
    if n_targets <= 0:
        raise InputError(f"number of target earthquakes must be positive, got {n_targets}")
    if not 0 <= hits <= n_targets:
        raise InputError(f"hits {hits} must be between 0 and the {n_targets} targets")
    if alarm_fraction is not None and not (0.0 <= alarm_fraction <= 1.0):
        raise InputError(f"alarm fraction {alarm_fraction} is outside [0, 1]")
    if hits != int(hits) or n_targets != int(n_targets):
        raise InputError("hits and targets must be whole numbers")


def _method(method: str) -> str:
    if method not in METHODS:
        raise InputError(f"unknown significance method {method!r} (known: {METHODS})")
    return method


def r_score(hits: int, n_targets: int, alarm_fraction: float) -> float:
    """``R = h/N - tau`` (许绍燮 1989)."""
    _check(hits, n_targets, alarm_fraction)
    return hits / n_targets - alarm_fraction


def probability_gain(hits: int, n_targets: int, alarm_fraction: float) -> float:
    """``G = (h/N)/tau`` (Aki 1981); ``inf`` for hits without alarm time, NaN for 0/0."""
    _check(hits, n_targets, alarm_fraction)
    rate = hits / n_targets
    if alarm_fraction == 0.0:
        return math.nan if hits == 0 else math.inf
    return rate / alarm_fraction


def binomial_tail(hits: int, n_targets: int, p: float) -> float:
    """``P(X >= h)`` for ``X ~ B(N, p)``, exact."""
    from scipy.stats import binom

    _check(hits, n_targets, p)
    if hits == 0:
        return 1.0
    return float(binom.sf(hits - 1, n_targets, p))


def _normal_x(hits: int, n: int, p: float) -> float:
    return n / (n + 1) * (hits - n * p) / math.sqrt(n * p * (1.0 - p))


def significance_level(hits: int, n_targets: int, alarm_fraction: float, method: str = "binomial") -> float:
    """Chance of ``>= h`` hits out of ``N`` with alarm fraction ``tau`` (module docstring)."""
    _check(hits, n_targets, alarm_fraction)
    if (hits == n_targets and alarm_fraction == 1.0) or (hits == 0 and alarm_fraction == 0.0):
        return 1.0
    if _method(method) == "eqsuite" and n_targets >= EQSUITE_NORMAL_FROM:
        from scipy.stats import norm

        if alarm_fraction in (0.0, 1.0):
            return 0.0 if hits > n_targets * alarm_fraction else 1.0
        return float(norm.sf(_normal_x(hits, n_targets, alarm_fraction)))
    return binomial_tail(hits, n_targets, alarm_fraction)


def critical_alarm_fraction(hits: int, n_targets: int, alpha: float = 0.025, method: str = "binomial") -> float:
    """The alarm fraction ``p*`` at which ``h`` hits out of ``N`` have significance ``alpha``."""
    _check(hits, n_targets)
    if not 0.0 < alpha < 1.0:
        raise InputError(f"significance level {alpha} is outside (0, 1)")
    if hits == 0:
        return 0.0
    if _method(method) == "eqsuite" and n_targets >= EQSUITE_NORMAL_FROM:
        from scipy.optimize import brentq
        from scipy.stats import norm

        z = float(norm.ppf(1.0 - alpha))
        n = n_targets
        f = lambda p: _normal_x(hits, n, p) - z  # noqa: E731 - decreasing in p
        lo, hi = 1e-15, 1.0 - 1e-15
        if f(lo) < 0:
            return 0.0
        if f(hi) > 0:
            return 1.0
        return float(brentq(f, lo, hi, xtol=1e-14))
    from scipy.stats import beta

    return float(beta.ppf(alpha, hits, n_targets - hits + 1))


def r0(hits: int, n_targets: int, confidence: float = 0.975, method: str = "binomial") -> float:
    """R0: the R-score ``h`` hits must exceed to be significant at ``confidence``."""
    _check(hits, n_targets)
    if hits == 0:
        return 0.0
    return hits / n_targets - critical_alarm_fraction(hits, n_targets, 1.0 - confidence, method)


@dataclass(frozen=True, slots=True)
class RScore:
    """Score of one alarm set against ``n_targets`` earthquakes (module docstring)."""

    hits: int
    n_targets: int
    alarm_fraction: float
    r: float
    r0: float
    significance: float
    gain: float
    confidence: float = 0.975
    method: str = "binomial"

    @property
    def hit_rate(self) -> float:
        return self.hits / self.n_targets

    @property
    def miss_rate(self) -> float:
        return 1.0 - self.hits / self.n_targets

    @property
    def significant(self) -> bool:
        """True when ``R > R0`` (equivalently significance below ``1 - confidence``)."""
        return self.r > self.r0

    def as_dict(self) -> dict:
        return {"hits": self.hits, "targets": self.n_targets, "alarm_fraction": self.alarm_fraction,
                "hit_rate": self.hit_rate, "R": self.r, "R0": self.r0, "significance": self.significance,
                "gain": self.gain, "significant": self.significant, "confidence": self.confidence,
                "method": self.method}


def score(hits: int, n_targets: int, alarm_fraction: float, confidence: float = 0.975,
          method: str = "binomial") -> RScore:
    """R, R0, significance level and probability gain of one result."""
    _check(hits, n_targets, alarm_fraction)
    return RScore(hits=int(hits), n_targets=int(n_targets), alarm_fraction=float(alarm_fraction),
                  r=r_score(hits, n_targets, alarm_fraction), r0=r0(hits, n_targets, confidence, method),
                  significance=significance_level(hits, n_targets, alarm_fraction, method),
                  gain=probability_gain(hits, n_targets, alarm_fraction), confidence=confidence,
                  method=method)

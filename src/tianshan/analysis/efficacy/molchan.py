"""Molchan error diagram (Molchan 1990, 1991), area skill score, significance curves.

Diagram (Molchan, G.M. 1990, *Strategies in strong earthquake prediction*, Phys. Earth
Planet. Inter. 61, 84-98; 1991, Tectonophysics 193, 267-276): each alarm strategy (here:
each threshold pair of an anomaly index) is a point ``(tau, nu)`` with ``tau`` the
fraction of space-time under alarm and ``nu = 1 - h/N`` the miss rate. The diagonal
``nu = 1 - tau`` is a random guess; the farther below it, the better.

Envelope (:func:`molchan_envelope`, EQSuite-EVA ``LQMolchanCompute2_ParNew``): among all
strategies, for each number of hits ``h >= 1`` the one with the smallest ``tau`` is kept
(the first one met when several tie), and the points are ordered by ``h``.

Optimal point (EQSuite-EVA ``LQMolchan3DNew``; Liu Qi 2022 technical description 2.2):
``P1`` maximises ``R = h/N - tau`` -- the point farthest from the diagonal, whose distance
is ``R / sqrt(2)`` -- and ``P2`` minimises the distance to the origin
``sqrt(nu^2 + tau^2)``; of the two the one with the larger probability gain
``(h/N)/tau`` is chosen (:meth:`MolchanCurve.best`).

Areas
    :attr:`MolchanCurve.area` is EQSuite-EVA's "AUC": the area of the polygon
    ``(0,0), (0,1), (tau_1, nu_1), ..., (tau_k, nu_k), (0,0)`` through the envelope in hit
    order (smaller is better, 0.5 for a random guess reaching every earthquake).
    :attr:`MolchanCurve.area_skill_score` is Zechar & Jordan's (2008, *Testing alarm-based
    earthquake predictions*, Geophys. J. Int. 172, 715-724) ``ASS = 1 - integral_0^1
    nu(tau) d tau`` for the best trajectory reachable with the envelope's strategies
    (``nu(tau)`` = the smallest miss rate of a strategy with ``tau_i <= tau``, 1 before
    the first, 0 at ``tau = 1`` where everything is under alarm): 0.5 for a random guess,
    1 for a perfect predictor.

Significance curve (:func:`alpha_curve`, EQSuite-EVA ``LQSolvetao1``): for each ``h``
the alarm fraction at which ``h`` hits of ``N`` have significance ``alpha``
(:func:`tianshan.analysis.efficacy.rscore.critical_alarm_fraction`); points left of it
are significant at that level (``R > R0``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from tianshan.analysis.efficacy.rscore import RScore, critical_alarm_fraction, score
from tianshan.core.errors import InputError


@dataclass(frozen=True, slots=True)
class MolchanPoint:
    """One strategy: alarm fraction, hits out of ``n_targets``, and its thresholds."""

    alarm_fraction: float
    hits: int
    n_targets: int
    threshold_low: float = math.nan
    threshold_high: float = math.nan

    @property
    def miss_rate(self) -> float:
        return 1.0 - self.hits / self.n_targets

    @property
    def r(self) -> float:
        return self.hits / self.n_targets - self.alarm_fraction

    @property
    def gain(self) -> float:
        if self.alarm_fraction == 0:
            return math.inf if self.hits else math.nan
        return self.hits / self.n_targets / self.alarm_fraction

    @property
    def distance(self) -> float:
        """Distance to the origin of the diagram."""
        return math.hypot(self.miss_rate, self.alarm_fraction)

    def score(self, confidence: float = 0.975, method: str = "binomial") -> RScore:
        return score(self.hits, self.n_targets, self.alarm_fraction, confidence, method)

    def as_dict(self) -> dict:
        return {"alarm_fraction": self.alarm_fraction, "hits": self.hits, "targets": self.n_targets,
                "miss_rate": self.miss_rate, "R": self.r, "gain": self.gain,
                "threshold_low": self.threshold_low, "threshold_high": self.threshold_high}


@dataclass(frozen=True)
class MolchanCurve:
    """The envelope of a set of strategies (ascending hits) for ``n_targets`` earthquakes."""

    n_targets: int
    points: tuple[MolchanPoint, ...]

    def __len__(self) -> int:
        return len(self.points)

    def _require(self) -> None:
        if not self.points:
            raise InputError("the Molchan curve has no point with a hit")

    def best_r(self) -> MolchanPoint:
        """P1: the largest R (the first of equal ones)."""
        self._require()
        return self.points[int(np.argmax([p.r for p in self.points]))]

    def closest(self) -> MolchanPoint:
        """P2: the point nearest the origin (the first of equal ones)."""
        self._require()
        return self.points[int(np.argmin([p.distance for p in self.points]))]

    def best(self) -> MolchanPoint:
        """P1 or P2, whichever has the larger probability gain (P1 on a tie when it comes first)."""
        self._require()
        i1 = int(np.argmax([p.r for p in self.points]))
        i2 = int(np.argmin([p.distance for p in self.points]))
        cand = sorted({i1, i2})
        gains = [self.points[i].gain for i in cand]
        return self.points[cand[int(np.argmax(gains))]]

    @property
    def area(self) -> float:
        """EQSuite-EVA's area (module docstring); NaN without points."""
        if not self.points:
            return math.nan
        x = np.r_[0.0, 0.0, [p.alarm_fraction for p in self.points], 0.0]
        y = np.r_[0.0, 1.0, [p.miss_rate for p in self.points], 0.0]
        return float(0.5 * abs(np.dot(x[:-1], y[1:]) - np.dot(x[1:], y[:-1])))

    @property
    def area_skill_score(self) -> float:
        """Zechar & Jordan (2008) area skill score of the best reachable trajectory."""
        taus = np.array([p.alarm_fraction for p in self.points] + [1.0])
        nus = np.array([p.miss_rate for p in self.points] + [0.0])
        order = np.argsort(taus, kind="stable")
        taus, nus = taus[order], nus[order]
        best = np.minimum.accumulate(nus)
        edges = np.r_[0.0, taus]
        levels = np.r_[1.0, best]
        area = float(np.sum(levels[:-1] * np.diff(edges)))
        return 1.0 - area

    def as_dict(self) -> dict:
        out = {"targets": self.n_targets, "points": [p.as_dict() for p in self.points],
               "area": self.area, "area_skill_score": self.area_skill_score}
        if self.points:
            out.update(P1=self.best_r().as_dict(), P2=self.closest().as_dict(), best=self.best().as_dict())
        return out


def molchan_envelope(alarm_fractions, hits, n_targets: int, thresholds_low=None, thresholds_high=None
                     ) -> MolchanCurve:
    """The envelope of strategies given as parallel arrays (module docstring).

    Strategies with NaN alarm fraction (no alarm at all) or no hit are left out."""
    tau = np.asarray(alarm_fractions, dtype=float)
    h = np.asarray(hits, dtype=float)
    if tau.shape != h.shape:
        raise InputError(f"{tau.size} alarm fractions but {h.size} hit counts")
    if n_targets <= 0:
        raise InputError(f"number of target earthquakes must be positive, got {n_targets}")
    lo = np.full(tau.size, np.nan) if thresholds_low is None else np.asarray(thresholds_low, dtype=float)
    hi = np.full(tau.size, np.nan) if thresholds_high is None else np.asarray(thresholds_high, dtype=float)
    ok = np.flatnonzero(np.isfinite(tau) & np.isfinite(h) & (h > 0))
    if ok.size == 0:
        return MolchanCurve(n_targets=int(n_targets), points=())
    # For each hit count: smallest tau, first occurrence among equal ones.
    order = ok[np.lexsort((ok, tau[ok], h[ok]))]
    hs = h[order]
    first = np.r_[True, hs[1:] != hs[:-1]]
    pick = order[first]
    points = tuple(MolchanPoint(alarm_fraction=float(tau[i]), hits=int(h[i]), n_targets=int(n_targets),
                                threshold_low=float(lo[i]), threshold_high=float(hi[i])) for i in pick)
    return MolchanCurve(n_targets=int(n_targets), points=points)


def alpha_curve(n_targets: int, alpha: float = 0.025, method: str = "binomial") -> tuple[np.ndarray, np.ndarray]:
    """Significance curve: ``(tau_h, nu_h)`` for ``h = 1..N`` (module docstring)."""
    if n_targets <= 0:
        raise InputError(f"number of target earthquakes must be positive, got {n_targets}")
    hs = np.arange(1, n_targets + 1)
    taus = np.array([critical_alarm_fraction(int(k), n_targets, alpha, method) for k in hs])
    return taus, 1.0 - hs / n_targets


def probability_gain(hits: int, n_targets: int, alarm_fraction: float) -> float:
    """``(h/N)/tau`` (Aki 1981); see :func:`tianshan.analysis.efficacy.rscore.probability_gain`."""
    from tianshan.analysis.efficacy.rscore import probability_gain as _gain

    return _gain(hits, n_targets, alarm_fraction)

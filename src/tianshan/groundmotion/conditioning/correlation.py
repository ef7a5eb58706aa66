"""Spatial (cross-)correlation of within-event residuals, and cross-IMT correlation of event terms.

Each model gives ``rho(h_km, t1_s, t2_s)`` (vectorised, broadcasting): the correlation of the
normalised within-event residuals of two intensity measures with (pseudo-)periods ``t1``,
``t2`` at two sites ``h`` km apart, and ``cutoff_km(eps, periods)``: a separation beyond which
``|rho| < eps`` for every pair of the given periods (used to skip far station-grid pairs; the neglected
correlations are below ``eps``). The event terms (between-event residuals) of two IMTs are
correlated as the model's ``rho(0, t1, t2)``, as in ShakeMap v4.

Pseudo-periods (:func:`pseudo_period`): PGA 0.01 s, PGV 1.0 s and MMI 1.0 s, as ShakeMap v4
does (``get_period_index_from_imt_str`` in its model code), PSA its period.

Models
------
* :class:`ExponentialCorrelation` -- ``rho = (Ts/Tl) exp(-h / L)``: the model of ShakeMap's
  analytic verification tests (Worden et al. 2018, BSSA 108(2), 866-875; ShakeMap 4 manual,
  "Verification"), L = 10 km there. Not empirical.
* :class:`JayaramBaker2009` -- ``rho = exp(-3 h / b(T))``, ``b = 8.5 + 17.2 T`` km for
  T < 1 s and ``22.0 + 3.7 T`` km for T >= 1 s (case 1: Vs30 not clustered), or
  ``b = 40.7 - 15.0 T`` for T < 1 s (case 2, clustered); Jayaram & Baker (2009), EESD 38(15),
  1687-1708, eqs. 17-18. For two periods the spatial part uses the larger period's range and
  is multiplied by the Baker & Jayaram (2008, Earthq. Spectra 24(1), 299-317) cross-period
  correlation (hazardlib's ``cross_correlation.BakerJayaram2008``, periods clipped to
  0.01-10 s) -- a common combination, not a fitted cross-spatial model.
* :class:`LothBaker2013` -- the linear model of coregionalization of Loth & Baker (2013), EESD
  42(3), 397-417: ``rho = B1 exp(-3h/20) + B2 exp(-3h/70) + B3 [h = 0]`` with the 9 x 9 period
  matrices B1, B2, B3 of the **erratum** (Loth & Baker 2020, EESD 49(3), 315-316; values as
  in Baker's ``lb_2013_spatial_corr.m`` updated 2019-06-28), interpolated bilinearly in period
  (0.01-10 s, clipped). The nugget ``B3`` applies at zero separation only (we take
  ``h < 1e-6 km``). The published two-decimal tables sum to 0.99 at 0.5 s and 1.01 at 1 s
  on the diagonal; a variable's correlation with itself is set to exactly 1. This is
  ShakeMap v4's default.
"""

from __future__ import annotations

import math

from tianshan.core.errors import InputError

__all__ = ["pseudo_period", "ExponentialCorrelation", "JayaramBaker2009", "LothBaker2013", "default_correlation"]

_ZERO_KM = 1e-6


def pseudo_period(imt: str) -> float:
    """ShakeMap's pseudo-period (s) of an IMT key: pga 0.01, pgv 1.0, mmi 1.0, psa<T> T."""
    k = str(imt).lower()
    if k == "pga":
        return 0.01
    if k in ("pgv", "mmi"):
        return 1.0
    if k.startswith("psa"):
        try:
            t = float(k[3:])
        except ValueError:
            raise InputError(f"not a spectral period: {imt!r}", field="imt") from None
        if t > 0:
            return t
    raise InputError(f"unknown intensity measure {imt!r}", field="imt")


class ExponentialCorrelation:
    """``rho = (Ts/Tl) exp(-h/L)`` (ShakeMap verification tests; module docstring)."""

    def __init__(self, length_km: float = 10.0) -> None:
        if not (math.isfinite(length_km) and length_km > 0):
            raise InputError(f"must be > 0 km, got {length_km!r}", field="length_km")
        self.length_km = float(length_km)

    def __repr__(self) -> str:
        return f"ExponentialCorrelation(length_km={self.length_km})"

    def rho(self, h_km, t1, t2):
        import numpy as np

        t1 = np.asarray(t1, dtype=np.float64)
        t2 = np.asarray(t2, dtype=np.float64)
        ratio = np.minimum(t1, t2) / np.maximum(t1, t2)
        return ratio * np.exp(-np.asarray(h_km, dtype=np.float64) / self.length_km)

    def cutoff_km(self, eps: float = 1e-6, periods=None) -> float:
        return self.length_km * math.log(1.0 / eps)


class JayaramBaker2009:
    """Jayaram & Baker (2009) range with Baker & Jayaram (2008) across periods (module docstring)."""

    def __init__(self, vs30_clustered: bool = False) -> None:
        self.vs30_clustered = bool(vs30_clustered)

    def __repr__(self) -> str:
        return f"JayaramBaker2009(vs30_clustered={self.vs30_clustered})"

    def range_km(self, t):
        import numpy as np

        t = np.asarray(t, dtype=np.float64)
        if self.vs30_clustered:
            return np.where(t < 1.0, 40.7 - 15.0 * t, 22.0 + 3.7 * t)
        return np.where(t < 1.0, 8.5 + 17.2 * t, 22.0 + 3.7 * t)

    def _cross(self, t1, t2):
        import numpy as np
        from openquake.hazardlib.cross_correlation import BakerJayaram2008
        from openquake.hazardlib.imt import SA

        bj = BakerJayaram2008()
        a, b = np.broadcast_arrays(np.clip(np.asarray(t1, float), 0.01, 10.0), np.clip(np.asarray(t2, float), 0.01, 10.0))
        out = np.empty(a.shape)
        cache: dict[tuple[float, float], float] = {}
        for idx, (x, y) in enumerate(zip(a.ravel(), b.ravel())):
            key = (float(x), float(y))
            if key not in cache:
                cache[key] = 1.0 if x == y else float(bj.get_correlation(SA(key[0]), SA(key[1])))
            out.ravel()[idx] = cache[key]
        return out

    def rho(self, h_km, t1, t2):
        import numpy as np

        h = np.asarray(h_km, dtype=np.float64)
        t1 = np.asarray(t1, dtype=np.float64)
        t2 = np.asarray(t2, dtype=np.float64)
        b = self.range_km(np.maximum(t1, t2))
        spatial = np.exp(-3.0 * h / b)
        if np.all(np.broadcast_to(t1 == t2, np.broadcast(t1, t2).shape)):
            return spatial
        return spatial * self._cross(t1, t2)

    def cutoff_km(self, eps: float = 1e-6, periods=None) -> float:
        """Beyond this separation rho < eps for the given periods (all periods 0.01-10 s when None)."""
        import numpy as np

        t = np.array([0.01, 0.999, 1.0, 10.0]) if periods is None else np.asarray(list(periods), dtype=np.float64)
        return float(np.max(self.range_km(t))) * math.log(1.0 / eps) / 3.0


_LB_T = (0.01, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 7.5, 10.0)
#: Loth & Baker (2013) Table II (short range, 20 km), erratum values (module docstring).
_LB_B1 = (
    (0.29, 0.25, 0.23, 0.23, 0.18, 0.10, 0.06, 0.06, 0.06),
    (0.25, 0.30, 0.20, 0.16, 0.10, 0.04, 0.03, 0.04, 0.05),
    (0.23, 0.20, 0.27, 0.18, 0.10, 0.03, 0.00, 0.01, 0.02),
    (0.23, 0.16, 0.18, 0.31, 0.22, 0.14, 0.08, 0.07, 0.07),
    (0.18, 0.10, 0.10, 0.22, 0.33, 0.24, 0.16, 0.13, 0.12),
    (0.10, 0.04, 0.03, 0.14, 0.24, 0.33, 0.26, 0.21, 0.19),
    (0.06, 0.03, 0.00, 0.08, 0.16, 0.26, 0.37, 0.30, 0.26),
    (0.06, 0.04, 0.01, 0.07, 0.13, 0.21, 0.30, 0.28, 0.24),
    (0.06, 0.05, 0.02, 0.07, 0.12, 0.19, 0.26, 0.24, 0.23))
#: Table III (long range, 70 km), erratum values.
_LB_B2 = (
    (0.47, 0.40, 0.43, 0.35, 0.27, 0.15, 0.13, 0.09, 0.12),
    (0.40, 0.42, 0.37, 0.25, 0.15, 0.03, 0.04, 0.00, 0.03),
    (0.43, 0.37, 0.45, 0.36, 0.26, 0.15, 0.09, 0.05, 0.08),
    (0.35, 0.25, 0.36, 0.42, 0.37, 0.29, 0.20, 0.16, 0.16),
    (0.27, 0.15, 0.26, 0.37, 0.48, 0.41, 0.26, 0.21, 0.21),
    (0.15, 0.03, 0.15, 0.29, 0.41, 0.55, 0.37, 0.33, 0.32),
    (0.13, 0.04, 0.09, 0.20, 0.26, 0.37, 0.51, 0.49, 0.49),
    (0.09, 0.00, 0.05, 0.16, 0.21, 0.33, 0.49, 0.62, 0.60),
    (0.12, 0.03, 0.08, 0.16, 0.21, 0.32, 0.49, 0.60, 0.68))
#: Table IV (nugget), erratum values.
_LB_B3 = (
    (0.24, 0.22, 0.21, 0.09, -0.02, 0.01, 0.03, 0.02, 0.01),
    (0.22, 0.28, 0.20, 0.04, -0.05, 0.00, 0.01, 0.01, -0.01),
    (0.21, 0.20, 0.28, 0.05, -0.06, 0.00, 0.04, 0.03, 0.01),
    (0.09, 0.04, 0.05, 0.26, 0.14, 0.05, 0.05, 0.05, 0.04),
    (-0.02, -0.05, -0.06, 0.14, 0.20, 0.07, 0.05, 0.05, 0.05),
    (0.01, 0.00, 0.00, 0.05, 0.07, 0.12, 0.08, 0.07, 0.06),
    (0.03, 0.01, 0.04, 0.05, 0.05, 0.08, 0.12, 0.10, 0.08),
    (0.02, 0.01, 0.03, 0.05, 0.05, 0.07, 0.10, 0.10, 0.09),
    (0.01, -0.01, 0.01, 0.04, 0.05, 0.06, 0.08, 0.09, 0.09))


class LothBaker2013:
    """Loth & Baker (2013) with the 2020 erratum coefficients (module docstring)."""

    def __init__(self) -> None:
        import numpy as np

        self._t = np.array(_LB_T)
        self._b = [np.array(b, dtype=np.float64) for b in (_LB_B1, _LB_B2, _LB_B3)]

    def __repr__(self) -> str:
        return "LothBaker2013(erratum 2020)"

    def coefficients(self, t1, t2):
        """(B1, B2, B3) interpolated bilinearly at periods ``t1``, ``t2`` (clipped to 0.01-10 s)."""
        import numpy as np

        a = np.clip(np.asarray(t1, dtype=np.float64), 0.01, 10.0)
        b = np.clip(np.asarray(t2, dtype=np.float64), 0.01, 10.0)
        a, b = np.broadcast_arrays(a, b)
        t = self._t
        i = np.clip(np.searchsorted(t, a, side="right") - 1, 0, len(t) - 2)
        j = np.clip(np.searchsorted(t, b, side="right") - 1, 0, len(t) - 2)
        fa = (a - t[i]) / (t[i + 1] - t[i])
        fb = (b - t[j]) / (t[j + 1] - t[j])
        out = []
        for m in self._b:
            v = ((1 - fa) * (1 - fb) * m[i, j] + fa * (1 - fb) * m[i + 1, j]
                 + (1 - fa) * fb * m[i, j + 1] + fa * fb * m[i + 1, j + 1])
            out.append(v)
        return out

    def rho(self, h_km, t1, t2):
        import numpy as np

        b1, b2, b3 = self.coefficients(t1, t2)
        h = np.asarray(h_km, dtype=np.float64)
        rho = np.exp(h * (-3.0 / 20.0))
        rho *= b1
        rho += b2 * np.exp(h * (-3.0 / 70.0))
        zero = h < _ZERO_KM
        if np.any(zero):
            same = np.asarray(t1, dtype=np.float64) == np.asarray(t2, dtype=np.float64)
            rho = np.where(zero, np.where(same, 1.0, rho + b3), rho)
        return rho

    def cutoff_km(self, eps: float = 1e-6, periods=None) -> float:
        return 70.0 * math.log(1.0 / eps) / 3.0


def default_correlation():
    """ShakeMap v4's default: :class:`LothBaker2013`."""
    return LothBaker2013()

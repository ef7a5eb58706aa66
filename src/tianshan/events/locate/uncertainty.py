"""Confidence ellipse and ellipsoid from a location covariance, and the quality class.

Ellipse / ellipsoid. For a Gaussian posterior with covariance ``C`` the region holding
probability ``P`` is the ellipsoid ``x^T C^-1 x <= k^2`` with ``k^2`` the ``P`` quantile
of chi-square with as many degrees of freedom as dimensions (Press et al. 2007,
*Numerical Recipes*, sec. 15.6.5). In 2-D ``k^2 = -2 ln(1 - P)``; for ``P = 0.68``,
``k = 1.510``. The semi-axes are ``k sqrt(lambda_i)`` along the eigenvectors of ``C``.
This is how NonLinLoc derives its QuakeML ``OriginUncertainty`` (horizontal ellipse,
from the x-y block of the posterior covariance) and ``ConfidenceEllipsoid`` (full 3-D):
on the Anchorage sample its ``minHorUnc``/``maxHorUnc``/``azMaxHorUnc`` follow from its
own ``STATISTICS`` covariance this way (tested, ``tests/events/test_locate_uncertainty.py``).
Coordinates: x east, y north, z down, metres; azimuths clockwise from north.

Quality class: HYPO71's rule (Lee & Lahr 1975, USGS Open-File Report 75-311, "QS" and
"QD" of the summary line):

====  ==========================================  ============================================
cls   QS (solution)                               QD (station distribution)
====  ==========================================  ============================================
A     RMS < 0.15 s, ERH <= 1 km, ERZ <= 2 km      NO >= 6, GAP <= 90,  DMIN <= max(depth, 5 km)
B     RMS < 0.30 s, ERH <= 2.5 km, ERZ <= 5 km    NO >= 6, GAP <= 135, DMIN <= max(2 depth, 10 km)
C     RMS < 0.50 s, ERH <= 5 km                   NO >= 6, GAP <= 180, DMIN <= 50 km
D     otherwise                                   otherwise
====  ==========================================  ============================================

ERH = sqrt(var_x + var_y), ERZ = sqrt(var_z) (1-sigma, from the posterior covariance), NO
the number of phases used, GAP the azimuthal gap (deg), DMIN the epicentral distance of the
nearest station. The overall class is the mean of QS and QD (A=4 ... D=1), rounded towards
the worse class when it falls between two (HYPO71 averages them; the rounding is ours).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = ["Ellipsoid", "horizontal_ellipse", "ellipsoid", "quality_class", "chi2_scale"]


def chi2_scale(confidence: float, dof: int) -> float:
    """``k`` such that the ``k``-sigma ellipsoid in ``dof`` dimensions holds ``confidence``."""
    if dof == 2:
        return math.sqrt(-2.0 * math.log(1.0 - confidence))
    from scipy.stats import chi2

    return math.sqrt(float(chi2.ppf(confidence, dof)))


def horizontal_ellipse(cov_xy_m2, confidence: float = 0.68) -> tuple[float, float, float]:
    """``(semi_major_m, semi_minor_m, azimuth_deg)`` of the horizontal confidence ellipse from the
    2 x 2 (x east, y north) covariance; azimuth of the major axis in [0, 180)."""
    c = np.asarray(cov_xy_m2, dtype=float)[:2, :2]
    vals, vecs = np.linalg.eigh(c)
    vals = np.maximum(vals, 0.0)
    k = chi2_scale(confidence, 2)
    major = vecs[:, 1]
    az = math.degrees(math.atan2(major[0], major[1])) % 180.0
    return k * math.sqrt(vals[1]), k * math.sqrt(vals[0]), az


@dataclass(frozen=True, slots=True)
class Ellipsoid:
    """A 3-D confidence ellipsoid: semi-axes (m, largest first) with the azimuth (deg, clockwise
    from north) and plunge (deg, down from horizontal) of each axis."""

    semi_axes_m: tuple[float, float, float]
    azimuths_deg: tuple[float, float, float]
    plunges_deg: tuple[float, float, float]
    confidence: float

    def as_dict(self) -> dict:
        return {"semi_major_m": self.semi_axes_m[0], "semi_intermediate_m": self.semi_axes_m[1],
                "semi_minor_m": self.semi_axes_m[2], "azimuths_deg": list(self.azimuths_deg),
                "plunges_deg": list(self.plunges_deg), "confidence": self.confidence}


def ellipsoid(cov_m2, confidence: float = 0.68) -> Ellipsoid:
    """The ``confidence`` ellipsoid of a 3 x 3 (x east, y north, z down) covariance."""
    vals, vecs = np.linalg.eigh(np.asarray(cov_m2, dtype=float))
    order = np.argsort(vals)[::-1]
    k = chi2_scale(confidence, 3)
    axes, azs, plunges = [], [], []
    for i in order:
        v = vecs[:, i]
        if v[2] < 0:                      # point the axis downward (plunge >= 0)
            v = -v
        axes.append(k * math.sqrt(max(vals[i], 0.0)))
        azs.append(math.degrees(math.atan2(v[0], v[1])) % 360.0)
        plunges.append(math.degrees(math.asin(min(1.0, abs(v[2])))))
    return Ellipsoid(tuple(axes), tuple(azs), tuple(plunges), confidence)


_CLASSES = "DCBA"


def quality_class(rms_s: float, erh_m: float, erz_m: float, n_phases: int, gap_deg: float,
                  dmin_m: float, depth_m: float) -> str:
    """HYPO71 quality class A-D (module docstring)."""
    erh, erz, dmin, depth = erh_m / 1000.0, erz_m / 1000.0, dmin_m / 1000.0, max(depth_m, 0.0) / 1000.0
    if rms_s < 0.15 and erh <= 1.0 and erz <= 2.0:
        qs = 3
    elif rms_s < 0.30 and erh <= 2.5 and erz <= 5.0:
        qs = 2
    elif rms_s < 0.50 and erh <= 5.0:
        qs = 1
    else:
        qs = 0
    if n_phases >= 6 and gap_deg <= 90 and dmin <= max(depth, 5.0):
        qd = 3
    elif n_phases >= 6 and gap_deg <= 135 and dmin <= max(2 * depth, 10.0):
        qd = 2
    elif n_phases >= 6 and gap_deg <= 180 and dmin <= 50.0:
        qd = 1
    else:
        qd = 0
    return _CLASSES[(qs + qd) // 2]

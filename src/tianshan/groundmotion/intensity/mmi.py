"""Modified Mercalli intensity (MMI) <-> ground motion: Worden et al. (2012), and the Chinese scale <-> MMI.

Worden, C. B., Gerstenberger, M. C., Rhoades, D. A. & Wald, D. J. (2012).
Probabilistic relationships between ground-motion parameters and modified
Mercalli intensity in California. BSSA 102(1), 204-221.

Bilinear relation (their eq. 3), ``Y`` in cm/s^2 (PGA, PSA) or cm/s (PGV)::

    MMI = c1 + c2 log10(Y)      for log10(Y) <= t1
    MMI = c3 + c4 log10(Y)      for log10(Y) >  t1

and its inverse (solved for ``Y`` with the break at ``MMI = t2``)::

    log10(Y) = (MMI - c1) / c2  for MMI <= t2
    log10(Y) = (MMI - c3) / c4  for MMI >  t2

With the distance and magnitude terms (their eq. 5, the residual model),
``c5 + c6 log10(R) + c7 M`` is added to MMI (subtracted before inverting), ``R``
the rupture distance in km. As USGS ShakeMap v4 does, ``R`` is clipped to
10-300 km and ``M`` to 3.0-7.3 (the range of the paper's data) before use.

Coefficients (:data:`WORDEN_2012`): the paper's Table 1, as tabulated in the
USGS ShakeMap v4 implementation (``shakelib/gmice/wgrw12.py``, class ``WGRW12``).
The standard deviations ``sigma_mmi`` (MMI from motion) and ``sigma_log10``
(motion from MMI, log10 units) are ShakeMap's ``SMMI`` and ``SPGM`` values; which
column of the paper they correspond to was not checked against the paper itself.

Checked against real data: the 421 instrumental station intensities of the
2008 Wenchuan ShakeMap (``../shared/data/shakemap/wenchuan/stationlist.xml``,
ShakeMap 3.5 output, one decimal) are reproduced from the stations' PGV (PGA
where no PGV) with the distance and magnitude terms (M 7.9 clipped to 7.3):
median difference 0.024, 99.8 % within 0.06, largest 0.15 (one station);
without the terms the median difference exceeds 0.2
(``tests/groundmotion/test_mmi_worden.py``).

ShakeMap also extends the relations below MMI 2 with a second line
(``shakemap_low_segment``; "discussed in the paper but not specifically
implemented there", ShakeMap's comment). Off by default: eq. 3 as published.

Units: SI on every argument and result (m/s^2, m/s, m); converted to the
paper's cm/s^2, cm/s and km inside. PSA is 5 %-damped pseudo-spectral
acceleration at 0.3, 1.0 or 3.0 s. The paper's ground motions are the larger
horizontal component (peak of the two horizontals).

Chinese scale <-> MMI (:func:`mmi_from_cn`, :func:`cn_from_mmi`)
----------------------------------------------------------------
No published direct conversion between the GB/T 17742-2020 instrumental
intensity and MMI could be found and cited, so the conversion goes through the
ground motion both scales are defined from: GB/T 17742 Appendix A gives
``I_A(PGA)``, ``I_V(PGV)``, Worden et al. (2012) ``MMI(PGA)``, ``MMI(PGV)``.

* ``via="pgv"`` (default): ``PGV = 10^((I_CN - 9.77) / 3)`` then Worden's PGV
  relation, and back. For ``I_CN >= 6`` this is exact (``I_CN = I_V`` there);
  below 6 the standard averages ``I_A`` and ``I_V``, and the conversion assumes
  the motion for which ``I_A = I_V`` (one equation, two unknowns). Both
  directions are then inverses of each other (up to the bilinear breaks).
* ``via="pga"``: the same through PGA and ``I_A``.
* ``via="both"``: MMI -> CN takes PGA and PGV from Worden's inverses and applies
  the full GB/T rule; CN -> MMI averages the MMI of the two motions.

Caveat, not corrected: GB/T uses the band-passed 3-component vector-sum peak,
Worden et al. the larger horizontal peak. The vector sum is at least the
larger horizontal; ``vector_to_horizontal`` (default 1.0, i.e. ignored) divides
the GB/T motion to get the horizontal one. Its typical value was not
established here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from tianshan.core.errors import InputError
from tianshan.groundmotion.intensity import gbt17742

__all__ = ["WordenCoefficients", "WORDEN_2012", "IMTS", "imt_for_period", "mmi_from_motion",
           "motion_from_mmi", "mmi_from_pga", "mmi_from_pgv", "mmi_from_psa", "sigma_mmi",
           "sigma_ln_motion", "mmi_from_cn", "cn_from_mmi"]


@dataclass(frozen=True, slots=True)
class WordenCoefficients:
    """One row of Worden et al. (2012) Table 1 (``Y`` in cm/s^2 or cm/s, ``log10``), plus ShakeMap's sigmas."""

    c1: float
    c2: float
    c3: float
    c4: float
    c5: float
    c6: float
    c7: float
    t1: float
    t2: float
    sigma_mmi: float
    sigma_log10: float
    low_c1: float   # ShakeMap's MMI < 2 segment: MMI = low_c1 + low_c2 log10(Y) for log10(Y) < low_t1
    low_c2: float
    low_t1: float


#: Worden et al. (2012) Table 1 by intensity measure (``"pga"``, ``"pgv"``, ``"psa0.3"``, ``"psa1.0"``, ``"psa3.0"``).
WORDEN_2012: dict[str, WordenCoefficients] = {
    "pga": WordenCoefficients(1.78, 1.55, -1.60, 3.70, -0.91, 1.02, -0.17, 1.57, 4.22, 0.66, 0.35,
                              1.71, 2.08, 0.14),
    "pgv": WordenCoefficients(3.78, 1.47, 2.89, 3.16, 0.90, 0.00, -0.18, 0.53, 4.56, 0.63, 0.38,
                              4.62, 2.17, -1.21),
    "psa0.3": WordenCoefficients(1.26, 1.69, -4.15, 4.14, -1.05, 0.60, 0.00, 2.21, 4.99, 0.82, 0.44,
                                 1.15, 1.92, 0.44),
    "psa1.0": WordenCoefficients(2.50, 1.51, 0.20, 2.90, 2.27, -0.49, -0.29, 1.65, 4.98, 0.75, 0.47,
                                 2.71, 2.17, -0.33),
    "psa3.0": WordenCoefficients(3.81, 1.17, 1.99, 3.01, 1.91, -0.57, -0.21, 0.99, 4.96, 0.89, 0.64,
                                 7.35, 3.45, -1.55),
}
#: The intensity measures Worden et al. (2012) cover.
IMTS = tuple(WORDEN_2012)
#: SI -> paper units: m/s^2 -> cm/s^2, m/s -> cm/s (both x100).
_TO_CGS = 100.0
#: ShakeMap's clip of the residual terms' distance (km) and magnitude.
_R_RANGE_KM = (10.0, 300.0)
_M_RANGE = (3.0, 7.3)
#: ShakeMap's range of MMI from motion.
MMI_RANGE = (1.0, 10.0)
#: The MMI at which ShakeMap's low segment meets the paper's lower line.
_LOW_BREAK_MMI = 2.0


def imt_for_period(period_s: float) -> str:
    """The Worden IMT key of a PSA period (0.3, 1.0 or 3.0 s)."""
    for key, p in (("psa0.3", 0.3), ("psa1.0", 1.0), ("psa3.0", 3.0)):
        if abs(float(period_s) - p) < 1e-9:
            return key
    raise InputError(f"Worden et al. (2012) covers PSA at 0.3, 1.0 and 3.0 s only, got {period_s!r}",
                     field="period_s")


def _coeffs(imt: str) -> WordenCoefficients:
    try:
        return WORDEN_2012[str(imt).lower()]
    except KeyError:
        raise InputError(f"unknown intensity measure {imt!r}; expected one of {', '.join(IMTS)}",
                         field="imt") from None


def _residual_term(c: WordenCoefficients, rrup_m, magnitude):
    """``c5 + c6 log10(R_km) + c7 M`` with ShakeMap's clips, or 0 when both are None."""
    if rrup_m is None and magnitude is None:
        return 0.0
    if rrup_m is None or magnitude is None:
        raise InputError("give both rrup_m and magnitude for the distance/magnitude terms, or neither",
                         field="rrup_m, magnitude")
    import numpy as np

    r = np.asarray(rrup_m, dtype=np.float64)
    m = float(magnitude)
    if not np.all(np.isfinite(r) & (r >= 0)) or not math.isfinite(m):
        raise InputError("rupture distance must be finite and >= 0 m, magnitude finite", field="rrup_m, magnitude")
    r_km = np.clip(r / 1000.0, *_R_RANGE_KM)
    term = c.c5 + c.c6 * np.log10(r_km) + c.c7 * min(max(m, _M_RANGE[0]), _M_RANGE[1])
    return float(term) if term.ndim == 0 else term


def mmi_from_motion(value_si, imt: str, rrup_m=None, magnitude: float | None = None, clip: bool = True,
                    shakemap_low_segment: bool = False):
    """MMI from a ground motion (Worden et al. 2012, eq. 3; eq. 5 terms when ``rrup_m`` and ``magnitude`` given).

    ``value_si``: PGA or PSA in m/s^2, PGV in m/s (float or array, > 0);
    ``imt``: one of :data:`IMTS`; ``rrup_m``: rupture distance (m);
    ``clip``: clip the result to ShakeMap's 1-10.
    """
    import numpy as np

    c = _coeffs(imt)
    y = np.asarray(value_si, dtype=np.float64)
    if not np.all(np.isfinite(y) & (y > 0)):
        raise InputError("ground motion must be finite and > 0", field="value_si")
    ly = np.log10(y * _TO_CGS)
    mmi = np.where(ly <= c.t1, c.c1 + c.c2 * ly, c.c3 + c.c4 * ly)
    if shakemap_low_segment:
        mmi = np.where(ly < c.low_t1, c.low_c1 + c.low_c2 * ly, mmi)
    mmi = mmi + _residual_term(c, rrup_m, magnitude)
    if clip:
        mmi = np.clip(mmi, *MMI_RANGE)
    return float(mmi) if mmi.ndim == 0 else mmi


def motion_from_mmi(mmi, imt: str, rrup_m=None, magnitude: float | None = None,
                    shakemap_low_segment: bool = False):
    """Inverse of :func:`mmi_from_motion` (break at ``MMI = t2``): PGA/PSA in m/s^2, PGV in m/s."""
    import numpy as np

    c = _coeffs(imt)
    x = np.asarray(mmi, dtype=np.float64)
    if not np.all(np.isfinite(x)):
        raise InputError("MMI must be finite", field="mmi")
    x = x - _residual_term(c, rrup_m, magnitude)
    ly = np.where(x <= c.t2, (x - c.c1) / c.c2, (x - c.c3) / c.c4)
    if shakemap_low_segment:
        ly = np.where(x < _LOW_BREAK_MMI, (x - c.low_c1) / c.low_c2, ly)
    y = 10.0 ** ly / _TO_CGS
    return float(y) if y.ndim == 0 else y


def mmi_from_pga(pga_m_s2, rrup_m=None, magnitude: float | None = None, clip: bool = True):
    """MMI from the larger-horizontal PGA (m/s^2), Worden et al. (2012)."""
    return mmi_from_motion(pga_m_s2, "pga", rrup_m, magnitude, clip)


def mmi_from_pgv(pgv_m_s, rrup_m=None, magnitude: float | None = None, clip: bool = True):
    """MMI from the larger-horizontal PGV (m/s), Worden et al. (2012)."""
    return mmi_from_motion(pgv_m_s, "pgv", rrup_m, magnitude, clip)


def mmi_from_psa(psa_m_s2, period_s: float, rrup_m=None, magnitude: float | None = None, clip: bool = True):
    """MMI from 5 %-damped PSA (m/s^2) at 0.3, 1.0 or 3.0 s, Worden et al. (2012)."""
    return mmi_from_motion(psa_m_s2, imt_for_period(period_s), rrup_m, magnitude, clip)


def sigma_mmi(imt: str) -> float:
    """Standard deviation (MMI units) of MMI from motion (ShakeMap's ``SMMI``; module docstring)."""
    return _coeffs(imt).sigma_mmi


def sigma_ln_motion(imt: str) -> float:
    """Standard deviation (natural-log units) of motion from MMI (ShakeMap's ``SPGM`` x ln 10)."""
    return _coeffs(imt).sigma_log10 * math.log(10.0)


_VIA = ("pgv", "pga", "both")


def _check_via(via: str) -> str:
    if via not in _VIA:
        raise InputError(f"must be one of {', '.join(_VIA)}, got {via!r}", field="via")
    return via


def _check_ratio(r: float) -> float:
    r = float(r)
    if not (math.isfinite(r) and r >= 1.0):
        raise InputError(f"must be >= 1 (vector sum >= larger horizontal), got {r!r}",
                         field="vector_to_horizontal")
    return r


def mmi_from_cn(intensity_cn, via: str = "pgv", vector_to_horizontal: float = 1.0, clip: bool = True):
    """MMI equivalent of a GB/T 17742-2020 instrumental intensity, through the ground motion (module docstring).

    Float or array. ``intensity_cn`` in [1, 12].
    """
    import numpy as np

    _check_via(via)
    k = _check_ratio(vector_to_horizontal)
    i = np.asarray(intensity_cn, dtype=np.float64)
    if not np.all(np.isfinite(i) & (i >= gbt17742.I_MIN) & (i <= gbt17742.I_MAX)):
        raise InputError("Chinese intensity must lie in [1, 12]", field="intensity_cn")
    parts = []
    if via in ("pgv", "both"):
        parts.append(mmi_from_motion(gbt17742.pgv_for_intensity(i) / k, "pgv", clip=clip))
    if via in ("pga", "both"):
        parts.append(mmi_from_motion(gbt17742.pga_for_intensity(i) / k, "pga", clip=clip))
    out = np.mean(np.asarray(parts, dtype=np.float64), axis=0)
    return float(out) if out.ndim == 0 else out


def cn_from_mmi(mmi, via: str = "pgv", vector_to_horizontal: float = 1.0, rounded: bool = False):
    """GB/T 17742-2020 instrumental intensity equivalent of an MMI, through the ground motion (module docstring).

    Float or array; clipped to [1, 12]; ``rounded`` gives the one-decimal reported value.
    """
    import numpy as np

    _check_via(via)
    k = _check_ratio(vector_to_horizontal)
    if via == "pgv":
        i = gbt17742.intensity_from_pgv(motion_from_mmi(mmi, "pgv") * k)
        i = np.clip(i, gbt17742.I_MIN, gbt17742.I_MAX)
    elif via == "pga":
        i = gbt17742.intensity_from_pga(motion_from_mmi(mmi, "pga") * k)
        i = np.clip(i, gbt17742.I_MIN, gbt17742.I_MAX)
    else:
        i = gbt17742.instrumental_intensity(motion_from_mmi(mmi, "pga") * k, motion_from_mmi(mmi, "pgv") * k,
                                            rounded=False)
    if rounded:
        i = gbt17742.round_intensity(i)
    i = np.asarray(i, dtype=np.float64)
    return float(i) if i.ndim == 0 else i

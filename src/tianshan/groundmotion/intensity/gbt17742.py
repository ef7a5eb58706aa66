"""Instrumental seismic intensity of GB/T 17742-2020 (中国地震烈度表, The Chinese seismic intensity scale).

The standard (issued 2020-07-21, in force 2021-02-01; Appendix A, normative,
"仪器测定的地震烈度" / "Instrumental measuring method for seismic intensity")
computes an instrumental intensity ``I_I`` at a station from its three-component
acceleration record:

1. band-pass each component (0.1-10 Hz) and integrate the filtered acceleration
   to velocity (the processing: :mod:`tianshan.groundmotion.intensity.records`);
2. combine the three components **sample by sample** into the vector sum
   ``a(t) = sqrt(a_1(t)^2 + a_2(t)^2 + a_3(t)^2)``, likewise ``v(t)``, and take the
   peaks ``PGA = max a(t)`` (m/s^2), ``PGV = max v(t)`` (m/s);
3. ``I_A = 3.17 lg(PGA) + 6.59`` and ``I_V = 3.00 lg(PGV) + 9.77``;
4. ``I_I = I_V`` when ``I_A >= 6.0`` **and** ``I_V >= 6.0``, otherwise
   ``I_I = (I_A + I_V) / 2``; then ``I_I = 1.0`` below 1.0 and ``12.0`` above 12.0;
5. ``I_I`` is reported with one decimal.

This module is steps 3-5 and the inverse relations; it works on floats and on
numpy arrays (grids) alike.

Sources and what could be verified
----------------------------------
* Steps 1-5 as above: the issue text (issue 6) and, for the band, the vector
  sum and the PGV target, 宋晋东, 余聪, 李山有 (2021), 地球物理学报 64(2): 555-568,
  abstract ("中国仪器地震烈度标准的计算参数: 0.1~10 Hz带通滤波三分向矢量合成速度峰值
  PGV"; http://html.rhhz.net/dqwlxb/2021-2-555.htm). The coefficients, the
  clip to [1, 12] and the "both >= 6.0" rule agree with independent public
  implementations on GitHub (a Python module and a MATLAB function that cites
  "GB/T 17742-2020 附录A"); a second MATLAB function uses "either >= 6.0",
  against its own comment; we follow the issue (both). These are corroboration,
  not the standard.
  The standard's table of contents (Appendix A, p. 18) is in the English
  edition preview at https://www.chinesestandard.net/Related.aspx/GBT17742-2020.
* **Not verified**: the standard's own text of Appendix A (the equation numbers,
  the filter type and order, the baseline correction) and its Table 2 (PGA/PGV
  ranges per degree). No copy could be read.

Rounding (step 5): half up (四舍五入) to one decimal: ``floor(10 I + 0.5) / 10``,
after rounding ``10 I`` to 9 decimals so that binary representation error cannot
move a value that is exactly on a half (``5.45`` gives ``5.5``). Intensities are
positive, so half-up equals half-away-from-zero. Clipping (step 4) is applied
before rounding; both bounds are whole numbers, so the order does not matter.

Degrees: the degree (I-XII) of an intensity is its nearest integer, half up
(``5.5 <= I_I < 6.5`` is VI; XII is ``11.5 <= I_I <= 12.0``). This is the
convention the issue's boundary check implies (PGA 0.457 m/s^2 with PGV
0.0381 m/s gives 5.5, the lower edge of VI); the standard's own wording of it
could not be read. The *reported* degree is that of the reported one-decimal
value, so an unrounded 5.46 (reported 5.5) is reported as VI while it lies in
band V below: the bands (next paragraph) are edges of the unrounded intensity,
as a map contours it; a 0.05-wide sliver below each edge reports the higher
degree.

Bands per degree (:func:`band`): the PGA range whose ``I_A`` lies in the
degree's ``I_I`` range and the PGV range whose ``I_V`` does, i.e. the inverses
``PGA = 10^((I - 6.59) / 3.17)``, ``PGV = 10^((I - 9.77) / 3.00)`` at the degree's
edges. A record whose PGA and PGV both lie in a degree's band has ``I_I`` in that
degree (``I_I`` is ``I_V`` or the mean of ``I_A`` and ``I_V``). For VI this gives
PGA 0.453-0.937 m/s^2 and PGV 0.0377-0.0813 m/s. The issue's boundary check
uses PGA 0.457 m/s^2 and PGV 0.0381 m/s (``I_A`` 5.512, ``I_V`` 5.513), about
1 % above the exact inverses at 5.5; if those numbers are the standard's printed
Table 2 edges, the printed table is a rounded approximation of the formulas. We
ship the inverses, which are traceable to the formulas. (The VI ranges of the
superseded GB/T 17742-2008, PGA 0.45-0.89 m/s^2 and PGV 0.05-0.09 m/s of the
horizontal peaks, belong to a different method; they were found only in
secondary copies and are not shipped.)
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from tianshan.core.errors import InputError

__all__ = ["A_SLOPE", "A_INTERCEPT", "V_SLOPE", "V_INTERCEPT", "SWITCH", "I_MIN", "I_MAX",
           "intensity_from_pga", "intensity_from_pgv", "combine", "round_intensity",
           "instrumental_intensity", "pga_for_intensity", "pgv_for_intensity", "degree", "roman",
           "IntensityBand", "band", "BANDS"]

#: ``I_A = A_SLOPE lg(PGA / (m/s^2)) + A_INTERCEPT`` (GB/T 17742-2020, Appendix A).
A_SLOPE, A_INTERCEPT = 3.17, 6.59
#: ``I_V = V_SLOPE lg(PGV / (m/s)) + V_INTERCEPT`` (GB/T 17742-2020, Appendix A).
V_SLOPE, V_INTERCEPT = 3.00, 9.77
#: ``I_I = I_V`` when both ``I_A`` and ``I_V`` are at least this, else their mean.
SWITCH = 6.0
#: Range of the reported instrumental intensity.
I_MIN, I_MAX = 1.0, 12.0

_ROMAN = ("I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X", "XI", "XII")


def _is_scalar(x) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def _peak(value, field: str):
    """A peak amplitude (>= 0, finite) as float or float array; raises InputError otherwise."""
    if _is_scalar(value):
        v = float(value)
        if not (math.isfinite(v) and v >= 0.0):
            raise InputError(f"must be a finite amplitude >= 0, got {value!r}", field=field)
        return v
    import numpy as np

    v = np.asarray(value, dtype=np.float64)
    if v.ndim == 0:
        return _peak(float(v), field)
    if not np.all(np.isfinite(v) & (v >= 0.0)):
        raise InputError("must be finite amplitudes >= 0", field=field)
    return v


def _lg(v):
    if isinstance(v, float):
        return math.log10(v) if v > 0 else -math.inf
    import numpy as np

    with np.errstate(divide="ignore"):
        return np.log10(v)


def intensity_from_pga(pga_m_s2):
    """``I_A = 3.17 lg(PGA) + 6.59`` (PGA in m/s^2, vector sum; GB/T 17742-2020 Appendix A).

    Unclipped and unrounded; ``PGA = 0`` gives ``-inf``.
    """
    return A_SLOPE * _lg(_peak(pga_m_s2, "pga_m_s2")) + A_INTERCEPT


def intensity_from_pgv(pgv_m_s):
    """``I_V = 3.00 lg(PGV) + 9.77`` (PGV in m/s, vector sum; GB/T 17742-2020 Appendix A).

    Unclipped and unrounded; ``PGV = 0`` gives ``-inf``.
    """
    return V_SLOPE * _lg(_peak(pgv_m_s, "pgv_m_s")) + V_INTERCEPT


def combine(i_a, i_v):
    """``I_I`` from ``I_A`` and ``I_V`` (unrounded): ``I_V`` if both >= 6.0, else the mean; clipped to [1, 12]."""
    if _is_scalar(i_a) and _is_scalar(i_v):
        i_a, i_v = float(i_a), float(i_v)
        if math.isnan(i_a) or math.isnan(i_v):
            raise InputError("I_A and I_V must not be NaN", field="i_a, i_v")
        i = i_v if (i_a >= SWITCH and i_v >= SWITCH) else 0.5 * (i_a + i_v)
        return min(max(i, I_MIN), I_MAX)
    import numpy as np

    a = np.asarray(i_a, dtype=np.float64)
    v = np.asarray(i_v, dtype=np.float64)
    if np.any(np.isnan(a)) or np.any(np.isnan(v)):
        raise InputError("I_A and I_V must not be NaN", field="i_a, i_v")
    with np.errstate(invalid="ignore"):  # -inf + -inf is fine, -inf + inf cannot happen for peaks
        i = np.where((a >= SWITCH) & (v >= SWITCH), v, 0.5 * (a + v))
    return np.clip(i, I_MIN, I_MAX)


def round_intensity(i):
    """Round half up to one decimal (module docstring): ``floor(round(10 I, 9) + 0.5) / 10``."""
    if _is_scalar(i):
        return math.floor(round(10.0 * float(i), 9) + 0.5) / 10.0
    import numpy as np

    return np.floor(np.round(10.0 * np.asarray(i, dtype=np.float64), 9) + 0.5) / 10.0


def instrumental_intensity(pga_m_s2, pgv_m_s, rounded: bool = True):
    """GB/T 17742-2020 instrumental intensity ``I_I`` from the vector-sum PGA (m/s^2) and PGV (m/s).

    Steps 3-5 of the module docstring. ``rounded=False`` returns the clipped
    value before rounding to one decimal (for maps and statistics).
    """
    i = combine(intensity_from_pga(pga_m_s2), intensity_from_pgv(pgv_m_s))
    return round_intensity(i) if rounded else i


def _intensity_arg(i, field: str):
    if _is_scalar(i):
        v = float(i)
        if not math.isfinite(v):
            raise InputError(f"must be finite, got {i!r}", field=field)
        return v
    import numpy as np

    v = np.asarray(i, dtype=np.float64)
    if not np.all(np.isfinite(v)):
        raise InputError("must be finite", field=field)
    return v


def pga_for_intensity(i_a):
    """Inverse of :func:`intensity_from_pga`: the PGA (m/s^2) with ``I_A = i_a``, ``10^((i_a - 6.59) / 3.17)``."""
    return 10.0 ** ((_intensity_arg(i_a, "i_a") - A_INTERCEPT) / A_SLOPE)


def pgv_for_intensity(i_v):
    """Inverse of :func:`intensity_from_pgv`: the PGV (m/s) with ``I_V = i_v``, ``10^((i_v - 9.77) / 3.00)``."""
    return 10.0 ** ((_intensity_arg(i_v, "i_v") - V_INTERCEPT) / V_SLOPE)


def degree(i_i) -> int:
    """The degree (1-12) of an intensity value: nearest integer, half up (module docstring).

    Pass the reported one-decimal value to get the reported degree (what
    :attr:`~tianshan.groundmotion.intensity.records.StationMotion.degree` does), an
    unrounded value for maps. The value is clipped to [1, 12] and rounded to 9
    decimals first (binary representation error at the half).
    """
    v = _intensity_arg(i_i, "i_i")
    if not _is_scalar(v):
        raise InputError("degree() takes one intensity value", field="i_i")
    r = min(max(round(v, 9), I_MIN), I_MAX)
    return int(math.floor(r + 0.5))


def roman(n: int) -> str:
    """Roman numeral of a degree 1-12 (``6 -> "VI"``), as the scale writes its degrees."""
    if not (isinstance(n, int) and 1 <= n <= 12):
        raise InputError(f"must be a degree 1-12, got {n!r}", field="degree")
    return _ROMAN[n - 1]


@dataclass(frozen=True, slots=True)
class IntensityBand:
    """One degree of the scale: its ``I_I`` range and the PGA / PGV ranges that map into it.

    Ranges are half-open ``[min, max)`` except XII (``[11.5, 12.0]`` and no upper
    motion bound). Degree I has no lower motion bound (``I_I`` is clipped at 1.0).
    Motion bounds are the inverses of ``I_A`` and ``I_V`` at the intensity edges.
    """

    degree: int
    intensity_min: float
    intensity_max: float
    pga_min_m_s2: float
    pga_max_m_s2: float
    pgv_min_m_s: float
    pgv_max_m_s: float

    @property
    def name(self) -> str:
        return roman(self.degree)

    def contains_pga(self, pga_m_s2: float) -> bool:
        return self.pga_min_m_s2 <= pga_m_s2 < self.pga_max_m_s2

    def contains_pgv(self, pgv_m_s: float) -> bool:
        return self.pgv_min_m_s <= pgv_m_s < self.pgv_max_m_s


def band(n: int) -> IntensityBand:
    """The :class:`IntensityBand` of degree ``n`` (1-12), derived from the Appendix A formulas."""
    roman(n)  # validates n
    lo = I_MIN if n == 1 else n - 0.5
    hi = I_MAX if n == 12 else n + 0.5
    return IntensityBand(
        degree=n, intensity_min=lo, intensity_max=hi,
        pga_min_m_s2=0.0 if n == 1 else pga_for_intensity(lo),
        pga_max_m_s2=math.inf if n == 12 else pga_for_intensity(hi),
        pgv_min_m_s=0.0 if n == 1 else pgv_for_intensity(lo),
        pgv_max_m_s=math.inf if n == 12 else pgv_for_intensity(hi))


#: Degrees I-XII (index 0 is degree I).
BANDS: tuple[IntensityBand, ...] = tuple(band(n) for n in range(1, 13))

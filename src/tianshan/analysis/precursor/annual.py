"""Annual-variation indices ANA and ONA by the S-transform, as EQSuite-EVA computes them.

Method (Liu Qi, *EQSuite-EVA V1.0 technical description* 2022, section 2.1, and the
MATLAB code it documents: ``Data_Prep_lq``, ``Data_DownS_lq``, ``Data_Ann_CheckP``,
``Data_PadorCut``, ``stm1``, ``Data_out``). A break of the annual variation (破年变) is
sought as a change in the time-frequency content of the annual band:

1. **Pre-processing** (:func:`tianshan.analysis.precursor.preprocess.clean`): gaps
   bridged with the nearest sample, steps removed at gaps and at month starts, spikes
   removed; then the series is **decimated to daily values by taking the 00:00 local
   sample** of each day (``整日值``), not a daily mean. Days whose 00:00 sample was
   missing in the file are remembered and written as missing in the output.
2. **Screening**: at least ``min_years`` (2) years of daily values, and the annual band
   must stand out: ``ratio = max |FFT| over periods 250-500 d / max |FFT| over periods
   < 250 d >= min_ratio`` (1); FFT of length ``2^nextpow2(N)``, bins from the last
   frequency <= 1/500 d^-1 to the first >= 1/250 d^-1 (:func:`annual_ratio`).
3. **S-transform**: pad each side with ``ceil(0.075 N)`` copies of the end value, take
   the S-transform (:mod:`.stransform`; width factor 3, analytic signal, parabola removed
   and 5 % Hanning taper) for frequency indices ``round(M/500)..round(M/14)`` of the
   padded length ``M`` (periods 500-14 d), then cut the padding off.
4. **Indices**: the annual band is the rows from the one whose period is nearest 500 d
   to the one nearest 250 d; ``ANA`` is the mean of ``|S|`` over those rows, ``ONA``
   over all other rows, each normalised as ``(a - m) / m`` where ``m`` is the mean of
   ``a`` without its ``round(0.05 N)`` smallest and largest values. Both are
   dimensionless; ANA follows the background annual amplitude, ONA the short-period
   (14-250 d) disturbance of the annual variation.

The outputs are daily ``YYYYMMDD value`` files (``%.5f``; ``999999.00000`` on days whose
00:00 sample was missing) -- :func:`tianshan.analysis.precursor.series.write_daily`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, timedelta

import numpy as np

from tianshan.analysis.precursor.preprocess import CleanResult, CorrectionLog, clean, fill_gaps
from tianshan.analysis.precursor.series import ObservationSeries
from tianshan.analysis.precursor.stransform import stransform
from tianshan.core.errors import InputError


@dataclass(frozen=True)
class AnnualParams:
    """Parameters of the extraction (defaults: EQSuite-EVA's ``Main_ST_ANN_evaluationNew``)."""

    annual_band_days: tuple[float, float] = (250.0, 500.0)
    compute_band_days: tuple[float, float] = (14.0, 500.0)
    pad_fraction: float = 0.075
    norm_trim_fraction: float = 0.05
    min_years: float = 2.0
    min_ratio: float = 1.0
    width_factor: float = 3.0
    outlier_k: float = 3.0
    outlier_trim: float = 0.05
    daily_hour: int = 0

    def __post_init__(self) -> None:
        lo, hi = self.annual_band_days
        clo, chi = self.compute_band_days
        if not 0 < lo < hi or not 0 < clo < chi or hi > chi:
            raise InputError(f"bands must be increasing periods with the annual band inside the computed "
                             f"one: annual {self.annual_band_days}, computed {self.compute_band_days}")
        if not 0 <= self.pad_fraction < 1 or not 0 <= self.norm_trim_fraction < 0.5:
            raise InputError("pad_fraction must be in [0, 1) and norm_trim_fraction in [0, 0.5)")


@dataclass(frozen=True)
class AnnualResult:
    """ANA/ONA of one series: daily values, with what was done to get them.

    ``days`` are local dates; ``missing`` marks days whose decimation sample was missing
    (their ANA/ONA are computed on filled data but reported as missing); ``daily`` is the
    pre-processed daily series; ``periods_days`` the period of each S-transform row and
    ``annual_rows`` the (first, last) row of the annual band.
    """

    days: tuple[date, ...]
    ana: np.ndarray = field(repr=False)
    ona: np.ndarray = field(repr=False)
    missing: np.ndarray = field(repr=False)
    daily: np.ndarray = field(repr=False)
    ratio: float = math.nan
    periods_days: np.ndarray = field(default=None, repr=False)
    annual_rows: tuple[int, int] = (0, 0)
    corrections: CorrectionLog = field(default_factory=CorrectionLog, repr=False)
    params: AnnualParams = field(default_factory=AnnualParams)

    def ana_reported(self) -> np.ndarray:
        """ANA with missing days as NaN (what is written and evaluated)."""
        return np.where(self.missing, np.nan, self.ana)

    def ona_reported(self) -> np.ndarray:
        """ONA with missing days as NaN."""
        return np.where(self.missing, np.nan, self.ona)

    def summary(self) -> dict:
        return {"first_day": self.days[0].isoformat(), "last_day": self.days[-1].isoformat(),
                "days": len(self.days), "missing_days": int(self.missing.sum()),
                "annual_ratio": round(self.ratio, 4),
                "annual_band_rows": list(self.annual_rows),
                "annual_band_periods_days": [round(float(self.periods_days[self.annual_rows[0]]), 2),
                                             round(float(self.periods_days[self.annual_rows[1]]), 2)],
                "corrections": self.corrections.counts(),
                "ana_range": [round(float(np.nanmin(self.ana_reported())), 5),
                              round(float(np.nanmax(self.ana_reported())), 5)],
                "ona_range": [round(float(np.nanmin(self.ona_reported())), 5),
                              round(float(np.nanmax(self.ona_reported())), 5)]}


def decimate_daily(series: ObservationSeries, values: np.ndarray | None = None, hour: int = 0
                   ) -> tuple[list[date], np.ndarray, np.ndarray]:
    """Daily series from the sample at ``hour``:00 local time of each day.

    Returns ``(days, daily_values, sample_index)``; a daily series is returned as is.
    The days run from the first to the last day that has such a sample."""
    vals = series.values if values is None else np.asarray(values, dtype=float)
    if series.step_s == 86400:
        return series.local_dates(), vals.copy(), np.arange(vals.size)
    if 86400 % series.step_s:
        raise InputError(f"cannot decimate a {series.step_s} s series to days")
    per_day = 86400 // series.step_s
    t0 = series.local_start
    since_midnight = (t0 - t0.replace(hour=0, minute=0, second=0, microsecond=0)).total_seconds()
    offset = int(((hour * 3600 - since_midnight) % 86400) // series.step_s)
    if (hour * 3600 - since_midnight) % series.step_s:
        raise InputError(f"the samples are not aligned with {hour:02d}:00 local time")
    idx = np.arange(offset, vals.size, per_day)
    if idx.size == 0:
        raise InputError("the series does not contain a full day")
    first = (t0 + timedelta(seconds=int(idx[0]) * series.step_s)).date()
    days = [first + timedelta(days=i) for i in range(idx.size)]
    return days, vals[idx], idx


def annual_ratio(daily, band_days: tuple[float, float] = (250.0, 500.0)) -> float:
    """Prominence of the annual band (step 2 of the module docstring)."""
    x = np.asarray(daily, dtype=float)
    n = x.size
    nfft = 1 << max(0, int(math.ceil(math.log2(n))))
    spec = np.abs(np.fft.fft(x, nfft) / n)
    f = 0.5 * np.linspace(0.0, 1.0, nfft // 2 + 1)  # cycles per day
    f_lo, f_hi = 1.0 / band_days[1], 1.0 / band_days[0]
    i0 = int(np.flatnonzero(f <= f_lo)[-1])
    above = np.flatnonzero(f >= f_hi)
    if above.size == 0:
        raise InputError("series too short for the annual band")
    i1 = int(above[0])
    ann = 2.0 * spec[i0:i1 + 1].max()
    other = 2.0 * spec[i1 + 1:nfft // 2 + 1].max()
    return float(ann / other) if other > 0 else math.inf


def trimmed_normalise(a: np.ndarray, trim_count: int) -> np.ndarray:
    """``(a - m) / m`` with ``m`` the mean of ``a`` without its ``trim_count`` smallest and
    largest values (EQSuite-EVA ``Data_Norm``)."""
    s = np.sort(a)
    core = s[trim_count:s.size - trim_count] if trim_count > 0 else s
    m = float(core.mean())
    if m == 0:
        raise InputError("cannot normalise: the trimmed mean amplitude is zero")
    return (a - m) / m


def ana_ona(daily, params: AnnualParams = AnnualParams()
            ) -> tuple[np.ndarray, np.ndarray, np.ndarray, tuple[int, int]]:
    """ANA and ONA of a gap-free daily series (steps 3-4 of the module docstring).

    Returns ``(ana, ona, periods_days, (first_row, last_row))``."""
    x = np.asarray(daily, dtype=float)
    if not np.isfinite(x).all():
        raise InputError("ANA/ONA need a gap-free daily series")
    n = x.size
    pad = int(math.ceil(n * params.pad_fraction))
    xp = np.concatenate([np.full(pad, x[0]), x, np.full(pad, x[-1])])
    m = xp.size
    fmin = int(round(m / params.compute_band_days[1]))
    fmax = int(round(m / params.compute_band_days[0]))
    fmin = max(fmin, 1)
    fmax = min(fmax, m // 2)
    if fmax <= fmin:
        raise InputError(f"{n} days are too few for periods {params.compute_band_days} d")
    S, freqs = stransform(xp, fmin, fmax, width_factor=params.width_factor, analytic=True, detrend_taper=True)
    amp = np.abs(S[:, pad:pad + n])
    periods = 1.0 / freqs
    r0 = int(np.argmin(np.abs(periods - params.annual_band_days[1])))
    r1 = int(np.argmin(np.abs(periods - params.annual_band_days[0])))
    r0, r1 = min(r0, r1), max(r0, r1)
    band = np.zeros(periods.size, dtype=bool)
    band[r0:r1 + 1] = True
    if band.all():
        raise InputError("the computed band has no period outside the annual band")
    trim = int(round(n * params.norm_trim_fraction))
    ana = trimmed_normalise(amp[band].mean(axis=0), trim)
    ona = trimmed_normalise(amp[~band].mean(axis=0), trim)
    return ana, ona, periods, (r0, r1)


def extract_annual(series: ObservationSeries, params: AnnualParams = AnnualParams(), *,
                   require_annual: bool = True, preprocess: bool = True) -> AnnualResult:
    """ANA/ONA of an observation series (the whole method of the module docstring).

    Raises :class:`InputError` when fewer than ``min_years`` of days remain or, with
    ``require_annual``, when the annual ratio is below ``min_ratio`` (EQSuite-EVA skips
    such series); ``preprocess=False`` only bridges gaps (nearest sample)."""
    values = np.asarray(series.values, dtype=float)
    if np.isnan(values).all():
        raise InputError("every sample is missing", series.report.source if series.report else None)
    if preprocess:
        res = clean(values, series.local_datetimes(), k=params.outlier_k, trim=params.outlier_trim)
    else:
        filled, log = fill_gaps(values)
        res = CleanResult(values=filled, log=log, missing=np.isnan(values))
    days, daily, idx = decimate_daily(series, res.values, params.daily_hour)
    missing = res.missing[idx]
    source = series.report.source if series.report else None
    if len(days) < params.min_years * 365:
        raise InputError(f"{len(days)} days of data, the annual analysis needs at least "
                         f"{params.min_years:g} years ({int(params.min_years * 365)} days)", source)
    ratio = annual_ratio(daily, params.annual_band_days)
    if require_annual and ratio < params.min_ratio:
        raise InputError(f"no clear annual variation: amplitude ratio {ratio:.3f} < {params.min_ratio:g} "
                         f"(annual band {params.annual_band_days} d against shorter periods)", source)
    ana, ona, periods, rows = ana_ona(daily, params)
    return AnnualResult(days=tuple(days), ana=ana, ona=ona, missing=missing, daily=daily, ratio=ratio,
                        periods_days=periods, annual_rows=rows, corrections=res.log, params=params)

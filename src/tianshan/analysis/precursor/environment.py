"""Environmental responses of precursor series: Earth tides, air pressure, rainfall.

Earth tides by harmonic analysis
    The tidal signal is a sum of constituents of known frequency (Doodson 1921, *The
    harmonic development of the tide-generating potential*, Proc. R. Soc. A 100;
    Cartwright & Tayler 1971, Geophys. J. R. astr. Soc. 23, 45-74; Cartwright & Edden
    1973, 33, 253-264). A constituent's angular speed follows from its Doodson number
    ``d1 d2 d3 . d4 d5 d6`` and the rates of the six astronomical arguments
    (mean lunar time tau, Moon's mean longitude s, Sun's h, lunar perigee p, negative
    lunar node N', solar perigee p1; Schureman 1958, *Manual of harmonic analysis and
    prediction of tides*, US C&GS SP 98, table 2):

        speed = d1 tau' + (d2-5) s' + (d3-5) h' + (d4-5) p' + (d5-5) N'' + (d6-5) p1'.

    :func:`fit_tides` fits ``x(t) = sum_j a_j t^j + sum_k [A_k cos w_k t + B_k sin w_k t]``
    by least squares on the known speeds (amplitude ``sqrt(A^2+B^2)``, phase lag
    ``atan2(B, A)`` relative to the time origin of ``t``). Nodal factors (18.6-year
    modulation, a few per cent) are not modelled: amplitudes are means over the record.
    Constituents closer than the Rayleigh criterion (``|w_i - w_j| T < 360 deg``) cannot
    be separated and the later of the pair in the given order is dropped (listed in
    :attr:`TidalFit.dropped`).

Air pressure (and rainfall) by regression deconvolution
    Rasmussen & Crawford (1997, *Identifying and removing barometric pressure effects in
    confined and unconfined aquifers*, Ground Water 35(3), 502-511) and Toll & Rasmussen
    (2007, *Removal of barometric pressure effects and Earth tides from observed water
    levels*, Ground Water 45(1), 101-105) regress the **changes** of the water level on
    the current and lagged changes of barometric pressure (and of the Earth tide):

        dW(t) = sum_{i=0}^{m} a_i dB(t-i) + sum_{j=0}^{q} c_j dE(t-j) + c0 + e(t).

    The cumulative sum ``sum_{i<=k} a_i`` is the barometric response function (BRF) at
    lag ``k``; with ``W`` a head (positive up) and ``B`` in the same units of water
    height, ``BE = -BRF`` is the barometric efficiency: ``-a_0`` is the instantaneous
    and ``-sum a_i`` the long-term value; the lag-free regression ``-cov(dW, dB)/var(dB)``
    is Clark's/ordinary-least-squares estimate. Rainfall ``R`` (an amount per interval)
    enters as ``sum_j r_j R(t-j)`` (the response of the level change to rain pulses).
    The tides may instead enter as harmonic terms (:func:`regression_deconvolution`
    with ``harmonics=``): differences of sinusoids are sinusoids of the same speeds.
    Components are integrated back to levels by cumulative summation and subtracted.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from tianshan.core.errors import InputError

#: Rates of Doodson's astronomical arguments, degrees per mean solar hour
#: (tau, s, h, p, N' = -N, p1; Schureman 1958, table 2).
ARGUMENT_RATES_DEG_PER_H = (14.4920521070, 0.5490165321, 0.0410686387, 0.0046418336, 0.0022064139, 0.0000019610)

#: Doodson numbers of the main tidal constituents (Cartwright & Tayler 1971; Schureman 1958).
DOODSON: dict[str, str] = {
    "Sa": "056.554", "Ssa": "057.555", "Mm": "065.455", "Mf": "075.555",
    "Q1": "135.655", "O1": "145.555", "M1": "155.655", "P1": "163.555", "S1": "164.555",
    "K1": "165.555", "J1": "175.455", "OO1": "185.555",
    "2N2": "235.755", "N2": "245.655", "NU2": "247.455", "M2": "255.555", "L2": "265.455",
    "S2": "273.555", "K2": "275.555", "M3": "355.555",
}
#: The eight main diurnal and semidiurnal constituents, largest first.
MAIN_CONSTITUENTS = ("M2", "K1", "O1", "S2", "N2", "P1", "K2", "Q1")


def doodson_speed_deg_per_h(doodson: str) -> float:
    """Angular speed of a constituent from its Doodson number (module docstring)."""
    digits = doodson.replace(".", "")
    if len(digits) != 6 or not digits.isdigit():
        raise InputError(f"Doodson number {doodson!r} must have six digits (e.g. 255.555)")
    d = [int(c) for c in digits]
    mult = [d[0]] + [x - 5 for x in d[1:]]
    return float(sum(m * r for m, r in zip(mult, ARGUMENT_RATES_DEG_PER_H)))


def constituent_speed(name: str) -> float:
    """Speed in degrees per hour of a named constituent (see :data:`DOODSON`)."""
    try:
        return doodson_speed_deg_per_h(DOODSON[name])
    except KeyError:
        raise InputError(f"unknown tidal constituent {name!r} (known: {sorted(DOODSON)})") from None


def resolvable(names, duration_h: float) -> tuple[list[str], list[str]]:
    """Split ``names`` into those kept and those dropped by the Rayleigh criterion over
    ``duration_h`` hours (the earlier name of an unresolvable pair is kept)."""
    kept: list[str] = []
    dropped: list[str] = []
    for name in names:
        w = constituent_speed(name)
        if w * duration_h < 360.0 or any(abs(w - constituent_speed(k)) * duration_h < 360.0 for k in kept):
            dropped.append(name)
        else:
            kept.append(name)
    return kept, dropped


def _harmonic_design(t_h: np.ndarray, names) -> np.ndarray:
    cols = []
    for name in names:
        w = math.radians(constituent_speed(name))
        cols += [np.cos(w * t_h), np.sin(w * t_h)]
    return np.column_stack(cols) if cols else np.zeros((t_h.size, 0))


@dataclass(frozen=True)
class TidalFit:
    """Least-squares harmonic fit (see :func:`fit_tides`).

    ``amplitudes`` in the unit of the series, ``phases_deg`` lags relative to ``t = 0``;
    ``trend`` the polynomial coefficients (constant first, time scaled to the record);
    ``explained_variance`` is ``1 - var(residual) / var(input minus its fitted trend)``.
    """

    names: tuple[str, ...]
    speeds_deg_per_h: tuple[float, ...]
    amplitudes: tuple[float, ...]
    phases_deg: tuple[float, ...]
    trend: tuple[float, ...]
    dropped: tuple[str, ...] = ()
    explained_variance: float = math.nan
    residual_std: float = math.nan
    n_used: int = 0
    _coef: np.ndarray = field(default=None, repr=False)

    def tide(self, t_h) -> np.ndarray:
        """The tidal part at times ``t_h`` (hours)."""
        t_h = np.asarray(t_h, dtype=float)
        return _harmonic_design(t_h, self.names) @ self._coef if self.names else np.zeros(t_h.size)

    def as_dict(self) -> dict:
        return {"constituents": {n: {"amplitude": a, "phase_deg": p, "speed_deg_per_h": s}
                                 for n, a, p, s in zip(self.names, self.amplitudes, self.phases_deg,
                                                       self.speeds_deg_per_h)},
                "dropped": list(self.dropped), "explained_variance": self.explained_variance,
                "residual_std": self.residual_std, "samples": self.n_used}


def fit_tides(t_h, values, constituents=MAIN_CONSTITUENTS, trend_degree: int = 1) -> TidalFit:
    """Harmonic analysis of ``values`` at times ``t_h`` (hours; NaN samples ignored)."""
    t = np.asarray(t_h, dtype=float)
    y = np.asarray(values, dtype=float)
    if t.shape != y.shape:
        raise InputError(f"{t.size} times but {y.size} values")
    ok = np.isfinite(y) & np.isfinite(t)
    if ok.sum() < 10:
        raise InputError("fewer than 10 valid samples for a tidal fit")
    tt, yy = t[ok], y[ok]
    names, dropped = resolvable(list(constituents), float(tt.max() - tt.min()))
    tc = (tt - tt.mean()) / max(1.0, float(tt.max() - tt.min()))
    poly = np.column_stack([tc ** j for j in range(trend_degree + 1)])
    H = _harmonic_design(tt, names)
    X = np.column_stack([poly, H])
    coef, *_ = np.linalg.lstsq(X, yy, rcond=None)
    resid = yy - X @ coef
    hc = coef[trend_degree + 1:]
    A, B = hc[0::2], hc[1::2]
    # Explained variance of the tides: relative to the series with its trend alone removed.
    tcoef, *_ = np.linalg.lstsq(poly, yy, rcond=None)
    var = float(np.var(yy - poly @ tcoef))
    return TidalFit(names=tuple(names), speeds_deg_per_h=tuple(constituent_speed(n) for n in names),
                    amplitudes=tuple(np.hypot(A, B).tolist()),
                    phases_deg=tuple((np.degrees(np.arctan2(B, A)) % 360.0).tolist()),
                    trend=tuple(coef[:trend_degree + 1].tolist()), dropped=tuple(dropped),
                    explained_variance=(1.0 - float(np.var(resid)) / var) if var > 0 else math.nan,
                    residual_std=float(np.std(resid)), n_used=int(ok.sum()), _coef=hc)


def remove_tides(t_h, values, constituents=MAIN_CONSTITUENTS, trend_degree: int = 1
                 ) -> tuple[np.ndarray, TidalFit]:
    """``values`` minus their fitted tidal part (NaN stays NaN), and the fit."""
    fit = fit_tides(t_h, values, constituents, trend_degree)
    return np.asarray(values, dtype=float) - fit.tide(t_h), fit


def _lagged(x: np.ndarray, lags: int) -> np.ndarray:
    """Columns x(t - i), i = 0..lags (NaN before the start)."""
    n = x.size
    cols = np.full((n, lags + 1), np.nan)
    for i in range(lags + 1):
        cols[i:, i] = x[:n - i]
    return cols


def _explained(y: np.ndarray, part: np.ndarray) -> float:
    ok = np.isfinite(y) & np.isfinite(part)
    v = float(np.var(y[ok]))
    return 1.0 - float(np.var(y[ok] - part[ok])) / v if v > 0 else math.nan


@dataclass(frozen=True)
class ResponseFit:
    """Result of :func:`regression_deconvolution` (units: level unit per pressure unit).

    ``baro_impulse[i]`` is ``a_i``, ``baro_step`` its cumulative sum (the BRF);
    ``be_instantaneous = -a_0``, ``be_long_term = -sum a_i``, ``be_ols`` the lag-free
    regression of differences. ``components`` are level series (same grid as the input)
    of each removed part (``"baro"``, ``"tide"``, ``"rain"``); ``corrected`` the level
    minus all of them. ``explained_differences`` / ``explained_levels`` give
    ``1 - var(after)/var(before)`` for each part and for all together, on the changes per
    sample and on the levels (high-passed: minus a centred moving average).
    """

    n_lags: int
    baro_impulse: np.ndarray
    baro_step: np.ndarray
    be_instantaneous: float
    be_long_term: float
    be_ols: float
    r2_differences: float
    tide_impulse: np.ndarray | None
    rain_impulse: np.ndarray | None
    harmonics: dict[str, tuple[float, float]]
    components: dict[str, np.ndarray] = field(repr=False)
    corrected: np.ndarray = field(repr=False)
    explained_differences: dict[str, float] = field(default_factory=dict)
    explained_levels: dict[str, float] = field(default_factory=dict)
    n_used: int = 0

    def as_dict(self) -> dict:
        return {"n_lags": self.n_lags, "be_instantaneous": self.be_instantaneous,
                "be_long_term": self.be_long_term, "be_ols": self.be_ols,
                "brf": [round(float(v), 6) for v in self.baro_step],
                "r2_differences": self.r2_differences,
                "harmonics": {k: {"amplitude": a, "phase_deg": p} for k, (a, p) in self.harmonics.items()},
                "explained_differences": self.explained_differences,
                "explained_levels": self.explained_levels, "samples": self.n_used}


def _highpass(x: np.ndarray, window: int) -> np.ndarray:
    """``x`` minus its centred moving average over ``window`` samples; the first and last
    ``window`` samples (where the average is incomplete) are NaN."""
    x = np.asarray(x, dtype=float)
    out = np.full(x.size, np.nan)
    if x.size <= 2 * window:
        return out
    filled = np.where(np.isfinite(x), x, 0.0)
    cnt = np.convolve(np.isfinite(x).astype(float), np.ones(window), mode="same")
    avg = np.convolve(filled, np.ones(window), mode="same") / np.where(cnt > 0, cnt, np.nan)
    out[window:-window] = (x - avg)[window:-window]
    return out


def regression_deconvolution(level, baro, *, n_lags: int = 24, earth_tide=None, tide_lags: int = 2,
                             rain=None, rain_lags: int = 48, harmonics=None, step_h: float = 1.0,
                             t0_h: float = 0.0, background_samples: int = 241) -> ResponseFit:
    """Fit and remove the barometric (and tidal, rainfall) response of ``level``.

    ``level``, ``baro`` (same units of water height for a BE), optional ``earth_tide``
    (theoretical tide series, any unit) and ``rain`` (amount per sample) share one grid of
    ``step_h`` hours starting at ``t0_h``. ``harmonics``: tidal constituent names fitted
    as harmonic terms on the differences (instead of, or besides, ``earth_tide``).
    Samples with NaN in any used column are left out of the fit. The explained variance
    of the levels is measured about a centred moving average of ``background_samples``
    (10 days of hourly data): slow changes (recharge, pumping, trends) are not what the
    pressure and tide terms model."""
    w = np.asarray(level, dtype=float)
    b = np.asarray(baro, dtype=float)
    n = w.size
    if b.size != n:
        raise InputError(f"level has {n} samples but pressure {b.size}")
    if n_lags < 0 or n < n_lags + 10:
        raise InputError(f"{n} samples are too few for {n_lags} lags")
    dw = np.r_[np.nan, np.diff(w)]
    db = np.r_[np.nan, np.diff(b)]
    blocks = {"baro": _lagged(db, n_lags)}
    if earth_tide is not None:
        e = np.asarray(earth_tide, dtype=float)
        if e.size != n:
            raise InputError(f"level has {n} samples but the Earth tide {e.size}")
        blocks["tide"] = _lagged(np.r_[np.nan, np.diff(e)], tide_lags)
    if rain is not None:
        r = np.asarray(rain, dtype=float)
        if r.size != n:
            raise InputError(f"level has {n} samples but rainfall {r.size}")
        blocks["rain"] = _lagged(r, rain_lags)
    t_h = t0_h + step_h * np.arange(n)
    names: list[str] = []
    if harmonics:
        names, _ = resolvable(list(harmonics), step_h * n)
        blocks["harm"] = _harmonic_design(t_h, names)
    X = np.column_stack([np.ones(n)] + list(blocks.values()))
    ok = np.isfinite(dw) & np.isfinite(X).all(axis=1)
    if ok.sum() < X.shape[1] + 10:
        raise InputError(f"only {int(ok.sum())} complete samples for {X.shape[1]} coefficients")
    coef, *_ = np.linalg.lstsq(X[ok], dw[ok], rcond=None)
    pos = 1
    parts_d: dict[str, np.ndarray] = {}
    coefs: dict[str, np.ndarray] = {}
    for key, blk in blocks.items():
        c = coef[pos:pos + blk.shape[1]]
        pos += blk.shape[1]
        coefs[key] = c
        parts_d[key] = np.where(np.isfinite(blk).all(axis=1), blk @ c, np.nan) if blk.size else np.zeros(n)
    fitted = X @ coef
    r2 = 1.0 - float(np.var(dw[ok] - fitted[ok])) / float(np.var(dw[ok]))
    # Lag-free regression of the differences (OLS BE).
    okb = np.isfinite(dw) & np.isfinite(db)
    slope = float(np.cov(dw[okb], db[okb])[0, 1] / np.var(db[okb], ddof=1))
    # Integrate each part back to levels; the tide may come from harmonics and/or the series.
    comp_d = {"baro": parts_d["baro"]}
    tide_d = np.zeros(n)
    if "tide" in parts_d:
        tide_d = tide_d + np.nan_to_num(parts_d["tide"])
    if "harm" in parts_d:
        tide_d = tide_d + np.nan_to_num(parts_d["harm"])
    if "tide" in parts_d or "harm" in parts_d:
        comp_d["tide"] = tide_d
    if "rain" in parts_d:
        comp_d["rain"] = parts_d["rain"]
    components = {k: np.cumsum(np.nan_to_num(v)) for k, v in comp_d.items()}
    components = {k: v - np.mean(v) for k, v in components.items()}
    total = sum(components.values())
    corrected = w - total
    exp_d = {k: _explained(dw, np.nan_to_num(v)) for k, v in comp_d.items()}
    exp_d["all"] = _explained(dw, sum(np.nan_to_num(v) for v in comp_d.values()))
    wl = _highpass(w, background_samples)
    exp_l = {k: _explained(wl, _highpass(v, background_samples)) for k, v in components.items()}
    exp_l["all"] = _explained(wl, _highpass(total, background_samples))
    harm = {}
    if names:
        hc = coefs["harm"]
        for j, nm in enumerate(names):
            # Fitted on differences: amplitude 2 A sin(w dt / 2), phase lag phi + w dt / 2 - 90 deg
            # for a level term A cos(w t - phi); converted back to the level's A and phi.
            a, bb = hc[2 * j], hc[2 * j + 1]
            half = math.radians(constituent_speed(nm)) * step_h / 2.0
            amp = math.hypot(a, bb) / (2.0 * math.sin(half))
            phase = math.degrees(math.atan2(bb, a) - half) + 90.0
            harm[nm] = (float(amp), float(phase % 360.0))
    a = coefs["baro"]
    return ResponseFit(n_lags=n_lags, baro_impulse=a, baro_step=np.cumsum(a),
                       be_instantaneous=float(-a[0]), be_long_term=float(-a.sum()), be_ols=-slope,
                       r2_differences=r2, tide_impulse=coefs.get("tide"), rain_impulse=coefs.get("rain"),
                       harmonics=harm, components=components, corrected=corrected,
                       explained_differences=exp_d, explained_levels=exp_l, n_used=int(ok.sum()))

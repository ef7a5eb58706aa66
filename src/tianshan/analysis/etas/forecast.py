"""Short-term forecasts: ETAS simulations and Reasenberg-Jones, numbers, probabilities, maps, bulletin.

ETAS forecast (:func:`etas_forecast`)
    the catalogues simulated by :mod:`tianshan.analysis.etas.simulate` over the window
    (start, start + days] are summarised per magnitude threshold X (Zhuang 2011, Earth Planets
    Space 63:207; Harte 2013, Geophys. J. Int. 192:390):

    * **expected number** ``E[N(M >= X)] = P(M >= X) E[N(M >= m0)]``. This is exact (not an
      approximation) because an event's magnitude is drawn independently of whether the event
      exists (its existence is decided by its ancestors), so summing over events gives the
      product; it has far less Monte-Carlo noise than counting M >= X events directly.
    * **probability** of at least one event ``P(N(M >= X) >= 1)``: the fraction of simulations
      with one, with its binomial standard error ``sqrt(P (1 - P) / n_sims)``. (Replacing the
      simulated magnitudes by the G-R probability, ``E[1 - (1 - P(M >= X))^N]``, would be
      biased low: large simulated events bring their own aftershocks, so N and the magnitudes
      are correlated.)
    * the 5 %, 50 % and 95 % quantiles of the simulated counts.

Gridded maps (:func:`forecast_grid`): on a regular longitude/latitude grid, the expected
number per cell (same product rule; the background part integrated exactly from the kernel
estimate, the triggered part counted from the simulations) and, per threshold, the fraction
of simulations with an event M >= X in the cell. Only events inside the study polygon count.

Reasenberg & Jones (1989, Science 243:1173-1176) (:class:`ReasenbergJones`): the rate of
aftershocks with magnitude >= M at time t (days) after a mainshock of magnitude Mm is

    lambda(t, M) = 10^(a + b (Mm - M)) (t + c)^(-p)

so the expected number in [t1, t2] is
``N = 10^(a + b (Mm - M)) [(t2 + c)^(1-p) - (t1 + c)^(1-p)] / (1 - p)``
(``ln((t2 + c)/(t1 + c))`` for p = 1) and the probability of one or more is ``1 - exp(-N)``
(a non-stationary Poisson process; R&J eqs. 1-4). The generic California parameters of
R&J 1989 are a = -1.67, b = 0.91, p = 1.08, c = 0.05 days (:data:`GENERIC_CALIFORNIA`; the
same values are the "generic" model of the USGS operational aftershock forecasts; Hardebeck
et al. 2019, Seismol. Res. Lett. 90:262, find a lower average productivity for
California since 1980). They are not calibrated for Xinjiang: the bulletin labels them so.

Bulletin (:func:`aftershock_bulletin`): a bilingual (Chinese/English) plain-text product with
the mainshock, the window, the ETAS numbers and probabilities and the Reasenberg-Jones
numbers, for consultation meetings (会商).
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

import numpy as np

from tianshan.analysis.etas.simulate import EtasHistory, SimulatedCatalogs, gr_exceedance, simulate_etas
from tianshan.core.errors import InputError

UTC = timezone.utc
DAY_S = 86400.0


# ------------------------------------------------------------------------------------------
# ETAS numbers and probabilities
# ------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class MagnitudeForecast:
    """Forecast for M >= ``min_magnitude`` in the window (module docstring).

    ``expected`` mean number; ``probability`` P(at least one), ``probability_stderr`` its
    Monte-Carlo standard error; ``quantiles`` the 5/50/95 % quantiles of the simulated count;
    ``observed`` the count that happened, when known.
    """

    min_magnitude: float
    expected: float
    probability: float
    probability_stderr: float
    quantiles: tuple[float, float, float]
    observed: int | None = None

    def as_dict(self) -> dict:
        return {"min_magnitude": self.min_magnitude, "expected": self.expected, "probability": self.probability,
                "probability_stderr": self.probability_stderr, "quantiles_5_50_95": list(self.quantiles),
                "observed": self.observed}


@dataclass(frozen=True)
class EtasForecast:
    """Summary of an ETAS forecast over ``start`` .. ``end`` (aware UTC) in the study polygon.

    ``expected_total`` mean number of events >= ``mag_threshold``; ``counts`` the number of
    events >= m0 in each simulation; ``by_magnitude`` one :class:`MagnitudeForecast` per
    threshold; ``n_background_mean`` the mean number of background (generation 0) events.
    """

    start: datetime
    end: datetime
    n_sims: int
    mag_threshold: float
    beta: float
    mmax: float | None
    expected_total: float
    n_background_mean: float
    by_magnitude: tuple[MagnitudeForecast, ...]
    counts: np.ndarray = field(repr=False)

    @property
    def days(self) -> float:
        return (self.end - self.start).total_seconds() / DAY_S

    def for_magnitude(self, min_magnitude: float) -> MagnitudeForecast:
        for f in self.by_magnitude:
            if abs(f.min_magnitude - min_magnitude) < 1e-9:
                return f
        raise KeyError(min_magnitude)

    def with_observed(self, observed: dict[float, int]) -> "EtasForecast":
        """A copy with the observed counts per threshold filled in."""
        from dataclasses import replace

        new = tuple(replace(f, observed=int(observed[f.min_magnitude])) if f.min_magnitude in observed else f
                    for f in self.by_magnitude)
        return replace(self, by_magnitude=new)

    def as_dict(self) -> dict:
        return {"start": self.start.isoformat(), "end": self.end.isoformat(), "days": self.days,
                "n_sims": self.n_sims, "mag_threshold": self.mag_threshold, "beta": self.beta, "mmax": self.mmax,
                "expected_total": self.expected_total, "n_background_mean": self.n_background_mean,
                "by_magnitude": [f.as_dict() for f in self.by_magnitude]}


def summarize(sims: SimulatedCatalogs, magnitudes, time_begin: datetime) -> EtasForecast:
    """Numbers and probabilities of :class:`EtasForecast` from simulated catalogues (module docstring)."""
    counts_all = sims.counts()
    mean_all = float(counts_all.mean())
    out = []
    for mx in sorted(float(m) for m in magnitudes):
        c = sims.counts(min_magnitude=mx)
        prob = float(np.mean(c > 0))
        q = np.quantile(c, [0.05, 0.5, 0.95])
        expected = mean_all * float(gr_exceedance(mx, sims.beta, sims.mag_threshold, sims.mmax))
        out.append(MagnitudeForecast(min_magnitude=mx, expected=expected, probability=prob,
                                     probability_stderr=math.sqrt(prob * (1.0 - prob) / sims.n_sims),
                                     quantiles=(float(q[0]), float(q[1]), float(q[2]))))
    bg = np.bincount(sims.sim[sims.mask() & (sims.generation == 0)], minlength=sims.n_sims)
    return EtasForecast(start=time_begin + timedelta(days=sims.t_start), end=time_begin + timedelta(days=sims.t_end),
                        n_sims=sims.n_sims, mag_threshold=sims.mag_threshold, beta=sims.beta, mmax=sims.mmax,
                        expected_total=mean_all, n_background_mean=float(bg.mean()), by_magnitude=tuple(out),
                        counts=counts_all)


def etas_forecast(fit, start, days: float, *, magnitudes=(5.0, 6.0), n_sims: int = 10_000,
                  history: EtasHistory | None = None, mmax: float | None = None,
                  seed=None) -> tuple[EtasForecast, SimulatedCatalogs]:
    """Forecast (start, start + days] from an :class:`~tianshan.analysis.etas.fit.EtasFit`.

    ``start``: aware datetime or ``YYYY-MM-DD[ HH:MM:SS]``; ``history``: triggering events
    (default: the fitted catalogue up to ``start``; add later events such as the mainshock
    with :meth:`EtasHistory.from_lonlat`). Returns the summary and the simulations (for maps).
    """
    from tianshan.analysis.etas.data import parse_time

    if not days > 0:
        raise InputError(f"the forecast length must be > 0 days, not {days!r}", field="days")
    t0 = parse_time(start, "start")
    tb = fit.catalog.time_begin
    ta = (t0.timestamp() - tb.timestamp()) / DAY_S
    if history is None:
        history = EtasHistory.from_catalog(fit.catalog)
    sims = simulate_etas(fit, ta, ta + float(days), n_sims, history=history.up_to(ta) if len(history) else history,
                         mmax=mmax, seed=seed)
    return summarize(sims, magnitudes, tb), sims


# ------------------------------------------------------------------------------------------
# Gridded maps
# ------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ForecastGrid:
    """Expected numbers and probabilities on a regular longitude/latitude grid.

    Cell (iy, ix) spans ``[west + ix step, west + (ix+1) step) x [south + iy step, ...)``.
    ``expected`` (ny, nx): mean number of events >= ``mag_threshold`` in the window;
    ``probability`` (k, ny, nx): for each of ``magnitudes``, the fraction of simulations with
    an event >= that magnitude in the cell.
    """

    west_deg: float
    south_deg: float
    step_deg: float
    nx: int
    ny: int
    expected: np.ndarray
    magnitudes: tuple[float, ...]
    probability: np.ndarray
    mag_threshold: float
    beta: float
    mmax: float | None
    n_sims: int
    start: datetime
    end: datetime

    def expected_above(self, min_magnitude: float) -> np.ndarray:
        """Expected number of events >= ``min_magnitude`` per cell (product rule, module docstring)."""
        return self.expected * float(gr_exceedance(min_magnitude, self.beta, self.mag_threshold, self.mmax))

    def probability_above(self, min_magnitude: float) -> np.ndarray:
        for k, m in enumerate(self.magnitudes):
            if abs(m - min_magnitude) < 1e-9:
                return self.probability[k]
        raise KeyError(min_magnitude)

    def cell_origins(self) -> np.ndarray:
        """Lower-left (lon, lat) of every cell, row-major (latitude rows, longitude fastest)."""
        iy, ix = np.divmod(np.arange(self.nx * self.ny), self.nx)
        return np.column_stack([self.west_deg + ix * self.step_deg, self.south_deg + iy * self.step_deg])

    def write_csv(self, path: str | os.PathLike) -> None:
        """One row per cell: centre lon/lat, expected number >= m0 and >= each magnitude, probabilities."""
        from tianshan.io.atomic import atomic_open

        org = self.cell_origins() + 0.5 * self.step_deg
        exp = self.expected.ravel()
        head = ["lon_deg", "lat_deg", f"expected_m{self.mag_threshold:g}"]
        head += [f"expected_m{m:g}" for m in self.magnitudes] + [f"probability_m{m:g}" for m in self.magnitudes]
        with atomic_open(path) as fh:
            fh.write(",".join(head) + "\n")
            ex = [self.expected_above(m).ravel() for m in self.magnitudes]
            pr = [self.probability[k].ravel() for k in range(len(self.magnitudes))]
            for i in range(exp.size):
                vals = [f"{org[i, 0]:.4f}", f"{org[i, 1]:.4f}", f"{exp[i]:.6g}"]
                vals += [f"{e[i]:.6g}" for e in ex] + [f"{p[i]:.6g}" for p in pr]
                fh.write(",".join(vals) + "\n")


def _cell_index(lon, lat, west, south, step, nx, ny) -> np.ndarray:
    ix = np.floor((np.asarray(lon) - west) / step).astype(np.int64)
    iy = np.floor((np.asarray(lat) - south) / step).astype(np.int64)
    ok = (ix >= 0) & (ix < nx) & (iy >= 0) & (iy < ny)
    return np.where(ok, iy * nx + ix, -1)


def background_per_cell(fit, west: float, south: float, step_deg: float, nx: int, ny: int, days: float,
                        subcells: int = 5) -> np.ndarray:
    """Expected number of background events per cell in ``days``: ``mu u`` integrated over each cell
    by the midpoint rule on ``subcells`` x ``subcells`` sub-cells (areas from the projection's
    Jacobian), counting only sub-cells whose centre lies in the study polygon (the background
    is fitted there only). Shape (ny, nx)."""
    from tianshan.analysis.etas.declustering import background_density
    from tianshan.analysis.etas.simulate import inside_polygon

    cat = fit.catalog
    k = int(subcells)
    d = step_deg / k
    lon = west + (np.arange(nx * k) + 0.5) * d
    lat = south + (np.arange(ny * k) + 0.5) * d
    glon, glat = np.meshgrid(lon, lat)
    x, y = cat.projection.forward(glon.ravel(), glat.ravel())
    xe, ye = cat.projection.forward(glon.ravel() + 1e-4, glat.ravel())
    xn, yn = cat.projection.forward(glon.ravel(), glat.ravel() + 1e-4)
    area = np.abs((xe - x) * (yn - y) - (ye - y) * (xn - x)) / 1e-8 * d * d
    u = background_density(cat, fit.prob_background, fit.bandwidth, x, y)
    dens = fit.params.mu * u * area * days * inside_polygon(x, y, cat.polygon_xy)
    return dens.reshape(ny, k, nx, k).sum(axis=(1, 3))


def forecast_grid(sims: SimulatedCatalogs, fit, bbox: tuple[float, float, float, float], step_deg: float, *,
                  magnitudes=(5.0, 6.0), analytic_background: bool = True) -> ForecastGrid:
    """Grid simulated catalogues over ``bbox`` = (west, south, east, north) in cells of ``step_deg``.

    ``fit`` is the :class:`~tianshan.analysis.etas.fit.EtasFit` simulated (projection, time origin,
    background). With ``analytic_background`` the background part of the expected numbers is
    its exact expectation (:func:`background_per_cell`) instead of the simulated background
    events, so that cells far from past seismicity get their small but nonzero rate (CSEP
    likelihoods need it); triggered events are counted from the simulations. Probabilities
    are counted from the simulations. East/north are rounded to a whole number of cells.
    """
    west, south, east, north = (float(v) for v in bbox)
    if not (step_deg > 0 and east > west and north > south):
        raise InputError(f"bad grid: box {bbox}, step {step_deg}", field="grid")
    nx = max(1, int(round((east - west) / step_deg)))
    ny = max(1, int(round((north - south) / step_deg)))
    catalog = fit.catalog
    lon, lat = catalog.projection.inverse(sims.x, sims.y)
    cell = _cell_index(lon, lat, west, south, step_deg, nx, ny)
    use = sims.inside & (cell >= 0)
    counted = use & (sims.generation > 0) if analytic_background else use
    expected = (np.bincount(cell[counted], minlength=nx * ny) / sims.n_sims).reshape(ny, nx)
    if analytic_background:
        expected = expected + background_per_cell(fit, west, south, step_deg, nx, ny, sims.t_end - sims.t_start)
    mags = tuple(sorted(float(m) for m in magnitudes))
    prob = np.zeros((len(mags), nx * ny))
    for k, mx in enumerate(mags):
        sel = use & (sims.magnitude >= mx)
        pairs = np.unique(sims.sim[sel] * (nx * ny) + cell[sel])
        prob[k] = np.bincount(pairs % (nx * ny), minlength=nx * ny) / sims.n_sims
    tb = catalog.time_begin
    return ForecastGrid(west_deg=west, south_deg=south, step_deg=float(step_deg), nx=nx, ny=ny,
                        expected=expected, magnitudes=mags, probability=prob.reshape(len(mags), ny, nx),
                        mag_threshold=sims.mag_threshold, beta=sims.beta, mmax=sims.mmax, n_sims=sims.n_sims,
                        start=tb + timedelta(days=sims.t_start), end=tb + timedelta(days=sims.t_end))


# ------------------------------------------------------------------------------------------
# Reasenberg & Jones (1989)
# ------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ReasenbergJones:
    """Reasenberg & Jones (1989) aftershock rate model (module docstring); ``c_days`` in days."""

    a: float = -1.67
    b: float = 0.91
    p: float = 1.08
    c_days: float = 0.05

    def rate_per_day(self, t_days, mainshock_magnitude: float, min_magnitude: float):
        """lambda(t, M) = 10^(a + b (Mm - M)) (t + c)^-p, events per day at t days after the mainshock."""
        return 10.0 ** (self.a + self.b * (mainshock_magnitude - min_magnitude)) * np.power(
            np.asarray(t_days, float) + self.c_days, -self.p)

    def expected_number(self, mainshock_magnitude: float, min_magnitude: float, t1_days: float,
                        t2_days: float) -> float:
        """Integral of the rate over [t1, t2] days after the mainshock."""
        if not 0.0 <= t1_days <= t2_days:
            raise InputError(f"need 0 <= t1 <= t2, got {t1_days}, {t2_days}", field="window")
        k = 10.0 ** (self.a + self.b * (mainshock_magnitude - min_magnitude))
        c = self.c_days
        if abs(self.p - 1.0) < 1e-12:
            return k * math.log((t2_days + c) / (t1_days + c))
        return k * ((t2_days + c) ** (1.0 - self.p) - (t1_days + c) ** (1.0 - self.p)) / (1.0 - self.p)

    def probability(self, mainshock_magnitude: float, min_magnitude: float, t1_days: float, t2_days: float) -> float:
        """P(at least one aftershock >= min_magnitude in [t1, t2]) = 1 - exp(-N)."""
        return -math.expm1(-self.expected_number(mainshock_magnitude, min_magnitude, t1_days, t2_days))

    def as_dict(self) -> dict:
        return {"a": self.a, "b": self.b, "p": self.p, "c_days": self.c_days}


#: Generic California parameters (Reasenberg & Jones 1989).
GENERIC_CALIFORNIA = ReasenbergJones()


# ------------------------------------------------------------------------------------------
# Bulletin
# ------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Mainshock:
    """The event a forecast follows: aware UTC time, epicentre, magnitude, optional name."""

    time: datetime
    latitude_deg: float
    longitude_deg: float
    magnitude: float
    name: str = ""


def _pct(p: float) -> str:
    if p >= 0.995:
        return ">99%"
    if p < 0.005:
        return "<1%"
    return f"{100.0 * p:.0f}%"


def aftershock_bulletin(forecast: EtasForecast, *, mainshock: Mainshock | None = None, region: str = "",
                        rj: ReasenbergJones | None = GENERIC_CALIFORNIA, fit_summary: str = "") -> str:
    """Bilingual (中文 / English) plain-text forecast product (module docstring).

    ``rj``: the Reasenberg-Jones model for the mainshock (None to leave it out; needs
    ``mainshock``); ``fit_summary``: one line describing the fitted model.
    """
    f = forecast
    lines = ["地震概率预测 / Earthquake probability forecast", "=" * 46]
    if region:
        lines.append(f"区域 / Region: {region}")
    if mainshock is not None:
        ms = mainshock
        lines.append(f"主震 / Mainshock: {ms.name + ' ' if ms.name else ''}{ms.time:%Y-%m-%d %H:%M:%S} UTC, "
                     f"{ms.latitude_deg:.2f}°N {ms.longitude_deg:.2f}°E, M{ms.magnitude:.1f}")
    lines.append(f"预测时段 / Forecast period: {f.start:%Y-%m-%d %H:%M} — {f.end:%Y-%m-%d %H:%M} UTC "
                 f"({f.days:g} 天 / days)")
    lines.append("")
    lines.append(f"ETAS 模型（{f.n_sims} 次随机模拟）/ ETAS model ({f.n_sims} simulated catalogues)")
    if fit_summary:
        lines.append(f"  {fit_summary}")
    lines.append(f"  M≥{f.mag_threshold:.2f} 预期地震数 / expected number of events: {f.expected_total:.1f}"
                 f" (其中背景地震 / of which background: {f.n_background_mean:.2f})")
    for m in f.by_magnitude:
        lo, _, hi = m.quantiles
        obs = "" if m.observed is None else f"; 实际 / observed {m.observed}"
        lines.append(f"  M≥{m.min_magnitude:.1f}: 预期次数 / expected {m.expected:.2f}"
                     f" (90% 区间 / range {lo:.0f}–{hi:.0f}); 发生概率 / probability {_pct(m.probability)}{obs}")
    if rj is not None and mainshock is not None:
        t1 = max(0.0, (f.start - mainshock.time).total_seconds() / DAY_S)
        t2 = (f.end - mainshock.time).total_seconds() / DAY_S
        lines.append("")
        lines.append(f"Reasenberg–Jones (1989) 模型（加州通用参数，未针对本区标定）/ model (generic California "
                     f"parameters, not calibrated here): a={rj.a:g}, b={rj.b:g}, p={rj.p:g}, c={rj.c_days:g} d")
        for m in f.by_magnitude:
            n = rj.expected_number(mainshock.magnitude, m.min_magnitude, t1, t2)
            lines.append(f"  M≥{m.min_magnitude:.1f}: 预期次数 / expected {n:.2f}; 发生概率 / probability "
                         f"{_pct(-math.expm1(-n))}")
    lines.append("")
    lines.append("说明：以上为统计模型给出的概率预测，不是确定性预报。/ Note: these are statistical model "
                 "probabilities, not deterministic predictions.")
    return "\n".join(lines) + "\n"

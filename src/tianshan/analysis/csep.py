"""CSEP evaluation of gridded forecasts made by this system, through pyCSEP.

The forecasts of :mod:`tianshan.analysis.etas.forecast` (:class:`ForecastGrid`) are turned into
pyCSEP objects (Savran et al. 2022, Seismol. Res. Lett. 93:2858, pyCSEP 0.8):

* region: :class:`csep.core.regions.CartesianGrid2D` built from the grid's cell origins (same
  row-major order, so cell k of the grid is polygon k of the region), with the magnitude bins
  (lower edges, regular, the last bin open-ended as pyCSEP bins them);
* forecast: :class:`csep.core.forecasts.GriddedForecast` with rate[cell, bin] = expected number
  of events >= m0 in the cell times the Gutenberg-Richter probability of the bin. This is
  the exact ETAS expectation (an event's magnitude is independent of its existence,
  :mod:`~tianshan.analysis.etas.forecast`). When the observed magnitudes are rounded to
  ``delta_m`` (the catalogue's reporting step), a bin with lower edge e collects reported
  magnitudes e, e + delta_m, ..., so its probability is taken over true magnitudes
  [e - delta_m/2, e_next - delta_m/2). Rates are floored at :data:`MIN_RATE` so that a target
  event in a cell the simulations never reached scores a finite (very low) likelihood;
* observations: :class:`csep.core.catalogs.CSEPCatalog` of the events in the forecast period
  (start <= t < end), magnitude >= the first bin, inside the region's cells.

Tests (Schorlemmer et al. 2007, Seismol. Res. Lett. 78:17; Zechar, Gerstenberger & Rhoades
2010, Bull. Seismol. Soc. Am. 100:1184; Werner et al. 2011, Bull. Seismol. Soc. Am. 101:1630
for CL; Rhoades et al. 2011, Acta Geophys. 59:728 for T and W), run by pyCSEP's
``poisson_evaluations``:

* **N** (number): ``delta1 = P(N >= N_obs)``, ``delta2 = P(N <= N_obs)`` under a Poisson
  count; rejected when either is below ``alpha / 2`` (two-sided);
* **L** (likelihood), **CL** (conditional likelihood: counts fixed to the observed number),
  **M** (magnitude), **S** (spatial): the quantile gamma of the observed joint log-likelihood
  among ``num_simulations`` catalogues drawn from the forecast; rejected when gamma < alpha
  (one-sided: too low a likelihood);
* **T** (paired t-test): information gain per earthquake of the forecast over a benchmark
  with its (1 - alpha) confidence interval; the forecast is *better* when the interval is above
  zero, *worse* when below;
* **W** (Wilcoxon signed-rank): whether the median log-rate difference differs significantly
  (p < alpha) from the one implied by the total rates.

The Poisson tests assume Poisson counts in every bin; ETAS counts are over-dispersed (one
large event brings many), so :func:`simulated_number_test` gives the catalogue-based
N-test as well (Savran et al. 2020, Bull. Seismol. Soc. Am. 110:1799): the same quantiles
from the distribution of the simulated counts. M, S and CL are undefined without observed
events, T and W without two; they are reported as not applicable (``passed`` None).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timezone

import numpy as np

from tianshan.core.errors import InputError

UTC = timezone.utc
#: Smallest rate of a space-magnitude bin (events per forecast period).
MIN_RATE = 1e-12
CONSISTENCY_TESTS = ("N", "M", "S", "L", "CL")


@dataclass(frozen=True)
class CsepResult:
    """One CSEP test: ``test`` code (N, M, S, L, CL, T, W, N-sim), pyCSEP's ``name``, the observed
    statistic, the quantile(s), ``passed`` (None where not applicable or for comparisons),
    ``verdict`` in words and ``detail`` (numbers specific to the test)."""

    test: str
    name: str
    observed_statistic: float
    quantile: tuple[float, ...]
    passed: bool | None
    alpha: float
    verdict: str
    detail: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        def clean(v):
            return None if isinstance(v, float) and not math.isfinite(v) else v

        return {"test": self.test, "name": self.name, "observed_statistic": clean(self.observed_statistic),
                "quantile": [clean(float(q)) for q in self.quantile], "passed": self.passed, "alpha": self.alpha,
                "verdict": self.verdict, "detail": {k: clean(v) for k, v in self.detail.items()}}


def magnitude_bins(min_magnitude: float, max_magnitude: float, delta_m: float = 0.1) -> np.ndarray:
    """Regular lower bin edges min, min + delta_m, ..., max (pyCSEP's magnitude layout)."""
    if not (delta_m > 0 and max_magnitude >= min_magnitude):
        raise InputError(f"bad magnitude bins {min_magnitude}..{max_magnitude} step {delta_m}", field="magnitudes")
    n = int(round((max_magnitude - min_magnitude) / delta_m)) + 1
    return np.round(min_magnitude + delta_m * np.arange(n), 6)


def csep_region(grid, mag_bins):
    """pyCSEP :class:`CartesianGrid2D` with the cells of ``grid`` (:class:`ForecastGrid`) and ``mag_bins``."""
    from csep.core.regions import CartesianGrid2D

    return CartesianGrid2D.from_origins(np.round(grid.cell_origins(), 8), dh=grid.step_deg,
                                        magnitudes=np.asarray(mag_bins, float), name="tianshan-grid")


def bin_probabilities(mag_bins, beta: float, m0: float, mmax: float | None = None,
                      delta_m: float | None = None) -> np.ndarray:
    """Gutenberg-Richter probability of each magnitude bin (module docstring; last bin open)."""
    from tianshan.analysis.etas.simulate import gr_exceedance

    edges = np.asarray(mag_bins, float) - (0.5 * delta_m if delta_m else 0.0)
    upper = np.append(gr_exceedance(edges[1:], beta, m0, mmax), 0.0)
    return gr_exceedance(edges, beta, m0, mmax) - upper


def to_csep_forecast(grid, mag_bins, *, name: str = "ETAS", delta_m: float | None = None, region=None):
    """pyCSEP :class:`GriddedForecast` of a :class:`ForecastGrid` (module docstring)."""
    from csep.core.forecasts import GriddedForecast

    region = csep_region(grid, mag_bins) if region is None else region
    probs = bin_probabilities(mag_bins, grid.beta, grid.mag_threshold, grid.mmax, delta_m)
    rates = np.maximum(grid.expected.reshape(-1, 1) * probs.reshape(1, -1), MIN_RATE)
    return GriddedForecast(data=rates, region=region, magnitudes=np.asarray(mag_bins, float), name=name,
                           start_time=grid.start, end_time=grid.end)


def observed_catalog(catalog, region, start: datetime, end: datetime, *, name: str = "observed"):
    """pyCSEP :class:`CSEPCatalog` of the events of ``catalog`` (a
    :class:`~tianshan.analysis.catalog.SeismicCatalog`) with ``start <= t < end``, magnitude >=
    the region's first magnitude bin, inside the region's cells."""
    from csep.core.catalogs import CSEPCatalog

    t = np.asarray(catalog.time_s, float)
    m_min = float(np.min(region.magnitudes))
    keep = (t >= start.timestamp()) & (t < end.timestamp()) & (np.asarray(catalog.magnitude) >= m_min - 1e-6)
    idx = np.flatnonzero(keep)
    depth = np.nan_to_num(np.asarray(catalog.depth_km, float), nan=10.0)
    events = [(str(k), int(round(t[k] * 1000.0)), float(catalog.latitude_deg[k]), float(catalog.longitude_deg[k]),
               float(depth[k]), float(catalog.magnitude[k])) for k in idx]
    cat = CSEPCatalog(data=events, region=region, name=name, compute_stats=False)
    if cat.event_count:
        cat.filter_spatial(region, in_place=True)
    return cat


def _n_obs(catalog) -> int:
    return int(catalog.event_count)


def consistency_tests(forecast, catalog, tests=CONSISTENCY_TESTS, *, num_simulations: int = 1000, seed=None,
                      alpha: float = 0.05) -> tuple[CsepResult, ...]:
    """Run the Poisson consistency tests ``tests`` (subset of N, M, S, L, CL) of pyCSEP.

    Note: pyCSEP seeds NumPy's global generator with ``seed`` when one is given.
    """
    from csep.core import poisson_evaluations as pe

    unknown = [t for t in tests if t not in CONSISTENCY_TESTS]
    if unknown:
        raise InputError(f"unknown CSEP test(s) {unknown} (known: {', '.join(CONSISTENCY_TESTS)})", field="tests")
    n_obs = _n_obs(catalog)
    out = []
    for code in tests:
        if code == "N":
            r = pe.number_test(forecast, catalog)
            d1, d2 = (float(q) for q in r.quantile)
            ok = min(d1, d2) >= alpha / 2.0
            verdict = "consistent" if ok else ("too few forecast" if d1 < alpha / 2.0 else "too many forecast")
            out.append(CsepResult("N", r.name, float(r.observed_statistic), (d1, d2), ok, alpha, verdict,
                                  {"forecast_count": float(forecast.event_count)}))
            continue
        if code in ("M", "S", "CL") and n_obs == 0:
            out.append(CsepResult(code, f"Poisson {code}-Test", math.nan, (math.nan,), None, alpha,
                                  "not applicable (no observed event)"))
            continue
        fn = {"M": pe.magnitude_test, "S": pe.spatial_test, "L": pe.likelihood_test,
              "CL": pe.conditional_likelihood_test}[code]
        r = fn(forecast, catalog, num_simulations=num_simulations, seed=seed)
        sim = np.asarray(r.test_distribution, float)
        gamma = float(r.quantile)
        ok = gamma >= alpha
        out.append(CsepResult(code, r.name, float(r.observed_statistic), (gamma,), ok, alpha,
                              "consistent" if ok else "rejected (likelihood too low)",
                              {"simulated_median": float(np.median(sim)),
                               "simulated_5pct": float(np.quantile(sim, 0.05))}))
    return tuple(out)


def comparison_tests(forecast, benchmark, catalog, *, alpha: float = 0.05) -> tuple[CsepResult, ...]:
    """T (paired t-test) and W (Wilcoxon) comparisons of ``forecast`` against ``benchmark``."""
    from csep.core import poisson_evaluations as pe

    if _n_obs(catalog) < 2:  # the t-test's variance needs two target events
        na = "not applicable (fewer than two observed events)"
        return (CsepResult("T", "Paired T-Test", math.nan, (math.nan,), None, alpha, na),
                CsepResult("W", "W-Test", math.nan, (math.nan,), None, alpha, na))
    t = pe.paired_t_test(forecast, benchmark, catalog, alpha=alpha)
    lo, hi = (float(v) for v in t.test_distribution)
    ig = float(t.observed_statistic)
    verdict = "better than benchmark" if lo > 0 else ("worse than benchmark" if hi < 0 else "not distinguishable")
    t_stat, t_crit, _ = t.quantile
    tres = CsepResult("T", t.name, ig, (float(t_stat), float(t_crit)), None, alpha, verdict,
                      {"information_gain": ig, "ig_lower": lo, "ig_upper": hi,
                       "benchmark": str(benchmark.name)})
    w = pe.w_test(forecast, benchmark, catalog)
    pval = float(w.quantile)
    wres = CsepResult("W", w.name, float(w.observed_statistic), (pval,), None, alpha,
                      "medians differ significantly" if pval < alpha else "no significant difference",
                      {"benchmark": str(benchmark.name)})
    return tres, wres


def simulated_number_test(counts, observed: int, *, alpha: float = 0.05) -> CsepResult:
    """Catalogue-based N-test (Savran et al. 2020): quantiles of ``observed`` among simulated counts."""
    c = np.asarray(counts)
    if c.size == 0:
        raise InputError("no simulated counts", field="counts")
    d1 = float(np.mean(c >= observed))
    d2 = float(np.mean(c <= observed))
    ok = min(d1, d2) >= alpha / 2.0
    verdict = "consistent" if ok else ("too few forecast" if d1 < alpha / 2.0 else "too many forecast")
    return CsepResult("N-sim", "Catalog N-Test (simulated counts)", float(observed), (d1, d2), ok, alpha, verdict,
                      {"simulated_mean": float(c.mean()), "simulated_5pct": float(np.quantile(c, 0.05)),
                       "simulated_95pct": float(np.quantile(c, 0.95))})


def format_results(results) -> str:
    """One line per result, for reports and benchmarks."""
    rows = []
    for r in results:
        q = ", ".join("n/a" if not math.isfinite(v) else f"{v:.3g}" for v in r.quantile)
        obs = "n/a" if not math.isfinite(r.observed_statistic) else f"{r.observed_statistic:.4g}"
        status = {True: "pass", False: "FAIL", None: "-"}[r.passed]
        rows.append(f"{r.test:5s} {r.name:34s} observed {obs:>10s}  quantile(s) {q:22s} {status:4s}  {r.verdict}")
    return "\n".join(rows)

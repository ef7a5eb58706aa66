"""Validation of the stochastic simulator against the BSSA14 GMPE.

Boore, D. M., J. P. Stewart, E. Seyhan & G. M. Atkinson (2014). NGA-West2
equations for predicting PGA, PGV, and 5 % damped PSA for shallow crustal
earthquakes. *Earthquake Spectra* 30(3), 1057-1085 -- evaluated with the
OpenQuake hazardlib implementation ``BooreEtAl2014`` (no re-implementation).

Geometry: a vertical point source at ``depth_km`` (10 km); the epicentral
distance is taken as Rjb for BSSA14 and the hypocentral distance
``sqrt(Rjb^2 + depth^2)`` is given to the simulator. Site: Vs30 = 760 m/s (the
BSSA14 reference rock, close to the generic rock of the simulator). Mechanism:
strike-slip (rake 0): BSSA14's "unspecified" class cannot be selected through
hazardlib, which derives the class from the rake; for PGA and PGV the
strike-slip and unspecified coefficients differ by < 0.04 ln units.

Measure: median over seeded realisations of RotD50 PGA and PGV (Boore 2010),
as BSSA14 predicts RotD50. Criterion: ``|ln(sim median / GMPE median)| <= sigma``
with sigma the BSSA14 total standard deviation of that cell.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from tianshan.sim.peaks import pga_m_s2, pgv_m_s
from tianshan.sim.stochastic import DEFAULT, StochasticParams, duration_s, simulate_components

__all__ = ["ValidationRow", "bssa14_medians", "simulated_medians", "validation_table", "to_markdown",
           "G_M_S2"]

#: Standard gravity (m/s^2), hazardlib's PGA unit.
G_M_S2 = 9.80665


@dataclass(frozen=True)
class ValidationRow:
    """One cell of the validation: PGA in g, PGV in cm/s, ln ratio and sigma in natural-log units."""

    mw: float
    rjb_km: float
    imt: str
    sim_median: float
    gmpe_median: float
    ln_ratio: float
    sigma: float

    @property
    def passed(self) -> bool:
        return abs(self.ln_ratio) <= self.sigma


def bssa14_medians(mw: np.ndarray, rjb_km: np.ndarray, vs30_m_s: float = 760.0,
                   rake_deg: float = 0.0) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """BSSA14 median and total sigma: ``{"PGA": (median g, sigma ln), "PGV": (median cm/s, sigma ln)}``.

    Uses ``openquake.hazardlib.contexts.simple_cmaker`` and ``get_mean_stds``
    (hazardlib returns ln(g) for PGA and ln(cm/s) for PGV).
    """
    from openquake.hazardlib.contexts import simple_cmaker
    from openquake.hazardlib.gsim.boore_2014 import BooreEtAl2014

    mw = np.atleast_1d(np.asarray(mw, dtype=float))
    rjb_km = np.atleast_1d(np.asarray(rjb_km, dtype=float))
    cmaker = simple_cmaker([BooreEtAl2014()], ["PGA", "PGV"])
    ctx = cmaker.new_ctx(mw.size)
    ctx.mag = mw
    ctx.rjb = rjb_km
    ctx.rake = rake_deg
    ctx.vs30 = vs30_m_s
    mean, sig, _tau, _phi = cmaker.get_mean_stds([ctx])
    return {"PGA": (np.exp(mean[0, 0]), sig[0, 0]), "PGV": (np.exp(mean[0, 1]), sig[0, 1])}


def simulated_medians(mw: float, rjb_km: float, n_realisations: int, rng: np.random.Generator,
                      params: StochasticParams = DEFAULT, depth_km: float = 10.0,
                      sample_rate_hz: float = 100.0) -> tuple[float, float]:
    """Median RotD50 PGA (g) and PGV (cm/s) of ``n_realisations`` simulated records."""
    r_hyp_m = 1000.0 * math.hypot(rjb_km, depth_km)
    p_delay = 1.0
    s_delay = p_delay + r_hyp_m * (1.0 / params.shear_velocity_m_s - 1.0 / params.p_velocity_m_s)
    length = s_delay + 4.0 * duration_s(mw, r_hyp_m, params, "S") + 5.0
    n_samples = int(math.ceil(length * sample_rate_hz))
    pga, pgv = [], []
    for _ in range(n_realisations):
        acc = simulate_components(mw, r_hyp_m, p_delay, s_delay, n_samples, sample_rate_hz, rng,
                                  params)
        pga.append(pga_m_s2(acc) / G_M_S2)
        pgv.append(100.0 * pgv_m_s(acc, sample_rate_hz))
    return float(np.median(pga)), float(np.median(pgv))


def validation_table(magnitudes=(4.0, 5.0, 6.0, 7.0), distances_km=(10.0, 20.0, 50.0, 100.0, 200.0),
                     n_realisations: int = 30, seed: int = 2003,
                     params: StochasticParams = DEFAULT, depth_km: float = 10.0,
                     sample_rate_hz: float = 100.0) -> list[ValidationRow]:
    """Rows (PGA then PGV for each M, R cell) comparing simulated medians with BSSA14."""
    rng = np.random.default_rng(seed)
    cells = [(float(m), float(r)) for m in magnitudes for r in distances_km]
    gmpe = bssa14_medians(np.array([c[0] for c in cells]), np.array([c[1] for c in cells]))
    rows: list[ValidationRow] = []
    for i, (m, r) in enumerate(cells):
        sim = simulated_medians(m, r, n_realisations, rng, params, depth_km, sample_rate_hz)
        for k, imt in enumerate(("PGA", "PGV")):
            median, sigma = gmpe[imt][0][i], gmpe[imt][1][i]
            rows.append(ValidationRow(m, r, imt, sim[k], float(median),
                                      math.log(sim[k] / median), float(sigma)))
    return rows


def to_markdown(rows: list[ValidationRow]) -> str:
    """Markdown table: M, Rjb, sim and GMPE medians, ln ratio, sigma, pass (one table per IMT)."""
    out = []
    for imt, unit in (("PGA", "g"), ("PGV", "cm/s")):
        out.append(f"| M | Rjb (km) | sim {imt} ({unit}) | BSSA14 {imt} ({unit}) | ln(sim/GMPE) "
                   "| sigma | pass |")
        out.append("|---|---|---|---|---|---|---|")
        for row in rows:
            if row.imt == imt:
                out.append(f"| {row.mw:.1f} | {row.rjb_km:.0f} | {row.sim_median:.4g} | "
                           f"{row.gmpe_median:.4g} | {row.ln_ratio:+.2f} | {row.sigma:.2f} | "
                           f"{'yes' if row.passed else 'NO'} |")
        out.append("")
    return "\n".join(out)

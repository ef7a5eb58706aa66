"""EEW magnitude from Pd (with distance correction) and tau_p_max, combined with uncertainties.

Relations
---------
* **Pd** (Kuyuk & Allen 2013, GRL 40, 6329-6333, the relation ElarmS-2 adopted)::

      M_Pd = 1.23 log10(Pd[cm]) + 1.38 log10(R[km]) + 5.39        sigma 0.31

  Pd: peak vertical displacement (0.075 Hz high-pass) in the P window; R: distance from the
  current hypocentre (hypocentral here, floored at ``min_distance_m``).
* **tau_p_max** (Allen & Kanamori 2003, Science 300, 786)::

      M_taup = 7.0 log10(tau_p_max[s]) + 5.9                        sigma 0.5 (choice)

``pd_offset`` / ``taup_offset`` (default 0) are regional correction terms, the way ElarmS-type
systems adapt a global relation to a region; they are to be fitted on regional data. On the
simulated demo-region earthquakes (:mod:`tianshan.sim`, stochastic P waves) M_Pd reads
0.3-0.6 units above the simulated Mw (Mw 4.5-6.5, 10 km depth, 15-80 km): a property of the
simulator's P amplitudes against the empirical relation, not corrected here.

Windows and uncertainty growth
------------------------------
A station's window runs from its onset to ``min(data so far, max_window_s, predicted S
arrival - s_margin_s)`` (ElarmS practice: no S energy in the P window). Both Pd and tau_p_max
can only grow with the window, so short windows underestimate; a station's sigma is inflated
by ``short_window_penalty`` per second its window falls short of ``full_window_s`` (choice),
and windows shorter than ``min_window_s`` are not used. The event magnitude is the
inverse-variance weighted mean of all station estimates (Pd and tau_p) with uncertainty
``max(1 / sqrt(sum w), weighted scatter / sqrt(n))``; ``magnitude_pd`` and
``magnitude_taup`` report the two families separately. When the two family means differ by
more than ``max_family_difference`` (1.0) the tau_p estimates are left out of the combined
value: Kuyuk & Allen (2013) found tau_p_max less accurate than Pd (no scaling below M 3,
larger errors for large events), and the ElarmS-2 magnitude is Pd-based (Kuyuk et al. 2014);
tau_p measured on low-cost MEMS records (the 2018 Mexico data: M 9-10 from tau_p against
about 6.5 from Pd) is dominated by the sensors' long-period noise. Sensors flagged clipped
are left out (their Pd is a lower bound) unless nothing else is available.

Saturation (documented approach; a finite-fault extension is left to a later step)
------------------------------------------------------------------------------------
A P window shorter than the rupture's duration sees only part of the moment release
(Rydelek & Horiuchi 2006; Kanamori 2005), so magnitudes from the first seconds saturate
near M 6.5-7. The rupture length of the current estimate from Wells & Coppersmith (1994,
BSSA 84, Table 2A, all slip types: ``log10 L[km] = -2.44 + 0.59 M``), bilateral from its
centre at ``rupture_velocity_m_s``, gives a duration ``L / (2 v_r)``; while the longest station
window is shorter than that, the estimate is flagged ``lower_bound`` (the magnitude is a lower
bound that keeps growing as windows lengthen). No correction is applied.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterable

from tianshan.eew.config import MagnitudeConfig
from tianshan.eew.station import StationMeasurement

#: Wells & Coppersmith (1994) Table 2A: subsurface rupture length (km), all slip types: (a, b).
WC94_RLD_ALL = (-2.44, 0.59)


@dataclass(frozen=True, slots=True)
class StationMagnitude:
    """One station's magnitude estimates (None where not measurable)."""

    station_id: str
    sensor_id: str
    distance_m: float
    window_s: float
    pd_m: float
    tau_p_max_s: float | None
    m_pd: float | None
    sigma_pd: float | None
    m_taup: float | None
    sigma_taup: float | None
    clipped: bool


@dataclass(frozen=True, slots=True)
class MagnitudeEstimate:
    """Event magnitude: combined value, uncertainty and the parts it came from."""

    value: float
    uncertainty: float
    magnitude_pd: float | None
    magnitude_taup: float | None
    n_stations: int
    max_window_s: float
    lower_bound: bool
    stations: tuple[StationMagnitude, ...]


def pd_magnitude(pd_m: float, distance_m: float, config: MagnitudeConfig | None = None) -> float:
    """Kuyuk & Allen (2013) magnitude of peak displacement ``pd_m`` (m) at ``distance_m`` (m)."""
    c = config or MagnitudeConfig()
    c1, c2, c3 = c.pd_coefficients
    r_km = max(distance_m, c.min_distance_m) / 1000.0
    return c1 * math.log10(pd_m * 100.0) + c2 * math.log10(r_km) + c3 + c.pd_offset


def pd_from_magnitude(magnitude: float, distance_m: float, config: MagnitudeConfig | None = None) -> float:
    """Inverse of :func:`pd_magnitude`: expected Pd (m)."""
    c = config or MagnitudeConfig()
    c1, c2, c3 = c.pd_coefficients
    r_km = max(distance_m, c.min_distance_m) / 1000.0
    return 10 ** ((magnitude - c.pd_offset - c3 - c2 * math.log10(r_km)) / c1) / 100.0


def taup_magnitude(tau_p_max_s: float, config: MagnitudeConfig | None = None) -> float:
    """Allen & Kanamori (2003) magnitude of ``tau_p_max_s`` (s)."""
    c = config or MagnitudeConfig()
    a, b = c.taup_coefficients
    return a * math.log10(tau_p_max_s) + b + c.taup_offset


def rupture_half_duration_s(magnitude: float, config: MagnitudeConfig | None = None) -> float:
    """Duration (s) of a bilateral rupture of Wells & Coppersmith (1994) length (see the module docstring)."""
    c = config or MagnitudeConfig()
    a, b = WC94_RLD_ALL
    return 10 ** (a + b * magnitude) * 1000.0 / (2.0 * c.rupture_velocity_m_s)


def _window_sigma(base: float, window_s: float, c: MagnitudeConfig) -> float:
    return base + c.short_window_penalty * max(0.0, c.full_window_s - window_s)


def station_magnitude(m: StationMeasurement, distance_m: float,
                      config: MagnitudeConfig | None = None) -> StationMagnitude:
    """Pd and tau_p magnitudes of one station measurement at ``distance_m`` from the hypocentre."""
    c = config or MagnitudeConfig()
    usable = m.window_s >= c.min_window_s - 1e-9
    m_pd = s_pd = m_tp = s_tp = None
    if usable and m.pd_m > 0 and math.isfinite(m.pd_m):
        m_pd = pd_magnitude(m.pd_m, distance_m, c)
        s_pd = _window_sigma(c.pd_sigma, m.window_s, c)
    if usable and c.use_taup and m.tau_p_max_s is not None and m.tau_p_max_s > 0:
        m_tp = taup_magnitude(m.tau_p_max_s, c)
        s_tp = _window_sigma(c.taup_sigma, m.window_s, c)
    return StationMagnitude(m.station_id, m.sensor_id, float(distance_m), m.window_s, m.pd_m, m.tau_p_max_s,
                            m_pd, s_pd, m_tp, s_tp, m.clipped)


def _mean(values: list[tuple[float, float]]) -> tuple[float, float] | None:
    if not values:
        return None
    w = [1.0 / (s * s) for _, s in values]
    sw = sum(w)
    mean = sum(wi * v for wi, (v, _) in zip(w, values)) / sw
    formal = 1.0 / math.sqrt(sw)
    if len(values) > 1:
        scatter = math.sqrt(sum(wi * (v - mean) ** 2 for wi, (v, _) in zip(w, values)) / sw)
        formal = max(formal, scatter / math.sqrt(len(values)))
    return mean, formal


def combine(stations: Iterable[StationMagnitude], config: MagnitudeConfig | None = None) -> MagnitudeEstimate | None:
    """Event magnitude from station magnitudes (see the module docstring); None if none is usable."""
    c = config or MagnitudeConfig()
    sts = tuple(stations)
    use = [s for s in sts if not s.clipped] or list(sts)
    pd = [(s.m_pd, s.sigma_pd) for s in use if s.m_pd is not None]
    tp = [(s.m_taup, s.sigma_taup) for s in use if s.m_taup is not None]
    m_pd, m_tp = _mean(pd), _mean(tp)
    if m_pd is not None and m_tp is not None and abs(m_pd[0] - m_tp[0]) > c.max_family_difference:
        tp = []  # the two disagree: keep Pd, the more robust estimator (Kuyuk & Allen 2013)
    total = _mean(pd + tp)
    if total is None:
        return None
    n = len({s.station_id for s in use if s.m_pd is not None or s.m_taup is not None})
    longest = max((s.window_s for s in use), default=0.0)
    lower = longest < rupture_half_duration_s(total[0], c)
    return MagnitudeEstimate(total[0], total[1], None if m_pd is None else m_pd[0], None if m_tp is None else m_tp[0],
                             n, longest, lower, sts)

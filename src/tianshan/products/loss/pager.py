"""USGS PAGER empirical loss models: fatalities, economic losses, their uncertainty and the alert.

Fatalities -- Jaiswal, K. S. & Wald, D. J. (2010). An empirical model for global earthquake
fatality estimation. Earthquake Spectra 26(4):1017-1037 (also USGS OFR 2009-1136). The
fatality rate at shaking intensity ``S`` (MMI) is a lognormal CDF::

    nu(S) = Phi( ln(S / theta) / beta )

and the expected deaths ``E = sum_S nu(S) * P(S)`` over the population ``P(S)`` exposed at
each intensity, with ``S`` the integer MMI V..IX of the PAGER exposure bins (population at X
is counted at IX, as the operational PAGER does: ``losspager.models.emploss``, "we treat
MMI 10 as MMI 9"; below V the rate is taken as 0).

Economic losses -- Jaiswal, K. S. & Wald, D. J. (2011). Rapid estimation of the economic
consequences of global earthquakes. USGS Open-File Report 2011-1116. Same rate function
with its own ``theta, beta``; the exposure is economic::

    L = sum_S nu(S) * P(S) * GDP_per_capita * alpha

with ``alpha`` the country's exposure correction factor (ratio of exposed wealth to GDP).

China's parameters (checked against USGS PAGER's operational parameter files,
``usgs/pager`` ``losspager/data/fatality.xml`` and ``economy.xml``, model ``ccode="CN"``,
status "InCountry"; the papers' own tables could not be opened here):

* fatality: ``theta = 10.328811``, ``beta = 0.100058``, ``G = 2.013134`` (``gnormvalue``);
* economic: ``theta = 7.511120``, ``beta = 0.100328``, ``alpha = 9.794960``,
  ``G = 2.5`` (``gnormvalue``; PAGER caps G at 2.5).

Uncertainty -- the estimate is the median of a lognormal with log standard deviation
``zeta = G`` (the model's L2G misfit norm, which the operational PAGER uses for its range
probabilities), so ``P(a <= L < b) = Phi(ln(b/E)/zeta) - Phi(ln(a/E)/zeta)`` and
``p10, p90 = E * exp(-/+ 1.2816 zeta)``. Ranges: deaths 0, 1-9, 10-99, 100-999, 1000+
(the 0 range is ``L < 1``); losses below $1M, $1-10M, $10-100M, $100M-1B, $1B+. For
small estimates the range probabilities follow the operational PAGER rule
(``losspager.utils.probs.calcEmpiricalProbFromRange``): below one death (or $1M) ``zeta`` is
capped at 1.7613 when above 1.7, and an estimate below 0.001 is treated as 0.5 -- so "no
deaths expected" still leaves about 30 % for 1-9 deaths, as past "green" events warrant.
``p10``/``p90`` are those of the estimate itself (0 for 0).

Alert colour (USGS PAGER alert levels, Wald et al. 2010, "PAGER -- Rapid assessment of an
earthquake's impact", USGS Fact Sheet; thresholds as coded in ``losspager.models.emploss.
EmpiricalLoss.getAlertLevel``), from the median: green < 1 death / < $1M, yellow 1-99 /
$1M-$100M, orange 100-999 / $100M-$1B, red >= 1000 / >= $1B; the event's alert is the higher
of the two.

GDP per capita -- default China 2020, 10,627.5 current US$ (World Bank WDI
``NY.GDP.PCAP.CD``, as mirrored by apiardata.com), the census year of the exposure; PAGER
uses the national figure of the event year. Xinjiang's per-capita GDP is below the national
one, so the default overstates Xinjiang losses; pass ``gdp_per_capita_usd`` to change it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from tianshan.core.errors import InputError

#: z of the 10th/90th percentiles of a standard normal.
Z90 = 1.2815515655446004
#: The MMI at which PAGER evaluates the rates (bins V..IX; X is folded into IX).
RATE_MMI = (5, 6, 7, 8, 9)
FATALITY_RANGES = (("0", 0.0, 1.0), ("1-9", 1.0, 10.0), ("10-99", 10.0, 100.0), ("100-999", 100.0, 1000.0),
                   ("1000+", 1000.0, math.inf))
LOSS_RANGES_USD = (("<1M", 0.0, 1e6), ("1M-10M", 1e6, 1e7), ("10M-100M", 1e7, 1e8), ("100M-1B", 1e8, 1e9),
                   ("1B+", 1e9, math.inf))
ALERT_COLOURS = ("green", "yellow", "orange", "red")
#: Alert thresholds (lower bounds of yellow, orange, red).
FATALITY_ALERT_THRESHOLDS = (1.0, 100.0, 1000.0)
ECONOMIC_ALERT_THRESHOLDS_USD = (1e6, 1e8, 1e9)
#: PAGER's handling of tiny estimates (module docstring), in deaths or millions of US$.
LOW_LOSS_ZETA_ABOVE = 1.7
LOW_LOSS_ZETA = 1.7613
LOW_LOSS_FLOOR = 0.001
LOW_LOSS_MEDIAN = 0.5
#: China's GDP per capita in 2020, current US$ (World Bank NY.GDP.PCAP.CD; module docstring).
GDP_PER_CAPITA_USD_CN_2020 = 10_627.5


@dataclass(frozen=True, slots=True)
class LognormalLossModel:
    """``nu(S) = Phi(ln(S/theta)/beta)`` with the estimate's log standard deviation ``zeta``;
    ``alpha`` (economic models only) the exposure correction factor."""

    country: str
    theta: float
    beta: float
    zeta: float
    alpha: float | None = None
    reference: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        for name in ("theta", "beta", "zeta"):
            v = float(getattr(self, name))
            if not (math.isfinite(v) and v > 0):
                raise InputError(f"must be > 0, got {getattr(self, name)!r}", field=name)
        if self.alpha is not None and not (math.isfinite(self.alpha) and self.alpha > 0):
            raise InputError(f"must be > 0, got {self.alpha!r}", field="alpha")

    def rate(self, mmi):
        """Loss rate at MMI ``mmi`` (float or array)."""
        import numpy as np
        from scipy.special import ndtr

        s = np.asarray(mmi, dtype=np.float64)
        out = ndtr(np.log(np.maximum(s, 1e-9) / self.theta) / self.beta)
        return float(out) if out.ndim == 0 else out

    def rates_by_bin(self) -> tuple[float, ...]:
        """Rates for PAGER bins I..X: 0 below V, ``nu(k)`` for V..IX, ``nu(9)`` for X."""
        r = [0.0] * 10
        for k in RATE_MMI:
            r[k - 1] = self.rate(float(k))
        r[9] = r[8]
        return tuple(r)


CHINA_FATALITY = LognormalLossModel(
    "CN", 10.328811, 0.100058, 2.013134,
    reference="Jaiswal & Wald (2010) Earthquake Spectra 26(4):1017-1037; USGS PAGER fatality.xml, ccode CN")
CHINA_ECONOMIC = LognormalLossModel(
    "CN", 7.511120, 0.100328, 2.5, alpha=9.794960,
    reference="Jaiswal & Wald (2011) USGS OFR 2011-1116; USGS PAGER economy.xml, ccode CN")


def range_probabilities(median: float, zeta: float, ranges, unit: float = 1.0,
                        low_loss_rule: bool = True) -> dict[str, float]:
    """``P(lo <= L < hi)`` for each ``(label, lo, hi)`` of a lognormal with this median and ``zeta``.

    ``low_loss_rule`` (module docstring): in units of ``unit`` (1 death, 1e6 US$), a median
    below 1 caps ``zeta`` at 1.7613 (when above 1.7) and a median below 0.001 counts as 0.5.
    """
    from scipy.special import ndtr

    if not (math.isfinite(median) and median >= 0):
        raise InputError(f"median must be finite and >= 0, got {median!r}", field="median")
    if low_loss_rule:
        m = median / unit
        if m < 1.0 and zeta > LOW_LOSS_ZETA_ABOVE:
            zeta = LOW_LOSS_ZETA
        if m < LOW_LOSS_FLOOR:
            median = LOW_LOSS_MEDIAN * unit
    out: dict[str, float] = {}
    for label, lo, hi in ranges:
        if median <= 0:
            out[label] = 1.0 if lo <= 0.0 else 0.0
            continue
        cdf_hi = 1.0 if math.isinf(hi) else float(ndtr(math.log(hi / median) / zeta))
        cdf_lo = 0.0 if lo <= 0 else float(ndtr(math.log(lo / median) / zeta))
        out[label] = max(0.0, cdf_hi - cdf_lo)
    return out


def alert_colour(value: float, thresholds: tuple[float, float, float]) -> str:
    """``green``/``yellow``/``orange``/``red`` by the lower bounds of yellow, orange and red."""
    level = sum(1 for t in thresholds if value >= t)
    return ALERT_COLOURS[level]


def higher_alert(*colours: str) -> str:
    return ALERT_COLOURS[max(ALERT_COLOURS.index(c) for c in colours)]


@dataclass(frozen=True, slots=True)
class LossEstimate:
    """A PAGER estimate: median, spread, range probabilities, alert colour and contributions per MMI bin."""

    quantity: str
    median: float
    zeta: float
    bin_probabilities: dict
    alert: str
    by_mmi: tuple[float, ...]
    model: LognormalLossModel

    @property
    def p10(self) -> float:
        return self.median * math.exp(-Z90 * self.zeta)

    @property
    def p90(self) -> float:
        return self.median * math.exp(Z90 * self.zeta)

    @property
    def most_likely_range(self) -> str:
        return max(self.bin_probabilities, key=self.bin_probabilities.get)

    def as_dict(self, digits: int = 3) -> dict:
        return {"median": _round(self.median), "p10": _round(self.p10), "p90": _round(self.p90),
                "bin_probabilities": {k: round(v, digits) for k, v in self.bin_probabilities.items()},
                "zeta": self.zeta, "alert": self.alert}


def _round(x: float) -> float:
    if x == 0 or not math.isfinite(x):
        return x
    if abs(x) >= 100:
        return float(round(x))
    return float(f"{x:.3g}")


def _check_bins(by_mmi) -> tuple[float, ...]:
    vals = tuple(float(v) for v in by_mmi)
    if len(vals) != 10 or not all(math.isfinite(v) and v >= 0 for v in vals):
        raise InputError("exposure must give 10 populations (MMI I..X), finite and >= 0", field="by_mmi")
    return vals


def estimate_fatalities(by_mmi, model: LognormalLossModel = CHINA_FATALITY) -> LossEstimate:
    """Jaiswal & Wald (2010) deaths from population per MMI bin I..X (module docstring)."""
    pop = _check_bins(by_mmi)
    contrib = tuple(p * r for p, r in zip(pop, model.rates_by_bin()))
    median = sum(contrib)
    return LossEstimate("fatalities", median, model.zeta, range_probabilities(median, model.zeta, FATALITY_RANGES),
                        alert_colour(median, FATALITY_ALERT_THRESHOLDS), contrib, model)


def estimate_economic_loss(by_mmi, model: LognormalLossModel = CHINA_ECONOMIC,
                           gdp_per_capita_usd: float = GDP_PER_CAPITA_USD_CN_2020) -> LossEstimate:
    """Jaiswal & Wald (2011) direct economic loss (US$) from population per MMI bin (module docstring)."""
    pop = _check_bins(by_mmi)
    if model.alpha is None:
        raise InputError("an economic model needs alpha", field="alpha")
    if not (math.isfinite(gdp_per_capita_usd) and gdp_per_capita_usd > 0):
        raise InputError(f"must be > 0, got {gdp_per_capita_usd!r}", field="gdp_per_capita_usd")
    per_person = gdp_per_capita_usd * model.alpha
    contrib = tuple(p * per_person * r for p, r in zip(pop, model.rates_by_bin()))
    median = sum(contrib)
    return LossEstimate("economic_loss_usd", median, model.zeta,
                        range_probabilities(median, model.zeta, LOSS_RANGES_USD, unit=1e6),
                        alert_colour(median, ECONOMIC_ALERT_THRESHOLDS_USD), contrib, model)


def fatalities_by_unit(by_unit, model: LognormalLossModel = CHINA_FATALITY):
    """Median deaths per unit (rows of a (n_units, 10) population array)."""
    import numpy as np

    return np.asarray(by_unit, dtype=np.float64) @ np.asarray(model.rates_by_bin())

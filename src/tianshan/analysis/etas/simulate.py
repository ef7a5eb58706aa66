"""Simulation of future catalogues from a fitted space-time ETAS model, given the history.

The model is the one fitted by :mod:`tianshan.analysis.etas.fit` (Zhuang, Ogata &
Vere-Jones 2002, J. Am. Stat. Assoc. 97:369; R ETAS parameterisation, see
:mod:`tianshan.analysis.etas.model`):

    lambda(t, x, y) = mu u(x, y) + sum_{t_j < t} kappa(m_j) g(t - t_j) f(x - x_j, y - y_j | m_j)

Because the process is a branching (cluster) process, a future catalogue over the forecast
window (T_a, T_b] is drawn generation by generation (Zhuang, Ogata & Vere-Jones 2004,
J. Geophys. Res. 109:B05301, Algorithm 1 / sec. 4; the same scheme as the forecasting
simulations of Zhuang 2011, Earth Planets Space 63:207):

1. **Background** (generation 0 of new clusters): a Poisson number of events with mean
   ``mu * sum_j phi_j / T_study * (T_b - T_a)`` over the whole plane; each picks a source
   event j of the fitted catalogue with probability ``phi_j / sum phi`` and is placed at
   ``(x_j, y_j) + h_j N(0, I)``, i.e. drawn from the kernel estimate
   ``u(x, y) = (1/T_study) sum_j phi_j Z_{h_j}`` of :mod:`~tianshan.analysis.etas.declustering`
   (Zhuang et al. 2002, eq. 12); times are uniform on the window. Only events inside the study
   polygon are kept, since the background is fitted (and its integral ``integ0`` taken) there
   only: the expected number inside is ``mu * integ0 / T_study * (T_b - T_a)``.
2. **Offspring of the history** (events before T_a, e.g. the fitted catalogue plus a
   mainshock): event i has a Poisson number of direct offspring in the window with mean
   ``kappa(m_i) [S(T_a - t_i) - S(T_b - t_i)]``, where ``S(tau) = (1 + tau/c)^(1-p)`` is the
   Omori survival function (R ``gfunint``); their delays are drawn from the Omori law truncated
   to the window by inverting S.
3. **Cascade**: every simulated event at time t has ``Poisson(kappa(m) [1 - S(T_b - t)])``
   offspring in the rest of the window, recursively until a generation is empty.

Offspring are placed about their parent at distance r with
``P(R > r) = (1 + r^2/sigma(m))^(1-q)`` (inverse of the radial integral of f) and a uniform
angle. Triggered events are kept wherever they fall (they are recorded as complementary
events and go on triggering); ``inside`` says which lie in the study polygon, and forecasts
count those only.

Magnitudes are independent of everything else (Gutenberg-Richter): ``m - m0 ~ Exp(beta)``,
optionally truncated at ``mmax`` (inverse CDF ``-ln(1 - U (1 - e^{-beta (mmax - m0)})) / beta``).

**Expectations** used to check the simulator (Helmstetter & Sornette 2002, J. Geophys. Res.
107(B10):2237, eqs. 8-11; Zhuang et al. 2004): the branching ratio (mean number of direct
offspring of an event of random magnitude) is ``n = A E[exp(alpha (m - m0))]``, which is
``A beta / (beta - alpha)`` without truncation (finite only for alpha < beta) and
``A beta (1 - e^{-(beta - alpha) dM}) / ((beta - alpha)(1 - e^{-beta dM}))`` with
``dM = mmax - m0``. For n < 1 an event of magnitude m has in all
``kappa(m) / (1 - n)`` descendants over infinite time (:func:`expected_descendants`), and a
stationary background of rate r produces ``r / (1 - n)`` events per unit time.

Over a finite window only the Omori mass ``1 - S(T_b - T_a)`` counts, so the window's
effective ratio ``n (1 - S(T_b - T_a))`` (:func:`window_branching_ratio`) bounds the mean
number of in-window offspring of any event; a fit with p close to 1 can have n >= 1 (it is
then not stationary over infinite time) and still give finite, well-defined forecasts
(every expectation over a finite window is finite). Simulation is refused only when the
mean productivity diverges (alpha >= beta without ``mmax``); ``max_events`` guards against
runaway cascades.

Vectorisation: all ``n_sims`` catalogues are simulated together, one generation at a time.
The offspring of one history event summed over the simulations is Poisson with
``n_sims`` times the mean, and, given that total, each child belongs to a simulation drawn
uniformly (the sum of independent Poisson variables, conditioned on its value, is
multinomial), so the history costs O(history + offspring), not O(history x n_sims).
Times are days since the fitted catalogue's ``time_begin``; coordinates are in its
flat-map units (:mod:`~tianshan.analysis.etas.data`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from tianshan.core.errors import DomainError, InputError

#: Default cap on the total number of simulated events (all simulations), against runaway cascades.
MAX_EVENTS = 20_000_000
#: Times this close (days, ~0.1 s) to the window start count as at the start (round-off of conversions).
TIME_TOL_DAYS = 1e-6


@dataclass(frozen=True)
class EtasHistory:
    """Events before the forecast window that trigger into it.

    ``t`` days since the catalogue's ``time_begin``, ``x``/``y`` flat-map coordinates, ``m``
    magnitude minus ``m0`` (events below m0 are not part of the model and must be left out).
    """

    t: np.ndarray
    x: np.ndarray
    y: np.ndarray
    m: np.ndarray

    def __post_init__(self) -> None:
        n = np.asarray(self.t).size
        for name in ("x", "y", "m"):
            if np.asarray(getattr(self, name)).size != n:
                raise ValueError(f"EtasHistory.{name} has {np.asarray(getattr(self, name)).size} values, t has {n}")

    def __len__(self) -> int:
        return int(np.asarray(self.t).size)

    @classmethod
    def empty(cls) -> "EtasHistory":
        z = np.zeros(0)
        return cls(z, z, z, z)

    @classmethod
    def from_catalog(cls, catalog) -> "EtasHistory":
        """All events of an :class:`~tianshan.analysis.etas.data.EtasCatalog` (target and complementary)."""
        return cls(np.asarray(catalog.t, float), np.asarray(catalog.x, float), np.asarray(catalog.y, float),
                   np.asarray(catalog.m, float))

    @classmethod
    def from_lonlat(cls, catalog, time_s, longitude_deg, latitude_deg, magnitude) -> "EtasHistory":
        """Events given in POSIX seconds / degrees / magnitude, projected like ``catalog`` (the fitted
        :class:`~tianshan.analysis.etas.data.EtasCatalog`); events below its ``mag_threshold`` are dropped."""
        time_s = np.atleast_1d(np.asarray(time_s, float))
        lon = np.atleast_1d(np.asarray(longitude_deg, float))
        lat = np.atleast_1d(np.asarray(latitude_deg, float))
        mag = np.atleast_1d(np.asarray(magnitude, float))
        keep = mag >= catalog.mag_threshold
        x, y = catalog.projection.forward(lon[keep], lat[keep])
        t = (time_s[keep] - catalog.time_begin.timestamp()) / 86400.0
        return cls(t, np.asarray(x, float), np.asarray(y, float), mag[keep] - catalog.mag_threshold)

    def concat(self, other: "EtasHistory") -> "EtasHistory":
        """Both histories, in time order."""
        t = np.concatenate([self.t, other.t])
        o = np.argsort(t, kind="stable")
        return EtasHistory(t[o], np.concatenate([self.x, other.x])[o], np.concatenate([self.y, other.y])[o],
                           np.concatenate([self.m, other.m])[o])

    def up_to(self, t: float) -> "EtasHistory":
        """Events at or before ``t`` (an event at the window's start, e.g. the mainshock, triggers into it;
        times within :data:`TIME_TOL_DAYS` of ``t`` count as at ``t``)."""
        keep = np.asarray(self.t) <= t + TIME_TOL_DAYS
        return EtasHistory(self.t[keep], self.x[keep], self.y[keep], self.m[keep])


@dataclass(frozen=True)
class BackgroundModel:
    """The kernel-smoothed background ``mu u(x, y)`` as a Gaussian mixture (module docstring, step 1).

    ``x, y, bandwidth, weight``: source events, their bandwidths ``h_j`` and declustering
    probabilities ``phi_j``; ``rate_per_day``: ``mu sum(phi) / T_study``, the mixture's total
    rate over the whole plane; ``polygon_xy``: closed study polygon (background kept inside only),
    or None for no restriction.
    """

    x: np.ndarray
    y: np.ndarray
    bandwidth: np.ndarray
    weight: np.ndarray
    rate_per_day: float
    polygon_xy: np.ndarray | None = None

    @classmethod
    def from_fit(cls, fit) -> "BackgroundModel":
        """The background of an :class:`~tianshan.analysis.etas.fit.EtasFit`."""
        cat = fit.catalog
        w = np.asarray(fit.prob_background, float)
        return cls(x=np.asarray(cat.x, float), y=np.asarray(cat.y, float), bandwidth=np.asarray(fit.bandwidth, float),
                   weight=w, rate_per_day=float(fit.params.mu * w.sum() / cat.study_length),
                   polygon_xy=np.asarray(cat.polygon_xy, float))

    def expected_inside_per_day(self) -> float:
        """Rate of background events inside the polygon (``mu integ0 / T``), by the polygon masses of
        the kernels (R's polar rule, :func:`~tianshan.analysis.etas.declustering.gaussian_polygon_integrals`)."""
        if self.polygon_xy is None:
            return self.rate_per_day
        from types import SimpleNamespace

        from tianshan.analysis.etas.declustering import gaussian_polygon_integrals

        mass = gaussian_polygon_integrals(SimpleNamespace(x=self.x, y=self.y, polygon_xy=self.polygon_xy),
                                          self.bandwidth)
        return self.rate_per_day * float(np.dot(self.weight, mass) / self.weight.sum())


@dataclass(frozen=True)
class SimulatedCatalogs:
    """``n_sims`` simulated catalogues of the window (t_start, t_end], stored as flat columns.

    ``sim`` the simulation index of each event; ``t`` days since ``time_begin`` of the fitted
    catalogue; ``x, y`` flat-map coordinates; ``magnitude`` (absolute); ``inside`` in the study
    polygon; ``generation`` 0 for background events, k for the k-th generation of offspring of
    the history (1 = direct aftershocks of a history event). Events are in generation order,
    not time order. ``mag_threshold`` is m0, ``mmax`` the truncation (None: none).
    """

    n_sims: int
    t_start: float
    t_end: float
    sim: np.ndarray
    t: np.ndarray
    x: np.ndarray
    y: np.ndarray
    magnitude: np.ndarray
    inside: np.ndarray
    generation: np.ndarray
    mag_threshold: float
    beta: float
    mmax: float | None = None

    @property
    def n_events(self) -> int:
        return int(self.t.size)

    def mask(self, min_magnitude: float | None = None, inside_only: bool = True) -> np.ndarray:
        keep = self.inside.copy() if inside_only else np.ones(self.t.size, bool)
        if min_magnitude is not None:
            keep &= self.magnitude >= min_magnitude
        return keep

    def counts(self, min_magnitude: float | None = None, inside_only: bool = True) -> np.ndarray:
        """Number of events (M >= ``min_magnitude``, inside the polygon) in each simulation."""
        return np.bincount(self.sim[self.mask(min_magnitude, inside_only)], minlength=self.n_sims)


# ------------------------------------------------------------------------------------------
# Distributions and expectations
# ------------------------------------------------------------------------------------------

def gr_magnitudes(rng, n: int, beta: float, m0: float, mmax: float | None = None) -> np.ndarray:
    """Gutenberg-Richter magnitudes ``m0 + Exp(beta)``, truncated at ``mmax`` if given (inverse CDF)."""
    u = rng.random(n)
    if mmax is None:
        return m0 - np.log1p(-u) / beta
    span = -math.expm1(-beta * (mmax - m0))
    return m0 - np.log1p(-u * span) / beta


def gr_exceedance(magnitude, beta: float, m0: float, mmax: float | None = None):
    """P(M >= magnitude) under the (truncated) Gutenberg-Richter law of :func:`gr_magnitudes`."""
    d = np.maximum(np.asarray(magnitude, float) - m0, 0.0)
    if mmax is None:
        return np.exp(-beta * d)
    dm = mmax - m0
    return np.clip((np.exp(-beta * d) - math.exp(-beta * dm)) / -math.expm1(-beta * dm), 0.0, 1.0)


def mean_productivity(params, beta: float, mmax_minus_m0: float | None = None) -> float:
    """E[exp(alpha (m - m0))] under the magnitude law (module docstring); inf when it diverges."""
    a, b = params.alpha, beta
    if mmax_minus_m0 is None:
        return b / (b - a) if a < b else math.inf
    dm = float(mmax_minus_m0)
    if abs(b - a) < 1e-12:
        return b * dm / -math.expm1(-b * dm)
    return b * -math.expm1(-(b - a) * dm) / ((b - a) * -math.expm1(-b * dm))


def branching_ratio(params, beta: float, mmax_minus_m0: float | None = None) -> float:
    """n = A E[exp(alpha (m - m0))] (Helmstetter & Sornette 2002; module docstring)."""
    return params.A * mean_productivity(params, beta, mmax_minus_m0)


def window_branching_ratio(params, beta: float, days: float, mmax_minus_m0: float | None = None) -> float:
    """n (1 - S(days)): the mean number of offspring within ``days`` of an event (module docstring)."""
    return branching_ratio(params, beta, mmax_minus_m0) * (1.0 - float(_survival(days, params.c, params.p)))


def expected_descendants(params, beta: float, m, mmax_minus_m0: float | None = None):
    """All-generation descendants over infinite time of events with ``m`` = magnitude - m0:
    ``kappa(m) / (1 - n)`` (module docstring)."""
    n = branching_ratio(params, beta, mmax_minus_m0)
    if not n < 1.0:
        raise DomainError(f"the ETAS model is supercritical (branching ratio {n:.3g} >= 1)")
    return params.A * np.exp(params.alpha * np.asarray(m, float)) / (1.0 - n)


def _survival(tau, c: float, p: float):
    """Omori survival S(tau) = (1 + tau/c)^(1-p) (1 - R ETAS ``gfunint``)."""
    return np.exp((1.0 - p) * np.log1p(np.maximum(tau, 0.0) / c))


def _omori_delays(rng, s_hi, s_lo, c: float, p: float) -> np.ndarray:
    """Delays with S(tau) uniform on (s_lo, s_hi]: the Omori law truncated to the corresponding interval."""
    s = s_lo + (s_hi - s_lo) * (1.0 - rng.random(np.size(s_hi)))
    return c * np.expm1(np.log(s) / (1.0 - p))


def _place(rng, x0, y0, m, params) -> tuple[np.ndarray, np.ndarray]:
    """Offspring positions about their parents (radius from the inverse of P(R > r), uniform angle)."""
    n = np.size(x0)
    sig = params.D * np.exp(params.gamma * m)
    r = np.sqrt(sig * np.expm1(np.log1p(-rng.random(n)) / (1.0 - params.q)))
    ang = rng.uniform(0.0, 2.0 * math.pi, n)
    return x0 + r * np.cos(ang), y0 + r * np.sin(ang)


def inside_polygon(x, y, polygon_xy) -> np.ndarray:
    """Points inside a closed flat-map polygon (all True for None)."""
    if polygon_xy is None:
        return np.ones(np.size(x), bool)
    from tianshan.analysis.etas.data import points_in_polygon

    poly = np.asarray(polygon_xy, float)
    return points_in_polygon(x, y, poly[:-1, 0], poly[:-1, 1])


# ------------------------------------------------------------------------------------------
# Simulation
# ------------------------------------------------------------------------------------------

def simulate_branching(params, beta: float, m0: float, t_start: float, t_end: float, n_sims: int, *,
                       history: EtasHistory | None = None, background: BackgroundModel | None = None,
                       polygon_xy=None, mmax: float | None = None, seed=None, max_generations: int | None = None,
                       max_events: int = MAX_EVENTS) -> SimulatedCatalogs:
    """Simulate ``n_sims`` catalogues of (t_start, t_end] (days) by the branching algorithm (module docstring).

    ``params``: :class:`~tianshan.analysis.etas.model.EtasParams` (``mu`` is used only through
    ``background.rate_per_day``); ``beta``, ``m0``, ``mmax``: the magnitude law; ``history``:
    earlier events that trigger; ``background``: None for no background events;
    ``polygon_xy``: closed study polygon for the ``inside`` flags (default: the background's);
    ``max_generations``: stop after this many offspring generations (None: until extinction;
    1 gives the direct offspring of the history and of the background only); ``seed``: anything
    :func:`numpy.random.default_rng` accepts. Raises :class:`DomainError` when the mean
    productivity is infinite (alpha >= beta without ``mmax``) or when more than ``max_events``
    events would be simulated, and :class:`InputError`
    for an empty or reversed window.
    """
    if not (math.isfinite(t_start) and math.isfinite(t_end) and t_end > t_start):
        raise InputError(f"forecast window ({t_start}, {t_end}] days is empty", field="window")
    if int(n_sims) < 1:
        raise InputError(f"n_sims must be >= 1, not {n_sims}", field="n_sims")
    if not beta > 0.0:
        raise DomainError(f"beta must be > 0, not {beta!r}")
    if mmax is not None and not mmax > m0:
        raise InputError(f"mmax {mmax} must exceed the magnitude threshold {m0}", field="mmax")
    n_ratio = branching_ratio(params, beta, None if mmax is None else mmax - m0)
    if not math.isfinite(n_ratio):
        raise DomainError(f"alpha {params.alpha:.3g} >= beta {beta:.3g}: the expected number of offspring is "
                          "infinite without a maximum magnitude (give mmax)")
    n_sims = int(n_sims)
    rng = np.random.default_rng(seed)
    if polygon_xy is None and background is not None:
        polygon_xy = background.polygon_xy
    c, p = params.c, params.p
    cols: dict[str, list[np.ndarray]] = {k: [] for k in ("sim", "t", "x", "y", "m", "gen")}
    total = 0

    def add(sim, t, x, y, m, gen):
        nonlocal total
        total += sim.size
        if total > max_events:
            raise DomainError(f"more than {max_events} simulated events (branching ratio {n_ratio:.3g}); "
                              "use fewer simulations, a shorter window or a maximum magnitude")
        for k, v in zip(("sim", "t", "x", "y", "m", "gen"), (sim, t, x, y, m, np.full(sim.size, gen, np.int16))):
            cols[k].append(v)

    # Generation 0: background.
    bg = (np.zeros(0, np.int64),) + (np.zeros(0),) * 4
    if background is not None and background.rate_per_day > 0.0:
        k = rng.poisson(n_sims * background.rate_per_day * (t_end - t_start))
        src = rng.choice(background.x.size, size=k, p=background.weight / background.weight.sum())
        bx = background.x[src] + background.bandwidth[src] * rng.standard_normal(k)
        by = background.y[src] + background.bandwidth[src] * rng.standard_normal(k)
        sim = rng.integers(0, n_sims, k)
        bt = rng.uniform(t_start, t_end, k)
        keep = inside_polygon(bx, by, background.polygon_xy)
        bg = (sim[keep], bt[keep], bx[keep], by[keep], gr_magnitudes(rng, int(keep.sum()), beta, 0.0,
                                                                      None if mmax is None else mmax - m0))
        add(*bg, 0)

    # Generation 1 from the history.
    parents = bg
    gen = 1
    first: tuple | None = None
    if history is not None and len(history):
        h = history.up_to(t_start) if np.any(np.asarray(history.t) > t_start + TIME_TOL_DAYS) else history
        s_a = _survival(t_start - h.t, c, p)
        s_b = _survival(t_end - h.t, c, p)
        mean = params.A * np.exp(params.alpha * h.m) * (s_a - s_b)
        k = rng.poisson(n_sims * mean)
        par = np.repeat(np.arange(len(h)), k)
        if par.size:
            tau = _omori_delays(rng, s_a[par], s_b[par], c, p)
            cx, cy = _place(rng, h.x[par], h.y[par], h.m[par], params)
            first = (rng.integers(0, n_sims, par.size), h.t[par] + tau, cx, cy)

    while max_generations is None or gen <= max_generations:
        sim0, t0, x0, y0, m0_ = parents
        s_b = _survival(t_end - t0, c, p)
        k = rng.poisson(params.A * np.exp(params.alpha * m0_) * (1.0 - s_b))
        par = np.repeat(np.arange(t0.size), k)
        sims, ts, xs, ys = [sim0[par]], [t0[par] + _omori_delays(rng, np.ones(par.size), s_b[par], c, p)], [], []
        cx, cy = _place(rng, x0[par], y0[par], m0_[par], params)
        xs.append(cx)
        ys.append(cy)
        if first is not None:
            for lst, v in zip((sims, ts, xs, ys), first):
                lst.append(v)
            first = None
        sim, t, x, y = (np.concatenate(v) for v in (sims, ts, xs, ys))
        if t.size == 0:
            break
        m = gr_magnitudes(rng, t.size, beta, 0.0, None if mmax is None else mmax - m0)
        add(sim, t, x, y, m, gen)
        parents = (sim, t, x, y, m)
        gen += 1

    cat = {k: (np.concatenate(v) if v else np.zeros(0)) for k, v in cols.items()}
    x, y = cat["x"].astype(float), cat["y"].astype(float)
    return SimulatedCatalogs(n_sims=n_sims, t_start=float(t_start), t_end=float(t_end), sim=cat["sim"].astype(np.int64),
                             t=cat["t"].astype(float), x=x, y=y, magnitude=cat["m"].astype(float) + m0,
                             inside=inside_polygon(x, y, polygon_xy), generation=cat["gen"].astype(np.int16),
                             mag_threshold=float(m0), beta=float(beta), mmax=mmax)


def simulate_etas(fit, t_start: float, t_end: float, n_sims: int = 1000, *, history: EtasHistory | None = None,
                  mmax: float | None = None, seed=None, include_background: bool = True,
                  max_events: int = MAX_EVENTS) -> SimulatedCatalogs:
    """Simulate the forecast window (t_start, t_end] (days since ``fit.catalog.time_begin``) from a fit.

    ``history`` defaults to every event of the fitted catalogue up to ``t_start``; to add
    events after the fitting period (e.g. the mainshock a forecast follows), pass
    ``EtasHistory.from_catalog(fit.catalog).concat(EtasHistory.from_lonlat(fit.catalog, ...))``.
    The magnitude law is ``fit.beta`` above ``fit.catalog.mag_threshold``.
    """
    if history is None:
        history = EtasHistory.from_catalog(fit.catalog)
    bg = BackgroundModel.from_fit(fit) if include_background else None
    return simulate_branching(fit.params, fit.beta, fit.catalog.mag_threshold, t_start, t_end, n_sims,
                              history=history, background=bg, polygon_xy=fit.catalog.polygon_xy, mmax=mmax,
                              seed=seed, max_events=max_events)

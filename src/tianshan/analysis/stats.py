"""Frequency-magnitude statistics: completeness magnitude, b-value, b-value series and maps.

SeismoStats (Swiss Seismological Service) could not be installed beside this project's pinned
NumPy 1.26 (SeismoStats 1.0.1 pulls NumPy 2 through its dependencies), so the estimators are
written here, following the formulas SeismoStats documents for the same methods, and the tests
check them against SeismoStats' published examples (its documentation and docstrings):

* magnitudes are binned to ``delta_m`` (:func:`bin_magnitudes`, round half up); an event
  belongs to the sample of a completeness ``mc`` (a bin centre) when ``m >= mc - delta_m/2``;
* **b-value, Aki-Utsu MLE with binning correction** (:func:`b_value`):

  - ``"tinti"`` (default; SeismoStats ``ClassicBValueEstimator``): the exact maximum-likelihood
    estimate for magnitudes grouped in bins of width ``delta_m`` (Bender 1983, BSSA 73(3)
    831-851; closed form of Tinti & Mulargia 1987, BSSA 77(6) 2125-2134):
    ``beta = ln(1 + delta_m / (mean(m) - mc)) / delta_m``, ``b = beta / ln 10``;
  - ``"utsu"`` (Utsu 1965, Bull. Earthq. Res. Inst. 43, 99-103; Aki 1965 with the half-bin
    shift): ``b = log10(e) / (mean(m) - (mc - delta_m/2))``;
  - ``"aki"`` (Aki 1965, continuous magnitudes): ``b = log10(e) / (mean(m) - mc)``;

* **b-positive** (:func:`b_positive`; van der Elst 2021, JGR 126, e2020JB021027; SeismoStats
  ``BPositiveBValueEstimator``): the differences ``m_i - m_{i-1}`` of consecutive events (time
  order) that are ``>= dmc - delta_m/2`` (default ``dmc = delta_m``) follow an exponential law with
  the same b; the Tinti-Mulargia estimate is applied to them with ``mc = dmc``;
* **uncertainty** (Shi & Bolt 1982, BSSA 72(5) 1677-1687):
  ``sigma_b = ln(10) b^2 sqrt(sum (m_i - mean)^2 / (n (n-1)))``, computed on the sample the
  estimate used (the positive differences for b-positive), as SeismoStats does; Aki's
  ``b / sqrt(n)`` is reported beside it;
* **completeness magnitude**:

  - MAXC (:func:`mc_maxc`; Wiemer & Wyss 2000, BSSA 90(4) 859-869): the bin with the most
    events, plus the correction +0.2 of Woessner & Wiemer 2005 (BSSA 95(2) 684-698);
  - goodness of fit (:func:`mc_gft`; Wiemer & Wyss 2000): for each trial Mc the G-R law
    with the MLE b and ``a = log10 N(>=Mc) + b Mc`` predicts cumulative counts ``S_i``; the
    fit is ``R = 100 - 100 sum_i |B_i - S_i| / sum_i B_i`` over the bins ``>= Mc`` (``B_i``
    observed cumulative counts); Mc is the first trial with ``R >= 95``, else ``R >= 90``;
  - b-value stability (:func:`mc_b_stability`; Cao & Gao 2002, GRL 29(9) 1334; Woessner &
    Wiemer 2005; SeismoStats ``mc_by_bvalue_stability``): the first trial Mc where the
    mean ``b_ave`` of ``b(Mc), b(Mc + delta_m), ...`` over ``stability_range`` (0.5, i.e. five
    0.1 bins) differs from ``b(Mc)`` by at most its Shi-Bolt uncertainty;
  - uncertainty by bootstrap (:func:`mc_bootstrap`; Woessner & Wiemer 2005): the standard
    deviation of Mc and b over resampled catalogs.

Series and maps (:func:`b_value_series`, :func:`b_value_map`) apply the same estimators in
windows of a fixed number of events (Wiemer & Wyss 1997, JGR 102, 15115) or in circles around
grid nodes; :func:`write_gr_plot` draws the frequency-magnitude distribution.
Insufficient data raise :class:`~tianshan.core.errors.InputError`.
"""

from __future__ import annotations

import math
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from tianshan.core.errors import InputError

LN10 = math.log(10.0)
#: Tolerance used when comparing binned magnitudes (fractions of a bin).
_EPS = 1e-6
#: Earth radius for great-circle distances, km (mean radius, IUGG).
EARTH_RADIUS_KM = 6371.0088


def bin_magnitudes(mags, delta_m: float) -> np.ndarray:
    """Magnitudes rounded to the nearest multiple of ``delta_m`` (half up); ``delta_m = 0`` leaves them."""
    m = np.asarray(mags, float)
    if delta_m <= 0:
        return m.copy()
    return np.floor(m / delta_m + 0.5 + 1e-9) * delta_m


def _above(m: np.ndarray, mc: float, delta_m: float) -> np.ndarray:
    return m >= mc - delta_m / 2.0 - _EPS * max(delta_m, 1e-3)


def shi_bolt_std(sample, b: float) -> float:
    """Shi & Bolt (1982) standard deviation of ``b`` estimated from ``sample`` (see module docstring)."""
    x = np.asarray(sample, float)
    n = x.size
    if n < 2:
        return math.nan
    return LN10 * b * b * float(np.sqrt(np.sum((x - x.mean()) ** 2) / (n * (n - 1))))


def _mle(sample: np.ndarray, mc: float, delta_m: float, method: str) -> float:
    mean_excess = float(np.mean(sample)) - mc
    if method == "tinti":
        if delta_m > 0:
            if mean_excess <= 0:
                raise InputError(f"mean magnitude {mc + mean_excess:.4g} is not above mc {mc:g}: no b-value",
                                 field="mc")
            return math.log(1.0 + delta_m / mean_excess) / delta_m / LN10
        method = "aki"
    if method == "utsu":
        mean_excess += delta_m / 2.0
    elif method != "aki":
        raise InputError(f"unknown b-value method {method!r} (tinti, utsu, aki)", field="method")
    if mean_excess <= 0:
        raise InputError("mean magnitude is not above the threshold: no b-value", field="mc")
    return math.log10(math.e) / mean_excess


@dataclass(frozen=True)
class BValue:
    """A b-value estimate: ``b`` with its Shi-Bolt ``std`` and Aki's ``std_aki`` (= b / sqrt(n)),
    from ``n`` magnitudes (or positive differences) at completeness ``mc`` and bin ``delta_m``."""

    b: float
    std: float
    std_aki: float
    n: int
    mc: float
    delta_m: float
    method: str
    dmc: float | None = None

    @property
    def beta(self) -> float:
        """``b ln 10``, the rate of the exponential magnitude distribution."""
        return self.b * LN10

    def as_dict(self) -> dict:
        return {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in asdict(self).items()}


def b_value(mags, mc: float, delta_m: float = 0.1, method: str = "tinti", min_events: int = 2) -> BValue:
    """b-value of the magnitudes ``>= mc - delta_m/2`` (``method``: tinti, utsu or aki; module docstring)."""
    m = np.asarray(mags, float)
    m = m[np.isfinite(m)]
    sample = m[_above(m, mc, delta_m)]
    if sample.size < max(2, min_events):
        raise InputError(f"{sample.size} event(s) with M >= {mc:g}, need at least {max(2, min_events)} for a b-value",
                         field="mc")
    b = _mle(sample, mc, delta_m, method)
    return BValue(b=b, std=shi_bolt_std(sample, b), std_aki=b / math.sqrt(sample.size), n=int(sample.size),
                  mc=float(mc), delta_m=float(delta_m), method=method)


def positive_differences(mags, times=None, mc: float | None = None, delta_m: float = 0.1,
                         dmc: float | None = None) -> np.ndarray:
    """The positive magnitude differences b-positive uses (van der Elst 2021): events ``>= mc - delta_m/2``
    in time order (``times`` any sortable values; ``None`` = already in time order), differences of
    consecutive events kept when ``>= dmc - delta_m/2`` (default ``dmc = delta_m``)."""
    m = np.asarray(mags, float)
    if times is not None:
        order = np.argsort(np.asarray(times), kind="stable")
        m = m[order]
    m = m[np.isfinite(m)]
    if mc is not None:
        m = m[_above(m, mc, delta_m)]
    dmc = delta_m if dmc is None else float(dmc)
    if dmc < 0:
        raise InputError("dmc must be >= 0", field="dmc")
    d = np.diff(m)
    return d[d >= dmc - delta_m / 2.0 - _EPS * max(delta_m, 1e-3)]


def b_positive(mags, times=None, mc: float | None = None, delta_m: float = 0.1, dmc: float | None = None,
               min_differences: int = 2) -> BValue:
    """b-positive estimate (van der Elst 2021) with the Shi-Bolt uncertainty of the differences."""
    dmc = delta_m if dmc is None else float(dmc)
    d = positive_differences(mags, times, mc, delta_m, dmc)
    if d.size < max(2, min_differences):
        raise InputError(f"{d.size} positive magnitude difference(s), need at least {max(2, min_differences)} "
                         f"for b-positive", field="mags")
    b = _mle(d, dmc, delta_m, "tinti")
    return BValue(b=b, std=shi_bolt_std(d, b), std_aki=b / math.sqrt(d.size), n=int(d.size),
                  mc=math.nan if mc is None else float(mc), delta_m=float(delta_m), method="positive", dmc=dmc)


# ------------------------------------------------------------------------------------- completeness

@dataclass(frozen=True)
class Completeness:
    """A completeness magnitude ``mc`` found by ``method``, with the b-value (Tinti-Mulargia) above it
    and method-specific ``details`` (trial magnitudes and scores)."""

    mc: float
    method: str
    b: BValue | None = None
    details: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {"mc": self.mc, "method": self.method, "b": None if self.b is None else self.b.as_dict(),
                "details": self.details}


def fmd(mags, delta_m: float = 0.1) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Frequency-magnitude distribution: bin centres (every bin from min to max), non-cumulative
    counts, and cumulative counts N(>= bin)."""
    m = bin_magnitudes(np.asarray(mags, float)[np.isfinite(mags)], delta_m)
    if m.size == 0:
        raise InputError("no magnitudes", field="mags")
    k = np.rint(m / delta_m).astype(np.int64)
    kmin, kmax = int(k.min()), int(k.max())
    counts = np.bincount(k - kmin, minlength=kmax - kmin + 1)
    bins = np.arange(kmin, kmax + 1) * delta_m
    cum = counts[::-1].cumsum()[::-1]
    return np.round(bins, 10), counts, cum


def mc_maxc(mags, delta_m: float = 0.1, correction: float = 0.2) -> Completeness:
    """Maximum curvature (Wiemer & Wyss 2000): the most populated bin, plus ``correction``
    (+0.2, Woessner & Wiemer 2005; 0 for the plain MAXC)."""
    bins, counts, _ = fmd(mags, delta_m)
    mc = round(float(bins[int(np.argmax(counts))]) + correction, 10)
    return Completeness(mc=mc, method="maxc", b=_b_or_none(mags, mc, delta_m),
                        details={"correction": correction, "peak_bin": float(bins[int(np.argmax(counts))])})


def _b_or_none(mags, mc: float, delta_m: float) -> BValue | None:
    try:
        return b_value(mags, mc, delta_m)
    except InputError:
        return None


def gft_residual(mags, mc: float, delta_m: float = 0.1) -> float:
    """Goodness-of-fit score R (percent) of the G-R law above ``mc`` (Wiemer & Wyss 2000; module docstring)."""
    m = bin_magnitudes(np.asarray(mags, float)[np.isfinite(mags)], delta_m)
    sample = m[_above(m, mc, delta_m)]
    bv = b_value(sample, mc, delta_m)
    bins, _, cum = fmd(sample, delta_m)
    a = math.log10(sample.size) + bv.b * mc
    synthetic = 10.0 ** (a - bv.b * bins)
    return 100.0 - 100.0 * float(np.sum(np.abs(cum - synthetic))) / float(np.sum(cum))


def mc_gft(mags, delta_m: float = 0.1, levels: tuple[float, ...] = (95.0, 90.0),
           min_events: int = 25) -> Completeness:
    """Goodness-of-fit Mc (Wiemer & Wyss 2000): the smallest trial Mc whose fit R reaches the first
    of ``levels`` that any trial reaches (95 %, else 90 %). Trials stop when fewer than
    ``min_events`` events remain. Raises :class:`InputError` when no level is reached."""
    m = bin_magnitudes(np.asarray(mags, float)[np.isfinite(mags)], delta_m)
    bins, _, cum = fmd(m, delta_m)
    trials, scores = [], []
    for mc, n in zip(bins, cum):
        if n < min_events:
            break
        trials.append(float(mc))
        scores.append(gft_residual(m, float(mc), delta_m))
    details = {"trial_mc": trials, "R": [round(s, 3) for s in scores]}
    for level in levels:
        hit = [mc for mc, r in zip(trials, scores) if r >= level]
        if hit:
            details["level"] = level
            return Completeness(mc=hit[0], method="gft", b=_b_or_none(m, hit[0], delta_m), details=details)
    best = max(scores, default=float("nan"))
    raise InputError(f"goodness of fit never reaches {min(levels):g} % (best R {best:.1f} %)", field="mc")


def mc_b_stability(mags, delta_m: float = 0.1, stability_range: float = 0.5,
                   stop_when_passed: bool = True) -> Completeness:
    """b-value stability Mc (Cao & Gao 2002; Woessner & Wiemer 2005; module docstring).

    Trials run from the smallest bin up to ``max - stability_range``; raises :class:`InputError`
    when no trial passes.
    """
    m = bin_magnitudes(np.asarray(mags, float)[np.isfinite(mags)], delta_m)
    steps = int(round(stability_range / delta_m))
    if steps < 1:
        raise InputError("stability_range must be at least one bin", field="stability_range")
    bins = fmd(m, delta_m)[0]
    trials = [float(x) for x in bins if x + stability_range <= m.max() + _EPS]
    if not trials:
        raise InputError("the magnitude range is smaller than the stability range", field="mags")
    tested, bs, diffs = [], [], []
    best = None
    for mc in trials:
        try:
            bv = b_value(m, mc, delta_m)
            b_ex = [b_value(m, mc + k * delta_m, delta_m).b for k in range(steps)
                    if mc + k * delta_m <= m.max() + _EPS]
        except InputError:
            break
        b_avg = sum(b_ex) / steps
        diff = abs(b_avg - bv.b) / bv.std if bv.std > 0 else math.inf
        tested.append(round(mc, 10))
        bs.append(bv.b)
        diffs.append(diff)
        if diff <= 1.0:
            if best is None or diff < best[1]:
                best = (mc, diff, bv)
            if stop_when_passed:
                break
    details = {"trial_mc": tested, "b": bs, "diff_over_std": diffs, "stability_range": stability_range}
    if best is None:
        raise InputError("no trial Mc passes the b-value stability test", field="mc")
    return Completeness(mc=round(best[0], 10), method="b-stability", b=best[2], details=details)


MC_METHODS = {"maxc": mc_maxc, "gft": mc_gft, "b-stability": mc_b_stability}


def estimate_mc(mags, delta_m: float = 0.1, method: str = "maxc", **kw) -> Completeness:
    """Mc by ``method`` (``maxc``, ``gft`` or ``b-stability``)."""
    if method not in MC_METHODS:
        raise InputError(f"unknown Mc method {method!r} ({', '.join(MC_METHODS)})", field="method")
    return MC_METHODS[method](mags, delta_m, **kw)


@dataclass(frozen=True)
class Bootstrap:
    """Mean and standard deviation of Mc and b over ``n`` bootstrap resamplings (``n_failed`` did not
    give an Mc)."""

    method: str
    mc_mean: float
    mc_std: float
    b_mean: float
    b_std: float
    n: int
    n_failed: int


def mc_bootstrap(mags, delta_m: float = 0.1, method: str = "maxc", n_boot: int = 200, seed: int = 0,
                 **kw) -> Bootstrap:
    """Bootstrap uncertainty of Mc and of the b-value above it (Woessner & Wiemer 2005):
    the catalog's magnitudes are resampled with replacement ``n_boot`` times (seeded)."""
    m = np.asarray(mags, float)[np.isfinite(mags)]
    rng = np.random.default_rng(seed)
    mcs, bs, failed = [], [], 0
    for _ in range(int(n_boot)):
        sample = m[rng.integers(0, m.size, m.size)]
        try:
            c = estimate_mc(sample, delta_m, method, **kw)
            bv = c.b if c.b is not None else b_value(sample, c.mc, delta_m)
        except InputError:
            failed += 1
            continue
        mcs.append(c.mc)
        bs.append(bv.b)
    if not mcs:
        raise InputError(f"no bootstrap sample gave an Mc by {method}", field="method")
    def sd(v: list[float]) -> float:
        return round(float(np.std(v, ddof=1)), 9) if len(v) > 1 else 0.0

    return Bootstrap(method=method, mc_mean=round(float(np.mean(mcs)), 9), mc_std=sd(mcs), b_mean=float(np.mean(bs)),
                     b_std=sd(bs), n=len(mcs), n_failed=failed)


# ------------------------------------------------------------------------------------- series and maps

@dataclass(frozen=True)
class BSeries:
    """b-values in moving windows of ``window`` events: ``time_s`` is the time of the last event of
    each window (a value known at that time), ``b``/``std`` the estimate, ``n`` the sample size."""

    time_s: np.ndarray
    b: np.ndarray
    std: np.ndarray
    n: np.ndarray
    method: str
    window: int
    mc: float


def b_value_series(times_s, mags, mc: float, delta_m: float = 0.1, window: int = 200, step: int | None = None,
                   method: str = "tinti", dmc: float | None = None) -> BSeries:
    """b-value time series (Wiemer & Wyss 1997 fixed-N windows): events ``>= mc`` sorted in time,
    windows of ``window`` events every ``step`` events (default ``window // 4``). ``method``
    ``"positive"`` uses b-positive on the window's events, any other the classic MLE."""
    t = np.asarray(times_s, float)
    m = np.asarray(mags, float)
    keep = _above(m, mc, delta_m) & np.isfinite(m)
    order = np.argsort(t[keep], kind="stable")
    t, m = t[keep][order], m[keep][order]
    if window < 10:
        raise InputError("window must hold at least 10 events", field="window")
    if t.size < window:
        raise InputError(f"{t.size} events >= Mc {mc:g}, fewer than one window of {window}", field="window")
    step = max(1, window // 4 if step is None else int(step))
    out_t, out_b, out_s, out_n = [], [], [], []
    for end in range(window, t.size + 1, step):
        seg = m[end - window:end]
        try:
            bv = (b_positive(seg, None, mc, delta_m, dmc) if method == "positive"
                  else b_value(seg, mc, delta_m, method))
        except InputError:
            continue
        out_t.append(t[end - 1])
        out_b.append(bv.b)
        out_s.append(bv.std)
        out_n.append(bv.n)
    return BSeries(time_s=np.asarray(out_t), b=np.asarray(out_b), std=np.asarray(out_s),
                   n=np.asarray(out_n, np.int64), method=method, window=window, mc=float(mc))


def haversine_km(lon1, lat1, lon2, lat2) -> np.ndarray:
    """Great-circle distance (km) on a sphere of radius :data:`EARTH_RADIUS_KM` (haversine formula,
    Sinnott 1984, Sky & Telescope 68(2) 159); inputs broadcast."""
    lon1, lat1, lon2, lat2 = (np.radians(np.asarray(v, float)) for v in (lon1, lat1, lon2, lat2))
    a = np.sin((lat2 - lat1) / 2) ** 2 + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2
    return 2.0 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))


@dataclass(frozen=True)
class BMap:
    """b-values on a grid: node coordinates ``longitude_deg`` (nx), ``latitude_deg`` (ny); ``b``,
    ``std`` and ``n`` are (ny, nx) arrays, NaN/0 where a node has fewer than ``min_events``."""

    longitude_deg: np.ndarray
    latitude_deg: np.ndarray
    b: np.ndarray
    std: np.ndarray
    n: np.ndarray
    radius_km: float
    mc: float
    method: str


def b_value_map(lon, lat, mags, mc: float, delta_m: float = 0.1, *, bbox: tuple[float, float, float, float],
                spacing_deg: float = 0.5, radius_km: float = 100.0, min_events: int = 50,
                times_s=None, method: str = "tinti") -> BMap:
    """b-value map: at each node of a ``spacing_deg`` grid over ``bbox`` (west, south, east, north)
    the events ``>= mc`` within ``radius_km`` (constant-radius sampling, Wiemer & Wyss 1997);
    ``method="positive"`` needs ``times_s``."""
    lon, lat, m = (np.asarray(v, float) for v in (lon, lat, mags))
    keep = _above(m, mc, delta_m) & np.isfinite(m)
    t = None if times_s is None else np.asarray(times_s, float)[keep]
    lon, lat, m = lon[keep], lat[keep], m[keep]
    west, south, east, north = bbox
    if spacing_deg <= 0 or east <= west or north <= south:
        raise InputError("need spacing_deg > 0 and a box with west < east, south < north", field="bbox")
    gx = np.arange(west, east + spacing_deg / 2, spacing_deg)
    gy = np.arange(south, north + spacing_deg / 2, spacing_deg)
    b = np.full((gy.size, gx.size), np.nan)
    s = np.full_like(b, np.nan)
    n = np.zeros(b.shape, np.int64)
    if method == "positive" and t is None:
        raise InputError("b-positive maps need event times", field="times_s")
    for iy, y in enumerate(gy):
        d = haversine_km(gx[:, None], y, lon[None, :], lat[None, :])
        for ix in range(gx.size):
            sel = d[ix] <= radius_km
            if sel.sum() < min_events:
                continue
            try:
                bv = (b_positive(m[sel], t[sel], mc, delta_m) if method == "positive"
                      else b_value(m[sel], mc, delta_m, method))
            except InputError:
                continue
            b[iy, ix], s[iy, ix], n[iy, ix] = bv.b, bv.std, bv.n
    return BMap(longitude_deg=gx, latitude_deg=gy, b=b, std=s, n=n, radius_km=float(radius_km), mc=float(mc),
                method=method)


def write_gr_plot(mags, path: str | os.PathLike, delta_m: float = 0.1, mc: float | None = None,
                  b: BValue | None = None, title: str = "") -> Path:
    """Gutenberg-Richter plot (cumulative and non-cumulative counts, log scale, with the fitted line
    ``log10 N = a - b M`` above ``mc``) written atomically as PNG/PDF/SVG (by extension)."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure

    from tianshan.io.atomic import atomic_path

    bins, counts, cum = fmd(mags, delta_m)
    fig = Figure(figsize=(6.0, 4.5))
    ax = fig.add_subplot(1, 1, 1)
    ax.semilogy(bins, cum, "s", ms=4, mfc="none", color="k", label="N(>=M)")
    nz = counts > 0
    ax.semilogy(bins[nz], counts[nz], "^", ms=4, color="0.5", label="per bin")
    if mc is not None:
        ax.axvline(mc, ls=":", color="tab:red", label=f"Mc {mc:.1f}")
        if b is not None:
            n_mc = int(cum[np.argmin(np.abs(bins - mc))])
            a = math.log10(max(n_mc, 1)) + b.b * mc
            xs = bins[bins >= mc - _EPS]
            ax.semilogy(xs, 10 ** (a - b.b * xs), "-", color="tab:red",
                        label=f"b = {b.b:.2f} ± {b.std:.2f} ({b.method})")
    ax.set_xlabel("Magnitude")
    ax.set_ylabel("Number of events")
    if title:
        ax.set_title(title)
    ax.legend(fontsize=8)
    path = Path(path)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format=path.suffix.lstrip(".") or "png", dpi=120)
    return path

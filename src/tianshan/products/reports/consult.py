"""Consultation report (震情会商报告): seismicity of a region and period, in Chinese and English.

What the report holds (``report.json`` has every number; ``report.html``/``report.pdf`` show them
with the figures of ``figures/``):

* the catalogue used: source, region (a region profile's bounds and faults, a polygon or a
  box), the **period** of the consultation and the longer **history** (from ``history_start``,
  1970-01-01 by default) on which the statistics are estimated;
* completeness Mc by maximum curvature +0.2, goodness of fit and b-value stability with
  bootstrap standard deviations (:mod:`tianshan.analysis.stats`; Wiemer & Wyss 2000, Cao & Gao
  2002, Woessner & Wiemer 2005). The Mc used below is the larger of the MAXC+0.2 and GFT values
  (the conservative choice), unless given;
* b-values above Mc by both estimators, the Tinti-Mulargia MLE (Aki-Utsu with binning) and
  b-positive (van der Elst 2021), with Shi & Bolt (1982) uncertainties, for the history and,
  when it has enough events, the period; a Gutenberg-Richter plot;
* maps: epicentres (period highlighted), the declustered background rate map (Gardner-Knopoff
  windows; events/yr/km², :mod:`tianshan.analysis.ratemap`, also as GeoTIFF), the b-value map;
* time series: the magnitude-time plot, the b-value series of both estimators, the monthly
  (or yearly) numbers of events, all and declustered;
* sequences: the sequence type (isolated / mainshock-aftershock / swarm, Chinese practice) and
  the foreshock traffic light (Gulia & Wiemer 2019, classic and b-positive) of every event of the
  period at or above ``sequence_min_magnitude`` (:mod:`tianshan.analysis.sequences`);
* forecast: an ETAS model (:mod:`tianshan.analysis.etas`) fitted to the history above Mc (events
  within ``margin_deg`` of the region as complementary events, the first ``warmup_years`` as
  pre-study period) and simulated over the ``forecast_days`` after the period: expected numbers
  and probabilities of M >= 5, 6 (by default), a map of the expected numbers, and the
  Reasenberg & Jones (1989) generic numbers after the largest event of the period when it
  reaches ``sequence_min_magnitude``. Probabilities are statistical, not predictions; the
  report says so.

Rendering: the jinja2 template ``templates/consult.html`` (extending the shared ``base.html``) and
WeasyPrint, through :mod:`tianshan.products.reports.render`.
"""

from __future__ import annotations

import json
import logging
import math
import os
import re
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Callable

import numpy as np

from tianshan.analysis.catalog import SeismicCatalog, posix_to_datetime, select
from tianshan.core.errors import DomainError, InputError

log = logging.getLogger(__name__)
UTC = timezone.utc
YEAR_S = 365.25 * 86400.0
DAY_S = 86400.0
TEMPLATE = "consult.html"


# ------------------------------------------------------------------------------------- inputs

@dataclass(frozen=True)
class ConsultRegion:
    """The region of a report: ``polygon`` ((lat, lon) vertices), its bounding ``bbox`` (west, south,
    east, north), ``faults`` (traces with ``coordinates`` (lon, lat)) and where it came from."""

    name: str
    polygon: tuple[tuple[float, float], ...]
    bbox: tuple[float, float, float, float]
    faults: tuple = ()
    source: str = ""

    def as_dict(self) -> dict:
        return {"name": self.name, "source": self.source, "bbox": list(self.bbox),
                "polygon": [list(v) for v in self.polygon], "faults": len(self.faults)}


def _box_polygon(west, south, east, north) -> tuple[tuple[float, float], ...]:
    return ((south, west), (south, east), (north, east), (north, west))


def parse_region(spec: str) -> ConsultRegion:
    """``--region``: a region profile folder (or ``demo``: its bounds and faults), a polygon
    ``"lat,lon;lat,lon;..."``, a box ``"west,south,east,north"`` or ``xinjiang`` (the box
    :data:`~tianshan.analysis.catalog.XINJIANG_BOX`)."""
    from tianshan.analysis.catalog import XINJIANG_BOX
    from tianshan.analysis.etas.data import parse_polygon

    text = str(spec).strip()
    if text.lower() == "xinjiang":
        w, s, e, n = XINJIANG_BOX
        return ConsultRegion("新疆及邻区 / Xinjiang box", _box_polygon(w, s, e, n), XINJIANG_BOX, (), "xinjiang")
    if ";" in text:
        verts = parse_polygon(text)
        lats, lons = [v[0] for v in verts], [v[1] for v in verts]
        return ConsultRegion("polygon", verts, (min(lons), min(lats), max(lons), max(lats)), (), "polygon")
    if re.fullmatch(r"\s*-?[\d.]+\s*(,\s*-?[\d.]+\s*){3}", text):
        try:
            w, s, e, n = (float(v) for v in text.split(","))
        except ValueError:
            raise InputError(f"not numbers: {text!r}", field="--region") from None
        if not (-180 <= w < e <= 360 and -90 <= s < n <= 90):
            raise InputError(f"box {text!r} needs west < east and south < north (degrees)", field="--region")
        return ConsultRegion(f"{w:g}–{e:g}°E, {s:g}–{n:g}°N", _box_polygon(w, s, e, n), (w, s, e, n), (), "box")
    if text == "demo" or Path(text).exists():
        from tianshan.regions.demo import resolve_region

        prof = resolve_region(text)
        if prof.bounds is None:
            raise InputError("the region profile has no bounds", source=text, field="--region")
        b = prof.bounds.as_tuple()
        return ConsultRegion(prof.name, _box_polygon(*b), b, tuple(prof.faults), f"profile {prof.source}")
    raise InputError(f"{text!r} is neither a region folder, a polygon 'lat,lon;...', a box 'W,S,E,N' nor 'xinjiang'",
                     field="--region")


def parse_period(spec: str, now: datetime | str | None = None) -> tuple[datetime, datetime]:
    """``--period``: ``"START/END"`` (dates or ISO times, UTC; END exclusive) or ``"<N>d"`` (the N days
    before ``now``, default the current time)."""
    from tianshan.analysis.etas.data import parse_time

    text = str(spec).strip()
    m = re.fullmatch(r"(\d+(?:\.\d+)?)\s*d", text, flags=re.IGNORECASE)
    if m:
        days = float(m.group(1))
        if days <= 0:
            raise InputError("the period must be longer than 0 days", field="--period")
        end = datetime.now(UTC) if now is None else parse_time(now, "--now")
        return end - timedelta(days=days), end
    parts = text.split("/")
    if len(parts) == 2:
        a, b = parts
    elif len(parts) == 6:  # YYYY/MM/DD/YYYY/MM/DD
        a, b = "/".join(parts[:3]), "/".join(parts[3:])
    else:
        raise InputError(f"{text!r} is not START/END or <N>d (e.g. 2016-01-01/2017-01-01 or 30d)", field="--period")
    start, end = parse_time(a, "--period start"), parse_time(b, "--period end")
    if end <= start:
        raise InputError(f"the period ends ({end:%Y-%m-%d}) before it starts ({start:%Y-%m-%d})", field="--period")
    return start, end


@dataclass(frozen=True)
class ConsultSettings:
    """Choices of the report (module docstring). Magnitudes in magnitude units, distances km, times days."""

    history_start: str | None = "1970-01-01"
    delta_m: float = 0.1
    mc: float | None = None
    n_boot: int = 100
    sequence_min_magnitude: float = 5.0
    traffic_light_min_events: int = 50
    rate_step_deg: float | None = None
    rate_smoothing_km: float = 50.0
    b_map_radius_km: float = 100.0
    b_map_min_events: int = 50
    etas: bool = True
    forecast_days: float = 30.0
    forecast_magnitudes: tuple[float, ...] = (5.0, 6.0)
    n_sims: int = 10_000
    seed: int | None = 2024
    mmax: float | None = 8.5
    margin_deg: float = 2.0
    warmup_years: float = 5.0
    min_etas_events: int = 50
    title: str = ""


# ------------------------------------------------------------------------------------- result

@dataclass
class ConsultReport:
    """What :func:`build_consult_report` made: the ``doc`` (report.json) and the files written."""

    out_dir: Path
    doc: dict
    files: dict[str, Path] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def json_safe(obj):
    """JSON-safe copy of ``obj``: keys as strings, tuples as lists, NumPy arrays and scalars as Python
    values, datetimes as ISO 8601 text, paths as text, NaN/inf as None (strict JSON)."""
    if isinstance(obj, dict):
        return {str(k): json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [json_safe(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return json_safe(obj.tolist())
    if isinstance(obj, np.generic):
        return json_safe(obj.item())
    if isinstance(obj, datetime):
        return obj.isoformat()
    if isinstance(obj, Path):
        return str(obj)
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


def _iso(t_s: float) -> str:
    return posix_to_datetime(t_s).strftime("%Y-%m-%d %H:%M:%S")


# ------------------------------------------------------------------------------------- statistics

def _completeness(hist: SeismicCatalog, s: ConsultSettings, notes: list[str]) -> tuple[dict, float]:
    from tianshan.analysis import stats as st

    out: dict = {}
    for method in st.MC_METHODS:
        try:
            c = st.estimate_mc(hist.magnitude, s.delta_m, method)
        except InputError as err:
            out[method] = {"mc": None, "error": err.message}
            continue
        d = {"mc": c.mc, "b": None if c.b is None else c.b.as_dict()}
        if s.n_boot:
            try:
                bt = st.mc_bootstrap(hist.magnitude, s.delta_m, method, n_boot=s.n_boot)
                d["bootstrap"] = asdict(bt)
            except InputError as err:
                d["bootstrap"] = {"error": err.message}
        out[method] = d
    if s.mc is not None:
        return out, float(s.mc)
    cands = [out[m]["mc"] for m in ("maxc", "gft") if out.get(m, {}).get("mc") is not None]
    if not cands:
        mc = float(np.min(hist.magnitude))
        notes.append(f"no Mc estimate: the smallest magnitude {mc:.1f} is used")
        return out, mc
    return out, round(max(cands), 6)


def _b_values(cat: SeismicCatalog, mc: float, delta_m: float, min_n: int = 2) -> dict:
    from tianshan.analysis import stats as st

    out = {}
    for name, fn in (("tinti", lambda: st.b_value(cat.magnitude, mc, delta_m, "tinti", min_events=min_n)),
                     ("utsu", lambda: st.b_value(cat.magnitude, mc, delta_m, "utsu", min_events=min_n)),
                     ("positive", lambda: st.b_positive(cat.magnitude, cat.time_s, mc, delta_m,
                                                        min_differences=min_n))):
        try:
            out[name] = fn().as_dict()
        except InputError as err:
            out[name] = {"b": None, "error": err.message}
    return out


def _series_window(n: int) -> int:
    return int(min(200, max(30, n // 8)))


def _rate_bin_days(span_s: float) -> float:
    years = span_s / YEAR_S
    if years > 8:
        return 365.25
    if years > 1:
        return 365.25 / 12
    return 7.0 if years > 0.2 else 1.0


def _auto_step(bbox, target: int = 40) -> float:
    w, s, e, n = bbox
    span = max(e - w, n - s)
    for step in (0.05, 0.1, 0.2, 0.25, 0.5, 1.0, 2.0):
        if span / step <= target:
            return step
    return 5.0


# ------------------------------------------------------------------------------------- figures

def plot_epicentres(hist: SeismicCatalog, period: SeismicCatalog | None, region: ConsultRegion, path, *,
                    labels, min_star: float = 5.0, title: str = "") -> Path:
    """Epicentre map: history in grey, the period's events as circles scaled by magnitude, stars for M >=
    ``min_star``; region outline and faults."""
    from tianshan.analysis import ratemap as rm

    with rm.style(labels):
        fig, ax = rm.figure(labels, (7.5, 6.0))
        ax.plot(hist.longitude_deg, hist.latitude_deg, ".", ms=1.5, color="0.65", zorder=1,
                label=labels("历史地震", "history"))
        if period is not None and len(period):
            size = 4.0 * np.clip(period.magnitude - period.magnitude.min() + 1.0, 0.5, 6.0) ** 2
            ax.scatter(period.longitude_deg, period.latitude_deg, s=size, facecolor="none", edgecolor="tab:red",
                       lw=0.8, zorder=3, label=labels("本时段地震", "period"))
            big = period.magnitude >= min_star - 1e-9
            if big.any():
                ax.scatter(period.longitude_deg[big], period.latitude_deg[big], s=140, marker="*", color="gold",
                           edgecolor="k", lw=0.6, zorder=4, label=f"M≥{min_star:g}")
        rm._outline(ax, region.polygon, region.faults)
        w, s, e, n = region.bbox
        pad = 0.05 * max(e - w, n - s)
        rm._geo_axes(ax, (w - pad, s - pad, e + pad, n + pad), labels)
        ax.legend(fontsize=8, loc="best")
        ax.set_title(title or labels("震中分布", "Epicentres"), fontsize=10)
        return rm.save_figure(fig, path)


def plot_magnitude_time(hist: SeismicCatalog, period_s: tuple[float, float], mc: float, path, *, labels,
                        title: str = "") -> Path:
    """Magnitude-time (M-t) plot in two panels: the history's events >= Mc (period in red, shaded) and the
    period alone with every event as a stem."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure

    from tianshan.analysis import ratemap as rm

    with rm.style(labels):
        fig = Figure(figsize=(8.0, 5.6))
        ax1, ax2 = fig.subplots(2, 1)
        inper = (hist.time_s >= period_s[0]) & (hist.time_s < period_s[1])
        above = hist.magnitude >= mc - 1e-9
        d = np.array(rm._dates(hist.time_s), dtype=object)
        for mask, colour in ((~inper & above, "0.45"), (inper & above, "tab:red")):
            if mask.any():
                ax1.plot(list(d[mask]), hist.magnitude[mask], "o", ms=1.8, color=colour)
        ax1.axvspan(*rm._dates(period_s), color="#fde0c5", zorder=0)
        ax1.set_ylabel(labels("震级", "Magnitude"))
        ax1.set_title(title or labels(f"M-t 图 (M≥Mc {mc:.1f})", f"Magnitude-time plot (M≥Mc {mc:.1f})"), fontsize=10)
        base = float(np.floor(hist.magnitude.min()))
        if inper.any():
            dd = list(d[inper])
            ax2.vlines(dd, base, hist.magnitude[inper], color="tab:red", lw=0.8)
            ax2.plot(dd, hist.magnitude[inper], "o", ms=3, color="tab:red")
        ax2.set_xlim(*rm._dates(period_s))
        ax2.set_ylim(base, max(float(hist.magnitude.max()) if inper.any() else base + 1.0, base + 1.0) + 0.3)
        ax2.axhline(mc, ls=":", color="tab:blue", lw=0.8, label=f"Mc {mc:.1f}")
        ax2.set_ylabel(labels("震级", "Magnitude"))
        ax2.set_xlabel(labels("时间 (UTC)", "Time (UTC)"))
        ax2.legend(fontsize=8, loc="upper left")
        ax2.set_title(labels("会商时段", "Period"), fontsize=9)
        from matplotlib.dates import AutoDateLocator, ConciseDateFormatter

        for ax in (ax1, ax2):
            loc = AutoDateLocator()
            ax.xaxis.set_major_locator(loc)
            ax.xaxis.set_major_formatter(ConciseDateFormatter(loc))
        fig.tight_layout()
        return rm.save_figure(fig, path)


def plot_forecast_map(grid, region: ConsultRegion, path, *, labels, magnitude: float | None = None,
                      title: str = "") -> Path:
    """Expected number of events (>= m0, or >= ``magnitude``) per cell in the forecast window (log10)."""
    from matplotlib.colors import Normalize

    from tianshan.analysis import ratemap as rm

    with rm.style(labels):
        fig, ax = rm.figure(labels, (7.5, 5.5))
        ex = grid.expected if magnitude is None else grid.expected_above(magnitude)
        with np.errstate(divide="ignore"):
            le = np.where(ex > 0, np.log10(np.where(ex > 0, ex, 1.0)), np.nan)
        top = float(np.nanmax(le)) if np.isfinite(le).any() else 0.0
        east = grid.west_deg + grid.nx * grid.step_deg
        north = grid.south_deg + grid.ny * grid.step_deg
        im = ax.imshow(le, origin="lower", extent=(grid.west_deg, east, grid.south_deg, north), cmap="magma_r",
                       norm=Normalize(top - 4.0, top), interpolation="nearest")
        m = grid.mag_threshold if magnitude is None else magnitude
        cb = fig.colorbar(im, ax=ax, shrink=0.8)
        cb.set_label(labels(f"log10 预期地震数 M≥{m:.2f}", f"log10 expected number M≥{m:.2f}"))
        rm._outline(ax, region.polygon, region.faults)
        rm._geo_axes(ax, (grid.west_deg, grid.south_deg, east, north), labels)
        days = (grid.end - grid.start).total_seconds() / DAY_S
        ax.set_title(title or labels(f"ETAS 未来{days:g}天预测", f"ETAS forecast, next {days:g} days"), fontsize=10)
        return rm.save_figure(fig, path)


# ------------------------------------------------------------------------------------- ETAS

def etas_forecast_after(wide: SeismicCatalog, polygon, *, mc: float, start: datetime, days: float,
                        time_begin: datetime, warmup_years: float = 5.0, magnitudes=(5.0, 6.0),
                        n_sims: int = 10_000, seed=None, mmax: float | None = 8.5, extra_history=None,
                        grid_bbox=None, grid_step: float = 0.5, progress=None) -> dict:
    """Fit ETAS to ``wide`` (the region's events plus a margin) from ``time_begin`` to ``start`` above ``mc``
    (``mag_threshold = mc - delta/2`` for 0.1-binned magnitudes: ``mc - 0.05``), the first
    ``warmup_years`` as pre-study period and the region ``polygon`` as study region, then simulate
    (start, start + days]. ``extra_history``: (time_s, lon, lat, mag) arrays of events at or before
    ``start`` that are not in the fitted period (e.g. a mainshock at ``start``). Returns the fit, the
    forecast, simulations and (with ``grid_bbox``) the gridded forecast."""
    from tianshan.analysis.etas.data import EtasCsv, make_catalog
    from tianshan.analysis.etas.fit import fit_etas
    from tianshan.analysis.etas.forecast import etas_forecast, forecast_grid
    from tianshan.analysis.etas.simulate import EtasHistory, branching_ratio, window_branching_ratio

    sel = select(wide, start=time_begin, end=start, min_magnitude=mc - 1e-6)
    data = EtasCsv(source=wide.source, time_s=sel.time_s, longitude_deg=sel.longitude_deg,
                   latitude_deg=sel.latitude_deg, magnitude=sel.magnitude, depth_km=sel.depth_km, line=sel.line)
    m0 = round(mc - 0.05, 6)
    study_start = time_begin + timedelta(days=365.25 * warmup_years)
    cat = make_catalog(data, time_begin=time_begin, study_start=study_start,
                       study_end=start - timedelta(seconds=1), mag_threshold=m0, polygon=list(polygon))
    fit = fit_etas(cat, progress=progress or (lambda line: None))
    history = EtasHistory.from_catalog(cat)
    if extra_history is not None and len(extra_history[0]):
        history = history.concat(EtasHistory.from_lonlat(cat, *extra_history))
    fc, sims = etas_forecast(fit, start, days, magnitudes=magnitudes, n_sims=n_sims, history=history, mmax=mmax,
                             seed=seed)
    p = fit.params
    dm = None if mmax is None else mmax - m0
    out = {"fit": fit, "forecast": fc, "sims": sims, "catalog": cat,
           "branching_ratio": branching_ratio(p, fit.beta, dm),
           "window_branching_ratio": window_branching_ratio(p, fit.beta, days, dm)}
    if grid_bbox is not None:
        out["grid"] = forecast_grid(sims, fit, grid_bbox, grid_step, magnitudes=magnitudes)
    return out


# ------------------------------------------------------------------------------------- build

def build_consult_report(catalog: SeismicCatalog, region: ConsultRegion, period: tuple[datetime, datetime],
                         out_dir: str | os.PathLike, settings: ConsultSettings | None = None, *,
                         pdf: bool = True, progress: Callable[[str], None] | None = None) -> ConsultReport:
    """Compute everything of the module docstring for ``region`` over ``period`` = (start, end) and write
    ``report.json``, ``report.html``, ``report.pdf`` (unless ``pdf`` is False) and ``figures/*.png``
    (+ ``figures/background_rate.tif``) into ``out_dir``."""
    from tianshan.analysis import decluster as dc
    from tianshan.analysis import ratemap as rm
    from tianshan.analysis import stats as st
    from tianshan.analysis.sequences import sequence_status
    from tianshan.io.atomic import atomic_write_text

    s = settings or ConsultSettings()
    say = progress or (lambda msg: log.info("%s", msg))
    out = Path(out_dir)
    figdir = out / "figures"
    figdir.mkdir(parents=True, exist_ok=True)
    notes: list[str] = []
    files: dict[str, Path] = {}
    labels = rm.Labels()
    if not labels.zh:
        notes.append("no CJK font installed: figure labels are English only")
    start, end = period
    t_start, t_end = start.timestamp(), end.timestamp()

    say("selecting events")
    cat = catalog.sorted()
    hist_start = None if s.history_start is None else s.history_start
    hist = select(cat, polygon=region.polygon, start=hist_start, end=end)
    if hist_start is None:
        hist_begin = posix_to_datetime(float(hist.time_s.min()))
    else:
        from tianshan.analysis.etas.data import parse_time

        hist_begin = parse_time(hist_start, "history_start")
    if hist_begin >= start:
        hist_begin = start
    inper = hist.time_s >= t_start
    per = hist.subset(inper)
    doc: dict = {
        "title": "震情会商报告 / Seismicity consultation report", "title_extra": s.title,
        "generated": datetime.now(UTC).replace(microsecond=0).isoformat(),
        "region": region.as_dict(),
        "period": {"start": start.isoformat(), "end": end.isoformat(),
                   "days": (t_end - t_start) / DAY_S},
        "history": {"start": hist_begin.isoformat(), "end": end.isoformat(),
                    "years": (t_end - hist_begin.timestamp()) / YEAR_S},
        "catalog": {"source": catalog.source, "n_read": len(catalog), "n_skipped_lines": len(catalog.skipped),
                    "n_history": len(hist), "n_period": len(per),
                    "magnitude_range": [float(hist.magnitude.min()), float(hist.magnitude.max())]},
        "settings": {k: v for k, v in asdict(s).items()},
    }

    say("completeness and b-values")
    mcs, mc = _completeness(hist, s, notes)
    doc["mc"] = {"estimates": mcs, "used": mc, "rule": "given" if s.mc is not None else "max(MAXC+0.2, GFT)"}
    doc["b"] = {"history": _b_values(hist, mc, s.delta_m, 10)}
    n_per_mc = int(np.sum(per.magnitude >= mc - s.delta_m / 2 - 1e-9))
    doc["b"]["period"] = (_b_values(per, mc, s.delta_m, 50) if n_per_mc >= 50 else
                          {"note": f"{n_per_mc} events >= Mc in the period: fewer than 50, no b-value"})
    largest = None
    if len(per):
        k = int(np.argmax(per.magnitude))
        largest = {"event_id": str(per.event_id[k]), "time": _iso(per.time_s[k]),
                   "magnitude": float(per.magnitude[k]), "latitude_deg": float(per.latitude_deg[k]),
                   "longitude_deg": float(per.longitude_deg[k])}
    doc["period_summary"] = {
        "n_events": len(per), "n_above_mc": n_per_mc, "largest": largest,
        "counts_by_magnitude": {f"M{m:g}+": int(np.sum(per.magnitude >= m - 1e-9)) for m in (3, 4, 5, 6, 7)},
        "events_m5": [{"time": _iso(per.time_s[i]), "magnitude": float(per.magnitude[i]),
                       "latitude_deg": float(per.latitude_deg[i]), "longitude_deg": float(per.longitude_deg[i]),
                       "event_id": str(per.event_id[i])}
                      for i in np.flatnonzero(per.magnitude >= s.sequence_min_magnitude - 1e-9)][:200]}
    try:
        bv = st.b_value(hist.magnitude, mc, s.delta_m)
    except InputError:
        bv = None
    with rm.style(labels):
        files["gr"] = st.write_gr_plot(hist.magnitude, figdir / "gr.png", s.delta_m, mc, bv,
                                       title=labels("震级-频度关系", "Frequency-magnitude distribution"))

    say("declustering and rate maps")
    decl = dc.gardner_knopoff(hist)
    doc["declustering"] = {k: v for k, v in decl.summary().items() if k != "params"}
    step = s.rate_step_deg or _auto_step(region.bbox)
    years = (t_end - hist_begin.timestamp()) / YEAR_S
    grid = rm.background_rate_map(hist, bbox=region.bbox, spacing_deg=step, declustered=decl, min_magnitude=mc,
                                  years=years, smoothing_km=s.rate_smoothing_km)
    doc["rate_map"] = grid.summary()
    files["rate_tif"] = grid.write_geotiff(figdir / "background_rate.tif")
    files["rate_map"] = rm.plot_rate_map(grid, figdir / "background_rate.png", lon=hist.longitude_deg,
                                         lat=hist.latitude_deg, polygon=region.polygon, faults=region.faults,
                                         labels=labels)
    bin_days = _rate_bin_days(t_end - hist_begin.timestamp())
    rs = rm.rate_series(hist, decl.background, min_magnitude=mc, bin_days=bin_days,
                        start_s=hist_begin.timestamp(), end_s=t_end)
    per_years = (t_end - t_start) / YEAR_S
    doc["rate_series"] = {"bin_days": bin_days, "min_magnitude": mc, "mean_per_bin_all": float(rs.all.mean()),
                          "mean_per_bin_declustered": float(rs.declustered.mean()),
                          "period_all": int(np.sum((per.magnitude >= mc - 1e-9))),
                          "expected_in_period_declustered": float(rs.declustered.sum() / years * per_years)}
    files["rate_series"] = rm.plot_rate_series(rs, figdir / "rate_series.png", shade=(t_start, t_end), labels=labels)
    files["epicentres"] = plot_epicentres(hist, per, region, figdir / "epicentres.png", labels=labels,
                                          min_star=s.sequence_min_magnitude)
    files["mt"] = plot_magnitude_time(hist, (t_start, t_end), mc, figdir / "magnitude_time.png", labels=labels)

    n_mc = int(np.sum(hist.magnitude >= mc - s.delta_m / 2 - 1e-9))
    window = _series_window(n_mc)
    series = {}
    for method in ("tinti", "positive"):
        try:
            series[method] = st.b_value_series(hist.time_s, hist.magnitude, mc, s.delta_m, window=window,
                                               method=method)
        except InputError as err:
            notes.append(f"b-value series ({method}): {err.message}")
    if series:
        doc["b_series"] = {m: {"window": v.window, "n_points": int(v.b.size),
                               "last": None if not v.b.size else {"time": _iso(v.time_s[-1]), "b": float(v.b[-1]),
                                                                   "std": float(v.std[-1])},
                               "min": float(v.b.min()) if v.b.size else None,
                               "max": float(v.b.max()) if v.b.size else None} for m, v in series.items()}
        files["b_series"] = rm.plot_b_series(series, figdir / "b_series.png", shade=(t_start, t_end), labels=labels)
    bstep = _auto_step(region.bbox, 30)
    try:
        bmap = st.b_value_map(hist.longitude_deg, hist.latitude_deg, hist.magnitude, mc, s.delta_m,
                              bbox=region.bbox, spacing_deg=bstep, radius_km=s.b_map_radius_km,
                              min_events=s.b_map_min_events)
        ok = np.isfinite(bmap.b)
        doc["b_map"] = {"spacing_deg": bstep, "radius_km": s.b_map_radius_km, "min_events": s.b_map_min_events,
                        "nodes": int(bmap.b.size), "nodes_with_b": int(ok.sum()),
                        "b_min": float(bmap.b[ok].min()) if ok.any() else None,
                        "b_max": float(bmap.b[ok].max()) if ok.any() else None}
        if ok.any():
            files["b_map"] = rm.plot_b_map(bmap, figdir / "b_map.png", polygon=region.polygon, faults=region.faults,
                                           labels=labels)
            files["b_map_tif"] = rm.write_b_map_geotiff(bmap, figdir / "b_map.tif")
        else:
            notes.append(f"b-value map: no node has {s.b_map_min_events} events >= Mc within "
                         f"{s.b_map_radius_km:g} km")
    except InputError as err:
        notes.append(f"b-value map: {err.message}")

    say("sequences and traffic lights")
    seqs = [r for r in sequence_status(hist, s.sequence_min_magnitude, mc=mc, delta_m=s.delta_m,
                                       min_events=s.traffic_light_min_events)
            if r.time_s >= t_start]
    doc["sequences"] = [_sequence_row(r) for r in seqs]

    if s.etas:
        say("ETAS fit and forecast")
        doc["forecast"] = _forecast(cat, region, hist_begin, end, mc, per, s, labels, figdir, files, notes, say)
    else:
        doc["forecast"] = None
        notes.append("ETAS forecast not computed (switched off)")

    doc["notes"] = notes
    doc["figures"] = {k: str(Path(v).relative_to(out)) for k, v in files.items()}
    say("writing the report")
    files["json"] = atomic_write_text(out / "report.json", json.dumps(json_safe(doc), ensure_ascii=False, indent=1) + "\n")
    html = render_report_html(json_safe(doc))
    files["html"] = atomic_write_text(out / "report.html", html)
    if pdf:
        files["pdf"] = write_report_pdf(html, out / "report.pdf", base_url=out)
    return ConsultReport(out_dir=out, doc=doc, files=files, notes=notes)


def _sequence_row(r) -> dict:
    d = r.as_dict()
    seq = d["sequence"]
    tl = d["traffic_light"]
    return {"event_id": d["event_id"], "time": d["time"][:19].replace("T", " "), "magnitude": d["magnitude"],
            "latitude_deg": d["latitude_deg"], "longitude_deg": d["longitude_deg"], "role": d["role"],
            "role_zh": d["role_zh"], "mainshock_id": d["mainshock_id"], "sequence_type": d["sequence_type"],
            "sequence_type_zh": d["sequence_type_zh"], "delta_m": seq["delta_m"],
            "delta_m_lower_bound": seq["delta_m_lower_bound"], "largest_aftershock": seq["largest_aftershock"],
            "n_aftershocks": seq["n_aftershocks"], "energy_fraction": seq["energy_fraction"], "note": seq["note"],
            "traffic_light": {m: {k: tl[m][k] for k in ("status", "status_zh", "delta_b_pct", "note")}
                              | {"b_ref": None if tl[m]["b_ref"] is None else tl[m]["b_ref"]["b"],
                                 "b_after": None if tl[m]["b_after"] is None else tl[m]["b_after"]["b"]}
                              for m in tl}}


def _forecast(cat, region, hist_begin, end, mc, per, s: ConsultSettings, labels, figdir, files, notes, say):
    from tianshan.analysis.etas.forecast import GENERIC_CALIFORNIA

    w, so, e, n = region.bbox
    m = s.margin_deg
    wide = _select_or_none(cat, bbox=(w - m, so - m, e + m, n + m), start=hist_begin, end=end,
                           min_magnitude=mc - 1e-6)
    inside = None if wide is None else _select_or_none(wide, polygon=region.polygon)
    n_target = 0 if inside is None else len(inside)
    if n_target < s.min_etas_events:
        notes.append(f"ETAS forecast not computed: {n_target} events >= Mc {mc:.1f} in the region, "
                     f"need {s.min_etas_events}")
        return None
    warm = min(s.warmup_years, 0.2 * (end - hist_begin).total_seconds() / YEAR_S)
    try:
        res = etas_forecast_after(wide, region.polygon, mc=mc, start=end, days=s.forecast_days, time_begin=hist_begin,
                                  warmup_years=warm, magnitudes=s.forecast_magnitudes, n_sims=s.n_sims, seed=s.seed,
                                  mmax=s.mmax, grid_bbox=region.bbox, grid_step=_auto_step(region.bbox, 30),
                                  progress=lambda line: say(f"ETAS {line}"))
    except (InputError, DomainError, ValueError, FloatingPointError) as err:
        notes.append(f"ETAS forecast failed: {err}")
        return None
    fit, fc = res["fit"], res["forecast"]
    doc = {"fit": fit.as_dict(), "converged": fit.converged, "iterations": fit.iterations,
           "m0": res["catalog"].mag_threshold, "n_target": fit.n_target, "n_complementary": fit.n_complementary,
           "warmup_years": warm, "branching_ratio": res["branching_ratio"],
           "window_branching_ratio": res["window_branching_ratio"], "forecast": fc.as_dict()}
    if not fit.converged:
        notes.append(f"ETAS fit not converged after {fit.iterations} iterations")
    files["forecast_map"] = plot_forecast_map(res["grid"], region, figdir / "forecast_map.png", labels=labels)
    if len(per) and float(per.magnitude.max()) >= s.sequence_min_magnitude - 1e-9:
        k = int(np.argmax(per.magnitude))
        t1 = (end.timestamp() - float(per.time_s[k])) / DAY_S
        t2 = t1 + s.forecast_days
        mm = float(per.magnitude[k])
        doc["reasenberg_jones"] = {
            "mainshock": {"time": _iso(per.time_s[k]), "magnitude": mm}, "params": GENERIC_CALIFORNIA.as_dict(),
            "by_magnitude": [{"min_magnitude": x, "expected": GENERIC_CALIFORNIA.expected_number(mm, x, t1, t2),
                              "probability": GENERIC_CALIFORNIA.probability(mm, x, t1, t2)}
                             for x in s.forecast_magnitudes]}
    return doc


def _select_or_none(cat, **kw):
    try:
        return select(cat, **kw)
    except InputError:
        return None


# ------------------------------------------------------------------------------------- rendering

def render_report_html(doc: dict) -> str:
    """The HTML page of a report document (``report.json`` content) through ``templates/consult.html``."""
    from tianshan.products.reports.render import render_html

    return render_html(TEMPLATE, {"doc": doc, "footer": "Tianshan 天山 · 震情会商报告 / consultation report", **_view(doc)})


def write_report_pdf(html: str, path: str | os.PathLike, base_url: str | os.PathLike) -> Path:
    """PDF of the HTML page (WeasyPrint; figures resolved relative to ``base_url``), written atomically."""
    from tianshan.products.reports.render import write_pdf

    return Path(write_pdf(html, path, base_url=base_url))


def _fmt(v, spec: str = ".2f", none: str = "—") -> str:
    return none if v is None else format(v, spec)


def _pct(p) -> str:
    if p is None:
        return "—"
    if p >= 0.995:
        return ">99%"
    if p < 0.005:
        return "<1%"
    return f"{100 * p:.0f}%"


def _view(doc: dict) -> dict:
    """Pre-formatted strings for the template (so it holds no arithmetic)."""
    mc_rows = []
    names = {"maxc": ("最大曲率+0.2", "MAXC + 0.2"), "gft": ("拟合度", "Goodness of fit"),
             "b-stability": ("b 值稳定性", "b-value stability")}
    for k, v in doc["mc"]["estimates"].items():
        bt = v.get("bootstrap") or {}
        mc_rows.append({"zh": names[k][0], "en": names[k][1], "mc": _fmt(v.get("mc"), ".1f"),
                        "std": _fmt(bt.get("mc_std"), ".2f"), "b": _fmt((v.get("b") or {}).get("b"), ".2f"),
                        "error": v.get("error", "")})
    b_rows = []
    bnames = {"tinti": ("最大似然 (Tinti-Mulargia)", "MLE (Tinti-Mulargia)"), "utsu": ("最大似然 (Utsu)", "MLE (Utsu)"),
              "positive": ("b-positive", "b-positive")}
    for span in ("history", "period"):
        for k, v in doc["b"][span].items():
            if k == "note" or not isinstance(v, dict):
                continue
            b_rows.append({"span": span, "zh": bnames[k][0], "en": bnames[k][1], "b": _fmt(v.get("b"), ".3f"),
                           "std": _fmt(v.get("std"), ".3f"), "n": v.get("n", "—"), "error": v.get("error", "")})
    fc = doc.get("forecast")
    fc_rows = []
    if fc:
        rj = {r["min_magnitude"]: r for r in (doc["forecast"].get("reasenberg_jones") or {}).get("by_magnitude", [])}
        for r in fc["forecast"]["by_magnitude"]:
            q = r["quantiles_5_50_95"]
            x = rj.get(r["min_magnitude"])
            fc_rows.append({"m": f"{r['min_magnitude']:.1f}", "expected": f"{r['expected']:.2f}",
                            "range": f"{q[0]:.0f}–{q[2]:.0f}", "p": _pct(r["probability"]),
                            "rj_expected": _fmt(None if x is None else x["expected"]),
                            "rj_p": "—" if x is None else _pct(x["probability"])})
    return {"mc_rows": mc_rows, "b_rows": b_rows, "fc_rows": fc_rows, "fmt": _fmt, "pct": _pct}

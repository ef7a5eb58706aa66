"""``tianshan etas``: the space-time ETAS model in the parameterisation of the R package ETAS.

    tianshan etas fit --catalog CSV [--study-start D] [--study-end D] [--time-begin D]
                      [--mag-threshold M] [--polygon "lat,lon;lat,lon;..."]
                      [--param0 "mu,A,c,alpha,p,D,q,gamma"] [--dist-unit degree|km]
                      [--nnp 5] [--bwm 0.05] [--max-iter 11] [--json]

``--catalog`` is in the R ETAS layout (``date,time,long,lat,mag[,depth]``,
:mod:`tianshan.analysis.etas.data`); unreadable rows are reported on stderr with their line
numbers and skipped. ``--json`` prints ``{"params": {"beta", "mu", "A", "c", "alpha", "p",
"D", "q", "gamma"}, "stderr": {...}, "loglik", "aic", "n_target", "n_complementary",
"runtime_s"}``; without it a table. Bad input (file, dates, polygon, start values, an empty
selection) exits with status 2 and one line.

    tianshan etas forecast --catalog CSV --forecast-start D [--days 30] [--fit-end D]
                      [fit options as above] [--magnitudes "5,6"] [--mmax M] [--n-sims 10000]
                      [--seed N] [--grid-step DEG --grid-out CSV] [--json]

fits the model to the events up to ``--fit-end`` (default: the forecast start), then
simulates the window (start, start + days] from every event >= m0 up to the forecast start
(so a mainshock between the fit end and the start is part of the history) and prints the
bilingual forecast product (:func:`tianshan.analysis.etas.forecast.aftershock_bulletin`):
expected numbers and probabilities of M >= each magnitude, and the Reasenberg-Jones
(generic parameters) numbers for the largest event inside the polygon in the 7 days before
the start, if any. ``--grid-out`` writes the gridded expected numbers and probabilities
(one row per cell) over the polygon's bounding box; ``--json`` prints the fit and the
forecast as one document.
"""

from __future__ import annotations

import json
from pathlib import Path

import click


def _param0(text: str | None):
    from tianshan.analysis.etas.model import PARAM_NAMES, EtasParams
    from tianshan.core.errors import DomainError, InputError

    if text is None:
        return None
    parts = [p.strip() for p in text.split(",") if p.strip()]
    if len(parts) != len(PARAM_NAMES):
        raise InputError(f"needs {len(PARAM_NAMES)} comma-separated values ({','.join(PARAM_NAMES)}), "
                         f"got {len(parts)}", field="--param0")
    try:
        return EtasParams.from_array(float(p) for p in parts)
    except ValueError as err:  # float() or DomainError
        msg = str(err) if isinstance(err, DomainError) else f"not numbers: {text!r}"
        raise InputError(msg, field="--param0") from None


@click.group(name="etas")
def command() -> None:
    """Space-time ETAS model (R ETAS parameterisation): fit by maximum likelihood with declustering."""


def _model_options(f):
    """The options shared by ``fit`` and ``forecast``: catalog span, threshold, region, start values,
    distance unit, background smoothing and iterations (the R ETAS package's arguments)."""
    options = [
        click.option("--time-begin", default=None,
                     help="Start of the catalog's time span (default: the first event)."),
        click.option("--mag-threshold", type=float, default=None, help="Magnitude threshold m0 (default: smallest)."),
        click.option("--polygon", default=None,
                     help='Study polygon "lat,lon;lat,lon;..." (default: data range + 1 %).'),
        click.option("--param0", default=None, help='Start values "mu,A,c,alpha,p,D,q,gamma" (default: R\'s).'),
        click.option("--dist-unit", type=click.Choice(["degree", "km"]), default="degree", show_default=True,
                     help="Flat-map distance unit."),
        click.option("--nnp", type=click.IntRange(min=1), default=5, show_default=True,
                     help="Neighbour rank of the background smoothing bandwidth."),
        click.option("--bwm", type=click.FloatRange(min=0.0, min_open=True), default=0.05, show_default=True,
                     help="Minimum bandwidth in degrees."),
        click.option("--max-iter", type=click.IntRange(min=1), default=11, show_default=True,
                     help="Outer estimation/declustering iterations (R's no.itr)."),
    ]
    for option in reversed(options):
        f = option(f)
    return f


@command.command("fit")
@click.option("--catalog", "catalog_path", required=True, type=click.Path(path_type=Path),
              help="Catalog CSV in the R ETAS layout: date,time,long,lat,mag[,depth].")
@click.option("--study-start", default=None, help="Start of the study period (YYYY-MM-DD[ HH:MM:SS], UTC).")
@click.option("--study-end", default=None, help="End of the study period (default: the last event).")
@_model_options
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def fit(catalog_path: Path, study_start, study_end, time_begin, mag_threshold, polygon, param0, dist_unit, nnp,
        bwm, max_iter, as_json) -> int:
    """Fit the ETAS model to a catalog (target events inside the polygon during the study period)."""
    from tianshan.analysis.etas.data import make_catalog, read_etas_csv
    from tianshan.analysis.etas.fit import fit_etas

    start = _param0(param0)
    data = read_etas_csv(catalog_path)
    for line, reason in data.skipped:
        click.echo(f"tianshan: warning: {catalog_path}:{line}: skipped: {reason}", err=True)
    cat = make_catalog(data, time_begin=time_begin, study_start=study_start, study_end=study_end,
                       mag_threshold=mag_threshold, polygon=polygon, dist_unit=dist_unit)
    for note in cat.notes:
        click.echo(f"tianshan: warning: {catalog_path}: {note}", err=True)
    result = fit_etas(cat, start, nnp=nnp, bwm=bwm, max_iter=max_iter)
    if not result.converged:
        click.echo(f"tianshan: warning: not converged after {result.iterations} iterations", err=True)
    doc = result.as_dict()
    if as_json:
        click.echo(json.dumps(doc, indent=1))
        return 0
    click.echo(f"ETAS fit: {doc['n_target']} target + {doc['n_complementary']} complementary events, "
               f"{result.iterations} iterations ({'converged' if result.converged else 'not converged'}), "
               f"{doc['runtime_s']:.1f} s")
    click.echo(f"{'':6s} {'estimate':>12s} {'stderr':>12s}")
    for name, value in doc["params"].items():
        se = doc["stderr"][name]
        click.echo(f"{name:6s} {value:12.6g} {'n/a' if se is None else format(se, '12.4g'):>12s}")
    click.echo(f"log-likelihood {doc['loglik']:.3f}   AIC {doc['aic']:.3f}")
    return 0


def parse_magnitudes(text: str) -> tuple[float, ...]:
    """Magnitude thresholds of a ``--magnitudes`` option, comma-separated (``"5,6"``)."""
    from tianshan.core.errors import InputError

    try:
        vals = tuple(float(v) for v in text.split(",") if v.strip())
    except ValueError:
        raise InputError(f"not numbers: {text!r}", field="--magnitudes") from None
    if not vals:
        raise InputError("give at least one magnitude", field="--magnitudes")
    return vals


@command.command("forecast")
@click.option("--catalog", "catalog_path", required=True, type=click.Path(path_type=Path),
              help="Catalog CSV in the R ETAS layout: date,time,long,lat,mag[,depth].")
@click.option("--forecast-start", required=True, help="Start of the forecast window (YYYY-MM-DD[ HH:MM:SS], UTC).")
@click.option("--days", type=click.FloatRange(min=0.0, min_open=True), default=30.0, show_default=True,
              help="Length of the forecast window in days.")
@click.option("--fit-end", default=None, help="End of the fitting period (default: the forecast start).")
@click.option("--study-start", default=None, help="Start of the study (fitting) period.")
@_model_options
@click.option("--magnitudes", default="5,6", show_default=True, help="Thresholds X for numbers/probabilities of M>=X.")
@click.option("--mmax", type=float, default=None, help="Maximum magnitude (truncated Gutenberg-Richter).")
@click.option("--n-sims", type=click.IntRange(min=1), default=10_000, show_default=True,
              help="Number of simulated catalogues.")
@click.option("--seed", type=int, default=None, help="Random seed (reproducible forecasts).")
@click.option("--grid-step", type=click.FloatRange(min=0.0, min_open=True), default=0.5, show_default=True,
              help="Cell size in degrees of the --grid-out map.")
@click.option("--grid-out", type=click.Path(path_type=Path), default=None,
              help="Write the gridded forecast (CSV, one row per cell).")
@click.option("--json", "as_json", is_flag=True, help="Print the fit and the forecast as JSON.")
def forecast(catalog_path: Path, forecast_start, days, fit_end, study_start, time_begin, mag_threshold, polygon,
             param0, dist_unit, nnp, bwm, max_iter, magnitudes, mmax, n_sims, seed, grid_step, grid_out,
             as_json) -> int:
    """Fit ETAS, simulate the next days and print expected numbers and probabilities (bilingual)."""
    import numpy as np

    from tianshan.analysis.etas.data import make_catalog, parse_time, read_etas_csv
    from tianshan.analysis.etas.fit import fit_etas
    from tianshan.analysis.etas.forecast import Mainshock, aftershock_bulletin, etas_forecast, forecast_grid
    from tianshan.analysis.etas.simulate import EtasHistory, inside_polygon
    from tianshan.core.errors import InputError

    start = _param0(param0)
    mags = parse_magnitudes(magnitudes)
    t0 = parse_time(forecast_start, "--forecast-start")
    fit_end_dt = t0 if fit_end is None else parse_time(fit_end, "--fit-end")
    if fit_end_dt > t0:
        raise InputError("the fitting period must end at or before the forecast start", field="--fit-end")
    data = read_etas_csv(catalog_path)
    for line, reason in data.skipped:
        click.echo(f"tianshan: warning: {catalog_path}:{line}: skipped: {reason}", err=True)
    cat = make_catalog(data, time_begin=time_begin, study_start=study_start, study_end=fit_end_dt,
                       mag_threshold=mag_threshold, polygon=polygon, dist_unit=dist_unit)
    for note in cat.notes:
        click.echo(f"tianshan: warning: {catalog_path}: {note}", err=True)
    result = fit_etas(cat, start, nnp=nnp, bwm=bwm, max_iter=max_iter)
    if not result.converged:
        click.echo(f"tianshan: warning: not converged after {result.iterations} iterations", err=True)
    # History: every event >= m0 from time_begin up to the forecast start (fitted ones and later ones).
    late = (data.time_s > fit_end_dt.timestamp()) & (data.time_s <= t0.timestamp())
    history = EtasHistory.from_catalog(cat).concat(EtasHistory.from_lonlat(
        cat, data.time_s[late], data.longitude_deg[late], data.latitude_deg[late], data.magnitude[late]))
    fc, sims = etas_forecast(result, t0, days, magnitudes=mags, n_sims=n_sims, history=history, mmax=mmax,
                             seed=seed)
    # Reasenberg-Jones mainshock: the largest event inside the polygon in the 7 days before the start.
    t_days = (t0 - cat.time_begin).total_seconds() / 86400.0
    recent = (history.t >= t_days - 7.0) & (history.t <= t_days) & inside_polygon(history.x, history.y,
                                                                                   cat.polygon_xy)
    mainshock = None
    if recent.any():
        k = np.flatnonzero(recent)[int(np.argmax(history.m[recent]))]
        lon, lat = cat.projection.inverse(history.x[k], history.y[k])
        from datetime import timedelta

        mainshock = Mainshock(time=cat.time_begin + timedelta(days=float(history.t[k])), latitude_deg=float(lat),
                              longitude_deg=float(lon), magnitude=float(history.m[k] + cat.mag_threshold))
    if grid_out is not None:
        plat = [v[0] for v in cat.polygon_latlon]
        plon = [v[1] for v in cat.polygon_latlon]
        grid = forecast_grid(sims, result, (min(plon), min(plat), max(plon), max(plat)), grid_step, magnitudes=mags)
        grid.write_csv(grid_out)
    p = result.params
    summary = (f"m0={cat.mag_threshold:g}, beta={result.beta:.3f}, mu={p.mu:.3g}, A={p.A:.3g}, c={p.c:.3g} d, "
               f"alpha={p.alpha:.3g}, p={p.p:.3g}, D={p.D:.3g}, q={p.q:.3g}, gamma={p.gamma:.3g}; "
               f"{cat.n_target} target events")
    if as_json:
        doc = {"fit": result.as_dict(), "forecast": fc.as_dict()}
        if mainshock is not None:
            from tianshan.analysis.etas.forecast import GENERIC_CALIFORNIA as rj

            t1 = max(0.0, (fc.start - mainshock.time).total_seconds() / 86400.0)
            t2 = (fc.end - mainshock.time).total_seconds() / 86400.0
            doc["mainshock"] = {"time": mainshock.time.isoformat(), "latitude_deg": mainshock.latitude_deg,
                                "longitude_deg": mainshock.longitude_deg, "magnitude": mainshock.magnitude}
            doc["reasenberg_jones"] = {"params": rj.as_dict(), "by_magnitude": [
                {"min_magnitude": m, "expected": rj.expected_number(mainshock.magnitude, m, t1, t2),
                 "probability": rj.probability(mainshock.magnitude, m, t1, t2)} for m in sorted(mags)]}
        click.echo(json.dumps(doc, indent=1, ensure_ascii=False))
        return 0
    click.echo(aftershock_bulletin(fc, mainshock=mainshock, fit_summary=summary), nl=False)
    return 0

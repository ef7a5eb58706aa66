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


@command.command("fit")
@click.option("--catalog", "catalog_path", required=True, type=click.Path(path_type=Path),
              help="Catalog CSV in the R ETAS layout: date,time,long,lat,mag[,depth].")
@click.option("--study-start", default=None, help="Start of the study period (YYYY-MM-DD[ HH:MM:SS], UTC).")
@click.option("--study-end", default=None, help="End of the study period (default: the last event).")
@click.option("--time-begin", default=None, help="Start of the catalog's time span (default: the first event).")
@click.option("--mag-threshold", type=float, default=None, help="Magnitude threshold m0 (default: smallest).")
@click.option("--polygon", default=None, help='Study polygon "lat,lon;lat,lon;..." (default: data range + 1 %).')
@click.option("--param0", default=None, help='Start values "mu,A,c,alpha,p,D,q,gamma" (default: R\'s).')
@click.option("--dist-unit", type=click.Choice(["degree", "km"]), default="degree", show_default=True,
              help="Flat-map distance unit.")
@click.option("--nnp", type=click.IntRange(min=1), default=5, show_default=True,
              help="Neighbour rank of the background smoothing bandwidth.")
@click.option("--bwm", type=click.FloatRange(min=0.0, min_open=True), default=0.05, show_default=True,
              help="Minimum bandwidth in degrees.")
@click.option("--max-iter", type=click.IntRange(min=1), default=11, show_default=True,
              help="Outer estimation/declustering iterations (R's no.itr).")
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

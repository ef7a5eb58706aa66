"""``tianshan report consult``: the consultation report (震情会商报告) of a region and period.

    tianshan report consult --region REGION --period PERIOD (--catalog FILE | --store URL | --data-dir DIR)
                            --out DIR [--now T] [--history-start D] [--mc M] [--no-etas] [--n-sims N]
                            [--forecast-days 30] [--magnitudes 5,6] [--seed S] [--bootstrap 100]
                            [--sequence-magnitude 5] [--no-pdf] [--title TEXT] [--json]

REGION: a region profile folder (or ``demo``), a polygon ``"lat,lon;lat,lon;..."``, a box
``"west,south,east,north"`` or ``xinjiang``. PERIOD: ``START/END`` (UTC dates or times, END
exclusive) or ``<N>d``, the N days before ``--now`` (default: the current time). The catalogue is
a file (EQT, CSV variants, QuakeML; :mod:`tianshan.analysis.catalog`) or the event store.
Writes ``report.html``, ``report.pdf``, ``report.json`` and ``figures/`` into ``--out``
(:mod:`tianshan.products.reports.consult`). Bad input exits with status 2 and one line.
"""

from __future__ import annotations

from pathlib import Path

import click

from tianshan.cli.etas import parse_magnitudes


@click.command(name="consult")
@click.option("--region", required=True,
              help="Region folder or 'demo', polygon 'lat,lon;lat,lon;...', box 'W,S,E,N', or 'xinjiang'.")
@click.option("--period", required=True, help="START/END (UTC, END exclusive) or <N>d (the N days before --now).")
@click.option("--now", default=None, help="Reference time for --period <N>d (default: the current time, UTC).")
@click.option("--catalog", "catalog_path", type=click.Path(path_type=Path), default=None,
              help="Catalogue file (EQT, CSV, QuakeML).")
@click.option("--format", "fmt", type=click.Choice(["auto", "eqt", "csv", "quakeml"]), default="auto",
              show_default=True, help="Catalogue file format.")
@click.option("--store", "--url", "url", default=None, help="Event store database URL.")
@click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Event store folder (SQLite <DATA_DIR>/tianshan.sqlite).")
@click.option("--config", "config_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Settings file naming the store (with neither --catalog, --store nor --data-dir).")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Output folder.")
@click.option("--history-start", default="1970-01-01", show_default=True,
              help="Start of the catalogue used for the statistics and the ETAS fit ('all': no limit).")
@click.option("--mc", type=float, default=None, help="Completeness magnitude (default: max(MAXC+0.2, GFT)).")
@click.option("--etas/--no-etas", default=True, show_default=True, help="Fit ETAS and forecast the next days.")
@click.option("--n-sims", type=click.IntRange(min=10), default=10_000, show_default=True,
              help="ETAS simulated catalogues.")
@click.option("--forecast-days", type=click.FloatRange(min=0.0, min_open=True), default=30.0, show_default=True,
              help="Forecast window after the period, days.")
@click.option("--magnitudes", default="5,6", show_default=True, help="Forecast thresholds M>=X.")
@click.option("--seed", type=int, default=2024, show_default=True, help="Random seed of the simulations.")
@click.option("--bootstrap", "n_boot", type=click.IntRange(min=0), default=100, show_default=True,
              help="Bootstrap resamplings for the Mc/b uncertainty.")
@click.option("--sequence-magnitude", type=float, default=5.0, show_default=True,
              help="Sequence type and traffic light for the period's events at least this large.")
@click.option("--no-pdf", is_flag=True, help="Write the HTML only.")
@click.option("--title", default="", help="Extra title text (e.g. the meeting).")
@click.option("--json", "as_json", is_flag=True, help="Print report.json on stdout.")
def command(region, period, now, catalog_path, fmt, url, data_dir, config_path, out_dir, history_start, mc, etas,
            n_sims, forecast_days, magnitudes, seed, n_boot, sequence_magnitude, no_pdf, title, as_json) -> int:
    """Consultation report: maps, M-t plot, b-value and rate series, ETAS forecast, sequences, traffic light."""
    from rich.console import Console

    from tianshan.analysis.catalog import read_catalog, store_catalog
    from tianshan.core.errors import InputError
    from tianshan.products.reports.consult import (ConsultSettings, build_consult_report, parse_period,
                                                   parse_region)

    if catalog_path is not None and (url is not None or data_dir is not None):
        raise InputError("give either --catalog FILE or the store (--store/--data-dir), not both", field="--catalog")
    reg = parse_region(region)
    span = parse_period(period, now)
    settings = ConsultSettings(history_start=None if history_start.lower() == "all" else history_start, mc=mc,
                               n_boot=n_boot, sequence_min_magnitude=sequence_magnitude, etas=etas,
                               forecast_days=forecast_days, forecast_magnitudes=parse_magnitudes(magnitudes),
                               n_sims=n_sims, seed=seed, title=title)
    console = Console(stderr=True)
    with console.status("reading the catalogue...") as status:
        if catalog_path is not None:
            cat = read_catalog(catalog_path, fmt)
        else:
            from tianshan.cli._store_options import database_url

            cat = store_catalog(database_url(url, data_dir, config_path))
        for line, reason in cat.skipped[:20]:
            click.echo(f"tianshan: warning: {cat.source}:{line}: skipped: {reason}", err=True)
        if len(cat.skipped) > 20:
            click.echo(f"tianshan: warning: {cat.source}: {len(cat.skipped) - 20} more line(s) skipped", err=True)
        report = build_consult_report(cat, reg, span, out_dir, settings, pdf=not no_pdf,
                                      progress=lambda msg: status.update(msg + "..."))
    for note in report.notes:
        click.echo(f"tianshan: note: {note}", err=True)
    if as_json:
        click.echo(report.files["json"].read_text(encoding="utf-8"), nl=False)
        return 0
    doc = report.doc
    ps = doc["period_summary"]
    click.echo(f"{reg.name}: {ps['n_events']} events in the period, {doc['catalog']['n_history']} since "
               f"{doc['history']['start'][:10]}; Mc {doc['mc']['used']:.1f}, "
               f"b {_b(doc['b']['history'], 'tinti')} (MLE), {_b(doc['b']['history'], 'positive')} (b-positive)")
    fc = doc.get("forecast")
    if fc:
        parts = [f"M>={r['min_magnitude']:g}: {r['expected']:.2f} expected, P {100 * r['probability']:.0f}%"
                 for r in fc["forecast"]["by_magnitude"]]
        click.echo(f"ETAS next {forecast_days:g} days: " + "; ".join(parts))
    click.echo("wrote " + ", ".join(str(report.files[k]) for k in ("html", "pdf", "json") if k in report.files))
    return 0


def _b(d: dict, name: str) -> str:
    v = d.get(name) or {}
    if v.get("b") is None:
        return "n/a"
    return f"{v['b']:.2f} ± {v['std']:.2f}"

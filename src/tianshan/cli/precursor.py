"""``tianshan precursor``: annual-variation anomaly indices and their prediction efficacy.

``tianshan precursor extract FILE --out DIR [--json] [--plot]``
    reads a station series (``.Dat`` ``STAMP VALUE`` lines or day rows; CSV with
    ``--csv-column``), pre-processes it and writes ``DIR/ANA.txt`` and ``DIR/ONA.txt`` as
    daily ``YYYYMMDD value`` lines (``999999.00000`` on missing days, EQSuite-EVA's
    layout) and ``DIR/extract.json`` (read report, corrections, annual ratio, and the
    anomaly list: robust k-sigma exceedances of ANA and ONA with start, end, amplitude).

``tianshan precursor evaluate INDEX --catalog FILE --lat DEG --lon DEG [--json]``
    scores an index file (``YYYYMMDD value``) against the catalog's earthquakes: the
    bidirectional asymmetric threshold search over magnitude bands x radii x windows and
    the best index per band (R, R0, hits/targets, alarm fraction, gain, significance).
    With ``--low/--high/--window/--radius/--magnitude`` it scores that one setting.
    ``--out DIR`` writes ``efficacy.json``, ``report.md`` (bilingual) and, with
    ``--plot``, Molchan diagrams.

Bad input files give one line ``tianshan: error: ...`` and exit status 2; lines that
cannot be read are counted and reported, not fatal.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import click


@click.group(name="precursor")
def command() -> None:
    """Precursor series: ANA/ONA extraction (S-transform) and efficacy evaluation (R-score, Molchan)."""


def _parse_list(text: str, name: str) -> list[float]:
    """``"7,14,30:1080:30"`` -> values; ``a:b:c`` is a range from a to b (inclusive) by c."""
    from tianshan.core.errors import InputError

    out: list[float] = []
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        try:
            if ":" in part:
                a, b, c = (float(x) for x in part.split(":"))
                if c <= 0:
                    raise ValueError
                k = 0
                while a + k * c <= b + 1e-9:
                    out.append(a + k * c)
                    k += 1
            else:
                out.append(float(part))
        except ValueError:
            raise InputError(f"cannot read {part!r}: give numbers or start:stop:step ranges",
                             field=name) from None
    if not out:
        raise InputError("empty list", field=name)
    return out


def _json_default(o):
    if isinstance(o, float) and (math.isnan(o) or math.isinf(o)):
        return None
    return str(o)


def _clean(obj):
    """NaN/inf -> None for strict JSON."""
    if isinstance(obj, float):
        return None if (math.isnan(obj) or math.isinf(obj)) else obj
    if isinstance(obj, dict):
        return {k: _clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_clean(v) for v in obj]
    return obj


@command.command("extract")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="folder for ANA.txt, ONA.txt and extract.json")
@click.option("--meta", "meta_path", type=click.Path(dir_okay=False, path_type=Path),
              help="JSON metadata record (station_id, item, unit, latitude_deg, longitude_deg, ...)")
@click.option("--csv-column", default=None, help="read FILE as CSV and use this value column")
@click.option("--utc-offset", "utc_offset_h", type=float, default=8.0, show_default=True,
              help="hours east of UTC of the file's time stamps (Beijing time: 8)")
@click.option("--no-preprocess", is_flag=True, help="only bridge gaps (no step/spike removal)")
@click.option("--force", is_flag=True, help="extract even without a clear annual variation")
@click.option("--anomaly-k", type=click.FloatRange(min=0.0, min_open=True), default=3.0, show_default=True,
              help="robust exceedance level (k sigma) for the ANA/ONA anomaly list")
@click.option("--plot", is_flag=True, help="also write DIR/annual.png")
@click.option("--json", "as_json", is_flag=True, help="print the summary as JSON")
def extract(file: Path, out_dir: Path, meta_path: Path | None, csv_column: str | None, utc_offset_h: float,
            no_preprocess: bool, force: bool, anomaly_k: float, plot: bool, as_json: bool) -> None:
    """Write ANA.txt and ONA.txt (daily YYYYMMDD value) for one observation series."""
    from tianshan.analysis.precursor.annual import extract_annual
    from tianshan.analysis.precursor.series import read_csv_series, read_dat, read_meta, write_daily
    from tianshan.core.errors import InputError
    from tianshan.io.atomic import atomic_write_text

    meta = read_meta(meta_path) if meta_path else None
    if csv_column:
        cols = read_csv_series(file, columns=[csv_column], meta=meta, utc_offset_h=utc_offset_h)
        series = cols[csv_column]
    else:
        series = read_dat(file, meta=meta, utc_offset_h=utc_offset_h)
    try:
        result = extract_annual(series, require_annual=not force, preprocess=not no_preprocess)
    except InputError as err:
        raise InputError(err.message, str(file), field=err.field) from None
    out_dir.mkdir(parents=True, exist_ok=True)
    ana = write_daily(out_dir / "ANA.txt", list(result.days), result.ana_reported())
    ona = write_daily(out_dir / "ONA.txt", list(result.days), result.ona_reported())
    from tianshan.analysis.precursor.detect import anomaly_list, exceedances

    anomalies = []
    for name, values in (("ANA", result.ana_reported()), ("ONA", result.ona_reported())):
        for a in anomaly_list(exceedances(values, anomaly_k, times=list(result.days), merge_gap=5)):
            anomalies.append({"index": name, **a.as_dict()})
    summary = {"file": str(file), "meta": series.meta.as_dict(), "ana": str(ana), "ona": str(ona),
               **result.summary(), "read": series.report.as_dict() if series.report else None,
               "corrections_detail": result.corrections.as_dict(20), "anomalies": anomalies}
    if plot:
        from tianshan.analysis.precursor.plots import plot_annual

        summary["figure"] = str(plot_annual(result, out_dir / "annual.png", series.meta.code or file.stem))
    atomic_write_text(out_dir / "extract.json", json.dumps(_clean(summary), ensure_ascii=False, indent=1))
    if as_json:
        click.echo(json.dumps(_clean(summary), ensure_ascii=False, default=_json_default))
        return
    rep = series.report
    click.echo(f"{file}: {len(result.days)} days {result.days[0]}..{result.days[-1]}, "
               f"{int(result.missing.sum())} missing days, annual ratio {result.ratio:.3f}")
    if rep is not None and (rep.bad_lines or rep.duplicates):
        click.echo(f"  {len(rep.bad_lines)} bad lines, {len(rep.duplicates)} duplicate stamps (see extract.json)")
    click.echo(f"  corrections: {result.corrections.counts()}")
    for a in anomalies:
        click.echo(f"  anomaly {a['index']} {a['kind']}: {a['start']}..{a['end']} amplitude {a['amplitude']:.4f}")
    click.echo(f"  wrote {ana} and {ona}")


def _best_rows(search) -> list[str]:
    rows = []
    for m0, best in search.best.items():
        if best is None:
            rows.append(f"M>={m0:g}: fewer than 2 targets, not evaluated")
            continue
        c, s = best.cell, best.cell.score
        rows.append(f"M>={m0:g}: r<{c.max_radius_km:g} km, window {c.window_days} d, thresholds "
                    f"{c.point.threshold_low:.5f}/{c.point.threshold_high:.5f}: R={s.r:.4f} R0={s.r0:.4f} "
                    f"hits {s.hits}/{s.n_targets} tau={s.alarm_fraction:.4f} gain={s.gain:.3f} "
                    f"alpha={s.significance:.3g} {'R>R0' if s.significant else 'R<=R0'}")
    return rows


@command.command("evaluate")
@click.argument("index_file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--catalog", "catalog_path", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="earthquake catalog: EQT (GBK, Beijing time) or CSV yr,mo,dy,hr,mi,s,lat,lon,M,...")
@click.option("--catalog-format", type=click.Choice(["auto", "eqt", "csv"]), default="auto", show_default=True)
@click.option("--catalog-utc-offset", type=float, default=None,
              help="hours east of UTC of the catalog times (default: 8 for EQT, 0 for CSV)")
@click.option("--lat", "lat", required=True, type=click.FloatRange(-90, 90), help="station latitude, degrees")
@click.option("--lon", "lon", required=True, type=click.FloatRange(-180, 360), help="station longitude, degrees")
@click.option("--utc-offset", "utc_offset_h", type=float, default=8.0, show_default=True,
              help="hours east of UTC of the index's dates")
@click.option("--magnitudes", default="5,6,7", show_default=True, help="lower bounds of the magnitude bands")
@click.option("--radii", default="50:500:50", show_default=True, help="outer radii, km")
@click.option("--windows", default="7,14,30:1080:30", show_default=True, help="prediction windows, days")
@click.option("--thresholds", "n_thresholds", type=click.IntRange(3, 1000), default=100, show_default=True)
@click.option("--min-targets", type=click.IntRange(1), default=2, show_default=True)
@click.option("--method", type=click.Choice(["binomial", "eqsuite"]), default="binomial", show_default=True,
              help="R0/significance: exact binomial, or EQSuite-EVA's normal approximation for N>=20")
@click.option("--low", type=float, default=None, help="score one setting: low threshold")
@click.option("--high", type=float, default=None, help="score one setting: high threshold")
@click.option("--window", type=click.IntRange(1), default=None, help="score one setting: window, days")
@click.option("--radius", type=float, default=None, help="score one setting: radius, km")
@click.option("--magnitude", type=float, default=None, help="score one setting: minimum magnitude")
@click.option("--name", "index_name", default=None, help="index name for the report (default: file stem)")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="folder for efficacy.json, report.md and figures")
@click.option("--plot", is_flag=True, help="with --out: Molchan diagram of each best index")
@click.option("--json", "as_json", is_flag=True, help="print the result as JSON")
def evaluate(index_file: Path, catalog_path: Path, catalog_format: str, catalog_utc_offset: float | None,
             lat: float, lon: float, utc_offset_h: float, magnitudes: str, radii: str, windows: str,
             n_thresholds: int, min_targets: int, method: str, low: float | None, high: float | None,
             window: int | None, radius: float | None, magnitude: float | None, index_name: str | None,
             out_dir: Path | None, plot: bool, as_json: bool) -> None:
    """Score an ANA/ONA index against a catalog (best index search, or one setting)."""
    from tianshan.analysis.efficacy.alarms import (candidate_targets, evaluate_alarms, read_catalog,
                                                   search_best_index, select_targets)
    from tianshan.analysis.precursor.series import read_dat
    from tianshan.core.errors import InputError
    from tianshan.io.atomic import atomic_write_text

    series = read_dat(index_file, utc_offset_h=utc_offset_h)
    if series.step_s != 86400:
        raise InputError(f"the index must be daily (YYYYMMDD value lines), got a {series.step_s} s series",
                         str(index_file))
    catalog = read_catalog(catalog_path, catalog_format, catalog_utc_offset)
    first_day = series.local_dates()[0]
    x = series.values
    name = index_name or index_file.stem
    single = [v is not None for v in (low, high, window, radius, magnitude)]
    if any(single):
        if not all(single):
            raise InputError("scoring one setting needs all of --low, --high, --window, --radius, --magnitude")
        pool = candidate_targets(catalog.events, lat, lon, first_day, x.size, utc_offset_h, radius, magnitude)
        targets = select_targets(pool, magnitude, math.inf, 0.0, radius)
        ev = evaluate_alarms(x, targets, low, high, window, method=method)
        result = {"index": str(index_file), "catalog": str(catalog_path), "catalog_skipped": len(catalog.skipped),
                  "radius_km": radius, "min_magnitude": magnitude, **ev.as_dict()}
        if out_dir is not None:
            out_dir.mkdir(parents=True, exist_ok=True)
            atomic_write_text(out_dir / "efficacy.json", json.dumps(_clean(result), ensure_ascii=False, indent=1))
        if as_json:
            click.echo(json.dumps(_clean(result), ensure_ascii=False))
        else:
            s = ev.score
            click.echo(f"{name}: R={s.r:.4f} R0={s.r0:.4f} hits {s.hits}/{s.n_targets} "
                       f"tau={s.alarm_fraction:.4f} gain={s.gain:.3f} alpha={s.significance:.3g}")
        return
    search = search_best_index(x, first_day, catalog.events, lat, lon,
                               magnitudes=_parse_list(magnitudes, "magnitudes"),
                               radii_km=_parse_list(radii, "radii"),
                               windows_days=[int(round(w)) for w in _parse_list(windows, "windows")],
                               n_thresholds=n_thresholds, min_targets=min_targets, method=method,
                               utc_offset_h=utc_offset_h)
    result = {"index": str(index_file), "name": name, "catalog": str(catalog_path),
              "catalog_events": len(catalog), "catalog_skipped": len(catalog.skipped),
              "station": {"latitude": lat, "longitude": lon}, "first_day": first_day.isoformat(),
              "missing_days": int(series.missing.sum()), **search.as_dict()}
    if out_dir is not None:
        from tianshan.analysis.precursor.report import efficacy_section

        out_dir.mkdir(parents=True, exist_ok=True)
        atomic_write_text(out_dir / "efficacy.json",
                          json.dumps(_clean(search.as_dict(with_grid=True) | result), ensure_ascii=False))
        atomic_write_text(out_dir / "report.md", efficacy_section(search, name))
        result["report"] = str(out_dir / "report.md")
        if plot:
            from tianshan.analysis.precursor.plots import plot_molchan

            figs = []
            for m0, best in search.best.items():
                if best is not None:
                    figs.append(str(plot_molchan(best, out_dir / f"{name}_molchan_M{m0:g}.png")))
            result["figures"] = figs
    if as_json:
        click.echo(json.dumps(_clean(result), ensure_ascii=False))
        return
    click.echo(f"{name}: {series.values.size} days from {first_day}, catalog {len(catalog)} events")
    for row in _best_rows(search):
        click.echo("  " + row)

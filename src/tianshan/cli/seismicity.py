"""``tianshan seismicity``: completeness and b-value, declustering, sequence types.

    tianshan seismicity stats     SOURCE [SELECTION] [--delta-m 0.1] [--mc M | --mc-method maxc|gft|b-stability]
                                  [--bootstrap 100] [--dmc D] [--series N] [--map-spacing DEG --map-radius KM]
                                  [--gr-plot FILE.png] [--json]
    tianshan seismicity decluster SOURCE [SELECTION] [--method gardner-knopoff|gruenthal|uhrhammer|reasenberg|
                                  zaliapin|all] [--eta0 gmm|-5] [--output background.csv] [--json]
    tianshan seismicity sequence  SOURCE [SELECTION] [--main-magnitude 5] [--completeness M]
                                  [--radius-km R] [--days-after D] [--traffic-light --mc M] [--json]
    tianshan seismicity ratemap   SOURCE [SELECTION] --out DIR [--spacing 0.5] [--method gardner-knopoff|...]
                                  [--rate-min-magnitude M] [--smoothing-km C] [--json]
    tianshan seismicity sequences [--store URL | --data-dir DIR] [--min-mag 5] [--mc M] [--out DIR]
                                  [--no-save] [--json]

``stats --series N --series-plot FILE.png`` draws the b-value time series (classic and b-positive),
``--map-spacing DEG --map-out FILE.tif|.png`` writes the b-value map as GeoTIFF (b, std) or a figure.
``ratemap`` writes the declustered background rate map (events/yr/km², :mod:`tianshan.analysis.ratemap`)
as ``rate.tif`` and ``rate.png`` plus ``rate.json``. ``sequences`` computes the sequence type and the
foreshock traffic light of every large event of the event store from the store's own catalogue and
stores each result as a ``sequence-status`` product of the event (:mod:`tianshan.analysis.sequences`).

SOURCE is ``--catalog FILE`` (EQT, CSV variants incl. the headerless china_mw layout, QuakeML;
:mod:`tianshan.analysis.catalog`), ``--fdsn SERVICE`` (an FDSN event service through ObsPy), or
the event store (``--url`` / ``--data-dir``). SELECTION: ``--bbox W,S,E,N`` or ``--xinjiang``
(the box of :data:`~tianshan.analysis.catalog.XINJIANG_BOX`) or ``--polygon "lat,lon;..."``,
``--start``/``--end`` (UTC), ``--min-magnitude``/``--max-magnitude``, ``--min-depth``/``--max-depth``
(km). Unreadable lines of a file are reported on stderr with their line numbers and skipped;
an empty selection or bad input exits with status 2 and one line.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import click

from tianshan.products.reports.consult import json_safe


def _bbox(text: str | None):
    from tianshan.core.errors import InputError

    if text is None:
        return None
    parts = [p.strip() for p in text.split(",")]
    try:
        vals = tuple(float(p) for p in parts)
    except ValueError:
        raise InputError(f"not numbers: {text!r}", field="--bbox") from None
    if len(vals) != 4:
        raise InputError("needs west,south,east,north", field="--bbox")
    return vals


def source_options(func):
    """Catalog source and selection options shared by the subcommands."""
    opts = [
        click.option("--catalog", "catalog_path", type=click.Path(path_type=Path),
                     help="Catalog file (EQT, CSV, QuakeML)."),
        click.option("--format", "fmt", type=click.Choice(["auto", "eqt", "csv", "quakeml"]), default="auto",
                     show_default=True, help="Catalog file format."),
        click.option("--fdsn", default=None, help="FDSN event service (ObsPy name such as USGS, or a base URL)."),
        click.option("--url", default=None, help="Event store database URL."),
        click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
                     help="Event store folder (SQLite <DATA_DIR>/tianshan.sqlite)."),
        click.option("--bbox", default=None, help="Box west,south,east,north (degrees)."),
        click.option("--xinjiang", is_flag=True, help="Use the Xinjiang box 73-97E, 34-50N."),
        click.option("--polygon", default=None, help='Polygon "lat,lon;lat,lon;...".'),
        click.option("--start", default=None, help="Start time (YYYY-MM-DD[ HH:MM:SS], UTC)."),
        click.option("--end", default=None, help="End time (exclusive)."),
        click.option("--min-magnitude", type=float, default=None, help="Smallest magnitude kept."),
        click.option("--max-magnitude", type=float, default=None, help="Largest magnitude kept."),
        click.option("--min-depth", type=float, default=None, help="Smallest depth kept, km."),
        click.option("--max-depth", type=float, default=None, help="Largest depth kept, km."),
        click.option("--json", "as_json", is_flag=True, help="Print the result as JSON."),
    ]
    for opt in reversed(opts):
        func = opt(func)
    return func


def load_selection(kw: dict):
    """Read the source named by the options, report skipped lines, apply the selection."""
    from tianshan.analysis.catalog import (XINJIANG_BOX, fetch_fdsn_catalog, read_catalog, select,
                                           store_catalog)
    from tianshan.core.errors import InputError

    bbox = XINJIANG_BOX if kw.pop("xinjiang") else _bbox(kw.pop("bbox"))
    path, fdsn, url, data_dir = kw.pop("catalog_path"), kw.pop("fdsn"), kw.pop("url"), kw.pop("data_dir")
    fmt = kw.pop("fmt")
    if sum(x is not None for x in (path, fdsn)) + (url is not None or data_dir is not None) != 1:
        raise InputError("give exactly one source: --catalog FILE, --fdsn SERVICE, or --url/--data-dir (store)",
                         field="--catalog")
    if path is not None:
        cat = read_catalog(path, fmt)
    elif fdsn is not None:
        cat = fetch_fdsn_catalog(fdsn, start=kw.get("start"), end=kw.get("end"), min_magnitude=kw.get("min_magnitude"),
                                 bbox=bbox)
    else:
        cat = store_catalog(url, data_dir)
    for line, reason in cat.skipped:
        click.echo(f"tianshan: warning: {cat.source}:{line}: skipped: {reason}", err=True)
    for note in cat.notes:
        click.echo(f"tianshan: warning: {cat.source}: {note}", err=True)
    sel = select(cat, polygon=kw.pop("polygon"), bbox=bbox, start=kw.pop("start"), end=kw.pop("end"),
                 min_magnitude=kw.pop("min_magnitude"), max_magnitude=kw.pop("max_magnitude"),
                 min_depth_km=kw.pop("min_depth"), max_depth_km=kw.pop("max_depth"))
    return cat, sel.sorted()


def _selection_doc(cat, sel) -> dict:
    return {"source": cat.source, "n_read": len(cat), "n_skipped_lines": len(cat.skipped),
            "skipped_lines": [ln for ln, _ in cat.skipped][:50], "n_selected": len(sel)}


@click.group(name="seismicity")
def command() -> None:
    """Seismicity statistics: Mc and b-value, declustering, sequence types and foreshock traffic light."""


@command.command("stats")
@source_options
@click.option("--delta-m", type=click.FloatRange(min=0.0, min_open=True), default=0.1, show_default=True,
              help="Magnitude bin width.")
@click.option("--mc", type=float, default=None, help="Completeness magnitude to use (default: by --mc-method).")
@click.option("--mc-method", type=click.Choice(["maxc", "gft", "b-stability"]), default="maxc", show_default=True,
              help="Mc method whose value the b-values use.")
@click.option("--bootstrap", "n_boot", type=click.IntRange(min=0), default=100, show_default=True,
              help="Bootstrap resamplings for the Mc/b uncertainty (0: none).")
@click.option("--dmc", type=float, default=None, help="b-positive minimum difference (default: --delta-m).")
@click.option("--series", "series_window", type=click.IntRange(min=10), default=None,
              help="Add a b-value time series with windows of this many events.")
@click.option("--map-spacing", type=float, default=None, help="Add a b-value map with this grid spacing (deg).")
@click.option("--map-radius", type=float, default=100.0, show_default=True, help="b-value map sampling radius, km.")
@click.option("--gr-plot", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write a Gutenberg-Richter plot (PNG/PDF/SVG).")
@click.option("--series-plot", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="With --series: draw the b-value time series (PNG/SVG).")
@click.option("--map-out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="With --map-spacing: write the b-value map as GeoTIFF (.tif) or a figure (.png/.svg).")
def stats(delta_m, mc, mc_method, n_boot, dmc, series_window, map_spacing, map_radius, gr_plot, series_plot, map_out,
          as_json, **kw) -> int:
    """Completeness magnitude (MAXC, goodness of fit, b-stability) and b-values with uncertainties."""
    from tianshan.analysis import stats as st
    from tianshan.core.errors import InputError

    cat, sel = load_selection(kw)
    mags = sel.magnitude
    mcs = {}
    for method in st.MC_METHODS:
        try:
            c = st.estimate_mc(mags, delta_m, method)
        except InputError as err:
            mcs[method] = {"mc": None, "error": err.message}
            continue
        doc = c.as_dict()
        doc.pop("details")
        if n_boot:
            boot = st.mc_bootstrap(mags, delta_m, method, n_boot=n_boot)
            doc["bootstrap"] = {"mc_mean": boot.mc_mean, "mc_std": boot.mc_std, "b_mean": boot.b_mean,
                                "b_std": boot.b_std, "n": boot.n, "n_failed": boot.n_failed}
        mcs[method] = doc
    given = mc is not None
    if mc is None:
        mc = mcs[mc_method]["mc"]
        if mc is None:
            raise InputError(f"{mc_method}: {mcs[mc_method]['error']}; give --mc", field="--mc")
    bvals = {"tinti": st.b_value(mags, mc, delta_m, "tinti").as_dict(),
             "utsu": st.b_value(mags, mc, delta_m, "utsu").as_dict(),
             "positive": st.b_positive(mags, sel.time_s, mc, delta_m, dmc).as_dict()}
    doc = {"selection": _selection_doc(cat, sel), "delta_m": delta_m, "mc_used": mc,
           "mc_method": "given" if given else mc_method, "mc": mcs, "b": bvals}
    if (series_plot is not None and not series_window) or (map_out is not None and not map_spacing):
        raise InputError("--series-plot needs --series N and --map-out needs --map-spacing DEG",
                         field="--series-plot" if series_plot is not None and not series_window else "--map-out")
    if series_window:
        all_series = {}
        for method in ("tinti", "positive"):
            s = st.b_value_series(sel.time_s, mags, mc, delta_m, window=series_window, method=method, dmc=dmc)
            all_series[method] = s
            doc.setdefault("series", {})[method] = {"time_s": s.time_s, "b": s.b, "std": s.std, "n": s.n}
        if series_plot is not None:
            from tianshan.analysis.ratemap import plot_b_series

            doc["series_plot"] = str(plot_b_series(all_series, series_plot))
    if map_spacing:
        box = (float(sel.longitude_deg.min()), float(sel.latitude_deg.min()), float(sel.longitude_deg.max()),
               float(sel.latitude_deg.max()))
        bm = st.b_value_map(sel.longitude_deg, sel.latitude_deg, mags, mc, delta_m, bbox=box, spacing_deg=map_spacing,
                            radius_km=map_radius)
        doc["map"] = {"longitude_deg": bm.longitude_deg, "latitude_deg": bm.latitude_deg, "b": bm.b, "std": bm.std,
                      "n": bm.n, "radius_km": bm.radius_km}
        if map_out is not None:
            from tianshan.analysis.ratemap import plot_b_map, write_b_map_geotiff

            tif = map_out.suffix.lower() in (".tif", ".tiff")
            doc["map_out"] = str(write_b_map_geotiff(bm, map_out) if tif else plot_b_map(bm, map_out))
    if gr_plot is not None:
        st.write_gr_plot(mags, gr_plot, delta_m, mc, st.b_value(mags, mc, delta_m), title=Path(cat.source).name)
        doc["gr_plot"] = str(gr_plot)
    if as_json:
        click.echo(json.dumps(json_safe(doc), indent=1, ensure_ascii=False))
        return 0
    click.echo(f"{len(sel)} events selected of {len(cat)} read ({len(cat.skipped)} line(s) skipped)")
    for method, c in mcs.items():
        if c["mc"] is None:
            click.echo(f"Mc {method:12s} n/a ({c['error']})")
            continue
        boot = c.get("bootstrap")
        extra = f" ± {boot['mc_std']:.2f} (bootstrap {boot['n']})" if boot else ""
        click.echo(f"Mc {method:12s} {c['mc']:.1f}{extra}")
    for name, b in bvals.items():
        click.echo(f"b  {name:12s} {b['b']:.3f} ± {b['std']:.3f} (Shi-Bolt; n={b['n']}, Mc {mc:.1f})")
    return 0


@command.command("decluster")
@source_options
@click.option("--method", "methods", multiple=True, default=("all",), show_default=True,
              type=click.Choice(["all", "gardner-knopoff", "gruenthal", "uhrhammer", "reasenberg", "zaliapin"]),
              help="Method (repeatable).")
@click.option("--fs-time-prop", type=click.FloatRange(0.0, 1.0), default=1.0, show_default=True,
              help="Window methods: fraction of the time window searched for foreshocks.")
@click.option("--xmeff", type=float, default=None,
              help="Reasenberg: effective magnitude cut-off (default: smallest M).")
@click.option("--rfact", type=float, default=10.0, show_default=True, help="Reasenberg: interaction radius factor.")
@click.option("--eta0", default="gmm", show_default=True, help="Zaliapin-Ben-Zion: 'gmm' or log10 of eta0.")
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write the catalog with cluster numbers of the (first) method as CSV.")
def decluster_cmd(methods, fs_time_prop, xmeff, rfact, eta0, output, as_json, **kw) -> int:
    """Decluster: background counts by Gardner-Knopoff (and variants), Reasenberg, Zaliapin-Ben-Zion."""
    from tianshan.analysis import decluster as dc
    from tianshan.core.errors import InputError

    cat, sel = load_selection(kw)
    names = list(dc.METHODS) if "all" in methods else list(dict.fromkeys(methods))
    try:
        threshold = eta0 if eta0 == "gmm" else float(eta0)
    except ValueError:
        raise InputError(f"must be 'gmm' or a number, not {eta0!r}", field="--eta0") from None
    results = []
    for name in names:
        if name in dc.WINDOWS:
            res = dc.gardner_knopoff(sel, name, fs_time_prop=fs_time_prop)
        elif name == "reasenberg":
            res = dc.reasenberg(sel, xmeff=xmeff, rfact=rfact)
        else:
            res = dc.zaliapin_ben_zion(sel, threshold=threshold)
        results.append(res)
    if output is not None:
        _write_declustered(sel, results[0], output)
    years = max((sel.time_s.max() - sel.time_s.min()) / (365.25 * 86400.0), 1e-9)
    doc = {"selection": _selection_doc(cat, sel),
           "results": [{**r.summary(), "background_rate_per_year": r.n_background / years} for r in results]}
    if as_json:
        click.echo(json.dumps(json_safe(doc), indent=1, ensure_ascii=False))
        return 0
    click.echo(f"{len(sel)} events selected of {len(cat)} read ({len(cat.skipped)} line(s) skipped), "
               f"{years:.1f} years")
    for r in results:
        click.echo(f"{r.method:16s} background {r.n_background:6d}  clusters {r.n_clusters:5d}  "
                   f"removed {r.n_clustered:6d}")
    return 0


def _write_declustered(sel, res, path: Path) -> None:
    import csv

    from tianshan.analysis.catalog import posix_to_datetime
    from tianshan.io.atomic import atomic_open

    with atomic_open(path, "w") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["event_id", "time", "latitude", "longitude", "depth_km", "magnitude", "magnitude_type",
                    "cluster_id", "mainshock", "background"])
        for i in range(len(sel)):
            depth = sel.depth_km[i]
            w.writerow([sel.event_id[i], posix_to_datetime(sel.time_s[i]).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
                        repr(float(sel.latitude_deg[i])), repr(float(sel.longitude_deg[i])),
                        "" if math.isnan(depth) else repr(float(depth)), repr(float(sel.magnitude[i])),
                        sel.magnitude_type[i], int(res.cluster_id[i]), int(res.mainshock[i]),
                        int(res.background[i])])


@command.command("ratemap")
@source_options
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Output folder (rate.tif, rate.png, rate.json).")
@click.option("--spacing", type=click.FloatRange(min=0.0, min_open=True), default=0.5, show_default=True,
              help="Cell size, degrees.")
@click.option("--method", type=click.Choice(["gardner-knopoff", "gruenthal", "uhrhammer", "reasenberg", "zaliapin"]),
              default="gardner-knopoff", show_default=True, help="Declustering method.")
@click.option("--rate-min-magnitude", type=float, default=None,
              help="Count background events from this magnitude (default: MAXC + 0.2 of the selection).")
@click.option("--smoothing-km", type=click.FloatRange(min=0.0), default=0.0, show_default=True,
              help="Gaussian smoothing distance (Frankel 1995), km; 0: raw counts.")
def ratemap_cmd(out_dir, spacing, method, rate_min_magnitude, smoothing_km, as_json, **kw) -> int:
    """Declustered background rate map (events per year per km²): GeoTIFF, PNG and JSON summary."""
    import numpy as np

    from tianshan.analysis import ratemap as rm
    from tianshan.analysis.stats import mc_maxc
    from tianshan.io.atomic import atomic_write_text

    polygon, bbox_text, xj = kw.get("polygon"), kw.get("bbox"), kw.get("xinjiang")
    cat, sel = load_selection(kw)
    if xj:
        from tianshan.analysis.catalog import XINJIANG_BOX

        box = XINJIANG_BOX
    elif bbox_text is not None:
        box = _bbox(bbox_text)
    else:
        box = (float(np.floor(sel.longitude_deg.min())), float(np.floor(sel.latitude_deg.min())),
               float(np.ceil(sel.longitude_deg.max() + 1e-9)), float(np.ceil(sel.latitude_deg.max() + 1e-9)))
    mmin = mc_maxc(sel.magnitude).mc if rate_min_magnitude is None else rate_min_magnitude
    grid = rm.background_rate_map(sel, bbox=box, spacing_deg=spacing, method=method, min_magnitude=mmin,
                                  smoothing_km=smoothing_km)
    out_dir.mkdir(parents=True, exist_ok=True)
    from tianshan.analysis.etas.data import parse_polygon

    outline = parse_polygon(polygon) if polygon else None
    files = {"geotiff": str(grid.write_geotiff(out_dir / "rate.tif")),
             "png": str(rm.plot_rate_map(grid, out_dir / "rate.png", lon=sel.longitude_deg, lat=sel.latitude_deg,
                                         polygon=outline))}
    doc = {"selection": _selection_doc(cat, sel), **grid.summary(), "files": files}
    files["json"] = str(atomic_write_text(out_dir / "rate.json", json.dumps(json_safe(doc), indent=1) + "\n"))
    if as_json:
        click.echo(json.dumps(json_safe(doc), indent=1, ensure_ascii=False))
        return 0
    click.echo(f"{grid.n_background} background events of {grid.n_events} (M >= {grid.min_magnitude:.1f}, "
               f"{grid.method}) over {grid.years:.1f} years: {doc['background_per_year']:.2f} per year, "
               f"mean {doc['mean_rate_per_year_km2']:.3g} and max {doc['max_rate_per_year_km2']:.3g} per year per km² "
               f"(cell {doc['max_cell_lon_deg']:.2f}E {doc['max_cell_lat_deg']:.2f}N)")
    click.echo(f"wrote {files['geotiff']}, {files['png']}, {files['json']}")
    return 0


@command.command("sequence")
@source_options
@click.option("--main-magnitude", type=float, default=5.0, show_default=True,
              help="Classify the sequence of every event at least this large.")
@click.option("--completeness", type=float, default=None,
              help="Magnitude above which the catalog is complete (default: smallest selected magnitude).")
@click.option("--radius-km", type=float, default=None, help="Sequence radius (default: Gardner-Knopoff L(M)).")
@click.option("--days-after", type=float, default=None, help="Sequence duration (default: Gardner-Knopoff T(M)).")
@click.option("--days-before", type=float, default=30.0, show_default=True, help="Foreshock window, days.")
@click.option("--traffic-light", "with_light", is_flag=True, help="Add the foreshock traffic light (both variants).")
@click.option("--mc", type=float, default=None, help="Traffic light: completeness magnitude (default: --completeness).")
@click.option("--min-events", type=click.IntRange(min=5), default=50, show_default=True,
              help="Traffic light: events needed for a b-value.")
def sequence(main_magnitude, completeness, radius_km, days_after, days_before, with_light, mc, min_events, as_json,
             **kw) -> int:
    """Sequence type (isolated / mainshock-aftershock / swarm) of every large event, with the traffic light."""
    import numpy as np

    from tianshan.analysis import foreshock as fs

    cat, sel = load_selection(kw)
    results = fs.classify_all(sel, main_magnitude, completeness=completeness, radius_km=radius_km,
                              days_after=days_after, days_before=days_before)
    docs = []
    index = {str(e): k for k, e in enumerate(sel.event_id)}
    mc_light = mc if mc is not None else (completeness if completeness is not None else float(np.min(sel.magnitude)))
    for r in results:
        d = r.as_dict()
        if with_light:
            d["traffic_light"] = {
                method: fs.traffic_light(sel, index[r.event_id], mc=mc_light, method=method, radius_km=radius_km,
                                         days_after=days_after, min_events=min_events).as_dict()
                for method in ("classic", "positive")}
        docs.append(d)
    counts = {t: sum(1 for r in results if r.sequence_type == t) for t in fs.SEQUENCE_TYPES}
    doc = {"selection": _selection_doc(cat, sel), "counts": counts, "sequences": docs}
    if as_json:
        click.echo(json.dumps(json_safe(doc), indent=1, ensure_ascii=False))
        return 0
    click.echo(f"{len(results)} sequence(s) of M >= {main_magnitude:g}: "
               + ", ".join(f"{k} {v}" for k, v in counts.items()))
    for d in docs:
        dm = "n/a" if d["delta_m"] is None else f"{'>' if d['delta_m_lower_bound'] else ''}{d['delta_m']:.1f}"
        light = ""
        if with_light:
            light = "  light " + "/".join(d["traffic_light"][m]["status"] for m in ("classic", "positive"))
        click.echo(f"{d['time'][:19]}  M{d['magnitude']:.1f}  {d['latitude_deg']:.2f}N {d['longitude_deg']:.2f}E  "
                   f"{d['sequence_type']} ({d['sequence_type_zh']})  dM {dm}{light}")
    return 0


@command.command("sequences")
@click.option("--store", "--url", "url", default=None,
              help="Event store database URL (default: --data-dir, else the settings' store).")
@click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Data folder: SQLite store <DATA_DIR>/tianshan.sqlite.")
@click.option("--config", "config_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Settings file (default $TIANSHAN_CONFIG or ./tianshan.toml).")
@click.option("--min-mag", "min_mag", type=float, default=5.0, show_default=True,
              help="Status of every event at least this large.")
@click.option("--mc", type=float, default=None,
              help="Completeness magnitude (default: MAXC + 0.2 of the store's catalogue).")
@click.option("--min-events", type=click.IntRange(min=5), default=50, show_default=True,
              help="Traffic light: events needed for a b-value.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Folder of the product files (default: <data dir>/products/sequences).")
@click.option("--save/--no-save", default=True, show_default=True,
              help="Store each result as a 'sequence-status' product of its event.")
@click.option("--json", "as_json", is_flag=True, help="Print the results as JSON.")
def sequences_cmd(url, data_dir, config_path, min_mag, mc, min_events, out_dir, save, as_json) -> int:
    """Sequence type and foreshock traffic light of every M >= --min-mag event in the event store."""
    from rich.console import Console
    from rich.progress import Progress

    from tianshan.analysis.sequences import store_sequence_status
    from tianshan.cli._store_options import database_url
    from tianshan.store import EventStore

    resolved = database_url(url, data_dir, config_path)
    if save and out_dir is None:
        if data_dir is not None:
            out_dir = Path(data_dir) / "products" / "sequences"
        else:
            from tianshan.config import load_settings

            out_dir = Path(load_settings(config_path).data_dir) / "products" / "sequences"
    with EventStore.open(resolved, upgrade=False) as store:
        with Progress(console=Console(stderr=True), transient=True, disable=as_json) as bar:
            task = bar.add_task("sequences", total=None)
            cat, results = store_sequence_status(
                store, min_magnitude=min_mag, out_dir=out_dir, save=save, mc=mc, min_events=min_events,
                progress=lambda done, total: bar.update(task, completed=done, total=total))
    docs = [{**r.status.as_dict(), "product": {"action": r.action, "version": r.version,
                                               "path": None if r.path is None else str(r.path)}}
            for r in results]
    if as_json:
        click.echo(json.dumps(json_safe({"store": store.url, "n_events": len(cat), "min_magnitude": min_mag,
                                      "results": docs}), indent=1, ensure_ascii=False))
        return 0
    click.echo(f"{len(results)} event(s) of M >= {min_mag:g} among {len(cat)} in the store"
               + (f"; products in {out_dir}" if save else ""))
    for r in results:
        s = r.status
        seq = s.sequence
        dm = "n/a" if seq.delta_m is None else f"{'>' if seq.delta_m_lower_bound else ''}{seq.delta_m:.1f}"
        lights = "/".join(s.lights[m].status for m in ("classic", "positive"))
        click.echo(f"{s.as_dict()['time'][:19]}  M{s.magnitude:.1f}  {s.role:10s} {seq.sequence_type} "
                   f"({seq.sequence_type_zh})  dM {dm}  light {lights}  [{r.action}]  {s.event_id}")
    return 0

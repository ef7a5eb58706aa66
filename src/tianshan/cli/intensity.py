"""``tianshan intensity``: rapid intensity maps (烈度速报), ShakeMap v4 method, Chinese scale.

``tianshan intensity map --event QUAKEML | --lat --lon --depth --mag [--stations FILE]
[--leave-one-out] --out DIR --json``

* the event: ``--event`` (QuakeML, or a ShakeMap ``event.xml``), or ``--lat``/``--lon``/
  ``--depth`` (km)/``--mag`` (with optional ``--time``, ``--event-id``); ``--rupture`` a
  ShakeMap fault file (finite rupture), ``--rake`` the mechanism (default 0);
* ``--stations`` (repeatable): ShakeMap ``stationlist.xml`` / ``hist_dat.xml`` /
  ``dyfi_dat.xml``, a CSV (:mod:`tianshan.products.shakemap.inputs`), or ``store:EVENT_ID`` --
  the event's amplitudes in the store (``--url``/``--data-dir``/``--config``);
* ``--region``: population, counties, towns and faults for the summary and the map
  (``demo``, a region folder such as ``../shared/data/xinjiang``, or ``none``);
* ``--leave-one-out``: the JSON gets ``{"loo": {"conditioned": {...}, "model_only": {...}}}``
  (:func:`tianshan.groundmotion.conditioning.loo.loo_metrics`);
* ``--out DIR``: every output (:mod:`tianshan.products.shakemap.build`); ``--save-products``
  also stores the product records (one per file, with the version) in the event store.

Bad input exits with status 2 and one line on stderr.
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from tianshan.cli._store_options import database_url, parse_time, store_options
from tianshan.core.errors import InputError


@click.group(name="intensity")
def command() -> None:
    """Rapid intensity maps: GB/T 17742-2020 and MMI, conditioned on station records (ShakeMap v4 method)."""


def _text(doc: dict) -> str:
    s = doc["summary"]
    lines = [s["text_en"], s["text_zh"], f"version {doc['version']} in {doc['folder']}:"]
    for f in doc["files"]:
        lines.append(f"  {f['name']:24s} {f['bytes']:>12,d} bytes")
    if "loo" in doc:
        mo, co = doc["loo"]["model_only"], doc["loo"]["conditioned"]
        lines.append("leave-one-out      model alone (RMS, bias)   conditioned (RMS, bias)    n")
        for key in ("ln_pga", "mmi", "cn"):
            if f"rms_{key}" in mo:
                lines.append(f"  {key:14s} {mo[f'rms_{key}']:10.3f} {mo[f'bias_{key}']:+8.3f}"
                             f"          {co[f'rms_{key}']:10.3f} {co[f'bias_{key}']:+8.3f}   {mo[f'n_{key}']:5d}")
    for n in s.get("notes", []):
        lines.append(f"  note: {n}")
    lines.append(f"total {doc['timings_s'].get('total', 0):.1f} s")
    return "\n".join(lines)


@command.command("map")
@click.option("--event", "event_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="QuakeML (or ShakeMap event.xml) of the event.")
@click.option("--lat", type=float, default=None, help="Epicentre latitude (deg).")
@click.option("--lon", type=float, default=None, help="Epicentre longitude (deg).")
@click.option("--depth", type=float, default=None, help="Hypocentre depth (km).")
@click.option("--mag", type=float, default=None, help="Moment magnitude.")
@click.option("--time", "time_text", default=None, help="Origin time (ISO 8601, UTC) with --lat/--lon.")
@click.option("--event-id", default="", help="Event id (with --lat/--lon; default 'scenario').")
@click.option("--rupture", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="ShakeMap fault file (finite rupture).")
@click.option("--rake", type=float, default=0.0, show_default=True, help="Rake (deg) of the rupture.")
@click.option("--stations", "stations", multiple=True,
              help="Station records: ShakeMap stationlist/hist_dat/dyfi XML, CSV, or store:EVENT_ID (repeatable).")
@click.option("--leave-one-out", is_flag=True, help="Leave-one-out validation of the conditioned map vs the model alone.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Output folder.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.option("--region", default="demo", show_default=True,
              help="Population/counties/towns/faults: 'demo', a region folder, or 'none'.")
@click.option("--gmm", default="BooreEtAl2014", show_default=True, help="hazardlib ground-motion model.")
@click.option("--vs30", type=float, default=760.0, show_default=True, help="Vs30 (m/s) everywhere.")
@click.option("--max-distance-km", type=float, default=None, help="Do not use stations farther than this (Rrup).")
@click.option("--max-cells", type=int, default=200_000, show_default=True, help="Largest grid (cells).")
@click.option("--version", "version", type=int, default=1, show_default=True, help="Map version number.")
@click.option("--no-plot", is_flag=True, help="Skip the PNG/SVG map.")
@click.option("--save-products", is_flag=True, help="Store the product records in the event store.")
@store_options
def map_(event_path, lat, lon, depth, mag, time_text, event_id, rupture, rake, stations, leave_one_out, out_dir,
         as_json, region, gmm, vs30, max_distance_km, max_cells, version, no_plot, save_products, url, data_dir,
         config_path) -> None:
    """Build an intensity map: grids, contours, stations, grid.xml, summary, PNG/SVG."""
    from tianshan.products.shakemap.build import MapEvent, MapSettings, build_map
    from tianshan.products.shakemap.inputs import read_event_file, read_station_file, records_from_store

    single = (lat, lon, depth, mag)
    rup = None
    if rupture is not None:
        from tianshan.io.shakemap_xml import read_fault_text

        rup_polys = read_fault_text(rupture).polygons
    if event_path is not None:
        if any(v is not None for v in single):
            raise InputError("give either --event or --lat/--lon/--depth/--mag, not both", field="--event")
        ev = read_event_file(event_path)
    else:
        missing = [o for o, v in zip(("--lat", "--lon", "--depth", "--mag"), single) if v is None]
        if missing:
            raise InputError(f"missing {', '.join(missing)} (or give --event FILE)", field=missing[0])
        ev = MapEvent(event_id=event_id or "scenario", latitude_deg=lat, longitude_deg=lon, depth_m=depth * 1000.0,
                      magnitude=mag, time=parse_time(time_text, "--time"), rake_deg=rake)
    if rupture is not None:
        from dataclasses import replace

        from tianshan.groundmotion.prediction.distances import Rupture

        rup = Rupture.from_polygons(ev.magnitude, ev.latitude_deg, ev.longitude_deg, ev.depth_m, rup_polys,
                                    rake_deg=rake)
        ev = replace(ev, rupture=rup)
    if ev.rake_deg != rake:
        from dataclasses import replace

        ev = replace(ev, rake_deg=rake)
    store = None
    records = []
    try:
        for spec in stations:
            if spec.startswith("store:"):
                if store is None:
                    from tianshan.store import EventStore

                    store = EventStore.open(database_url(url, data_dir, config_path))
                records += records_from_store(store, spec.split(":", 1)[1])
            else:
                records += read_station_file(spec)
        ctx = None
        if region.lower() != "none":
            if region != "demo" and not Path(region).is_dir():
                raise InputError("region folder does not exist", source=region, field="--region")
            from tianshan.products.loss.scenario import load_context

            ctx = load_context(region)
        if save_products and store is None:
            from tianshan.store import EventStore

            store = EventStore.open(database_url(url, data_dir, config_path))
        if max_cells < 4:
            raise InputError(f"must be >= 4, got {max_cells}", field="--max-cells")
        settings = MapSettings(gmm=gmm, vs30=vs30, max_distance_km=max_distance_km, max_cells=max_cells,
                               plot=not no_plot)
        result = build_map(ev, records, out_dir, settings=settings, version=version, region=ctx,
                           leave_one_out=leave_one_out, store=store if save_products else None)
    finally:
        if store is not None:
            store.close()
    doc = result.as_json()
    if as_json:
        click.echo(json.dumps(doc, ensure_ascii=False, indent=1))
    else:
        click.echo(_text(doc))

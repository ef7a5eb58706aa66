"""``tianshan catalog``: list the events in the store, export them as QuakeML or CSV."""

from __future__ import annotations

import json
from pathlib import Path

import click

from tianshan.cli._store_options import database_url, parse_time, store_options


def _filters(func):
    func = click.option("--min-mag", type=float, help="smallest preferred magnitude")(func)
    func = click.option("--end", help="events before this time (ISO 8601, UTC if no offset)")(func)
    func = click.option("--start", help="events from this time on (ISO 8601, UTC if no offset)")(func)
    return store_options(func)


def _query(url, data_dir, config_path, start, end, min_mag, limit=None, quiet=False):
    from tianshan.store import EventStore

    t0, t1 = parse_time(start, "--start"), parse_time(end, "--end")
    resolved = database_url(url, data_dir, config_path)
    with EventStore.open(resolved, upgrade=False) as store:
        if quiet:
            return store.events(start=t0, end=t1, min_magnitude=min_mag, limit=limit)
        from rich.console import Console

        with Console(stderr=True).status("Reading events from the store..."):
            return store.events(start=t0, end=t1, min_magnitude=min_mag, limit=limit)


def event_summary(ev) -> dict:
    """One catalogue line of an event (SI units, ISO time)."""
    o, m = ev.preferred_origin, ev.preferred_magnitude
    return {
        "id": ev.id,
        "time": None if o is None else o.time.isoformat(),
        "latitude_deg": None if o is None else o.latitude_deg,
        "longitude_deg": None if o is None else o.longitude_deg,
        "depth_m": None if o is None else o.depth_m,
        "magnitude": None if m is None else m.value,
        "magnitude_type": None if m is None else m.type,
        "type": None if ev.type is None else ev.type.value,
        "region_name": ev.region_name,
        "origin_versions": len(ev.origins),
        "magnitude_versions": len(ev.magnitudes),
    }


@click.group(name="catalog")
def command() -> None:
    """Catalog in the event store: list and export as QuakeML/CSV."""


@command.command("list")
@_filters
@click.option("--limit", type=click.IntRange(min=0), help="at most this many events (earliest first)")
@click.option("--json", "as_json", is_flag=True, help="print the events as JSON")
def list_(url, data_dir, config_path, start, end, min_mag, limit, as_json) -> None:
    """List events by preferred origin time (v = number of origin versions)."""
    events = _query(url, data_dir, config_path, start, end, min_mag, limit, quiet=as_json)
    rows = [event_summary(ev) for ev in events]
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False))
        return
    from rich import box
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"{len(rows)} events", title_justify="left", box=box.SIMPLE_HEAD, show_edge=False,
                  pad_edge=False)
    for name in ("time (UTC)", "lat", "lon", "km", "mag", "v", "region", "id"):
        wraps = name in ("region", "id")  # the long ones fold; numbers never do
        table.add_column(name, justify="left" if wraps or name.startswith("time") else "right",
                         no_wrap=not wraps, overflow="fold", min_width=6 if wraps else None)
    for r in rows:
        mag = "" if r["magnitude"] is None else f"{r['magnitude']:.1f} {r['magnitude_type']}"
        kind = "" if r["type"] in (None, "earthquake") else f" ({r['type']})"
        table.add_row(
            "" if r["time"] is None else r["time"][:22].replace("T", " "),
            "" if r["latitude_deg"] is None else f"{r['latitude_deg']:.3f}",
            "" if r["longitude_deg"] is None else f"{r['longitude_deg']:.3f}",
            "" if r["depth_m"] is None else f"{r['depth_m'] / 1000:.1f}",
            mag, str(r["origin_versions"]), r["region_name"] + kind, r["id"])
    Console().print(table)


@command.command("export")
@click.option("--format", "fmt", type=click.Choice(["quakeml", "csv"]), required=True, help="output format")
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="file to write (replaced atomically)")
@_filters
@click.option("--json", "as_json", is_flag=True, help="report the result as JSON")
def export(fmt, output, url, data_dir, config_path, start, end, min_mag, as_json) -> None:
    """Export events (every origin and magnitude version) as QuakeML 1.2 or the catalog CSV."""
    events = _query(url, data_dir, config_path, start, end, min_mag, quiet=as_json)
    if fmt == "quakeml":
        from tianshan.io.quakeml import write_quakeml as write
    else:
        from tianshan.io.catalog_csv import write_catalog_csv as write
    if as_json:
        path = write(events, output)
        click.echo(json.dumps({"format": fmt, "path": str(path), "events": len(events)}))
        return
    from rich.console import Console

    with Console(stderr=True).status(f"Writing {len(events)} events as {fmt}..."):
        path = write(events, output)
    click.echo(f"wrote {len(events)} events to {path}")

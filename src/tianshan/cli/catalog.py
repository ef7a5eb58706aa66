"""``tianshan catalog``: list the events in the store, export them as QuakeML or CSV, show an event's timeline."""

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
    """Catalog in the event store: list, export as QuakeML/CSV, show an event's real-time timeline."""


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
@click.option("--format", "fmt", type=click.Choice(["quakeml", "csv", "eqt"]), required=True,
              help="output format (eqt: CENC EQT fixed-width, GBK, Beijing time)")
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="file to write (replaced atomically)")
@_filters
@click.option("--json", "as_json", is_flag=True, help="report the result as JSON")
def export(fmt, output, url, data_dir, config_path, start, end, min_mag, as_json) -> None:
    """Export events as QuakeML 1.2 (every origin and magnitude version), the catalog CSV or CENC EQT
    (preferred origin and magnitude)."""
    events = _query(url, data_dir, config_path, start, end, min_mag, quiet=as_json)
    if fmt == "quakeml":
        from tianshan.io.quakeml import write_quakeml as write
    elif fmt == "eqt":
        from tianshan.io.eqt import write_eqt as write
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


@command.command("build")
@click.option("--archive", type=click.Path(exists=True, path_type=Path), required=True,
              help="SDS archive, folder of miniSEED files, or one miniSEED file")
@click.option("--inventory", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="StationXML with the stations (and responses for magnitudes)")
@click.option("--region", help="region profile folder (or 'demo') instead of --inventory")
@click.option("--velocity", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="1-D velocity model CSV (default: the region's, else the built-in Xinjiang model)")
@click.option("--start", required=True, help="start of the data to catalog (ISO 8601, UTC if no offset)")
@click.option("--end", required=True, help="end of the data to catalog (ISO 8601, UTC if no offset)")
@click.option("--picker", type=click.Choice(["classic", "ml"]), default="classic", show_default=True,
              help="phase picker")
@click.option("--model", help="ML picker: SeisBench model name or local weights path (never downloaded)")
@click.option("--chunk", "chunk_s", type=click.FloatRange(min=1.0), default=3600.0, show_default=True,
              help="chunk length (s); chunks run in parallel")
@click.option("--overlap", "overlap_s", type=click.FloatRange(min=0.0), default=60.0, show_default=True,
              help="data read before and after each chunk (s)")
@click.option("--scheduler", help="Dask scheduler address (tcp://HOST:8786), or 'serial' for one process; "
                                  "default: a local cluster, one process per core")
@click.option("--state-dir", type=click.Path(file_okay=False, path_type=Path),
              help="folder of the chunk ledger (default: the SQLite store's folder)")
@click.option("--exclusions", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="exclusions.json from `tianshan qc run`: channel-days left out of processing / 不处理的通道日")
@store_options
@click.option("--json", "as_json", is_flag=True, help="print the run summary as JSON")
def build(archive, inventory, region, velocity, start, end, picker, model, chunk_s, overlap_s, scheduler, state_dir,
          exclusions, url, data_dir, config_path, as_json) -> None:
    """Build the automatic catalog from continuous waveforms: QC, picking, association, location,
    magnitudes, event type; events go to the store. Re-running skips the chunks already done."""
    from tianshan.core.errors import InputError
    from tianshan.events.build import build_catalog
    from tianshan.store import EventStore

    if (inventory is None) == (region is None):
        raise InputError("give exactly one of --inventory FILE or --region DIR", field="--inventory")
    t0, t1 = parse_time(start, "--start"), parse_time(end, "--end")
    resolved = database_url(url, data_dir, config_path)
    kwargs = dict(picker=picker, model=model, chunk_s=chunk_s, overlap_s=overlap_s, scheduler=scheduler,
                  region=region, velocity_model=velocity, state_dir=state_dir)
    if exclusions is not None:
        kwargs["exclusions"] = exclusions
    with EventStore.open(resolved) as store:
        if as_json:
            summary = build_catalog(archive, inventory, t0, t1, store, **kwargs)
            click.echo(json.dumps(summary.as_dict(), ensure_ascii=False))
            return
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        console = Console(stderr=True)
        with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                      console=console, transient=True) as bar:
            ids: dict[str, int] = {}

            def progress(stage: str, done: int, total: int) -> None:
                if stage not in ids:
                    ids[stage] = bar.add_task("QC + picking chunks" if stage == "chunks" else "cataloging events",
                                              total=total)
                bar.update(ids[stage], completed=done, total=total)

            summary = build_catalog(archive, inventory, t0, t1, store, progress=progress, **kwargs)
    s = summary
    click.echo(f"{s.chunks} chunks ({s.chunks_processed} processed, {s.chunks_skipped} already done, "
               f"{s.chunks_failed} failed), {s.picks} picks, {s.associations} associations, "
               f"{s.events_stored} new events ({s.events_existing} already stored) in {s.wall_s:.1f} s [{s.scheduler}]")
    if s.warnings:
        click.echo("skipped: " + ", ".join(f"{k} {v}" for k, v in s.warnings.items()))


@command.command("timeline")
@click.argument("event_id")
@store_options
@click.option("--json", "as_json", is_flag=True, help="print the entries and latencies as JSON")
def timeline(event_id, url, data_dir, config_path, as_json) -> None:
    """Show the real-time timeline of EVENT_ID: origin time, first pick, locatable pick, first origin,
    first magnitude, first product, final (wall and data times, UTC) and the delays between them."""
    from tianshan.core.errors import InputError
    from tianshan.core.timeline import format_timeline, latencies
    from tianshan.store import EventNotFoundError, EventStore

    resolved = database_url(url, data_dir, config_path)
    with EventStore.open(resolved, upgrade=False) as store:
        entries = store.timeline(event_id)
        try:
            event = store.get_event(event_id)
        except EventNotFoundError:
            event = None  # a timeline may precede its event's storage
    if event is None and not entries:
        raise InputError(f"event {event_id!r} is not in the store", field="EVENT_ID")
    summary = None if event is None else event_summary(event)
    if as_json:
        click.echo(json.dumps({"event_id": event_id, "event": summary, "entries": [e.as_dict() for e in entries],
                               "latencies": latencies(entries)}, ensure_ascii=False))
        return
    if summary is None:
        click.echo(f"事件 / event {event_id} (尚未入库 / not stored yet)")
    else:
        parts = [f"事件 / event {event_id}"]
        if summary["time"] is not None:
            parts.append(f"{summary['time'][:23].replace('T', ' ')} UTC  {summary['latitude_deg']:.3f} "
                         f"{summary['longitude_deg']:.3f}  {summary['depth_m'] / 1000:.1f} km")
        if summary["magnitude"] is not None:
            parts.append(f"{summary['magnitude_type']} {summary['magnitude']:.1f}")
        if summary["region_name"]:
            parts.append(summary["region_name"])
        click.echo("  ".join(parts))
    click.echo(format_timeline(entries))

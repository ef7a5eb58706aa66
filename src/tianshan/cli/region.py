"""``tianshan region``: check and show region profiles, write the built-in demo region.

``REGION`` is a profile folder (or its ``region.toml``) or ``demo`` for the
built-in one; omitted, it is the ``region`` setting (:mod:`tianshan.config`). Bad input exits with status 2 and a one-line message (see
:func:`tianshan.cli.main.main`).
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from tianshan.regions.model import RegionProfile


def _load(spec: str | None, quiet: bool) -> RegionProfile:
    from rich.console import Console

    from tianshan.regions.demo import resolve_region

    if spec is None:  # the configured region (tianshan.toml / TIANSHAN_REGION), "demo" by default
        from tianshan.config.settings import load_settings

        spec = load_settings().region

    what = "built-in demo region" if spec == "demo" else spec
    if quiet:
        return resolve_region(spec)
    with Console(stderr=True).status(f"Reading {what}..."):
        return resolve_region(spec)


def _fmt_int(n: int) -> str:
    return f"{n:,}"


def _print_summary(s: dict, title: str) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title, show_header=False, title_justify="left")
    table.add_column("item", style="bold")
    table.add_column("value")
    table.add_row("source", s["source"])
    table.add_row("stations", f"{s['stations']} ({', '.join(s['networks'])}; {s['simulated_stations']} simulated)")
    table.add_row("channels", f"{s['channels']} ({s['channels_with_gain']} with gain)")
    moho = "" if s["moho_km"] is None else f", Moho {s['moho_km']:g} km"
    table.add_row("velocity model", f"{s['velocity_model']} ({s['velocity_layers']} layers{moho})")
    kinds = ", ".join(f"{n} {k}" for k, n in sorted(s["places_by_kind"].items()))
    table.add_row("places", f"{s['places']} ({kinds}); {s['places_with_population']} with population")
    table.add_row("population", _fmt_int(s["total_population"]))
    table.add_row("faults", f"{s['faults']} ({s['fault_length_km']:,.0f} km of traces)")
    if s["bbox"]:
        w, so, e, n = s["bbox"]
        table.add_row("extent", f"{w:.2f}..{e:.2f} E, {so:.2f}..{n:.2f} N")
    for key, label in (("vs30_path", "Vs30 raster"), ("exposure_path", "exposure raster")):
        if s[key]:
            table.add_row(label, s[key])
    if s["skipped"]:
        table.add_row("skipped", ", ".join(f"{n} {k}" for k, n in s["skipped"].items()), style="yellow")
    Console().print(table)


@click.group("region")
def command() -> None:
    """Region profiles: check, show, write the built-in demo region."""


@command.command("check")
@click.argument("region", required=False)
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
def check(region: str | None, as_json: bool) -> None:
    """Validate REGION (a profile folder, or 'demo'; default: the configured region) and summarise it."""
    profile = _load(region, as_json)
    summary = profile.summary()
    if as_json:
        click.echo(json.dumps({"ok": True, **summary}, ensure_ascii=False))
    else:
        _print_summary(summary, f"Region {profile.name}: OK")


@command.command("show")
@click.argument("region", required=False)
@click.option("--stations", "list_stations", is_flag=True, help="List the stations too.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary (and stations) as JSON.")
def show(region: str | None, list_stations: bool, as_json: bool) -> None:
    """Show REGION (a profile folder, or 'demo'; default: the configured region) and optionally its stations."""
    profile = _load(region, as_json)
    rows = [{"id": s.station_id, "name": s.name, "latitude_deg": s.latitude_deg,
             "longitude_deg": s.longitude_deg, "elevation_m": s.elevation_m,
             "channels": [str(c.stream_id) for c in s.channels], "simulated": s.simulated}
            for s in profile.stations]
    if as_json:
        out = profile.summary()
        if list_stations:
            out["station_list"] = rows
        click.echo(json.dumps(out, ensure_ascii=False))
        return
    _print_summary(profile.summary(), f"Region {profile.name}")
    if list_stations:
        from rich.console import Console
        from rich.table import Table

        table = Table(title="Stations", title_justify="left")
        for col in ("station", "name", "lat", "lon", "elev m", "channels"):
            table.add_column(col)
        for r in rows:
            codes = " ".join(c.split(".")[3] for c in r["channels"])
            table.add_row(r["id"] + (" *" if r["simulated"] else ""), r["name"], f"{r['latitude_deg']:.4f}",
                          f"{r['longitude_deg']:.4f}", f"{r['elevation_m']:g}", codes)
        Console().print(table)
        if any(r["simulated"] for r in rows):
            click.echo("* simulated station")


@command.command("write-demo")
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def write_demo(folder: Path, as_json: bool) -> None:
    """Write the built-in demo region as a profile folder FOLDER."""
    from tianshan.regions.writer import write_region

    profile = _load("demo", as_json)
    out = write_region(profile, folder)
    files = sorted(p.name for p in out.iterdir() if p.is_file() and not p.name.startswith("."))
    if as_json:
        click.echo(json.dumps({"folder": str(out), "files": files, "stations": len(profile.stations),
                               "places": len(profile.places)}, ensure_ascii=False))
    else:
        click.echo(f"wrote demo region to {out}: {', '.join(files)}")

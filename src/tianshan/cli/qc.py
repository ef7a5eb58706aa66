"""``tianshan qc``: data-quality metrics (MUSTANG/ISPAQ definitions) over an SDS archive.

``tianshan qc run --archive SDS --start 2013-01-05 --end 2013-01-08`` measures every
channel-day (whole UTC days), prints a table (``--json``: the metrics and
exclusions as JSON; ``--csv``: ISPAQ-style ``target,start,end,metric,value`` rows)
and, with ``--out DIR``, writes ``metrics.json``, ``metrics.csv``,
``exclusions.json`` and the PDFs. ``--inventory`` (StationXML/RESP with responses)
enables the PSD metrics; ``--store URL`` saves the QC findings in the event store.
A progress bar (stderr) follows long runs.
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from tianshan.cli._store_options import parse_time


@click.group()
def command() -> None:
    """Data-quality metrics: availability, gaps, sample statistics, spikes, timing, PSD/PDF, exclusions."""


@command.command("run")
@click.option("--archive", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="SDS archive folder")
@click.option("--start", required=True, help="first day (ISO 8601, UTC; floored to midnight)")
@click.option("--end", required=True, help="end (ISO 8601, UTC, exclusive; ceiled to midnight)")
@click.option("--streams", "streams", multiple=True,
              help="NET.STA.LOC.CHA pattern (* ?), repeatable; default all streams of the archive")
@click.option("--inventory", "inventory", multiple=True, type=click.Path(dir_okay=False, path_type=Path),
              help="StationXML/RESP file with instrument responses (PSD metrics), repeatable")
@click.option("--no-psd", is_flag=True, help="skip the PSD/PDF metrics")
@click.option("--rules", "rules_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="exclusion rules (TOML [[rule]] tables); default: the built-in rules")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="write metrics.json, metrics.csv, exclusions.json and psd/ here")
@click.option("--store", "store_url", default=None,
              help="save the QC findings in this event store (sqlite:///FILE or postgresql+psycopg://...)")
@click.option("--json", "as_json", is_flag=True, help="print the metrics and exclusions as JSON")
@click.option("--csv", "as_csv", is_flag=True, help="print ISPAQ-style CSV rows (target,start,end,metric,value)")
def run(archive, start, end, streams, inventory, no_psd, rules_path, out_dir, store_url, as_json, as_csv) -> None:
    """Compute the per channel-day metrics of an SDS archive, store them and list the excluded channels."""
    from tianshan.core.errors import InputError
    from tianshan.qc.metrics.archive import (day_range, load_inventory, run_archive, store_records, stream_patterns,
                                            write_products)
    from tianshan.qc.metrics.exclusion import ExclusionConfig

    if as_json and as_csv:
        raise InputError("give at most one of --json and --csv", field="--json")
    t0, t1 = parse_time(start, "--start"), parse_time(end, "--end")
    day_range(t0, t1)  # bad windows and a missing archive fail before the progress bar starts
    if not archive.is_dir():
        raise InputError("SDS archive folder not found", source=str(archive))
    stream_patterns(streams)
    inv = load_inventory(inventory)
    rules = ExclusionConfig.from_toml(rules_path) if rules_path is not None else None

    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    console = Console(stderr=True)
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=console, transient=True, disable=not console.is_terminal) as bar:
        task = bar.add_task("channel-days", total=None)

        def progress(done: int, total: int, label: str) -> None:
            bar.update(task, completed=done, total=total, description=label)

        result = run_archive(archive, t0, t1, streams=list(streams) or None, inventory=inv, psd=not no_psd,
                             exclusion=rules, psd_dir=None if out_dir is None else out_dir / "psd",
                             progress=progress)

    stored = None
    if store_url:
        from tianshan.store import EventStore

        with EventStore.open(store_url) as store:
            stored = store_records(store, result.records)
    if out_dir is not None:
        write_products(result, out_dir)

    if as_json:
        data = result.as_dict()
        if stored is not None:
            data["stored"] = {"added": stored[0], "conflicts": stored[1]}
        click.echo(json.dumps(data, ensure_ascii=False))
        return
    if as_csv:
        click.echo(result.csv_text(), nl=False)
        return
    _print_table(result, stored, out_dir)


def _fmt(v, digits: int = 2) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.{digits}f}"
    return str(v)


def _print_table(result, stored, out_dir) -> None:
    from rich import box
    from rich.console import Console
    from rich.table import Table

    console = Console()
    if not console.is_terminal:  # a pipe or a file: do not squeeze the table into 80 columns
        console = Console(width=160)
    table = Table(box=box.SIMPLE, title=f"QC {result.start.date()} .. {result.end.date()}")
    for name in ("stream", "day", "avail %", "gaps", "max gap s", "overlaps", "rms", "spikes", "timing %",
                 "> NHNM %", "< NLNM %", "dead lin", "excluded"):
        table.add_column(name, justify="left" if name in ("stream", "day", "excluded") else "right")
    excluded = {(e.stream_id, e.start): e for e in result.exclusions}
    for m in result.metrics:
        v = m.values
        e = excluded.get((m.stream_id, m.start))
        table.add_row(str(m.stream_id), m.start.date().isoformat(), _fmt(v["percent_availability"]),
                      _fmt(v["num_gaps"]), _fmt(v["max_gap"], 1), _fmt(v["num_overlaps"]), _fmt(v["sample_rms"], 1),
                      _fmt(v["num_spikes"]), _fmt(v["timing_quality"], 1), _fmt(v["pct_above_nhnm"], 1),
                      _fmt(v["pct_below_nlnm"], 1), _fmt(v["dead_channel_lin"]),
                      "; ".join(r.split(":")[0] for r in e.reasons) if e else "")
    console.print(table)
    c = result.counts
    line = (f"{c['channel_days']} channel-days ({c['streams']} streams x {c['days']} days), "
            f"{c['no_data']} without data, "
            f"{c['psd']} with PSD, {c['excluded']} excluded, {c['failed']} failed in {result.wall_s:.1f} s")
    if stored is not None:
        line += f"; stored {stored[0]} QC records ({stored[1]} conflicts)"
    if out_dir is not None:
        line += f"; products in {out_dir}"
    click.echo(line)
    for f in result.failures:
        click.echo(f"failed: {f}", err=True)

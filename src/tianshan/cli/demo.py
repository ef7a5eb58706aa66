"""``tianshan demo``: run the whole chain on the built-in demo region."""

from __future__ import annotations

import json
from pathlib import Path

import click


@click.command()
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=Path("tianshan-demo"),
              show_default=True, help="Output folder (index.html, archive, region, truth).")
@click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Data directory of the event store [default: settings' data_dir].")
@click.option("--database-url", default=None, help="Event store URL (default: SQLite in the data directory).")
@click.option("--config", "config_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Settings TOML file.")
@click.option("--seed", type=int, default=None, help="Random seed of the simulation [default: settings].")
@click.option("--duration", "duration_s", type=click.FloatRange(min=30.0, max=3600.0), default=None,
              help="Record length in seconds [default: settings].")
@click.option("--faults/--no-faults", default=False, show_default=True,
              help="Add data faults (gaps, spikes, clipping, time tears, dead channels).")
@click.option("--realtime/--no-realtime", default=True, show_default=True,
              help="Replay the scenario through the SeedLink server into `tianshan run` (own store "
                   "realtime.sqlite in the output folder) and show its timeline.")
@click.option("--realtime-speed", type=click.FloatRange(min=1.0, max=1000.0), default=10.0, show_default=True,
              help="Replay speed of the real-time run (x real time).")
@click.option("--json", "as_json", is_flag=True, help="Print the stage summary as JSON.")
@click.option("--serve", is_flag=True,
              help="Then serve the REST API and web dashboard over the demo's store and products and print the "
                   "dashboard URL (the demo runs first only when the output folder has no index.html yet).")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on (--serve).")
@click.option("--port", type=click.IntRange(1, 65535), default=8080, show_default=True, help="TCP port (--serve).")
def command(out_dir: Path, data_dir: Path | None, database_url: str | None, config_path: Path | None,
            seed: int | None, duration_s: float | None, faults: bool, realtime: bool, realtime_speed: float,
            as_json: bool, serve: bool, host: str, port: int) -> None:
    """Simulate an Mw 6.5 earthquake near Luntai (Bayingolin) on the demo stations, catalog it in batch
    and in real time (SeedLink replay into `tianshan run`), and write a report."""
    from rich.console import Console

    from tianshan.config.settings import load_settings
    from tianshan.demo.pipeline import DemoConfig, run_pipeline
    from tianshan.demo.stages import default_stages

    settings = load_settings(config_path)
    config = DemoConfig(out_dir=out_dir.resolve(), data_dir=(data_dir or settings.data_dir).resolve(),
                        database_url=database_url or settings.database_url,
                        seed=settings.simulation.seed if seed is None else seed,
                        duration_s=settings.simulation.duration_s if duration_s is None else duration_s,
                        faults=faults)
    console = Console(stderr=True, quiet=as_json)
    if serve and (config.out_dir / "index.html").is_file():
        console.print(f"使用已有的演示结果 Using the demo output in [bold]{config.out_dir}[/] "
                      "(delete index.html to run the demo again)")
        _serve(config, host, port, console)
        return
    stages = default_stages(realtime_speed if realtime else None)

    with console.status("starting") as status:
        def on_stage(i, stage, record):
            if record is None:
                status.update(f"[{i + 1}/{len(stages)}] {stage.title}")
            else:
                console.log(f"[green]done[/] {stage.title} ({record.seconds:.1f} s)")

        run = run_pipeline(stages, config, on_stage)
    summary = run.summary()
    if as_json:
        click.echo(json.dumps(summary, indent=2, ensure_ascii=False, default=str))
    else:
        console.print(f"Open [bold]{summary['report']['index_html']}[/] to see what happened.")
    if serve:
        _serve(config, host, port, console)


def _serve(config, host: str, port: int, console) -> None:
    """Serve ``tianshan serve``'s application over the demo's event store: REST API, FDSN services
    (dataselect from the scenario's SDS archive, stations of the demo region) and the dashboard, with
    the demo region's map; extra product files from ``<out>/products/<event id>/`` when present."""
    import uvicorn

    from tianshan.services.api.server import create_server
    from tianshan.store.database import resolve_url

    url = resolve_url(config.database_url, config.data_dir)
    sds = config.out_dir / "scenario" / "sds"
    products = config.out_dir / "products"
    app = create_server(url, archive=sds if sds.is_dir() else None, inventory="demo", region="demo",
                        products_dir=products if products.is_dir() else None)
    base = f"http://{'127.0.0.1' if host in ('0.0.0.0', '::') else host}:{port}"
    click.echo(f"{base}/dashboard/")
    console.print(f"仪表盘 Dashboard: [bold]{base}/dashboard/[/]  API: {base}/api/v1/docs  (Ctrl-C 停止 to stop)")
    uvicorn.run(app, host=host, port=port, log_level="warning", ws="wsproto")

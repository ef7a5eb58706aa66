"""``tianshan report``: bilingual (中文/English) HTML/PDF reports.

* ``tianshan report loss --lat 41.95 --lon 84.30 --depth 12 --mag 6.5 [--fault nearest|NAME]
  [--strike DEG --dip DEG --rake DEG] [--region DIR|demo] --out DIR [--label TEXT] [--version N]
  [--format html --format pdf] [--json]`` -- the loss report (灾情评估) of one scenario: the loss
  chain (:func:`tianshan.products.loss.scenario.run_scenario`) then
  :func:`tianshan.products.reports.loss.write_loss_report` into ``--out``
  (``loss_report.html``, ``loss_report.pdf``, ``loss_map.png``, ``loss_report.json``).

The scenario and region options are those of ``tianshan scenario run``
(:func:`tianshan.cli.scenario.scenario_options`). Without ``--json`` the command prints the
files written and a few key figures; with it, the report's JSON document. Bad input exits
with status 2 and one line on stderr.
"""

from __future__ import annotations

import time
from pathlib import Path

import click

from tianshan.cli.scenario import load_scenario_context, scenario_options, single_scenario


@click.group(name="report")
def command() -> None:
    """Bilingual HTML/PDF reports: loss (灾情评估) and consultation (会商)."""


@command.command("loss")
@scenario_options
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Folder to write the report into (created if needed).")
@click.option("--label", default=None, help="Event label under the title (default: --name).")
@click.option("--version", "report_version", type=int, default=1, show_default=True,
              help="Report version (re-issued reports count up).")
@click.option("--format", "formats", multiple=True, type=click.Choice(["html", "pdf"]), default=("html", "pdf"),
              show_default=True, help="Formats to write (repeat); the map PNG and JSON are always written.")
@click.option("--json", "as_json", is_flag=True, help="Print the report's JSON document.")
def loss(lat, lon, depth, mag, fault, strike, dip, rake, name, region, raster, historical, vulnerability_class,
         gdp_per_capita_usd, provincial_gdp_usd, out_dir, label, report_version, formats, as_json) -> None:
    """Loss report (灾情评估报告) of one scenario: intensity, exposure, losses, response level."""
    from rich.console import Console

    from tianshan.products.loss.scenario import run_scenario
    from tianshan.products.reports.loss import check_out_dir, write_loss_report

    sc = single_scenario(lat, lon, depth, mag, fault=fault, strike=strike, dip=dip, rake=rake, name=name)
    check_out_dir(out_dir)                                 # fail before the chain runs, not after
    console = Console(stderr=True)
    t0 = time.perf_counter()
    with console.status("loading the region / 读取区域数据", spinner="dots") as status:
        ctx, options = load_scenario_context(region, raster, historical, vulnerability_class, gdp_per_capita_usd,
                                             provincial_gdp_usd)
        status.update("intensity and losses / 烈度与损失")
        res = run_scenario(sc, ctx.exposure, faults=ctx.faults, historical=ctx.historical, options=options)
        t1 = time.perf_counter()
        status.update("writing the report / 生成报告")
        files = write_loss_report(res, out_dir, faults=ctx.faults, event_label=label or name or None,
                                  version=report_version, formats=formats, notes=ctx.notes)
    t2 = time.perf_counter()
    if as_json:
        click.echo(Path(files["json"]).read_text(encoding="utf-8"), nl=False)
        return
    doc = res.as_json()
    rec = doc["response"]["recommended"]
    click.echo(f"loss report v{report_version}: M{sc.magnitude:g} at {sc.latitude_deg:g} N {sc.longitude_deg:g} E, "
               f"depth {sc.depth_km:g} km")
    click.echo(f"  PAGER alert {doc['pager_alert']}; deaths median {doc['fatalities']['median']:,.0f}; "
               f"response level " + (f"{rec['response']} {rec['grade_zh']} ({rec['grade_en']})" if rec else "none"))
    for kind in ("html", "pdf", "png", "json"):
        if kind in files:
            click.echo(f"  {kind}: {files[kind]}")
    click.echo(f"  time: scenario {t1 - t0:.1f} s, report {t2 - t1:.1f} s")
    for w in ctx.notes:
        click.echo(f"  warning: {w}")



def _register_consult() -> None:
    """``tianshan report consult`` lives in its own module (the consultation report, 会商)."""
    from tianshan.cli.report_consult import command as consult

    command.add_command(consult, "consult")


_register_consult()

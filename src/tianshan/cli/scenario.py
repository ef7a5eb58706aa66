"""``tianshan scenario``: earthquake scenarios (情景构建) -> intensity, losses, response level.

* ``tianshan scenario run --lat 41.8 --lon 84.3 --depth 12 --mag 6.5 [--fault nearest|NAME]
  [--strike DEG] [--region DIR|demo] [--gmm simple|xinjiang] [--json]`` -- one scenario (``--gmm``: the
  intensity prediction, :data:`tianshan.products.loss.scenario.INTENSITY_MODELS`);
* ``tianshan scenario run --batch scenarios.csv [--region DIR] [--json]`` -- many, from a CSV
  with columns ``lat,lon,depth,mag`` and optional ``name,fault,strike,dip,rake``;
* ``--report DIR`` also writes the bilingual loss report (:mod:`tianshan.products.reports.loss`:
  HTML, PDF, map, JSON) into ``DIR`` (``DIR/001-name/``... with ``--batch``): the full chain
  intensity -> loss -> report.

The scenario and region options are shared with ``tianshan report loss``
(:func:`scenario_options`, :func:`single_scenario`, :func:`load_scenario_context`).

``--region`` selects the exposure: ``demo`` (built-in GeoNames towns) or a folder with a county
census, county polygons and optionally towns, a population GeoTIFF, fault traces and the
historical earthquake table (e.g. ``../shared/data/xinjiang``; see
:mod:`tianshan.products.loss.exposure`). With ``--json`` the result is printed as the JSON
document of :meth:`tianshan.products.loss.scenario.ScenarioResult.as_json` (a list for
``--batch``). Bad input exits with status 2 and one line on stderr.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import click

from tianshan.core.errors import InputError


@click.group(name="scenario")
def command() -> None:
    """Earthquake scenarios: intensity, exposure, PAGER losses, response level (国家地震应急预案)."""


def _read_batch(path: Path):
    from tianshan.products.loss.scenario import Scenario

    src = str(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise InputError("batch file not found", source=src) from None
    reader = csv.DictReader(text.splitlines())
    header = {h.strip().lower() for h in reader.fieldnames or []}
    need = {"lat", "lon", "depth", "mag"}
    if not need <= header:
        raise InputError(f"batch file needs columns {', '.join(sorted(need))}; missing "
                         f"{', '.join(sorted(need - header))}", source=src, line=1)
    out = []
    for lineno, raw in enumerate(reader, start=2):
        row = {(k or "").strip().lower(): (v or "").strip() for k, v in raw.items()}
        if not any(row.values()):
            continue

        def num(key: str, required: bool = True):
            v = row.get(key, "")
            if not v:
                if required:
                    raise InputError("missing value", source=src, line=lineno, field=key)
                return None
            try:
                return float(v)
            except ValueError:
                raise InputError(f"not a number: {v!r}", source=src, line=lineno, field=key) from None

        try:
            out.append(Scenario(num("lat"), num("lon"), num("depth"), num("mag"), name=row.get("name", ""),
                                fault=row.get("fault") or None, strike_deg=num("strike", False),
                                dip_deg=num("dip", False), rake_deg=num("rake", False)))
        except InputError as err:
            if err.source:
                raise
            raise InputError(err.message, source=src, line=lineno, field=err.field) from None
    if not out:
        raise InputError("batch file has no scenarios", source=src)
    return out


def _summary(doc: dict) -> str:
    f, e = doc["fatalities"], doc["economic_loss_usd"]
    sc = doc.get("scenario") or {}
    rec = doc["response"]["recommended"]
    lines = [
        f"scenario {sc.get('name') or ''} M{sc.get('magnitude')} at {sc.get('latitude_deg')} N "
        f"{sc.get('longitude_deg')} E, depth {sc.get('depth_km')} km ({sc.get('orientation', '')})".replace("  ", " "),
        f"  PAGER alert: {doc['pager_alert']} (fatalities {doc['alerts']['fatalities']}, "
        f"economic {doc['alerts']['economic']})",
        f"  deaths: median {f['median']:,.0f} (p10 {f['p10']:,.0f}, p90 {f['p90']:,.0f}); P(range): "
        + ", ".join(f"{k} {v:.0%}" for k, v in f["bin_probabilities"].items()),
        f"  economic loss: median US${e['median'] / 1e6:,.1f}M (p10 {e['p10'] / 1e6:,.1f}M, p90 {e['p90'] / 1e6:,.1f}M)",
        "  response level: " + (f"{rec['response']} {rec['grade_zh']} ({rec['grade_en']})" if rec else "none"),
        "  exposure (people by MMI): " + ", ".join(f"{k} {v:,}" for k, v in doc["exposure_by_intensity"].items() if v),
        f"  injured ~{doc['injured']['median']:,}; needing shelter ~{doc['shelter']['people_needing_shelter']:,}; "
        f"tents {doc['needs']['tents']:,}; USAR medium teams {doc['needs']['usar_medium_teams']}",
    ]
    for c in doc["counties"][:5]:
        lines.append(f"  {c['name']}: VI+ {c['exposed_vi_plus']:,}, VII+ {c['exposed_vii_plus']:,}, "
                     f"VIII+ {c['exposed_viii_plus']:,} (max MMI {c['max_mmi']})")
    for w in doc["warnings"]:
        lines.append(f"  warning: {w}")
    return "\n".join(lines)


def scenario_options(func):
    """The options that describe one scenario and its region, shared by ``scenario run`` and
    ``report loss`` (their values reach the command under the names below; see
    :func:`load_scenario_context` and :func:`single_scenario`)."""
    opts = [
        click.option("--lat", type=float, default=None, help="Epicentre latitude (deg)."),
        click.option("--lon", type=float, default=None, help="Epicentre longitude (deg)."),
        click.option("--depth", type=float, default=None, help="Hypocentre depth (km)."),
        click.option("--mag", type=float, default=None, help="Moment magnitude."),
        click.option("--fault", default=None, help="Orient the rupture along a region fault: 'nearest' or a fault name."),
        click.option("--strike", type=float, default=None, help="Rupture strike (deg); overrides --fault."),
        click.option("--dip", type=float, default=None, help="Rupture dip (deg, default 90 or the fault's)."),
        click.option("--rake", type=float, default=None, help="Rake (deg, default the fault's slip type, else 90)."),
        click.option("--name", default="", help="Scenario name."),
        click.option("--region", default="demo", show_default=True,
                     help="Exposure: 'demo' or a folder with county census + polygons (+ towns, raster, faults, "
                          "history)."),
        click.option("--raster", type=click.Path(dir_okay=False, path_type=Path), default=None,
                     help="Population GeoTIFF (WGS84, people per pixel) to distribute county populations."),
        click.option("--historical", type=click.Path(dir_okay=False, path_type=Path), default=None,
                     help="NOAA significant-earthquake CSV (default: historical*.csv in --region)."),
        click.option("--vulnerability-class", default="C", show_default=True, type=click.Choice(["A", "B", "C"]),
                     help="EMS-98 vulnerability class for people needing shelter."),
        click.option("--gdp-per-capita-usd", type=float, default=None,
                     help="GDP per capita (US$; default China 2020)."),
        click.option("--provincial-gdp-usd", type=float, default=None,
                     help="Province's previous-year GDP (US$) for the 1 % economic criterion of the response plan."),
    ]
    for opt in reversed(opts):
        func = opt(func)
    return func


def single_scenario(lat, lon, depth, mag, *, fault=None, strike=None, dip=None, rake=None, name=""):
    """The :class:`~tianshan.products.loss.scenario.Scenario` of ``--lat --lon --depth --mag``
    (an :class:`InputError` naming the missing options)."""
    from tianshan.products.loss.scenario import Scenario

    missing = [opt for opt, v in zip(("--lat", "--lon", "--depth", "--mag"), (lat, lon, depth, mag)) if v is None]
    if missing:
        raise InputError(f"missing {', '.join(missing)}", field=missing[0])
    return Scenario(lat, lon, depth, mag, name=name, fault=fault, strike_deg=strike, dip_deg=dip, rake_deg=rake)


def load_scenario_context(region, raster=None, historical=None, vulnerability_class="C", gdp_per_capita_usd=None,
                          provincial_gdp_usd=None):
    """(:class:`~tianshan.products.loss.scenario.RegionContext`, ``LossOptions``) from the options."""
    from tianshan.products.loss import pager
    from tianshan.products.loss.scenario import LossOptions, load_context

    if region != "demo" and not Path(region).is_dir():
        raise InputError("exposure region folder does not exist", source=region, field="--region")
    ctx = load_context(region, raster=raster, historical=historical)
    options = LossOptions(vulnerability_class=vulnerability_class,
                          gdp_per_capita_usd=gdp_per_capita_usd or pager.GDP_PER_CAPITA_USD_CN_2020,
                          provincial_gdp_usd=provincial_gdp_usd)
    return ctx, options


def _slug(text: str) -> str:
    keep = "".join(c if c.isalnum() or c in "-_" else "_" for c in text.strip())
    return keep.strip("_")[:40]


@command.command("run")
@scenario_options
@click.option("--batch", "batch", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="CSV of scenarios (lat,lon,depth,mag[,name,fault,strike,dip,rake]).")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Also write the JSON document to this file.")
@click.option("--report", "report_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Also write the bilingual loss report (HTML, PDF, map, JSON) into this folder "
                   "(one subfolder per scenario with --batch).")
@click.option("--gmm", default="simple", show_default=True, type=click.Choice(["simple", "xinjiang"]),
              help="Intensity prediction: 'simple' (BSSA14 PGV -> Worden 2012 MMI) or 'xinjiang' (Yu et al. "
                   "2013 Xinjiang elliptical intensity attenuation, long axis along --fault/--strike, Chinese "
                   "scale as MMI).")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def run(lat, lon, depth, mag, fault, strike, dip, rake, name, region, raster, historical,
        vulnerability_class, gdp_per_capita_usd, provincial_gdp_usd, batch, out, report_dir, gmm, as_json) -> None:
    """Run one scenario (--lat --lon --depth --mag) or a --batch file through the loss chain."""
    from tianshan.products.loss.scenario import run_scenario

    single = (lat, lon, depth, mag)
    if batch is None:
        if any(v is None for v in single):
            missing = [o for o, v in zip(("--lat", "--lon", "--depth", "--mag"), single) if v is None]
            raise InputError(f"missing {', '.join(missing)} (or give --batch FILE)", field=missing[0])
        scenarios = [single_scenario(lat, lon, depth, mag, fault=fault, strike=strike, dip=dip, rake=rake,
                                     name=name)]
    else:
        if any(v is not None for v in single):
            raise InputError("give either --batch or --lat/--lon/--depth/--mag, not both", field="--batch")
        scenarios = _read_batch(batch)
    if report_dir is not None:
        from tianshan.products.reports.loss import check_out_dir

        check_out_dir(report_dir)                          # fail before the chain runs, not after
    ctx, options = load_scenario_context(region, raster, historical, vulnerability_class, gdp_per_capita_usd,
                                         provincial_gdp_usd)
    docs = []
    reports = []
    for i, sc in enumerate(scenarios, start=1):
        res = run_scenario(sc, ctx.exposure, faults=ctx.faults, historical=ctx.historical, options=options,
                           intensity=gmm)
        doc = res.as_json()
        doc["warnings"] = list(doc["warnings"]) + list(ctx.notes)
        docs.append(doc)
        if report_dir is not None:
            from tianshan.products.reports.loss import write_loss_report

            folder = report_dir if batch is None else report_dir / (f"{i:03d}" + (f"-{_slug(sc.name)}" if _slug(sc.name)
                                                                                   else ""))
            files = write_loss_report(res, folder, faults=ctx.faults, event_label=sc.name or None, notes=ctx.notes)
            reports.append(files)
    payload = docs if batch is not None else docs[0]
    text = json.dumps(payload, ensure_ascii=False, indent=1)
    if out is not None:
        from tianshan.io.atomic import atomic_write_text

        atomic_write_text(out, text + "\n")
    if as_json:
        click.echo(text)
    else:
        click.echo("\n\n".join(_summary(d) for d in docs))
        for files in reports:
            click.echo(f"report: {files.get('pdf') or files.get('html')}")

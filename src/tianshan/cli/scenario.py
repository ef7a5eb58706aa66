"""``tianshan scenario``: earthquake scenarios (情景构建) -> intensity, losses, response level.

* ``tianshan scenario run --lat 41.8 --lon 84.3 --depth 12 --mag 6.5 [--fault nearest|NAME]
  [--strike DEG] [--region DIR|demo] [--json]`` -- one scenario;
* ``tianshan scenario run --batch scenarios.csv [--region DIR] [--json]`` -- many, from a CSV
  with columns ``lat,lon,depth,mag`` and optional ``name,fault,strike,dip,rake``.

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


@command.command("run")
@click.option("--lat", type=float, default=None, help="Epicentre latitude (deg).")
@click.option("--lon", type=float, default=None, help="Epicentre longitude (deg).")
@click.option("--depth", type=float, default=None, help="Hypocentre depth (km).")
@click.option("--mag", type=float, default=None, help="Moment magnitude.")
@click.option("--fault", default=None, help="Orient the rupture along a region fault: 'nearest' or a fault name.")
@click.option("--strike", type=float, default=None, help="Rupture strike (deg); overrides --fault.")
@click.option("--dip", type=float, default=None, help="Rupture dip (deg, default 90 or the fault's).")
@click.option("--rake", type=float, default=None, help="Rake (deg, default the fault's slip type, else 90).")
@click.option("--name", default="", help="Scenario name.")
@click.option("--batch", "batch", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="CSV of scenarios (lat,lon,depth,mag[,name,fault,strike,dip,rake]).")
@click.option("--region", default="demo", show_default=True,
              help="Exposure: 'demo' or a folder with county census + polygons (+ towns, raster, faults, history).")
@click.option("--raster", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Population GeoTIFF (WGS84, people per pixel) to distribute county populations.")
@click.option("--historical", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="NOAA significant-earthquake CSV (default: historical*.csv in --region).")
@click.option("--vulnerability-class", default="C", show_default=True, type=click.Choice(["A", "B", "C"]),
              help="EMS-98 vulnerability class for people needing shelter.")
@click.option("--gdp-per-capita-usd", type=float, default=None, help="GDP per capita (US$; default China 2020).")
@click.option("--provincial-gdp-usd", type=float, default=None,
              help="Province's previous-year GDP (US$) for the 1 % economic criterion of the response plan.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Also write the JSON document to this file.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def run(lat, lon, depth, mag, fault, strike, dip, rake, name, batch, region, raster, historical,
        vulnerability_class, gdp_per_capita_usd, provincial_gdp_usd, out, as_json) -> None:
    """Run one scenario (--lat --lon --depth --mag) or a --batch file through the loss chain."""
    from tianshan.products.loss import pager
    from tianshan.products.loss.scenario import LossOptions, Scenario, load_context, run_scenario

    single = (lat, lon, depth, mag)
    if batch is None:
        missing = [opt for opt, v in zip(("--lat", "--lon", "--depth", "--mag"), single) if v is None]
        if missing:
            raise InputError(f"missing {', '.join(missing)} (or give --batch FILE)", field=missing[0])
        scenarios = [Scenario(lat, lon, depth, mag, name=name, fault=fault, strike_deg=strike, dip_deg=dip,
                              rake_deg=rake)]
    else:
        if any(v is not None for v in single):
            raise InputError("give either --batch or --lat/--lon/--depth/--mag, not both", field="--batch")
        scenarios = _read_batch(batch)
    if region != "demo" and not Path(region).is_dir():
        raise InputError("exposure region folder does not exist", source=region, field="--region")
    ctx = load_context(region, raster=raster, historical=historical)
    options = LossOptions(vulnerability_class=vulnerability_class,
                          gdp_per_capita_usd=gdp_per_capita_usd or pager.GDP_PER_CAPITA_USD_CN_2020,
                          provincial_gdp_usd=provincial_gdp_usd)
    docs = []
    for sc in scenarios:
        res = run_scenario(sc, ctx.exposure, faults=ctx.faults, historical=ctx.historical, options=options)
        doc = res.as_json()
        doc["warnings"] = list(doc["warnings"]) + list(ctx.notes)
        docs.append(doc)
    payload = docs if batch is not None else docs[0]
    text = json.dumps(payload, ensure_ascii=False, indent=1)
    if out is not None:
        from tianshan.io.atomic import atomic_write_text

        atomic_write_text(out, text + "\n")
    if as_json:
        click.echo(text)
    else:
        click.echo("\n\n".join(_summary(d) for d in docs))

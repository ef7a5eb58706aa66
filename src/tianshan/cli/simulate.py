"""``tianshan simulate``: an earthquake scenario -> SDS archive, StationXML, true QuakeML.

Stations and the 1-D velocity model come from a region profile (``--region
demo`` by default, or a profile folder); ``--stations FILE.xml|csv`` replaces
the region's stations and ``--velocity FILE.csv`` its velocity model.
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path

import click

from tianshan.core.errors import InputError


def _load_inputs(region: str | None, stations_file: Path | None, velocity_file: Path | None):
    """(stations, velocity model, description) from the options."""
    stations = model = None
    what = []
    if stations_file is not None:
        if not stations_file.is_file():
            raise InputError("station file not found", source=str(stations_file))
        from tianshan.regions.loader import read_station_file

        try:
            stations = read_station_file(stations_file)
        except UnicodeDecodeError as err:
            raise InputError(f"not a readable text file ({err.reason})", source=str(stations_file)) from None
        if not stations:
            raise InputError("no stations in the file", source=str(stations_file))
        what.append(f"stations {stations_file}")
    if velocity_file is not None:
        if not velocity_file.is_file():
            raise InputError("velocity model file not found", source=str(velocity_file))
        from tianshan.regions.velocity_csv import read_velocity_csv

        model = read_velocity_csv(velocity_file)
        what.append(f"velocity {velocity_file}")
    if stations is None or model is None:
        from tianshan.regions.demo import resolve_region

        profile = resolve_region(region or "demo")
        stations = profile.stations if stations is None else stations
        model = profile.velocity_model if model is None else model
        what.insert(0, f"region {profile.name}")
    return tuple(stations), model, ", ".join(what)


#: Source/FiniteFault field -> CLI option (for error messages).
_OPTION_OF_FIELD = {"latitude_deg": "--lat", "longitude_deg": "--lon", "depth_m": "--depth-km", "mw": "--mw",
                    "origin_time": "--time", "strike": "--strike", "dip": "--dip", "rake": "--rake",
                    "length_m": "--length-km", "width_m": "--width-km"}


def _finite(strike, dip, rake, length_km, width_km):
    given = [x is not None for x in (strike, dip, rake)]
    if not any(given):
        if length_km is not None or width_km is not None:
            raise InputError("--length-km/--width-km need --strike, --dip and --rake", field="finite fault")
        return None
    if not all(given):
        raise InputError("a finite fault needs all of --strike, --dip and --rake", field="finite fault")
    from tianshan.sim.source import FiniteFault

    return FiniteFault(strike, dip, rake,
                       None if length_km is None else length_km * 1000.0,
                       None if width_km is None else width_km * 1000.0)


@click.command()
@click.option("--lat", "lat", type=float, required=True, help="Epicentre latitude (deg).")
@click.option("--lon", "lon", type=float, required=True, help="Epicentre longitude (deg).")
@click.option("--depth-km", type=float, required=True, help="Hypocentre depth (km).")
@click.option("--mw", type=float, required=True, help="Moment magnitude.")
@click.option("--time", "origin_time", default=None, help="Origin time, ISO 8601 UTC (default: now).")
@click.option("--duration", type=float, default=600.0, show_default=True, help="Record length (s).")
@click.option("--pre-event", type=float, default=None,
              help="Record start before the origin time (s; default 60 s, at most a tenth of --duration).")
@click.option("--region", default=None, help="Region profile: 'demo' (default) or a profile folder.")
@click.option("--stations", "stations_file", type=click.Path(path_type=Path), default=None,
              help="Station file (StationXML .xml or CSV) replacing the region's stations.")
@click.option("--velocity", "velocity_file", type=click.Path(path_type=Path), default=None,
              help="1-D velocity model CSV replacing the region's model.")
@click.option("--seed", type=int, default=None, help="Random seed (same seed, same records).")
@click.option("--faults/--no-faults", default=False, help="Add data faults (gaps, spikes, clipping...).")
@click.option("--noise/--no-noise", default=True, show_default=True, help="Add station noise.")
@click.option("--strike", type=float, default=None, help="Finite fault strike (deg).")
@click.option("--dip", type=float, default=None, help="Finite fault dip (deg).")
@click.option("--rake", type=float, default=None, help="Finite fault rake (deg).")
@click.option("--length-km", type=float, default=None, help="Rupture length (km; default Wells & Coppersmith 1994).")
@click.option("--width-km", type=float, default=None, help="Rupture width (km; default Wells & Coppersmith 1994).")
@click.option("--out", "out_dir", type=click.Path(path_type=Path), required=True, help="Output folder.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def command(lat, lon, depth_km, mw, origin_time, duration, pre_event, region, stations_file, velocity_file, seed,
            faults, noise, strike, dip, rake, length_km, width_km, out_dir, as_json):
    """Simulate an earthquake scenario: SDS archive, StationXML, true QuakeML."""
    from datetime import timedelta

    from tianshan.core.timeutil import as_utc, utc_now
    from tianshan.sim.source import Source

    if not (math.isfinite(duration) and 0 < duration <= 86_400):
        raise InputError(f"must be within (0, 86400] s, got {duration}", field="--duration")
    if pre_event is None:
        pre_event = min(60.0, 0.1 * duration)
    if not (math.isfinite(pre_event) and 0 <= pre_event < duration):
        raise InputError(f"must be within [0, duration) s, got {pre_event}", field="--pre-event")
    if not (math.isfinite(depth_km) and 0 <= depth_km <= 700):
        raise InputError(f"must be within [0, 700] km, got {depth_km}", field="--depth-km")
    for name, value in (("--length-km", length_km), ("--width-km", width_km)):
        if value is not None and not (math.isfinite(value) and value > 0):
            raise InputError(f"must be > 0 km, got {value}", field=name)
    if out_dir.exists() and not out_dir.is_dir():
        raise InputError("exists and is not a folder", source=str(out_dir))
    try:
        t0 = utc_now().replace(microsecond=0) if origin_time is None else as_utc(origin_time, "--time")
    except ValueError as err:
        raise InputError(str(err), field="--time") from None
    try:
        source = Source(lat, lon, depth_km * 1000.0, mw, t0, _finite(strike, dip, rake, length_km, width_km))
    except InputError as err:
        option = _OPTION_OF_FIELD.get(err.field or "", err.field)
        raise InputError(err.message, field=option) from None
    stations, model, what = _load_inputs(region, stations_file, velocity_file)

    from tianshan.sim.faults import FaultPlan
    from tianshan.sim.scenario import simulate_scenario
    from tianshan.sim.writer import write_scenario

    started = time.perf_counter()
    start = source.origin_time - timedelta(seconds=pre_event)
    if as_json:
        result = simulate_scenario(source, stations, model, start, duration, seed,
                                   FaultPlan() if faults else None, noise)
    else:
        from rich.console import Console
        from rich.progress import Progress

        with Progress(console=Console(stderr=True), transient=True) as bar:
            task = bar.add_task("simulating", total=len(stations))
            result = simulate_scenario(source, stations, model, start, duration, seed,
                                       FaultPlan() if faults else None, noise,
                                       progress=lambda done, total: bar.update(task, completed=done))
    paths = write_scenario(result, out_dir)
    elapsed = time.perf_counter() - started
    with_signal = sum(1 for t in result.truth if t.has_signal)
    pga = max((t for t in result.truth), key=lambda t: t.pga_m_s2)
    report = {
        "source": {"latitude_deg": source.latitude_deg, "longitude_deg": source.longitude_deg,
                   "depth_m": source.depth_m, "mw": source.mw,
                   "origin_time": source.origin_time.isoformat().replace("+00:00", "Z"),
                   "finite": None if source.finite is None else {
                       "strike_deg": source.finite.strike_deg, "dip_deg": source.finite.dip_deg,
                       "rake_deg": source.finite.rake_deg, "length_m": source.finite.length_m,
                       "width_m": source.finite.width_m}},
        "inputs": what,
        "stations": len(result.stations),
        "stations_with_signal": with_signal,
        "traces": len(result.stream),
        "samples": int(sum(tr.stats.npts for tr in result.stream)),
        "faults": len(result.faults),
        "max_pga": {"station": pga.station_id, "pga_m_s2": pga.pga_m_s2,
                    "epicentral_distance_m": pga.epicentral_distance_m},
        "seed": seed,
        "elapsed_s": round(elapsed, 3),
        "files": paths.as_dict(),
    }
    if as_json:
        click.echo(json.dumps(report, indent=2))
    else:
        click.echo(f"Simulated Mw {source.mw:g} at {source.latitude_deg:.3f}, {source.longitude_deg:.3f}, "
                   f"{source.depth_m / 1000:g} km ({what}): {report['stations']} stations "
                   f"({with_signal} with signal), {report['traces']} traces, {report['faults']} faults "
                   f"in {elapsed:.1f} s")
        click.echo(f"Largest PGA {pga.pga_m_s2:.3g} m/s^2 at {pga.station_id} "
                   f"({pga.epicentral_distance_m / 1000:.1f} km)")
        click.echo(f"Wrote {out_dir}: sds/ ({len(paths.sds_files)} files), stations.xml, truth.xml, "
                   "truth_arrivals.csv" + (", truth_faults.csv" if paths.faults_csv else ""))
    return 0

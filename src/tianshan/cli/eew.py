"""``tianshan eew``: earthquake early warning (地震预警) evaluation.

* ``tianshan eew replay --openeew DIR/YYYY_M_D --devices DIR/device_locations.json
  [--truth "ISO-time lat lon mag [depth_km]"] [--json]`` -- real OpenEEW MEMS records
  (``<device>/<hour>.jsonl``) through the EEW engine and alert policy; targets are the device
  sites; a generic three-layer crust serves as velocity model.
* ``tianshan eew replay --scenario "lat lon depth_km mw" [--region DIR|demo] [--origin ISO]
  [--seed N] [--max-station-km 400] [--strong-motion] [--json]`` -- a simulated earthquake at
  the region's stations (within ``--max-station-km``), its places as targets and its faults
  for the long axis of the intensity ellipses.

``--json`` prints exactly the issue's document (:meth:`tianshan.eew.replay.ReplayReport.summary`);
without it a short text report is printed. ``--report FILE`` writes the full report
(:meth:`~tianshan.eew.replay.ReplayReport.to_dict`) as JSON (atomically). Bad input exits with
status 2 and one line on stderr.
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from tianshan.core.errors import InputError


@click.group(name="eew")
def command() -> None:
    """Earthquake early warning: replay records or scenarios through the EEW engine and alert policy."""


def _scenario_source(text: str, origin: str):
    from datetime import datetime, timezone

    from tianshan.core.timeutil import as_utc
    from tianshan.sim.source import Source

    parts = text.split()
    if len(parts) != 4:
        raise InputError(f"need 'lat lon depth_km mw', got {text!r}", source="--scenario")
    try:
        lat, lon, depth_km, mw = (float(p) for p in parts)
    except ValueError:
        raise InputError(f"lat, lon, depth_km and mw must be numbers: {text!r}", source="--scenario") from None
    try:
        t = as_utc(origin, "--origin") if origin else datetime(2024, 6, 1, tzinfo=timezone.utc)
    except (TypeError, ValueError) as err:
        raise InputError(str(err), source="--origin") from None
    return Source(lat, lon, depth_km * 1000.0, mw, t)


def _text_report(rep) -> str:
    lines = []
    s = rep.summary()
    ref = "truth" if rep.truth is not None else "estimated origin"
    lines.append(f"messages (times after the {ref}):")
    for a in rep.alerts:
        mag = "-" if a.magnitude is None else f"M{a.magnitude:.2f}"
        lines.append(f"  {a.t_after_origin_s:7.2f} s  {a.msg_type:6s} #{a.sequence:<3d} {mag:7s} "
                     f"{a.latitude_deg:8.4f} {a.longitude_deg:9.4f}  {a.n_stations:3d} stations  "
                     f"{a.n_targets:3d} targets")
    if not rep.alerts:
        lines.append("  none")
    for key in ("first_alert_s", "magnitude_error_first", "magnitude_error_final", "epicentral_error_km_final"):
        lines.append(f"{key}: {s[key]}")
    lines.append(f"magnitude_error_10s: {rep.magnitude_error_10s}")
    lines.append(f"blind_zone_radius_km: {rep.blind_zone_radius_km}")
    lines.append(f"missed events: {rep.missed_events}; false-alert events: {rep.false_alert_events}; "
                 f"targets: {dict(rep.target_outcomes)}")
    return "\n".join(lines)


@command.command("replay")
@click.option("--openeew", "openeew", type=click.Path(path_type=Path), default=None,
              help="OpenEEW day folder (DIR/YYYY_M_D with <device>/*.jsonl).")
@click.option("--devices", type=click.Path(path_type=Path), default=None, help="OpenEEW device_locations.json.")
@click.option("--truth", default=None, help="'ISO-time lat lon mag [depth_km]' of the real earthquake.")
@click.option("--scenario", default=None, help="Simulate 'lat lon depth_km mw' at the region's stations.")
@click.option("--region", default="demo", show_default=True, help="Region folder or 'demo' (with --scenario).")
@click.option("--origin", default="", help="Origin time of the scenario (ISO 8601; default 2024-06-01T00:00Z).")
@click.option("--seed", default=1, show_default=True, type=int, help="Random seed of the simulation.")
@click.option("--max-station-km", default=400.0, show_default=True, type=float,
              help="Simulate the stations within this distance of the epicentre.")
@click.option("--strong-motion", is_flag=True, help="Add a co-located HN accelerometer to broadband-only stations.")
@click.option("--packet-s", default=1.0, show_default=True, type=float, help="Packet length of the replay (s).")
@click.option("--attenuation", default="xinjiang", show_default=True,
              help="Yu et al. (2013) intensity region: xinjiang, east, moderate, tibet.")
@click.option("--json", "as_json", is_flag=True, help="Print the issue's JSON summary.")
@click.option("--report", type=click.Path(path_type=Path), default=None, help="Write the full report as JSON.")
def replay(openeew, devices, truth, scenario, region, origin, seed, max_station_km, strong_motion, packet_s,
           attenuation, as_json, report) -> None:
    """Replay real OpenEEW records or a simulated scenario; report alerts, errors and warning times."""
    from tianshan.eew import replay as rp
    from tianshan.eew.targets import TargetConfig

    if (openeew is None) == (scenario is None):
        raise InputError("give exactly one of --openeew or --scenario", source="eew replay")
    tcfg = TargetConfig(attenuation=attenuation)
    if openeew is not None:
        if devices is None:
            raise InputError("--openeew needs --devices (device_locations.json)", source="eew replay")
        t = None if truth is None else rp.parse_truth(truth)
        rep = rp.replay_openeew(openeew, devices, truth=t, packet_s=packet_s, target_config=tcfg)
    else:
        if truth is not None:
            raise InputError("--truth is only for --openeew (a scenario is its own truth)", source="eew replay")
        if not (max_station_km > 0):
            raise InputError("must be > 0", source="eew replay", field="--max-station-km")
        from tianshan.regions.demo import resolve_region

        if region != "demo" and not Path(region).is_dir():
            raise InputError("region folder does not exist", source=region, field="--region")
        reg = resolve_region(region)
        src = _scenario_source(scenario, origin)
        rep = rp.simulate_and_replay(src, reg, max_station_distance_m=max_station_km * 1000.0,
                                     strong_motion=strong_motion, seed=seed, packet_s=packet_s, target_config=tcfg)
    if report is not None:
        from tianshan.io.atomic import atomic_write_text

        atomic_write_text(report, json.dumps(rep.to_dict(), ensure_ascii=False, indent=1) + "\n")
    if as_json:
        click.echo(json.dumps(rep.summary(), ensure_ascii=False))
    else:
        click.echo(_text_report(rep))

"""``tianshan locate``: locate events from a NonLinLoc phase file alone.

    tianshan locate --obs FILE.obs --stations FILE (--velocity FILE.csv | --nlloc-control FILE) [--json]

* ``--obs``: NLLOC_OBS phase file, events separated by blank lines (:mod:`tianshan.io.nlloc`);
* ``--stations``: NonLinLoc ``GTSRCE ... LATLON`` lines, a stations CSV (``.csv``) or
  StationXML (``.xml``);
* ``--velocity``: a 1-D model CSV (:mod:`tianshan.regions.velocity_csv`), or
  ``--nlloc-control``: a NonLinLoc control file, whose ``LAYER`` model and location
  settings (``LOCMETH``, ``LOCGAU``/``LOCGAU2``, ``LOCGRID``, ``LOCSEARCH OCT``, ``TRANS``)
  are used as NonLinLoc would (:func:`tianshan.events.locate.config.config_from_nlloc`),
  including its station selection with 2-D travel-time grids.

Prints one row per located event (``--json``: a list of ``{"time", "latitude", "longitude",
"depth_km", "rms_s", "gap_deg", "n_phases", "ellipse": {...}, ...}``). Events that cannot be
located are reported on stderr and skipped; bad files exit with status 2 and one line.
"""

from __future__ import annotations

import json
from pathlib import Path

import click


def _stations(path: Path):
    suffix = path.suffix.lower()
    if suffix in (".xml", ".csv"):
        from tianshan.regions.loader import read_station_file

        return read_station_file(path)
    from tianshan.io.nlloc import read_nlloc_stations

    return read_nlloc_stations(path)


def _row(res) -> dict:
    o = res.origin
    ell = o.ellipse
    return {
        "time": o.time.isoformat().replace("+00:00", "Z"),
        "latitude": round(o.latitude_deg, 6), "longitude": round(o.longitude_deg, 6),
        "depth_km": round(o.depth_m / 1000.0, 4), "rms_s": round(o.rms_s, 4),
        "gap_deg": round(o.azimuthal_gap_deg, 2), "n_phases": o.phase_count, "n_stations": o.station_count,
        "min_distance_km": round(o.minimum_distance_deg * 111.19492664455873, 3),
        "time_uncertainty_s": round(o.time_uncertainty_s or 0.0, 4),
        "ellipse": {"semi_major_km": round(ell.semi_major_m / 1000.0, 4),
                    "semi_minor_km": round(ell.semi_minor_m / 1000.0, 4),
                    "azimuth_deg": round(ell.azimuth_deg, 2), "confidence": ell.confidence},
        "ellipsoid": {k: (round(v / 1000.0, 4) if k.endswith("_m") else v)
                      for k, v in res.ellipsoid.as_dict().items()},
        "erh_km": round(res.erh_m / 1000.0, 4), "erz_km": round(res.erz_m / 1000.0, 4),
        "expected": {"latitude": round(res.expected[0], 6), "longitude": round(res.expected[1], 6),
                     "depth_km": round(res.expected[2] / 1000.0, 4)},
        "quality": res.quality, "method": o.method, "skipped_picks": res.skipped,
    }


@click.command(help=__doc__.split("\n\n")[0].strip("`"))
@click.option("--obs", "obs_path", required=True, type=click.Path(path_type=Path),
              help="NonLinLoc NLLOC_OBS phase file.")
@click.option("--stations", "stations_path", required=True, type=click.Path(path_type=Path),
              help="Stations: NonLinLoc GTSRCE file, CSV or StationXML.")
@click.option("--velocity", "velocity_path", type=click.Path(path_type=Path), help="1-D velocity model CSV.")
@click.option("--nlloc-control", "control_path", type=click.Path(path_type=Path),
              help="NonLinLoc control file (LAYER model and location settings).")
@click.option("--likelihood", type=click.Choice(["edt", "edt_ot", "l2"]), default=None,
              help="Likelihood (default: the control file's LOCMETH, else edt).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def command(obs_path: Path, stations_path: Path, velocity_path: Path | None, control_path: Path | None,
            likelihood: str | None, as_json: bool) -> int:
    from tianshan.core.errors import InputError
    from tianshan.events.locate import LocateConfig, LocationError, locate
    from tianshan.events.locate.config import config_from_nlloc, nlloc_grid_stations
    from tianshan.io.nlloc import read_nlloc_control, read_nlloc_model, read_nlloc_obs

    if (velocity_path is None) == (control_path is None):
        raise InputError("give exactly one of --velocity FILE or --nlloc-control FILE")
    stations = _stations(stations_path)
    overrides = {"likelihood": likelihood} if likelihood else {}
    if control_path is not None:
        model = read_nlloc_model(control_path)
        ctl = read_nlloc_control(control_path)
        cfg = config_from_nlloc(ctl, **overrides)
        stations = nlloc_grid_stations(stations, ctl)
    else:
        from tianshan.regions.velocity_csv import read_velocity_csv

        model = read_velocity_csv(velocity_path)
        cfg = LocateConfig(**overrides)
    obs = read_nlloc_obs(obs_path)
    if obs.skipped:
        click.echo(f"tianshan: warning: {obs_path}: skipped phase lines {obs.skipped}", err=True)
    rows = []
    for i, picks in enumerate(obs.events, start=1):
        try:
            rows.append(_row(locate(picks, stations, model, cfg)))
        except LocationError as err:
            click.echo(f"tianshan: warning: event {i}: not located: {err}", err=True)
    if not rows:
        raise InputError(f"none of the {len(obs.events)} events could be located", str(obs_path))
    if as_json:
        click.echo(json.dumps(rows, indent=1, ensure_ascii=False))
        return 0
    click.echo(f"{'time':27s} {'lat':>9s} {'lon':>10s} {'depth km':>8s} {'rms s':>6s} {'gap':>5s} "
               f"{'nph':>4s} {'ell km (a/b/az)':>18s} Q")
    for r in rows:
        e = r["ellipse"]
        click.echo(f"{r['time'][:27]:27s} {r['latitude']:9.4f} {r['longitude']:10.4f} {r['depth_km']:8.2f} "
                   f"{r['rms_s']:6.2f} {r['gap_deg']:5.0f} {r['n_phases']:4d} "
                   f"{e['semi_major_km']:6.2f}/{e['semi_minor_km']:5.2f}/{e['azimuth_deg']:3.0f} {r['quality']}")
    return 0

"""Write a region profile folder that :func:`~tianshan.regions.loader.load_region` reads back.

Files (each written atomically; the manifest last, so a folder with a
``region.toml`` is complete):

* ``stations.xml`` - FDSN StationXML with gains, kinds and the simulated flag
  (:func:`tianshan.io.stationxml.write_stationxml`); the manifest points here;
* ``stations.csv`` - the same stations as CSV, for people and spreadsheets
  (no gains);
* ``velocity.csv`` - the 1-D model with Vs and density columns;
* ``places.csv`` and ``faults.geojson`` when the profile has any;
* ``region.toml`` - the manifest. Raster paths (Vs30, exposure) are recorded
  as absolute paths, not copied.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tianshan.io.atomic import atomic_write_bytes
from tianshan.regions.faults_geojson import write_faults_geojson
from tianshan.regions.loader import MANIFEST_NAME
from tianshan.regions.model import RegionProfile
from tianshan.regions.places_csv import write_places_csv
from tianshan.regions.stations_csv import write_stations_csv
from tianshan.regions.velocity_csv import write_velocity_csv


def write_region(profile: RegionProfile, folder: str | Path) -> Path:
    """Write ``profile`` as a profile folder (created if needed); returns the folder."""
    import tomli_w

    from tianshan.io.stationxml import write_stationxml

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    write_stationxml(profile.stations, folder / "stations.xml")
    write_stations_csv(profile.stations, folder / "stations.csv")
    write_velocity_csv(profile.velocity_model, folder / "velocity.csv")
    manifest: dict[str, Any] = {"name": profile.name, "stations": ["stations.xml"], "velocity": "velocity.csv"}
    if profile.places:
        write_places_csv(profile.places, folder / "places.csv")
        manifest["places"] = ["places.csv"]
    if profile.faults:
        write_faults_geojson(profile.faults, folder / "faults.geojson")
        manifest["faults"] = ["faults.geojson"]
    for key, path in (("vs30", profile.vs30_path), ("exposure", profile.exposure_path)):
        if path is not None:
            manifest[key] = str(Path(path).absolute())
    if profile.bounds is not None:
        manifest["bounds"] = list(profile.bounds.as_tuple())
    atomic_write_bytes(folder / MANIFEST_NAME, tomli_w.dumps(manifest).encode("utf-8"))
    return folder

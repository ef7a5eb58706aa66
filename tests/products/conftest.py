"""Shared set-up of the loss tests: a two-county synthetic exposure region."""

from __future__ import annotations

import json
from pathlib import Path

import pytest


def _write_region(folder: Path, census: str) -> Path:
    """Two 1x1-degree counties (650001 at 80 E, 650002 at 81 E, 40-41 N) with ``census`` rows and
    two towns (Alpha 30,000, Beta 10,000) in the first county."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "counties_census2020.csv").write_text(census, encoding="utf-8")
    feats = [{"type": "Feature", "properties": {"adcode": code},
              "geometry": {"type": "Polygon", "coordinates": [[[w, 40], [w + 1, 40], [w + 1, 41], [w, 41], [w, 40]]]}}
             for code, w in (("650001", 80.0), ("650002", 81.0))]
    (folder / "counties_wgs84.geojson").write_text(json.dumps({"type": "FeatureCollection", "features": feats}),
                                                  encoding="utf-8")
    (folder / "cities_places.csv").write_text("name,latitude,longitude,population\nAlpha,40.2,80.2,30000\n"
                                              "Beta,40.8,80.8,10000\n", encoding="utf-8")
    return folder


@pytest.fixture(scope="session")
def write_loss_region():
    """``write_loss_region(folder, census) -> folder``: the synthetic region written into ``folder``."""
    return _write_region

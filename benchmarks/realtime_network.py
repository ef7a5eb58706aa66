"""Network and scenario of the real-time benchmark (``bench_realtime.py``), made once and cached.

Network (``--stations N``, default 200, broadband ``HH[ZNE]`` at 100 Hz, no location code):

* N >= 69: the 69 real XJ stations (``../shared/data/xinjiang/stations_xj.csv``) plus N - 69
  synthetic stations ``SY.S001``... on a jittered grid over :data:`TIAN_SHAN_BOX`: the box is
  cut into ``nx x ny`` cells of about equal size in km (``nx = ceil(sqrt(m W / H))``,
  ``ny = ceil(m / nx)`` for ``m`` stations, ``W``/``H`` the box's width/height in km at its
  mid-latitude), each station placed uniformly within the middle 70 % of its cell, and
  surplus cells dropped at random. Elevation of the synthetic stations: 0 m (placeholder).
* N < 69 (smoke runs): the N stations of the 200-station network nearest the box centre,
  a compact sub-network the events are placed in.

Scenario: ``--events`` sources (default 3), Mw uniform in [3.5, 5.5], depth 5-25 km, each
within 30 km of a station of the network that lies inside :data:`TIAN_SHAN_BOX` (inside the
network), origin times spread evenly from 75 s after the start to 200 s before the end of
the span (+- 15 s jitter) so that the P and S waves of every event cross the network within
the span. The span is simulated as ONE continuous record per channel
(:func:`tianshan.sim.sequence.write_sequence`: one noise realisation per channel, the events
added at their times) into ``<keep>/<case>/sds`` with ``stations.xml`` (nominal responses),
``truth_sources.csv`` and the region folder (station CSV + the Xinjiang 1-D velocity model);
``<case>`` names the parameters, so smoke and full runs share one ``--keep`` folder.
"""

from __future__ import annotations

import csv
import json
import math
import shutil
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
XJ = ROOT.parent / "shared" / "data" / "xinjiang"
T0 = datetime(2024, 6, 1, 0, 0, tzinfo=timezone.utc)

#: West, south, east, north (deg) of the Chinese Tian Shan and its forelands (Kashgar to Hami,
#: Tarim margin to Dzungarian margin), the box the synthetic stations and the events fill.
TIAN_SHAN_BOX = (75.0, 40.0, 95.0, 45.0)
SYNTHETIC_NETWORK = "SY"
VELOCITY_CSV = "velocity_1d_xinjiang_2018.csv"


def _xj_rows() -> list[dict]:
    with open(XJ / "stations_xj.csv", newline="", encoding="utf-8") as fh:
        return [{"network": r["network"], "station": r["station"], "latitude": float(r["latitude"]),
                 "longitude": float(r["longitude"]), "elevation_m": float(r["elevation_m"]), "simulated": "false"}
                for r in csv.DictReader(fh)]


def jittered_grid(m: int, box=TIAN_SHAN_BOX, rng: np.random.Generator | None = None,
                  jitter: float = 0.35) -> list[tuple[float, float]]:
    """``m`` (lat, lon) points on a jittered grid of near-square cells (km) over ``box`` (module docstring)."""
    if m <= 0:
        return []
    rng = rng or np.random.default_rng(0)
    west, south, east, north = box
    km_w = (east - west) * 111.19 * math.cos(math.radians((south + north) / 2))
    km_h = (north - south) * 111.19
    nx = max(1, math.ceil(math.sqrt(m * km_w / km_h)))
    ny = max(1, math.ceil(m / nx))
    cells = [(i, j) for j in range(ny) for i in range(nx)]
    keep = sorted(rng.choice(len(cells), size=m, replace=False).tolist())
    out = []
    for k in keep:
        i, j = cells[k]
        fx, fy = rng.uniform(-jitter, jitter, 2)
        lon = west + (i + 0.5 + fx) * (east - west) / nx
        lat = south + (j + 0.5 + fy) * (north - south) / ny
        out.append((round(float(lat), 4), round(float(lon), 4)))
    return out


def network_rows(n_stations: int, seed: int = 1) -> list[dict]:
    """Rows (network, station, latitude, longitude, elevation_m, simulated) of the benchmark network."""
    xj = _xj_rows()
    rng = np.random.default_rng(seed)
    n_syn = max(n_stations, 200) - len(xj)
    syn = [{"network": SYNTHETIC_NETWORK, "station": f"S{k + 1:03d}", "latitude": lat, "longitude": lon,
            "elevation_m": 0.0, "simulated": "true"}
           for k, (lat, lon) in enumerate(jittered_grid(n_syn, rng=rng))]
    rows = xj + syn
    if n_stations >= len(xj):
        return xj + syn[: n_stations - len(xj)]
    west, south, east, north = TIAN_SHAN_BOX
    clat, clon = (south + north) / 2, (west + east) / 2
    from tianshan.regions.model import haversine_m

    rows.sort(key=lambda r: haversine_m(r["latitude"], r["longitude"], clat, clon))
    return rows[:n_stations]


def in_box(lat: float, lon: float, box=TIAN_SHAN_BOX) -> bool:
    west, south, east, north = box
    return west <= lon <= east and south <= lat <= north


def draw_sources(stations, n_events: int, span_s: float, rng: np.random.Generator, start: datetime = T0):
    """Sources inside the network (module docstring), sorted by origin time."""
    from pyproj import Geod

    from tianshan.sim.source import Source

    geod = Geod(ellps="WGS84")
    inside = [s for s in stations if in_box(s.latitude_deg, s.longitude_deg)] or list(stations)
    first, last = 75.0, span_s - 200.0
    if last < first:
        raise ValueError(f"span {span_s} s too short for events (need >= 275 s)")
    times = [first + (last - first) * (k / (n_events - 1) if n_events > 1 else 0.5) for k in range(n_events)]
    out = []
    for t in times:
        st = inside[int(rng.integers(len(inside)))]
        lon, lat, _ = geod.fwd(st.longitude_deg, st.latitude_deg, float(rng.uniform(0, 360)),
                               float(30_000.0 * math.sqrt(rng.uniform())))
        t = min(max(t + float(rng.uniform(-15.0, 15.0)), 30.0), span_s - 150.0)
        out.append(Source(float(lat), float(lon), float(rng.uniform(5_000, 25_000)), float(rng.uniform(3.5, 5.5)),
                          start + timedelta(seconds=t)))
    return sorted(out, key=lambda s: s.origin_time)


def case_name(n_stations: int, span_s: float, n_events: int, seed: int) -> str:
    return f"n{n_stations}_span{span_s:g}_ev{n_events}_seed{seed}"


def make_case(keep: Path, n_stations: int = 200, span_s: float = 600.0, n_events: int = 3, seed: int = 1,
              log=print) -> dict:
    """Build (or reuse) the cached network + archive; returns the case description (``case.json``)."""
    folder = Path(keep) / case_name(n_stations, span_s, n_events, seed)
    meta_path = folder / "case.json"
    if meta_path.is_file():
        return json.loads(meta_path.read_text(encoding="utf-8"))
    import time

    from tianshan.io.atomic import atomic_write_text
    from tianshan.regions.loader import load_region
    from tianshan.sim.sequence import write_sequence

    if folder.exists():
        shutil.rmtree(folder)  # an unfinished earlier build
    region_dir = folder / "region"
    region_dir.mkdir(parents=True)
    shutil.copy(XJ / VELOCITY_CSV, region_dir / VELOCITY_CSV)
    rows = network_rows(n_stations, seed)
    cols = ["network", "station", "latitude", "longitude", "elevation_m", "simulated"]
    text = ",".join(cols) + "\n" + "".join(",".join(str(r[c]) for c in cols) + "\n" for r in rows)
    atomic_write_text(region_dir / "stations_benchmark.csv", text)
    region = load_region(region_dir)
    rng = np.random.default_rng(seed)
    sources = draw_sources(region.stations, n_events, span_s, rng)

    def progress(done, total):
        if done % 25 == 0 or done == total:
            log(f"simulated station {done}/{total}")

    t = time.perf_counter()
    paths = write_sequence(sources, region.stations, region.velocity_model, T0, span_s, folder, rng=seed,
                           progress=progress)
    meta = {"folder": str(folder), "sds": str(paths["sds_root"]), "stationxml": str(paths["stationxml"]),
            "velocity_csv": str(region_dir / VELOCITY_CSV), "start": T0.isoformat(), "span_s": span_s,
            "stations": len(region.stations), "channels": sum(len(s.channels) for s in region.stations),
            "networks": sorted({s.network for s in region.stations}), "seed": seed,
            "simulation_s": round(time.perf_counter() - t, 1),
            "sources": [{"origin_time": s.origin_time.isoformat(), "latitude_deg": s.latitude_deg,
                         "longitude_deg": s.longitude_deg, "depth_m": s.depth_m, "mw": s.mw} for s in sources]}
    atomic_write_text(meta_path, json.dumps(meta, indent=1) + "\n")
    return meta


if __name__ == "__main__":  # build a case only: realtime_network.py KEEP [N] [SPAN]
    args = sys.argv[1:]
    print(json.dumps(make_case(Path(args[0]), int(args[1]) if len(args) > 1 else 200,
                               float(args[2]) if len(args) > 2 else 600.0), indent=1))

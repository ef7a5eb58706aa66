"""The work of one real-time intensity-map version, in the daemon or its worker process.

Used by :class:`tianshan.stages.shakemap.ShakeMapStage` (its module docstring has the rules):

* :func:`station_windows` -- which stations and which seconds of their records a map reads;
* :func:`measure` -- GB/T 17742-2020 and engineering peaks of the windows
  (:func:`tianshan.groundmotion.intensity.records.stream_motions`), :func:`motion_record` -- a
  station's measurement as a ShakeMap-style station record, :func:`motion_doc` -- as JSON;
* :func:`build_version` -- one version: the map (:func:`tianshan.products.shakemap.build.build_map`),
  ``station_motions.json``, the loss estimate (:func:`tianshan.products.loss.scenario.assess` on
  the map's MMI field) and the loss report (:func:`tianshan.products.reports.loss.write_loss_report`
  when installed); plain data out (it crosses process boundaries);
* :func:`new_pool` / :func:`remote` -- the spawn-started, niced worker process.

Station window: from the first P arrival - :data:`PRE_S` to the first S arrival +
``max(MIN_CODA_S, CODA_FACTOR * T)``, ``T = k/f_a + 0.05 R`` the ground-motion duration of the
Boore (2003) stochastic model with the Atkinson & Silva (2000) path term
(:func:`tianshan.sim.stochastic.duration_s`, R the hypocentral distance): three durations hold
the S-wave peak and the start of the coda (a M 6.5 at 50 km: T = 8.1 s, window to S + 30 s; at
300 km: T = 20.5 s, S + 62 s); arrivals are the first P and S of the region's 1-D model
(:class:`tianshan.traveltime.layered.LayeredTravelTime`).
"""

from __future__ import annotations

import json
import logging
import math
import re
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from tianshan.core.errors import InputError

__all__ = ["MAP_KIND", "LOSS_KIND", "REPORT_KIND", "PRE_S", "MIN_CODA_S", "CODA_FACTOR", "BuildJob",
           "event_folder_name", "map_grid", "station_windows", "measure", "motion_record", "motion_doc",
           "region_context", "build_version", "new_pool", "remote"]

log = logging.getLogger("tianshan.stages.shakemap")

MAP_KIND = "intensity_map"
LOSS_KIND = "loss_estimate"
REPORT_KIND = "loss_report"
#: Seconds of signal before the P arrival in a station's window.
PRE_S = 20.0
#: Shortest coda after the S arrival (s), and the multiple of the ground-motion duration kept.
MIN_CODA_S = 30.0
CODA_FACTOR = 3.0


def event_folder_name(event_id: str) -> str:
    """Folder name of an event: the last ``/`` segment of its id, unsafe characters replaced."""
    tail = re.sub(r"[^A-Za-z0-9._-]", "_", event_id.rstrip("/").rsplit("/", 1)[-1]).strip("._")
    if not tail:
        import hashlib

        tail = hashlib.sha1(event_id.encode()).hexdigest()[:16]
    return tail


def map_grid(latitude_deg: float, longitude_deg: float, half_width_deg: float, step_deg: float):
    """A :class:`~tianshan.groundmotion.conditioning.grid.GridSpec` of ``half_width_deg`` around the epicentre."""
    from tianshan.groundmotion.conditioning.grid import GridSpec

    n = max(2, int(round(2.0 * half_width_deg / step_deg)))
    north = min(89.0, latitude_deg + n * step_deg / 2.0)
    return GridSpec(west_deg=longitude_deg - n * step_deg / 2.0, north_deg=north, dlon_deg=step_deg,
                    dlat_deg=step_deg, nx=n, ny=n)


def station_windows(origin, magnitude: float, stations, spec, travel_times) -> dict[str, tuple]:
    """``station id -> (stream ids, t0, t1, distance_km)`` of the stations inside ``spec`` (module docstring).

    ``travel_times``: a :class:`tianshan.traveltime.layered.LayeredTravelTime` of the region's model.
    """
    import numpy as np

    from tianshan.regions.model import haversine_m
    from tianshan.sim.stochastic import duration_s

    west, north = spec.west_deg, spec.north_deg
    east, south = west + spec.nx * spec.dlon_deg, north - spec.ny * spec.dlat_deg
    inside = [s for s in stations if south <= s.latitude_deg <= north and west <= s.longitude_deg <= east]
    if not inside:
        return {}
    epi = np.array([haversine_m(origin.latitude_deg, origin.longitude_deg, s.latitude_deg, s.longitude_deg)
                    for s in inside])
    depth = max(0.0, float(origin.depth_m))
    tp = travel_times.first_arrivals("P", depth, epi).time_s
    ts = travel_times.first_arrivals("S", depth, epi).time_s
    out: dict[str, tuple] = {}
    for s, d, a, b in zip(inside, epi, tp, ts):
        if not (math.isfinite(a) and math.isfinite(b)):
            continue
        hypo = math.hypot(float(d), depth)
        coda = max(MIN_CODA_S, CODA_FACTOR * duration_s(min(max(magnitude, 1.0), 9.5), max(hypo, 1.0)))
        t0 = origin.time + timedelta(seconds=float(a) - PRE_S)
        t1 = origin.time + timedelta(seconds=float(b) + coda)
        ids = [str(ch.stream_id) for ch in s.channels
               if (ch.start is None or ch.start <= t1) and (ch.end is None or ch.end >= t0)]
        if ids and s.station_id not in out:
            out[s.station_id] = (list(dict.fromkeys(ids)), t0, t1, float(d) / 1000.0)
    return out


def motion_record(motion, station):
    """A :class:`tianshan.io.shakemap_xml.StationRecord` of one measured station (module docstring)."""
    from tianshan.io.shakemap_xml import Amplitude, Component, StationRecord

    if motion.usable:
        values = [("pga", motion.pga_max_h_m_s2, "m/s**2"), ("pgv", motion.pgv_max_h_m_s, "m/s")]
        values += [(f"psa{p:.1f}", v, "m/s**2") for p, v in zip(motion.periods_s, motion.psa_max_h_m_s2)
                   if f"{p:.1f}" in ("0.3", "1.0", "3.0")]
        amps = tuple(Amplitude(imt=i, value_si=float(v), raw=repr(float(v)), units=u) for i, v, u in values)
        problems: tuple[str, ...] = ()
    else:
        flag = motion.flags[0] if motion.flags else "unusable"
        amps = tuple(Amplitude(imt=i, value_si=math.nan, raw="", units=u, problem=flag)
                     for i, u in (("pga", "m/s**2"), ("pgv", "m/s")))
        problems = tuple(motion.flags)
    return StationRecord(code=station.code, network=station.network, name=station.name or "",
                         latitude_deg=station.latitude_deg, longitude_deg=station.longitude_deg, kind="seismic",
                         source="waveforms", instrument=".".join(motion.channels[:1]) or "",
                         components=(Component("H", amps),), problems=problems)


def motion_doc(m, window) -> dict:
    def num(x):
        return None if x is None or not math.isfinite(x) else round(float(x), 6)

    return {"station_id": f"{m.network}.{m.station}", "location": m.location, "channels": list(m.channels),
            "usable": m.usable, "flags": list(m.flags), "notes": list(m.notes),
            "window": [window[0].isoformat(), window[1].isoformat()],
            "gbt17742": {"pga_vector_m_s2": num(m.pga_vector_m_s2), "pgv_vector_m_s": num(m.pgv_vector_m_s),
                         "intensity_a": num(m.intensity_a), "intensity_v": num(m.intensity_v),
                         "intensity": num(m.intensity)},
            "pga_max_h_m_s2": num(m.pga_max_h_m_s2), "pgv_max_h_m_s": num(m.pgv_max_h_m_s),
            "psa_max_h_m_s2": {f"{p:g}": num(v) for p, v in zip(m.periods_s, m.psa_max_h_m_s2)}}


@dataclass(frozen=True)
class BuildJob:
    """Everything one version needs (picklable: it crosses to the worker process)."""

    event: Any                 # MapEvent
    records: tuple
    motions: tuple             # (motion document, ...) for station_motions.json
    map_dir: str
    report_dir: str
    version: int
    final: bool
    settings: Any              # MapSettings with the grid
    region: str | None         # region spec for the loss chain (None: no loss)
    report_formats: tuple[str, ...]
    event_label: str


def measure(stream, inventory) -> list:
    """:func:`tianshan.groundmotion.intensity.records.stream_motions` of every station of ``stream`` (counts)."""
    from tianshan.groundmotion.intensity.records import stream_motions

    return stream_motions(stream, inventory) if len(stream) else []


_CONTEXTS: dict = {}


def region_context(spec: str):
    """The loss chain's :class:`~tianshan.products.loss.scenario.RegionContext` of ``spec`` (cached; None when
    the region has no exposure: the reason is logged once)."""
    if spec not in _CONTEXTS:
        from tianshan.products.loss.scenario import load_context

        try:
            _CONTEXTS[spec] = load_context(spec)
        except InputError as err:
            log.warning("shakemap stage: region %s has no usable exposure (%s): no loss estimates", spec, err)
            _CONTEXTS[spec] = None
    return _CONTEXTS[spec]


def _file_product(kind: str, path: Path, role: str, content_type: str) -> dict:
    import hashlib

    data = path.read_bytes()
    return {"kind": kind, "uri": str(path.resolve()), "content_type": content_type,
            "sha256": hashlib.sha256(data).hexdigest(),
            "properties": {"name": path.name, "role": role, "bytes": len(data)}}


_REPORT_TYPES = {".html": "text/html; charset=utf-8", ".pdf": "application/pdf", ".json": "application/json",
                 ".md": "text/markdown; charset=utf-8", ".txt": "text/plain; charset=utf-8", ".png": "image/png"}


def build_version(job: BuildJob, inventory=None) -> dict:
    """One version: map files, station motions, loss estimate and report (module docstring). Plain data out."""
    from tianshan.io.atomic import atomic_write_text
    from tianshan.products.shakemap.build import _jsonable, build_map

    timings: dict[str, float] = {}
    t = time.perf_counter()
    ctx = region_context(job.region) if job.region is not None else None
    timings["region"] = time.perf_counter() - t
    t = time.perf_counter()
    b = build_map(job.event, job.records, job.map_dir, settings=job.settings, version=job.version, region=ctx)
    path = atomic_write_text(Path(job.map_dir) / "station_motions.json",
                             json.dumps({"event_id": job.event.event_id, "version": job.version,
                                         "stations": list(job.motions)}, ensure_ascii=False, indent=1) + "\n")
    timings["map"] = time.perf_counter() - t
    products = [{"kind": p.kind, "uri": p.uri, "content_type": p.content_type, "sha256": p.sha256,
                 "properties": dict(p.properties)} for p in b.products]
    products.append(_file_product(MAP_KIND, path, "stations", "application/json"))
    s = b.summary
    cn, mmi = s.get("max_intensity_cn") or {}, s.get("max_mmi") or {}
    summary = {"max_intensity_cn": cn.get("roman"), "max_intensity_cn_value": cn.get("value"),
               "max_mmi": mmi.get("value"), "text_zh": s.get("text_zh"), "text_en": s.get("text_en")}
    out: dict[str, Any] = {"map_dir": str(Path(job.map_dir).resolve()), "files": {k: str(v) for k, v in b.files.items()},
                           "products": products, "summary": _jsonable(summary), "timings": timings,
                           "map_timings": {k: round(v, 3) for k, v in b.timings.items()}}
    if ctx is None:
        return out
    t = time.perf_counter()
    try:
        result, _ = _loss(job, b, ctx)
        grids = b.grids  # the report draws the map's own field (GB/T 17742 and MMI layers)
    except InputError as err:  # epicentre outside the exposure: expected, not an error of the stage
        log.warning("shakemap stage: event %s: no loss estimate: %s", job.event.event_id, err)
        return out
    except Exception:  # noqa: BLE001 - the map stands without its loss estimate
        log.exception("shakemap stage: event %s: loss chain failed", job.event.event_id)
        out["loss_error"] = True
        return out
    report_dir = Path(job.report_dir)
    report_dir.mkdir(parents=True, exist_ok=True)
    doc = result.as_json()
    doc["map"] = {"event_id": job.event.event_id, "version": job.version, "final": job.final, "folder": out["map_dir"]}
    loss_path = atomic_write_text(report_dir / "loss.json",
                                  json.dumps(_jsonable(doc), ensure_ascii=False, indent=1, default=_json_default) + "\n")
    products.append(_file_product(LOSS_KIND, loss_path, "loss", "application/json"))
    out["loss"] = {"pager_alert": result.pager_alert, "response_level": result.response_level,
                   "fatalities_median": _jsonable(float(result.fatalities.median)),
                   "economic_loss_usd_median": _jsonable(float(result.economic.median)),
                   "max_mmi_at_people": _jsonable(round(float(result.exposure.max_mmi), 2))}
    out["report_dir"] = str(report_dir.resolve())
    timings["loss"] = time.perf_counter() - t
    t = time.perf_counter()
    try:
        from tianshan.products.reports.loss import write_loss_report
    except ImportError as err:
        log.warning("shakemap stage: no loss report (tianshan.products.reports.loss unavailable: %s)", err)
        out["report_skipped"] = True
        return out
    import inspect

    extra = {"event": job.event, "faults": getattr(ctx, "faults", ())}  # where the report module takes them
    accepted = inspect.signature(write_loss_report).parameters
    try:
        files = write_loss_report(result, report_dir, shaking=grids, event_label=job.event_label,
                                  version=job.version, formats=job.report_formats,
                                  **{k: v for k, v in extra.items() if k in accepted})
    except Exception:  # noqa: BLE001 - the loss estimate stands without its report
        log.exception("shakemap stage: event %s: loss report failed", job.event.event_id)
        out["report_error"] = True
        return out
    out["report_files"] = {k: str(v) for k, v in files.items()}
    for p in files.values():
        p = Path(p)
        products.append(_file_product(REPORT_KIND, p, "report", _REPORT_TYPES.get(p.suffix.lower(),
                                                                                 "application/octet-stream")))
    timings["report"] = time.perf_counter() - t
    return out


def _loss(job: BuildJob, b, ctx):
    """``(ScenarioResult, ShakingGrid)``: :func:`tianshan.products.loss.scenario.assess` on the map's MMI."""
    from tianshan.products.loss.scenario import assess
    from tianshan.products.loss.shaking import ShakingGrid

    spec = b.grids.spec
    mmi = b.grids.layers["mmi"]
    shaking = ShakingGrid(spec.latitudes(), spec.longitudes(), mmi.mean, mmi.sd,
                          source=f"intensity map v{job.version} ({job.settings.gmm}, "
                                 f"{sum(1 for r in job.records if not r.problems)} station records)")
    ev = job.event
    result = assess(shaking, ctx.exposure, latitude_deg=ev.latitude_deg, longitude_deg=ev.longitude_deg,
                    magnitude=ev.magnitude, historical=ctx.historical)
    return result, shaking


def _json_default(x):
    if hasattr(x, "tolist"):
        return x.tolist()
    if isinstance(x, (datetime,)):
        return x.isoformat()
    return str(x)


#: State of a worker process: the inventory.
_WORKER: dict = {}


def new_pool(processes: int, network, nice: int):
    """The worker process pool (:func:`~tianshan.stages.following.niced_pool`); its workers hold the
    inventory (sent once)."""
    from tianshan.stages.following import niced_pool

    return niced_pool(processes, nice, _set_inventory, network.inventory)


def _set_inventory(inventory) -> None:
    _WORKER["inventory"] = inventory


def _warm_up(region, inventory=None) -> bool:
    """Imports (hazardlib, matplotlib, ObsPy) and the region's exposure, before the first map needs them."""
    import tianshan.groundmotion.intensity.records  # noqa: F401
    import tianshan.products.shakemap.mapplot  # noqa: F401
    from tianshan.groundmotion.prediction.gmpe import GroundMotionModel

    GroundMotionModel("BooreEtAl2014")
    if region is not None:
        region_context(region)
    return True


def remote(name: str, arg):
    fn = {"measure": measure, "build_version": build_version, "_warm_up": _warm_up}[name]
    return fn(arg, _WORKER.get("inventory"))

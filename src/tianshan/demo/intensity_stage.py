"""The demo's intensity-map stage: the map predicted from the origin, then conditioned on the strong-motion records.

Issue 6, item 7: "the demo's scenario gets its intensity map (predicted, then conditioned on the
simulated strong-motion records) on its page".

What runs (:class:`IntensityStage`)
-----------------------------------
* **The event** is the one the system determined itself: the batch catalog's automatic event
  nearest the true origin time (its preferred origin and magnitude), as a point source -- in
  the first minutes after an earthquake the rupture is not known. Without a catalog stage or
  an automatic event the true source is used, and the page says so.
* **Version 1, predicted**: :func:`tianshan.products.shakemap.build.build_map` with no station
  (the ground-motion model alone, BSSA14 through hazardlib, Vs30 760 m/s), as a rapid intensity
  map is first issued from the origin alone.
* **Version 2, conditioned**: the same with the station records: each station's
  accelerometer (``HN?``) record within ``max_station_km`` of the epicentre, instrument response
  removed with the scenario's StationXML, processed by
  :func:`tianshan.groundmotion.intensity.records.stream_motions` (GB/T 17742-2020 Appendix A
  intensity from the 0.1-10 Hz three-component vector peaks; PGA, PGV and 5 %-damped PSA at
  0.3/1/3 s of the larger horizontal component, the measure of ShakeMap station lists), passed
  to the ShakeMap v4 conditioning (:mod:`tianshan.groundmotion.conditioning`).
* **Grid**: the map's automatic extent (:func:`tianshan.products.shakemap.build.auto_grid`)
  coarsened to at most ``max_cells`` cells (default 20,000: about 2' spacing for this M 6.5,
  which keeps the two maps within seconds); layers MMI, PGA, PGV (the PSA layers are left out
  of the demo for time; their station values are still in the station table).

Outputs: ``<out>/intensity/v1_predicted/`` and ``<out>/intensity/v2_conditioned/`` (every file
of :mod:`tianshan.products.shakemap.build`: GeoTIFFs, NetCDF, contours, stations GeoJSON,
grid.xml, summary.json, map.png/svg), ``<out>/intensity/records.csv`` (the station records
given to the conditioning, the CSV format of :func:`tianshan.products.shakemap.inputs.read_station_csv`)
and ``<out>/intensity/summary.json`` (both maps' maximum intensity and area per degree, the
station table observed vs predicted vs conditioned). Both versions are recorded as products of the
demo's event in its store (:func:`record_maps`: kind ``intensity_map``, versions 1 and 2, as the
real-time daemon records its versions), so that ``tianshan demo --serve`` shows the overlay.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from tianshan.demo.pipeline import DemoConfig, StageRecord

log = logging.getLogger(__name__)

FOLDER = "intensity"
#: Layers of the demo's maps (the Chinese intensity is derived from PGA and PGV).
DEMO_LAYERS = ("mmi", "pga", "pgv")


@dataclass(frozen=True)
class IntensityResult:
    """Both map builds, the station motions, which event the maps are for, the summary document."""

    predicted: Any            # MapBuild, version 1 (no station)
    conditioned: Any          # MapBuild, version 2 (station records)
    motions: tuple            # StationMotion per accelerometer record
    event_source: str         # "automatic catalog event ..." or "true source"
    folder: Path
    summary: dict


def map_event(done: Mapping[str, StageRecord], source):
    """(MapEvent, description): the automatic catalog event nearest the true origin time, else the true source."""
    from tianshan.products.shakemap.build import MapEvent

    events = done["catalog"].result.events if "catalog" in done else ()
    located = [e for e in events if e.preferred_origin is not None and e.preferred_magnitude is not None]
    if located:
        ev = min(located, key=lambda e: abs((e.preferred_origin.time - source.origin_time).total_seconds()))
        m = ev.preferred_magnitude
        return (MapEvent.from_event(ev),
                f"automatic catalog event {ev.id} ({m.type} {m.value:.2f}, point source) 自动编目事件")
    return (MapEvent("scenario", source.latitude_deg, source.longitude_deg, source.depth_m, source.mw,
                     source.origin_time, description="true source"),
            "true source (no automatic event) 真实震源（无自动事件）")


def station_records(motions, stations) -> list:
    """ShakeMap-style station records (larger horizontal PGA, PGV, PSA) of the usable motions."""
    from tianshan.io.shakemap_xml import Amplitude, Component, StationRecord

    coords = {st.station_id: st for st in stations}
    out = []
    for m in motions:
        if not m.usable:
            continue
        st = coords.get(f"{m.network}.{m.station}")
        if st is None:
            continue
        values = [("pga", m.pga_max_h_m_s2, "m/s**2"), ("pgv", m.pgv_max_h_m_s, "m/s")]
        values += [(f"psa{p:.1f}", v, "m/s**2") for p, v in zip(m.periods_s, m.psa_max_h_m_s2)]
        amps = tuple(Amplitude(imt, float(v), format(float(v), ".6g"), units) for imt, v, units in values
                     if math.isfinite(v))
        out.append(StationRecord(code=m.station, network=m.network, name=st.name, latitude_deg=st.latitude_deg,
                                 longitude_deg=st.longitude_deg, kind="seismic", source="demo scenario records",
                                 instrument=",".join(m.channels), components=(Component("H", amps),)))
    return out


def records_csv(records) -> str:
    """The records in the station CSV format of :mod:`tianshan.products.shakemap.inputs` (SI columns)."""
    cols = ("pga", "pgv", "psa0.3", "psa1.0", "psa3.0")
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["network", "station", "name", "lat", "lon", "pga_m_s2", "pgv_m_s", "psa0.3_m_s2", "psa1.0_m_s2",
                "psa3.0_m_s2"])
    for r in records:
        comp = r.components[0]
        vals = []
        for imt in cols:
            a = comp.get(imt)
            vals.append("" if a is None else format(a.value_si, ".6g"))
        w.writerow([r.network, r.code, r.name, f"{r.latitude_deg:.5f}", f"{r.longitude_deg:.5f}", *vals])
    return buf.getvalue()


@dataclass(frozen=True)
class IntensityStage:
    """Predicted and conditioned intensity maps of the scenario (module docstring)."""

    max_station_km: float = 400.0
    max_cells: int = 20_000
    name: str = "intensity"
    title: str = "烈度速报 Intensity map (predicted, then conditioned on strong-motion records)"

    def run(self, config: DemoConfig, done: Mapping[str, StageRecord]):
        from obspy import Stream, read_inventory

        from tianshan.groundmotion.intensity.records import stream_motions
        from tianshan.io.atomic import atomic_write_text
        from tianshan.products.loss.scenario import load_context
        from tianshan.products.shakemap.build import MapSettings, build_map

        result, paths = done["simulate"].result
        src = result.source
        near = {(t.network, t.station) for t in result.truth
                if t.has_signal and t.epicentral_distance_m <= self.max_station_km * 1000.0}
        acc = Stream([tr for tr in result.stream if (tr.stats.network, tr.stats.station) in near
                      and tr.stats.channel[1:2] == "N"]).copy()
        motions = tuple(stream_motions(acc, read_inventory(str(paths.stationxml))))
        records = station_records(motions, result.stations)
        event, described = map_event(done, src)
        ctx = load_context("demo")
        folder = config.out_dir / FOLDER
        folder.mkdir(parents=True, exist_ok=True)
        atomic_write_text(folder / "records.csv", records_csv(records))
        settings = MapSettings(max_cells=self.max_cells, layers=DEMO_LAYERS)
        predicted = build_map(event, (), folder / "v1_predicted", settings=settings, version=1, region=ctx)
        conditioned = build_map(event, records, folder / "v2_conditioned", settings=settings, version=2, region=ctx)
        summary = intensity_summary(predicted, conditioned, motions, result, described)
        atomic_write_text(folder / "summary.json", json.dumps(summary, ensure_ascii=False, indent=1) + "\n")
        stored = record_maps(config, done, predicted, conditioned, records, folder / "records.csv")
        res = IntensityResult(predicted, conditioned, motions, described, folder, summary)
        return res, {"event": described, "records": len(records), "products_stored": stored,
                     "max_intensity_predicted": summary["predicted"]["max_intensity_cn"]["value"],
                     "max_intensity_conditioned": summary["conditioned"]["max_intensity_cn"]["value"],
                     "grid_cells": summary["grid"]["nx"] * summary["grid"]["ny"], "folder": str(folder)}


def record_maps(config: DemoConfig, done: Mapping[str, StageRecord], predicted, conditioned, records,
                records_csv_path: Path) -> int:
    """Both map versions as products of the demo's event in its store (:mod:`tianshan.demo.recording`:
    kind ``intensity_map``, v1 predicted, v2 conditioned with ``records.csv``); returns the rows saved."""
    from tianshan.demo.recording import map_products, product_event_id, save_products

    eid = product_event_id(done)
    if eid is None:
        log.warning("demo intensity stage: no stored event: the maps are not recorded in the store")
        return 0
    ev = predicted.event
    station_ids = sorted(f"{r.network}.{r.code}" for r in records)
    common = {"magnitude": ev.magnitude, "latitude_deg": ev.latitude_deg, "longitude_deg": ev.longitude_deg,
              "depth_m": ev.depth_m, "source": "demo"}
    v1 = {"version": predicted.version, "final": False, "records_used": 0, "station_ids": [],
          "reasons": ["first version: predicted from the origin"], **common}
    v2 = {"version": conditioned.version, "final": True, "records_used": len(station_ids), "station_ids": station_ids,
          "reasons": [f"conditioned on {len(station_ids)} station records"], **common}
    rows = map_products(predicted, eid, v1) + map_products(conditioned, eid, v2, [(records_csv_path, "stations")])
    return save_products(config, rows)


def _degree_rows(doc: dict) -> list[dict]:
    return [{"degree": r["degree"], "roman": r["roman"], "area_km2": r["area_km2"],
             "area_km2_at_least": r["area_km2_at_least"], "population": r["population"]} for r in doc["degrees"]]


def intensity_summary(predicted, conditioned, motions, result, described: str) -> dict:
    """Both maps' headline figures and the station table (observed vs predicted vs conditioned)."""
    truth = {t.station_id: t for t in result.truth}
    feats = {f["properties"]["station_id"]: f["properties"]
             for f in json.loads(Path(conditioned.files["stations.geojson"]).read_text(encoding="utf-8"))["features"]}
    rows = []
    for m in motions:
        sid = f"{m.network}.{m.station}"
        p = feats.get(sid, {})
        t = truth.get(sid)
        cond = p.get("conditioned", {})
        cond_cn = None
        if "pga_m_s2" in cond and "pgv_m_s" in cond:
            from tianshan.groundmotion.intensity.gbt17742 import instrumental_intensity

            cond_cn = round(float(instrumental_intensity(cond["pga_m_s2"], cond["pgv_m_s"])), 1)
        rows.append({
            "station": sid, "channels": list(m.channels), "flags": list(m.flags),
            "distance_km": None if t is None else round(t.epicentral_distance_m / 1000.0, 1),
            "pga_m_s2": _g(m.pga_max_h_m_s2), "pgv_m_s": _g(m.pgv_max_h_m_s),
            "intensity_record": None if math.isnan(m.intensity) else m.intensity,
            "intensity_observed_h": p.get("intensity_cn"),
            "intensity_predicted": p.get("intensity_cn_predicted"), "intensity_conditioned": cond_cn,
            "pga_predicted_m_s2": p.get("predicted", {}).get("pga_m_s2"),
            "pga_true_rotd50_m_s2": None if t is None else _g(t.pga_m_s2),
            "used": p.get("used", []), "map_flags": p.get("flags", [])})
    rows.sort(key=lambda r: (r["distance_km"] is None, r["distance_km"] or 0.0))
    pred, cond = predicted.summary, conditioned.summary
    return {"event": described, "scale": "GB/T 17742-2020",
            "event_used": {"latitude_deg": predicted.event.latitude_deg, "longitude_deg": predicted.event.longitude_deg,
                           "depth_km": predicted.event.depth_m / 1000.0, "magnitude": predicted.event.magnitude},
            "predicted": {"version": 1, "max_intensity_cn": pred["max_intensity_cn"], "max_mmi": pred["max_mmi"],
                          "degrees": _degree_rows(pred), "text_zh": pred["text_zh"], "text_en": pred["text_en"]},
            "conditioned": {"version": 2, "max_intensity_cn": cond["max_intensity_cn"], "max_mmi": cond["max_mmi"],
                            "degrees": _degree_rows(cond), "stations": cond["stations"], "text_zh": cond["text_zh"],
                            "text_en": cond["text_en"]},
            "grid": pred["grid"], "model": cond.get("model"), "notes": sorted(set(pred["notes"]) | set(cond["notes"])),
            "timings_s": {"predicted": round(predicted.timings.get("total", 0.0), 2),
                          "conditioned": round(conditioned.timings.get("total", 0.0), 2)},
            "stations": rows}


def _g(v: float) -> float | None:
    return None if v is None or not math.isfinite(v) else float(f"{v:.4g}")


def _fmt(v, spec: str) -> str:
    return "–" if v is None else format(v, spec)


def intensity_sections(res: IntensityResult | None, out_dir: Path) -> list:
    """The page section "烈度速报 / Intensity map": two maps side by side, degrees, station table."""
    from tianshan.demo.report import Section, Table

    if res is None:
        return []
    s = res.summary
    p, c = s["predicted"], s["conditioned"]
    rel = Path(FOLDER)
    title = "烈度速报 / Intensity map"
    ev = s["event_used"]
    setup = (f"第 1 版仅由震源参数和地震动模型（BSSA14，Vs30 760 m/s）预测；第 2 版再用台站强震记录（去仪器响应后按 GB/T 17742-2020 "
             f"附录 A 计算）以 ShakeMap v4 方法校正。 Version 1 is predicted from the origin alone (BSSA14 ground-motion "
             f"model through hazardlib, Vs30 760 m/s); version 2 is conditioned on the stations' accelerometer records "
             f"(response removed; larger-horizontal PGA/PGV/PSA) by the ShakeMap v4 method. Event: {s['event']}, "
             f"{ev['latitude_deg']:.3f}°N {ev['longitude_deg']:.3f}°E, depth {ev['depth_km']:.1f} km, M "
             f"{ev['magnitude']:.2f}. Grid {s['grid']['nx']} × {s['grid']['ny']} cells of "
             f"{s['grid']['dlon_deg'] * 60:.1f}′.")
    pm, cm = p["max_intensity_cn"], c["max_intensity_cn"]
    rows = [("最高烈度 Max intensity (GB/T 17742)", f"predicted {pm['roman']} ({pm['value']:.1f}); conditioned "
                                                   f"{cm['roman']} ({cm['value']:.1f})"),
            ("最高 MMI Max MMI", f"predicted {_fmt((p['max_mmi'] or {}).get('value'), '.1f')}; conditioned "
                                f"{_fmt((c['max_mmi'] or {}).get('value'), '.1f')}"),
            ("台站 Stations", f"{c['stations'].get('used', 0)} used of {c['stations'].get('total', 0)} "
                              f"({c['stations'].get('flagged', 0)} flagged)")]
    by_deg = {r["degree"]: r for r in c["degrees"]}
    degrees = Table(("烈度 Degree", "预测面积 Predicted area km²", "预测累计 Predicted ≥ km²",
                     "校正面积 Conditioned area km²", "校正累计 Conditioned ≥ km²"),
                    [(r["roman"], f"{r['area_km2']:,.0f}", f"{r['area_km2_at_least']:,.0f}",
                      _fmt((by_deg.get(r["degree"]) or {}).get("area_km2"), ",.0f"),
                      _fmt((by_deg.get(r["degree"]) or {}).get("area_km2_at_least"), ",.0f"))
                     for r in _merged_degrees(p["degrees"], c["degrees"])],
                    caption="各烈度面积 Area per degree", left=(0,))
    stations = Table(("台站 Station", "震中距 km", "PGA m/s²", "PGV m/s", "记录烈度 Record I",
                      "预测 Predicted I", "校正 Conditioned I", "说明 Flags"),
                     [(r["station"], _fmt(r["distance_km"], ".0f"), _fmt(r["pga_m_s2"], ".3g"),
                       _fmt(r["pgv_m_s"], ".3g"),
                       _fmt(r["intensity_record"], ".1f"), _fmt(r["intensity_predicted"], ".1f"),
                       _fmt(r["intensity_conditioned"], ".1f"), ", ".join(r["flags"] + r["map_flags"]) or "–")
                      for r in s["stations"]],
                     caption="台站观测与预测 Stations: observed vs predicted (record I: GB/T 17742 three-component vector; "
                             "predicted/conditioned I: from larger-horizontal PGA/PGV)", left=(0, 7))
    images = []
    for key, build, cap in (("v1", res.predicted, "第 1 版 预测 Version 1: predicted (origin only)"),
                            ("v2", res.conditioned, "第 2 版 校正 Version 2: conditioned on the records")):
        if "map.png" in build.files:
            images.append((str(Path(build.files["map.png"]).relative_to(out_dir)), cap))
    paragraphs = (setup, c["text_zh"], c["text_en"], *s["notes"])
    links = [(str(rel / "summary.json"), "烈度摘要 intensity summary (JSON)"),
             (str(rel / "records.csv"), "台站记录 station records given to the conditioning (CSV)"),
             (str(rel / "v2_conditioned" / "grid.xml"), "ShakeMap grid.xml (version 2)")]
    return [Section(title, rows=rows, paragraphs=paragraphs, tables=(degrees, stations), images=tuple(images),
                    links=tuple(links))]


def _merged_degrees(pred: list[dict], cond: list[dict]) -> list[dict]:
    """Rows for every degree in either map (the predicted row, or an empty one), highest first."""
    have = {r["degree"]: r for r in pred}
    out = []
    for d in sorted({r["degree"] for r in pred} | {r["degree"] for r in cond}, reverse=True):
        out.append(have.get(d) or {"degree": d, "roman": next(r["roman"] for r in cond if r["degree"] == d),
                                   "area_km2": 0.0, "area_km2_at_least": sum(r["area_km2"] for r in pred
                                                                             if r["degree"] >= d)})
    return out


def intensity_files(res: IntensityResult | None, out_dir: Path) -> list[tuple[str, str]]:
    if res is None:
        return []
    return [(str(Path(FOLDER) / "v1_predicted"), "intensity map version 1, predicted (GeoTIFF, NetCDF, contours, "
                                                 "grid.xml, summary, PNG/SVG) 预测烈度图"),
            (str(Path(FOLDER) / "v2_conditioned"), "intensity map version 2, conditioned on the records 校正烈度图"),
            (str(Path(FOLDER) / "records.csv"), "station records (larger horizontal PGA/PGV/PSA) 台站记录"),
            (str(Path(FOLDER) / "summary.json"), "intensity summary: both maps, station table 烈度摘要")]


__all__ = ["IntensityStage", "IntensityResult", "map_event", "record_maps", "station_records", "records_csv",
           "intensity_summary", "intensity_sections", "intensity_files"]

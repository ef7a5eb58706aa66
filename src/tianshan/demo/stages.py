"""The demo's stages: region -> simulate -> store -> report.

The scenario: an Mw 6.5 earthquake at 12 km depth under the South Tian Shan
front north of Luntai (轮台, Bayingolin), recorded by the built-in demo
region's simulated stations. Later capabilities (picking, location, early
warning, intensity, losses...) add their stages between ``store`` and
``report``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Mapping

from tianshan.demo.pipeline import DemoConfig, StageRecord

#: The demo earthquake (a scenario, not a real event): 41.95N 84.30E, ~20 km
#: north of Luntai's county seat, on the thrust front of the South Tian Shan.
DEMO_LATITUDE_DEG = 41.95
DEMO_LONGITUDE_DEG = 84.30
DEMO_DEPTH_M = 12_000.0
DEMO_MW = 6.5
DEMO_ORIGIN_TIME = datetime(2026, 7, 15, 8, 30, 0, tzinfo=timezone.utc)
#: An E-W striking, north-dipping thrust like the South Tian Shan front faults.
DEMO_STRIKE_DEG, DEMO_DIP_DEG, DEMO_RAKE_DEG = 85.0, 40.0, 90.0


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


@dataclass(frozen=True)
class RegionStage:
    name: str = "region"
    title: str = "区域与台网 Region and stations"

    def run(self, config: DemoConfig, done: Mapping[str, StageRecord]):
        from tianshan.regions.demo import demo_region
        from tianshan.regions.writer import write_region

        profile = demo_region()
        folder = write_region(profile, config.out_dir / "region")
        s = profile.summary()
        return profile, {"stations": len(profile.stations), "places": len(profile.places),
                         "population": s.get("total_population"), "folder": str(folder)}


@dataclass(frozen=True)
class SimulateStage:
    name: str = "simulate"
    title: str = "地震情景模拟 Scenario simulation (Boore 2003 stochastic method)"

    def run(self, config: DemoConfig, done: Mapping[str, StageRecord]):
        from tianshan.sim.faults import FaultPlan
        from tianshan.sim.scenario import simulate_scenario
        from tianshan.sim.source import FiniteFault, Source
        from tianshan.sim.writer import write_scenario

        profile = done["region"].result
        source = Source(DEMO_LATITUDE_DEG, DEMO_LONGITUDE_DEG, DEMO_DEPTH_M, DEMO_MW, DEMO_ORIGIN_TIME,
                        finite=FiniteFault(DEMO_STRIKE_DEG, DEMO_DIP_DEG, DEMO_RAKE_DEG))
        result = simulate_scenario(source, profile.stations, profile.velocity_model,
                                   duration_s=config.duration_s, rng=config.seed,
                                   faults=FaultPlan() if config.faults else None)
        paths = write_scenario(result, config.out_dir / "scenario")
        n_signal = sum(1 for t in result.truth if t.has_signal)
        return (result, paths), {"channels": len(result.stream), "stations_with_signal": n_signal,
                                 "sds_files": len(paths.sds_files), "faults": len(result.faults)}


@dataclass(frozen=True)
class StoreStage:
    name: str = "store"
    title: str = "事件入库 Event store"

    def run(self, config: DemoConfig, done: Mapping[str, StageRecord]):
        from tianshan.core.product import Product
        from tianshan.sim.writer import truth_event
        from tianshan.store.repository import EventStore

        result, paths = done["simulate"].result
        event = truth_event(result)
        with EventStore.open(config.database_url, data_dir=config.data_dir) as store:
            n_st = store.save_stations(result.stations)
            store.save_event(event)
            for kind, path, ctype in (("quakeml", paths.quakeml, "application/xml"),
                                      ("stationxml", paths.stationxml, "application/xml"),
                                      ("arrivals", paths.arrivals_csv, "text/csv")):
                store.save_product(Product(kind, str(Path(path).resolve()), ctype, event_id=event.id,
                                           sha256=_sha256(Path(path)),
                                           properties={"source": "scenario simulator"}))
            url = store.url
            counts = store.counts()
        return event, {"event_id": event.id, "stations": n_st, "database": _hide_password(url), **counts}


def _hide_password(url: str) -> str:
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        cred, host = rest.rsplit("@", 1)
        return f"{scheme}://{cred.split(':', 1)[0]}@{host}"
    return url


@dataclass(frozen=True)
class ReportStage:
    name: str = "report"
    title: str = "报告 Report (index.html)"

    def run(self, config: DemoConfig, done: Mapping[str, StageRecord]):
        from tianshan.demo.report import PlaceMark, ReportData, StationRow, write_index_html, write_waveform_png

        profile = done["region"].result
        result, paths = done["simulate"].result
        src = result.source
        names = {st.station_id: st.name for st in profile.stations}
        rows = []
        for t in result.truth:
            def rel(x):
                return None if x is None else (x - src.origin_time).total_seconds()
            rows.append(StationRow(t.station_id, names.get(t.station_id, ""), t.latitude_deg, t.longitude_deg,
                                   t.epicentral_distance_m / 1000.0, rel(t.p_time), rel(t.s_time), t.p_phase,
                                   t.s_phase, t.pga_m_s2 if t.has_signal else None,
                                   t.pgv_m_s if t.has_signal else None))
        places = [PlaceMark(p.name, p.latitude_deg, p.longitude_deg, p.population) for p in profile.places]
        png = self._waveforms(config, result)
        out = config.out_dir
        files = [(str(Path(p).relative_to(out)), d) for p, d in (
            (paths.sds_root, "miniSEED SDS archive 波形归档"),
            (paths.stationxml, "StationXML with full responses 台站响应"),
            (paths.quakeml, "true event as QuakeML 真实事件"),
            (paths.arrivals_csv, "true arrivals and peak motions (CSV) 理论到时与峰值"),
            (out / "region", "region profile folder 区域配置"))]
        stages = [(r.name, r.title, r.seconds) for r in done.values()]
        near = min(result.truth, key=lambda t: t.epicentral_distance_m)
        data = ReportData(
            title_zh=f"情景地震：新疆轮台 Mw {src.mw:.1f}",
            title_en=f"Scenario earthquake: Mw {src.mw:.1f} near Luntai, Bayingolin, Xinjiang",
            origin_time_iso=src.origin_time.isoformat().replace("+00:00", "Z"),
            latitude_deg=src.latitude_deg, longitude_deg=src.longitude_deg, depth_km=src.depth_m / 1000.0,
            mw=src.mw, region_name=f"{profile.name} (built-in demo region)",
            stations=rows, places=places, stages=stages, files=files,
            facts=[("台站 Stations", f"{len(result.stations)} ({len(result.stream)} channels)"),
                   ("最近台站 Nearest station", f"{near.station_id} {near.epicentral_distance_m / 1000:.1f} km, "
                                              f"PGA {near.pga_m_s2:.3g} m/s²"),
                   ("随机种子 Seed", str(config.seed))],
            notes=("本页为模拟情景，不是真实地震；台站为置于真实城镇的模拟台站。 This is a simulated scenario, not a real "
                   "earthquake; the stations are simulated instruments placed at real towns.",))
        index = write_index_html(out / "index.html", data, png.name if png else None)
        return index, {"index_html": str(index)}

    @staticmethod
    def _waveforms(config: DemoConfig, result) -> Path | None:
        from tianshan.demo.report import write_waveform_png

        src = result.source
        truth = sorted((t for t in result.truth if t.has_signal), key=lambda t: t.epicentral_distance_m)[:6]
        panels = []
        for t in truth:
            sel = result.stream.select(network=t.network, station=t.station, channel="HHZ")
            if not sel:
                sel = result.stream.select(network=t.network, station=t.station, component="Z")
            if not sel:
                continue
            tr = sel[0]
            t0 = (tr.stats.starttime.datetime.replace(tzinfo=timezone.utc) - src.origin_time).total_seconds()
            times = t0 + tr.times()
            def rel(x):
                return None if x is None else (x - src.origin_time).total_seconds()
            panels.append((f"{tr.id}\n{t.epicentral_distance_m / 1000:.0f} km", (times, tr.data), t0,
                           rel(t.p_time), rel(t.s_time)))
        if not panels:
            return None
        return write_waveform_png(config.out_dir / "waveforms.png", panels,
                                  "Vertical records (counts) of the nearest stations, P (blue) and S (red) true arrivals")


def default_stages() -> tuple[Any, ...]:
    return (RegionStage(), SimulateStage(), StoreStage(), ReportStage())


__all__ = ["default_stages", "RegionStage", "SimulateStage", "StoreStage", "ReportStage"]

"""The demo's stages: region -> simulate -> store -> catalog -> realtime -> eew -> intensity -> loss -> report.

The scenario: an Mw 6.5 earthquake at 12 km depth under the South Tian Shan
front north of Luntai (轮台, Bayingolin), recorded by the built-in demo
region's simulated stations. ``catalog`` runs the batch cataloging chain on the
simulated archive; ``realtime`` replays the same archive through the SeedLink
server into the real-time daemon (:mod:`tianshan.demo.realtime`, its own store
``realtime.sqlite``). ``eew`` replays the scenario's records through the early-warning
engine (:mod:`tianshan.demo.eew_stage`), ``intensity`` maps the shaking predicted and then
conditioned on the records (:mod:`tianshan.demo.intensity_stage`), ``loss`` runs the loss
chain on that map and writes the loss report (:mod:`tianshan.demo.loss_stage`). Later
capabilities add their stages before ``report``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Mapping

from tianshan.demo.pipeline import DemoConfig, StageRecord
from tianshan.demo.realtime import DEFAULT_IDLE_S, DEFAULT_SPEED

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
class CatalogResult:
    summary: Any
    events: tuple
    reports: tuple


@dataclass(frozen=True)
class CatalogStage:
    """Automatic cataloging of the simulated archive: the same code as ``tianshan catalog build``."""

    name: str = "catalog"
    title: str = "自动编目 Automatic catalog (QC, picks, association, location, magnitude, type, 速报)"

    def run(self, config: DemoConfig, done: Mapping[str, StageRecord]):
        from datetime import timedelta

        from tianshan.events.build import build_catalog
        from tianshan.products.reports.quick import quick_report
        from tianshan.store.repository import EventStore

        profile = done["region"].result
        result, paths = done["simulate"].result
        end = result.start + timedelta(seconds=result.duration_s)
        with EventStore.open(config.database_url, data_dir=config.data_dir) as store:
            summary = build_catalog(paths.sds_root, inventory=paths.stationxml, start=result.start, end=end,
                                    store=store, picker="classic", chunk_s=result.duration_s, scheduler="serial",
                                    velocity_model=profile.velocity_model, state_dir=config.out_dir / "catalog-state")
            events = tuple(store.get_event(eid) for eid in summary.event_ids)
        reports = tuple(quick_report(ev, profile.places) for ev in events)
        return CatalogResult(summary, events, reports), {
            "picks": summary.picks, "events": len(events), "located": summary.located,
            "with_magnitude": summary.with_magnitude, "warnings": dict(summary.warnings)}


def _seconds_after(t, origin_time) -> float | None:
    """``t`` in seconds after ``origin_time`` (``None`` stays ``None``)."""
    return None if t is None else (t - origin_time).total_seconds()


def catalog_sections(catalog: CatalogResult | None, source) -> list:
    """Report sections comparing the automatic catalog with the true source."""
    from tianshan.demo.report import Section
    from tianshan.regions.model import haversine_m

    if catalog is None:
        return []
    if not catalog.events:
        return [Section("自动编目 Automatic catalog", paragraphs=(
            "自动编目未产生事件。 The automatic chain declared no event.",))]
    out = []
    for ev, rep in zip(catalog.events, catalog.reports):
        o, m = ev.preferred_origin, ev.preferred_magnitude
        err_km = haversine_m(o.latitude_deg, o.longitude_deg, source.latitude_deg, source.longitude_deg) / 1000.0
        rows = [("发震时刻 Origin time (UTC)", f"{o.time.isoformat().replace('+00:00', 'Z')} "
                                             f"(true {(o.time - source.origin_time).total_seconds():+.2f} s)"),
                ("震中 Epicentre", f"{o.latitude_deg:.3f}°N, {o.longitude_deg:.3f}°E (error {err_km:.1f} km)"),
                ("深度 Depth", f"{o.depth_m / 1000:.1f} km (true {source.depth_m / 1000:.1f} km)"),
                ("震级 Magnitude", "–" if m is None else f"{m.type} {m.value:.1f} (true Mw {source.mw:.1f})"),
                ("所有震级 All magnitudes", ", ".join(f"{x.type} {x.value:.2f} ({x.station_count or 0} st.)"
                                                     for x in ev.magnitudes) or "–"),
                ("定位 Location", f"{o.method}; RMS {o.rms_s or 0:.2f} s; gap {o.azimuthal_gap_deg or 0:.0f}°; "
                                  f"{o.phase_count} phases, {o.station_count} stations"),
                ("类型 Event type", f"{ev.type.value if ev.type else '–'} ({ev.type_certainty or '–'})"),
                ("震相 Picks", f"{len(ev.picks)} automatic picks"),
                ("版本 Versions", f"{len(ev.origins)} origins, {len(ev.magnitudes)} magnitudes")]
        out.append(Section("自动编目与速报 Automatic catalog and quick report", rows=rows,
                           paragraphs=(rep.text_zh, rep.text_en)))
    return out


@dataclass(frozen=True)
class RealtimeStage:
    """The scenario replayed through the SeedLink server into ``tianshan run`` (:mod:`tianshan.demo.realtime`).

    ``speed``: replay speed (x real time); ``idle_s``: seconds without packets after the end of
    the replay that end the run. The real-time run gets its own store, ``<out>/realtime.sqlite``.

    Channels: the daemon asks the server for the high-gain seismometer channels (SeedLink
    selector ``?H?``: HHZ/HHN/HHE of the demo stations), not the co-located accelerometers
    (``HN?``). Every demo station has both; the picker treats them as separate sensors, so
    streaming both doubles the picking work (at 10x, 140 sensors overran the picker's queue on a
    loaded 2-core machine and windows were dropped) without adding a station to the location.
    """

    speed: float = DEFAULT_SPEED
    idle_s: float = DEFAULT_IDLE_S
    channels: str = "?H?"
    name: str = "realtime"
    title: str = "实时回放 Real-time replay (SeedLink -> tianshan run)"

    def run(self, config: DemoConfig, done: Mapping[str, StageRecord]):
        from tianshan.demo.realtime import realtime_figures, run_realtime

        result, paths = done["simulate"].result
        velocity = Path(done["region"].summary["folder"]) / "velocity.csv" if "region" in done else None
        selectors = tuple(f"{net}_*:{self.channels}" for net in sorted({st.network for st in result.stations}))
        rt = run_realtime(paths.sds_root, config.out_dir, inventory=paths.stationxml, begin=result.start,
                          velocity_model=velocity if velocity is not None and velocity.is_file() else None,
                          speed=self.speed, idle_s=self.idle_s, selectors=selectors)
        return rt, realtime_figures(rt, result.source, _catalog_event(done, result.source))


def _catalog_event(done: Mapping[str, StageRecord], source):
    """The batch catalog's event nearest the true origin time (None without a catalog stage or event)."""
    if "catalog" not in done or not done["catalog"].result.events:
        return None
    located = [e for e in done["catalog"].result.events if e.preferred_origin is not None]
    if not located:
        return None
    return min(located, key=lambda e: abs((e.preferred_origin.time - source.origin_time).total_seconds()))


@dataclass(frozen=True)
class ReportStage:
    name: str = "report"
    title: str = "报告 Report (index.html)"

    def run(self, config: DemoConfig, done: Mapping[str, StageRecord]):
        from tianshan.demo.eew_stage import eew_files, eew_sections
        from tianshan.demo.intensity_stage import intensity_files, intensity_sections
        from tianshan.demo.loss_stage import loss_files, loss_sections
        from tianshan.demo.realtime import realtime_sections
        from tianshan.demo.report import PlaceMark, ReportData, StationRow, write_index_html

        profile = done["region"].result
        result, paths = done["simulate"].result
        src = result.source
        names = {st.station_id: st.name for st in profile.stations}
        rows = []
        for t in result.truth:
            rows.append(StationRow(t.station_id, names.get(t.station_id, ""), t.latitude_deg, t.longitude_deg,
                                   t.epicentral_distance_m / 1000.0, _seconds_after(t.p_time, src.origin_time),
                                   _seconds_after(t.s_time, src.origin_time), t.p_phase,
                                   t.s_phase, t.pga_m_s2 if t.has_signal else None,
                                   t.pgv_m_s if t.has_signal else None))
        places = [PlaceMark(p.name, p.latitude_deg, p.longitude_deg, p.population) for p in profile.places]
        catalog = done["catalog"].result if "catalog" in done else None
        png = self._waveforms(config, result, catalog)
        out = config.out_dir
        files = [(str(Path(p).relative_to(out)), d) for p, d in (
            (paths.sds_root, "miniSEED SDS archive 波形归档"),
            (paths.stationxml, "StationXML with full responses 台站响应"),
            (paths.quakeml, "true event as QuakeML 真实事件"),
            (paths.arrivals_csv, "true arrivals and peak motions (CSV) 理论到时与峰值"),
            (out / "region", "region profile folder 区域配置"))]
        rt = done["realtime"].result if "realtime" in done else None
        if rt is not None:
            files += [(str(Path(p).relative_to(out)), d) for p, d in (
                (rt.store_file, "event store of the real-time run (SQLite) 实时事件库"),
                (rt.config_file, "tianshan run settings of the real-time run 实时运行配置"),
                (rt.folder / "archive", "live archive written by tianshan run 实时归档"),
                (rt.folder / "products", "real-time reports 实时产品"),
                (rt.folder / "run.log", "structured log of the real-time run (JSON lines) 运行日志"))
                if Path(p).exists()]
        eew = done["eew"].result if "eew" in done else None
        inten = done["intensity"].result if "intensity" in done else None
        loss = done["loss"].result if "loss" in done else None
        files += eew_files(eew, out) + intensity_files(inten, out) + loss_files(loss, out)
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
            sections=(catalog_sections(catalog, src) + realtime_sections(rt, src, _catalog_event(done, src))
                      + eew_sections(eew, out) + intensity_sections(inten, out) + loss_sections(loss, out)),
            notes=("本页为模拟情景，不是真实地震；台站为置于真实城镇的模拟台站。 This is a simulated scenario, not a real "
                   "earthquake; the stations are simulated instruments placed at real towns.",))
        index = write_index_html(out / "index.html", data, png.name if png else None)
        return index, {"index_html": str(index)}

    @staticmethod
    def _waveforms(config: DemoConfig, result, catalog: CatalogResult | None = None) -> Path | None:
        from tianshan.demo.report import write_waveform_png

        src = result.source
        truth = sorted((t for t in result.truth if t.has_signal), key=lambda t: t.epicentral_distance_m)[:6]
        auto = [p for ev in (catalog.events if catalog else ()) for p in ev.picks]
        panels, panel_picks = [], []
        for t in truth:
            sel = result.stream.select(network=t.network, station=t.station, channel="HHZ")
            if not sel:
                sel = result.stream.select(network=t.network, station=t.station, component="Z")
            if not sel:
                continue
            tr = sel[0]
            t0 = (tr.stats.starttime.datetime.replace(tzinfo=timezone.utc) - src.origin_time).total_seconds()
            times = t0 + tr.times()
            panels.append((f"{tr.id}\n{t.epicentral_distance_m / 1000:.0f} km", (times, tr.data), t0,
                           _seconds_after(t.p_time, src.origin_time), _seconds_after(t.s_time, src.origin_time)))
            panel_picks.append([(p.phase, _seconds_after(p.time, src.origin_time)) for p in auto
                                if (p.stream_id.network, p.stream_id.station) == (t.network, t.station)])
        if not panels:
            return None
        return write_waveform_png(config.out_dir / "waveforms.png", panels,
                                  "Vertical records (counts) of the nearest stations: true P (blue) and S (red), "
                                  "automatic picks (green, dashed)", panel_picks)


def default_stages(realtime_speed: float | None = DEFAULT_SPEED, loss_region: str = "demo") -> tuple[Any, ...]:
    """The demo's chain; ``realtime_speed`` None leaves out the real-time replay; ``loss_region``: the
    exposure of the loss stage (``"demo"`` or a region folder with census counties)."""
    from tianshan.demo.eew_stage import EEWStage
    from tianshan.demo.intensity_stage import IntensityStage
    from tianshan.demo.loss_stage import LossStage

    tail = () if realtime_speed is None else (RealtimeStage(speed=realtime_speed),)
    return (RegionStage(), SimulateStage(), StoreStage(), CatalogStage(), *tail, EEWStage(), IntensityStage(),
            LossStage(region=loss_region), ReportStage())


__all__ = ["default_stages", "RegionStage", "SimulateStage", "StoreStage", "CatalogStage", "RealtimeStage",
           "ReportStage"]

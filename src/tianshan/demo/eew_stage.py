"""The demo's early-warning stage: the scenario's waveforms replayed through the EEW engine and alert policy.

Issue 5, item 7: "the demo's scenario now produces the EEW alert timeline and per-city warning
times in its output page".

What runs (:class:`EEWStage`)
-----------------------------
* The records the simulate stage wrote (the same ObsPy stream, counts, both the HH seismometers
  and the HN accelerometers), of the stations within ``max_station_km`` of the epicentre, one per
  site (:func:`tianshan.eew.replay.scenario_stations`), cut to ``pre_s`` before the true origin
  and ``post_s`` after it (default: the true P time at the farthest kept station + 30 s, the rule
  of :func:`tianshan.eew.replay.simulate_and_replay`).
* :func:`tianshan.eew.replay.replay_stream` feeds them in ``packet_s`` packets to the
  :class:`~tianshan.eew.event.EEWEngine` and the :class:`~tianshan.eew.policy.AlertPolicy` (status
  "test"), with the demo region's places as targets -- every place, cities *and* the county seats
  the demo region lists as towns (Luntai 轮台, Xinhe 新和, Shayar 沙雅...) -- and its faults.
* Times are **data times** (module docstring of :mod:`tianshan.eew.replay`): "alert after origin"
  is what a network with zero transport latency and instantaneous computation would reach; the
  wall-clock computation per round is measured separately.

Per target (county seat, city): the predicted intensity (GB/T 17742-2020) in the first alert
message (every target, listed or not), the intensity the same model gives with the true source
(the replay's "actual" proxy: the simulator gives ground motion at stations, not at towns), the
true S arrival (1-D model, true hypocentre), the data time the target was first listed in a
message and the warning time ``S arrival - that time`` (negative: blind zone).

Outputs in ``<out>/eew/``: ``summary.json`` (the issue's summary document plus the figures the
page shows), ``replay.json`` (:meth:`~tianshan.eew.replay.ReplayReport.to_dict`),
``alerts.jsonl`` (every alert/update/cancel message, ``alert.schema.json``), ``first_alert.cap.xml``
(the first alert as CAP 1.2), ``timeline.png`` (magnitude and location error over time, warning
times of the nearest targets). Every message's alert is stored in the store's alerts table (the
dashboard's early-warning panel reads ``GET /api/v1/alerts``) and the files are recorded as
products of the demo's event (:func:`record_eew`, kind ``eew_replay``).
"""

from __future__ import annotations

import json
import logging
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from tianshan.demo.pipeline import DemoConfig, StageRecord

log = logging.getLogger(__name__)

FOLDER = "eew"
#: Targets in the page's warning-time table (nearest first).
TABLE_TARGETS = 12


@dataclass(frozen=True)
class EEWResult:
    """What the stage leaves for the page: the replay report, the first alert's predictions, files."""

    report: Any
    first_predictions: dict
    stations_used: int
    window_s: tuple[float, float]
    folder: Path
    files: dict
    summary: dict


def _cut_stream(result, stations, pre_s: float, post_s: float | None):
    """The simulated stream of ``stations``, from ``pre_s`` before the true origin to ``post_s`` after it."""
    from obspy import Stream, UTCDateTime

    from tianshan.eew.locate import haversine_m
    from tianshan.traveltime.layered import LayeredTravelTime

    src = result.source
    if post_s is None:
        far = max(float(haversine_m(src.latitude_deg, src.longitude_deg, s.latitude_deg, s.longitude_deg))
                  for s in stations)
        tp = float(LayeredTravelTime(result.model).first_arrivals("P", src.depth_m, [far]).time_s[0])
        post_s = (tp if math.isfinite(tp) else far / 6000.0) + 30.0
    keep = {(s.network, s.code) for s in stations}
    t0 = UTCDateTime(src.origin_time.timestamp())
    st = Stream([tr for tr in result.stream if (tr.stats.network, tr.stats.station) in keep])
    return st.slice(t0 - pre_s, t0 + post_s), (pre_s, post_s)


@dataclass(frozen=True)
class EEWStage:
    """Replay of the scenario through the EEW engine and policy (module docstring)."""

    max_station_km: float = 400.0
    pre_s: float = 20.0
    post_s: float | None = None
    packet_s: float = 1.0
    name: str = "eew"
    title: str = "地震预警 Earthquake early warning (replay of the scenario records)"

    def run(self, config: DemoConfig, done: Mapping[str, StageRecord]):
        from tianshan.eew.policy import PolicyConfig
        from tianshan.eew.replay import Truth, replay_stream, scenario_stations
        from tianshan.eew.targets import targets_from_places

        profile = done["region"].result
        result, _paths = done["simulate"].result
        src = result.source
        stations = scenario_stations(result.stations, src.latitude_deg, src.longitude_deg,
                                     self.max_station_km * 1000.0)
        stream, window = _cut_stream(result, stations, self.pre_s, self.post_s)
        targets = targets_from_places(profile.places, kinds=None)
        truth = Truth(src.origin_time, src.latitude_deg, src.longitude_deg, src.mw, src.depth_m)
        p_times = {t.station_id: t.p_time for t in result.truth if t.has_signal and t.p_time is not None}
        decisions: list = []
        report = replay_stream(stream, stations, result.model, truth=truth, targets=targets, faults=profile.faults,
                               policy_config=PolicyConfig(test=True), packet_s=self.packet_s, p_times=p_times,
                               on_decision=decisions.append)
        first = next((d for d in decisions if d.action == "alert"), None)
        first_pred = {} if first is None else {p.target.name: p for p in first.predictions}
        folder = config.out_dir / FOLDER
        files = _write_outputs(folder, report, decisions)
        summary = {"max_station_km": self.max_station_km,
                   **eew_summary(report, first_pred, targets, len(stations), window)}
        from tianshan.io.atomic import atomic_write_text

        files["summary.json"] = atomic_write_text(folder / "summary.json",
                                                  json.dumps(summary, ensure_ascii=False, indent=1) + "\n")
        png = _timeline_png(folder / "timeline.png", report, summary)
        if png is not None:
            files["timeline.png"] = png
        n_products, n_alerts = record_eew(config, done, files, decisions)
        res = EEWResult(report, first_pred, len(stations), window, folder, files, summary)
        return res, {"first_alert_s": summary["first_alert_s"], "messages": len(report.alerts),
                     "alerts_stored": n_alerts, "products_stored": n_products,
                     "magnitude_first": summary["magnitude_first"], "magnitude_final": summary["magnitude_final"],
                     "epicentral_error_km_final": summary["epicentral_error_km_final"],
                     "blind_zone_radius_km": summary["blind_zone_radius_km"],
                     "nearest_targets": summary["nearest_targets"][:5], "target_outcomes": summary["target_outcomes"],
                     "stations": len(stations), "folder": str(folder)}


def record_eew(config: DemoConfig, done: Mapping[str, StageRecord], files: dict, decisions) -> tuple[int, int]:
    """The stage's files as products of the demo's event (kind ``eew_replay``) and every alert/update/cancel
    message in the store's alerts table (:mod:`tianshan.demo.recording`); ``(products, new alerts)``."""
    from tianshan.demo.recording import EEW_KIND, file_product, product_event_id, save_alerts, save_products

    msgs = [d.message for d in decisions if d.message is not None]
    n_alerts = save_alerts(config, msgs)
    eid = product_event_id(done)
    if eid is None:
        log.warning("demo EEW stage: no stored event: the EEW files are not recorded as products")
        return 0, n_alerts
    props = {"eew_event_ids": sorted({m.alert.event_id for m in msgs}), "messages": len(msgs), "source": "demo"}
    rows = [file_product(EEW_KIND, Path(p), "eew", eid, 1, props) for _, p in sorted(files.items())]
    return save_products(config, rows), n_alerts


def _write_outputs(folder: Path, report, decisions) -> dict:
    from tianshan.io.atomic import atomic_write_bytes, atomic_write_text
    from tianshan.products.alerts.cap import to_cap_xml

    folder.mkdir(parents=True, exist_ok=True)
    files = {"replay.json": atomic_write_text(folder / "replay.json",
                                              json.dumps(report.to_dict(), ensure_ascii=False, indent=1) + "\n")}
    msgs = [d.message for d in decisions if d.message is not None]
    files["alerts.jsonl"] = atomic_write_text(folder / "alerts.jsonl",
                                              "".join(m.to_json().decode() + "\n" for m in msgs))
    first = next((m for m in msgs if m.msg_type.value == "alert"), None)
    if first is not None:
        files["first_alert.cap.xml"] = atomic_write_bytes(folder / "first_alert.cap.xml", to_cap_xml(first))
    return files


def _r(v, nd: int = 2):
    return None if v is None or not math.isfinite(float(v)) else round(float(v), nd)


def eew_summary(report, first_pred: Mapping[str, Any], targets, n_stations: int, window) -> dict:
    """The JSON summary of the stage: the issue's document plus magnitudes, timeline and targets."""
    msgs = [a for a in report.alerts if a.msg_type != "cancel"]
    first = next((a for a in report.alerts if a.msg_type == "alert"), None)
    names_zh = {t.name: t.name_zh for t in targets}
    kinds = {t.name: t.kind for t in targets}
    rows = []
    for o in sorted(report.targets, key=lambda o: o.distance_km):
        p = first_pred.get(o.name)
        rows.append({"name": o.name, "name_zh": names_zh.get(o.name, ""), "kind": kinds.get(o.name, ""),
                     "distance_km": _r(o.distance_km, 1),
                     "predicted_intensity_first_alert": None if p is None else _r(p.intensity, 1),
                     "predicted_intensity_when_listed": _r(o.predicted_intensity, 1),
                     "intensity_true_source": _r(o.actual_intensity, 1),
                     "s_after_origin_s": _r(o.s_after_origin_s, 1), "listed": o.alerted,
                     "listed_after_origin_s": _r(o.alert_after_origin_s, 1),
                     "warning_time_s": _r(o.warning_time_s, 1),
                     "predicted_warning_time_s": _r(o.predicted_warning_time_s, 1), "outcome": o.outcome})
    doc = report.summary()
    doc.update({
        "stations": n_stations, "window_s": {"before_origin": window[0], "after_origin": _r(window[1], 1)},
        "messages": len(report.alerts),
        "magnitude_first": None if first is None else _r(first.magnitude),
        "magnitude_final": None if not msgs else _r(msgs[-1].magnitude),
        "magnitude_true": report.truth.magnitude if report.truth else None,
        "magnitude_error_10s": _r(report.magnitude_error_10s),
        "epicentral_error_km_first": _r(report.epicentral_error_km_first),
        "blind_zone_radius_km": _r(report.blind_zone_radius_km, 1),
        "alert_minus_p4_s": _r(report.alert_minus_p4_s),
        "target_outcomes": dict(report.target_outcomes),
        "missed_events": report.missed_events, "false_alert_events": report.false_alert_events,
        "compute_s": {k: _r(v, 4) for k, v in report.compute.items() if k != "rounds"},
        "timeline": [{"type": a.msg_type, "sequence": a.sequence, "t_after_origin_s": _r(a.t_after_origin_s),
                      "magnitude": _r(a.magnitude), "latitude_deg": _r(a.latitude_deg, 4),
                      "longitude_deg": _r(a.longitude_deg, 4), "depth_km": _r(a.depth_m / 1000.0, 1),
                      "epicentral_error_km": _r(a.epicentral_error_km, 1), "n_stations": a.n_stations,
                      "n_targets": a.n_targets, "max_intensity": _r(a.max_intensity, 1)} for a in report.alerts],
        "nearest_targets": [{k: r[k] for k in ("name", "name_zh", "distance_km", "predicted_intensity_first_alert",
                                                "s_after_origin_s", "listed_after_origin_s", "warning_time_s",
                                                "outcome")} for r in rows[:5]],
        "targets": rows,
    })
    return doc


def _timeline_png(path: Path, report, summary: dict) -> Path | None:
    """Two panels: magnitude (and epicentral error) per message over time; warning times of the nearest targets."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from tianshan.io.atomic import atomic_path

    msgs = [a for a in report.alerts if a.msg_type != "cancel" and a.magnitude is not None]
    if not msgs:
        return None
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 3.6))
    t = [a.t_after_origin_s for a in msgs]
    ax1.step(t, [a.magnitude for a in msgs], where="post", color="#d7191c", label="EEW magnitude")
    if report.truth is not None:
        ax1.axhline(report.truth.magnitude, color="k", ls="--", lw=1, label=f"true Mw {report.truth.magnitude:.1f}")
    ax1.set_xlabel("seconds after origin (data time)")
    ax1.set_ylabel("magnitude")
    ax1b = ax1.twinx()
    ax1b.plot(t, [a.epicentral_error_km or 0.0 for a in msgs], ".", color="#2c7bb6", ms=4, label="epicentre error")
    ax1b.set_ylabel("epicentre error (km)", color="#2c7bb6")
    ax1.legend(loc="lower right", fontsize=7)
    ax1.set_title("Alert timeline", fontsize=9)
    rows = [r for r in summary["targets"] if r["warning_time_s"] is not None][:10]
    if rows:
        y = range(len(rows))
        w = [r["warning_time_s"] for r in rows]
        ax2.barh(list(y), w, color=["#1a9641" if v >= 0 else "#d7191c" for v in w])
        ax2.set_yticks(list(y), [f"{r['name']} {r['distance_km']:.0f} km" for r in rows], fontsize=7)
        ax2.invert_yaxis()
        ax2.axvline(0, color="k", lw=0.8)
        ax2.set_xlabel("warning time before the S wave (s)")
        ax2.set_title("Warning times (negative: blind zone)", fontsize=9)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=90, format="png")
    plt.close(fig)
    return path


def _fmt(v, spec: str) -> str:
    return "–" if v is None else format(v, spec)


def eew_sections(res: EEWResult | None, out_dir: Path) -> list:
    """The page section "地震预警 / Earthquake early warning": facts, alert timeline, warning times."""
    from tianshan.demo.report import Section, Table

    if res is None:
        return []
    s = res.summary
    rel = Path(FOLDER)
    title = "地震预警 / Earthquake early warning"
    after = int(round(s["window_s"]["after_origin"] or 0))
    km = f"{s.get('max_station_km', 400.0):g}"
    setup = (f"震中 {km} 千米内 {res.stations_used} 个台站的模拟波形（发震后 {after} 秒内）按 1 秒数据包回放，"
             f"送入预警引擎与发布策略（测试状态）；目标为区域内全部城市和县城。时间为数据时间：零传输延迟、瞬时计算下可达到的时刻。 "
             f"The simulated records of the {res.stations_used} stations within {km} km (to {after} s after the "
             f"origin) were replayed in 1-s packets "
             f"through the EEW engine and the alert policy (status 'test'); targets are every city and county seat "
             f"of the region. Times are data times: what a network with zero transport latency and instant "
             f"computation achieves. Warning time = true S arrival at the place minus the data time of the first "
             f"message listing it (negative: blind zone). 'True-source intensity' is the same attenuation model "
             f"evaluated with the true source (the simulator gives motion at stations, not at towns).")
    if s["first_alert_s"] is None:
        return [Section(title, paragraphs=(setup, "预警系统未发布警报。 The EEW system issued no alert."))]
    rows = [("首报时间 First alert", f"{s['first_alert_s']:.1f} s after origin (data time); "
                                    f"{_fmt(s['alert_minus_p4_s'], '+.1f')} s vs the 4th station's P + 1 s"),
            ("首报震级 First magnitude", f"M {_fmt(s['magnitude_first'], '.2f')} (true Mw {s['magnitude_true']:.1f}; "
                                       f"final M {_fmt(s['magnitude_final'], '.2f')})"),
            ("定位误差 Epicentre error", f"first {_fmt(s['epicentral_error_km_first'], '.1f')} km, final "
                                        f"{_fmt(s['epicentral_error_km_final'], '.1f')} km"),
            ("盲区半径 Blind-zone radius", f"{_fmt(s['blind_zone_radius_km'], '.0f')} km"),
            ("消息 Messages", f"{s['messages']} (alert + updates); per-round computation p50 "
                              f"{_fmt((s['compute_s'].get('p50_s') or 0) * 1000, '.1f')} ms"),
            ("目标结果 Target outcomes", ", ".join(f"{k} {v}" for k, v in sorted(s["target_outcomes"].items())))]
    tl = Table(("类型 Type", "#", "震后秒 s after origin", "震级 M", "纬度 Lat", "经度 Lon", "深度 Depth km",
                "误差 Error km", "台站 Stations", "目标 Targets", "最高烈度 Max I"),
               [(a["type"], a["sequence"], _fmt(a["t_after_origin_s"], ".1f"), _fmt(a["magnitude"], ".2f"),
                 _fmt(a["latitude_deg"], ".3f"), _fmt(a["longitude_deg"], ".3f"), _fmt(a["depth_km"], ".1f"),
                 _fmt(a["epicentral_error_km"], ".1f"), a["n_stations"], a["n_targets"],
                 _fmt(a["max_intensity"], ".1f"))
                for a in s["timeline"]],
               caption="预警时间线 Alert timeline (every message)", left=(0,))
    tg = Table(("地点 Place", "震中距 Distance km", "首报预测烈度 Predicted I (first alert)",
                "真实震源烈度 True-source I", "S 波到达 S arrival s", "列入警报 Listed at s", "预警时间 Warning s",
                "预测预警时间 Predicted warning s", "结果 Outcome"),
               [(f"{r['name_zh']} {r['name']}".strip(), _fmt(r["distance_km"], ".0f"),
                 _fmt(r["predicted_intensity_first_alert"], ".1f"), _fmt(r["intensity_true_source"], ".1f"),
                 _fmt(r["s_after_origin_s"], ".1f"), _fmt(r["listed_after_origin_s"], ".1f"),
                 _fmt(r["warning_time_s"], "+.1f"), _fmt(r["predicted_warning_time_s"], "+.1f"), r["outcome"])
                for r in s["targets"][:TABLE_TARGETS]],
               caption=f"最近的 {TABLE_TARGETS} 个城镇 The {TABLE_TARGETS} nearest places (all in eew/summary.json)",
               left=(0, 8))
    images = (((str(rel / "timeline.png")), "预警时间线与预警时间 Alert timeline and warning times"),) \
        if "timeline.png" in res.files else ()
    return [Section(title, rows=rows, paragraphs=(setup,), tables=(tl, tg), images=images)]


def eew_files(res: EEWResult | None, out_dir: Path) -> list[tuple[str, str]]:
    """(relative path, description) of the stage's outputs, for the page's file list."""
    if res is None:
        return []
    desc = {"summary.json": "EEW summary (alerts, warning times per place) 预警摘要",
            "replay.json": "full EEW replay report 预警回放完整报告",
            "alerts.jsonl": "alert messages (JSON, alert.schema.json) 预警消息",
            "first_alert.cap.xml": "first alert as CAP 1.2 首报 CAP",
            "timeline.png": "alert timeline figure 预警时间线图"}
    return [(str(Path(p).relative_to(out_dir)), desc.get(k, k)) for k, p in res.files.items()]


__all__ = ["EEWStage", "EEWResult", "record_eew", "eew_summary", "eew_sections", "eew_files"]


"""The demo's loss stage: exposure, PAGER fatalities and losses, response level, and the loss report.

Issue 7, item 6: "the demo's page shows the loss estimate and the report".

What runs (:class:`LossStage`)
------------------------------
* **The intensity field** is the conditioned intensity map of the intensity stage (version 2,
  its MMI layer -- mean and standard deviation -- as a
  :class:`tianshan.products.loss.shaking.ShakingGrid`), for the event that map was built for
  (the automatic catalog event). Without an intensity stage the loss chain predicts its own
  field for the true source (:func:`tianshan.products.loss.scenario.run_scenario`).
* **The chain** :func:`tianshan.products.loss.scenario.assess`: population per MMI degree of the
  region's exposure, USGS PAGER empirical fatality and economic-loss models for China (Jaiswal
  & Wald 2010, 2011) with their range probabilities and alert colour, injured and shelter, the
  national response level (《国家地震应急预案》 2012, 3.1), units ranked by people at VI+, the
  nearest towns.
* **Exposure**: ``region`` (default ``"demo"``: the built-in region's GeoNames towns with a
  known population, each town a unit -- county seats the demo region lists without a population
  are not counted, which the page says). A region folder with census counties (e.g.
  ``../shared/data/xinjiang``) gives county totals and ranking.
* **The report** (bilingual HTML and PDF): :func:`tianshan.products.reports.loss.write_loss_report`
  when that module can be imported; otherwise the page shows the loss section without a report
  link and the reason is logged and written into ``loss/summary.json``.

Outputs in ``<out>/loss/``: ``loss.json`` (:meth:`ScenarioResult.as_json`, the issue's
document), ``summary.json`` (the figures the page shows, and the report's status), ``report/``
(the report's files, when written). ``loss.json`` and the report's files are recorded as products
of the demo's event (:func:`record_loss`: kinds ``loss_estimate`` and ``loss_report``, as the
real-time daemon records them), so that the dashboard links the report.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from tianshan.demo.pipeline import DemoConfig, StageRecord

log = logging.getLogger(__name__)

FOLDER = "loss"
REPORT_FORMATS = ("html", "pdf")


@dataclass(frozen=True)
class LossResult:
    """The loss chain's result, the report's files (empty when not written) and the summary document."""

    result: Any
    report_files: dict
    report_status: str
    folder: Path
    summary: dict


def shaking_from_map(build):
    """The MMI layer (mean, sd) of an intensity map build as a ``ShakingGrid`` (latitudes north to south)."""
    import numpy as np

    from tianshan.products.loss.shaking import ShakingGrid

    spec, layer = build.grids.spec, build.grids.layers["mmi"]
    return ShakingGrid(spec.latitudes(), spec.longitudes(), np.asarray(layer.mean, dtype=float),
                       np.asarray(layer.sd, dtype=float), source=f"intensity map version {build.version} (MMI layer)")


def write_report(result, folder: Path, *, shaking=None, event_label: str, version: int = 1) -> tuple[dict, str]:
    """Write the bilingual loss report when :mod:`tianshan.products.reports.loss` is importable.

    Returns ``(files, status)``: ``files`` format -> path; ``status`` ``"written"`` or why not.
    A failure while writing is logged with its traceback and reported in ``status``; the demo goes
    on (the loss figures are on the page either way).
    """
    try:
        from tianshan.products.reports.loss import write_loss_report
    except ImportError as err:
        why = f"loss report not written: tianshan.products.reports.loss cannot be imported ({err})"
        log.warning(why)
        return {}, why
    try:
        files = write_loss_report(result, folder, shaking=shaking, event_label=event_label, version=version,
                                  formats=REPORT_FORMATS)
    except Exception as err:  # noqa: BLE001 -- a report failure must not hide the loss figures; logged in full
        log.warning("loss report failed", exc_info=True)
        return {}, f"loss report failed: {type(err).__name__}: {err}"
    return {k: Path(v) for k, v in files.items()}, "written"


@dataclass(frozen=True)
class LossStage:
    """Loss estimate and report for the scenario (module docstring)."""

    region: str = "demo"
    name: str = "loss"
    title: str = "灾害损失评估 Loss estimate and report (PAGER, response level)"

    def run(self, config: DemoConfig, done: Mapping[str, StageRecord]):
        from tianshan.io.atomic import atomic_write_text
        from tianshan.products.loss.scenario import Scenario, assess, load_context, run_scenario

        result_sim, _paths = done["simulate"].result
        src = result_sim.source
        ctx = load_context(self.region)
        inten = done["intensity"].result if "intensity" in done else None
        if inten is not None:
            ev = inten.conditioned.event
            shaking = shaking_from_map(inten.conditioned)
            scen = Scenario(ev.latitude_deg, ev.longitude_deg, ev.depth_m / 1000.0, ev.magnitude,
                            name=f"demo: {inten.event_source}")
            result = assess(shaking, ctx.exposure, latitude_deg=ev.latitude_deg, longitude_deg=ev.longitude_deg,
                            magnitude=ev.magnitude, historical=ctx.historical, scenario=scen,
                            rupture={"strike_deg": None, "dip_deg": None, "rake_deg": None, "fault": None,
                                     "rupture_length_km": None,
                                     "orientation": "unknown: point source (automatic origin)"})
            field_source = f"conditioned intensity map (version {inten.conditioned.version}) 校正烈度图"
            report_shaking = inten.conditioned.grids
        else:
            ff = src.finite
            scen = Scenario(src.latitude_deg, src.longitude_deg, src.depth_m / 1000.0, src.mw, name="demo: true source",
                            strike_deg=None if ff is None else ff.strike_deg,
                            dip_deg=None if ff is None else ff.dip_deg, rake_deg=None if ff is None else ff.rake_deg)
            result = run_scenario(scen, ctx.exposure, faults=ctx.faults, historical=ctx.historical)
            field_source = "predicted for the true source (no intensity stage) 真实震源预测"
            report_shaking = None
        folder = config.out_dir / FOLDER
        folder.mkdir(parents=True, exist_ok=True)
        doc = result.as_json()
        atomic_write_text(folder / "loss.json", json.dumps(doc, ensure_ascii=False, indent=1, default=str) + "\n")
        label = "情景地震 新疆轮台 Scenario near Luntai, Xinjiang"
        files, status = write_report(result, folder / "report", shaking=report_shaking, event_label=label)
        summary = loss_summary(doc, field_source, self.region, status, {k: str(Path(p).relative_to(config.out_dir))
                                                                         for k, p in files.items()})
        atomic_write_text(folder / "summary.json", json.dumps(summary, ensure_ascii=False, indent=1) + "\n")
        stored = record_loss(config, done, folder / "loss.json", files, summary,
                             version=inten.conditioned.version if inten is not None else 1)
        res = LossResult(result, files, status, folder, summary)
        return res, {"fatalities_median": summary["fatalities"]["median"], "pager_alert": summary["pager_alert"],
                     "response_level": summary["response_level"], "exposure": summary["exposure"]["region"],
                     "report": status, "products_stored": stored, "folder": str(folder)}


def record_loss(config: DemoConfig, done: Mapping[str, StageRecord], loss_json: Path, report_files: dict,
                summary: dict, version: int) -> int:
    """``loss.json`` (kind ``loss_estimate``) and the report's files (kind ``loss_report``) as products of the
    demo's event, with the version of the map the estimate rests on (:mod:`tianshan.demo.recording`)."""
    from tianshan.demo.recording import file_product, product_event_id, save_products
    from tianshan.stages.shakemap_build import LOSS_KIND, REPORT_KIND

    eid = product_event_id(done)
    if eid is None:
        log.warning("demo loss stage: no stored event: the loss products are not recorded in the store")
        return 0
    figures = {"version": version, "final": True, "pager_alert": summary["pager_alert"],
               "response_level": summary["response_level"], "fatalities_median": summary["fatalities"]["median"],
               "economic_loss_usd_median": summary["economic_loss_usd"]["median"],
               "max_mmi_at_people": summary["max_mmi_at_people"], "intensity_field": summary["intensity_field"],
               "source": "demo"}
    rows = [file_product(LOSS_KIND, loss_json, "loss", eid, version, figures)]
    rows += [file_product(REPORT_KIND, Path(p), "report", eid, version, figures)
             for _, p in sorted(report_files.items())]
    return save_products(config, rows)


def loss_summary(doc: dict, field_source: str, region: str, report_status: str, report_files: dict) -> dict:
    """The figures the page shows, from :meth:`ScenarioResult.as_json` (``doc``)."""
    return {"intensity_field": field_source, "region": region,
            "fatalities": doc["fatalities"], "economic_loss_usd": doc["economic_loss_usd"],
            "pager_alert": doc["pager_alert"], "alerts": doc["alerts"], "response_level": doc["response_level"],
            "response": doc["response"], "exposure_by_intensity": doc["exposure_by_intensity"],
            "exposure": doc["exposure"], "max_mmi_at_people": doc["intensity"]["max_mmi_at_people"],
            "injured": doc["injured"], "shelter": doc["shelter"], "counties": doc["counties"],
            "nearest_towns": doc["nearest_towns"], "warnings": doc["warnings"], "limitations": doc["limitations"],
            "report": {"status": report_status, "files": report_files}}


_PAGER_ZH = {"green": "绿色", "yellow": "黄色", "orange": "橙色", "red": "红色"}
_ROMAN = ("I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X")


def _num(v) -> str:
    if v is None:
        return "–"
    v = float(v)
    return f"{v:,.0f}" if abs(v) >= 10 else f"{v:.2g}"


def loss_sections(res: LossResult | None, out_dir: Path) -> list:
    """The page section "灾害损失评估 / Loss estimate": figures, exposure per degree, ranking, report link."""
    from tianshan.demo.report import Section, Table

    if res is None:
        return []
    s = res.summary
    fat, eco, rsp = s["fatalities"], s["economic_loss_usd"], s["response"]
    rec = rsp.get("recommended") or {}
    ex = s["exposure"]
    title = "灾害损失评估 / Loss estimate"
    setup = (f"烈度场：{s['intensity_field']}；暴露：区域 '{ex['region']}'（{ex['method']}，{ex['population']:,} 人）。 "
             f"Intensity field: {s['intensity_field']}; exposure: region '{ex['region']}' ({ex['method']}, "
             f"{ex['population']:,} people); USGS PAGER empirical models for China (Jaiswal & Wald 2010, 2011); "
             f"response level by 《国家地震应急预案》 (2012) 3.1.")
    rows = [("PAGER 警报 PAGER alert", f"{_PAGER_ZH.get(s['pager_alert'], s['pager_alert'])} {s['pager_alert']} "
                                      f"(fatalities {s['alerts']['fatalities']}, economic {s['alerts']['economic']})"),
            ("死亡人数 Fatalities", f"median {_num(fat['median'])} (10–90 %: {_num(fat['p10'])}–{_num(fat['p90'])})"),
            ("经济损失 Economic loss", f"median US${_num(eco['median'])} (10–90 %: US${_num(eco['p10'])}–"
                                      f"US${_num(eco['p90'])})"),
            ("应急响应 Response level",
             f"{s['response_level']} {rec.get('grade_zh', '')} {rec.get('grade_en', '')}".strip()),
            ("受伤与安置 Injured, shelter", f"injured median {_num(s['injured'].get('median'))}; people needing "
                                          f"shelter {_num(s['shelter'].get('people_needing_shelter'))}"),
            ("人口处最高烈度 Max MMI at people", f"{s['max_mmi_at_people']:.1f}")]
    probs = Table(("死亡人数 Fatalities", *fat["bin_probabilities"].keys()),
                  [("概率 Probability", *(f"{v:.0%}" for v in fat["bin_probabilities"].values()))],
                  caption="死亡人数概率 Fatality range probabilities (PAGER)", left=(0,))
    eprobs = Table(("经济损失 Loss (USD)", *eco["bin_probabilities"].keys()),
                   [("概率 Probability", *(f"{v:.0%}" for v in eco["bin_probabilities"].values()))],
                   caption="经济损失概率 Economic-loss range probabilities (PAGER)", left=(0,))
    by = s["exposure_by_intensity"]
    degrees = [k for k in _ROMAN if k in by]
    exposure = Table(("MMI", *degrees), [("人口 People", *(f"{by[k]:,}" for k in degrees))],
                     caption="各烈度暴露人口 Population per intensity degree (MMI)", left=(0,))
    tables = [exposure, probs, eprobs]
    if s["counties"]:
        tables.append(Table(("单元 Unit", "人口 Population", "VI+", "VII+", "VIII+", "最高 MMI", "死亡中值 Deaths"),
                            [(c["name"], _num(c.get("population")), f"{c['exposed_vi_plus']:,}",
                              f"{c['exposed_vii_plus']:,}", f"{c['exposed_viii_plus']:,}", _num(c.get("max_mmi")),
                              _num(c.get("deaths_median"))) for c in s["counties"]],
                            caption="受影响单元排序 Units ranked by people at VI+", left=(0,)))
    tables.append(Table(("城镇 Town", "所属 Unit", "距离 km", "人口 Population", "MMI"),
                        [(f"{t.get('name_zh') or ''} {t['name']}".strip(), t.get("unit") or "–",
                          f"{t['distance_km']:.0f}", _num(t.get("population")), _num(t.get("mmi")))
                         for t in s["nearest_towns"]],
                        caption="最近城镇 Nearest towns", left=(0, 1)))
    paragraphs = [setup]
    if ex.get("population_outside_field"):
        paragraphs.append(f"暴露人口中 {ex['population_outside_field']:,} 人位于烈度图范围之外，未计入。 "
                          f"{ex['population_outside_field']:,} people of the exposure lie outside the intensity map "
                          f"and are not counted.")
    if not s["counties"]:
        paragraphs.append("没有单元在 VI 度及以上有已知人口。 No unit has people with a known population at VI and above "
                          "(the demo region's towns without a population are not counted).")
    links = []
    rf = s["report"]["files"]
    if "html" in rf:
        links.append((rf["html"], "损失评估报告 Loss report (HTML, 中文/English)"))
    if "pdf" in rf:
        links.append((rf["pdf"], "损失评估报告 Loss report (PDF)"))
    if s["report"]["status"] != "written":
        paragraphs.append(f"报告未生成。 {s['report']['status']}")
    links.append((f"{FOLDER}/loss.json", "损失评估数据 loss estimate (JSON)"))
    return [Section(title, rows=rows, paragraphs=tuple(paragraphs), tables=tuple(tables), links=tuple(links))]


def loss_files(res: LossResult | None, out_dir: Path) -> list[tuple[str, str]]:
    if res is None:
        return []
    out = [(f"{FOLDER}/loss.json", "loss estimate (issue 7 JSON) 损失评估"),
           (f"{FOLDER}/summary.json", "loss figures shown on this page 损失摘要")]
    out += [(str(Path(p).relative_to(out_dir)), f"loss report ({k}) 损失评估报告") for k, p in res.report_files.items()]
    return out


__all__ = ["LossStage", "LossResult", "record_loss", "shaking_from_map", "write_report", "loss_summary",
           "loss_sections", "loss_files"]

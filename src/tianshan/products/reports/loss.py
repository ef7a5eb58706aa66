"""The bilingual loss report (地震灾害损失评估报告 / earthquake loss assessment): HTML, PDF, map, JSON.

:func:`write_loss_report` turns a :class:`tianshan.products.loss.scenario.ScenarioResult` (a
scenario, or a real event's intensity field run through the loss chain) into four files in
one folder, each written atomically and only after all of them rendered (a failure leaves the
previous version's files as they were and no partial file):

* ``loss_report.html`` -- self-contained (CSS inline, map as a ``data:`` URI), template
  ``templates/loss.html`` over ``base.html`` (:mod:`.render`);
* ``loss_report.pdf`` -- the same HTML through WeasyPrint (A4 print CSS, Noto Sans CJK SC);
* ``loss_map.png`` -- the map (:mod:`.loss_map`);
* ``loss_report.json`` -- :meth:`ScenarioResult.as_json` plus ``report`` (version, generation
  time, event label, origin time, population per Chinese-scale degree, map labels, files).

(The ``loss_`` prefix keeps the files apart from the intensity map's ``map.png`` and
``summary.json`` when both products share a version folder.)

Content, every label in Chinese and English: title; key figures (magnitude, epicentre and the
nearest town, depth, origin time in UTC and Beijing time, maximum intensity); the map;
population per intensity degree on MMI (the PAGER bins of the loss chain) and on the Chinese
scale; fatality and economic-loss range probabilities (PAGER) and the PAGER alert colour; the
national response level (《国家地震应急预案》 level I-IV) with the plan's criteria; counties
ranked by people at VI+, VII+, VIII+; the nearest towns; injured, people needing shelter and
needs; historical earthquakes nearby; warnings and limitations.

Chinese-scale population: from the map's ``cn`` layer (GB/T 17742-2020) at the exposure's
population points when an intensity map (``MapGrids``) is given; otherwise the loss chain's
MMI at each point converted to the Chinese scale through PGV
(:func:`tianshan.groundmotion.intensity.mmi.cn_from_mmi`, ``via="pgv"``: Worden et al. 2012
inverted, then GB/T 17742-2020 Appendix A), which the report says. Degrees: mean intensity
rounded half up (GB/T 17742-2020; :func:`tianshan.groundmotion.intensity.gbt17742.degree`).

The output is a function of the inputs only (given ``generated_at``): the same result gives
the same HTML, map and JSON.
"""

from __future__ import annotations

import base64
import json
import math
import os
from datetime import datetime, timedelta, timezone
from pathlib import Path

from tianshan.core.errors import InputError

__all__ = ["write_loss_report", "loss_report_context", "check_out_dir", "FILE_NAMES", "RESPONSE_CRITERIA"]

FILE_NAMES = {"html": "loss_report.html", "pdf": "loss_report.pdf", "png": "loss_map.png", "json": "loss_report.json"}
FORMATS = ("html", "pdf")
BEIJING = timezone(timedelta(hours=8), "Beijing")
ROMAN = ("I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X", "XI", "XII")

#: 《国家地震应急预案》 (2012 revision) 3.1 地震灾害分级: the criteria of each level, quoted in
#: :mod:`tianshan.products.loss.response` (中文 as published; English our translation).
RESPONSE_CRITERIA = {
    "I": ("特别重大地震灾害：造成300人以上死亡（含失踪），或者直接经济损失占地震发生地省（区、市）上年国内生产总值1%以上；"
          "人口较密集地区发生7.0级以上地震，人口密集地区发生6.0级以上地震，初判为特别重大地震灾害。",
          "Particularly serious: 300 or more dead (incl. missing), or direct economic loss of 1 % or more of the "
          "province's previous-year GDP; initially graded so for M >= 7.0 in fairly dense or M >= 6.0 in dense areas."),
    "II": ("重大地震灾害：造成50人以上、300人以下死亡（含失踪）或者造成严重经济损失；人口较密集地区发生6.0级以上、"
           "7.0级以下地震，人口密集地区发生5.0级以上、6.0级以下地震，初判为重大地震灾害。",
           "Serious: 50-299 dead (incl. missing) or severe economic loss; initially graded so for M 6.0-6.9 in "
           "fairly dense or M 5.0-5.9 in dense areas."),
    "III": ("较大地震灾害：造成10人以上、50人以下死亡（含失踪）或者造成较重经济损失；人口较密集地区发生5.0级以上、"
            "6.0级以下地震，人口密集地区发生4.0级以上、5.0级以下地震，初判为较大地震灾害。",
            "Relatively serious: 10-49 dead (incl. missing) or heavy economic loss; initially graded so for "
            "M 5.0-5.9 in fairly dense or M 4.0-4.9 in dense areas."),
    "IV": ("一般地震灾害：造成10人以下死亡（含失踪）或者造成一定经济损失；人口较密集地区发生4.0级以上、5.0级以下地震，"
           "初判为一般地震灾害。",
           "General: fewer than 10 dead (incl. missing) or some economic loss; initially graded so for M 4.0-4.9 in "
           "fairly dense areas."),
}
ALERT_ZH = {"green": "绿色", "yellow": "黄色", "orange": "橙色", "red": "红色"}
ALERT_MEANING = {"green": ("预计无人员死亡、经济损失小", "no casualties, little loss expected"),
                 "yellow": ("可能有人员伤亡和经济损失，需地方或区域响应", "some casualties and losses; local/regional response"),
                 "orange": ("预计有重大伤亡和损失，需国家级响应", "significant casualties and losses; national response"),
                 "red": ("预计有严重伤亡和损失，需国家及国际响应", "extensive casualties and losses; national/international response")}
FATALITY_RANGE_LABELS = {"0": ("0 人", "none"), "1-9": ("1–9 人", "1–9"), "10-99": ("10–99 人", "10–99"),
                         "100-999": ("100–999 人", "100–999"), "1000+": ("1000 人以上", "1,000+")}
LOSS_RANGE_LABELS = {"<1M": ("< 100万美元", "< US$1M"), "1M-10M": ("100万–1000万美元", "US$1M–10M"),
                     "10M-100M": ("1000万–1亿美元", "US$10M–100M"), "100M-1B": ("1亿–10亿美元", "US$100M–1B"),
                     "1B+": ("10亿美元以上", "US$1B+")}
#: Chinese versions of :data:`tianshan.products.loss.scenario.LIMITATIONS`, by their English text.
LIMITATIONS_ZH = {
    "Intensity from the Yu et al. (2013) Xinjiang elliptical attenuation (Chinese scale taken as MMI, no site or depth term) unless a field is given.":
        "烈度由 Yu 等（2013）新疆椭圆烈度衰减关系预测（中国地震烈度视同 MMI，无场地与震源深度项），除非给定烈度场。",
    "Exposure is the 2020 census population (distributed by towns or a raster) whatever the event date.":
        "暴露人口为2020年人口普查数（按城镇或人口栅格分配），不随事件日期变化。",
    "Intensity from a simple prediction (BSSA14 PGV -> Worden 2012 MMI, Vs30 400 m/s) unless a field is given.":
        "未给定烈度场时，烈度来自简单预测（BSSA14 PGV → Worden 2012 MMI，Vs30 取 400 m/s）。",
    "PAGER empirical models for China (Jaiswal & Wald 2010, 2011) calibrated on national data up to 2008.":
        "死亡与经济损失采用 PAGER 中国经验模型（Jaiswal & Wald 2010, 2011），基于截至2008年的全国资料标定。",
    "Population outside the exposure region (across borders) is not counted.":
        "暴露区域以外（含境外）的人口未计入。",
}


# --------------------------------------------------------------------------- context


def _event_figures(result, event) -> dict:
    """Epicentre, depth (km), magnitude, origin time of the report's event."""
    if event is not None:
        depth_km = getattr(event, "depth_km", None)
        if depth_km is None and getattr(event, "depth_m", None) is not None:
            depth_km = float(event.depth_m) / 1000.0
        out = {"latitude_deg": float(event.latitude_deg), "longitude_deg": float(event.longitude_deg),
               "depth_km": depth_km, "magnitude": float(event.magnitude), "time": getattr(event, "time", None),
               "event_id": getattr(event, "event_id", None) or getattr(event, "id", None) or "",
               "name": getattr(event, "description", "") or ""}
    elif result.scenario is not None:
        sc = result.scenario
        out = {"latitude_deg": sc.latitude_deg, "longitude_deg": sc.longitude_deg, "depth_km": sc.depth_km,
               "magnitude": sc.magnitude, "time": None, "event_id": "", "name": sc.name}
    else:
        raise InputError("the result has no scenario: give the event (epicentre, depth, magnitude, time)",
                         field="event")
    for key in ("latitude_deg", "longitude_deg", "magnitude"):
        if not math.isfinite(out[key]):
            raise InputError(f"must be finite, got {out[key]!r}", field=key)
    return out


def _cn_population(result, shaking) -> tuple[dict[str, int], str]:
    """People per Chinese-scale degree (``{"I": n, ..., "XII": n}``) and how they were found
    (module docstring)."""
    import numpy as np

    from tianshan.products.reports.loss_map import _degrees

    ex = result.exposure.exposure
    spec, layers = getattr(shaking, "spec", None), getattr(shaking, "layers", None)
    if spec is not None and isinstance(layers, dict) and "cn" in layers:
        from tianshan.products.shakemap.grids import sample

        cn = sample(spec, np.asarray(layers["cn"].mean, dtype=np.float64), ex.latitudes_deg, ex.longitudes_deg)
        how = "GB/T 17742-2020 intensity map (cn layer) at the population points"
    else:
        from tianshan.groundmotion.intensity.mmi import cn_from_mmi

        mmi = np.asarray(result.exposure.point_mmi, dtype=np.float64)
        cn = np.full(mmi.shape, np.nan)
        ok = np.isfinite(mmi)
        if ok.any():
            cn[ok] = cn_from_mmi(np.clip(mmi[ok], 1.0, 12.0), via="pgv")
        how = "MMI converted through PGV (Worden et al. 2012 inverse, GB/T 17742-2020 Appendix A)"
    deg = _degrees(cn)
    pop = np.asarray(ex.population, dtype=np.float64)
    counts = np.bincount(deg, weights=pop, minlength=13)
    return {ROMAN[k - 1]: int(round(counts[k])) for k in range(1, 13)}, how


def _time_text(t: datetime | None) -> tuple[str, str]:
    if t is None:
        return "情景（无发震时刻）", "scenario (no origin time)"
    if t.tzinfo is None:
        t = t.replace(tzinfo=timezone.utc)
    utc = t.astimezone(timezone.utc)
    bj = t.astimezone(BEIJING)
    return (f"{bj:%Y年%m月%d日 %H时%M分%S秒}（北京时间）", f"{utc:%Y-%m-%d %H:%M:%S} UTC")


def _ranges(probs: dict, labels: dict) -> list[dict]:
    return [{"key": k, "zh": labels.get(k, (k, k))[0], "en": labels.get(k, (k, k))[1], "p": float(p),
             "width": round(100.0 * float(p), 1)} for k, p in probs.items()]


def loss_report_context(result, *, shaking=None, event=None, event_label: str | None = None, version: int = 1,
                        generated_at: datetime | None = None, map_png: bytes | None = None,
                        map_info: dict | None = None, notes=()) -> dict:
    """The template context of ``loss.html`` and the ``report`` part of the JSON (module docstring)."""
    doc = result.as_json()
    doc["warnings"] = list(doc["warnings"]) + [str(n) for n in notes]
    ev = _event_figures(result, event)
    shaking = result.shaking if shaking is None else shaking
    gen = generated_at or datetime.now(timezone.utc)
    if gen.tzinfo is None:
        gen = gen.replace(tzinfo=timezone.utc)
    t_zh, t_en = _time_text(ev["time"])
    cn_pop, cn_how = _cn_population(result, shaking)
    mmi_pop = doc["exposure_by_intensity"]
    exposure_rows = [{"degree": ROMAN[k - 1], "mmi": mmi_pop.get(ROMAN[k - 1]) if k <= 10 else None,
                      "cn": cn_pop[ROMAN[k - 1]]} for k in range(12, 0, -1)]
    exposure_rows = [r for r in exposure_rows if (r["mmi"] or 0) > 0 or r["cn"] > 0]
    from tianshan.products.reports.loss_map import intensity_field

    fld = intensity_field(shaking)
    towns = []
    for t in doc["nearest_towns"]:  # a town outside every unit carries its own id as unit: show none then
        unit = str(t.get("unit") or "")
        towns.append({**t, "unit_display": "" if unit in (t.get("name"), t.get("name_zh")) or unit.isdigit()
                      else unit})
    near = towns[0] if towns else None
    resp = doc["response"]
    rec = resp.get("recommended")
    level = rec["response"] if rec else None
    scenario = result.scenario is not None and event is None
    label = event_label or ev["name"] or ""
    title_zh = f"{'情景' if scenario else ''}地震灾害损失评估报告"
    title_en = f"{'Scenario ' if scenario else ''}Earthquake Loss Assessment Report"
    limitations = [{"zh": LIMITATIONS_ZH.get(t, ""), "en": t} for t in doc["limitations"]]
    unexposed = doc["exposure"]["population_outside_field"]
    return {
        "doc": doc, "d": doc, "event": ev, "label": label, "version": int(version), "scenario": scenario,
        "title_zh": title_zh, "title_en": title_en,
        "generated_utc": f"{gen.astimezone(timezone.utc):%Y-%m-%d %H:%M:%S} UTC",
        "generated_bj": f"{gen.astimezone(BEIJING):%Y-%m-%d %H:%M:%S}",
        "generated_iso": gen.astimezone(timezone.utc).isoformat(),
        "time_zh": t_zh, "time_en": t_en,
        "nearest": near, "towns": towns,
        "max_mmi_people": doc["intensity"]["max_mmi_at_people"],
        "max_field": None if not math.isfinite(fld.max_value) else round(fld.max_value, 1),
        "max_field_degree": None if not math.isfinite(fld.max_value) else ROMAN[int(min(12, max(1, math.floor(
            round(fld.max_value, 9) + 0.5)))) - 1],
        "field_scale": fld.scale, "field_source": fld.source,
        "exposure_rows": exposure_rows, "cn_population": cn_pop, "cn_method": cn_how,
        "population_total": doc["exposure"]["population"], "population_outside": unexposed,
        "fatality_ranges": _ranges(doc["fatalities"]["bin_probabilities"], FATALITY_RANGE_LABELS),
        "loss_ranges": _ranges(doc["economic_loss_usd"]["bin_probabilities"], LOSS_RANGE_LABELS),
        "alert": doc["pager_alert"], "alert_zh": ALERT_ZH.get(doc["pager_alert"], doc["pager_alert"]),
        "alert_meaning": ALERT_MEANING.get(doc["pager_alert"], ("", "")),
        "level": level, "criteria": [{"level": k, "zh": v[0], "en": v[1], "current": k == level}
                                     for k, v in RESPONSE_CRITERIA.items()],
        "limitations": limitations,
        "map_uri": None if map_png is None else "data:image/png;base64," + base64.b64encode(map_png).decode("ascii"),
        "map_info": map_info or {},
        "footer": f"Tianshan 天山 · v{int(version)} · {gen.astimezone(timezone.utc):%Y-%m-%d %H:%M} UTC",
    }


# --------------------------------------------------------------------------- writing


def check_out_dir(out_dir) -> Path:
    """Create the report folder (and parents); an :class:`InputError` naming it when that fails or it
    cannot be written."""
    folder = Path(out_dir)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        raise InputError("cannot create the report folder: a file is in the way", source=str(folder),
                         field="out_dir") from None
    except PermissionError:
        raise InputError("cannot create the report folder: permission denied", source=str(folder),
                         field="out_dir") from None
    except OSError as err:
        raise InputError(f"cannot create the report folder: {err.strerror or err}", source=str(folder),
                         field="out_dir") from None
    if not os.access(folder, os.W_OK | os.X_OK):
        raise InputError("report folder is not writable", source=str(folder), field="out_dir")
    return folder


def _jsonable(x):
    if isinstance(x, float):
        return x if math.isfinite(x) else None
    if isinstance(x, dict):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    if isinstance(x, datetime):
        return x.isoformat()
    return x


def write_loss_report(result, out_dir: str | os.PathLike, *, shaking=None, event=None, event_label: str | None = None,
                      faults=(), version: int = 1, formats=FORMATS, generated_at: datetime | None = None,
                      notes=()) -> dict[str, Path]:
    """Write the loss report of ``result`` into ``out_dir`` (module docstring).

    ``shaking``: the intensity field to draw and to count the Chinese-scale population on --
    an intensity map (``MapGrids``, e.g. ``build_map(...).grids``), a ``ShakingGrid`` or
    ``ShakingPoints``; default the field of ``result``. ``event``: the real event (an object
    with ``latitude_deg``, ``longitude_deg``, ``depth_m`` or ``depth_km``, ``magnitude``,
    optional ``time`` and ``event_id``, e.g. ``MapEvent``), needed when the result has no
    scenario. ``event_label``: a line under the title (e.g. "新疆轮台 M6.5"). ``faults``:
    fault traces for the map. ``version``: the map/report version (re-issued reports count
    up). ``formats``: any of ``"html"``, ``"pdf"``; the map PNG and JSON are always written.
    ``generated_at``: the generation time (default now, UTC). ``notes``: more warnings to print
    (e.g. ``RegionContext.notes``).

    Returns ``{"html", "pdf", "png", "json"}`` -> paths of the files written. Bad input
    (version < 1, unknown format, a folder that cannot be created or written) is an
    :class:`InputError`.
    """
    from tianshan.io.atomic import atomic_write_bytes, atomic_write_text
    from tianshan.products.reports import render
    from tianshan.products.reports.loss_map import intensity_field, plot_loss_map

    try:
        version = int(version)
    except (TypeError, ValueError):
        raise InputError(f"must be an integer, got {version!r}", field="version") from None
    if version < 1:
        raise InputError(f"must be >= 1, got {version}", field="version")
    fmts = (formats,) if isinstance(formats, str) else tuple(formats)
    bad = [f for f in fmts if f not in FORMATS]
    if bad:
        raise InputError(f"unknown report format(s) {', '.join(map(repr, bad))}; expected html, pdf", field="formats")
    if not hasattr(result, "as_json") or not hasattr(result, "exposure"):
        raise InputError(f"expected a ScenarioResult, got {type(result).__name__}", field="result")
    folder = check_out_dir(out_dir)
    field = intensity_field(result.shaking if shaking is None else shaking)
    ev = _event_figures(result, event)
    mag = f"M{ev['magnitude']:.1f}"
    scale_zh = "烈度分布" if field.scale == "cn" else "烈度分布 (MMI)"
    title = (f"{event_label or ''} {mag} {scale_zh} 第{version}版".strip(),
             f"{event_label or ''} {mag} intensity ({'GB/T 17742' if field.scale == 'cn' else 'MMI'}) v{version}"
             .strip())
    png, info = plot_loss_map(field, epicentre=(ev["latitude_deg"], ev["longitude_deg"]),
                              exposure=result.exposure.exposure, faults=faults, title=title)
    ctx = loss_report_context(result, shaking=shaking, event=event, event_label=event_label, version=version,
                              generated_at=generated_at, map_png=png, map_info=info, notes=notes)
    html = render.render_html("loss.html", ctx) if "html" in fmts or "pdf" in fmts else None
    pdf = render.pdf_bytes(html, folder) if "pdf" in fmts else None
    doc = ctx["doc"]
    names = {k: FILE_NAMES[k] for k in ("png", "json", *fmts)}
    doc["report"] = {"kind": "loss_report", "version": version, "generated_at": ctx["generated_iso"],
                     "event_label": event_label, "event_id": ev["event_id"] or None,
                     "origin_time": ev["time"].isoformat() if ev["time"] is not None else None,
                     "exposure_by_intensity_cn": ctx["cn_population"], "exposure_cn_method": ctx["cn_method"],
                     "map": info, "files": names}
    # every file rendered: now write them, the JSON (which lists them) last
    out: dict[str, Path] = {"png": atomic_write_bytes(folder / names["png"], png)}
    if html is not None and "html" in fmts:
        out["html"] = atomic_write_text(folder / names["html"], html)
    if pdf is not None:
        out["pdf"] = atomic_write_bytes(folder / names["pdf"], pdf)
    out["json"] = atomic_write_text(folder / names["json"],
                                    json.dumps(_jsonable(doc), ensure_ascii=False, indent=1) + "\n")
    return out

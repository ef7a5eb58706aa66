"""Bilingual (Chinese / English) section of the consultation report (会商报告) for one index.

:func:`efficacy_section` turns an :class:`~tianshan.analysis.efficacy.alarms.EfficacySearch`
into Markdown: per magnitude band the best prediction index (thresholds, window, radius),
its R, R0, hits, alarm-time fraction, probability gain and significance, whether
``R > R0`` (97.5 % confidence), and the target earthquakes hit or missed. The wording
follows the efficacy statements of Liu Qi's EQSuite-EVA technical description.
"""

from __future__ import annotations

import math


def _fmt(x: float, digits: int = 4) -> str:
    return "—" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.{digits}f}"


def efficacy_section(search, index_name: str, station: str = "") -> str:
    """Markdown section (Chinese paragraph, English paragraph, one table) for ``index_name``."""
    head = f"### {index_name} 预测效能评估 / Prediction efficacy of {index_name}"
    if station:
        head += f" — {station}"
    lines = [head, ""]
    rows = ["| M ≥ | 半径 radius (km) | 时窗 window (d) | 阈值 low / high | R | R0 | 报对/总数 hits/N | "
            "占时率 τ | 增益 gain | 显著水平 α | R > R0 |",
            "|---|---|---|---|---|---|---|---|---|---|---|"]
    zh, en = [], []
    for m0, best in search.best.items():
        if best is None:
            zh.append(f"M{m0:g}以上：评估范围内目标地震少于2次，不做分析。")
            en.append(f"M≥{m0:g}: fewer than 2 target earthquakes within the radii scanned; not evaluated.")
            continue
        c, s = best.cell, best.cell.score
        ok = s.significant
        rows.append(f"| {m0:g} | {c.max_radius_km:g} | {c.window_days} | {_fmt(c.point.threshold_low, 5)} / "
                    f"{_fmt(c.point.threshold_high, 5)} | {_fmt(s.r)} | {_fmt(s.r0)} | {s.hits}/{s.n_targets} | "
                    f"{_fmt(s.alarm_fraction)} | {_fmt(s.gain, 3)} | {s.significance:.3g} | {'是 yes' if ok else '否 no'} |")
        zh.append(f"M{m0:g}以上：最优预报范围{c.max_radius_km:g} km以内，预报时窗{c.window_days}天，"
                  f"负向阈值{_fmt(c.point.threshold_low, 5)}、正向阈值{_fmt(c.point.threshold_high, 5)}；"
                  f"{s.n_targets}次地震报对{s.hits}次，预报占时率{_fmt(s.alarm_fraction)}，R值{_fmt(s.r)}，"
                  f"R0值{_fmt(s.r0)}，概率增益{_fmt(s.gain, 3)}，显著水平{s.significance:.3g}；"
                  + ("R值大于R0值，具有97.5%以上置信度。" if ok else "R值未超过R0值，未通过2.5%显著性水平检验。"))
        en.append(f"M≥{m0:g}: best radius {c.max_radius_km:g} km, window {c.window_days} days, thresholds "
                  f"{_fmt(c.point.threshold_low, 5)} / {_fmt(c.point.threshold_high, 5)}; {s.hits} of "
                  f"{s.n_targets} earthquakes predicted with alarms {_fmt(s.alarm_fraction)} of the time: "
                  f"R = {_fmt(s.r)}, R0 = {_fmt(s.r0)}, probability gain {_fmt(s.gain, 3)}, significance "
                  f"{s.significance:.3g}; "
                  + ("R exceeds R0 (confidence above 97.5 %)." if ok else
                     "R does not exceed R0 (not significant at the 2.5 % level)."))
        hits = [f"{t.day:%Y-%m-%d} M{t.magnitude:.1f} {t.place.strip()}（{'报对' if h else '漏报'}）"
                for t, h in zip(best.targets, best.hit)]
        zh[-1] += "目标地震：" + "；".join(hits) + "。"
    for z, e in zip(zh, en):
        lines += [f"- {z}", f"  {e}"]
    lines += ["", *rows, ""]
    if getattr(search, "method", "binomial") == "eqsuite":
        how_zh, how_en = "地震数少于20次用二项分布、不少于20次用正态近似", "binomial below 20 targets, normal approximation from 20"
    else:
        how_zh, how_en = "精确二项分布", "exact binomial"
    lines.append(f"注：R = 报对率 − 预报占时率（许绍燮 1989）；R0为97.5%置信度下的R值下限（{how_zh}）。 "
                 f"Note: R = hit rate − alarm-time fraction (Xu 1989); R0 is the 97.5 % significance bound "
                 f"({how_en}).")
    return "\n".join(lines) + "\n"

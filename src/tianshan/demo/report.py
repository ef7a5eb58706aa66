"""The demo's human-readable output: a bilingual ``index.html`` with a map and waveforms.

Pure presentation: it receives plain values from the stages and writes HTML,
an SVG map (drawn here, no tiles, works offline) and a waveform PNG
(matplotlib, imported only when the report is written).
"""

from __future__ import annotations

import html
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from tianshan.io.atomic import atomic_path, atomic_write_text


@dataclass(frozen=True)
class StationRow:
    code: str
    name: str
    latitude_deg: float
    longitude_deg: float
    distance_km: float
    p_time_s: float | None
    s_time_s: float | None
    p_phase: str
    s_phase: str
    pga_m_s2: float | None
    pgv_m_s: float | None


@dataclass(frozen=True)
class PlaceMark:
    name: str
    latitude_deg: float
    longitude_deg: float
    population: int | None


@dataclass(frozen=True)
class Table:
    """A plain table of text cells: ``header`` names the columns; ``left`` lists the column
    indexes aligned left (text), the others align right (numbers)."""

    header: Sequence[str]
    rows: Sequence[Sequence[str]]
    caption: str = ""
    left: Sequence[int] = (0,)


@dataclass(frozen=True)
class Section:
    """A titled block of (label, value) rows, paragraphs, tables and images, added by later stages.

    ``images``: (path relative to the page, caption) shown side by side; ``links``: (path
    relative to the page, text) listed under the section.
    """

    title: str
    rows: Sequence[tuple[str, str]] = ()
    paragraphs: Sequence[str] = ()
    tables: Sequence[Table] = ()
    images: Sequence[tuple[str, str]] = ()
    links: Sequence[tuple[str, str]] = ()


@dataclass(frozen=True)
class ReportData:
    title_zh: str
    title_en: str
    origin_time_iso: str
    latitude_deg: float
    longitude_deg: float
    depth_km: float
    mw: float
    region_name: str
    stations: Sequence[StationRow]
    places: Sequence[PlaceMark] = ()
    stages: Sequence[tuple[str, str, float]] = ()  # (name, bilingual title, seconds)
    files: Sequence[tuple[str, str]] = ()          # (relative path, description)
    facts: Sequence[tuple[str, str]] = ()          # extra (label, value) rows
    notes: Sequence[str] = field(default_factory=tuple)
    sections: Sequence[Section] = ()


def _colour_for_pga(pga_m_s2: float | None) -> str:
    """Colour ramp on log10 PGA (m/s^2) from 1e-4 (blue) to 1 (red)."""
    if pga_m_s2 is None or pga_m_s2 <= 0:
        return "#999999"
    x = min(1.0, max(0.0, (math.log10(pga_m_s2) + 4.0) / 4.0))
    r = int(40 + 215 * x)
    g = int(120 + 100 * (1 - abs(2 * x - 1)) - 60 * x)
    b = int(220 * (1 - x) + 20)
    return f"#{r:02x}{max(0, min(255, g)):02x}{b:02x}"


def map_svg(data: ReportData, width: int = 760, height: int = 520) -> str:
    """An equirectangular map (cos-latitude scaled) of stations, places and the epicentre."""
    lats = [s.latitude_deg for s in data.stations] + [data.latitude_deg]
    lons = [s.longitude_deg for s in data.stations] + [data.longitude_deg]
    lat0, lat1 = min(lats) - 0.5, max(lats) + 0.5
    lon0, lon1 = min(lons) - 0.5, max(lons) + 0.5
    kx = math.cos(math.radians((lat0 + lat1) / 2))
    scale = min((width - 40) / ((lon1 - lon0) * kx), (height - 40) / (lat1 - lat0))

    def xy(lat: float, lon: float) -> tuple[float, float]:
        return 20 + (lon - lon0) * kx * scale, height - 20 - (lat - lat0) * scale

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" role="img" aria-label="map of stations and epicentre">',
             f'<rect width="{width}" height="{height}" fill="#f4f1ea" stroke="#bbb"/>']
    # graticule, every 1 or 2 degrees so labels do not collide
    step = 1 if max(lat1 - lat0, (lon1 - lon0) * kx) < 10 else 2
    for lat in range(math.ceil(lat0), math.floor(lat1) + 1, step):
        x0, y = xy(lat, lon0)
        x1, _ = xy(lat, lon1)
        parts.append(f'<line x1="{x0:.1f}" y1="{y:.1f}" x2="{x1:.1f}" y2="{y:.1f}" stroke="#ddd"/>'
                     f'<text x="{x0 + 2:.1f}" y="{y - 2:.1f}" font-size="10" fill="#888">{lat}°N</text>')
    for lon in range(math.ceil(lon0), math.floor(lon1) + 1, step):
        x, y0 = xy(lat0, lon)
        _, y1 = xy(lat1, lon)
        parts.append(f'<line x1="{x:.1f}" y1="{y0:.1f}" x2="{x:.1f}" y2="{y1:.1f}" stroke="#ddd"/>'
                     f'<text x="{x + 2:.1f}" y="{y0 - 2:.1f}" font-size="10" fill="#888">{lon}°E</text>')
    for p in sorted(data.places, key=lambda p: -(p.population or 0))[:25]:
        x, y = xy(p.latitude_deg, p.longitude_deg)
        parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="2" fill="#555"/>'
                     f'<text x="{x + 4:.1f}" y="{y + 3:.1f}" font-size="10" fill="#555">{html.escape(p.name)}</text>')
    for s in data.stations:
        x, y = xy(s.latitude_deg, s.longitude_deg)
        title = html.escape(f"{s.code} {s.name}: {s.distance_km:.0f} km"
                            + (f", PGA {s.pga_m_s2:.3g} m/s²" if s.pga_m_s2 is not None else ""))
        parts.append(f'<path d="M{x:.1f},{y - 6:.1f} L{x + 5:.1f},{y + 4:.1f} L{x - 5:.1f},{y + 4:.1f} Z" '
                     f'fill="{_colour_for_pga(s.pga_m_s2)}" stroke="#333" stroke-width="0.6"><title>{title}</title></path>')
    ex, ey = xy(data.latitude_deg, data.longitude_deg)
    star = " ".join(f"{ex + r * math.sin(math.radians(36 * k)):.1f},{ey - r * math.cos(math.radians(36 * k)):.1f}"
                    for k, r in zip(range(10), [11, 4.5] * 5))
    parts.append(f'<polygon points="{star}" fill="#d7191c" stroke="#600"><title>epicentre 震中</title></polygon>')
    # legend: PGA colour ramp
    for k, pga in enumerate((1e-4, 1e-3, 1e-2, 1e-1, 1.0)):
        lx, ly = width - 150, 24 + 16 * k
        parts.append(f'<rect x="{lx}" y="{ly - 9}" width="12" height="10" fill="{_colour_for_pga(pga)}" stroke="#333" '
                     f'stroke-width="0.5"/><text x="{lx + 16}" y="{ly}" font-size="10">PGA {pga:g} m/s²</text>')
    parts.append("</svg>")
    return "\n".join(parts)


def write_waveform_png(path: Path, traces: Sequence[tuple[str, Any, float, float | None, float | None]],
                       title: str, picks: Sequence[Sequence[tuple[str, float]]] = ()) -> Path:
    """Plot ``(label, (times_s, values), offset_s, p_s, s_s)`` records, one panel each (matplotlib, Agg).

    ``picks[i]`` are optional automatic picks ``(phase, seconds)`` drawn as dashed lines on panel ``i``.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n = max(1, len(traces))
    fig, axes = plt.subplots(n, 1, figsize=(10, 1.4 * n + 0.8), sharex=True, squeeze=False)
    for i, (ax, (label, (t, y), _off, p_s, s_s)) in enumerate(zip(axes[:, 0], traces)):
        ax.plot(t, y, lw=0.5, color="k")
        if p_s is not None:
            ax.axvline(p_s, color="#2c7bb6", lw=1, label="P")
        if s_s is not None:
            ax.axvline(s_s, color="#d7191c", lw=1, label="S")
        for phase, t_pick in (picks[i] if i < len(picks) else ()):
            ax.axvline(t_pick, color="#1a9641", lw=1, ls="--",
                       label="auto P" if phase.upper().startswith("P") else "auto S")
        ax.set_ylabel(label, rotation=0, ha="right", va="center", fontsize=8)
        ax.tick_params(labelsize=7)
        ax.set_yticks([])
    axes[-1, 0].set_xlabel("seconds after origin time")
    axes[0, 0].set_title(title, fontsize=9)
    axes[0, 0].legend(loc="upper right", fontsize=7)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=90, format="png")
    plt.close(fig)
    return path


_CSS = """
body{font-family:system-ui,"Noto Sans CJK SC","PingFang SC",sans-serif;margin:24px auto;max-width:1000px;color:#222}
h1{font-size:1.5em;margin-bottom:0}h2{font-size:1.15em;border-bottom:1px solid #ddd;padding-bottom:4px;margin-top:1.6em}
.sub{color:#666;margin-top:4px}table{border-collapse:collapse;font-size:0.85em;width:100%}
td,th{border:1px solid #ddd;padding:3px 6px;text-align:right}th{background:#f3f3f3}
td.l,th.l{text-align:left}.facts td{text-align:left}.note{color:#7a5b00;background:#fff7de;padding:6px 10px}
table.data{margin:0.8em 0}caption{text-align:left;font-weight:600;padding:4px 0}
.figs{display:flex;flex-wrap:wrap;gap:12px}.figs figure{flex:1 1 420px;margin:0}.figs img{max-width:100%}
figcaption{font-size:0.85em;color:#555}
"""


def _fmt(v: float | None, spec: str) -> str:
    return "–" if v is None else format(v, spec)


def table_html(table: Table) -> str:
    """One :class:`Table` as HTML (cells escaped)."""
    e = html.escape
    left = set(table.left)

    def cls(i: int) -> str:
        return " class=l" if i in left else ""

    head = "".join(f"<th{cls(i)}>{e(h)}</th>" for i, h in enumerate(table.header))
    body = "".join("<tr>" + "".join(f"<td{cls(i)}>{e(str(c))}</td>" for i, c in enumerate(row)) + "</tr>"
                   for row in table.rows)
    caption = f"<caption>{e(table.caption)}</caption>" if table.caption else ""
    return f'<table class="data">{caption}<tr>{head}</tr>{body}</table>'


def _images_html(images: Sequence[tuple[str, str]]) -> str:
    """Figures side by side (wrapping on narrow screens)."""
    if not images:
        return ""
    e = html.escape
    figs = "".join(f'<figure><a href="{e(p)}"><img src="{e(p)}" alt="{e(c)}"></a><figcaption>{e(c)}</figcaption>'
                   f'</figure>' for p, c in images)
    return f'<div class="figs">{figs}</div>'


def _links_html(links: Sequence[tuple[str, str]]) -> str:
    if not links:
        return ""
    e = html.escape
    return "<ul>" + "".join(f'<li><a href="{e(p)}">{e(t)}</a></li>' for p, t in links) + "</ul>"


def write_index_html(path: Path, data: ReportData, waveform_png: str | None = None) -> Path:
    """Write the bilingual report page."""
    e = html.escape
    rows = []
    for s in sorted(data.stations, key=lambda s: s.distance_km):
        rows.append(
            f"<tr><td class=l>{e(s.code)}</td><td class=l>{e(s.name)}</td><td>{s.distance_km:.1f}</td>"
            f"<td>{_fmt(s.p_time_s, '.2f')}</td><td class=l>{e(s.p_phase)}</td><td>{_fmt(s.s_time_s, '.2f')}</td>"
            f"<td class=l>{e(s.s_phase)}</td><td>{_fmt(s.pga_m_s2, '.3g')}</td><td>{_fmt(s.pgv_m_s, '.3g')}</td></tr>")
    facts = [("发震时刻 Origin time (UTC)", data.origin_time_iso),
             ("震中 Epicentre", f"{data.latitude_deg:.3f}°N, {data.longitude_deg:.3f}°E"),
             ("深度 Depth", f"{data.depth_km:.1f} km"), ("震级 Magnitude", f"Mw {data.mw:.1f}"),
             ("地区 Region", data.region_name), *data.facts]
    stages = "".join(f"<tr><td class=l>{e(n)}</td><td class=l>{e(t)}</td><td>{sec:.2f}</td></tr>"
                     for n, t, sec in data.stages)
    files = "".join(f'<li><a href="{e(p)}">{e(p)}</a> — {e(d)}</li>' for p, d in data.files)
    notes = "".join(f'<p class="note">{e(n)}</p>' for n in data.notes)
    sections = "".join(
        f'<h2>{e(sec.title)}</h2>'
        + (f'<table class="facts">{"".join(f"<tr><th class=l>{e(k)}</th><td>{e(v)}</td></tr>" for k, v in sec.rows)}'
           f'</table>' if sec.rows else "")
        + "".join(f"<p>{e(par)}</p>" for par in sec.paragraphs)
        + "".join(table_html(t) for t in sec.tables)
        + _images_html(sec.images)
        + _links_html(sec.links)
        for sec in data.sections)
    wave = (f'<h2>波形 Waveforms</h2><img src="{e(waveform_png)}" alt="waveforms of the nearest stations" '
            f'style="max-width:100%">') if waveform_png else ""
    page = f"""<!DOCTYPE html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>{e(data.title_zh)} | {e(data.title_en)}</title>
<style>{_CSS}</style></head><body>
<h1>{e(data.title_zh)}</h1><p class="sub">{e(data.title_en)}</p>
{notes}
<h2>事件 Event</h2><table class="facts">{''.join(f'<tr><th class=l>{e(k)}</th><td>{e(v)}</td></tr>' for k, v in facts)}</table>
<h2>台站与震中 Stations and epicentre</h2>
<p>三角形为台站，颜色表示峰值加速度；星号为震中。Triangles are stations coloured by peak ground acceleration; the star is the epicentre.</p>
{map_svg(data)}
{sections}
{wave}
<h2>台站记录 Station records</h2>
<table><tr><th class=l>台站 Station</th><th class=l>地点 Place</th><th>震中距 Distance (km)</th>
<th>P (s)</th><th class=l>P 震相 phase</th><th>S (s)</th><th class=l>S 震相 phase</th>
<th>PGA (m/s²)</th><th>PGV (m/s)</th></tr>
{''.join(rows)}</table>
<h2>处理流程 Processing stages</h2>
<table><tr><th class=l>stage</th><th class=l>步骤 Step</th><th>秒 s</th></tr>{stages}</table>
<h2>输出文件 Output files</h2><ul>{files}</ul>
</body></html>
"""
    return atomic_write_text(path, page)

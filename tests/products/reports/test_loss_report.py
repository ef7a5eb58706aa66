"""The bilingual loss report: HTML content, PDF with an embedded CJK font, JSON, map, atomic writes, bad input."""

from __future__ import annotations

import json
import os
import re
import zlib
from datetime import datetime, timezone

import numpy as np
import pytest

from tianshan.core.errors import InputError
from tianshan.products.loss.exposure import load_exposure
from tianshan.products.loss.scenario import Scenario, assess
from tianshan.products.loss.shaking import ShakingGrid
from tianshan.products.reports import render
from tianshan.products.reports.loss import FILE_NAMES, write_loss_report

CENSUS = ("adcode_map,name_census,prefecture,pop2020_census,lon_rep,lat_rep,area_km2,urban_share\n"
          "650001,甲县,巴音郭楞蒙古自治州,100000,80.5,40.5,9000,0.4\n"
          "650002,乙县,巴音郭楞蒙古自治州,50000,81.5,40.5,9000,0.2\n")
WHEN = datetime(2026, 7, 15, 8, 30, tzinfo=timezone.utc)


def _field() -> ShakingGrid:
    """A cone of MMI: 9.0 at (40.5 N, 80.5 E), falling 2 units per degree of distance."""
    lat = np.linspace(39.0, 42.0, 61)
    lon = np.linspace(79.0, 83.0, 81)
    d = np.hypot(lat[:, None] - 40.5, lon[None, :] - 80.5)
    return ShakingGrid(lat, lon, np.clip(9.0 - 2.0 * d, 1.0, None), 0.6, source="test cone")


@pytest.fixture(scope="module")
def result(tmp_path_factory, write_loss_region):
    exposure = load_exposure(write_loss_region(tmp_path_factory.mktemp("region"), CENSUS))
    sc = Scenario(40.5, 80.5, 10.0, 6.8, name="test")
    return assess(_field(), exposure, latitude_deg=40.5, longitude_deg=80.5, magnitude=6.8, scenario=sc)


@pytest.fixture(scope="module")
def report(result, tmp_path_factory):
    out = tmp_path_factory.mktemp("report") / "v1"
    files = write_loss_report(result, out, event_label="测试 Test", version=1, generated_at=WHEN)
    return files, result.as_json()


def _require_cjk() -> None:
    if not render.cjk_font_available():
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("no CJK font installed under CI=true: run `make system-deps` (fonts-noto-cjk)")
        pytest.skip("no CJK font installed (Debian fonts-noto-cjk; `make system-deps`)")


def _pdf_pages(data: bytes) -> int:
    chunks = [data]
    for m in re.finditer(rb"stream\r?\n(.*?)endstream", data, re.S):
        try:
            chunks.append(zlib.decompress(m.group(1)))
        except zlib.error:
            pass
    return sum(len(re.findall(rb"/Type\s*/Page(?![a-zA-Z])", c)) for c in chunks)


def test_files_written(report):
    files, _ = report
    assert set(files) == {"html", "pdf", "png", "json"}
    for kind, path in files.items():
        assert path.name == FILE_NAMES[kind] and path.stat().st_size > 0
    assert files["png"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not list(files["html"].parent.glob("*.part"))


def test_html_bilingual_headings_and_numbers(report):
    files, doc = report
    html = files["html"].read_text(encoding="utf-8")
    for zh, en in (("情景地震灾害损失评估报告", "Scenario Earthquake Loss Assessment Report"), ("基本参数", "Key figures"),
                   ("烈度分布图", "Intensity map"), ("各烈度暴露人口", "Population exposed per intensity degree"),
                   ("人员死亡与经济损失概率", "Fatality and economic-loss probabilities"),
                   ("应急响应级别", "Emergency response level"), ("受影响县市排序", "Counties ranked"),
                   ("震中附近城镇", "Nearest towns"), ("伤员、安置与需求", "Injured, shelter and needs"),
                   ("附近历史地震", "Historical earthquakes nearby"), ("说明与局限", "Warnings and limitations")):
        assert zh in html and en in html, (zh, en)
    assert "测试 Test" in html and "第 1 版" in html
    # the chain's numbers, formatted as the report prints them
    assert f"{doc['fatalities']['median']:,.0f}" in html
    for roman, people in doc["exposure_by_intensity"].items():
        if people:
            assert f">{people:,}<" in html, roman
    assert doc["pager_alert"].upper() in html
    rec = doc["response"]["recommended"]
    assert rec is not None and f"{rec['response']} 级" in html and rec["grade_zh"] in html
    assert "甲县" in html and "乙县" in html                   # ranked counties
    assert "MMI" in html and "GB/T 17742" in html               # both scales labelled
    assert "国家地震应急预案" in html
    assert "data:image/png;base64," in html                     # self-contained: the map is inline
    assert "http://" not in html and "https://" not in html


def test_json_document(report, result):
    files, doc = report
    out = json.loads(files["json"].read_text(encoding="utf-8"))
    for key in ("fatalities", "economic_loss_usd", "pager_alert", "response_level", "exposure_by_intensity"):
        assert out[key] == json.loads(json.dumps(doc[key], ensure_ascii=False)), key
    rep = out["report"]
    assert rep["version"] == 1 and rep["generated_at"].startswith("2026-07-15T08:30")
    assert rep["files"]["pdf"] == "loss_report.pdf"
    cn = rep["exposure_by_intensity_cn"]
    assert list(cn) == ["I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X", "XI", "XII"]
    covered = result.exposure.exposure.total_population - result.exposure.unexposed
    assert abs(sum(cn.values()) - covered) <= 12                # every exposed person on one degree (rounding)
    assert "through PGV" in rep["exposure_cn_method"]


def test_pdf_opens_and_embeds_a_cjk_font(report):
    _require_cjk()
    files, _ = report
    data = files["pdf"].read_bytes()
    assert data.startswith(b"%PDF-")
    assert b"%%EOF" in data[-1024:]
    assert _pdf_pages(data) >= 1
    fonts = render.pdf_font_names(data)
    assert any("CJK" in f or "Han" in f or "WenQuanYi" in f for f in fonts), fonts


def test_chinese_population_from_an_intensity_map(result, tmp_path):
    from tianshan.groundmotion.conditioning.grid import GridSpec
    from tianshan.products.shakemap.grids import MapGrids, MapLayer

    spec = GridSpec(west_deg=79.0, north_deg=42.0, dlon_deg=0.05, dlat_deg=0.05, nx=80, ny=60)
    cn = np.full((60, 80), 7.2, dtype=np.float32)
    grids = MapGrids(spec, {"cn": MapLayer("cn", cn, np.full_like(cn, 0.5)),
                            "mmi": MapLayer("mmi", cn - 0.5, np.full_like(cn, 0.5))})
    files = write_loss_report(result, tmp_path / "rt", shaking=grids, version=3, formats=("html",),
                              generated_at=WHEN)
    assert "pdf" not in files and not (tmp_path / "rt" / FILE_NAMES["pdf"]).exists()
    rep = json.loads(files["json"].read_text(encoding="utf-8"))["report"]
    cn_pop = rep["exposure_by_intensity_cn"]
    assert cn_pop["VII"] == int(round(result.exposure.exposure.total_population))
    assert sum(v for k, v in cn_pop.items() if k != "VII") == 0
    assert rep["map"]["scale"] == "cn" and rep["version"] == 3
    html = files["html"].read_text(encoding="utf-8")
    assert "第 3 版" in html and "中国地震烈度（GB/T 17742-2020）" in html


def test_same_input_same_output(result, tmp_path):
    a = write_loss_report(result, tmp_path / "a", formats=("html",), generated_at=WHEN)
    b = write_loss_report(result, tmp_path / "b", formats=("html",), generated_at=WHEN)
    for kind in ("html", "png", "json"):
        assert a[kind].read_bytes() == b[kind].read_bytes(), kind


def test_failure_leaves_previous_version_intact(result, tmp_path, monkeypatch):
    out = tmp_path / "rep"
    first = write_loss_report(result, out, formats=("html",), generated_at=WHEN)
    before = {p.name: p.read_bytes() for p in out.iterdir()}

    def broken(html, base_url=None):
        raise RuntimeError("PDF renderer crashed")

    monkeypatch.setattr(render, "pdf_bytes", broken)
    with pytest.raises(RuntimeError, match="crashed"):
        write_loss_report(result, out, version=2, generated_at=WHEN)
    after = {p.name: p.read_bytes() for p in out.iterdir()}
    assert after == before                                      # no partial or half-new file
    assert json.loads(first["json"].read_text(encoding="utf-8"))["report"]["version"] == 1


def test_missing_parents_are_created(result, tmp_path):
    files = write_loss_report(result, tmp_path / "a" / "b" / "c", formats=("html",), generated_at=WHEN)
    assert files["html"].parent == tmp_path / "a" / "b" / "c" and files["html"].exists()


def test_bad_input(result, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(InputError) as err:
        write_loss_report(result, blocker / "out", formats=("html",))
    assert str(blocker / "out") in str(err.value)
    with pytest.raises(InputError, match="version"):
        write_loss_report(result, tmp_path / "v", version=0)
    with pytest.raises(InputError, match="docx"):
        write_loss_report(result, tmp_path / "f", formats=("html", "docx"))
    with pytest.raises(InputError, match="ScenarioResult"):
        write_loss_report({"not": "a result"}, tmp_path / "r")
    with pytest.raises(InputError, match="shaking"):
        write_loss_report(result, tmp_path / "s", shaking=np.zeros((3, 3)))
    assert not (tmp_path / "v").exists() and not (tmp_path / "f").exists()


def test_render_helpers(tmp_path):
    assert render.format_number(1234567.4) == "1,234,567"
    assert render.format_number(None) == "–" and render.format_number(float("nan")) == "–"
    assert render.format_usd(2.3e8) == "US$230M" and render.format_usd(1.35e10) == "US$13.5B"
    with pytest.raises(InputError, match="no_such.html"):
        render.render_html("no_such.html", {})
    (tmp_path / "t.html").write_text("<p>{{ x | num(1) }} {{ y }}</p>", encoding="utf-8")
    assert render.render_html("t.html", {"x": 1234.56, "y": "<b>"}, template_dir=tmp_path) == "<p>1,234.6 &lt;b&gt;</p>"
    with pytest.raises(InputError, match="missing"):
        render.render_html("t.html", {"x": 1}, template_dir=tmp_path)
    family = render.cjk_font_family()
    if family is not None:
        assert family in render.CJK_PREFERRED or "CJK" in family or family.endswith((" SC", " CN"))


def test_real_event_report(result, tmp_path):
    from tianshan.products.shakemap.build import MapEvent

    ev = MapEvent(event_id="ts2026abcd", latitude_deg=40.5, longitude_deg=80.5, depth_m=10_000.0, magnitude=6.8,
                  time=WHEN)
    files = write_loss_report(result, tmp_path / "ev", event=ev, version=2, formats=("html",), generated_at=WHEN,
                              notes=("1 unusable fault feature(s) skipped",))
    html = files["html"].read_text(encoding="utf-8")
    assert "地震灾害损失评估报告" in html and "情景地震灾害损失评估报告" not in html
    assert "2026年07月15日 16时30分00秒（北京时间）" in html and "2026-07-15 08:30:00 UTC" in html
    assert "ts2026abcd" in html and "1 unusable fault feature(s) skipped" in html
    rep = json.loads(files["json"].read_text(encoding="utf-8"))
    assert rep["report"]["origin_time"] == "2026-07-15T08:30:00+00:00" and rep["report"]["event_id"] == "ts2026abcd"
    assert "1 unusable fault feature(s) skipped" in rep["warnings"]

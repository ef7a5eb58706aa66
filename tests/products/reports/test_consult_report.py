"""Consultation report (products.reports.consult, cli.report_consult): inputs, numbers, files, CLI."""

from __future__ import annotations

import json
import math
from datetime import datetime, timedelta, timezone

import numpy as np
import pytest

from tianshan.analysis import stats as st
from tianshan.analysis.catalog import read_catalog, select
from tianshan.core.errors import InputError
from tianshan.products.reports import consult as cr

UTC = timezone.utc
BOX = "80,40,84,43"
T_END = datetime(2012, 1, 1, tzinfo=UTC)
MAIN_T = datetime(2011, 12, 10, 6, 30, tzinfo=UTC)


def _gr(rng, n, b=1.0, mc=3.0):
    return np.round(mc - 0.05 - np.log10(rng.uniform(size=n)) / b, 1)


@pytest.fixture(scope="module")
def catalog_csv(tmp_path_factory):
    """Headerless china_mw layout (yr,mo,dy,hr,mi,s,lat,lon,M,depth,flag): 10 years of background M>=3 (b = 1)
    in 80-84E x 40-43N with small Omori clusters, and an M6.3 on 2011-12-10 with 120 aftershocks (largest
    M5.1) in the last month (the report's period)."""
    rng = np.random.default_rng(8)
    t0 = datetime(2002, 1, 1, tzinfo=UTC).timestamp()
    rows = []
    for t, m in zip(rng.uniform(t0, MAIN_T.timestamp() - 86400 * 40, 420), _gr(rng, 420)):
        lat, lon = rng.uniform(40.1, 42.9), rng.uniform(80.1, 83.9)
        rows.append((t, lat, lon, min(m, 5.6)))
        for k in range(rng.poisson(0.4 * 10 ** (m - 3.5))):  # a few direct aftershocks
            rows.append((t + 86400 * rng.exponential(3.0), lat + rng.normal(0, 0.03), lon + rng.normal(0, 0.03),
                         min(_gr(rng, 1)[0], m - 0.3)))
    mt = MAIN_T.timestamp()
    rows.append((mt, 41.5, 82.0, 6.3))
    after = np.minimum(_gr(rng, 120, 0.9), 4.9)
    after[5] = 5.1
    for k, m in enumerate(after):
        rows.append((mt + 60 + 86400 * 0.05 * ((1 - rng.uniform()) ** (-1 / 0.15) - 1) % (86400 * 20),
                     41.5 + rng.normal(0, 0.05), 82.0 + rng.normal(0, 0.05), m))
    rows.sort()
    lines = []
    for t, lat, lon, m in rows:
        d = datetime.fromtimestamp(t, UTC)
        lines.append(f"{d.year},{d.month},{d.day},{d.hour},{d.minute},{d.second + d.microsecond / 1e6:.2f},"
                     f"{lat:.3f},{lon:.3f},{m:.1f},10,0")
    lines.insert(5, "2005,13,40,0,0,0,41,82,3.0,10,0")  # an unreadable line (month 13)
    path = tmp_path_factory.mktemp("consult") / "cat.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_parse_region():
    xj = cr.parse_region("xinjiang")
    assert xj.bbox == (73.0, 34.0, 97.0, 50.0) and len(xj.polygon) == 4
    box = cr.parse_region("80,40,84,43")
    assert box.bbox == (80.0, 40.0, 84.0, 43.0) and box.polygon[0] == (40.0, 80.0)
    poly = cr.parse_region("40,80;40,84;43,82")
    assert poly.bbox == (80.0, 40.0, 84.0, 43.0) and len(poly.polygon) == 3
    for bad in ("84,40,80,43", "nowhere", "40,80;40,84"):
        with pytest.raises(InputError):
            cr.parse_region(bad)


def test_parse_period():
    a, b = cr.parse_period("30d", now="2016-12-31")
    assert b == datetime(2016, 12, 31, tzinfo=UTC) and b - a == timedelta(days=30)
    assert cr.parse_period("2016-01-01/2016-02-01") == (datetime(2016, 1, 1, tzinfo=UTC),
                                                         datetime(2016, 2, 1, tzinfo=UTC))
    assert cr.parse_period("2016/01/01/2016/02/01")[1] == datetime(2016, 2, 1, tzinfo=UTC)
    for bad in ("2016-02-01/2016-01-01", "yesterday", "0d", "2016-01-01"):
        with pytest.raises(InputError):
            cr.parse_period(bad)


def test_build_report(tmp_path, catalog_csv):
    cat = read_catalog(catalog_csv)
    assert [ln for ln, _ in cat.skipped] == [6]
    region = cr.parse_region(BOX)
    period = (T_END - timedelta(days=30), T_END)
    settings = cr.ConsultSettings(history_start=None, n_boot=5, n_sims=300, seed=1, mmax=7.5, rate_step_deg=0.5,
                                  b_map_min_events=40)
    steps = []
    rep = cr.build_consult_report(cat, region, period, tmp_path / "out", settings, progress=steps.append)
    doc = json.loads((tmp_path / "out" / "report.json").read_text(encoding="utf-8"))
    assert steps[0] == "selecting events" and steps[-1] == "writing the report"
    # The numbers are those of the analysis modules on the same selection.
    hist = select(cat, polygon=region.polygon, end=T_END)
    mc = doc["mc"]["used"]
    assert mc == max(st.mc_maxc(hist.magnitude).mc, st.mc_gft(hist.magnitude).mc)
    ref = st.b_value(hist.magnitude, mc)
    assert doc["b"]["history"]["tinti"]["b"] == pytest.approx(ref.b, rel=1e-12)
    assert doc["b"]["history"]["tinti"]["std"] == pytest.approx(ref.std, rel=1e-12)
    pos = st.b_positive(hist.magnitude, hist.time_s, mc)
    assert doc["b"]["history"]["positive"]["b"] == pytest.approx(pos.b, rel=1e-12)
    assert 0.8 < ref.b < 1.2
    assert doc["catalog"]["n_history"] == len(hist)
    ps = doc["period_summary"]
    assert ps["largest"]["magnitude"] == 6.3 and ps["counts_by_magnitude"]["M6+"] == 1
    # The M6.3: mainshock-aftershock (dM = 6.3 - 5.1 = 1.2); its M5.1 aftershock is listed as such.
    seqs = {s["magnitude"]: s for s in doc["sequences"]}
    assert seqs[6.3]["sequence_type"] == "mainshock-aftershock" and seqs[6.3]["delta_m"] == pytest.approx(1.2)
    assert seqs[5.1]["role"] == "aftershock"
    assert set(seqs[6.3]["traffic_light"]) == {"classic", "positive"}
    # ETAS forecast for the 30 days after the period, with the Reasenberg-Jones numbers after the M6.3.
    fc = doc["forecast"]
    assert fc is not None and fc["forecast"]["start"].startswith("2012-01-01")
    mags = [r["min_magnitude"] for r in fc["forecast"]["by_magnitude"]]
    assert mags == [5.0, 6.0]
    p5, p6 = (r["probability"] for r in fc["forecast"]["by_magnitude"])
    assert 0.0 <= p6 <= p5 <= 1.0
    rj = fc["reasenberg_jones"]["by_magnitude"][0]
    t1 = (T_END - MAIN_T).total_seconds() / 86400.0
    n = 10 ** (-1.67 + 0.91 * (6.3 - 5.0)) * ((t1 + 30 + 0.05) ** (1 - 1.08) - (t1 + 0.05) ** (1 - 1.08)) / (1 - 1.08)
    assert rj["expected"] == pytest.approx(n, rel=1e-9) and rj["probability"] == pytest.approx(1 - math.exp(-n))
    # Rate map: counts of the declustered history, per year per km2.
    rm = doc["rate_map"]
    from tianshan.analysis.decluster import gardner_knopoff

    decl = gardner_knopoff(hist)
    assert rm["n_background"] == int(np.sum(decl.background & (hist.magnitude >= mc - 1e-9)))
    assert rm["mean_rate_per_year_km2"] == pytest.approx(
        rm["n_background"] / rm["years"] / rm["total_area_km2"], rel=1e-6)
    # Files: every figure exists and is referenced by the HTML; the PDF embeds a CJK font.
    for key in ("gr", "rate_map", "rate_series", "epicentres", "mt", "b_series", "forecast_map", "rate_tif"):
        assert (tmp_path / "out" / doc["figures"][key]).is_file(), key
    html = (tmp_path / "out" / "report.html").read_text(encoding="utf-8")
    assert "震情会商报告" in html and "Seismicity consultation report" in html
    for key in ("mt", "rate_map", "b_series", "forecast_map"):
        assert f'src="{doc["figures"][key]}"' in html
    assert "主震-余震型" in html
    pdf = rep.files["pdf"].read_bytes()
    assert pdf.startswith(b"%PDF")
    from tianshan.products.reports.render import cjk_font_available, pdf_font_names

    if cjk_font_available():
        assert any("CJK" in name for name in pdf_font_names(pdf))


def test_cli(tmp_path, catalog_csv, monkeypatch, capsys):
    from tianshan.cli import main as cli_main

    monkeypatch.setitem(cli_main.COMMANDS, "consult-test", ("tianshan.cli.report_consult", "consultation report"))
    out = tmp_path / "cli"
    rc = cli_main.main(["consult-test", "--catalog", str(catalog_csv), "--region", BOX, "--period", "30d",
                        "--now", "2012-01-01", "--history-start", "all", "--out", str(out), "--no-etas", "--no-pdf",
                        "--bootstrap", "0", "--json"])
    captured = capsys.readouterr()
    doc = json.loads(captured.out)
    assert rc == 0 and doc["forecast"] is None and doc["period"]["days"] == pytest.approx(30.0)
    assert "cat.csv:6: skipped" in captured.err
    assert (out / "report.html").is_file() and not (out / "report.pdf").exists()
    rc = cli_main.main(["consult-test", "--catalog", str(catalog_csv), "--region", BOX, "--period", "2012/2011",
                        "--out", str(out)])
    err = capsys.readouterr().err
    assert rc == 2 and err.startswith("tianshan: error:") and err.count("\n") == 1
    rc = cli_main.main(["consult-test", "--catalog", str(catalog_csv), "--region", "1,2,3", "--period", "30d",
                        "--out", str(out)])
    assert rc == 2


def test_cli_from_store(tmp_path, catalog_csv, monkeypatch, capsys):
    from tianshan.cli import main as cli_main
    from tianshan.core import Event, Magnitude, Origin
    from tianshan.store import EventStore

    cat = read_catalog(catalog_csv)
    sel = select(cat, start="2011-12-10", end="2011-12-12")
    with EventStore.open(data_dir=tmp_path) as store:
        for k in range(len(sel)):
            t = datetime.fromtimestamp(float(sel.time_s[k]), UTC)
            ev = Event(id=f"e{k}", created_at=t).with_origin(
                Origin(t, float(sel.latitude_deg[k]), float(sel.longitude_deg[k]), 10_000.0))
            store.save_event(ev.with_magnitude(Magnitude("ML", float(sel.magnitude[k]))))
    monkeypatch.setitem(cli_main.COMMANDS, "consult-test", ("tianshan.cli.report_consult", "consultation report"))
    assert 30 < len(sel) < 100
    rc = cli_main.main(["consult-test", "--data-dir", str(tmp_path), "--region", BOX, "--period",
                        "2011-12-11/2011-12-12", "--history-start", "2011-12-10", "--out", str(tmp_path / "r"),
                        "--no-etas", "--no-pdf", "--bootstrap", "0", "--mc", "3.0"])
    text = capsys.readouterr().out
    assert rc == 0 and "Mc 3.0" in text
    doc = json.loads((tmp_path / "r" / "report.json").read_text(encoding="utf-8"))
    assert doc["catalog"]["n_history"] == len(sel) and doc["mc"]["rule"] == "given"

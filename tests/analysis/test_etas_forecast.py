"""ETAS forecasts (numbers, probabilities, maps), Reasenberg-Jones, the bulletin and `tianshan etas forecast`."""

from __future__ import annotations

import csv
import json
import math
from datetime import datetime, timedelta, timezone

import numpy as np
import pytest
from scipy.integrate import quad

from tianshan.analysis.etas import EtasParams, fit_etas, make_catalog, read_etas_csv
from tianshan.analysis.etas.forecast import (GENERIC_CALIFORNIA, Mainshock, ReasenbergJones, aftershock_bulletin,
                                             background_per_cell, etas_forecast, forecast_grid, summarize)
from tianshan.analysis.etas.simulate import BackgroundModel, EtasHistory, gr_exceedance
from tianshan.cli.main import main
from tianshan.core.errors import InputError

UTC = timezone.utc
PARAM0 = EtasParams(0.5, 0.2, 0.05, 1.0, 1.3, 0.01, 2.0, 0.5)
BOX = (50.5, 30.5, 53.5, 33.5)


@pytest.fixture(scope="module")
def small_fit(small_catalog_csv, small_polygon):
    cat = make_catalog(read_etas_csv(small_catalog_csv), study_start="2001-01-01", study_end="2008-06-01",
                       mag_threshold=3.0, polygon=small_polygon)
    return fit_etas(cat, PARAM0, max_iter=3)


# ------------------------------------------------------------------------------------------
# Reasenberg & Jones
# ------------------------------------------------------------------------------------------

def test_reasenberg_jones_generic_values_and_integral():
    rj = GENERIC_CALIFORNIA
    assert (rj.a, rj.b, rj.p, rj.c_days) == (-1.67, 0.91, 1.08, 0.05)
    # Numerical integral of the rate against the closed form.
    num, _ = quad(lambda t: float(rj.rate_per_day(t, 6.5, 5.0)), 1.0, 8.0)
    assert rj.expected_number(6.5, 5.0, 1.0, 8.0) == pytest.approx(num, rel=1e-9)
    # Hand value: 10^(-1.67 + 0.91*1.5) (t+c)^-p at t = 1 day.
    assert float(rj.rate_per_day(1.0, 6.5, 5.0)) == pytest.approx(10 ** (-1.67 + 1.365) * 1.05 ** -1.08)
    n = rj.expected_number(6.5, 5.0, 0.0, 7.0)
    assert rj.probability(6.5, 5.0, 0.0, 7.0) == pytest.approx(1 - math.exp(-n))
    # p = 1: logarithmic integral.
    rj1 = ReasenbergJones(p=1.0)
    assert rj1.expected_number(6.0, 5.0, 0.0, 1.0) == pytest.approx(10 ** (-1.67 + 0.91) * math.log(1.05 / 0.05))
    with pytest.raises(InputError):
        rj.expected_number(6.0, 5.0, 3.0, 1.0)


# ------------------------------------------------------------------------------------------
# ETAS forecast numbers
# ------------------------------------------------------------------------------------------

def test_etas_forecast_numbers(small_fit):
    fc, sims = etas_forecast(small_fit, "2008-06-01", 30, magnitudes=(4.0, 5.0), n_sims=4000, seed=1)
    assert fc.start == datetime(2008, 6, 1, tzinfo=UTC) and fc.days == pytest.approx(30.0)
    assert fc.expected_total == pytest.approx(sims.counts().mean())
    # Background part: mu * (rate inside) * 30 days, within 4 SE.
    lam_bg = BackgroundModel.from_fit(small_fit).expected_inside_per_day() * 30.0
    assert abs(fc.n_background_mean - lam_bg) < 4 * math.sqrt(lam_bg / 4000)
    # integ0 of the fit comes from the previous declustering pass's probabilities: close, not equal.
    assert lam_bg == pytest.approx(small_fit.params.mu * small_fit.integ0 / small_fit.catalog.study_length * 30,
                                   rel=0.02)
    f4, f5 = fc.for_magnitude(4.0), fc.for_magnitude(5.0)
    assert f4.expected == pytest.approx(fc.expected_total * float(gr_exceedance(4.0, small_fit.beta, 3.0)))
    # The product rule agrees with direct counting of simulated M>=4 events.
    direct = sims.counts(min_magnitude=4.0)
    assert abs(direct.mean() - f4.expected) < 4 * direct.std(ddof=1) / math.sqrt(4000) + 1e-9
    assert f4.probability == pytest.approx(np.mean(direct > 0))
    assert 0 < f5.probability < f4.probability < 1
    assert f4.probability_stderr == pytest.approx(math.sqrt(f4.probability * (1 - f4.probability) / 4000))
    doc = fc.as_dict()
    json.dumps(doc)
    assert [r["min_magnitude"] for r in doc["by_magnitude"]] == [4.0, 5.0]


def test_mainshock_in_history_raises_the_forecast(small_fit):
    cat = small_fit.catalog
    start = datetime(2008, 6, 1, tzinfo=UTC)
    ms = EtasHistory.from_lonlat(cat, [start.timestamp()], [52.0], [32.0], [6.0])
    assert len(ms) == 1 and ms.m[0] == pytest.approx(3.0)
    quiet, _ = etas_forecast(small_fit, start, 10, n_sims=2000, seed=2)
    loud, sims = etas_forecast(small_fit, start, 10, n_sims=2000, seed=2,
                               history=EtasHistory.from_catalog(cat).concat(ms))
    kappa = small_fit.params.A * math.exp(small_fit.params.alpha * 3.0)
    surv = (1 + 10 / small_fit.params.c) ** (1 - small_fit.params.p)
    # At least the mainshock's direct aftershocks in 10 days are added.
    assert loud.expected_total - quiet.expected_total > 0.8 * kappa * (1 - surv)
    lon, lat = cat.projection.inverse(sims.x[sims.generation == 1], sims.y[sims.generation == 1])
    assert np.median(np.hypot(lon - 52.0, lat - 32.0)) < 0.5


def test_forecast_grid_and_csv(small_fit, tmp_path):
    fc, sims = etas_forecast(small_fit, "2008-06-01", 30, magnitudes=(4.0,), n_sims=3000, seed=3)
    grid = forecast_grid(sims, small_fit, BOX, 0.5, magnitudes=(4.0,))
    assert (grid.nx, grid.ny) == (6, 6)
    # The grid covers the polygon: its total equals the forecast's expected total (analytic background
    # against the simulated one: within 4 SE of the background count).
    lam_bg = BackgroundModel.from_fit(small_fit).expected_inside_per_day() * 30.0
    bg_grid = background_per_cell(small_fit, *BOX[:2], 0.5, 6, 6, 30.0, subcells=10)
    assert bg_grid.sum() == pytest.approx(lam_bg, rel=0.02)
    assert abs(grid.expected.sum() - fc.expected_total) < 4 * math.sqrt(lam_bg / 3000) + 0.02 * lam_bg
    assert np.all(grid.expected > 0)
    p4 = grid.probability_above(4.0)
    assert p4.shape == (6, 6) and np.all((p4 >= 0) & (p4 <= 1))
    # A cell's probability cannot exceed the whole region's.
    assert p4.max() <= fc.for_magnitude(4.0).probability + 1e-12
    path = tmp_path / "grid.csv"
    grid.write_csv(path)
    rows = list(csv.DictReader(path.open()))
    assert len(rows) == 36 and float(rows[0]["lon_deg"]) == pytest.approx(50.75)
    assert sum(float(r["expected_m3"]) for r in rows) == pytest.approx(grid.expected.sum(), rel=1e-5)


def test_bulletin_is_bilingual(small_fit):
    fc, _ = etas_forecast(small_fit, "2008-06-01", 7, magnitudes=(4.0, 5.0), n_sims=500, seed=4)
    fc = fc.with_observed({4.0: 1})
    ms = Mainshock(datetime(2008, 5, 31, 12, tzinfo=UTC), 32.0, 52.0, 5.5, name="test")
    text = aftershock_bulletin(fc, mainshock=ms, region="测试 / test")
    assert "预期次数 / expected" in text and "发生概率 / probability" in text
    assert "Reasenberg–Jones" in text and "实际 / observed 1" in text
    rj_n = GENERIC_CALIFORNIA.expected_number(5.5, 4.0, 0.5, 7.5)
    assert f"expected {rj_n:.2f}" in text
    assert "Reasenberg" not in aftershock_bulletin(fc)


def test_summarize_rejects_nothing_and_bad_days(small_fit):
    with pytest.raises(InputError):
        etas_forecast(small_fit, "2008-06-01", 0, n_sims=10)


# ------------------------------------------------------------------------------------------
# CLI
# ------------------------------------------------------------------------------------------

def _args(csv_path, polygon, *extra):
    return ["etas", "forecast", "--catalog", str(csv_path), "--forecast-start", "2008-06-01",
            "--study-start", "2001-01-01", "--mag-threshold", "3", "--polygon", polygon,
            "--param0", "0.5,0.2,0.05,1.0,1.3,0.01,2.0,0.5", "--max-iter", "3", "--n-sims", "500", "--seed", "1",
            "--days", "10", "--magnitudes", "4,5", *extra]


def test_cli_forecast_json_and_grid(small_catalog_csv, small_polygon, tmp_path, capsys):
    out_csv = tmp_path / "g.csv"
    rc = main(_args(small_catalog_csv, small_polygon, "--json", "--grid-out", str(out_csv)))
    out = capsys.readouterr()
    assert rc == 0, out.err
    doc = json.loads(out.out)
    assert set(doc) >= {"fit", "forecast"}
    assert doc["forecast"]["n_sims"] == 500 and doc["forecast"]["days"] == pytest.approx(10)
    assert [r["min_magnitude"] for r in doc["forecast"]["by_magnitude"]] == [4.0, 5.0]
    assert out_csv.is_file() and out_csv.read_text().startswith("lon_deg,lat_deg,expected_m3")


def test_cli_forecast_text_and_bad_input(small_catalog_csv, small_polygon, capsys):
    rc = main(_args(small_catalog_csv, small_polygon))
    out = capsys.readouterr()
    assert rc == 0, out.err
    assert "地震概率预测" in out.out and "M≥4.0" in out.out
    rc = main(_args(small_catalog_csv, small_polygon, "--magnitudes", "x"))
    err = capsys.readouterr().err
    assert rc == 2 and "--magnitudes" in err
    rc = main(_args(small_catalog_csv, small_polygon, "--fit-end", "2009-01-01"))
    assert rc == 2 and "fit" in capsys.readouterr().err
